"""--engine ray: Ray Data actors on a local cluster write the same COCO bytes as local worker processes."""
from __future__ import annotations

import pytest

from focalxl.batch import RunOptions, annotate_coco
from focalxl.batch.work import Pictures

pytestmark = pytest.mark.slow


def test_a_local_ray_cluster_writes_the_same_coco_bytes_as_the_local_engine(coco_set, tmp_path):
    ray = pytest.importorskip("ray")
    outputs = {}
    for engine, workers in (("local", 1), ("ray", 2)):
        out = tmp_path / f"{engine}.json"
        summary = annotate_coco(str(coco_set.annotations), str(coco_set.images), str(out), "box",
                                options=RunOptions(journal=str(tmp_path / f"{engine}.sqlite"), engine=engine,
                                                   workers=workers, progress=False,
                                                   pictures=Pictures(overlay_dir=str(tmp_path / f"{engine}-ov"))))
        assert summary.ok and summary.done == 6
        outputs[engine] = out.read_bytes()
    assert outputs["ray"] == outputs["local"]
    assert sorted(p.name for p in (tmp_path / "ray-ov").iterdir()) == \
           sorted(p.name for p in (tmp_path / "local-ov").iterdir())
    assert not ray.is_initialized()           # the local cluster it started is shut down again


def test_a_ray_job_resumes_from_the_journal_of_a_local_one(coco_set, tmp_path):
    pytest.importorskip("ray")
    journal = str(tmp_path / "j.sqlite")
    first = annotate_coco(str(coco_set.annotations), str(coco_set.images), str(tmp_path / "a.json"), "box", limit=3,
                          options=RunOptions(journal=journal, progress=False))
    rest = annotate_coco(str(coco_set.annotations), str(coco_set.images), str(tmp_path / "b.json"), "box",
                         options=RunOptions(journal=journal, engine="ray", workers=2, progress=False))
    assert (first.done, rest.done, rest.skipped) == (3, 3, 3)
