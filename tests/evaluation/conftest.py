"""Tiny datasets written in each benchmark's published layout."""
from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import cv2
import numpy as np
import pytest

SIZE = (40, 56)          # height, width


def scene(seed: int, centres: List[Tuple[int, int]], radius: int = 8) -> Tuple[np.ndarray, np.ndarray]:
    """A noisy BGR image with bright disks, and the disks' instance map (1, 2, ...)."""
    rng = np.random.default_rng(seed)
    image = rng.integers(10, 60, SIZE + (3,), dtype=np.uint8)
    instances = np.zeros(SIZE, np.uint8)
    for k, centre in enumerate(centres, start=1):
        cv2.circle(image, centre, radius, (40 * k, 200, 230), -1)
        cv2.circle(instances, centre, radius, k, -1)
    return image, instances


def write(path: Path, image: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)
    return path


@pytest.fixture
def make_scene():
    return scene


@pytest.fixture
def write_image():
    return write
