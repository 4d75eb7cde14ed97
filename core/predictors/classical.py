"""``classical``: the offline default, no weights.

Object stage: GrabCut (colour GMMs + graph cut) on the zoomed Target Crop, seeded by
the bi-maps (clicks and scribbles are definite foreground/background, a box bounds the
object, a coarse mask and the previous mask are probable foreground), keeping only the
foreground connected to what the user marked.

Detail stage: GrabCut again on the full-resolution Focus Crop, where local colour models
separate object and background better, restricted to the uncertain band of the coarse
mask; then an edge-aware guided filter turns the hard mask into an alpha matte.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from ..segmenter import register
from .base import LOGIT_LIMIT, DetailInput, ObjectInput

_FG, _BG, _PR_FG, _PR_BG = cv2.GC_FGD, cv2.GC_BGD, cv2.GC_PR_FGD, cv2.GC_PR_BGD


class ClassicalPredictor:
    """GrabCut object stage + GrabCut/guided-filter detail stage."""

    name = "classical"

    def __init__(self, input_size: int = 400, detail_size: int = 320, click_radius: float = 5.0,
                 iterations: int = 4, detail_iterations: int = 3, guided_radius: int = 3,
                 guided_eps: float = 1e-3):
        self.input_size = input_size
        self.detail_size = detail_size
        self.click_radius = click_radius
        self.iterations = iterations
        self.detail_iterations = detail_iterations
        self.guided_radius = guided_radius
        self.guided_eps = guided_eps

    def context(self, image: np.ndarray) -> None:
        return None

    def predict_object(self, inputs: ObjectInput) -> np.ndarray:
        labels = _seed_labels(inputs.bimaps, inputs.prev_prob >= 0.5)
        foreground = _grabcut(inputs.image, labels, self.iterations)
        foreground = _connected_to_seeds(foreground, _positive_seeds(inputs.bimaps) | (inputs.prev_prob >= 0.5))
        return _soft_logits(foreground)

    def refine(self, inputs: DetailInput) -> np.ndarray:
        coarse = inputs.coarse_prob >= 0.5
        labels = _band_labels(coarse, band=max(3, round(0.04 * max(coarse.shape))))
        pos, neg = _seed_channels(inputs.bimaps)
        labels[pos] = _FG
        labels[neg] = _BG
        foreground = _grabcut(inputs.image, labels, self.detail_iterations)
        alpha = _guided_filter(inputs.image, foreground.astype(np.float32), self.guided_radius, self.guided_eps)
        alpha[pos] = 1.0
        alpha[neg] = 0.0
        return np.clip(alpha, 0.0, 1.0)


def _seed_channels(bimaps) -> tuple:
    shape = next(iter(bimaps.values())).positive.shape
    pos = np.zeros(shape, dtype=bool)
    neg = np.zeros(shape, dtype=bool)
    for kind in ("click", "scribble"):
        if kind in bimaps:
            pos |= bimaps[kind].positive
            neg |= bimaps[kind].negative
    return pos, neg


def _positive_seeds(bimaps) -> np.ndarray:
    pos, _ = _seed_channels(bimaps)
    for kind in ("box", "mask"):
        if kind in bimaps:
            pos |= bimaps[kind].positive
    return pos


def _seed_labels(bimaps, prev_mask: np.ndarray) -> np.ndarray:
    """GrabCut labels from the prompts: box and masks as priors, strokes as hard seeds."""
    labels = np.full(prev_mask.shape, _PR_BG, dtype=np.uint8)
    if "box" in bimaps:
        labels[:] = _BG
        labels[bimaps["box"].positive] = _PR_FG
    if "mask" in bimaps:
        labels[bimaps["mask"].positive] = _PR_FG
    labels[prev_mask] = _PR_FG
    pos, neg = _seed_channels(bimaps)
    labels[pos] = _FG
    labels[neg] = _BG
    return labels


def _band_labels(mask: np.ndarray, band: int) -> np.ndarray:
    """Sure inside/outside away from the boundary, probable labels within ``band`` of it."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    m = mask.view(np.uint8)
    inner = cv2.erode(m, kernel).astype(bool)
    outer = cv2.dilate(m, kernel).astype(bool)
    labels = np.where(mask, _PR_FG, _PR_BG).astype(np.uint8)
    labels[inner] = _FG
    labels[~outer] = _BG
    return labels


def _grabcut(image: np.ndarray, labels: np.ndarray, iterations: int) -> np.ndarray:
    """Foreground after GrabCut from ``labels``; labels alone when a class has no samples."""
    fg = (labels == _FG) | (labels == _PR_FG)
    if fg.all() or not fg.any() or not ((labels == _PR_FG) | (labels == _PR_BG)).any():
        return fg
    work = labels.copy()
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(np.ascontiguousarray(image), work, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    return (work == _FG) | (work == _PR_FG)


def _connected_to_seeds(foreground: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Keep the foreground components that touch a seed (all of it if none does)."""
    count, labels = cv2.connectedComponents(foreground.view(np.uint8), connectivity=8)
    keep = np.zeros(count, dtype=bool)
    keep[labels[seeds & foreground]] = True
    keep[0] = False
    if not keep.any():
        return foreground
    return keep[labels]


def _soft_logits(foreground: np.ndarray, softness: float = 1.5) -> np.ndarray:
    """Logits from a hard mask: signed distance to its boundary, in pixels / ``softness``."""
    m = foreground.view(np.uint8)
    inside = cv2.distanceTransform(m, cv2.DIST_L2, 3)
    outside = cv2.distanceTransform(1 - m, cv2.DIST_L2, 3)
    signed = np.where(foreground, inside - 0.5, 0.5 - outside) / softness
    return np.clip(signed, -LOGIT_LIMIT, LOGIT_LIMIT).astype(np.float32)


def _guided_filter(image: np.ndarray, target: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter with the grey image as guide: edge-aware smoothing."""
    guide = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    size = (2 * radius + 1, 2 * radius + 1)
    mean = lambda x: cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT)
    mean_i, mean_p = mean(guide), mean(target)
    cov = mean(guide * target) - mean_i * mean_p
    var = mean(guide * guide) - mean_i * mean_i
    a = cov / (var + eps)
    b = mean_p - a * mean_i
    return mean(a) * guide + mean(b)


def build(checkpoint: Optional[str] = None, **options) -> ClassicalPredictor:
    if checkpoint is not None:
        raise ValueError("checkpoint: the classical preset has no weights; leave it out")
    return ClassicalPredictor(**options)


register("classical", build)
