"""Object-Net: SegFormer on the Target Crop, steered by prompts and by the image's context.

The crop's RGB goes through MiT's patch embeddings as usual. What steers it enters
stage 1 through ``side``: the prompting layers' embedding of the bi-maps and previous
mask, plus the Context-Net features under the crop, RoI-aligned to stage 1's grid and
projected to its width. SegFormer's MLP head then gives the primitive mask's logits.
"""
from __future__ import annotations

from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..roi_align import roi_align
from ..segformer import MiTConfig, MixVisionTransformer, SegFormerHead
from .config import ObjectConfig
from .prompting import Prompting


class ObjectNet(nn.Module):
    def __init__(self, config: ObjectConfig, context_dim: int):
        super().__init__()
        mit = MiTConfig(tuple(config.embed_dims), tuple(config.depths), tuple(config.num_heads),
                        tuple(config.sr_ratios), config.mlp_ratio)
        self.backbone = MixVisionTransformer(mit, in_chans=3, side_channels=0)
        self.prompting = Prompting(config.embed_dims[0])
        self.context_fusion = nn.Conv2d(context_dim, config.embed_dims[0], kernel_size=1)
        self.decode_head = SegFormerHead(config.embed_dims, config.head_dim, num_classes=1)

    def forward(self, image: torch.Tensor, bimaps: Mapping[str, torch.Tensor], prev_mask: torch.Tensor,
                context: torch.Tensor, boxes: torch.Tensor, context_scale: float) -> torch.Tensor:
        """Primitive-mask logits ``[B, 1, H, W]``.

        ``image``: ImageNet-normalised ``[B, 3, H, W]``; ``bimaps``: kind -> ``[B, 2, H, W]``;
        ``prev_mask``: ``[B, 1, H, W]`` probabilities; ``context``: Context-Net features
        ``[N, C, h, w]``; ``boxes``: ``[B, 5]`` (context index, x1, y1, x2, y2), the crop's
        extent in the frame where ``context_scale`` maps onto ``context``'s grid.
        """
        side = self.prompting(bimaps, prev_mask)
        rois = roi_align(context, boxes, tuple(side.shape[-2:]), spatial_scale=context_scale, aligned=True)
        side = side + self.context_fusion(rois.to(side.dtype))
        logits, _ = self.decode_head(self.backbone(image, side=side))
        return F.interpolate(logits, size=image.shape[-2:], mode="bilinear", align_corners=False)
