"""Label Studio result items (context, annotations, predictions) as engine interactions.

Coordinates are percent of the displayed image (EXIF orientation and ``image_rotation``
applied); keypoints carry ``is_positive``; rectangles rotate about their top-left
corner; brush regions are RLE masks and refine the object as a coarse mask.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

import numpy as np

from ...formats import labelstudio_brush as brush
from ...interactions import Box, Click, CoarseMask, Interaction
from .orientation import normalise_rotation, rotate

KINDS = {"keypointlabels": "keypoint", "keypoint": "keypoint", "rectanglelabels": "rectangle",
         "rectangle": "rectangle", "brushlabels": "brush", "brush": "brush"}


@dataclass(frozen=True)
class Region:
    """One result item, checked for shape but not yet placed on an image."""

    field: str                  # where it came from, for error messages: "context.result[0]"
    kind: str                   # keypoint | rectangle | brush
    label: Optional[str]
    to_name: Optional[str]
    rotation: int               # image_rotation, clockwise degrees
    original_size: Optional[Tuple[int, int]]   # (width, height) as Label Studio saw it
    value: dict
    positive: bool


def read_region(item: Any, field: str) -> Region:
    """A result item as a ``Region``; ``ValueError`` naming ``field`` when malformed."""
    if not isinstance(item, dict):
        raise ValueError(f"{field} must be an object")
    kind = KINDS.get(item.get("type")) if isinstance(item.get("type"), str) else None
    if kind is None:
        raise ValueError(f"{field}.type must be one of {', '.join(sorted(KINDS))}, got {_shown(item.get('type'))}")
    value = item.get("value")
    if not isinstance(value, dict):
        raise ValueError(f"{field}.value must be an object")
    labels = value.get(item["type"]) or value.get("labels") or []
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise ValueError(f"{field}.value.{item['type']} must be a list of label names")
    positive = item.get("is_positive", True)
    if not isinstance(positive, bool):
        raise ValueError(f"{field}.is_positive must be true or false, got {_shown(positive)}")
    size = None
    if "original_width" in item or "original_height" in item:
        width, height = item.get("original_width"), item.get("original_height")
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (width, height)):
            raise ValueError(f"{field}.original_width and original_height must be positive integers")
        size = (width, height)
    to_name = item.get("to_name")
    return Region(field=field, kind=kind, label=labels[-1] if labels else None,
                  to_name=to_name if isinstance(to_name, str) else None,
                  rotation=normalise_rotation(item.get("image_rotation", 0), f"{field}.image_rotation"),
                  original_size=size, value=value, positive=positive)


def read_context(context: Any) -> List[Region]:
    """The regions of an interactive ``context`` (``{"result": [...]}``)."""
    if not isinstance(context, dict) or not isinstance(context.get("result"), list):
        raise ValueError("params.context must be an object with a 'result' list")
    return [read_region(item, f"context.result[{i}]") for i, item in enumerate(context["result"])]


def to_interaction(region: Region, width: int, height: int) -> Interaction:
    """The region on a ``width x height`` displayed image, in pixels."""
    _check_size(region, width, height)
    value, field = region.value, f"{region.field}.value"
    if region.kind == "keypoint":
        x, y = _percent(value, "x", field) * width / 100, _percent(value, "y", field) * height / 100
        return Click(min(x, width - 1e-3), min(y, height - 1e-3), positive=region.positive)
    if region.kind == "rectangle":
        return _box(value, field, width, height)
    return CoarseMask(brush_mask(region, width, height))


def brush_mask(region: Region, width: int, height: int, rotation: Optional[int] = None) -> np.ndarray:
    """The brush region's mask on the ``width x height`` image displayed at ``rotation``.

    A brush drawn at another ``image_rotation`` is turned by the difference.
    """
    value = region.value
    if value.get("format", "rle") != "rle" or "rle" not in value:
        raise ValueError(f"{region.field}.value must hold a brush 'rle' (format 'rle')")
    turn = 0 if rotation is None else (rotation - region.rotation) % 360
    drawn_w, drawn_h = region.original_size or ((height, width) if turn % 180 else (width, height))
    if ((drawn_h, drawn_w) if turn % 180 else (drawn_w, drawn_h)) != (width, height):   # before decoding anything
        raise ValueError(f"{region.field}: a {drawn_w}x{drawn_h} brush does not fit the {width}x{height} image")
    try:
        mask = rotate(brush.decode(value["rle"], drawn_h, drawn_w), turn)
    except ValueError as error:
        raise ValueError(f"{region.field}.value.rle: {error}") from None
    if mask.shape != (height, width):
        raise ValueError(f"{region.field}: a {drawn_w}x{drawn_h} brush does not fit the {width}x{height} image")
    return mask


def _check_size(region: Region, width: int, height: int) -> None:
    if region.original_size is not None and sorted(region.original_size) != sorted((width, height)):
        ow, oh = region.original_size
        raise ValueError(f"{region.field}.original_width x original_height is {ow}x{oh}, "
                         f"but the task's image is {width}x{height}")


def _percent(value: dict, key: str, field: str) -> float:
    number = _number(value.get(key), f"{field}.{key}", "a number (percent of the image size)")
    if not 0 <= number <= 100:
        raise ValueError(f"{field}.{key} must be within 0..100 percent, got {number:g}")
    return number


def _number(value: Any, field: str, what: str) -> float:
    """``value`` as a finite float; ``ValueError`` naming ``field`` for anything else (``10**400`` included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{field} must be {what}, got {_shown(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"{field} must be {what}, got a number too large for a float") from None
    if not math.isfinite(number):
        raise ValueError(f"{field} must be {what}, got {number}")
    return number


def _shown(value: Any) -> str:
    """A short ``repr`` for error messages (request values can be huge)."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10 ** 30 else f"an integer of {len(str(value))} digits"
    return text if len(text) <= 60 else text[:57] + "..."


def _box(value: dict, field: str, width: int, height: int) -> Box:
    x, y = _percent(value, "x", field) * width / 100, _percent(value, "y", field) * height / 100
    w, h = _percent(value, "width", field) * width / 100, _percent(value, "height", field) * height / 100
    angle = _number(value.get("rotation", 0) or 0, f"{field}.rotation", "a number of degrees") % 360
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    corners = [(x + dx * cos - dy * sin, y + dx * sin + dy * cos) for dx, dy in ((0, 0), (w, 0), (w, h), (0, h))]
    xs = [min(max(cx, 0.0), width) for cx, _ in corners]
    ys = [min(max(cy, 0.0), height) for _, cy in corners]
    box = Box(min(xs), min(ys), max(xs), max(ys))
    if box.x1 - box.x0 < 1 or box.y1 - box.y0 < 1:
        raise ValueError(f"{field}: the rectangle covers less than a pixel of the image")
    return box
