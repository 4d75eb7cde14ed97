"""Target Crop, Focus Crop and the Crop raster they are zoomed to."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from focalxl.crops import (Crop, differing_box, expand, extent_box, focus_crop_box, grown_past_edges, mask_bbox,
                           target_crop_box,
                           union, zoom)

SHAPE = (200, 300)  # H, W


def contains(outer, inner):
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def size(box):
    return box[2] - box[0], box[3] - box[1]


def centre(box):
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


@st.composite
def boxes(draw, shape=SHAPE, max_side=None):
    height, width = shape
    x0 = draw(st.integers(0, width - 1))
    y0 = draw(st.integers(0, height - 1))
    x1 = draw(st.integers(x0 + 1, width if max_side is None else min(width, x0 + max_side)))
    y1 = draw(st.integers(y0 + 1, height if max_side is None else min(height, y0 + max_side)))
    return x0, y0, x1, y1


# --- mask_bbox -------------------------------------------------------------------------

def test_mask_bbox_of_an_empty_mask_is_none():
    assert mask_bbox(np.zeros((10, 12), dtype=bool)) is None


def test_mask_bbox_is_end_exclusive_x0_y0_x1_y1():
    mask = np.zeros((10, 12), dtype=bool)
    mask[3, 5] = True
    assert mask_bbox(mask) == (5, 3, 6, 4)
    mask[7, 1] = True
    assert mask_bbox(mask) == (1, 3, 6, 8)


@given(st.lists(st.tuples(st.integers(0, 19), st.integers(0, 29)), min_size=1, max_size=20))
def test_mask_bbox_is_the_tightest_box_around_the_true_pixels(pixels):
    mask = np.zeros((20, 30), dtype=bool)
    for r, c in pixels:
        mask[r, c] = True
    rows, cols = zip(*pixels)
    assert mask_bbox(mask) == (min(cols), min(rows), max(cols) + 1, max(rows) + 1)
    assert all(isinstance(v, int) for v in mask_bbox(mask))


# --- Target Crop -----------------------------------------------------------------------

def test_target_crop_is_the_whole_image_while_the_previous_mask_is_empty():
    assert target_crop_box(None, (10, 10, 11, 11), SHAPE) == (0, 0, 300, 200)


def test_target_crop_covers_previous_mask_and_interaction_expanded_about_1_4_times():
    prev, click = (100, 60, 160, 120), (190, 90, 191, 91)
    target = target_crop_box(prev, click, SHAPE)
    joint = union(prev, click)                                 # (100, 60, 191, 120): 91 x 60
    assert contains(target, joint)
    width, height = size(target)
    assert abs(width - 1.4 * 91) <= 2 and abs(height - 1.4 * 60) <= 2
    assert abs(centre(target)[0] - centre(joint)[0]) <= 1 and abs(centre(target)[1] - centre(joint)[1]) <= 1


def test_target_crop_expansion_ratio_is_configurable():
    target = target_crop_box((100, 50, 200, 150), (150, 100, 151, 101), SHAPE, expansion=1.0, min_size=1)
    assert target == (100, 50, 200, 150)


def test_target_crop_is_at_least_min_size_on_each_side():
    target = target_crop_box((150, 100, 152, 101), (151, 100, 152, 101), SHAPE, min_size=40)
    assert size(target)[0] >= 40 and size(target)[1] >= 40


def test_target_crop_is_clamped_to_the_image():
    target = target_crop_box((0, 0, 100, 80), (290, 190, 291, 191), SHAPE)
    assert target == (0, 0, 300, 200)
    corner = target_crop_box((0, 0, 30, 30), (5, 5, 6, 6), SHAPE)
    assert corner[:2] == (0, 0) and contains(corner, (0, 0, 30, 30))


@given(boxes(), boxes(max_side=3), st.floats(1.0, 3.0))
def test_target_crop_always_lies_in_the_image_and_covers_mask_and_interaction(prev, interaction, expansion):
    target = target_crop_box(prev, interaction, SHAPE, expansion=expansion)
    assert contains((0, 0, SHAPE[1], SHAPE[0]), target)
    assert contains(target, union(prev, interaction))
    assert target[2] > target[0] and target[3] > target[1]


def test_a_target_grows_by_its_own_size_past_each_inner_edge_a_change_reaches():
    inside = np.zeros((40, 50), bool)
    inside[10:20, 30:50] = True     # reaches the right edge only
    assert grown_past_edges((100, 100, 150, 140), inside, (400, 400)) == (100, 100, 200, 140)
    inside[0, 5] = True             # and the top edge
    assert grown_past_edges((100, 100, 150, 140), inside, (400, 400)) == (100, 60, 200, 140)


def test_a_target_grown_past_its_edges_stays_in_the_image():
    inside = np.ones((40, 50), bool)
    assert grown_past_edges((10, 20, 60, 60), inside, (70, 80)) == (0, 0, 80, 70)


def test_a_target_does_not_grow_where_the_change_meets_only_the_image_border_or_no_edge():
    inside = np.zeros((40, 50), bool)
    inside[5:35, 5:45] = True
    assert grown_past_edges((100, 100, 150, 140), inside, (400, 400)) is None
    assert grown_past_edges((0, 0, 50, 40), np.ones((40, 50), bool), (40, 50)) is None


def test_extent_box_covers_the_pixels_an_interaction_touches():
    assert extent_box((10.5, 20.25, 10.5, 20.25), SHAPE) == (10, 20, 11, 21)    # a click
    assert extent_box((0.0, 0.0, 0.0, 0.0), SHAPE) == (0, 0, 1, 1)
    box = extent_box((3.2, 4.7, 50.0, 60.5), SHAPE)
    assert box[:2] == (3, 4) and box[2] >= 50 and box[3] == 61
    assert extent_box((290.0, 190.0, 300.0, 200.0), SHAPE)[2:] == (300, 200)  # clamped


def test_expand_scales_about_the_centre_and_clamps():
    assert expand((40, 40, 60, 60), 2.0, SHAPE) == (30, 30, 70, 70)
    assert expand((0, 0, 20, 20), 2.0, SHAPE) == (0, 0, 30, 30)
    assert expand((50, 50, 51, 51), 1.0, SHAPE, min_size=10) == (45, 45, 56, 56)


def test_union_ignores_a_missing_box():
    assert union(None, (1, 2, 3, 4)) == (1, 2, 3, 4)
    assert union((1, 2, 3, 4), None) == (1, 2, 3, 4)
    assert union((1, 2, 3, 4), (0, 5, 2, 9)) == (0, 2, 3, 9)


# --- Focus Crop ------------------------------------------------------------------------

TARGET = (40, 20, 260, 180)


def test_focus_crop_is_a_square_around_the_anchor_when_the_changed_component_is_tiny():
    pred = (50, 50, 150, 150)                                   # object 100 px: half side 20
    focus = focus_crop_box((120, 100, 123, 103), pred, (121.5, 101.5), TARGET, SHAPE, expansion=1.4)
    width, height = size(focus)
    assert abs(width - 2 * 20 * 1.4) <= 3 and abs(height - 2 * 20 * 1.4) <= 3
    assert abs(centre(focus)[0] - 121.5) <= 1 and abs(centre(focus)[1] - 101.5) <= 1


def test_focus_crop_is_the_anchor_square_when_nothing_changed():
    focus = focus_crop_box(None, (50, 50, 150, 150), (100.0, 90.0), TARGET, SHAPE, expansion=1.0)
    assert focus == (80, 70, 120, 110)


def test_focus_crop_square_has_a_minimum_half_side_of_8_pixels():
    focus = focus_crop_box(None, (100, 100, 110, 110), (105.0, 105.0), TARGET, SHAPE, expansion=1.0)
    assert focus == (97, 97, 113, 113)


def test_focus_crop_is_the_changed_component_expanded_when_it_is_large():
    pred = (50, 50, 150, 150)
    focus = focus_crop_box((60, 60, 140, 100), pred, (100.0, 80.0), TARGET, SHAPE, expansion=1.4)
    assert contains(focus, (60, 60, 140, 100))
    assert abs(size(focus)[0] - 1.4 * 80) <= 2 and abs(size(focus)[1] - 1.4 * 40) <= 2


def test_focus_crop_is_thin_on_the_tiny_axis_only_through_the_anchor_square():
    # wide but flat changed component (under a third of the object's height): anchor square
    focus = focus_crop_box((50, 90, 150, 95), (50, 50, 150, 150), (100.0, 92.0), TARGET, SHAPE, expansion=1.0)
    assert focus == (80, 72, 120, 112)


def test_focus_crop_stays_inside_the_target_crop():
    focus = focus_crop_box((30, 10, 280, 190), (30, 10, 280, 190), (150.0, 100.0), TARGET, SHAPE)
    assert focus == TARGET
    near_edge = focus_crop_box(None, (40, 20, 140, 120), (41.0, 21.0), TARGET, SHAPE)
    assert contains(TARGET, near_edge) and near_edge[:2] == (40, 20)


def test_focus_crop_falls_back_to_the_target_when_it_would_not_overlap_it():
    focus = focus_crop_box((0, 0, 10, 10), (0, 0, 10, 10), (5.0, 5.0), (100, 100, 200, 200), SHAPE, 1.0)
    assert focus == (100, 100, 200, 200)


@given(st.one_of(st.none(), boxes()), st.one_of(st.none(), boxes()), st.floats(0, 299.99),
       st.floats(0, 199.99), boxes(), st.floats(1.0, 2.5))
def test_focus_crop_is_always_a_non_empty_box_inside_the_target(component, pred, ax, ay, target, expansion):
    focus = focus_crop_box(component, pred, (ax, ay), target, SHAPE, expansion)
    assert contains(target, focus)
    assert focus[2] > focus[0] and focus[3] > focus[1]


# --- Crop and zoom ---------------------------------------------------------------------

def test_zoom_makes_the_longer_side_max_side_and_keeps_the_aspect():
    crop = zoom((10, 20, 110, 70), 400)
    assert (crop.width, crop.height) == (400, 200) and crop.box == (10, 20, 110, 70)
    assert crop.scale == (4.0, 4.0)
    tall = zoom((0, 0, 30, 90), 45)
    assert (tall.width, tall.height) == (15, 45)


def test_zoom_never_gives_an_empty_raster():
    crop = zoom((0, 0, 1000, 1), 100)
    assert crop.width == 100 and crop.height >= 1


def test_to_raster_maps_image_points_into_the_zoomed_raster():
    crop = Crop((20, 10, 60, 30), 160, 80)
    assert crop.to_raster(20.0, 10.0) == (0.0, 0.0)
    assert crop.to_raster(30.5, 15.25) == (42.0, 21.0)
    assert crop.to_raster(60.0, 30.0) == (160.0, 80.0)


def test_take_cuts_the_region_out_at_native_size():
    image = np.arange(20 * 30 * 3, dtype=np.uint8).reshape(20, 30, 3)
    crop = Crop((5, 2, 25, 12), 20, 10)
    assert np.array_equal(crop.take(image), image[2:12, 5:25])


def test_take_resizes_boolean_masks_without_inventing_values():
    mask = np.zeros((20, 30), dtype=bool)
    mask[5:10, 10:20] = True
    taken = Crop((0, 0, 30, 20), 90, 60).take(mask)
    assert taken.dtype == bool and taken.shape == (60, 90)
    assert np.array_equal(taken, np.repeat(np.repeat(mask, 3, axis=0), 3, axis=1))


def test_take_then_give_back_round_trips_at_native_size():
    values = np.random.default_rng(0).random((20, 30)).astype(np.float32)
    crop = Crop((5, 2, 25, 12), 20, 10)
    assert np.array_equal(crop.give_back(crop.take(values)), values[2:12, 5:25])


@pytest.mark.parametrize("factor", [2, 4])
def test_take_then_give_back_round_trips_through_an_integer_zoom(factor):
    values = np.random.default_rng(1).random((20, 30)).astype(np.float32)
    crop = Crop((6, 4, 26, 14), 20 * factor, 10 * factor)
    zoomed = crop.take(values, interpolation=0)                 # nearest: blocks of factor x factor
    assert zoomed.shape == (10 * factor, 20 * factor)
    back = crop.give_back(zoomed)
    assert back.shape == (10, 20)
    np.testing.assert_allclose(back, values[4:14, 6:26], atol=1e-6)


def test_take_then_give_back_approximately_round_trips_a_smooth_map_through_any_zoom():
    yy, xx = np.mgrid[0:60, 0:80].astype(np.float32)
    smooth = np.sin(xx / 9.0) * np.cos(yy / 7.0)
    crop = Crop((7, 5, 67, 45), 137, 91)
    back = crop.give_back(crop.take(smooth))
    assert back.shape == (40, 60)
    np.testing.assert_allclose(back, smooth[5:45, 7:67], atol=0.03)


def test_give_back_resizes_a_raster_to_the_region_size_in_image_pixels():
    crop = Crop((0, 0, 50, 25), 200, 100)
    assert crop.give_back(np.zeros((100, 200), np.float32)).shape == (25, 50)


@given(st.integers(1, 80), st.integers(1, 80), st.lists(st.tuples(st.floats(0, 1, exclude_max=True),
                                                                    st.floats(0, 1, exclude_max=True),
                                                                    st.booleans()), max_size=4),
       st.integers(0, 2**32 - 1))
def test_the_differing_box_is_the_box_of_the_pixels_where_any_pair_of_maps_differs(height, width, changes, seed):
    alpha = np.random.default_rng(seed).random((height, width), dtype=np.float32)
    mask = alpha >= 0.5
    new_alpha, new_mask = alpha.copy(), mask.copy()
    for fy, fx, in_alpha in changes:
        y, x = int(fy * height), int(fx * width)
        if in_alpha:
            new_alpha[y, x] += 1.0
        else:
            new_mask[y, x] = ~new_mask[y, x]
    expected = mask_bbox((new_alpha != alpha) | (new_mask != mask))
    assert differing_box(((new_alpha, alpha), (new_mask, mask))) == expected
