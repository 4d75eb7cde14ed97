"""Progressive Merge: only the connected region the interaction is about changes.

``progressive_merge(old, new, touch, positive)`` returns the update region; the
merged mask is ``old`` with the update region set to ``positive``.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from focalxl.merge import progressive_merge, touched_components


def merged(old, update, positive):
    out = old.copy()
    out[update] = positive
    return out


def canvas(*rects, shape=(20, 30)):
    mask = np.zeros(shape, dtype=bool)
    for r0, c0, r1, c1 in rects:
        mask[r0:r1, c0:c1] = True
    return mask


def touch_at(*pixels, shape=(20, 30)):
    touch = np.zeros(shape, dtype=bool)
    for r, c in pixels:
        touch[r, c] = True
    return touch


# --- positive interactions -------------------------------------------------------------

def test_positive_interaction_adds_only_the_component_of_the_new_mask_it_touches():
    old = canvas((2, 2, 6, 6))
    new = canvas((2, 2, 6, 6), (10, 10, 14, 14), (10, 20, 14, 25))   # two new blobs
    update = progressive_merge(old, new, touch_at((12, 12)), positive=True)
    assert np.array_equal(update, canvas((10, 10, 14, 14)))
    assert np.array_equal(merged(old, update, True), canvas((2, 2, 6, 6), (10, 10, 14, 14)))


def test_positive_interaction_does_not_remove_what_the_new_mask_drops_elsewhere():
    old = canvas((2, 2, 6, 6), (2, 20, 6, 24))
    new = canvas((2, 2, 8, 8))                                        # drops the right blob
    result = merged(old, progressive_merge(old, new, touch_at((7, 7)), True), True)
    assert np.array_equal(result, old | canvas((2, 2, 8, 8)))
    assert result[2:6, 20:24].all()


def test_positive_interaction_on_a_pixel_outside_the_new_mask_changes_nothing():
    old = canvas((2, 2, 6, 6))
    new = canvas((10, 10, 14, 14))
    update = progressive_merge(old, new, touch_at((0, 29)), positive=True)
    assert update.dtype == bool and update.shape == old.shape and not update.any()


def test_positive_update_region_may_include_pixels_already_in_the_old_mask():
    old = canvas((2, 2, 6, 6))
    new = canvas((2, 2, 9, 9))
    update = progressive_merge(old, new, touch_at((3, 3)), positive=True)
    assert np.array_equal(update, new)


# --- negative interactions -------------------------------------------------------------

def test_negative_interaction_removes_only_the_touched_component_of_old_and_not_new():
    old = canvas((2, 2, 8, 8), (2, 20, 8, 26), (12, 12, 18, 18))
    new = canvas((2, 2, 8, 8))                           # the predictor dropped two blobs
    update = progressive_merge(old, new, touch_at((4, 22)), positive=False)
    assert np.array_equal(update, canvas((2, 20, 8, 26)))
    assert np.array_equal(merged(old, update, False), canvas((2, 2, 8, 8), (12, 12, 18, 18)))


def test_negative_interaction_does_not_add_what_the_new_mask_grows_elsewhere():
    old = canvas((2, 2, 8, 8), (12, 12, 18, 18))
    new = canvas((0, 0, 10, 10))                         # grew the first blob, dropped the second
    result = merged(old, progressive_merge(old, new, touch_at((14, 14)), False), False)
    assert np.array_equal(result, canvas((2, 2, 8, 8)))


def test_negative_interaction_where_nothing_was_removed_changes_nothing():
    old = canvas((2, 2, 8, 8))
    new = canvas((2, 2, 8, 8), (12, 12, 18, 18))
    for pixel in [(4, 4), (14, 14), (19, 29)]:
        assert not progressive_merge(old, new, touch_at(pixel), positive=False).any()


def test_polarity_comes_from_the_interaction_not_from_the_old_mask_under_it():
    # a positive click inside the old mask where the prediction agrees must not wipe anything
    old = canvas((2, 2, 10, 10))
    new = canvas((2, 2, 10, 10))
    update = progressive_merge(old, new, touch_at((5, 5)), positive=True)
    assert np.array_equal(merged(old, update, True), old)


# --- connectivity and multiple touches ------------------------------------------------

def test_components_are_8_connected_so_diagonal_neighbours_belong_together():
    new = touch_at((5, 5), (6, 6), (7, 7))
    update = progressive_merge(np.zeros_like(new), new, touch_at((5, 5)), positive=True)
    assert np.array_equal(update, new)


def test_a_footprint_touching_two_components_updates_both_and_only_them():
    new = canvas((2, 2, 6, 6), (2, 10, 6, 14), (2, 20, 6, 24))
    touch = canvas((4, 3, 5, 12))                         # a stroke across the first two blobs
    update = progressive_merge(np.zeros_like(new), new, touch, positive=True)
    assert np.array_equal(update, canvas((2, 2, 6, 6), (2, 10, 6, 14)))


def test_touched_components_of_nothing_is_empty():
    assert not touched_components(np.zeros((5, 5), bool), np.ones((5, 5), bool)).any()


# --- properties ------------------------------------------------------------------------

MASKS = arrays(np.bool_, (12, 14))
PIXELS = st.tuples(st.integers(0, 11), st.integers(0, 13))


@settings(max_examples=300)
@given(old=MASKS, new=MASKS, pixel=PIXELS, positive=st.booleans())
def test_single_touch_update_is_exactly_one_component_or_empty_and_nothing_else_changes(
        old, new, pixel, positive, helpers):
    update = progressive_merge(old, new, touch_at(pixel, shape=old.shape), positive)
    result = merged(old, update, positive)
    candidates = new if positive else old & ~new
    assert np.array_equal(result[~update], old[~update])
    assert np.array_equal(update, helpers.flood(candidates, [pixel]))
    if update.any():
        assert update[pixel]


@settings(max_examples=300)
@given(old=MASKS, new=MASKS, pixels=st.lists(PIXELS, max_size=6), positive=st.booleans())
def test_update_is_the_union_of_the_touched_components_and_pixels_outside_it_are_kept(
        old, new, pixels, positive, helpers):
    touch = touch_at(*pixels, shape=old.shape)
    update = progressive_merge(old, new, touch, positive)
    result = merged(old, update, positive)
    candidates = new if positive else old & ~new
    assert update.dtype == bool and update.shape == old.shape
    assert np.array_equal(update, helpers.flood(candidates, pixels))
    assert np.array_equal(result[~update], old[~update])
    if positive:
        assert not (old & ~result).any(), "a positive interaction removed pixels"
        assert not (result & ~(old | new)).any()
    else:
        assert not (result & ~old).any(), "a negative interaction added pixels"
        assert not (new & old & ~result).any()


@given(old=MASKS, new=MASKS, pixel=PIXELS, positive=st.booleans())
def test_merge_does_not_modify_its_inputs(old, new, pixel, positive):
    old_copy, new_copy = old.copy(), new.copy()
    touch = touch_at(pixel, shape=old.shape)
    progressive_merge(old, new, touch, positive)
    assert np.array_equal(old, old_copy) and np.array_equal(new, new_copy)


@pytest.mark.parametrize("positive", [True, False])
def test_merge_accepts_non_contiguous_views_of_larger_masks(positive, helpers):
    big_old = canvas((2, 2, 30, 30), shape=(40, 40))
    big_new = canvas((4, 4, 20, 20), shape=(40, 40))
    old, new = big_old[1:35, 3:38], big_new[1:35, 3:38]
    pixels = [(25, 20), (6, 6)]
    update = progressive_merge(old, new, touch_at(*pixels, shape=old.shape), positive)
    candidates = new if positive else old & ~new
    assert update.any()
    assert np.array_equal(update, helpers.flood(candidates, pixels))
