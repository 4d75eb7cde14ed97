"""The click-evaluation harness: clicker, metrics, dataset reader, protocol, baseline, runner."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import focalxl
from focalxl.evaluation import (Clicker, DatasetError, FolderDataset, PlainGrabCut, clicks_to_reach,
                                evaluate, evaluate_sample, format_table, iou, main, miou_at, next_click,
                                nof, noc)
from focalxl.evaluation.run import table_rows

BERKELEY = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "berkeley"


def square(shape, top, left, size):
    mask = np.zeros(shape, dtype=bool)
    mask[top:top + size, left:left + size] = True
    return mask


# --- clicker ---------------------------------------------------------------------------

def test_click_goes_to_the_centre_of_the_larger_missed_region():
    gt = square((30, 30), 5, 5, 9)                   # 9x9 object, nothing predicted: false negative
    pred = square((30, 30), 20, 20, 3)               # a 3x3 false positive elsewhere
    click = next_click(gt, pred)
    assert click == focalxl.Click(x=9.5, y=9.5, positive=True)   # centre pixel (row 9, col 9)


def test_click_is_negative_when_the_false_positive_region_is_larger():
    gt = square((30, 30), 20, 20, 3)                 # 3x3 object, missed
    pred = gt | square((30, 30), 2, 4, 9)            # 9x9 spill-over
    click = next_click(gt, pred)
    assert click == focalxl.Click(x=8.5, y=6.5, positive=False)


def test_no_click_when_the_prediction_is_perfect():
    gt = square((20, 20), 4, 4, 6)
    assert next_click(gt, gt.copy()) is None


def test_image_border_counts_as_the_error_border():
    gt = np.zeros((30, 30), dtype=bool)
    gt[:9] = True                                    # a band along the top edge, 9 rows high
    click = next_click(gt, np.zeros_like(gt))
    assert click.positive and click.y == 4.5         # middle row of the band, not the edge


def test_ignored_pixels_are_neither_errors_nor_clicked():
    gt = square((30, 30), 5, 5, 9)
    ignore = square((30, 30), 4, 4, 11) & ~gt        # GrabCut-style 1-px band around the object
    assert next_click(gt, gt | ignore, ignore) is None          # spilling into the band is no error
    big_but_ignored = square((30, 30), 5, 5, 9)
    fp = square((30, 30), 20, 20, 3)
    click = next_click(big_but_ignored, fp, ignore=big_but_ignored.copy())
    assert click == focalxl.Click(x=21.5, y=21.5, positive=False)


def test_a_tie_gives_a_negative_click_as_in_the_published_clicker():
    gt = square((30, 30), 2, 2, 5)
    pred = square((30, 30), 20, 20, 5)
    assert next_click(gt, pred).positive is False


def test_clicker_never_clicks_the_same_pixel_twice():
    gt = square((30, 30), 5, 5, 9)
    clicker = Clicker(gt)
    empty = np.zeros_like(gt)
    first, second = clicker.next(empty), clicker.next(empty)
    assert (first.x, first.y) == (9.5, 9.5)
    assert (second.x, second.y) != (first.x, first.y) and second.positive
    assert clicker.clicks == [first, second]


# --- metrics ---------------------------------------------------------------------------

def test_iou_counts_pixels_and_leaves_ignored_ones_out():
    gt = np.array([[1, 1, 1, 1, 0]], dtype=bool)
    pred = np.array([[0, 0, 1, 1, 1]], dtype=bool)
    assert iou(gt, pred) == pytest.approx(2 / 5)
    ignore = np.array([[1, 0, 0, 0, 1]], dtype=bool)
    assert iou(gt, pred, ignore) == pytest.approx(2 / 3)
    assert iou(np.zeros((2, 2), bool), np.zeros((2, 2), bool)) == 1.0


def test_noc_is_the_first_click_reaching_the_threshold_else_max_clicks():
    ious = [0.5, 0.86, 0.91]
    assert clicks_to_reach(ious, 0.85) == 2
    assert clicks_to_reach(ious, 0.90) == 3
    assert clicks_to_reach([0.5] * 20, 0.90) == 20
    assert clicks_to_reach([0.95], 0.90, max_clicks=20) == 1


def test_noc_and_nof_over_samples():
    samples = [[0.5, 0.86, 0.91],                    # NoC85 2, NoC90 3
               [0.95],                               # 1, 1
               [0.1] * 20,                           # 20, 20: a failure
               [0.1] * 19 + [0.92]]                  # 20, 20: reached only at the last click
    assert noc(samples, 0.85) == pytest.approx((2 + 1 + 20 + 20) / 4)
    assert noc(samples, 0.90) == pytest.approx((3 + 1 + 20 + 20) / 4)
    assert nof(samples, 0.90) == 2                   # the published convention: NoC == max_clicks
    assert noc([[0.5, 0.95]], 0.90, max_clicks=1) == 1   # clicks past max_clicks do not count


def test_miou_at_k_needs_every_sample_to_have_k_clicks():
    samples = [[0.2, 0.4, 0.6], [0.4, 0.8, 1.0]]
    assert miou_at(samples, 1) == pytest.approx(0.3)
    assert miou_at(samples, 3) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="mIoU@4"):
        miou_at(samples, 4)


# --- dataset reader --------------------------------------------------------------------

def write_dataset(root: Path, count: int = 2, size: int = 48) -> Path:
    """A folder of bright disks on a dark background; instance 0 has a GrabCut-style 128 band."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    lines = []
    rng = np.random.default_rng(0)
    for i in range(count):
        centre = (size // 2 + 3 * i, size // 2)
        image = rng.integers(20, 50, (size, size, 3), dtype=np.uint8)
        cv2.circle(image, centre, 12, (40, 60, 230), -1)          # BGR: a red disk
        mask = np.zeros((size, size), np.uint8)
        if i == 0:
            cv2.circle(mask, centre, 13, 128, -1)
        cv2.circle(mask, centre, 12, 255, -1)
        cv2.imwrite(str(root / "images" / f"img{i}.png"), image)
        cv2.imwrite(str(root / "masks" / f"obj{i}.png"), mask)
        lines.append(f"images/img{i}.png\tmasks/obj{i}.png")
    (root / "pairs.tsv").write_text("\n".join(lines) + "\n")
    return root


def test_dataset_reads_rgb_images_masks_and_the_ignore_band(tmp_path):
    dataset = FolderDataset(write_dataset(tmp_path / "set"))
    assert len(dataset) == 2
    sample = dataset[0]
    assert sample.name == "obj0"
    assert sample.image.dtype == np.uint8 and sample.image.shape == (48, 48, 3)
    assert tuple(sample.image[24, 24]) == (230, 60, 40)               # RGB order
    assert sample.gt.dtype == bool and sample.gt[24, 24] and not sample.gt[0, 0]
    assert sample.ignore is not None and sample.ignore[24, 24 + 13] and not (sample.ignore & sample.gt).any()
    assert dataset[1].ignore is None                                  # no 128 pixels: nothing ignored
    assert [s.name for s in dataset] == ["obj0", "obj1"]


def test_dataset_names_a_missing_file(tmp_path):
    root = write_dataset(tmp_path / "set")
    (root / "masks" / "obj1.png").unlink()
    with pytest.raises(DatasetError, match=r"obj1\.png.*not found"):
        FolderDataset(root)


def test_dataset_names_an_unreadable_file_and_a_bad_line(tmp_path):
    root = write_dataset(tmp_path / "set")
    (root / "images" / "img0.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match=r"img0\.png.*not an image file"):
        FolderDataset(root)[0]
    (root / "pairs.tsv").write_text("images/img1.png masks/obj1.png\n")
    with pytest.raises(DatasetError, match=r"pairs\.tsv:1: expected 'image<TAB>mask'"):
        FolderDataset(root)
    with pytest.raises(DatasetError, match="pairs.tsv: not found"):
        FolderDataset(tmp_path / "set" / "images")


# --- protocol --------------------------------------------------------------------------

class RevealAfter:
    """A fake method: empty masks until its ``n``-th click, then the ground truth."""

    def __init__(self, gt, n):
        self.gt, self.n, self.clicks = gt, n, 0

    def add(self, click):
        self.clicks += 1
        return focalxl.Result(mask=self.gt if self.clicks >= self.n else np.zeros_like(self.gt),
                              alpha=None, score=0.0, bbox=None)


def test_protocol_stops_at_the_target_iou_after_min_clicks():
    gt = square((30, 30), 5, 5, 9)
    image = np.zeros((30, 30, 3), np.uint8)
    run = evaluate_sample(lambda img: RevealAfter(gt, 3), image, gt, stop_iou=0.90)
    assert run.ious == [0.0, 0.0, 1.0] and len(run.clicks) == 3 and all(c.positive for c in run.clicks)
    run = evaluate_sample(lambda img: RevealAfter(gt, 3), image, gt, stop_iou=0.90, min_clicks=5)
    assert run.ious == [0.0, 0.0, 1.0, 1.0, 1.0]     # nothing left to fix: the mask and IoU stay
    assert len(run.clicks) == 3
    run = evaluate_sample(lambda img: RevealAfter(gt, 30), image, gt, stop_iou=None)
    assert run.ious == [0.0] * 20 and len(run.clicks) == 20


def test_plain_grabcut_segments_a_bright_disk():
    size = 64
    image = np.full((size, size, 3), 30, np.uint8)
    cv2.circle(image, (32, 30), 14, (240, 230, 220), -1)
    image = (image + np.random.default_rng(1).integers(0, 12, image.shape)).astype(np.uint8)
    gt = np.zeros((size, size), np.uint8)
    cv2.circle(gt, (32, 30), 14, 1, -1)
    gt = gt.astype(bool)
    run = evaluate_sample(PlainGrabCut().new_session, image, gt, max_clicks=5, stop_iou=None)
    assert run.clicks[0] == focalxl.Click(x=32.5, y=30.5, positive=True)
    assert max(run.ious) >= 0.9


def test_plain_grabcut_labels_are_only_the_click_disks():
    session = PlainGrabCut(radius=2).new_session(np.zeros((10, 10, 3), np.uint8))
    session.clicks = [focalxl.Click(2.5, 2.5, True), focalxl.Click(7.5, 7.5, False)]
    labels = session.seed_labels()
    assert labels[2, 2] == cv2.GC_FGD and labels[2, 4] == cv2.GC_FGD and labels[2, 5] == cv2.GC_PR_BGD
    assert labels[7, 7] == cv2.GC_BGD and labels[0, 9] == cv2.GC_PR_BGD
    assert np.count_nonzero(labels == cv2.GC_FGD) == 13               # a radius-2 disk


# --- runner ----------------------------------------------------------------------------

def test_evaluate_summarises_a_dataset(tmp_path):
    root = write_dataset(tmp_path / "set")
    result = evaluate("grabcut", str(root), workers=1, progress=False)
    summary = result["summary"]
    assert summary["samples"] == 2 and set(result["samples"]) == {"obj0", "obj1"}
    assert 1 <= summary["NoC85"] <= summary["NoC90"] <= 20
    assert summary["mIoU@5"] is not None and summary["seconds_per_click"] > 0
    assert all(len(ious) >= 5 for ious in result["samples"].values())   # min_clicks=5 by default


def test_evaluate_in_worker_processes_matches_one_process(tmp_path):
    root = write_dataset(tmp_path / "set", count=3)
    one = evaluate("grabcut", str(root), workers=1, progress=False)
    two = evaluate("grabcut", str(root), workers=2, progress=False)
    assert one["samples"] == two["samples"]


def test_table_shows_noc90_relative_to_the_baseline():
    results = [{"method": "classical", "summary": {"NoC85": 3.0, "NoC90": 4.0, "NoF90": 1, "mIoU@1": 0.5,
                                                   "mIoU@5": None, "seconds_per_click": 0.1, "samples": 2,
                                                   "wall_s": 1.0}},
               {"method": "grabcut", "summary": {"NoC85": 6.0, "NoC90": 8.0, "NoF90": 3, "mIoU@1": 0.4,
                                                 "mIoU@5": 0.7, "seconds_per_click": 0.2, "samples": 2,
                                                 "wall_s": 2.0}}]
    table = format_table(table_rows(results))
    lines = table.splitlines()
    assert "NoC90 ÷ baseline" in lines[0] and len(lines) == 4
    assert "| 0.50 " in lines[2] and "| 1.00 " in lines[3]          # 4.0 / 8.0 and 8.0 / 8.0
    assert "–" in lines[2]                                           # mIoU@5 not available


def test_main_compares_preset_and_baseline_and_writes_json(tmp_path, capsys):
    root = write_dataset(tmp_path / "set")
    out = tmp_path / "out.json"
    assert main([str(root), "--preset", "classical", "--baseline", "grabcut", "--limit", "1",
                 "--workers", "1", "--quiet", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "classical" in printed and "grabcut" in printed and "NoC90 ÷ baseline" in printed
    saved = json.loads(out.read_text())
    assert [r["method"] for r in saved] == ["classical", "grabcut"]
    assert list(saved[0]["samples"]) == ["obj0"]


def test_main_reports_a_bad_dataset_without_a_traceback(tmp_path, capsys):
    assert main([str(tmp_path / "nowhere"), "--quiet"]) == 2
    assert "nowhere: dataset folder not found" in capsys.readouterr().err


def test_main_rejects_an_unknown_method(capsys):
    with pytest.raises(SystemExit):
        main(["somewhere", "--preset", "no-such-preset"])
    assert "unknown method 'no-such-preset'" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not BERKELEY.is_dir(), reason="../shared/data/berkeley is not available")
def test_berkeley_runs_end_to_end_for_preset_and_baseline():
    for method in ("classical", "grabcut"):
        result = evaluate(method, str(BERKELEY), workers=1, limit=3, progress=False)
        summary = result["summary"]
        assert summary["samples"] == 3
        assert 1 <= summary["NoC90"] <= 20 and 0 <= summary["NoF90"] <= 3
        assert 0.0 <= summary["mIoU@1"] <= 1.0


def test_the_clicks_summary_reports_cpu_time_percentiles_per_click():
    from focalxl.evaluation.run import evaluate
    from focalxl.evaluation.datasets import Sample
    rng = np.random.default_rng(0)
    image = rng.integers(0, 60, (64, 80, 3), dtype=np.uint8)
    gt = np.zeros((64, 80), bool)
    gt[20:44, 25:55] = True
    image[gt] = (200, 90, 40)
    summary = evaluate("classical", [Sample("square", image, gt, None)], max_clicks=3, workers=1,
                       progress=False)["summary"]
    assert 0.0 < summary["cpu_p50"] <= summary["cpu_p95"] <= summary["cpu_max"]


def test_click_shift_prints_the_share_of_instances_whose_first_click_jumps(tmp_path, capsys):
    from focalxl.evaluation import click_shift
    root = write_dataset(tmp_path / "disks")
    assert click_shift.main([str(root), "--workers", "1"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{root}: classical first click mIoU ")
    assert line.endswith("% of 2 instances")
    assert len(click_shift.shifted_ious("classical", str(root), 0)) == 5


@pytest.mark.parametrize("argv, named", [(["/nonexistent"], "dataset folder not found"),
                                         (["--preset", "nope", "x"], "--preset"), (["--workers", "0", "x"], "--workers")])
def test_click_shift_refuses_bad_arguments_with_a_usage_error_naming_them(argv, named, capsys):
    from focalxl.evaluation import click_shift
    with pytest.raises(SystemExit) as exit_info:
        click_shift.main(argv)
    assert exit_info.value.code == 2 and named in capsys.readouterr().err
