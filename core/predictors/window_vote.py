"""The classical preset's first click: GrabCut on windows of growing size around it, voted.

For each window (a square around the click whose half-side is a fraction of the raster's
longer side) GrabCut runs on the window plus a margin half as wide again: the margin is
background, the window probable foreground, the click foreground. The component at the
click is that scale's **candidate**. A window too small cuts the object, one too large
takes in its surroundings; neither is known in advance, so every candidate votes:

* a candidate that collapsed onto the click (filling under ``min_fill`` of its window)
  has no vote;
* a vote weighs how far the candidate's colours are from those of a ring around it
  (one minus the Bhattacharyya coefficient of their colour histograms) times the share of its outline that does
  **not** run along its window's edge (an object cut by its window);
* pixels with at least ``quorum`` of the vote form the mask.

A vote over scales moves little when the click moves by a pixel, where picking one scale
can jump between them. Each window is shrunk to ``window_side`` pixels before GrabCut,
so every scale costs about the same.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import cv2
import numpy as np

from ..merge import touched_components

_FG, _BG, _PR_FG = cv2.GC_FGD, cv2.GC_BGD, cv2.GC_PR_FGD


@dataclass(frozen=True)
class Candidate:
    """One scale's segment: ``mask`` over ``box`` (``y0, x0, y1, x1`` in raster pixels) and its vote."""

    box: Tuple[int, int, int, int]
    mask: np.ndarray
    weight: float


def window_vote(image: np.ndarray, labels: np.ndarray, seeds: np.ndarray, grabcut,
                fractions: Sequence[float] = (0.035, 0.06, 0.1, 0.16, 0.26, 0.42, 0.7),
                window_side: int = 128, min_fill: float = 0.05, quorum: float = 0.4,
                iterations: int = 4) -> np.ndarray:
    """The mask voted by the windows around ``seeds`` (``bool[h, w]``, over the raster of ``image``).

    ``labels`` are the prompts' GrabCut labels (sure background where negative clicks are,
    sure foreground at ``seeds``); ``grabcut(image, labels, iterations)`` runs one cut.
    """
    ys, xs = np.nonzero(seeds)
    if ys.size == 0:
        return seeds
    height, width = seeds.shape
    cy, cx = (ys.min() + ys.max() + 1) / 2, (xs.min() + xs.max() + 1) / 2
    reach = max(ys.max() + 1 - ys.min(), xs.max() + 1 - xs.min()) / 2 + 2
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    candidates = [_candidate(image, lab, labels, seeds, cy, cx, max(reach, f * max(height, width)), window_side,
                             grabcut, iterations) for f in fractions]
    voters = [c for c in candidates if c.mask.mean() >= min_fill] or candidates
    total = sum(c.weight for c in voters)
    votes = np.zeros(seeds.shape, np.float32)
    for c in voters:
        y0, x0, y1, x1 = c.box
        votes[y0:y1, x0:x1] += c.mask * (c.weight / total if total > 0 else 1.0 / len(voters))
    return (votes >= quorum) | seeds


def _candidate(image: np.ndarray, lab: np.ndarray, labels: np.ndarray, seeds: np.ndarray, cy: float, cx: float,
               half: float, window_side: int, grabcut, iterations: int) -> Candidate:
    """GrabCut on the window of half-side ``half`` (shrunk to ``window_side``), its component at the seeds."""
    shape = seeds.shape
    window = _box(cy, cx, half, shape)
    outer = _box(cy, cx, 1.5 * half, shape)
    oy0, ox0, oy1, ox1 = outer
    local = np.full((oy1 - oy0, ox1 - ox0), _BG, np.uint8)
    wy0, wx0, wy1, wx1 = (window[0] - oy0, window[1] - ox0, window[2] - oy0, window[3] - ox0)
    inside = labels[window[0]:window[2], window[1]:window[3]]
    local[wy0:wy1, wx0:wx1] = np.where(inside == _BG, _BG, _PR_FG)
    _frame_raster_border(local, outer, shape)
    local_seeds = seeds[oy0:oy1, ox0:ox1]
    local[local_seeds] = _FG
    scale = min(1.0, window_side / max(local.shape))
    size = (max(1, round(local.shape[1] * scale)), max(1, round(local.shape[0] * scale)))
    small_image = cv2.resize(image[oy0:oy1, ox0:ox1], size, interpolation=cv2.INTER_AREA)
    small_labels = cv2.resize(local, size, interpolation=cv2.INTER_NEAREST)
    small_seeds = cv2.resize(local_seeds.view(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    if not small_seeds.any():       # a seed smaller than a pixel of the shrunk window
        sy, sx = np.nonzero(local_seeds)
        small_seeds[min(size[1] - 1, int(sy.mean() * scale)), min(size[0] - 1, int(sx.mean() * scale))] = True
    small_labels[small_seeds] = _FG
    segment = _component(grabcut(small_image, small_labels, iterations), small_seeds)
    small_lab = cv2.resize(lab[oy0:oy1, ox0:ox1], size, interpolation=cv2.INTER_AREA)
    rim = _rim_of(window, outer, shape, scale, size)
    weight = _separation(small_lab, segment) * (1.0 - _cut_share(segment, rim)) + 1e-3 * (not (segment & rim).any())
    mask = cv2.resize(segment.view(np.uint8), (ox1 - ox0, oy1 - oy0), interpolation=cv2.INTER_LINEAR) > 0
    return Candidate(window, mask[wy0:wy1, wx0:wx1], float(weight))


def _frame_raster_border(local: np.ndarray, outer: Tuple[int, int, int, int], shape: Tuple[int, int],
                         fraction: float = 0.01) -> None:
    """Where the margin would reach past the raster, its border is background instead.

    Without it a window as large as the image has no background to learn from.
    """
    width = max(2, round(fraction * max(shape)))
    height_, width_ = shape
    y0, x0, y1, x1 = outer
    if y0 == 0:
        local[:width] = _BG
    if y1 == height_:
        local[-width:] = _BG
    if x0 == 0:
        local[:, :width] = _BG
    if x1 == width_:
        local[:, -width:] = _BG


def _box(cy: float, cx: float, half: float, shape: Tuple[int, int]) -> Tuple[int, int, int, int]:
    height, width = shape
    return (max(0, int(np.floor(cy - half))), max(0, int(np.floor(cx - half))),
            min(height, int(np.ceil(cy + half))), min(width, int(np.ceil(cx + half))))


def _rim_of(window: Tuple[int, int, int, int], outer: Tuple[int, int, int, int], shape: Tuple[int, int],
            scale: float, size: Tuple[int, int]) -> np.ndarray:
    """The window's edge on the shrunk raster, two pixels wide, leaving out the raster's border."""
    rim = np.zeros((size[1], size[0]), bool)
    y0, x0, y1, x1 = [round((v - o) * scale) for v, o in zip(window, outer[:2] * 2)]
    y1, x1 = min(size[1], max(y1, y0 + 1)), min(size[0], max(x1, x0 + 1))
    height, width = shape
    if window[0] > 0:
        rim[y0:y0 + 2, x0:x1] = True
    if window[2] < height:
        rim[max(y0, y1 - 2):y1, x0:x1] = True
    if window[1] > 0:
        rim[y0:y1, x0:x0 + 2] = True
    if window[3] < width:
        rim[y0:y1, max(x0, x1 - 2):x1] = True
    return rim


def _cut_share(segment: np.ndarray, rim: np.ndarray) -> float:
    """The share of the segment's outline that runs along the window's edge."""
    outline = segment & ~cv2.erode(segment.view(np.uint8), np.ones((3, 3), np.uint8), borderValue=1).astype(bool)
    count = np.count_nonzero(outline)
    return float(np.count_nonzero(outline & rim)) / count if count else 1.0


def _separation(lab: np.ndarray, segment: np.ndarray, bins: int = 8) -> float:
    """One minus the Bhattacharyya coefficient of the colour histograms of the segment and a ring around it."""
    area = np.count_nonzero(segment)
    if area == 0:
        return 0.0
    radius = max(2, int(0.15 * np.sqrt(area)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    ring = cv2.dilate(segment.view(np.uint8), kernel).astype(bool) & ~segment
    if not ring.any():
        return 0.0
    hists: List[np.ndarray] = []
    for region in (segment, ring):
        h = cv2.calcHist([lab], [0, 1, 2], region.view(np.uint8), [bins] * 3, [0, 256] * 3)
        hists.append(h / max(1.0, float(h.sum())))
    return 1.0 - float(np.sum(np.sqrt(hists[0] * hists[1])))


def _component(foreground: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """The components of ``foreground`` at the seeds (the seeds alone when GrabCut dropped them)."""
    segment = touched_components(foreground, seeds)
    return segment if segment.any() else seeds.copy()
