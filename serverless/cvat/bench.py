"""``python -m focalxl.cvat.bench``: what the CVAT door adds to the engine, and what it sends back.

* **Handler overhead** — ``Interactor.respond`` (everything the Nuclio handler does) on
  requests shaped like CVAT's for a 1920x1080 JPEG frame (the bundled cat, resized),
  minus the time spent inside the engine (``Segmenter.new_session``, ``Session.add``,
  ``undo``, ``result``). The annotator plays the demo's clicks cumulatively, as CVAT sends
  them: the first request on a new frame (decode included), then the repeated frame
  with one more click each time. Requirement: <= 30 ms on a repeated frame.
* **Reply size** — one click on an object covering 5 % of a 4000x3000 JPEG frame: the
  reply (mask cropped to the object + bounds) against the same mask sent as a
  full-frame 2-D list, both as CVAT's reference functions encode it (``json.dumps``)
  and in the reply's own compact encoding. Requirement: >= 10x smaller (reply <= 10 %
  of the full list).

Figures are printed, never asserted: they depend on the machine.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import json
import math
import statistics
import sys
import time
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import orjson

import focalxl
from focalxl.bench.latency import photo, script
from focalxl.bench.report import Figure, format_table

from .interactor import Interactor
from .settings import Settings

OVERHEAD_LIMIT_MS = 30.0
REPLY_LIMIT_PERCENT = 10.0


class EngineClock:
    """Seconds spent inside the engine's session calls, summed."""

    def __init__(self):
        self.seconds = 0.0

    @contextlib.contextmanager
    def measure(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - start

    def timed(self, call: Callable) -> Callable:
        def run(*args, **kwargs):
            with self.measure():
                return call(*args, **kwargs)
        return run


class TimedSegmenter(focalxl.Segmenter):
    """A segmenter whose session creation and session calls report their time to an ``EngineClock``."""

    def __init__(self, segmenter: focalxl.Segmenter, clock: EngineClock):
        super().__init__(segmenter.predictor, segmenter.config, segmenter.max_pixels)
        self.clock = clock

    def new_session(self, image: np.ndarray, mask: Optional[np.ndarray] = None) -> focalxl.Session:
        with self.clock.measure():
            session = super().new_session(image, mask)
        for name in ("add", "undo", "result"):
            setattr(session, name, self.clock.timed(getattr(session, name)))
        return session


def jpeg_base64(image: np.ndarray, quality: int = 90) -> str:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("OpenCV could not encode the JPEG frame")
    return base64.b64encode(data.tobytes()).decode("ascii")


def cvat_requests(image_b64: str, width: int, height: int) -> List[dict]:
    """The demo's clicks as CVAT sends them: all clicks so far with every request."""
    pos: List[List[float]] = []
    neg: List[List[float]] = []
    bodies = []
    for kind, interaction in script(width, height):
        if kind != "click":
            continue
        (pos if interaction.positive else neg).append([interaction.x, interaction.y])
        bodies.append({"image": image_b64, "pos_points": list(pos), "neg_points": list(neg), "obj_bbox": []})
    return bodies


def overhead(segmenter: focalxl.Segmenter, repeats: int, width: int = 1920, height: int = 1080) -> List[Figure]:
    """Handler time, engine time and their difference for first and repeated-frame requests."""
    clock = EngineClock()
    timed = TimedSegmenter(segmenter, clock)
    image_b64 = jpeg_base64(photo(width, height))
    bodies = cvat_requests(image_b64, width, height)
    new_object = {**bodies[0], "pos_points": bodies[1]["pos_points"][1:]}   # another first click, same frame
    Interactor(timed).respond(cvat_requests(jpeg_base64(photo(64, 48)), 64, 48)[0])   # one-time library start-up

    samples = {"first": [], "next": [], "new object": []}
    for _ in range(repeats):
        interactor = Interactor(timed)
        for label, body in [("first", bodies[0])] + [("next", b) for b in bodies[1:]] + [("new object", new_object)]:
            clock.seconds = 0.0
            start = time.perf_counter()
            reply = interactor.respond(body)
            total = time.perf_counter() - start
            if reply.status != 200:
                raise RuntimeError(f"the benchmark's request was refused: {reply.body}")
            samples[label].append(((total - clock.seconds) * 1000.0, total * 1000.0, clock.seconds * 1000.0))

    size = f"{width}x{height} JPEG"
    detail = {"frame": size, "base64_bytes": len(image_b64), "repeats": repeats}
    figures = []
    for label, measure, limit in [("first", "first click, new frame (decode included)", None),
                                  ("next", "next click, repeated frame", OVERHEAD_LIMIT_MS),
                                  ("new object", "new object's first click, repeated frame", OVERHEAD_LIMIT_MS)]:
        door, total, engine = (statistics.median(column) for column in zip(*samples[label]))
        count = len(samples[label])
        figures += [
            Figure("cvat", f"handler overhead, {measure}, {size}, median of {count}", door, "ms", limit,
                   {**detail, "samples_ms": [s[0] for s in samples[label]]}),
            Figure("cvat", f"  handler total / engine: {total:.1f} / {engine:.1f} ms", total, "ms", None, detail),
        ]
    return figures


def object_frame(width: int, height: int, fraction: float) -> Tuple[np.ndarray, Tuple[float, float]]:
    """The resized cat with a flat-coloured disk covering ``fraction`` of the frame, placed where the
    ``classical`` preset's mask is the disk; the disk's centre."""
    image = photo(width, height)
    radius = math.sqrt(fraction * width * height / math.pi)
    centre = (width * 0.7, height * 0.5)
    cv2.circle(image, (round(centre[0]), round(centre[1])), round(radius), (250, 40, 200), thickness=-1)
    return image, centre


def reply_size(segmenter: focalxl.Segmenter, width: int = 4000, height: int = 3000,
               fraction: float = 0.05) -> List[Figure]:
    """Bytes of the cropped reply against the same mask as a full-frame 2-D list."""
    image, (cx, cy) = object_frame(width, height, fraction)
    reply = Interactor(segmenter).respond({"image": jpeg_base64(image), "pos_points": [[cx, cy]], "neg_points": []})
    if reply.status != 200:
        raise RuntimeError(f"the benchmark's request was refused: {reply.body}")
    decoded = json.loads(reply.body)
    xtl, ytl, xbr, ybr = decoded["bounds"]
    mask = np.zeros((height, width), np.uint8)
    mask[ytl:ybr + 1, xtl:xbr + 1] = np.array(decoded["mask"], dtype=np.uint8)
    full_compact = len(orjson.dumps({"mask": mask}, option=orjson.OPT_SERIALIZE_NUMPY))
    full_reference = len(json.dumps({"mask": mask.tolist()}))   # how CVAT's reference interactors send it
    sent = len(reply.body.encode())
    covered = 100.0 * np.count_nonzero(mask) / mask.size
    detail = {"frame": f"{width}x{height} JPEG", "object_percent": 100.0 * fraction, "mask_percent": covered,
              "reply_bytes": sent, "full_frame_compact_bytes": full_compact,
              "full_frame_json_dumps_bytes": full_reference}
    return [
        Figure("cvat", f"reply size, one click on a {100 * fraction:.0f} % object "
                       f"(mask {covered:.1f} %), {width}x{height}", sent / 1e6, "MB", None, detail),
        Figure("cvat", f"reply / full-frame list as CVAT's reference functions send it "
                       f"({full_reference / 1e6:.1f} MB): {full_reference / sent:.1f}x smaller",
               100.0 * sent / full_reference, "%", REPLY_LIMIT_PERCENT, detail),
        Figure("cvat", f"reply / full-frame list in the reply's compact encoding "
                       f"({full_compact / 1e6:.1f} MB): {full_compact / sent:.1f}x smaller",
               100.0 * sent / full_compact, "%", REPLY_LIMIT_PERCENT, detail),
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m focalxl.cvat.bench",
                                     description="Print the CVAT door's handler overhead and reply size next to "
                                                 "their requirements (printed, not asserted).")
    parser.add_argument("--repeats", type=int, default=5, metavar="N",
                        help="frames played for the overhead figures (default: 5)")
    parser.add_argument("--preset", default=Settings.preset, help="predictor preset (default: classical)")
    parser.add_argument("--checkpoint", metavar="PATH", help="weights for the preset")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.repeats < 1:
        build_parser().error(f"--repeats must be at least 1, got {args.repeats}")
    segmenter = Settings(preset=args.preset, checkpoint=args.checkpoint).load()
    print(f"focalxl CVAT interactor, preset {args.preset}")
    print(format_table(overhead(segmenter, args.repeats) + reply_size(segmenter)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
