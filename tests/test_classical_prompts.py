"""The classical preset on one-shot prompts: a coarse mask and a box in a fresh session."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

import focalxl

BAND = 0.06     # the classical preset's first band half-width, as a fraction of sqrt(mask area)


def _disk_kernel(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _eroded(mask: np.ndarray, radius: int) -> np.ndarray:
    return cv2.erode(mask.astype(np.uint8), _disk_kernel(radius)).astype(bool)


def _dilated(mask: np.ndarray, radius: int) -> np.ndarray:
    return cv2.dilate(mask.astype(np.uint8), _disk_kernel(radius)).astype(bool)


def _band_reach(mask: np.ndarray) -> int:
    """How far, in image pixels, a refinement may move the outline: the band plus a pixel of rounding."""
    return math.ceil(BAND * math.sqrt(mask.sum())) + 1


@pytest.mark.parametrize("change", ["eroded", "dilated"])
def test_a_coarse_mask_one_step_off_the_object_is_refined_towards_it_and_stays_inside_its_band(
        segmenter, scene, helpers, change):
    coarse = _eroded(scene.gt, 3) if change == "eroded" else _dilated(scene.gt, 3)
    mask = segmenter.new_session(scene.image).add(focalxl.CoarseMask(coarse)).mask
    assert helpers.iou(mask, scene.gt) > helpers.iou(coarse, scene.gt) + 0.03
    reach = _band_reach(coarse)
    assert not (mask & ~_dilated(coarse, reach)).any(), "the refined mask spills beyond the band"
    assert _eroded(coarse, reach)[~mask].sum() == 0, "the refined mask gives up the mask's core"


def test_an_exact_coarse_mask_is_not_made_worse(segmenter, scene, helpers):
    mask = segmenter.new_session(scene.image).add(focalxl.CoarseMask(scene.gt)).mask
    assert helpers.iou(mask, scene.gt) >= 0.97


def test_a_coarse_mask_does_not_spread_along_a_same_coloured_region_attached_to_it(segmenter, scene, helpers):
    stick = np.zeros(scene.shape, dtype=bool)
    stick[70:84, int(scene.cx):] = True         # the object's colour runs on to the image border
    image = scene.image.copy()
    image[stick] = scene.image[scene.gt].mean(axis=0).astype(np.uint8)
    mask = segmenter.new_session(image).add(focalxl.CoarseMask(scene.gt)).mask
    assert not (mask & ~_dilated(scene.gt, _band_reach(scene.gt))).any()
    assert helpers.iou(mask, scene.gt) > 0.9


def test_a_thin_part_of_a_coarse_mask_is_kept(segmenter, helpers):
    scene = helpers.make_disk_scene(height=160, width=240, cx=80.0, radius=36.0)
    bar = np.zeros(scene.gt.shape, dtype=bool)
    bar[74:80, 110:220] = True          # a red stick, 6 px thick, narrower than twice the band
    image = scene.image.copy()
    image[bar] = scene.image[scene.gt].mean(axis=0).astype(np.uint8)
    gt = scene.gt | bar
    mask = segmenter.new_session(image).add(focalxl.CoarseMask(gt)).mask
    assert mask[bar].mean() > 0.9
    assert helpers.iou(mask, gt) >= 0.95


def test_a_box_keeps_a_thin_part_of_the_object_in_a_large_image(segmenter, helpers):
    scene = helpers.make_disk_scene(height=480, width=640, cx=240.0, cy=240.0, radius=100.0)
    stick = np.zeros(scene.shape, dtype=bool)
    stick[236:244, 330:600] = True      # 8 px thick: 2.5 px if the image were shrunk to 200 px
    image = scene.image.copy()
    image[stick] = scene.image[scene.gt].mean(axis=0).astype(np.uint8)
    gt = scene.gt | stick
    rows, cols = np.nonzero(gt)
    box = focalxl.Box(float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1))
    mask = segmenter.new_session(image).add(box).mask
    assert mask[stick].mean() > 0.9
    assert helpers.iou(mask, gt) > 0.95


@pytest.mark.parametrize("cx, cy", [(80.0, 76.0), (48.0, 110.0)])
def test_a_tight_box_segments_the_object_and_nothing_outside_it(segmenter, helpers, cx, cy):
    scene = helpers.make_disk_scene(cx=cx, cy=cy, radius=30.0)
    rows, cols = np.nonzero(scene.gt)
    box = focalxl.Box(float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1))
    mask = segmenter.new_session(scene.image).add(box).mask
    assert helpers.iou(mask, scene.gt) > 0.9
    outside = np.ones(scene.shape, dtype=bool)
    outside[rows.min():rows.max() + 1, cols.min():cols.max() + 1] = False
    assert not (mask & outside).any()
