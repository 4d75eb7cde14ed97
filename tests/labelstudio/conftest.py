"""Fixtures for the Label Studio door: a synthetic task image served over HTTP and the app."""
from __future__ import annotations

import focalxl
import pytest
from focalxl.fetch import FetchPolicy
from focalxl.hosts.labelstudio.media import Media
from focalxl.labelstudio.model import Backend
from focalxl.labelstudio.server import create_app
from labelstudio_payloads import ImageServer


@pytest.fixture(scope="session")
def image_server(tmp_path_factory) -> ImageServer:
    server = ImageServer(tmp_path_factory.mktemp("images"))
    yield server
    server.httpd.shutdown()


@pytest.fixture(scope="session")
def disk(helpers):
    """A 240x320 image with a red disk (the object) at (200, 110), radius 50."""
    return helpers.make_disk_scene(height=240, width=320, cx=200.0, cy=110.0, radius=50.0)


@pytest.fixture
def media(image_server) -> Media:
    """Media that trusts the test image host (it is on 127.0.0.1, which the fetch policy refuses by default)."""
    return Media(policy=FetchPolicy(allow=(f"127.0.0.1:{image_server.port}",)))


@pytest.fixture
def backend(segmenter, media) -> Backend:
    return Backend(segmenter, media, "focalxl-test", focalxl.SessionStore())


@pytest.fixture
def client(backend):
    return create_app(backend, basic_auth=("", "")).test_client()


