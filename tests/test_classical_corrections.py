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


def test_a_change_that_runs_into_the_target_crops_edge_goes_on_past_it_instead_of_ending_straight_there():
    """A red bar runs across most of the frame; the mask holds its left end, a click lands further along.

    The Target Crop (the mask and the click, expanded) ends about x = 396, the bar at x = 560."""
    rng = np.random.default_rng(0)
    image = np.clip(rng.normal(120, 12, (300, 600, 3)), 0, 255).astype(np.uint8)
    bar = np.zeros((300, 600), bool)
    bar[100:200, 100:560] = True
    image[bar] = np.clip(rng.normal((200, 40, 40), 12, (int(bar.sum()), 3)), 0, 255).astype(np.uint8)
    start = np.zeros_like(bar)
    start[100:200, 100:200] = True
    session = focalxl.load("classical").new_session(image, start)
    assert session.target_box(Click(330.5, 150.5))[2] < 420
    mask = session.add(Click(330.5, 150.5)).mask
    assert abs(np.flatnonzero(mask.any(axis=0)).max() - 559) <= 2     # the bar's end, not the crop's
    assert (mask & bar).sum() / (mask | bar).sum() > 0.95


def test_a_click_on_a_new_object_beside_an_existing_mask_takes_that_object_even_when_its_crop_regrows(helpers):
    """The disk runs past the Target Crop's edges; on the grown crop the correction would flood the frame,
    so the grown prediction, disagreeing with the first inside the old crop, is not taken."""
    scene = helpers.make_disk_scene(height=240, width=320, cx=200.0, cy=110.0, radius=50.0)
    kept = np.zeros(scene.gt.shape, bool)
    kept[10:40, 10:60] = True
    mask = focalxl.load("classical").new_session(scene.image, kept).add(Click(scene.cx, scene.cy)).mask
    assert np.array_equal(mask[kept], kept[kept])
    assert helpers.iou(mask & ~kept, scene.gt) > 0.85
