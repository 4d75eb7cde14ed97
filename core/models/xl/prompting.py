"""Prompting layers: one per interaction kind, turning that kind's bi-map into an embedding.

Each layer sees its kind's (positive, negative) bi-map plus the previous mask and
embeds them like SegFormer's patch embeddings (7x7 convolution, stride 4, LayerNorm).
The embeddings of the kinds present are summed into the Object-Net's stage-1 ``side``
input, so one backbone serves clicks, boxes, scribbles and coarse masks while each
kind keeps its own encoding.
"""
from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

from ..segformer import OverlapPatchEmbed

KINDS = ("click", "box", "scribble", "mask")   # ``Interaction.kind`` values
MAP_CHANNELS = 3                                # bi-map positive, negative, previous mask


class Prompting(nn.Module):
    """The four prompting layers, keyed by interaction kind."""

    def __init__(self, dim: int):
        super().__init__()
        self.layers = nn.ModuleDict({kind: OverlapPatchEmbed(MAP_CHANNELS, dim, 7, 4) for kind in KINDS})

    def forward(self, bimaps: Mapping[str, torch.Tensor], prev_mask: torch.Tensor) -> torch.Tensor:
        """Sum over the kinds present of ``layers[kind](bi-map [B, 2, H, W] ++ prev_mask [B, 1, H, W])``,
        a ``[B, dim, H/4, W/4]`` embedding."""
        if not bimaps:
            raise ValueError("bimaps is empty: the Object-Net needs at least one interaction")
        unknown = sorted(set(bimaps) - set(KINDS))
        if unknown:
            raise ValueError(f"bimaps has unknown interaction kinds {unknown}; expected some of {list(KINDS)}")
        return sum(self.layers[kind](torch.cat([bimap, prev_mask], dim=1)) for kind, bimap in bimaps.items())
