"""The ``focalclick-*`` presets: published-format checkpoints, strict loading, the engine loop."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import focalxl
from focalxl import Box, Click, CoarseMask, Scribble
from focalxl.models.checkpoints import load_strict, read_checkpoint
from focalxl.models.focalclick import Architecture, architecture_from_config, build
from focalxl.predictors.focalclick import PRESETS
from focalclick_published import REFERENCE, needs_reference, save_published
from focalclick_reference_flow import SEQUENCES, compare, scene

PRESET_NAMES = ["focalclick-segformer-b0-s1", "focalclick-segformer-b0-s2", "focalclick-segformer-b3-s2",
                "focalclick-hrnet18s-s1", "focalclick-hrnet18s-s2", "focalclick-hrnet32-s2"]


def _image(height=120, width=160, seed=0):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 60, (height, width, 3), dtype=np.uint8)
    image[30:90, 40:120] += 150
    return image


def _random_net(arch: Architecture, seed: int = 0):
    torch.manual_seed(seed)
    return build(arch)


def test_every_preset_is_registered():
    assert set(PRESET_NAMES) <= set(focalxl.presets())
    assert set(PRESETS) == set(PRESET_NAMES)


def test_a_preset_without_weights_says_how_to_get_them():
    with pytest.raises(ValueError, match="focalxl weights download focalclick-hrnet18s-s2"):
        focalxl.load("focalclick-hrnet18s-s2")


@needs_reference
def test_the_engine_gives_the_published_probabilities_on_every_click_of_the_published_outputs():
    reference = np.load(REFERENCE + ".npz")
    stored = read_checkpoint(REFERENCE + ".pth")
    net = load_strict(build(architecture_from_config(stored["config"])), stored["state_dict"], "reference")
    differences = compare(net, "focalclick-segformer-b0-s1", reference["image"], reference["clicks"],
                          reference["probs"])
    assert len(differences) == len(reference["clicks"])
    for flow, engine in differences:
        assert flow < 1e-6 and engine < 1e-4


@pytest.mark.parametrize("preset", ["focalclick-segformer-b0-s1", "focalclick-hrnet18s-s1"])
@pytest.mark.parametrize("name, height, width, seed, clicks", SEQUENCES, ids=[case[0] for case in SEQUENCES])
def test_the_engine_gives_the_published_flows_probabilities_wherever_it_writes(preset, name, height, width, seed,
                                                                               clicks):
    net = _random_net(PRESETS[preset]).eval()
    differences = compare(net, preset, scene(height, width, seed), clicks)
    assert max(engine for _, engine in differences) < 1e-4


def test_later_target_crops_are_the_published_zoom_in_box_squashed_to_256():
    predictor = focalxl.load("focalclick-segformer-b0-s1", random_weights=True, device="cpu").predictor
    prob = np.zeros((100, 200), np.float32)
    prob[40:60, 50:70] = 0.9
    history = (Click(60.5, 50.5), Click(150.5, 80.5), Click(10.5, 10.5, positive=False))
    assert predictor.target_box(prob, history[:1], prob.shape) == (0, 0, 200, 100)
    # box of mask + positive clicks: rows 40..80, cols 50..150; x1.4 about the centre, rounded (inclusive)
    assert predictor.target_box(prob, history, prob.shape) == (29, 31, 172, 90)
    assert predictor.target_box(np.zeros_like(prob), history, prob.shape) == (0, 0, 200, 100)


def test_hrnet18s_checkpoint_in_the_published_format_loads_and_segments(tmp_path):
    arch = PRESETS["focalclick-hrnet18s-s2"]
    path = tmp_path / "hrnet18s_s2.pth"
    save_published(_random_net(arch), arch, path)
    segmenter = focalxl.load("focalclick-hrnet18s-s2", checkpoint=str(path), device="cpu")
    result = segmenter.new_session(_image()).add(Click(80, 60))
    assert result.alpha.shape == (120, 160)


@pytest.mark.slow   # 45 M parameters written and read back: ~180 MB
def test_segformer_b3_checkpoint_in_the_published_format_loads_and_segments(tmp_path):
    arch = PRESETS["focalclick-segformer-b3-s2"]
    path = tmp_path / "segformerb3_s2.pth"
    save_published(_random_net(arch), arch, path)
    session = focalxl.load("focalclick-segformer-b3-s2", checkpoint=str(path), device="cpu").new_session(_image(64, 80))
    assert session.add(Click(40, 32)).alpha.shape == (64, 80)


def test_tiny_hrnet_in_the_published_format_loads_strictly_and_refines(tmp_path):
    arch = Architecture("hrnet", "s1", width=4, ocr_width=8, small=True)
    path = tmp_path / "tiny.pth"
    save_published(_random_net(arch), arch, path)
    stored = read_checkpoint(path)
    net = load_strict(build(architecture_from_config(stored["config"])), stored["state_dict"], "tiny")
    with torch.no_grad():
        logits, feature = net.segment(torch.rand(1, 3, 64, 96), torch.zeros(1, 1, 64, 96), torch.zeros(1, 2, 64, 96))
        refined, boundary = net.refine(torch.rand(1, 3, 48, 48), torch.zeros(1, 2, 48, 48), feature, logits,
                                       (10.0, 5.0, 40.0, 35.0))
    assert feature.shape == (1, 16, 8, 12) and refined.shape == boundary.shape == (1, 1, 48, 48)


@needs_reference
def test_a_checkpoint_of_another_model_names_the_preset_that_fits(tmp_path):
    with pytest.raises(ValueError, match="SegFormer-B0 S1.*focalclick-segformer-b0-s1"):
        focalxl.load("focalclick-segformer-b0-s2", checkpoint=REFERENCE + ".pth")


@needs_reference
def test_missing_and_unexpected_keys_are_listed_by_name(tmp_path):
    stored = read_checkpoint(REFERENCE + ".pth")
    state = dict(stored["state_dict"])
    del state["refiner.refine_trimap.weight"]
    state["refiner.extra_head.weight"] = torch.zeros(1)
    path = tmp_path / "damaged.pth"
    torch.save({"state_dict": state, "config": stored["config"]}, path)
    with pytest.raises(ValueError) as error:
        focalxl.load("focalclick-segformer-b0-s1", checkpoint=str(path))
    message = str(error.value)
    assert "missing keys: refiner.refine_trimap.weight" in message
    assert "unexpected keys: refiner.extra_head.weight" in message


def test_a_file_without_state_dict_and_config_is_refused(tmp_path):
    path = tmp_path / "bare.pth"
    torch.save({"weights": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match="'state_dict' and 'config'"):
        focalxl.load("focalclick-segformer-b0-s1", checkpoint=str(path))


@pytest.fixture(scope="module")
def b0_s2():
    return focalxl.load("focalclick-segformer-b0-s2", random_weights=True, device="cpu")


@pytest.mark.parametrize("interaction", [Box(30, 20, 130, 100), Scribble([(50, 50), (90, 60)], width=6),
                                         CoarseMask(np.pad(np.ones((40, 60), bool), ((40, 40), (50, 50))))])
def test_boxes_scribbles_and_coarse_masks_are_accepted(b0_s2, interaction):
    result = b0_s2.new_session(_image()).add(interaction)
    assert result.alpha.shape == (120, 160) and np.isfinite(result.alpha).all()


def test_undo_restores_the_state_before_the_click(b0_s2):
    session = b0_s2.new_session(_image())
    before = session.add(Click(80, 60))
    session.add(Click(60, 50, positive=False))
    after_undo = session.undo()
    np.testing.assert_array_equal(after_undo.alpha, before.alpha)


def test_presets_share_one_model_per_process(b0_s2):
    again = focalxl.load("focalclick-segformer-b0-s2", random_weights=True, device="cpu")
    assert again.predictor.network is b0_s2.predictor.network


@pytest.mark.parametrize("seed", range(4))
def test_the_focus_component_box_is_that_of_the_connected_component_at_the_click(seed):
    import cv2
    from focalxl.predictors.focalclick import _bbox_or_image, _component_box

    rng = np.random.default_rng(seed)
    diff = cv2.GaussianBlur(rng.random((90, 140), dtype=np.float32), (0, 0), 4) > 0.5
    window, shape = (7, 5, 147, 95), (120, 160)
    _, labels = cv2.connectedComponents(diff.view(np.uint8))
    for row, col in rng.choice(np.argwhere(diff), 5):
        expected = _bbox_or_image(labels == labels[row, col], window, shape)
        assert _component_box(diff, (int(row), int(col)), window, shape) == tuple(int(v) for v in expected)


def test_a_session_squashes_each_crop_of_its_image_once_and_keeps_the_newest_few():
    from focalxl.crops import Crop
    from focalxl.predictors.focalclick import ImageRasters, resize_corners

    image = _image()
    rasters = ImageRasters(image, keep=2)
    whole, part, other = Crop((0, 0, 160, 120), 256, 256), Crop((10, 20, 90, 100), 256, 256), Crop((0, 0, 5, 5), 8, 8)
    first = rasters.get(whole)
    np.testing.assert_array_equal(first, resize_corners(image, 256, 256) / np.float32(255))
    assert rasters.get(whole) is first                       # the same crop again: not recomputed
    rasters.get(part)
    rasters.get(other)                                       # a third crop pushes out the oldest
    assert rasters.get(whole) is not first and rasters.nbytes == (256 * 256 + 8 * 8) * 3 * 4
