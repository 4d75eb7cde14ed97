"""Interactions: clicks, boxes, scribbles and coarse masks in image pixels.

Bad input is refused with a ValueError that names the offending field, at
construction for malformed values and at ``validate(shape)`` for values that do not
fit the image.
"""
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from focalxl import Box, Click, CoarseMask, Scribble
from focalxl.interactions import LARGEST

SHAPE = (50, 80)  # H, W
NOT_NUMBERS = [float("nan"), float("inf"), -math.inf, "3", None, True, False, [1.0], 10 ** 400, -10 ** 400, 1e308,
               -2.0 ** 31 - 1, np.float64("nan"), np.bool_(True), 1j, np.array(1.0), {"x": 1}]


# --- Click -----------------------------------------------------------------------------

@pytest.mark.parametrize("bad", NOT_NUMBERS)
def test_click_x_that_is_not_a_finite_number_raises_value_error_naming_click_x(bad):
    with pytest.raises(ValueError, match=r"click\.x"):
        Click(x=bad, y=3.0)


@pytest.mark.parametrize("bad", NOT_NUMBERS)
def test_click_y_that_is_not_a_finite_number_raises_value_error_naming_click_y(bad):
    with pytest.raises(ValueError, match=r"click\.y"):
        Click(x=3.0, y=bad)


@pytest.mark.parametrize("bad", [1, 0, "yes", None])
def test_click_polarity_that_is_not_a_bool_raises_value_error_naming_click_positive(bad):
    with pytest.raises(ValueError, match=r"click\.positive"):
        Click(1.0, 2.0, positive=bad)


def test_click_accepts_numpy_numbers_and_stores_python_floats():
    click = Click(np.int64(3), np.float32(4.5), positive=np.bool_(False))
    assert (click.x, click.y) == (3.0, 4.5)
    assert type(click.x) is float and type(click.y) is float
    assert not click.positive


@pytest.mark.parametrize("x, y", [(-0.01, 10), (80, 10), (80.5, 10), (10, -1), (10, 50), (1e9, 1e9)])
def test_click_outside_the_image_raises_value_error_naming_click(x, y):
    with pytest.raises(ValueError, match=r"click.*outside"):
        Click(x, y).validate(SHAPE)


@pytest.mark.parametrize("x, y", [(0, 0), (79.999, 49.999), (40.5, 25.25)])
def test_click_anywhere_inside_the_image_including_the_edges_is_valid(x, y):
    Click(x, y).validate(SHAPE)


def test_click_extent_is_the_click_point():
    assert Click(3.5, 7.25).extent() == (3.5, 7.25, 3.5, 7.25)


def test_click_is_a_click_kind_and_defaults_to_positive():
    assert Click(1, 1).kind == "click"
    assert Click(1, 1).positive is True


# --- Box -------------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["x0", "y0", "x1", "y1"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "1", True, None])
def test_box_corner_that_is_not_a_finite_number_raises_value_error_naming_it(field, bad):
    coords = dict(x0=1.0, y0=2.0, x1=30.0, y1=40.0)
    coords[field] = bad
    with pytest.raises(ValueError, match=rf"box\.{field}"):
        Box(**coords)


def test_box_corners_are_normalised_so_x0_y0_is_the_top_left():
    box = Box(30.0, 40.0, 10.0, 5.0)
    assert (box.x0, box.y0, box.x1, box.y1) == (10.0, 5.0, 30.0, 40.0)
    assert box == Box(10, 5, 30, 40)


def test_box_with_mixed_corner_order_is_normalised_per_axis():
    box = Box(30.0, 5.0, 10.0, 40.0)
    assert (box.x0, box.y0, box.x1, box.y1) == (10.0, 5.0, 30.0, 40.0)


@pytest.mark.parametrize("corners", [(-1, 0, 10, 10), (0, -0.5, 10, 10), (0, 0, 80.5, 10), (0, 0, 10, 51),
                                     (100, 100, 120, 120)])
def test_box_reaching_outside_the_image_raises_value_error_naming_box(corners):
    with pytest.raises(ValueError, match=r"box.*outside"):
        Box(*corners).validate(SHAPE)


def test_box_covering_exactly_the_whole_image_is_valid():
    Box(0, 0, 80, 50).validate(SHAPE)


@pytest.mark.parametrize("corners", [(10, 10, 10, 30), (10, 10, 30, 10.5), (5, 5, 5.9, 5.9)])
def test_box_thinner_than_one_pixel_raises_value_error_naming_box(corners):
    with pytest.raises(ValueError, match=r"box"):
        Box(*corners).validate(SHAPE)


def test_box_is_positive_and_its_extent_is_its_corners():
    box = Box(1, 2, 30, 40)
    assert box.positive is True and box.kind == "box"
    assert box.extent() == (1.0, 2.0, 30.0, 40.0)


# --- Scribble --------------------------------------------------------------------------

def test_scribble_without_points_raises_value_error_naming_scribble_points():
    with pytest.raises(ValueError, match=r"scribble\.points"):
        Scribble([])


def test_scribble_points_that_are_not_a_sequence_raise_value_error_naming_scribble_points():
    with pytest.raises(ValueError, match=r"scribble\.points"):
        Scribble(5)


@pytest.mark.parametrize("bad_point", [(1.0,), (1.0, 2.0, 3.0), 7, "ab"])
def test_scribble_point_that_is_not_an_xy_pair_raises_value_error_naming_its_index(bad_point):
    with pytest.raises(ValueError, match=r"scribble\.points\[1\]"):
        Scribble([(0.0, 0.0), bad_point])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "2", True])
def test_scribble_coordinate_that_is_not_a_finite_number_names_point_index_and_axis(bad):
    with pytest.raises(ValueError, match=r"scribble\.points\[2\]\.y"):
        Scribble([(1, 1), (2, 2), (3, bad)])
    with pytest.raises(ValueError, match=r"scribble\.points\[0\]\.x"):
        Scribble([(bad, 1), (2, 2)])


@pytest.mark.parametrize("width", [0, -1, -0.5])
def test_scribble_with_non_positive_width_raises_value_error_naming_scribble_width(width):
    with pytest.raises(ValueError, match=r"scribble\.width"):
        Scribble([(1, 1), (5, 5)], width=width)


@pytest.mark.parametrize("width", [float("nan"), float("inf"), "5", None])
def test_scribble_with_non_numeric_width_raises_value_error_naming_scribble_width(width):
    with pytest.raises(ValueError, match=r"scribble\.width"):
        Scribble([(1, 1), (5, 5)], width=width)


def test_scribble_polarity_that_is_not_a_bool_raises_value_error_naming_scribble_positive():
    with pytest.raises(ValueError, match=r"scribble\.positive"):
        Scribble([(1, 1)], positive=1)


def test_scribble_point_outside_the_image_raises_value_error_naming_its_index():
    scribble = Scribble([(1, 1), (2, 2), (3, 50), (4, 4)])
    with pytest.raises(ValueError, match=r"scribble\.points\[2\].*outside"):
        scribble.validate(SHAPE)


def test_scribble_points_are_stored_as_a_tuple_of_float_pairs_from_any_sequence():
    scribble = Scribble(np.array([[1, 2], [3, 4]]), width=np.int32(3))
    assert scribble.points == ((1.0, 2.0), (3.0, 4.0))
    assert scribble.width == 3.0
    assert scribble.extent() == (1.0, 2.0, 3.0, 4.0)


def test_scribble_extent_is_the_bounding_box_of_its_points():
    assert Scribble([(5, 9), (1, 20), (7, 3)]).extent() == (1.0, 3.0, 7.0, 20.0)


# --- CoarseMask ------------------------------------------------------------------------

def test_empty_coarse_mask_raises_value_error_saying_it_is_empty():
    with pytest.raises(ValueError, match=r"mask.*empty"):
        CoarseMask(np.zeros(SHAPE, dtype=bool)).validate(SHAPE)


def test_coarse_mask_of_the_wrong_shape_raises_value_error_naming_mask_shape():
    mask = np.ones((SHAPE[1], SHAPE[0]), dtype=bool)
    with pytest.raises(ValueError, match=r"mask shape"):
        CoarseMask(mask).validate(SHAPE)


@pytest.mark.parametrize("shape", [(5,), (5, 5, 1), ()])
def test_coarse_mask_that_is_not_2d_raises_value_error_naming_mask(shape):
    with pytest.raises(ValueError, match=r"mask"):
        CoarseMask(np.ones(shape, dtype=bool))


def test_coarse_mask_of_strings_raises_value_error_naming_mask():
    with pytest.raises(ValueError, match=r"mask"):
        CoarseMask(np.full(SHAPE, "a"))


def test_numeric_coarse_mask_becomes_boolean_with_nonzero_as_foreground():
    raw = np.zeros(SHAPE, dtype=np.uint8)
    raw[10:20, 30:40] = 255
    raw[0, 0] = 1
    coarse = CoarseMask(raw)
    assert coarse.mask.dtype == bool
    assert coarse.mask.sum() == 101
    coarse.validate(SHAPE)


def test_coarse_mask_extent_is_its_end_exclusive_bounding_box():
    mask = np.zeros(SHAPE, dtype=bool)
    mask[10:20, 30:40] = True
    assert CoarseMask(mask).extent() == (30.0, 10.0, 40.0, 20.0)
    assert CoarseMask(mask).positive is True


def test_interactions_are_immutable():
    click = Click(1, 2)
    with pytest.raises(Exception):
        click.x = 5.0


# --- any value ---------------------------------------------------------------------------

anything = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=4),
                     st.integers(-(10 ** 500), 10 ** 500), st.complex_numbers(), st.lists(st.floats(), max_size=2),
                     st.sampled_from([np.float32("nan"), np.float64(1e300), np.int64(-5), np.uint64(2 ** 64 - 1),
                                      np.longdouble("1e4000"), np.bool_(False)]))


@given(x=anything, y=anything, width=anything)
def test_any_value_gives_an_interaction_with_sane_numbers_or_a_value_error_naming_the_field(x, y, width):
    for make, fields in [(lambda: Click(x, y), r"click\.[xy]"), (lambda: Box(x, y, 3, 4), r"box\.[xy]0"),
                         (lambda: Scribble([(x, y)], width=width), r"scribble\.(points\[0\]\.[xy]|width)")]:
        try:
            made = make()
        except ValueError as error:
            assert re.search(fields, str(error)), error
        else:
            assert all(math.isfinite(v) and abs(v) <= LARGEST for v in made.extent())


@pytest.mark.parametrize("bad, found", [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf")])
def test_a_coarse_mask_holding_nan_or_infinity_is_refused_naming_where(bad, found):
    raw = np.zeros(SHAPE, dtype=np.float32)
    raw[10:20, 30:40] = 0.9
    raw[12, 33] = bad
    with pytest.raises(ValueError, match=rf"mask must be finite: it holds {found} at row 12, column 33"):
        CoarseMask(raw)


@pytest.mark.parametrize("raw", [np.full(SHAPE, 1 + 1j), [[1, 2], [3]], [[1, None]], np.full(SHAPE, None)],
                         ids=["complex", "ragged", "none-inside", "objects"])
def test_a_coarse_mask_of_other_than_booleans_or_real_numbers_is_a_value_error_naming_mask(raw):
    with pytest.raises(ValueError, match=r"^mask"):
        CoarseMask(raw)
