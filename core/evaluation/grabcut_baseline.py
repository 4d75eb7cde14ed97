"""The plain GrabCut baseline: OpenCV ``cv2.grabCut`` seeded with the clicks as disks.

This is the reference point the engine is compared with, deliberately without any of
the engine's machinery: on every click GrabCut starts afresh on the **whole image**
from a label map built only from the clicks so far,

* every pixel ``GC_PR_BGD`` (probable background),
* a disk of radius 5 px around each positive click ``GC_FGD``, each negative ``GC_BGD``,

runs ``cv2.grabCut(..., GC_INIT_WITH_MASK)`` for 5 iterations and returns
``FGD | PR_FGD`` as the mask. No previous mask, no crop, no merge, no post-processing.
Before the first positive click the mask is empty.

A box (the ``box`` protocol) is OpenCV's own rectangle initialisation: ``cv2.grabCut(...,
rect, GC_INIT_WITH_RECT)`` on the whole image, the same 5 iterations.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List

import cv2
import numpy as np

from ..interactions import Box, Click


@dataclass
class BaselineResult:
    mask: np.ndarray   # bool[H, W]


class PlainGrabCut:
    """Session factory for the plain GrabCut baseline."""

    name = "grabcut"

    def __init__(self, radius: int = 5, iterations: int = 5, init_label: int = cv2.GC_PR_BGD):
        self.radius = radius
        self.iterations = iterations
        self.init_label = init_label

    def new_session(self, image: np.ndarray) -> "PlainGrabCutSession":
        return PlainGrabCutSession(self, image)


class PlainGrabCutSession:
    """One object: keeps the clicks, reruns GrabCut from scratch on each new one."""

    def __init__(self, method: PlainGrabCut, image: np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be uint8[H, W, 3], got {image.dtype} {image.shape}")
        self.method = method
        self.image = np.ascontiguousarray(image)
        self.clicks: List[Click] = []

    def add(self, click: Click | Box) -> BaselineResult:
        if isinstance(click, Box):
            click.validate(self.image.shape[:2])
            return BaselineResult(self._segment_box(click))
        if not isinstance(click, Click):
            raise TypeError(f"the plain GrabCut baseline takes clicks and boxes, got {type(click).__name__}")
        click.validate(self.image.shape[:2])
        self.clicks.append(click)
        return BaselineResult(self._segment())

    def seed_labels(self) -> np.ndarray:
        """The GrabCut label map: the initial label everywhere, click disks as sure labels."""
        labels = np.full(self.image.shape[:2], self.method.init_label, dtype=np.uint8)
        for click in self.clicks:
            centre = (int(click.x), int(click.y))
            value = cv2.GC_FGD if click.positive else cv2.GC_BGD
            cv2.circle(labels, centre, self.method.radius, value, thickness=-1)
        return labels

    def _segment_box(self, box: Box) -> np.ndarray:
        """OpenCV's rectangle initialisation with the box (whole pixels it covers)."""
        height, width = self.image.shape[:2]
        x0, y0 = max(0, int(np.floor(box.x0))), max(0, int(np.floor(box.y0)))
        x1, y1 = min(width, int(np.ceil(box.x1))), min(height, int(np.ceil(box.y1)))
        labels = np.zeros((height, width), np.uint8)
        if x1 - x0 < 2 or y1 - y0 < 2 or (x1 - x0 == width and y1 - y0 == height):
            labels[y0:y1, x0:x1] = 1      # GrabCut needs background outside and room inside the rectangle
            return labels.astype(bool)
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(0)
        cv2.grabCut(self.image, labels, (x0, y0, x1 - x0, y1 - y0), bgd, fgd, self.method.iterations,
                    cv2.GC_INIT_WITH_RECT)
        return (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)

    def _segment(self) -> np.ndarray:
        labels = self.seed_labels()
        fg = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
        bg = (labels == cv2.GC_BGD) | (labels == cv2.GC_PR_BGD)
        if not fg.any() or not bg.any():
            return fg   # GrabCut needs samples of both classes
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(0)  # k-means draws from OpenCV's global RNG: same result whatever the worker order
        cv2.grabCut(self.image, labels, None, bgd, fgd, self.method.iterations, cv2.GC_INIT_WITH_MASK)
        return (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
