"""``focalclick-xl-b`` and ``focalclick-xl-h``: FocalClick-XL's Context-, Object- and Detail-Nets.

* ``context`` runs the Context-Net (SAM ViT encoder + adapters) on the whole image; the
  session keeps the result, so later interactions on the image reuse it;
* ``predict_object`` runs the Object-Net on the zoomed Target Crop with one prompting
  layer per interaction kind and the RoI-aligned context features under the crop;
* ``refine`` builds a trimap from the coarse prediction over the Focus Crop, tiles the
  unknown region with patches and runs the Detail-Net on all of them in one batch.

No official weights exist: ``checkpoint`` is one of our XL checkpoints
(:mod:`focalxl.models.xl.checkpoint`), e.g. made from SAM with ``init_from_sam``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Optional, Tuple

import numpy as np
import torch

from ..crops import Crop
from ..models.segformer import IMAGENET_MEAN, IMAGENET_STD
from ..models.xl import patches
from ..models.xl.checkpoint import load_checkpoint
from ..models.xl.config import PRESETS, SAM_FILES, XLConfig
from ..models.xl.context_net import sam_input
from ..models.xl.focalclick_xl import FocalClickXL, build_focalclick_xl
from ..models.xl.trimap import UNKNOWN, one_hot, trimap
from ..runtime import (autocast_dtype, file_identity, inference, pick_device, set_cpu_threads, shared_model,
                       weights_source)
from .base import DetailInput, ObjectInput

SEED_KINDS = ("click", "scribble")   # strokes the user drew: hard labels in the trimap
MIN_SIDE = 32                        # MiT's stride-32 stage and its key/value reduction need this much
# Presets whose bf16 masks agree with their fp32 ones (IoU >= 0.99); none measured yet, so
# ``precision="auto"`` keeps fp32 on CPU (bf16 on CUDA) until trained weights are measured.
BF16_AGREES: frozenset = frozenset()


@dataclass
class ContextFeatures:
    """The Context-Net's output for one image and how image pixels map onto its grid."""

    features: torch.Tensor          # [1, C, h, w] on the model's device
    scale: Tuple[float, float]      # image pixel -> resized SAM input pixel, (x, y)
    stride: int                     # SAM input pixels per feature cell

    @property
    def nbytes(self) -> int:
        return self.features.numel() * self.features.element_size()


class FocalClickXLPredictor:
    """A loaded FocalClick-XL model on one device, following the predictor protocol."""

    target_min_fraction = 0.0

    def __init__(self, name: str, model: FocalClickXL, device: torch.device, precision: str = "auto"):
        self.name = name
        self.model = model
        self.device = device
        self.dtype = autocast_dtype(device, precision, bf16_agrees=name in BF16_AGREES)
        config = model.config
        self.input_size = config.input_size
        self.detail_size = config.detail_size
        self.click_radius = config.click_radius

    def context(self, image: np.ndarray) -> ContextFeatures:
        x, (height, width) = sam_input(image, self.model.config.context.img_size)
        with inference(self.device, self.dtype):
            features = self.model.context_net(x.to(self.device)).float()
        return ContextFeatures(features, (width / image.shape[1], height / image.shape[0]),
                               self.model.config.context.patch_size)

    def predict_object(self, inputs: ObjectInput) -> np.ndarray:
        crop = inputs.crop
        size = (max(crop.height, MIN_SIDE), max(crop.width, MIN_SIDE))
        image = self._tensor(_padded(_imagenet(inputs.image), size))
        bimaps = {kind: self._tensor(_padded(bimap.stacked(), size)) for kind, bimap in inputs.bimaps.items()}
        prev = self._tensor(_padded(inputs.prev_prob[None].astype(np.float32), size))
        context: ContextFeatures = inputs.context
        with inference(self.device, self.dtype):
            logits = self.model.object_net(image, bimaps, prev, context.features,
                                           _context_box(crop, size, context), 1.0 / context.stride)
        return logits[0, 0, :crop.height, :crop.width].float().cpu().numpy()

    def refine(self, inputs: DetailInput) -> np.ndarray:
        coarse = inputs.coarse_prob.astype(np.float32)
        positive = np.zeros(coarse.shape, dtype=bool)
        negative = np.zeros(coarse.shape, dtype=bool)
        for kind in SEED_KINDS:
            if kind in inputs.bimaps:
                positive |= inputs.bimaps[kind].positive
                negative |= inputs.bimaps[kind].negative
        labels = trimap(coarse, self.model.config.trimap_band, positive, negative)
        unknown = labels == UNKNOWN
        size = self.model.config.patch_size
        origins = patches.tile(unknown, size)
        if not origins:
            return coarse
        stacked = np.concatenate([_imagenet(inputs.image), one_hot(labels)])
        batch = torch.from_numpy(patches.cut(stacked, origins, size)).to(self.device)
        with inference(self.device, self.dtype):
            alpha = torch.sigmoid(self.model.detail_net(batch).float())[:, 0].cpu().numpy()
        refined, covered = patches.blend(alpha, origins, coarse.shape)
        return np.where(unknown & covered, refined, coarse)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array))[None].to(self.device)


def _imagenet(image: np.ndarray) -> np.ndarray:
    """``uint8[H, W, 3]`` -> ImageNet-normalised ``float32[3, H, W]``."""
    return ((image.astype(np.float32) / 255.0 - np.float32(IMAGENET_MEAN)) / np.float32(IMAGENET_STD)).transpose(2, 0, 1)


def _padded(array: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """``[C, h, w]`` zero-padded at the bottom and right to ``[C, *size]``."""
    return np.pad(array, ((0, 0), (0, size[0] - array.shape[1]), (0, size[1] - array.shape[2])))


def _context_box(crop: Crop, size: Tuple[int, int], context: ContextFeatures) -> torch.Tensor:
    """``[1, 5]``: the region a ``size`` raster starting at the crop covers, in the resized SAM input frame."""
    x0, y0 = crop.box[:2]
    sx, sy = crop.scale
    kx, ky = context.scale
    x1, y1 = x0 + size[1] / sx, y0 + size[0] / sy
    return torch.tensor([[0.0, x0 * kx, y0 * ky, x1 * kx, y1 * ky]], device=context.features.device)


def build_predictor(preset: str, checkpoint: Optional[str] = None, device: Optional[str] = None,
                    random_weights: bool = False, threads: Optional[int] = None,
                    model_config: Optional[XLConfig] = None, seed: int = 0,
                    precision: str = "auto") -> FocalClickXLPredictor:
    """The ``preset`` predictor, from ``checkpoint`` or, with ``random_weights=True``, untrained.

    ``model_config`` (random weights only) replaces the preset's network sizes, e.g.
    with a tiny configuration for tests. Models are shared by every predictor built
    for the same file (or config and seed) and device in this process.
    """
    if model_config is not None and checkpoint is not None:
        raise ValueError("model_config: a checkpoint carries its own config; give model_config only with "
                         "random_weights=True")
    source = weights_source(preset, checkpoint, random_weights,
                            f"FocalClick-XL has no official weights: make an initial checkpoint from SAM's "
                            f"{SAM_FILES[preset]} with `focalxl weights init-xl {preset} {SAM_FILES[preset]} --out PATH`")
    set_cpu_threads(threads)
    chosen = pick_device(device)
    if source is not None:
        model = shared_model(("focalclick-xl", preset, *file_identity(source), str(chosen)),
                             lambda: load_checkpoint(source, preset).to(chosen))
    else:
        config = model_config if model_config is not None else PRESETS[preset]
        model = shared_model(("focalclick-xl", preset, "random", config, seed, str(chosen)),
                             lambda: build_focalclick_xl(config, seed).to(chosen))
    return FocalClickXLPredictor(preset, model, chosen, precision)


def preset(name: str) -> Callable[..., FocalClickXLPredictor]:
    """The factory ``focalxl.load`` calls for ``name`` (registered in :mod:`focalxl.predictors.learned`)."""
    if name not in PRESETS:
        raise ValueError(f"unknown FocalClick-XL preset {name!r}; choose one of {', '.join(PRESETS)}")
    return partial(build_predictor, name)
