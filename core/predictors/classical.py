"""``classical``: the offline default, no weights.

Object stage, on the zoomed Target Crop, with GrabCut (colour GMMs + graph cut):

* **first click** — GrabCut (colour) and a watershed flood (edges) on windows of growing
  size around the click; the segments vote, weighted by how well their colours separate
  from their surroundings, how little of them their window cuts and, for the watershed,
  how strong the edges on their outline are (:mod:`.window_vote`);
* **box** — outside the box is background, inside it probable foreground (two GrabCut
  iterations: a third moves the cut by under 1 % IoU); a cut that
  keeps under ``box_min_fill`` of the box has collapsed and falls back to GrabCut's first
  iteration alone, then to the inscribed ellipse;
* **coarse mask** — trusted away from its outline: its core is foreground, everything
  beyond a band around it background, and GrabCut decides only inside the band, whose
  width is a fraction of the mask's size; thin parts keep their middle as foreground;
  when the cut presses against the band's edges the mask is further off, and the
  band doubles (up to a limit);
* **later clicks and scribbles** — a local correction in the interaction's direction
  only (a positive one adds, a negative one removes, the session merges only the touched
  change): half the disk reaching from the click to the current boundary is taken as
  wrong and the rest as probably wrong, similar colours around it as probably wrong
  (unless they run past their window), thin strands of the mask a negative click lands on
  as probably wrong; GrabCut then runs in a window around the interaction whose rim is
  held at the previous mask; a change cut off by the window reruns in a larger one, a
  change running along the rim (a leak) keeps only what the click vouches for. A change
  that runs into the Target Crop's edge inside the image reruns on a crop grown past
  that edge (``regrows_target``), so it does not end in a straight line there; the session
  takes that rerun only where it agrees with the first inside the old crop.

Detail stage, on the full-resolution Focus Crop: GrabCut again with local colour
models in the uncertain band of the coarse mask (for a coarse-mask prompt, a narrower
band, still inside the prompt's band), then an edge-aware guided filter turns the hard
mask into an alpha matte.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..bimap import BiMap
from ..crops import Crop
from ..interactions import Click, Scribble
from ..merge import touched_components
from ..segmenter import register
from .base import LOGIT_LIMIT, DetailInput, ObjectInput, ObjectPrediction
from .window_vote import window_vote

_FG, _BG, _PR_FG, _PR_BG = cv2.GC_FGD, cv2.GC_BGD, cv2.GC_PR_FGD, cv2.GC_PR_BGD
_LOCAL_KINDS = ("click", "scribble")


class ClassicalPredictor:
    """GrabCut object stage with local corrections + GrabCut/guided-filter detail stage."""

    name = "classical"
    target_min_fraction = 0.6   # colour models need context: never zoom on less than 60 % of the image
    regrows_target = True       # a change running into the Target Crop's edge goes on past it

    def __init__(self, input_size: int = 400, detail_size: int = 256, click_radius: float = 5.0,
                 iterations: int = 3, box_iterations: int = 2, detail_iterations: int = 2, first_size: int = 96,
                 box_size: int = 300, correction_size: int = 160, box_min_fill: float = 0.1, first_iterations: int = 3,
                 first_windows: Sequence[float] = (0.035, 0.06, 0.1, 0.16, 0.26, 0.42, 0.7),
                 similar_radius: float = 0.25, similar_tolerance: float = 25.0, window_scale: float = 2.5,
                 guided_radius: int = 3, guided_eps: float = 1e-3, mask_band: float = 0.06,
                 mask_band_limit: float = 0.24, mask_saturation: float = 0.2, mask_detail_band: float = 0.02,
                 thin_keep: float = 0.5, sure_share: float = 0.5, leak_share: float = 0.1,
                 local_corrections: bool = True):
        self.input_size = input_size
        self.detail_size = detail_size
        self.click_radius = click_radius
        self.iterations = iterations
        self.box_iterations = box_iterations    # a box's cut: a third iteration changes it by < 1 % IoU
        self.detail_iterations = detail_iterations
        self.first_windows = tuple(first_windows)
        self.first_size = first_size
        self.first_iterations = first_iterations
        self.box_size = box_size
        self.correction_size = correction_size    # local corrections' GrabCut window, longest side
        self.box_min_fill = box_min_fill      # a box cut keeping less of the box has collapsed
        self.similar_radius = similar_radius
        self.similar_tolerance = similar_tolerance
        self.window_scale = window_scale
        self.guided_radius = guided_radius
        self.guided_eps = guided_eps
        self.mask_band = mask_band              # coarse mask: band half-width, fraction of sqrt(mask area)
        self.mask_band_limit = mask_band_limit  # the widest band it doubles up to
        self.mask_saturation = mask_saturation  # fraction of a band edge the cut may reach before the band doubles
        self.mask_detail_band = mask_detail_band    # its detail stage: fraction of the focus raster's side
        self.thin_keep = thin_keep              # coarse mask: depth fraction kept as foreground in thin parts
        self.sure_share = sure_share    # correction: the share of the disk to the boundary taken as surely wrong
        self.leak_share = leak_share    # correction: a change covering more of its window's rim has leaked
        self.local_corrections = local_corrections  # later clicks change only what they touch: the session merges them

    def context(self, image: np.ndarray) -> None:
        return None

    def predict_object(self, inputs: ObjectInput) -> np.ndarray | ObjectPrediction:
        prev = inputs.prev_prob >= 0.5
        labels = _prompt_labels(inputs.bimaps, prev)
        pos, _ = _seed_channels(inputs.bimaps)
        if not prev.any() and not ("box" in inputs.bimaps or "mask" in inputs.bimaps):
            foreground = self._first_click(inputs.image, labels, pos)
        elif prev.any() and any(kind in inputs.latest for kind in _LOCAL_KINDS):
            kind, latest = next(iter(inputs.latest.items()))
            if _adds(inputs.history) and "box" in inputs.bimaps:     # the box leaves room for what the click adds
                labels = _prompt_labels({k: v for k, v in inputs.bimaps.items() if k != "box"}, prev)
            foreground = self._local_correction(inputs.image, labels, prev, latest, at_centre=kind == "click")
        elif "mask" in inputs.latest:
            foreground, band = self._coarse_mask(inputs.image, inputs.latest["mask"].positive)
            return ObjectPrediction(_soft_logits(foreground), features=band)   # the detail stage keeps the band
        elif "box" in inputs.latest:
            image, small_labels, restore = _reduced(inputs.image, labels, self.box_size)
            small = _grabcut(image, small_labels, self.box_iterations)
            foreground = _connected_to_seeds(restore(small) | (labels == _FG), _positive_seeds(inputs.bimaps) | prev)
            box = inputs.latest["box"].positive
            if np.count_nonzero(foreground & box) < self.box_min_fill * np.count_nonzero(box):
                foreground = _box_fallback(inputs.image, labels, box, self.box_size, self.box_min_fill)
        else:
            image, small_labels, restore = _reduced(inputs.image, labels, self.box_size)
            small = _grabcut(image, small_labels, self.iterations)
            foreground = _connected_to_seeds(restore(small) | (labels == _FG), _positive_seeds(inputs.bimaps) | prev)
        return _soft_logits(foreground)

    def refine(self, inputs: DetailInput) -> np.ndarray:
        coarse = inputs.coarse_prob >= 0.5
        pos, neg = _seed_channels(inputs.bimaps)
        if "mask" in inputs.bimaps and not (pos.any() or neg.any()):
            labels = _band_labels(coarse, band=max(2, round(self.mask_detail_band * max(coarse.shape))))
            band = inputs.object_features if isinstance(inputs.object_features, float) else self.mask_band
            prompt = self._mask_labels(inputs.bimaps["mask"].positive, band)
            labels[prompt == _FG] = _FG
            labels[prompt == _BG] = _BG
        else:
            labels = _band_labels(coarse, band=max(3, round(0.04 * max(coarse.shape))))
        if "box" in inputs.bimaps and not _adds(inputs.history):
            labels[~inputs.bimaps["box"].positive] = _BG
        labels[pos] = _FG
        labels[neg] = _BG
        foreground = _grabcut(inputs.image, labels, self.detail_iterations)
        if coarse.any() and not foreground.any():      # the band's colours say nothing: keep the object stage
            foreground = coarse
        alpha = _guided_filter(inputs.image, foreground.astype(np.float32), self.guided_radius, self.guided_eps)
        alpha = _feathered(alpha, inputs.coarse_prob, inputs.crop, inputs.object_crop)
        alpha = _in_direction(alpha, inputs)
        alpha[pos] = 1.0
        alpha[neg] = 0.0
        return np.clip(alpha, 0.0, 1.0)

    def _coarse_mask(self, image: np.ndarray, mask: np.ndarray) -> Tuple[np.ndarray, float]:
        """GrabCut inside the band around a coarse mask (the components that overlap the mask), and the band used.

        The band starts at ``mask_band`` and doubles, up to ``mask_band_limit``, while the cut
        presses against its edges: the mask is further off than the band allows.
        """
        band = self.mask_band
        if not mask.any():
            return mask, band
        while True:
            labels = self._mask_labels(mask, band)
            foreground = _connected_to_seeds(_grabcut(image, labels, self.iterations), mask)
            if 2 * band > self.mask_band_limit or not _at_band_edge(labels, foreground, self.mask_saturation):
                return foreground, band
            band *= 2

    def _mask_labels(self, mask: np.ndarray, fraction: float) -> np.ndarray:
        """A coarse mask's labels: sure inside its core, sure outside beyond its band, probable between.

        The band's half-width is ``fraction`` of the square root of the mask's area. Where the
        mask is thinner than the band, the pixels at least ``thin_keep`` of the local
        thickness deep stay sure foreground, so thin parts are refined, not erased.
        """
        if not mask.any():
            return np.full(mask.shape, _PR_BG, dtype=np.uint8)
        band = max(2, round(fraction * np.sqrt(np.count_nonzero(mask))))
        labels = _band_labels(mask, band)
        depth = cv2.distanceTransform(np.pad(mask.view(np.uint8), 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
        local_radius = cv2.dilate(depth, kernel)      # the largest depth nearby: half the local thickness
        labels[mask & (depth >= self.thin_keep * local_radius)] = _FG
        return labels

    def _first_click(self, image: np.ndarray, labels: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """The object under a lone click: GrabCut on windows of growing size, voted (see ``window_vote``)."""
        if not pos.any():
            return pos
        return window_vote(image, labels, labels == _FG, _grabcut, self.first_windows, self.first_size,
                           iterations=self.first_iterations) | pos

    def _local_correction(self, image: np.ndarray, labels: np.ndarray, prev: np.ndarray, latest: BiMap,
                          at_centre: bool) -> np.ndarray:
        """Correct the mask around the newest click (at its centre) or scribble (at its deepest point)."""
        touch = latest.positive | latest.negative
        if not touch.any():
            return prev
        positive = bool(latest.positive.any())
        ys, xs = np.nonzero(touch)
        anchor = (np.array([round(ys.mean())]), np.array([round(xs.mean())])) if at_centre else (ys, xs)
        y, x, depth = _deepest(~prev if positive else prev, *anchor)
        labels = labels.copy()
        similar = _mark_similar(labels, image, (y, x), positive, round(self.similar_radius * max(labels.shape)),
                                self.similar_tolerance)
        box = _window(y, x, max(16.0, self.window_scale * depth), max(16.0, self.window_scale * depth), labels.shape)
        box = _cover(box, ys, xs, labels.shape)
        if not positive and depth > 0:
            strand = _thin_strand(prev, touch, depth)
            if strand is not None:
                labels[strand & _probable(labels)] = _PR_BG
                box = _cover(box, *np.nonzero(strand), labels.shape)
        disk = _disk(labels.shape, y, x, depth)
        labels[disk & _probable(labels)] = _PR_FG if positive else _PR_BG
        labels[_disk(labels.shape, y, x, self.sure_share * depth)] = _FG if positive else _BG
        labels[latest.positive] = _FG
        labels[latest.negative] = _BG
        change = touched_components(self._windowed_change(image, labels, prev, box, positive), touch)
        rim_share = _rim_share(change, box)
        if 0.0 < rim_share <= self.leak_share:    # cut off by the window: the change goes on past it
            box = _grown(box, 2.0, labels.shape)
            change = touched_components(self._windowed_change(image, labels, prev, box, positive), touch)
            rim_share = _rim_share(change, box)
        if rim_share > self.leak_share:   # the cut leaked up to the window: keep what the click vouches for
            change = touched_components(change & (disk | similar | touch), touch)
        return prev | change if positive else prev & ~change

    def _windowed_change(self, image: np.ndarray, labels: np.ndarray, prev: np.ndarray,
                         box: Tuple[int, int, int, int], positive: bool) -> np.ndarray:
        return _grabcut_in_window(image, labels, prev, box, self.iterations, positive, self.correction_size)


def _reduced(image: np.ndarray, labels: np.ndarray, max_side: int):
    """Image and labels shrunk to ``max_side`` (hard labels kept), and the way back to full size."""
    height, width = labels.shape
    scale = min(1.0, max_side / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small_image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small_labels = cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST)
    for hard in (_FG, _BG):
        small_labels[cv2.resize((labels == hard).view(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0] = hard

    def restore(mask: np.ndarray) -> np.ndarray:
        if scale == 1.0:
            return mask
        return cv2.resize(mask.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR) >= 0.5

    return small_image, small_labels, restore


def _seed_channels(bimaps: Dict[str, BiMap]) -> Tuple[np.ndarray, np.ndarray]:
    """Clicks and scribbles: the hard seeds."""
    shape = next(iter(bimaps.values())).positive.shape
    pos, neg = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
    for kind in _LOCAL_KINDS:
        if kind in bimaps:
            pos |= bimaps[kind].positive
            neg |= bimaps[kind].negative
    return pos, neg


def _positive_seeds(bimaps: Dict[str, BiMap]) -> np.ndarray:
    pos, _ = _seed_channels(bimaps)
    for kind in ("box", "mask"):
        if kind in bimaps:
            pos |= bimaps[kind].positive
    return pos


def _prompt_labels(bimaps: Dict[str, BiMap], prev: np.ndarray) -> np.ndarray:
    """GrabCut labels from the prompts: box and masks as priors, clicks and strokes as hard seeds."""
    labels = np.full(prev.shape, _PR_BG, dtype=np.uint8)
    if "box" in bimaps:
        labels[:] = _BG
        labels[bimaps["box"].positive] = _PR_FG
    if "mask" in bimaps:
        labels[bimaps["mask"].positive] = _PR_FG
    labels[prev] = _PR_FG
    pos, neg = _seed_channels(bimaps)
    labels[pos] = _FG
    labels[neg] = _BG
    return labels


def _probable(labels: np.ndarray) -> np.ndarray:
    return (labels == _PR_FG) | (labels == _PR_BG)


def _window(cy: float, cx: float, half_h: float, half_w: float, shape: Tuple[int, int]) -> Tuple[int, int, int, int]:
    """``(y0, x0, y1, x1)`` around a centre, clamped to the raster."""
    height, width = shape
    return (max(0, int(cy - half_h)), max(0, int(cx - half_w)),
            min(height, int(cy + half_h) + 1), min(width, int(cx + half_w) + 1))


def _cover(box: Tuple[int, int, int, int], ys: np.ndarray, xs: np.ndarray, shape: Tuple[int, int],
           margin: int = 2) -> Tuple[int, int, int, int]:
    """Grow ``box`` to hold the given pixels (plus a margin)."""
    height, width = shape
    return (min(box[0], max(0, int(ys.min()) - margin)), min(box[1], max(0, int(xs.min()) - margin)),
            max(box[2], min(height, int(ys.max()) + 1 + margin)), max(box[3], min(width, int(xs.max()) + 1 + margin)))


def _rim(box: Tuple[int, int, int, int], shape: Tuple[int, int]) -> np.ndarray:
    """The one-pixel rim of ``box``, leaving out where it runs along the raster border."""
    y0, x0, y1, x1 = box
    height, width = shape
    rim = np.zeros(shape, dtype=bool)
    rim[y0, x0:x1] = y0 > 0
    rim[y1 - 1, x0:x1] |= y1 < height
    rim[y0:y1, x0] |= x0 > 0
    rim[y0:y1, x1 - 1] |= x1 < width
    return rim


def _deepest(region: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> Tuple[int, int, float]:
    """The given pixel deepest inside ``region`` and its distance to the region's edge.

    The raster border counts as an edge.
    """
    padded = np.pad(region, 1).astype(np.uint8)
    depth = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[ys + 1, xs + 1]
    i = int(np.argmax(depth))
    return int(ys[i]), int(xs[i]), float(depth[i])


def _disk(shape: Tuple[int, int], y: int, x: int, radius: float) -> np.ndarray:
    yy, xx = np.ogrid[:shape[0], :shape[1]]
    return (yy - y) ** 2 + (xx - x) ** 2 <= radius * radius


def _mark_similar(labels: np.ndarray, image: np.ndarray, seed: Tuple[int, int], positive: bool, radius: int,
                  tolerance: float) -> np.ndarray:
    """Pixels near the click of similar colour, reachable from it, become probably ``positive``; returns them.

    Nothing is marked when they reach the window's edge: clipped there, they would give
    the mask a straight edge."""
    y, x = seed
    y0, x0, y1, x1 = _window(y, x, max(4, radius), max(4, radius), labels.shape)
    patch = np.ascontiguousarray(cv2.GaussianBlur(image, (5, 5), 0)[y0:y1, x0:x1])
    reached = np.zeros((y1 - y0 + 2, x1 - x0 + 2), np.uint8)
    cv2.floodFill(patch, reached, (x - x0, y - y0), 0, (tolerance,) * 3, (tolerance,) * 3,
                  4 | cv2.FLOODFILL_MASK_ONLY | (255 << 8))
    similar = np.zeros(labels.shape, bool)
    if (reached[1:-1, 1:-1] > 0)[_rim((y0, x0, y1, x1), labels.shape)[y0:y1, x0:x1]].any():
        return similar      # the colour runs on past the window: no part of the object to vouch for
    similar[y0:y1, x0:x1] = reached[1:-1, 1:-1] > 0
    labels[similar & _probable(labels)] = _PR_FG if positive else _PR_BG
    return similar


def _thin_strand(prev: np.ndarray, touch: np.ndarray, depth: float) -> Optional[np.ndarray]:
    """The part of the mask at the click no thicker than the click's depth, when it is a side strand."""
    radius = int(depth) + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    thick = cv2.morphologyEx(prev.view(np.uint8), cv2.MORPH_OPEN, kernel).astype(bool)
    strand = touched_components(prev & ~thick, touch)
    if strand.any() and strand.sum() < 0.5 * prev.sum():
        return strand
    return None


def _grabcut_in_window(image: np.ndarray, labels: np.ndarray, prev: np.ndarray, box: Tuple[int, int, int, int],
                       iterations: int, positive: bool, max_side: int) -> np.ndarray:
    """What GrabCut inside ``box`` (shrunk to ``max_side``, rim held at ``prev``) changes in the interaction's
    direction: the pixels it adds (``positive``) or removes, over the whole raster.

    The shrink bounds the cost: GrabCut's max-flow can take seconds on a few hundred
    thousand low-contrast pixels.
    """
    y0, x0, y1, x1 = box
    window = labels[y0:y1, x0:x1].copy()
    held = _rim(box, labels.shape)[y0:y1, x0:x1] & _probable(window)
    window[held] = np.where(prev[y0:y1, x0:x1][held], _FG, _BG)
    small_image, small_labels, restore = _reduced(image[y0:y1, x0:x1], window, max_side)
    proposal = prev.copy()
    proposal[y0:y1, x0:x1] = (restore(_grabcut(small_image, small_labels, iterations)) | (window == _FG)) & (window != _BG)
    return proposal & ~prev if positive else prev & ~proposal


def _rim_share(change: np.ndarray, box: Tuple[int, int, int, int], width: int = 3) -> float:
    """The share of the band along ``box``'s inner edge (raster border left out) that ``change`` covers."""
    band = cv2.dilate(_rim(box, change.shape).view(np.uint8), np.ones((2 * width + 1,) * 2, np.uint8)).astype(bool)
    y0, x0, y1, x1 = box
    band[:y0] = band[y1:] = False
    band[:, :x0] = band[:, x1:] = False
    count = np.count_nonzero(band)
    return float(np.count_nonzero(change & band)) / count if count else 0.0


def _grown(box: Tuple[int, int, int, int], factor: float, shape: Tuple[int, int]) -> Tuple[int, int, int, int]:
    """``box`` scaled by ``factor`` about its centre, clamped to the raster."""
    y0, x0, y1, x1 = box
    return _window((y0 + y1) / 2, (x0 + x1) / 2, factor * (y1 - y0) / 2, factor * (x1 - x0) / 2, shape)


def _band_labels(mask: np.ndarray, band: int) -> np.ndarray:
    """Sure inside/outside away from the boundary, probable labels within ``band`` of it."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    m = mask.view(np.uint8)
    labels = np.where(mask, _PR_FG, _PR_BG).astype(np.uint8)
    labels[cv2.erode(m, kernel).astype(bool)] = _FG
    labels[~cv2.dilate(m, kernel).astype(bool)] = _BG
    return labels


def _at_band_edge(labels: np.ndarray, foreground: np.ndarray, limit: float) -> bool:
    """Whether the cut reaches more than ``limit`` of the band's outer edge or falls back to its inner edge."""
    kernel = np.ones((3, 3), np.uint8)
    probable = _probable(labels)
    outer = probable & cv2.dilate((labels == _BG).view(np.uint8), kernel).astype(bool)
    inner = probable & cv2.dilate((labels == _FG).view(np.uint8), kernel).astype(bool)
    return bool((outer.any() and foreground[outer].mean() > limit)
                or (inner.any() and 1.0 - foreground[inner].mean() > limit))


def _grabcut(image: np.ndarray, labels: np.ndarray, iterations: int) -> np.ndarray:
    """Foreground after GrabCut from ``labels``; the labels alone when a class has no samples."""
    fg = (labels == _FG) | (labels == _PR_FG)
    if fg.all() or not fg.any() or not _probable(labels).any() or _flat(image):
        return fg
    work = labels.copy()
    cv2.setRNGSeed(0)  # GrabCut's k-means draws from OpenCV's global RNG: keep results repeatable
    cv2.grabCut(np.ascontiguousarray(image), work, None, np.zeros((1, 65)), np.zeros((1, 65)), iterations,
                cv2.GC_INIT_WITH_MASK)
    return (work == _FG) | (work == _PR_FG)


def _adds(history: Sequence[object]) -> bool:
    """Whether the newest interaction is a positive click or scribble (it may add outside a box)."""
    return bool(history) and isinstance(history[-1], (Click, Scribble)) and history[-1].positive


def _in_direction(alpha: np.ndarray, inputs: DetailInput) -> np.ndarray:
    """A later click or scribble only adds (positive) or only removes (negative) from the previous matte."""
    latest = inputs.history[-1] if inputs.history else None
    if not isinstance(latest, (Click, Scribble)) or inputs.prev_prob is None or not (inputs.prev_prob >= 0.5).any():
        return alpha
    return np.maximum(alpha, inputs.prev_prob) if latest.positive else np.minimum(alpha, inputs.prev_prob)


def _feathered(alpha: np.ndarray, coarse: np.ndarray, focus: Crop, target: Optional[Crop],
               fraction: float = 0.08) -> np.ndarray:
    """``alpha`` blended into the object stage's ``coarse`` map towards the Focus Crop's edges.

    Where the focus edge runs inside the Target Crop the pasted matte meets the coarse map:
    a ramp ``fraction`` of the raster's side wide leaves no step there. Edges on the
    target's own edge keep the refined matte.
    """
    height, width = alpha.shape
    ramp = max(2.0, fraction * max(height, width))
    outer = target.box if target is not None else focus.box
    weight = np.ones((height, width), np.float32)
    rows = np.arange(height, dtype=np.float32)[:, None] + 0.5
    cols = np.arange(width, dtype=np.float32)[None, :] + 0.5
    x0, y0, x1, y1 = focus.box
    for inside, distance in ((y0 > outer[1], rows), (y1 < outer[3], height - rows),
                             (x0 > outer[0], cols), (x1 < outer[2], width - cols)):
        if inside:
            weight = np.minimum(weight, np.clip(distance / ramp, 0.0, 1.0))
    return weight * alpha + (1.0 - weight) * coarse


def _box_fallback(image: np.ndarray, labels: np.ndarray, box: np.ndarray, max_side: int,
                  min_fill: float) -> np.ndarray:
    """A box whose cut collapsed: GrabCut's first iteration alone, else the ellipse inscribed in the box.

    A cut that keeps under ``min_fill`` of a box has collapsed (its colours match the
    surroundings; more iterations shrink it further): a box drawn around an object is
    mostly object.
    """
    small_image, small_labels, restore = _reduced(image, labels, max_side)
    foreground = restore(_grabcut(small_image, small_labels, 1)) & box
    if np.count_nonzero(foreground) >= min_fill * np.count_nonzero(box):
        return foreground
    rows, cols = np.nonzero(box)
    ellipse = np.zeros(box.shape, np.uint8)
    centre = (round((cols.min() + cols.max()) / 2), round((rows.min() + rows.max()) / 2))
    axes = (max(0, (cols.max() - cols.min()) // 2), max(0, (rows.max() - rows.min()) // 2))
    cv2.ellipse(ellipse, centre, axes, 0, 0, 360, 1, -1)
    return ellipse.astype(bool) & box


def _flat(image: np.ndarray) -> bool:
    """One colour throughout: GrabCut has nothing to tell apart (and OpenCV's can take minutes on it)."""
    pixels = image.reshape(-1, image.shape[-1])
    return bool((pixels == pixels[0]).all())


def _connected_to_seeds(foreground: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Keep the foreground components that touch a seed (all of it if none does)."""
    kept = touched_components(foreground, seeds)
    return kept if kept.any() else foreground


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

    def mean(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = mean(guide), mean(target)
    a = (mean(guide * target) - mean_i * mean_p) / (mean(guide * guide) - mean_i * mean_i + eps)
    b = mean_p - a * mean_i
    return mean(a) * guide + mean(b)


def build(checkpoint: Optional[str] = None, device: Optional[str] = None, threads: Optional[int] = None,
          **options) -> ClassicalPredictor:
    """OpenCV on the CPU: ``device`` may only be ``"cpu"`` or ``"auto"``; ``threads`` sets OpenCV's thread count."""
    if checkpoint is not None:
        raise ValueError("checkpoint: the classical preset has no weights; leave it out")
    if device not in (None, "auto", "cpu"):
        raise ValueError(f"device {device!r}: the classical preset runs on the CPU only (use 'cpu' or 'auto')")
    if threads is not None:
        cv2.setNumThreads(threads)
    return ClassicalPredictor(**options)


register("classical", build)
