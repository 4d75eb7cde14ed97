"""Detail-Net: a U-Net with a MobileNetV2 encoder predicting alpha from image + trimap.

Input ``[B, 6, H, W]``: the ImageNet-normalised RGB patch and the trimap as three
one-hot channels (confident foreground, confident background, unknown). Output: alpha
logits ``[B, 1, H, W]``. ``H`` and ``W`` should be multiples of 32.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import DetailConfig
from .mobilenetv2 import MobileNetV2

IN_CHANS = 6


def conv_bn_relu(inp: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inp, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True))


class UpBlock(nn.Module):
    """Upsample to the skip's size, concatenate it, two 3x3 convolutions."""

    def __init__(self, inp: int, skip: int, out: int):
        super().__init__()
        self.fuse = nn.Sequential(conv_bn_relu(inp + skip, out), conv_bn_relu(out, out))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.fuse(torch.cat([x, skip], dim=1))


class DetailNet(nn.Module):
    def __init__(self, config: DetailConfig):
        super().__init__()
        self.encoder = MobileNetV2(in_chans=IN_CHANS, width_mult=config.width_mult)
        skips = self.encoder.channels[:-1][::-1]      # strides 16, 8, 4, 2
        if len(config.decoder_dims) != len(skips):
            raise ValueError(f"config.detail.decoder_dims needs {len(skips)} entries (strides 16, 8, 4, 2), "
                             f"got {list(config.decoder_dims)}")
        blocks, channels = [], self.encoder.channels[-1]
        for skip, out in zip(skips, config.decoder_dims):
            blocks.append(UpBlock(channels, skip, out))
            channels = out
        self.decoder = nn.ModuleList(blocks)
        self.head = nn.Sequential(conv_bn_relu(channels + IN_CHANS, config.output_dim),
                                  nn.Conv2d(config.output_dim, 1, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        taps = self.encoder(x)
        y = taps[-1]
        for block, skip in zip(self.decoder, taps[-2::-1]):
            y = block(y, skip)
        y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(torch.cat([y, x], dim=1))
