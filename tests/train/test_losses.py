"""Each training loss against its published definition, computed pixel by pixel on fixed tensors."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from focalxl.train.losses import (IGNORE, alpha_mse, boundary_bce, boundary_map, boundary_weighted_nfl,
                                  normalized_focal_loss)

LOGITS = torch.tensor([[[[2.0, -1.0, 0.5], [0.0, 3.0, -2.5]]], [[[-0.3, 1.2, 4.0], [-4.0, 0.7, 0.1]]]])
LABELS = torch.tensor([[[[1.0, 0.0, 1.0], [IGNORE, 1.0, 0.0]]], [[[0.0, 0.0, 1.0], [0.0, 1.0, 1.0]]]])
BOUNDARY = torch.tensor([[[[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]], [[[0.0, 1.0, 1.0], [0.0, 0.0, 0.0]]]])


def _pixel_terms(sample: int, alpha: float = 0.5, gamma: float = 2.0):
    """Sofiiuk et al.'s NFL terms for one sample, written out pixel by pixel."""
    terms = []
    for z, y in zip(LOGITS[sample].flatten().tolist(), LABELS[sample].flatten().tolist()):
        if y == IGNORE:
            terms.append(None)
            continue
        p = 1 / (1 + math.exp(-z))
        p_t = p if y == 1 else 1 - p
        a_t = alpha if y == 1 else 1 - alpha
        terms.append((a_t * -math.log(p_t), (1 - p_t) ** gamma))
    return terms


def _published_nfl(sample: int) -> float:
    terms = [t for t in _pixel_terms(sample) if t is not None]
    scale = len(terms) / sum(beta for _, beta in terms)          # N_valid / sum(beta)
    return sum(loss * beta * scale for loss, beta in terms) / len(terms)


def _published_wfnl(sample: int) -> float:
    """ClickSEG's WFNL(w=0.5) on one sample: weight 0.5 * boundary + 0.5, weighted mean over every pixel."""
    terms = _pixel_terms(sample)
    valid = [t for t in terms if t is not None]
    scale = len(valid) / sum(beta for _, beta in valid)
    weights = [0.5 * b + 0.5 for b in BOUNDARY[sample].flatten().tolist()]
    total = sum(w * (0.0 if t is None else t[0] * t[1] * scale) for w, t in zip(weights, terms))
    return total / sum(weights)


def test_normalized_focal_loss_matches_its_published_definition_per_sample():
    got = normalized_focal_loss(LOGITS, LABELS)
    assert got.shape == (2,)
    assert got.tolist() == pytest.approx([_published_nfl(0), _published_nfl(1)], rel=1e-5)


def test_normalized_focal_loss_ignores_the_uncertain_band():
    flipped = LOGITS.clone()
    flipped[0, 0, 1, 0] = -50.0                                   # the IGNORE pixel
    assert torch.allclose(normalized_focal_loss(flipped, LABELS), normalized_focal_loss(LOGITS, LABELS))


def test_normalisation_factor_carries_no_gradient():
    logits = LOGITS.clone().requires_grad_(True)
    normalized_focal_loss(logits, LABELS).sum().backward()
    # with the factor detached, d/dz of a pixel's term has the focal-loss form; check one pixel numerically
    terms = [t for t in _pixel_terms(0) if t is not None]
    scale = len(terms) / sum(beta for _, beta in terms)
    p = torch.sigmoid(torch.tensor(3.0, dtype=torch.float64)).requires_grad_(True)
    z = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    p = torch.sigmoid(z)
    term = 0.5 * -torch.log(p) * (1 - p) ** 2 * scale / len(terms)
    term.backward()
    assert logits.grad[0, 0, 1, 1].item() == pytest.approx(z.grad.item(), rel=1e-4)


def test_boundary_weighted_nfl_with_weight_two_is_clickseg_wfnl():
    got = boundary_weighted_nfl(LOGITS, LABELS, BOUNDARY, boundary_weight=2.0)
    assert got.tolist() == pytest.approx([_published_wfnl(0), _published_wfnl(1)], rel=1e-5)


def test_boundary_weight_one_point_five_weighs_boundary_pixels_one_and_a_half_times():
    terms = _pixel_terms(1)
    scale = len(terms) / sum(beta for _, beta in terms)
    weights = [1.0 + 0.5 * b for b in BOUNDARY[1].flatten().tolist()]
    expected = sum(w * t[0] * t[1] * scale for w, t in zip(weights, terms)) / sum(weights)
    assert boundary_weighted_nfl(LOGITS, LABELS, BOUNDARY)[1].item() == pytest.approx(expected, rel=1e-5)


def test_boundary_bce_is_mean_binary_cross_entropy_with_logits():
    z, y = LOGITS[0].flatten().tolist(), BOUNDARY[0].flatten().tolist()
    expected = np.mean([-(b * math.log(1 / (1 + math.exp(-v))) + (1 - b) * math.log(1 - 1 / (1 + math.exp(-v))))
                        for v, b in zip(z, y)])
    assert boundary_bce(LOGITS, BOUNDARY)[0].item() == pytest.approx(expected, rel=1e-6)


def test_alpha_mse_is_squared_error_of_the_sigmoid_over_the_chosen_pixels():
    alpha = torch.rand(2, 1, 2, 3, generator=torch.Generator().manual_seed(0))
    where = BOUNDARY
    error = (torch.sigmoid(LOGITS) - alpha) ** 2
    assert alpha_mse(LOGITS, alpha, where)[0].item() == pytest.approx(
        float((error[0] * where[0]).sum() / where[0].sum()), rel=1e-6)
    assert alpha_mse(LOGITS, alpha)[1].item() == pytest.approx(float(error[1].mean()), rel=1e-6)


def test_boundary_map_marks_a_band_along_the_outline_and_nothing_else():
    mask = np.zeros((96, 96), bool)
    mask[20:70, 30:77] = True                  # edges off the 8-pixel grid, so down-sampling moves them
    band = boundary_map(mask)
    assert band.dtype == np.float32 and set(np.unique(band)) <= {0.0, 1.0}
    rows, cols = np.nonzero(band)
    from scipy.ndimage import distance_transform_edt
    outline_distance = np.minimum(distance_transform_edt(mask), distance_transform_edt(~mask))
    assert band.any() and outline_distance[rows, cols].max() <= 8 + 2
    assert not band[45, 50]                     # deep inside
    assert not boundary_map(np.zeros((64, 64), bool)).any()


def test_sigmoid_bce_counts_ignored_pixels_as_zero_in_the_mean():
    z, y = LOGITS[0].flatten().tolist(), LABELS[0].flatten().tolist()
    terms = [0.0 if b == IGNORE else -(b * math.log(1 / (1 + math.exp(-v))) + (1 - b) * math.log(1 - 1 / (1 + math.exp(-v))))
             for v, b in zip(z, y)]
    from focalxl.train.losses import sigmoid_bce

    assert sigmoid_bce(LOGITS, LABELS)[0].item() == pytest.approx(np.mean(terms), rel=1e-6)
