"""Where learned predictors run: the device, inference mode with mixed precision, CPU
threads, and one copy of each model per process shared by every session."""
from __future__ import annotations

import contextlib
import os
import threading
from typing import Callable, Dict, Hashable, Iterator, Optional, Tuple, TypeVar

import torch

Model = TypeVar("Model")

_models: Dict[Hashable, object] = {}
_models_lock = threading.Lock()


def pick_device(device: Optional[str] = None) -> torch.device:
    """``cuda``, ``mps`` or ``cpu``; ``None`` or ``"auto"`` takes the best one available."""
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device {device!r} is not a torch device (use cuda, mps or cpu)") from error
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but this torch build sees no CUDA GPU")
    if chosen.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {device!r} asked for, but MPS is not available here")
    if chosen.type not in ("cuda", "mps", "cpu"):
        raise ValueError(f"device {device!r} is not supported (use cuda, mps or cpu)")
    return chosen


def autocast_dtype(device: torch.device) -> Optional[torch.dtype]:
    """bf16 on GPUs that have it, else fp16 on CUDA; full precision on CPU and MPS."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


@contextlib.contextmanager
def inference(device: torch.device) -> Iterator[None]:
    """No autograd bookkeeping, and mixed precision where the device gains from it."""
    dtype = autocast_dtype(device)
    precision = torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext()
    with torch.inference_mode(), precision:
        yield


def set_cpu_threads(threads: Optional[int]) -> None:
    """Pin torch's intra-op thread count (``None`` keeps torch's default of one per core)."""
    if threads is None:
        return
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    torch.set_num_threads(threads)


def shared_model(key: Hashable, build: Callable[[], Model]) -> Model:
    """The model built for ``key`` in this process, built on first request only."""
    with _models_lock:
        if key not in _models:
            _models[key] = build()
        return _models[key]  # type: ignore[return-value]


def weights_source(preset: str, checkpoint: Optional[str | os.PathLike], random_weights: bool,
                   how_to_get: str) -> Optional[str]:
    """The real path of ``checkpoint``, or ``None`` for explicitly requested random weights.

    ``how_to_get`` tells the user where the weights come from when neither is given.
    """
    if checkpoint is None and not random_weights:
        raise ValueError(f"checkpoint: {preset} needs its weights; {how_to_get}, and pass checkpoint=PATH "
                         f"(or random_weights=True for benchmarks)")
    if checkpoint is not None and random_weights:
        raise ValueError("random_weights: give either a checkpoint or random_weights=True, not both")
    if checkpoint is None:
        return None
    path = os.path.realpath(os.fspath(checkpoint))
    if not os.path.isfile(path):
        raise ValueError(f"checkpoint {os.fspath(checkpoint)!r} does not exist or is not a file")
    return path


def file_identity(path: Optional[str]) -> Tuple:
    """A weights file by path, size and modification time: a file replaced on disk is a new model."""
    if path is None:
        return (None,)
    stat = os.stat(path)
    return path, stat.st_size, stat.st_mtime_ns
