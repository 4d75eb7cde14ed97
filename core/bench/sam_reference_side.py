"""The reference side of ``python -m focalxl.bench.reference`` for SAM: segment-anything's own
``SamPredictor`` (which needs torchvision), run by the reference venv's Python as a child.

It imports nothing from focalxl and speaks the line protocol of
:mod:`reference_side_protocol` (a sibling file: the reference venv has no focalxl).
"""
from __future__ import annotations

import sys

import torch
from segment_anything import SamPredictor, sam_model_registry

from reference_side_protocol import serve


def main(checkpoint: str, variant: str, threads: int) -> int:
    torch.set_num_threads(threads)
    sam = sam_model_registry[variant](checkpoint=None)
    sam.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    predictor = SamPredictor(sam.eval())
    return serve(predictor)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
