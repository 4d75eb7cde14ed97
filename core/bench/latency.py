"""Interaction latency and session memory of a preset on a 1920x1080 photo.

The photo is the bundled cat (``core/data/chelsea.png``) resized to the size asked
for with bicubic interpolation: deterministic, and textured like a real photo. Each
repeat starts a fresh session and plays the demo's annotator, scaled to the photo:
a click on the cat (the first interaction, which also computes the Context-Net
features), a second click, a box, a negative click and a last click.
"""
from __future__ import annotations

import statistics
import time
from typing import List, Tuple

import cv2
import numpy as np

from .report import Figure, mib, peak_rss_mib

REQUIREMENT_MS = 300.0


def percentile(values: List[float], q: float) -> float:
    """The ``q``-th percentile, linearly interpolated (numpy's default)."""
    return float(np.percentile(values, q))


def photo(width: int = 1920, height: int = 1080) -> np.ndarray:
    """The sample image resized to ``width x height``, ``uint8[H, W, 3]`` RGB."""
    from ..demo import SAMPLE_IMAGE
    from ..image_files import read_image

    image = read_image(SAMPLE_IMAGE, "sample image")
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_CUBIC)


def script(width: int, height: int) -> List[Tuple[str, object]]:
    """The demo's interactions scaled from the 451x300 sample to ``width x height``."""
    from ..demo import DEMO_STEPS, SAMPLE_IMAGE
    from ..interactions import Box, Click

    sample_h, sample_w = cv2.imread(str(SAMPLE_IMAGE), cv2.IMREAD_UNCHANGED).shape[:2]
    sx, sy = width / sample_w, height / sample_h
    steps = []
    for _, item in DEMO_STEPS:
        if isinstance(item, Click):
            steps.append(("click", Click(item.x * sx, item.y * sy, item.positive)))
        elif isinstance(item, Box):
            steps.append(("box", Box(item.x0 * sx, item.y0 * sy, min(item.x1 * sx, width), min(item.y1 * sy, height))))
    return steps


def run(width: int = 1920, height: int = 1080, repeats: int = 5, preset: str = "classical",
        checkpoint=None) -> List[Figure]:
    """Median latency of the first interaction, of later clicks and of a box, p95 and slowest of all;
    session memory; peak RSS."""
    import focalxl

    segmenter = focalxl.load(preset, checkpoint)
    image = photo(width, height)
    steps = script(width, height)
    size = f"{width}x{height}"

    # One untimed interaction on a small image: one-time process costs (library
    # initialisation, lazy imports) are not what a user waits for per interaction.
    segmenter.new_session(photo(64, 48)).add(focalxl.Click(32.0, 24.0))

    first: List[float] = []
    later_clicks: List[float] = []
    boxes: List[float] = []
    every: List[float] = []
    every_cpu: List[float] = []
    fresh_bytes = held_bytes = 0
    for _ in range(repeats):
        session = segmenter.new_session(image)
        fresh_bytes = session.nbytes
        for index, (kind, interaction) in enumerate(steps):
            start, cpu_start = time.perf_counter(), time.process_time()
            session.add(interaction)
            ms = (time.perf_counter() - start) * 1000.0
            every.append(ms)
            every_cpu.append((time.process_time() - cpu_start) * 1000.0)
            (first if index == 0 else boxes if kind == "box" else later_clicks).append(ms)
        held_bytes = session.nbytes

    med = statistics.median
    detail = {"size": size, "preset": preset, "repeats": repeats, "samples_ms": None}
    figures = [
        Figure("latency", f"first interaction (click), {size}, median of {len(first)}", med(first), "ms",
               REQUIREMENT_MS, {**detail, "samples_ms": first}),
        Figure("latency", f"later clicks, {size}, median of {len(later_clicks)}", med(later_clicks), "ms",
               REQUIREMENT_MS, {**detail, "samples_ms": later_clicks}),
        Figure("latency", f"box after 2 clicks, {size}, median of {len(boxes)}", med(boxes), "ms",
               REQUIREMENT_MS, {**detail, "samples_ms": boxes}),
        Figure("latency", f"every interaction, p95 of {len(every)}", percentile(every, 95), "ms", REQUIREMENT_MS,
               {**detail, "samples_ms": every}),
        Figure("latency", f"slowest interaction of {len(every)}", max(every), "ms", REQUIREMENT_MS,
               {**detail, "samples_ms": every}),
        Figure("latency", f"every interaction, process CPU time, p95 of {len(every_cpu)}", percentile(every_cpu, 95),
               "ms", REQUIREMENT_MS, {**detail, "samples_ms": every_cpu}),
        Figure("latency", "memory per cached session, fresh", mib(fresh_bytes), "MiB", None,
               {"bytes": fresh_bytes, "source": "Session.nbytes"}),
        Figure("latency", f"memory per cached session, after {len(steps)} interactions", mib(held_bytes), "MiB",
               None, {"bytes": held_bytes, "source": "Session.nbytes (image, maps, undo patches, features)"}),
        Figure("latency", "process peak RSS, after the latency runs", peak_rss_mib(), "MiB", None, {"source": "getrusage ru_maxrss"}),
    ]
    return figures
