"""Prompts from what a source annotation already has, as engine interactions.

A source offers some of three geometries, in pixels of the image as loaded:

* ``box``: ``[x0, y0, x1, y1]`` -> one ``Box``;
* ``points``: ``[[x, y, positive], ...]`` -> ``Click``s in order (``positive`` 1 or 0);
* ``mask``: a COCO compressed RLE -> one ``CoarseMask`` to refine.

``--prompt box|points|mask`` takes that geometry (the item fails when the annotation
lacks it); ``auto`` takes the richest one it has: mask, then box, then points.
A prompt is a small JSON-able dict, so the journal can key results by its digest.
"""
from __future__ import annotations

import hashlib
import json
from typing import Dict, List, Optional

from ..formats import coco_rle
from ..interactions import Box, Click, CoarseMask, Interaction

MODES = ("box", "points", "mask", "auto")
AUTO_ORDER = ("mask", "box", "points")


class MissingPrompt(ValueError):
    """The annotation has nothing the chosen prompt mode can use."""


def choose(mode: str, offered: Dict[str, object]) -> Dict[str, object]:
    """The prompt ``{kind: geometry}`` that ``mode`` takes from the ``offered`` geometries."""
    if mode not in MODES:
        raise ValueError(f"prompt must be one of {', '.join(MODES)}, got {mode!r}")
    kinds = AUTO_ORDER if mode == "auto" else (mode,)
    for kind in kinds:
        if offered.get(kind) is not None:
            return {kind: offered[kind]}
    has = ", ".join(k for k in AUTO_ORDER if offered.get(k) is not None) or "nothing usable"
    raise MissingPrompt(f"no {' or '.join(kinds)} to prompt with (the annotation has {has})")


def to_interactions(prompt: Dict[str, object]) -> List[Interaction]:
    """The interactions a prompt stands for, applied in order to a fresh session."""
    (kind, geometry), = prompt.items()
    if kind == "box":
        return [Box(*geometry)]
    if kind == "points":
        return [Click(float(x), float(y), bool(positive)) for x, y, positive in geometry]
    if kind == "mask":
        return [CoarseMask(coco_rle.decode(geometry))]
    raise ValueError(f"unknown prompt kind {kind!r}")


def digest(prompt: Dict[str, object], model: str) -> str:
    """A stable key for (prompt, model): the journal reuses a result only for the same pair."""
    text = json.dumps([prompt, model], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def box_from_xywh(bbox: object) -> Optional[List[float]]:
    """COCO ``[x, y, width, height]`` -> ``[x0, y0, x1, y1]``; ``None`` when absent or degenerate."""
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
        return None
    x, y, w, h = (float(v) for v in bbox)
    if w <= 0 or h <= 0:
        return None
    return [x, y, x + w, y + h]
