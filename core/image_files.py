"""Image files to arrays: one decoder for the command line, datasets and host doors.

A file in one of ``FORMATS`` becomes RGB ``uint8[H, W, 3]``: grey is repeated, RGBA
loses its alpha, 16-bit keeps its top 8 bits. Its size is read from its header first
(Pillow's parsers, without decoding a pixel), so a pixel limit refuses a bomb before
any decoder runs; a file whose header cannot be read is refused, never decoded.
Pillow's own decompression-bomb check is not used: ``max_pixels`` is the one limit,
and it always raises ``ImageTooLarge`` with the size.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import cv2
import numpy as np
from PIL import Image

EXIF_ORIENTATION = 0x0112

# Formats whose header Pillow reads and whose pixels OpenCV decodes (JPEG covers MPO).
# Radiance .hdr, OpenEXR and PFM are absent: their pixels are float, and Pillow reads no .hdr header.
FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP", "GIF", "PPM", "JPEG2000", "SUN", "AVIF")


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
    """Size and EXIF orientation of encoded image bytes; ``None`` unless a header in ``FORMATS`` says."""
    image = _open_header(data)
    if image is None:
        return None
    try:
        with image:
            # Image.getexif, not PNG's override: that one decodes every pixel to look for a late eXIf chunk.
            orientation = Image.Image.getexif(image).get(EXIF_ORIENTATION, 1)
            width, height = image.size
    except Exception:   # any parser failure on hostile bytes means the header cannot be read
        return None
    return Header(width, height, orientation if orientation in range(1, 9) else 1)


def decode_image(data: bytes, what: str = "image", max_pixels: Optional[int] = None) -> np.ndarray:
    """Encoded bytes -> RGB ``uint8[H, W, 3]``; ``ValueError`` naming ``what`` when undecodable.

    With ``max_pixels``, a larger image raises ``ImageTooLarge`` from its header: no
    decoder runs.
    """
    raw = _decode(data, what, max_pixels)
    if raw.dtype == np.uint16:
        raw = (raw >> 8).astype(np.uint8)
    elif raw.dtype != np.uint8:
        raise ValueError(f"{what}: unsupported pixel type {raw.dtype}")
    if raw.ndim == 2 or raw.shape[2] == 1:
        return cv2.cvtColor(raw.reshape(raw.shape[:2]), cv2.COLOR_GRAY2RGB)
    if raw.shape[2] == 4:
        return cv2.cvtColor(raw, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)


def decode_grey(data: bytes, what: str = "mask", max_pixels: Optional[int] = None) -> np.ndarray:
    """Encoded bytes -> ``uint8[H, W]`` grey levels (the brightest colour channel)."""
    raw = _decode(data, what, max_pixels)
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


def _open_header(data: bytes) -> Optional[Image.Image]:
    """``PIL.Image.open`` restricted to ``FORMATS`` and without its decompression-bomb check."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or not data:
        return None
    Image.init()
    prefix = bytes(data[:16])
    for name in FORMATS:
        if name not in Image.OPEN:
            continue
        factory, accept = Image.OPEN[name]
        if accept is not None and not _accepts(accept(prefix)):
            continue
        try:
            return factory(io.BytesIO(data), "")
        except Exception:   # SyntaxError, struct.error, ...: not this format, or a broken header
            continue
    return None


def _accepts(result: object) -> bool:
    return bool(result) and not isinstance(result, str)   # a str is Pillow's "needs a missing plugin" note


def _decode(data: bytes, what: str, max_pixels: Optional[int]) -> np.ndarray:
    """The file's pixels as OpenCV reads them, once its header says it is a supported image within the limit."""
    header = read_header(data)
    if header is None:
        raise ValueError(f"{what}: not an image file (supported: {', '.join(FORMATS)}; "
                         f"its size must be readable from its header)")
    if max_pixels is not None:
        _check_pixels(what, header.width, header.height, max_pixels)
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        raise ValueError(f"{what}: not an image file OpenCV can decode")
    if max_pixels is not None:      # the decoder read another size than the header said
        _check_pixels(what, image.shape[1], image.shape[0], max_pixels)
    return image
