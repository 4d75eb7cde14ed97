"""HRNet with an OCR head, as RITM and FocalClick use it (``HighResolutionNet``).

Four stages keep parallel branches at strides 4, 8, 16 and 32 and fuse them after
every module; the branches are upsampled, concatenated and passed through OCR
(object-contextual representations). Parameter names follow the RITM / FocalClick
state dicts so published weights load strictly.

Interaction maps enter after the stem's first conv (``extra`` in :meth:`forward`), as
RITM's Conv1S fusion does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class HRNetConfig:
    width: int
    ocr_width: int
    small: bool

    @property
    def blocks(self) -> int:
        return 2 if self.small else 4

    @property
    def feature_dim(self) -> int:
        """Channels of the OCR output feature (what FocalClick's refiner takes)."""
        return 2 * self.ocr_width


HRNET_CONFIGS: Dict[str, HRNetConfig] = {
    "hrnet18s": HRNetConfig(width=18, ocr_width=48, small=True),
    "hrnet18": HRNetConfig(width=18, ocr_width=64, small=False),
    "hrnet32": HRNetConfig(width=32, ocr_width=128, small=False),
}


def _conv_bn(in_dim: int, out_dim: int, kernel: int, stride: int = 1, relu: bool = True) -> nn.Sequential:
    layers: List[nn.Module] = [nn.Conv2d(in_dim, out_dim, kernel, stride, kernel // 2, bias=False),
                               nn.BatchNorm2d(out_dim)]
    if relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Optional[nn.Module] = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Optional[nn.Module] = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


def _residual_stack(block, inplanes: int, planes: int, count: int) -> nn.Sequential:
    downsample = None
    if inplanes != planes * block.expansion:
        downsample = _conv_bn(inplanes, planes * block.expansion, 1, relu=False)
    layers = [block(inplanes, planes, 1, downsample)]
    layers += [block(planes * block.expansion, planes) for _ in range(1, count)]
    return nn.Sequential(*layers)


class HighResolutionModule(nn.Module):
    """Residual branches, then every branch receives the sum of all branches resampled to it."""

    def __init__(self, channels: Sequence[int], blocks: int):
        super().__init__()
        self.branches = nn.ModuleList(_residual_stack(BasicBlock, c, c, blocks) for c in channels)
        self.fuse_layers = nn.ModuleList(
            nn.ModuleList(self._fuse(channels, source, target) for source in range(len(channels)))
            for target in range(len(channels)))

    @staticmethod
    def _fuse(channels: Sequence[int], source: int, target: int) -> nn.Module:
        if source == target:
            return nn.Identity()
        if source > target:
            return _conv_bn(channels[source], channels[target], 1, relu=False)
        steps = [_conv_bn(channels[source], channels[source], 3, 2) for _ in range(target - source - 1)]
        steps.append(_conv_bn(channels[source], channels[target], 3, 2, relu=False))
        return nn.Sequential(*steps)

    def forward(self, xs: List[Tensor]) -> List[Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        fused = []
        for target, layers in enumerate(self.fuse_layers):
            total = xs[target]
            for source, layer in enumerate(layers):
                if source == target:
                    continue
                y = layer(xs[source])
                if source > target:
                    y = F.interpolate(y, size=xs[target].shape[-2:], mode="bilinear", align_corners=True)
                total = total + y
            fused.append(F.relu(total))
        return fused


class ObjectAttentionBlock(nn.Module):
    """Pixels attend to the object regions' representations (OCR's ObjectAttentionBlock2D)."""

    def __init__(self, in_channels: int, key_channels: int):
        super().__init__()
        self.key_channels = key_channels
        self.f_pixel = nn.Sequential(*self._project(in_channels, key_channels),
                                     *self._project(key_channels, key_channels))
        self.f_object = nn.Sequential(*self._project(in_channels, key_channels),
                                      *self._project(key_channels, key_channels))
        self.f_down = nn.Sequential(*self._project(in_channels, key_channels))
        self.f_up = nn.Sequential(*self._project(key_channels, in_channels))

    @staticmethod
    def _project(in_dim: int, out_dim: int) -> Tuple[nn.Module, nn.Module]:
        return nn.Conv2d(in_dim, out_dim, 1, bias=False), nn.Sequential(nn.BatchNorm2d(out_dim), nn.ReLU())

    def forward(self, x: Tensor, proxy: Tensor) -> Tensor:
        batch, _, height, width = x.shape
        query = self.f_pixel(x).flatten(2).transpose(1, 2)
        key = self.f_object(proxy).flatten(2)
        value = self.f_down(proxy).flatten(2).transpose(1, 2)
        attention = torch.softmax(query @ key * self.key_channels ** -0.5, dim=-1)
        context = (attention @ value).transpose(1, 2).reshape(batch, self.key_channels, height, width)
        return self.f_up(context)


class SpatialOCR(nn.Module):
    def __init__(self, channels: int, key_channels: int):
        super().__init__()
        self.object_context_block = ObjectAttentionBlock(channels, key_channels)
        self.conv_bn_dropout = nn.Sequential(nn.Conv2d(2 * channels, channels, 1, bias=False),
                                             nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU()))

    def forward(self, feats: Tensor, regions: Tensor) -> Tensor:
        context = self.object_context_block(feats, regions)
        return self.conv_bn_dropout(torch.cat([context, feats], 1))


def _gather_regions(feats: Tensor, logits: Tensor) -> Tensor:
    """Soft object regions: features averaged with softmax(logits) over the pixels -> ``[B, C, K, 1]``."""
    weights = torch.softmax(logits.flatten(2), dim=2)
    return (weights @ feats.flatten(2).transpose(1, 2)).transpose(1, 2).unsqueeze(3)


class HighResolutionNet(nn.Module):
    """HRNet-W``width`` + OCR; ``forward`` returns ``(logits, aux logits, OCR feature)`` at stride 4."""

    def __init__(self, config: HRNetConfig, num_classes: int = 1):
        super().__init__()
        self.config = config
        width, blocks = config.width, config.blocks
        self.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = nn.Conv2d(64, 64, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.layer1 = _residual_stack(Bottleneck, 64, 64, blocks)
        modules = (1, 3, 2) if config.small else (1, 4, 3)
        previous = [64 * Bottleneck.expansion]
        for stage, count in zip((2, 3, 4), modules):
            channels = [width * 2 ** i for i in range(stage)]
            setattr(self, f"transition{stage - 1}", self._transition(previous, channels))
            modules_of_stage = (HighResolutionModule(channels, blocks) for _ in range(count))
            setattr(self, f"stage{stage}", nn.Sequential(*modules_of_stage))
            previous = channels
        total = sum(previous)
        mid = config.feature_dim
        self.conv3x3_ocr = nn.Sequential(nn.Conv2d(total, mid, 3, 1, 1), nn.BatchNorm2d(mid), nn.ReLU())
        self.ocr_distri_head = SpatialOCR(mid, config.ocr_width)
        self.cls_head = nn.Conv2d(mid, num_classes, 1)
        self.aux_head = nn.Sequential(nn.Conv2d(total, total, 1), nn.BatchNorm2d(total), nn.ReLU(),
                                      nn.Conv2d(total, num_classes, 1))

    @staticmethod
    def _transition(previous: Sequence[int], channels: Sequence[int]) -> nn.ModuleList:
        layers: List[nn.Module] = []
        for i, out_dim in enumerate(channels):
            if i < len(previous):
                layers.append(nn.Identity() if previous[i] == out_dim else _conv_bn(previous[i], out_dim, 3))
            else:
                steps = [_conv_bn(previous[-1], previous[-1], 3, 2) for _ in range(i - len(previous))]
                steps.append(_conv_bn(previous[-1], out_dim, 3, 2))
                layers.append(nn.Sequential(*steps))
        return nn.ModuleList(layers)

    def forward(self, image: Tensor, extra: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor]:
        x = F.relu(self.bn1(self.conv1(image)))
        if extra is not None:
            x = x + extra
        x = self.layer1(F.relu(self.bn2(self.conv2(x))))
        branches = [x]
        for stage in (2, 3, 4):
            transition = getattr(self, f"transition{stage - 1}")
            inputs = [layer(branches[min(i, len(branches) - 1)]) for i, layer in enumerate(transition)]
            branches = getattr(self, f"stage{stage}")(inputs)
        size = branches[0].shape[-2:]
        feats = torch.cat([branches[0]] + [F.interpolate(b, size=size, mode="bilinear", align_corners=True)
                                           for b in branches[1:]], 1)
        aux = self.auxiliary(branches, feats)
        feats = self.conv3x3_ocr(feats)
        feats = self.ocr_distri_head(feats, _gather_regions(feats, aux))
        return self.cls_head(feats), aux, feats

    def auxiliary(self, branches: List[Tensor], feats: Tensor) -> Tensor:
        """The auxiliary (soft object region) logits of ``feats``, the branches upsampled and concatenated."""
        return self.aux_head(feats)


def hrnet(name: str) -> HighResolutionNet:
    """``hrnet18s``, ``hrnet18`` or ``hrnet32`` with OCR, one output class."""
    if name not in HRNET_CONFIGS:
        raise ValueError(f"unknown HRNet {name!r}; choose one of {', '.join(HRNET_CONFIGS)}")
    return HighResolutionNet(HRNET_CONFIGS[name])
