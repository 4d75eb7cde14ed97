"""The classical preset's first click and degenerate prompts."""
from __future__ import annotations

import time

import numpy as np
import pytest

import focalxl


def test_a_first_click_selects_the_whole_object_not_a_disk(segmenter, helpers):
    scene = helpers.make_disk_scene(height=240, width=320, cx=150.0, cy=120.0, radius=60.0)
    mask = segmenter.new_session(scene.image).add(focalxl.Click(150.5, 120.5)).mask
    assert helpers.iou(mask, scene.gt) > 0.85


def test_a_first_click_on_a_small_object_stays_on_it(segmenter, helpers):
    scene = helpers.make_disk_scene(height=300, width=400, cx=120.0, cy=90.0, radius=12.0)
    mask = segmenter.new_session(scene.image).add(focalxl.Click(120.5, 90.5)).mask
    assert helpers.iou(mask, scene.gt) > 0.6


def test_moving_the_first_click_by_one_pixel_barely_changes_the_mask(segmenter, helpers):
    scene = helpers.make_disk_scene(height=240, width=320, cx=150.0, cy=120.0, radius=50.0)
    masks = [segmenter.new_session(scene.image).add(focalxl.Click(x, y)).mask
             for x, y in ((140.5, 110.5), (141.5, 110.5), (140.5, 111.5))]
    assert all(helpers.iou(masks[0], other) > 0.9 for other in masks[1:])


@pytest.mark.parametrize("side", [8, 33, 64])
def test_a_click_on_a_small_flat_image_is_fast_and_selects_it(segmenter, side):
    image = np.full((side, side, 3), 128, np.uint8)
    start = time.process_time()
    mask = segmenter.new_session(image).add(focalxl.Click(side / 2, side / 2)).mask
    assert time.process_time() - start < 2.0
    assert mask.mean() > 0.9


def test_a_click_on_a_one_pixel_object_gives_a_small_mask_around_it(segmenter):
    rng = np.random.default_rng(0)
    image = rng.integers(90, 110, size=(120, 160, 3), dtype=np.uint8)
    image[60, 80] = (255, 0, 0)
    mask = segmenter.new_session(image).add(focalxl.Click(80.5, 60.5)).mask
    assert mask[60, 80] and mask.mean() < 0.05


def test_a_two_pixel_box_gives_a_mask_inside_it(segmenter, scene):
    box = focalxl.Box(79.0, 75.0, 81.0, 77.0)
    mask = segmenter.new_session(scene.image).add(box).mask
    assert mask.any() and not mask[:75].any() and not mask[77:].any()
    assert not mask[:, :79].any() and not mask[:, 81:].any()




def test_the_first_click_gives_the_same_mask_whatever_opencvs_thread_count(helpers):
    import cv2

    scene = helpers.make_disk_scene(height=240, width=320, cx=150.0, cy=120.0, radius=50.0, seed=3)
    before = cv2.getNumThreads()
    try:
        masks = []
        for threads in (1, 4):
            segmenter = focalxl.load("classical", threads=threads)
            masks.append(segmenter.new_session(scene.image).add(focalxl.Click(140.5, 110.5)).mask)
    finally:
        cv2.setNumThreads(before)
    assert np.array_equal(masks[0], masks[1])
