"""Click simulation for training, as in RITM / FocalClick (``MultiPointSampler`` and
``get_next_points_removeall``), and the click disks the networks take.

Clicks are stored as ClickSEG does: ``int[2 * N, 3]`` rows ``(row, col, order)``, the
first ``N`` positive and the last ``N`` negative, unused rows ``(-1, -1, -1)``.

* :func:`first_clicks` — the clicks a user starts with: one positive near the object's
  centre (distance transform above ``max / 1.7``), then ``k ~ 0.8^k`` more positives
  inside the (eroded) object and ``k ~ 0.8^k`` negatives from the background, a ring
  around the object, or anywhere outside, up to ``N = 24`` of each;
* :func:`corrective_click` — the click a user adds after seeing a prediction: in the
  bigger error (false negatives or false positives, larger distance transform), a pixel
  drawn uniformly where the distance exceeds half its maximum;
* :func:`disks` — the binary disk maps of a batch of clicks.
"""
from __future__ import annotations

from typing import Optional, Tuple

import cv2
import numpy as np
import torch
from torch import Tensor

MAX_POINTS = 24          # MultiPointSampler(max_num_points=24)
PROB_GAMMA = 0.8         # P(k extra clicks) ~ 0.8^k
FIRST_CLICK_INNER = 1.7  # the first click lies where dt > max(dt) / 1.7
ERODE_PROB = 0.9         # positives come from the object eroded 3x3 three times, with this probability
NEGATIVE_STRATEGIES = (("background", 0.5), ("border", 0.5))   # ClickSEG: bg 0.1 / other objects 0.4 / border 0.5;
                                                               # one instance per sample, so "other" folds into bg
BORDER_EXPAND = 0.1      # border ring width: ceil(0.1 * sqrt(object area))
ERROR_THRESHOLD = 0.49   # a pixel is predicted object above this probability


def empty_clicks(max_points: int = MAX_POINTS) -> np.ndarray:
    return np.full((2 * max_points, 3), -1, dtype=np.int64)


def _count(rng: np.random.Generator, most: int, start: int) -> int:
    """``start + k`` where ``P(k) ~ PROB_GAMMA^k`` for ``k < most``."""
    weights = PROB_GAMMA ** np.arange(most)
    return start + int(rng.choice(most, p=weights / weights.sum()))


def _pick(rng: np.random.Generator, where: np.ndarray, count: int) -> np.ndarray:
    """``count`` distinct ``(row, col)`` pixels of ``where`` (fewer when it has fewer)."""
    pixels = np.argwhere(where)
    if len(pixels) == 0 or count <= 0:
        return np.zeros((0, 2), dtype=np.int64)
    chosen = rng.choice(len(pixels), size=min(count, len(pixels)), replace=False)
    return pixels[chosen]


def _distance(region: np.ndarray) -> np.ndarray:
    """Distance of each region pixel to the region's border, the image border counting as one."""
    padded = np.pad(region.astype(np.uint8), 1)
    return cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]


def first_clicks(gt: np.ndarray, rng: np.random.Generator, valid: Optional[np.ndarray] = None,
                 max_points: int = MAX_POINTS) -> np.ndarray:
    """The simulated user's initial clicks on object ``gt`` (``bool[H, W]``, not empty)."""
    gt = gt.astype(bool)
    valid = np.ones_like(gt) if valid is None else valid.astype(bool)
    clicks = empty_clicks(max_points)
    inside = gt & valid
    distance = _distance(inside)
    centre = inside & (distance > distance.max() / FIRST_CLICK_INNER)
    first = _pick(rng, centre if centre.any() else inside, 1)
    positives = [first]
    extra = _count(rng, max_points, 1) - 1
    if extra:
        eroded = inside
        if rng.random() < ERODE_PROB:
            eroded = cv2.erode(inside.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=3).astype(bool)
        positives.append(_pick(rng, (eroded if eroded.any() else inside) & ~_mark(first, gt.shape), extra))
    negatives = _pick(rng, _negative_region(gt, valid, rng), _count(rng, max_points + 1, 0))
    _write(clicks, np.concatenate(positives), 0, order_first=True)
    _write(clicks, negatives, max_points, order_first=False)
    return clicks


def _negative_region(gt: np.ndarray, valid: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    names, weights = zip(*NEGATIVE_STRATEGIES)
    outside = ~gt & valid
    if names[int(rng.choice(len(names), p=np.array(weights) / sum(weights)))] == "border":
        width = int(np.ceil(BORDER_EXPAND * np.sqrt(gt.sum())))
        ring = cv2.dilate(gt.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=max(1, width)).astype(bool)
        if (ring & outside).any():
            return ring & outside
    return outside


def _mark(pixels: np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    marked = np.zeros(shape, dtype=bool)
    marked[pixels[:, 0], pixels[:, 1]] = True
    return marked


def _write(clicks: np.ndarray, pixels: np.ndarray, offset: int, order_first: bool) -> None:
    """Rows ``offset ...`` get ``pixels``; ClickSEG's order index: 0 for the first positive, 100 after."""
    for i, (row, col) in enumerate(pixels):
        clicks[offset + i] = (row, col, 0 if (order_first and i == 0) else 100)


def corrective_click(clicks: np.ndarray, gt: np.ndarray, prob: np.ndarray, rng: np.random.Generator,
                     round_index: int, valid: Optional[np.ndarray] = None) -> bool:
    """Add the next click in place; ``False`` when the prediction has no error left.

    The click goes to slot ``N - 1 - round_index`` of its polarity, overwriting whatever
    is there (as ClickSEG writes slot ``N - k``), with order ``round_index + 1``.
    """
    gt = gt.astype(bool)
    valid = np.ones_like(gt) if valid is None else valid.astype(bool)
    pred = prob > ERROR_THRESHOLD
    fn = _distance(gt & ~pred & valid)
    fp = _distance(~gt & pred & valid)
    positive = fn.max() > fp.max()
    distance = fn if positive else fp
    if distance.max() <= 0:
        return False
    row, col = _pick(rng, distance > distance.max() / 2, 1)[0]
    half = len(clicks) // 2
    slot = (0 if positive else half) + half - 1 - (round_index % half)
    clicks[slot] = (row, col, round_index + 1)
    return True


def disks(clicks: Tensor, size: Tuple[int, int], radius: float, scale: float = 1.0) -> Tensor:
    """``[B, 2, H, W]`` positive / negative disk maps of ``clicks [B, 2N, 3]`` (RITM ``DistMaps``
    with ``use_disks``): pixel ``(y, x)`` is on when its squared distance to a click's
    ``(row, col) * scale`` is at most ``radius^2``; padding rows draw nothing."""
    batch, rows = clicks.shape[:2]
    height, width = size
    points = clicks[..., :2].detach().float().cpu().numpy() * scale
    maps = np.zeros((batch, 2, height, width), dtype=np.float32)
    reach = int(np.ceil(radius))
    for sample, row in zip(*np.nonzero(clicks[..., 0].cpu().numpy() >= 0)):
        y, x = points[sample, row]
        y0, y1 = max(0, int(np.floor(y)) - reach), min(height, int(np.ceil(y)) + reach + 1)
        x0, x1 = max(0, int(np.floor(x)) - reach), min(width, int(np.ceil(x)) + reach + 1)
        if y0 >= y1 or x0 >= x1:
            continue
        ys, xs = np.ogrid[y0:y1, x0:x1]
        channel = maps[sample, 0 if row < rows // 2 else 1, y0:y1, x0:x1]
        channel[(ys - y) ** 2 + (xs - x) ** 2 <= radius * radius] = 1.0
    return torch.from_numpy(maps).to(clicks.device)
