"""The ML backend over HTTP, as Label Studio 1.23 calls it (Flask test client, real engine)."""
from __future__ import annotations

import base64
import io
import logging

import numpy as np
import pytest
from focalxl.formats import labelstudio_brush as brush
from label_studio_sdk.converter.brush import decode_rle
from labelstudio_payloads import LABEL_CONFIG, keypoint, predict_body, rectangle
from PIL import Image


def brush_of(response) -> tuple:
    """The single brush result of an interactive answer, decoded with the SDK's reference decoder."""
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert len(results) == 1
    prediction = results[0]
    assert set(prediction) >= {"result", "score", "model_version"}
    (item,) = prediction["result"]
    assert item["type"] == "brushlabels" and item["from_name"] == "tag" and item["to_name"] == "image"
    assert item["value"]["format"] == "rle" and item["value"]["brushlabels"] == ["Foreground"]
    h, w = item["original_height"], item["original_width"]
    rgba = decode_rle(item["value"]["rle"]).reshape(h, w, 4)
    assert set(np.unique(rgba[:, :, 3])) <= {0, 255}
    return rgba[:, :, 3] == 255, prediction


def test_health_setup_webhook_and_metrics_speak_the_protocol(client):
    assert client.get("/health").get_json()["status"] == "UP"
    assert client.post("/setup", json={"project": "3.17", "schema": LABEL_CONFIG}).get_json() == {
        "model_version": "focalxl-test"}
    assert client.post("/webhook", json={"action": "PROJECT_UPDATED"}).get_json()["status"] == "Unknown event"
    assert client.post("/webhook", json={"action": "START_TRAINING", "project": {}}).status_code == 200
    assert client.get("/versions").get_json()["versions"] == ["focalxl-test"]
    assert client.get("/metrics").get_json()["requests"]["/health"]["requests"] == 1


def test_positive_keypoint_covers_the_object_and_negative_keeps_background_out(client, image_server, disk, helpers):
    task = {"id": 1, "data": {"image": image_server.put_image(disk.image)}}
    w, h = disk.image.shape[1], disk.image.shape[0]
    first = [keypoint(disk.cx, disk.cy, w, h)]
    mask, prediction = brush_of(client.post("/predict", json=predict_body(task, {"result": first})))
    assert helpers.iou(mask, disk.gt) > 0.85
    assert 0 < prediction["score"] <= 1 and prediction["model_version"] == "focalxl-test"
    second = first + [keypoint(20, 20, w, h, positive=False)]
    mask2, _ = brush_of(client.post("/predict", json=predict_body(task, {"result": second})))
    assert not mask2[20, 20] and helpers.iou(mask2, disk.gt) > 0.85


def test_empty_context_answers_one_empty_prediction(client):
    response = client.post("/predict", json=predict_body({"id": 1, "data": {"image": "unused"}}, {"result": []}))
    assert response.get_json()["results"] == [{"result": [], "score": 0.0, "model_version": "focalxl-test"}]


def test_successive_calls_refine_one_session_applying_only_new_regions(client, backend, image_server, disk):
    task = {"id": 2, "data": {"image": image_server.put_image(disk.image)}}
    w, h = disk.image.shape[1], disk.image.shape[0]
    points = [keypoint(disk.cx, disk.cy, w, h), keypoint(disk.cx - 30, disk.cy, w, h)]
    client.post("/predict", json=predict_body(task, {"result": points[:1]}))
    client.post("/predict", json=predict_body(task, {"result": points}))
    assert len(backend.store) == 1
    (session,) = backend.store._sessions.values()
    assert len(session.history) == 2
    client.post("/predict", json=predict_body(task, {"result": points[1:]}))   # the first point was deleted
    (session,) = backend.store._sessions.values()
    assert len(session.history) == 1


def test_rectangle_context_segments_the_object_inside(client, image_server, disk, helpers):
    task = {"id": 3, "data": {"image": image_server.put_image(disk.image)}}
    w, h = disk.image.shape[1], disk.image.shape[0]
    box = rectangle(disk.cx - 58, disk.cy - 58, disk.cx + 58, disk.cy + 58, w, h)
    mask, _ = brush_of(client.post("/predict", json=predict_body(task, {"result": [box]})))
    assert helpers.iou(mask, disk.gt) > 0.85


def test_brush_context_is_refined_as_a_coarse_mask(client, image_server, disk, helpers):
    task = {"id": 4, "data": {"image": image_server.put_image(disk.image)}}
    h, w = disk.gt.shape
    yy, xx = np.mgrid[0:h, 0:w]
    rough = (np.abs(xx - disk.cx) < 40) & (np.abs(yy - disk.cy) < 40)
    item = {"id": "b1", "from_name": "tag", "to_name": "image", "type": "brushlabels", "original_width": w,
            "original_height": h, "image_rotation": 0,
            "value": {"format": "rle", "rle": brush.encode(rough), "brushlabels": ["Foreground"]}}
    mask, _ = brush_of(client.post("/predict", json=predict_body(task, {"result": [item]})))
    assert helpers.iou(mask, disk.gt) > helpers.iou(rough, disk.gt)


def test_existing_brush_annotation_starts_the_session_and_survives_a_new_object(client, image_server, disk, helpers):
    h, w = disk.gt.shape
    kept = np.zeros((h, w), bool)
    kept[10:40, 10:60] = True   # an earlier object of the same label, far from the disk
    annotation = {"id": 9, "result": [{"id": "old", "from_name": "tag", "to_name": "image", "type": "brushlabels",
                                       "original_width": w, "original_height": h, "image_rotation": 0,
                                       "value": {"format": "rle", "rle": brush.encode(kept),
                                                 "brushlabels": ["Foreground"]}}]}
    task = {"id": 5, "data": {"image": image_server.put_image(disk.image)}, "annotations": [annotation]}
    mask, _ = brush_of(client.post("/predict", json=predict_body(task, {"result": [keypoint(disk.cx, disk.cy, w, h)]})))
    assert np.array_equal(mask[kept], kept[kept])
    assert helpers.iou(mask & ~kept, disk.gt) > 0.85


def test_batch_predict_gives_one_mask_per_existing_rectangle(client, image_server, helpers):
    scene = helpers.make_disk_scene(height=200, width=300, cx=80, cy=100, radius=40, seed=3)
    other = helpers.make_disk_scene(height=200, width=300, cx=225, cy=100, radius=35, seed=4)
    image = np.where(other.gt[..., None], other.image, scene.image)
    h, w = scene.gt.shape
    task = {"id": 6, "data": {"image": image_server.put_image(image)},
            "annotations": [{"result": [rectangle(30, 50, 130, 150, w, h)]}],
            "predictions": [{"result": [rectangle(180, 55, 270, 145, w, h)]}]}
    empty = {"id": 7, "data": {"image": task["data"]["image"]}}
    response = client.post("/predict", json=predict_body(task) | {"tasks": [task, empty]})
    assert response.status_code == 200, response.get_json()
    first, second = response.get_json()["results"]
    assert second == []
    (prediction,) = first
    masks = [decode_rle(r["value"]["rle"]).reshape(h, w, 4)[:, :, 3] > 0 for r in prediction["result"]]
    assert len(masks) == 2
    assert helpers.iou(masks[0], scene.gt) > 0.85 and helpers.iou(masks[1], other.gt) > 0.85


def test_exif_orientation_and_image_rotation_follow_what_the_browser_shows(client, image_server, helpers):
    scene = helpers.make_disk_scene(height=120, width=200, cx=150, cy=60, radius=30, seed=5)
    stored = np.ascontiguousarray(np.rot90(scene.image, 1))   # EXIF 6 turns it back clockwise on display
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(stored).save(buffer, "JPEG", quality=95, exif=exif)
    task = {"id": 8, "data": {"image": image_server.put(buffer.getvalue(), ".jpg")}}
    h, w = scene.gt.shape
    mask, _ = brush_of(client.post("/predict", json=predict_body(task, {"result": [keypoint(scene.cx, scene.cy, w, h)]})))
    assert mask.shape == (h, w) and helpers.iou(mask, scene.gt) > 0.8
    turned = np.rot90(scene.gt, -1)   # the page's rotate control: 90 degrees clockwise
    point = keypoint(h - scene.cy, scene.cx, h, w, rotation=90)
    mask, prediction = brush_of(client.post("/predict", json=predict_body(task, {"result": [point]})))
    assert prediction["result"][0]["image_rotation"] == 90
    assert mask.shape == turned.shape and helpers.iou(mask, turned) > 0.8


@pytest.mark.parametrize("body, status, words", [
    ({"tasks": "nope", "label_config": LABEL_CONFIG, "params": {"context": {"result": []}}}, 400, "tasks"),
    ({"tasks": [{"id": 1, "image": "x"}], "label_config": LABEL_CONFIG, "params": {"context": None}}, 400, "tasks[0]"),
    ({"tasks": [{"id": 1, "data": {"img": "x"}}], "label_config": LABEL_CONFIG,
      "params": {"context": {"result": [keypoint(5, 5, 10, 10)]}}}, 400, "task.data.image"),
    ({"tasks": [{"id": 1, "data": {"image": "http://127.0.0.1:9/missing.png"}}], "label_config": LABEL_CONFIG,
      "params": {"context": {"result": [keypoint(5, 5, 10, 10)]}}}, 403, "loopback"),
    ({"tasks": [{"id": 1, "data": {"image": "x"}}], "label_config": LABEL_CONFIG,
      "params": {"context": {"result": [{"type": "polygonlabels", "value": {}}]}}}, 400, "context.result[0].type"),
    ({"tasks": [{"id": 1, "data": {"image": "x"}}], "label_config": LABEL_CONFIG,
      "params": {"context": {"result": "x"}}}, 400, "params.context"),
    ({"tasks": [{"id": 1, "data": {"image": "x"}}], "label_config": "<View><Image name='i' value='$image'/></View>",
      "params": {"context": {"result": [keypoint(5, 5, 10, 10)]}}}, 400, "BrushLabels"),
])
def test_bad_input_is_a_4xx_naming_the_problem(client, body, status, words):
    response = client.post("/predict", json=body)
    assert response.status_code == status
    assert words in response.get_json()["detail"]
    assert client.get("/health").status_code == 200


def test_malformed_keypoint_and_foreign_image_size_are_rejected(client, image_server, disk):
    task = {"id": 10, "data": {"image": image_server.put_image(disk.image)}}
    h, w = disk.gt.shape
    outside = keypoint(5, 5, w, h)
    outside["value"]["x"] = 130
    response = client.post("/predict", json=predict_body(task, {"result": [outside]}))
    assert response.status_code == 400 and "context.result[0].value.x" in response.get_json()["detail"]
    response = client.post("/predict", json=predict_body(task, {"result": [keypoint(5, 5, 640, 480)]}))
    assert response.status_code == 400 and "640x480" in response.get_json()["detail"]
    assert client.post("/predict", data=b"not json", content_type="application/json").status_code == 400


def test_huge_image_is_413_without_decoding_it(image_server, segmenter, media):
    import focalxl
    from focalxl.labelstudio.model import Backend
    from focalxl.labelstudio.server import create_app
    small = focalxl.Segmenter(segmenter.predictor, max_pixels=10_000)
    client = create_app(Backend(small, media, "v"), basic_auth=("", "")).test_client()
    task = {"id": 11, "data": {"image": image_server.put_image(np.zeros((200, 200, 3), np.uint8))}}
    response = client.post("/predict", json=predict_body(task, {"result": [keypoint(5, 5, 200, 200)]}))
    assert response.status_code == 413 and "40000 pixels" in response.get_json()["detail"]


def test_basic_auth_guards_every_route(backend):
    from focalxl.labelstudio.server import create_app
    client = create_app(backend, basic_auth=("ls", "s3cret")).test_client()
    assert client.get("/health").status_code == 401
    good = base64.b64encode(b"ls:s3cret").decode()
    bad = base64.b64encode(b"ls:wrong").decode()
    assert client.get("/health", headers={"Authorization": f"Basic {bad}"}).status_code == 401
    assert client.get("/health", headers={"Authorization": f"Basic {good}"}).status_code == 200


def test_no_secret_reaches_the_logs(backend, image_server, disk, caplog):
    from focalxl.labelstudio.app import configure_logging
    from focalxl.hosts.labelstudio.media import Media, Server
    from focalxl.labelstudio.server import create_app
    configure_logging("DEBUG")
    backend.media = Media(Server(image_server.url, "very-secret-key-123"))
    client = create_app(backend, basic_auth=("ls", "pass-word-456")).test_client()
    auth = {"Authorization": "Basic " + base64.b64encode(b"ls:pass-word-456").decode()}
    task = {"id": 12, "data": {"image": image_server.url + "/missing.png?X-Amz-Signature=sig-789"}}
    with caplog.at_level(logging.DEBUG):
        client.post("/setup", json={"project": "1.2", "hostname": "http://x", "access_token": "tok-000"}, headers=auth)
        response = client.post("/predict", json=predict_body(task, {"result": [keypoint(5, 5, 10, 10)]}), headers=auth)
    assert response.status_code == 422
    text = caplog.text + response.get_data(as_text=True)
    for secret in ("very-secret-key-123", "pass-word-456", "tok-000", "sig-789"):
        assert secret not in text
