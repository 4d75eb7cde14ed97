"""Progressive Merge: change only the connected region the new interaction is about.

Polarity comes from the interaction, not from the previous mask under it (the
published FocalClick version reads it from the mask, which wipes the mask when a
click lands where nothing changed):

* positive: add the connected component of the new mask that the interaction touches;
* negative: remove the connected component of ``old AND NOT new`` that it touches;
* no touched component: nothing changes.

Everything outside the returned update region is left exactly as it was.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from .bimap import footprint
from .crops import Box, Crop
from .interactions import Interaction


def touched_components(candidates: np.ndarray, touch: np.ndarray) -> np.ndarray:
    """The union of the 8-connected components of ``candidates`` that ``touch`` meets."""
    candidates = np.ascontiguousarray(candidates)
    hits = candidates & touch
    if not hits.any():
        return np.zeros_like(candidates)
    count, labels = cv2.connectedComponents(candidates.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    touched = np.unique(labels[hits])
    if touched.size == 1:
        return labels == touched[0]
    chosen = np.zeros(count, dtype=bool)
    chosen[touched] = True
    return chosen[labels]


def progressive_merge(old: np.ndarray, new: np.ndarray, touch: np.ndarray, positive: bool) -> np.ndarray:
    """The update region Progressive Merge accepts, over the arrays' common region.

    ``old`` is the committed mask, ``new`` the proposed one and ``touch`` the
    interaction's footprint, all over the same region (every difference between the
    masks lies in it). The merged mask is ``old`` with the update region set to
    ``positive``.
    """
    if positive:
        return touched_components(new, touch)
    return touched_components(old & ~new, touch)


def bounded_by_box(alpha: np.ndarray, region: Box, history: Sequence[Interaction]) -> np.ndarray:
    """``alpha`` over ``region`` (image pixels) with the newest box's outside made background.

    A box bounds the mask from when it is given: outside it, only the components that
    positive clicks or scribbles made after it touch stay foreground.
    """
    boxes = [i for i, interaction in enumerate(history) if interaction.kind == "box"]
    if not boxes:
        return alpha
    crop = Crop(region, alpha.shape[1], alpha.shape[0])
    outside = ~footprint(history[boxes[-1]], crop)
    foreground = (alpha >= 0.5) & outside
    for interaction in history[boxes[-1] + 1:]:
        if interaction.positive and interaction.kind in ("click", "scribble"):
            outside &= ~touched_components(foreground, footprint(interaction, crop))
    return np.where(outside, 0.0, alpha).astype(alpha.dtype)
