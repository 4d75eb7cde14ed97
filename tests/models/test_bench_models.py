"""``focalxl bench models``: per-preset latency, Context-Net reruns and peak memory.

Full-size networks take minutes on a CPU, so the tests measure a tiny SAM registered as
a preset for the test (in this process) and the ``classical`` preset through the child
processes the command starts; the figures themselves are never asserted.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import focalxl
from focalxl import bench, segmenter
from focalxl.bench import models
from focalxl.models import sam as sam_networks
from focalxl.predictors.sam import SamPredictor

TINY = sam_networks.SamConfig(encoder_embed_dim=16, encoder_depth=1, encoder_num_heads=1,
                              encoder_global_attn_indexes=(0,), prompt_embed_dim=16, image_size=128,
                              window_size=4, decoder_mlp_dim=32, decoder_num_heads=2, iou_head_hidden_dim=16)


class _Forgetful(SamPredictor):
    """A predictor that wrongly recomputes the image embedding at every interaction."""

    def predict_object(self, inputs):
        inputs.context = self.context(inputs.image)
        return super().predict_object(inputs)


@pytest.fixture
def tiny_presets(monkeypatch):
    def build(kind):
        def factory(random_weights=False, device=None, threads=None):
            return kind("sam-tiny", TINY, device=device, threads=threads, random_weights=random_weights)
        return factory

    monkeypatch.setitem(segmenter._PRESETS, "sam-tiny", build(SamPredictor))
    monkeypatch.setitem(segmenter._PRESETS, "sam-forgetful", build(_Forgetful))
    from focalxl import weights

    for name in ("sam-tiny", "sam-forgetful"):
        monkeypatch.setitem(weights.TABLE, name, weights.TABLE["sam-vit-b"])


def test_a_cached_interaction_does_not_rerun_the_context_net(tiny_presets):
    measured = models.measure("sam-tiny", 160, 90, repeats=2)
    assert len(measured["first_ms"]) == 2 and len(measured["cached_ms"]) == 8
    assert len(measured["context_ms"]) == 2                 # once per session, at its first interaction
    assert measured["context_reruns"] == 0
    rows = models.figures(measured)
    rerun_row = next(f for f in rows if "reruns" in f.measure)
    assert rerun_row.status == "PASS"
    assert all(np.isfinite(f.value) and f.value >= 0 for f in rows)


def test_a_predictor_that_reruns_its_context_net_is_caught(tiny_presets):
    measured = models.measure("sam-forgetful", 160, 90, repeats=1)
    assert measured["context_reruns"] == 4
    assert next(f for f in models.figures(measured) if "reruns" in f.measure).status == "OVER"


def test_the_learned_presets_come_from_the_registry():
    names = models.learned_presets()
    assert {"sam-vit-b", "sam-vit-l", "sam-vit-h"} <= set(names)
    assert "classical" not in names and set(names) <= set(focalxl.presets())


def test_the_requirement_applies_to_focalclick_b0_s1():
    measured = {"preset": "focalclick-segformer-b0-s1", "size": "1920x1080", "repeats": 1, "device": "cpu",
                "first_ms": [90.0], "cached_ms": [120.0], "context_ms": [0.1], "context_reruns": 0,
                "peak_rss_mib": 300.0}
    rows = models.figures(measured)
    assert [f.status for f in rows[:3]] == ["PASS", "-", "OVER"]
    assert rows[0].limit == 100.0


def test_the_command_measures_each_preset_in_a_child_process(tmp_path, capsys):
    path = tmp_path / "models.json"
    code = bench.main(["models", "--model", "classical", "--size", "96x64", "--model-repeats", "1",
                       "--threads", "1", "--json", str(path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "classical: first interaction (with Context-Net), 96x64, median of 1" in out
    assert "classical: peak RSS of its process" in out
    figures = json.loads(path.read_text())["figures"]
    assert {f["bench"] for f in figures} == {"models"}
    assert next(f for f in figures if "reruns" in f["measure"])["value"] == 0


def test_a_preset_that_cannot_be_built_is_reported_and_skipped(capsys):
    assert models.run(["no-such-preset"], 96, 64, repeats=1) == []
    assert "no-such-preset failed: ValueError: unknown preset 'no-such-preset'" in capsys.readouterr().err
