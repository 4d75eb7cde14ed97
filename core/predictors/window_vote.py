"""The classical preset's first click: two segmenters on windows of growing size around it, voted.

For each window (a square around the click whose half-side is a fraction of the raster's
longer side) two segmenters give that scale's **candidates**, each the component at the
click:

* **GrabCut** (colour) on the window plus a margin half as wide again: the margin is
  background, the window probable foreground, the click foreground. Its vote weighs how
  far the candidate's colours are from those of a ring around it (one minus the
  Bhattacharyya coefficient of their colour histograms) times the share of its outline
  that does **not** run along its window's edge (an object cut by its window). A
  candidate that collapsed onto the click (filling under ``min_fill`` of its window) has
  no vote.
* **Watershed** (edges) from the click, with everything beyond the window as background:
  the flood stops at the strongest edges between the click and the window's edge, so it
  never collapses where colours overlap (a brown animal on brown ground). Its vote is
  the contrast of its outline's edges against those inside it, times the same colour
  separation and uncut share.

A window too small cuts the object, one too large takes in its surroundings; neither is
known in advance, so every candidate votes. Each family holds half of the vote (all of
it when every GrabCut candidate collapsed) and pixels with at least ``quorum`` of it form
the mask. A vote over scales and segmenters moves little when the click moves by a
pixel, where picking one scale can jump between them. Each GrabCut window is shrunk to
``window_side`` pixels, so every scale costs about the same, and the windows' cuts run side
by side on OpenCV's threads (each seeds its own thread's RNG: the result does not depend
on the thread count).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import cv2
import numpy as np

from ..merge import touched_components

_FG, _BG, _PR_FG = cv2.GC_FGD, cv2.GC_BGD, cv2.GC_PR_FGD
_OBJECT, _BACKGROUND = 1, 2      # watershed markers


@dataclass(frozen=True)
class Candidate:
    """One scale's segment: ``mask`` over ``box`` (``y0, x0, y1, x1`` in raster pixels) and its vote."""

    box: Tuple[int, int, int, int]
    mask: np.ndarray
    weight: float


def window_vote(image: np.ndarray, labels: np.ndarray, seeds: np.ndarray, grabcut,
                fractions: Sequence[float] = (0.035, 0.06, 0.1, 0.16, 0.26, 0.42, 0.7),
                window_side: int = 128, min_fill: float = 0.05, quorum: float = 0.3,
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
    halves = [max(reach, f * max(height, width)) for f in fractions]
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    with ThreadPoolExecutor(max(1, min(len(halves), cv2.getNumThreads()))) as pool:    # OpenCV releases the GIL
        colour = list(pool.map(lambda half: _candidate(image, lab, labels, seeds, cy, cx, half, window_side, grabcut,
                                                       iterations), halves))
    colour = [c for c in colour if c.mask.mean() >= min_fill]
    gradient = edge_strength(lab)
    edges = [_watershed_candidate(image, lab, gradient, labels, seeds, _box(cy, cx, half, seeds.shape))
             for half in halves]
    votes = np.zeros(seeds.shape, np.float32)
    colour_share = 0.5 if colour else 0.0
    _add_votes(votes, colour, colour_share)
    _add_votes(votes, edges, 1.0 - colour_share)
    return (votes >= quorum) | seeds


def edge_strength(lab: np.ndarray) -> np.ndarray:
    """The strongest Sobel gradient over the L, a and b channels of a lightly blurred Lab raster."""
    blurred = cv2.GaussianBlur(lab, (3, 3), 0).astype(np.float32)
    strength = np.zeros(lab.shape[:2], np.float32)
    for channel in cv2.split(blurred):
        strength = np.maximum(strength, cv2.magnitude(cv2.Sobel(channel, cv2.CV_32F, 1, 0),
                                                      cv2.Sobel(channel, cv2.CV_32F, 0, 1)))
    return strength


def _add_votes(votes: np.ndarray, candidates: List[Candidate], share: float) -> None:
    """Spread ``share`` of the vote over ``candidates`` by weight (evenly when no candidate weighs anything)."""
    if not candidates or share == 0.0:
        return
    total = sum(c.weight for c in candidates)
    for c in candidates:
        y0, x0, y1, x1 = c.box
        votes[y0:y1, x0:x1] += c.mask * (share * (c.weight / total if total > 0 else 1.0 / len(candidates)))


def _watershed_candidate(image: np.ndarray, lab: np.ndarray, gradient: np.ndarray, labels: np.ndarray,
                         seeds: np.ndarray, window: Tuple[int, int, int, int]) -> Candidate:
    """The watershed flood from the seeds inside ``window`` (beyond it, and at negative clicks, background)."""
    shape = seeds.shape
    outer = _box((window[0] + window[2]) / 2, (window[1] + window[3]) / 2,
                 0.75 * max(window[2] - window[0], window[3] - window[1]), shape)
    oy0, ox0, oy1, ox1 = outer
    wy0, wx0, wy1, wx1 = (window[0] - oy0, window[1] - ox0, window[2] - oy0, window[3] - ox0)
    markers = np.full((oy1 - oy0, ox1 - ox0), _BACKGROUND, np.int32)
    markers[wy0:wy1, wx0:wx1] = 0
    frame = np.full(markers.shape, _PR_FG, np.uint8)
    _frame_raster_border(frame, outer, shape)      # where the window reaches the raster's border
    markers[frame == _BG] = _BACKGROUND
    markers[labels[oy0:oy1, ox0:ox1] == _BG] = _BACKGROUND
    local_seeds = seeds[oy0:oy1, ox0:ox1]
    markers[local_seeds] = _OBJECT
    cv2.watershed(np.ascontiguousarray(image[oy0:oy1, ox0:ox1]), markers)
    segment = touched_components(markers == _OBJECT, local_seeds)
    segment |= cv2.morphologyEx(segment.view(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)).astype(bool)
    outline = segment & ~cv2.erode(segment.view(np.uint8), np.ones((3, 3), np.uint8), borderValue=1).astype(bool)
    local_gradient = gradient[oy0:oy1, ox0:ox1]
    on_edge = float(local_gradient[outline].mean()) if outline.any() else 0.0
    inside = segment & ~outline
    within = float(local_gradient[inside].mean()) if inside.any() else 0.0
    rim = _rim_of(window, outer, shape, 1.0, markers.shape[::-1])
    weight = (on_edge / (on_edge + within + 1e-3) * (1.0 - _cut_share(segment, rim))
              * _separation(lab[oy0:oy1, ox0:ox1], segment))
    return Candidate(window, segment[wy0:wy1, wx0:wx1], float(weight))


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
