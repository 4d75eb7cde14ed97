"""The line protocol every reference side of ``python -m focalxl.bench.reference`` speaks.

The reference sides run by path in the reference venv, which has no focalxl: they import
this module as a sibling file. One JSON command per line on stdin, one JSON answer per line
on stdout:

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
from typing import Any, Optional, TextIO

import numpy as np


def serve(predictor: Any, commands: TextIO = sys.stdin) -> int:
    """Answer ``commands`` with a ``SamPredictor``-like ``predictor`` (``set_image``, ``predict``)."""
    previous: Optional[np.ndarray] = None
    for line in commands:
        command = json.loads(line)
        if command["op"] == "image":
            image = np.load(command["path"])
            start, cpu = time.perf_counter(), time.process_time()
            predictor.set_image(image)
            _answer(_times(start, cpu))
            previous = None
        elif command["op"] == "predict":
            start, cpu = time.perf_counter(), time.process_time()
            masks, scores, low_res = predictor.predict(
                point_coords=_array(command["points"], np.float64), point_labels=_array(command["labels"], np.int64),
                box=_array(command["box"], np.float64), mask_input=previous if command["use_prev"] else None,
                multimask_output=command["multimask"])
            best = int(np.argmax(scores))
            mask = masks[best] > 0
            times = _times(start, cpu)
            previous = low_res[best:best + 1]
            np.save(command["out"], np.packbits(mask))
            _answer(times)
        else:
            _answer({"error": f"unknown op {command['op']!r}"})
    return 0


def _array(value: Optional[list], dtype: type) -> Optional[np.ndarray]:
    return None if value is None else np.asarray(value, dtype=dtype)


def _times(start: float, cpu: float) -> dict:
    """Wall-clock and CPU milliseconds since ``start`` / ``cpu``."""
    return {"ms": (time.perf_counter() - start) * 1000.0, "cpu_ms": (time.process_time() - cpu) * 1000.0}


def _answer(answer: dict) -> None:
    print(json.dumps(answer), flush=True)
