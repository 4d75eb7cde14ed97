"""The bottleneck adapter placed after every transformer block of the Context-Net."""
from __future__ import annotations

import torch
from torch import nn


class Adapter(nn.Module):
    """``x + Conv1x1(GELU(Conv3x3(x)))`` on a channels-last token map ``[B, H, W, C]``.

    The 3x3 convolution squeezes ``dim`` channels into ``bottleneck`` and mixes
    neighbouring tokens; the 1x1 convolution brings them back. The last convolution
    starts at zero, so an adapted encoder starts out computing exactly what the
    pretrained one does.
    """

    def __init__(self, dim: int, bottleneck: int):
        super().__init__()
        self.down = nn.Conv2d(dim, bottleneck, kernel_size=3, padding=1)
        self.act = nn.GELU()
        self.up = nn.Conv2d(bottleneck, dim, kernel_size=1)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        delta = self.up(self.act(self.down(x.permute(0, 3, 1, 2))))
        return x + delta.permute(0, 2, 3, 1)
