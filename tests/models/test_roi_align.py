"""RoIAlign against a per-bin loop written from the published algorithm (Mask R-CNN /
torchvision's CPU kernel): every bin averages a lattice of bilinear samples."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from focalxl.models.roi_align import roi_align


def _bilinear(plane: np.ndarray, y: float, x: float) -> float:
    height, width = plane.shape
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_low = y_high = height - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_low = x_high = width - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1 - ly, 1 - lx
    return (hy * hx * plane[y_low, x_low] + hy * lx * plane[y_low, x_high]
            + ly * hx * plane[y_high, x_low] + ly * lx * plane[y_high, x_high])


def reference_roi_align(features, boxes, output_size, spatial_scale, sampling_ratio, aligned):
    out_h, out_w = output_size
    result = np.zeros((len(boxes), features.shape[1], out_h, out_w))
    offset = 0.5 if aligned else 0.0
    for k, (b, x1, y1, x2, y2) in enumerate(boxes):
        start_x, start_y = x1 * spatial_scale - offset, y1 * spatial_scale - offset
        roi_w, roi_h = x2 * spatial_scale - offset - start_x, y2 * spatial_scale - offset - start_y
        if not aligned:
            roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
        bin_h, bin_w = roi_h / out_h, roi_w / out_w
        grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / out_h)
        grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / out_w)
        count = max(grid_h * grid_w, 1)
        for c in range(features.shape[1]):
            plane = features[int(b), c]
            for ph in range(out_h):
                for pw in range(out_w):
                    total = 0.0
                    for iy in range(grid_h):
                        y = start_y + ph * bin_h + (iy + 0.5) * bin_h / grid_h
                        for ix in range(grid_w):
                            x = start_x + pw * bin_w + (ix + 0.5) * bin_w / grid_w
                            total += _bilinear(plane, y, x)
                    result[k, c, ph, pw] = total / count
    return result


def _compare(features, boxes, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False):
    ours = roi_align(torch.from_numpy(features), torch.tensor(boxes, dtype=torch.float32), output_size,
                     spatial_scale, sampling_ratio, aligned).numpy()
    expected = reference_roi_align(features, boxes, output_size, spatial_scale, sampling_ratio, aligned)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling_ratio", [-1, 2])
def test_matches_reference_on_boxes_inside_outside_and_across_the_border(aligned, sampling_ratio):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(2, 3, 9, 11)).astype(np.float32)
    boxes = [(0, 1.0, 1.0, 6.5, 7.0), (1, -3.0, -2.0, 4.0, 3.0), (0, 8.0, 5.0, 14.0, 12.0),
             (1, 2.2, 3.3, 2.4, 3.5), (0, -5.0, -5.0, -2.0, -2.0)]
    _compare(features, boxes, (4, 3), 1.0, sampling_ratio, aligned)


def test_spatial_scale_maps_image_boxes_onto_a_strided_feature_map():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(1, 2, 16, 16)).astype(np.float32)
    _compare(features, [(0, 13.0, 40.0, 200.0, 250.0)], (16, 16), spatial_scale=1 / 16, aligned=True)


@settings(max_examples=25, deadline=None)
@given(x1=st.floats(-4, 12), y1=st.floats(-4, 12), w=st.floats(0.1, 10), h=st.floats(0.1, 10),
       out=st.tuples(st.integers(1, 4), st.integers(1, 4)), aligned=st.booleans(),
       sampling_ratio=st.integers(-1, 3), scale=st.sampled_from([0.5, 1.0, 2.0]))
def test_any_box_matches_reference(x1, y1, w, h, out, aligned, sampling_ratio, scale):
    features = np.random.default_rng(2).normal(size=(1, 2, 7, 8)).astype(np.float32)
    _compare(features, [(0, x1, y1, x1 + w, y1 + h)], out, scale, sampling_ratio, aligned)


def test_whole_map_with_aligned_boxes_is_an_area_average_of_constant_features():
    features = torch.full((1, 4, 8, 8), 3.0)
    pooled = roi_align(features, torch.tensor([[0, 0.0, 0.0, 8.0, 8.0]]), (4, 4), aligned=True)
    torch.testing.assert_close(pooled, torch.full((1, 4, 4, 4), 3.0))


def test_bad_shapes_are_refused_with_the_field_named():
    with pytest.raises(ValueError, match="boxes"):
        roi_align(torch.zeros(1, 1, 4, 4), torch.zeros(2, 4), (2, 2))
    with pytest.raises(ValueError, match="features"):
        roi_align(torch.zeros(1, 4, 4), torch.zeros(2, 5), (2, 2))


@pytest.mark.parametrize("box", [(0, 0.0, 0.0, 12.0, 10.0), (0, 2.5, 1.25, 9.0, 7.5), (0, -1.5, 3.0, 13.5, 11.0)])
def test_regions_no_larger_than_the_output_grid_take_one_sample_per_bin_as_the_reference_does(box):
    features = np.random.default_rng(3).normal(size=(1, 3, 10, 12)).astype(np.float32)
    _compare(features, [box], (10, 12), 1.0, -1, aligned=True)         # FocalClick's Refiner: one sample per bin
    _compare(features, [box], (5, 6), 0.5, -1, aligned=True)           # its feature, at stride 2
