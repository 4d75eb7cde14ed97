"""Fixtures of the batch tests: a synthetic COCO set per test."""
from __future__ import annotations

import pytest

from coco_sets import CocoSet, make_coco_set


@pytest.fixture
def coco_set(tmp_path) -> CocoSet:
    return make_coco_set(tmp_path)
