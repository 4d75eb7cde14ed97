"""The training loop end to end on tiny synthetic data: it learns, it runs data-parallel and
resumes exactly, it survives bad data, and what it writes loads with focalxl.load and runs
focalxl eval."""
from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import focalxl
from focalxl import Click
from focalxl.evaluation.datasets import FolderDataset
from focalxl.models.checkpoints import read_checkpoint
from focalxl.models.xl.focalclick_xl import build_focalclick_xl
from focalxl.train.datasets import TrainingSet, collate
from focalxl.train.loop import Options, train
from focalxl.train.stages import freeze_for, parameter_groups, train_mode
from focalxl.train.xl_tasks import build_xl_task
from synthetic import write_folder_dataset

REPO = Path(__file__).resolve().parents[2]


def _xl_state(path: Path):
    return read_checkpoint(path)["state_dict"]


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "focalxl.train", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600, **kwargs)


def _xl_args(tiny_xl, data, out, *extra):
    return ["focalclick-xl-b", "--init", tiny_xl, "--data", data, "--out", out, "--threads", "1", *extra]


def test_a_tiny_model_overfits_one_batch(folder_dataset):
    """Object-Net on one batch of four: the NFL halves and the prediction fits the masks."""
    from xl_tiny import TINY

    torch.manual_seed(0)
    network = build_focalclick_xl(TINY, 0)
    task = build_xl_task(network, "object", [FolderDataset(folder_dataset)])
    batch = collate([TrainingSet(task.sources, task.make, 0)[i] for i in range(4)])
    batch.pop("skipped")
    freeze_for(network, "object")
    optimizer = torch.optim.Adam(parameter_groups(network, "object", 2e-3))
    losses = []
    for step in range(50):
        train_mode(network, "object")
        loss = task.objective(**task.objective.prepare(dict(batch), 0, 0, step))["total"].mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 2
    with torch.no_grad():
        network.eval()
        inputs = task.objective.prepare(dict(batch), 0, 0, 0)
        logits = task.objective._predict(inputs["image"], "click", inputs["prompt"], inputs["prev"],
                                         network.context_net(batch["context_image"]), inputs["boxes"])
    pred, gt = logits[:, 0] > 0, batch["label"][:, 0] > 0.5
    assert float((pred & gt).sum() / (pred | gt).sum()) > 0.8


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("stage, tolerance", [("object", 5e-5), ("detail", 2.5e-4)])
def test_two_gloo_processes_give_the_weights_of_one_process_on_the_same_global_batch(
        tiny_xl, folder_dataset, matting_folder, tmp_path, stage, tolerance):
    common = ["--stage", stage, "--steps", "2", "--batch-size", "4", "--data", matting_folder]
    single = _run(_xl_args(tiny_xl, folder_dataset, tmp_path / "one", *common))
    assert single.returncode == 0, single.stderr
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    double = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                             "--master_addr=127.0.0.1", f"--master_port={_free_port()}", "-m", "focalxl.train",
                             *map(str, _xl_args(tiny_xl, folder_dataset, tmp_path / "two", *common))],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert double.returncode == 0, double.stderr
    one, two = _xl_state(tmp_path / "one" / "last.pth"), _xl_state(tmp_path / "two" / "last.pth")
    initial = _xl_state(tiny_xl)
    trained = [key for key in one if not torch.equal(one[key], initial[key])]
    assert trained, "nothing trained"
    # Equal up to float rounding, which Adam (a step of about lr per element whatever the gradient's
    # size) magnifies only where the true gradient is about zero: training freezes the biases a
    # BatchNorm cancels; MiT's key biases (cancelled by the softmax) stay within a tenth of a step
    # (lr 5e-4); the tiny Detail-Net's deep BatchNorm shifts, with gradients below Adam's eps, within half.
    for key in one:
        assert torch.allclose(one[key].float(), two[key].float(), atol=tolerance, rtol=1e-4), key
    losses = []
    for run in ("one", "two"):
        with (tmp_path / run / "log.csv").open() as file:
            losses.append([float(row["total"]) for row in csv.DictReader(file)])
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)


@pytest.mark.slow
def test_kill_and_resume_reproduces_the_uninterrupted_run(tiny_xl, folder_dataset, tmp_path):
    """Killed with SIGKILL and resumed (with data-loader workers this time), the run ends with
    exactly the weights of the same run left alone."""
    common = ["--stage", "object", "--steps", "10", "--batch-size", "2", "--save-every", "2"]
    straight = _run(_xl_args(tiny_xl, folder_dataset, tmp_path / "straight", *common))
    common += ["--workers", "2"]
    assert straight.returncode == 0, straight.stderr
    out = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-m", "focalxl.train",
                                *map(str, _xl_args(tiny_xl, folder_dataset, out, *common))],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 300
    while not (out / "resume.pth").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    stopped_at = read_checkpoint(out / "resume.pth")["step"]
    assert stopped_at < 10
    resumed = _run(_xl_args(tiny_xl, folder_dataset, out, *common, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    a, b = _xl_state(tmp_path / "straight" / "last.pth"), _xl_state(out / "last.pth")
    for key in a:
        assert torch.equal(a[key], b[key]), key
    steps = [int(line.split(",")[0]) for line in (out / "log.csv").read_text().splitlines()[1:]]
    assert steps == list(range(1, 11))


def test_each_xl_stage_trains_only_its_own_parameters(tiny_xl, folder_dataset, matting_folder, tmp_path):
    initial = _xl_state(tiny_xl)
    owners = {"prompt-box": "object_net.prompting.layers.box.", "prompt-scribble": "object_net.prompting.layers.scribble.",
              "prompt-mask": "object_net.prompting.layers.mask.", "detail": "detail_net."}
    for stage, prefix in owners.items():
        out = tmp_path / stage
        train(Options("focalclick-xl-b", [str(folder_dataset), str(matting_folder)], out, stage=stage,
                      init=str(tiny_xl), steps=2, batch_size=2, threads=1))
        state = _xl_state(out / "last.pth")
        changed = {key for key in state if not torch.equal(state[key], initial[key])}
        assert changed and all(key.startswith(prefix) for key in changed), (stage, sorted(changed)[:5])
    out = tmp_path / "object"
    train(Options("focalclick-xl-b", [str(folder_dataset)], out, stage="object", init=str(tiny_xl), steps=2,
                  batch_size=2, threads=1))
    changed = {key for key, value in _xl_state(out / "last.pth").items() if not torch.equal(value, initial[key])}
    assert any(key.startswith("context_net.adapters.") for key in changed)
    assert any(key.startswith("object_net.") for key in changed)
    assert not any(key.startswith(("context_net.image_encoder.", "detail_net.")) for key in changed)


def _spoil(root: Path) -> None:
    """One mask of the wrong size, one empty mask, one image that is not an image."""
    cv2.imwrite(str(root / "masks" / "1.png"), np.zeros((10, 10), np.uint8) + 255)
    cv2.imwrite(str(root / "masks" / "2.png"), np.zeros((96, 128), np.uint8))
    (root / "images" / "3.png").write_bytes(b"not a picture")


@pytest.mark.slow
def test_bad_samples_are_skipped_and_counted_never_fatal(tiny_xl, tmp_path):
    data = write_folder_dataset(tmp_path / "bad")
    _spoil(data)
    result = _run(_xl_args(tiny_xl, data, tmp_path / "run", "--stage", "object", "--epochs", "1",
                           "--batch-size", "4"))
    assert result.returncode == 0, result.stderr
    assert "skipped" in result.stderr
    with (tmp_path / "run" / "log.csv").open() as file:
        skipped = [int(row["skipped"]) for row in csv.DictReader(file)]
    assert skipped[-1] >= 2


def _coco_export(root: Path) -> Path:
    """A COCO json as Label Studio and CVAT export it: polygons over the folder's pictures."""
    folder = write_folder_dataset(root, count=4)
    images, annotations = [], []
    for i in range(4):
        mask = cv2.imread(str(folder / "masks" / f"{i}.png"), cv2.IMREAD_GRAYSCALE)
        contours, _ = cv2.findContours((mask > 127).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        polygon = max(contours, key=cv2.contourArea).reshape(-1).astype(float).tolist()
        images.append({"id": i + 1, "file_name": f"images/{i}.png", "height": 96, "width": 128})
        annotations.append({"id": i + 1, "image_id": i + 1, "category_id": 1, "segmentation": [polygon],
                            "area": float((mask > 127).sum()), "bbox": list(cv2.boundingRect(mask)), "iscrowd": 0})
    path = folder / "result.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": [{"id": 1, "name": "object"}]}), encoding="utf-8")
    return path


@pytest.mark.slow
def test_fine_tuning_a_published_checkpoint_on_a_coco_export_loads_and_evaluates(tmp_path):
    """The README recipe: --init a FocalClick file in the published format, --data a COCO export."""
    from focalxl.models.focalclick import build
    from focalxl.predictors.focalclick import PRESETS
    from focalxl.train.checkpoints import isegm_config

    preset = "focalclick-segformer-b0-s1"
    torch.manual_seed(1)
    published = tmp_path / "published.pth"
    torch.save({"state_dict": build(PRESETS[preset]).state_dict(), "config": isegm_config(PRESETS[preset])}, published)
    export = _coco_export(tmp_path / "export")
    out = tmp_path / "run"
    result = _run([preset, "--data", export, "--init", published, "--out", out, "--steps", "1", "--batch-size", "2",
                   "--precision", "bf16", "--threads", "1"])
    assert result.returncode == 0, result.stderr
    for name in ("initial.pth", "last.pth", "best.pth", "resume.pth", "log.csv"):
        assert (out / name).is_file(), name
    assert (out / "tensorboard").is_dir()
    assert torch.equal(read_checkpoint(out / "initial.pth")["state_dict"]["refiner.refine_pred.weight"],
                       read_checkpoint(published)["state_dict"]["refiner.refine_pred.weight"])
    session = focalxl.load(preset, checkpoint=str(out / "best.pth"), device="cpu").new_session(
        cv2.imread(str(export.parent / "images" / "1.png"))[:, :, ::-1].copy())
    assert session.add(Click(64.0, 48.0)).mask.shape == (96, 128)
    evaluated = subprocess.run([sys.executable, "-m", "focalxl.cli", "eval", str(export), "--preset", preset,
                                "--checkpoint", str(out / "best.pth"), "--baseline", "none", "--limit", "2",
                                "--max-clicks", "2", "--workers", "1", "--quiet"],
                               cwd=REPO, capture_output=True, text=True, timeout=600,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert evaluated.returncode == 0, evaluated.stderr
    assert preset in evaluated.stdout and "NoC90" in evaluated.stdout


def test_a_trained_xl_checkpoint_loads_with_focalxl_load(tiny_xl, folder_dataset, tmp_path):
    train(Options("focalclick-xl-b", [str(folder_dataset)], tmp_path, stage="prompt-box", init=str(tiny_xl),
                  steps=1, batch_size=2, threads=1))
    image = np.zeros((64, 80, 3), np.uint8)
    result = focalxl.load("focalclick-xl-b", checkpoint=str(tmp_path / "best.pth"), device="cpu").new_session(
        image).add(focalxl.Box(10, 10, 50, 40))
    assert result.mask.shape == (64, 80)
