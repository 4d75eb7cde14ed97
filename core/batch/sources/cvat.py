"""A CVAT task as batch work, read through ``cvat-sdk``.

Every shape of the task is one object: a rectangle offers a box, a points shape clicks
(all positive: CVAT points have no polarity), a polygon or a mask shape a mask to
refine. ``--prompt KIND`` reads only the shapes that offer KIND; ``auto`` reads all but
our own masks from earlier runs (the journal knows them: keep it beside the task).
Frames are downloaded with ``focalxl.fetch`` (timeouts, size cap; the configured CVAT
host is trusted, redirects elsewhere must be public) in the worker that segments them.
Tracks are not read.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ... import image_files
from ...fetch import FetchPolicy
from ...formats import coco_rle, cvat_mask
from .. import prompts
from ..work import ImageWork, Item


@dataclass(frozen=True)
class Server:
    """Where CVAT is and how to sign in: a personal access token, or a user and password."""

    host: str
    access_token: Optional[str] = None
    user: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)

    @classmethod
    def from_environment(cls) -> "Server":
        host = os.environ.get("CVAT_HOST")
        if not host:
            raise ValueError("CVAT_HOST must be set to the CVAT server's address")
        token, user, password = (os.environ.get(k) for k in ("CVAT_ACCESS_TOKEN", "CVAT_USER", "CVAT_PASSWORD"))
        if not token and not (user and password):
            raise ValueError("set CVAT_ACCESS_TOKEN, or CVAT_USER and CVAT_PASSWORD")
        return cls(host if "://" in host else f"https://{host}", token or None, user, password)

    def client(self):
        from cvat_sdk import make_client

        if self.access_token:
            return make_client(self.host, access_token=self.access_token)
        return make_client(self.host, credentials=(self.user, self.password))


def auth_headers(client) -> Dict[str, str]:
    """The headers a signed-in ``cvat-sdk`` client sends: its token, or its session cookies and CSRF token."""
    configuration = client.api_client.configuration
    if configuration.access_token:
        return {"Authorization": f"Bearer {configuration.access_token}"}
    cookies = client.api_client.cookies
    return {"Cookie": "; ".join(f"{name}={cookies[name].value}" for name in ("sessionid", "csrftoken")
                                if name in cookies),
            "X-CSRFToken": cookies["csrftoken"].value if "csrftoken" in cookies else ""}


@dataclass(frozen=True)
class Frame:
    """One frame of a CVAT task, in its original quality."""

    host: str
    task_id: int
    number: int
    headers: Tuple[Tuple[str, str], ...] = field(repr=False)

    def load(self) -> np.ndarray:
        policy = FetchPolicy.from_env().trusting(self.host)
        url = f"{self.host.rstrip('/')}/api/tasks/{self.task_id}/data/?type=frame&quality=original&number={self.number}"
        data = policy.fetch(url, headers=dict(self.headers))
        return image_files.decode_image(data, f"frame {self.number}", 100_000_000)


@dataclass
class TaskData:
    """What the job reads from the task once: frames, labels and shapes (as the SDK's models)."""

    task_id: int
    name: str
    frames: List[object]            # IFrameMeta, in frame order
    deleted: Sequence[int]
    labels: Dict[int, str]
    shapes: List[object]            # ILabeledShape


def mask_signature(frame: int, label: int, points: Sequence[float]) -> str:
    """What identifies a mask shape across reruns: frame, label and RLE (CVAT ids are not ours to set)."""
    text = json.dumps([int(frame), int(label), [int(v) for v in points]], separators=(",", ":"))
    return hashlib.sha1(text.encode()).hexdigest()


@dataclass
class CvatSource:
    """The shapes of task ``task_id``; ``ours`` are signatures of masks an earlier run uploaded."""

    server: Server
    task_id: int
    prompt: str = "auto"
    limit: Optional[int] = None
    ours: frozenset = frozenset()

    def read(self, client) -> TaskData:
        task = client.tasks.retrieve(self.task_id)
        meta = task.get_meta()
        return TaskData(self.task_id, task.name, list(meta.frames), list(meta.deleted_frames or []),
                        {label.id: label.name for label in task.get_labels()}, list(task.get_annotations().shapes))

    def works(self, data: TaskData, headers: Dict[str, str]) -> List[ImageWork]:
        kinds = SHAPE_TYPES if self.prompt == "auto" else PROMPT_SHAPES[self.prompt]
        shapes = [s for s in data.shapes if str(s.type) in kinds and s.frame not in data.deleted
                  and not (str(s.type) == "mask" and mask_signature(s.frame, s.label_id, s.points) in self.ours)]
        if self.limit is not None:
            shapes = shapes[:self.limit]
        by_frame: Dict[int, List[Item]] = {}
        for shape in shapes:
            by_frame.setdefault(shape.frame, []).append(self._item(shape, data))
        frozen = tuple(sorted(headers.items()))
        return [ImageWork(key=f"cvat/task/{data.task_id}/frame/{number}", name=f"frame-{number:06d}",
                          image=Frame(self.server.host, data.task_id, number, frozen), items=tuple(items),
                          size=(data.frames[number].height, data.frames[number].width))
                for number, items in sorted(by_frame.items())]

    def _item(self, shape, data: TaskData) -> Item:
        key = f"cvat/task/{data.task_id}/shape/{shape.id}"
        try:
            frame = data.frames[shape.frame]
            return Item(key, prompts.choose(self.prompt, offered(shape, frame.width, frame.height)), shape.label_id)
        except (ValueError, IndexError) as error:
            return Item(key, {}, shape.label_id, failure=f"shape: {error}")


SHAPE_TYPES = ("rectangle", "points", "polygon", "mask")
PROMPT_SHAPES = {"box": ("rectangle",), "points": ("points",), "mask": ("polygon", "mask")}   # --prompt KIND reads


def offered(shape, width: int, height: int) -> Dict[str, object]:
    """The geometry a CVAT shape offers as a prompt, in frame pixels."""
    kind, points = str(shape.type), [float(v) for v in shape.points]
    if kind == "rectangle":
        if getattr(shape, "rotation", 0):
            raise ValueError("rotated rectangles are not prompts")
        x0, y0, x1, y1 = points[:4]     # CVAT lets boxes overhang the frame: keep the part on it
        return {"box": [min(max(x0, 0.0), width), min(max(y0, 0.0), height),
                        min(max(x1, 0.0), width), min(max(y1, 0.0), height)]}
    if kind == "points":
        return {"points": [[points[i], points[i + 1], 1] for i in range(0, len(points) - 1, 2)]}
    if kind == "polygon":
        return {"mask": coco_rle.from_segmentation([points], height, width)}
    return {"mask": coco_rle.encode(cvat_mask.decode(points, width, height))}
