"""Our FocalClick-XL checkpoint format, and the initial checkpoint made from SAM.

No official FocalClick-XL weights exist, so XL checkpoints are ours. A file is a
``torch.save``\\ d dict of plain values and tensors (it loads with ``weights_only=True``)::

    {"format": "focalxl.focalclick-xl", "version": 1,
     "preset": "focalclick-xl-b",              # the preset it is for
     "config": {...},                          # XLConfig.to_dict(): rebuilds the network
     "state_dict": {name: tensor, ...},        # FocalClickXL.state_dict()
     "sha256": "hex digest"}                   # see checksum()

Loading checks the format, the preset, the checksum and then every key strictly.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Dict, Mapping, Optional, Tuple

import torch

from ..checkpoints import load_strict, read_checkpoint
from .config import PRESETS, SAM_FILES, XLConfig
from .focalclick_xl import FocalClickXL, build_focalclick_xl

FORMAT = "focalxl.focalclick-xl"
VERSION = 1
SAM_PREFIX = "image_encoder."


def checksum(preset: str, config: Mapping[str, Any], state_dict: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 over the preset, the config and every tensor, in this canonical order:

    1. ``json.dumps({"preset": preset, "config": config}, sort_keys=True, separators=(",", ":"))``
       as UTF-8;
    2. for each state-dict key in sorted (Unicode code point) order: the line
       ``"\\n{key}|{dtype}|{shape as a comma-separated list}\\n"`` as UTF-8, then the
       tensor's elements in row-major order as raw little-endian bytes.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps({"preset": preset, "config": config}, sort_keys=True, separators=(",", ":")).encode())
    for key in sorted(state_dict):
        tensor = state_dict[key].detach().to("cpu").contiguous()
        shape = ",".join(str(size) for size in tensor.shape)
        digest.update(f"\n{key}|{str(tensor.dtype).removeprefix('torch.')}|{shape}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().data)
    return digest.hexdigest()


def save_checkpoint(model: FocalClickXL, preset: str, path: str | os.PathLike) -> str:
    """Write ``model`` for ``preset`` to ``path``; returns the checksum."""
    config = model.config.to_dict()
    state_dict = {key: value.detach().to("cpu") for key, value in model.state_dict().items()}
    digest = checksum(preset, config, state_dict)
    torch.save({"format": FORMAT, "version": VERSION, "preset": preset, "config": config,
                "state_dict": state_dict, "sha256": digest}, os.fspath(path))
    return digest


def read_xl_checkpoint(path: str | os.PathLike, preset: str) -> Tuple[XLConfig, Dict[str, torch.Tensor]]:
    """The config and state dict in an XL checkpoint for ``preset``, after checking format, preset and checksum."""
    path = os.fspath(path)
    data = read_checkpoint(path)
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise ValueError(f"checkpoint {path!r} is not a FocalClick-XL checkpoint ({_looks_like(data)}); "
                         f"create one from an official SAM checkpoint with focalxl.models.xl.checkpoint.init_from_sam")
    if data.get("version") != VERSION:
        raise ValueError(f"checkpoint {path!r} has format version {data.get('version')!r}; this focalxl reads {VERSION}")
    if data.get("preset") != preset:
        raise ValueError(f"checkpoint {path!r} is for preset {data.get('preset')!r}, not {preset!r}")
    for field, kind in (("config", Mapping), ("state_dict", Mapping), ("sha256", str)):
        if not isinstance(data.get(field), kind):
            raise ValueError(f"checkpoint {path!r}: field {field!r} is missing or not a {kind.__name__}")
    try:
        config = XLConfig.from_dict(data["config"])
    except ValueError as error:
        raise ValueError(f"checkpoint {path!r}: {error}") from error
    if not all(isinstance(value, torch.Tensor) for value in data["state_dict"].values()):
        raise ValueError(f"checkpoint {path!r}: state_dict must map parameter names to tensors")
    if checksum(preset, data["config"], data["state_dict"]) != data["sha256"]:
        raise ValueError(f"checkpoint {path!r} fails its sha256 checksum: the file is damaged or was edited")
    return config, dict(data["state_dict"])


def load_checkpoint(path: str | os.PathLike, preset: str) -> FocalClickXL:
    """The model stored in an XL checkpoint for ``preset``, loaded strictly, in eval mode."""
    config, state_dict = read_xl_checkpoint(path, preset)
    model = FocalClickXL(config)
    load_strict(model, state_dict, f"checkpoint {os.fspath(path)!r}")
    return model.eval()


def init_from_sam(sam_checkpoint: str | os.PathLike, preset: str, out: str | os.PathLike,
                  config: Optional[XLConfig] = None, seed: int = 0) -> str:
    """Write an initial XL checkpoint for ``preset`` whose Context-Net is SAM's image encoder.

    ``sam_checkpoint`` is an official SAM file (a plain state dict; ``sam_vit_b_01ec64.pth``
    for XL-B, ``sam_vit_h_4b8939.pth`` for XL-H). Its ``image_encoder.*`` weights load
    strictly; the adapters start at zero, so the Context-Net computes exactly SAM's
    features; the Object-Net and Detail-Net get random weights from ``seed``, to be
    trained. ``config`` defaults to the preset's. Returns the new file's checksum.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown FocalClick-XL preset {preset!r}; choose one of {', '.join(PRESETS)}")
    sam_checkpoint = os.fspath(sam_checkpoint)
    state = read_checkpoint(sam_checkpoint)
    encoder = {key[len(SAM_PREFIX):]: value for key, value in state.items()
               if key.startswith(SAM_PREFIX)} if isinstance(state, Mapping) else {}
    if not encoder:
        raise ValueError(f"{sam_checkpoint!r} has no {SAM_PREFIX}* weights: not an official SAM checkpoint "
                         f"({preset} starts from {SAM_FILES[preset]})")
    model = build_focalclick_xl(config or PRESETS[preset], seed)
    load_strict(model.context_net.image_encoder, encoder,
                f"{sam_checkpoint!r} ({SAM_PREFIX}*, expected {SAM_FILES[preset]} for {preset})")
    return save_checkpoint(model, preset, out)


def _looks_like(data: Any) -> str:
    if not isinstance(data, Mapping):
        return f"it holds a {type(data).__name__}"
    if any(isinstance(key, str) and key.startswith(SAM_PREFIX) for key in data):
        return "it looks like an official SAM checkpoint"
    if "state_dict" in data and "config" in data:
        return "it looks like a FocalClick (isegm) checkpoint"
    return f"format {data.get('format')!r}"
