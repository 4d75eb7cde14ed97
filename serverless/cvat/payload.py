"""CVAT interactor requests: the JSON body CVAT's server posts, checked field by field.

Every CVAT generation sends ``image`` (base64 of the frame's file bytes) with the
clicks so far as ``pos_points`` / ``neg_points`` (``[[x, y], ...]`` float pixels).
The box, when there is one, comes as ``obj_bbox``: ``None`` or absent (before CVAT
1.5 and when the user drew none), ``[]`` (newer UIs without a box) or
``[[x1, y1], [x2, y2]]`` (newer UIs, and servers up to 2.14 that cut it from the first
two positive points of a ``startswith_box`` function).
"""
from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple

import focalxl

Point = Tuple[float, float]


class RequestError(Exception):
    """A request the interactor cannot serve; ``field`` names the culprit, the message too."""

    def __init__(self, field: str, message: str, status: int = 400):
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass(frozen=True)
class Request:
    """One CVAT interaction request: the image file and the prompts so far."""

    image: bytes = field(repr=False)
    digest: str
    box: Optional[focalxl.Box]
    positives: Tuple[focalxl.Click, ...]
    negatives: Tuple[focalxl.Click, ...]

    def prompts(self) -> List[focalxl.Interaction]:
        """Every prompt in the order a fresh session applies them: box, positives, negatives."""
        return ([self.box] if self.box else []) + list(self.positives) + list(self.negatives)

    def validate(self, shape: Tuple[int, int]) -> None:
        """Check every prompt lies inside an image of ``shape`` (H, W)."""
        named = [("obj_bbox", self.box)] if self.box else []
        named += [(f"pos_points[{i}]", c) for i, c in enumerate(self.positives)]
        named += [(f"neg_points[{i}]", c) for i, c in enumerate(self.negatives)]
        for name, prompt in named:
            try:
                prompt.validate(shape)
            except ValueError as error:
                raise RequestError(name, f"{name}: {error}") from None


def parse(body: Any) -> Request:
    """CVAT's request body (a dict, or JSON as bytes or str) -> ``Request``."""
    fields = _json_object(body)
    image = _image_bytes(fields.get("image"))
    positives = _points(fields.get("pos_points"), "pos_points", positive=True)
    negatives = _points(fields.get("neg_points"), "neg_points", positive=False)
    box = _box(fields.get("obj_bbox"))
    if not positives and box is None:
        raise RequestError("pos_points", "pos_points needs at least one positive click (or an obj_bbox box)")
    return Request(image=image, digest=focalxl.image_digest(image), box=box,
                   positives=positives, negatives=negatives)


def _json_object(body: Any) -> dict:
    if isinstance(body, (bytes, bytearray, str)):
        try:
            body = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise RequestError("body", "body is not JSON; post {\"image\": ..., \"pos_points\": ...} "
                               "with Content-Type: application/json") from None
    if not isinstance(body, dict):
        raise RequestError("body", f"body must be a JSON object, got {type(body).__name__}")
    return body


def _image_bytes(value: Any) -> bytes:
    if value is None:
        raise RequestError("image", "image is missing (base64 of the frame's file bytes)")
    if not isinstance(value, str):
        raise RequestError("image", f"image must be a base64 string, got {type(value).__name__}")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError("image", "image is not valid base64") from None
    if not data:
        raise RequestError("image", "image is empty")
    return data


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RequestError(name, f"{name} must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        raise RequestError(name, f"{name} is too large") from None
    if not math.isfinite(number):
        raise RequestError(name, f"{name} must be finite, got {number}")
    return number


def _point(value: Any, name: str) -> Point:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise RequestError(name, f"{name} must be an [x, y] pair")
    return _number(value[0], f"{name}[0]"), _number(value[1], f"{name}[1]")


def _points(value: Any, name: str, positive: bool) -> Tuple[focalxl.Click, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RequestError(name, f"{name} must be a list of [x, y] pairs, got {type(value).__name__}")
    return tuple(focalxl.Click(*_point(p, f"{name}[{i}]"), positive=positive) for i, p in enumerate(value))


def _box(value: Any) -> Optional[focalxl.Box]:
    if value is None or (isinstance(value, list) and not value):
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise RequestError("obj_bbox", "obj_bbox must be null, [] or two corners [[x1, y1], [x2, y2]]")
    (x0, y0), (x1, y1) = (_point(corner, f"obj_bbox[{i}]") for i, corner in enumerate(value))
    return focalxl.Box(x0, y0, x1, y1)
