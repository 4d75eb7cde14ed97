"""Focus patches: square windows tiling the Focus Crop, run through the Detail-Net as one batch."""
from __future__ import annotations

import math
from typing import List, Tuple

import numpy as np

OVERLAP = 0.25   # neighbouring patches share a quarter of their side, so seams blend


def starts(length: int, patch: int) -> List[int]:
    """Patch offsets along one axis: evenly spaced, overlapping, the last one flush with the end."""
    if length <= patch:
        return [0]
    count = math.ceil((length - patch) / (patch * (1 - OVERLAP))) + 1
    return sorted({round(i * (length - patch) / (count - 1)) for i in range(count)})


def tile(needed: np.ndarray, patch: int) -> List[Tuple[int, int]]:
    """``(y, x)`` origins of the patches that hold at least one ``needed`` pixel."""
    height, width = needed.shape
    return [(y, x) for y in starts(height, patch) for x in starts(width, patch)
            if needed[y:y + patch, x:x + patch].any()]


def cut(array: np.ndarray, origins: List[Tuple[int, int]], patch: int) -> np.ndarray:
    """``[N, C, patch, patch]`` windows of a ``[C, H, W]`` array, zero-padded past its edges."""
    out = np.zeros((len(origins), array.shape[0], patch, patch), dtype=array.dtype)
    for i, (y, x) in enumerate(origins):
        window = array[:, y:y + patch, x:x + patch]
        out[i, :, :window.shape[1], :window.shape[2]] = window
    return out


def blend(values: np.ndarray, origins: List[Tuple[int, int]], shape: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """Average ``[N, patch, patch]`` values back onto an ``shape`` raster: ``(mean, covered)``."""
    total = np.zeros(shape, dtype=np.float32)
    count = np.zeros(shape, dtype=np.float32)
    height, width = shape
    for value, (y, x) in zip(values, origins):
        h, w = min(value.shape[0], height - y), min(value.shape[1], width - x)
        total[y:y + h, x:x + w] += value[:h, :w]
        count[y:y + h, x:x + w] += 1
    covered = count > 0
    return np.divide(total, count, out=np.zeros_like(total), where=covered), covered
