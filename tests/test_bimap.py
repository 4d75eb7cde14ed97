"""The bi-map: interactions rendered as hard (positive, negative) maps over a crop raster."""
import math

import numpy as np
import pytest

from focalxl import Box, Click, CoarseMask, Scribble
from focalxl.bimap import BiMap, footprint
from focalxl.crops import Crop

H, W = 120, 160
WHOLE = Crop((0, 0, W, H), W, H)                # the image itself, 1:1
ZOOMED = Crop((20, 20, 60, 60), 160, 160)      # a 40x40 region zoomed 4x


def centroid(channel):
    rows, cols = np.nonzero(channel)
    return cols.mean() + 0.5, rows.mean() + 0.5   # (u, v) of pixel centres


def stroke_width_at_column(channel, column):
    """Thickness of a horizontal stroke: its pixels in one column, which must be contiguous."""
    rows = np.flatnonzero(channel[:, column])
    assert rows.size and rows[-1] - rows[0] + 1 == rows.size, "stroke cross-section has holes"
    return rows.size


# --- clicks ----------------------------------------------------------------------------

@pytest.mark.parametrize("radius", [3.0, 5.0, 8.0, 12.5])
def test_click_renders_as_a_disk_of_the_click_radius(radius):
    bimap = BiMap.render([Click(70.3, 50.8)], WHOLE, click_radius=radius)
    area = bimap.positive.sum()
    assert abs(area - math.pi * radius ** 2) <= 0.12 * math.pi * radius ** 2 + 4
    u, v = centroid(bimap.positive)
    assert abs(u - 70.3) < 0.6 and abs(v - 50.8) < 0.6
    rows, cols = np.nonzero(bimap.positive)
    assert np.all((cols + 0.5 - 70.3) ** 2 + (rows + 0.5 - 50.8) ** 2 <= radius ** 2 + 1e-9)


def test_click_disk_radius_is_in_raster_pixels_and_centred_on_the_click_in_a_zoomed_crop():
    bimap = BiMap.render([Click(30.0, 35.0)], ZOOMED, click_radius=5.0)
    # (30, 35) in the image is (40, 60) in the 4x raster of the box starting at (20, 20)
    area = bimap.positive.sum()
    assert abs(area - math.pi * 25) <= 0.12 * math.pi * 25
    u, v = centroid(bimap.positive)
    assert abs(u - 40.0) < 0.6 and abs(v - 60.0) < 0.6


def test_click_always_marks_at_least_the_pixel_it_hits():
    bimap = BiMap.render([Click(10.2, 20.7)], WHOLE, click_radius=0.0)
    assert bimap.positive.sum() == 1 and bimap.positive[20, 10]


def test_negative_click_goes_to_the_negative_channel_only():
    bimap = BiMap.render([Click(70, 50, positive=False)], WHOLE, click_radius=5.0)
    assert bimap.negative.sum() > 50
    assert not bimap.positive.any()


def test_positive_and_negative_clicks_accumulate_on_their_own_channels():
    clicks = [Click(30, 30), Click(100, 30), Click(60, 90, positive=False)]
    bimap = BiMap.render(clicks, WHOLE, click_radius=4.0)
    assert bimap.positive[30, 30] and bimap.positive[30, 100] and not bimap.positive[90, 60]
    assert bimap.negative[90, 60] and not bimap.negative[30, 30]


def test_click_near_the_border_is_clipped_to_the_raster():
    bimap = BiMap.render([Click(0.5, 0.5)], WHOLE, click_radius=5.0)
    assert bimap.positive[0, 0]
    assert 15 < bimap.positive.sum() < math.pi * 25 / 2


@pytest.mark.parametrize("x, y", [(5.0, 40.0), (18.0, 40.0), (40.0, 5.0), (18.0, 18.0),
                                  (75.0, 40.0), (62.0, 40.0), (40.0, 75.0), (100.0, 100.0)])
def test_click_farther_than_its_radius_outside_the_crop_draws_nothing_in_it(x, y):
    # History clicks often lie outside a later, smaller crop: they must leave no mark.
    # Each point here is at least 8 raster pixels (radius 5) outside the 4x zoomed crop.
    bimap = BiMap.render([Click(x, y), Click(x, y, positive=False)], ZOOMED, click_radius=5.0)
    assert not bimap.positive.any()
    assert not bimap.negative.any()


def test_click_just_outside_the_crop_draws_only_the_part_of_its_disk_inside():
    crop = Crop((50, 50, 100, 100), 50, 50)
    bimap = BiMap.render([Click(48.0, 70.0)], crop, click_radius=5.0)   # raster u = -2
    rows, cols = np.nonzero(bimap.positive)
    assert rows.size > 0
    assert np.all(cols <= 3), "pixels away from the left edge were marked"
    assert np.all((cols + 0.5 + 2.0) ** 2 + (rows + 0.5 - 20.0) ** 2 <= 25.0)


# --- scribbles -------------------------------------------------------------------------

def test_scribble_stroke_has_no_anti_aliasing_only_zeros_and_ones():
    strokes = [Scribble([(10.3, 12.7), (140.9, 100.2), (30.1, 110.6)], width=6.5),
               Scribble([(50, 20), (52, 90)], positive=False, width=3)]
    bimap = BiMap.render(strokes, WHOLE, click_radius=5.0)
    assert set(np.unique(bimap.positive.view(np.uint8))) <= {0, 1}
    assert set(np.unique(bimap.negative.view(np.uint8))) <= {0, 1}
    assert set(np.unique(bimap.stacked())) == {0.0, 1.0}
    assert bimap.positive.sum() > 0 and bimap.negative.sum() > 0


@pytest.mark.parametrize("width", [1, 3, 5, 8, 11])
def test_scribble_stroke_is_about_as_wide_as_requested(width):
    bimap = BiMap.render([Scribble([(20, 60.0), (140, 60.0)], width=width)], WHOLE, click_radius=5.0)
    measured = stroke_width_at_column(bimap.positive, 80)
    assert abs(measured - width) <= 1, f"asked for {width} px, drew {measured} px"


def test_scribble_stroke_runs_along_its_points():
    bimap = BiMap.render([Scribble([(20, 60.0), (140, 60.0)], width=5)], WHOLE, click_radius=5.0)
    rows = np.flatnonzero(bimap.positive[:, 80])
    assert abs((rows.mean() + 0.5) - 60.0) <= 0.5
    cols = np.flatnonzero(bimap.positive.any(axis=0))
    assert cols.min() >= 20 - 4 and cols.max() <= 140 + 4
    assert bimap.positive[60, 20:140].all()


def test_scribble_width_is_in_image_pixels_and_scales_with_the_crop_zoom():
    bimap = BiMap.render([Scribble([(25, 40.0), (55, 40.0)], width=3)], ZOOMED, click_radius=5.0)
    measured = stroke_width_at_column(bimap.positive, 80)      # 3 image px at 4x = 12 raster px
    assert abs(measured - 12) <= 1


def test_diagonal_scribble_covers_about_width_times_length():
    length = math.hypot(100, 80)
    bimap = BiMap.render([Scribble([(20, 20), (120, 100)], width=6)], WHOLE, click_radius=5.0)
    assert abs(bimap.positive.sum() - 6 * length) <= 0.1 * 6 * length + math.pi * 9


def test_negative_scribble_goes_to_the_negative_channel_only():
    bimap = BiMap.render([Scribble([(20, 60), (140, 60)], positive=False)], WHOLE, click_radius=5.0)
    assert bimap.negative.any() and not bimap.positive.any()


def test_single_point_scribble_renders_as_a_disk_of_its_width():
    bimap = BiMap.render([Scribble([(60.0, 40.0)], width=10)], WHOLE, click_radius=2.0)
    assert abs(bimap.positive.sum() - math.pi * 25) <= 0.15 * math.pi * 25
    u, v = centroid(bimap.positive)
    assert abs(u - 60.0) < 0.6 and abs(v - 40.0) < 0.6


# --- boxes and coarse masks ------------------------------------------------------------

def test_box_fills_its_rectangle_on_the_positive_channel():
    bimap = BiMap.render([Box(10.0, 20.0, 30.0, 45.0)], WHOLE, click_radius=5.0)
    expected = np.zeros((H, W), dtype=bool)
    expected[20:45, 10:30] = True
    assert np.array_equal(bimap.positive, expected)
    assert not bimap.negative.any()


def test_box_fills_its_zoomed_rectangle_in_a_zoomed_crop():
    bimap = BiMap.render([Box(30.0, 25.0, 40.0, 50.0)], ZOOMED, click_radius=5.0)
    expected = np.zeros((160, 160), dtype=bool)
    expected[20:120, 40:80] = True
    assert np.array_equal(bimap.positive, expected)


def test_box_partly_outside_the_crop_is_clipped_to_it():
    bimap = BiMap.render([Box(0.0, 30.0, 40.0, 100.0)], ZOOMED, click_radius=5.0)
    expected = np.zeros((160, 160), dtype=bool)
    expected[40:160, 0:80] = True
    assert np.array_equal(bimap.positive, expected)


@pytest.mark.parametrize("corners", [(0, 0, 10, 10), (0, 30, 10, 40), (30, 0, 40, 10),
                                     (70, 30, 90, 40), (30, 70, 40, 90)])
def test_box_entirely_outside_the_crop_draws_nothing_in_it(corners):
    bimap = BiMap.render([Box(*corners)], ZOOMED, click_radius=5.0)
    assert not bimap.positive.any(), f"{bimap.positive.sum()} stray pixels at {np.argwhere(bimap.positive)[:3].tolist()}"


def test_coarse_mask_appears_on_the_positive_channel():
    mask = np.zeros((H, W), dtype=bool)
    mask[30:70, 40:100] = True
    mask[90, 5] = True
    bimap = BiMap.render([CoarseMask(mask)], WHOLE, click_radius=5.0)
    assert np.array_equal(bimap.positive, mask)
    assert not bimap.negative.any()


def test_coarse_mask_is_cut_and_zoomed_into_a_zoomed_crop():
    mask = np.zeros((H, W), dtype=bool)
    mask[30:40, 25:35] = True                          # raster rows 40:80, cols 20:60
    bimap = BiMap.render([CoarseMask(mask)], ZOOMED, click_radius=5.0)
    expected = np.zeros((160, 160), dtype=bool)
    expected[40:80, 20:60] = True
    assert np.array_equal(bimap.positive, expected)


# --- layout and footprints -------------------------------------------------------------

def test_stacked_is_float32_two_by_h_by_w_with_positive_first():
    bimap = BiMap.render([Click(30, 30), Click(100, 80, positive=False)], WHOLE, click_radius=3.0)
    stacked = bimap.stacked()
    assert stacked.shape == (2, H, W) and stacked.dtype == np.float32
    assert np.array_equal(stacked[0], bimap.positive.astype(np.float32))
    assert np.array_equal(stacked[1], bimap.negative.astype(np.float32))


def test_stacked_of_a_zoomed_crop_has_the_raster_size():
    assert BiMap.render([], Crop((0, 0, 40, 20), 100, 50), click_radius=3.0).stacked().shape == (2, 50, 100)


def test_empty_bimap_has_two_empty_channels():
    bimap = BiMap.render([], WHOLE, click_radius=5.0)
    assert not bimap.positive.any() and not bimap.negative.any()
    assert bimap.positive.dtype == bool and bimap.negative.dtype == bool


def test_rendering_something_that_is_not_an_interaction_raises_type_error():
    with pytest.raises(TypeError):
        BiMap.render([(10, 10)], WHOLE, click_radius=5.0)
    with pytest.raises(TypeError):
        footprint("click", WHOLE)


def test_click_footprint_is_the_single_pixel_it_hits():
    touch = footprint(Click(33.7, 21.2), WHOLE)
    assert touch.sum() == 1 and touch[21, 33]


def test_click_footprint_outside_the_crop_is_empty():
    assert not footprint(Click(5.0, 5.0), ZOOMED).any()
    assert not footprint(Click(100.0, 100.0), ZOOMED).any()


def test_scribble_footprint_is_its_one_pixel_centre_line():
    touch = footprint(Scribble([(20, 60.0), (140, 60.0)], width=9), WHOLE)
    assert stroke_width_at_column(touch, 80) == 1
    assert touch[:, 25:135].any(axis=0).all()


def test_box_footprint_is_its_inside():
    touch = footprint(Box(10, 20, 30, 45), WHOLE)
    assert touch.sum() == 20 * 25 and touch[20:45, 10:30].all()


def test_coarse_mask_footprint_is_its_pixels():
    mask = np.zeros((H, W), dtype=bool)
    mask[5:9, 7:11] = True
    assert np.array_equal(footprint(CoarseMask(mask), WHOLE), mask)
