"""SegFormer: the Mix Transformer (MiT) encoder and its all-MLP decode head.

Parameter names follow the SegFormer / FocalClick state dicts (``patch_embed1..4``,
``patch_embed_side1``, ``block1..4``, ``norm1..4``; ``linear_c1..4``, ``linear_fuse``,
``linear_pred``), so published weights load with strict key checking.

Interaction maps enter through ``side``: a ``[B, embed_dims[0], H/4, W/4]`` tensor added
to stage 1's output (after ``norm1``, before stage 2). FocalClick computes it with
``patch_embed_side1`` on its (previous mask, positive disks, negative disks) maps.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class MiTConfig:
    embed_dims: Tuple[int, int, int, int]
    depths: Tuple[int, int, int, int]
    num_heads: Tuple[int, int, int, int] = (1, 2, 5, 8)
    sr_ratios: Tuple[int, int, int, int] = (8, 4, 2, 1)
    mlp_ratio: int = 4


MIT_CONFIGS: Dict[str, MiTConfig] = {
    "b0": MiTConfig((32, 64, 160, 256), (2, 2, 2, 2)),
    "b1": MiTConfig((64, 128, 320, 512), (2, 2, 2, 2)),
    "b2": MiTConfig((64, 128, 320, 512), (3, 4, 6, 3)),
    "b3": MiTConfig((64, 128, 320, 512), (3, 4, 18, 3)),
    "b4": MiTConfig((64, 128, 320, 512), (3, 8, 27, 3)),
    "b5": MiTConfig((64, 128, 320, 512), (3, 6, 40, 3)),
}

IMAGENET_MEAN = (0.485, 0.456, 0.406)   # the colour statistics MiT (and FocalClick's HRNet) were pretrained with
IMAGENET_STD = (0.229, 0.224, 0.225)
_BLOCK_EPS = 1e-6   # MiT's blocks and stage norms use LayerNorm(eps=1e-6); patch embeds keep 1e-5


class OverlapPatchEmbed(nn.Module):
    """Strided convolution with overlapping windows, then LayerNorm over channels."""

    def __init__(self, in_chans: int, embed_dim: int, patch_size: int, stride: int):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, patch_size, stride, padding=patch_size // 2)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x: Tensor) -> Tensor:
        """``[B, C, H, W] -> [B, embed_dim, H', W']``."""
        x = self.proj(x)
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class EfficientAttention(nn.Module):
    """Multi-head self-attention whose keys and values come from a ``sr_ratio``-times smaller map."""

    def __init__(self, dim: int, num_heads: int, sr_ratio: int):
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, dim * 2)
        self.proj = nn.Linear(dim, dim)
        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, sr_ratio, sr_ratio)
            self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor, height: int, width: int) -> Tensor:
        batch, tokens, dim = x.shape
        heads = self.num_heads
        q = self.q(x).reshape(batch, tokens, heads, dim // heads).transpose(1, 2)
        source = x
        if self.sr_ratio > 1:
            grid = x.transpose(1, 2).reshape(batch, dim, height, width)
            source = self.norm(self.sr(grid).flatten(2).transpose(1, 2))
        k, v = self.kv(source).reshape(batch, -1, 2, heads, dim // heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(batch, tokens, dim))


class MixFFN(nn.Module):
    """Linear -> 3x3 depthwise conv -> GELU -> Linear (the conv gives MiT its positional cue)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = DepthwiseConv(hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor, height: int, width: int) -> Tensor:
        return self.fc2(self.act(self.dwconv(self.fc1(x), height, width)))


class DepthwiseConv(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 3, 1, 1, groups=dim)

    def forward(self, x: Tensor, height: int, width: int) -> Tensor:
        batch, tokens, dim = x.shape
        grid = x.transpose(1, 2).reshape(batch, dim, height, width)
        return self.dwconv(grid).flatten(2).transpose(1, 2)


class Block(nn.Module):
    """Pre-norm transformer block: efficient attention, then Mix-FFN."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: int, sr_ratio: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=_BLOCK_EPS)
        self.attn = EfficientAttention(dim, num_heads, sr_ratio)
        self.norm2 = nn.LayerNorm(dim, eps=_BLOCK_EPS)
        self.mlp = MixFFN(dim, dim * mlp_ratio)

    def forward(self, x: Tensor, height: int, width: int) -> Tensor:
        x = x + self.attn(self.norm1(x), height, width)
        return x + self.mlp(self.norm2(x), height, width)


class MixVisionTransformer(nn.Module):
    """The four-stage MiT encoder; returns feature maps at strides 4, 8, 16 and 32.

    ``side_channels`` > 0 adds ``patch_embed_side1`` (7x7 stride 4 embedding of the
    interaction maps, as in FocalClick); 0 leaves it out for callers with their own
    prompting layers.
    """

    def __init__(self, config: MiTConfig, in_chans: int = 3, side_channels: int = 3):
        super().__init__()
        self.config = config
        dims = config.embed_dims
        self.patch_embed1 = OverlapPatchEmbed(in_chans, dims[0], 7, 4)
        self.patch_embed2 = OverlapPatchEmbed(dims[0], dims[1], 3, 2)
        self.patch_embed3 = OverlapPatchEmbed(dims[1], dims[2], 3, 2)
        self.patch_embed4 = OverlapPatchEmbed(dims[2], dims[3], 3, 2)
        if side_channels > 0:
            self.patch_embed_side1 = OverlapPatchEmbed(side_channels, dims[0], 7, 4)
        for stage in range(4):
            blocks = nn.ModuleList(
                Block(dims[stage], config.num_heads[stage], config.mlp_ratio, config.sr_ratios[stage])
                for _ in range(config.depths[stage]))
            setattr(self, f"block{stage + 1}", blocks)
            setattr(self, f"norm{stage + 1}", nn.LayerNorm(dims[stage], eps=_BLOCK_EPS))

    @property
    def embed_dims(self) -> Tuple[int, int, int, int]:
        return self.config.embed_dims

    def forward(self, image: Tensor, side: Optional[Tensor] = None) -> List[Tensor]:
        """``[c1, c2, c3, c4]``; ``side`` joins after stage 1 (``c1`` is taken before it)."""
        outs: List[Tensor] = []
        x = image
        for stage in range(1, 5):
            x = getattr(self, f"patch_embed{stage}")(x)
            batch, dim, height, width = x.shape
            tokens = x.flatten(2).transpose(1, 2)
            for block in getattr(self, f"block{stage}"):
                tokens = block(tokens, height, width)
            tokens = getattr(self, f"norm{stage}")(tokens)
            x = tokens.transpose(1, 2).reshape(batch, dim, height, width)
            outs.append(x)
            if stage == 1 and side is not None:
                x = x + side
        return outs


def mit(version: str, in_chans: int = 3, side_channels: int = 3) -> MixVisionTransformer:
    """MiT-``version`` (``b0`` .. ``b5``)."""
    if version not in MIT_CONFIGS:
        raise ValueError(f"unknown MiT version {version!r}; choose one of {', '.join(MIT_CONFIGS)}")
    return MixVisionTransformer(MIT_CONFIGS[version], in_chans, side_channels)


class LinearEmbedding(nn.Module):
    """Per-pixel linear projection of a feature map (SegFormer's ``MLP``)."""

    def __init__(self, in_dim: int, embed_dim: int):
        super().__init__()
        self.proj = nn.Linear(in_dim, embed_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvBNReLU(nn.Module):
    """1x1 conv without bias, BatchNorm, ReLU (keys ``conv`` and ``bn``, as mmcv's ConvModule)."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.conv = nn.Conv2d(in_dim, out_dim, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_dim)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


class SegFormerHead(nn.Module):
    """All-MLP decoder: embed c1..c4 to one width, upsample to stride 4, fuse, predict."""

    def __init__(self, in_channels: Sequence[int], embed_dim: int, num_classes: int = 1):
        super().__init__()
        c1, c2, c3, c4 = in_channels
        self.linear_c4 = LinearEmbedding(c4, embed_dim)
        self.linear_c3 = LinearEmbedding(c3, embed_dim)
        self.linear_c2 = LinearEmbedding(c2, embed_dim)
        self.linear_c1 = LinearEmbedding(c1, embed_dim)
        self.linear_fuse = ConvBNReLU(4 * embed_dim, embed_dim)
        self.linear_pred = nn.Conv2d(embed_dim, num_classes, 1)

    def forward(self, features: Sequence[Tensor]) -> Tuple[Tensor, Tensor]:
        """``(logits, fused feature)``, both at ``c1``'s resolution."""
        c1, c2, c3, c4 = features
        embedded = [self.linear_c4(c4), self.linear_c3(c3), self.linear_c2(c2)]
        upsampled = [F.interpolate(x, size=c1.shape[-2:], mode="bilinear", align_corners=False) for x in embedded]
        fused = self.linear_fuse(torch.cat([*upsampled, self.linear_c1(c1)], dim=1))
        return self.linear_pred(fused), fused
