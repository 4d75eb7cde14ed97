"""HRNet + OCR as RITM / FocalClick build it."""
from __future__ import annotations

import pytest
import torch

from focalxl.models.hrnet import HRNetConfig, HighResolutionNet, hrnet


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return HighResolutionNet(HRNetConfig(width=4, ocr_width=8, small=True)).eval()


@pytest.mark.parametrize("height,width", [(64, 64), (96, 160), (50, 70)])
def test_outputs_are_at_stride_4(tiny, height, width):
    with torch.no_grad():
        logits, aux, feature = tiny(torch.rand(1, 3, height, width))
    grid = (-(-height // 4), -(-width // 4))
    assert logits.shape == (1, 1, *grid) and aux.shape == (1, 1, *grid)
    assert feature.shape == (1, 16, *grid)


def test_maps_added_after_the_first_stem_conv_change_the_prediction(tiny):
    image = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        plain = tiny(image)[0]
        same = tiny(image, torch.zeros(1, 64, 32, 32))[0]
        changed = tiny(image, torch.randn(1, 64, 32, 32))[0]
    torch.testing.assert_close(same, plain)
    assert not torch.allclose(changed, plain)


def test_state_dict_uses_the_published_module_names(tiny):
    keys = set(tiny.state_dict())
    for key in ["conv1.weight", "bn2.running_var", "layer1.0.downsample.0.weight", "layer1.1.conv3.weight",
                "transition1.0.0.weight", "transition1.1.0.0.weight", "transition2.2.0.0.weight",
                "transition3.3.0.1.running_mean", "stage2.0.branches.1.1.bn2.weight",
                "stage3.2.fuse_layers.2.0.1.0.weight", "stage4.1.fuse_layers.0.3.1.weight",
                "conv3x3_ocr.0.bias", "ocr_distri_head.object_context_block.f_pixel.3.0.weight",
                "ocr_distri_head.object_context_block.f_up.1.0.bias", "ocr_distri_head.conv_bn_dropout.1.0.weight",
                "cls_head.weight", "aux_head.3.bias"]:
        assert key in keys, key
    assert "transition2.0.0.weight" not in keys   # equal widths pass through untouched


def test_hrnet18s_has_the_published_segmentor_size():
    params = sum(p.numel() for p in hrnet("hrnet18s").parameters())
    assert abs(params / 1e6 - 4.22) < 0.01, params   # FocalClick: 4.22 M segmentor parameters


def test_unknown_name_is_refused():
    with pytest.raises(ValueError, match="hrnet99"):
        hrnet("hrnet99")
