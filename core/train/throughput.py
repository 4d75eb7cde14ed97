"""Training throughput of every preset and stage: ``python -m focalxl.train.throughput``.

Each (preset, stage) trains a few steps from random weights on synthetic 480x640 pictures
with the real loop (simulated clicks and corrective rounds included) and reports the
median samples per second over its steps, each in a child process so one run's memory
does not weigh on the next.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Optional, Tuple

import cv2
import numpy as np

DEFAULT_RUNS: Tuple[Tuple[str, str], ...] = (
    ("focalclick-segformer-b0-s1", "all"), ("focalclick-segformer-b0-s2", "all"),
    ("focalclick-segformer-b3-s2", "all"), ("focalclick-hrnet18s-s1", "all"), ("focalclick-hrnet18s-s2", "all"),
    ("focalclick-hrnet32-s2", "all"),
    ("focalclick-xl-b", "object"), ("focalclick-xl-b", "prompt-box"), ("focalclick-xl-b", "prompt-scribble"),
    ("focalclick-xl-b", "prompt-mask"), ("focalclick-xl-b", "detail"),
    ("focalclick-xl-h", "prompt-box"), ("focalclick-xl-h", "detail"),
)


def synthetic_pictures(root: Path, count: int = 16, size: Tuple[int, int] = (480, 640), seed: int = 0) -> Path:
    """An image/mask folder dataset of bright ellipses on noise."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(exist_ok=True)
    height, width = size
    lines = []
    for i in range(count):
        image = rng.integers(0, 90, (height, width, 3), dtype=np.uint8)
        mask = np.zeros(size, np.uint8)
        centre = (int(rng.integers(150, width - 150)), int(rng.integers(120, height - 120)))
        cv2.ellipse(mask, centre, (int(rng.integers(40, 140)), int(rng.integers(40, 110))),
                    float(rng.uniform(0, 180)), 0, 360, 255, -1)
        image[mask > 0] += 120
        cv2.imwrite(str(root / "images" / f"{i}.jpg"), image)
        cv2.imwrite(str(root / "masks" / f"{i}.png"), mask)
        lines.append(f"images/{i}.jpg\tmasks/{i}.png")
    (root / "pairs.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def measure(preset: str, stage: str, data: Path, out: Path, steps: int, batch: int,
            threads: Optional[int], precision: str) -> Optional[float]:
    """Median samples/s of one short run, or ``None`` when it failed (the error is printed)."""
    summary = out / "summary.json"
    command = [sys.executable, "-m", "focalxl.train", preset, "--data", str(data), "--out", str(out),
               "--stage", stage, "--steps", str(steps), "--batch-size", str(batch), "--save-every", str(10 ** 6),
               "--precision", precision, "--summary", str(summary)]
    if threads:
        command += ["--threads", str(threads)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        print(f"{preset} {stage}: failed: {result.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(summary.read_text())["stages"][stage]["samples_per_s"]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m focalxl.train.throughput", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="append", metavar="PRESET[:STAGE]",
                        help="what to measure, repeatable (default: every FocalClick preset, every XL-B stage, "
                             "XL-H's prompt and detail stages)")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    args = parser.parse_args(argv)
    runs = [tuple((item + ":all").split(":")[:2]) for item in args.run] if args.run else list(DEFAULT_RUNS)
    with tempfile.TemporaryDirectory() as folder:
        data = synthetic_pictures(Path(folder) / "data")
        print(f"{'preset':<28} {'stage':<16} samples/s  (batch {args.batch_size}, {args.steps} steps, "
              f"{args.threads} thread(s), {args.precision})")
        for preset, stage in runs:
            rate = measure(preset, stage, data, Path(folder) / f"{preset}-{stage}", args.steps, args.batch_size,
                           args.threads, args.precision)
            print(f"{preset:<28} {stage:<16} {'failed' if rate is None else f'{rate:.2f}'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
