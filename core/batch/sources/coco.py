"""A COCO annotation file and its image folder as batch work.

Each annotation is one object: its ``bbox`` offers a box, its ``keypoints`` (visible
ones) or a ``points`` list (``[[x, y], ...]`` or ``[[x, y, 1|0], ...]``, 0 negative)
offer clicks, its ``segmentation`` (polygons or RLE) offers a mask to refine.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from ...formats import coco_rle
from .. import prompts
from ..work import ImageFile, ImageWork, Item

MAX_FILE_BYTES = 4 * 1024 ** 3


@dataclass
class CocoSource:
    """``annotations`` (a COCO json file) with images under ``images``."""

    annotations: str
    images: str
    prompt: str = "auto"
    limit: Optional[int] = None

    def read(self) -> dict:
        path = Path(self.annotations)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ValueError(f"{path} is over {MAX_FILE_BYTES} bytes")
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"cannot read COCO file {str(path)!r}: {error}") from None
        for field in ("images", "annotations"):
            if not isinstance(data.get(field) if isinstance(data, dict) else None, list):
                raise ValueError(f"COCO file {str(path)!r} has no '{field}' list")
        return data

    def works(self, data: dict) -> List[ImageWork]:
        """One ``ImageWork`` per image with annotations, in file order (``limit``: the first N annotations)."""
        images = {image.get("id"): image for image in data["images"] if isinstance(image, dict)}
        annotations = [a for a in data["annotations"] if isinstance(a, dict)]
        if self.limit is not None:
            annotations = annotations[:self.limit]
        by_image: Dict[object, List[Item]] = {}
        for index, annotation in enumerate(annotations):
            by_image.setdefault(annotation.get("image_id"), []).append(
                self._item(annotation, index, images.get(annotation.get("image_id"))))
        works = []
        for image_id, items in by_image.items():
            image = images.get(image_id) or {}
            name = image.get("file_name")
            path = str(Path(self.images) / name) if isinstance(name, str) and name else ""
            size = (image.get("height"), image.get("width"))
            works.append(ImageWork(key=f"coco/image/{image_id}", name=Path(path).stem or f"image-{image_id}",
                                   image=ImageFile(path), items=tuple(items),
                                   size=size if all(isinstance(v, int) for v in size) else None))
        return works

    def _item(self, annotation: dict, index: int, image: Optional[dict]) -> Item:
        key = item_key(annotation, index)
        label = annotation.get("category_id")
        if image is None:
            return Item(key, {}, label, failure=f"annotation: image_id {annotation.get('image_id')!r} "
                                                "is not in 'images'")
        try:
            return Item(key, prompts.choose(self.prompt, offered(annotation, image)), label)
        except (ValueError, TypeError) as error:
            return Item(key, {}, label, failure=f"annotation: {error}")


def item_key(annotation: dict, index: int) -> str:
    """``coco/annotation/<id>``; by position when the annotation has no id."""
    identifier = annotation.get("id")
    return f"coco/annotation/{identifier}" if identifier is not None else f"coco/annotation-index/{index}"


def offered(annotation: dict, image: dict) -> Dict[str, object]:
    """The geometries a COCO annotation offers as prompts (see ``focalxl.batch.prompts``)."""
    offer: Dict[str, object] = {"box": prompts.box_from_xywh(annotation.get("bbox"))}
    points = _points(annotation)
    if points:
        offer["points"] = points
    segmentation = annotation.get("segmentation")
    if segmentation:
        height, width = image.get("height"), image.get("width")
        if not (isinstance(height, int) and isinstance(width, int)):
            raise ValueError("a segmentation prompt needs the image's 'height' and 'width'")
        offer["mask"] = coco_rle.from_segmentation(segmentation, height, width)
    return offer


def _points(annotation: dict) -> List[List[float]]:
    if isinstance(annotation.get("points"), list):
        points = []
        for point in annotation["points"]:
            if not isinstance(point, (list, tuple)) or len(point) not in (2, 3):
                raise ValueError("points must be [x, y] or [x, y, 1|0] pairs")
            points.append([float(point[0]), float(point[1]), int(point[2]) if len(point) == 3 else 1])
        return points
    keypoints = annotation.get("keypoints")
    if isinstance(keypoints, list) and len(keypoints) % 3 == 0:
        return [[float(keypoints[i]), float(keypoints[i + 1]), 1]
                for i in range(0, len(keypoints), 3) if keypoints[i + 2] > 0]
    return []
