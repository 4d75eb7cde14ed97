"""Image files to arrays: one decoder for the command line, datasets and host doors.

Any file OpenCV decodes (PNG, JPEG, TIFF, ...) becomes RGB ``uint8[H, W, 3]``:
grey is repeated, RGBA loses its alpha, 16-bit keeps its top 8 bits.
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

import cv2
import numpy as np


def decode_image(data: bytes, what: str = "image") -> np.ndarray:
    """Encoded bytes -> RGB ``uint8[H, W, 3]``; ``ValueError`` naming ``what`` when undecodable."""
    raw = _decode(data, what)
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


def _decode(data: bytes, what: str) -> np.ndarray:
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED) if buffer.size else None
    if image is None or image.size == 0:
        raise ValueError(f"{what}: not an image file OpenCV can decode")
    return image
