"""Evaluate methods on datasets with the paper's protocols: ``focalxl eval``.

``evaluate`` runs every sample of one dataset through one protocol (in parallel worker
processes, each loading the method once; a sample's random draws depend only on the
seed and its index, so results do not depend on the worker count) and summarises it.
``main`` runs datasets x protocols x methods and writes the table, JSON and plots.

Protocols (``../shared/reference/focalclick.md`` §3, §5; FocalClick-XL paper):

* ``clicks`` — NoC80/85/90, NoF85/90, mIoU@k, the share of first clicks that fail (IoU
  < 0.05), the clicks that make the mask worse (IoU down by more than 0.1), seconds per
  click (mean, p50, p95, max) and the process's CPU seconds per click (p50, p95, max: on a
  machine shared with other jobs, the method's own cost);
* ``scribbles`` — the same loop with the scribble generator: NoS85/90, NoF85/90, mIoU@k;
* ``box`` — one round from the ground truth's tight box: mIoU;
* ``coarse`` — five coarse-mask levels: coarse and refined mIoU per level;
* ``correction`` — clicks from an initial mask (the dataset's, e.g. DAVIS-585, or
  superpixel defects), Progressive Merge from the first click: NoC85/90, NoF85/90.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from . import metrics
from .clicker import Clicker
from .datasets import DatasetError, Sample
from .layouts import DAVIS585_INITS, LAYOUTS, open_dataset
from .methods import load_method, method_names, supports
from .protocol import PromptRun, SampleRun, evaluate_box, evaluate_coarse, evaluate_sample
from .report import format_table, markdown_report, table_rows, write_plots
from .scribbler import Scribbler
from .superpixel_defects import superpixel_defects

PROTOCOLS = ("clicks", "scribbles", "box", "coarse", "correction")
INTERACTIVE_PROTOCOLS = ("clicks", "scribbles", "correction")
MIOU_AT = (1, 2, 3, 5, 10, 20)
MIN_CLICKS = 5
FIRST_CLICK_FAIL = 0.05    # a first click whose IoU is below this selected nothing of the object
WORSE_BY = 0.1             # a click that lowers IoU by more than this made the mask worse

__all__ = ["PROTOCOLS", "evaluate", "summarise", "format_table", "table_rows", "main"]

_worker: Dict[str, Any] = {}


def evaluate(method: str, dataset: Any, protocol: str = "clicks", max_clicks: int = metrics.MAX_CLICKS,
             workers: Optional[int] = os.cpu_count(), limit: Optional[int] = None,
             stop_iou: Optional[float] = 0.90, min_clicks: int = MIN_CLICKS, seed: int = 0,
             scribble_width: float = 5.0, progress: bool = True, layout: str = "auto",
             checkpoint: Optional[str] = None) -> Dict[str, Any]:
    """Run ``protocol`` on the first ``limit`` samples (all when ``None``) of ``dataset``.

    ``dataset`` is a path (read as ``layout``) or a sequence of samples. Returns
    ``{"method", "dataset", "protocol", <settings>, "summary", "samples"}``. ``samples``
    maps each instance name to its per-round IoUs (interactive protocols), its IoU
    (``box``) or ``{"coarse": [...], "refined": [...]}`` per level (``coarse``);
    ``correction`` adds ``initial_iou`` per instance. With the default early stop (IoU
    >= 0.90 after at least 5 rounds) every reported metric is exact.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    if not supports(method, protocol):
        raise ValueError(f"method {method!r} does not take the {protocol} protocol's prompts")
    samples = open_dataset(dataset, layout) if isinstance(dataset, (str, Path)) else dataset
    count = len(samples) if limit is None else max(0, min(limit, len(samples)))
    if count == 0:
        raise ValueError("limit leaves no samples to evaluate")
    settings = dict(max_clicks=max_clicks, stop_iou=stop_iou, min_clicks=min_clicks, seed=seed,
                    scribble_width=scribble_width, checkpoint=checkpoint)
    workers = max(1, min(workers or 1, count))
    start = time.perf_counter()
    records: List[Optional[Tuple[str, Any]]] = [None] * count
    if workers == 1:
        _init_worker(method, samples, protocol, settings, threads=None)
        outcomes = map(_run_sample, range(count))
        pool = None
    else:
        context = multiprocessing.get_context("spawn")
        pool = context.Pool(workers, _init_worker, (method, samples, protocol, settings, 1))
        outcomes = pool.imap_unordered(_run_sample, range(count))
    try:
        for index, name, record in _progress(outcomes, count, f"{method} {protocol}", progress):
            records[index] = (name, record)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    wall = time.perf_counter() - start
    name = str(dataset) if isinstance(dataset, (str, Path)) else getattr(samples, "root", type(samples).__name__)
    result = {"method": method, "dataset": str(name), "protocol": protocol, **settings}
    result.update(summarise(protocol, records, max_clicks, wall))
    return result


def summarise(protocol: str, records: Sequence[Tuple[str, Any]], max_clicks: int, wall_s: float) -> Dict[str, Any]:
    """``{"summary": ..., "samples": ...}`` for one protocol's per-sample records."""
    if protocol in INTERACTIVE_PROTOCOLS:
        runs: List[SampleRun] = [run for _, run in records]
        out = {"summary": _interactive_summary(protocol, runs, max_clicks),
               "samples": {name: run.ious for name, run in records}}
        if protocol == "correction":
            out["summary"] = {"initial_mIoU": float(np.mean([run.initial_iou for run in runs])), **out["summary"]}
            out["initial_iou"] = {name: run.initial_iou for name, run in records}
    elif protocol == "box":
        boxes: List[PromptRun] = [run for _, run in records]
        out = {"summary": {"mIoU": float(np.mean([run.iou for run in boxes])),
                           "empty": sum(run.empty for run in boxes),
                           "seconds_per_box": sum(run.seconds for run in boxes) / len(boxes),
                           **_percentiles([run.seconds for run in boxes]),
                           **_percentiles([run.cpu_seconds for run in boxes], "cpu")},
               "samples": {name: run.iou for name, run in records}}
    else:
        levels: List[List[PromptRun]] = [runs for _, runs in records]
        summary: Dict[str, Any] = {}
        for k in range(len(levels[0])):
            summary[f"coarse@L{k + 1}"] = float(np.mean([runs[k].prompt_iou for runs in levels]))
            summary[f"refined@L{k + 1}"] = float(np.mean([runs[k].iou for runs in levels]))
        summary["empty"] = sum(r.empty for runs in levels for r in runs)
        summary["seconds_per_mask"] = sum(r.seconds for runs in levels for r in runs) / sum(map(len, levels))
        summary.update(_percentiles([r.seconds for runs in levels for r in runs]))
        summary.update(_percentiles([r.cpu_seconds for runs in levels for r in runs], "cpu"))
        out = {"summary": summary,
               "samples": {name: {"coarse": [r.prompt_iou for r in runs], "refined": [r.iou for r in runs]}
                           for name, runs in records}}
    out["summary"].update(samples=len(records), wall_s=wall_s)
    return out


def _interactive_summary(protocol: str, runs: Sequence[SampleRun], max_clicks: int) -> Dict[str, Any]:
    """NoC (NoS for scribbles), NoF, mIoU@k (``None`` where runs stopped short) and time per round."""
    all_ious = [run.ious for run in runs]
    rounds = "NoS" if protocol == "scribbles" else "NoC"
    summary: Dict[str, Any] = {}
    for thr in ((0.80, 0.85, 0.90) if protocol == "clicks" else (0.85, 0.90)):
        summary[f"{rounds}{round(thr * 100)}"] = metrics.noc(all_ious, thr, max_clicks)
    for thr in (0.85, 0.90):
        summary[f"NoF{round(thr * 100)}"] = metrics.nof(all_ious, thr, max_clicks)
    for k in (k for k in MIOU_AT if k <= max_clicks):
        try:
            summary[f"mIoU@{k}"] = metrics.miou_at(all_ious, k)
        except ValueError:
            summary[f"mIoU@{k}"] = None
    made = sum(len(run.clicks) for run in runs)
    unit = "scribble" if protocol == "scribbles" else "click"
    if protocol != "correction":
        summary["first_fail"] = float(np.mean([run.ious[0] < FIRST_CLICK_FAIL for run in runs]))
    summary["worse"] = sum(_worse_rounds(run, protocol == "correction") for run in runs)
    summary[f"seconds_per_{unit}"] = sum(run.seconds for run in runs) / made if made else 0.0
    summary.update(_percentiles([t for run in runs for t in run.click_seconds]))
    summary.update(_percentiles([t for run in runs for t in run.click_cpu_seconds], "cpu"))
    summary[f"{unit}s"] = made
    return summary


def _percentiles(seconds: Sequence[float], clock: str = "seconds") -> Dict[str, Optional[float]]:
    """p50, p95 and the slowest of per-interaction times (``None`` when none were timed), as ``{clock}_p50`` etc."""
    return {f"{clock}_{name}": float(np.percentile(seconds, q)) if len(seconds) else None
            for name, q in (("p50", 50), ("p95", 95), ("max", 100))}


def _worse_rounds(run: SampleRun, from_initial: bool) -> int:
    """How many of the rounds made lowered IoU by more than ``WORSE_BY``."""
    ious = ([run.initial_iou] if from_initial else [0.0]) + list(run.ious[:len(run.clicks)])
    return sum(after < before - WORSE_BY for before, after in zip(ious, ious[1:]))


def main(argv: Optional[List[str]] = None) -> int:
    """``focalxl eval DATASET... [--protocol P,...] [--preset P]... [--baseline B] [--out DIR] ...``."""
    parser = _parser()
    args = parser.parse_args(argv)
    protocols = _protocols(parser, args.protocol)
    presets = args.preset or ["classical"]
    baseline = None if args.baseline.lower() == "none" else args.baseline
    names = method_names()
    for flag, name in [("--preset", p) for p in presets] + [("--baseline", baseline)]:
        if name is not None and name not in names:
            parser.error(f"{flag}: unknown method {name!r}; choose one of {', '.join(names)}")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit: must be at least 1")
    if args.max_clicks < 1:
        parser.error("--max-clicks: must be at least 1")
    if args.scribble_width <= 0:
        parser.error("--scribble-width: must be positive")
    if args.checkpoint is not None and len(presets) != 1:
        parser.error("--checkpoint: give exactly one --preset it belongs to")
    if args.checkpoint is not None and not Path(args.checkpoint).is_file():
        parser.error(f"--checkpoint: {args.checkpoint} is not a file")
    options = dict(max_clicks=args.max_clicks, workers=max(1, args.workers or 1), limit=args.limit,
                   stop_iou=None if args.full else 0.90, min_clicks=min(MIN_CLICKS, args.max_clicks),
                   seed=args.seed, scribble_width=args.scribble_width, progress=not args.quiet)
    if baseline and any(not supports(baseline, p) for p in protocols):
        print(f"note: the {baseline} baseline runs in the protocols it takes: "
              f"{', '.join(p for p in protocols if supports(baseline, p)) or 'none of these'}", file=sys.stderr)
    results: List[Dict[str, Any]] = []
    start = time.perf_counter()
    try:
        for path in args.dataset:
            dataset = open_dataset(path, args.layout, split=args.split, init=args.init, images_dir=args.images)
            for protocol in protocols:
                group = []
                for method in presets + ([baseline] if baseline else []):
                    if not supports(method, protocol):
                        if method != baseline:
                            print(f"note: {method} does not take {protocol} prompts; skipped", file=sys.stderr)
                        continue
                    checkpoint = args.checkpoint if method != baseline else None
                    result = evaluate(method, dataset, protocol, **options, checkpoint=checkpoint)
                    result["dataset"] = str(path)
                    group.append(result)
                print(f"\n{protocol} on {path}\n{format_table(table_rows(group), protocol)}")
                results += group
    except DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"\ntotal wall time {time.perf_counter() - start:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    if args.out:
        folder = Path(args.out)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
        (folder / "results.md").write_text(markdown_report(results), encoding="utf-8")
        plots = write_plots(results, folder / "plots")
        print(f"wrote {folder / 'results.md'}, {folder / 'results.json'} and {len(plots)} plot(s) in {folder / 'plots'}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="focalxl eval",
        description="Benchmark presets on interactive-segmentation datasets with the FocalClick-XL protocols.")
    parser.add_argument("dataset", nargs="+",
                        help="dataset folder (or COCO json); the layout is told from its contents unless --layout")
    parser.add_argument("--layout", default="auto", choices=("auto",) + LAYOUTS, help="dataset layout (default: auto)")
    parser.add_argument("--split", default="val", help="SBD / VOC split file name (default: val)")
    parser.add_argument("--init", default="sp", choices=DAVIS585_INITS,
                        help="DAVIS-585 initial masks: superpixel (sp), STM (stm) or none (zero); default sp")
    parser.add_argument("--images", metavar="DIR", help="COCO json: folder of the images (default: the json's folder)")
    parser.add_argument("--protocol", default="clicks",
                        help=f"comma-separated protocols, or 'all' ({', '.join(PROTOCOLS)}; default: clicks)")
    parser.add_argument("--preset", action="append", help="focalxl preset to evaluate, repeatable (default: classical)")
    parser.add_argument("--checkpoint", metavar="PATH",
                        help="weights of the (one) --preset, e.g. a published file or a focalxl train run's best.pth")
    parser.add_argument("--baseline", default="grabcut",
                        help="plain baseline for the clicks and box protocols, or 'none' (default: grabcut)")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N samples")
    parser.add_argument("--max-clicks", type=int, default=metrics.MAX_CLICKS, help="rounds per sample (default 20)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="worker processes (default: all CPUs)")
    parser.add_argument("--full", action="store_true",
                        help="always make max-clicks rounds (full mIoU curves) instead of stopping at IoU 0.90")
    parser.add_argument("--seed", type=int, default=0, help="seed of the coarse masks and superpixel defects")
    parser.add_argument("--scribble-width", type=float, default=5.0, help="simulated scribble width in px (default 5)")
    parser.add_argument("--json", metavar="FILE", help="also write summaries and per-sample IoUs here")
    parser.add_argument("--out", metavar="DIR", help="write results.md, results.json and plots/*.png here")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _protocols(parser: argparse.ArgumentParser, text: str) -> List[str]:
    chosen = list(PROTOCOLS) if text.strip() == "all" else [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in chosen if p not in PROTOCOLS]
    if unknown or not chosen:
        parser.error(f"--protocol: unknown {', '.join(unknown) or 'empty list'}; "
                     f"choose from {', '.join(PROTOCOLS)} or 'all'")
    return list(dict.fromkeys(chosen))


def _progress(outcomes, count: int, label: str, enabled: bool):
    """The outcomes, with a tqdm progress bar on stderr when ``enabled``."""
    from tqdm import tqdm

    return tqdm(outcomes, total=count, desc=label, unit="sample", disable=not enabled, file=sys.stderr,
                dynamic_ncols=True, mininterval=1.0)


def _init_worker(method: str, samples: Sequence[Sample], protocol: str, settings: Dict[str, Any],
                 threads: Optional[int]) -> None:
    if threads is not None:
        cv2.setNumThreads(threads)
    _worker.update(new_session=load_method(method, settings["checkpoint"]), samples=samples, protocol=protocol, settings=settings)


def _run_sample(index: int) -> Tuple[int, str, Any]:
    sample: Sample = _worker["samples"][index]
    new_session = _worker["new_session"]
    settings = _worker["settings"]
    protocol = _worker["protocol"]
    rng = np.random.default_rng([settings["seed"], index])
    rounds = dict(max_clicks=settings["max_clicks"], stop_iou=settings["stop_iou"], min_clicks=settings["min_clicks"])
    if protocol == "clicks":
        record = evaluate_sample(new_session, sample.image, sample.gt, sample.ignore, **rounds)
    elif protocol == "scribbles":
        width = settings["scribble_width"]
        record = evaluate_sample(new_session, sample.image, sample.gt, sample.ignore, **rounds,
                                 user=lambda gt, ignore: Scribbler(gt, ignore, width))
    elif protocol == "correction":
        initial = sample.initial
        if initial is None:
            initial = superpixel_defects(sample.image, sample.gt, rng, sample.ignore)
        record = evaluate_sample(new_session, sample.image, sample.gt, sample.ignore, **rounds, initial=initial,
                                 user=Clicker)
    elif protocol == "box":
        record = evaluate_box(new_session, sample.image, sample.gt, sample.ignore)
    else:
        record = evaluate_coarse(new_session, sample.image, sample.gt, sample.ignore, rng)
    return index, sample.name, record
