"""Tiny FocalClick-XL configurations for the test_xl_* files (random weights, fast on a CPU)."""
from __future__ import annotations

import torch

from focalxl.models import sam as sam_networks
from focalxl.models.sam_modeling import modeling
from focalxl.models.xl.config import ContextConfig, DetailConfig, ObjectConfig, XLConfig

TINY_CONTEXT = ContextConfig(img_size=64, patch_size=16, embed_dim=32, depth=2, num_heads=2, global_attn_indexes=(1,),
                             window_size=2, out_chans=16, adapter_dim=8)
TINY = XLConfig(context=TINY_CONTEXT,
                object=ObjectConfig(embed_dims=(8, 16, 24, 32), depths=(1, 1, 1, 1), num_heads=(1, 1, 1, 1),
                                    head_dim=16),
                detail=DetailConfig(width_mult=0.25, decoder_dims=(16, 8, 8, 8), output_dim=8),
                input_size=64, detail_size=96, patch_size=64, trimap_band=2)


def sam_config(context: ContextConfig = TINY_CONTEXT) -> sam_networks.SamConfig:
    """A whole SAM (official layout) whose image encoder is ``context``'s, with a tiny decoder."""
    return sam_networks.SamConfig(
        encoder_embed_dim=context.embed_dim, encoder_depth=context.depth, encoder_num_heads=context.num_heads,
        encoder_global_attn_indexes=context.global_attn_indexes, prompt_embed_dim=context.out_chans,
        image_size=context.img_size, patch_size=context.patch_size, window_size=context.window_size,
        mask_in_chans=4, decoder_depth=1, decoder_mlp_dim=16, decoder_num_heads=2, iou_head_hidden_dim=8)


def tiny_sam(context: ContextConfig = TINY_CONTEXT, seed: int = 0) -> modeling.Sam:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return sam_networks.build(sam_config(context))
