"""What a run writes: model files ``focalxl.load`` reads, and the state that resumes it exactly.

* FocalClick presets: ``{'state_dict', 'config'}`` with the ``isegm`` model config, the
  format of the checkpoints published with ClickSEG (``isegm/utils/misc.py::save_checkpoint``),
  so ``focalxl.load(preset, checkpoint=...)`` and ClickSEG's own loader both read them;
* FocalClick-XL presets: our XL format (:mod:`focalxl.models.xl.checkpoint`), checksum included;
* ``resume.pth``: model, optimizer, scheduler, step, the sampler's place in its epoch, the
  best validation score, and the RNG states (torch, numpy, Python); it loads with
  ``weights_only=True`` like every other file.

Files are written to a temporary name and renamed, so an interrupted save never leaves
a half-written checkpoint behind.
"""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
import torch
from torch import nn

from .. import runtime
from ..models.checkpoints import read_checkpoint
from ..models.focalclick import HRNET_CLASS, SEGFORMER_CLASS, Architecture, FocalClick, build
from ..models.segformer import IMAGENET_MEAN, IMAGENET_STD
from ..models.xl.checkpoint import load_checkpoint as load_xl_checkpoint
from ..models.xl.checkpoint import save_checkpoint as save_xl_checkpoint
from ..models.xl.config import PRESETS as XL_PRESETS
from ..models.xl.focalclick_xl import FocalClickXL, build_focalclick_xl
from ..predictors.focalclick import PRESETS as FOCALCLICK_PRESETS
from ..predictors.focalclick import load as load_focalclick


def is_xl(preset: str) -> bool:
    return preset in XL_PRESETS


def known_presets() -> list:
    return [*FOCALCLICK_PRESETS, *XL_PRESETS]


def isegm_config(arch: Architecture) -> Dict[str, Any]:
    """The ``config`` isegm's ``serialize`` decorator records for a FocalClick model."""
    def entry(value: Any) -> Dict[str, Any]:
        return {"type": "builtin", "value": value, "specified": True}

    params = {"pipeline_version": entry(arch.pipeline), "use_leaky_relu": entry(arch.use_leaky_relu),
              "use_disks": entry(True), "norm_radius": entry(5), "binary_prev_mask": entry(arch.binary_prev_mask),
              "with_prev_mask": entry(True), "with_aux_output": entry(True),
              "norm_mean_std": entry([list(IMAGENET_MEAN), list(IMAGENET_STD)])}
    if arch.family == "segformer":
        return {"class": SEGFORMER_CLASS, "params": {**params, "model_version": entry(arch.model_version)}}
    return {"class": HRNET_CLASS, "params": {**params, "width": entry(arch.width), "ocr_width": entry(arch.ocr_width),
                                             "small": entry(arch.small)}}


def initial_network(preset: str, init: Optional[str], seed: int) -> nn.Module:
    """The network to train: loaded strictly from ``init``, or random weights drawn from ``seed``."""
    if is_xl(preset):
        if init is not None:
            return load_xl_checkpoint(init, preset)
        return build_focalclick_xl(XL_PRESETS[preset], seed)
    if preset not in FOCALCLICK_PRESETS:
        raise ValueError(f"unknown preset {preset!r} for training; choose one of {', '.join(known_presets())}")
    if init is not None:
        return load_focalclick(preset, init)
    return runtime.seeded(lambda: build(FOCALCLICK_PRESETS[preset]), seed)


def _atomic_save(obj: Any, path: Path) -> None:
    partial = path.with_name(path.name + ".part")
    torch.save(obj, partial)
    os.replace(partial, path)


def save_model(network: nn.Module, preset: str, path: str | os.PathLike) -> None:
    """Write ``network`` in the format ``focalxl.load(preset, checkpoint=path)`` reads."""
    path = Path(path)
    if isinstance(network, FocalClickXL):
        partial = path.with_name(path.name + ".part")
        save_xl_checkpoint(network, preset, partial)
        os.replace(partial, path)
        return
    if not isinstance(network, FocalClick):
        raise TypeError(f"cannot save a {type(network).__name__} as {preset}")
    state = {key: value.detach().to("cpu").clone() for key, value in network.state_dict().items()}
    _atomic_save({"state_dict": state, "config": isegm_config(network.arch)}, path)


def rng_states() -> Dict[str, Any]:
    kind, keys, position, has_gauss, cached = np.random.get_state()
    return {"torch": torch.get_rng_state(), "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(position),
                                                      int(has_gauss), float(cached)],
            "python": random.getstate()}


def restore_rng_states(states: Dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    kind, keys, position, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))


def save_resume(path: str | os.PathLike, state: Dict[str, Any]) -> None:
    _atomic_save({**state, "rng": rng_states()}, Path(path))


def read_resume(path: str | os.PathLike) -> Dict[str, Any]:
    state = read_checkpoint(path)
    if not isinstance(state, dict) or "model" not in state or "step" not in state:
        raise ValueError(f"{path}: not a focalxl training state (resume.pth)")
    return state
