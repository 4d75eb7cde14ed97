"""Training data: the evaluation suite's readers, matting folders, and bad data skipped.

``--data`` takes anything ``focalxl eval`` reads (COCO json — also what Label Studio and
CVAT export —, LVIS json, SBD, VOC, DAVIS, folders of images and masks) plus **matting
folders** for the Detail-Net: ``fg/`` foreground pictures, ``alpha/`` their mattes (same
file stems) and ``bg/`` backgrounds to composite them on.

:class:`TrainingSet` draws every random choice of a sample from
``numpy.random.default_rng([seed, epoch, index])``: a sample is the same whichever
process, data-loader worker or rank makes it, which is what makes data-parallel runs and
resumed runs repeat exactly. A sample that cannot be read (unreadable file, mask and
image of different sizes, empty mask) is replaced by the next readable one and reported
in the batch's ``skipped`` list; the loop counts and warns, training never stops for it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from .. import image_files
from ..evaluation.datasets import DatasetError, Sample
from ..evaluation.layouts import IMAGE_SUFFIXES, CocoJsonDataset, open_dataset

MAX_SUBSTITUTES = 64    # consecutive unreadable samples before the data is declared broken


@dataclass(frozen=True)
class MattingSample:
    """A foreground, its alpha matte (``float32[H, W]`` in [0, 1]) and a background, composited later."""

    name: str
    foreground: np.ndarray
    alpha: np.ndarray
    background: np.ndarray


class MattingFolder:
    """``fg/<stem>.*`` with ``alpha/<stem>.*``; every foreground is paired with background ``index % len(bg)``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        foregrounds = _images(self.root / "fg")
        alphas = {path.stem: path for path in _images(self.root / "alpha")}
        self.backgrounds = _images(self.root / "bg")
        missing = [path.name for path in foregrounds if path.stem not in alphas]
        if missing:
            raise DatasetError(f"{self.root / 'alpha'}: no matte for {', '.join(missing[:5])}")
        if not foregrounds or not self.backgrounds:
            raise DatasetError(f"{self.root}: a matting folder needs pictures in fg/, alpha/ and bg/")
        self.entries = [(path, alphas[path.stem]) for path in foregrounds]

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> MattingSample:
        foreground, alpha_path = self.entries[index]
        picture = image_files.read_image(foreground)
        alpha = image_files.read_grey(alpha_path, what="alpha matte").astype(np.float32) / 255.0
        if alpha.shape != picture.shape[:2]:
            raise DatasetError(f"{alpha_path}: matte is {alpha.shape[1]}x{alpha.shape[0]} but its foreground is "
                               f"{picture.shape[1]}x{picture.shape[0]}")
        background = image_files.read_image(self.backgrounds[index % len(self.backgrounds)], what="background")
        return MattingSample(foreground.stem, picture, alpha, background)


def _images(folder: Path) -> List[Path]:
    if not folder.is_dir():
        raise DatasetError(f"{folder}: folder not found")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def is_matting_folder(path: Path) -> bool:
    return all((path / name).is_dir() for name in ("fg", "alpha", "bg"))


def open_source(path: str | Path) -> Sequence[Any]:
    """One ``--data`` argument: a matting folder, or any dataset the evaluation suite reads.

    A COCO json whose pictures are not beside it but in ``../images`` (CVAT's "COCO 1.0"
    export: ``annotations/instances_default.json`` and ``images/``) reads them from there.
    """
    path = Path(path)
    if path.is_dir() and is_matting_folder(path):
        return MattingFolder(path)
    dataset = open_dataset(path)
    if isinstance(dataset, CocoJsonDataset):
        first = dataset.entries[0].file_name
        beside, cvat = path.parent / first, path.parent.parent / "images" / first
        if not beside.is_file() and cvat.is_file():
            dataset.images_dir = path.parent.parent / "images"
    return dataset


def check_sample(sample: Any) -> None:
    """``DatasetError`` for a sample no loss can learn from."""
    if isinstance(sample, Sample):
        if sample.gt.shape != sample.image.shape[:2]:
            raise DatasetError(f"{sample.name}: mask is {sample.gt.shape[::-1]} but its image is "
                               f"{sample.image.shape[1::-1]}")
        if not sample.gt.any():
            raise DatasetError(f"{sample.name}: empty mask")


READ_ERRORS = (DatasetError, ValueError, OSError, KeyError, IndexError, cv2.error)


class TrainingSet(Dataset):
    """The concatenated ``sources``, each item made by ``make(sample, rng)`` into a dict of arrays.

    ``epoch`` must be set before each epoch's loader is created (workers copy the dataset).
    """

    def __init__(self, sources: Sequence[Sequence[Any]], make: Callable[[Any, np.random.Generator], Dict[str, Any]],
                 seed: int = 0):
        self.sources = list(sources)
        self.offsets = np.cumsum([0] + [len(source) for source in self.sources])
        self.make = make
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def locate(self, index: int) -> Tuple[Sequence[Any], int]:
        which = int(np.searchsorted(self.offsets, index, side="right") - 1)
        return self.sources[which], index - int(self.offsets[which])

    def __getitem__(self, index: int) -> Dict[str, Any]:
        skipped: List[str] = []
        for attempt in range(MAX_SUBSTITUTES):
            position = (index + attempt) % len(self)
            source, local = self.locate(position)
            rng = np.random.default_rng([self.seed, self.epoch, index, attempt])
            try:
                sample = source[local]
                check_sample(sample)
                item = self.make(sample, rng)
            except READ_ERRORS as error:
                skipped.append(f"{getattr(source, 'root', '')}[{local}]: {error}")
                continue
            item["index"] = np.int64(index)
            item["skipped"] = skipped
            return item
        raise DatasetError(f"{MAX_SUBSTITUTES} consecutive samples from index {index} could not be read; "
                           f"the last: {skipped[-1]}")


def collate(items: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Stack every array field into a tensor; ``skipped`` becomes one flat list."""
    batch: Dict[str, Any] = {"skipped": [reason for item in items for reason in item["skipped"]]}
    for key in items[0]:
        if key != "skipped":
            batch[key] = torch.from_numpy(np.stack([item[key] for item in items]))
    return batch
