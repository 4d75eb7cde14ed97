"""The FocalClick presets' inference copy computes what the network computes, and leaves it alone."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from focalxl.models.focalclick import Architecture, FocalClick, build
from focalxl.models.folding import for_inference, inference_copy
from focalxl.predictors.focalclick import PRESETS, resize_corners, upsample_corners

ARCHITECTURES = {
    "segformer-b0-s1": PRESETS["focalclick-segformer-b0-s1"],
    "hrnet18s-s1": PRESETS["focalclick-hrnet18s-s1"],
    "tiny-hrnet-s2": Architecture("hrnet", "s2", width=4, ocr_width=8, small=True),
}


def _trained_looking(arch: Architecture, seed: int = 0) -> nn.Module:
    """Random weights with BatchNorm statistics far from their defaults, so folding them shows."""
    torch.manual_seed(seed)
    net = build(arch)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.3, 0.3)
                module.running_var.uniform_(0.4, 1.6)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.3, 0.3)
    return net.eval()


def _inputs(size: int = 256, seed: int = 1):
    generator = torch.Generator().manual_seed(seed)
    image = torch.rand(1, 3, size, size, generator=generator)
    prev = torch.rand(1, 1, size, size, generator=generator) * 0.8
    clicks = (torch.rand(1, 2, size, size, generator=generator) > 0.995).float()
    return image, prev, clicks


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_the_inference_copy_gives_the_networks_logits_features_and_refinement(name):
    net = _trained_looking(ARCHITECTURES[name])
    twin = inference_copy(net)
    assert not [n for n, m in twin.named_modules() if isinstance(m, nn.BatchNorm2d)]   # every BatchNorm folded
    image, prev, clicks = _inputs()
    box = (30.0, 50.0, 210.0, 170.0)
    with torch.inference_mode():
        logits, feature = net.segment(image, prev, clicks)
        refined, boundary = net.refine(image, clicks, feature, logits, box)
        twin_logits, twin_feature = twin.segment(image.contiguous(memory_format=torch.channels_last), prev, clicks)
        twin_refined, twin_boundary = twin.refine(image, clicks, twin_feature, twin_logits, box)
    for ours, theirs in ((twin_logits, logits), (twin_feature, feature), (twin_refined, refined),
                         (twin_boundary, boundary)):
        assert ours.shape == theirs.shape
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5 * max(1.0, theirs.abs().max().item()))


def test_the_network_its_state_dict_and_its_batchnorms_are_left_as_they_were():
    net = _trained_looking(ARCHITECTURES["segformer-b0-s1"])
    before = {key: value.clone() for key, value in net.state_dict().items()}
    inference_copy(net)
    after = net.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[key], after[key]) for key in before)
    assert any(isinstance(module, nn.BatchNorm2d) for module in net.modules())


def test_the_copy_shares_the_parameters_it_does_not_change():
    net = _trained_looking(ARCHITECTURES["segformer-b0-s1"])
    twin = inference_copy(net)
    ours = {id(tensor) for tensor in twin.parameters()}
    assert id(net.feature_extractor.backbone.block1[0].attn.q.weight) in ours        # a linear layer: shared
    assert id(net.refiner.image_conv1.conv.weight) not in ours                       # BatchNorm folded in: new


def test_one_copy_is_kept_per_network_until_its_parameters_change_in_place():
    net = _trained_looking(ARCHITECTURES["tiny-hrnet-s2"])
    first = for_inference(net)
    assert for_inference(net) is first
    with torch.no_grad():
        net.refiner.refine_pred.bias.add_(1.0)
    second = for_inference(net)
    assert second is not first
    torch.testing.assert_close(second.refiner.heads.bias[0], net.refiner.refine_pred.bias[0])


@pytest.mark.parametrize("shape", [(300, 500), (40, 900), (1, 7), (9, 1)])
def test_resizing_with_a_kept_box_equals_resizing_the_map_zeroed_outside_it(shape):
    rng = np.random.default_rng(0)
    window = rng.random((shape[0] + 3, shape[1] + 5), dtype=np.float32)[3:, 5:]     # a strided view, as crops are
    kept = (2, 1, max(3, shape[1] // 2), max(2, shape[0] // 3))
    zeroed = np.zeros_like(window)
    zeroed[kept[1]:kept[3], kept[0]:kept[2]] = window[kept[1]:kept[3], kept[0]:kept[2]]
    expected = F.interpolate(torch.from_numpy(zeroed)[None, None], (256, 256), mode="bilinear", align_corners=True)
    np.testing.assert_allclose(resize_corners(window, 256, 256, kept), expected[0, 0].numpy(), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(resize_corners(window, 256, 256, (-4, -4, 10**6, 10**6)),
                                  resize_corners(window, 256, 256))


@pytest.mark.parametrize("size", [(1080, 1920), (47, 456), (300, 100), (1, 1), (1, 9), (9, 1), (128, 128)])
def test_upsampling_a_map_in_two_linear_passes_equals_bilinear_upsampling_with_corners_aligned(size):
    maps = torch.from_numpy(np.random.default_rng(1).normal(size=(1, 1, 256, 256)).astype(np.float32))
    expected = F.interpolate(maps, size, mode="bilinear", align_corners=True)
    ours = upsample_corners(maps, size)
    assert ours.shape == expected.shape and ours.is_contiguous()
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-6)


def test_the_frozen_traces_equal_the_eager_copy_for_each_input_size_they_are_kept_for():
    twin = inference_copy(_trained_looking(ARCHITECTURES["tiny-hrnet-s2"]))
    for size in (64, 96, 64):
        image, prev, clicks = _inputs(size)
        eager = [x.detach() for x in twin.segment(image, prev, clicks)]     # with autograd: run eagerly
        with torch.inference_mode():
            frozen = twin.segment(image, prev, clicks)
        for ours, theirs in zip(frozen, eager):
            torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)
    assert len(twin.__dict__["_frozen_traces"]) == 2


@pytest.mark.parametrize("name", ["segformer-b0-s1", "hrnet18s-s1"])
def test_a_focus_crop_that_is_the_whole_raster_refines_exactly_as_through_roialign(name):
    net = _trained_looking(ARCHITECTURES[name])
    twin = inference_copy(net)
    image, prev, clicks = _inputs()
    with torch.inference_mode():
        logits, feature = twin.segment(image, prev, clicks)
        skipped = twin.refine(image, clicks, feature, logits, (0.0, 0.0, 256.0, 256.0))
        through = FocalClick.refine(twin, image, clicks, feature, logits, (0.0, 0.0, 256.0, 256.0))
    for ours, theirs in zip(skipped, through):
        assert torch.equal(ours, theirs)
