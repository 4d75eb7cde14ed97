"""The classical detail stage's matte meets the coarse map without a step at the Focus Crop's edge."""
from __future__ import annotations

import numpy as np

from focalxl.crops import Crop
from focalxl.predictors.classical import _feathered


def test_the_refined_matte_fades_into_the_coarse_map_at_focus_edges_inside_the_target():
    refined, coarse = np.zeros((50, 100), np.float32), np.ones((50, 100), np.float32)
    focus, target = Crop((20, 0, 120, 50), 100, 50), Crop((0, 0, 200, 50), 200, 50)
    alpha = _feathered(refined, coarse, focus, target)
    assert alpha[25, 0] > 0.9 and alpha[25, -1] > 0.9      # left and right edges lie inside the target
    assert alpha[25, 50] == 0.0                             # the middle is the refined matte
    assert np.abs(np.diff(alpha[25])).max() < 0.2           # a ramp, not a step
    assert alpha[0, 50] == 0.0                              # the top edge is the target's own edge
