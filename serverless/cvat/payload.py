"""CVAT interactor requests: the JSON body CVAT's server posts, checked field by field.

Every CVAT generation sends ``image`` (base64 of the frame's file bytes) with the
clicks so far as ``pos_points`` / ``neg_points`` (``[[x, y], ...]`` float pixels).
The box, when there is one, comes as ``obj_bbox``: ``None`` or absent (before CVAT
1.5 and when the user drew none), ``[]`` (newer UIs without a box) or
``[[x1, y1], [x2, y2]]`` (newer UIs, and servers up to 2.14 that cut it from the first
two positive points of a ``startswith_box`` function).

Work per request is bounded (``Limits``): the body's bytes, the clicks it holds, and the
JSON nesting the parser follows. Over a limit is a ``RequestError`` naming the limit and
the setting that raises it.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple

import focalxl
from focalxl.interactions import LARGEST

Point = Tuple[float, float]


@dataclass(frozen=True)
class Limits:
    """Bounds on one request's work; each is raised by the setting named in its error."""

    max_prompts: int = 100                  # FOCALXL_MAX_PROMPTS: clicks (and the box) per request
    max_body_bytes: int = 32 * 1024 ** 2    # FOCALXL_MAX_BODY_MB: as the HTTP trigger's maxRequestBodySize


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
        """Every prompt in the one order a session applies them, whatever it saw before.

        CVAT sends positive and negative clicks as two lists, so the order between them is
        lost; they are interleaved: the box, ``pos[0], neg[0], pos[1], neg[1], ...``, then
        the rest of the longer list. The same request therefore gives the same mask in any
        process (another replica, an evicted session, a second annotator on the frame).
        """
        interleaved = [click for pair in zip(self.positives, self.negatives) for click in pair]
        common = min(len(self.positives), len(self.negatives))
        rest = self.positives[common:] + self.negatives[common:]
        return ([self.box] if self.box else []) + interleaved + list(rest)

    @property
    def object_key(self) -> focalxl.Interaction:
        """The object's first prompt (the box, else the first positive click): one session each."""
        return self.prompts()[0]

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


def parse(body: Any, limits: Limits = Limits()) -> Request:
    """CVAT's request body (a dict, or JSON as bytes or str) -> ``Request``."""
    fields = _json_object(body, limits)
    image = _image_bytes(fields.get("image"), limits)
    pos_raw, neg_raw = _list(fields.get("pos_points"), "pos_points"), _list(fields.get("neg_points"), "neg_points")
    box_raw = fields.get("obj_bbox")
    _check_count(len(pos_raw), len(neg_raw), 0 if box_raw in (None, []) else 1, limits)
    positives = _points(pos_raw, "pos_points", positive=True)
    negatives = _points(neg_raw, "neg_points", positive=False)
    box = _box(box_raw)
    if not positives and box is None:
        raise RequestError("pos_points", "pos_points needs at least one positive click (or an obj_bbox box)")
    return Request(image=image, digest=focalxl.image_digest(image), box=box,
                   positives=positives, negatives=negatives)


def _json_object(body: Any, limits: Limits) -> dict:
    if isinstance(body, (bytes, bytearray, str)):
        if len(body) > limits.max_body_bytes:
            raise RequestError("body", f"body has {len(body)} bytes, over the limit of {limits.max_body_bytes} "
                                       f"(FOCALXL_MAX_BODY_MB)", status=413)
        try:
            body = json.loads(body)
        except RecursionError:
            raise RequestError("body", "body is JSON nested deeper than the parser follows (about 1000 levels; "
                                       "a fixed limit, CVAT's bodies nest 3 deep)") from None
        except (ValueError, UnicodeDecodeError):
            raise RequestError("body", "body is not JSON; post {\"image\": ..., \"pos_points\": ...} "
                               "with Content-Type: application/json") from None
    if not isinstance(body, dict):
        raise RequestError("body", f"body must be a JSON object, got {type(body).__name__}")
    return body


def _check_count(positives: int, negatives: int, boxes: int, limits: Limits) -> None:
    if positives + negatives + boxes > limits.max_prompts:
        field = "pos_points" if positives + boxes > limits.max_prompts else "neg_points"
        raise RequestError(field, f"pos_points and neg_points hold {positives + negatives} clicks"
                                  f"{' and a box' if boxes else ''}, over the limit of {limits.max_prompts} "
                                  f"prompts per request (FOCALXL_MAX_PROMPTS)", status=413)


def _image_bytes(value: Any, limits: Limits) -> bytes:
    if value is None:
        raise RequestError("image", "image is missing (base64 of the frame's file bytes)")
    if not isinstance(value, str):
        raise RequestError("image", f"image must be a base64 string, got {type(value).__name__}")
    if len(value) > limits.max_body_bytes:
        raise RequestError("image", f"image has {len(value)} base64 characters, over the body limit of "
                                    f"{limits.max_body_bytes} bytes (FOCALXL_MAX_BODY_MB)", status=413)
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
        raise RequestError(name, f"{name} must be within ±{LARGEST:.0f}, got an integer too large for a float") from None
    if not math.isfinite(number):
        raise RequestError(name, f"{name} must be finite, got {number}")
    if abs(number) > LARGEST:
        raise RequestError(name, f"{name} must be within ±{LARGEST:.0f}, got {number:g}")
    return number


def _point(value: Any, name: str) -> Point:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise RequestError(name, f"{name} must be an [x, y] pair")
    return _number(value[0], f"{name}[0]"), _number(value[1], f"{name}[1]")


def _list(value: Any, name: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RequestError(name, f"{name} must be a list of [x, y] pairs, got {type(value).__name__}")
    return value


def _points(value: list, name: str, positive: bool) -> Tuple[focalxl.Click, ...]:
    return tuple(_made(f"{name}[{i}]", focalxl.Click, *_point(p, f"{name}[{i}]"), positive=positive)
                 for i, p in enumerate(value))


def _made(name: str, kind: type, *args: Any, **kwargs: Any) -> Any:
    """An engine interaction; its own ``ValueError`` becomes a ``RequestError`` naming the field."""
    try:
        return kind(*args, **kwargs)
    except ValueError as error:
        raise RequestError(name, f"{name}: {error}") from None


def _box(value: Any) -> Optional[focalxl.Box]:
    if value is None or (isinstance(value, list) and not value):
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise RequestError("obj_bbox", "obj_bbox must be null, [] or two corners [[x1, y1], [x2, y2]]")
    (x0, y0), (x1, y1) = (_point(corner, f"obj_bbox[{i}]") for i, corner in enumerate(value))
    return _made("obj_bbox", focalxl.Box, x0, y0, x1, y1)
