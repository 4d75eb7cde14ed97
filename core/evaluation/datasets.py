"""Evaluation datasets on disk: a plain folder with ``images/``, ``masks/`` and ``pairs.tsv``.

(The published benchmark layouts, GrabCut to COCO json, are read by :mod:`.layouts`.)

``pairs.tsv`` has one instance per line, ``image<TAB>mask``, both paths relative to the
folder (blank lines and lines starting with ``#`` are skipped). This is the layout of
``../shared/data/berkeley``; GrabCut, Berkeley and similar sets convert to it directly.

Masks are read as greyscale. As in the RITM/FocalClick GrabCut and Berkeley loaders, the
value 128 marks the uncertain band around the object (**ignored** by the clicker and by
IoU) and values above 128 mark the object; so for 0/255 masks, > 127 is object.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import numpy as np

from .. import image_files

IGNORE_VALUE = 128


class DatasetError(ValueError):
    """A dataset folder that cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Sample:
    """One object instance: ``image`` RGB ``uint8[H, W, 3]``, ``gt`` and ``ignore`` ``bool[H, W]``.

    ``initial`` is an existing annotation to correct, for datasets that ship one (DAVIS-585).
    """

    name: str
    image: np.ndarray
    gt: np.ndarray
    ignore: Optional[np.ndarray]
    initial: Optional[np.ndarray] = None


@dataclass(frozen=True)
class Pair:
    """Where one instance lives: its name (the mask's stem) and both files."""

    name: str
    image: Path
    mask: Path


class FolderDataset:
    """The instances listed in ``<root>/pairs.tsv``, read lazily one at a time."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.pairs: List[Pair] = read_pairs(self.root)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> Sample:
        pair = self.pairs[index]
        image = read_image(pair.image)
        gt, ignore = read_mask(pair.mask)
        if gt.shape != image.shape[:2]:
            raise DatasetError(f"{pair.mask}: mask is {gt.shape[1]}x{gt.shape[0]} but its image "
                               f"{pair.image.name} is {image.shape[1]}x{image.shape[0]}")
        return Sample(pair.name, image, gt, ignore)

    def __iter__(self) -> Iterator[Sample]:
        for index in range(len(self)):
            yield self[index]


def read_pairs(root: Path) -> List[Pair]:
    """Parse ``pairs.tsv``; every listed file must exist and names must be unique."""
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset folder not found")
    listing = root / "pairs.tsv"
    if not listing.is_file():
        raise DatasetError(f"{listing}: not found (expected lines 'image<TAB>mask')")
    pairs: List[Pair] = []
    seen = set()
    for number, line in enumerate(listing.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) != 2 or not all(f.strip() for f in fields):
            raise DatasetError(f"{listing}:{number}: expected 'image<TAB>mask', got {line!r}")
        image, mask = (root / f.strip() for f in fields)
        for path in (image, mask):
            if not path.is_file():
                raise DatasetError(f"{path}: file listed in {listing.name} line {number} not found")
        name = mask.stem
        if name in seen:
            raise DatasetError(f"{listing}:{number}: instance name {name!r} (mask file stem) is used twice")
        seen.add(name)
        pairs.append(Pair(name, image, mask))
    if not pairs:
        raise DatasetError(f"{listing}: lists no instances")
    return pairs


def read_image(path: Path) -> np.ndarray:
    """An RGB ``uint8[H, W, 3]`` image."""
    try:
        return image_files.read_image(path)
    except ValueError as error:
        raise DatasetError(str(error)) from None


def read_mask(path: Path) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """``(gt, ignore)``: object where > 128, ignored where == 128 (``None`` when nothing is)."""
    try:
        grey = image_files.read_grey(path)
    except ValueError as error:
        raise DatasetError(str(error)) from None
    ignore = grey == IGNORE_VALUE
    gt = grey > IGNORE_VALUE
    return gt, (ignore if ignore.any() else None)
