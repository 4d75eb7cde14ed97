"""Initial masks with superpixel defects, for the DAVIS-585 mask-correction protocol.

As in ClickSEG's ``superpixel_augmentation.py``: starting from the ground truth, up to
10 defects each toggle one SLIC superpixel (added where the picked pixel is background
in the current mask, removed where it is foreground), until IoU with the ground truth
falls in [0.75, 0.85]. A defect's pixel is drawn from one of three regions, with
probabilities 0.65 / 0.25 / 0.10:

* the **boundary** band: ``dilate(gt) & ~erode(gt)``, 5x5 kernel, 3 iterations;
* the object's **inside** minus the band (holes, false negatives);
* the **outside** minus the band (false positives).

The superpixel count is drawn from {50, 100, 200, 300, 500, 700} per defect (SLIC with
compactness 10 on the CIELAB image). A run that falls below 0.75 (or stays above 0.85
after 10 defects) restarts from the ground truth, at most 30 times; then the last mask
is returned. SLIC is ``skimage.segmentation.slic`` (the published script uses the
``fast_slic`` package, which has no wheels for current Python); segmentations are
computed once per superpixel count and image. Randomness comes only from the generator
passed in.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import cv2
import numpy as np

from .metrics import iou

IOU_RANGE = (0.75, 0.85)
REGION_PROBABILITIES = (0.65, 0.25, 0.10)     # boundary, inside, outside
SUPERPIXEL_COUNTS = (50, 100, 200, 300, 500, 700)
DEFECTS = 10
RESTARTS = 30


def defect_regions(gt: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(boundary, inside, outside)`` where defects start."""
    kernel = np.ones((5, 5), np.uint8)
    mask = gt.astype(np.uint8)
    band = cv2.dilate(mask, kernel, iterations=3).astype(bool) & ~cv2.erode(mask, kernel, iterations=3).astype(bool)
    gt = gt.astype(bool)
    return band, gt & ~band, ~gt & ~band


class Superpixels:
    """SLIC label maps of one image, computed on first use per superpixel count."""

    def __init__(self, image: np.ndarray):
        self.image = image
        self._labels: Dict[int, np.ndarray] = {}

    def labels(self, count: int) -> np.ndarray:
        if count not in self._labels:
            from skimage.segmentation import slic

            self._labels[count] = slic(self.image, n_segments=count, compactness=10, start_label=0)
        return self._labels[count]


def superpixel_defects(image: np.ndarray, gt: np.ndarray, rng: np.random.Generator,
                       ignore: Optional[np.ndarray] = None, iou_range: Tuple[float, float] = IOU_RANGE,
                       superpixels: Optional[Superpixels] = None) -> np.ndarray:
    """An initial mask: ``gt`` with superpixel defects, IoU within ``iou_range`` when reachable."""
    gt = gt.astype(bool)
    if not gt.any():
        raise ValueError("gt is empty: nothing to damage")
    low, high = iou_range
    superpixels = superpixels or Superpixels(image)
    regions = [np.flatnonzero(region) for region in defect_regions(gt)]
    available = np.array([len(r) > 0 for r in regions])
    probabilities = np.where(available, REGION_PROBABILITIES, 0.0)
    probabilities = probabilities / probabilities.sum()
    mask = gt.copy()
    for _ in range(RESTARTS):
        mask = gt.copy()
        for _ in range(DEFECTS):
            pixels = regions[int(rng.choice(3, p=probabilities))]
            pixel = int(pixels[rng.integers(len(pixels))])
            labels = superpixels.labels(int(rng.choice(SUPERPIXEL_COUNTS)))
            superpixel = labels == labels.flat[pixel]
            if mask.flat[pixel]:
                mask &= ~superpixel
            else:
                mask |= superpixel
            value = iou(gt, mask, ignore)
            if low <= value <= high:
                return mask
            if value < low:
                break
    return mask
