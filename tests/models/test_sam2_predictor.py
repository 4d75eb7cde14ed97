"""The ``sam2.1-hiera-*`` presets give SAM2ImagePredictor's masks, through the engine's loop.

Random weights are saved in the official format (``{"model": state_dict}``) and loaded
through the presets' real loading code. The reference is sam2's own ``SAM2ImagePredictor``,
built by sam2's own ``build_sam2`` from its YAML configs and driven the way its example
notebook does. It needs torchvision and Hydra, so its outputs were recorded by
``tests/models/sam2_reference.py`` in an environment that has them
(``tests/models/data/sam2_reference.npz``, with the digest of the weights it was given);
this test rebuilds the same weights from the same seed, checks the digest, and replays
each flow through a session.

Two networks: a small one of the same design (sizes changed by Hydra overrides of the
official tiny config, fast), and the official ``sam2.1_hiera_t.yaml`` itself (slow).
"""
from __future__ import annotations

import base64
import functools
import importlib.util
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

if importlib.util.find_spec("sam2") is None:
    message = ("sam2 is not installed: SAM2_BUILD_CUDA=0 pip install --no-deps --no-build-isolation sam2==1.1.0 "
               "(see the sam2 extra in pyproject.toml)")
    if os.environ.get("CI") == "true":
        raise ImportError(message)
    pytest.skip(message, allow_module_level=True)

import focalxl
from focalxl import weights
from focalxl.models import sam2 as sam2_networks
from focalxl.predictors.sam2 import Sam2Predictor

import sam2_reference as recorded_flows

RECORDED = np.load(recorded_flows.OUT)
CASES = [pytest.param("test", id="small-network"), pytest.param("tiny", id="hiera-tiny", marks=pytest.mark.slow)]
PRESETS = ("sam2.1-hiera-tiny", "sam2.1-hiera-small", "sam2.1-hiera-base-plus", "sam2.1-hiera-large")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Each case's recorded random weights in the official format, written on first use."""
    folder = tmp_path_factory.mktemp("sam2")

    @functools.lru_cache(maxsize=None)
    def checkpoint(case: str):
        state = recorded_flows.random_state(case)
        assert recorded_flows.state_digest(state) == str(RECORDED[f"{case}/weights_sha256"]), (
            "these random weights differ from the ones the reference was recorded with; "
            "run tests/models/sam2_reference.py again")
        path = folder / f"{case}.pt"
        torch.save({"model": state}, path)
        return path

    return checkpoint


@pytest.fixture(scope="module")
def predictors(checkpoints):
    """One fp32 predictor per case; its image features are computed once for the recorded photo."""
    @functools.lru_cache(maxsize=None)
    def predictor(case: str) -> Sam2Predictor:
        built = Sam2Predictor(f"sam2-{case}", recorded_flows.network_config(case), checkpoint=checkpoints(case),
                              precision="fp32")
        features = built.context(RECORDED["image"])
        built.context = lambda image: features if np.array_equal(image, RECORDED["image"]) else None
        return built

    return predictor


def _replay(predictor, flow):
    """The session's result after each interaction of ``flow`` that is not an undo."""
    session = focalxl.Segmenter(predictor).new_session(RECORDED["image"])
    results = []
    for action in flow:
        if action[0] == "undo":
            session.undo()
        elif action[0] == "click":
            results.append(session.add(focalxl.Click(*action[1:3], positive=action[3])))
        else:
            results.append(session.add(focalxl.Box(*action[1:5])))
    return results


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("flow", list(recorded_flows.FLOWS))
def test_every_step_gives_sam2_image_predictors_mask(predictors, case, flow):
    """Clicks; a box, then clicks; an undo, after which the next click is fed the logits undo returned to."""
    shape = RECORDED["image"].shape[:2]
    step = recorded_flows.SAMPLE_STEP
    for n, result in enumerate(_replay(predictors(case), recorded_flows.FLOWS[flow])):
        key = f"{case}/{flow}/{n}"
        theirs = np.unpackbits(RECORDED[f"{key}/mask"], count=shape[0] * shape[1]).reshape(shape).astype(bool)
        assert theirs.any() and not theirs.all() or case == "tiny"      # a real comparison, not an empty mask
        assert np.array_equal(result.mask, theirs), f"{key}: {np.sum(result.mask != theirs)} pixels differ"
        reference_prob = 1.0 / (1.0 + np.exp(-RECORDED[f"{key}/logits"].astype(np.float64)))
        np.testing.assert_allclose(result.alpha[::step, ::step], reference_prob, atol=3e-4, err_msg=key)


@pytest.mark.parametrize("variant", ["tiny", "small", pytest.param("base_plus", marks=pytest.mark.slow),
                                     pytest.param("large", marks=pytest.mark.slow)])
def test_the_builder_gives_the_parameters_of_sam2s_official_config(variant):
    ours = {key: list(value.shape) for key, value in sam2_networks.build(sam2_networks.OFFICIAL[variant])
            .state_dict().items()}
    assert ours == json.loads(str(RECORDED[f"official/{variant}/keys"]))


def test_the_image_encoder_runs_once_per_image(checkpoints):
    predictor = Sam2Predictor("sam2-test", recorded_flows.network_config("test"), checkpoint=checkpoints("test"))
    calls = []
    hook = predictor.model.network.image_encoder.register_forward_hook(lambda *_: calls.append(1))
    image = RECORDED["image"]
    try:
        session = focalxl.Segmenter(predictor).new_session(image)
        session.add(focalxl.Click(81.0, 62.0))
        session.add(focalxl.Click(30.0, 20.0, positive=False))
        session.undo()
        rough = np.zeros(image.shape[:2], dtype=bool)
        rough[30:90, 40:120] = True
        session.add(focalxl.Box(10.0, 10.0, 120.0, 100.0))
        session.add(focalxl.CoarseMask(rough))
        session.add(focalxl.Scribble([(50.0, 40.0), (90.0, 70.0)], positive=False, width=3))
    finally:
        hook.remove()
    assert len(calls) == 1
    high_res = sum(t.element_size() * t.nelement() for t in session.context.high_res)
    assert session.nbytes > image.nbytes + high_res      # the cached features are counted in the session's memory


def test_correcting_an_existing_mask_keeps_the_rest_of_it(checkpoints):
    image = RECORDED["image"]
    existing = np.zeros(image.shape[:2], dtype=bool)
    existing[5:40, 5:40] = True
    existing[70:110, 100:150] = True
    predictor = Sam2Predictor("sam2-test", recorded_flows.network_config("test"), checkpoint=checkpoints("test"))
    result = focalxl.Segmenter(predictor).new_session(image, existing).add(focalxl.Click(20.0, 20.0, positive=False))
    assert np.array_equal(result.mask[70:110, 100:150], existing[70:110, 100:150])


@pytest.mark.parametrize("width, height", [(1, 1), (3, 2), (4000, 20), (20, 4000)])
def test_any_image_size_and_aspect_serves_every_kind_of_interaction(checkpoints, width, height):
    predictor = Sam2Predictor("sam2-test", recorded_flows.network_config("test"), checkpoint=checkpoints("test"),
                              precision="fp32")
    image = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    rough = np.zeros((height, width), dtype=bool)
    rough[: max(1, height // 2)] = True
    session = focalxl.Segmenter(predictor).new_session(image)
    for interaction in (focalxl.Click(width / 2, height / 2), focalxl.Box(0.0, 0.0, min(1.5, width), min(1.5, height)),
                        focalxl.Click(0.0, 0.0, positive=False),
                        focalxl.Scribble([(0.0, 0.0), (width - 0.1, height - 0.1)], width=1),
                        focalxl.CoarseMask(rough)):
        assert session.add(interaction).mask.shape == (height, width)
    session.undo()
    assert session.result().mask.shape == (height, width)


def test_bf16_runs_where_asked_and_an_unknown_precision_is_named(checkpoints):
    predictor = Sam2Predictor("sam2-test", recorded_flows.network_config("test"), checkpoint=checkpoints("test"),
                              precision="bf16")
    assert predictor.dtype == torch.bfloat16
    result = focalxl.Segmenter(predictor).new_session(RECORDED["image"]).add(focalxl.Click(81.0, 62.0))
    assert result.alpha.dtype == np.float32 and np.isfinite(result.alpha).all()
    with pytest.raises(ValueError, match="precision"):
        Sam2Predictor("sam2-test", recorded_flows.network_config("test"), checkpoint=checkpoints("test"),
                      precision="fp8")


def test_presets_are_registered_with_their_official_files():
    assert set(PRESETS) <= set(focalxl.presets())
    for preset in PRESETS:
        entry = weights.TABLE[preset]
        assert entry.url == "https://dl.fbaipublicfiles.com/segment_anything_2/092824/" + entry.file_name
        assert entry.file_name == preset.replace("sam2.1-hiera-", "sam2.1_hiera_").replace("-", "_") + ".pt"
        assert entry.size > 100_000_000 and len(entry.sha256) == 64


def test_verify_holds_a_file_named_like_an_official_one_to_its_size(tmp_path, checkpoints):
    path = tmp_path / "sam2.1_hiera_tiny.pt"
    path.write_bytes(checkpoints("test").read_bytes())
    verdict = weights.verify(path)
    assert verdict.entry.preset == "sam2.1-hiera-tiny" and verdict.ok is False
    assert "expected 156008466" in verdict.reason


def test_presets_need_weights_or_an_explicit_random_choice():
    with pytest.raises(ValueError, match="focalxl weights download sam2.1-hiera-small"):
        focalxl.load("sam2.1-hiera-small")


def test_a_checkpoint_of_another_size_is_refused_key_by_key(checkpoints):
    with pytest.raises(ValueError, match=r"(?s)does not fit SAM2Base.*keys of the wrong shape.*image_encoder"):
        focalxl.load("sam2.1-hiera-tiny", checkpoint=str(checkpoints("test")))


def test_a_file_without_the_model_entry_is_refused(tmp_path, checkpoints):
    path = tmp_path / "bare.pt"
    torch.save(torch.load(checkpoints("test"), weights_only=True)["model"], path)
    with pytest.raises(ValueError, match="under 'model'"):
        Sam2Predictor("sam2-test", recorded_flows.network_config("test"), checkpoint=path)


def test_the_network_imports_and_runs_without_hydra_or_torchvision():
    code = ("import sys; sys.modules.update(hydra=None, omegaconf=None, torchvision=None)\n"
            "import torch, sam2_reference; torch.set_num_threads(1)\n"
            "from focalxl.models import sam2\n"
            "image = sam2.Sam2Image(sam2.build(sam2_reference.network_config('test')))\n"
            "with torch.inference_mode():\n"
            "    embedding, high_res = image.encode(torch.zeros(1, 3, 512, 512))\n"
            "print(tuple(embedding.shape), [tuple(t.shape) for t in high_res])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          cwd=recorded_flows.OUT.parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(1, 32, 32, 32) [(1, 4, 128, 128), (1, 8, 64, 64)]"


@pytest.fixture(scope="module")
def tiny_size_checkpoint(tmp_path_factory):
    """Random weights of the full-size sam2.1-hiera-tiny, in the official format."""
    path = tmp_path_factory.mktemp("sam2-tiny") / "sam2.1_hiera_tiny.pt"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        torch.save({"model": sam2_networks.build(sam2_networks.OFFICIAL["tiny"]).state_dict()}, path)
    return path


@pytest.mark.slow
def test_the_cvat_door_serves_a_sam2_preset(tiny_size_checkpoint):
    from focalxl.cvat import Interactor, Settings

    settings = Settings.from_environment({"FOCALXL_PRESET": "sam2.1-hiera-tiny",
                                          "FOCALXL_CHECKPOINT": str(tiny_size_checkpoint)})
    interactor = Interactor.from_settings(settings)
    assert isinstance(interactor.segmenter.predictor, Sam2Predictor)
    frame = base64.b64encode(cv2.imencode(".png", RECORDED["image"][:, :, ::-1])[1].tobytes()).decode()
    first = interactor.respond({"image": frame, "pos_points": [[81, 62]], "neg_points": []})
    second = interactor.respond({"image": frame, "pos_points": [[81, 62]], "neg_points": [[20, 20]]})
    assert first.status == second.status == 200, (first.body, second.body)
    assert json.loads(second.body)["mask"]


@pytest.mark.slow
def test_the_label_studio_door_serves_a_sam2_preset(tiny_size_checkpoint, monkeypatch):
    from focalxl.labelstudio.app import build_app

    monkeypatch.setenv("FOCALXL_PRESET", "sam2.1-hiera-tiny")
    monkeypatch.setenv("FOCALXL_CHECKPOINT", str(tiny_size_checkpoint))
    client = build_app(threads=4).test_client()
    health = client.get("/health")
    assert health.status_code == 200
    assert "sam2.1-hiera-tiny" in json.dumps(health.get_json())
