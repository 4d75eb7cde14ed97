"""Training samples for each kind of network, made from one dataset instance and one RNG.

Every maker returns a dict of numpy arrays (channels first, float32 in [0, 1] for
pictures) that :func:`.datasets.collate` stacks into a batch. Labels are 1 (object),
0 (background) and :data:`.losses.IGNORE` (the datasets' uncertain band).
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import cv2
import numpy as np

from ..evaluation.datasets import Sample
from .clicks import MAX_POINTS, first_clicks
from .crop_simulation import focus_roi, resize_mask, target_crop
from .losses import IGNORE, boundary_map


def picture_array(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32) / 255.0


def label_array(gt: np.ndarray, ignore: Optional[np.ndarray]) -> np.ndarray:
    label = gt.astype(np.float32)
    if ignore is not None:
        label[ignore & ~gt] = IGNORE
    return label[None]


def focalclick_sample(sample: Sample, rng: np.random.Generator, size: int = 256,
                      focus_size: int = 256) -> Dict[str, Any]:
    """Target Crop, first clicks, and the Focus Crop with its boundary ground truth.

    ``roi`` is the Focus Crop ``(x1, y1, x2, y2)`` in the Target Crop's raster; the focus
    fields are that region resized to ``focus_size``.
    """
    crop = target_crop(sample.image, sample.gt, sample.ignore, size, rng)
    image, gt, ignore = crop.image, crop.gt, crop.ignore
    valid = None if ignore is None else ~ignore
    clicks = first_clicks(gt, rng, valid, MAX_POINTS)
    boundary = boundary_map(gt) > 0.5
    x1, y1, x2, y2 = focus_roi(gt, rng)
    square = (focus_size, focus_size)
    focus_image = cv2.resize(image[y1:y2, x1:x2], square, interpolation=cv2.INTER_LINEAR)
    focus_gt = resize_mask(gt[y1:y2, x1:x2], square)
    focus_ignore = None if ignore is None else resize_mask(ignore[y1:y2, x1:x2], square)
    return {"image": picture_array(image), "label": label_array(gt, ignore), "clicks": clicks,
            "focus_image": picture_array(focus_image), "focus_label": label_array(focus_gt, focus_ignore),
            "focus_boundary": resize_mask(boundary[y1:y2, x1:x2], square).astype(np.float32)[None],
            "roi": np.array([x1, y1, x2, y2], dtype=np.float32)}
