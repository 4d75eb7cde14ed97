"""``focalxl train`` and ``torchrun -m focalxl.train``: the command line of the training loop."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

from .stages import STAGES

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="focalxl train",
        description="Train a FocalClick or FocalClick-XL preset. Launch with torchrun -m focalxl.train for "
                    "data-parallel training (same arguments).")
    parser.add_argument("preset", help="e.g. focalclick-segformer-b0-s1, focalclick-hrnet18s-s2, focalclick-xl-b")
    parser.add_argument("--data", action="append", required=True, metavar="DATASET",
                        help="training data, repeatable: anything `focalxl eval` reads (COCO json from Label Studio "
                             "or CVAT, LVIS, SBD, VOC, image/mask folders) or a matting folder (fg/ alpha/ bg/)")
    parser.add_argument("--out", required=True, metavar="RUN_DIR",
                        help="run folder: last.pth, best.pth, initial.pth, resume.pth, log.csv, tensorboard/")
    parser.add_argument("--stage", default="all", choices=STAGES,
                        help="FocalClick-XL stage (default all: every stage in turn); FocalClick presets: all")
    parser.add_argument("--init", metavar="CHECKPOINT",
                        help="start from this checkpoint (a published FocalClick file, or an XL file from "
                             "`focalxl weights init-xl`); default: random weights from --seed")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="optimizer steps (per stage)")
    length.add_argument("--epochs", type=int, help="passes over the data (per stage; default 1)")
    parser.add_argument("--batch-size", type=int, default=8, help="global batch per optimizer step (default 8)")
    parser.add_argument("--accumulate", type=int, default=1,
                        help="gradient accumulation: forward passes per optimizer step (default 1)")
    parser.add_argument("--lr", type=float, help="learning rate (default: ClickSEG's, 5e-3 SegFormer / 5e-4 HRNet "
                                                 "and XL; backbone multipliers apply)")
    parser.add_argument("--val", metavar="DATASET", help="validation set: NoC / mIoU with the clicks protocol")
    parser.add_argument("--val-every", type=int, default=0,
                        help="validate every N steps (default: only at the end; needs --val)")
    parser.add_argument("--save-every", type=int, default=50, help="write last.pth and resume.pth every N steps")
    parser.add_argument("--precision", default="fp32", choices=("bf16", "fp32"),
                        help="bf16 autocast or full precision (default fp32)")
    parser.add_argument("--workers", type=int, default=0, help="data-loader (and validation) worker processes")
    parser.add_argument("--resume", action="store_true", help="continue RUN_DIR/resume.pth exactly where it stopped")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and of every sample's draws")
    parser.add_argument("--device", help="cuda, mps or cpu (default: the best present)")
    parser.add_argument("--threads", type=int, help="torch CPU threads per process (default: torch's, one per core)")
    parser.add_argument("--summary", metavar="FILE", help="also write what the run measured as JSON")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .checkpoints import known_presets

    if args.preset not in known_presets():
        parser.error(f"preset: {args.preset!r} cannot be trained; choose one of {', '.join(known_presets())}")
    for flag, value in (("--steps", args.steps), ("--epochs", args.epochs), ("--batch-size", args.batch_size),
                        ("--accumulate", args.accumulate), ("--save-every", args.save_every)):
        if value is not None and value < 1:
            parser.error(f"{flag}: must be at least 1, got {value}")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads: must be at least 1, got {args.threads}")
    if args.workers < 0 or args.val_every < 0:
        parser.error("--workers and --val-every must not be negative")
    if args.val_every and not args.val:
        parser.error("--val-every: needs --val DATASET")
    if args.lr is not None and not args.lr > 0:
        parser.error(f"--lr: must be positive, got {args.lr}")
    for path in args.data + ([args.val] if args.val else []) + ([args.init] if args.init else []):
        if not Path(path).exists():
            parser.error(f"{path}: not found")
    from ..evaluation.datasets import DatasetError
    from .loop import Options, train

    options = Options(preset=args.preset, data=args.data, out=Path(args.out), stage=args.stage, init=args.init,
                      steps=args.steps, epochs=args.epochs, batch_size=args.batch_size, accumulate=args.accumulate,
                      lr=args.lr, val=args.val, val_every=args.val_every, save_every=args.save_every,
                      precision=args.precision, workers=args.workers, resume=args.resume, seed=args.seed,
                      device=args.device, threads=args.threads)
    try:
        summary = train(options)
    except (DatasetError, ValueError) as error:
        print(f"focalxl train: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.summary:
        Path(args.summary).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return 0
