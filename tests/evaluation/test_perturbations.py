"""Coarse masks and superpixel defects hit their IoU targets, deterministically per seed."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from focalxl.evaluation import COARSE_LEVELS, coarse_mask, iou, superpixel_defects
from focalxl.evaluation.superpixel_defects import SUPERPIXEL_COUNTS, Superpixels, defect_regions


def blob(seed: int, shape=(96, 128)) -> np.ndarray:
    """A random union of ellipses: an object with an irregular outline."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, np.uint8)
    for _ in range(int(rng.integers(1, 4))):
        centre = (int(rng.integers(40, 88)), int(rng.integers(30, 66)))
        axes = (int(rng.integers(10, 30)), int(rng.integers(8, 24)))
        cv2.ellipse(mask, centre, axes, float(rng.integers(0, 180)), 0, 360, 1, -1)
    return mask.astype(bool)


def textured(gt: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 40, gt.shape + (3,), dtype=np.uint8)
    image[gt] = np.clip(image[gt].astype(int) + [180, 120, 60], 0, 255).astype(np.uint8)
    return image


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_every_coarse_level_lands_in_its_iou_range(seed):
    gt = blob(seed)
    for level in COARSE_LEVELS:
        rough = coarse_mask(gt, level, np.random.default_rng(seed))
        low, high = level
        assert low <= iou(gt, rough) <= high
        assert rough.any()


def test_coarse_masks_leave_ignored_pixels_out_of_the_iou():
    gt = blob(3)
    ignore = cv2.dilate(gt.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~gt
    rough = coarse_mask(gt, (0.75, 0.80), np.random.default_rng(0), ignore)
    assert 0.75 <= iou(gt, rough, ignore) <= 0.80


def test_coarse_masks_repeat_with_the_seed_and_change_with_it():
    gt = blob(1)
    a = coarse_mask(gt, (0.65, 0.70), np.random.default_rng(5))
    b = coarse_mask(gt, (0.65, 0.70), np.random.default_rng(5))
    c = coarse_mask(gt, (0.65, 0.70), np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_coarse_mask_rejects_an_empty_object_and_a_bad_level():
    with pytest.raises(ValueError, match="gt is empty"):
        coarse_mask(np.zeros((5, 5), bool), (0.5, 0.6), np.random.default_rng(0))
    with pytest.raises(ValueError, match="level"):
        coarse_mask(blob(0), (0.6, 0.5), np.random.default_rng(0))


def test_defect_regions_split_the_image_into_band_inside_and_outside():
    gt = np.zeros((60, 60), bool)
    gt[15:45, 15:45] = True
    band, inside, outside = defect_regions(gt)
    assert band[15, 30] and band[14, 30] and not band[30, 30] and not band[2, 2]
    assert inside[30, 30] and outside[2, 2]
    assert not (band & inside).any() and not (band & outside).any() and (band | inside | outside).all()
    assert band[30, 15 - 6] and not band[30, 15 - 7]     # 3 dilations by a 5x5 kernel reach 6 px out


@pytest.mark.parametrize("seed", range(6))
def test_superpixel_defects_land_between_075_and_085(seed):
    gt = blob(seed)
    image = textured(gt, seed)
    initial = superpixel_defects(image, gt, np.random.default_rng(seed))
    assert 0.75 <= iou(gt, initial) <= 0.85


def test_superpixel_defects_repeat_with_the_seed():
    gt = blob(2)
    image = textured(gt, 2)
    a = superpixel_defects(image, gt, np.random.default_rng(9))
    b = superpixel_defects(image, gt, np.random.default_rng(9))
    c = superpixel_defects(image, gt, np.random.default_rng(10))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_a_defect_toggles_exactly_one_superpixel():
    gt = blob(4)
    image = textured(gt, 4)
    superpixels = Superpixels(image)
    # any IoU below 1 is accepted: the mask after the first defect comes back
    initial = superpixel_defects(image, gt, np.random.default_rng(1), iou_range=(0.0, 0.9999),
                                 superpixels=superpixels)
    changed = initial ^ gt
    assert changed.any()
    candidates = []
    for count in SUPERPIXEL_COUNTS:
        labels = superpixels.labels(count)
        for label in np.unique(labels[changed]):
            superpixel = labels == label
            candidates += [superpixel & gt, superpixel & ~gt]
    assert any(np.array_equal(changed, candidate) for candidate in candidates)
