"""The classical preset's later clicks: each moves the mask only in its own direction, only where it lands."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import focalxl
from focalxl import Click

CLICKS = st.lists(st.tuples(st.integers(0, 159), st.integers(0, 159), st.booleans()), min_size=1, max_size=5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(clicks=CLICKS)
def test_a_positive_click_never_removes_and_a_negative_click_never_adds(segmenter, scene, clicks):
    session = segmenter.new_session(scene.image)
    before = session.add(Click(scene.cx, scene.cy)).mask
    for x, y, positive in clicks:
        after = session.add(Click(x + 0.5, y + 0.5, positive=positive)).mask
        if positive:
            assert not (before & ~after).any()
        else:
            assert not (after & ~before).any()
        before = after


def test_a_click_far_from_the_mask_on_background_changes_nothing(segmenter, scene, helpers):
    session = segmenter.new_session(scene.image)
    before = session.add(Click(scene.cx, scene.cy))
    after = session.add(Click(150.5, 10.5, positive=False))
    assert np.array_equal(helpers.bits(before.alpha), helpers.bits(after.alpha))


def test_a_positive_click_on_a_missed_part_adds_it_and_keeps_the_rest(helpers):
    scene = helpers.make_disk_scene()
    session = focalxl.load("classical").new_session(scene.image)
    session.add(focalxl.Box(scene.cx - 36, scene.cy - 36, scene.cx + 1, scene.cy + 37))   # the left half
    before = session.result().mask
    after = session.add(Click(scene.cx + 20.5, scene.cy + 0.5)).mask
    assert not (before & ~after).any()
    assert helpers.iou(after, scene.gt) > helpers.iou(before, scene.gt) + 0.2
