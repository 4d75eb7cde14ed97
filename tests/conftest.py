"""Shared fixtures for the engine's specification tests.

The scene is synthetic and deterministic: a red disk (the object) on a textured,
noisy green-grey background, small enough that a classical session runs in well
under a second per interaction.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Iterable, Tuple

import numpy as np
import pytest

import focalxl


@dataclass(frozen=True)
class DiskScene:
    image: np.ndarray = field(repr=False)     # uint8[H, W, 3]
    gt: np.ndarray = field(repr=False)        # bool[H, W], the disk
    cx: float
    cy: float
    radius: float

    @property
    def shape(self) -> Tuple[int, int]:
        return self.gt.shape


def make_disk_scene(height: int = 160, width: int = 160, cx: float = 80.0, cy: float = 76.0,
                    radius: float = 36.0, seed: int = 0) -> DiskScene:
    """A red disk centred at ``(cx, cy)`` on a striped, noisy background."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    background = np.stack([60 + 40 * np.sin(xx / 5.0),
                           110 + 30 * np.cos(yy / 7.0),
                           70 + 20 * np.sin((xx + yy) / 9.0)], axis=-1)
    background += rng.normal(0, 12, background.shape)
    gt = (xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= radius ** 2
    disk = np.array([220.0, 40.0, 50.0]) + rng.normal(0, 10, (height, width, 3))
    image = np.clip(np.where(gt[..., None], disk, background), 0, 255).astype(np.uint8)
    return DiskScene(image=image, gt=gt, cx=cx, cy=cy, radius=radius)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def flood(mask: np.ndarray, seeds: Iterable[Tuple[int, int]]) -> np.ndarray:
    """The union of the 8-connected components of ``mask`` holding a seed ``(row, col)``.

    A plain breadth-first search, independent of the OpenCV labelling the engine uses.
    """
    mask = np.asarray(mask, dtype=bool)
    height, width = mask.shape
    out = np.zeros_like(mask)
    queue = deque((r, c) for r, c in seeds if mask[r, c])
    for r, c in queue:
        out[r, c] = True
    while queue:
        r, c = queue.popleft()
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                rr, cc = r + dr, c + dc
                if 0 <= rr < height and 0 <= cc < width and mask[rr, cc] and not out[rr, cc]:
                    out[rr, cc] = True
                    queue.append((rr, cc))
    return out


def bits(alpha: np.ndarray) -> np.ndarray:
    """A float32 map as raw bits, so comparisons are bit-exact (and NaN-safe)."""
    return np.ascontiguousarray(alpha, dtype=np.float32).view(np.uint32)


@pytest.fixture(scope="session")
def scene() -> DiskScene:
    return make_disk_scene()


@pytest.fixture(scope="session")
def segmenter() -> focalxl.Segmenter:
    """The offline default, exactly as a user gets it."""
    return focalxl.load("classical")


@pytest.fixture(scope="session")
def fast_segmenter() -> focalxl.Segmenter:
    """The classical predictor on small rasters, re-predicting its Target Crop on every click (no local
    corrections): for engine invariants, not quality."""
    return focalxl.load("classical", input_size=128, detail_size=128, local_corrections=False)


@pytest.fixture(scope="session")
def helpers():
    """Oracles shared by the test modules: ``helpers.iou``, ``helpers.flood``, ``helpers.bits``."""
    return SimpleNamespace(iou=iou, flood=flood, bits=bits, make_disk_scene=make_disk_scene)
