"""focalxl annotate labelstudio against a real Label Studio server: predictions on the right task and control."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "labelstudio"))
from label_studio_server import TOKEN, start_label_studio  # noqa: E402

from coco_sets import picture  # noqa: E402

pytestmark = pytest.mark.slow

HEIGHT, WIDTH = 180, 240
LABEL_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image"><Label value="Disk"/><Label value="Square"/></RectangleLabels>
  <KeyPointLabels name="point" toName="image"><Label value="Disk"/><Label value="Square"/></KeyPointLabels>
  <BrushLabels name="mask" toName="image"><Label value="Disk"/><Label value="Square"/></BrushLabels>
</View>"""
SHAPES = [{"kind": "disk", "cx": 60, "cy": 70, "r": 32, "label": "Disk"},
          {"kind": "square", "cx": 170, "cy": 100, "r": 28, "label": "Square"}]


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory):
    running = start_label_studio(tmp_path_factory.mktemp("label-studio"))
    yield running
    running.stop()


def rectangle(mask: np.ndarray, label: str, region_id: str) -> dict:
    ys, xs = np.nonzero(mask)
    x0, y0, x1, y1 = xs.min() - 3, ys.min() - 3, xs.max() + 4, ys.max() + 4
    return {"id": region_id, "from_name": "box", "to_name": "image", "type": "rectanglelabels",
            "original_width": WIDTH, "original_height": HEIGHT, "image_rotation": 0,
            "value": {"x": 100 * x0 / WIDTH, "y": 100 * y0 / HEIGHT, "width": 100 * (x1 - x0) / WIDTH,
                      "height": 100 * (y1 - y0) / HEIGHT, "rotation": 0, "rectanglelabels": [label]}}


@pytest.fixture(scope="module")
def project(label_studio):
    """Two uploaded pictures: one annotated with rectangles, one with a detector's predicted rectangles."""
    from label_studio_sdk import LabelStudio

    ls = LabelStudio(base_url=label_studio.url, api_key=TOKEN)
    created = ls.projects.create(title="focalxl batch", label_config=LABEL_CONFIG)
    truth = {}
    for index in range(2):
        image, masks = picture(HEIGHT, WIDTH, SHAPES, seed=index)
        ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        response = requests.post(f"{label_studio.url}/api/projects/{created.id}/import", timeout=30,
                                 headers={"Authorization": f"Token {TOKEN}"},
                                 files={"file": (f"scene{index}.png", png.tobytes())})
        assert response.status_code == 201, response.text
        task = [t for t in ls.tasks.list(project=created.id) if t.id not in truth][0]
        result = [rectangle(m, s["label"], f"r{index}{k}") for k, (m, s) in enumerate(zip(masks, SHAPES))]
        if index == 0:
            ls.annotations.create(id=task.id, result=result)
        else:
            ls.predictions.create(task=task.id, result=result, model_version="detector-v1", score=0.9)
        truth[task.id] = dict(zip((s["label"] for s in SHAPES), masks))
    return ls, created.id, truth


def annotate(label_studio, project_id: int, journal: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, LABEL_STUDIO_URL=label_studio.url, LABEL_STUDIO_API_KEY=TOKEN)
    return subprocess.run([sys.executable, "-m", "focalxl.cli", "annotate", "labelstudio", "--project",
                           str(project_id), "--prompt", "box", "--journal", str(journal), "--quiet"],
                          env=env, capture_output=True, text=True, timeout=300)


def ours(ls, task_id: int) -> list:
    return [p for p in ls.predictions.list(task=task_id) if p.model_version == "focalxl-classical"]


def test_rectangles_become_brush_predictions_on_the_brush_control_and_reruns_add_none(label_studio, project,
                                                                                         tmp_path, helpers):
    from label_studio_sdk.converter.brush import decode_rle

    ls, project_id, truth = project
    first = annotate(label_studio, project_id, tmp_path / "j.sqlite")
    assert first.returncode == 0, first.stderr
    assert "done 4, skipped (already done) 0, failed 0" in first.stdout
    for task_id, masks in truth.items():
        (prediction,) = ours(ls, task_id)
        assert 0 < prediction.score <= 1 and len(prediction.result) == 2
        for region in prediction.result:
            assert (region["from_name"], region["to_name"], region["type"]) == ("mask", "image", "brushlabels")
            assert (region["original_width"], region["original_height"]) == (WIDTH, HEIGHT)
            (label,) = region["value"]["brushlabels"]
            mask = decode_rle(region["value"]["rle"]).reshape(HEIGHT, WIDTH, 4)[:, :, 3] > 0
            assert helpers.iou(mask, masks[label]) > 0.9, (task_id, label)
            assert 0 < region["score"] <= 1
        assert [p.model_version for p in ls.predictions.list(task=task_id)].count("detector-v1") == \
               (1 if task_id == max(truth) else 0)          # the detector's prediction is left as it was

    again = annotate(label_studio, project_id, tmp_path / "j.sqlite")
    assert again.returncode == 0 and "done 0, skipped (already done) 4" in again.stdout
    lost_journal = annotate(label_studio, project_id, tmp_path / "fresh.sqlite")   # crash before the journal
    assert lost_journal.returncode == 0 and "done 4" in lost_journal.stdout
    for task_id in truth:
        assert len(ours(ls, task_id)) == 1


def test_a_task_whose_image_cannot_be_fetched_fails_with_its_reason_and_the_rest_is_done(label_studio, tmp_path):
    from label_studio_sdk import LabelStudio

    ls = LabelStudio(base_url=label_studio.url, api_key=TOKEN)
    created = ls.projects.create(title="focalxl batch failures", label_config=LABEL_CONFIG)
    image, masks = picture(HEIGHT, WIDTH, SHAPES, seed=3)
    ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    requests.post(f"{label_studio.url}/api/projects/{created.id}/import", timeout=30,
                  headers={"Authorization": f"Token {TOKEN}"}, files={"file": ("ok.png", png.tobytes())})
    ls.projects.import_tasks(id=created.id, request=[{"data": {"image": "http://169.254.169.254/latest/x.png"}}])
    for task in ls.tasks.list(project=created.id):
        ls.annotations.create(id=task.id, result=[rectangle(masks[0], "Disk", "r0")])
    run = annotate(label_studio, created.id, tmp_path / "j.sqlite")
    assert run.returncode == 1
    assert "done 1," in run.stdout and "failed 1" in run.stdout and "169.254.169.254" in run.stdout
