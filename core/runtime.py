"""Where learned predictors run: the device, inference mode with mixed precision, CPU
threads, and one copy of each model per process shared by every session."""
from __future__ import annotations

import contextlib
import os
import threading
from typing import Callable, Dict, Hashable, Iterator, Optional, Tuple, TypeVar

import torch

from .weights import MissingWeights

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


PRECISIONS = ("auto", "bf16", "fp32")


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AMX-BF16 or AVX512-BF16), read from ``/proc/cpuinfo``."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"amx_bf16", "avx512_bf16"})
    except OSError:
        pass
    return False


def autocast_dtype(device: torch.device, precision: str = "auto", bf16_agrees: bool = True) -> Optional[torch.dtype]:
    """The autocast dtype for ``precision`` on ``device``; ``None`` is full precision (fp32).

    ``"auto"`` is bf16 on CUDA (fp16 on GPUs without bf16) and on CPUs with AMX/AVX512-BF16,
    fp32 elsewhere; on CPU also fp32 for a model whose bf16 masks disagree with its fp32 ones
    (``bf16_agrees=False``: mask IoU under 0.99 in ``python -m focalxl.bench.reference``).
    ``"bf16"`` forces bf16 on CUDA and CPU; ``"fp32"`` never autocasts.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "fp32":
        return None
    if precision == "bf16":
        if device.type not in ("cuda", "cpu"):
            raise ValueError(f"precision 'bf16' is supported on cuda and cpu, not on {device.type}")
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and bf16_agrees and cpu_has_bf16():
        return torch.bfloat16
    return None


@contextlib.contextmanager
def inference(device: torch.device, dtype: Optional[torch.dtype] | str = "cuda-only") -> Iterator[None]:
    """No autograd bookkeeping, and autocast to ``dtype``: a dtype, ``None`` for fp32, or
    ``"cuda-only"`` (the default) for mixed precision on CUDA and fp32 elsewhere."""
    if dtype == "cuda-only":
        dtype = autocast_dtype(device) if device.type == "cuda" else None
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


def seeded(build: Callable[[], Model], seed: int = 0) -> Model:
    """``build()`` with random weights drawn from ``seed``; the global RNG is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


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
        raise MissingWeights(preset, how_to_get)
    if checkpoint is not None and random_weights:
        raise ValueError("random_weights: give either a checkpoint or random_weights=True, not both")
    if checkpoint is None:
        return None
    path = os.path.realpath(os.fspath(checkpoint))
    if not os.path.isfile(path):
        raise ValueError(f"checkpoint {os.fspath(checkpoint)!r} does not exist or is not a file")
    return path


def downloadable(preset: str, checkpoint: Optional[str | os.PathLike], random_weights: bool,
                 device: Optional[str], threads: Optional[int], precision: str,
                 bf16_agrees: bool) -> Tuple[Optional[str], torch.device, Optional[torch.dtype]]:
    """A preset with published weights: its weights source, device and autocast dtype; sets the CPU threads."""
    source = weights_source(preset, checkpoint, random_weights, f"run `focalxl weights download {preset}`")
    chosen = pick_device(device)
    set_cpu_threads(threads)
    return source, chosen, autocast_dtype(chosen, precision, bf16_agrees=bf16_agrees)


def file_identity(path: Optional[str]) -> Tuple:
    """A weights file by path, size and modification time: a file replaced on disk is a new model."""
    if path is None:
        return (None,)
    stat = os.stat(path)
    return path, stat.st_size, stat.st_mtime_ns
