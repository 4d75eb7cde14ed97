"""Coarse masks for the mask-refinement protocol: the ground truth roughened to a target IoU.

Five levels, as in the FocalClick-XL paper: IoU with the ground truth in [0.85, 0.90],
[0.75, 0.80], [0.65, 0.70], [0.55, 0.60] and [0.45, 0.50]. A level is reached by many
small, local morphological steps from the ground truth: each step erodes or dilates
a square window centred on a random point of the current outline, with a kernel drawn
from {rectangle, ellipse, cross} x {3, 5, 7} px. A step is kept only when it lowers the
IoU without passing below the level; the walk stops inside the level. Every draw comes
from the ``numpy`` generator passed in, so a seed fixes the masks.
"""
from __future__ import annotations

from typing import Optional, Tuple

import cv2
import numpy as np

COARSE_LEVELS: Tuple[Tuple[float, float], ...] = ((0.85, 0.90), (0.75, 0.80), (0.65, 0.70),
                                                  (0.55, 0.60), (0.45, 0.50))
KERNEL_SHAPES = (cv2.MORPH_RECT, cv2.MORPH_ELLIPSE, cv2.MORPH_CROSS)
KERNEL_SIZES = (3, 5, 7)
MAX_STEPS = 20000


class _Overlap:
    """Intersection and union counts with the ground truth, updated window by window."""

    def __init__(self, gt: np.ndarray, valid: np.ndarray, mask: np.ndarray):
        self.gt, self.valid = gt, valid
        self.inter = int(np.count_nonzero(gt & mask & valid))
        self.union = int(np.count_nonzero((gt | mask) & valid))

    def after(self, window: Tuple[slice, slice], old: np.ndarray, new: np.ndarray) -> Tuple[int, int]:
        gt, valid = self.gt[window], self.valid[window]
        inter = self.inter + int(np.count_nonzero(gt & new & valid)) - int(np.count_nonzero(gt & old & valid))
        union = self.union + int(np.count_nonzero((gt | new) & valid)) - int(np.count_nonzero((gt | old) & valid))
        return inter, union


def coarse_mask(gt: np.ndarray, level: Tuple[float, float], rng: np.random.Generator,
                ignore: Optional[np.ndarray] = None) -> np.ndarray:
    """A roughened copy of ``gt`` whose IoU with it lies in ``level = (low, high)``.

    Very small objects may not allow a step fine enough to land inside the level; then the
    mask closest to it from above is returned (callers report the IoU they get).
    """
    low, high = level
    if not 0.0 < low < high <= 1.0:
        raise ValueError(f"level must be (low, high) with 0 < low < high <= 1, got {level}")
    gt = gt.astype(bool)
    if not gt.any():
        raise ValueError("gt is empty: nothing to roughen")
    valid = np.ones(gt.shape, dtype=bool) if ignore is None else ~ignore.astype(bool)
    mask = gt.copy()
    overlap = _Overlap(gt, valid, mask)
    side = np.sqrt(np.count_nonzero(gt))
    largest = max(2, int(round(0.25 * side)))
    failures = 0
    for _ in range(MAX_STEPS):
        if overlap.inter <= high * overlap.union:
            break
        half = int(rng.integers(1, largest + 1))
        window, old, new = _step(mask, half, rng)
        if new is None:
            continue
        inter, union = overlap.after(window, old, new)
        if union == 0 or inter == 0 or inter / union < low:
            failures += 1
            if failures % 20 == 0:
                largest = max(1, largest // 2)    # steps overshoot the level: make them finer
            continue
        if inter * overlap.union >= overlap.inter * union:
            continue                              # no progress towards the level
        mask[window] = new
        overlap.inter, overlap.union = inter, union
    return mask


def _step(mask: np.ndarray, half: int, rng: np.random.Generator):
    """One local erosion or dilation around a random outline point: (window, old, new)."""
    outline = mask ^ cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    rows, cols = np.nonzero(outline)
    if len(rows) == 0:
        return None, None, None
    pick = int(rng.integers(len(rows)))
    size = int(rng.choice(KERNEL_SIZES))
    kernel = cv2.getStructuringElement(KERNEL_SHAPES[int(rng.integers(len(KERNEL_SHAPES)))], (size, size))
    operation = cv2.erode if rng.random() < 0.5 else cv2.dilate
    height, width = mask.shape
    r0, r1 = max(0, rows[pick] - half), min(height, rows[pick] + half + 1)
    c0, c1 = max(0, cols[pick] - half), min(width, cols[pick] + half + 1)
    pad = size
    p0, p1, q0, q1 = max(0, r0 - pad), min(height, r1 + pad), max(0, c0 - pad), min(width, c1 + pad)
    changed = operation(mask[p0:p1, q0:q1].astype(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE).astype(bool)
    window = (slice(r0, r1), slice(c0, c1))
    return window, mask[window].copy(), changed[r0 - p0:r1 - p0, c0 - q0:c1 - q0]
