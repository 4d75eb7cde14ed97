"""The reference side of ``python -m focalxl.bench.reference`` for SAM 2.1: sam2's own
``SAM2ImagePredictor`` (which needs torchvision and Hydra), run by the reference venv's
Python as a child.

It imports nothing from focalxl and speaks the line protocol of
:mod:`reference_side_protocol` (``image`` and ``predict`` commands, one JSON line each way). The network is built by
``build_sam2`` from sam2's own YAML config (``argv[2]``, e.g.
``configs/sam2.1/sam2.1_hiera_t.yaml``) and the weights are loaded by sam2's own loader
from an official-format file (``{"model": state_dict}``).
"""
from __future__ import annotations

import sys

import torch
from sam2.build_sam import build_sam2
from sam2.sam2_image_predictor import SAM2ImagePredictor

from reference_side_protocol import serve


def main(checkpoint: str, config_file: str, threads: int) -> int:
    torch.set_num_threads(threads)
    predictor = SAM2ImagePredictor(build_sam2(config_file, checkpoint, device="cpu"))
    return serve(predictor)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
