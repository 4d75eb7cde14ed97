"""Box prompts for training: the object's tight box with every side jittered (FocalClick-XL §5.1)."""
from __future__ import annotations

from typing import Tuple

import numpy as np

JITTER = 0.1   # each side moves by up to this fraction of the box's width (x) or height (y)


def tight_box(gt: np.ndarray) -> Tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)`` in pixel-edge coordinates, covering every object pixel."""
    rows, cols = np.nonzero(gt)
    if len(rows) == 0:
        raise ValueError("gt is empty: it has no box")
    return float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1)


def jittered_box(gt: np.ndarray, rng: np.random.Generator, jitter: float = JITTER) -> Tuple[float, float, float, float]:
    """The tight box, each side shifted by ``U(-jitter, jitter)`` of the box's size, kept in the image."""
    x0, y0, x1, y1 = tight_box(gt)
    width, height = x1 - x0, y1 - y0
    dx0, dx1 = rng.uniform(-jitter, jitter, 2) * width
    dy0, dy1 = rng.uniform(-jitter, jitter, 2) * height
    rows, cols = gt.shape
    x0, x1 = np.clip([x0 + dx0, x1 + dx1], 0.0, cols)
    y0, y1 = np.clip([y0 + dy0, y1 + dy1], 0.0, rows)
    if x1 - x0 < 1:
        x1 = min(float(cols), x0 + 1)
    if y1 - y0 < 1:
        y1 = min(float(rows), y0 + 1)
    return float(x0), float(y0), float(x1), float(y1)
