"""A task's image, decoded once and shown as the labeling page shows it (EXIF, then rotation)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ...image_files import ImageTooLarge as PixelLimit
from ...image_files import decode_image, read_header
from .media import ImageTooLarge
from .orientation import apply_exif, rotate


@dataclass
class Picture:
    """A task image: its bytes' digest and, once decoded, the pixels as stored."""

    digest: str
    data: bytes
    max_pixels: int
    _stored: Optional[np.ndarray] = None

    def displayed(self, rotation: int) -> np.ndarray:
        """The RGB pixels as the labeling page shows them at ``rotation``."""
        if self._stored is None:
            try:
                stored = decode_image(self.data, "the image", self.max_pixels)
            except PixelLimit as error:
                raise ImageTooLarge(str(error)) from None
            header = read_header(self.data)
            self._stored = apply_exif(stored, header.orientation if header else 1)
        return rotate(self._stored, rotation)
