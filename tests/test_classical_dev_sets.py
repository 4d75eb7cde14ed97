"""The classical preset's first click on the shared development sets (skipped without ``../shared``)."""
from __future__ import annotations

from pathlib import Path

import pytest

from focalxl.evaluation.run import evaluate

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.mark.slow
@pytest.mark.parametrize("name, most_failures, least_miou", [("berkeley", 0.03, 0.5), ("coco_mval_dev", 0.07, 0.45)])
def test_a_lone_first_click_rarely_misses_the_object(name, most_failures, least_miou):
    if not (DATA / name).is_dir():
        pytest.skip(f"../shared/data/{name} is not available")
    summary = evaluate("classical", DATA / name, max_clicks=1, workers=2, progress=False)["summary"]
    assert summary["first_fail"] <= most_failures
    assert summary["mIoU@1"] >= least_miou


@pytest.mark.slow
@pytest.mark.parametrize("name", ["berkeley", "coco_mval_dev"])
def test_a_tight_box_never_collapses_onto_a_few_pixels(name):
    if not (DATA / name).is_dir():
        pytest.skip(f"../shared/data/{name} is not available")
    result = evaluate("classical", DATA / name, protocol="box", workers=2, progress=False)
    ious = list(result["samples"].values())
    assert result["summary"]["mIoU"] >= 0.75
    assert sum(value < 0.05 for value in ious) <= 0.01 * len(ious)
