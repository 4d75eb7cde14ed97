"""The image as the browser shows it: EXIF orientation applied, then ``image_rotation``.

Label Studio's coordinates (percent of the natural size) and brush masks refer to the
image as displayed. Browsers apply the EXIF orientation tag; OpenCV's unchanged
decoding (``focalxl.image_files``) does not, so the door applies the orientation its header
reports (``focalxl.image_files.read_header``) here, then the
clockwise ``image_rotation`` of the labeling page's rotate control.
"""
from __future__ import annotations

import numpy as np


def apply_exif(image: np.ndarray, orientation: int) -> np.ndarray:
    """The stored pixels turned the way EXIF ``orientation`` says (as ``ImageOps.exif_transpose``)."""
    if orientation == 2:
        return image[:, ::-1]
    if orientation == 3:
        return image[::-1, ::-1]
    if orientation == 4:
        return image[::-1]
    if orientation == 5:
        return image.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(image, -1)
    if orientation == 7:
        return image[::-1, ::-1].swapaxes(0, 1)
    if orientation == 8:
        return np.rot90(image, 1)
    return image


def normalise_rotation(degrees: object, field: str = "image_rotation") -> int:
    """A rotation in degrees as 0, 90, 180 or 270 (clockwise); ``ValueError`` otherwise."""
    if isinstance(degrees, bool) or not isinstance(degrees, (int, float)) or degrees % 90:
        raise ValueError(f"{field} must be a multiple of 90 degrees, got {degrees!r:.60}")
    return int(degrees) % 360


def rotate(image: np.ndarray, degrees: int) -> np.ndarray:
    """``image`` turned ``degrees`` (a multiple of 90) clockwise."""
    return np.ascontiguousarray(np.rot90(image, -(degrees // 90) % 4))
