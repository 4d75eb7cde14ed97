"""Context-Net: SAM's ViT image encoder with an adapter after every transformer block.

It sees the whole image once (resized like SAM: longer side to ``img_size``, padded
to a square) and gives a ``[B, out_chans, img_size/16, img_size/16]`` feature map that
the Object-Net crops with RoIAlign at every interaction.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..sam import PIXEL_MEAN, PIXEL_STD, image_encoder, preprocess_shape
from .adapter import Adapter
from .config import ContextConfig


class ContextNet(nn.Module):
    """``image_encoder`` keeps SAM's module names, so SAM's ``image_encoder.*`` weights load as they are."""

    def __init__(self, config: ContextConfig):
        super().__init__()
        self.image_encoder = image_encoder(config.img_size, config.patch_size, config.embed_dim, config.depth,
                                           config.num_heads, config.global_attn_indexes, config.window_size,
                                           config.out_chans)
        self.adapters = nn.ModuleList(Adapter(config.embed_dim, config.adapter_dim) for _ in range(config.depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: SAM-normalised ``[B, 3, img_size, img_size]`` -> context features."""
        encoder = self.image_encoder
        x = encoder.patch_embed(x)
        if encoder.pos_embed is not None:
            x = x + encoder.pos_embed
        for block, adapter in zip(encoder.blocks, self.adapters):
            x = adapter(block(x))
        return encoder.neck(x.permute(0, 3, 1, 2))


def sam_input(image: np.ndarray, img_size: int) -> Tuple[torch.Tensor, Tuple[int, int]]:
    """An ``uint8[H, W, 3]`` RGB image as SAM's encoder takes it, and its resized ``(height, width)``.

    Exactly ``SamPredictor.set_image``'s preprocessing: the longer side becomes
    ``img_size`` (PIL bilinear), colours are normalised with SAM's mean and deviation,
    and the bottom and right are zero-padded to a square.
    """
    height, width = preprocess_shape(image.shape[0], image.shape[1], img_size)
    resized = np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR), dtype=np.float32)
    padded = np.zeros((img_size, img_size, 3), dtype=np.float32)
    padded[:height, :width] = (resized - np.float32(PIXEL_MEAN)) / np.float32(PIXEL_STD)
    return torch.from_numpy(padded).permute(2, 0, 1)[None].contiguous(), (height, width)
