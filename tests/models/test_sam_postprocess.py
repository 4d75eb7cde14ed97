"""SAM's mask decided from the low-res logits equals ``Sam.postprocess_masks(...) > 0``, bit for bit.

The reference is segment-anything's own ``Sam.postprocess_masks`` (two ``F.interpolate``
passes, the first over the whole 1024 frame), on random logit fields of several kinds and
on real low-res logits of a SAM network run on photos.
"""
from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from focalxl.models import sam as sam_networks
from focalxl.models import sam_postprocess
from focalxl.models.sam_modeling import build_sam
from focalxl.models.sam_postprocess import MaskUpsampling, fma, upscale

SIZES = [(480, 640), (1080, 1920), (1, 1), (7, 3000), (3000, 7), (333, 517), (768, 1024), (40, 50), (1024, 1024)]
BERKELEY = Path(__file__).resolve().parents[3] / "shared" / "data" / "berkeley" / "images"


def reference_mask(low_res: np.ndarray, input_size, original_size, img_size: int = 1024) -> np.ndarray:
    """segment-anything's own ``Sam.postprocess_masks(low_res) > Sam.mask_threshold``."""
    sam = types.SimpleNamespace(image_encoder=types.SimpleNamespace(img_size=img_size))
    masks = build_sam.Sam.postprocess_masks(sam, torch.from_numpy(low_res)[None, None], input_size, original_size)
    return (masks > build_sam.Sam.mask_threshold)[0, 0].numpy()


def fields(rng: np.random.Generator, side: int = 256):
    """Low-res logits of the kinds a decoder gives: smooth blobs (large and tiny), noise, flat
    regions with exact zeros and sub-ulp values."""
    coarse = rng.standard_normal((1, 1, 9, 9)).astype(np.float32)
    smooth = F.interpolate(torch.from_numpy(coarse), (side, side), mode="bicubic", align_corners=False)[0, 0].numpy()
    yield smooth * 12.0
    yield smooth * 0.3
    yield rng.standard_normal((side, side)).astype(np.float32)
    flat = np.where(smooth > 0.2, 1e-9, np.where(smooth < -0.2, -1e-9, 0.0)).astype(np.float32)
    flat[: side // 3] = np.float32(1e-38)        # positive but small enough to round to 0 on the way up
    yield flat


def whole_frame(upsampling: MaskUpsampling, low_res: np.ndarray) -> np.ndarray:
    height, width = upsampling.original_size
    return upsampling.probabilities(low_res, upsampling.classes(low_res), (0, 0, width, height))


@pytest.mark.parametrize("edge_path", ["chosen", "values along the edge", "whole upsampling"])
@pytest.mark.parametrize("original_size", SIZES)
def test_the_decided_mask_equals_postprocess_masks_pixel_for_pixel(original_size, edge_path, monkeypatch):
    if edge_path != "chosen":       # force one way of giving the edge its values, whatever its size
        monkeypatch.setattr(sam_postprocess, "DENSE_EDGE", 0 if edge_path == "values along the edge" else 10 ** 9)
    input_size = sam_networks.preprocess_shape(*original_size, 1024)
    upsampling = MaskUpsampling(input_size, original_size)
    for low_res in fields(np.random.default_rng(sum(original_size))):
        prob = whole_frame(upsampling, low_res)
        expected = reference_mask(low_res, input_size, original_size)
        assert prob.dtype == np.float32 and prob.shape == original_size
        assert np.array_equal(prob >= 0.5, expected), f"{np.count_nonzero((prob >= 0.5) != expected)} pixels differ"


@pytest.mark.parametrize("original_size", [(1080, 1920), (480, 640), (3000, 7), (1000, 1024)])
def test_the_replayed_arithmetic_is_pytorchs_at_every_pixel(original_size, monkeypatch):
    """With the float64 shortcut off, every pixel's sign comes from the replayed float32 arithmetic."""
    input_size = sam_networks.preprocess_shape(*original_size, 1024)
    upsampling = MaskUpsampling(input_size, original_size)
    assert upsampling.replays()
    monkeypatch.setattr(sam_postprocess, "ROUNDING", np.inf)
    rng = np.random.default_rng(3)
    low_res = rng.standard_normal((256, 256)).astype(np.float32)
    ys, xs = rng.integers(0, original_size[0], 100_000), rng.integers(0, original_size[1], 100_000)
    values, positive = upsampling.edge(low_res, ys, xs)
    full = upscale(torch.from_numpy(low_res)[None, None], input_size, original_size, 1024)[0, 0].numpy()
    assert np.array_equal(positive, full[ys, xs] > 0)
    assert np.abs(values - full[ys, xs]).max() < 1e-5


def test_sizes_the_replay_does_not_match_take_their_values_from_f_interpolate():
    upsampling = MaskUpsampling((1024, 1024), (64, 64))       # PyTorch's vectorized path: no replay
    assert not upsampling.replays()
    low_res = next(fields(np.random.default_rng(4)))
    assert np.array_equal(whole_frame(upsampling, low_res) >= 0.5, reference_mask(low_res, (1024, 1024), (64, 64)))


def test_fma_rounds_once():
    a, b = np.float32(1 + 2 ** -12), np.float32(1 + 2 ** -12)
    c = np.float32(-1)          # a * b + c = 2^-11 + 2^-24: a separate multiply would lose the 2^-24
    assert fma(np.array([a]), np.array([b]), np.array([c]))[0] == np.float32(2 ** -11 + 2 ** -24)


def test_the_changed_box_holds_every_pixel_that_changes():
    rng = np.random.default_rng(5)
    upsampling = MaskUpsampling((576, 1024), (1080, 1920))
    before = next(fields(rng))
    after = before.copy()
    after[100:120, 40:90] += 30.0                 # a local change: the rest of the edge stays as it was
    classes = upsampling.classes(after)
    box = upsampling.changed_box(upsampling.classes(before), classes)
    old, new = whole_frame(upsampling, before), whole_frame(upsampling, after)
    x0, y0, x1, y1 = box
    outside = np.ones(old.shape, dtype=bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(old[outside], new[outside])
    assert np.array_equal(upsampling.probabilities(after, classes, box), new[y0:y1, x0:x1])
    negative = -np.ones((256, 256), dtype=np.float32)
    assert upsampling.changed_box(upsampling.classes(negative), upsampling.classes(negative)) is None


def test_the_first_step_window_equals_the_whole_first_step():
    upsampling = MaskUpsampling((576, 1024), (1080, 1920))
    low_res = np.random.default_rng(9).standard_normal((256, 256)).astype(np.float32)
    whole = F.interpolate(torch.from_numpy(low_res)[None, None], (1024, 1024), mode="bilinear",
                          align_corners=False)[0, 0].numpy()
    for rows, cols in (((0, 3), (0, 2)), ((300, 305), (1000, 1023)), ((17, 17), (500, 900)), ((575, 575), (0, 1023))):
        top, left, window = upsampling.first_step(low_res, rows, cols)
        wanted = whole[rows[0]:rows[1] + 1, cols[0]:cols[1] + 1]
        assert np.array_equal(window[rows[0] - top:rows[1] + 1 - top, cols[0] - left:cols[1] + 1 - left], wanted)


TINY = sam_networks.SamConfig(encoder_embed_dim=32, encoder_depth=2, encoder_num_heads=2,
                              encoder_global_attn_indexes=(1,), prompt_embed_dim=32, image_size=256,
                              window_size=4, mask_in_chans=16, decoder_mlp_dim=64, decoder_num_heads=2,
                              iou_head_hidden_dim=32)


@pytest.mark.skipif(not BERKELEY.is_dir(), reason="../shared/data/berkeley is absent")
def test_real_logits_on_berkeley_photos_give_postprocess_masks(tmp_path):
    """Low-res logits of a tiny SAM (random weights with noise, as in test_sam_predictor) on the
    photos, clicked at their centre."""
    from focalxl import Click
    from focalxl.image_files import read_image
    from focalxl.models import sam_prompts
    from focalxl.predictors.sam import SamPredictor

    generator = torch.Generator().manual_seed(7)
    network = sam_networks.build(TINY)
    path = tmp_path / "sam_tiny.pth"
    torch.save({key: value + 0.3 * torch.randn(value.shape, generator=generator)
                for key, value in network.state_dict().items()}, path)
    predictor = SamPredictor("sam-tiny", TINY, checkpoint=path)
    for path in sorted(BERKELEY.iterdir())[:4]:
        image = read_image(path)
        height, width = image.shape[:2]
        context = predictor.context(image)
        prompts = sam_prompts.from_history([Click(width / 2, height / 2)])
        low_res = predictor._decode(prompts, None, context)[0, 0].numpy()
        upsampling = MaskUpsampling(context.input_size, context.original_size, 64, 256)
        prob = whole_frame(upsampling, low_res)
        assert np.array_equal(prob >= 0.5, reference_mask(low_res, context.input_size, (height, width), 256))
