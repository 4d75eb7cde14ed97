"""Synthetic COCO sets for the batch jobs: textured pictures with disks and squares whose masks are known."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List

import cv2
import numpy as np

COLOURS = [(220, 40, 50), (40, 60, 220), (240, 220, 40)]


@dataclass
class CocoSet:
    """A COCO file, its image folder and the true mask of every annotation (by id)."""

    annotations: Path
    images: Path
    truth: Dict[int, np.ndarray] = field(repr=False)
    data: dict = field(repr=False)


def picture(height: int, width: int, shapes: List[dict], seed: int):
    """A striped noisy background with filled shapes; each shape's true mask."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    image = np.stack([60 + 40 * np.sin(xx / 5.0), 110 + 30 * np.cos(yy / 7.0), 70 + 20 * np.sin((xx + yy) / 9.0)], -1)
    image += rng.normal(0, 12, image.shape)
    masks = []
    for i, shape in enumerate(shapes):
        if shape["kind"] == "disk":
            mask = (xx + 0.5 - shape["cx"]) ** 2 + (yy + 0.5 - shape["cy"]) ** 2 <= shape["r"] ** 2
        else:
            mask = (abs(xx + 0.5 - shape["cx"]) <= shape["r"]) & (abs(yy + 0.5 - shape["cy"]) <= shape["r"])
        colour = np.array(COLOURS[i % len(COLOURS)], float) + rng.normal(0, 10, image.shape)
        image = np.where(mask[..., None], colour, image)
        masks.append(mask)
    return np.clip(image, 0, 255).astype(np.uint8), masks


def make_coco_set(root: Path, images: int = 3, height: int = 180, width: int = 240, seed: int = 0,
                  geometry=("bbox",)) -> CocoSet:
    """``images`` pictures with two objects each; annotations carry the requested ``geometry``:
    ``bbox`` (a box 3 px around the object), ``keypoints`` (its centre), ``segmentation``
    (a rough polygon, ``rough_outline``)."""
    folder = root / "images"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    data = {"info": {"description": "synthetic"}, "images": [], "annotations": [],
            "categories": [{"id": 1, "name": "disk"}, {"id": 2, "name": "square"}]}
    truth = {}
    for index in range(images):
        shapes = [{"kind": "disk", "cx": 60 + rng.uniform(-8, 8), "cy": 70 + rng.uniform(-8, 8), "r": 32},
                  {"kind": "square", "cx": 170 + rng.uniform(-8, 8), "cy": 100 + rng.uniform(-8, 8), "r": 28}]
        image, masks = picture(height, width, shapes, seed * 100 + index)
        name = f"{index:06d}.png"
        cv2.imwrite(str(folder / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        data["images"].append({"id": index + 1, "file_name": name, "height": height, "width": width})
        for k, (shape, mask) in enumerate(zip(shapes, masks)):
            annotation_id = 100 * (index + 1) + k
            ys, xs = np.nonzero(mask)
            annotation = {"id": annotation_id, "image_id": index + 1, "category_id": 1 + k, "iscrowd": 0}
            if "bbox" in geometry:
                annotation["bbox"] = [float(xs.min() - 3), float(ys.min() - 3),
                                      float(xs.max() - xs.min() + 7), float(ys.max() - ys.min() + 7)]
            if "keypoints" in geometry:
                annotation["keypoints"] = [shape["cx"], shape["cy"], 2]
                annotation["num_keypoints"] = 1
            if "segmentation" in geometry:
                annotation["segmentation"] = [rough_outline(shape, rng)]
            data["annotations"].append(annotation)
            truth[annotation_id] = mask
    path = root / "instances.json"
    path.write_text(json.dumps(data))
    return CocoSet(path, folder, truth, data)


def rough_outline(shape: dict, rng: np.random.Generator) -> List[float]:
    """A polygon a hurried annotator draws: the outline's corners (16 for a disk) moved up to 4 px."""
    if shape["kind"] == "disk":
        angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        points = [(shape["cx"] + shape["r"] * np.cos(a), shape["cy"] + shape["r"] * np.sin(a)) for a in angles]
    else:
        r = shape["r"]
        points = [(shape["cx"] + dx * r, shape["cy"] + dy * r) for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    return [float(v + rng.uniform(-4, 4)) for point in points for v in point]


SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def coco_from_folder(folder: Path, count: int, out: Path) -> CocoSet:
    """A COCO file over the first ``count`` pairs of a folder dataset (``pairs.tsv``: image, mask):
    each object's bbox, and its true mask for scoring."""
    data = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "object"}]}
    truth = {}
    lines = [line.split("\t") for line in (folder / "pairs.tsv").read_text().splitlines() if line.strip()]
    for index, (image, mask) in enumerate(lines[:count]):
        gt = cv2.imread(str(folder / mask.strip()), cv2.IMREAD_GRAYSCALE) > 127
        ys, xs = np.nonzero(gt)
        data["images"].append({"id": index, "file_name": image, "height": gt.shape[0], "width": gt.shape[1]})
        data["annotations"].append({"id": index, "image_id": index, "category_id": 1,
                                    "bbox": [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
                                             float(ys.max() - ys.min() + 1)]})
        truth[index] = gt
    out.write_text(json.dumps(data))
    return CocoSet(out, folder, truth, data)
