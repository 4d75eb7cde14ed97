"""A box bounds the mask for the rest of the session, whenever it comes."""
from __future__ import annotations

import numpy as np

import focalxl


def _outside(shape, box: focalxl.Box) -> np.ndarray:
    outside = np.ones(shape, dtype=bool)
    outside[int(box.y0):int(np.ceil(box.y1)), int(box.x0):int(np.ceil(box.x1))] = False
    return outside


def test_a_box_after_clicks_removes_the_mask_outside_it_and_later_clicks_inside_stay_bounded(segmenter, helpers):
    scene = helpers.make_disk_scene(height=160, width=240, cx=80.0, radius=36.0)
    session = segmenter.new_session(scene.image)
    session.add(focalxl.Click(80.5, 76.5))
    session.add(focalxl.Click(200.5, 30.5))          # a stray positive click on the background
    box = focalxl.Box(30.0, 30.0, 130.0, 124.0)
    mask = session.add(box).mask
    assert not (mask & _outside(scene.shape, box)).any()
    mask = session.add(focalxl.Click(60.5, 76.5)).mask
    assert not (mask & _outside(scene.shape, box)).any()
    assert helpers.iou(mask, scene.gt) > 0.85


def test_a_positive_click_after_the_box_may_add_outside_it(segmenter, helpers):
    scene = helpers.make_disk_scene(height=160, width=240, cx=80.0, radius=36.0)
    session = segmenter.new_session(scene.image)
    box = focalxl.Box(30.0, 30.0, 100.0, 124.0)        # cuts the disk's right part off
    assert not (session.add(box).mask & _outside(scene.shape, box)).any()
    mask = session.add(focalxl.Click(110.5, 76.5)).mask
    assert mask[76, 110] and (mask & _outside(scene.shape, box)).any()
