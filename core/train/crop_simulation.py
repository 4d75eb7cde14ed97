"""The crops the networks see at inference, simulated for training.

* :func:`target_crop` — the Target Crop: the picture flipped (each axis with p = 0.3, as
  ClickSEG's ``AlignedAugmentator``) and rescaled by ``0.75-1.4``, then a random window
  holding part of the object (from about a third of the picture to all of it, which
  covers the whole-image first click and the zoomed later ones), resized to the
  network's square input;
* :func:`focus_roi` — the Focus Crop inside the Target Crop (ClickSEG's
  ``ISDataset``): a small object's whole box; otherwise, with p = 0.4, a window on a
  random boundary pixel ``1/1.5-1/3.9`` of the crop's size, else the largest component's
  box expanded ``1.1-2.0`` times and shifted by up to 30 %, at least 32 px.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import cv2
import numpy as np

FLIP_PROB = 0.3
SCALE_RANGE = (0.75, 1.4)
WINDOW_RANGE = (0.35, 1.0)       # window side as a fraction of the (rescaled) picture's side
SMALL_OBJECT = 3600              # px of the crop raster (80 x 80): focus on the whole object
BOUNDARY_PROB = 0.4
BOUNDARY_DIVISOR = (1.5, 3.9)
EXPAND_RANGE = (1.1, 2.0)
SHIFT = 0.3
MIN_FOCUS = 32

Roi = Tuple[int, int, int, int]  # x1, y1, x2, y2, end-exclusive, in the crop raster


def resize_mask(mask: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """A boolean mask resized to ``(width, height)`` through a bilinear 0/255 map, threshold 128
    (ClickSEG resizes masks this way: nearest neighbour shifts them by a pixel)."""
    grey = np.ascontiguousarray(mask).astype(np.uint8) * 255
    return cv2.resize(grey, size, interpolation=cv2.INTER_LINEAR) > 128


def resize(array: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Pictures and float maps bilinearly, boolean masks with :func:`resize_mask`; ``size`` is ``(width, height)``."""
    if array.dtype == bool:
        return resize_mask(array, size)
    return cv2.resize(np.ascontiguousarray(array), size, interpolation=cv2.INTER_LINEAR)


def augment(rng: np.random.Generator, *arrays: Optional[np.ndarray]) -> List[Optional[np.ndarray]]:
    """The same random flips (each axis with p = 0.3) and rescaling (0.75-1.4) applied to every
    ``[H, W, ...]`` array (``None`` passes through)."""
    flips = [rng.random() < FLIP_PROB, rng.random() < FLIP_PROB]
    scale = rng.uniform(*SCALE_RANGE)
    height, width = next(a for a in arrays if a is not None).shape[:2]
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    out: List[Optional[np.ndarray]] = []
    for array in arrays:
        if array is not None:
            if flips[0]:
                array = array[:, ::-1]
            if flips[1]:
                array = array[::-1]
            array = resize(array, size)
        out.append(array)
    return out


def take(array: np.ndarray, window: Roi, size: int) -> np.ndarray:
    """The window of ``array`` resized to ``size x size``."""
    x1, y1, x2, y2 = window
    return resize(array[y1:y2, x1:x2], (size, size))


@dataclass
class TargetCrop:
    """A simulated Target Crop: the crop's arrays over a square raster, and where it lies."""

    image: np.ndarray               # uint8[size, size, 3]
    gt: np.ndarray                  # bool[size, size]
    ignore: Optional[np.ndarray]    # bool[size, size] or None
    window: Roi                     # in ``picture``'s pixels
    picture: np.ndarray             # the flipped and rescaled full picture (what a Context-Net sees)


def target_crop(image: np.ndarray, gt: np.ndarray, ignore: Optional[np.ndarray], size: int,
                rng: np.random.Generator) -> TargetCrop:
    """Flip, rescale, and cut a window holding part of the object (``gt`` must not be empty)."""
    image, gt, ignore = augment(rng, image, gt.astype(bool), None if ignore is None else ignore.astype(bool))
    height, width = gt.shape
    window = object_window(gt, rng) if gt.any() else (0, 0, width, height)
    crop = TargetCrop(take(image, window, size), take(gt, window, size),
                      None if ignore is None else take(ignore, window, size), window, image)
    if not crop.gt.any():       # the object's part was thinner than a raster pixel: the whole picture
        window = (0, 0, width, height)
        crop = TargetCrop(take(image, window, size), take(gt, window, size),
                          None if ignore is None else take(ignore, window, size), window, image)
    return crop


def object_window(gt: np.ndarray, rng: np.random.Generator) -> Roi:
    """A random window (a third of the picture to all of it, per axis) holding a random object pixel."""
    height, width = gt.shape
    win_h = max(8, min(height, round(height * rng.uniform(*WINDOW_RANGE))))
    win_w = max(8, min(width, round(width * rng.uniform(*WINDOW_RANGE))))
    rows, cols = np.nonzero(gt)
    pick = int(rng.integers(len(rows)))
    row, col = int(rows[pick]), int(cols[pick])
    y1 = int(rng.integers(max(0, row - win_h + 1), min(row, height - win_h) + 1))
    x1 = int(rng.integers(max(0, col - win_w + 1), min(col, width - win_w) + 1))
    return x1, y1, x1 + win_w, y1 + win_h


def focus_roi(gt: np.ndarray, rng: np.random.Generator) -> Roi:
    """The Focus Crop in ``gt``'s raster (``gt`` not empty)."""
    if gt.sum() >= SMALL_OBJECT and rng.random() < BOUNDARY_PROB:
        return _boundary_roi(gt, rng)
    return _object_roi(gt, rng)


def _largest_component(gt: np.ndarray) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(gt.astype(np.uint8), connectivity=8)
    if count <= 2:
        return gt
    return labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))


def _object_roi(gt: np.ndarray, rng: np.random.Generator) -> Roi:
    rows, cols = np.nonzero(_largest_component(gt))
    y1, y2, x1, x2 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    ratio = rng.uniform(*EXPAND_RANGE)
    cy, cx = (y1 + y2) / 2, (x1 + x2) / 2
    half_h = max(MIN_FOCUS, (y2 - y1) * ratio) / 2
    half_w = max(MIN_FOCUS, (x2 - x1) * ratio) / 2
    cy += rng.uniform(-SHIFT, SHIFT) * (y2 - y1)
    cx += rng.uniform(-SHIFT, SHIFT) * (x2 - x1)
    return _clip((cx - half_w, cy - half_h, cx + half_w, cy + half_h), gt.shape)


def _boundary_roi(gt: np.ndarray, rng: np.random.Generator) -> Roi:
    height, width = gt.shape
    crop_h = height / rng.uniform(*BOUNDARY_DIVISOR)
    crop_w = width / rng.uniform(*BOUNDARY_DIVISOR)
    mask = gt.astype(np.uint8)
    ring = cv2.dilate(mask, np.ones((5, 5), np.uint8)).astype(bool) & ~gt.astype(bool)
    rows, cols = np.nonzero(ring)
    if len(rows) == 0:
        return _object_roi(gt, rng)
    pick = int(rng.integers(len(rows)))
    cy, cx = rows[pick], cols[pick]
    return _clip((cx - crop_w / 2, cy - crop_h / 2, cx + crop_w / 2, cy + crop_h / 2), gt.shape)


def _clip(box: Tuple[float, float, float, float], shape: Tuple[int, int]) -> Roi:
    """The box moved (not shrunk) inside the raster where it fits, then clipped; at least 2 px a side."""
    height, width = shape
    x1, y1, x2, y2 = box
    w, h = min(x2 - x1, width), min(y2 - y1, height)
    x1 = min(max(0.0, x1), width - w)
    y1 = min(max(0.0, y1), height - h)
    x1, y1 = int(np.floor(x1)), int(np.floor(y1))
    x2, y2 = min(width, max(x1 + 2, int(np.ceil(x1 + w)))), min(height, max(y1 + 2, int(np.ceil(y1 + h))))
    return x1, y1, x2, y2
