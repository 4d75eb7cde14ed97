import numpy as np

from focalxl.predictors.base import LOGIT_LIMIT, to_logits, to_prob


def test_probabilities_zero_and_one_become_finite_clamped_logits():
    logits = to_logits(np.array([0.0, 0.5, 1.0], np.float32))
    assert np.isfinite(logits).all()
    assert logits[0] == -LOGIT_LIMIT and logits[2] <= LOGIT_LIMIT and abs(logits[1]) < 1e-6


def test_infinite_or_nan_logits_become_valid_probabilities():
    prob = to_prob(np.array([-np.inf, np.nan, np.inf, 0.0], np.float32))
    assert np.isfinite(prob).all() and ((prob >= 0) & (prob <= 1)).all()
    assert prob[0] < 1e-6 and prob[1] == 0.5 and prob[2] > 1 - 1e-6


def test_logits_and_probabilities_round_trip():
    p = np.linspace(0.01, 0.99, 11, dtype=np.float32)
    assert np.allclose(to_prob(to_logits(p)), p, atol=1e-5)
