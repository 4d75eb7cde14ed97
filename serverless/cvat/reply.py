"""CVAT interactor replies: ``{"mask": 2-D 0/255 list cropped to the object, "bounds": [xtl, ytl, xbr, ybr]}``.

This is CVAT's ``InteractorResults`` (UI 2.4.4 and later): the UI pastes the crop at
the inclusive ``bounds``. Cropping keeps a 5 % object on a 4000x3000 frame to a small
fraction of a full-frame list. Errors are ``{"error": message, "field": name or null}``.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import orjson

import focalxl

from .payload import RequestError


def mask_json(result: focalxl.Result) -> str:
    """The mask cropped to its inclusive bounding box, as CVAT's reply JSON."""
    if result.bbox is None:
        raise RequestError("mask", "mask came out empty: no object found at these clicks; click inside "
                                   "the object or draw a box around it", status=422)
    x0, y0, x1, y1 = (int(v) for v in result.bbox)
    crop = result.mask[y0:y1 + 1, x0:x1 + 1].astype(np.uint8) * np.uint8(255)
    return orjson.dumps({"mask": crop, "bounds": [x0, y0, x1, y1]}, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def error_json(message: str, field: Optional[str]) -> str:
    return orjson.dumps({"error": message, "field": field}).decode()
