"""Target Crop and Focus Crop: where the Object-Net and the Detail-Net look.

Boxes here are ``(x0, y0, x1, y1)`` integer pixel boxes, end-exclusive, in image
pixels. A :class:`Crop` is such a box plus the raster size it is zoomed to.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Tuple

import cv2
import numpy as np

Box = Tuple[int, int, int, int]


@dataclass(frozen=True)
class Crop:
    """A region of the image (``box``) zoomed to a ``width x height`` raster."""

    box: Box
    width: int
    height: int

    @property
    def scale(self) -> Tuple[float, float]:
        x0, y0, x1, y1 = self.box
        return self.width / (x1 - x0), self.height / (y1 - y0)

    def to_raster(self, x: float, y: float) -> Tuple[float, float]:
        """Image point -> continuous raster point (pixel ``u`` spans ``[u, u+1)``)."""
        sx, sy = self.scale
        return (x - self.box[0]) * sx, (y - self.box[1]) * sy

    def take(self, array: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
        """Cut the region out of a full-size ``array`` and resize it to the raster."""
        x0, y0, x1, y1 = self.box
        patch = array[y0:y1, x0:x1]
        if patch.shape[1] == self.width and patch.shape[0] == self.height:
            return np.ascontiguousarray(patch)
        if patch.dtype == bool:
            resized = cv2.resize(patch.view(np.uint8), (self.width, self.height), interpolation=cv2.INTER_NEAREST)
            return resized.astype(bool)
        return cv2.resize(patch, (self.width, self.height), interpolation=interpolation)

    def give_back(self, raster: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
        """Resize a raster back to the region's size in image pixels."""
        x0, y0, x1, y1 = self.box
        if raster.shape[1] == x1 - x0 and raster.shape[0] == y1 - y0:
            return raster
        return cv2.resize(raster, (x1 - x0, y1 - y0), interpolation=interpolation)


def zoom(box: Box, max_side: int, min_side: int = 0) -> Crop:
    """A crop of ``box`` whose longer side becomes ``max_side`` pixels (aspect kept)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    s = max_side / max(w, h)
    return Crop(box, max(1, min_side, round(w * s)), max(1, min_side, round(h * s)))


def mask_bbox(mask: np.ndarray) -> Optional[Box]:
    """End-exclusive bounding box of the true pixels, or ``None`` when there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask[rows[0]:rows[-1] + 1].any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def differing_box(pairs: Sequence[Tuple[np.ndarray, np.ndarray]]) -> Optional[Box]:
    """:func:`mask_bbox` of the pixels where any ``(new, old)`` pair of same-shaped maps differs, found
    from each side in bands that double: a change that reaches the sides costs a few bands, not a pass."""
    height, width = pairs[0][0].shape[:2]
    top = _first_line(lambda a, b: _lines_differing(pairs, slice(a, b), slice(None), 1), height)
    if top is None:
        return None
    bottom = height - _first_line(lambda a, b: _lines_differing(pairs, slice(height - b, height - a), slice(None),
                                                                1)[::-1], height)
    rows = slice(top, bottom)
    left = _first_line(lambda a, b: _lines_differing(pairs, rows, slice(a, b), 0), width)
    right = width - _first_line(lambda a, b: _lines_differing(pairs, rows, slice(width - b, width - a), 0)[::-1],
                                width)
    return left, top, right, bottom


def _first_line(lines_in: Callable[[int, int], np.ndarray], length: int) -> Optional[int]:
    """The first of ``length`` lines that differs, given ``lines_in(a, b)``: which of lines ``a..b-1`` do
    (counted from the side being searched); bands of 8, 16, 32... lines."""
    start, size = 0, 8
    while start < length:
        end = min(length, start + size)
        hits = np.flatnonzero(lines_in(start, end))
        if hits.size:
            return start + int(hits[0])
        start, size = end, 2 * size
    return None


def _lines_differing(pairs: Sequence[Tuple[np.ndarray, np.ndarray]], rows: slice, cols: slice,
                     across: int) -> np.ndarray:
    """Per line of the window ``rows, cols``: whether any pair differs there (``across``: the axis reduced)."""
    differs = None
    for new, old in pairs:
        here = new[rows, cols] != old[rows, cols]
        differs = here if differs is None else np.logical_or(differs, here, out=differs)
    return differs.any(axis=across)


def union(a: Optional[Box], b: Optional[Box]) -> Optional[Box]:
    if a is None:
        return b
    if b is None:
        return a
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def expand(box: Box, ratio: float, shape: Tuple[int, int], min_size: int = 1) -> Box:
    """Scale ``box`` about its centre by ``ratio`` (each side at least ``min_size``), clamped."""
    height, width = shape
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w = max((x1 - x0) * ratio, min_size) / 2
    half_h = max((y1 - y0) * ratio, min_size) / 2
    nx0 = max(0, math.floor(cx - half_w))
    ny0 = max(0, math.floor(cy - half_h))
    nx1 = min(width, math.ceil(cx + half_w))
    ny1 = min(height, math.ceil(cy + half_h))
    return nx0, ny0, max(nx1, nx0 + 1), max(ny1, ny0 + 1)


def extent_box(extent: Tuple[float, float, float, float], shape: Tuple[int, int]) -> Box:
    """Integer box covering an interaction's float extent."""
    height, width = shape
    x0, y0, x1, y1 = extent
    return (max(0, math.floor(x0)), max(0, math.floor(y0)),
            min(width, max(math.floor(x1) + 1, math.ceil(x1))), min(height, max(math.floor(y1) + 1, math.ceil(y1))))


def target_crop_box(prev_mask_box: Optional[Box], interaction_box: Box, shape: Tuple[int, int],
                    expansion: float = 1.4, min_size: int = 40) -> Box:
    """Target Crop: the previous mask and the new interaction, expanded.

    While the previous mask is empty (the first interaction of an object) the whole
    image is the target: there is nothing yet to zoom on.
    """
    height, width = shape
    if prev_mask_box is None:
        return 0, 0, width, height
    return expand(union(prev_mask_box, interaction_box), expansion, shape, min_size)


def grown_past_edges(box: Box, inside: np.ndarray, shape: Tuple[int, int]) -> Optional[Box]:
    """``box`` grown by its own width (height) past each side that ``inside`` (a mask over the box) reaches,
    clamped to the image; ``None`` when ``inside`` reaches no side that lies inside the image."""
    height, width = shape
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    grown = (x0 - w if x0 > 0 and inside[:, 0].any() else x0, y0 - h if y0 > 0 and inside[0].any() else y0,
             x1 + w if x1 < width and inside[:, -1].any() else x1, y1 + h if y1 < height and inside[-1].any() else y1)
    if grown == box:
        return None
    return max(0, grown[0]), max(0, grown[1]), min(width, grown[2]), min(height, grown[3])


def focus_crop_box(component_box: Optional[Box], pred_box: Optional[Box], anchor: Tuple[float, float],
                   target: Box, shape: Tuple[int, int], expansion: float = 1.4) -> Box:
    """Focus Crop: the changed region at the interaction, expanded and kept in the target.

    When the changed region is tiny next to the object (under a third of its size
    on either axis) the focus is a square of half-side ``0.2 * max(object size)``
    around the interaction instead, so the Detail-Net sees enough context.
    """
    if pred_box is None:
        pred_box = target
    pw, ph = pred_box[2] - pred_box[0], pred_box[3] - pred_box[1]
    if component_box is None or (component_box[2] - component_box[0]) < pw / 3 \
            or (component_box[3] - component_box[1]) < ph / 3:
        half = max(0.2 * max(pw, ph), 8.0)
        ax, ay = anchor
        box = (math.floor(ax - half), math.floor(ay - half), math.ceil(ax + half), math.ceil(ay + half))
    else:
        box = component_box
    x0, y0, x1, y1 = expand(box, expansion, shape)
    tx0, ty0, tx1, ty1 = target
    x0, y0 = max(x0, tx0), max(y0, ty0)
    x1, y1 = min(x1, tx1), min(y1, ty1)
    if x1 <= x0 or y1 <= y0:
        return target
    return x0, y0, x1, y1
