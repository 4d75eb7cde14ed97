"""Each benchmark's reader, on a tiny dataset written in the layout it is published in."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as coco_mask
from scipy.io import savemat

from focalxl.evaluation import DatasetError, detect_layout, open_dataset

BERKELEY = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "berkeley"


def rgb(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def test_grabcut_reads_the_128_band_as_ignored_and_brighter_as_object(tmp_path, make_scene, write_image):
    image, instances = make_scene(0, [(20, 20)])
    mask = np.where(cv2.dilate(instances, np.ones((3, 3), np.uint8)) > 0, 128, 0).astype(np.uint8)
    mask[instances == 1] = 255
    mask[0, 0] = 100                                              # neither band nor object
    write_image(tmp_path / "data_GT" / "llama.png", image)
    write_image(tmp_path / "boundary_GT" / "llama.bmp", mask)
    assert detect_layout(tmp_path) == "grabcut"
    (sample,) = list(open_dataset(tmp_path))
    assert sample.name == "llama"
    assert np.array_equal(sample.image, rgb(image))
    assert np.array_equal(sample.gt, instances == 1)
    assert np.array_equal(sample.ignore, mask == 128) and not sample.gt[0, 0]


def test_berkeley_pairs_images_and_masks_by_stem(tmp_path, make_scene, write_image):
    for i, stem in enumerate(["101085", "12003"]):
        image, instances = make_scene(i, [(15 + 10 * i, 20)])
        write_image(tmp_path / "images" / f"{stem}.png", image)
        write_image(tmp_path / "masks" / f"{stem}.png", np.where(instances > 0, 255, 0).astype(np.uint8))
    (tmp_path / "images" / "Thumbs.db").write_bytes(b"not an image")
    dataset = open_dataset(tmp_path)
    assert [s.name for s in dataset] == ["101085", "12003"]
    assert dataset[1].gt[20, 25] and not dataset[0].gt[20, 25] and dataset[0].ignore is None


def test_berkeley_names_an_image_without_a_mask(tmp_path, make_scene, write_image):
    image, instances = make_scene(0, [(20, 20)])
    write_image(tmp_path / "images" / "a.png", image)
    write_image(tmp_path / "masks" / "b.png", instances)
    with pytest.raises(DatasetError, match=r"a\.png: no mask a\.\*"):
        open_dataset(tmp_path, "berkeley")


def test_davis_counts_any_nonzero_channel_and_coco_mval_only_above_128(tmp_path, make_scene, write_image):
    image, instances = make_scene(0, [(20, 20)])
    gt = np.zeros(instances.shape + (3,), np.uint8)
    gt[instances == 1] = (0, 0, 200)                              # a coloured DAVIS annotation
    gt[2:4, 2:4] = (100, 100, 100)                                # faint: object for DAVIS, not for COCO_MVal
    write_image(tmp_path / "img" / "bear.jpg", image)
    write_image(tmp_path / "gt" / "bear.png", gt)
    assert detect_layout(tmp_path) == "davis"
    davis = open_dataset(tmp_path)[0]
    assert davis.gt[20, 20] and davis.gt[3, 3]
    mval = open_dataset(tmp_path, "coco-mval")[0]
    assert mval.gt[20, 20] and not mval.gt[3, 3]
    assert davis.image.shape == (40, 56, 3)


def test_sbd_gives_one_sample_per_instance_of_the_split(tmp_path, make_scene, write_image):
    for stem, seed in (("2008_000001", 0), ("2008_000002", 1)):
        image, instances = make_scene(seed, [(14, 20), (40, 20)])
        write_image(tmp_path / "img" / f"{stem}.jpg", image)
        boundaries = np.empty((2, 1), dtype=object)
        boundaries[0, 0] = boundaries[1, 0] = np.zeros(instances.shape, np.uint8)
        (tmp_path / "inst").mkdir(exist_ok=True)
        savemat(str(tmp_path / "inst" / f"{stem}.mat"),
                {"GTinst": {"Segmentation": instances, "Boundaries": boundaries,
                            "Categories": np.array([[15], [7]], np.uint8)}})
    (tmp_path / "val.txt").write_text("2008_000002\n")
    (tmp_path / "train.txt").write_text("2008_000001\n2008_000002\n")
    assert detect_layout(tmp_path) == "sbd"
    val = open_dataset(tmp_path)
    assert [s.name for s in val] == ["2008_000002_1", "2008_000002_2"]
    _, instances = make_scene(1, [(14, 20), (40, 20)])
    assert np.array_equal(val[1].gt, instances == 2)
    assert len(open_dataset(tmp_path, split="train")) == 4


def test_sbd_names_a_file_that_is_not_an_instance_file(tmp_path, make_scene, write_image):
    image, _ = make_scene(0, [(14, 20)])
    write_image(tmp_path / "img" / "x.jpg", image)
    (tmp_path / "inst").mkdir()
    savemat(str(tmp_path / "inst" / "x.mat"), {"something": np.zeros((2, 2))})
    (tmp_path / "val.txt").write_text("x\n")
    with pytest.raises(DatasetError, match=r"x\.mat: not an SBD instance file"):
        open_dataset(tmp_path, "sbd")


VOC_PALETTE = [0, 0, 0, 128, 0, 0, 0, 128, 0] + [0, 0, 0] * 252 + [224, 224, 192]


def test_pascal_voc_reads_palette_objects_and_ignores_the_border(tmp_path, make_scene, write_image):
    image, instances = make_scene(0, [(14, 20), (40, 20)])
    objects = instances.copy()
    border = (cv2.dilate(instances, np.ones((3, 3), np.uint8)) > 0) & (cv2.erode(instances, np.ones((3, 3), np.uint8)) == 0)
    objects[border] = 255
    png = Image.fromarray(objects, mode="P")
    png.putpalette(VOC_PALETTE)
    (tmp_path / "SegmentationObject").mkdir()
    png.save(tmp_path / "SegmentationObject" / "2007_000033.png")
    write_image(tmp_path / "JPEGImages" / "2007_000033.jpg", image)
    (tmp_path / "ImageSets" / "Segmentation").mkdir(parents=True)
    (tmp_path / "ImageSets" / "Segmentation" / "val.txt").write_text("2007_000033\n")
    assert detect_layout(tmp_path) == "voc"
    dataset = open_dataset(tmp_path)
    assert len(dataset) == 2
    first, second = dataset                       # palette red (128, 0, 0) is grey 38, green (0, 128, 0) grey 75
    assert [first.name, second.name] == ["2007_000033_38", "2007_000033_75"]
    assert np.array_equal(first.gt, objects == 1) and np.array_equal(second.gt, objects == 2)
    assert np.array_equal(first.ignore, border)


def test_pascal_voc_also_reads_single_channel_index_masks(tmp_path, make_scene, write_image):
    image, instances = make_scene(0, [(14, 20), (40, 20)])
    objects = instances.copy()
    objects[0, :] = 255
    write_image(tmp_path / "SegmentationObject" / "a.png", objects)
    write_image(tmp_path / "JPEGImages" / "a.jpg", image)
    (tmp_path / "ImageSets" / "Segmentation").mkdir(parents=True)
    (tmp_path / "ImageSets" / "Segmentation" / "val.txt").write_text("a\n")
    dataset = open_dataset(tmp_path, "voc")
    assert [s.name for s in dataset] == ["a_1", "a_2"]
    assert np.array_equal(dataset[1].gt, instances == 2) and dataset[1].ignore[0].all()


def test_davis585_reads_gt_frames_and_the_chosen_initial_masks(tmp_path, make_scene, write_image):
    image, instances = make_scene(0, [(14, 20), (40, 20)])
    sequence = tmp_path / "bear"
    write_image(sequence / "00009.jpg", image)
    for k in (1, 2):
        gt = np.where(instances == k, 255, 0).astype(np.uint8)
        write_image(sequence / f"object{k}_00009.png", gt)
        write_image(sequence / f"init_sp_object{k}_00009.png", cv2.erode(gt, np.ones((3, 3), np.uint8)))
        write_image(sequence / f"init_stm_object{k}_00009.png", cv2.dilate(gt, np.ones((3, 3), np.uint8)))
    assert detect_layout(tmp_path) == "davis585"
    sp = open_dataset(tmp_path)
    assert [s.name for s in sp] == ["bear_object1_00009", "bear_object2_00009"]
    assert np.array_equal(sp[1].gt, instances == 2)
    assert sp[1].initial.sum() < sp[1].gt.sum()
    stm = open_dataset(tmp_path, init="stm")
    assert stm[1].initial.sum() > stm[1].gt.sum()
    assert open_dataset(tmp_path, init="zero")[0].initial is None


def test_coco_json_decodes_polygons_and_both_rle_forms_and_skips_crowds(tmp_path, make_scene, write_image):
    image, instances = make_scene(0, [(14, 20), (40, 20)])
    write_image(tmp_path / "images" / "scene.png", image)
    height, width = instances.shape
    disk = np.asfortranarray((instances == 2).astype(np.uint8))
    compressed = coco_mask.encode(disk)
    compressed["counts"] = compressed["counts"].decode("ascii")
    flat = (instances == 1).T.reshape(-1)                         # column-major runs, starting with zeros
    changes = np.flatnonzero(np.diff(np.concatenate([[0], flat.astype(np.int8), [0]])))
    counts = np.diff(np.concatenate([[0], changes, [flat.size]])).tolist()
    annotations = {
        "images": [{"id": 7, "file_name": "images/scene.png", "height": height, "width": width}],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 1, "iscrowd": 0, "area": 60.0, "bbox": [2, 2, 10, 6],
             "segmentation": [[2, 2, 12, 2, 12, 8, 2, 8]]},
            {"id": 2, "image_id": 7, "category_id": 1, "iscrowd": 0, "area": float(disk.sum()), "bbox": [0, 0, 1, 1],
             "segmentation": compressed},
            {"id": 3, "image_id": 7, "category_id": 1, "iscrowd": 0, "area": float(flat.sum()), "bbox": [0, 0, 1, 1],
             "segmentation": {"size": [height, width], "counts": counts}},
            {"id": 4, "image_id": 7, "category_id": 1, "iscrowd": 1, "area": 10.0, "bbox": [0, 0, 1, 1],
             "segmentation": compressed},
        ]}
    path = tmp_path / "instances_val.json"
    path.write_text(json.dumps(annotations))
    assert detect_layout(path) == "coco"
    dataset = open_dataset(path)
    assert [s.name for s in dataset] == ["scene_1", "scene_2", "scene_3"]
    polygon, rle, raw = dataset
    assert polygon.gt[2:8, 2:12].all() and polygon.gt.sum() <= 11 * 7 and not polygon.gt[20, 20]
    assert np.array_equal(rle.gt, instances == 2)
    assert np.array_equal(raw.gt, instances == 1)
    assert np.array_equal(polygon.image, rgb(image))


def test_coco_json_names_a_missing_image(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"images": [{"id": 1, "file_name": "gone.jpg", "height": 4, "width": 4}],
                                "categories": [], "annotations": [
                                    {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 4.0,
                                     "bbox": [0, 0, 2, 2], "segmentation": [[0, 0, 2, 0, 2, 2, 0, 2]]}]}))
    dataset = open_dataset(path)
    with pytest.raises(DatasetError, match=r"gone\.jpg"):
        dataset[0]


def test_an_unrecognised_folder_asks_for_the_layout(tmp_path):
    (tmp_path / "stuff").mkdir()
    with pytest.raises(DatasetError, match="--layout"):
        open_dataset(tmp_path)
    with pytest.raises(DatasetError, match="dataset folder not found"):
        open_dataset(tmp_path / "nowhere")


@pytest.mark.skipif(not BERKELEY.is_dir(), reason="../shared/data/berkeley is not available")
def test_the_shared_berkeley_copy_is_a_plain_pairs_folder():
    assert detect_layout(BERKELEY) == "folder"
    assert len(open_dataset(BERKELEY)) == 100
