"""Image files to arrays: one decoder for the command line, datasets and host doors.

Any file OpenCV decodes (PNG, JPEG, TIFF, ...) becomes RGB ``uint8[H, W, 3]``:
grey is repeated, RGBA loses its alpha, 16-bit keeps its top 8 bits. A pixel limit is
checked against the file's header before any pixel is decoded.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class Header:
    """What an image file's header says, read without decoding pixels."""

    width: int
    height: int
    orientation: int   # EXIF orientation 1..8 (1: as stored)


class ImageTooLarge(ValueError):
    """An image with more pixels than the limit it was decoded under."""

    def __init__(self, what: str, width: int, height: int, max_pixels: int):
        super().__init__(f"{what} has {width * height} pixels ({width}x{height}), over the limit of {max_pixels}")
        self.width, self.height, self.max_pixels = width, height, max_pixels


def read_header(data: bytes) -> Optional[Header]:
    """Size and EXIF orientation of encoded image bytes; ``None`` when Pillow cannot tell."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            orientation = image.getexif().get(EXIF_ORIENTATION, 1)
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    return Header(width, height, orientation if orientation in range(1, 9) else 1)


def decode_image(data: bytes, what: str = "image", max_pixels: Optional[int] = None) -> np.ndarray:
    """Encoded bytes -> RGB ``uint8[H, W, 3]``; ``ValueError`` naming ``what`` when undecodable.

    With ``max_pixels``, a larger image raises ``ImageTooLarge``: from the header when
    Pillow can read it (nothing is decoded), else once OpenCV has decoded it.
    """
    header = read_header(data) if max_pixels is not None else None
    if header is not None:
        _check_pixels(what, header.width, header.height, max_pixels)
    raw = _decode(data, what)
    if max_pixels is not None:
        _check_pixels(what, raw.shape[1], raw.shape[0], max_pixels)
    if raw.dtype == np.uint16:
        raw = (raw >> 8).astype(np.uint8)
    elif raw.dtype != np.uint8:
        raise ValueError(f"{what}: unsupported pixel type {raw.dtype}")
    if raw.ndim == 2 or raw.shape[2] == 1:
        return cv2.cvtColor(raw.reshape(raw.shape[:2]), cv2.COLOR_GRAY2RGB)
    if raw.shape[2] == 4:
        return cv2.cvtColor(raw, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)


def decode_grey(data: bytes, what: str = "mask") -> np.ndarray:
    """Encoded bytes -> ``uint8[H, W]`` grey levels (the brightest colour channel)."""
    raw = _decode(data, what)
    if raw.dtype == np.uint16:
        raw = (raw >> 8).astype(np.uint8)
    if raw.ndim == 3:
        raw = raw[:, :, :3].max(axis=2)
    return raw


def read_bytes(path: Union[str, Path], what: str = "image") -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise ValueError(f"cannot read {what} {str(path)!r}: {error.strerror or error}") from None


def read_image(path: Union[str, Path], what: str = "image") -> np.ndarray:
    """An image file -> RGB ``uint8[H, W, 3]``."""
    return decode_image(read_bytes(path, what), f"{what} {str(path)!r}")


def read_grey(path: Union[str, Path], what: str = "mask") -> np.ndarray:
    """An image file -> ``uint8[H, W]`` grey levels."""
    return decode_grey(read_bytes(path, what), f"{what} {str(path)!r}")


def _check_pixels(what: str, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageTooLarge(what, width, height, max_pixels)


def _decode(data: bytes, what: str) -> np.ndarray:
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED) if buffer.size else None
    if image is None or image.size == 0:
        raise ValueError(f"{what}: not an image file OpenCV can decode")
    return image
