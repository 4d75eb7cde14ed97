"""The benchmarks run end to end at tiny sizes and print their table; no timing is asserted."""
from __future__ import annotations

import json

import numpy as np

from focalxl import bench
from focalxl.bench import latency, merge
from focalxl.bench.report import Figure, format_table

TINY = ["--repeats", "1", "--size", "96x64", "--merge-size", "200x150", "--merge-repeats", "1"]


def test_bench_prints_the_table_and_writes_json(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert bench.main(["all", *TINY, "--json", str(path)]) == 0
    out = capsys.readouterr().out
    for text in ("first interaction (click), 96x64", "later clicks", "memory per cached session",
                 "every interaction, p95", "process peak RSS", "focus crop + progressive merge, add (200x150)", "remove (200x150)",
                 "<= 300 ms", "<= 50 ms", "requirement", "status"):
        assert text in out, text
    rows = [line for line in out.splitlines() if line.startswith(("latency", "merge"))]
    assert len(rows) >= 10
    assert all(line.rstrip().endswith(("PASS", "OVER", "-")) for line in rows)
    payload = json.loads(path.read_text())
    assert payload["machine"]["cpus"] >= 1
    assert {f["bench"] for f in payload["figures"]} == {"latency", "merge"}
    assert all(f["value"] >= 0 and f["status"] in ("PASS", "OVER", "-") for f in payload["figures"])


def test_single_benchmarks_and_the_module_entry(capsys):
    assert bench.main(["merge", "--merge-size", "64x48", "--merge-repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "merge" in out and "latency " not in out


def test_merge_case_is_realistic():
    obj, bumped, (x, y) = merge.masks(400, 300)
    assert abs(obj.mean() - merge.OBJECT_FRACTION) < 0.02
    assert bumped[int(y), int(x)] and not obj[int(y), int(x)]        # the click lies in the bump only
    figures = merge.run(400, 300, repeats=1)
    added = figures[0].details
    assert added["update_pixels"] > 0                                # the bump is merged ...
    assert added["update_pixels"] >= bumped.sum()                    # ... as part of the object's component
    removed = figures[3].details
    assert 0 < removed["update_pixels"] < (bumped & ~obj).sum() + 1  # only the bump is taken away


def test_latency_script_scales_the_demo_to_the_photo():
    image = latency.photo(160, 90)
    assert image.shape == (90, 160, 3) and image.dtype == np.uint8
    assert np.array_equal(image, latency.photo(160, 90))             # deterministic
    steps = latency.script(160, 90)
    assert [kind for kind, _ in steps] == ["click", "click", "box", "click", "click"]
    for _, item in steps:
        item.validate((90, 160))


def test_table_marks_pass_and_over():
    table = format_table([Figure("merge", "fast", 10.0, "ms", 50.0), Figure("merge", "slow", 60.0, "ms", 50.0),
                          Figure("latency", "memory", 3.0, "MiB")])
    lines = table.splitlines()
    assert lines[2].endswith("PASS") and lines[3].endswith("OVER") and lines[4].endswith("-")


def test_bad_size_exits_2(capsys):
    assert bench.main(["--size", "big"]) == 2
    assert "--size" in capsys.readouterr().err
