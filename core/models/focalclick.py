"""FocalClick (Chen et al., CVPR 2022): a segmentor on the Target Crop and a light
Refiner on the Focus Crop, with parameter names of the published checkpoints.

* Segmentor: normalised RGB plus (previous mask, positive disks, negative disks).
  SegFormer models embed the three maps with ``patch_embed_side1`` and add them after
  MiT stage 1; HRNet models pass them through ``maps_transform`` (Conv1S) and add them
  after the stem's first conv. ``s1`` pipelines run the segmentor at half resolution.
* Refiner: raw RGB of the Focus Crop, its click disks and ``sigmoid`` of the RoI-aligned
  coarse logits, fused with the RoI-aligned segmentor feature; it predicts a detail map
  and a boundary map, and the update (Eq. 1) is taken in logit space:
  ``refined = detail * sigmoid(boundary) + coarse * (1 - sigmoid(boundary))``.

Published checkpoints are ``{'state_dict', 'config'}`` where ``config`` names an
``isegm.*`` class and its constructor arguments; :func:`architecture_from_config`
reads it without importing ``isegm``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .hrnet import HRNetConfig, HighResolutionNet
from .roi_align import roi_align
from .segformer import IMAGENET_MEAN, IMAGENET_STD, MIT_CONFIGS, SegFormerHead, mit

SEGFORMER_CLASS = "isegm.model.is_segformer_model.SegFormerModel"
HRNET_CLASS = "isegm.model.is_hrnet_model.HRNetModel"
# FocalClick's decode-head width per MiT version (is_segformer_model / segformer_model).
SEGFORMER_HEAD_DIMS = {"b0": 256, "b3": 512, "b5": 512}
REFINE_RADIUS = 5


@dataclass(frozen=True)
class Architecture:
    """What a FocalClick checkpoint's config fixes about the network."""

    family: str                  # "segformer" or "hrnet"
    pipeline: str                # "s1" (segmentor at half resolution) or "s2"
    model_version: str = ""      # MiT version for SegFormer models
    width: int = 0               # HRNet width / OCR width / small, for HRNet models
    ocr_width: int = 0
    small: bool = True
    use_leaky_relu: bool = True
    binary_prev_mask: bool = False

    @property
    def click_radius(self) -> float:
        """Disk radius of the segmentor's click maps, in its input pixels (before ``s1`` halving)."""
        if self.family == "segformer":
            return 3.0 if self.pipeline == "s1" else 5.0
        return 2.0 if self.pipeline == "s1" else 5.0

    @property
    def scale(self) -> float:
        return 0.5 if self.pipeline == "s1" else 1.0


def architecture_from_config(config: Any, source: str = "checkpoint") -> Architecture:
    """Read an isegm ``{'class', 'params'}`` config; ``ValueError`` naming what does not fit."""
    if not isinstance(config, Mapping) or "class" not in config:
        raise ValueError(f"{source}: 'config' must be a dict with 'class' and 'params' (an isegm model config)")
    params = {name: (entry.get("value") if isinstance(entry, Mapping) else entry)
              for name, entry in dict(config.get("params") or {}).items()}
    cls = config["class"]
    pipeline = params.get("pipeline_version", "s1")
    if pipeline not in ("s1", "s2"):
        raise ValueError(f"{source}: pipeline_version must be 's1' or 's2', got {pipeline!r}")
    if params.get("clicks_groups") is not None:
        raise ValueError(f"{source}: clicks_groups={params['clicks_groups']!r} is not a FocalClick setting")
    if params.get("with_prev_mask", True) is not True:
        raise ValueError(f"{source}: FocalClick models take the previous mask (with_prev_mask=True), "
                         f"got {params.get('with_prev_mask')!r}")
    if tuple(map(tuple, params.get("norm_mean_std", (IMAGENET_MEAN, IMAGENET_STD)))) != (IMAGENET_MEAN, IMAGENET_STD):
        raise ValueError(f"{source}: only ImageNet normalisation is supported, got {params['norm_mean_std']!r}")
    common = dict(pipeline=pipeline, use_leaky_relu=bool(params.get("use_leaky_relu", False)),
                  binary_prev_mask=bool(params.get("binary_prev_mask", False)))
    if cls == SEGFORMER_CLASS:
        version = params.get("model_version", "b0")
        if version not in SEGFORMER_HEAD_DIMS:
            raise ValueError(f"{source}: model_version {version!r} is not a FocalClick SegFormer "
                             f"({', '.join(SEGFORMER_HEAD_DIMS)})")
        return Architecture("segformer", model_version=version, **common)
    if cls == HRNET_CLASS:
        width, ocr_width = params.get("width", 48), params.get("ocr_width", 256)
        if not (isinstance(width, int) and width > 0 and isinstance(ocr_width, int) and ocr_width > 0):
            raise ValueError(f"{source}: HRNet width and ocr_width must be positive integers, "
                             f"got {width!r}, {ocr_width!r}")
        return Architecture("hrnet", width=width, ocr_width=ocr_width, small=bool(params.get("small", True)), **common)
    raise ValueError(f"{source}: model class {cls!r} is not a FocalClick model ({SEGFORMER_CLASS} or {HRNET_CLASS})")


class ScaleLayer(nn.Module):
    """Multiplies by ``|scale|`` (RITM's learnable fusion gain)."""

    def __init__(self, init_value: float = 0.05):
        super().__init__()
        self.scale = nn.Parameter(torch.full((1,), init_value))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale.abs()


class ConvNormReLU(nn.Module):
    """Conv (with bias) -> BatchNorm -> ReLU; keys ``conv`` and ``norm`` as FocalClick's ConvModule."""

    def __init__(self, in_dim: int, out_dim: int, kernel: int, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_dim, out_dim, kernel, stride, kernel // 2)
        self.norm = nn.BatchNorm2d(out_dim)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.norm(self.conv(x)))


class SeparableConvNormReLU(nn.Module):
    """Depthwise 3x3 -> pointwise 1x1 -> BatchNorm -> ReLU (FocalClick's ``XConvBnRelu``)."""

    def __init__(self, dim: int):
        super().__init__()
        self.conv3x3 = nn.Conv2d(dim, dim, 3, 1, 1, groups=dim)
        self.conv1x1 = nn.Conv2d(dim, dim, 1)
        self.norm = nn.BatchNorm2d(dim)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.norm(self.conv1x1(self.conv3x3(x))))


class Refiner(nn.Module):
    """FocalClick's RefineLayer: detail map + boundary map, blended with the coarse logits."""

    def __init__(self, feature_dim: int, mid_dim: int = 32, with_feature_gate: bool = False):
        super().__init__()
        self.image_conv1 = ConvNormReLU(6, mid_dim, 3, stride=2)
        self.image_conv2 = SeparableConvNormReLU(mid_dim)
        self.image_conv3 = SeparableConvNormReLU(mid_dim)
        self.refine_fusion = ConvNormReLU(feature_dim, mid_dim, 1)
        self.refine_fusion2 = SeparableConvNormReLU(mid_dim)
        self.refine_fusion3 = SeparableConvNormReLU(mid_dim)
        if with_feature_gate:   # in the SegFormer checkpoints; their forward never uses it
            self.feature_gate = nn.Sequential(nn.Conv2d(mid_dim, 1, 1), nn.Sigmoid())
        self.refine_pred = nn.Conv2d(mid_dim, 1, 3, 1, 1)
        self.refine_trimap = nn.Conv2d(mid_dim, 1, 3, 1, 1)

    def forward(self, image: Tensor, clicks: Tensor, feature: Tensor, coarse: Tensor) -> Tuple[Tensor, Tensor]:
        """``image`` raw RGB in [0, 1], ``clicks`` [B, 2, H, W] disks, ``coarse`` logits [B, 1, H, W].

        Returns ``(refined logits, boundary logits)`` over the image raster.
        """
        x = self.trunk(image, clicks, feature, coarse)
        return self.blend(self.refine_pred(x), self.refine_trimap(x), coarse)

    def trunk(self, image: Tensor, clicks: Tensor, feature: Tensor, coarse: Tensor) -> Tensor:
        """The fused image / feature map at half the image raster, which both heads read."""
        x = self.image_conv3(self.image_conv2(self.image_conv1(torch.cat([image, clicks, torch.sigmoid(coarse)], 1))))
        fused = F.interpolate(self.refine_fusion(feature), size=x.shape[-2:], mode="bilinear", align_corners=True)
        return self.refine_fusion3(self.refine_fusion2(fused + x))

    @staticmethod
    def blend(detail: Tensor, boundary: Tensor, coarse: Tensor) -> Tuple[Tensor, Tensor]:
        """Eq. 1 on the heads' outputs upsampled to the coarse logits' raster."""
        size = coarse.shape[-2:]
        detail = F.interpolate(detail, size=size, mode="bilinear", align_corners=True)
        boundary = F.interpolate(boundary, size=size, mode="bilinear", align_corners=True)
        gate = torch.sigmoid(boundary)
        return detail * gate + coarse * (1 - gate), boundary


class SegFormerExtractor(nn.Module):
    """MiT backbone + MLP head (FocalClick's ``SegFormer`` wrapper: keys ``backbone``, ``decode_head``)."""

    def __init__(self, version: str):
        super().__init__()
        self.backbone = mit(version, side_channels=3)
        self.decode_head = SegFormerHead(MIT_CONFIGS[version].embed_dims, SEGFORMER_HEAD_DIMS[version])

    def forward(self, image: Tensor, maps: Tensor) -> Tuple[Tensor, Tensor]:
        side = self.backbone.patch_embed_side1(maps)
        return self.decode_head(self.backbone(image, side))


class FocalClick(nn.Module):
    """Segmentor + Refiner, with the state-dict layout of the published checkpoints."""

    def __init__(self, arch: Architecture):
        super().__init__()
        self.arch = arch
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        if arch.family == "segformer":
            self.feature_extractor = SegFormerExtractor(arch.model_version)
            # SegFormerModel defines this Conv3x3 maps_transform but its forward never calls it
            self.maps_transform = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.LeakyReLU(0.2),
                                                nn.Conv2d(16, 32, 3, 2, 1), ScaleLayer())
            feature_dim = SEGFORMER_HEAD_DIMS[arch.model_version]
        else:
            self.feature_extractor = HighResolutionNet(HRNetConfig(arch.width, arch.ocr_width, arch.small))
            activation = nn.LeakyReLU(0.2) if arch.use_leaky_relu else nn.ReLU()
            self.maps_transform = nn.Sequential(nn.Conv2d(3, 16, 1), activation, nn.Conv2d(16, 64, 3, 2, 1),
                                                ScaleLayer())
            feature_dim = 2 * arch.ocr_width
        self.refiner = Refiner(feature_dim, with_feature_gate=arch.family == "segformer")

    def segment(self, image: Tensor, prev_mask: Tensor, clicks: Tensor) -> Tuple[Tensor, Tensor]:
        """Coarse logits over the input raster and the segmentor feature (stride 4 of its input).

        ``image`` [B, 3, H, W] RGB in [0, 1]; ``prev_mask`` [B, 1, H, W] probabilities;
        ``clicks`` [B, 2, H, W] positive / negative disks drawn at ``arch.click_radius``.
        """
        if self.arch.binary_prev_mask:
            prev_mask = (prev_mask > 0.5).to(prev_mask.dtype)
        normalised = (image - self.mean) / self.std
        maps = torch.cat([prev_mask, clicks], 1)
        if self.arch.pipeline == "s1":
            normalised = F.interpolate(normalised, scale_factor=0.5, mode="bilinear", align_corners=True)
            maps = F.interpolate(maps, scale_factor=0.5, mode="bilinear", align_corners=True)
        if self.arch.family == "segformer":
            logits, feature = self.feature_extractor(normalised, maps)
        else:
            logits, _, feature = self.feature_extractor(normalised, self.maps_transform(maps))
        logits = F.interpolate(logits, size=image.shape[-2:], mode="bilinear", align_corners=True)
        return logits, feature

    def refine(self, image: Tensor, clicks: Tensor, feature: Tensor, logits: Tensor,
               box: Tuple[float, float, float, float]) -> Tuple[Tensor, Tensor]:
        """Refine the Focus Crop ``box`` = ``(x1, y1, x2, y2)`` in ``logits``' raster.

        ``image`` [1, 3, h, w] is the focus region from the full-resolution image in [0, 1]
        and ``clicks`` its [1, 2, h, w] disks (radius 5). The segmentor feature is RoI-aligned
        to a grid of ``(h, w) / stride``; the coarse logits to ``(h, w)``. Returns
        ``(refined logits, boundary logits)`` over ``(h, w)``.
        """
        rois = torch.tensor([[0.0, *box]], device=logits.device, dtype=torch.float32)
        stride = logits.shape[-1] / feature.shape[-1]
        height, width = image.shape[-2:]
        grid = (max(1, round(height / stride)), max(1, round(width / stride)))
        focus_feature = roi_align(feature, rois, grid, spatial_scale=1 / stride, aligned=True)
        focus_logits = roi_align(logits, rois, (height, width), spatial_scale=1.0, aligned=True)
        return self.refiner(image, clicks, focus_feature, focus_logits)


def build(arch: Architecture) -> FocalClick:
    """A FocalClick network in eval mode (random weights until a state dict is loaded)."""
    return FocalClick(arch).eval()

