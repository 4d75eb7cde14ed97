"""Writing FocalClick checkpoints the way the published training code does
(``torch.save({'state_dict': net.state_dict(), 'config': net._config})``), for tests."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest
import torch

from focalxl.models.focalclick import HRNET_CLASS, SEGFORMER_CLASS, Architecture


REFERENCE = str(Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "focalclick-checkpoint"
                / "focalclick-segformer-b0-s1")
needs_reference = pytest.mark.skipif(not Path(REFERENCE + ".pth").is_file(),
                                     reason="../shared/reference/focalclick-checkpoint is not available")


def _entry(value: Any, specified: bool = True) -> Dict[str, Any]:
    return {"type": "builtin", "value": value, "specified": specified}


def isegm_config(arch: Architecture) -> Dict[str, Any]:
    """The ``config`` isegm's ``serialize`` records: own arguments plus ISModel's defaults."""
    params = {
        "pipeline_version": _entry(arch.pipeline), "use_leaky_relu": _entry(arch.use_leaky_relu),
        "use_rgb_conv": _entry(False), "use_disks": _entry(True), "norm_radius": _entry(5),
        "binary_prev_mask": _entry(arch.binary_prev_mask), "with_prev_mask": _entry(True),
        "with_aux_output": _entry(True), "backbone_lr_mult": _entry(0.1, False), "clicks_groups": _entry(None, False),
        "conv_extend": _entry(False, False), "cpu_dist_maps": _entry(False, False),
        "feature_stride": _entry(4, False),
        "norm_layer": {"type": "class", "value": "torch.nn.modules.batchnorm.BatchNorm2d", "specified": False},
        "norm_mean_std": _entry(([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]), False),
    }
    if arch.family == "segformer":
        return {"class": SEGFORMER_CLASS, "params": {**params, "model_version": _entry(arch.model_version)}}
    return {"class": HRNET_CLASS, "params": {**params, "width": _entry(arch.width), "ocr_width": _entry(arch.ocr_width),
                                             "small": _entry(arch.small)}}


def save_published(net: torch.nn.Module, arch: Architecture, path) -> None:
    torch.save({"state_dict": net.state_dict(), "config": isegm_config(arch)}, str(path))
