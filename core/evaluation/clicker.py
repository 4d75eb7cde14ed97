"""The standard click simulator of interactive-segmentation benchmarks (RITM / FocalClick).

The next click goes to the error region the user would fix first: of the false negatives
(``gt & ~pred``) and false positives (``~gt & pred``), ignored pixels excluded, take the
one whose interior point lies farthest from its border, and click at that point.
Distances are the exact Euclidean distance transform (``cv2.DIST_L2``, precise mask) on
the error maps padded by one zero pixel, so the image border counts as a border too.
As in the published code, a pixel already clicked is never clicked again, a tie goes to
a **negative** click (``is_positive = max_fn > max_fp``) and the first maximum in raster
order wins.

A click at pixel ``(row, col)`` is ``Click(x=col + 0.5, y=row + 0.5)``: the pixel centre
in focalxl's coordinates (origin at the top-left corner of the top-left pixel).
"""
from __future__ import annotations

from typing import List, Optional

import cv2
import numpy as np

from ..interactions import Click


def error_distance(error: np.ndarray) -> np.ndarray:
    """Distance of each error pixel to the nearest non-error pixel or the image border."""
    padded = np.pad(error.astype(np.uint8), 1)
    distance = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return distance[1:-1, 1:-1]


def next_click(gt: np.ndarray, pred: np.ndarray, ignore: Optional[np.ndarray] = None,
               clicked: Optional[np.ndarray] = None) -> Optional[Click]:
    """The benchmark's next click for prediction ``pred``; ``None`` when nothing is left to fix.

    ``clicked`` marks pixels already clicked; they are never chosen again.
    """
    valid = np.ones(gt.shape, dtype=bool) if ignore is None else ~ignore
    if clicked is not None:
        valid = valid & ~clicked
    fn = error_distance(gt & ~pred & valid) * valid
    fp = error_distance(~gt & pred & valid) * valid
    fn_max, fp_max = float(fn.max()), float(fp.max())
    if fn_max == 0.0 and fp_max == 0.0:
        return None
    positive = fn_max > fp_max
    distance = fn if positive else fp
    row, col = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return Click(x=col + 0.5, y=row + 0.5, positive=bool(positive))


class Clicker:
    """The simulated user for one sample: remembers its clicks so none is repeated."""

    def __init__(self, gt: np.ndarray, ignore: Optional[np.ndarray] = None):
        self.gt = gt.astype(bool)
        self.ignore = None if ignore is None else ignore.astype(bool)
        self.clicked = np.zeros(gt.shape, dtype=bool)
        self.clicks: List[Click] = []

    def next(self, pred: np.ndarray) -> Optional[Click]:
        """The click that corrects ``pred`` best, or ``None`` when no error is left."""
        click = next_click(self.gt, pred, self.ignore, self.clicked)
        if click is not None:
            self.clicked[int(click.y), int(click.x)] = True
            self.clicks.append(click)
        return click
