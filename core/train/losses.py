"""Training losses, as published (ClickSEG ``isegm/model/losses.py``, FocalClick, FocalClick-XL).

* :func:`normalized_focal_loss` — NFL on the coarse (segmentor / Object-Net) logits;
* :func:`boundary_weighted_nfl` — NFL on the refined Focus-Crop logits with boundary
  pixels weighted up (ClickSEG's ``WFNL``);
* :func:`boundary_bce` — BCE of the Refiner's boundary map against the boundary ground truth;
* :func:`boundary_map` — that ground truth (mask down 8x and back, XOR, dilated twice);
* :func:`sigmoid_bce` — BCE on HRNet's auxiliary (OCR soft-region) logits, weight 0.4;
* :func:`alpha_mse` — the Detail-Net's MSE on alpha.

Every loss returns one value **per sample** (``[B]``); the trainer averages over the batch.
Averaging per-sample values is what keeps data-parallel training and gradient accumulation
exact: a batch split over ranks or micro-batches sums to the same gradient.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

IGNORE = -1.0          # label value of pixels no loss looks at (the 128 band of GrabCut / Berkeley masks)
NFL_ALPHA = 0.5        # FocalClick configs: NormalizedFocalLossSigmoid(alpha=0.5, gamma=2)
NFL_GAMMA = 2.0
BOUNDARY_WEIGHT = 1.5  # refined-loss weight of boundary pixels relative to the rest
EPS = 1e-12


def _focal_terms(logits: Tensor, label: Tensor, alpha: float, gamma: float):
    """Per-pixel ``(alpha_t * -log p_t, beta = (1 - p_t)^gamma, valid)`` with ClickSEG's clamps."""
    prob = torch.sigmoid(logits.float())
    label = label.float()
    valid = label != IGNORE
    alpha_t = torch.where(label > 0.5, alpha * valid, (1 - alpha) * valid)
    p_t = torch.where(valid, 1.0 - (label - prob).abs(), torch.ones_like(prob))
    beta = (1 - p_t) ** gamma
    log_p = torch.log(torch.clamp(p_t + EPS, max=1.0))
    return -alpha_t * log_p, beta, valid.float()


def _normalised(beta: Tensor, valid: Tensor) -> Tensor:
    """``beta`` rescaled to sum to the number of valid pixels per map (the factor is detached)."""
    scale = valid.sum(dim=(-2, -1), keepdim=True) / (beta.sum(dim=(-2, -1), keepdim=True) + EPS)
    return beta * scale.detach()


def normalized_focal_loss(logits: Tensor, label: Tensor, alpha: float = NFL_ALPHA,
                          gamma: float = NFL_GAMMA) -> Tensor:
    """NFL (Sofiiuk et al.; ClickSEG ``NormalizedFocalLossSigmoid``), ``[B]``.

    ``L = sum_i alpha_t * beta_i' * (-log p_t) / N_valid`` with ``p_t = 1 - |y - p|`` and
    ``beta' = (1 - p_t)^gamma * N_valid / sum(beta)``; ``label`` is 1 / 0 / ``IGNORE``.
    """
    term, beta, valid = _focal_terms(logits, label, alpha, gamma)
    loss = term * _normalised(beta, valid) * valid
    return loss.flatten(1).sum(1) / (valid.flatten(1).sum(1) + EPS)


def boundary_weighted_nfl(logits: Tensor, label: Tensor, boundary: Tensor,
                          boundary_weight: float = BOUNDARY_WEIGHT, alpha: float = NFL_ALPHA,
                          gamma: float = NFL_GAMMA) -> Tensor:
    """NFL weighted by ``w = 1 + (boundary_weight - 1) * boundary``, a weighted mean per sample, ``[B]``.

    ClickSEG's ``WFNL(w=0.5)`` weighs by ``0.5 * boundary + 0.5``, the same map as
    ``boundary_weight=2`` up to a factor the weighted mean cancels; it takes the mean over
    the whole batch at once, here it is per sample (identical for one sample).
    """
    term, beta, valid = _focal_terms(logits, label, alpha, gamma)
    loss = term * _normalised(beta, valid) * valid
    weight = 1.0 + (boundary_weight - 1.0) * boundary.float()
    return (loss * weight).flatten(1).sum(1) / (weight.flatten(1).sum(1) + EPS)


def boundary_bce(logits: Tensor, boundary: Tensor) -> Tensor:
    """``BCEWithLogitsLoss`` of the boundary logits, averaged per sample, ``[B]``."""
    loss = F.binary_cross_entropy_with_logits(logits.float(), boundary.float(), reduction="none")
    return loss.flatten(1).mean(1)


def sigmoid_bce(logits: Tensor, label: Tensor) -> Tensor:
    """ClickSEG's ``SigmoidBinaryCrossEntropyLoss``: BCE with logits, ignored pixels counted as zero
    in the per-sample mean, ``[B]`` (HRNet's auxiliary OCR output, weight 0.4)."""
    label = label.float()
    valid = (label != IGNORE).float()
    loss = F.binary_cross_entropy_with_logits(logits.float(), label.clamp(min=0.0), reduction="none")
    return (loss * valid).flatten(1).mean(1)


def alpha_mse(logits: Tensor, alpha: Tensor, where: Optional[Tensor] = None) -> Tensor:
    """Mean squared error of ``sigmoid(logits)`` against the alpha matte, per sample ``[B]``,
    over ``where`` (e.g. the trimap's unknown band) when given."""
    error = (torch.sigmoid(logits.float()) - alpha.float()) ** 2
    if where is None:
        return error.flatten(1).mean(1)
    where = where.float()
    return (error * where).flatten(1).sum(1) / where.flatten(1).sum(1).clamp(min=1.0)


def boundary_map(mask: np.ndarray, factor: int = 8, dilations: int = 2) -> np.ndarray:
    """FocalClick's boundary ground truth (``isegm/data/base.py::get_trimap``), ``float32[H, W]``.

    The mask is resized ``1/factor`` and back (bilinear, thresholded at half both times), the pixels where
    that differs from the mask are the boundary, dilated ``dilations`` times by a 3x3 square.
    """
    height, width = mask.shape
    grey = mask.astype(np.uint8) * 255
    small = (cv2.resize(grey, (max(1, width // factor), max(1, height // factor))) > 128).astype(np.uint8) * 255
    back = cv2.resize(small, (width, height)) > 128
    edge = (back ^ mask.astype(bool)).astype(np.uint8)
    return cv2.dilate(edge, np.ones((3, 3), np.uint8), iterations=dilations).astype(np.float32)
