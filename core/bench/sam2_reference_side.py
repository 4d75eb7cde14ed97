"""The reference side of ``python -m focalxl.bench.reference`` for SAM 2.1: sam2's own
``SAM2ImagePredictor`` (which needs torchvision and Hydra), run by the reference venv's
Python as a child.

It imports nothing from focalxl and speaks the protocol of :mod:`focalxl.bench.sam_reference_side`
(``image`` and ``predict`` commands, one JSON line each way; answers carry the wall-clock
``ms`` and the CPU time ``cpu_ms`` of the operation alone). The network is built by
``build_sam2`` from sam2's own YAML config (``argv[2]``, e.g.
``configs/sam2.1/sam2.1_hiera_t.yaml``) and the weights are loaded by sam2's own loader
from an official-format file (``{"model": state_dict}``).
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch
from sam2.build_sam import build_sam2
from sam2.sam2_image_predictor import SAM2ImagePredictor


def main(checkpoint: str, config_file: str, threads: int) -> int:
    torch.set_num_threads(threads)
    predictor = SAM2ImagePredictor(build_sam2(config_file, checkpoint, device="cpu"))
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
            mask = masks[best] > 0
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            previous = low_res[best:best + 1]
            np.save(command["out"], np.packbits(mask))
            print(json.dumps({"ms": elapsed * 1000.0, "cpu_ms": cpu * 1000.0}), flush=True)
        else:
            print(json.dumps({"error": f"unknown op {command['op']!r}"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
