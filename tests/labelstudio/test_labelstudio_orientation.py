"""EXIF orientation and image rotation: pixels as the browser shows them."""
from __future__ import annotations

import io

import numpy as np
import pytest
from focalxl.image_files import read_header
from focalxl.hosts.labelstudio.orientation import (
    apply_exif,
    normalise_rotation,
    rotate,
)
from PIL import Image, ImageOps


def image_with_orientation(pixels: np.ndarray, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", exif=exif)
    return buffer.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillows_exif_transpose(orientation):
    pixels = np.random.default_rng(orientation).integers(0, 255, (5, 8, 3), dtype=np.uint8)
    data = image_with_orientation(pixels, orientation)
    header = read_header(data)
    assert (header.width, header.height, header.orientation) == (8, 5, orientation)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
    assert np.array_equal(apply_exif(pixels, orientation), expected)


def test_rotation_is_clockwise_in_quarter_turns():
    image = np.array([[1, 2], [3, 4]])
    assert rotate(image, 90).tolist() == [[3, 1], [4, 2]]
    assert rotate(image, 270).tolist() == [[2, 4], [1, 3]]
    assert normalise_rotation(-90) == 270 and normalise_rotation(450) == 90
    with pytest.raises(ValueError, match="image_rotation must be a multiple of 90"):
        normalise_rotation(45)


def test_header_of_a_non_image_is_none():
    assert read_header(b"not an image") is None
