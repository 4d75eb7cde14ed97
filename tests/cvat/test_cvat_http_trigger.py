"""The function behind a local HTTP server that delivers bodies the way Nuclio's HTTP trigger does,
called over real HTTP the way CVAT's server calls it (``requests.post(url, json=payload)``)."""
import base64
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

import focalxl
from focalxl.image_files import decode_image

from cvat_ui import cvat_mask_shape, disks_scene, encode, iou, request


def test_a_json_post_gets_the_mask_of_the_clicked_object(http_trigger, scene):
    reply = requests.post(http_trigger.url, json=request(encode(scene.image, ".jpg"), [scene.centres[1]]), timeout=60)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "application/json"
    assert iou(cvat_mask_shape(reply.json(), scene.shape), scene.objects[1]) > 0.9


def test_a_body_that_is_not_json_is_a_400_and_serving_goes_on(http_trigger, scene):
    refused = requests.post(http_trigger.url, data=b"{not json", headers={"Content-Type": "application/json"}, timeout=60)
    assert refused.status_code == 400
    assert refused.json()["field"] == "body"
    served = requests.post(http_trigger.url, json=request(encode(scene.image), [scene.centres[0]]), timeout=60)
    assert served.status_code == 200


def test_eight_concurrent_clients_on_different_frames_get_their_own_objects(http_trigger):
    """Eight annotators click at once, each on a frame with its object somewhere else; every
    reply lands on the caller's object and equals what the engine gives for the caller's clicks."""
    frames = [disks_scene([(40.0 + 15 * i, 50.0 + 8 * i)], radius=22.0, seed=i) for i in range(8)]
    clicks = [[(x, y), (x + 8, y - 6), (x - 6, y + 9)] for (x, y), in (f.centres for f in frames)]
    start = threading.Barrier(len(frames))

    def annotate(frame, points):
        image_b64 = encode(frame.image, ".jpg")
        start.wait()
        replies = []
        for count in range(1, len(points) + 1):
            reply = requests.post(http_trigger.url, json=request(image_b64, points[:count]), timeout=120)
            assert reply.status_code == 200, reply.text
            replies.append(cvat_mask_shape(reply.json(), frame.shape))
        return image_b64, replies

    with ThreadPoolExecutor(len(frames)) as pool:
        results = list(pool.map(annotate, frames, clicks))
    segmenter = focalxl.load("classical")
    for frame, points, (image_b64, replies) in zip(frames, clicks, results):
        alone = segmenter.new_session(decode_image(base64.b64decode(image_b64)))
        for (x, y), mask in zip(points, replies):
            assert (mask == alone.add(focalxl.Click(x, y)).mask).all()
            assert iou(mask, frame.objects[0]) > 0.9
