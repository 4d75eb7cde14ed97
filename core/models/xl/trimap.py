"""The Detail-Net's trimap: where the coarse mask is sure, and where alpha is still open."""
from __future__ import annotations

import cv2
import numpy as np

FOREGROUND, BACKGROUND, UNKNOWN = 0, 1, 2   # label values, and the one-hot channel order
CONFIDENT = 0.9                             # a pixel is sure when p >= 0.9 or p <= 0.1 ...


def trimap(coarse: np.ndarray, band: int, positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """``uint8[H, W]`` labels from coarse probabilities ``float[H, W]``.

    A pixel is confident foreground (background) when the coarse mask is sure of it
    and it lies more than ``band`` pixels inside the mask (outside it); everything
    else is unknown. The user's own strokes override: ``positive`` pixels are
    foreground, ``negative`` ones background.
    """
    inside = coarse >= 0.5
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    deep_inside = cv2.erode(inside.view(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE).astype(bool)
    deep_outside = cv2.erode((~inside).view(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE).astype(bool)
    labels = np.full(coarse.shape, UNKNOWN, dtype=np.uint8)
    labels[deep_inside & (coarse >= CONFIDENT)] = FOREGROUND
    labels[deep_outside & (coarse <= 1 - CONFIDENT)] = BACKGROUND
    labels[positive] = FOREGROUND
    labels[negative] = BACKGROUND
    return labels


def one_hot(labels: np.ndarray) -> np.ndarray:
    """``float32[3, H, W]``: confident foreground, confident background, unknown."""
    return np.stack([labels == FOREGROUND, labels == BACKGROUND, labels == UNKNOWN]).astype(np.float32)
