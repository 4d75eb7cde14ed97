"""``focalclick-*``: the published FocalClick models behind the predictor protocol.

* ``predict_object`` runs the segmentor on the zoomed Target Crop (longer side 256;
  ``s1`` models halve it inside the network) with the previous mask and the click
  disks, and hands its feature and logits on to the Detail stage;
* ``refine`` runs the Refiner on the Focus Crop cut from the full-resolution image
  (longer side 256), with the segmentor feature and logits RoI-aligned to it.

Clicks and scribbles are drawn into the click-disk channels; a box or a coarse mask
joins the previous-mask channel (FocalClick was trained to correct masks, not boxes).
There is no Context-Net: ``context`` returns ``None``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Tuple

import numpy as np
import torch

from .. import runtime
from ..bimap import BiMap
from ..crops import Crop
from ..models.checkpoints import load_strict, read_checkpoint
from ..models.focalclick import REFINE_RADIUS, Architecture, FocalClick, architecture_from_config, build
from .base import DetailInput, ObjectInput, ObjectPrediction

INPUT_SIZE = 256
CLICK_KINDS = ("click", "scribble")
PRIOR_KINDS = ("box", "mask")

PRESETS: Dict[str, Architecture] = {
    "focalclick-segformer-b0-s1": Architecture("segformer", "s1", model_version="b0"),
    "focalclick-segformer-b0-s2": Architecture("segformer", "s2", model_version="b0"),
    "focalclick-segformer-b3-s2": Architecture("segformer", "s2", model_version="b3"),
    "focalclick-hrnet18s-s1": Architecture("hrnet", "s1", width=18, ocr_width=48, small=True),
    "focalclick-hrnet18s-s2": Architecture("hrnet", "s2", width=18, ocr_width=48, small=True),
    "focalclick-hrnet32-s2": Architecture("hrnet", "s2", width=32, ocr_width=128, small=False),
}


@dataclass
class SegmentorOutput:
    """The segmentor's results over the Target Crop raster, kept for the Refiner."""

    feature: torch.Tensor    # [1, C, h/4, w/4] (h/8, w/8 for s1)
    logits: torch.Tensor     # [1, 1, h, w]


class FocalClickPredictor:
    """A loaded FocalClick model on one device."""

    target_min_fraction = 0.0
    input_size = INPUT_SIZE
    detail_size = INPUT_SIZE
    detail_click_radius = float(REFINE_RADIUS)

    def __init__(self, name: str, checkpoint: Optional[str | os.PathLike] = None, device: Optional[str] = None,
                 threads: Optional[int] = None, random_weights: bool = False):
        if name not in PRESETS:
            raise ValueError(f"unknown FocalClick preset {name!r}; choose one of {', '.join(PRESETS)}")
        source = runtime.weights_source(name, checkpoint, random_weights,
                                        f"run `focalxl weights download {name}`")
        self.name = name
        self.device = runtime.pick_device(device)
        runtime.set_cpu_threads(threads)
        self.network: FocalClick = runtime.shared_model(("focalclick", name, *runtime.file_identity(source),
                                                         str(self.device)),
                                                        lambda: load(name, source).to(self.device))
        self.click_radius = self.network.arch.click_radius

    def context(self, image: np.ndarray) -> None:
        return None

    def predict_object(self, inputs: ObjectInput) -> ObjectPrediction:
        image = self._image(inputs.image)
        prior = _prior(inputs.prev_prob, inputs.bimaps)
        with runtime.inference(self.device):
            logits, feature = self.network.segment(image, self._map(prior), self._clicks(inputs.bimaps, inputs.crop))
        return ObjectPrediction(logits[0, 0].float().cpu().numpy(), SegmentorOutput(feature, logits))

    def refine(self, inputs: DetailInput) -> np.ndarray:
        stage = inputs.object_features
        if not isinstance(stage, SegmentorOutput) or inputs.object_crop is None:
            raise ValueError("refine needs this interaction's segmentor output (DetailInput.object_features)")
        box = focus_in_target(inputs.crop, inputs.object_crop)
        with runtime.inference(self.device):
            refined, _ = self.network.refine(self._image(inputs.image), self._clicks(inputs.bimaps, inputs.crop),
                                             stage.feature, stage.logits, box)
        return torch.sigmoid(refined.float())[0, 0].cpu().numpy()

    def _image(self, image: np.ndarray) -> torch.Tensor:
        pixels = torch.from_numpy(np.ascontiguousarray(image)).to(self.device)
        return pixels.permute(2, 0, 1)[None].float() / 255

    def _map(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))[None, None].to(self.device)

    def _clicks(self, bimaps: Mapping[str, BiMap], crop: Crop) -> torch.Tensor:
        """``[1, 2, h, w]``: positive and negative disks / strokes of every click and scribble."""
        maps = np.zeros((2, crop.height, crop.width), dtype=np.float32)
        for kind in CLICK_KINDS:
            if kind in bimaps:
                maps = np.maximum(maps, bimaps[kind].stacked())
        return torch.from_numpy(maps)[None].to(self.device)


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
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return build(PRESETS[name])
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
                random_weights: bool = False) -> FocalClickPredictor:
        return FocalClickPredictor(name, checkpoint, device, threads, random_weights)

    return factory
