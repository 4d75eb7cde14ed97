"""The protocol every predictor follows, from the classical default to FocalClick-XL.

A predictor has three parts, matching the paper's coarse-to-fine pipeline:

* ``context(image)`` — the Context-Net, run once per image; the session caches it;
* ``predict_object(ObjectInput)`` — the Object-Net on the zoomed Target Crop,
  returning logits over the crop raster;
* ``refine(DetailInput)`` — the Detail-Net on the zoomed Focus Crop, returning an
  alpha matte in [0, 1] over the focus raster.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Protocol, Tuple

import numpy as np

from ..bimap import BiMap
from ..crops import Crop
from ..interactions import Interaction

LOGIT_LIMIT = 20.0


@dataclass
class ObjectInput:
    """What the Object-Net sees: everything is over ``crop``'s raster."""

    crop: Crop
    image: Optional[np.ndarray]  # uint8[h, w, 3]; None for a predictor that resamples crops itself
    bimaps: Dict[str, BiMap]     # one bi-map per interaction kind present ("click", "box", ...)
    latest: Dict[str, BiMap]     # the newest interaction alone, under its kind
    prev_prob: Optional[np.ndarray]   # float32[h, w], previous probabilities (zeros for a new object); None as image
    context: Any                 # what ``context`` returned for this image
    history: Tuple[Interaction, ...] = ()   # every interaction so far, oldest first, in image pixels
    full_image: Optional[np.ndarray] = None  # the whole image (no copy), for predictors that resample crops themselves
    full_prob: Optional[np.ndarray] = None   # the session's whole probability map (read only)
    prev_target: Optional[Crop] = None       # the previous interaction's Target Crop, None before the first
    state: int = -1                          # names the session's current map (unique in the process)
    state_after: Optional[int] = None        # the name this prediction's map gets if committed as it is, else None


@dataclass
class DetailInput:
    """What the Detail-Net sees: the full-resolution focus region, zoomed."""

    crop: Crop
    image: Optional[np.ndarray]  # uint8[h, w, 3]; None for a predictor that resamples crops itself
    bimaps: Dict[str, BiMap]
    coarse_prob: Optional[np.ndarray]    # float32[h, w], the object prediction over the focus crop; None as image
    prev_prob: Optional[np.ndarray]      # float32[h, w], the previous probabilities there; None as image
    context: Any
    object_crop: Optional[Crop] = None   # the Object-Net's crop (Target Crop and its raster)
    object_features: Any = None          # ``ObjectPrediction.features`` from this interaction's object stage
    full_image: Optional[np.ndarray] = None  # the whole image (no copy)
    history: Tuple[Interaction, ...] = ()


@dataclass
class ObjectPrediction:
    """What ``predict_object`` may return instead of bare logits: the logits over the crop
    raster plus features the Detail-Net reuses (FocalClick RoI-aligns its segmentor feature).

    A predictor that resamples crops itself gives ``prob`` instead: probabilities over the
    crop's box at image resolution, used as they are. A prediction committed as it is
    (``ObjectInput.state_after`` set) may cover only ``box``, a part of the crop's box outside
    which it equals the session's map (SAM rewrites only where its new mask can differ).
    """

    logits: Optional[np.ndarray]             # float32[h, w]
    features: Any = None
    prob: Optional[np.ndarray] = None        # float32[box h, box w] in [0, 1]
    box: Optional[Tuple[int, int, int, int]] = None   # (x0, y0, x1, y1) image pixels that ``prob`` covers


class Predictor(Protocol):
    name: str
    target_min_fraction: float   # optional: smallest Target Crop side, as a fraction of the image's longer side
    click_radius: float   # disk radius, in Object-Net input pixels
    input_size: Optional[int]    # longer side of the Object-Net input; None: the Target Crop at image resolution
    detail_size: Optional[int]   # longer side of the Detail-Net input; None: no Detail-Net, the object prediction is final
    detail_click_radius: float   # optional: disk radius in Detail-Net input pixels (default ``click_radius``)
    square_crops: bool           # optional: crops are squashed to ``input_size`` x ``input_size`` (FocalClick's resize)
    resamples_crops: bool        # optional: reads ``full_image`` / ``full_prob`` itself; the rasters are not made

    # Optional hooks for a predictor that follows its own published crop rules (FocalClick):
    # ``target_box(prob, history, shape) -> Box`` and
    # ``focus_box(coarse, prev_prob, target, anchor, shape) -> Box`` (coarse and prev_prob over the target).
    # ``refine`` may return alpha over the focus box at image resolution instead of the focus raster.

    def context(self, image: np.ndarray) -> Any: ...

    def predict_object(self, inputs: ObjectInput) -> np.ndarray | ObjectPrediction: ...

    def refine(self, inputs: DetailInput) -> np.ndarray:
        """Alpha for the Focus Crop (see above): a new array the predictor does not keep (the session may adopt it)."""


def to_logits(prob: np.ndarray) -> np.ndarray:
    """Probabilities to logits, clamped to +-LOGIT_LIMIT so 0 and 1 stay finite."""
    p = np.clip(prob.astype(np.float32), 1e-9, 1 - 1e-7)
    return np.clip(np.log(p) - np.log1p(-p), -LOGIT_LIMIT, LOGIT_LIMIT)


def to_prob(logits: np.ndarray) -> np.ndarray:
    """Logits to probabilities, after clamping so no input gives NaN."""
    z = np.clip(np.nan_to_num(logits.astype(np.float32), nan=0.0), -LOGIT_LIMIT, LOGIT_LIMIT)
    return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)
