import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from focalxl.models.xl import patches
from focalxl.models.xl.config import DetailConfig
from focalxl.models.xl.detail_net import DetailNet
from focalxl.models.xl.mobilenetv2 import MobileNetV2
from focalxl.models.xl.trimap import BACKGROUND, FOREGROUND, UNKNOWN, one_hot, trimap
from xl_tiny import TINY


def test_mobilenetv2_gives_features_at_strides_2_to_32():
    net = MobileNetV2(in_chans=6).eval()
    with torch.no_grad():
        taps = net(torch.randn(1, 6, 64, 96))
    assert net.channels == [16, 24, 32, 96, 320]
    assert [tuple(t.shape[1:]) for t in taps] == [(16, 32, 48), (24, 16, 24), (32, 8, 12), (96, 4, 6), (320, 2, 3)]


def test_mobilenetv2_keeps_torchvisions_parameter_names_and_count():
    # torchvision's mobilenet_v2 has 3,504,872 parameters, of which features.18 (320->1280, BN)
    # holds 412,160 and the classifier 1,281,000: the encoder part is 1,811,712.
    names = MobileNetV2().state_dict()
    assert {"features.0.0.weight", "features.1.conv.0.0.weight", "features.2.conv.1.0.weight",
            "features.17.conv.3.running_var"} <= set(names)
    assert sum(p.numel() for p in MobileNetV2().parameters()) == 1_811_712


def test_detail_net_predicts_one_alpha_logit_per_pixel_for_a_batch():
    net = DetailNet(TINY.detail).eval()
    with torch.no_grad():
        out = net(torch.randn(3, 6, 64, 64))
    assert out.shape == (3, 1, 64, 64)


def test_detail_net_refuses_a_decoder_of_the_wrong_depth():
    with pytest.raises(ValueError, match="decoder_dims"):
        DetailNet(DetailConfig(decoder_dims=(16, 8)))


def test_trimap_is_sure_deep_inside_and_outside_and_unknown_at_the_boundary():
    coarse = np.zeros((40, 40), dtype=np.float32)
    coarse[10:30, 10:30] = 0.99
    labels = trimap(coarse, 3, np.zeros_like(coarse, bool), np.zeros_like(coarse, bool))
    assert labels[20, 20] == FOREGROUND and labels[2, 2] == BACKGROUND
    assert labels[10, 20] == UNKNOWN and labels[8, 20] == UNKNOWN
    assert one_hot(labels).sum(axis=0).min() == 1


def test_trimap_leaves_hesitant_pixels_unknown_and_obeys_the_users_strokes():
    coarse = np.full((20, 20), 0.7, dtype=np.float32)
    positive = np.zeros((20, 20), bool)
    negative = np.zeros((20, 20), bool)
    positive[5, 5] = negative[15, 15] = True
    labels = trimap(coarse, 1, positive, negative)
    assert labels[10, 10] == UNKNOWN
    assert labels[5, 5] == FOREGROUND and labels[15, 15] == BACKGROUND


@settings(max_examples=60, deadline=None)
@given(length=st.integers(1, 700), patch=st.sampled_from([32, 64, 256]))
def test_patch_starts_cover_the_axis_with_overlap(length, patch):
    starts = patches.starts(length, patch)
    assert starts[0] == 0 and starts == sorted(set(starts))
    assert starts[-1] + patch >= length and (length <= patch or starts[-1] + patch == length)
    assert all(b - a < patch for a, b in zip(starts, starts[1:]))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), height=st.integers(1, 150), width=st.integers(1, 150))
def test_tiles_cover_every_needed_pixel_and_blending_averages(seed, height, width):
    rng = np.random.default_rng(seed)
    needed = rng.random((height, width)) > 0.97
    origins = patches.tile(needed, 48)
    ones = np.ones((len(origins), 48, 48), dtype=np.float32)
    mean, covered = patches.blend(ones, origins, needed.shape)
    assert covered[needed].all()
    assert np.all(mean[covered] == 1.0)
    stack = patches.cut(np.arange(height * width, dtype=np.float32).reshape(1, height, width), origins, 48)
    for window, (y, x) in zip(stack, origins):
        h, w = min(48, height - y), min(48, width - x)
        assert np.array_equal(window[0, :h, :w], np.arange(height * width).reshape(height, width)[y:y + h, x:x + w])
