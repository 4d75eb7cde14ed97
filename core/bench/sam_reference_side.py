"""The reference side of ``python -m focalxl.bench.reference`` for SAM: segment-anything's own
``SamPredictor`` (which needs torchvision), run by the reference venv's Python as a child.

It imports nothing from focalxl. It reads one JSON command per line on stdin and answers
one JSON line on stdout:

* ``{"op": "image", "path": P}`` — ``set_image`` on the ``uint8[H, W, 3]`` array saved at ``P``;
* ``{"op": "predict", "points", "labels", "box", "multimask", "use_prev", "out"}`` — one
  notebook-flow click: ``predict`` (with the best low-res logits of the previous click as
  ``mask_input`` when ``use_prev``) and picking the best-scored mask; its mask is saved,
  bit-packed, at ``out`` after the clock stops.

Each answer carries ``ms`` and ``cpu_ms``, the wall-clock and CPU time of the operation alone.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch
from segment_anything import SamPredictor, sam_model_registry


def main(checkpoint: str, variant: str, threads: int) -> int:
    torch.set_num_threads(threads)
    sam = sam_model_registry[variant](checkpoint=None)
    sam.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    predictor = SamPredictor(sam.eval())
    previous = None
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "image":
            image = np.load(command["path"])
            start, cpu = time.perf_counter(), time.process_time()
            predictor.set_image(image)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            previous = None
            print(json.dumps({"ms": elapsed * 1000.0, "cpu_ms": cpu * 1000.0}), flush=True)
        elif command["op"] == "predict":
            points = None if command["points"] is None else np.asarray(command["points"], dtype=np.float64)
            labels = None if command["labels"] is None else np.asarray(command["labels"], dtype=np.int64)
            box = None if command["box"] is None else np.asarray(command["box"], dtype=np.float64)
            mask_input = previous if command["use_prev"] else None
            start, cpu = time.perf_counter(), time.process_time()
            masks, scores, low_res = predictor.predict(point_coords=points, point_labels=labels, box=box,
                                                       mask_input=mask_input, multimask_output=command["multimask"])
            best = int(np.argmax(scores))
            mask = masks[best]
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            previous = low_res[best:best + 1]
            np.save(command["out"], np.packbits(mask))
            print(json.dumps({"ms": elapsed * 1000.0, "cpu_ms": cpu * 1000.0}), flush=True)
        else:
            print(json.dumps({"error": f"unknown op {command['op']!r}"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
