"""Pictures of results for a quick visual check: mask and alpha PNG rasters, overlays.

Below every command that writes pictures (``focalxl segment``, the demo, batch jobs).
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from .interactions import Box, Click, Scribble

TINT_RGB = (30, 144, 255)        # mask tint on the overlay
CONTOUR_RGB = (255, 255, 0)      # mask outline
POSITIVE_RGB = (0, 200, 0)       # positive clicks / scribbles
NEGATIVE_RGB = (230, 0, 0)       # negative clicks / scribbles
BOX_RGB = (255, 0, 255)          # boxes


def mask_png(mask: np.ndarray) -> np.ndarray:
    """A bool mask as a 0/255 ``uint8`` raster."""
    return np.where(mask, 255, 0).astype(np.uint8)


def alpha_png(alpha: np.ndarray) -> np.ndarray:
    """An alpha matte in [0, 1] as a 0..255 ``uint8`` raster."""
    return np.clip(np.rint(alpha * 255.0), 0, 255).astype(np.uint8)


def overlay(image: np.ndarray, mask: np.ndarray, interactions: Sequence[object] = ()) -> np.ndarray:
    """The RGB image with the mask tinted and outlined and the prompts drawn on top.

    Clicks are green (positive) or red (negative) dots, scribbles strokes of the
    same colours, boxes magenta rectangles.
    """
    out = image.copy()
    tint = np.array(TINT_RGB, dtype=np.float32)
    out[mask] = (0.55 * out[mask] + 0.45 * tint).astype(np.uint8)
    scale = max(1, round(min(image.shape[:2]) / 300))
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, CONTOUR_RGB, scale, cv2.LINE_AA)
    for item in interactions:
        if isinstance(item, Box):
            cv2.rectangle(out, (round(item.x0), round(item.y0)), (round(item.x1) - 1, round(item.y1) - 1),
                          BOX_RGB, scale, cv2.LINE_AA)
        elif isinstance(item, Scribble):
            colour = POSITIVE_RGB if item.positive else NEGATIVE_RGB
            pts = np.array([[round(x), round(y)] for x, y in item.points], dtype=np.int32).reshape(-1, 1, 2)
            cv2.polylines(out, [pts], False, colour, max(1, round(item.width)), cv2.LINE_AA)
    for item in interactions:       # dots last, on top of everything
        if isinstance(item, Click):
            colour = POSITIVE_RGB if item.positive else NEGATIVE_RGB
            centre = (int(item.x), int(item.y))
            cv2.circle(out, centre, 4 * scale + scale, (255, 255, 255), -1, cv2.LINE_AA)
            cv2.circle(out, centre, 4 * scale, colour, -1, cv2.LINE_AA)
    return out
