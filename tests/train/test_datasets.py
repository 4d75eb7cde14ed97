"""Training data: the evaluation suite's readers, host exports, matting folders, bad samples."""
from __future__ import annotations

import json
import shutil

import cv2
import numpy as np

from focalxl.train.datasets import MattingFolder, TrainingSet, open_source
from synthetic import write_folder_dataset


def _coco(images, annotations):
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "object"}]}


def test_a_cvat_coco_export_reads_its_pictures_from_the_images_folder(tmp_path):
    folder = write_folder_dataset(tmp_path / "shapes", count=2)
    export = tmp_path / "cvat"
    (export / "annotations").mkdir(parents=True)
    shutil.copytree(folder / "images", export / "images")
    polygon = [10.0, 10.0, 60.0, 10.0, 60.0, 50.0, 10.0, 50.0]
    (export / "annotations" / "instances_default.json").write_text(json.dumps(_coco(
        [{"id": 1, "file_name": "0.png", "height": 96, "width": 128}],
        [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [polygon], "area": 2000.0,
          "bbox": [10, 10, 50, 40], "iscrowd": 0}])))
    sample = open_source(export / "annotations" / "instances_default.json")[0]
    assert sample.image.shape == (96, 128, 3) and sample.gt[30, 30] and not sample.gt[70, 100]


def test_a_matting_folder_pairs_foregrounds_with_mattes_and_backgrounds(matting_folder):
    source = open_source(matting_folder)
    assert isinstance(source, MattingFolder) and len(source) == 4
    sample = source[1]
    assert sample.alpha.dtype == np.float32 and 0.0 <= sample.alpha.min() and sample.alpha.max() <= 1.0
    assert sample.alpha.shape == sample.foreground.shape[:2] and sample.background.ndim == 3


def test_unreadable_samples_are_replaced_by_the_next_readable_one_and_reported(tmp_path):
    data = write_folder_dataset(tmp_path / "bad", count=6)
    cv2.imwrite(str(data / "masks" / "1.png"), np.full((10, 10), 255, np.uint8))     # wrong size
    cv2.imwrite(str(data / "masks" / "2.png"), np.zeros((96, 128), np.uint8))       # empty
    (data / "images" / "3.png").write_bytes(b"not a picture")                       # unreadable
    made = TrainingSet([open_source(data)], lambda sample, rng: {"name": sample.name}, seed=0)
    items = [made[i] for i in range(6)]
    assert [item["name"] for item in items] == ["0", "4", "4", "4", "4", "5"]
    reasons = " ".join(reason for item in items for reason in item["skipped"])
    assert "10x10" in reasons and "empty mask" in reasons and "3.png" in reasons


def test_sample_draws_depend_on_seed_epoch_and_index_only(folder_dataset):
    draw = lambda sample, rng: {"value": rng.random()}
    one, two = TrainingSet([open_source(folder_dataset)], draw, 0), TrainingSet([open_source(folder_dataset)], draw, 0)
    assert one[3]["value"] == two[3]["value"]
    two.epoch = 1
    assert one[3]["value"] != two[3]["value"]
