"""The ML backend's behaviour: interactive refinement and pre-annotation, in Label Studio terms.

Interactive calls carry all regions of one type and label drawn so far; the session for
(task, image, rotation, label) applies only the ones it has not seen, and starts over
(replaying) when a region was moved or deleted. Batch calls pre-annotate: one mask per
rectangle the task already has.
"""
from __future__ import annotations

import logging
import threading
import uuid
from contextlib import contextmanager
from typing import Any, Dict, Hashable, Iterator, List, Optional, Sequence

import focalxl
import numpy as np

from focalxl.formats import labelstudio_brush as brush
from focalxl.hosts.labelstudio.label_config import BrushControl, brush_control
from focalxl.hosts.labelstudio.media import Media
from focalxl.hosts.labelstudio.picture import Picture
from focalxl.hosts.labelstudio.regions import Region, brush_mask, read_context, read_region, to_interaction
from .limits import Limits

logger = logging.getLogger(__name__)


class SessionLocks:
    """One lock per annotated object, so requests on it run one at a time (held only while in use)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._held: Dict[Hashable, list] = {}

    @contextmanager
    def hold(self, key: Hashable) -> Iterator[None]:
        with self._lock:
            entry = self._held.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._lock:
                entry[1] -= 1
                if not entry[1]:
                    del self._held[key]


class Backend:
    """Segments Label Studio tasks with one loaded ``focalxl.Segmenter``."""

    def __init__(self, segmenter: focalxl.Segmenter, media: Media, model_version: str,
                 store: Optional[focalxl.SessionStore] = None, limits: Optional[Limits] = None):
        self.segmenter = segmenter
        self.media = media
        self.model_version = model_version
        self.store = store if store is not None else focalxl.SessionStore()   # an empty store is falsy
        self.limits = limits or Limits()
        self.locks = SessionLocks()

    def predict(self, tasks: Any, label_config: Any, context: Any, project: str) -> List[Any]:
        """One entry per task: a prediction dict (interactive) or a list of them (batch)."""
        if not isinstance(tasks, list) or not tasks:
            raise ValueError("tasks must be a non-empty list of task objects")
        self.limits.check_tasks(len(tasks))
        for i, task in enumerate(tasks):
            _check_task(task, f"tasks[{i}]")
        if context is None:
            rectangles = [[r for r in _task_regions(task) if r.kind == "rectangle"] for task in tasks]
            self.limits.check_prompts(sum(map(len, rectangles)), "rectangles in tasks[].annotations and predictions")
            return [self.pre_annotate(task, found, label_config, project) for task, found in zip(tasks, rectangles)]
        if isinstance(context, dict) and isinstance(context.get("result"), list):
            self.limits.check_prompts(len(context["result"]), "params.context.result")
        regions = read_context(context)
        if not regions:   # the last region was deleted: nothing to suggest, and not an error either
            return [self._prediction([], 0.0)]
        return [self.interact(tasks[0], label_config, regions, project)]

    def interact(self, task: dict, label_config: Any, regions: List[Region], project: str) -> dict:
        """Refine the object of the regions' label and answer with its brush mask.

        Requests on one object (project, task, image, label, rotation) run one at a time
        on its session, so a repeated or overlapping request gets the mask a sequential
        run would give.
        """
        latest = regions[-1]
        control = brush_control(label_config, latest.to_name, latest.label)
        picture = self._picture(task, control, project)   # fetched outside the lock: a slow URL blocks no one else
        label = control.label_for(latest.label)
        with self.locks.hold((project, task.get("id"), control.to_name, label, latest.rotation)):
            return self._refine(task, control, label, regions, picture)

    def _refine(self, task: dict, control: BrushControl, label: Optional[str], regions: List[Region],
                picture: Picture) -> dict:
        latest = regions[-1]
        image = picture.displayed(latest.rotation)
        height, width = image.shape[:2]
        interactions = [to_interaction(region, width, height) for region in regions]
        start = self._start_mask(task, control, label, latest.rotation, width, height)
        key = (task.get("id"), latest.rotation, control.to_name, label,
               None if start is None else focalxl.image_digest(np.packbits(start)))
        session = self.store.get_or_create(picture.digest, key, lambda: self.segmenter.new_session(image, start))
        todo = _unseen(session.history, interactions)
        if todo is None:
            kept = [i for i in session.history if i.kind not in {x.kind for x in interactions}]
            session = self.segmenter.new_session(session.image, start)
            self.store.put(picture.digest, key, session)
            todo = kept + interactions
        result = session.result()
        for interaction in todo:
            result = session.add(interaction)
        self.store.update(picture.digest, key)   # the session grew; dropped if it outgrew the cap
        logger.info("task %s: %d new of %d interactions, mask of %d pixels", task.get("id"), len(todo),
                    len(interactions), int(result.mask.sum()))
        return self._prediction([self._brush_result(control, label, result.mask, result.score, latest.rotation)],
                                result.score)

    def pre_annotate(self, task: dict, rectangles: List[Region], label_config: Any, project: str) -> List[dict]:
        """One brush mask per rectangle of the task's annotations and predictions; ``[]`` when none."""
        if not rectangles:
            return []
        control = brush_control(label_config, rectangles[0].to_name)
        picture = self._picture(task, control, project)
        results, scores = [], []
        for region in rectangles:
            image = picture.displayed(region.rotation)
            box = to_interaction(region, image.shape[1], image.shape[0])
            result = self.segmenter.new_session(image).add(box)
            label = control.label_for(region.label)
            results.append(self._brush_result(control, label, result.mask, result.score, region.rotation))
            scores.append(result.score)
        return [self._prediction(results, float(np.mean(scores)))]

    def _picture(self, task: dict, control: BrushControl, project: str) -> Picture:
        field = f"task.data.{control.data_key}"
        if control.data_key not in task["data"]:
            raise ValueError(f"{field} is missing: the label config's Image reads ${control.data_key}")
        data = self.media.fetch(task["data"][control.data_key], task.get("id"), project, field)
        return Picture(focalxl.image_digest(data), data, self.segmenter.max_pixels)

    def _start_mask(self, task: dict, control: BrushControl, label: Optional[str], rotation: int,
                    width: int, height: int) -> Optional[np.ndarray]:
        """The newest annotation's brush regions of ``label`` on this image, merged; ``None`` if none."""
        for annotation in reversed(task.get("annotations") or []):
            regions = [r for r in _regions(annotation, "annotation") if r.kind == "brush" and r.label == label
                       and r.to_name in (None, control.to_name)]
            self.limits.check_prompts(len(regions), f"brush regions of {label!r} in the task's newest annotation")
            masks = []
            for region in regions:
                try:
                    masks.append(brush_mask(region, width, height, rotation))
                except ValueError as error:
                    logger.warning("task %s: existing brush ignored: %s", task.get("id"), error)
            if masks:
                return np.logical_or.reduce(masks)
        return None

    def _brush_result(self, control: BrushControl, label: Optional[str], mask: np.ndarray, score: float,
                      rotation: int) -> dict:
        value: Dict[str, Any] = {"format": "rle", "rle": brush.encode(mask)}
        if label is not None:
            value["brushlabels"] = [label]
        return {"id": uuid.uuid4().hex[:10], "from_name": control.from_name, "to_name": control.to_name,
                "type": "brushlabels" if control.labels else "brush", "original_width": int(mask.shape[1]),
                "original_height": int(mask.shape[0]), "image_rotation": rotation, "value": value,
                "score": score, "readonly": False}

    def _prediction(self, results: List[dict], score: float) -> dict:
        return {"result": results, "score": score, "model_version": self.model_version}


def _unseen(history: Sequence[focalxl.Interaction], interactions: List[focalxl.Interaction]):
    """The interactions the session has not applied, or ``None`` when its history disagrees."""
    seen = [i for i in history if i.kind in {x.kind for x in interactions}]
    if len(seen) > len(interactions) or not all(_same(a, b) for a, b in zip(seen, interactions)):
        return None
    return interactions[len(seen):]


def _same(a: focalxl.Interaction, b: focalxl.Interaction) -> bool:
    if isinstance(a, focalxl.CoarseMask) and isinstance(b, focalxl.CoarseMask):
        return np.array_equal(a.mask, b.mask)
    return a == b


def _check_task(task: Any, field: str) -> None:
    """The parts of a task the backend reads have the types Label Studio sends."""
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise ValueError(f"{field} must be an object with a 'data' object")
    task_id = task.get("id")
    if task_id is not None and (isinstance(task_id, bool) or not isinstance(task_id, (int, str))):
        raise ValueError(f"{field}.id must be an integer, got {type(task_id).__name__}")
    for source in ("annotations", "predictions"):
        if task.get(source) is not None and not isinstance(task[source], list):
            raise ValueError(f"{field}.{source} must be a list, got {type(task[source]).__name__}")


def _task_regions(task: dict) -> List[Region]:
    regions = []
    for source in ("annotations", "predictions"):
        for i, entry in enumerate(task.get(source) or []):
            regions += _regions(entry, f"task.{source}[{i}]")
    return regions


def _regions(entry: Any, field: str) -> List[Region]:
    """The well-formed image regions of an annotation or prediction (others are not ours to judge)."""
    items = entry.get("result") if isinstance(entry, dict) else None
    regions = []
    for j, item in enumerate(items if isinstance(items, list) else []):
        try:
            regions.append(read_region(item, f"{field}.result[{j}]"))
        except ValueError:
            continue
    return regions
