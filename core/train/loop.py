"""The training loop: stages, steps, gradient accumulation, mixed precision, validation,
checkpoints and exact resume, on one process or every rank of a ``torchrun`` world.

``--batch-size`` is the global batch of one optimizer step. Each rank takes
``batch / (world * accumulate)`` samples per forward pass, so the same command on one
process or K processes (or with gradient accumulation) averages the gradient of the same
samples. Random choices never depend on the rank: samples draw from
``[seed, epoch, index]``, the number of corrective rounds from ``[seed, stage, step]``.
"""
from __future__ import annotations

import contextlib
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..runtime import set_cpu_threads
from . import checkpoints, distributed
from .datasets import TrainingSet, collate, open_source
from .logs import RunLog, validation_row
from .objectives import MAX_CORRECTIVE_ROUNDS
from .stages import default_lr, freeze_for, parameter_groups, stage_plan, train_mode
from .tasks import build_task

MILESTONES = (190 / 230, 210 / 230)   # ClickSEG: MultiStepLR([190, 210], 0.1) over 230 epochs
GAMMA = 0.1


@dataclass
class Options:
    preset: str
    data: List[str]
    out: Path
    stage: str = "all"
    init: Optional[str] = None
    steps: Optional[int] = None
    epochs: Optional[int] = None
    batch_size: int = 8
    accumulate: int = 1
    lr: Optional[float] = None
    val: Optional[str] = None
    val_every: int = 0
    save_every: int = 50
    precision: str = "fp32"
    workers: int = 0
    resume: bool = False
    seed: int = 0
    device: Optional[str] = None
    threads: Optional[int] = None


def train(options: Options) -> Dict[str, Any]:
    """Run every stage of ``options.stage``; returns what the run measured (rank 0)."""
    set_cpu_threads(options.threads)
    world = distributed.start(options.device)
    try:
        return _train(options, world)
    finally:
        distributed.stop()


def _train(options: Options, world: distributed.World) -> Dict[str, Any]:
    out = Path(options.out)
    if world.main:
        out.mkdir(parents=True, exist_ok=True)
    distributed.barrier(world)
    torch.manual_seed(options.seed)
    np.random.seed(options.seed)
    network = checkpoints.initial_network(options.preset, options.init, options.seed)
    network = distributed.synchronise_batchnorm(network, world).to(world.device)
    sources = [open_source(path) for path in options.data]
    resume = checkpoints.read_resume(out / "resume.pth") if options.resume and (out / "resume.pth").is_file() else None
    if options.resume and resume is None and world.main:
        print(f"note: --resume: no {out / 'resume.pth'} yet, starting from the beginning")
    if resume is not None:
        network.load_state_dict(resume["model"])
    elif world.main:
        checkpoints.save_model(network, options.preset, out / "initial.pth")
    plan = stage_plan(network, options.stage)
    summary: Dict[str, Any] = {"preset": options.preset, "world": world.size, "stages": {}}
    first = resume["stage_index"] if resume is not None else 0
    for stage_index in range(first, len(plan)):
        continuing = resume is not None and stage_index == resume["stage_index"] and resume["stage"] == plan[stage_index]
        state = resume if continuing else None
        summary["stages"][plan[stage_index]] = _run_stage(options, world, network, sources, plan, stage_index, state)
    return summary


def _run_stage(options: Options, world: distributed.World, network: torch.nn.Module, sources: List[Any],
               plan: List[str], stage_index: int, resume: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    out = Path(options.out)
    stage = plan[stage_index]
    task = build_task(network, stage, sources)
    dataset = TrainingSet(task.sources, task.make, options.seed)
    per_pass = options.batch_size // (world.size * options.accumulate)
    if per_pass < 1 or per_pass * world.size * options.accumulate != options.batch_size:
        raise ValueError(f"--batch-size {options.batch_size} must be a multiple of processes x accumulation "
                         f"({world.size} x {options.accumulate})")
    steps_per_epoch = len(dataset) // options.batch_size
    if steps_per_epoch < 1:
        raise ValueError(f"--batch-size {options.batch_size} is larger than the {len(dataset)} training samples")
    total = options.steps if options.steps is not None else (options.epochs or 1) * steps_per_epoch

    freeze_for(network, stage)
    lr = options.lr if options.lr is not None else default_lr(network)
    optimizer = torch.optim.Adam(parameter_groups(network, stage, lr), betas=(0.9, 0.999), eps=1e-8)
    milestones = sorted({max(1, math.floor(total * m)) for m in MILESTONES})
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, GAMMA)
    objective = task.objective
    model = distributed.wrap(objective, world)
    sampler = distributed.ResumableSampler(dataset, world, options.seed)

    step, epoch, taken, best = 0, 0, 0, None
    if resume is not None:
        optimizer.load_state_dict(resume["optimizer"])
        scheduler.load_state_dict(resume["scheduler"])
        step, epoch, taken, best = resume["step"], resume["epoch"], resume["taken"], resume.get("best")
        checkpoints.restore_rng_states(resume["rng"])
    log = RunLog(out, world.main, total, step, stage, plan[:stage_index])
    log.note(f"{options.preset} stage {stage}: {len(dataset)} samples, {total} steps of {options.batch_size} "
             f"({world.size} process(es) x {options.accumulate} pass(es) x {per_pass}), lr {lr:g}")
    autocast = (torch.autocast(world.device.type, dtype=torch.bfloat16) if options.precision == "bf16"
                else contextlib.nullcontext())
    skipped_total, window_losses, measured = 0, [], {"losses": [], "samples_per_s": []}
    loader_iter = None
    while step < total:
        if loader_iter is None:
            dataset.epoch = epoch
            sampler.set_epoch(epoch)
            sampler.skip = taken
            loader = DataLoader(dataset, batch_size=per_pass, sampler=sampler, num_workers=options.workers,
                                collate_fn=collate, drop_last=True)
            loader_iter = iter(loader)
        started = time.perf_counter()
        train_mode(network, stage)
        rounds = int(np.random.default_rng([options.seed, stage_index, step]).integers(0, MAX_CORRECTIVE_ROUNDS + 1))
        optimizer.zero_grad(set_to_none=True)
        sums: Dict[str, float] = {}
        skipped: List[str] = []
        for micro in range(options.accumulate):
            batch = next(loader_iter)
            skipped += batch.pop("skipped")
            batch = {key: value.to(world.device) for key, value in batch.items()}
            inputs = objective.prepare(batch, rounds, options.seed, step)
            sync = model.no_sync() if (world.size > 1 and micro < options.accumulate - 1) else contextlib.nullcontext()
            with sync:
                with autocast:
                    losses = model(**inputs)
                (losses["total"].mean() / options.accumulate).backward()
            for name, value in losses.items():
                sums[name] = sums.get(name, 0.0) + float(value.detach().float().sum())
        optimizer.step()
        scheduler.step()
        step += 1
        taken += per_pass * options.accumulate
        if taken + per_pass * options.accumulate > sampler.num_samples:   # the epoch is used up
            epoch, taken, loader_iter = epoch + 1, 0, None
        count = distributed.sum_over(world, float(per_pass * options.accumulate))
        row = {name: distributed.sum_over(world, value) / count for name, value in sorted(sums.items())}
        skipped_now = int(distributed.sum_over(world, float(len(skipped))))
        skipped_total += skipped_now
        for reason in skipped:
            log.note(f"warning: skipped unreadable sample {reason}")
        elapsed = time.perf_counter() - started
        group = optimizer.param_groups[0]
        row.update(step=step, epoch=epoch, stage=stage, lr=group["lr"] / group["lr_mult"],
                   samples_per_s=options.batch_size / elapsed, step_s=elapsed, skipped=skipped_total)
        window_losses.append(row["total"])
        measured["losses"].append(row["total"])
        measured["samples_per_s"].append(row["samples_per_s"])
        finishing = step == total
        if finishing or step % options.save_every == 0 or (options.val_every and step % options.val_every == 0):
            if world.main:
                checkpoints.save_model(network, options.preset, out / "last.pth")
            summary = None
            if options.val and (finishing or (options.val_every and step % options.val_every == 0)):
                summary = _validate(options, world, out / "last.pth")
                row.update(validation_row(summary))
            score = _score(summary, window_losses)
            if world.main and (best is None or score < best):
                best = score
                shutil.copyfile(out / "last.pth", out / "best.pth")
            window_losses = []
            if world.main:
                checkpoints.save_resume(out / "resume.pth", {
                    "model": network.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "step": step, "epoch": epoch, "taken": taken,
                    "best": best, "stage_index": stage_index if not finishing else stage_index + 1,
                    "stage": stage, "preset": options.preset})
            distributed.barrier(world)
        log.step(row)
    log.close()
    if skipped_total and world.main:
        print(f"warning: {skipped_total} unreadable sample(s) were skipped in stage {stage}")
    return {"steps": total, "skipped": skipped_total, "first_loss": measured["losses"][0] if measured["losses"] else None,
            "last_loss": measured["losses"][-1] if measured["losses"] else None,
            "samples_per_s": float(np.median(measured["samples_per_s"])) if measured["samples_per_s"] else None}


def _score(summary: Optional[Dict[str, Any]], window_losses: List[float]) -> tuple:
    """Lower is better: validation NoC90 then -mIoU@5; without validation the mean training loss."""
    if summary:
        return (0, summary["NoC90"], -(summary.get("mIoU@5") or 0.0))
    return (1, float(np.mean(window_losses)) if window_losses else float("inf"), 0.0)


def _validate(options: Options, world: distributed.World, checkpoint: Path) -> Optional[Dict[str, Any]]:
    """NoC / mIoU of ``checkpoint`` on ``--val`` with the evaluation suite's clicks protocol (rank 0)."""
    if not world.main:
        return None
    from ..evaluation.run import evaluate

    result = evaluate(options.preset, options.val, "clicks", workers=max(1, options.workers), progress=False,
                      checkpoint=str(checkpoint))
    return result["summary"]
