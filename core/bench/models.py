"""Latency and peak memory of every learned preset at full size, with random weights.

Each preset runs in a child process of its own, so its peak memory is its own and
nothing it loads is shared with the next. The child builds the preset with
``random_weights=True`` (presets listed in :mod:`focalxl.weights`; weightless ones as
they are), plays the latency benchmark's script (a click, a click, a box, a negative
click, a click) on the 1920x1080 photo ``repeats`` times, one fresh session each (no
untimed warm-up: a Context-Net run can take a minute on a CPU, so the first session's
one-time costs are in the first sample and the median of three keeps them out), and
reports:

* the first interaction of a session, which also runs the Context-Net (the SAM
  encoder, FocalClick-XL's Context-Net), and the Context-Net's own share of it;
* the later, cached interactions;
* how often the Context-Net ran during cached interactions, counted by wrapping the
  predictor's ``context``: it must be 0;
* the child's peak resident memory (and peak GPU memory on CUDA).

    python -m focalxl.bench.models PRESET [--size WxH] [--repeats N] [--device D] [--threads T] [--precision P]

prints one child's measurements as JSON; ``focalxl bench models`` runs the children.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

from ..arguments import frame_size, positive_int
from .report import Figure, peak_rss_mib

REQUIREMENTS_MS = {"focalclick-segformer-b0-s1": 100.0}     # per interaction, on 2 CPU cores (issue 3)


def learned_presets() -> List[str]:
    """The registered presets that have weight files (``classical`` has ``focalxl bench latency``)."""
    import focalxl
    from .. import weights

    return [name for name in focalxl.presets() if name in weights.TABLE]


def measure(preset: str, width: int = 1920, height: int = 1080, repeats: int = 3, device: Optional[str] = None,
            threads: Optional[int] = None, precision: Optional[str] = None) -> Dict[str, object]:
    """Time ``preset`` in this process; see the module's docstring."""
    import focalxl
    from .. import weights
    from .latency import photo, script

    options = {"random_weights": True} if preset in weights.TABLE else {}
    if precision is not None:
        options["precision"] = precision
    segmenter = focalxl.load(preset, device=device, threads=threads, **options)
    predictor = segmenter.predictor
    context_ms: List[float] = []
    original = predictor.context

    def counted_context(image):
        start = time.perf_counter()
        features = original(image)
        _synchronise(predictor)
        context_ms.append((time.perf_counter() - start) * 1000.0)
        return features

    predictor.context = counted_context
    image, steps = photo(width, height), script(width, height)
    first: List[float] = []
    cached: List[float] = []
    reruns = 0
    for _ in range(repeats):
        session = segmenter.new_session(image)
        for index, (_, interaction) in enumerate(steps):
            runs_before = len(context_ms)
            start = time.perf_counter()
            session.add(interaction)
            _synchronise(predictor)
            (first if index == 0 else cached).append((time.perf_counter() - start) * 1000.0)
            if index > 0:
                reruns += len(context_ms) - runs_before
    result = {"preset": preset, "size": f"{width}x{height}", "repeats": repeats, "first_ms": first,
              "cached_ms": cached, "context_ms": context_ms, "context_reruns": reruns,
              "device": str(getattr(predictor, "device", "cpu")), "precision": str(getattr(predictor, "dtype", None)),
              "peak_rss_mib": peak_rss_mib()}
    gpu = _peak_gpu_mib(predictor)
    if gpu is not None:
        result["peak_gpu_mib"] = gpu
    return result


def _synchronise(predictor) -> None:
    device = getattr(predictor, "device", None)
    if device is not None and getattr(device, "type", "cpu") == "cuda":
        import torch

        torch.cuda.synchronize(device)


def _peak_gpu_mib(predictor) -> Optional[float]:
    device = getattr(predictor, "device", None)
    if device is None or getattr(device, "type", "cpu") != "cuda":
        return None
    import torch

    return torch.cuda.max_memory_allocated(device) / 1024.0 ** 2


def figures(measured: Dict[str, object]) -> List[Figure]:
    """The table rows for one preset's measurements."""
    preset, size, med = measured["preset"], measured["size"], statistics.median
    limit = REQUIREMENTS_MS.get(preset)
    first, cached, context = measured["first_ms"], measured["cached_ms"], measured["context_ms"]
    details = {"size": size, "device": measured["device"], "repeats": measured["repeats"]}
    rows = [
        Figure("models", f"{preset}: first interaction (with Context-Net), {size}, median of {len(first)}",
               med(first), "ms", limit, {**details, "samples_ms": first}),
        Figure("models", f"{preset}:   of which Context-Net", med(context) if context else 0.0, "ms", None,
               {"samples_ms": context}),
        Figure("models", f"{preset}: cached interactions, median of {len(cached)}", med(cached), "ms", limit,
               {**details, "samples_ms": cached}),
        Figure("models", f"{preset}: Context-Net reruns in {len(cached)} cached interactions",
               float(measured["context_reruns"]), "runs", 0.0, {}),
        Figure("models", f"{preset}: peak RSS of its process", measured["peak_rss_mib"], "MiB", None,
               {"source": "getrusage ru_maxrss of the child process"}),
    ]
    if "peak_gpu_mib" in measured:
        rows.append(Figure("models", f"{preset}: peak GPU memory", measured["peak_gpu_mib"], "MiB", None,
                           {"source": "torch.cuda.max_memory_allocated"}))
    return rows


def run(presets: Optional[Sequence[str]] = None, width: int = 1920, height: int = 1080, repeats: int = 3,
        device: Optional[str] = None, threads: Optional[int] = None) -> List[Figure]:
    """Each preset measured in its own child process; a preset that fails is reported and skipped."""
    rows: List[Figure] = []
    for preset in presets or learned_presets():
        command = [sys.executable, "-m", "focalxl.bench.models", preset, "--size", f"{width}x{height}",
                   "--repeats", str(repeats)]
        if device is not None:
            command += ["--device", device]
        if threads is not None:
            command += ["--threads", str(threads)]
        child = subprocess.run(command, capture_output=True, text=True)
        if child.returncode != 0:
            reason = (child.stderr.strip().splitlines() or ["no message"])[-1]
            print(f"focalxl bench: {preset} failed: {reason}", file=sys.stderr, flush=True)
            continue
        measured = json.loads(child.stdout.strip().splitlines()[-1])
        rows += figures(measured)
        print(f"focalxl bench: {preset} done", file=sys.stderr, flush=True)
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m focalxl.bench.models",
                                     description="Measure one preset in this process; print JSON.")
    parser.add_argument("preset")
    parser.add_argument("--size", type=frame_size, default=(1920, 1080), metavar="WxH")
    parser.add_argument("--repeats", type=positive_int, default=3, metavar="N")
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=positive_int, default=None)
    parser.add_argument("--precision", choices=("auto", "bf16", "fp32"), default=None,
                        help="learned presets' precision (default: the preset's default, auto)")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.preset, *args.size, repeats=args.repeats, device=args.device,
                             threads=args.threads, precision=args.precision)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
