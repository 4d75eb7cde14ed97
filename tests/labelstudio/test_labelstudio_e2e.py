"""End to end against a real Label Studio 1.23 server: API, then the labeling page in headless Chromium."""
from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests
from label_studio_sdk import LabelStudio
from label_studio_sdk.converter.brush import decode_rle
from label_studio_server import TOKEN, missing, start_backend, start_label_studio
from labelstudio_payloads import LABEL_CONFIG, keypoint, rectangle

pytestmark = pytest.mark.slow

HEIGHT, WIDTH = 240, 320


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("label-studio")
    label_studio = start_label_studio(workdir)
    backend = None
    try:
        backend = start_backend(workdir, label_studio.url)
        yield label_studio, backend
    finally:
        for running in (backend, label_studio):
            if running is not None:
                running.stop()


@pytest.fixture(scope="module")
def project(servers, helpers):
    """A three-control project with one uploaded synthetic image, connected to our backend as interactive."""
    label_studio, backend = servers
    ls = LabelStudio(base_url=label_studio.url, api_key=TOKEN)
    created = ls.projects.create(title="focalxl end to end", label_config=LABEL_CONFIG)
    scene = helpers.make_disk_scene(height=HEIGHT, width=WIDTH, cx=200.0, cy=110.0, radius=50.0)
    task = upload(ls, label_studio.url, created.id, scene.image)
    ml = ls.ml.create(project=created.id, url=backend.url, is_interactive=True, title="focalxl")
    return ls, created, task, ml, scene


def upload(ls: LabelStudio, url: str, project_id: int, image: np.ndarray):
    """Import ``image`` as a file upload; the new task."""
    before = {t.id for t in ls.tasks.list(project=project_id)}
    encoded, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert encoded
    response = requests.post(f"{url}/api/projects/{project_id}/import", timeout=30,
                             headers={"Authorization": f"Token {TOKEN}"}, files={"file": ("disk.png", png.tobytes())})
    assert response.status_code == 201, response.text
    (task,) = [t for t in ls.tasks.list(project=project_id) if t.id not in before]
    return task


def interactive(ls, ml, task, result) -> np.ndarray:
    """Label Studio's interactive-annotating call; the answered brush mask, decoded with the SDK."""
    response = ls.ml.with_raw_response.predict_interactive(ml.id, task=task.id, context={"result": result})
    body = response.response.json()
    assert "errors" not in body, body
    prediction = body["data"]
    (item,) = prediction["result"]
    assert item["type"] == "brushlabels" and item["value"]["brushlabels"] == ["Foreground"]
    assert prediction["model_version"].startswith("focalxl-classical") and 0 < prediction["score"] <= 1
    return decode_rle(item["value"]["rle"]).reshape(item["original_height"], item["original_width"], 4)[:, :, 3] > 0


def test_interactive_keypoints_and_rectangle_through_label_studio(project, helpers):
    ls, _, task, ml, scene = project
    positive = keypoint(scene.cx, scene.cy, WIDTH, HEIGHT)
    mask = interactive(ls, ml, task, [positive])
    assert helpers.iou(mask, scene.gt) > 0.85
    mask = interactive(ls, ml, task, [positive, keypoint(30, 30, WIDTH, HEIGHT, positive=False)])
    assert helpers.iou(mask, scene.gt) > 0.85 and not mask[30, 30]
    box = rectangle(scene.cx - 60, scene.cy - 60, scene.cx + 60, scene.cy + 60, WIDTH, HEIGHT)
    assert helpers.iou(interactive(ls, ml, task, [box]), scene.gt) > 0.85


def test_batch_prediction_action_masks_each_rectangle(servers, project, helpers):
    ls, created, task, _, scene = project
    box = rectangle(scene.cx - 60, scene.cy - 60, scene.cx + 60, scene.cy + 60, WIDTH, HEIGHT)
    ls.predictions.create(task=task.id, result=[box], model_version="boxes", score=1.0)
    ls.actions.create(id="retrieve_tasks_predictions", project=created.id,
                      selected_items={"all": False, "included": [task.id]})
    ours = [p for p in ls.predictions.list(task=task.id) if str(p.model_version).startswith("focalxl")]
    assert len(ours) == 1, [p.model_version for p in ls.predictions.list(task=task.id)]
    (item,) = ours[0].result
    mask = decode_rle(item["value"]["rle"]).reshape(HEIGHT, WIDTH, 4)[:, :, 3] > 0
    assert helpers.iou(mask, scene.gt) > 0.85


CHROMIUM = os.environ.get("FOCALXL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def artefact_dir(tmp_path: Path) -> Path:
    """``FOCALXL_TEST_ARTEFACTS`` when set (kept after the run), else pytest's temporary folder."""
    folder = Path(os.environ.get("FOCALXL_TEST_ARTEFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_smart_keypoint_in_the_labeling_page_draws_the_brush_region(servers, project, helpers, tmp_path):
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        missing("the playwright package is not installed (pip install playwright)")
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"no Chromium at {CHROMIUM} (apt-get install -y chromium chromium-driver, or set FOCALXL_CHROMIUM)")
    label_studio, _ = servers
    ls, created, _, _, _ = project
    scene = helpers.make_disk_scene(height=HEIGHT, width=WIDTH, cx=110.0, cy=130.0, radius=55.0, seed=7)
    task = upload(ls, label_studio.url, created.id, scene.image)
    screenshot = artefact_dir(tmp_path) / "labelstudio-smart-keypoint.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            tempfile.mkdtemp(prefix="chromium-"), executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True,
            viewport={"width": 1400, "height": 900})
        try:
            page = browser.new_page()
            page.goto(f"{label_studio.url}/user/login/")
            page.fill("input[name=email]", "e2e@example.com")
            page.fill("input[name=password]", "e2e-password")
            page.click("button[type=submit]")
            page.wait_for_url(lambda url: "/user/login" not in url)
            page.goto(f"{label_studio.url}/projects/{created.id}/data?task={task.id}")
            page.get_by_text("Auto-Annotation").click()
            page.get_by_text("Auto-Accept Suggestions").click()
            page.get_by_text("Foreground", exact=True).nth(1).click()          # the KeyPointLabels label
            page.locator(".lsf-tool_smart:not([aria-label])").hover()          # unfolds the smart tools
            page.locator('.lsf-tool_smart[aria-label="key-point-tool"]').click()
            stage = page.locator(".konvajs-content").first.bounding_box()
            with page.expect_response(lambda r: "interactive-annotating" in r.url, timeout=60_000) as answer:
                page.mouse.click(stage["x"] + stage["width"] * scene.cx / WIDTH,
                                 stage["y"] + stage["height"] * scene.cy / HEIGHT)
            assert answer.value.ok and "errors" not in answer.value.json()
            scored = page.locator(".lsf-outliner-item").filter(has_text=re.compile(r"0\.\d\d"))   # "Foreground 0.98"
            expect(scored).to_have_count(1, timeout=30_000)   # the accepted brush suggestion replaces the keypoint
            page.screenshot(path=str(screenshot))
            print(f"screenshot: {screenshot}")
            page.get_by_role("button", name="Submit current annotation").click()
            annotations = wait_for_annotations(ls, task.id)
        finally:
            if not screenshot.exists():
                page.screenshot(path=str(screenshot))
                print(f"screenshot: {screenshot}")
            browser.close()
    brushes = [r for r in annotations[0].result if r["type"] == "brushlabels"]
    assert len(brushes) == 1 and brushes[0]["value"]["brushlabels"] == ["Foreground"]
    mask = decode_rle(brushes[0]["value"]["rle"]).reshape(HEIGHT, WIDTH, 4)[:, :, 3] > 0
    assert helpers.iou(mask, scene.gt) > 0.85
    assert screenshot.stat().st_size > 10_000


def wait_for_annotations(ls: LabelStudio, task_id: int, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        annotations = list(ls.annotations.list(id=task_id))
        if annotations:
            return annotations
        time.sleep(0.5)
    raise AssertionError(f"task {task_id} got no annotation within {seconds:.0f} s of Submit")
