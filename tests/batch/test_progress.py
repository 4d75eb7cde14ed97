"""The feedback of a job: a progress bar with items/s and ETA, and a closing summary grouped by reason."""
from __future__ import annotations

import io

from focalxl.batch.progress import Progress
from focalxl.batch.work import Outcome
from focalxl.cli import main


def test_the_bar_shows_items_per_second_and_the_time_left_and_the_summary_groups_failures():
    stream = io.StringIO()
    progress = Progress(total=4, skipped=3, stream=stream)
    progress.add([Outcome("a", {"size": [1, 1], "counts": "01"}, 0.9), Outcome("b", reason="image: unreadable")])
    progress.add([Outcome("c", reason="image: unreadable")])
    progress.upload_failed("labelstudio/task/7: HTTP 500")
    summary = progress.close()
    shown = stream.getvalue()
    assert "3/4" in shown and "item/s" in shown and "<" in shown          # tqdm: n/total [elapsed<ETA, rate]
    assert (summary.done, summary.skipped, len(summary.failures)) == (1, 3, 2) and not summary.ok
    text = summary.text()
    assert text.startswith("done 1, skipped (already done) 3, failed 2;") and "masks/s" in text
    assert "failed 2x: image: unreadable" in text and "upload failed: labelstudio/task/7: HTTP 500" in text


def test_annotate_labelstudio_without_a_server_is_a_usage_error(monkeypatch, capsys):
    for name in ("LABEL_STUDIO_URL", "LABEL_STUDIO_HOST", "LABEL_STUDIO_API_KEY", "LABEL_STUDIO_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert main(["annotate", "labelstudio", "--project", "1"]) == 2
    assert "LABEL_STUDIO_URL must be set" in capsys.readouterr().err
