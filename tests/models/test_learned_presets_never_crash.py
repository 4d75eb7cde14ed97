"""No learned preset raises during a session, whatever valid input it gets.

Hypothesis plays random interaction sequences (clicks anywhere, boxes of 1-2 pixels,
scribbles along an edge, thin coarse masks, undo) on images of any size from 1x1 up to
the pixel limit and any aspect (4000x20, 20x4000), from scratch or from a thin existing
mask. Tiny random-weight builds of every learned family run in the fast suite; the
full-size SegFormer-B0, HRNet-18s and FocalClick-XL presets, slow-marked, with a few examples
each (an XL example costs ~30 s of CPU: its Context-Net runs once per new image).
"""
from __future__ import annotations

from typing import Callable, Dict

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import focalxl
from focalxl import Box, Click, CoarseMask, Scribble
from focalxl.models.focalclick import Architecture, build
from focalxl.models import sam as sam_networks
from focalxl.predictors.focalclick import FocalClickPredictor
from focalxl.predictors.focalclick_xl import build_predictor as build_xl
from focalxl.predictors.sam import SamPredictor
from xl_tiny import TINY as TINY_XL
from xl_tiny import sam_config

PIXEL_LIMIT = 80_000      # the segmenters below refuse larger images, so sizes reach the limit
EXAMPLES = 12             # per tiny preset: the whole file stays within seconds per preset
SLOW_EXAMPLES = 4


def _tiny_focalclick(_) -> FocalClickPredictor:
    """The FocalClick-HRNet-18s-S1 preset's loop around a width-4 HRNet."""
    predictor = FocalClickPredictor("focalclick-hrnet18s-s1", random_weights=True, device="cpu", precision="fp32")
    arch = Architecture("hrnet", "s1", width=4, ocr_width=8, small=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        predictor.network = build(arch).eval()
    predictor.click_radius = arch.click_radius
    return predictor


def _tiny_sam(tmp_path_factory) -> SamPredictor:
    config = sam_config()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        state = sam_networks.build(config).state_dict()
    path = tmp_path_factory.mktemp("sam") / "tiny.pth"
    torch.save(state, path)
    return SamPredictor("sam-tiny", config, checkpoint=path, device="cpu", precision="fp32")


TINY_PRESETS: Dict[str, Callable] = {
    "focalclick tiny": _tiny_focalclick,
    "sam tiny": _tiny_sam,
    "focalclick-xl tiny": lambda _: build_xl("focalclick-xl-b", random_weights=True, device="cpu",
                                             model_config=TINY_XL),
}


@st.composite
def image_shapes(draw):
    """Any size up to the pixel limit, any aspect: tiny, very wide, very tall, at the limit."""
    kind = draw(st.sampled_from(["small", "wide", "tall", "limit"]))
    if kind == "small":
        return draw(st.integers(1, 40)), draw(st.integers(1, 40))
    if kind == "wide":
        return draw(st.integers(1, 20)), draw(st.integers(200, 4000))
    if kind == "tall":
        return draw(st.integers(200, 4000)), draw(st.integers(1, 20))
    width = draw(st.integers(1, 4000))
    return max(1, PIXEL_LIMIT // width), width


def _coordinate(draw, size: int) -> float:
    return draw(st.floats(0, size, exclude_max=True, allow_nan=False))


@st.composite
def interactions(draw, shape):
    height, width = shape
    kind = draw(st.sampled_from(["click", "click", "click", "box", "edge scribble", "thin mask", "undo"]))
    if kind == "click":
        return Click(_coordinate(draw, width), _coordinate(draw, height), draw(st.booleans()))
    if kind == "box":
        if width < 1 or height < 1:
            return "undo"
        side_w, side_h = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        side_w, side_h = min(side_w, width), min(side_h, height)
        x0, y0 = draw(st.integers(0, width - side_w)), draw(st.integers(0, height - side_h))
        return Box(x0, y0, x0 + side_w, y0 + side_h)
    if kind == "edge scribble":
        along_top = draw(st.booleans())
        count = draw(st.integers(1, 5))
        if along_top:
            y = draw(st.sampled_from([0.0, max(0.0, height - 0.5)]))
            points = [(_coordinate(draw, width), y) for _ in range(count)]
        else:
            x = draw(st.sampled_from([0.0, max(0.0, width - 0.5)]))
            points = [(x, _coordinate(draw, height)) for _ in range(count)]
        return Scribble(points, draw(st.booleans()), draw(st.floats(1, 9)))
    if kind == "thin mask":
        return CoarseMask(_thin_mask(draw, shape))
    return "undo"


def _thin_mask(draw, shape) -> np.ndarray:
    """One row, one column or one pixel of the image."""
    height, width = shape
    mask = np.zeros(shape, dtype=bool)
    which = draw(st.sampled_from(["row", "column", "pixel"]))
    row, column = draw(st.integers(0, height - 1)), draw(st.integers(0, width - 1))
    if which == "row":
        mask[row, :] = True
    elif which == "column":
        mask[:, column] = True
    else:
        mask[row, column] = True
    return mask


@st.composite
def sessions(draw):
    shape = draw(image_shapes())
    start = _thin_mask(draw, shape) if draw(st.booleans()) else None
    steps = draw(st.lists(interactions(shape), min_size=1, max_size=6))
    seed = draw(st.integers(0, 2 ** 16))
    return shape, start, steps, seed


def play(segmenter: focalxl.Segmenter, shape, start, steps, seed) -> int:
    """Run the sequence; every result must be a well-formed mask and alpha of the image's size."""
    image = np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)
    session = segmenter.new_session(image, start)
    played = 0
    for step in steps:
        if step == "undo":
            if session.history:
                session.undo()
            continue
        result = session.add(step)
        played += 1
        assert result.mask.shape == shape and result.alpha.shape == shape
        assert np.isfinite(result.alpha).all() and result.alpha.min() >= 0.0 and result.alpha.max() <= 1.0
        assert (result.bbox is None) == (not result.mask.any())
    return played


@pytest.fixture(scope="module", params=list(TINY_PRESETS))
def tiny_segmenter(request, tmp_path_factory):
    return focalxl.Segmenter(TINY_PRESETS[request.param](tmp_path_factory), max_pixels=PIXEL_LIMIT)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=sessions())
def test_no_tiny_learned_preset_raises_in_any_session(tiny_segmenter, case):
    play(tiny_segmenter, *case)


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["focalclick-segformer-b0-s1", "focalclick-segformer-b0-s2",
                                    "focalclick-hrnet18s-s1", "focalclick-xl-b"])
@settings(max_examples=SLOW_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=sessions())
def test_no_full_size_learned_preset_raises_in_any_session(preset, case):
    segmenter = focalxl.load(preset, random_weights=True, device="cpu", precision="fp32", max_pixels=PIXEL_LIMIT)
    play(segmenter, *case)


@pytest.mark.parametrize("shape, start", [((1080, 1920), "row"), ((360, 480), "row"), ((20, 4000), None),
                                          ((4000, 20), "column")])
def test_the_sequences_that_crashed_segformer_presets_now_run(shape, start):
    """Issue 10: elongated Target Crops (1437x147, 456x47) and thin masks from aspect 5 on."""
    segmenter = focalxl.load("focalclick-segformer-b0-s2", random_weights=True, device="cpu", precision="fp32")
    height, width = shape
    mask = None
    if start == "row":
        mask = np.zeros(shape, dtype=bool)
        mask[height // 2, width // 8:width - width // 8] = True
    elif start == "column":
        mask = np.zeros(shape, dtype=bool)
        mask[height // 8:height - height // 8, width // 2] = True
    session = segmenter.new_session(np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8), mask)
    for fx, fy, positive in [(0.5, 0.5, True), (0.9, 0.5, True), (0.1, 0.52, False), (0.7, 0.49, True),
                             (0.3, 0.5, True), (0.95, 0.45, False), (0.05, 0.55, True)]:
        result = session.add(Click(fx * width, fy * height, positive))
        assert result.alpha.shape == shape
