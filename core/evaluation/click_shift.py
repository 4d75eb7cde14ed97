"""How much a first click's mask moves when the click moves by one pixel.

    python -m focalxl.evaluation.click_shift DATASET [DATASET ...] [--preset P] [--workers N]

For every instance the benchmark's first click (the deepest point of the object) is made
at its pixel and at the four pixels next to it, each in a fresh session. Prints per
dataset the mean IoU of the five masks with the ground truth, and the share of instances
where some one-pixel shift changes that IoU by more than 0.2.
"""
from __future__ import annotations

import argparse
import multiprocessing
from typing import List, Optional, Sequence

import numpy as np

from ..arguments import positive_int
from ..interactions import Click
from ..segmenter import load, presets
from .clicker import next_click
from .datasets import DatasetError
from .layouts import open_dataset
from .metrics import iou

SHIFTS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))
JUMP = 0.2


def shifted_ious(preset: str, dataset: str, index: int) -> List[float]:
    """IoU with the ground truth of the first click's mask at its pixel and at the four next to it."""
    sample = open_dataset(dataset)[index]
    segmenter = load(preset, threads=1)
    click = next_click(sample.gt, np.zeros_like(sample.gt), sample.ignore)
    height, width = sample.gt.shape
    ious = []
    for dx, dy in SHIFTS:
        x, y = min(width - 0.5, max(0.5, click.x + dx)), min(height - 0.5, max(0.5, click.y + dy))
        mask = segmenter.new_session(sample.image).add(Click(x, y)).mask
        ious.append(iou(sample.gt, mask, sample.ignore))
    return ious


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m focalxl.evaluation.click_shift", description=__doc__.split("\n")[0])
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--preset", default="classical")
    parser.add_argument("--workers", type=positive_int, default=2)
    args = parser.parse_args(argv)
    if args.preset not in presets():
        parser.error(f"--preset: unknown preset {args.preset!r}; choose one of {', '.join(presets())}")
    try:
        sizes = [len(open_dataset(dataset)) for dataset in args.datasets]
    except DatasetError as error:
        parser.error(str(error))
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        for dataset, size in zip(args.datasets, sizes):
            runs = pool.starmap(shifted_ious, [(args.preset, dataset, i) for i in range(size)])
            jumps = [max(abs(v - r[0]) for v in r[1:]) > JUMP for r in runs]
            print(f"{dataset}: {args.preset} first click mIoU {np.mean(runs):.3f} over the five positions; "
                  f"a one-pixel shift changes IoU by more than {JUMP} on {100 * np.mean(jumps):.1f} % "
                  f"of {len(runs)} instances")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
