"""A Session: one image, one object, the FocalClick loop run once per interaction.

Per interaction: Target Crop -> Object prediction -> Focus Crop -> Detail refinement
-> Progressive Merge (presets that opt in rerun the object prediction on a grown Target
Crop when its change runs into the crop's edge). Every change an interaction makes lies inside its Target Crop,
so undo keeps just the patches an interaction overwrote.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from . import crops
from .bimap import BiMap, footprint
from .interactions import INTERACTION_TYPES, Interaction
from .merge import bounded_by_box, progressive_merge, touched_components
from .predictors.base import DetailInput, ObjectInput, ObjectPrediction, Predictor, to_prob


_MAP_NAMES = itertools.count()     # one name per probability map any session made, unique in the process


@dataclass(frozen=True)
class SessionConfig:
    target_expansion: float = 1.4
    focus_expansion: float = 1.4
    target_min_size: int = 40
    target_min_fraction: float = 0.0   # or at least this fraction of the image's longer side
    merge_after: int = 10     # from scratch, Progressive Merge starts after this many interactions


@dataclass
class Result:
    """The state after an interaction.

    ``mask`` is ``alpha >= 0.5``; ``score`` is the mean alpha over the mask (0 when
    empty); ``bbox`` is the mask's inclusive ``(x0, y0, x1, y1)`` or ``None``.
    """

    mask: np.ndarray
    alpha: np.ndarray
    score: float
    bbox: Optional[Tuple[int, int, int, int]]


@dataclass
class _Step:
    interaction: Interaction
    box: crops.Box
    target: crops.Crop
    old_alpha: np.ndarray
    old_mask: np.ndarray
    old_state: int


class Session:
    """Interactive segmentation of one object in one image."""

    def __init__(self, predictor: Predictor, image: np.ndarray, mask: Optional[np.ndarray] = None,
                 config: SessionConfig = SessionConfig()):
        self.predictor = predictor
        self.config = config
        self.image = image
        self.started_from_mask = mask is not None and bool(mask.any())
        self._mask = np.zeros(image.shape[:2], dtype=bool) if mask is None else mask.copy()
        self._alpha = self._mask.astype(np.float32)
        self._steps: List[_Step] = []
        self._state = next(_MAP_NAMES)     # names the probability map; undo gives a map back its old name
        self._context: Any = None
        self._context_ready = False
        self._lock = threading.RLock()

    @property
    def shape(self) -> Tuple[int, int]:
        return self.image.shape[:2]

    @property
    def history(self) -> List[Interaction]:
        return [step.interaction for step in self._steps]

    @property
    def context(self) -> Any:
        """Context-Net features of the image, computed on first use and kept."""
        with self._lock:
            if not self._context_ready:
                self._context = self.predictor.context(self.image)
                self._context_ready = True
            return self._context

    @staticmethod
    def least_nbytes(shape: Tuple[int, int]) -> int:
        """Bytes any session on an image of ``shape`` (H, W) holds: RGB image, mask and alpha."""
        return int(shape[0]) * int(shape[1]) * (3 + 1 + 4)

    @property
    def nbytes(self) -> int:
        """Memory this session holds: image, maps, undo patches and cached features."""
        total = self.image.nbytes + self._mask.nbytes + self._alpha.nbytes
        total += sum(s.old_alpha.nbytes + s.old_mask.nbytes for s in self._steps)
        features = getattr(self._context, "nbytes", 0)
        return total + (features if isinstance(features, int) else 0)

    def result(self) -> Result:
        with self._lock:
            return _result(self._mask, self._alpha)

    def add(self, interaction: Interaction) -> Result:
        """Apply one interaction and return the new state."""
        if not isinstance(interaction, INTERACTION_TYPES):
            raise TypeError(f"interaction must be Click, Box, Scribble or CoarseMask, got {type(interaction).__name__}")
        interaction.validate(self.shape)
        with self._lock:
            history = self.history + [interaction]
            target = self.target_box(interaction)
            x0, y0, x1, y1 = target
            state = next(_MAP_NAMES)
            verbatim = self.predictor.detail_size is None and not self._merging(len(history), interaction)
            coarse, object_crop, object_features = self._predict_object(history, target, state if verbatim else None)
            grown, change = self._regrown_target(coarse, target, interaction)
            if grown is not None:       # the change ran into the Target Crop's edge: it may go on past it
                regrown = self._predict_object(history, grown, state if verbatim else None)
                if self._extends(regrown[0], grown, change, target, interaction):
                    target, (coarse, object_crop, object_features) = grown, regrown
                    x0, y0, x1, y1 = target
                    change = None       # the change over the old crop: the grown one has its own
            touch = footprint(interaction, crops.Crop(target, x1 - x0, y1 - y0))
            if self.predictor.detail_size is None:      # no Detail-Net (SAM): the object prediction is final
                alpha = coarse
            else:
                focus = self._focus_box(coarse, interaction, target, change)
                alpha = self._refine(history, target, focus, coarse, object_crop, object_features)
            if getattr(self.predictor, "bounds_by_box", True):     # presets that equal a reference predictor opt out
                alpha = bounded_by_box(alpha, object_crop.box, history)
            self._commit(interaction, object_crop, alpha, touch, len(history), state)
            return _result(self._mask, self._alpha)

    def undo(self) -> Result:
        """Take back the last interaction; raises ``IndexError`` when there is none."""
        with self._lock:
            if not self._steps:
                raise IndexError("nothing to undo")
            step = self._steps.pop()
            self._state = step.old_state
            x0, y0, x1, y1 = step.box
            self._alpha[y0:y1, x0:x1] = step.old_alpha
            self._mask[y0:y1, x0:x1] = step.old_mask
            return _result(self._mask, self._alpha)

    def target_box(self, interaction: Interaction) -> crops.Box:
        """The Target Crop for ``interaction`` given the committed mask."""
        if hasattr(self.predictor, "target_box"):
            return self.predictor.target_box(self._alpha, tuple(self.history) + (interaction,), self.shape)
        return crops.target_crop_box(crops.mask_bbox(self._mask), crops.extent_box(interaction.extent(), self.shape),
                                     self.shape, self.config.target_expansion, self._target_min_size())

    def _regrown_target(self, coarse: np.ndarray, target: crops.Box, interaction: Interaction
                        ) -> Tuple[Optional[crops.Box], Optional[np.ndarray]]:
        """For presets that opt in (``regrows_target``): the Target Crop grown past each edge the interaction's
        change reaches inside the image, so the change is not cut straight there (``None`` when it reaches none),
        and that change."""
        if not getattr(self.predictor, "regrows_target", False):
            return None, None
        change = self._change(coarse, target, interaction)
        return crops.grown_past_edges(target, change, self.shape), change

    def _extends(self, grown_coarse: np.ndarray, grown: crops.Box, old: np.ndarray, target: crops.Box,
                 interaction: Interaction, agreement: float = 0.8) -> bool:
        """Whether the prediction on the grown crop carries the change on past the old crop's edge, agreeing
        with the old change ``old`` inside it (IoU of the changes >= ``agreement``), rather than giving another
        answer (a prediction on more context may flood it)."""
        gx0, gy0 = grown[0], grown[1]
        x0, y0, x1, y1 = target
        new = self._change(grown_coarse[y0 - gy0:y1 - gy0, x0 - gx0:x1 - gx0], target, interaction)
        return np.count_nonzero(old & new) >= agreement * np.count_nonzero(old | new)

    def _change(self, coarse: np.ndarray, target: crops.Box, interaction: Interaction) -> np.ndarray:
        """The part of the proposal ``coarse`` over ``target`` that differs from the mask and that the
        interaction touches."""
        x0, y0, x1, y1 = target
        return touched_components((coarse >= 0.5) ^ self._mask[y0:y1, x0:x1],
                                  footprint(interaction, crops.Crop(target, x1 - x0, y1 - y0)))

    def _target_min_size(self) -> int:
        fraction = max(self.config.target_min_fraction, getattr(self.predictor, "target_min_fraction", 0.0))
        return max(self.config.target_min_size, round(fraction * max(self.shape)))

    def _predict_object(self, history: List[Interaction], target: crops.Box,
                        state_after: Optional[int]) -> Tuple[np.ndarray, crops.Crop, Any]:
        """Object probabilities over the target box at image resolution, the Object-Net's crop and its features.

        ``state_after`` names the map this prediction becomes when it is committed as it is."""
        crop = _raster(target, self.predictor.input_size, getattr(self.predictor, "square_crops", False))
        rasters = not getattr(self.predictor, "resamples_crops", False)
        inputs = ObjectInput(crop=crop, image=crop.take(self.image) if rasters else None,
                             bimaps=_bimaps(history, crop, self.predictor.click_radius),
                             latest=_bimaps(history[-1:], crop, self.predictor.click_radius),
                             prev_prob=crop.take(self._alpha) if rasters else None, context=self.context,
                             history=tuple(history),
                             full_image=self.image, full_prob=self._alpha,
                             prev_target=self._steps[-1].target if self._steps else None,
                             state=self._state, state_after=state_after)
        output = self.predictor.predict_object(inputs)
        if isinstance(output, ObjectPrediction) and output.prob is not None:
            if output.box is not None:      # a prediction committed as it is that changes only this part
                crop = crops.Crop(output.box, output.box[2] - output.box[0], output.box[3] - output.box[1])
            return output.prob, crop, output.features
        logits, features = (output.logits, output.features) if isinstance(output, ObjectPrediction) else (output, None)
        return np.clip(crop.give_back(to_prob(logits)), 0.0, 1.0), crop, features

    def _focus_box(self, coarse: np.ndarray, interaction: Interaction, target: crops.Box,
                   change: Optional[np.ndarray] = None) -> crops.Box:
        """Focus Crop in image pixels: the changed region at the interaction (``change``, the interaction's
        :meth:`_change` over ``target`` when already known), expanded."""
        x0, y0, x1, y1 = target
        ex0, ey0, ex1, ey1 = interaction.extent()
        anchor = ((ex0 + ex1) / 2, (ey0 + ey1) / 2)
        if hasattr(self.predictor, "focus_box"):
            return self.predictor.focus_box(coarse, self._alpha[y0:y1, x0:x1], target, anchor, self.shape)
        changed = self._change(coarse, target, interaction) if change is None else change
        shift = lambda box: None if box is None else (box[0] + x0, box[1] + y0, box[2] + x0, box[3] + y0)
        return crops.focus_crop_box(shift(crops.mask_bbox(changed)), shift(crops.mask_bbox(coarse >= 0.5)), anchor,
                                    target, self.shape, self.config.focus_expansion)

    def _refine(self, history: List[Interaction], target: crops.Box, focus: crops.Box,
                coarse: np.ndarray, object_crop: crops.Crop, object_features: Any) -> np.ndarray:
        """The coarse map over the target with the Detail-Net's alpha pasted into the focus box."""
        tx0, ty0 = target[0], target[1]
        fx0, fy0, fx1, fy1 = focus
        crop = _raster(focus, self.predictor.detail_size, getattr(self.predictor, "square_crops", False))
        local = crops.Crop((fx0 - tx0, fy0 - ty0, fx1 - tx0, fy1 - ty0), crop.width, crop.height)
        rasters = not getattr(self.predictor, "resamples_crops", False)
        inputs = DetailInput(crop=crop, image=crop.take(self.image) if rasters else None,
                             bimaps=_bimaps(history, crop, getattr(self.predictor, "detail_click_radius",
                                                                   self.predictor.click_radius)),
                             coarse_prob=local.take(coarse) if rasters else None,
                             prev_prob=crop.take(self._alpha) if rasters else None, context=self.context,
                             object_crop=object_crop, object_features=object_features, full_image=self.image,
                             history=tuple(history))
        refined = crop.give_back(_unit_interval(np.asarray(self.predictor.refine(inputs), dtype=np.float32)))
        lx0, ly0, lx1, ly1 = local.box
        if (lx0, ly0, lx1, ly1) == (0, 0, coarse.shape[1], coarse.shape[0]):    # the focus is the whole target
            return refined
        alpha = coarse.copy()
        alpha[ly0:ly1, lx0:lx1] = refined
        return alpha

    def _merging(self, count: int, interaction: Interaction) -> bool:
        """Progressive Merge from an existing mask, after ``merge_after`` interactions, and for presets whose
        corrections are local (``local_corrections``) from the second click or scribble on."""
        local = getattr(self.predictor, "local_corrections", False) and interaction.kind in ("click", "scribble")
        return self.started_from_mask or count > self.config.merge_after or (local and count > 1)

    def _commit(self, interaction: Interaction, target: crops.Crop, alpha: np.ndarray, touch: np.ndarray,
                count: int, state: int) -> None:
        """Write the new state into the target region, keeping the overwritten patch for undo."""
        x0, y0, x1, y1 = target.box
        old_alpha = self._alpha[y0:y1, x0:x1]
        old_mask = self._mask[y0:y1, x0:x1]
        proposed = alpha >= 0.5
        if self._merging(count, interaction):
            update = progressive_merge(old_mask, proposed, touch, interaction.positive)
            new_alpha = np.where(update, alpha, old_alpha)
            new_mask = np.where(update, interaction.positive, old_mask)
        else:
            new_alpha, new_mask = alpha, proposed
        changed = crops.differing_box(((new_alpha, old_alpha), (new_mask, old_mask))) or (0, 0, 0, 0)
        cx0, cy0, cx1, cy1 = changed
        box = (x0 + cx0, y0 + cy0, x0 + cx1, y0 + cy1)
        if box == (0, 0, self.shape[1], self.shape[0]) and _adoptable(new_alpha, self._alpha) \
                and _adoptable(new_mask, self._mask):     # all changed: swap the maps in, keep the old ones for undo
            self._steps.append(_Step(interaction, box, target, self._alpha, self._mask, self._state))
            self._alpha, self._mask, self._state = new_alpha, new_mask, state
            return
        self._steps.append(_Step(interaction, box, target, old_alpha[cy0:cy1, cx0:cx1].copy(),
                                 old_mask[cy0:cy1, cx0:cx1].copy(), self._state))
        self._state = state
        old_alpha[cy0:cy1, cx0:cx1] = new_alpha[cy0:cy1, cx0:cx1]
        old_mask[cy0:cy1, cx0:cx1] = new_mask[cy0:cy1, cx0:cx1]


def _adoptable(new: np.ndarray, old: np.ndarray) -> bool:
    """Whether ``new`` can replace the session map ``old`` as it is: same shape and type, its own
    writable C-ordered memory."""
    return (new.shape == old.shape and new.dtype == old.dtype and new.flags.c_contiguous and new.flags.writeable
            and not np.may_share_memory(new, old))


def _raster(box: crops.Box, size: Optional[int], square: bool = False) -> crops.Crop:
    """``box`` zoomed to ``size`` on its longer side (squashed to ``size x size`` when ``square``),
    or at image resolution when ``size`` is ``None``."""
    if size is None:
        return crops.Crop(box, box[2] - box[0], box[3] - box[1])
    if square:
        return crops.Crop(box, size, size)
    return crops.zoom(box, size)


def _bimaps(history: List[Interaction], crop: crops.Crop, click_radius: float) -> Dict[str, BiMap]:
    kinds: Dict[str, List[Interaction]] = {}
    for interaction in history:
        kinds.setdefault(interaction.kind, []).append(interaction)
    return {kind: BiMap.render(items, crop, click_radius) for kind, items in kinds.items()}


def _unit_interval(values: np.ndarray) -> np.ndarray:
    """``values`` clipped to [0, 1]; as they are, without a copy, where they already lie in it (sigmoids)."""
    if values.size and values.min() >= 0.0 and values.max() <= 1.0:
        return values
    return np.clip(values, 0.0, 1.0)


def _result(mask: np.ndarray, alpha: np.ndarray) -> Result:
    box = crops.mask_bbox(mask)
    score = 0.0
    if box is not None:     # the mask's pixels in the same order as over the frame: the same float32 mean
        x0, y0, x1, y1 = box
        score = float(alpha[y0:y1, x0:x1][mask[y0:y1, x0:x1]].mean())
    bbox = None if box is None else (box[0], box[1], box[2] - 1, box[3] - 1)
    return Result(mask=mask.copy(), alpha=alpha.copy(), score=score, bbox=bbox)
