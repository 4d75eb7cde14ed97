"""MobileNetV2 (Sandler et al., 2018) as a U-Net encoder.

Module names follow torchvision's ``mobilenet_v2`` (``features.N...``), so its ImageNet
weights map onto ``features.0`` - ``features.17`` one to one (the first convolution
aside when ``in_chans`` is not 3). The final 1x1 convolution to 1280 channels is left
out: the U-Net decoder reads the five feature strides instead.
"""
from __future__ import annotations

from typing import List

import torch
from torch import nn

# (expansion t, channels c, repeats n, first stride s), the paper's Table 2
INVERTED_RESIDUALS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                      (6, 320, 1, 1))
STEM_CHANNELS = 32
TAPS = (1, 3, 6, 13, 17)   # ``features`` indices ending at strides 2, 4, 8, 16 and 32


def make_divisible(value: float, divisor: int = 8) -> int:
    """Channels rounded to a multiple of ``divisor``, never more than 10 % below ``value``."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def conv_bn_relu6(inp: int, out: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(out), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    """Expand (1x1) -> depthwise 3x3 -> linear projection (1x1), with a skip when shapes allow."""

    def __init__(self, inp: int, out: int, stride: int, expansion: int):
        super().__init__()
        hidden = round(inp * expansion)
        self.use_skip = stride == 1 and inp == out
        layers: List[nn.Module] = [conv_bn_relu6(inp, hidden, kernel=1)] if expansion != 1 else []
        layers += [conv_bn_relu6(hidden, hidden, stride=stride, groups=hidden),
                   nn.Conv2d(hidden, out, 1, bias=False), nn.BatchNorm2d(out)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_skip else self.conv(x)


class MobileNetV2(nn.Module):
    """``forward(x)`` -> the feature maps at strides 2, 4, 8, 16 and 32."""

    def __init__(self, in_chans: int = 3, width_mult: float = 1.0):
        super().__init__()
        channels = make_divisible(STEM_CHANNELS * width_mult)
        layers: List[nn.Module] = [conv_bn_relu6(in_chans, channels, stride=2)]
        for expansion, base, repeats, stride in INVERTED_RESIDUALS:
            out = make_divisible(base * width_mult)
            for i in range(repeats):
                layers.append(InvertedResidual(channels, out, stride if i == 0 else 1, expansion))
                channels = out
        self.features = nn.Sequential(*layers)
        self.channels = [self._out_channels(index) for index in TAPS]

    def _out_channels(self, index: int) -> int:
        return self.features[index].conv[-1].num_features

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        taps = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in TAPS:
                taps.append(x)
        return taps
