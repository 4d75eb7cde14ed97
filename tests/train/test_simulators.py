"""Each interaction simulator produces what it must: clicks, boxes, scribbles, coarse masks, crops."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from focalxl.bimap import BiMap
from focalxl.crops import Crop
from focalxl.interactions import Click
from focalxl.train import coarse_masks, scribbles
from focalxl.train.boxes import JITTER, jittered_box, tight_box
from focalxl.train.clicks import MAX_POINTS, corrective_click, disks, first_clicks
from focalxl.train.crop_simulation import focus_roi, target_crop


def _blob(height=120, width=140):
    mask = np.zeros((height, width), np.uint8)
    cv2.ellipse(mask, (70, 60), (45, 30), 20, 0, 360, 1, -1)
    cv2.rectangle(mask, (60, 60), (75, 110), 1, -1)
    return mask.astype(bool)


@pytest.mark.parametrize("seed", range(20))
def test_first_clicks_are_inside_when_positive_and_outside_when_negative(seed):
    gt = _blob()
    clicks = first_clicks(gt, np.random.default_rng(seed))
    positive, negative = clicks[:MAX_POINTS], clicks[MAX_POINTS:]
    positive, negative = positive[positive[:, 0] >= 0], negative[negative[:, 0] >= 0]
    assert 1 <= len(positive) <= MAX_POINTS and len(negative) <= MAX_POINTS
    assert gt[positive[:, 0], positive[:, 1]].all()
    assert not gt[negative[:, 0], negative[:, 1]].any()
    distance = cv2.distanceTransform(np.pad(gt.astype(np.uint8), 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    first = positive[0]
    assert distance[first[0], first[1]] > distance.max() / 1.7 and first[2] == 0


def test_click_counts_decay_like_point_eight_to_the_k():
    counts = [int((first_clicks(_blob(), np.random.default_rng(s))[:MAX_POINTS, 0] >= 0).sum()) for s in range(300)]
    share_one = np.mean(np.array(counts) == 1)
    assert share_one == pytest.approx(0.2 / (1 - 0.8 ** 24), abs=0.07)   # P(k = 0) of p ~ 0.8^k


def test_first_clicks_avoid_ignored_pixels():
    gt = _blob()
    ignore = cv2.dilate(gt.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) & ~gt
    for seed in range(10):
        clicks = first_clicks(gt, np.random.default_rng(seed), ~ignore)
        used = clicks[clicks[:, 0] >= 0]
        assert not ignore[used[:, 0], used[:, 1]].any()


def test_corrective_click_goes_to_the_bigger_error_with_the_right_polarity():
    gt = _blob()
    clicks = first_clicks(gt, np.random.default_rng(0))
    missed = np.zeros(gt.shape, np.float32)                      # predicted nothing: a positive click in gt
    assert corrective_click(clicks, gt, missed, np.random.default_rng(1), 0)
    assert clicks[MAX_POINTS - 1, 2] == 1 and gt[tuple(clicks[MAX_POINTS - 1, :2])]
    spill = np.ones(gt.shape, np.float32)                        # predicted everything: a negative click outside
    assert corrective_click(clicks, gt, spill, np.random.default_rng(2), 1)
    row, col, order = clicks[2 * MAX_POINTS - 2]
    assert order == 2 and not gt[row, col]
    assert not corrective_click(clicks, gt, gt.astype(np.float32), np.random.default_rng(3), 2)


def test_click_disks_are_the_engine_bimap_disks():
    clicks = torch.full((1, 2 * MAX_POINTS, 3), -1, dtype=torch.long)
    clicks[0, 0] = torch.tensor([10, 20, 0])
    clicks[0, MAX_POINTS] = torch.tensor([30, 5, 100])
    maps = disks(clicks, (48, 64), 5.0)[0].numpy()
    engine = BiMap.render([Click(20.5, 10.5, True), Click(5.5, 30.5, False)], Crop((0, 0, 64, 48), 64, 48), 5.0)
    np.testing.assert_array_equal(maps, engine.stacked())


@pytest.mark.parametrize("seed", range(20))
def test_jittered_boxes_stay_within_their_jitter_of_the_tight_box(seed):
    gt = _blob()
    x0, y0, x1, y1 = tight_box(gt)
    box = jittered_box(gt, np.random.default_rng(seed))
    limits = (JITTER * (x1 - x0), JITTER * (y1 - y0)) * 2
    for got, tight, limit in zip(box, (x0, y0, x1, y1), limits):
        assert abs(got - tight) <= limit + 1e-9
    assert box != (x0, y0, x1, y1)


@pytest.mark.parametrize("kind", scribbles.KINDS)
@pytest.mark.parametrize("width", [3, 5, 7])
def test_scribbles_stay_inside_the_region_at_the_asked_width(kind, width):
    region = _blob()
    raster = Crop((0, 0, region.shape[1], region.shape[0]), region.shape[1], region.shape[0])
    for seed in range(2):
        made = scribbles.simulate(region, np.random.default_rng(seed), kind=kind, width=width)
        assert made and len(made) == (2 if kind == "mixed" else 1)
        for scribble in made:
            assert scribble.width == width and scribble.positive
            drawn = BiMap.render([scribble], raster, 5.0).positive
            assert drawn.any() and not (drawn & ~region).any()
            # the drawn stroke is the centre line widened by width / 2 on each side
            centre = np.zeros(region.shape, np.uint8)
            line = np.round(np.array(scribble.points) - 0.5).astype(np.int32)
            cv2.polylines(centre, [line.reshape(-1, 1, 2)], False, 1)
            distance = cv2.distanceTransform(1 - centre, cv2.DIST_L2, 5)
            assert (distance[drawn] <= width / 2 + 1).all()
            assert drawn[distance <= width / 2 - 1].all()


def test_scribble_widths_are_drawn_from_three_to_seven():
    widths = {s.width for seed in range(60) for s in scribbles.simulate(_blob(), np.random.default_rng(seed))}
    assert widths == {3.0, 4.0, 5.0, 6.0, 7.0}


@pytest.mark.parametrize("kind", coarse_masks.PERTURBATIONS)
def test_coarse_masks_land_in_their_iou_range(kind):
    gt = _blob(240, 280)
    gt = cv2.resize(gt.astype(np.uint8), (280, 240)).astype(bool)
    for seed in range(8):
        mask, score = coarse_masks.perturb(gt, np.random.default_rng(seed), kind=kind, iou_range=(0.6, 0.9))
        assert score == pytest.approx(coarse_masks.iou(gt, mask))
        assert 0.6 <= score <= 0.9


def test_target_crop_keeps_part_of_the_object_and_focus_roi_lies_inside_the_crop():
    gt = _blob()
    image = np.zeros(gt.shape + (3,), np.uint8)
    for seed in range(20):
        crop = target_crop(image, gt, None, 64, np.random.default_rng(seed))
        assert crop.image.shape == (64, 64, 3) and crop.gt.shape == (64, 64) and crop.gt.any()
        x1, y1, x2, y2 = focus_roi(crop.gt, np.random.default_rng(seed))
        assert 0 <= x1 < x2 <= 64 and 0 <= y1 < y2 <= 64
