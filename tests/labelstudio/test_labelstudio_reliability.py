"""The Label Studio door under hostile and heavy input: no 5xx, no SSRF, bounded work, serialised sessions.

The fast tests drive the Flask app in process with the real engine; the slow ones start
``python -m focalxl.labelstudio`` (gunicorn) and fuzz it over HTTP, printing the number of
bodies, the status counts and the worker's RSS before and after (run with ``-s``).
"""
from __future__ import annotations

import base64
import copy
import json
import logging
import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import focalxl
import numpy as np
import pytest
import requests
from fetch_servers import Canary, ScriptedServer
from focalxl.fetch import FetchPolicy
from focalxl.labelstudio.limits import Limits, json_depth
from focalxl.hosts.labelstudio.media import Media
from focalxl.labelstudio.model import Backend
from focalxl.labelstudio.server import create_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from label_studio_sdk.converter.brush import decode_rle
from labelstudio_payloads import ImageServer, keypoint, predict_body, rectangle

HEIGHT, WIDTH = 72, 96
STATUSES: Counter = Counter()
DEEP = "__deep__"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.just(10 ** 400) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=25)
weird_values = st.one_of(
    st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.sampled_from([10 ** 400, -10 ** 400, 2 ** 63, 1e308]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=16), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2), st.just(DEEP))


def encode(body: Any) -> bytes:
    """JSON text of ``body``; ``DEEP`` becomes an array nested 1200 levels (deeper than json.dumps may write)."""
    return json.dumps(body).replace(f'"{DEEP}"', "[" * 1200 + "]" * 1200).encode()


def paths(value: Any, prefix: Tuple = ()) -> Iterator[Tuple]:
    yield prefix
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield from paths(child, prefix + (key,))


def mutate(body: Any, path: Tuple, how: str, value: Any) -> Any:
    """``body`` with the part at ``path`` dropped, replaced by ``value``, wrapped in a list or cut to a scalar."""
    body = copy.deepcopy(body)
    if not path:
        return value
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if how == "drop":
        del parent[key]
    elif how == "wrap":
        parent[key] = [parent[key]]
    elif how == "stringify":
        parent[key] = str(parent[key])[:40]
    else:
        parent[key] = value
    return body


@pytest.fixture(scope="module")
def scene(helpers):
    return helpers.make_disk_scene(height=HEIGHT, width=WIDTH, cx=60.0, cy=34.0, radius=18.0, seed=7)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    server = ImageServer(tmp_path_factory.mktemp("reliability-images"))
    yield server
    server.httpd.shutdown()


@pytest.fixture(scope="module")
def scripted():
    server = ScriptedServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def canary():
    listener = Canary()
    yield listener
    listener.close()


def make_backend(segmenter, images: ImageServer, *trusted: str, store_bytes: int = 256 * 1024 ** 2,
                 limits: Limits = Limits(), fetch_slots: int = 6, **policy) -> Backend:
    fetch = FetchPolicy(allow=(f"127.0.0.1:{images.port}",) + trusted, **policy)
    return Backend(segmenter, Media(policy=fetch, fetch_slots=fetch_slots), "focalxl-test",
                   focalxl.SessionStore(store_bytes), limits)


@pytest.fixture(scope="module")
def fuzz_client(segmenter, images):
    return create_app(make_backend(segmenter, images), basic_auth=("", "")).test_client()


@pytest.fixture(scope="module")
def valid_body(images, scene):
    task = {"id": 41, "data": {"image": images.put_image(scene.image)},
            "annotations": [{"id": 1, "result": [rectangle(40, 14, 80, 54, WIDTH, HEIGHT)]}]}
    return predict_body(task, {"result": [keypoint(scene.cx, scene.cy, WIDTH, HEIGHT),
                                          keypoint(5, 5, WIDTH, HEIGHT, positive=False)]})


@pytest.fixture(scope="module", autouse=True)
def status_report():
    yield
    if STATUSES:
        print(f"\nLabel Studio fuzz (in process): {sum(STATUSES.values())} bodies, statuses {dict(sorted(STATUSES.items()))}")


def post(client, route: str, data: bytes):
    response = client.post(route, data=data, content_type="application/json")
    STATUSES[response.status_code] += 1
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    assert isinstance(response.get_json(), dict)
    return response


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values, route=st.sampled_from(["/predict", "/setup", "/webhook"]))
def test_any_json_value_gets_a_4xx_or_2xx_and_the_server_keeps_serving(fuzz_client, body, route):
    post(fuzz_client, route, encode(body))
    assert fuzz_client.get("/health").status_code == 200


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_valid_payloads_never_get_a_5xx(fuzz_client, valid_body, data):
    body = valid_body
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(list(paths(body))))
        how = data.draw(st.sampled_from(["drop", "replace", "wrap", "stringify"] if where else ["replace"]))
        body = mutate(body, where, how, data.draw(weird_values))
    post(fuzz_client, data.draw(st.sampled_from(["/predict", "/predict", "/webhook", "/setup"])), encode(body))
    assert fuzz_client.get("/health").status_code == 200


def test_the_unmutated_payload_is_answered_with_a_mask(fuzz_client, valid_body, scene, helpers):
    response = post(fuzz_client, "/predict", encode(valid_body))
    (item,) = response.get_json()["results"][0]["result"]
    mask = decode_rle(item["value"]["rle"]).reshape(HEIGHT, WIDTH, 4)[:, :, 3] > 0
    assert helpers.iou(mask, scene.gt) > 0.8


@given(st.recursive(st.none() | st.integers() | st.text(max_size=3),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                    max_leaves=30))
def test_json_depth_is_the_nesting_of_the_parsed_value(value):
    def depth(v):
        children = v.values() if isinstance(v, dict) else v if isinstance(v, list) else None
        return 0 if children is None else 1 + max(map(depth, children), default=0)
    assert json_depth(json.dumps(value).encode()) == depth(value)


@pytest.mark.parametrize("levels", [65, 1000, 100_000])
def test_deep_json_is_a_400_naming_the_limit(fuzz_client, levels):
    response = post(fuzz_client, "/predict", b"[" * levels + b"]" * levels)
    assert response.status_code == 400 and "FOCALXL_MAX_JSON_DEPTH" in response.get_json()["detail"]


@pytest.mark.parametrize("route, body, field", [
    ("/webhook", {"action": ["ANNOTATION_CREATED"]}, "action"),
    ("/webhook", {"action": {"a": 1}}, "action"),
    ("/predict", predict_body({"id": [1], "data": {"image": "x"}}, {"result": []}), "tasks[0].id"),
    ("/predict", predict_body({"id": {"a": 1}, "data": {"image": "x"}}, None), "tasks[0].id"),
    ("/predict", predict_body({"id": 1, "data": {"image": "x"}, "annotations": 5}, None), "tasks[0].annotations"),
    ("/predict", predict_body({"id": 1, "data": {"image": "x"}, "annotations": "abc"}, None), "tasks[0].annotations"),
    ("/predict", predict_body({"id": 1, "data": {"image": "x"}, "predictions": {"a": 1}}, None), "tasks[0].predictions"),
    ("/predict", predict_body({"id": 1, "data": {"image": "x"}}, {"result": [{"type": ["keypointlabels"]}]}),
     "context.result[0].type"),
    ("/predict", predict_body({"id": 1, "data": {"image": "x"}}, {"result": [{"type": {"k": 1}}]}),
     "context.result[0].type"),
])
def test_wrong_types_are_a_400_naming_the_field(fuzz_client, route, body, field):
    response = post(fuzz_client, route, encode(body))
    assert response.status_code == 400 and field in response.get_json()["detail"]


def xml_with_entities(declarations: str, label: str) -> str:
    return (f'<?xml version="1.0"?><!DOCTYPE v [{declarations}]><View><Image name="image" value="$image"/>'
            f'<BrushLabels name="tag" toName="image"><Label value="{label}"/></BrushLabels></View>')


@pytest.mark.parametrize("config", [
    xml_with_entities('<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)),
                      "&a9;"),                                                    # a billion laughs
    xml_with_entities('<!ENTITY x SYSTEM "file:///etc/passwd">', "&x;"),         # an external entity
    "<View><Image name='image' value='$image'/>" * 2000, "<" * 10000, "\x00"])
def test_hostile_label_configs_are_a_400(fuzz_client, valid_body, config):
    response = post(fuzz_client, "/predict", encode(mutate(valid_body, ("label_config",), "replace", config)))
    assert response.status_code == 400 and "label_config" in response.get_json()["detail"]
    assert "root:" not in response.get_data(as_text=True)


@pytest.mark.parametrize("key, number", [("x", 10 ** 400), ("y", -10 ** 400), ("x", float("nan")),
                                         ("y", float("inf")), ("x", 1e308)])
def test_huge_and_non_finite_coordinates_are_a_400_naming_the_field(fuzz_client, valid_body, key, number):
    body = mutate(valid_body, ("params", "context", "result", 0, "value", key), "replace", number)
    response = post(fuzz_client, "/predict", encode(body))
    assert response.status_code == 400 and f"context.result[0].value.{key}" in response.get_json()["detail"]


def test_a_huge_rectangle_angle_is_a_400(fuzz_client, valid_body, scene):
    box = rectangle(40, 14, 80, 54, WIDTH, HEIGHT)
    box["value"]["rotation"] = 10 ** 400
    body = mutate(valid_body, ("params", "context", "result"), "replace", [box])
    response = post(fuzz_client, "/predict", encode(body))
    assert response.status_code == 400 and "context.result[0].value.rotation" in response.get_json()["detail"]


def test_work_limits_are_413s_naming_their_setting(segmenter, images, valid_body):
    limits = Limits(max_body_bytes=200_000, max_prompts=3, max_tasks=2)
    client = create_app(make_backend(segmenter, images, limits=limits), basic_auth=("", "")).test_client()
    many = [keypoint(10 + i % 50, 10 + i // 50, WIDTH, HEIGHT) for i in range(4)]
    cases = [(mutate(valid_body, ("params", "context", "result"), "replace", many), "FOCALXL_MAX_PROMPTS"),
             (mutate(valid_body, ("tasks",), "replace", valid_body["tasks"] * 3), "FOCALXL_MAX_TASKS"),
             (mutate(valid_body, ("label_config",), "replace", " " * 300_000), "FOCALXL_MAX_BODY_MB")]
    boxes = [rectangle(10, 10, 40, 40, WIDTH, HEIGHT)] * 4
    cases.append((mutate(mutate(valid_body, ("params", "context"), "replace", None),
                         ("tasks", 0, "annotations", 0, "result"), "replace", boxes), "FOCALXL_MAX_PROMPTS"))
    for body, setting in cases:
        response = post(client, "/predict", encode(body))
        assert response.status_code == 413 and setting in response.get_json()["detail"]
    assert post(client, "/predict", encode(valid_body)).status_code == 200


def test_a_session_over_the_store_cap_is_a_413_naming_the_setting(segmenter, images, valid_body):
    client = create_app(make_backend(segmenter, images, store_bytes=4096), basic_auth=("", "")).test_client()
    response = post(client, "/predict", encode(valid_body))
    assert response.status_code == 413 and "FOCALXL_SESSION_MB" in response.get_json()["detail"]
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize("header", [
    "Basic " + base64.b64encode("üser:päss".encode()).decode(),
    "Basic " + base64.b64encode("ls:s3crét".encode("latin-1")).decode(),
    "Basic " + base64.b64encode(b"\xff\xfe:\x80").decode(),
    "Basic ls:s3cret", "Basic ====", "Bearer x", "basic", ""])
def test_non_ascii_or_malformed_credentials_are_a_plain_401(segmenter, images, header):
    client = create_app(make_backend(segmenter, images), basic_auth=("ls", "s3crét")).test_client()
    for route in ("/health", "/metrics", "/predict"):
        response = client.open(route, method="GET" if route != "/predict" else "POST",
                               headers={"Authorization": header.encode("utf-8").decode("latin-1")})
        assert response.status_code == 401
    good = "Basic " + base64.b64encode("ls:s3crét".encode()).decode()
    assert client.get("/health", headers={"Authorization": good}).status_code == 200


def test_metrics_need_auth_and_count_route_templates_only(segmenter, images):
    client = create_app(make_backend(segmenter, images), basic_auth=("ls", "pw")).test_client()
    auth = {"Authorization": "Basic " + base64.b64encode(b"ls:pw").decode()}
    for i in range(500):
        client.get(f"/no/such/path/{i}")
        client.get(f"/health?{i}")
    assert client.get("/metrics").status_code == 401
    counted = client.get("/metrics", headers=auth).get_json()["requests"]
    assert set(counted) <= {"/", "/health", "/setup", "/predict", "/webhook", "/versions", "/metrics", "<other>"}
    assert counted["<other>"]["requests"] == 500


# -- outgoing fetches ---------------------------------------------------------------------------------------------

def interactive(image_url: str, task_id: int = 60) -> dict:
    return predict_body({"id": task_id, "data": {"image": image_url}}, {"result": [keypoint(5, 5, WIDTH, HEIGHT)]})


def test_no_spelling_of_a_loopback_address_reaches_the_canary(fuzz_client, canary):
    for spelling, url in canary.urls().items():
        response = post(fuzz_client, "/predict", encode(interactive(url)))
        assert response.status_code == 403, spelling
        assert "loopback" in response.get_json()["detail"]
    assert canary.connections == []


def test_a_redirect_from_a_trusted_server_to_the_canary_is_refused(segmenter, images, scripted, canary):
    client = create_app(make_backend(segmenter, images, f"127.0.0.1:{scripted.port}"), basic_auth=("", "")).test_client()
    for spelling, target in canary.urls().items():
        url = scripted.redirect(f"/hop-{len(scripted.routes)}", target)
        response = post(client, "/predict", encode(interactive(url)))
        assert response.status_code == 403 and "redirect 1" in response.get_json()["detail"], spelling
    assert canary.connections == []


def test_a_host_announced_by_setup_is_not_trusted(fuzz_client, canary):
    announced = {"project": "7.1700000000", "hostname": f"http://127.0.0.1:{canary.port}", "access_token": "tok"}
    assert post(fuzz_client, "/setup", encode(announced)).status_code == 200
    for path in ("/data/upload/7/a.png", "/data/local-files/?d=a.png", "s3://bucket/a.png"):
        response = post(fuzz_client, "/predict", encode(interactive(path)))
        assert response.status_code == 403, (path, response.get_json())
    assert canary.connections == []


def test_a_refusal_reads_the_same_whether_or_not_anything_listens_there(fuzz_client, canary):
    closed = Canary()
    closed.close()
    details = []
    for port in (canary.port, closed.port):
        response = post(fuzz_client, "/predict", encode(interactive(f"http://169.254.169.254:{port}/x")))
        details.append(response.get_json()["detail"].replace(str(port), "PORT"))
    assert details[0] == details[1]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.png", "gopher://127.0.0.1/"])
def test_other_schemes_are_refused(fuzz_client, url):
    assert post(fuzz_client, "/predict", encode(interactive(url))).status_code == 403


def test_label_studio_paths_need_a_configured_server(fuzz_client):
    for path in ("/data/upload/1/a.png", "upload/1/a.png", "/data/local-files/?d=../../etc/passwd", "gs://b/k.png"):
        body = interactive(path, task_id=61) | {"project": "8.1700000000"}   # a project nothing was announced for
        response = post(fuzz_client, "/predict", encode(body))
        assert response.status_code in (403, 422) and "LABEL_STUDIO_URL" in response.get_json()["detail"]


def test_label_studio_paths_resolve_against_label_studio_url_and_the_key_stays_there(segmenter, images, scripted,
                                                                                     canary, scene):
    import cv2
    from focalxl.hosts.labelstudio.media import Server
    png = cv2.imencode(".png", cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR))[1].tobytes()
    scripted.file("/data/upload/3/legacy.png", png)           # the storage proxy answers 404: the legacy path
    bucket = ScriptedServer()
    try:
        signed = bucket.file("/signed.png", png)
        media = Media(Server(scripted.url, "legacy-key-123"), FetchPolicy(allow=(f"127.0.0.1:{bucket.port}",)))
        client = create_app(Backend(segmenter, media, "v"), basic_auth=("", "")).test_client()
        assert post(client, "/predict", encode(interactive("/data/upload/3/legacy.png", 80))).status_code == 200
        (proxy, _), (legacy, headers) = scripted.requests[-2:]
        assert proxy == "/storage-data/uploaded/?filepath=upload/3/legacy.png" and legacy == "/data/upload/3/legacy.png"
        assert headers["Authorization"] == "Token legacy-key-123"
        scripted.redirect("/tasks/81/presign/", signed + "?X-Amz-Signature=abc")
        assert post(client, "/predict", encode(interactive("s3://bucket/a.png", 81))).status_code == 200
        assert scripted.requests[-1][0].startswith("/tasks/81/presign/?fileuri=")
        assert scripted.requests[-1][1]["Authorization"] == "Token legacy-key-123"
        assert "Authorization" not in bucket.requests[-1][1]   # the key never leaves Label Studio's origin
        scripted.redirect("/tasks/82/presign/", canary.urls()["loopback"])
        response = post(client, "/predict", encode(interactive("gs://bucket/a.png", 82)))
        assert response.status_code == 403 and canary.connections == []
    finally:
        bucket.close()


def sdk_cache_files() -> set:
    from label_studio_sdk._extensions.label_studio_tools.core.utils.io import get_cache_dir
    return set(os.listdir(get_cache_dir()))


def test_a_huge_image_is_refused_while_streaming_and_nothing_is_cached(segmenter, images, scripted):
    backend = make_backend(segmenter, images, f"127.0.0.1:{scripted.port}", max_bytes=2_000_000)
    client = create_app(backend, basic_auth=("", "")).test_client()
    before = sdk_cache_files()
    for url, words in ((scripted.endless("/huge-announced.png", announce=True), "announced"),
                       (scripted.endless("/huge-streamed.png"), "more than 2000000 bytes")):
        started = time.monotonic()
        response = post(client, "/predict", encode(interactive(url)))
        assert response.status_code == 413 and words in response.get_json()["detail"]
        assert "FOCALXL_MAX_IMAGE_BYTES" in response.get_json()["detail"]
        assert time.monotonic() - started < 10
    assert backend.media._cache == {} and sdk_cache_files() == before


def test_a_slow_image_ends_at_the_fetch_deadline(segmenter, images, scripted):
    backend = make_backend(segmenter, images, f"127.0.0.1:{scripted.port}", deadline=1.5, read_timeout=1.0)
    client = create_app(backend, basic_auth=("", "")).test_client()
    started = time.monotonic()
    response = post(client, "/predict", encode(interactive(scripted.slow("/slow.png", 0.2))))
    assert response.status_code == 422 and "FOCALXL_FETCH_DEADLINE" in response.get_json()["detail"]
    assert time.monotonic() - started < 4 and backend.media._cache == {}


def test_downloads_beyond_the_fetch_slots_are_a_429_at_once(segmenter, images, scripted):
    backend = make_backend(segmenter, images, f"127.0.0.1:{scripted.port}", fetch_slots=1, deadline=3, read_timeout=2)
    client = create_app(backend, basic_auth=("", "")).test_client()
    first = threading.Thread(target=post, args=(client, "/predict", encode(interactive(scripted.slow("/busy.png", 0.3)))))
    first.start()
    time.sleep(0.5)
    started = time.monotonic()
    response = post(client, "/predict", encode(interactive(images.put(b"unused"))))
    assert response.status_code == 429 and response.headers["Retry-After"] and time.monotonic() - started < 1
    assert "fetch slots" in response.get_json()["detail"]
    first.join()


def test_secrets_in_any_spelling_of_a_url_stay_out_of_replies_and_logs(segmenter, images, caplog):
    from focalxl.labelstudio.app import configure_logging
    configure_logging("DEBUG")   # as the server logs: urllib3's request lines (full URLs) stay below its level
    client = create_app(make_backend(segmenter, images), basic_auth=("", "")).test_client()
    port = images.port
    urls = [f"HTTP://127.0.0.1:{port}/missing.png?X-Amz-Signature=sig-111",
            f"http://127.0.0.1:{port}/été/missing.png?X-Amz-Signature=sig-222",
            f"http://127.0.0.1:{port}/missing%2Epng?x-amz-signature=sig-333&X-Amz-Credential=cred-444",
            f"http://user:pass-555@127.0.0.1:{port}/missing.png", f"http://127.0.0.1:{port}/missing.png?tok-666",
            "http://10.0.0.1/a.png?sig=sig-777", "http://u:pass-888@169.254.169.254/"]
    with caplog.at_level(logging.DEBUG):
        replies = [post(client, "/predict", encode(interactive(url))).get_data(as_text=True) for url in urls]
    text = caplog.text + "".join(replies)
    for secret in ("sig-111", "sig-222", "sig-333", "cred-444", "pass-555", "tok-666", "sig-777", "pass-888"):
        assert secret not in text


# -- one session per object -----------------------------------------------------------------------------------------

def masks_of(responses) -> List[np.ndarray]:
    masks = []
    for response in responses:
        assert response.status_code == 200, response.get_json()
        (item,) = response.get_json()["results"][0]["result"]
        masks.append(decode_rle(item["value"]["rle"]).reshape(item["original_height"], item["original_width"], 4)[..., 3])
    return masks


def test_concurrent_identical_and_overlapping_requests_on_one_task_equal_the_sequential_replies(
        segmenter, images, helpers):
    scene = helpers.make_disk_scene(height=120, width=160, cx=90, cy=60, radius=30, seed=11)
    url = images.put_image(scene.image)
    clicks = [keypoint(90, 60, 160, 120), keypoint(70, 50, 160, 120, positive=False), keypoint(100, 70, 160, 120),
              keypoint(10, 10, 160, 120, positive=False)]
    bodies = [encode(predict_body({"id": 70, "data": {"image": url}}, {"result": clicks[:n]})) for n in (1, 2, 3, 4)]
    expected = []
    for body in bodies:   # each alone, on a fresh backend: the sequential reply
        client = create_app(make_backend(segmenter, images), basic_auth=("", "")).test_client()
        expected += masks_of([client.post("/predict", data=body, content_type="application/json")])
    client = create_app(make_backend(segmenter, images, fetch_slots=8), basic_auth=("", "")).test_client()  # 8 at once
    order = [0] * 8 + [0, 1, 2, 3, 1, 0, 3, 2] * 4   # a double submit burst, then overlapping histories
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda i: client.post("/predict", data=bodies[i], content_type="application/json"),
                                order))
    for i, mask in zip(order, masks_of(replies)):
        assert np.array_equal(mask, expected[i])


# -- the real server (gunicorn) -------------------------------------------------------------------------------------

def test_gunicorn_runs_threads_under_a_finite_worker_timeout(monkeypatch):
    from focalxl.labelstudio import __main__ as entry
    options = {}
    monkeypatch.setattr(entry._Gunicorn, "run", lambda self: options.update(self.options))
    entry.main(["--port", "9999"])
    assert options["worker_class"] == "gthread" and options["threads"] >= 3 and 0 < options["timeout"] <= 600
    with pytest.raises(SystemExit):
        entry.main(["--threads", "2"])   # downloads may use all threads but two


def worker_rss_mib(pid: int) -> float:
    """Resident memory of gunicorn's worker (the arbiter's child), in MiB."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    status = Path(f"/proc/{children[0]}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024


@pytest.fixture(scope="module")
def live(tmp_path_factory, images, scripted):
    from label_studio_server import start_backend
    backend = start_backend(tmp_path_factory.mktemp("live-backend"), threads=4,
                            FOCALXL_FETCH_ALLOW=f"127.0.0.1:{images.port},127.0.0.1:{scripted.port}",
                            FOCALXL_FETCH_DEADLINE="4", FOCALXL_FETCH_READ_TIMEOUT="2", FOCALXL_MAX_PROMPTS="50")
    yield backend
    backend.stop()


@pytest.mark.slow
def test_the_live_server_survives_a_fuzz_run_without_a_5xx_or_growing(live, valid_body):
    session = requests.Session()
    statuses: Counter = Counter()

    def send(route: str, body: bytes) -> None:
        response = session.post(live.url + route, data=body, headers={"Content-Type": "application/json"}, timeout=60)
        statuses[response.status_code] += 1
        assert response.status_code < 500, response.text[:500]

    send("/predict", encode(valid_body))   # load and warm up before measuring
    before = worker_rss_mib(live.process.pid)

    @settings(max_examples=1000, deadline=None, database=None)
    @given(body=json_values, route=st.sampled_from(["/predict", "/setup", "/webhook"]))
    def arbitrary(body, route):
        send(route, encode(body))

    @settings(max_examples=1500, deadline=None, database=None)
    @given(data=st.data())
    def mutated(data):
        body = valid_body
        for _ in range(data.draw(st.integers(1, 3))):
            where = data.draw(st.sampled_from(list(paths(body))))
            how = data.draw(st.sampled_from(["drop", "replace", "wrap", "stringify"] if where else ["replace"]))
            body = mutate(body, where, how, data.draw(weird_values))
        send("/predict", encode(body))

    arbitrary()
    mutated()
    after = worker_rss_mib(live.process.pid)
    assert session.get(live.url + "/health", timeout=10).status_code == 200
    print(f"\nLabel Studio fuzz (gunicorn): {sum(statuses.values())} bodies, statuses {dict(sorted(statuses.items()))}, "
          f"worker RSS {before:.0f} MiB before, {after:.0f} MiB after")
    assert after < before + 200


@pytest.mark.slow
def test_slow_image_urls_do_not_starve_health(live, scripted):
    urls = [scripted.slow(f"/trickle-{i}.png", 0.5) for i in range(6)]
    results: List[int] = []

    def slow_request(url: str) -> None:
        response = requests.post(live.url + "/predict", json=interactive(url), timeout=60)
        results.append(response.status_code)

    threads = [threading.Thread(target=slow_request, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    waits = []
    for _ in range(5):
        started = time.monotonic()
        assert requests.get(live.url + "/health", timeout=30).status_code == 200
        waits.append(time.monotonic() - started)
        time.sleep(0.3)
    for thread in threads:
        thread.join()
    print(f"\n/health during 6 trickling image URLs on 4 threads: slowest answer {max(waits):.2f} s; "
          f"image requests answered {sorted(results)}")
    assert max(waits) < 3.0
    assert sorted(set(results)) <= [422, 429]
