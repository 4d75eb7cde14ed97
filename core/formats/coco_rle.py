"""COCO masks: compressed RLE, area and bbox, all computed by pycocotools.

A compressed RLE is ``{"size": [height, width], "counts": "<ascii>"}``, the form COCO
json files hold; polygons and uncompressed RLE from a source file are converted to it.
"""
from __future__ import annotations

from typing import List, Sequence, Union

import numpy as np
from pycocotools import mask as mask_utils

Segmentation = Union[dict, Sequence[Sequence[float]]]


def encode(mask: np.ndarray) -> dict:
    """A 2-D mask (non-zero is foreground) -> compressed RLE with ``str`` counts."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    rle = mask_utils.encode(np.asfortranarray(mask != 0, dtype=np.uint8))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def decode(rle: dict) -> np.ndarray:
    """Compressed RLE -> ``bool[height, width]``."""
    return mask_utils.decode(_bytes_counts(rle)).astype(bool)


def area(rle: dict) -> int:
    """Foreground pixels of a compressed RLE."""
    return int(mask_utils.area(_bytes_counts(rle)))


def bbox(rle: dict) -> List[float]:
    """``[x, y, width, height]`` of a compressed RLE (zeros when empty)."""
    return [float(v) for v in mask_utils.toBbox(_bytes_counts(rle))]


def from_segmentation(segmentation: Segmentation, height: int, width: int) -> dict:
    """A COCO ``segmentation`` (polygons, uncompressed or compressed RLE) -> one compressed RLE."""
    if isinstance(segmentation, list):
        if not segmentation or not all(isinstance(p, (list, tuple)) and len(p) >= 6 and len(p) % 2 == 0
                                       for p in segmentation):
            raise ValueError("segmentation polygons must be lists of at least 3 x, y pairs")
        rle = mask_utils.merge(mask_utils.frPyObjects([[float(v) for v in p] for p in segmentation], height, width))
    elif isinstance(segmentation, dict) and "counts" in segmentation and "size" in segmentation:
        if list(segmentation["size"]) != [height, width]:
            raise ValueError(f"segmentation size {segmentation['size']} is not the image's [{height}, {width}]")
        if isinstance(segmentation["counts"], list):
            rle = mask_utils.frPyObjects(segmentation, height, width)
        else:
            rle = _bytes_counts(segmentation)
    else:
        raise ValueError("segmentation must be a list of polygons or an RLE object with 'size' and 'counts'")
    return {"size": [int(rle["size"][0]), int(rle["size"][1])],
            "counts": rle["counts"].decode("ascii") if isinstance(rle["counts"], bytes) else rle["counts"]}


def _bytes_counts(rle: dict) -> dict:
    counts = rle["counts"]
    return {"size": list(rle["size"]), "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
