"""The interaction history as SAM prompts, and the mask prompt's geometry."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from focalxl import Box, Click, CoarseMask, Scribble
from focalxl.models import sam_prompts


def test_clicks_become_points_with_their_polarity_in_order():
    prompts = sam_prompts.from_history([Click(10.5, 20.0), Click(3.0, 4.0, positive=False)])
    assert prompts.points.tolist() == [[10.5, 20.0], [3.0, 4.0]]
    assert prompts.labels.tolist() == [1, 0]
    assert prompts.box is None and prompts.coarse_mask is None
    assert not prompts.single_point


def test_one_click_alone_is_the_ambiguous_case():
    assert sam_prompts.from_history([Click(1.0, 2.0)]).single_point
    assert not sam_prompts.from_history([Box(0, 0, 5, 5), Click(1.0, 2.0)]).single_point


def test_the_newest_box_is_the_box_prompt():
    prompts = sam_prompts.from_history([Box(0, 0, 5, 5), Click(1.0, 1.0), Box(2, 3, 40, 50)])
    assert prompts.box.tolist() == [2, 3, 40, 50]


def test_a_coarse_mask_is_the_mask_prompt_only_while_it_is_newest_and_its_box_stays():
    mask = np.zeros((30, 40), dtype=bool)
    mask[5:10, 8:20] = True
    newest = sam_prompts.from_history([CoarseMask(mask)])
    assert newest.coarse_mask is mask
    assert newest.box.tolist() == [8, 5, 20, 10]
    later = sam_prompts.from_history([CoarseMask(mask), Click(9.0, 6.0, positive=False)])
    assert later.coarse_mask is None and later.box.tolist() == [8, 5, 20, 10]
    boxed = sam_prompts.from_history([Box(1, 1, 39, 29), CoarseMask(mask)])
    assert boxed.box.tolist() == [1, 1, 39, 29]                 # a box the user drew wins


def test_a_scribble_becomes_points_along_it_with_its_polarity():
    prompts = sam_prompts.from_history([Scribble([(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)], positive=False)])
    assert len(prompts.points) == sam_prompts.SCRIBBLE_POINTS
    assert prompts.labels.tolist() == [0] * sam_prompts.SCRIBBLE_POINTS
    assert prompts.points.tolist() == [[2.0, 0.0], [6.0, 0.0], [10.0, 0.0], [10.0, 4.0], [10.0, 8.0]]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 500), st.floats(0, 500)), min_size=1, max_size=12), st.integers(1, 9))
def test_stroke_points_lie_on_the_stroke(points, count):
    samples = sam_prompts.stroke_points(points, count)
    xy = np.array(points)
    for x, y in samples:
        if (xy == xy[0]).all():        # a stroke of zero length is its one point
            assert (x, y) == tuple(xy[0])
            continue
        a, b = xy[:-1], xy[1:]
        d = b - a
        t = np.clip(((x - a[:, 0]) * d[:, 0] + (y - a[:, 1]) * d[:, 1]) / np.maximum((d ** 2).sum(1), 1e-12), 0, 1)
        gap = np.hypot(a[:, 0] + t * d[:, 0] - x, a[:, 1] + t * d[:, 1] - y)
        assert gap.min() < 1e-6 * max(1.0, np.abs(xy).max())


def test_coordinates_scale_into_the_encoders_input_like_resize_longest_side():
    scaled = sam_prompts.to_input_frame(np.array([[100.0, 50.0]]), (150, 203), (189, 256))
    assert scaled.tolist() == [[100.0 * 256 / 203, 50.0 * 189 / 150]]


def test_the_mask_prompt_follows_sams_geometry():
    """Left half of a 100x200 image: in a 64-pixel grid over a 256 input, the image fills 64x32 (top rows)."""
    prob = np.zeros((100, 200), dtype=np.float32)
    prob[:, :100] = 1.0
    logits = sam_prompts.mask_prompt(prob, (128, 256), 256, 64)
    assert logits.shape == (1, 64, 64) and logits.dtype == np.float32
    assert (logits[0, :31, :31] > 10).all()              # the object
    assert (logits[0, :31, 33:] < -10).all()             # the image's background
    assert (logits[0, 33:, :] < -10).all()               # SAM's padding below the image


def test_an_unknown_interaction_is_refused():
    with pytest.raises(TypeError, match="not an interaction"):
        sam_prompts.from_history([object()])
