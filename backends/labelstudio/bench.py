"""``python -m focalxl.labelstudio.bench``: brush RLE encoding and the HTTP round trip of one interaction.

1. Our brush encoder against ``label_studio_sdk.converter.brush.mask2rle`` on a 12-megapixel
   mask (3000 x 4000, one round object); the requirement is a ratio of at least 10.
2. Our brush decoder against ``label_studio_sdk.converter.brush.decode_rle`` on a costly
   stream per byte (random 0/255 RGBA bytes: a chunk every one or two values, repeat and
   literal mixed): the time a brush region in a request body can ask for, per byte of RLE.
3. ``POST /predict`` with an interactive context for a 1920 x 1080 task, through the real
   server (``python -m focalxl.labelstudio``) with the image served over HTTP: the first
   interaction of a task (session start: image from the media cache, decode, first
   prediction) and a repeated one (one more keypoint on the same session).
"""
from __future__ import annotations

import argparse
import functools
import http.server
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, List

import cv2
import numpy as np
import requests
from label_studio_sdk.converter.brush import decode_rle, encode_rle, mask2rle

from focalxl.formats import labelstudio_brush as brush

CONFIG = """<View><Image name="image" value="$image"/>
<BrushLabels name="tag" toName="image"><Label value="Object"/></BrushLabels>
<KeyPointLabels name="point" toName="image" smart="true"><Label value="Object"/></KeyPointLabels></View>"""


def best_of(repeats: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def disk_mask(height: int, width: int) -> np.ndarray:
    yy, xx = np.ogrid[:height, :width]
    return (yy - height / 2) ** 2 + (xx - width / 2) ** 2 < (0.3 * height) ** 2


def bench_encoder(repeats: int) -> None:
    mask = disk_mask(3000, 4000)
    alpha = mask.astype(np.uint8) * 255   # mask2rle takes 0/255 uint8 (a bool mask fails its assertion)
    ours = best_of(repeats, lambda: brush.encode(mask))
    theirs = best_of(repeats, lambda: mask2rle(alpha))
    print(f"brush RLE encode, 4000x3000 mask (12 MP): focalxl {ours * 1e3:.1f} ms, "
          f"label_studio_sdk mask2rle {theirs * 1e3:.1f} ms, ratio {theirs / ours:.1f}x (requirement >= 10x)")


def bench_decoder(repeats: int) -> None:
    rng = np.random.default_rng(0)
    height, width = 500, 500
    values = rng.integers(0, 2, 4 * height * width, dtype=np.uint8) * 255   # runs of one or two words
    rle = encode_rle(values)
    ours = best_of(repeats, lambda: brush.decode(rle, height, width))
    theirs = best_of(max(1, repeats // 5), lambda: decode_rle(rle))
    print(f"brush RLE decode, costly stream (random 0/255 bytes, {len(rle) / 1e6:.2f} MB of RLE, {height}x{width}): focalxl "
          f"{ours * 1e3:.0f} ms ({ours / len(rle) * 1e6:.2f} us per RLE byte), label_studio_sdk decode_rle "
          f"{theirs * 1e3:.0f} ms, ratio {theirs / ours:.1f}x")


def scene(height: int = 1080, width: int = 1920) -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack([60 + 40 * np.sin(xx / 9), 110 + 30 * np.cos(yy / 13), 70 + 20 * np.sin((xx + yy) / 17)], -1)
    image[disk_mask(height, width)] = (220, 40, 50)
    return np.clip(image + rng.normal(0, 10, image.shape), 0, 255).astype(np.uint8)


def keypoint(x: float, y: float, width: int, height: int) -> dict:
    return {"type": "keypointlabels", "from_name": "point", "to_name": "image", "original_width": width,
            "original_height": height, "image_rotation": 0, "is_positive": True,
            "value": {"x": 100 * x / width, "y": 100 * y / height, "keypointlabels": ["Object"]}}


def bench_round_trip(repeats: int, preset: str) -> None:
    height, width = 1080, 1920
    with tempfile.TemporaryDirectory() as folder:
        image_file = Path(folder) / f"{uuid.uuid4().hex}.png"
        cv2.imwrite(str(image_file), cv2.cvtColor(scene(height, width), cv2.COLOR_RGB2BGR))
        handler = functools.partial(_QuietHandler, directory=folder)
        files = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=files.serve_forever, daemon=True).start()
        image_url = f"http://127.0.0.1:{files.server_address[1]}/{image_file.name}"
        server, url = _start_server(preset, trusted=f"127.0.0.1:{files.server_address[1]}")
        try:
            first: List[float] = []
            repeated: List[float] = []
            for task_id in range(1, repeats + 2):
                points = [keypoint(width / 2, height / 2, width, height)]
                first.append(_post(url, task_id, image_url, points))
                points.append(keypoint(width / 2 + 150, height / 2 - 100, width, height))
                repeated.append(_post(url, task_id, image_url, points))
        finally:
            server.terminate()
            server.wait(timeout=30)
            files.shutdown()
    first, repeated = first[1:], repeated[1:]   # the very first also downloads the image into the media cache
    print(f"HTTP /predict round trip, 1920x1080 task, preset {preset}: first interaction median "
          f"{statistics.median(first) * 1e3:.0f} ms, repeated interaction median {statistics.median(repeated) * 1e3:.0f} ms "
          f"({len(first)} tasks)")


def _post(url: str, task_id: int, image_url: str, points: list) -> float:
    body = {"tasks": [{"id": task_id, "data": {"image": image_url}}], "project": "1.0", "label_config": CONFIG,
            "params": {"context": {"result": points}}}
    start = time.perf_counter()
    response = requests.post(f"{url}/predict", json=body, timeout=300)
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    assert response.json()["results"][0]["result"], "the backend answered without a mask"
    return elapsed


def _start_server(preset: str, trusted: str):
    """The backend on a free port, trusting the local image host ``trusted`` (loopback is refused by default)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, FOCALXL_PRESET=preset, LOG_LEVEL="WARNING", FOCALXL_FETCH_ALLOW=trusted)
    process = subprocess.Popen([sys.executable, "-m", "focalxl.labelstudio", "--host", "127.0.0.1", "--port", str(port)],
                               env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=1).ok:
                return process, url
        except requests.RequestException:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the backend did not start within 120 s")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m focalxl.labelstudio.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--preset", default="classical")
    args = parser.parse_args(argv)
    bench_encoder(args.repeats)
    bench_decoder(args.repeats)
    bench_round_trip(args.repeats, args.preset)


if __name__ == "__main__":
    main()
