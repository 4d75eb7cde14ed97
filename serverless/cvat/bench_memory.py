"""``python -m focalxl.cvat.bench_memory``: peak memory of the interactor on hostile frames.

Each case runs in a fresh Python process with the ``classical`` preset: the process
loads the interactor, serves one small frame (library start-up), resets its peak
resident set (``/proc/self/clear_refs``), serves the hostile request and prints the
reply's status and how far its peak RSS (``VmHWM``) rose above the RSS before it.

* PNGs of 20000x20000 and 12000x12000 grey pixels (400 and 144 MB decoded, a few hundred KB
  on the wire; Pillow's ``getexif`` on a PNG decodes it whole);
* a 4 MB Radiance ``.hdr`` file (8000x8000 RGBE pixels, 768 MB as OpenCV's float32);
* a PNG whose header claims 15000x15000 pixels, over Pillow's decompression-bomb limit;
* a 7000x7000 frame (49 MP, under the pixel limit) against a 256 MiB session store;
* ``Segmenter.new_session`` given a 20000x20000 grey array (the engine's grey path).

Figures are printed, never asserted: they depend on the machine (Linux only).
"""
from __future__ import annotations

import argparse
import base64
import json
import struct
import subprocess
import sys
import zlib
from functools import lru_cache
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np


@lru_cache(maxsize=4)
def png_bomb(width: int, height: int, grey: bool = True) -> bytes:
    """A valid PNG of ``width x height`` black pixels, compressed row by row (never held decoded)."""
    channels, colour_type = (1, 0) if grey else (3, 2)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = bytes(1 + width * channels)            # filter byte 0, then black pixels
    compressor, parts = zlib.compressobj(9), []
    for _ in range(height):
        parts.append(compressor.compress(row))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def radiance_hdr(width: int, height: int) -> bytes:
    """A valid run-length encoded Radiance RGBE file of ``width x height`` grey pixels."""
    runs, left = [], width
    while left:
        count = min(127, left)
        runs.append(bytes([128 + count, 128]))    # a run of ``count`` bytes of value 128
        left -= count
    scanline = bytes([2, 2, width >> 8, width & 0xFF]) + b"".join(runs) * 4
    header = f"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y {height} +X {width}\n".encode()
    return header + scanline * height


_CASE = r"""
import base64, json, sys
import numpy as np
import focalxl
from focalxl.cvat import Interactor
from focalxl.cvat.bench_memory import peak_rss_rise, reset_peak_rss

kind, path, session_mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
interactor = Interactor(focalxl.load("classical"), focalxl.SessionStore(session_mb * 1024 ** 2))
small = np.zeros((48, 64, 3), np.uint8); small[10:30, 20:40] = 255
import cv2
warm = base64.b64encode(cv2.imencode(".png", small)[1].tobytes()).decode()
assert interactor.respond({"image": warm, "pos_points": [[30, 20]]}).status == 200
if kind == "engine":
    grey = np.zeros((20000, 20000), np.uint8)
    baseline = reset_peak_rss()
    try:
        interactor.segmenter.new_session(grey)
        status = "accepted"
    except ValueError as error:
        status = type(error).__name__
else:
    body = {"image": base64.b64encode(open(path, "rb").read()).decode(), "pos_points": [[10, 10]]}
    baseline = reset_peak_rss()
    reply = interactor.respond(body)
    status = reply.status
print(json.dumps({"status": status, "rise_mb": peak_rss_rise(baseline) / 2 ** 20}))
"""


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def reset_peak_rss() -> int:
    """Reset this process's peak RSS to its current RSS; the current RSS in bytes."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    return _status_kb("VmRSS") * 1024


def peak_rss_rise(baseline: int) -> int:
    """Bytes the peak RSS rose above ``baseline`` since ``reset_peak_rss``."""
    return max(0, _status_kb("VmHWM") * 1024 - baseline)


def measure(kind: str, data: bytes, session_mb: int, directory: str) -> Dict[str, object]:
    path = f"{directory}/{kind}.bin"
    with open(path, "wb") as file:
        file.write(data)
    done = subprocess.run([sys.executable, "-c", _CASE, kind, path, str(session_mb)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return {"status": f"process died ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}", "rise_mb": None}
    return json.loads(done.stdout.strip().splitlines()[-1])


def cases() -> List[tuple]:
    frame = cv2.imencode(".jpg", np.full((7000, 7000, 3), 90, np.uint8))[1].tobytes()
    return [("20000x20000 grey PNG", "png", png_bomb(20000, 20000), 2048),
            ("12000x12000 grey PNG (under Pillow's bomb error)", "png12k", png_bomb(12000, 12000), 2048),
            ("4 MB Radiance .hdr (8000x8000)", "hdr", radiance_hdr(8000, 8000), 2048),
            ("PNG header 15000x15000 (over Pillow's bomb limit)", "pillow", png_bomb(15000, 15000), 2048),
            ("7000x7000 JPEG, 256 MiB session store", "store", frame, 256),
            ("new_session(20000x20000 grey array)", "engine", b"", 2048)]


def main(argv: Optional[Sequence[str]] = None) -> int:
    argparse.ArgumentParser(prog="python -m focalxl.cvat.bench_memory", description=__doc__.splitlines()[0]).parse_args(argv)
    import tempfile
    with tempfile.TemporaryDirectory() as directory:
        print(f"{'case':52s} {'file':>10s} {'status':>18s} {'peak RSS rise':>14s}")
        for label, kind, data, session_mb in cases():
            result = measure(kind, data, session_mb, directory)
            rise = "-" if result["rise_mb"] is None else f"{result['rise_mb']:.0f} MiB"
            print(f"{label:52s} {len(data) / 1e6:8.2f}MB {str(result['status']):>18s} {rise:>14s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
