"""``focalclick-*``: the published FocalClick models, fed exactly what the published
``FocalPredictor`` (infer size 256, both crop ratios 1.4, ``skip_clicks=1``) feeds them.

* **Target Crop** (:meth:`FocalClickPredictor.target_box`, ZoomIn's rule): the whole
  image for the first interaction or while no pixel is above 0.49; else the box of the
  pixels above 0.49 and of every positive click, expanded ×1.4 about its centre (each
  side at least 10 px), rounded and clamped.
* **Segmentor input**: the Target Crop *squashed* to 256×256 (bilinear, corners
  aligned, as ``ResizeTrans``), image in [0, 1] and the previous probabilities as the
  previous-mask channel, zero outside the previous interaction's Target Crop (where the
  published predictor has zeroed them); click disks ``(r - y)² + (c - x)² <= R²`` around
  each click's pixel mapped into the 256 raster (``s1`` models halve all of it inside).
* **Focus Crop** (:meth:`FocalClickPredictor.focus_box`, ``get_focus_cropv1``): the
  coarse *logits* above 0.49 and the previous probabilities above 0.49 decide it, with
  the published component, object-size and whole-image rules, computed inside the Target
  Crop only (everything outside it is background in both maps).
* **Refiner input**: the Focus Crop of the full-resolution image squashed to 256×256,
  disks of radius 5 of every click, the segmentor's feature and logits RoI-aligned to
  the focus box in the 256 frame; its logits go back to the focus box (corners aligned).

Per click the work follows the crops, not the frame: rasters are sampled from the uint8
image and the float map at their taps only (:func:`resize_corners`; the image's rasters are
kept per session in :class:`ImageRasters`), the Focus Crop's component is a flood fill, and
the network runs as its inference copy (:func:`focalxl.models.folding.for_inference`: the
same function with BatchNorm folded, SegFormer's and HRNet's heads reordered, channels-last,
oneDNN convolutions, frozen TorchScript traces, no RoIAlign for a whole-raster Focus Crop).

The one documented difference: the published predictor zeroes every probability outside
the Target Crop after each click; the engine keeps them (Progressive Merge and undo
need what the user had there). Values it keeps are all at or below 0.49 from scratch, so
no later crop differs. Where the published flow would crash (a Focus Crop that misses
the Target Crop), the Target Crop is the focus. Boxes, scribbles and coarse masks, which
FocalClick was not trained on, enter as in the engine: scribbles as strokes in the disk
channels, a box or a coarse mask in the previous-mask channel.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .. import runtime
from ..bimap import BiMap
from ..crops import Box, Crop, mask_bbox
from ..interactions import Click, Interaction
from ..models.checkpoints import load_strict, read_checkpoint
from ..models.focalclick import REFINE_RADIUS, Architecture, FocalClick, architecture_from_config, build
from ..models.folding import for_inference
from .base import DetailInput, ObjectInput, ObjectPrediction

INPUT_SIZE = 256
PROB_THRESH = 0.49          # ZoomIn's and get_focus_cropv1's threshold on probabilities
FOCUS_LOGIT_THRESH = 0.49   # get_focus_cropv1 thresholds the coarse *logits* at 0.49 (p > 0.6201)
TARGET_EXPANSION = 1.4
TARGET_MIN_SIZE = 10
FOCUS_EXPANSION = 1.4
SKIP_CLICKS = 1
STROKE_KINDS = ("scribble",)
PRIOR_KINDS = ("box", "mask")
FOCUS_PROB_THRESH = float(1.0 / (1.0 + math.exp(-FOCUS_LOGIT_THRESH)))

PRESETS: Dict[str, Architecture] = {
    "focalclick-segformer-b0-s1": Architecture("segformer", "s1", model_version="b0"),
    "focalclick-segformer-b0-s2": Architecture("segformer", "s2", model_version="b0"),
    "focalclick-segformer-b3-s2": Architecture("segformer", "s2", model_version="b3"),
    "focalclick-hrnet18s-s1": Architecture("hrnet", "s1", width=18, ocr_width=48, small=True),
    "focalclick-hrnet18s-s2": Architecture("hrnet", "s2", width=18, ocr_width=48, small=True),
    "focalclick-hrnet32-s2": Architecture("hrnet", "s2", width=32, ocr_width=128, small=False),
}
# Presets whose bf16 masks agree with their fp32 ones (IoU >= 0.99 per click in
# ``python -m focalxl.bench.reference``): ``precision="auto"`` runs these in bf16 on CPUs with it.
BF16_AGREES: frozenset = frozenset()


@dataclass
class SegmentorOutput:
    """The segmentor's results over the Target Crop raster, kept for the Refiner."""

    feature: torch.Tensor    # [1, C, 64, 64] (32 x 32 for s1)
    logits: torch.Tensor     # [1, 1, 256, 256]
    network: FocalClick      # the inference copy that computed them, which refines them too


class FocalClickPredictor:
    """A loaded FocalClick model on one device."""

    target_min_fraction = 0.0
    input_size = INPUT_SIZE
    detail_size = INPUT_SIZE
    detail_click_radius = float(REFINE_RADIUS)
    square_crops = True
    bounds_by_box = False     # the box is a prompt, as in the reference predictor, not a bound on the mask
    resamples_crops = True

    def __init__(self, name: str, checkpoint: Optional[str | os.PathLike] = None, device: Optional[str] = None,
                 threads: Optional[int] = None, random_weights: bool = False, precision: str = "auto"):
        if name not in PRESETS:
            raise ValueError(f"unknown FocalClick preset {name!r}; choose one of {', '.join(PRESETS)}")
        source, self.device, self.dtype = runtime.downloadable(name, checkpoint, random_weights, device, threads,
                                                               precision, bf16_agrees=name in BF16_AGREES)
        self.name = name
        self.network: FocalClick = runtime.shared_model(("focalclick", name, *runtime.file_identity(source),
                                                         str(self.device)),
                                                        lambda: load(name, source).to(self.device))
        self.click_radius = self.network.arch.click_radius

    def context(self, image: np.ndarray) -> "ImageRasters":
        """FocalClick has no Context-Net; the session keeps its image's recent crop rasters instead."""
        return ImageRasters(image)

    def target_box(self, prob: np.ndarray, history: Sequence[Interaction], shape: Tuple[int, int]) -> Box:
        """ZoomIn's Target Crop for the newest of ``history``, as an end-exclusive box."""
        height, width = shape
        whole = (0, 0, width, height)
        if len(history) <= SKIP_CLICKS:
            return whole
        box = mask_bbox(prob > PROB_THRESH)
        if box is None:
            return whole
        for interaction in history:
            if interaction.positive:
                box = _union(box, _pixel_box(interaction, shape))
        x0, y0, x1, y1 = box
        rmin, rmax = _expand_round(y0, y1 - 1)
        cmin, cmax = _expand_round(x0, x1 - 1)
        return max(0, cmin), max(0, rmin), min(width - 1, cmax) + 1, min(height - 1, rmax) + 1

    def focus_box(self, coarse: np.ndarray, prev_prob: np.ndarray, target: Box, anchor: Tuple[float, float],
                  shape: Tuple[int, int]) -> Box:
        """``get_focus_cropv1`` on maps given over ``target`` (both are background outside it)."""
        x, y = _pixel(anchor, shape)
        y1, y2, x1, x2 = published_focus(coarse > FOCUS_PROB_THRESH, prev_prob > PROB_THRESH, target, (y, x), shape)
        tx0, ty0, tx1, ty1 = target
        y1, y2, x1, x2 = max(y1, ty0), min(y2, ty1), max(x1, tx0), min(x2, tx1)
        if y2 <= y1 or x2 <= x1:
            return target
        return x1, y1, x2, y2

    def predict_object(self, inputs: ObjectInput) -> ObjectPrediction:
        crop = inputs.crop
        x0, y0, x1, y1 = crop.box
        image = _rasters(inputs.context, inputs.full_image).get(crop)
        prev = resize_corners(inputs.full_prob[y0:y1, x0:x1], crop.height, crop.width,
                              _kept(crop.box, inputs.prev_target))
        prior = _prior(prev, inputs.bimaps)
        clicks = self._clicks(inputs.history, crop, self.click_radius, inputs.bimaps)
        network = for_inference(self.network)
        with runtime.inference(self.device, self.dtype):
            logits, feature = network.segment(self._image(image), self._tensor(prior[None]), clicks)
            logits = logits.float()
            prob = upsample_corners(torch.sigmoid(logits), (y1 - y0, x1 - x0))
        return ObjectPrediction(None, SegmentorOutput(feature, logits, network), prob=prob[0, 0].cpu().numpy())

    def refine(self, inputs: DetailInput) -> np.ndarray:
        """The refined probabilities over the Focus Crop's box, at image resolution."""
        stage = inputs.object_features
        if not isinstance(stage, SegmentorOutput) or inputs.object_crop is None:
            raise ValueError("refine needs this interaction's segmentor output (DetailInput.object_features)")
        crop = inputs.crop
        x0, y0, x1, y1 = crop.box
        image = _rasters(inputs.context, inputs.full_image).get(crop)
        clicks = self._clicks(inputs.history, crop, float(REFINE_RADIUS), inputs.bimaps)
        box = focus_in_target(crop, inputs.object_crop)
        with runtime.inference(self.device, self.dtype):
            refined, _ = stage.network.refine(self._image(image), clicks, stage.feature, stage.logits, box)
            refined = upsample_corners(refined.float(), (y1 - y0, x1 - x0))
            return refined.sigmoid_()[0, 0].cpu().numpy()

    def _image(self, image: np.ndarray) -> torch.Tensor:
        """``[1, 3, h, w]`` in channels-last layout (a view of the ``[h, w, 3]`` array on the CPU)."""
        return torch.from_numpy(image)[None].permute(0, 3, 1, 2).to(self.device)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))[None].to(self.device)

    def _clicks(self, history: Sequence[Interaction], crop: Crop, radius: float,
                bimaps: Mapping[str, BiMap]) -> torch.Tensor:
        """``[1, 2, h, w]``: DistMaps' disks around each click's pixel mapped into ``crop``'s raster,
        with scribble strokes drawn in."""
        height, width = crop.height, crop.width
        x0, y0, x1, y1 = crop.box
        sy, sx = height / (y1 - y0), width / (x1 - x0)
        points = [(click.positive, (py - y0) * sy, (px - x0) * sx) for click in history if isinstance(click, Click)
                  for px, py in [_pixel((click.x, click.y), None)]]
        maps = torch.from_numpy(disks(points, height, width, radius))
        for kind in STROKE_KINDS:
            if kind in bimaps:
                maps = torch.maximum(maps, torch.from_numpy(bimaps[kind].stacked().astype(np.float32)))
        return maps[None].to(self.device)


class ImageRasters:
    """An image's crops squashed to their rasters, in [0, 1]: the newest ``keep`` are kept,
    since the image never changes within a session and a Target or Focus Crop often repeats
    (every click while the mask stays empty, or while the focus is the whole target)."""

    def __init__(self, image: np.ndarray, keep: int = 4):
        self.image = image
        self.keep = keep
        self._rasters: Dict[Tuple[Box, int, int], np.ndarray] = {}

    def get(self, crop: Crop) -> np.ndarray:
        """``float32[crop.height, crop.width, 3]``: the image over ``crop.box``, corner-aligned bilinear."""
        key = (tuple(crop.box), crop.height, crop.width)
        raster = self._rasters.pop(key, None)
        if raster is None:
            x0, y0, x1, y1 = crop.box
            raster = resize_corners(self.image[y0:y1, x0:x1], crop.height, crop.width) / np.float32(255)
        self._rasters[key] = raster          # newest last
        while len(self._rasters) > self.keep:
            del self._rasters[next(iter(self._rasters))]
        return raster

    @property
    def nbytes(self) -> int:
        return sum(raster.nbytes for raster in self._rasters.values())


def _rasters(context: object, image: np.ndarray) -> ImageRasters:
    """The session's :class:`ImageRasters`, or a fresh one for inputs built without a session."""
    return context if isinstance(context, ImageRasters) and context.image is image else ImageRasters(image)


def disks(points: Sequence[Tuple[bool, float, float]], height: int, width: int, radius: float) -> np.ndarray:
    """``float32[2, h, w]``: positive and negative disks ``(r - y)² + (c - x)² <= radius²``
    over integer pixel coordinates (FocalClick's ``DistMaps`` with ``use_disks``)."""
    maps = np.zeros((2, height, width), dtype=np.float32)
    rows = np.arange(height, dtype=np.float32)[:, None]
    cols = np.arange(width, dtype=np.float32)[None, :]
    limit = np.float32(radius) ** 2
    for positive, y, x in points:
        r0, r1 = max(0, math.floor(y - radius)), min(height, math.ceil(y + radius) + 1)
        c0, c1 = max(0, math.floor(x - radius)), min(width, math.ceil(x + radius) + 1)
        if r1 <= r0 or c1 <= c0:
            continue
        inside = (rows[r0:r1] - np.float32(y)) ** 2 + (cols[:, c0:c1] - np.float32(x)) ** 2 <= limit
        np.maximum(maps[0 if positive else 1, r0:r1, c0:c1], inside, out=maps[0 if positive else 1, r0:r1, c0:c1])
    return maps


def upsample_corners(maps: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """``F.interpolate(maps, size, mode="bilinear", align_corners=True)`` of one ``[1, 1, h, w]`` map.

    On the CPU a wide output (5 or more pixels per input column: the full-resolution maps a
    click writes on a 1080p photo) runs as two linear passes, down the columns and then along
    the rows: the same weights, equal to float rounding (a few 1e-7), and faster on one thread
    than the bilinear kernel there (``python -m focalxl.bench.reference`` prints both)."""
    height, width = size
    if maps.device.type != "cpu" or maps.shape[:2] != (1, 1) or width < 5 * maps.shape[-1]:
        return F.interpolate(maps, size, mode="bilinear", align_corners=True)
    columns = F.interpolate(maps[0].transpose(1, 2), height, mode="linear", align_corners=True)    # [1, w, height]
    return F.interpolate(columns[0].t().contiguous()[None], width, mode="linear", align_corners=True)[None]


def resize_corners(array: np.ndarray, height: int, width: int, kept: Optional[Box] = None) -> np.ndarray:
    """Bilinear resize with corners aligned (``F.interpolate(..., align_corners=True)``) to
    ``float32[height, width, ...]``, reading only the source pixels it samples. With ``kept``,
    a box in ``array``'s pixels, the array is taken as zero outside that box."""
    rows0, rows1, row_weight = _corner_taps(array.shape[0], height)
    cols0, cols1, col_weight = _corner_taps(array.shape[1], width)
    rows, cols = np.concatenate([rows0, rows1]), np.concatenate([cols0, cols1])
    taps = array.take(rows, axis=0).take(cols, axis=1)     # [2 * height, 2 * width, ...]: numpy's take, not torch's
    if kept is not None:                                     # index_select, which is slow on RGB pixels
        kx0, ky0, kx1, ky1 = kept
        taps[(rows < ky0) | (rows >= ky1)] = 0
        taps[:, (cols < kx0) | (cols >= kx1)] = 0
    depth = int(np.prod(array.shape[2:], dtype=np.int64))
    taps = torch.from_numpy(taps.reshape(2 * height, 2, width * depth)).float()
    wx = torch.from_numpy(np.repeat(col_weight, depth)).expand(2 * height, -1)
    across = torch.lerp(taps[:, 0], taps[:, 1], wx).view(2, height, -1)
    row_weight = torch.from_numpy(row_weight).view(-1, 1)
    return torch.lerp(across[0], across[1], row_weight).view(height, width, *array.shape[2:]).numpy()


def _corner_taps(source: int, size: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    scale = np.float32((source - 1) / (size - 1)) if size > 1 else np.float32(0)
    position = scale * np.arange(size, dtype=np.float32)
    first = np.minimum(position.astype(np.int64), source - 1)
    weight = np.clip(position - first, 0, 1).astype(np.float32)
    return first, np.minimum(first + 1, source - 1), weight


def published_focus(pred: np.ndarray, prev: np.ndarray, window: Box, click: Tuple[int, int],
                    shape: Tuple[int, int]) -> Tuple[int, int, int, int]:
    """``get_focus_cropv1`` as ``(y1, y2, x1, x2)`` before clipping to the Target Crop, from ``pred``
    and ``prev`` given over ``window`` (both false outside it) and the click's pixel ``(y, x)``."""
    height, width = shape
    if not prev.any():
        y1, y2, x1, x2 = _bbox_or_image(pred, window, shape)
    else:
        diff = pred ^ prev
        cy, cx = click
        wx0, wy0, wx1, wy1 = window
        if wy0 <= cy < wy1 and wx0 <= cx < wx1 and diff[cy - wy0, cx - wx0]:
            component = _component_box(diff, (cy - wy0, cx - wx0), window, shape)
        else:   # the click is on diff's background (label 0), which spans everything outside the window too
            component = _bbox_or_image(~diff, window, shape, outside=True)
        y1d, y2d, x1d, x2d = component
        y1p, y2p, x1p, x2p = _bbox_or_image(pred, window, shape)
        hp, wp = y2p - y1p, x2p - x1p
        if y2d - y1d < hp / 3 or x2d - x1d < wp / 3:
            side = 0.2 * max(hp, wp)
            y1, y2, x1, x2 = cy - side, cy + side, cx - side, cx + side
        else:
            y1, y2, x1, x2 = y1d, y2d, x1d, x2d
    yc, xc = 0.5 * (y1 + y2), 0.5 * (x1 + x2)
    h, w = FOCUS_EXPANSION * (y2 - y1 + 1), FOCUS_EXPANSION * (x2 - x1 + 1)
    return (max(0, int(yc - h * 0.5)), min(height, int(yc + h * 0.5)),
            max(0, int(xc - w * 0.5)), min(width, int(xc + w * 0.5)))


def _component_box(mask: np.ndarray, seed: Tuple[int, int], window: Box,
                   shape: Tuple[int, int]) -> Tuple[int, int, int, int]:
    """:func:`_bbox_or_image` of the 8-connected component of ``mask`` (true at ``seed``, a
    ``(row, col)`` in the window) that ``cv2.connectedComponents`` labels: a flood fill, which
    costs what the component covers rather than the whole window."""
    height, width = shape
    filled = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), np.uint8)
    flags = 8 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
    count, _, _, (x, y, w, h) = cv2.floodFill(mask.view(np.uint8), filled, (seed[1], seed[0]), 1, 0, 0, flags)
    if count < 10:
        return 0, height, 0, width
    return y + window[1], y + h - 1 + window[1], x + window[0], x + w - 1 + window[0]


def _bbox_or_image(mask: np.ndarray, window: Box, shape: Tuple[int, int], outside: bool = False):
    """``get_bbox_from_mask`` of a full-image mask that is ``mask`` inside ``window`` and
    ``outside`` beyond it: inclusive ``(y1, y2, x1, x2)``, the whole image under 10 pixels."""
    height, width = shape
    wx0, wy0, wx1, wy1 = window
    extra = height * width - (wx1 - wx0) * (wy1 - wy0) if outside else 0
    if extra + np.count_nonzero(mask) < 10:
        return 0, height, 0, width
    box = mask_bbox(mask)
    if box is not None:
        box = (box[0] + wx0, box[1] + wy0, box[2] + wx0, box[3] + wy0)
    if extra:
        box = _union(box, _outside_box(window, shape))
    return box[1], box[3] - 1, box[0], box[2] - 1


def _outside_box(window: Box, shape: Tuple[int, int]) -> Box:
    """The end-exclusive box of the image pixels outside ``window`` (there are some)."""
    height, width = shape
    wx0, wy0, wx1, wy1 = window
    beside, above_below = wx0 > 0 or wx1 < width, wy0 > 0 or wy1 < height
    y0 = 0 if beside or wy0 > 0 else wy1
    y1 = height if beside or wy1 < height else wy0
    x0 = 0 if above_below or wx0 > 0 else wx1
    x1 = width if above_below or wx1 < width else wx0
    return x0, y0, x1, y1


def _expand_round(low: int, high: int) -> Tuple[int, int]:
    """isegm's ``expand_bbox`` on one axis of an inclusive box: ×1.4 about the centre, at least 10, rounded."""
    centre = 0.5 * (low + high)
    size = max(TARGET_EXPANSION * (high - low + 1), TARGET_MIN_SIZE)
    return int(round(centre - 0.5 * size)), int(round(centre + 0.5 * size))


def _pixel(point: Tuple[float, float], shape: Optional[Tuple[int, int]]) -> Tuple[int, int]:
    """The integer pixel ``(x, y)`` a point falls in (FocalClick's clicks are pixel indices), kept in the image."""
    x, y = math.floor(point[0]), math.floor(point[1])
    if shape is not None:
        x, y = min(max(x, 0), shape[1] - 1), min(max(y, 0), shape[0] - 1)
    return x, y


def _pixel_box(interaction: Interaction, shape: Tuple[int, int]) -> Box:
    """A positive click's pixel, or the pixels another positive interaction covers."""
    if isinstance(interaction, Click):
        x, y = _pixel((interaction.x, interaction.y), shape)
        return x, y, x + 1, y + 1
    x0, y0, x1, y1 = interaction.extent()
    px0, py0 = _pixel((x0, y0), shape)
    px1, py1 = _pixel((x1, y1), shape)
    return px0, py0, px1 + 1, py1 + 1


def _union(a: Optional[Box], b: Box) -> Box:
    if a is None:
        return b
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _kept(box: Box, prev_target: Optional[Crop]) -> Optional[Box]:
    """Where the previous probabilities over ``box`` are kept, in ``box``'s pixels: the published
    predictor has zeroed them outside the previous Target Crop. ``None``: kept everywhere."""
    if prev_target is None:
        return None
    x0, y0, x1, y1 = box
    px0, py0, px1, py1 = prev_target.box
    if px0 <= x0 and py0 <= y0 and px1 >= x1 and py1 >= y1:
        return None
    return px0 - x0, py0 - y0, px1 - x0, py1 - y0


def _prior(prev_prob: np.ndarray, bimaps: Mapping[str, BiMap]) -> np.ndarray:
    """The previous-mask channel: the previous probabilities, a box or coarse mask added in."""
    prior = prev_prob.astype(np.float32)
    for kind in PRIOR_KINDS:
        if kind in bimaps:
            prior = np.where(bimaps[kind].negative, 0.0, np.maximum(prior, bimaps[kind].positive)).astype(np.float32)
    return prior


def focus_in_target(focus: Crop, target: Crop) -> Tuple[float, float, float, float]:
    """The Focus Crop's box as ``(x1, y1, x2, y2)`` in the Target Crop's raster, clipped to it."""
    fx0, fy0, fx1, fy1 = focus.box
    u0, v0 = target.to_raster(fx0, fy0)
    u1, v1 = target.to_raster(fx1, fy1)
    return max(u0, 0.0), max(v0, 0.0), min(u1, float(target.width)), min(v1, float(target.height))


def load(name: str, checkpoint: Optional[str]) -> FocalClick:
    """The network of preset ``name``: random weights (seed 0) or a published checkpoint, loaded strictly."""
    if checkpoint is None:
        return runtime.seeded(lambda: build(PRESETS[name]))
    stored = read_checkpoint(checkpoint)
    if not isinstance(stored, Mapping) or "state_dict" not in stored or "config" not in stored:
        raise ValueError(f"checkpoint {checkpoint!r} is not a FocalClick checkpoint: expected a dict with "
                         f"'state_dict' and 'config' (as isegm's save_checkpoint writes)")
    arch = architecture_from_config(stored["config"], f"checkpoint {checkpoint!r}")
    if _identity(arch) != _identity(PRESETS[name]):
        holds = next((preset for preset, known in PRESETS.items() if _identity(known) == _identity(arch)), None)
        hint = f"; load it as {holds!r}" if holds else ""
        raise ValueError(f"checkpoint {checkpoint!r} holds a {_describe(arch)} model, but preset {name!r} is a "
                         f"{_describe(PRESETS[name])} model{hint}")
    return load_strict(build(arch), stored["state_dict"], f"checkpoint {checkpoint!r}")


def _identity(arch: Architecture) -> tuple:
    return arch.family, arch.pipeline, arch.model_version, arch.width, arch.ocr_width, arch.small


def _describe(arch: Architecture) -> str:
    if arch.family == "segformer":
        return f"SegFormer-{arch.model_version.upper()} {arch.pipeline.upper()}"
    return (f"HRNet (width={arch.width}, ocr_width={arch.ocr_width}, small={arch.small}) "
            f"{arch.pipeline.upper()}")


def preset(name: str):
    """The factory ``focalxl.load`` calls for ``name``."""

    def factory(checkpoint: Optional[str] = None, device: Optional[str] = None, threads: Optional[int] = None,
                random_weights: bool = False, precision: str = "auto") -> FocalClickPredictor:
        return FocalClickPredictor(name, checkpoint, device, threads, random_weights, precision)

    return factory
