"""``focalxl.load``: a predictor chosen by name, and the sessions built on it."""
from __future__ import annotations

from typing import Callable, Dict, Optional

import numpy as np

from .image_files import ImageTooLarge
from .predictors.base import Predictor
from .session import Session, SessionConfig

DEFAULT_MAX_PIXELS = 100_000_000

_PRESETS: Dict[str, Callable[..., Predictor]] = {}


def register(name: str, factory: Callable[..., Predictor]) -> None:
    """Make ``focalxl.load(name, ...)`` build a predictor with ``factory(**options)``."""
    _PRESETS[name] = factory


def presets() -> list:
    return sorted(_PRESETS)


class Segmenter:
    """A loaded predictor: heavy weights load once, sessions are cheap."""

    def __init__(self, predictor: Predictor, config: SessionConfig = SessionConfig(),
                 max_pixels: int = DEFAULT_MAX_PIXELS):
        self.predictor = predictor
        self.config = config
        self.max_pixels = max_pixels

    def new_session(self, image: np.ndarray, mask: Optional[np.ndarray] = None) -> Session:
        """Start segmenting one object; ``mask`` is an existing annotation to correct."""
        image = as_rgb(image, self.max_pixels)
        if mask is not None:
            mask = as_mask(mask, image.shape[:2])
        return Session(self.predictor, image, mask, self.config)


def load(name: str = "classical", checkpoint: Optional[str] = None, *, device: Optional[str] = None,
         threads: Optional[int] = None, config: SessionConfig = SessionConfig(),
         max_pixels: int = DEFAULT_MAX_PIXELS, **options) -> Segmenter:
    """Build the predictor called ``name`` (``focalxl.presets()`` lists them).

    ``device`` is ``"cuda"``, ``"mps"``, ``"cpu"`` or ``"auto"`` (the default: the best
    one present); ``threads`` caps the CPU threads the preset computes with. Learned
    presets load their network once per process: later ``load`` calls with the same
    checkpoint and device share it.
    """
    if not isinstance(name, str) or name not in _PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(presets())}")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    for key, value in (("checkpoint", checkpoint), ("device", device), ("threads", threads)):
        if value is not None:
            options[key] = value
    return Segmenter(_PRESETS[name](**options), config, max_pixels)


def as_rgb(image: object, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """An ``uint8[H, W, 3]`` view of an RGB, RGBA or grayscale ``uint8`` image."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must have dtype uint8, got {image.dtype}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise ValueError(f"image must be HxW, HxWx3 or HxWx4, got shape {image.shape}")
    height, width = image.shape[:2]
    if height == 0 or width == 0:
        raise ValueError(f"image is empty ({width}x{height})")
    if height * width > max_pixels:      # before a grey image is expanded to three channels
        raise ImageTooLarge("image", width, height, max_pixels)
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    return np.array(image[:, :, :3], copy=True, order="C")


def as_mask(mask: object, shape) -> np.ndarray:
    """A ``bool[H, W]`` mask of the image's size (non-zero is foreground)."""
    if not isinstance(mask, np.ndarray):
        raise ValueError(f"mask must be a numpy array, got {type(mask).__name__}")
    if mask.ndim != 2 or mask.shape != tuple(shape):
        raise ValueError(f"mask shape {mask.shape} does not match the image {tuple(shape)}")
    if mask.dtype != bool and mask.dtype.kind not in "iuf":
        raise ValueError(f"mask must be boolean, integer or float, got dtype {mask.dtype}")
    if mask.dtype.kind == "f" and not np.isfinite(mask).all():
        raise ValueError("mask must be finite: it holds NaN or infinity")
    return mask.astype(bool)
