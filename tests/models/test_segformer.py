"""The Mix Transformer encoder and the SegFormer MLP head."""
from __future__ import annotations

import pytest
import torch

from focalxl.models.checkpoints import load_strict, read_checkpoint
from focalxl.models.segformer import MIT_CONFIGS, SegFormerHead, mit
from focalclick_published import REFERENCE, needs_reference

BACKBONE = "feature_extractor.backbone."


@pytest.fixture(scope="module")
def b0():
    torch.manual_seed(0)
    return mit("b0").eval()


@pytest.mark.parametrize("height,width", [(64, 64), (72, 128), (37, 53)])
def test_stages_come_out_at_strides_4_8_16_32_for_any_input_size(b0, height, width):
    with torch.no_grad():
        features = b0(torch.rand(1, 3, height, width))
    sizes = [(-(-height // s), -(-width // s)) for s in (4, 8, 16, 32)]
    assert [tuple(f.shape[-2:]) for f in features] == sizes
    assert [f.shape[1] for f in features] == list(MIT_CONFIGS["b0"].embed_dims)


def test_side_input_joins_after_stage_one_and_leaves_c1_alone(b0):
    image = torch.rand(1, 3, 64, 64)
    side = torch.randn(1, 32, 16, 16)
    with torch.no_grad():
        plain = b0(image)
        zero = b0(image, torch.zeros_like(side))
        joined = b0(image, side)
    torch.testing.assert_close(joined[0], plain[0])
    for a, b in zip(zero, plain):
        torch.testing.assert_close(a, b)
    assert not torch.allclose(joined[1], plain[1])


def test_patch_embed_side1_embeds_three_maps_onto_the_stage_one_grid(b0):
    with torch.no_grad():
        side = b0.patch_embed_side1(torch.rand(2, 3, 64, 96))
    assert side.shape == (2, 32, 16, 24)


@needs_reference
def test_published_focalclick_backbone_weights_load_strictly():
    state = read_checkpoint(REFERENCE + ".pth")["state_dict"]
    backbone = {k[len(BACKBONE):]: v for k, v in state.items() if k.startswith(BACKBONE)}
    load_strict(mit("b0"), backbone, "reference")


def test_encoder_without_side_embedding_has_no_side_keys():
    assert not any(key.startswith("patch_embed_side1") for key in mit("b0", side_channels=0).state_dict())


@pytest.mark.parametrize("version", ["b1", "b3"])
def test_larger_versions_have_the_published_depths(version):
    encoder = mit(version, side_channels=0)
    depths = [len(getattr(encoder, f"block{i}")) for i in range(1, 5)]
    assert depths == list(MIT_CONFIGS[version].depths)


def test_unknown_version_is_refused():
    with pytest.raises(ValueError, match="b9"):
        mit("b9")


def test_head_predicts_at_stride_4_and_returns_its_fused_feature(b0):
    head = SegFormerHead(MIT_CONFIGS["b0"].embed_dims, 256).eval()
    with torch.no_grad():
        logits, fused = head(b0(torch.rand(1, 3, 96, 64)))
    assert logits.shape == (1, 1, 24, 16) and fused.shape == (1, 256, 24, 16)
    assert (fused >= 0).all()   # after BatchNorm + ReLU
