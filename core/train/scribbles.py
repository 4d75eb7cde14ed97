"""Scribble prompts for training: FocalClick-XL's four meta-simulators (§5.1).

* ``bezier`` — a Bézier curve through 3-5 random points of the region;
* ``medial`` — the region's medial-axis stroke (the evaluation suite's scribbler:
  medial axis, longest skeleton path, Bézier smoothing);
* ``boundary`` — a stretch of the region's outline, followed just inside it;
* ``mixed`` — two strokes from two different simulators above.

Strokes are drawn ``3-7`` px wide and kept inside the region: each simulator works on
the region eroded by half the width, and only the longest run of a stroke's points
that stays there is kept, so the drawn stroke never leaves the region.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import cv2
import numpy as np

from ..evaluation.scribbler import bezier_curve, scribble_stroke
from ..interactions import Scribble

SIMULATORS = ("bezier", "medial", "boundary")
KINDS = SIMULATORS + ("mixed",)
WIDTH_RANGE = (3, 7)
BOUNDARY_FRACTION = (0.2, 0.6)


def _eroded(region: np.ndarray, width: float) -> np.ndarray:
    """Pixels whose whole stroke disk of ``width`` stays in the region."""
    radius = int(np.ceil(width / 2))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    padded = np.pad(region.astype(np.uint8), radius + 1)
    core = cv2.erode(padded, kernel).astype(bool)
    return core[radius + 1:-radius - 1, radius + 1:-radius - 1]


def _inside_run(points: np.ndarray, core: np.ndarray) -> Optional[np.ndarray]:
    """The longest run of consecutive ``(x, y)`` points whose pixel lies in ``core``."""
    height, width = core.shape
    cols = np.clip(np.floor(points[:, 0]).astype(int), 0, width - 1)
    rows = np.clip(np.floor(points[:, 1]).astype(int), 0, height - 1)
    inside = core[rows, cols]
    best, start = (0, 0), None
    for i, flag in enumerate(np.append(inside, False)):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    if best[1] == best[0]:
        return None
    # snap to pixel centres so the drawn centre line is exactly the checked pixels
    return np.stack([cols, rows], 1)[best[0]:best[1]].astype(np.float64) + 0.5


def _bezier(core: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    pixels = np.argwhere(core)
    control = pixels[rng.choice(len(pixels), size=min(len(pixels), int(rng.integers(3, 6))), replace=False)]
    return bezier_curve(control[:, ::-1] + 0.5, samples=200)


def _medial(core: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return scribble_stroke(core)


def _boundary(core: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    contours, _ = cv2.findContours(core.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    contour = max(contours, key=len)[:, 0, :].astype(np.float64)
    length = max(1, int(len(contour) * rng.uniform(*BOUNDARY_FRACTION)))
    start = int(rng.integers(len(contour)))
    return np.take(contour, np.arange(start, start + length), axis=0, mode="wrap") + 0.5


_STROKES = {"bezier": _bezier, "medial": _medial, "boundary": _boundary}


def simulate(region: np.ndarray, rng: np.random.Generator, kind: Optional[str] = None,
             width: Optional[float] = None, positive: bool = True) -> List[Scribble]:
    """Scribbles of ``kind`` (random when ``None``) inside ``region``; empty when the region
    is too thin for a stroke of ``width`` (random in 3-7 px when ``None``)."""
    kind = kind or KINDS[int(rng.integers(len(KINDS)))]
    width = float(width if width is not None else rng.integers(WIDTH_RANGE[0], WIDTH_RANGE[1] + 1))
    core = _eroded(region.astype(bool), width)
    if not core.any():
        return []
    names: Tuple[str, ...] = (kind,) if kind != "mixed" else tuple(rng.choice(SIMULATORS, 2, replace=False))
    scribbles = []
    for name in names:
        stroke = _inside_run(np.asarray(_STROKES[name](core, rng), dtype=np.float64).reshape(-1, 2), core)
        if stroke is not None:
            scribbles.append(Scribble([tuple(p) for p in stroke], positive=positive, width=width))
    return scribbles
