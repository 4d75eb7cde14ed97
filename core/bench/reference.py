"""Learned presets against the reference code, timed in the same run, click for click.

    python -m focalxl.bench.reference [--preset P ...] [--size WxH ...] [--repeats N] [--threads T]
                                      [--reference-python PATH] [--images DIR]

For every preset and photo size it plays the latency benchmark's clicks (a click, a
click, a negative click, a click; the box is left out, the published FocalClick code has
no boxes) ``repeats`` times, one fresh session each, alternating click for click between
the reference code and ours so that load on the machine falls on both alike, and prints:

* the first interaction (with SAM's image encoder) and the median cached one, ours and
  the reference's, and their ratio (the median of the per-click ratios for cached clicks);
* ours in bf16 (``precision="bf16"``) the same way, with the mask IoU of bf16 against fp32
  per click (the lowest is printed); where it falls under 0.99 the preset keeps fp32 under
  ``precision="auto"`` (``BF16_AGREES`` in its predictor module);
* for SAM, whether our masks equal ``SamPredictor``'s, pixel for pixel, on every click.

Times are wall-clock and CPU time of the process (``time.process_time``). On a machine
that other jobs load, the CPU time with ``--threads 1`` (the default) is the figure to
compare: it does not count the time the scheduler gives to others.

The references:

* ``sam-vit-*``: segment-anything's ``SamPredictor.set_image`` and ``predict`` (+ picking
  the best-scored mask), fed the prompts our loop gives SAM and the previous click's best
  low-res logits, as in SAM's notebook. ``SamPredictor`` needs torchvision, which does not
  import beside this project's torch build, so it runs in a second venv as a child
  (:mod:`focalxl.bench.sam_reference_side`) on the same random weights, saved for it::

      python3 -m venv .venv-reference
      .venv-reference/bin/pip install torch==2.13.0 torchvision==0.28.0 segment-anything \\
          numpy opencv-python-headless

  (PyPI's regular torch wheels; ``--reference-python`` points at its Python, default
  ``.venv-reference/bin/python`` in the checkout).
* ``sam2.1-hiera-*``: sam2's ``SAM2ImagePredictor``, built by ``build_sam2`` from sam2's YAML
  config, driven the same way (:mod:`focalxl.bench.sam2_reference_side`); the reference venv
  also needs ``sam2`` with its requirements (``SAM2_BUILD_CUDA=0 pip install
  --no-build-isolation sam2==1.1.0``).
* ``focalclick-*``: the published ``FocalPredictor`` flow (ZoomIn, ResizeTrans, the full-
  image probability map, ``get_focus_cropv1``, the refiner) as rewritten in
  ``tests/models/focalclick_reference_flow.py``, which the test suite checks against the
  published code's own outputs; it runs in this process on the same network as the
  published code runs it (``predictor.network``: NCHW, BatchNorm, separate heads), where
  ours runs the preset's inference copy of it (``focalxl.models.folding``). The
  published package (``isegm``) is not installable, so this rewrite is the reference.

``--images DIR`` adds the bf16-against-fp32 IoU on every image of a folder (first clicks
at the centre, then the same click script scaled), e.g. ``../shared/data/berkeley/images``.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..arguments import frame_size

CHECKOUT = Path(__file__).resolve().parents[2]
DEFAULT_PRESETS = ("sam-vit-b", "focalclick-segformer-b0-s1", "focalclick-hrnet18s-s1")
DEFAULT_SIZES = ((640, 480), (1920, 1080))
AGREEMENT = 0.99


def clicks(width: int, height: int):
    """The latency benchmark's script without its box."""
    from ..interactions import Click
    from .latency import script

    return [item for _, item in script(width, height) if isinstance(item, Click)]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


class SamReference:
    """``SamPredictor`` in the reference venv, driven one command at a time."""

    def __init__(self, python: str, checkpoint: str, variant: str, threads: int, folder: str,
                 side: str = "sam_reference_side.py"):
        script = Path(__file__).with_name(side)
        self.folder = folder
        self.child = subprocess.Popen([python, str(script), checkpoint, variant, str(threads)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
        self.count = 0

    def _ask(self, command: Dict) -> Tuple[float, float]:
        self.child.stdin.write(json.dumps(command) + "\n")
        self.child.stdin.flush()
        answer = json.loads(self.child.stdout.readline())
        if "ms" not in answer:
            raise RuntimeError(f"reference side: {answer}")
        return answer["ms"], answer.get("cpu_ms", float("nan"))   # a side that does not time CPU prints nan

    def set_image(self, image: np.ndarray) -> Tuple[float, float]:
        path = os.path.join(self.folder, "image.npy")
        np.save(path, image)
        return self._ask({"op": "image", "path": path})

    def predict(self, prompts, use_prev: bool, shape: Tuple[int, int]) -> Tuple[Tuple[float, float], np.ndarray]:
        self.count += 1
        out = os.path.join(self.folder, f"mask{self.count}.npy")
        ms = self._ask({"op": "predict", "out": out, "use_prev": use_prev,
                        "multimask": bool(prompts.single_point and not use_prev),
                        "points": None if prompts.points is None else prompts.points.tolist(),
                        "labels": None if prompts.labels is None else prompts.labels.tolist(),
                        "box": None if prompts.box is None else prompts.box.tolist()})
        mask = np.unpackbits(np.load(out))[:shape[0] * shape[1]].reshape(shape).astype(bool)
        return ms, mask

    def close(self) -> None:
        self.child.stdin.close()
        self.child.wait(timeout=60)


def _timed(call):
    """``((wall ms, CPU ms), value)`` of ``call()``."""
    start, cpu = time.perf_counter(), time.process_time()
    value = call()
    return ((time.perf_counter() - start) * 1000.0, (time.process_time() - cpu) * 1000.0), value


def measure_sam(preset: str, width: int, height: int, repeats: int, threads: int, python: str) -> Dict:
    import torch

    import focalxl
    from ..models import sam_prompts
    from .latency import photo

    image, script = photo(width, height), clicks(width, height)
    ours = {precision: focalxl.load(preset, random_weights=True, device="cpu", threads=threads, precision=precision)
            for precision in ("fp32", "bf16")}
    rows = {"reference": [], "fp32": [], "bf16": []}
    ious: List[float] = []
    differing = 0
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = os.path.join(folder, "weights.pth")
        if preset.startswith("sam2.1-"):    # SAM2ImagePredictor on the official file format and YAML config
            torch.save({"model": ours["fp32"].predictor.model.network.state_dict()}, checkpoint)
            trunk = {"tiny": "t", "small": "s", "base-plus": "b+", "large": "l"}[preset.split("-hiera-")[1]]
            reference = SamReference(python, checkpoint, f"configs/sam2.1/sam2.1_hiera_{trunk}.yaml", threads, folder,
                                     side="sam2_reference_side.py")
        else:
            torch.save(ours["fp32"].predictor.model.state_dict(), checkpoint)
            reference = SamReference(python, checkpoint, preset.split("-", 1)[1].replace("-", "_"), threads, folder)
        try:
            for _ in range(repeats):
                sessions = {precision: segmenter.new_session(image) for precision, segmenter in ours.items()}
                times = {name: [] for name in rows}
                set_image = reference.set_image(image)
                history = []
                for index, click in enumerate(script):
                    history.append(click)
                    ref_ms, ref_mask = reference.predict(sam_prompts.from_history(history), index > 0, (height, width))
                    if index == 0:
                        ref_ms = (ref_ms[0] + set_image[0], ref_ms[1] + set_image[1])
                    times["reference"].append(ref_ms)
                    masks = {}
                    for precision, session in sessions.items():
                        ms, result = _timed(lambda: session.add(click))
                        times[precision].append(ms)
                        masks[precision] = result.mask
                    differing += int(np.count_nonzero(masks["fp32"] != ref_mask))
                    ious.append(iou(masks["bf16"], masks["fp32"]))
                for name in rows:
                    rows[name].append(times[name])
        finally:
            reference.close()
    return {"rows": rows, "ious": ious, "differing_pixels": differing}


def _flow_module():
    path = CHECKOUT / "tests" / "models" / "focalclick_reference_flow.py"
    if not path.is_file():
        raise RuntimeError(f"the published FocalClick flow is read from {path}, which this checkout lacks")
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("focalclick_reference_flow", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class NetworkClock:
    """CPU time spent inside a FocalClick network's ``segment`` and ``refine`` while ``on``."""

    def __init__(self, *networks):
        self.on, self.ms = False, 0.0
        for network in networks:
            for name in ("segment", "refine"):
                setattr(network, name, self._timed(getattr(network, name)))

    def _timed(self, method):
        def timed(*args, **kwargs):
            start = time.process_time()
            try:
                return method(*args, **kwargs)
            finally:
                self.ms += (time.process_time() - start) * 1000.0 if self.on else 0.0
        return timed

    def spent(self, call) -> Tuple[Tuple[float, float], float, object]:
        """``(_timed(call)'s times, network CPU ms, value)``."""
        self.on, self.ms = True, 0.0
        try:
            times, value = _timed(call)
        finally:
            self.on = False
        return times, self.ms, value


def measure_focalclick(preset: str, width: int, height: int, repeats: int, threads: int) -> Dict:
    import focalxl
    from ..models.folding import for_inference
    from .latency import photo

    flow_module = _flow_module()
    image, script = photo(width, height), clicks(width, height)
    ours = {precision: focalxl.load(preset, random_weights=True, device="cpu", threads=threads, precision=precision)
            for precision in ("fp32", "bf16")}
    net = ours["fp32"].predictor.network.eval()
    flow_module.ReferenceFlow(net, image).add([(int(script[0].y), int(script[0].x), True)])   # warm-up, untimed
    for segmenter in ours.values():
        segmenter.new_session(image).add(script[0])
    clock = NetworkClock(net, for_inference(net))     # the plain network (the reference's) and our inference copy
    rows = {"reference": [], "fp32": [], "bf16": []}
    network_ms: Dict[str, List[float]] = {"reference": [], "fp32": []}
    ious: List[float] = []
    largest = 0.0
    for _ in range(repeats):
        flow = flow_module.ReferenceFlow(net, image)
        sessions = {precision: segmenter.new_session(image) for precision, segmenter in ours.items()}
        times = {name: [] for name in rows}
        so_far = []
        for index, click in enumerate(script):
            so_far.append((int(click.y), int(click.x), click.positive))
            ms, in_network, published = clock.spent(lambda: flow.add(so_far))
            times["reference"].append(ms)
            if index:
                network_ms["reference"].append(in_network)
            masks = {}
            for precision, session in sessions.items():
                ms, in_network, result = clock.spent(lambda: session.add(click))
                times[precision].append(ms)
                masks[precision] = result.mask
                if precision == "fp32":
                    if index:
                        network_ms["fp32"].append(in_network)
                    region = flow.written()
                    largest = max(largest, float(np.abs(result.alpha[region] - published[region]).max()))
            ious.append(iou(masks["bf16"], masks["fp32"]))
        for name in rows:
            rows[name].append(times[name])
    return {"rows": rows, "ious": ious, "largest_difference": largest, "network_ms": network_ms,
            "upsampling_ms": upsampling_ms(height, width, repeats * len(script))}


def upsampling_ms(height: int, width: int, repeats: int) -> Dict[str, List[float]]:
    """CPU ms of the upsampling a click makes of its 256x256 maps to the frame, ours
    (:func:`focalxl.predictors.focalclick.upsample_corners`) and ``F.interpolate``'s, alternating."""
    import torch
    import torch.nn.functional as F
    from ..predictors.focalclick import upsample_corners

    maps = torch.from_numpy(np.random.default_rng(0).normal(size=(1, 1, 256, 256)).astype(np.float32))
    ways = {"ours": lambda: upsample_corners(maps, (height, width)),
            "F.interpolate": lambda: F.interpolate(maps, (height, width), mode="bilinear", align_corners=True)}
    spent: Dict[str, List[float]] = {name: [] for name in ways}
    for _ in range(repeats):
        for name, way in ways.items():
            spent[name].append(_timed(way)[0][1])
    return spent


def agreement_on_images(preset: str, folder: str, threads: int, limit: int = 10) -> List[float]:
    """bf16-against-fp32 mask IoU per click on up to ``limit`` images of ``folder``."""
    import focalxl
    from ..image_files import read_image

    ours = {precision: focalxl.load(preset, random_weights=True, device="cpu", threads=threads, precision=precision)
            for precision in ("fp32", "bf16")}
    ious = []
    for path in sorted(Path(folder).iterdir())[:limit]:
        image = read_image(path)
        height, width = image.shape[:2]
        sessions = {precision: segmenter.new_session(image) for precision, segmenter in ours.items()}
        for click in clicks(width, height):
            masks = {precision: session.add(click).mask for precision, session in sessions.items()}
            ious.append(iou(masks["bf16"], masks["fp32"]))
    return ious


def summary(preset: str, size: str, measured: Dict) -> List[str]:
    lines = []
    for clock, which in (("wall", 0), ("cpu", 1)):
        rows = {name: [[sample[which] for sample in run] for run in runs] for name, runs in measured["rows"].items()}
        first = {name: statistics.median(run[0] for run in runs) for name, runs in rows.items()}
        cached = {name: statistics.median(ms for run in runs for ms in run[1:]) for name, runs in rows.items()}
        for precision in ("fp32", "bf16"):
            ratios = [ours / ref for run, ref_run in zip(rows[precision], rows["reference"])
                      for ours, ref in zip(run[1:], ref_run[1:])]
            lines.append(f"{preset:28s} {size:>9s} {precision} {clock:4s} first {first[precision]:9.1f} ms vs "
                         f"{first['reference']:9.1f} ({first[precision] / first['reference']:.2f}x)   cached "
                         f"{cached[precision]:8.1f} ms vs {cached['reference']:8.1f} "
                         f"({statistics.median(ratios):.2f}x, median per click)")
    lines.append(f"{preset:28s} {size:>9s} bf16 vs fp32 mask IoU: lowest {min(measured['ious']):.4f} over "
                 f"{len(measured['ious'])} clicks")
    if "differing_pixels" in measured:
        lines.append(f"{preset:28s} {size:>9s} pixels differing from SamPredictor's masks, all clicks: "
                     f"{measured['differing_pixels']}")
    if "network_ms" in measured:
        ours, theirs = (statistics.median(measured["network_ms"][name]) for name in ("fp32", "reference"))
        cached = {name: statistics.median(sample[1] for run in measured["rows"][name] for sample in run[1:])
                  for name in ("fp32", "reference")}
        lines.append(f"{preset:28s} {size:>9s} of a cached click, in the network (CPU ms, medians): ours "
                     f"{ours:.1f} of {cached['fp32']:.1f}, reference {theirs:.1f} of {cached['reference']:.1f}")
    if "upsampling_ms" in measured:
        ours, theirs = (statistics.median(measured["upsampling_ms"][name]) for name in ("ours", "F.interpolate"))
        lines.append(f"{preset:28s} {size:>9s} a 256x256 map upsampled to the frame (CPU ms, medians): ours "
                     f"{ours:.2f}, F.interpolate {theirs:.2f} ({ours / theirs:.2f}x)")
    if "largest_difference" in measured:
        lines.append(f"{preset:28s} {size:>9s} largest |probability - published flow's| where it writes: "
                     f"{measured['largest_difference']:.1e}")
    return lines



def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m focalxl.bench.reference", description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", action="append", dest="presets", metavar="P")
    parser.add_argument("--size", action="append", dest="sizes", type=frame_size, metavar="WxH")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reference-python", default=str(CHECKOUT / ".venv-reference" / "bin" / "python"))
    parser.add_argument("--images", metavar="DIR", help="also report bf16-vs-fp32 IoU on the images of DIR")
    parser.add_argument("--json", metavar="PATH", help="write every sample as JSON here")
    args = parser.parse_args(argv)
    samples = {}
    for preset in args.presets or DEFAULT_PRESETS:
        for width, height in args.sizes or DEFAULT_SIZES:
            if preset.startswith(("sam-", "sam2.1-")):
                measured = measure_sam(preset, width, height, args.repeats, args.threads, args.reference_python)
            else:
                measured = measure_focalclick(preset, width, height, args.repeats, args.threads)
            samples[f"{preset} {width}x{height}"] = measured
            for line in summary(preset, f"{width}x{height}", measured):
                print(line, flush=True)
        if args.images:
            ious = agreement_on_images(preset, args.images, args.threads)
            print(f"{preset:28s} bf16 vs fp32 mask IoU on {args.images}: lowest {min(ious):.4f}, mean "
                  f"{statistics.mean(ious):.4f} over {len(ious)} clicks; under {AGREEMENT}: "
                  f"{sum(value < AGREEMENT for value in ious)}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
