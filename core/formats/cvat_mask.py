"""CVAT mask shapes: the RLE of the REST API and of CVAT for images 1.1 XML.

REST (``LabeledShape.points`` of a ``type="mask"`` shape), as ``cvat_sdk.masks``:
``[run_1, run_2, ..., left, top, right, bottom]``; the runs cover the box (inclusive
corners) row by row and alternate starting with a background run (a leading 0 when the
first pixel is foreground). The XML ``<mask>`` element carries the same runs as its
``rle`` attribute with the box as ``left``, ``top``, ``width``, ``height``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np


@dataclass(frozen=True)
class XmlMask:
    """The attributes of a CVAT for images 1.1 ``<mask>`` element."""

    rle: str
    left: int
    top: int
    width: int
    height: int


def encode(mask: np.ndarray, bbox: Optional[Sequence[float]] = None) -> List[int]:
    """A ``bool[H, W]`` mask -> REST ``points``; ``bbox`` ``[x1, y1, x2, y2]`` (exclusive) or the tight box."""
    mask = _bool_2d(mask)
    x1, y1, x2, y2 = _box(mask, bbox)
    return _runs(mask[y1:y2, x1:x2]) + [x1, y1, x2 - 1, y2 - 1]


def decode(points: Sequence[float], width: int, height: int) -> np.ndarray:
    """REST ``points`` -> ``bool[height, width]``."""
    if len(points) < 5:
        raise ValueError("a CVAT mask needs runs and 4 box coordinates")
    values = [_integer(v) for v in points]
    *runs, x1, y1, x2, y2 = values
    if not (0 <= x1 <= x2 < width and 0 <= y1 <= y2 < height):
        raise ValueError(f"mask box ({x1}, {y1}, {x2}, {y2}) is outside the {width}x{height} image")
    out = np.zeros((height, width), dtype=bool)
    out[y1:y2 + 1, x1:x2 + 1] = _unrun(runs, y2 - y1 + 1, x2 - x1 + 1)
    return out


def encode_xml(mask: np.ndarray) -> XmlMask:
    """A non-empty mask -> the ``<mask>`` attributes (runs over its tight box)."""
    mask = _bool_2d(mask)
    if not mask.any():
        raise ValueError("an empty mask has no CVAT mask shape")
    x1, y1, x2, y2 = _box(mask, None)
    return XmlMask(",".join(map(str, _runs(mask[y1:y2, x1:x2]))), x1, y1, x2 - x1, y2 - y1)


def decode_xml(rle: str, left: int, top: int, width: int, height: int, image_width: int,
               image_height: int) -> np.ndarray:
    """``<mask>`` attributes -> ``bool[image_height, image_width]``."""
    runs = [_integer(v) for v in rle.split(",")]
    out = np.zeros((image_height, image_width), dtype=bool)
    out[top:top + height, left:left + width] = _unrun(runs, height, width)
    return out


def _bool_2d(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    return mask != 0


def _box(mask: np.ndarray, bbox: Optional[Sequence[float]]):
    if bbox is not None:
        x1, y1, x2, y2 = int(np.floor(bbox[0])), int(np.floor(bbox[1])), int(np.ceil(bbox[2])), int(np.ceil(bbox[3]))
        if not (0 <= x1 < x2 <= mask.shape[1] and 0 <= y1 < y2 <= mask.shape[0]):
            raise ValueError(f"bbox {list(bbox)} is outside the {mask.shape[1]}x{mask.shape[0]} mask")
        return x1, y1, x2, y2
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return 0, 0, 1, 1
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _runs(crop: np.ndarray) -> List[int]:
    flat = crop.ravel()
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(bounds).tolist()
    return [0] + runs if flat[0] else runs


def _unrun(runs: Sequence[int], height: int, width: int) -> np.ndarray:
    if any(r < 0 for r in runs) or sum(runs) != height * width:
        raise ValueError(f"mask runs add up to {sum(runs)} pixels, the box has {height * width}")
    values = np.arange(len(runs)) % 2 == 1
    return np.repeat(values, runs).reshape(height, width)


def _integer(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(f"mask values must be integers, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ValueError(f"mask values must be integers, got {value!r}")
