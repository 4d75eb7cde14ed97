"""RoIAlign (Mask R-CNN) in plain torch, with ``torchvision.ops.roi_align`` semantics.

Each output bin averages a ``grid_h x grid_w`` lattice of bilinear samples. Bilinear
sampling on a lattice is separable, so a region's result is ``A_y @ F @ A_x^T`` with
``A_y[bin, row]`` holding the summed row weights of the bin's samples (and ``A_x`` the
column weights): two small matrix products per region, no per-sample gather.
"""
from __future__ import annotations

from typing import Tuple

import torch
from torch import Tensor


def roi_align(features: Tensor, boxes: Tensor, output_size: Tuple[int, int], spatial_scale: float = 1.0,
              sampling_ratio: int = -1, aligned: bool = False) -> Tensor:
    """Pool ``features[N, C, H, W]`` over ``boxes[K, 5]`` = ``(batch index, x1, y1, x2, y2)``.

    Returns ``[K, C, *output_size]``. ``sampling_ratio <= 0`` takes
    ``ceil(region size / output size)`` samples per bin side, as torchvision does;
    ``aligned=True`` shifts box corners by half a pixel so that pixel centres sit at
    ``i + 0.5``.
    """
    if features.dim() != 4:
        raise ValueError(f"features must be [N, C, H, W], got shape {tuple(features.shape)}")
    if boxes.dim() != 2 or boxes.shape[1] != 5:
        raise ValueError(f"boxes must be [K, 5] (batch index, x1, y1, x2, y2), got shape {tuple(boxes.shape)}")
    out_h, out_w = int(output_size[0]), int(output_size[1])
    if out_h < 1 or out_w < 1:
        raise ValueError(f"output_size must be positive, got {output_size}")
    boxes = boxes.to(device=features.device, dtype=torch.float32)
    offset = 0.5 if aligned else 0.0
    index = boxes[:, 0].long()
    x1, y1, x2, y2 = (boxes[:, i] * spatial_scale - offset for i in range(1, 5))
    height, width = features.shape[-2:]
    rows = _axis_weights(y1, y2, out_h, height, sampling_ratio, aligned)
    cols = _axis_weights(x1, x2, out_w, width, sampling_ratio, aligned)
    chosen = features[index].float()
    pooled = torch.einsum("kph,kchw,kqw->kcpq", rows, chosen, cols)
    return pooled.to(features.dtype)


def _axis_weights(start: Tensor, end: Tensor, bins: int, size: int, sampling_ratio: int, aligned: bool) -> Tensor:
    """``[K, bins, size]``: each bin's averaged bilinear weights on the grid lines of one axis."""
    length = end - start
    if not aligned:
        length = length.clamp(min=1.0)
    bin_size = length / bins
    if sampling_ratio > 0:
        grid = torch.full_like(length, float(sampling_ratio))
    else:
        grid = torch.ceil(length / bins).clamp(min=1.0)
    most = int(grid.max().item()) if grid.numel() else 1
    steps = torch.arange(most, device=start.device, dtype=torch.float32)
    within = steps[None, :] < grid[:, None]                                        # [K, G]
    position = (start[:, None, None] + torch.arange(bins, device=start.device)[None, :, None] * bin_size[:, None, None]
                + (steps[None, None, :] + 0.5) * (bin_size / grid)[:, None, None])  # [K, bins, G]
    valid = (position >= -1.0) & (position <= size) & within[:, None, :]
    position = position.clamp(min=0.0)
    low = position.floor().long()
    at_edge = low >= size - 1
    low = torch.where(at_edge, torch.full_like(low, size - 1), low)
    high = torch.where(at_edge, low, low + 1)
    position = torch.where(at_edge, low.float(), position)
    frac = position - low.float()
    scale = valid.float() / grid[:, None, None]
    weights = torch.zeros(start.shape[0], bins, size, device=start.device, dtype=torch.float32)
    weights.scatter_add_(2, low, ((1 - frac) * scale))
    weights.scatter_add_(2, high, (frac * scale))
    return weights

