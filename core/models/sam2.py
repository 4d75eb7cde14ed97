"""SAM 2.1 networks: the official configurations, building them, loading checkpoints.

The official checkpoints (``sam2.1_hiera_{tiny,small,base_plus,large}.pt``) hold the
state dict of ``sam2.modeling.sam2_base.SAM2Base`` under ``"model"``. sam2 builds that
network from Hydra YAML files (``configs/sam2.1/sam2.1_hiera_*.yaml``); here the same
modules are built directly, with the hyper-parameters those files give and the
mask-decoder options ``build_sam2`` adds for image prediction. The four official
networks differ only in their Hiera trunk. The memory attention and memory encoder
(SAM 2's video parts) are built too, because the checkpoints hold their weights and
load strictly; image prediction never runs them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Optional, Tuple

import torch

from .checkpoints import load_strict, read_checkpoint
from .sam2_modeling import hieradet, image_encoder, memory_attention, memory_encoder, position_encoding, sam2_base
from .sam2_modeling import transformer

# ``build_sam2(..., apply_postprocessing=True)``, which SAM2ImagePredictor's model comes from:
# a single-mask answer whose stability is under 0.98 falls back to the best of the three.
MASK_DECODER_OPTIONS = {"dynamic_multimask_via_stability": True, "dynamic_multimask_stability_delta": 0.05,
                        "dynamic_multimask_stability_thresh": 0.98}


@dataclass(frozen=True)
class Sam2Config:
    """Sizes of a SAM 2.1 network. Defaults: everything the four official ones share."""

    embed_dim: int                          # Hiera trunk width at stage 1 (doubles at each stage)
    num_heads: int                          # Hiera heads at stage 1 (double at each stage)
    stages: Tuple[int, ...]                 # blocks per Hiera stage
    global_att_blocks: Tuple[int, ...]      # Hiera blocks with global attention
    window_pos_embed_bkg_spatial_size: Tuple[int, int] = (14, 14)
    window_spec: Tuple[int, ...] = (8, 4, 14, 7)
    d_model: int = 256                      # FPN neck, prompt encoder, mask decoder, memory attention
    memory_dim: int = 64                    # memory encoder output
    memory_attention_layers: int = 4
    memory_attention_ff: int = 2048
    num_maskmem: int = 7
    image_size: int = 1024


OFFICIAL = {
    "tiny": Sam2Config(96, 1, (1, 2, 7, 2), (5, 7, 9), window_pos_embed_bkg_spatial_size=(7, 7)),
    "small": Sam2Config(96, 1, (1, 2, 11, 2), (7, 10, 13), window_pos_embed_bkg_spatial_size=(7, 7)),
    "base_plus": Sam2Config(112, 2, (2, 3, 16, 3), (12, 16, 20)),
    "large": Sam2Config(144, 2, (2, 6, 36, 4), (23, 33, 43), window_pos_embed_bkg_spatial_size=(7, 7),
                        window_spec=(8, 4, 16, 8)),
}


def _sine(num_pos_feats: int) -> position_encoding.PositionEmbeddingSine:
    return position_encoding.PositionEmbeddingSine(num_pos_feats=num_pos_feats, normalize=True, scale=None,
                                                   temperature=10000)


def build_image_encoder(config: Sam2Config) -> image_encoder.ImageEncoder:
    """Hiera trunk + FPN neck; the coarsest of the four levels is dropped (``scalp=1``)."""
    trunk = hieradet.Hiera(embed_dim=config.embed_dim, num_heads=config.num_heads, stages=config.stages,
                           global_att_blocks=config.global_att_blocks, window_spec=config.window_spec,
                           window_pos_embed_bkg_spatial_size=config.window_pos_embed_bkg_spatial_size)
    widths = [config.embed_dim * 2 ** level for level in reversed(range(len(config.stages)))]
    neck = image_encoder.FpnNeck(position_encoding=_sine(config.d_model), d_model=config.d_model,
                                 backbone_channel_list=widths, fpn_top_down_levels=[2, 3], fpn_interp_model="nearest")
    return image_encoder.ImageEncoder(trunk=trunk, neck=neck, scalp=1)


def build_memory_attention(config: Sam2Config) -> memory_attention.MemoryAttention:
    """Video memory attention: built for the checkpoint's keys, unused on single images."""
    feat_sizes = [config.image_size // 16] * 2

    def rope(**extra) -> transformer.RoPEAttention:
        return transformer.RoPEAttention(rope_theta=10000.0, feat_sizes=feat_sizes, embedding_dim=config.d_model,
                                         num_heads=1, downsample_rate=1, dropout=0.1, **extra)

    layer = memory_attention.MemoryAttentionLayer(
        activation="relu", dim_feedforward=config.memory_attention_ff, dropout=0.1, pos_enc_at_attn=False,
        self_attention=rope(), d_model=config.d_model, pos_enc_at_cross_attn_keys=True,
        pos_enc_at_cross_attn_queries=False, cross_attention=rope(rope_k_repeat=True, kv_in_dim=config.memory_dim))
    return memory_attention.MemoryAttention(d_model=config.d_model, pos_enc_at_input=True, layer=layer,
                                            num_layers=config.memory_attention_layers)


def build_memory_encoder(config: Sam2Config) -> memory_encoder.MemoryEncoder:
    """Video memory encoder: built for the checkpoint's keys, unused on single images."""
    fuser = memory_encoder.Fuser(memory_encoder.CXBlock(dim=config.d_model, kernel_size=7, padding=3,
                                                        layer_scale_init_value=1e-6, use_dwconv=True), num_layers=2)
    return memory_encoder.MemoryEncoder(
        out_dim=config.memory_dim, position_encoding=_sine(config.memory_dim),
        mask_downsampler=memory_encoder.MaskDownSampler(embed_dim=config.d_model, kernel_size=3, stride=2, padding=1),
        fuser=fuser, in_dim=config.d_model)


def build(config: Sam2Config) -> sam2_base.SAM2Base:
    """A SAM 2.1 network with freshly initialised (random) weights, in eval mode."""
    network = sam2_base.SAM2Base(
        image_encoder=build_image_encoder(config), memory_attention=build_memory_attention(config),
        memory_encoder=build_memory_encoder(config), num_maskmem=config.num_maskmem, image_size=config.image_size,
        sigmoid_scale_for_mem_enc=20.0, sigmoid_bias_for_mem_enc=-10.0, use_mask_input_as_output_without_sam=True,
        directly_add_no_mem_embed=True, no_obj_embed_spatial=True, use_high_res_features_in_sam=True,
        multimask_output_in_sam=True, iou_prediction_use_sigmoid=True, use_obj_ptrs_in_encoder=True,
        add_tpos_enc_to_obj_ptrs=True, proj_tpos_enc_in_obj_ptrs=True, use_signed_tpos_enc_to_obj_ptrs=True,
        only_obj_ptrs_in_the_past_for_eval=True, pred_obj_scores=True, pred_obj_scores_mlp=True,
        fixed_no_obj_ptr=True, multimask_output_for_tracking=True, use_multimask_token_for_obj_ptr=True,
        multimask_min_pt_num=0, multimask_max_pt_num=1, use_mlp_for_obj_ptr_proj=True,
        sam_mask_decoder_extra_args=dict(MASK_DECODER_OPTIONS), compile_image_encoder=False)
    return network.eval()


def state_dict_of(checkpoint: object, source: str) -> Mapping[str, torch.Tensor]:
    """The network weights in an official checkpoint: the mapping under ``"model"``."""
    if not isinstance(checkpoint, Mapping) or "model" not in checkpoint:
        raise ValueError(f"{source}: not a SAM 2 checkpoint (the official files hold the weights under 'model')")
    return checkpoint["model"]


def load(config: Sam2Config, checkpoint: Optional[str | os.PathLike]) -> sam2_base.SAM2Base:
    """``config``'s network with the weights of ``checkpoint`` (strictly), or random weights for ``None``."""
    network = build(config)
    if checkpoint is not None:
        source = os.fspath(checkpoint)
        load_strict(network, state_dict_of(read_checkpoint(checkpoint), source), source)
    return network


class Sam2Image(torch.nn.Module):
    """A SAM 2.1 network's single-image path, as ``SAM2ImagePredictor`` runs it.

    :meth:`encode` is ``set_image``'s part (the image encoder once per image, the mask
    decoder's projections of the two high-resolution levels, the "no memory" embedding
    added to the coarsest level); :meth:`decode` is ``_predict``'s (prompt encoder and
    mask decoder). ``prompt_encoder``, ``mask_decoder`` and ``mask_threshold`` carry the
    names segment-anything's ``Sam`` gives them, so the SAM predictor's loop serves both.
    """

    mask_threshold = 0.0
    pixel_mean = (0.485, 0.456, 0.406)      # SAM2Transforms: ToTensor, Resize, Normalize
    pixel_std = (0.229, 0.224, 0.225)

    def __init__(self, network: sam2_base.SAM2Base):
        super().__init__()
        self.network = network
        with torch.no_grad():       # fixed per network: computed once, not per click
            self.register_buffer("image_pe", network.sam_prompt_encoder.get_dense_pe(), persistent=False)

    @property
    def image_size(self) -> int:
        return self.network.image_size

    @property
    def prompt_encoder(self):
        return self.network.sam_prompt_encoder

    @property
    def mask_decoder(self):
        return self.network.sam_mask_decoder

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """``uint8[1, 3, H, W]`` RGB to the encoder's input: scaled to [0, 1], squashed to a
        square with antialiased bilinear resampling, normalised (torchvision's tensor ops)."""
        pixels = image.float() / 255.0
        size = (self.image_size, self.image_size)
        pixels = torch.nn.functional.interpolate(pixels, size, mode="bilinear", align_corners=False, antialias=True)
        mean = torch.tensor(self.pixel_mean, device=pixels.device)[:, None, None]
        std = torch.tensor(self.pixel_std, device=pixels.device)[:, None, None]
        return (pixels - mean) / std

    def encode(self, pixels: torch.Tensor) -> Tuple[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        """The image embedding ``[1, C, 64, 64]`` and the two high-resolution levels (1/4, 1/8)."""
        levels = self.network.forward_image(pixels)["backbone_fpn"][-3:]
        embedding = levels[2] + self.network.no_mem_embed.view(1, -1, 1, 1)
        return embedding, (levels[0], levels[1])

    def decode(self, embedding: torch.Tensor, high_res: Tuple[torch.Tensor, torch.Tensor],
               points: Optional[Tuple[torch.Tensor, torch.Tensor]], mask_input: Optional[torch.Tensor],
               multimask: bool) -> Tuple[torch.Tensor, torch.Tensor]:
        """Low-resolution mask logits ``[1, M, 256, 256]`` and their predicted IoUs ``[1, M]``.

        ``points`` are in the encoder's input frame, a box as its two corners labelled 2
        and 3 ahead of the clicks, as ``SAM2ImagePredictor._predict`` passes them.
        """
        sparse, dense = self.prompt_encoder(points=points, boxes=None, masks=mask_input)
        low_res, scores, _, _ = self.mask_decoder(
            image_embeddings=embedding, image_pe=self.image_pe,
            sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense, multimask_output=multimask,
            repeat_image=False, high_res_features=list(high_res))
        return low_res, scores
