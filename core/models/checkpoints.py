"""Reading checkpoint files safely and loading them strictly into a network.

Every file goes through ``torch.load(..., weights_only=True)``: a checkpoint never runs
code. Loading is strict, and a mismatch is reported key by key so a user can tell a
wrong preset from a damaged file.
"""
from __future__ import annotations

import os
import pickle
from typing import Any, List, Mapping

import torch
from torch import nn

REPORT_LIMIT = 12


def read_checkpoint(path: str | os.PathLike) -> Any:
    """The object stored in a torch checkpoint file, tensors on the CPU."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"checkpoint {path!r} does not exist or is not a file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as error:
        raise ValueError(f"checkpoint {path!r} is not a weights-only torch file: {error}") from error


def _listing(title: str, keys: List[str]) -> str:
    shown = ", ".join(keys[:REPORT_LIMIT])
    more = f" and {len(keys) - REPORT_LIMIT} more" if len(keys) > REPORT_LIMIT else ""
    return f"{len(keys)} {title}: {shown}{more}"


def mismatch_report(module: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> List[str]:
    """One line per kind of mismatch between ``state_dict`` and ``module``; empty when it fits."""
    expected = module.state_dict()
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    reshaped = [f"{key} {tuple(state_dict[key].shape)} != {tuple(expected[key].shape)}"
                for key in expected
                if key in state_dict and tuple(state_dict[key].shape) != tuple(expected[key].shape)]
    lines = []
    if missing:
        lines.append(_listing("missing keys", missing))
    if unexpected:
        lines.append(_listing("unexpected keys", unexpected))
    if reshaped:
        lines.append(_listing("keys of the wrong shape", reshaped))
    return lines


def load_strict(module: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str) -> nn.Module:
    """Load every key of ``state_dict`` into ``module`` or raise a ``ValueError`` listing the mismatches."""
    if not isinstance(state_dict, Mapping) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ValueError(f"{source}: the state dict must map parameter names to tensors")
    report = mismatch_report(module, state_dict)
    if report:
        raise ValueError(f"{source} does not fit {type(module).__name__}:\n  " + "\n  ".join(report))
    module.load_state_dict(dict(state_dict), strict=True)
    return module

