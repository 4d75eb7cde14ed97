"""The bi-map: interactions rendered into a (positive, negative) pair of binary maps.

Clicks become disks, scribbles strokes, a box a filled rectangle and a coarse mask
itself, all on the positive channel unless the interaction is negative. Rendering
happens directly in a crop's raster, so a zoomed crop gets sharp disks of the
predictor's radius rather than a resized, blurred full-image map.
"""
from __future__ import annotations

from typing import Iterable

import cv2
import numpy as np

from .crops import Crop
from .interactions import Box, Click, CoarseMask, Interaction, Scribble

_SHIFT = 4  # cv2 fixed-point bits: sub-pixel stroke positions without anti-aliasing
_ONE = 1 << _SHIFT


class BiMap:
    """Positive and negative channels over one crop raster, each ``bool[H, W]``."""

    def __init__(self, crop: Crop, click_radius: float):
        self.crop = crop
        self.click_radius = click_radius
        self.positive = np.zeros((crop.height, crop.width), dtype=bool)
        self.negative = np.zeros((crop.height, crop.width), dtype=bool)

    @classmethod
    def render(cls, interactions: Iterable[Interaction], crop: Crop, click_radius: float) -> "BiMap":
        bimap = cls(crop, click_radius)
        for interaction in interactions:
            bimap.draw(interaction)
        return bimap

    def channel(self, positive: bool) -> np.ndarray:
        return self.positive if positive else self.negative

    def draw(self, interaction: Interaction) -> None:
        if isinstance(interaction, Click):
            _draw_disk(self.channel(interaction.positive), *self.crop.to_raster(interaction.x, interaction.y),
                       self.click_radius)
        elif isinstance(interaction, Scribble):
            width = interaction.width * self.crop.scale[0]
            _draw_stroke(self.channel(interaction.positive), self.crop, interaction.points, width)
        elif isinstance(interaction, Box):
            _draw_rectangle(self.positive, self.crop, interaction)
        elif isinstance(interaction, CoarseMask):
            self.positive |= self.crop.take(interaction.mask)
        else:
            raise TypeError(f"not an interaction: {type(interaction).__name__}")

    def stacked(self) -> np.ndarray:
        """``float32[2, H, W]`` in {0, 1}, the layout networks take."""
        return np.stack([self.positive, self.negative]).astype(np.float32)


def footprint(interaction: Interaction, crop: Crop) -> np.ndarray:
    """Where an interaction touches the image, for picking the merged component.

    A click touches its own pixel, a scribble its centre line, a box its inside and
    a coarse mask its pixels.
    """
    canvas = np.zeros((crop.height, crop.width), dtype=bool)
    if isinstance(interaction, Click):
        u, v = crop.to_raster(interaction.x, interaction.y)
        if 0 <= u < crop.width and 0 <= v < crop.height:
            canvas[int(v), int(u)] = True
    elif isinstance(interaction, Scribble):
        _draw_centre_line(canvas, crop, interaction.points)
    elif isinstance(interaction, Box):
        _draw_rectangle(canvas, crop, interaction)
    elif isinstance(interaction, CoarseMask):
        canvas |= crop.take(interaction.mask)
    else:
        raise TypeError(f"not an interaction: {type(interaction).__name__}")
    return canvas


def _draw_disk(channel: np.ndarray, u: float, v: float, radius: float) -> None:
    """Pixels whose centre lies within ``radius`` of ``(u, v)``; at least the pixel hit."""
    height, width = channel.shape
    r = max(radius, 0.0)
    u0, u1 = max(0, int(np.floor(u - r))), min(width, int(np.ceil(u + r)) + 1)
    v0, v1 = max(0, int(np.floor(v - r))), min(height, int(np.ceil(v + r)) + 1)
    ys, xs = np.ogrid[v0:v1, u0:u1]
    if u0 < u1 and v0 < v1:
        channel[v0:v1, u0:u1] |= (xs + 0.5 - u) ** 2 + (ys + 0.5 - v) ** 2 <= r * r
    if 0 <= u < width and 0 <= v < height:
        channel[int(v), int(u)] = True


def _draw_stroke(channel: np.ndarray, crop: Crop, points, width: float) -> None:
    """Pixels whose centre lies within ``width / 2`` of the polyline (at least its centre line)."""
    height, width_px = channel.shape
    raster = [crop.to_raster(x, y) for x, y in points]
    half = max(width / 2, 0.5)
    if len(raster) == 1:
        _draw_disk(channel, *raster[0], half)
        return
    for (ax, ay), (bx, by) in zip(raster[:-1], raster[1:]):
        u0, u1 = max(0, int(np.floor(min(ax, bx) - half))), min(width_px, int(np.ceil(max(ax, bx) + half)) + 1)
        v0, v1 = max(0, int(np.floor(min(ay, by) - half))), min(height, int(np.ceil(max(ay, by) + half)) + 1)
        if u0 >= u1 or v0 >= v1:
            continue
        ys, xs = np.ogrid[v0:v1, u0:u1]
        px, py = xs + 0.5 - ax, ys + 0.5 - ay
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = np.clip((px * dx + py * dy) / length2, 0.0, 1.0) if length2 > 0 else 0.0
        channel[v0:v1, u0:u1] |= (px - t * dx) ** 2 + (py - t * dy) ** 2 <= half * half
    _draw_centre_line(channel, crop, points)


def _draw_centre_line(channel: np.ndarray, crop: Crop, points) -> None:
    def fixed(x: float, y: float) -> tuple:
        u, v = crop.to_raster(x, y)
        return int(round((u - 0.5) * _ONE)), int(round((v - 0.5) * _ONE))

    pts = np.array([fixed(x, y) for x, y in points], dtype=np.int32).reshape(-1, 1, 2)
    canvas = channel.view(np.uint8)
    cv2.polylines(canvas, [pts], isClosed=False, color=1, thickness=1, lineType=cv2.LINE_8, shift=_SHIFT)


def _draw_rectangle(channel: np.ndarray, crop: Crop, box: Box) -> None:
    u0, v0 = crop.to_raster(box.x0, box.y0)
    u1, v1 = crop.to_raster(box.x1, box.y1)
    height, width = channel.shape
    c1, r1 = max(int(np.ceil(u1)), int(np.floor(u0)) + 1), max(int(np.ceil(v1)), int(np.floor(v0)) + 1)
    c0, r0 = max(0, int(np.floor(u0))), max(0, int(np.floor(v0)))
    c1, r1 = min(width, c1), min(height, r1)
    if c0 < c1 and r0 < r1:
        channel[r0:r1, c0:c1] = True
