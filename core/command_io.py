"""What a command reads and writes: image files, masks and presets, with errors naming the argument.

Below the commands (``focalxl`` and ``focalxl demo``) that share it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple, Union

import cv2
import numpy as np

from . import image_files


class UsageError(Exception):
    """Bad input from the command line; ``argument`` names the culprit."""

    def __init__(self, argument: str, message: str):
        super().__init__(f"argument {argument}: {message}")
        self.argument = argument


def read_image(path: Union[str, Path], argument: str = "IMAGE") -> np.ndarray:
    """An ``uint8[H, W, 3]`` RGB image from a file (grey, 16-bit and RGBA handled)."""
    try:
        return image_files.read_image(path)
    except ValueError as error:
        raise UsageError(argument, str(error)) from None


def read_mask(path: Union[str, Path], argument: str, shape: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """A ``bool[H, W]`` mask from a file: grey level (brightest channel) ``> 127`` is foreground."""
    try:
        mask = image_files.read_grey(path) > 127
    except ValueError as error:
        raise UsageError(argument, str(error)) from None
    if shape is not None and mask.shape != tuple(shape):
        raise UsageError(argument, f"mask {str(path)!r} is {mask.shape[1]}x{mask.shape[0]}, "
                                   f"the image is {shape[1]}x{shape[0]}")
    return mask


def check_writable(path: Union[str, Path], argument: str) -> None:
    """Fail early, before any work, when ``path`` has no image format OpenCV can write."""
    if not cv2.haveImageWriter(str(path)):
        raise UsageError(argument, f"cannot write {str(path)!r}: unknown image format (use .png)")


def write_image(path: Union[str, Path], image: np.ndarray, argument: str) -> None:
    """Write a grey ``uint8[H, W]`` or RGB ``uint8[H, W, 3]`` image, creating the folder."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(argument, f"cannot create folder {str(path.parent)!r}: {error.strerror or error}") from None
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(path.suffix or ".png", image)
    if not ok:
        raise UsageError(argument, f"cannot encode {str(path)!r}")
    try:
        encoded.tofile(str(path))
    except OSError as error:
        raise UsageError(argument, f"cannot write {str(path)!r}: {error.strerror or error}") from None


def describe(result, shape: Tuple[int, int]) -> str:
    """``"1234 px (12.3%), bbox (x0, y0, x1, y1), score 0.987"`` for a Result."""
    height, width = shape
    pixels = int(result.mask.sum())
    bbox = "none" if result.bbox is None else "({}, {}, {}, {})".format(*result.bbox)
    return f"{pixels} px ({100.0 * pixels / (height * width):.1f}%), bbox {bbox}, score {result.score:.3f}"


def load_segmenter(preset: str, checkpoint: Optional[str]):
    import focalxl

    if preset not in focalxl.presets():
        raise UsageError("--preset", f"unknown preset {preset!r}; choose one of {', '.join(focalxl.presets())}")
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise UsageError("--checkpoint", f"no such file {checkpoint!r}")
    from .weights import MissingWeights

    try:
        return focalxl.load(preset, checkpoint)
    except MissingWeights as error:
        raise UsageError("--checkpoint", f"the {preset} preset needs its weights; {error.how_to_get}, "
                                         f"and give them with --checkpoint PATH") from None
    except (ValueError, OSError, RuntimeError, KeyError) as error:
        raise UsageError("--checkpoint" if checkpoint is not None else "--preset", str(error)) from None
