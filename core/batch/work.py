"""What a batch job moves around: images to segment, their objects, and the outcomes.

A source turns its annotations into ``ImageWork``: one image (loaded lazily, in the
worker) and the ``Item``s on it, one object per annotation. ``segment_image`` is the
whole per-image step every runner calls: load the image once, each item's prompt
applied from a fresh state, a compressed RLE (or the failure's reason) back.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Protocol, Tuple

import numpy as np

from .. import image_files
from ..formats import coco_rle
from ..overlays import alpha_png, overlay
from . import prompts


class ImageSource(Protocol):
    """Where an image comes from; picklable, loaded in the worker."""

    def load(self) -> np.ndarray:
        """The RGB ``uint8[H, W, 3]`` pixels the prompts refer to; ``ValueError`` with the reason."""


@dataclass(frozen=True)
class ImageFile:
    """An image file on a disk every worker can read."""

    path: str
    max_pixels: int = 100_000_000

    def load(self) -> np.ndarray:
        return image_files.decode_image(image_files.read_bytes(self.path, Path(self.path).name),
                                        Path(self.path).name, self.max_pixels)


@dataclass(frozen=True)
class Item:
    """One object to segment: its stable key in the source, its prompt and its label."""

    key: str
    prompt: dict                   # see focalxl.batch.prompts
    label: object = None
    failure: Optional[str] = None  # set when the source could not make a prompt (recorded, not run)


@dataclass(frozen=True)
class ImageWork:
    """One image and the objects to segment on it."""

    key: str
    name: str                      # for picture file names: "000000397133" or "task-12"
    image: ImageSource
    items: Tuple[Item, ...]
    size: Optional[Tuple[int, int]] = None   # (height, width) when the source knows it


@dataclass(frozen=True)
class Outcome:
    """An item's result: a mask as compressed RLE with its score, or the reason it failed."""

    key: str
    rle: Optional[dict] = None
    score: float = 0.0
    reason: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class Pictures:
    """Folders for the optional alpha mattes and overlays (``None``: not written)."""

    alpha_dir: Optional[str] = None
    overlay_dir: Optional[str] = None


def segment_image(segmenter, work: ImageWork, pictures: Pictures = Pictures()) -> List[Outcome]:
    """Segment every item of ``work`` with ``segmenter``; failures become outcomes, never exceptions.

    The items share one session, so the image's Context-Net features are computed once;
    after each object every step is undone, which leaves the session exactly as fresh.
    """
    failed = {item.key: Outcome(item.key, reason=item.failure) for item in work.items if item.failure is not None}
    if len(failed) == len(work.items):
        return [failed[item.key] for item in work.items]
    try:
        image = work.image.load()
        if work.size is not None and image.shape[:2] != tuple(work.size):
            raise ValueError(f"{image.shape[1]}x{image.shape[0]} pixels, the source says "
                             f"{work.size[1]}x{work.size[0]}")
        session = segmenter.new_session(image)
    except (ValueError, OSError) as error:
        return [failed.get(item.key) or Outcome(item.key, reason=f"image: {error}") for item in work.items]
    return [failed.get(item.key) or _segment_item(session, item, pictures) for item in work.items]


def _segment_item(session, item: Item, pictures: Pictures) -> Outcome:
    try:
        interactions = prompts.to_interactions(item.prompt)
        for interaction in interactions:
            result = session.add(interaction)
    except ValueError as error:
        return Outcome(item.key, reason=f"prompt: {error}")
    finally:
        while session.history:
            session.undo()
    if not result.mask.any():
        return Outcome(item.key, reason="empty mask: the prompt selected nothing")
    _write_pictures(pictures, session.image, result, interactions, item.key)
    return Outcome(item.key, coco_rle.encode(result.mask), float(result.score))


def _write_pictures(pictures: Pictures, image: np.ndarray, result, interactions, key: str) -> None:
    name = picture_name(key)
    if pictures.alpha_dir is not None:
        write_png_atomically(Path(pictures.alpha_dir) / f"{name}.png", alpha_png(result.alpha))
    if pictures.overlay_dir is not None:
        write_png_atomically(Path(pictures.overlay_dir) / f"{name}.png", overlay(image, result.mask, interactions))


def picture_name(key: str) -> str:
    """A file name for an item key: ``coco/ann/17`` -> ``coco-ann-17``."""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in key)


def write_png_atomically(path: Path, picture: np.ndarray) -> None:
    """Write a PNG next to its final name, then rename: a reader never sees half a file."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    if picture.ndim == 3:
        picture = cv2.cvtColor(picture, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", picture)
    if not ok:
        raise OSError(f"cannot encode {path}")
    temporary = path.with_name(f".{path.name}.{id(picture)}.tmp")
    temporary.write_bytes(encoded.tobytes())
    temporary.replace(path)
