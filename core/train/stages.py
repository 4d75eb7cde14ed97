"""Which parameters train, and at which learning rate, for each preset and stage.

* FocalClick presets train end to end (stage ``all``): Adam, the SegFormer backbone at
  0.1x the learning rate (ClickSEG ``backbone_lr_mult``); HRNet's feature extractor at 2x,
  which is what ClickSEG's last ``LRMult(2)`` leaves in force. Parameters the published
  forward never uses (SegFormer's ``maps_transform``, the Refiner's ``feature_gate``) stay frozen.
* FocalClick-XL trains in the paper's stages:

  ``object``           Object-Net + the Context-Net's adapters on clicks; SAM's encoder frozen;
  ``prompt-box``       only the box prompting layer; everything else frozen;
  ``prompt-scribble``  only the scribble prompting layer;
  ``prompt-mask``      only the coarse-mask prompting layer;
  ``detail``           only the Detail-Net;
  ``all``              the five stages above, one after the other.
"""
from __future__ import annotations

from typing import Dict, List, Sequence

from torch import nn

from ..models.focalclick import FocalClick
from ..models.segformer import MixVisionTransformer, SegFormerHead
from ..models.xl.focalclick_xl import FocalClickXL

XL_STAGES = ("object", "prompt-box", "prompt-scribble", "prompt-mask", "detail")
STAGES = XL_STAGES + ("all",)
PROMPT_KINDS = {"prompt-box": "box", "prompt-scribble": "scribble", "prompt-mask": "mask"}
DEFAULT_LR = {"segformer": 5e-3, "hrnet": 5e-4, "xl": 5e-4}   # ClickSEG's SegFormer / HRNet settings


def stage_plan(network: nn.Module, stage: str) -> List[str]:
    """The stages a ``--stage`` value runs, in order."""
    if isinstance(network, FocalClick):
        if stage != "all":
            raise ValueError(f"--stage {stage}: FocalClick presets train segmentor and refiner together "
                             f"(--stage all); the staged recipe is FocalClick-XL's")
        return ["all"]
    return list(XL_STAGES) if stage == "all" else [stage]


def default_lr(network: nn.Module) -> float:
    if isinstance(network, FocalClick):
        return DEFAULT_LR[network.arch.family]
    return DEFAULT_LR["xl"]


def trainable_modules(network: nn.Module, stage: str) -> Sequence[nn.Module]:
    if isinstance(network, FocalClick):
        return [network.feature_extractor, network.refiner] + ([network.maps_transform]
                                                                if network.arch.family == "hrnet" else [])
    assert isinstance(network, FocalClickXL)
    if stage == "object":
        return [network.object_net, network.context_net.adapters]
    if stage in PROMPT_KINDS:
        return [network.object_net.prompting.layers[PROMPT_KINDS[stage]]]
    if stage == "detail":
        return [network.detail_net]
    raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")


def cancelled_by_batchnorm(network: nn.Module) -> List[nn.Parameter]:
    """Biases a BatchNorm right after them subtracts again: their true gradient is exactly zero,
    so training them would only make Adam follow rounding noise (and make runs differ by it).

    A convolution's bias directly before a BatchNorm (in a ``Sequential`` or a ``conv`` + ``norm``
    / ``bn`` pair), SegFormer's ``linear_c*`` biases (a bias-free 1x1 convolution and a BatchNorm
    follow them) and the last MiT stage norm's bias, which reaches only ``linear_c4``.
    """
    found: List[nn.Parameter] = []
    for module in network.modules():
        children = list(module.children()) if isinstance(module, nn.Sequential) else []
        for first, second in zip(children, children[1:]):
            if isinstance(first, nn.Conv2d) and first.bias is not None and isinstance(second, nn.BatchNorm2d):
                found.append(first.bias)
        conv, norm = getattr(module, "conv", None), getattr(module, "norm", getattr(module, "bn", None))
        if isinstance(conv, nn.Conv2d) and conv.bias is not None and isinstance(norm, nn.BatchNorm2d):
            found.append(conv.bias)
        if isinstance(module, SegFormerHead):
            found += [getattr(module, f"linear_c{i}").proj.bias for i in range(1, 5)]
        if isinstance(module, MixVisionTransformer):
            found.append(module.norm4.bias)
    return found


def freeze_for(network: nn.Module, stage: str) -> None:
    """``requires_grad`` on exactly the stage's parameters (less :func:`cancelled_by_batchnorm`);
    frozen parts also stay in eval mode (see :func:`train_mode`)."""
    network.requires_grad_(False)
    for module in trainable_modules(network, stage):
        module.requires_grad_(True)
    if isinstance(network, FocalClick) and hasattr(network.refiner, "feature_gate"):
        network.refiner.feature_gate.requires_grad_(False)
    for parameter in cancelled_by_batchnorm(network):
        parameter.requires_grad_(False)


def train_mode(network: nn.Module, stage: str) -> None:
    """Training mode for the trained parts only: frozen BatchNorm keeps its running statistics."""
    network.eval()
    for module in trainable_modules(network, stage):
        module.train()


def parameter_groups(network: nn.Module, stage: str, lr: float) -> List[Dict]:
    """Adam parameter groups with ClickSEG's learning-rate multipliers."""
    multipliers: Dict[int, float] = {}
    if isinstance(network, FocalClick):
        extractor = network.feature_extractor
        if network.arch.family == "segformer":
            for parameter in extractor.backbone.parameters():
                multipliers[id(parameter)] = 0.1
        else:
            for parameter in extractor.parameters():
                multipliers[id(parameter)] = 2.0
    groups: Dict[float, List[nn.Parameter]] = {}
    for parameter in network.parameters():
        if parameter.requires_grad:
            groups.setdefault(multipliers.get(id(parameter), 1.0), []).append(parameter)
    return [{"params": params, "lr": lr * mult, "lr_mult": mult} for mult, params in sorted(groups.items())]
