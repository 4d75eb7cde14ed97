"""Tiny synthetic datasets and a tiny FocalClick-XL checkpoint, made in the tests."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))   # xl_tiny
sys.path.insert(0, str(Path(__file__).resolve().parent))                  # synthetic

from synthetic import write_folder_dataset, write_matting_folder  # noqa: E402


@pytest.fixture(scope="session")
def folder_dataset(tmp_path_factory) -> Path:
    return write_folder_dataset(tmp_path_factory.mktemp("train") / "shapes")


@pytest.fixture(scope="session")
def matting_folder(tmp_path_factory) -> Path:
    return write_matting_folder(tmp_path_factory.mktemp("train") / "matting")


@pytest.fixture(scope="session")
def tiny_xl(tmp_path_factory) -> Path:
    """A FocalClick-XL checkpoint (our format) holding the tiny test configuration."""
    from xl_tiny import TINY

    from focalxl.models.xl.checkpoint import save_checkpoint
    from focalxl.models.xl.focalclick_xl import build_focalclick_xl

    path = tmp_path_factory.mktemp("train") / "xl_tiny.pth"
    save_checkpoint(build_focalclick_xl(TINY, 0), "focalclick-xl-b", path)
    return path
