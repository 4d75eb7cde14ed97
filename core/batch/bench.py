"""Batch pre-annotation speed: box -> mask items/s, worker scaling, Ray overhead, memory.

    python -m focalxl.batch.bench [--images N] [--sizes 816x612,1920x1080] [--no-ray]

For each image size, a COCO set of ``N`` copies of the bundled photo (each shifted a
little) with two boxes per image (the cat, its head), run with the ``classical`` preset:

* ``interactive``: the public API driven one prompt at a time, as a script would:
  read the image, ``new_session``, ``add(Box)``, pycocotools RLE, per annotation;
* ``batch --workers 1`` and ``--workers 2`` (local processes): ``focalxl.batch``;
* ``batch --engine ray --workers 2`` on a local Ray cluster started beforehand (a
  running cluster, as on a real one; its start-up time is printed apart).

Each configuration runs in a fresh child process (imports done before the clock
starts), ``--repeats`` times interleaved with the others; the best run is kept. Two rates: items/s of the whole job (model loads, worker or actor start-up,
journal and output included), and the steady state (items after the first image over
the time from the first image's results to the last). Ratios are against the
references of the same run; memory is peak RSS (``ru_maxrss``) of the job's process and
of its largest worker process. Figures are printed, never asserted.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

import cv2
import numpy as np

BOXES = ((15.0, 0.0, 380.0, 300.0), (120.0, 0.0, 360.0, 190.0))   # the cat, its head, on the 451x300 sample
SAMPLE = (451, 300)


def make_set(folder: Path, width: int, height: int, images: int) -> Path:
    """``images`` shifted copies of the sample photo at ``width x height`` and a COCO file with two boxes each."""
    from ..bench.latency import photo

    folder.mkdir(parents=True, exist_ok=True)
    base = photo(width, height)
    sx, sy = width / SAMPLE[0], height / SAMPLE[1]
    data = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "head"}]}
    for index in range(images):
        name = f"{index:04d}.png"
        cv2.imwrite(str(folder / name), cv2.cvtColor(np.roll(base, 2 * index, axis=1), cv2.COLOR_RGB2BGR))
        data["images"].append({"id": index, "file_name": name, "width": width, "height": height})
        for k, (x0, y0, x1, y1) in enumerate(BOXES):
            x0, x1 = min(x0 * sx + 2 * index, width - 1), min(x1 * sx + 2 * index, width)
            data["annotations"].append({"id": 2 * index + k, "image_id": index, "category_id": k + 1,
                                        "bbox": [x0, y0 * sy, x1 - x0, min(y1 * sy, height) - y0 * sy]})
    path = folder / "instances.json"
    path.write_text(json.dumps(data))
    return path


def run_interactive(annotations: Path, images: Path) -> List[float]:
    """The reference: one prompt at a time through the public API; the time each item was done."""
    import focalxl
    from focalxl import image_files
    from focalxl.formats import coco_rle

    data = json.loads(annotations.read_text())
    names = {image["id"]: image["file_name"] for image in data["images"]}
    segmenter = focalxl.load("classical")
    out, stamps = [], []
    for annotation in data["annotations"]:
        image = image_files.read_image(images / names[annotation["image_id"]])
        x, y, w, h = annotation["bbox"]
        result = segmenter.new_session(image).add(focalxl.Box(x, y, x + w, y + h))
        out.append(dict(annotation, segmentation=coco_rle.encode(result.mask)))
        stamps.append(time.time())
    return stamps


def run_batch(annotations: Path, images: Path, workers: int, engine: str) -> List[float]:
    """``focalxl.batch`` on the set; the time each item was done (the journal's record of it)."""
    import sqlite3

    from focalxl.batch import RunOptions, annotate_coco

    with tempfile.TemporaryDirectory() as scratch:
        if engine == "ray":
            import ray

            start = time.perf_counter()
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
            print(json.dumps({"ray_start_s": time.perf_counter() - start}), flush=True)
        summary = annotate_coco(str(annotations), str(images), f"{scratch}/out.json", "box",
                                options=RunOptions(journal=f"{scratch}/j.sqlite", workers=workers, engine=engine,
                                                   progress=False))
        if engine == "ray":
            ray.shutdown()
        with sqlite3.connect(f"{scratch}/j.sqlite") as db:
            stamps = [row[0] for row in db.execute("SELECT at FROM outcomes ORDER BY at")]
    if not summary.ok:
        raise RuntimeError(summary.text())
    return stamps


def child(args: argparse.Namespace) -> None:
    """One configuration, timed in this fresh process (imports done first); prints a JSON line."""
    importlib.import_module("focalxl")     # imported before the clock starts, as in a long-running job

    annotations, images = Path(args.annotations), Path(args.image_dir)
    start = time.perf_counter()
    if args.mode == "interactive":
        stamps = run_interactive(annotations, images)
    else:
        stamps = run_batch(annotations, images, args.workers, args.engine)
    seconds = time.perf_counter() - start
    first_image = len(BOXES)    # steady state: from the first image's results to the last, start-up left out
    steady = (len(stamps) - first_image) / max(stamps[-1] - stamps[first_image - 1], 1e-9)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"items": len(stamps), "seconds": seconds, "steady_items_per_s": steady, "own_mib": own,
                      "worker_mib": workers}), flush=True)


def measure(annotations: Path, images: Path, mode: str, workers: int = 1, engine: str = "local") -> Dict:
    command = [sys.executable, "-m", "focalxl.batch.bench", "--child", mode, str(annotations), str(images),
               "--workers", str(workers), "--engine", engine]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    figures: Dict = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            figures.update(json.loads(line))
    if "ray_start_s" in figures:
        figures["seconds"] -= figures["ray_start_s"]     # a running cluster: its start is not the job's
    figures["items_per_s"] = figures["items"] / figures["seconds"]
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m focalxl.batch.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=8, help="images per size (two boxes each; default 8)")
    parser.add_argument("--sizes", default="816x612,1920x1080", help="WxH,... (default: ~0.5 MP and 1080p)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per configuration, the best kept (default 3)")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray configuration")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "ANNOTATIONS", "IMAGES"), help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="local", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.mode, args.annotations, args.image_dir = args.child
        child(args)
        return 0
    sizes: List[Tuple[int, int]] = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    print(f"focalxl.batch bench: classical, box -> mask, {args.images} images x 2 boxes per size, "
          f"{os.cpu_count()} CPU cores, best of {args.repeats} interleaved runs, load average "
          f"{os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory() as scratch:
        for width, height in sizes:
            folder = Path(scratch) / f"{width}x{height}"
            annotations = make_set(folder, width, height, args.images)
            configurations = [("interactive API, one prompt at a time", ("interactive",)),
                              ("batch --workers 1", ("batch", 1)), ("batch --workers 2", ("batch", 2))]
            if not args.no_ray:
                configurations.append(("batch --engine ray --workers 2", ("batch", 2, "ray")))
            best: Dict[str, Dict] = {}
            for _ in range(args.repeats):        # interleaved, so a busy spell hits every configuration alike
                for name, config in configurations:
                    figures = measure(annotations, folder, *config)
                    if name not in best or figures["items_per_s"] > best[name]["items_per_s"]:
                        best[name] = figures
            rows = [(name, best[name]) for name, _ in configurations]
            print(f"\n{width}x{height} ({width * height / 1e6:.2f} MP), {rows[0][1]['items']} items; "
                  f"items/s of the whole job (model loads and worker start-up included) | steady state")
            for name, figures in rows:
                memory = f"peak RSS {figures['own_mib']:.0f} MiB"
                if "workers 2" in name and "ray" not in name:
                    memory += f", per worker process {figures['worker_mib']:.0f} MiB"
                steady = "     -" if "ray" in name else f"{figures['steady_items_per_s']:6.2f}"
                print(f"  {name:<40} {figures['items_per_s']:6.2f} | {steady} items/s"
                      f"  ({figures['seconds']:.1f} s; {memory})")
            reference, one, two = rows[0][1], rows[1][1], rows[2][1]
            for label, a, b in (("batch --workers 1 / interactive", one, reference),
                                ("batch --workers 2 / interactive", two, reference),
                                ("scaling, --workers 2 / --workers 1", two, one)):
                print(f"  {label + ':':<40} {a['items_per_s'] / b['items_per_s']:6.2f}x | "
                      f"{a['steady_items_per_s'] / b['steady_items_per_s']:6.2f}x")
            if not args.no_ray:     # Ray hands results back in blocks: only the whole job's rate means something
                print(f"  {'Ray overhead, local / ray (2 workers):':<40} "
                      f"{two['items_per_s'] / rows[3][1]['items_per_s']:6.2f}x | -  (the local cluster's "
                      f"start-up, {rows[3][1]['ray_start_s']:.1f} s, is not counted)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
