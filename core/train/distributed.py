"""Data parallelism: ``torchrun`` process groups (gloo on CPU, NCCL on GPU), the sampler,
batch normalisation over the global batch, and the ``DistributedDataParallel`` wrapper.

One process (plain ``focalxl train``) is the same code with a world of one. BatchNorm
layers become synchronised when the world is bigger, so K processes compute what one
process computes on the same global batch: ``torch.nn.SyncBatchNorm`` on GPUs, and on
CPUs — which ``SyncBatchNorm`` does not support — :class:`GlobalBatchNorm`, which
all-reduces the batch's sums through ``torch.distributed.nn`` so gradients flow back.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator, Optional

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from ..runtime import pick_device


@dataclass(frozen=True)
class World:
    rank: int
    size: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def start(device: Optional[str] = None) -> World:
    """Join the ``torchrun`` process group when launched by it; a world of one otherwise."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World(0, 1, pick_device(device))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    chosen = pick_device(device)
    if chosen.type == "cuda":
        chosen = torch.device("cuda", local)
        torch.cuda.set_device(chosen)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo")
    return World(dist.get_rank(), dist.get_world_size(), chosen)


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier(world: World) -> None:
    if world.size > 1:
        dist.barrier()


def sum_over(world: World, value: float) -> float:
    if world.size == 1:
        return value
    tensor = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(tensor)
    return float(tensor.item())


class GlobalBatchNorm(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics cover every rank's batch (CPU-capable SyncBatchNorm)."""

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or not dist.is_initialized() or dist.get_world_size() == 1:
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        channels = x.shape[1]
        count = torch.tensor([x.numel() / channels], dtype=x.dtype, device=x.device)
        stats = all_reduce(torch.cat([x.sum(dim=(0, 2, 3)), (x * x).sum(dim=(0, 2, 3)), count]))
        total = stats[-1]
        mean = stats[:channels] / total
        var = stats[channels:2 * channels] / total - mean * mean
        with torch.no_grad():
            self.num_batches_tracked += 1
            momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
            self.running_mean.mul_(1 - momentum).add_(momentum * mean.detach())
            unbiased = var.detach() * total / (total - 1).clamp(min=1)
            self.running_var.mul_(1 - momentum).add_(momentum * unbiased)
        shape = (1, channels, 1, 1)
        y = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
        return y * self.weight.view(shape) + self.bias.view(shape) if self.affine else y


def synchronise_batchnorm(module: nn.Module, world: World) -> nn.Module:
    """Every BatchNorm2d made global-batch when the world has several ranks (weights kept)."""
    if world.size == 1:
        return module
    if world.device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    for name, child in module.named_children():
        if type(child) is nn.BatchNorm2d:
            replacement = GlobalBatchNorm(child.num_features, child.eps, child.momentum, child.affine,
                                          child.track_running_stats).to(child.weight.device)
            replacement.load_state_dict(child.state_dict())
            replacement.requires_grad_(child.weight.requires_grad)
            replacement.train(child.training)
            setattr(module, name, replacement)
        else:
            synchronise_batchnorm(child, world)
    return module


def wrap(objective: nn.Module, world: World) -> nn.Module:
    """``DistributedDataParallel`` around the objective when the world has several ranks."""
    if world.size == 1:
        return objective
    ids = [world.device.index] if world.device.type == "cuda" else None
    return DistributedDataParallel(objective, device_ids=ids, find_unused_parameters=True)


class ResumableSampler(DistributedSampler):
    """``DistributedSampler`` that can start an epoch after the ``skip`` samples this rank already took."""

    def __init__(self, dataset, world: World, seed: int):
        super().__init__(dataset, num_replicas=world.size, rank=world.rank, shuffle=True, seed=seed, drop_last=True)
        self.skip = 0

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        return iter(indices[self.skip:])

    def __len__(self) -> int:
        return self.num_samples - self.skip
