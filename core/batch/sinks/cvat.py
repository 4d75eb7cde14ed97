"""Masks as CVAT mask shapes: uploaded through ``cvat-sdk``, or written as CVAT for images 1.1 XML.

Upload: per frame, one ``type="mask"`` shape per object (``points`` from
``focalxl.formats.cvat_mask``, equal to ``cvat_sdk.masks.encode_mask``), the source
shape's label, ``source="auto"`` and the score, created with a PATCH ``action=create``.
A mask identical to one already on the frame (same label and RLE: an earlier run's,
whether or not its journal entry was written) is not sent again.

Export: the task's frames with their shapes as they were plus the new ``<mask>``
elements, written atomically when the job ends; datumaro (what CVAT imports with)
reads the masks back.
"""
from __future__ import annotations

import hashlib
import json
from typing import Dict, List, Set, Tuple
from xml.sax.saxutils import quoteattr

from ...formats import coco_rle, cvat_mask
from ..annotate import UploadError
from ..journal import Journal
from ..sources.cvat import TaskData, mask_signature
from ..work import ImageWork, Outcome
from .coco import write_atomically


class CvatUploadSink:
    """Creates the masks of each delivered frame in task ``data.task_id``."""

    def __init__(self, client, data: TaskData, journal: Journal):
        self.task = client.tasks.retrieve(data.task_id)
        self.journal = journal
        self.present: Set[str] = {mask_signature(s.frame, s.label_id, s.points)
                                  for s in data.shapes if str(s.type) == "mask"}

    def deliver(self, work: ImageWork, outcomes: List[Outcome]) -> None:
        from cvat_sdk.api_client import models
        from cvat_sdk.core.proxies.annotations import AnnotationUpdateAction

        labels = {item.key: item.label for item in work.items}
        frame = work.image.number
        shapes = [(labels[o.key], cvat_mask.encode(coco_rle.decode(o.rle)), o.score) for o in outcomes]
        signatures = sorted(mask_signature(frame, label, points) for label, points, _ in shapes)
        content = hashlib.sha256(json.dumps(signatures).encode()).hexdigest()
        known = self.journal.upload(work.key)
        if known is not None and known[1] == content:
            return
        new = [(label, points, score) for label, points, score in shapes
               if mask_signature(frame, label, points) not in self.present]
        if new:
            request = models.PatchedLabeledDataRequest(shapes=[
                models.LabeledShapeRequest(type="mask", frame=frame, label_id=label, points=[float(v) for v in points],
                                           source="auto", occluded=False, z_order=0, score=round(score, 6),
                                           attributes=[])
                for label, points, score in new])
            try:
                self.task.update_annotations(request, action=AnnotationUpdateAction.CREATE)
            except Exception as error:  # the SDK raises ApiException, urllib3 and validation errors
                raise UploadError(f"frame {frame}: {type(error).__name__}: {str(error)[:300]}") from None
            self.present.update(mask_signature(frame, label, points) for label, points, _ in new)
        self.journal.uploaded(work.key, json.dumps(signatures), content)

    def close(self) -> None:
        pass


class CvatXmlSink:
    """Collects masks; ``close`` writes the task as CVAT for images 1.1 XML to ``out``."""

    def __init__(self, data: TaskData, out: str):
        self.data = data
        self.out = out
        self.masks: Dict[int, List[Tuple[int, Outcome]]] = {}

    def deliver(self, work: ImageWork, outcomes: List[Outcome]) -> None:
        labels = {item.key: item.label for item in work.items}
        self.masks[work.image.number] = [(labels[o.key], o) for o in outcomes]

    def close(self) -> None:
        from pathlib import Path

        write_atomically(Path(self.out), self.document().encode("utf-8"))

    def document(self) -> str:
        data = self.data
        lines = ['<?xml version="1.0" encoding="utf-8"?>', "<annotations>", "  <version>1.1</version>", "  <meta>",
                 "    <task>", f"      <id>{data.task_id}</id>", f"      <name>{_text(data.name)}</name>",
                 f"      <size>{len(data.frames)}</size>", "      <mode>annotation</mode>", "      <labels>"]
        for name in data.labels.values():
            lines += ["        <label>", f"          <name>{_text(name)}</name>", "          <type>any</type>",
                      "          <attributes></attributes>", "        </label>"]
        lines += ["      </labels>", "    </task>", "  </meta>"]
        shapes: Dict[int, List[object]] = {}
        for shape in data.shapes:
            shapes.setdefault(shape.frame, []).append(shape)
        for number, frame in enumerate(data.frames):
            if number in data.deleted:
                continue
            lines.append(f'  <image id="{number}" name={quoteattr(frame.name)} width="{frame.width}" '
                         f'height="{frame.height}">')
            lines += ["    " + _shape(s, data.labels) for s in shapes.get(number, []) if _shape(s, data.labels)]
            for label, outcome in sorted(self.masks.get(number, []), key=lambda m: m[1].key):
                xml = cvat_mask.encode_xml(coco_rle.decode(outcome.rle))
                lines.append(f'    <mask label={quoteattr(data.labels[label])} source="auto" occluded="0" '
                             f'rle="{xml.rle}" left="{xml.left}" top="{xml.top}" width="{xml.width}" '
                             f'height="{xml.height}" z_order="0"></mask>')
            lines.append("  </image>")
        lines.append("</annotations>")
        return "\n".join(lines) + "\n"


def _shape(shape, labels: Dict[int, str]) -> str:
    """A task shape as its CVAT for images 1.1 element (``""`` for kinds this writer does not know)."""
    kind, points = str(shape.type), [float(v) for v in shape.points]
    common = (f'label={quoteattr(labels.get(shape.label_id, str(shape.label_id)))} '
              f'source={quoteattr(str(shape.source or "manual"))} occluded="{int(bool(shape.occluded))}" '
              f'z_order="{int(shape.z_order or 0)}"')
    if kind == "rectangle":
        x0, y0, x1, y1 = points[:4]
        rotation = f' rotation="{float(shape.rotation):.2f}"' if shape.rotation else ""   # as CVAT writes it
        return f'<box {common} xtl="{x0:.2f}" ytl="{y0:.2f}" xbr="{x1:.2f}" ybr="{y1:.2f}"{rotation}></box>'
    if kind in ("polygon", "polyline", "points"):
        pairs = ";".join(f"{points[i]:.2f},{points[i + 1]:.2f}" for i in range(0, len(points) - 1, 2))
        return f'<{kind} {common} points="{pairs}"></{kind}>'
    if kind == "mask":
        *runs, x1, y1, x2, y2 = [int(v) for v in points]
        return f'<mask {common} rle="{",".join(map(str, runs))}" left="{x1}" top="{y1}" ' \
               f'width="{x2 - x1 + 1}" height="{y2 - y1 + 1}"></mask>'
    return ""


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
