"""focalxl annotate coco: prompts from the file, masks out as pycocotools RLE, failures recorded, reruns skip."""
from __future__ import annotations

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from focalxl.batch import RunOptions, annotate_coco
from focalxl.batch.sources.coco import CocoSource
from focalxl.batch.work import Pictures
from focalxl.cli import main

from coco_sets import SHARED_DATA, coco_from_folder, make_coco_set


def run_cli(coco_set, out, *extra):
    return main(["annotate", "coco", str(coco_set.annotations), "--images", str(coco_set.images),
                 "--out", str(out), "--quiet", *extra])


def decoded(annotation) -> np.ndarray:
    rle = dict(annotation["segmentation"], counts=annotation["segmentation"]["counts"].encode())
    return mask_utils.decode(rle).astype(bool)


def test_boxes_become_masks_of_the_objects_with_pycocotools_rle_area_and_bbox(coco_set, tmp_path, helpers):
    out = tmp_path / "out.json"
    assert run_cli(coco_set, out, "--prompt", "box") == 0
    result = json.loads(out.read_text())
    assert result["categories"] == coco_set.data["categories"] and result["info"] == coco_set.data["info"]
    assert [a["id"] for a in result["annotations"]] == [a["id"] for a in coco_set.data["annotations"]]
    for annotation, source in zip(result["annotations"], coco_set.data["annotations"]):
        assert annotation["category_id"] == source["category_id"] and annotation["image_id"] == source["image_id"]
        assert isinstance(annotation["segmentation"]["counts"], str)          # compressed RLE, as COCO files hold
        mask = decoded(annotation)
        assert helpers.iou(mask, coco_set.truth[annotation["id"]]) > 0.9
        rle = dict(annotation["segmentation"], counts=annotation["segmentation"]["counts"].encode())
        assert annotation["area"] == int(mask_utils.area(rle)) == int(mask.sum())
        assert annotation["bbox"] == list(mask_utils.toBbox(rle))
        assert 0 < annotation["score"] <= 1
    coco = COCO(str(out))                                                         # pycocotools reads it back
    assert coco.annToMask(coco.anns[100]).sum() == result["annotations"][0]["area"]


def test_keypoints_prompt_clicks_and_rough_polygons_are_refined(tmp_path, helpers):
    coco_set = make_coco_set(tmp_path, images=2, geometry=("keypoints", "segmentation"))
    for mode in ("points", "mask"):
        out = tmp_path / f"{mode}.json"
        assert run_cli(coco_set, out, "--prompt", mode) == 0
        for annotation in json.loads(out.read_text())["annotations"]:
            truth = coco_set.truth[annotation["id"]]
            assert helpers.iou(decoded(annotation), truth) > 0.85, (mode, annotation["id"])
    rough = make_coco_set(tmp_path / "rough", images=1, geometry=("segmentation",)).data["annotations"][0]
    polygon = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(rough["segmentation"], 180, 240))).astype(bool)
    refined = decoded(json.loads((tmp_path / "mask.json").read_text())["annotations"][0])
    assert helpers.iou(refined, coco_set.truth[100]) > helpers.iou(polygon, coco_set.truth[100])


def test_auto_prompt_takes_the_mask_then_the_box_then_the_points(tmp_path):
    coco_set = make_coco_set(tmp_path, images=1, geometry=("bbox", "keypoints", "segmentation"))
    annotations = coco_set.data["annotations"]
    del annotations[1]["segmentation"]
    annotations.append({"id": 7, "image_id": 1, "category_id": 1, "points": [[60, 70], [5, 5, 0]]})
    (work,) = CocoSource(str(coco_set.annotations), str(coco_set.images), "auto").works(coco_set.data)
    assert [list(item.prompt) for item in work.items] == [["mask"], ["box"], ["points"]]
    assert work.items[2].prompt["points"] == [[60.0, 70.0, 1], [5.0, 5.0, 0]]   # 0 marks a negative click
    assert work.items[1].prompt["box"] == [annotations[1]["bbox"][0], annotations[1]["bbox"][1],
                                           annotations[1]["bbox"][0] + annotations[1]["bbox"][2],
                                           annotations[1]["bbox"][1] + annotations[1]["bbox"][3]]


def test_failed_items_are_recorded_with_their_reason_and_the_job_goes_on(coco_set, tmp_path, capsys):
    data = coco_set.data
    (coco_set.images / "000001.png").write_bytes(b"not an image")
    data["annotations"][0]["bbox"] = [500.0, 500.0, 20.0, 20.0]                # outside the 240x180 image
    data["annotations"].append({"id": 900, "image_id": 77, "category_id": 1, "bbox": [1, 1, 9, 9]})
    data["annotations"].append({"id": 901, "image_id": 1, "category_id": 1})  # nothing to prompt with
    coco_set.annotations.write_text(json.dumps(data))
    out = tmp_path / "out.json"
    assert run_cli(coco_set, out, "--prompt", "box") == 1
    printed = capsys.readouterr().out
    assert "done 3," in printed and "failed 5" in printed
    assert "outside the 240x180 image" in printed and "000001.png" in printed
    assert "image_id 77 is not in 'images'" in printed and "no box to prompt with" in printed
    result = {a["id"]: a for a in json.loads(out.read_text())["annotations"]}
    assert result[100]["bbox"] == [500.0, 500.0, 20.0, 20.0] and "score" not in result[100]   # kept as it was
    assert "score" in result[101] and "score" in result[300]


def test_a_rerun_skips_what_is_done_and_writes_the_same_bytes(coco_set, tmp_path):
    out = tmp_path / "out.json"
    first = annotate_coco(str(coco_set.annotations), str(coco_set.images), str(out), "box",
                          options=RunOptions(journal=str(tmp_path / "j.sqlite"), progress=False))
    written = out.read_bytes()
    again = annotate_coco(str(coco_set.annotations), str(coco_set.images), str(out), "box",
                          options=RunOptions(journal=str(tmp_path / "j.sqlite"), progress=False))
    assert (first.done, first.skipped, again.done, again.skipped) == (6, 0, 0, 6)
    assert out.read_bytes() == written
    other = annotate_coco(str(coco_set.annotations), str(coco_set.images), str(tmp_path / "o.json"), "points",
                          options=RunOptions(journal=str(tmp_path / "j.sqlite"), progress=False))
    assert other.done == 0 and len(other.failures) == 6        # another prompt is another item: not skipped


def test_limit_segments_only_the_first_annotations_and_pictures_are_written(coco_set, tmp_path):
    out = tmp_path / "out.json"
    summary = annotate_coco(str(coco_set.annotations), str(coco_set.images), str(out), "box", limit=3,
                            options=RunOptions(journal=str(tmp_path / "j.sqlite"), progress=False,
                                               pictures=Pictures(str(tmp_path / "alpha"), str(tmp_path / "ov"))))
    assert summary.done == 3
    scored = [a["id"] for a in json.loads(out.read_text())["annotations"] if "score" in a]
    assert scored == [100, 101, 200]
    alphas = sorted(p.name for p in (tmp_path / "alpha").iterdir())
    assert alphas == ["coco-annotation-100.png", "coco-annotation-101.png", "coco-annotation-200.png"]
    alpha = cv2.imread(str(tmp_path / "alpha" / "coco-annotation-100.png"), cv2.IMREAD_UNCHANGED)
    assert alpha.shape == (180, 240) and alpha.max() == 255
    assert cv2.imread(str(tmp_path / "ov" / "coco-annotation-101.png")).shape == (180, 240, 3)


def test_two_worker_processes_write_the_same_bytes_as_one(coco_set, tmp_path):
    outs = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}.json"
        summary = annotate_coco(str(coco_set.annotations), str(coco_set.images), str(out), "box",
                                options=RunOptions(journal=str(tmp_path / f"w{workers}.sqlite"), workers=workers,
                                                   progress=False))
        assert summary.ok and summary.done == 6
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


@pytest.mark.parametrize("argv, message", [
    (["--workers", "0"], "positive integer"),
    (["--preset", "nope"], "unknown preset"),
    (["--prompt", "lasso"], "invalid choice"),
    (["--precision", "bf16"], "classical preset has no precision"),
    pytest.param(["--preset", "sam-vit-b", "--workers", "2"], "sam-vit-b needs its weights",   # told by the workers
                 marks=pytest.mark.slow),
])
def test_bad_arguments_exit_2_naming_the_option(coco_set, tmp_path, capsys, argv, message):
    assert run_cli(coco_set, tmp_path / "o.json", *argv) == 2
    assert message in capsys.readouterr().err


def test_an_unreadable_coco_file_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "bad.json").write_text("{not json")
    assert main(["annotate", "coco", str(tmp_path / "bad.json"), "--images", str(tmp_path),
                 "--out", str(tmp_path / "o.json")]) == 2
    assert "cannot read COCO file" in capsys.readouterr().err


@pytest.mark.parametrize("dataset", ["berkeley", "coco_mval_dev"])
def test_boxes_on_real_photos_of_the_dev_sets_give_masks_inside_them(dataset, tmp_path, helpers, capsys):
    folder = SHARED_DATA / dataset
    if not (folder / "pairs.tsv").exists():
        pytest.skip(f"{folder} is absent")
    coco_set = coco_from_folder(folder, 6, tmp_path / "instances.json")
    out = tmp_path / "out.json"
    assert run_cli(coco_set, out, "--prompt", "box", "--overlays", str(tmp_path / "overlays")) in (0, 1)
    failures = [line for line in capsys.readouterr().out.splitlines() if "failed" in line and "x:" in line]
    assert all("empty mask" in line for line in failures), failures      # the classical preset's misses only
    annotations = [a for a in json.loads(out.read_text())["annotations"] if "score" in a]
    for annotation in annotations:
        x, y, w, h = coco_set.data["annotations"][annotation["id"]]["bbox"]
        mask = decoded(annotation)
        assert mask[int(y):int(y + h), int(x):int(x + w)].sum() >= 0.95 * mask.sum()
    if dataset == "berkeley":           # classical box mIoU on Berkeley is about 0.7 (README)
        assert np.mean([helpers.iou(decoded(a), coco_set.truth[a["id"]]) for a in annotations]) > 0.6


def test_objects_on_one_image_share_its_context_and_get_the_masks_of_fresh_sessions(coco_set, segmenter):
    from focalxl.batch.prompts import to_interactions
    from focalxl.batch.work import segment_image
    from focalxl.formats import coco_rle

    (work, *_) = CocoSource(str(coco_set.annotations), str(coco_set.images), "box").works(coco_set.data)
    work = replace(work, items=work.items + (replace(work.items[0], key="again"),))
    image = work.image.load()
    calls = []
    original = segmenter.predictor.context
    segmenter.predictor.context = lambda picture: calls.append(1) or original(picture)
    try:
        outcomes = segment_image(segmenter, work)
    finally:
        segmenter.predictor.context = original
    assert len(calls) == 1                                   # the Context-Net ran once for three objects
    for item, outcome in zip(work.items, outcomes):
        session = segmenter.new_session(image)
        for interaction in to_interactions(item.prompt):
            result = session.add(interaction)
        assert outcome.rle == coco_rle.encode(result.mask) and outcome.score == float(result.score)


def test_an_image_finished_on_a_rerun_is_delivered_with_the_masks_done_before(coco_set, tmp_path):
    from focalxl.batch.annotate import run_job

    class Recorder:
        def __init__(self):
            self.deliveries = []

        def deliver(self, work, outcomes):
            self.deliveries.append((work.key, sorted(o.key for o in outcomes), len(work.items)))

        def close(self):
            pass

    source = CocoSource(str(coco_set.annotations), str(coco_set.images), "box")
    data = coco_set.data
    good = data["annotations"][0]["bbox"]
    data["annotations"][0]["bbox"] = [500.0, 500.0, 20.0, 20.0]           # fails: outside the image
    options = RunOptions(journal=str(tmp_path / "j.sqlite"), progress=False)
    first = Recorder()
    run_job(source.works(data), lambda journal: first, options)
    assert ("coco/image/1", ["coco/annotation/101"], 2) in first.deliveries
    data["annotations"][0]["bbox"] = good                                    # fixed, the rerun retries it
    again = Recorder()
    run_job(source.works(data), lambda journal: again, options)
    assert ("coco/image/1", ["coco/annotation/100", "coco/annotation/101"], 2) in again.deliveries
