"""A COCO file like the input, each segmented annotation with its mask.

``segmentation`` becomes the compressed RLE, ``area`` and ``bbox`` are pycocotools'
for that RLE, ``score`` is added; everything else (ids, categories, failed and
unprompted annotations) is kept as it was. The file is written once, at the end, from
the journal, in the input's order, so a resumed or Ray-run job writes the same bytes.
"""
from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path
from typing import Dict, List

from ...formats import coco_rle
from ..sources.coco import item_key
from ..work import ImageWork, Outcome


class CocoSink:
    """Collects outcomes; ``close`` writes ``out`` atomically."""

    def __init__(self, data: dict, out: str):
        self.data = data
        self.out = Path(out)
        self.outcomes: Dict[str, Outcome] = {}

    def deliver(self, work: ImageWork, outcomes: List[Outcome]) -> None:
        for outcome in outcomes:
            if outcome.ok:
                self.outcomes[outcome.key] = outcome

    def close(self) -> None:
        write_atomically(self.out, json.dumps(self.document(), separators=(",", ":")).encode())

    def document(self) -> dict:
        out = copy.copy(self.data)
        annotations = []
        for index, annotation in enumerate(self.data["annotations"]):
            outcome = self.outcomes.get(item_key(annotation, index)) if isinstance(annotation, dict) else None
            if outcome is not None:
                annotation = dict(annotation, segmentation=outcome.rle, area=coco_rle.area(outcome.rle),
                                  bbox=coco_rle.bbox(outcome.rle), score=round(outcome.score, 6))
            annotations.append(annotation)
        out["annotations"] = annotations
        return out


def write_atomically(path: Path, data: bytes) -> None:
    """Write beside ``path``, flush to disk, rename over it: ``path`` is always whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
