"""Interrupted jobs resume where they stopped: kill -9, Ctrl-C and a crashed worker lose and duplicate nothing."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coco_sets import make_coco_set


def command(coco_set, out: Path, *extra) -> list:
    return [sys.executable, "-m", "focalxl.cli", "annotate", "coco", str(coco_set.annotations),
            "--images", str(coco_set.images), "--out", str(out), "--prompt", "box", *extra]


def outcomes(journal: Path) -> int:
    if not journal.exists():
        return 0
    try:
        with sqlite3.connect(str(journal), timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0]
    except sqlite3.OperationalError:       # the job is creating its tables
        return 0


def wait_for(condition, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the job made no progress"
        time.sleep(0.05)


def workers_of(pid: int) -> list:
    """The job's worker processes (children started by multiprocessing's spawn, not its resource tracker)."""
    workers = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:      # a child that exited since the listing
            continue
        if b"spawn_main" in command and b"resource_tracker" not in command:
            workers.append(int(child))
    return workers


@pytest.fixture(scope="module")
def big_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    # Large frames: each box takes long enough that a signal sent after the third mask lands mid-run.
    coco_set = make_coco_set(root, images=6, height=720, width=960)
    reference = root / "reference.json"
    subprocess.run(command(coco_set, reference, "--quiet"), check=True, capture_output=True)
    return coco_set, reference.read_bytes()


@pytest.mark.parametrize("how", ["kill -9", "ctrl-c"])
def test_a_job_interrupted_mid_run_resumes_to_the_output_of_an_uninterrupted_run(big_set, tmp_path, how):
    coco_set, reference = big_set
    out, journal = tmp_path / "out.json", tmp_path / "out.journal.sqlite"
    # As from a terminal: a test run started in the background inherits an ignored SIGINT, which Python keeps.
    process = subprocess.Popen(command(coco_set, out, "--quiet"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_for(lambda: outcomes(journal) >= 3, process)
    process.send_signal(signal.SIGKILL if how == "kill -9" else signal.SIGINT)
    _, err = process.communicate(timeout=60)
    if how == "ctrl-c":
        assert process.returncode == 130 and b"run the same command again to resume" in err
    else:
        assert process.returncode == -signal.SIGKILL
    assert not out.exists()                       # the output appears whole, at the end, or not at all
    kept = outcomes(journal)
    assert 3 <= kept < 12
    resumed = subprocess.run(command(coco_set, out, "--quiet"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"done {12 - kept}, skipped (already done) {kept}, failed 0" in resumed.stdout
    assert out.read_bytes() == reference
    assert outcomes(journal) == 12


def test_a_crashed_worker_is_replaced_and_the_job_completes_with_every_mask(big_set, tmp_path):
    coco_set, reference = big_set
    out, journal = tmp_path / "out.json", tmp_path / "out.journal.sqlite"
    process = subprocess.Popen(command(coco_set, out, "--quiet", "--workers", "2"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: outcomes(journal) >= 2 and len(workers_of(process.pid)) == 2, process)
    os.kill(workers_of(process.pid)[0], signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert "done 12, skipped (already done) 0, failed 0" in stdout
    assert out.read_bytes() == reference
