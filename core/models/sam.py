"""Segment Anything networks: the official configurations, building them, loading checkpoints.

The official checkpoints (``sam_vit_{b,l,h}_*.pth``) are plain state dicts of
``segment_anything.modeling.Sam``. A :class:`SamConfig` describes one network; the
official three differ only in their image encoder. Smaller configurations build the
same modules, so tests can save and load tiny models in the official format.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial
from typing import Optional, Sequence, Tuple

import torch

from .checkpoints import load_strict, read_checkpoint
from .sam_modeling import modeling

PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)


@dataclass(frozen=True)
class SamConfig:
    """Sizes of a SAM network (defaults: the official decoder and prompt encoder)."""

    encoder_embed_dim: int
    encoder_depth: int
    encoder_num_heads: int
    encoder_global_attn_indexes: Tuple[int, ...]
    prompt_embed_dim: int = 256
    image_size: int = 1024
    patch_size: int = 16
    window_size: int = 14
    mask_in_chans: int = 16
    decoder_depth: int = 2
    decoder_mlp_dim: int = 2048
    decoder_num_heads: int = 8
    iou_head_hidden_dim: int = 256


OFFICIAL = {
    "vit_b": SamConfig(768, 12, 12, (2, 5, 8, 11)),
    "vit_l": SamConfig(1024, 24, 16, (5, 11, 17, 23)),
    "vit_h": SamConfig(1280, 32, 16, (7, 15, 23, 31)),
}


def image_encoder(img_size: int, patch_size: int, embed_dim: int, depth: int, num_heads: int,
                  global_attn_indexes: Sequence[int], window_size: int, out_chans: int) -> modeling.ImageEncoderViT:
    """SAM's ViT image encoder with the settings every official SAM shares (MLP ratio 4,
    LayerNorm eps 1e-6, qkv bias, relative positions)."""
    return modeling.ImageEncoderViT(
        img_size=img_size, patch_size=patch_size, embed_dim=embed_dim, depth=depth, num_heads=num_heads,
        mlp_ratio=4, out_chans=out_chans, qkv_bias=True, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
        use_rel_pos=True, window_size=window_size, global_attn_indexes=tuple(global_attn_indexes))


def build(config: SamConfig) -> modeling.Sam:
    """A SAM network with freshly initialised (random) weights, in eval mode."""
    embedding_size = config.image_size // config.patch_size
    sam = modeling.Sam(
        image_encoder=image_encoder(config.image_size, config.patch_size, config.encoder_embed_dim,
                                    config.encoder_depth, config.encoder_num_heads,
                                    config.encoder_global_attn_indexes, config.window_size, config.prompt_embed_dim),
        prompt_encoder=modeling.PromptEncoder(
            embed_dim=config.prompt_embed_dim, image_embedding_size=(embedding_size, embedding_size),
            input_image_size=(config.image_size, config.image_size), mask_in_chans=config.mask_in_chans),
        mask_decoder=modeling.MaskDecoder(
            num_multimask_outputs=3,
            transformer=modeling.TwoWayTransformer(depth=config.decoder_depth, embedding_dim=config.prompt_embed_dim,
                                                   mlp_dim=config.decoder_mlp_dim, num_heads=config.decoder_num_heads),
            transformer_dim=config.prompt_embed_dim, iou_head_depth=3, iou_head_hidden_dim=config.iou_head_hidden_dim),
        pixel_mean=list(PIXEL_MEAN),
        pixel_std=list(PIXEL_STD),
    )
    return sam.eval()


def load(config: SamConfig, checkpoint: Optional[str | os.PathLike]) -> modeling.Sam:
    """``config``'s network with the weights of ``checkpoint`` (strictly), or random weights for ``None``."""
    sam = build(config)
    if checkpoint is not None:
        load_strict(sam, read_checkpoint(checkpoint), os.fspath(checkpoint))
    return sam


def preprocess_shape(height: int, width: int, long_side: int) -> Tuple[int, int]:
    """``(h, w)`` of an image resized to ``long_side`` on its longer side, rounded as SAM rounds;
    at least one pixel a side (SAM's own rounding gives 0 from an aspect of 2048:1 and crashes)."""
    scale = long_side * 1.0 / max(height, width)
    return max(1, int(height * scale + 0.5)), max(1, int(width * scale + 0.5))


def encode_prompts(encoder: modeling.PromptEncoder, points: Optional[Tuple[torch.Tensor, torch.Tensor]],
                   boxes: Optional[torch.Tensor], masks: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
    """``PromptEncoder.forward``, bit for bit, with a mask prompt's dense embedding stored channels-last
    (its last, 1x1 convolution reads channels-last: the same values), i.e. token-major for the decoder."""
    sparse, dense = encoder(points=points, boxes=boxes, masks=None)
    if masks is None:
        return sparse, dense
    *layers, last = encoder.mask_downscaling
    for layer in layers:
        masks = layer(masks)
    return sparse, last(channels_last(masks))


def predict_masks(decoder: modeling.MaskDecoder, image_embeddings: torch.Tensor, image_pe: torch.Tensor,
                  sparse: torch.Tensor, dense: torch.Tensor, multimask: bool) -> Tuple[torch.Tensor, torch.Tensor]:
    """``MaskDecoder.forward`` for one set of prompts, bit for bit, less its two copies per call of the
    image embedding and its positional encoding (``repeat_interleave`` over a batch of one), and with
    every image-sized tensor contiguous in the layout its next operation reads: the transformer's image
    tokens and positional encoding token-major (:func:`two_way`), the transposed convolutions' inputs
    channels-last (:func:`upscale`). The official decoder hands them over as strided views, which
    elementwise operations and convolutions read across (with one thread, half the decoder's time). With the
    embedding and the encoding stored channels-last, as :class:`focalxl.predictors.sam.SamPredictor`
    keeps them, their token-major forms are views."""
    output_tokens = torch.cat([decoder.iou_token.weight, decoder.mask_tokens.weight], dim=0)[None]
    tokens = torch.cat((output_tokens, sparse), dim=1)
    batch, channels, height, width = image_embeddings.shape
    src = token_major(image_embeddings) + token_major(dense)
    tokens_out, src = two_way(decoder.transformer, src, token_major(image_pe), tokens)
    upscaled = upscale(decoder.output_upscaling, src, height, width)
    hyper_in = torch.stack([mlp(tokens_out[:, 1 + i, :]) for i, mlp in enumerate(decoder.output_hypernetworks_mlps)],
                           dim=1)
    batch, channels, height, width = upscaled.shape
    masks = (hyper_in @ upscaled.view(batch, channels, height * width)).view(batch, -1, height, width)
    scores = decoder.iou_prediction_head(tokens_out[:, 0, :])
    chosen = slice(1, None) if multimask else slice(0, 1)
    return masks[:, chosen], scores[:, chosen]


def upscale(upscaling: torch.nn.Sequential, tokens: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``MaskDecoder.output_upscaling`` of image tokens ``[B, H * W, C]``, bit for bit, as a contiguous
    ``[B, C', 4H, 4W]``. Its transposed convolutions read channels-last (oneDNN's direct path; given
    the official channel-major input, or channels-last strides under a batch stride PyTorch does not
    take for channels-last, they convert layouts on the way in and out, three times their own cost)
    and hand back channel-major, as the LayerNorm2d after them reads it."""
    batch, _, channels = tokens.shape
    grid = tokens.view(batch, height, width, channels).permute(0, 3, 1, 2)
    for module in upscaling:
        if isinstance(module, torch.nn.ConvTranspose2d):
            grid = channel_major(module(channels_last(grid)))
        else:
            grid = module(grid)
    return grid


def channels_last(grid: torch.Tensor) -> torch.Tensor:
    """``[B, C, H, W]`` stored channels-last: ``grid`` itself where it is (batch stride included)."""
    batch, channels, height, width = grid.shape
    if grid.stride() == (height * width * channels, 1, width * channels, channels):
        return grid
    return transposed(grid.reshape(batch, channels, height * width)).view(batch, height, width, channels) \
        .permute(0, 3, 1, 2)


def channel_major(grid: torch.Tensor) -> torch.Tensor:
    """``[B, C, H, W]`` contiguous: ``grid`` itself where it is."""
    if grid.is_contiguous():
        return grid
    batch, channels, height, width = grid.shape
    return transposed(grid.permute(0, 2, 3, 1).reshape(batch, height * width, channels)).view(batch, channels,
                                                                                              height, width)


def token_major(grid: torch.Tensor) -> torch.Tensor:
    """``[B, C, H, W]`` as a contiguous ``[B, H * W, C]``: a view where ``grid`` is stored channels-last."""
    return transposed(grid.flatten(2))


def transposed(matrices: torch.Tensor) -> torch.Tensor:
    """``[B, X, Y]`` as a contiguous ``[B, Y, X]``: a view where it is one, else copied matrix by matrix
    (PyTorch copies a transposed matrix in cache-sized tiles, a transposed batch element by element)."""
    swapped = matrices.transpose(1, 2)
    if swapped.is_contiguous():
        return swapped
    out = torch.empty(swapped.shape, dtype=matrices.dtype, device=matrices.device)
    for target, matrix in zip(out, matrices.contiguous()):
        target.copy_(matrix.t())
    return out


def two_way(transformer: modeling.TwoWayTransformer, image_tokens: torch.Tensor, pe_tokens: torch.Tensor,
            point_embedding: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """``TwoWayTransformer.forward`` on contiguous token-major image tokens and positional encoding, bit for
    bit. The official forward permutes ``[B, C, H, W]`` into a strided view, which the first layer's adds
    then read across (and add to contiguous tensors): with one thread, a quarter of the transformer's time."""
    queries, keys = point_embedding, image_tokens
    for layer in transformer.layers:
        queries, keys = two_way_block(layer, queries, keys, point_embedding, pe_tokens)
    attn_out = transformer.final_attn_token_to_image(q=queries + point_embedding, k=keys + pe_tokens, v=keys)
    return transformer.norm_final_attn(queries + attn_out), keys


def two_way_block(block: modeling.transformer.TwoWayAttentionBlock, queries: torch.Tensor, keys: torch.Tensor,
                  query_pe: torch.Tensor, key_pe: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """``TwoWayAttentionBlock.forward``, bit for bit, adding the image tokens' positional encoding once
    where the official block adds it twice to the same tokens (they change only after both uses)."""
    if block.skip_first_layer_pe:
        queries = block.norm1(block.self_attn(q=queries, k=queries, v=queries))
    else:
        q = queries + query_pe
        queries = block.norm1(queries + block.self_attn(q=q, k=q, v=queries))
    k = keys + key_pe
    queries = block.norm2(queries + block.cross_attn_token_to_image(q=queries + query_pe, k=k, v=keys))
    queries = block.norm3(queries + block.mlp(queries))
    keys = block.norm4(keys + block.cross_attn_image_to_token(q=k, k=queries + query_pe, v=queries))
    return queries, keys
