"""A Label Studio project as batch work, read through ``label-studio-sdk``.

Every region of a task's newest annotation (or, on a task nobody annotated yet, of
other models' predictions, e.g. a detector's boxes) is one object: a rectangle offers
a box, a keypoint a click (``is_positive``), a brush a mask to refine. Regions are read
and placed, and images fetched (``Media``: ``focalxl.fetch`` rules, timeouts, size cap, public
addresses or the configured server only) and shown as the labeling page shows them (EXIF,
rotation), by ``focalxl.hosts.labelstudio``, which the Label Studio door uses too.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from ...fetch import FetchPolicy
from ...formats import coco_rle
from ...hosts.labelstudio.label_config import brush_control
from ...hosts.labelstudio.media import Media, Server as MediaServer
from ...hosts.labelstudio.picture import Picture
from ...hosts.labelstudio.regions import read_region, to_interaction
from ...store import image_digest
from .. import prompts
from ..work import ImageWork, Item

# the region kinds --prompt reads (others are not objects of the job)
PROMPT_REGIONS = {"box": ("rectangle",), "points": ("keypoint",), "mask": ("brush",),
                  "auto": ("rectangle", "keypoint", "brush")}
_MEDIA: Dict[Tuple[str, str], object] = {}
_MEDIA_LOCK = threading.Lock()


@dataclass(frozen=True)
class Server:
    """Where Label Studio is and the API key (legacy token or personal access token)."""

    url: str
    api_key: str

    @classmethod
    def from_environment(cls) -> "Server":
        url = os.environ.get("LABEL_STUDIO_URL") or os.environ.get("LABEL_STUDIO_HOST")
        key = os.environ.get("LABEL_STUDIO_API_KEY") or os.environ.get("LABEL_STUDIO_ACCESS_TOKEN")
        if not url or not url.lower().startswith(("http://", "https://")):
            raise ValueError("LABEL_STUDIO_URL must be set to the server's http(s):// address")
        if not key:
            raise ValueError("LABEL_STUDIO_API_KEY must be set to an access token of the server")
        return cls(url.rstrip("/"), key)

    def client(self):
        from label_studio_sdk import LabelStudio

        return LabelStudio(base_url=self.url, api_key=self.api_key, timeout=FetchPolicy.from_env().deadline)


@dataclass(frozen=True)
class TaskImage:
    """A task's image, fetched in the worker and turned as the labeling page shows it."""

    server: Server
    url: str
    task_id: int
    project: int
    field: str
    rotation: int = 0

    def load(self) -> np.ndarray:
        data = _media(self.server).fetch(self.url, self.task_id, str(self.project), self.field)
        return Picture(image_digest(data), data, 100_000_000).displayed(self.rotation)


def _media(server: Server):
    """One ``Media`` per process and server (it caches tokens and holds locks: not picklable)."""
    with _MEDIA_LOCK:
        key = (server.url, server.api_key)
        if key not in _MEDIA:
            _MEDIA[key] = Media(MediaServer(server.url, server.api_key), FetchPolicy.from_env())
        return _MEDIA[key]


@dataclass
class LabelStudioSource:
    """The tasks of ``project``; ``model_version`` names our predictions (never read as prompts)."""

    server: Server
    project: int
    model_version: str
    prompt: str = "auto"
    limit: Optional[int] = None

    def control(self):
        """The project's brush control the masks are written to."""
        project = self.server.client().projects.get(id=self.project)
        return brush_control(project.label_config)

    def works(self, control) -> List[ImageWork]:
        client = self.server.client()
        works: List[ImageWork] = []
        count = 0
        for task in client.tasks.list(project=self.project, fields="all", page_size=100):
            task = task.dict() if hasattr(task, "dict") else dict(task)
            regions = self._regions(task, control)
            if self.limit is not None:
                regions = regions[:max(0, self.limit - count)]
            count += len(regions)
            works += self._task_works(task, control, regions)
            if self.limit is not None and count >= self.limit:
                break
        return works

    def _regions(self, task: dict, control) -> List[Tuple[str, object]]:
        """``(source key, Region)`` pairs on the control's image, from the newest annotation or other models."""
        annotations = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
        if annotations:
            entries = [("annotation", max(annotations, key=lambda a: a.get("id") or 0))]
        else:
            entries = [("prediction", p) for p in task.get("predictions") or []
                       if p.get("model_version") != self.model_version]
        regions = []
        for kind, entry in entries:
            for index, result in enumerate(entry.get("result") or []):
                try:
                    region = read_region(result, f"task {task.get('id')} {kind} {entry.get('id')}")
                except ValueError:
                    continue        # other tools' results (text, choices, ...) are not prompts
                if region.to_name in (None, control.to_name) and region.kind in PROMPT_REGIONS[self.prompt]:
                    regions.append((f"{kind}/{entry.get('id')}/{result.get('id') or index}", region))
        return regions

    def _task_works(self, task: dict, control, regions) -> List[ImageWork]:
        task_id = task["id"]
        field = f"task {task_id} data.{control.data_key}"
        url = (task.get("data") or {}).get(control.data_key)
        by_rotation: Dict[int, List[Item]] = {}
        sizes: Dict[int, Tuple[int, int]] = {}
        for key, region in regions:
            by_rotation.setdefault(region.rotation, []).append(self._item(task_id, key, region, control))
            if region.original_size is not None:
                sizes.setdefault(region.rotation, region.original_size[::-1])
        # the worker checks the displayed image against the size the regions were placed on
        return [ImageWork(key=f"labelstudio/task/{task_id}/rotation/{rotation}", name=f"task-{task_id}",
                          image=TaskImage(self.server, url, task_id, self.project, field, rotation),
                          items=tuple(items), size=sizes.get(rotation))
                for rotation, items in by_rotation.items()]

    def _item(self, task_id: int, key: str, region, control) -> Item:
        key = f"labelstudio/task/{task_id}/{key}"
        label = control.label_for(region.label)
        try:
            return Item(key, prompts.choose(self.prompt, offered(region)), label)
        except ValueError as error:
            return Item(key, {}, label, failure=f"region: {error}")


def offered(region) -> Dict[str, object]:
    """The geometry a region offers, in pixels of its image as displayed (``original_width/height``)."""
    if region.original_size is None:
        raise ValueError(f"{region.field} has no original_width/original_height to place it on the image")
    width, height = region.original_size
    interaction = to_interaction(region, width, height)
    if region.kind == "rectangle":
        return {"box": [interaction.x0, interaction.y0, interaction.x1, interaction.y1]}
    if region.kind == "keypoint":
        return {"points": [[interaction.x, interaction.y, int(interaction.positive)]]}
    return {"mask": coco_rle.encode(interaction.mask)}
