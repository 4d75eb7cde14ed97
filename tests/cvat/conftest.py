"""Fixtures for the CVAT door: the Nuclio function (mock platform or a local HTTP trigger) with
the ``classical`` preset, and a frame with two objects."""
from __future__ import annotations

from typing import Iterator

import pytest

from cvat_ui import Scene, disks_scene
from nuclio_runtime import HttpTrigger, NuclioFunction, load_main

FOCALXL_VARIABLES = ("FOCALXL_PRESET", "FOCALXL_CHECKPOINT", "FOCALXL_DEVICE", "FOCALXL_MAX_PIXELS",
                     "FOCALXL_SESSION_MB", "FOCALXL_MAX_PROMPTS", "FOCALXL_MAX_BODY_MB")


@pytest.fixture
def focalxl_environment(monkeypatch):
    """The function's environment: preset ``classical``, everything else at its default."""
    for name in FOCALXL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FOCALXL_PRESET", "classical")
    return monkeypatch


@pytest.fixture
def nuclio_function(focalxl_environment) -> NuclioFunction:
    return NuclioFunction()


@pytest.fixture
def http_trigger(focalxl_environment) -> Iterator[HttpTrigger]:
    with HttpTrigger(load_main()) as trigger:
        yield trigger


@pytest.fixture(scope="session")
def scene() -> Scene:
    return disks_scene([(70.0, 80.0), (150.0, 70.0)])
