"""The batch codecs: CVAT mask RLE equals cvat-sdk's, COCO RLE is pycocotools'."""
from __future__ import annotations

import numpy as np
import pytest
from cvat_sdk.masks import decode_mask, encode_mask
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as mask_utils

from focalxl.formats import coco_rle, cvat_mask

masks = st.tuples(st.integers(1, 24), st.integers(1, 24)).flatmap(
    lambda hw: arrays(bool, hw, elements=st.booleans()))


@settings(max_examples=300, deadline=None)
@given(masks)
def test_cvat_rest_rle_equals_cvat_sdk_encode_mask_and_decodes_back(mask):
    points = cvat_mask.encode(mask)
    assert points == encode_mask(mask)
    assert np.array_equal(cvat_mask.decode(points, mask.shape[1], mask.shape[0]),
                          decode_mask(encode_mask(mask), image_width=mask.shape[1], image_height=mask.shape[0]))


@settings(max_examples=100, deadline=None)
@given(masks, st.data())
def test_cvat_rest_rle_over_a_given_box_equals_cvat_sdk(mask, data):
    height, width = mask.shape
    x1, y1 = data.draw(st.integers(0, width - 1)), data.draw(st.integers(0, height - 1))
    x2, y2 = data.draw(st.integers(x1 + 1, width)), data.draw(st.integers(y1 + 1, height))
    assert cvat_mask.encode(mask, [x1, y1, x2, y2]) == encode_mask(mask, bbox=[x1, y1, x2, y2])


@settings(max_examples=100, deadline=None)
@given(masks)
def test_cvat_xml_rle_holds_the_runs_of_the_tight_box(mask):
    if not mask.any():
        with pytest.raises(ValueError, match="empty mask"):
            cvat_mask.encode_xml(mask)
        return
    xml = cvat_mask.encode_xml(mask)
    points = encode_mask(mask)
    assert [int(v) for v in xml.rle.split(",")] == points[:-4]
    assert (xml.left, xml.top, xml.width, xml.height) == (points[-4], points[-3], points[-2] - points[-4] + 1,
                                                          points[-1] - points[-3] + 1)
    assert np.array_equal(cvat_mask.decode_xml(xml.rle, xml.left, xml.top, xml.width, xml.height,
                                               mask.shape[1], mask.shape[0]), mask)


@pytest.mark.parametrize("points, message", [
    ([1, 2, 3], "needs runs"),
    ([4, 0, 0, 5, 5], "outside"),
    ([3, 0, 0, 1, 1], "add up to 3"),
    ([1.5, 3, 0, 0, 1, 1], "integers"),
])
def test_cvat_rle_that_does_not_fit_is_refused(points, message):
    with pytest.raises(ValueError, match=message):
        cvat_mask.decode(points, 4, 4)


@settings(max_examples=100, deadline=None)
@given(masks)
def test_coco_rle_area_and_bbox_are_pycocotools(mask):
    rle = coco_rle.encode(mask)
    reference = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert rle["counts"].encode() == reference["counts"] and rle["size"] == list(reference["size"])
    assert coco_rle.area(rle) == int(mask.sum())
    assert coco_rle.bbox(rle) == list(mask_utils.toBbox(reference))
    assert np.array_equal(coco_rle.decode(rle), mask)


def test_coco_polygons_and_uncompressed_rle_become_compressed_rle():
    polygon = [[2.0, 2.0, 12.0, 2.0, 12.0, 8.0, 2.0, 8.0]]
    rle = coco_rle.from_segmentation(polygon, 10, 16)
    expected = mask_utils.merge(mask_utils.frPyObjects(polygon, 10, 16))
    assert rle["counts"].encode() == expected["counts"]
    uncompressed = {"size": [10, 16], "counts": [20, 5, 135]}
    assert coco_rle.decode(coco_rle.from_segmentation(uncompressed, 10, 16)).sum() == 5
    with pytest.raises(ValueError, match="size"):
        coco_rle.from_segmentation(uncompressed, 11, 16)
    with pytest.raises(ValueError, match="at least 3"):
        coco_rle.from_segmentation([[1, 2, 3, 4]], 10, 16)
