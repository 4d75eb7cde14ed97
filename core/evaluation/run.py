"""Evaluate methods over a dataset folder and compare them: ``python -m focalxl.evaluation``.

``evaluate`` runs every sample of the dataset through the click protocol (in parallel
worker processes, each loading the method once) and summarises NoC85/90, NoF90,
mIoU@1/5 and seconds per click. ``main`` evaluates a focalxl preset and a plain baseline
in the same run and prints one table, with the preset's NoC90 relative to the baseline's.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import cv2

from . import metrics
from .datasets import DatasetError, FolderDataset
from .methods import load_method, method_names
from .protocol import SampleRun, SessionFactory, evaluate_sample

MIOU_AT = (1, 5)

_worker: Dict[str, Any] = {}


def evaluate(method: str, dataset_dir: str, max_clicks: int = metrics.MAX_CLICKS,
             workers: Optional[int] = os.cpu_count(), limit: Optional[int] = None,
             stop_iou: Optional[float] = 0.90, min_clicks: int = max(MIOU_AT),
             progress: bool = True) -> Dict[str, Any]:
    """Run the protocol on the first ``limit`` samples (all when ``None``) of ``dataset_dir``.

    Returns ``{"method", "dataset", "max_clicks", "stop_iou", "min_clicks", "summary",
    "samples"}`` where ``summary`` holds NoC85, NoC90, NoF90, mIoU@1, mIoU@5,
    seconds_per_click (the method's time over clicks made), samples and wall_s, and
    ``samples`` maps each instance name to its per-click IoUs. With the default early
    stop (IoU >= 0.90 after at least 5 clicks) every reported metric is exact.
    """
    dataset = FolderDataset(dataset_dir)
    count = len(dataset) if limit is None else max(0, min(limit, len(dataset)))
    if count == 0:
        raise ValueError("limit leaves no samples to evaluate")
    settings = dict(max_clicks=max_clicks, stop_iou=stop_iou, min_clicks=min_clicks)
    workers = max(1, min(workers or 1, count))
    start = time.perf_counter()
    runs: List[Optional[Tuple[str, SampleRun]]] = [None] * count
    done: List[SampleRun] = []
    if workers == 1:
        _init_worker(method, dataset_dir, settings, threads=None)
        outcomes = map(_run_sample, range(count))
        pool = None
    else:
        context = multiprocessing.get_context("spawn")
        pool = context.Pool(workers, _init_worker, (method, dataset_dir, settings, 1))
        outcomes = pool.imap_unordered(_run_sample, range(count))
    try:
        for index, name, run in outcomes:
            runs[index] = (name, run)
            done.append(run)
            if progress:
                _print_progress(method, done, count, max_clicks, time.perf_counter() - start)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    wall = time.perf_counter() - start
    if progress and sys.stderr.isatty():
        print(file=sys.stderr)
    samples = {name: run.ious for name, run in runs}
    summary = summarise(list(samples.values()), [run for _, run in runs], max_clicks, wall)
    return {"method": method, "dataset": str(dataset_dir), **settings, "summary": summary, "samples": samples}


def summarise(all_ious: Sequence[Sequence[float]], runs: Sequence[SampleRun], max_clicks: int,
              wall_s: float) -> Dict[str, Any]:
    """The summary row; an mIoU@k the runs stopped short of is ``None``."""
    clicks = sum(len(run.clicks) for run in runs)
    summary: Dict[str, Any] = {
        "NoC85": metrics.noc(all_ious, 0.85, max_clicks),
        "NoC90": metrics.noc(all_ious, 0.90, max_clicks),
        "NoF85": metrics.nof(all_ious, 0.85, max_clicks),
        "NoF90": metrics.nof(all_ious, 0.90, max_clicks),
    }
    for k in MIOU_AT:
        try:
            summary[f"mIoU@{k}"] = metrics.miou_at(all_ious, k)
        except ValueError:
            summary[f"mIoU@{k}"] = None
    summary["seconds_per_click"] = sum(run.seconds for run in runs) / clicks if clicks else 0.0
    summary["clicks"] = clicks
    summary["samples"] = len(all_ious)
    summary["wall_s"] = wall_s
    return summary


COLUMNS = [("method", "method"), ("NoC85", "NoC85"), ("NoC90", "NoC90"), ("NoF90", "NoF90"),
           ("mIoU@1", "mIoU@1"), ("mIoU@5", "mIoU@5"), ("seconds_per_click", "s/click"),
           ("samples", "samples"), ("wall_s", "wall s"), ("NoC90_ratio", "NoC90 ÷ baseline")]


def format_table(rows: Sequence[Dict[str, Any]]) -> str:
    """A markdown table (also readable in a terminal) of summary rows with a ``method`` key."""
    header = [title for _, title in COLUMNS]
    body = [[_cell(key, row.get(key)) for key, _ in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]
    render = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([render(header), rule] + [render(line) for line in body])


def compare(preset: str, baseline: Optional[str], dataset_dir: str, **options: Any) -> List[Dict[str, Any]]:
    """Evaluate ``preset`` and ``baseline`` on the same samples; a list of results, preset first."""
    results = [evaluate(preset, dataset_dir, **options)]
    if baseline:
        results.append(evaluate(baseline, dataset_dir, **options))
    return results


def table_rows(results: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Summary rows for :func:`format_table`; NoC90 relative to the last result (the baseline)."""
    rows = [{"method": r["method"], **r["summary"]} for r in results]
    if len(rows) > 1 and rows[-1]["NoC90"]:
        for row in rows:
            row["NoC90_ratio"] = row["NoC90"] / rows[-1]["NoC90"]
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m focalxl.evaluation DATASET_DIR [--preset P] [--baseline B] [--limit N] [--json F]``."""
    parser = argparse.ArgumentParser(
        prog="python -m focalxl.evaluation",
        description="Click-protocol benchmark (NoC85/90, NoF90, mIoU@k) of a preset against a plain baseline.")
    parser.add_argument("dataset", help="folder with images/, masks/ and pairs.tsv (image<TAB>mask)")
    parser.add_argument("--preset", default="classical", help="focalxl preset to evaluate (default: classical)")
    parser.add_argument("--baseline", default="grabcut",
                        help="plain baseline to compare with, or 'none' (default: grabcut)")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N samples")
    parser.add_argument("--max-clicks", type=int, default=metrics.MAX_CLICKS)
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="worker processes (default: all CPUs)")
    parser.add_argument("--full", action="store_true",
                        help="always make max-clicks clicks (full IoU curves) instead of stopping at IoU 0.90")
    parser.add_argument("--json", metavar="FILE", help="also write summaries and per-sample IoUs here")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    args = parser.parse_args(argv)

    names = method_names()
    baseline = None if args.baseline.lower() == "none" else args.baseline
    for flag, name in (("--preset", args.preset), ("--baseline", baseline)):
        if name is not None and name not in names:
            parser.error(f"{flag}: unknown method {name!r}; choose one of {', '.join(names)}")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit: must be at least 1")
    if args.max_clicks < 1:
        parser.error("--max-clicks: must be at least 1")
    options = dict(max_clicks=args.max_clicks, workers=max(1, args.workers or 1), limit=args.limit,
                   stop_iou=None if args.full else 0.90, min_clicks=min(max(MIOU_AT), args.max_clicks),
                   progress=not args.quiet)
    try:
        results = compare(args.preset, baseline, args.dataset, **options)
    except DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_table(table_rows(results)))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)
    return 0


def _init_worker(method: str, dataset_dir: str, settings: Dict[str, Any], threads: Optional[int]) -> None:
    if threads is not None:
        cv2.setNumThreads(threads)
    _worker.update(new_session=load_method(method), dataset=FolderDataset(dataset_dir), settings=settings)


def _run_sample(index: int) -> Tuple[int, str, SampleRun]:
    sample = _worker["dataset"][index]
    new_session: SessionFactory = _worker["new_session"]
    run = evaluate_sample(new_session, sample.image, sample.gt, sample.ignore, **_worker["settings"])
    return index, sample.name, run


def _print_progress(method: str, done: Sequence[SampleRun], count: int, max_clicks: int, elapsed: float) -> None:
    """One progress line, redrawn in place on a terminal, every tenth of the run in a log."""
    interactive = sys.stderr.isatty()
    if not interactive and len(done) % max(1, count // 10) and len(done) != count:
        return
    noc90 = metrics.noc([run.ious for run in done], 0.90, max_clicks)
    line = f"{method}: {len(done)}/{count} samples  NoC90 so far {noc90:.2f}  {elapsed:.0f} s"
    print(f"\r{line}" if interactive else line, end="" if interactive else "\n", file=sys.stderr, flush=True)


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "–"
    if key == "method":
        return str(value)
    if key in ("NoF90", "samples"):
        return str(int(value))
    if key.startswith("mIoU"):
        return f"{value:.3f}"
    if key == "seconds_per_click":
        return f"{value:.3f}"
    if key == "wall_s":
        return f"{value:.0f}"
    return f"{value:.2f}"
