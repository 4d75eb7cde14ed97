"""The Nuclio handler driven like CVAT drives it: every payload generation, every frame format,
cumulative clicks, and the reply decoded the way CVAT's UI decodes it."""
import base64
import json

import cv2
import numpy as np
import pytest

import focalxl
from focalxl.cvat import interactor as interactor_module
from focalxl.image_files import decode_image

from cvat_ui import cvat_mask_shape, cvat_polygon, encode, iou, request


def reply_of(response) -> dict:
    assert response.content_type == "application/json"
    return json.loads(response.body)


def mask_of(response, shape) -> np.ndarray:
    assert response.status_code == 200, response.body
    return cvat_mask_shape(reply_of(response), shape)


def session_of(nuclio_function, image_b64, first_click) -> focalxl.Session:
    """The session the function keeps for an object (found, like the function does, by the frame's
    digest and the object's first positive click)."""
    return nuclio_function.interactor.store.get(focalxl.image_digest(base64.b64decode(image_b64)),
                                                focalxl.Click(*first_click))


def canonical(pos, neg):
    """The order the function applies a request's clicks in: pos[0], neg[0], pos[1], neg[1], ..., the rest."""
    pairs = [c for p, n in zip(pos, neg) for c in (focalxl.Click(*p), focalxl.Click(*n, positive=False))]
    common = min(len(pos), len(neg))
    return pairs + [focalxl.Click(*p) for p in pos[common:]] + [focalxl.Click(*n, positive=False) for n in neg[common:]]


def startswith_box(image_b64, box, pos=(), neg=()):
    """CVAT <= 2.14 for a ``startswith_box`` function: the UI sends the box as the first two
    positive points and the server cuts them out into ``obj_bbox``."""
    ui_points = [list(corner) for corner in box] + [list(p) for p in pos]
    return {"image": image_b64, "pos_points": ui_points[2:], "neg_points": [list(p) for p in neg],
            "obj_bbox": ui_points[0:2]}


# --- the reply -------------------------------------------------------------------------------

def test_a_click_on_the_object_returns_its_mask_cropped_to_inclusive_bounds(nuclio_function, scene):
    response = nuclio_function.call(request(encode(scene.image), [scene.centres[0]]))
    reply = reply_of(response)
    assert response.status_code == 200
    assert set(reply) == {"mask", "bounds"}
    xtl, ytl, xbr, ybr = reply["bounds"]
    rows, cols = np.nonzero(scene.objects[0])
    assert abs(xtl - cols.min()) <= 2 and abs(xbr - cols.max()) <= 2
    assert abs(ytl - rows.min()) <= 2 and abs(ybr - rows.max()) <= 2
    assert iou(cvat_mask_shape(reply, scene.shape), scene.objects[0]) > 0.9


def test_the_polygon_the_ui_traces_from_the_reply_outlines_the_object(nuclio_function, scene):
    reply = reply_of(nuclio_function.call(request(encode(scene.image), [scene.centres[1]])))
    polygon = np.zeros(scene.shape, np.uint8)
    cv2.fillPoly(polygon, [cvat_polygon(reply).astype(np.int32)], 1)
    assert iou(polygon.astype(bool), scene.objects[1]) > 0.9


def test_the_reply_mask_is_exactly_the_engines_mask_for_the_same_click(nuclio_function, scene):
    image_b64 = encode(scene.image)
    reply = reply_of(nuclio_function.call(request(image_b64, [scene.centres[0]])))
    direct = focalxl.load("classical").new_session(decode_image(base64.b64decode(image_b64)))
    expected = direct.add(focalxl.Click(*scene.centres[0], positive=True))
    np.testing.assert_array_equal(cvat_mask_shape(reply, scene.shape), expected.mask)
    assert reply["bounds"] == list(expected.bbox)


def test_an_empty_result_is_a_clear_422_error_never_an_empty_mask(nuclio_function, scene):
    centre = scene.centres[0]
    response = nuclio_function.call(request(encode(scene.image), [centre], [centre]))
    assert response.status_code == 422
    reply = reply_of(response)
    assert "mask" not in reply and reply["field"] == "mask"
    assert "empty" in reply["error"] and "click inside the object" in reply["error"]


# --- every CVAT generation's payload ---------------------------------------------------------

BOX = ((36.0, 46.0), (104.0, 114.0))   # around the object at (70, 80), radius 30


@pytest.mark.parametrize("make_body", [
    pytest.param(lambda b, c: {"image": b, "pos_points": [list(c)], "neg_points": []}, id="1.4-no-obj_bbox"),
    pytest.param(lambda b, c: request(b, [c], obj_bbox=None), id="1.5-2.14-obj_bbox-null"),
    pytest.param(lambda b, c: request(b, [c], obj_bbox=[]), id="2.15-obj_bbox-empty"),
    pytest.param(lambda b, c: request(b, [c], obj_bbox=[list(p) for p in BOX]), id="2.15-box-and-click"),
    pytest.param(lambda b, c: request(b, [], obj_bbox=[list(p) for p in BOX]), id="2.15-box-alone"),
    pytest.param(lambda b, c: startswith_box(b, BOX), id="2.14-startswith_box-box-alone"),
    pytest.param(lambda b, c: startswith_box(b, BOX, [c]), id="2.14-startswith_box-box-and-click"),
])
def test_every_cvat_payload_generation_segments_the_object(nuclio_function, scene, make_body):
    response = nuclio_function.call(make_body(encode(scene.image), scene.centres[0]))
    assert iou(mask_of(response, scene.shape), scene.objects[0]) > 0.9


@pytest.mark.parametrize("as_body", [
    pytest.param(lambda body: body, id="dict"),
    pytest.param(lambda body: json.dumps(body).encode(), id="bytes"),
    pytest.param(lambda body: json.dumps(body), id="str"),
])
def test_the_event_body_may_be_a_dict_json_bytes_or_a_json_string(nuclio_function, scene, as_body):
    body = request(encode(scene.image), [scene.centres[1]])
    response = nuclio_function.call(as_body(body), content_type="text/plain")
    assert iou(mask_of(response, scene.shape), scene.objects[1]) > 0.9


def _grey(image):
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


@pytest.mark.parametrize("encode_frame", [
    pytest.param(lambda im: encode(im, ".jpg"), id="jpeg"),
    pytest.param(lambda im: encode(im, ".png"), id="png-or-video-frame"),
    pytest.param(lambda im: encode(np.dstack([im, np.full(im.shape[:2], 200, np.uint8)]), ".png"), id="rgba-png"),
    pytest.param(lambda im: encode(_grey(im), ".png"), id="grey-png"),
    pytest.param(lambda im: encode(_grey(im).astype(np.uint16) * 257, ".png"), id="grey-16-bit-png"),
    pytest.param(lambda im: encode(im.astype(np.uint16) * 257, ".png"), id="rgb-16-bit-png"),
    pytest.param(lambda im: encode(im, ".bmp"), id="bmp"),
])
def test_every_frame_format_cvat_stores_is_segmented(nuclio_function, scene, encode_frame):
    response = nuclio_function.call(request(encode_frame(scene.image), [scene.centres[0]]))
    assert iou(mask_of(response, scene.shape), scene.objects[0]) > 0.9


# --- sessions across requests ----------------------------------------------------------------

def test_a_repeated_frame_is_not_decoded_again(nuclio_function, scene, monkeypatch):
    decoded = []
    monkeypatch.setattr(interactor_module, "decode_image",
                        lambda data, what, *limit: decoded.append(what) or decode_image(data, what, *limit))
    image_b64 = encode(scene.image)
    nuclio_function.call(request(image_b64, [scene.centres[0]]))
    nuclio_function.call(request(image_b64, [scene.centres[0], (75.0, 85.0)]))
    nuclio_function.call(request(image_b64, [scene.centres[1]]))
    assert decoded == ["image"]


def test_cumulative_requests_apply_only_the_new_clicks_in_canonical_order(nuclio_function, scene):
    image_b64 = encode(scene.image)
    first, second = scene.centres[0], (80.0, 70.0)
    nuclio_function.call(request(image_b64, [first]))
    session = session_of(nuclio_function, image_b64, first)
    nuclio_function.call(request(image_b64, [first, second], [(10.0, 10.0)]))
    assert session_of(nuclio_function, image_b64, first) is session
    assert session.history == [focalxl.Click(*first), focalxl.Click(10.0, 10.0, positive=False), focalxl.Click(*second)]


def test_lists_that_do_not_extend_the_last_ones_start_a_new_object(nuclio_function, scene):
    image_b64 = encode(scene.image)
    nuclio_function.call(request(image_b64, [scene.centres[0]]))
    response = nuclio_function.call(request(image_b64, [scene.centres[1]]))
    assert iou(mask_of(response, scene.shape), scene.objects[1]) > 0.9
    assert session_of(nuclio_function, image_b64, scene.centres[1]).history == [focalxl.Click(*scene.centres[1])]
    assert session_of(nuclio_function, image_b64, scene.centres[0]).history == [focalxl.Click(*scene.centres[0])]


def test_a_new_box_starts_a_new_object(nuclio_function, scene):
    image_b64 = encode(scene.image)
    nuclio_function.call(request(image_b64, [], obj_bbox=[list(p) for p in BOX]))
    other_box = [[116.0, 36.0], [184.0, 104.0]]
    response = nuclio_function.call(request(image_b64, [], obj_bbox=other_box))
    assert iou(mask_of(response, scene.shape), scene.objects[1]) > 0.9


def test_a_repeated_request_changes_nothing(nuclio_function, scene):
    image_b64 = encode(scene.image)
    body = request(image_b64, [scene.centres[0]], [(12.0, 150.0)])
    first = nuclio_function.call(body)
    second = nuclio_function.call(body)
    assert second.body == first.body
    assert len(session_of(nuclio_function, image_b64, scene.centres[0]).history) == 2


def test_a_click_taken_back_in_cvat_is_undone_exactly(nuclio_function, scene):
    image_b64 = encode(scene.image)
    one = nuclio_function.call(request(image_b64, [scene.centres[0]]))
    nuclio_function.call(request(image_b64, [scene.centres[0]], [(70.0, 60.0)]))
    back = nuclio_function.call(request(image_b64, [scene.centres[0]]))
    assert back.body == one.body


def test_corrections_across_requests_equal_a_fresh_engine_session_fed_the_canonical_order(nuclio_function, scene):
    """Twelve cumulative requests (Progressive Merge starts after ten) give, after every
    request, exactly the mask of a fresh engine session fed that request's clicks in the
    canonical order: what the function saw before does not matter."""
    image_b64 = encode(scene.image)
    segmenter, image = focalxl.load("classical"), decode_image(base64.b64decode(image_b64))
    (cx, cy), (ox, oy) = scene.centres
    clicks = [(cx, cy, True), (ox, oy, True), (cx + 25, cy, False), (ox, oy + 20, True), (cx - 10, cy + 5, True),
              (5.0, 5.0, False), (ox + 25, oy, False), (cx, cy - 20, True), (190.0, 150.0, False),
              (ox - 15, oy - 10, True), (cx + 5, cy + 25, False), (ox + 5, oy + 5, True)]
    pos, neg = [], []
    for x, y, positive in clicks:
        (pos if positive else neg).append((x, y))
        fresh = segmenter.new_session(image)
        for click in canonical(pos, neg):
            expected = fresh.add(click)
        response = nuclio_function.call(request(image_b64, pos, neg))
        if expected.bbox is None:
            assert response.status_code == 422
        else:
            np.testing.assert_array_equal(mask_of(response, scene.shape), expected.mask)
