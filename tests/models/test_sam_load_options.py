"""``focalxl.load(name, checkpoint=..., device=..., threads=...)`` for every kind of preset."""
from __future__ import annotations

import json
import subprocess
import sys

import cv2
import pytest

import focalxl


def test_classical_runs_on_the_cpu_and_says_so_for_other_devices():
    assert focalxl.load("classical", device="cpu").predictor.name == "classical"
    assert focalxl.load("classical", device="auto").predictor.name == "classical"
    with pytest.raises(ValueError, match="device 'cuda': the classical preset runs on the CPU only"):
        focalxl.load("classical", device="cuda")


def test_classical_threads_set_opencvs_thread_count():
    before = cv2.getNumThreads()
    try:
        focalxl.load("classical", threads=1)
        assert cv2.getNumThreads() == 1
    finally:
        cv2.setNumThreads(before)


@pytest.mark.parametrize("threads", [0, -2, 1.5, "2", True])
def test_threads_must_be_a_positive_integer_for_every_preset(threads):
    for name in ("classical", "sam-vit-b"):
        with pytest.raises(ValueError, match="threads must be a positive integer"):
            focalxl.load(name, threads=threads)


def test_learned_presets_are_listed_without_importing_torch():
    code = "import json, sys, focalxl; print(json.dumps([focalxl.presets(), 'torch' in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    presets, torch_imported = json.loads(out)
    assert {"sam-vit-b", "sam-vit-l", "sam-vit-h"} <= set(presets)
    assert not torch_imported
