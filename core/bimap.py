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
        canvas[min(int(v), crop.height - 1), min(int(u), crop.width - 1)] = True
    elif isinstance(interaction, Scribble):
        _draw_stroke(canvas, crop, interaction.points, 1.0)
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
    channel[v0:v1, u0:u1] |= (xs + 0.5 - u) ** 2 + (ys + 0.5 - v) ** 2 <= r * r
    channel[min(int(v), height - 1), min(int(u), width - 1)] = True


def _fixed(crop: Crop, x: float, y: float) -> tuple:
    u, v = crop.to_raster(x, y)
    return int(round((u - 0.5) * _ONE)), int(round((v - 0.5) * _ONE))


def _draw_stroke(channel: np.ndarray, crop: Crop, points, width: float) -> None:
    canvas = channel.view(np.uint8)
    pts = np.array([_fixed(crop, x, y) for x, y in points], dtype=np.int32).reshape(-1, 1, 2)
    thickness = max(1, int(round(width)))
    if len(pts) == 1:
        _draw_disk(channel, *crop.to_raster(*points[0]), width / 2)
        return
    cv2.polylines(canvas, [pts], isClosed=False, color=1, thickness=thickness, lineType=cv2.LINE_8, shift=_SHIFT)


def _draw_rectangle(channel: np.ndarray, crop: Crop, box: Box) -> None:
    u0, v0 = crop.to_raster(box.x0, box.y0)
    u1, v1 = crop.to_raster(box.x1, box.y1)
    height, width = channel.shape
    c0, r0 = max(0, int(np.floor(u0))), max(0, int(np.floor(v0)))
    c1, r1 = min(width, max(int(np.ceil(u1)), c0 + 1)), min(height, max(int(np.ceil(v1)), r0 + 1))
    if c0 < width and r0 < height and c1 > 0 and r1 > 0:
        channel[r0:r1, c0:c1] = True
