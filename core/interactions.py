"""User interactions in image pixels: clicks, boxes, scribbles and coarse masks.

Coordinates are ``(x, y)`` floats with the origin at the top-left corner of the
top-left pixel; a point is inside an ``H x W`` image when ``0 <= x < W`` and
``0 <= y < H``. Every interaction knows how to check itself against an image size
(``validate``), where it touches the image (``footprint``) and its polarity. Numbers are
checked when an interaction is made: a wrong type, a non-finite or absurd value (beyond
``LARGEST``) is a ``ValueError`` naming the field.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence, Tuple, Union

import numpy as np

Point = Tuple[float, float]


# No image is this large; beyond it a number is absurd (and OpenCV draws in int32).
LARGEST = 2.0 ** 31


def _finite_number(value: object, name: str) -> float:
    """``value`` as a float; ``ValueError`` naming ``name`` unless it is a real, finite, sane number."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"{name} must be within ±{LARGEST:.0f}, got an integer too large for a float") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {number}")
    if abs(number) > LARGEST:
        raise ValueError(f"{name} must be within ±{LARGEST:.0f}, got {number:g}")
    return number


def _inside(x: float, y: float, shape: Tuple[int, int], name: str) -> None:
    height, width = shape
    if not (0 <= x < width and 0 <= y < height):
        raise ValueError(f"{name} ({x:g}, {y:g}) is outside the {width}x{height} image")


@dataclass(frozen=True)
class Click:
    """A single click; ``positive=False`` marks background."""

    x: float
    y: float
    positive: bool = True

    kind = "click"

    def __post_init__(self) -> None:
        object.__setattr__(self, "x", _finite_number(self.x, "click.x"))
        object.__setattr__(self, "y", _finite_number(self.y, "click.y"))
        if not isinstance(self.positive, (bool, np.bool_)):
            raise ValueError(f"click.positive must be a bool, got {type(self.positive).__name__}")

    def validate(self, shape: Tuple[int, int]) -> None:
        _inside(self.x, self.y, shape, "click")


    def extent(self) -> Tuple[float, float, float, float]:
        return (self.x, self.y, self.x, self.y)


@dataclass(frozen=True)
class Box:
    """An axis-aligned box around the object, corners in either order."""

    x0: float
    y0: float
    x1: float
    y1: float

    kind = "box"
    positive = True

    def __post_init__(self) -> None:
        coords = [_finite_number(getattr(self, n), f"box.{n}") for n in ("x0", "y0", "x1", "y1")]
        x0, y0, x1, y1 = coords
        object.__setattr__(self, "x0", min(x0, x1))
        object.__setattr__(self, "x1", max(x0, x1))
        object.__setattr__(self, "y0", min(y0, y1))
        object.__setattr__(self, "y1", max(y0, y1))

    def validate(self, shape: Tuple[int, int]) -> None:
        height, width = shape
        if not (0 <= self.x0 and self.x1 <= width and 0 <= self.y0 and self.y1 <= height):
            raise ValueError(
                f"box ({self.x0:g}, {self.y0:g}, {self.x1:g}, {self.y1:g}) is outside the "
                f"{width}x{height} image"
            )
        if self.x1 - self.x0 < 1 or self.y1 - self.y0 < 1:
            raise ValueError("box must be at least 1 pixel wide and high")


    def extent(self) -> Tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)


@dataclass(frozen=True)
class Scribble:
    """A free-hand stroke through ``points`` with a brush ``width`` in pixels."""

    points: Sequence[Point]
    positive: bool = True
    width: float = 5.0

    kind = "scribble"

    def __post_init__(self) -> None:
        try:
            raw = list(self.points)
        except TypeError:
            raise ValueError("scribble.points must be a sequence of (x, y) pairs") from None
        if not raw:
            raise ValueError("scribble.points must not be empty")
        points = []
        for i, p in enumerate(raw):
            if not isinstance(p, (tuple, list, np.ndarray)) or len(p) != 2:
                raise ValueError(f"scribble.points[{i}] must be an (x, y) pair")
            points.append((_finite_number(p[0], f"scribble.points[{i}].x"),
                           _finite_number(p[1], f"scribble.points[{i}].y")))
        object.__setattr__(self, "points", tuple(points))
        width = _finite_number(self.width, "scribble.width")
        if width <= 0:
            raise ValueError(f"scribble.width must be positive, got {width:g}")
        object.__setattr__(self, "width", width)
        if not isinstance(self.positive, (bool, np.bool_)):
            raise ValueError(f"scribble.positive must be a bool, got {type(self.positive).__name__}")

    def validate(self, shape: Tuple[int, int]) -> None:
        for i, (x, y) in enumerate(self.points):
            _inside(x, y, shape, f"scribble.points[{i}]")


    def extent(self) -> Tuple[float, float, float, float]:
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        return (min(xs), min(ys), max(xs), max(ys))


@dataclass(frozen=True, eq=False)
class CoarseMask:
    """A rough mask of the object, to be refined (same size as the image).

    Boolean, or numbers where ``> 0`` is the object; NaN and infinities are refused.
    """

    mask: np.ndarray = field(repr=False)

    kind = "mask"
    positive = True

    def __post_init__(self) -> None:
        try:
            mask = np.asarray(self.mask)
        except (ValueError, TypeError):
            raise ValueError("mask must be a 2-D array of numbers (rows of equal length)") from None
        if mask.ndim != 2:
            raise ValueError(f"mask must be a 2-D array, got shape {mask.shape}")
        if mask.dtype != bool:
            if mask.dtype.kind not in "iuf":
                raise ValueError(f"mask must be boolean, integer or float, got dtype {mask.dtype}")
            if mask.dtype.kind == "f" and not np.isfinite(mask).all():
                row, column = np.argwhere(~np.isfinite(mask))[0]
                raise ValueError(f"mask must be finite: it holds {mask[row, column]} at row {row}, column {column}")
            mask = mask > 0
        object.__setattr__(self, "mask", mask)

    def validate(self, shape: Tuple[int, int]) -> None:
        if self.mask.shape != tuple(shape):
            raise ValueError(f"mask shape {self.mask.shape} does not match the image {tuple(shape)}")
        if not self.mask.any():
            raise ValueError("mask is empty: a coarse mask needs at least one foreground pixel")


    def extent(self) -> Tuple[float, float, float, float]:
        ys, xs = np.nonzero(self.mask)
        return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))


Interaction = Union[Click, Box, Scribble, CoarseMask]
INTERACTION_TYPES = (Click, Box, Scribble, CoarseMask)
