"""focalxl annotate cvat: mask shapes through cvat-sdk (against a fake of CVAT's REST calls) and XML for datumaro."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from cvat_sdk.masks import decode_mask, encode_mask

from focalxl.batch import RunOptions, annotate_cvat
from focalxl.batch.sources.cvat import Server
from focalxl.cli import main

from coco_sets import picture
from cvat_fake import PASSWORD, TOKEN, USER, FakeCvat, FakeTask, rectangle

HEIGHT, WIDTH = 180, 240
SHAPES = [{"kind": "disk", "cx": 60, "cy": 70, "r": 32}, {"kind": "square", "cx": 170, "cy": 100, "r": 28}]


def box_around(mask: np.ndarray, margin: int = 3):
    ys, xs = np.nonzero(mask)
    return [xs.min() - margin, ys.min() - margin, xs.max() + 1 + margin, ys.max() + 1 + margin]


@pytest.fixture
def cvat():
    """A two-frame task: rectangles around a disk (label 1) and a square (label 2) on each frame."""
    frames, truth, shapes = [], {}, []
    for number in range(2):
        image, masks = picture(HEIGHT, WIDTH, SHAPES, seed=number)
        frames.append(image)
        for k, mask in enumerate(masks):
            shape_id = 10 * number + k + 1
            shapes.append(rectangle(shape_id, number, k + 1, box_around(mask)))
            truth[(number, k + 1)] = mask
    fake = FakeCvat(FakeTask(7, "pre-annotation", frames, {1: "disk", 2: "square"}, shapes))
    yield fake, truth
    fake.stop()


def our_masks(fake):
    return [s for s in fake.task.shapes if s["type"] == "mask"]


def options(tmp_path, name="j.sqlite"):
    return RunOptions(journal=str(tmp_path / name), progress=False)


@pytest.mark.parametrize("login", ["token", "password"])
def test_rectangles_become_mask_shapes_whose_rle_is_cvat_sdks(cvat, tmp_path, helpers, login):
    fake, truth = cvat
    server = Server(fake.url, access_token=TOKEN) if login == "token" else Server(fake.url, user=USER, password=PASSWORD)
    summary = annotate_cvat(7, prompt="box", options=options(tmp_path), server=server)
    assert summary.ok and summary.done == 4
    masks = our_masks(fake)
    assert len(masks) == 4
    for shape in masks:
        mask = decode_mask(shape["points"], image_width=WIDTH, image_height=HEIGHT)
        assert shape["points"] == encode_mask(mask)
        assert helpers.iou(mask, truth[(shape["frame"], shape["label_id"])]) > 0.9
        assert shape["source"] == "auto" and 0 < shape["score"] <= 1
    assert [m for m, path, _ in fake.requests if m == "PATCH"] == ["PATCH", "PATCH"]      # one upload per frame


def test_reruns_upload_nothing_twice_even_without_the_journal(cvat, tmp_path):
    fake, _ = cvat
    server = Server(fake.url, access_token=TOKEN)
    annotate_cvat(7, prompt="box", options=options(tmp_path), server=server)
    again = annotate_cvat(7, prompt="box", options=options(tmp_path), server=server)
    assert (again.done, again.skipped) == (0, 4)
    fresh = annotate_cvat(7, prompt="box", options=options(tmp_path, "fresh.sqlite"), server=server)
    assert fresh.done == 4 and fresh.ok
    assert len(our_masks(fake)) == 4 and sum(m == "PATCH" for m, _, _ in fake.requests) == 2


def test_a_refused_upload_is_reported_and_a_rerun_sends_it(cvat, tmp_path):
    fake, _ = cvat
    server = Server(fake.url, access_token=TOKEN)
    fake.refuse_uploads = True
    failed = annotate_cvat(7, prompt="box", options=options(tmp_path), server=server)
    assert not failed.ok and len(failed.upload_errors) == 2 and "500" in failed.upload_errors[0]
    assert our_masks(fake) == []
    fake.refuse_uploads = False
    resumed = annotate_cvat(7, prompt="box", options=options(tmp_path), server=server)
    assert resumed.ok and (resumed.done, resumed.skipped) == (0, 4)    # segmented once, uploaded now
    assert len(our_masks(fake)) == 4


def test_polygons_points_and_masks_are_prompts_too(cvat, tmp_path, helpers):
    fake, truth = cvat
    disk, square = truth[(0, 1)], truth[(0, 2)]
    ys, xs = np.nonzero(square)
    rough = [float(v) for v in (xs.min() + 2, ys.min() - 1, xs.max() - 1, ys.min() + 2, xs.max() + 1, ys.max(),
                                xs.min(), ys.max() - 2)]
    fake.task.shapes = [
        dict(rectangle(1, 0, 2, [0, 0, 1, 1]), type="polygon", points=rough),
        dict(rectangle(2, 0, 1, [0, 0, 1, 1]), type="points", points=[60.0, 70.0]),
        dict(rectangle(3, 1, 1, [0, 0, 1, 1]), type="mask",
             points=[float(v) for v in encode_mask(np.roll(truth[(1, 1)], 3, axis=1))]),
    ]
    summary = annotate_cvat(7, prompt="auto", options=options(tmp_path), server=Server(fake.url, access_token=TOKEN))
    assert summary.ok and summary.done == 3
    made = {(s["frame"], s["label_id"]): decode_mask(s["points"], image_width=WIDTH, image_height=HEIGHT)
            for s in our_masks(fake) if s["id"] >= 1000}
    assert helpers.iou(made[(0, 2)], square) > 0.85 and helpers.iou(made[(0, 1)], disk) > 0.85
    assert helpers.iou(made[(1, 1)], truth[(1, 1)]) > 0.85


def test_export_writes_cvat_xml_that_datumaro_imports_with_the_same_masks(cvat, tmp_path, monkeypatch):
    from datumaro.components.annotation import AnnotationType
    from datumaro.components.dataset import Dataset

    fake, truth = cvat
    monkeypatch.setenv("CVAT_HOST", fake.url)
    monkeypatch.setenv("CVAT_ACCESS_TOKEN", TOKEN)
    export = tmp_path / "export" / "annotations.xml"
    assert main(["annotate", "cvat", "--task", "7", "--export", str(export), "--prompt", "box", "--quiet"]) == 0
    assert our_masks(fake) == [] and not any(m == "PATCH" for m, _, _ in fake.requests)   # nothing uploaded
    assert (tmp_path / "export" / "annotations.journal.sqlite").exists()

    upload = annotate_cvat(7, prompt="box", options=options(tmp_path), server=Server(fake.url, access_token=TOKEN))
    assert upload.ok
    uploaded = {(s["frame"], s["label_id"]): decode_mask(s["points"], image_width=WIDTH, image_height=HEIGHT)
                for s in our_masks(fake)}

    (export.parent / "images").mkdir()               # datumaro reads the XML beside the frames, as CVAT exports them
    for number, frame in enumerate(fake.task.frames):
        cv2.imwrite(str(export.parent / "images" / f"frame_{number:06d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    dataset = Dataset.import_from(str(export.parent), "cvat")
    categories = dataset.categories()[AnnotationType.label]
    assert sorted(item.id for item in dataset) == ["frame_000000", "frame_000001"]
    for item in dataset:
        frame = int(item.id.split("_")[1])
        boxes = [a for a in item.annotations if a.type == AnnotationType.bbox]
        masks = [a for a in item.annotations if a.type == AnnotationType.mask]
        assert len(boxes) == 2 and len(masks) == 2           # the task's rectangles are kept beside the masks
        for mask in masks:
            label_id = 1 + ["disk", "square"].index(categories[mask.label].name)
            assert np.array_equal(mask.image.astype(bool), uploaded[(frame, label_id)])


def test_missing_cvat_settings_are_a_usage_error(monkeypatch, capsys):
    for name in ("CVAT_HOST", "CVAT_ACCESS_TOKEN", "CVAT_USER", "CVAT_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    assert main(["annotate", "cvat", "--task", "7"]) == 2
    assert "CVAT_HOST" in capsys.readouterr().err
