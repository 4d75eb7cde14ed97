"""Bad requests get a 4xx JSON reply naming the field, and the function keeps serving."""
import base64
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import focalxl
from focalxl.cvat import Interactor
from focalxl.predictors.classical import ClassicalPredictor

from cvat_ui import cvat_mask_shape, disks_scene, encode, iou, request
from nuclio_runtime import NuclioFunction

SMALL = disks_scene([(24.0, 20.0)], radius=10.0, height=40, width=48)
SMALL_B64 = encode(SMALL.image)
GOOD = request(SMALL_B64, [SMALL.centres[0]])


def refused(response, status: int, field: str) -> str:
    assert response.status_code == status, response.body
    assert response.content_type == "application/json"
    reply = json.loads(response.body)
    assert reply["field"] == field
    assert field.split("[")[0] in reply["error"]
    return reply["error"]


def still_serving(nuclio_function) -> None:
    response = nuclio_function.call(GOOD)
    assert response.status_code == 200
    assert iou(cvat_mask_shape(json.loads(response.body), SMALL.shape), SMALL.objects[0]) > 0.8


@pytest.mark.parametrize("body, field", [
    pytest.param({"pos_points": [[24, 20]], "neg_points": []}, "image", id="missing-image"),
    pytest.param({**GOOD, "image": None}, "image", id="null-image"),
    pytest.param({**GOOD, "image": 12345}, "image", id="image-not-a-string"),
    pytest.param({**GOOD, "image": "not base64 at all!"}, "image", id="broken-base64"),
    pytest.param({**GOOD, "image": SMALL_B64[:-3]}, "image", id="truncated-base64"),
    pytest.param({**GOOD, "image": ""}, "image", id="empty-image"),
    pytest.param({**GOOD, "image": base64.b64encode(b"GIF? no, plain text").decode()}, "image", id="not-an-image"),
    pytest.param({**GOOD, "pos_points": "24,20"}, "pos_points", id="points-not-a-list"),
    pytest.param({**GOOD, "pos_points": [[24]]}, "pos_points[0]", id="point-not-a-pair"),
    pytest.param({**GOOD, "pos_points": [24, 20]}, "pos_points[0]", id="flat-point-list"),
    pytest.param({**GOOD, "pos_points": [[24, "20"]]}, "pos_points[0][1]", id="point-coordinate-a-string"),
    pytest.param({**GOOD, "pos_points": [[True, 20]]}, "pos_points[0][0]", id="point-coordinate-a-bool"),
    pytest.param({**GOOD, "pos_points": [[math.nan, 20]]}, "pos_points[0][0]", id="nan-coordinate"),
    pytest.param({**GOOD, "neg_points": [[5, math.inf]]}, "neg_points[0][1]", id="infinite-coordinate"),
    pytest.param({**GOOD, "pos_points": [[10 ** 400, 20]]}, "pos_points[0][0]", id="huge-coordinate"),
    pytest.param({**GOOD, "pos_points": [[24, 20], [48, 20]]}, "pos_points[1]", id="click-right-of-the-image"),
    pytest.param({**GOOD, "neg_points": [[-0.5, 3]]}, "neg_points[0]", id="click-left-of-the-image"),
    pytest.param({**GOOD, "obj_bbox": [1, 2, 30, 30]}, "obj_bbox", id="flat-box"),
    pytest.param({**GOOD, "obj_bbox": [[1, 2]]}, "obj_bbox", id="box-one-corner"),
    pytest.param({**GOOD, "obj_bbox": "box"}, "obj_bbox", id="box-a-string"),
    pytest.param({**GOOD, "obj_bbox": [[1, 2], [60, 30]]}, "obj_bbox", id="box-outside-the-image"),
    pytest.param({**GOOD, "obj_bbox": [[5, 5], [5.5, 30]]}, "obj_bbox", id="box-under-a-pixel-wide"),
    pytest.param({**GOOD, "pos_points": [], "neg_points": [[3, 3]]}, "pos_points", id="no-positive-click-no-box"),
    pytest.param([GOOD], "body", id="body-a-list"),
    pytest.param("not json", "body", id="body-not-json"),
    pytest.param(b"\xff\xfe\x00garbage", "body", id="body-undecodable-bytes"),
])
def test_bad_input_is_a_400_naming_the_field_and_the_function_keeps_serving(nuclio_function, body, field):
    refused(nuclio_function.call(body), 400, field)
    still_serving(nuclio_function)


def test_nan_in_a_json_text_body_is_refused_like_any_non_finite_number(nuclio_function):
    body = json.dumps(GOOD).replace("[24.0, 20.0]", "[NaN, 20.0]")
    refused(nuclio_function.call(body.encode(), content_type="text/plain"), 400, "pos_points[0][0]")


def test_a_frame_over_the_pixel_limit_is_a_413_naming_the_limit(focalxl_environment):
    focalxl_environment.setenv("FOCALXL_MAX_PIXELS", str(48 * 40 - 1))
    function = NuclioFunction()
    error = refused(function.call(GOOD), 413, "image")
    assert "48x40" in error and "FOCALXL_MAX_PIXELS" in error
    small = disks_scene([(10.0, 10.0)], radius=6.0, height=20, width=24)
    assert function.call(request(encode(small.image), [small.centres[0]])).status_code == 200


def test_a_refused_request_leaves_the_objects_session_as_it_was(nuclio_function):
    first = nuclio_function.call(GOOD)
    refused(nuclio_function.call({**GOOD, "pos_points": [[24.0, 20.0], [99.0, 1.0]]}), 400, "pos_points[1]")
    assert nuclio_function.call(GOOD).body == first.body


# --- fuzzing ------------------------------------------------------------------------------------

numbers = st.one_of(st.integers(-10 ** 30, 10 ** 30), st.floats(allow_nan=True, allow_infinity=True),
                    st.floats(-5, 60))
json_values = st.recursive(st.none() | st.booleans() | numbers | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=12)
points = st.lists(st.one_of(st.tuples(numbers, numbers).map(list), json_values), max_size=3)
bodies = st.fixed_dictionaries({}, optional={
    "image": st.one_of(st.just(SMALL_B64), st.text(max_size=12), json_values,
                       st.binary(max_size=24).map(lambda b: base64.b64encode(b).decode())),
    "pos_points": st.one_of(points, json_values),
    "neg_points": st.one_of(points, json_values),
    "obj_bbox": st.one_of(st.none(), st.just([]), st.lists(st.tuples(numbers, numbers).map(list), max_size=3),
                          json_values),
})
any_body = st.one_of(bodies, json_values, st.binary(max_size=32),
                     bodies.map(lambda b: json.dumps(b, default=str).encode()))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=any_body)
def test_fuzzed_requests_get_a_mask_or_a_4xx_naming_a_field_never_a_crash(nuclio_function, body):
    response = nuclio_function.call(body)
    reply = json.loads(response.body)
    if response.status_code == 200:
        xtl, ytl, xbr, ybr = reply["bounds"]
        assert 0 <= xtl <= xbr < SMALL.shape[1] and 0 <= ytl <= ybr < SMALL.shape[0]
        assert cvat_mask_shape(reply, SMALL.shape).any()
    else:
        assert response.status_code in (400, 413, 422), reply
        assert isinstance(reply["error"], str) and reply["error"]
        assert isinstance(reply["field"], str) and reply["field"].split("[")[0] in reply["error"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pos=st.lists(st.tuples(st.floats(-2, 50), st.floats(-2, 42)), max_size=3),
       neg=st.lists(st.tuples(st.floats(-2, 50), st.floats(-2, 42)), max_size=2))
def test_fuzzed_clicks_on_a_real_frame_get_a_mask_or_a_4xx_and_serving_goes_on(nuclio_function, pos, neg):
    response = nuclio_function.call(request(SMALL_B64, pos, neg))
    inside = all(0 <= x < SMALL.shape[1] and 0 <= y < SMALL.shape[0] for x, y in pos + neg)
    if not pos or not inside:
        assert response.status_code == 400
    else:
        assert response.status_code in (200, 422)
        if response.status_code == 200:
            assert cvat_mask_shape(json.loads(response.body), SMALL.shape).any()
    assert nuclio_function.call(GOOD).status_code == 200


def test_nothing_in_the_reply_is_a_nan_or_a_non_json_value(nuclio_function):
    reply = json.loads(nuclio_function.call(GOOD).body, parse_constant=lambda name: pytest.fail(name))
    assert np.array(reply["mask"]).dtype.kind == "i"


class FailsOnce(ClassicalPredictor):
    """The classical predictor, except that its first object prediction crashes."""

    failed = False

    def predict_object(self, inputs):
        if not self.failed:
            self.failed = True
            raise RuntimeError("the accelerator fell over")
        return super().predict_object(inputs)


def test_an_engine_crash_is_a_500_json_reply_and_the_next_request_starts_clean():
    interactor = Interactor(focalxl.Segmenter(FailsOnce()))
    crashed = interactor.respond(GOOD)
    assert crashed.status == 500
    assert json.loads(crashed.body) == {"error": "internal error: the accelerator fell over", "field": None}
    served = interactor.respond(GOOD)
    assert served.status == 200
    assert iou(cvat_mask_shape(json.loads(served.body), SMALL.shape), SMALL.objects[0]) > 0.8
