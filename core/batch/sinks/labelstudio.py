"""Masks as Label Studio predictions, created through ``label-studio-sdk``.

One prediction per task image: a ``brushlabels`` result per object (Label Studio brush
RLE from ``focalxl.formats.labelstudio_brush``, the object's label and ``score``) on the
project's brush control, with ``model_version`` and the mean score. A region's id is
derived from its source region, so a rerun finds its own prediction (in the journal, or
on the server after a crash between the upload and the journal) and updates it instead
of adding a second one.
"""
from __future__ import annotations

import hashlib
import json
from typing import Dict, List, Optional

import numpy as np

from ...formats import coco_rle
from ...formats import labelstudio_brush as brush
from ..annotate import UploadError
from ..journal import Journal
from ..sources.labelstudio import Server
from ..work import ImageWork, Outcome


class LabelStudioSink:
    """Creates or updates one prediction per delivered task image."""

    def __init__(self, server: Server, project: int, control, model_version: str, journal: Journal):
        self.client = server.client()
        self.project = project
        self.control = control
        self.model_version = model_version
        self.journal = journal

    def deliver(self, work: ImageWork, outcomes: List[Outcome]) -> None:
        if not outcomes:
            return
        labels = {item.key: item.label for item in work.items}
        rotation = work.image.rotation
        results = [self.region(o, labels.get(o.key), rotation) for o in outcomes]
        score = float(np.mean([o.score for o in outcomes]))
        content = hashlib.sha256(json.dumps(results, sort_keys=True).encode()).hexdigest()
        task = work.image.task_id
        try:
            known = self.journal.upload(work.key)
            if known is not None and known[1] == content:
                return
            remote = known[0] if known is not None else self._find(task, {r["id"] for r in results})
            if remote is None:
                remote = self.client.predictions.create(task=task, project=self.project, result=results, score=score,
                                                        model_version=self.model_version).id
            else:       # Label Studio validates an update against the project's config only when told the project
                self.client.predictions.update(int(remote), task=task, project=self.project, result=results,
                                               score=score, model_version=self.model_version)
        except Exception as error:  # the SDK raises httpx and API errors of its own
            raise UploadError(f"task {task}: {describe(error)}") from None
        self.journal.uploaded(work.key, str(remote), content)

    def close(self) -> None:
        pass

    def region(self, outcome: Outcome, label: Optional[str], rotation: int) -> dict:
        """One ``brushlabels`` (or ``brush``) result item for an outcome."""
        mask = coco_rle.decode(outcome.rle)
        value: Dict[str, object] = {"format": "rle", "rle": brush.encode(mask)}
        if label is not None:
            value["brushlabels"] = [label]
        return {"id": region_id(outcome.key), "from_name": self.control.from_name, "to_name": self.control.to_name,
                "type": "brushlabels" if self.control.labels else "brush", "original_width": int(mask.shape[1]),
                "original_height": int(mask.shape[0]), "image_rotation": rotation, "value": value,
                "score": round(outcome.score, 6), "readonly": False}

    def _find(self, task: int, ids: set) -> Optional[str]:
        """Our prediction on ``task`` holding any of the region ``ids`` (an upload the journal missed)."""
        for prediction in self.client.predictions.list(task=task):
            if prediction.model_version == self.model_version and \
                    ids & {r.get("id") for r in prediction.result or [] if isinstance(r, dict)}:
                return str(prediction.id)
        return None


def describe(error: Exception) -> str:
    """An SDK error in one line: the HTTP status and body for API errors (not the response headers)."""
    status = getattr(error, "status_code", None)
    if status is not None:
        return f"HTTP {status}: {str(getattr(error, 'body', ''))[:300]}"
    return f"{type(error).__name__}: {str(error)[:300]}"


def region_id(item_key: str) -> str:
    """A stable region id for a source item (Label Studio shows ids of up to 10 characters)."""
    return "fx" + hashlib.sha1(item_key.encode()).hexdigest()[:8]
