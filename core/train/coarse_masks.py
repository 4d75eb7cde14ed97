"""Coarse-mask prompts for training (FocalClick-XL §5.1): the ground truth eroded, dilated or
down-sampled until its IoU with the ground truth falls to a drawn target; the model's own
predictions are the fourth source (made in the step, see :mod:`.xl_tasks`).

Each perturbation has one strength (kernel radius, or down-sampling factor) that lowers the
IoU as it grows; the strength grows until the IoU reaches the target, drawn in ``[low, high]``.
"""
from __future__ import annotations

from typing import Optional, Tuple

import cv2
import numpy as np

PERTURBATIONS = ("erode", "dilate", "downsample")
IOU_RANGE = (0.5, 0.95)
MAX_STRENGTH = 64


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 1.0


def _apply(gt: np.ndarray, kind: str, strength: int) -> np.ndarray:
    mask = gt.astype(np.uint8)
    if kind == "downsample":
        height, width = gt.shape
        factor = strength + 1
        small = cv2.resize(mask * 255, (max(1, width // factor), max(1, height // factor)), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR) > 127
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * strength + 1, 2 * strength + 1))
    operation = cv2.erode if kind == "erode" else cv2.dilate
    return operation(mask, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)


def perturb(gt: np.ndarray, rng: np.random.Generator, kind: Optional[str] = None,
            iou_range: Tuple[float, float] = IOU_RANGE) -> Tuple[np.ndarray, float]:
    """``(coarse mask, its IoU with gt)``; the IoU lands in ``iou_range`` unless the object is
    too small for any strength to (then the mask just above the range is returned)."""
    gt = gt.astype(bool)
    kind = kind or PERTURBATIONS[int(rng.integers(len(PERTURBATIONS)))]
    low, high = iou_range
    target = rng.uniform(low, high)
    previous: Tuple[np.ndarray, float] = (gt, 1.0)
    for strength in range(1, MAX_STRENGTH + 1):
        mask = _apply(gt, kind, strength)
        score = iou(gt, mask)
        if score <= target:
            return (mask, score) if score >= low else previous
        previous = (mask, score)
    return previous
