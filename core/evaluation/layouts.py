"""The benchmark datasets in the layouts they are published in, one reader each.

Every reader lists its instances up front (names and files, cheap) and reads a sample
only when indexed, so a reader pickles small and travels to worker processes.
Thresholds follow the RITM / FocalClick loaders (``isegm/data/datasets``):

=============  ==========================================  ==============================
layout         files                                       object / ignored pixels
=============  ==========================================  ==============================
``grabcut``    ``data_GT/*``, ``boundary_GT/<stem>.*``      > 128 / == 128
``berkeley``   ``images/*``, ``masks/<stem>.*``             > 128 / == 128
``davis``      ``img/*``, ``gt/<stem>.*``                   brightest channel > 0
``coco-mval``  ``img/*``, ``gt/<stem>.*``                   > 128
``sbd``        ``img/<id>.jpg``, ``inst/<id>.mat``          ``GTinst.Segmentation == k``,
               (``GTinst``), ``<split>.txt``                one sample per instance ``k``
``voc``        ``JPEGImages/<id>.jpg``,                     one sample per object colour;
               ``SegmentationObject/<id>.png``,             the border (grey 220, palette
               ``ImageSets/Segmentation/<split>.txt``       index 255) is ignored
``davis585``   ``<seq>/<frame>.jpg``,                       > 128; initial mask from
               ``<seq>/object<k>_<frame>.png``,             ``init_sp_`` or ``init_stm_``
               ``<seq>/init_{sp,stm}_object<k>_<frame>.png``
``coco``       a COCO ``instances`` json + its images       one sample per non-crowd
                                                            annotation (polygons or RLE)
``folder``     ``images/``, ``masks/``, ``pairs.tsv``        see :mod:`.datasets`
=============  ==========================================  ==============================
"""
from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .. import image_files
from .datasets import DatasetError, FolderDataset, Sample, read_image

VOC_BORDER_GREY = 220      # the VOC border colour (224, 224, 192) in BGR -> grey, as the RITM loader reads it
VOC_BORDER_INDEX = 255     # the same border in a single-channel (index) PNG
DAVIS585_INITS = ("sp", "stm", "zero")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


class InstanceDataset:
    """Instances listed at construction and read one at a time; subclasses define ``load``."""

    entries: List[Any]

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> Sample:
        return self.load(self.entries[index])

    def __iter__(self) -> Iterator[Sample]:
        for index in range(len(self)):
            yield self[index]

    def load(self, entry: Any) -> Sample:
        raise NotImplementedError


# --------------------------------------------------------------------------- image + mask folders

def _object_and_band(grey: np.ndarray) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    ignore = grey == 128
    return grey > 128, (ignore if ignore.any() else None)


MASK_RULES: Dict[str, Callable[[np.ndarray], Tuple[np.ndarray, Optional[np.ndarray]]]] = {
    "band": _object_and_band,                            # GrabCut, Berkeley
    "nonzero": lambda grey: (grey > 0, None),            # DAVIS
    "half": lambda grey: (grey > 128, None),             # COCO_MVal
}


@dataclass(frozen=True)
class _ImageMask:
    name: str
    image: Path
    mask: Path


class ImageMaskDataset(InstanceDataset):
    """One instance per image in ``images_dir`` whose mask in ``masks_dir`` has the same stem."""

    def __init__(self, root: str | Path, images_dir: str, masks_dir: str, rule: str):
        self.root = Path(root)
        self.rule = rule
        images, masks = _require_dir(self.root / images_dir), _require_dir(self.root / masks_dir)
        by_stem = {path.stem: path for path in _files(masks)}
        self.entries = []
        for image in _files(images):
            if image.stem not in by_stem:
                raise DatasetError(f"{image}: no mask {image.stem}.* in {masks}")
            self.entries.append(_ImageMask(image.stem, image, by_stem[image.stem]))
        if not self.entries:
            raise DatasetError(f"{images}: no images")

    def load(self, entry: _ImageMask) -> Sample:
        image = read_image(entry.image)
        gt, ignore = MASK_RULES[self.rule](_read_grey(entry.mask))
        _check_size(entry.mask, gt, image)
        return Sample(entry.name, image, gt, ignore)


# --------------------------------------------------------------------------- SBD

class SBDDataset(InstanceDataset):
    """SBD (Hariharan et al.): one sample per instance of ``inst/<id>.mat`` for the ids in ``<split>.txt``."""

    def __init__(self, root: str | Path, split: str = "val"):
        self.root = Path(root)
        listing = self.root / f"{split}.txt"
        self.entries: List[Tuple[str, int]] = []
        for stem in _read_ids(listing):
            ids = np.unique(self.instances(stem))
            self.entries += [(stem, int(k)) for k in ids if k not in (0, 255)]
        if not self.entries:
            raise DatasetError(f"{listing}: the listed images have no instances")

    def instances(self, stem: str) -> np.ndarray:
        """The instance map ``GTinst.Segmentation`` of image ``stem``."""
        from scipy.io import loadmat

        path = self.root / "inst" / f"{stem}.mat"
        if not path.is_file():
            raise DatasetError(f"{path}: not found")
        try:
            gtinst = loadmat(str(path))["GTinst"]
            return np.asarray(gtinst["Segmentation"][0, 0])
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise DatasetError(f"{path}: not an SBD instance file (GTinst.Segmentation): {error}") from None

    def load(self, entry: Tuple[str, int]) -> Sample:
        stem, instance = entry
        image = read_image(self.root / "img" / f"{stem}.jpg")
        instances = self.instances(stem)
        gt = instances == instance
        _check_size(self.root / "inst" / f"{stem}.mat", gt, image)
        ignore = instances == 255
        return Sample(f"{stem}_{instance}", image, gt, ignore if ignore.any() else None)


# --------------------------------------------------------------------------- PASCAL VOC

class PascalVOCDataset(InstanceDataset):
    """PASCAL VOC: one sample per object of ``SegmentationObject/<id>.png`` for the ids of the split."""

    def __init__(self, root: str | Path, split: str = "val"):
        self.root = Path(root)
        listing = self.root / "ImageSets" / "Segmentation" / f"{split}.txt"
        self.entries: List[Tuple[str, int]] = []
        for stem in _read_ids(listing):
            objects, border = self.objects(stem)
            self.entries += [(stem, int(k)) for k in np.unique(objects) if k not in (0, border)]
        if not self.entries:
            raise DatasetError(f"{listing}: the listed images have no objects")

    def objects(self, stem: str) -> Tuple[np.ndarray, int]:
        """The object map and its border value: palette colours read as grey like the
        published loader, or the indices themselves for a single-channel PNG."""
        path = self.root / "SegmentationObject" / f"{stem}.png"
        colours = _read_rgb(path)
        if (colours[..., 0] == colours[..., 1]).all() and (colours[..., 1] == colours[..., 2]).all():
            return colours[..., 0], VOC_BORDER_INDEX
        return cv2.cvtColor(colours, cv2.COLOR_RGB2GRAY), VOC_BORDER_GREY

    def load(self, entry: Tuple[str, int]) -> Sample:
        stem, value = entry
        image = read_image(self.root / "JPEGImages" / f"{stem}.jpg")
        objects, border = self.objects(stem)
        gt = objects == value
        _check_size(self.root / "SegmentationObject" / f"{stem}.png", gt, image)
        ignore = objects == border
        return Sample(f"{stem}_{value}", image, gt, ignore if ignore.any() else None)


# --------------------------------------------------------------------------- DAVIS-585

_DAVIS585_GT = re.compile(r"^object(\d+)_(.+)\.png$")


class Davis585Dataset(InstanceDataset):
    """DAVIS-585 (ClickSEG): ``<seq>/object<k>_<frame>.png`` with its frame and initial masks.

    ``init`` picks the initial mask: ``sp`` (superpixel defects), ``stm`` (video
    object segmentation output) or ``zero`` (none: annotation from scratch).
    """

    def __init__(self, root: str | Path, init: str = "sp"):
        if init not in DAVIS585_INITS:
            raise ValueError(f"init must be one of {', '.join(DAVIS585_INITS)}, got {init!r}")
        self.root = _require_dir(Path(root))
        self.init = init
        self.entries: List[Tuple[str, Path]] = []
        for sequence in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for mask in sorted(sequence.glob("object*_*.png")):
                if _DAVIS585_GT.match(mask.name):
                    self.entries.append((f"{sequence.name}_{mask.stem}", mask))
        if not self.entries:
            raise DatasetError(f"{self.root}: no <sequence>/object<k>_<frame>.png masks")

    def load(self, entry: Tuple[str, Path]) -> Sample:
        name, mask = entry
        frame = _DAVIS585_GT.match(mask.name).group(2)
        image = read_image(mask.with_name(f"{frame}.jpg"))
        gt = _read_grey(mask) > 128
        _check_size(mask, gt, image)
        initial = None
        if self.init != "zero":
            path = mask.with_name(f"init_{self.init}_{mask.name}")
            initial = _read_grey(path) > 128
            _check_size(path, initial, image)
        return Sample(name, image, gt, None, initial)


# --------------------------------------------------------------------------- COCO json

@dataclass(frozen=True)
class _Annotation:
    name: str
    file_name: str
    height: int
    width: int
    segmentation: Any


class CocoJsonDataset(InstanceDataset):
    """Any COCO ``instances`` json: one sample per non-crowd annotation with a segmentation.

    Polygons, uncompressed and compressed RLE are decoded by pycocotools. Image files
    are ``images_dir / file_name`` (``images_dir`` defaults to the json's folder).
    """

    def __init__(self, annotations: str | Path, images_dir: Optional[str | Path] = None):
        from pycocotools.coco import COCO

        path = Path(annotations)
        if not path.is_file():
            raise DatasetError(f"{path}: annotation file not found")
        self.images_dir = Path(images_dir) if images_dir is not None else path.parent
        try:
            with contextlib.redirect_stdout(io.StringIO()):      # COCO() prints its progress
                coco = COCO(str(path))
        except (ValueError, KeyError, TypeError, AssertionError) as error:
            raise DatasetError(f"{path}: not a COCO annotation file ({error})") from None
        self.entries = []
        for image_id in sorted(coco.imgs):
            info = coco.imgs[image_id]
            for ann in coco.loadAnns(coco.getAnnIds(imgIds=[image_id], iscrowd=False)):
                if not ann.get("segmentation") or ann.get("area", 1) <= 0:
                    continue
                stem = Path(info["file_name"]).stem
                self.entries.append(_Annotation(f"{stem}_{ann['id']}", info["file_name"], int(info["height"]),
                                                int(info["width"]), ann["segmentation"]))
        if not self.entries:
            raise DatasetError(f"{path}: no non-crowd annotations with a segmentation")

    def load(self, entry: _Annotation) -> Sample:
        from pycocotools import mask as coco_mask

        image = read_image(self.images_dir / entry.file_name)
        if image.shape[:2] != (entry.height, entry.width):
            raise DatasetError(f"{entry.file_name}: image is {image.shape[1]}x{image.shape[0]} but the json "
                               f"says {entry.width}x{entry.height}")
        segmentation = entry.segmentation
        if isinstance(segmentation, list):                       # polygons
            rle = coco_mask.merge(coco_mask.frPyObjects(segmentation, entry.height, entry.width))
        elif isinstance(segmentation.get("counts"), list):       # uncompressed RLE
            rle = coco_mask.frPyObjects(segmentation, entry.height, entry.width)
        else:
            rle = segmentation
        gt = coco_mask.decode(rle).astype(bool)
        return Sample(entry.name, image, gt, None)


# --------------------------------------------------------------------------- by name

LAYOUTS = ("folder", "grabcut", "berkeley", "davis", "coco-mval", "sbd", "voc", "davis585", "coco")


def open_dataset(path: str | Path, layout: str = "auto", *, split: str = "val", init: str = "sp",
                 images_dir: Optional[str | Path] = None) -> Sequence[Sample]:
    """The dataset at ``path`` read as ``layout`` (``auto``: told from the folder's contents)."""
    path = Path(path)
    if layout == "auto":
        layout = detect_layout(path)
    if layout == "folder":
        return FolderDataset(path)
    if layout == "grabcut":
        return ImageMaskDataset(path, "data_GT", "boundary_GT", "band")
    if layout == "berkeley":
        return ImageMaskDataset(path, "images", "masks", "band")
    if layout == "davis":
        return ImageMaskDataset(path, "img", "gt", "nonzero")
    if layout == "coco-mval":
        return ImageMaskDataset(path, "img", "gt", "half")
    if layout == "sbd":
        return SBDDataset(path, split)
    if layout == "voc":
        return PascalVOCDataset(path, split)
    if layout == "davis585":
        return Davis585Dataset(path, init)
    if layout == "coco":
        return CocoJsonDataset(path, images_dir)
    raise ValueError(f"unknown layout {layout!r}; choose auto or one of {', '.join(LAYOUTS)}")


def detect_layout(path: Path) -> str:
    """The layout whose signature files ``path`` has (COCO_MVal looks like DAVIS: name it)."""
    if path.is_file() and path.suffix.lower() == ".json":
        return "coco"
    if not path.is_dir():
        raise DatasetError(f"{path}: dataset folder not found")
    has = lambda *names: all((path / name).exists() for name in names)
    if has("pairs.tsv"):
        return "folder"
    for layout, names in (("grabcut", ("data_GT", "boundary_GT")), ("berkeley", ("images", "masks")),
                          ("sbd", ("img", "inst")), ("davis", ("img", "gt")),
                          ("voc", ("JPEGImages", "SegmentationObject"))):
        if has(*names):
            return layout
    if any(_DAVIS585_GT.match(p.name) for p in path.glob("*/object*_*.png")):
        return "davis585"
    raise DatasetError(f"{path}: cannot tell the dataset layout from its contents; "
                       f"name it with --layout ({', '.join(LAYOUTS)})")


# --------------------------------------------------------------------------- files

def _require_dir(path: Path) -> Path:
    if not path.is_dir():
        raise DatasetError(f"{path}: folder not found")
    return path


def _files(folder: Path) -> List[Path]:
    """The image files of a folder, by name (stray files such as ``Thumbs.db`` left out)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _read_ids(listing: Path) -> List[str]:
    if not listing.is_file():
        raise DatasetError(f"{listing}: split file not found")
    return [line.strip() for line in listing.read_text(encoding="utf-8").splitlines() if line.strip()]


def _read_grey(path: Path) -> np.ndarray:
    try:
        return image_files.read_grey(path)
    except ValueError as error:
        raise DatasetError(str(error)) from None


def _read_rgb(path: Path) -> np.ndarray:
    try:
        return image_files.read_image(path, what="mask")
    except ValueError as error:
        raise DatasetError(str(error)) from None


def _check_size(mask_path: Path, mask: np.ndarray, image: np.ndarray) -> None:
    if mask.shape != image.shape[:2]:
        raise DatasetError(f"{mask_path}: mask is {mask.shape[1]}x{mask.shape[0]} but its image is "
                           f"{image.shape[1]}x{image.shape[0]}")
