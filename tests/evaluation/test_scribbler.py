"""The scribble generator, on regions whose scribble can be worked out by hand."""
from __future__ import annotations

import numpy as np

from focalxl.evaluation.scribbler import (Scribbler, bezier_curve, largest_error_region, longest_skeleton_path,
                                          next_scribble, smoothed)


def blank(shape=(30, 60)):
    return np.zeros(shape, dtype=bool)


def test_a_one_pixel_line_gives_a_scribble_along_its_pixel_centres():
    gt = blank()
    gt[10, 5:45] = True                         # a 40-px line: its own medial axis, no smoothing (r < 1)
    scribble = next_scribble(gt, blank())
    assert scribble.positive and scribble.width == 5.0
    # Bezier curves reproduce straight lines through evenly spaced control points exactly
    assert np.allclose(sorted(scribble.points), [(x + 0.5, 10.5) for x in range(5, 45)])


def test_a_false_positive_region_gives_a_negative_scribble():
    pred = blank()
    pred[20, 10:30] = True
    scribble = next_scribble(blank(), pred)
    assert not scribble.positive
    assert np.allclose(sorted(scribble.points), [(x + 0.5, 20.5) for x in range(10, 30)])


def test_the_largest_error_region_wins_and_a_tie_goes_to_the_false_positives():
    gt, pred = blank(), blank()
    gt[2:6, 2:8] = True                         # 24 px missed
    pred[20:25, 30:40] = True                   # 50 px spilled
    region, positive = largest_error_region(gt, pred)
    assert not positive and region.sum() == 50
    gt[2:12, 2:8] = True                        # now 60 px missed
    region, positive = largest_error_region(gt, pred)
    assert positive and region.sum() == 60
    tie_gt, tie_pred = blank(), blank()
    tie_gt[2:7, 2:7] = True
    tie_pred[20:25, 30:35] = True
    assert largest_error_region(tie_gt, tie_pred)[1] is False


def test_ignored_pixels_are_no_error():
    gt = blank()
    gt[10, 5:45] = True
    assert next_scribble(gt, blank(), ignore=gt.copy()) is None
    assert next_scribble(gt, gt.copy()) is None


def test_a_ring_loses_one_edge_and_its_longest_path_visits_every_pixel():
    ring = np.zeros((9, 9), dtype=bool)
    ring[2, 2:7] = ring[6, 2:7] = ring[2:7, 2] = ring[2:7, 6] = True     # 16 pixels, one cycle
    path = longest_skeleton_path(ring)
    assert len(path) == 16 and len({tuple(p) for p in path}) == 16
    steps = np.abs(np.diff(path, axis=0)).sum(axis=1)
    assert (steps == 1).all()                   # the cycle is cut, never jumped across diagonally


def test_the_longest_path_of_a_t_runs_along_its_two_longest_arms():
    tee = np.zeros((30, 30), dtype=bool)
    tee[5, 2:27] = True                         # bar: 12 px either side of the junction at column 14
    tee[6:25, 14] = True                        # stem: 19 px below it
    path = longest_skeleton_path(tee)
    ends = {tuple(path[0]), tuple(path[-1])}
    assert (24, 14) in ends and ends & {(5, 2), (5, 26)}


def test_tiny_skeletons_are_dropped_and_a_dot_marks_a_tiny_region():
    gt = blank()
    gt[10:12, 5:7] = True                       # 2x2: a skeleton of fewer than 4 pixels
    scribble = next_scribble(gt, blank())
    assert scribble.points == ((5.5, 10.5),)    # first interior-most pixel in raster order


def test_bezier_curve_keeps_the_end_points_and_lies_in_the_control_points_hull():
    control = np.array([[0.0, 0.0], [10.0, 20.0], [20.0, 0.0]])
    curve = bezier_curve(control, samples=5)
    assert np.allclose(curve[0], control[0]) and np.allclose(curve[-1], control[-1])
    assert np.allclose(curve[2], [10.0, 10.0])  # B(1/2) = (P0 + 2 P1 + P2) / 4
    long_path = np.stack([np.arange(1500.0), np.zeros(1500)], axis=1)
    assert np.isfinite(bezier_curve(long_path)).all()


def test_smoothing_removes_spurs_but_never_erases_the_region():
    region = blank((80, 80))
    region[10:70, 10:70] = True
    region[38:41, 70:78] = True                 # a thin spur
    opened = smoothed(region)
    assert opened[40, 40] and not opened[39, 75]
    thin = blank((80, 80))
    thin[40, 5:75] = True
    assert np.array_equal(smoothed(thin), thin)


def test_a_square_gets_a_positive_stroke_through_its_middle_and_inside_it():
    gt = blank((60, 60))
    gt[10:50, 10:50] = True
    scribble = next_scribble(gt, blank((60, 60)))
    points = np.array(scribble.points)
    assert scribble.positive and len(points) > 10
    assert (points >= 10).all() and (points <= 50).all()
    assert np.linalg.norm(points[len(points) // 2] - 30.0) < 3.0
    assert np.linalg.norm(points[0] - points[-1]) > 20.0


def test_scribbler_remembers_its_scribbles_and_repeats_deterministically():
    gt = blank((60, 60))
    gt[10:50, 10:40] = True
    first, second = Scribbler(gt), Scribbler(gt)
    a, b = first.next(blank((60, 60))), second.next(blank((60, 60)))
    assert a == b and first.scribbles == [a]
