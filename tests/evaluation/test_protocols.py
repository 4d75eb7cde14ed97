"""The protocols on one sample, their summaries, and ``focalxl eval`` end to end."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import focalxl
from focalxl.cli import main as focalxl_main
from focalxl.evaluation import (COARSE_LEVELS, Clicker, Scribbler, evaluate, evaluate_box, evaluate_coarse,
                                evaluate_sample, main, tight_box)
from focalxl.evaluation.run import summarise

BERKELEY = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "berkeley"


def result(mask):
    return focalxl.Result(mask=mask, alpha=mask.astype(np.float32), score=1.0, bbox=None)


class Fixed:
    """A fake method that answers every prompt with one mask, and records what it was given."""

    def __init__(self, mask, initial=None):
        self.mask, self.initial, self.prompts = mask, initial, []

    def add(self, prompt):
        self.prompts.append(prompt)
        return result(self.mask)


def write_folder(root: Path, count: int = 2, size: int = 48) -> Path:
    """A plain pairs.tsv folder of bright disks on a dark background."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    lines = []
    for i in range(count):
        image = rng.integers(20, 50, (size, size, 3), dtype=np.uint8)
        mask = np.zeros((size, size), np.uint8)
        centre = (size // 2 + 3 * i, size // 2)
        cv2.circle(image, centre, 13, (40, 60, 230), -1)
        cv2.circle(mask, centre, 13, 255, -1)
        cv2.imwrite(str(root / "images" / f"img{i}.png"), image)
        cv2.imwrite(str(root / "masks" / f"obj{i}.png"), mask)
        lines.append(f"images/img{i}.png\tmasks/obj{i}.png")
    (root / "pairs.tsv").write_text("\n".join(lines) + "\n")
    return root


def square(shape, top, left, size):
    mask = np.zeros(shape, dtype=bool)
    mask[top:top + size, left:left + size] = True
    return mask


# --- box ------------------------------------------------------------------------------

def test_tight_box_covers_exactly_the_object_pixels():
    gt = np.zeros((20, 30), bool)
    gt[4:9, 7:19] = True
    gt[12, 3] = True
    assert tight_box(gt) == focalxl.Box(3.0, 4.0, 19.0, 13.0)
    with pytest.raises(ValueError, match="gt is empty"):
        tight_box(np.zeros((3, 3), bool))


def test_box_protocol_is_one_round_from_the_tight_box():
    gt = square((30, 30), 5, 5, 10)
    answer = square((30, 30), 5, 5, 8)            # 64 of 100 pixels
    sessions = []
    factory = lambda image: sessions.append(Fixed(answer)) or sessions[-1]
    run = evaluate_box(factory, np.zeros((30, 30, 3), np.uint8), gt)
    assert run.iou == pytest.approx(0.64) and run.prompt_iou is None and run.seconds >= 0
    assert sessions[0].prompts == [focalxl.Box(5.0, 5.0, 15.0, 15.0)]


# --- coarse masks ---------------------------------------------------------------------

def test_coarse_protocol_refines_each_level_in_a_fresh_session():
    gt = np.zeros((64, 64), bool)
    cv2.circle(gt.view(np.uint8), (32, 32), 18, 1, -1)
    sessions = []

    class Echo(Fixed):
        def add(self, prompt):
            self.prompts.append(prompt)
            return result(prompt.mask)

    factory = lambda image: sessions.append(Echo(None)) or sessions[-1]
    runs = evaluate_coarse(factory, np.zeros((64, 64, 3), np.uint8), gt, None, np.random.default_rng(0))
    assert len(runs) == len(sessions) == 5 and all(len(s.prompts) == 1 for s in sessions)
    for run, (low, high) in zip(runs, COARSE_LEVELS):
        assert low <= run.prompt_iou <= high and run.iou == pytest.approx(run.prompt_iou)


# --- mask correction ------------------------------------------------------------------

def test_correction_starts_from_the_initial_mask_and_clicks_its_largest_error():
    gt = square((30, 30), 5, 5, 9)
    initial = gt.copy()
    initial[5:14, 5:8] = False                     # a 9x3 strip missing on the left
    made = []

    def factory(image, mask=None):
        made.append(mask)
        return Fixed(gt)

    run = evaluate_sample(factory, np.zeros((30, 30, 3), np.uint8), gt, initial=initial, user=Clicker)
    assert made[0] is initial
    assert run.initial_iou == pytest.approx(54 / 81)
    # every pixel of the strip's middle column is 2 px from its border: the first in raster order wins
    assert run.clicks == [focalxl.Click(x=6.5, y=6.5, positive=True)]
    assert run.ious == [1.0]


# --- scribbles ------------------------------------------------------------------------

def test_scribble_protocol_iterates_until_the_target_iou():
    gt = square((40, 40), 5, 5, 20)

    class HalfThenAll(Fixed):
        def add(self, prompt):
            self.prompts.append(prompt)
            return result(gt if len(self.prompts) > 1 else square((40, 40), 5, 5, 10) | square((40, 40), 30, 30, 5))

    sessions = []
    factory = lambda image: sessions.append(HalfThenAll(None)) or sessions[-1]
    run = evaluate_sample(factory, np.zeros((40, 40, 3), np.uint8), gt, user=Scribbler, min_clicks=1)
    first, second = sessions[0].prompts
    assert isinstance(first, focalxl.Scribble) and first.positive
    assert second.positive                      # the missed L-shape (300 px) outweighs the 25 px spill
    assert run.ious[0] == pytest.approx(100 / 425) and run.ious[1] == 1.0 and len(run.ious) == 2


# --- summaries ------------------------------------------------------------------------

def test_summaries_name_each_protocols_metrics():
    from focalxl.evaluation import PromptRun, SampleRun

    runs = [("a", SampleRun(ious=[0.5, 0.86, 0.91], clicks=[None] * 3, seconds=0.3)),
            ("b", SampleRun(ious=[0.95], clicks=[None], seconds=0.1, initial_iou=0.8))]
    clicks = summarise("clicks", runs, 20, 1.0)["summary"]
    assert clicks["NoC80"] == pytest.approx(1.5) and clicks["NoC90"] == pytest.approx(2.0)
    assert clicks["NoF90"] == 0 and clicks["seconds_per_click"] == pytest.approx(0.1) and clicks["mIoU@2"] is None
    scribbles = summarise("scribbles", runs, 20, 1.0)["summary"]
    assert scribbles["NoS85"] == pytest.approx(1.5) and "NoC85" not in scribbles and scribbles["scribbles"] == 4
    correction = summarise("correction", runs, 20, 1.0)
    assert correction["summary"]["initial_mIoU"] == pytest.approx(0.4)
    assert correction["initial_iou"] == {"a": 0.0, "b": 0.8}
    boxes = summarise("box", [("a", PromptRun(None, 0.5, 0.2)), ("b", PromptRun(None, 0.7, 0.4))], 20, 1.0)
    assert boxes["summary"]["mIoU"] == pytest.approx(0.6) and boxes["samples"] == {"a": 0.5, "b": 0.7}
    coarse = summarise("coarse", [("a", [PromptRun(0.9, 0.95, 0.1)] * 5)], 20, 1.0)["summary"]
    assert coarse["coarse@L1"] == pytest.approx(0.9) and coarse["refined@L5"] == pytest.approx(0.95)


# --- runner ---------------------------------------------------------------------------

def test_seeded_protocols_give_the_same_results_in_one_or_two_workers(tmp_path):
    root = write_folder(tmp_path / "set", count=3)
    one = evaluate("classical", str(root), "correction", workers=1, progress=False, seed=3)
    two = evaluate("classical", str(root), "correction", workers=2, progress=False, seed=3)
    assert one["samples"] == two["samples"] and one["initial_iou"] == two["initial_iou"]
    assert all(0.75 <= value <= 0.85 for value in one["initial_iou"].values())


def test_a_baseline_refuses_protocols_it_cannot_take(tmp_path):
    with pytest.raises(ValueError, match="does not take the coarse"):
        evaluate("grabcut", str(write_folder(tmp_path / "set")), "coarse", workers=1, progress=False)


def test_the_plain_grabcut_baseline_segments_a_box_with_opencvs_rectangle_initialisation(helpers):
    from focalxl.evaluation.grabcut_baseline import PlainGrabCut
    from focalxl.evaluation.protocol import tight_box

    scene = helpers.make_disk_scene(radius=30.0)
    mask = PlainGrabCut().new_session(scene.image).add(tight_box(scene.gt)).mask
    assert helpers.iou(mask, scene.gt) > 0.9


def test_focalxl_eval_runs_every_protocol_and_writes_table_json_and_plots(tmp_path, capsys):
    root = write_folder(tmp_path / "set")
    out = tmp_path / "report"
    assert focalxl_main(["eval", str(root), "--protocol", "all", "--limit", "1", "--workers", "1",
                         "--max-clicks", "3", "--quiet", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "grabcut baseline runs in the protocols it takes: clicks, box" in captured.err
    for heading in ("clicks on", "scribbles on", "box on", "coarse on", "correction on", "total wall time"):
        assert heading in captured.out
    saved = json.loads((out / "results.json").read_text())
    assert [(r["method"], r["protocol"]) for r in saved] == [
        ("classical", "clicks"), ("grabcut", "clicks"), ("classical", "scribbles"), ("classical", "box"),
        ("grabcut", "box"), ("classical", "coarse"), ("classical", "correction")]
    markdown = (out / "results.md").read_text()
    assert markdown.count("### ") == 5 and "| NoS90" in markdown and "| refined L5" in markdown
    plots = sorted(p.name for p in (out / "plots").iterdir())
    assert plots == ["set_clicks.png", "set_coarse.png", "set_correction.png", "set_scribbles.png"]
    assert all(cv2.imread(str(out / "plots" / name)) is not None for name in plots)


def test_eval_rejects_an_unknown_protocol(capsys):
    with pytest.raises(SystemExit):
        main(["somewhere", "--protocol", "clicks,taps"])
    assert "--protocol: unknown taps" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not BERKELEY.is_dir(), reason="../shared/data/berkeley is not available")
def test_every_protocol_runs_on_berkeley():
    for protocol in ("scribbles", "box", "coarse", "correction"):
        summary = evaluate("classical", str(BERKELEY), protocol, workers=1, limit=2, progress=False)["summary"]
        assert summary["samples"] == 2 and summary["wall_s"] > 0


def test_tables_show_miou_at_k_only_where_some_run_went_that_far():
    from focalxl.evaluation import format_table

    early = {"method": "classical", "NoC90": 3.0, "mIoU@1": 0.4, "mIoU@5": 0.8, "mIoU@10": None, "mIoU@20": None}
    header = format_table([early]).splitlines()[0]
    assert "mIoU@5" in header and "mIoU@10" not in header and "baseline" not in header
    full = dict(early, **{"mIoU@10": 0.9, "mIoU@20": 0.95})
    header = format_table([full]).splitlines()[0]
    assert "mIoU@10" in header and "mIoU@20" in header


def test_a_clicks_summary_reports_first_click_failures_worsening_clicks_and_time_percentiles():
    from focalxl.evaluation import SampleRun

    runs = [("a", SampleRun(ious=[0.01, 0.6, 0.45, 0.9], clicks=[None] * 4, click_seconds=[0.1, 0.2, 0.3, 0.4])),
            ("b", SampleRun(ious=[0.7, 0.65, 0.95], clicks=[None] * 3, click_seconds=[1.0, 0.1, 0.1]))]
    summary = summarise("clicks", runs, 20, 1.0)["summary"]
    assert summary["first_fail"] == pytest.approx(0.5)
    assert summary["worse"] == 1                      # 0.6 -> 0.45; 0.7 -> 0.65 is within 0.1
    assert summary["seconds_p50"] == pytest.approx(0.2) and summary["seconds_max"] == pytest.approx(1.0)


def test_a_box_summary_counts_empty_masks():
    from focalxl.evaluation import PromptRun

    boxes = summarise("box", [("a", PromptRun(None, 0.0, 0.2, empty=True)), ("b", PromptRun(None, 0.7, 0.4))], 20, 1.0)
    assert boxes["summary"]["empty"] == 1 and boxes["summary"]["seconds_max"] == pytest.approx(0.4)
