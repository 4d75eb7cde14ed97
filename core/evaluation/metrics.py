"""Benchmark metrics over per-click IoU sequences (RITM / FocalClick conventions).

``ious[k-1]`` is the IoU after the k-th click of one sample.

* **NoC@thr** — clicks needed to reach IoU >= thr: the first 1-based k with
  ``ious[k-1] >= thr``, or ``max_clicks`` when none; averaged over samples.
* **NoF@thr** — failures: samples whose NoC@thr equals ``max_clicks`` (as in the
  published code this also counts a sample that gets there exactly at the last click).
* **mIoU@k** — mean IoU after k clicks.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

MAX_CLICKS = 20


def iou(gt: np.ndarray, pred: np.ndarray, ignore: Optional[np.ndarray] = None) -> float:
    """Intersection over union of two masks, ignored pixels left out (1.0 when both are empty)."""
    if ignore is not None:
        valid = ~ignore
        gt, pred = gt & valid, pred & valid
    union = np.count_nonzero(gt | pred)
    if union == 0:
        return 1.0
    return np.count_nonzero(gt & pred) / union


def clicks_to_reach(ious: Sequence[float], thr: float, max_clicks: int = MAX_CLICKS) -> int:
    """One sample's NoC@thr: the first 1-based click with IoU >= ``thr``, else ``max_clicks``."""
    for k, value in enumerate(ious[:max_clicks], start=1):
        if value >= thr:
            return k
    return max_clicks


def noc(all_ious: Sequence[Sequence[float]], thr: float, max_clicks: int = MAX_CLICKS) -> float:
    """NoC@thr: mean clicks to reach ``thr`` over samples."""
    _require_samples(all_ious)
    return float(np.mean([clicks_to_reach(ious, thr, max_clicks) for ious in all_ious]))


def nof(all_ious: Sequence[Sequence[float]], thr: float, max_clicks: int = MAX_CLICKS) -> int:
    """NoF@thr: number of samples whose NoC@thr is ``max_clicks``."""
    return sum(clicks_to_reach(ious, thr, max_clicks) == max_clicks for ious in all_ious)


def miou_at(all_ious: Sequence[Sequence[float]], k: int) -> float:
    """mIoU@k: mean IoU after ``k`` clicks; every sample must have been run that far."""
    _require_samples(all_ious)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    short = sum(len(ious) < k for ious in all_ious)
    if short:
        raise ValueError(f"mIoU@{k}: {short} sample(s) stopped before click {k}")
    return float(np.mean([ious[k - 1] for ious in all_ious]))


def _require_samples(all_ious: Sequence[Sequence[float]]) -> None:
    if len(all_ious) == 0:
        raise ValueError("no samples")
    if any(len(ious) == 0 for ious in all_ious):
        raise ValueError("a sample has no clicks recorded")
