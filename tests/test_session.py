"""Sessions through the public API: ``focalxl.load("classical").new_session(image, mask)``.

Engine invariants (bit-exact Progressive Merge, undo, result types) use the classical
predictor on small rasters (``fast_segmenter``) so property tests stay quick; the
quality checks use the offline default exactly as ``focalxl.load("classical")`` gives it.
"""
import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import focalxl
from focalxl import Box, Click, CoarseMask, Scribble

SESSION_SETTINGS = settings(max_examples=30, deadline=None,
                            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def pixel_of(click):
    return int(click.y), int(click.x)


def assert_well_formed(result, shape):
    assert result.mask.shape == shape and result.mask.dtype == bool
    assert result.alpha.shape == shape and result.alpha.dtype == np.float32
    assert np.all(np.isfinite(result.alpha))
    assert result.alpha.min() >= 0.0 and result.alpha.max() <= 1.0
    assert np.array_equal(result.mask, result.alpha >= 0.5)
    rows, cols = np.nonzero(result.mask)
    if rows.size:
        assert result.bbox == (cols.min(), rows.min(), cols.max(), rows.max())
        assert all(isinstance(v, int) for v in result.bbox)
        assert result.score == pytest.approx(float(result.alpha[result.mask].mean()))
    else:
        assert result.bbox is None and result.score == 0.0


def assert_same(a, b, helpers):
    """Bit-identical mask and alpha."""
    assert np.array_equal(a.mask, b.mask)
    assert np.array_equal(helpers.bits(a.alpha), helpers.bits(b.alpha))
    assert a.bbox == b.bbox


def assert_change_confined_to_the_clicked_component(before, after, click, helpers):
    """Progressive Merge as seen from outside: only the component at the click changed.

    Positive: every changed pixel lies in the component of the new mask holding the
    click, and nothing was removed. Negative: the removed pixels are exactly one
    component (of ``old AND NOT new``) holding the click, nothing was added, and alpha
    changed only there.
    """
    changed = (before.mask != after.mask) | (helpers.bits(before.alpha) != helpers.bits(after.alpha))
    seed = [pixel_of(click)]
    if click.positive:
        region = helpers.flood(after.mask, seed)
        assert not (before.mask & ~after.mask).any(), "a positive click removed pixels"
    else:
        removed = before.mask & ~after.mask
        region = helpers.flood(removed, seed)
        assert not (after.mask & ~before.mask).any(), "a negative click added pixels"
        assert np.array_equal(removed, region), "removed pixels are not one component at the click"
    outside = ~region
    assert np.array_equal(after.mask[outside], before.mask[outside]), \
        f"{int((changed & outside).sum())} pixels changed outside the clicked component"
    assert np.array_equal(helpers.bits(after.alpha)[outside], helpers.bits(before.alpha)[outside]), \
        f"alpha changed at {int((changed & outside).sum())} pixels outside the clicked component"
    if changed.any():
        assert region[pixel_of(click)]


# --- starting state and result shape ---------------------------------------------------

def test_new_session_without_mask_starts_empty(fast_segmenter, scene):
    result = fast_segmenter.new_session(scene.image).result()
    assert not result.mask.any() and not result.alpha.any()
    assert result.bbox is None and result.score == 0.0
    assert_well_formed(result, scene.shape)


def test_new_session_with_mask_starts_from_that_mask_with_alpha_one_inside(fast_segmenter, scene):
    result = fast_segmenter.new_session(scene.image, mask=scene.gt).result()
    assert np.array_equal(result.mask, scene.gt)
    assert np.array_equal(result.alpha, scene.gt.astype(np.float32))
    rows, cols = np.nonzero(scene.gt)
    assert result.bbox == (cols.min(), rows.min(), cols.max(), rows.max())
    assert result.score == 1.0


def test_new_session_accepts_a_0_255_uint8_mask(fast_segmenter, scene):
    session = fast_segmenter.new_session(scene.image, mask=scene.gt.astype(np.uint8) * 255)
    assert np.array_equal(session.result().mask, scene.gt)


def test_new_session_copies_the_mask_so_later_edits_by_the_caller_do_not_leak_in(fast_segmenter, scene):
    mask = scene.gt.copy()
    session = fast_segmenter.new_session(scene.image, mask=mask)
    mask[:] = False
    assert np.array_equal(session.result().mask, scene.gt)


def test_result_arrays_are_copies_the_caller_may_modify(fast_segmenter, scene):
    session = fast_segmenter.new_session(scene.image, mask=scene.gt)
    result = session.result()
    result.mask[:] = False
    result.alpha[:] = 0.5
    assert np.array_equal(session.result().mask, scene.gt)


@pytest.mark.parametrize("interaction", [
    Click(80, 76), Click(5, 5, positive=False), Box(38, 34, 122, 118),
    Scribble([(65, 76), (95, 76)], width=3), Scribble([(10, 10), (30, 150)], positive=False),
])
def test_every_result_has_bool_mask_equal_to_alpha_at_least_half_and_float32_alpha_in_0_1(
        fast_segmenter, scene, interaction):
    session = fast_segmenter.new_session(scene.image)
    for step in (Click(80, 76), interaction, Click(150, 150, positive=False)):
        assert_well_formed(session.add(step), scene.shape)


def test_bbox_is_the_inclusive_box_of_the_mask(fast_segmenter):
    image = np.zeros((40, 50, 3), np.uint8)
    mask = np.zeros((40, 50), bool)
    mask[10:21, 5:31] = True
    result = fast_segmenter.new_session(image, mask=mask).result()
    assert result.bbox == (5, 10, 30, 20)


def test_history_lists_the_interactions_in_order(fast_segmenter, scene):
    session = fast_segmenter.new_session(scene.image)
    first, second = Click(80, 76), Click(10, 10, positive=False)
    session.add(first)
    session.add(second)
    assert session.history == [first, second]
    session.undo()
    assert session.history == [first]


# --- quality of the offline default ----------------------------------------------------

@pytest.mark.parametrize("side", [100, 128, 160, 200])
def test_first_positive_click_on_the_object_segments_it_with_iou_above_0_8(segmenter, helpers, side):
    scene = helpers.make_disk_scene(side, side, cx=side / 2, cy=side / 2 - 3, radius=0.23 * side)
    result = segmenter.new_session(scene.image).add(Click(scene.cx, scene.cy))
    assert helpers.iou(result.mask, scene.gt) > 0.8


@pytest.mark.parametrize("first", [Click(10, 10, positive=False), Click(80, 76, positive=False),
                                   Scribble([(5, 150), (60, 150)], positive=False)])
def test_a_negative_first_interaction_is_accepted_and_selects_nothing(segmenter, scene, first):
    session = segmenter.new_session(scene.image)
    result = session.add(first)
    assert_well_formed(result, scene.shape)
    assert not result.mask.any()
    assert session.history == [first]


def test_first_positive_click_off_centre_on_the_object_still_segments_it(segmenter, scene, helpers):
    result = segmenter.new_session(scene.image).add(Click(scene.cx + 20, scene.cy - 15))
    assert helpers.iou(result.mask, scene.gt) > 0.8


def test_box_around_the_object_gives_a_good_mask(segmenter, scene, helpers):
    margin = 8
    box = Box(scene.cx - scene.radius - margin, scene.cy - scene.radius - margin,
              scene.cx + scene.radius + margin, scene.cy + scene.radius + margin)
    result = segmenter.new_session(scene.image).add(box)
    assert helpers.iou(result.mask, scene.gt) > 0.85


def test_positive_scribble_inside_the_object_gives_a_good_mask(segmenter, scene, helpers):
    stroke = Scribble([(scene.cx - 15, scene.cy), (scene.cx + 10, scene.cy + 12)], width=3)
    result = segmenter.new_session(scene.image).add(stroke)
    assert helpers.iou(result.mask, scene.gt) > 0.85


def test_negative_scribble_across_a_false_positive_removes_it(segmenter, scene, helpers):
    blob = np.zeros(scene.shape, bool)
    blob[125:150, 15:45] = True
    session = segmenter.new_session(scene.image, mask=scene.gt | blob)
    result = session.add(Scribble([(18, 137), (42, 139)], positive=False, width=3))
    assert result.mask[blob].mean() < 0.1
    assert helpers.iou(result.mask, scene.gt) > 0.9


@pytest.mark.parametrize("coarse_kind", ["dilated", "bounding square", "shifted"])
def test_coarse_mask_is_refined_toward_the_object(segmenter, scene, helpers, coarse_kind):
    gt = scene.gt
    if coarse_kind == "dilated":
        coarse = cv2.dilate(gt.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    elif coarse_kind == "bounding square":
        rows, cols = np.nonzero(gt)
        coarse = np.zeros_like(gt)
        coarse[rows.min():rows.max() + 1, cols.min():cols.max() + 1] = True
    else:
        coarse = np.roll(gt, 8, axis=1)
    before = helpers.iou(coarse, gt)
    result = segmenter.new_session(scene.image).add(CoarseMask(coarse))
    after = helpers.iou(result.mask, gt)
    assert after > before + 0.1 and after > 0.85, (before, after)


def test_negative_click_inside_a_false_positive_region_removes_it_and_keeps_the_object(
        segmenter, scene, helpers):
    blob = np.zeros(scene.shape, bool)
    blob[125:150, 15:45] = True                       # background wrongly in the annotation
    session = segmenter.new_session(scene.image, mask=scene.gt | blob)
    result = session.add(Click(30, 137, positive=False))
    assert not result.mask[blob].any()
    assert np.array_equal(result.mask[scene.gt], np.ones(scene.gt.sum(), bool))


def test_negative_click_on_a_false_positive_attached_to_the_object_removes_that_part(
        segmenter, scene, helpers):
    spur = np.zeros(scene.shape, bool)
    spur[70:84, 110:140] = True                        # a spur of background stuck to the disk
    session = segmenter.new_session(scene.image, mask=scene.gt | spur)
    result = session.add(Click(132, 77, positive=False))
    assert result.mask[spur & ~scene.gt].mean() < 0.1
    assert helpers.iou(result.mask, scene.gt) > 0.9


def test_negative_click_on_a_differently_coloured_region_the_first_click_took_removes_it(
        segmenter, scene, helpers):
    # a purple patch stuck to the red disk; the first click may take it along, a negative
    # click on it must then take it away again (from scratch: no merge yet)
    rng = np.random.default_rng(5)
    spur = np.zeros(scene.shape, bool)
    spur[66:88, 112:150] = True
    spur &= ~scene.gt
    image = scene.image.copy()
    image[spur] = np.clip(np.array([170, 60, 90]) + rng.normal(0, 10, (spur.sum(), 3)), 0, 255).astype(np.uint8)
    session = segmenter.new_session(image)
    session.add(Click(scene.cx, scene.cy))
    result = session.add(Click(138, 77, positive=False))
    assert result.mask[spur].mean() < 0.2, f"{result.mask[spur].mean():.0%} of the false positive is left"
    assert result.mask[scene.gt].mean() > 0.9


# --- Progressive Merge from an existing mask: a property ------------------------------

def _start_masks(scene):
    gt = scene.gt
    blob = np.zeros_like(gt)
    blob[125:150, 15:45] = True
    small = np.zeros_like(gt)
    yy, xx = np.mgrid[0:gt.shape[0], 0:gt.shape[1]]
    small[(xx - scene.cx) ** 2 + (yy - scene.cy) ** 2 <= 20 ** 2] = True
    return {"exact": gt, "with blob": gt | blob, "shifted": np.roll(gt, 10, axis=1),
            "too small": small, "far blob only": blob}


CLICKS = st.builds(
    Click,
    x=st.one_of(st.floats(0, 160, exclude_max=True), st.floats(30, 130)),
    y=st.one_of(st.floats(0, 160, exclude_max=True), st.floats(25, 125)),
    positive=st.booleans(),
)


@SESSION_SETTINGS
@given(start=st.sampled_from(["exact", "with blob", "shifted", "too small", "far blob only"]),
       clicks=st.lists(CLICKS, min_size=1, max_size=4))
def test_from_an_existing_mask_each_click_changes_only_its_component_bit_exactly(
        fast_segmenter, scene, helpers, start, clicks):
    session = fast_segmenter.new_session(scene.image, mask=_start_masks(scene)[start])
    before = session.result()
    for click in clicks:
        after = session.add(click)
        assert_well_formed(after, scene.shape)
        assert_change_confined_to_the_clicked_component(before, after, click, helpers)
        before = after


@SESSION_SETTINGS
@given(start=st.sampled_from(["none", "exact", "with blob", "shifted"]),
       interactions=st.lists(st.one_of(
           CLICKS,
           st.builds(Scribble, points=st.lists(st.tuples(st.floats(0, 159), st.floats(0, 159)),
                                               min_size=1, max_size=4),
                     positive=st.booleans(), width=st.floats(1, 8)),
           st.just(Box(38, 34, 122, 118)),
       ), min_size=1, max_size=4))
def test_undo_restores_every_previous_mask_and_alpha_exactly(
        fast_segmenter, scene, helpers, start, interactions):
    mask = None if start == "none" else _start_masks(scene)[start]
    session = fast_segmenter.new_session(scene.image, mask=mask)
    states = [session.result()]
    for interaction in interactions:
        states.append(session.add(interaction))
    for expected in reversed(states[:-1]):
        assert_same(session.undo(), expected, helpers)
        assert_same(session.result(), expected, helpers)
    with pytest.raises(IndexError):
        session.undo()


def test_undo_with_no_history_raises_index_error(fast_segmenter, scene):
    with pytest.raises(IndexError):
        fast_segmenter.new_session(scene.image).undo()
    with pytest.raises(IndexError):
        fast_segmenter.new_session(scene.image, mask=scene.gt).undo()


def test_undo_then_redo_of_the_same_click_gives_a_valid_state(fast_segmenter, scene, helpers):
    session = fast_segmenter.new_session(scene.image)
    session.add(Click(80, 76))
    session.undo()
    assert not session.result().mask.any()
    assert_well_formed(session.add(Click(80, 76)), scene.shape)


def test_positive_click_inside_a_correct_mask_does_not_wipe_it(fast_segmenter, scene):
    session = fast_segmenter.new_session(scene.image, mask=scene.gt)
    result = session.add(Click(scene.cx, scene.cy))
    assert result.mask[scene.gt].all()


def test_negative_click_on_background_of_an_existing_mask_changes_nothing(fast_segmenter, scene, helpers):
    session = fast_segmenter.new_session(scene.image, mask=scene.gt)
    before = session.result()
    after = session.add(Click(150, 10, positive=False))
    assert_same(before, after, helpers)


# --- Progressive Merge from scratch: on after 10 interactions --------------------------

def _ten_interactions(scene):
    clicks = [Click(scene.cx, scene.cy)]
    clicks += [Click(10 + 6 * i, 150, positive=False) for i in range(9)]
    return clicks


def test_from_scratch_an_early_click_re_predicts_its_target_crop_without_merging(fast_segmenter, scene, helpers):
    # a background negative click far from the mask is not "about" any component, yet
    # before merging starts the re-prediction still rewrites alpha over the target crop
    session = fast_segmenter.new_session(scene.image)
    session.add(Click(scene.cx, scene.cy))
    before = session.result()
    after = session.add(Click(10, 150, positive=False))
    assert not np.array_equal(helpers.bits(before.alpha), helpers.bits(after.alpha))


def test_a_preset_with_local_corrections_merges_from_the_second_click(scene, helpers):
    session = focalxl.load("classical", input_size=128, detail_size=128).new_session(scene.image)
    session.add(Click(scene.cx, scene.cy))
    before = session.result()
    after = session.add(Click(10, 150, positive=False))        # nothing of the mask there
    assert_same(before, after, helpers)


def test_from_scratch_progressive_merge_starts_with_the_eleventh_interaction(fast_segmenter, scene, helpers):
    session = fast_segmenter.new_session(scene.image)
    for click in _ten_interactions(scene):
        session.add(click)
    before = session.result()
    after = session.add(Click(70, 150, positive=False))        # nothing of the mask there
    assert_same(before, after, helpers)


@pytest.mark.parametrize("eleventh", [Click(150, 150), Click(60, 60), Click(100, 100, positive=False),
                                      Click(40, 76, positive=False)])
def test_from_scratch_the_eleventh_click_cannot_change_pixels_outside_its_component(
        fast_segmenter, scene, helpers, eleventh):
    session = fast_segmenter.new_session(scene.image)
    for click in _ten_interactions(scene):
        session.add(click)
    before = session.result()
    after = session.add(eleventh)
    assert_change_confined_to_the_clicked_component(before, after, eleventh, helpers)


def test_merge_after_is_configurable(scene, helpers):
    segmenter = focalxl.load("classical", input_size=128, detail_size=128,
                             config=focalxl.SessionConfig(merge_after=1))
    session = segmenter.new_session(scene.image)
    session.add(Click(scene.cx, scene.cy))
    before = session.result()
    after = session.add(Click(10, 150, positive=False))
    assert_same(before, after, helpers)


def test_a_session_started_from_an_empty_mask_is_a_session_from_scratch(fast_segmenter, scene, helpers):
    session = fast_segmenter.new_session(scene.image, mask=np.zeros(scene.shape, bool))
    session.add(Click(scene.cx, scene.cy))
    before = session.result()
    after = session.add(Click(10, 150, positive=False))
    assert not np.array_equal(helpers.bits(before.alpha), helpers.bits(after.alpha))


# --- input checking --------------------------------------------------------------------

def test_grayscale_image_is_accepted_as_rgb(fast_segmenter, scene, helpers):
    gray = cv2.cvtColor(scene.image, cv2.COLOR_RGB2GRAY)
    session = fast_segmenter.new_session(gray)
    assert session.image.shape == scene.image.shape and session.image.dtype == np.uint8
    assert np.array_equal(session.image[..., 0], gray) and np.array_equal(session.image[..., 2], gray)
    assert_well_formed(session.add(Click(scene.cx, scene.cy)), scene.shape)


def test_rgba_image_is_accepted_and_its_alpha_channel_ignored(fast_segmenter, scene):
    rgba = np.dstack([scene.image, np.full(scene.shape, 7, np.uint8)])
    session = fast_segmenter.new_session(rgba)
    assert np.array_equal(session.image, scene.image)
    assert_well_formed(session.add(Click(scene.cx, scene.cy)), scene.shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint16, np.int64, bool])
def test_image_that_is_not_uint8_raises_value_error_naming_image(fast_segmenter, scene, dtype):
    with pytest.raises(ValueError, match="image"):
        fast_segmenter.new_session(scene.image.astype(dtype))


@pytest.mark.parametrize("shape", [(160,), (4, 160, 160, 3), (160, 160, 2), (160, 160, 5), (160, 160, 1)])
def test_image_with_the_wrong_number_of_dimensions_or_channels_raises_value_error_naming_image(
        fast_segmenter, shape):
    with pytest.raises(ValueError, match="image"):
        fast_segmenter.new_session(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("shape", [(0, 10, 3), (10, 0), (0, 0)])
def test_empty_image_raises_value_error_naming_image(fast_segmenter, shape):
    with pytest.raises(ValueError, match="image"):
        fast_segmenter.new_session(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("bad", [None, [[0, 1], [2, 3]], b"\x89PNG", "image.png"])
def test_image_that_is_not_an_array_raises_value_error_naming_image(fast_segmenter, bad):
    with pytest.raises(ValueError, match="image"):
        fast_segmenter.new_session(bad)


def test_image_with_more_pixels_than_allowed_raises_value_error_naming_image():
    segmenter = focalxl.load("classical", max_pixels=1000)
    with pytest.raises(ValueError, match="image.*1600 pixels"):
        segmenter.new_session(np.zeros((40, 40, 3), np.uint8))
    segmenter.new_session(np.zeros((25, 40, 3), np.uint8))          # exactly at the limit is fine


def test_a_grey_image_over_the_pixel_limit_is_refused_before_it_is_expanded_to_three_channels(monkeypatch):
    from focalxl.image_files import ImageTooLarge

    segmenter = focalxl.load("classical", max_pixels=1000)
    grey = np.zeros((40, 40), np.uint8)
    monkeypatch.setattr(np, "repeat", lambda *_, **__: pytest.fail("expanded before the check"))
    with pytest.raises(ImageTooLarge, match=r"image has 1600 pixels \(40x40\), over the limit of 1000"):
        segmenter.new_session(grey)
    monkeypatch.undo()
    assert segmenter.new_session(np.zeros((25, 40), np.uint8)).image.shape == (25, 40, 3)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_new_session_mask_holding_nan_or_infinity_is_refused_never_read_as_foreground(fast_segmenter, scene, bad):
    mask = scene.gt.astype(np.float32)
    mask[0, 0] = bad
    with pytest.raises(ValueError, match="mask must be finite"):
        fast_segmenter.new_session(scene.image, mask=mask)


@pytest.mark.parametrize("bad", [(80, 76), {"x": 80, "y": 76}, "click", None, np.zeros((160, 160), bool)])
def test_adding_something_that_is_not_an_interaction_raises_type_error(fast_segmenter, scene, bad):
    session = fast_segmenter.new_session(scene.image)
    with pytest.raises(TypeError):
        session.add(bad)
    assert session.history == []


@pytest.mark.parametrize("interaction, field", [
    (Click(160, 10), "click"), (Click(10, -1), "click"), (Box(10, 10, 170, 50), "box"),
    (Scribble([(10, 10), (20, 20), (20, 200)]), r"scribble\.points\[2\]"),
    (CoarseMask(np.ones((10, 10), bool)), "mask shape"), (CoarseMask(np.zeros((160, 160), bool)), "empty"),
])
def test_interaction_that_does_not_fit_the_image_raises_value_error_and_leaves_the_session_unchanged(
        fast_segmenter, scene, helpers, interaction, field):
    session = fast_segmenter.new_session(scene.image, mask=scene.gt)
    before = session.result()
    with pytest.raises(ValueError, match=field):
        session.add(interaction)
    assert session.history == []
    assert_same(session.result(), before, helpers)


@pytest.mark.parametrize("shape", [(160, 159), (159, 160), (160, 160, 1), (160,)])
def test_new_session_mask_of_the_wrong_shape_raises_value_error_naming_mask(fast_segmenter, scene, shape):
    with pytest.raises(ValueError, match="mask"):
        fast_segmenter.new_session(scene.image, mask=np.ones(shape, bool))


@pytest.mark.parametrize("bad", [[[True]], "mask", np.full((160, 160), "x"), np.full((160, 160), 1 + 1j)])
def test_new_session_mask_that_is_not_a_numeric_array_raises_value_error_naming_mask(fast_segmenter, scene, bad):
    with pytest.raises(ValueError, match="mask"):
        fast_segmenter.new_session(scene.image, mask=bad)


def test_loading_an_unknown_preset_raises_value_error_listing_the_presets():
    with pytest.raises(ValueError, match="classical"):
        focalxl.load("no-such-model")
    assert "classical" in focalxl.presets()


@pytest.mark.parametrize("seed", range(4))
def test_the_score_is_the_float32_mean_of_alpha_over_the_mask_bit_for_bit(seed):
    from focalxl.session import _result

    rng = np.random.default_rng(seed)
    alpha = rng.random((300, 500), dtype=np.float32)
    mask = np.zeros_like(alpha, dtype=bool)
    mask[40:260, 70:430] = rng.random((220, 360)) > 0.3      # a speckled object inside the frame
    alpha[mask] = np.maximum(alpha[mask], 0.5)
    result = _result(mask, alpha)
    assert result.score == float(alpha[mask].mean())
    assert result.mask is not mask and result.alpha is not alpha
