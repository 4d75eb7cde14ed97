"""What a training run learned: ``python -m focalxl.train.report RUN_DIR --val DATASET``.

Prints, from ``RUN_DIR/log.csv``, the loss curve (mean total loss over ten equal spans
of steps), the training time and throughput, the skipped samples; then evaluates the
weights the run started from (``initial.pth``) and its ``best.pth`` on ``--val`` with the
clicks protocol, and prints NoC85 / NoC90 / mIoU@1 / mIoU@5 before and after.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

SPANS = 10


def loss_curve(rows: List[Dict[str, str]], spans: int = SPANS) -> List[tuple]:
    """``(first step, last step, mean total loss)`` over ``spans`` equal runs of steps."""
    losses = np.array([float(row["total"]) for row in rows])
    steps = np.array([int(row["step"]) for row in rows])
    return [(int(s[0]), int(s[-1]), float(l.mean())) for s, l in zip(np.array_split(steps, spans),
                                                                      np.array_split(losses, spans)) if len(s)]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m focalxl.train.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("run", metavar="RUN_DIR")
    parser.add_argument("--preset", help="the run's preset (default: read from resume.pth)")
    parser.add_argument("--val", metavar="DATASET", help="evaluate initial.pth and best.pth here (clicks protocol)")
    parser.add_argument("--limit", type=int, help="evaluate only the first N instances")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads for the evaluation (default 1)")
    args = parser.parse_args(argv)
    run = Path(args.run)
    with (run / "log.csv").open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    if not rows:
        print(f"{run / 'log.csv'}: no steps logged", file=sys.stderr)
        return 1
    for stage in dict.fromkeys(row["stage"] for row in rows):
        part = [row for row in rows if row["stage"] == stage]
        seconds = sum(float(row["step_s"]) for row in part if row.get("step_s"))
        rates = [float(row["samples_per_s"]) for row in part]
        print(f"stage {stage}: {len(part)} steps, training time {seconds / 60:.1f} min (validation and saving "
              f"excluded), median {np.median(rates):.2f} samples/s, {part[-1]['skipped']} sample(s) skipped")
        print("loss curve (mean total loss over spans of steps):")
        for first, last, loss in loss_curve(part):
            print(f"  steps {first:>5}-{last:<5} {loss:.4f}")
    if args.val:
        from ..models.checkpoints import read_checkpoint
        from ..runtime import set_cpu_threads
        from ..evaluation.run import evaluate

        set_cpu_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)     # evaluation workers inherit it
        preset = args.preset or read_checkpoint(run / "resume.pth")["preset"]
        print(f"\n{preset} on {args.val}, clicks protocol (NoC: clicks to reach the IoU, at most 20):")
        print(f"  {'weights':<12} {'NoC85':>6} {'NoC90':>6} {'mIoU@1':>7} {'mIoU@5':>7}")
        for name in ("initial.pth", "best.pth"):
            summary = evaluate(preset, args.val, "clicks", workers=args.workers, limit=args.limit, progress=False,
                               checkpoint=str(run / name))["summary"]
            print(f"  {name:<12} {summary['NoC85']:>6.2f} {summary['NoC90']:>6.2f} {summary['mIoU@1']:>7.3f} "
                  f"{summary['mIoU@5']:>7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
