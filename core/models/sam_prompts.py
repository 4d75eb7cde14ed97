"""The interaction history as Segment Anything prompts.

* clicks -> point prompts (label 1 positive, 0 negative), coordinates as given: the same
  numbers a ``SamPredictor`` user would pass;
* scribbles -> ``SCRIBBLE_POINTS`` point prompts spread evenly along the stroke (SAM has
  no stroke prompt; a few points along it carry its extent without drowning the clicks);
* box -> the box prompt (the newest box: SAM takes one box per object);
* coarse mask -> the mask prompt while it is the newest interaction, plus its bounding
  box as the box prompt when no box was given (SAM learnt mask prompts together with
  points or boxes, never alone);
* the previous prediction -> the mask prompt (the predictor keeps SAM's low-resolution
  logits; see :func:`mask_prompt` for a probability map that did not come from SAM).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ..crops import mask_bbox
from ..interactions import Box, Click, CoarseMask, Interaction, Scribble
from ..predictors.base import to_logits

SCRIBBLE_POINTS = 5


@dataclass
class SamPrompts:
    """Prompts in image pixels; ``None`` where the history has none of a kind."""

    points: Optional[np.ndarray]    # float64[N, 2], (x, y)
    labels: Optional[np.ndarray]    # int64[N], 1 foreground, 0 background
    box: Optional[np.ndarray]       # float64[4], (x0, y0, x1, y1)
    coarse_mask: Optional[np.ndarray]   # bool[H, W], when the newest interaction is a coarse mask

    @property
    def single_point(self) -> bool:
        """One click and nothing else: SAM's ambiguous case, answered with three masks."""
        return self.points is not None and len(self.points) == 1 and self.box is None and self.coarse_mask is None


def from_history(history: Sequence[Interaction]) -> SamPrompts:
    """SAM prompts for an interaction history, oldest first."""
    points, labels = [], []
    box: Optional[Tuple[float, float, float, float]] = None
    mask_box: Optional[Tuple[float, float, float, float]] = None
    for interaction in history:
        if isinstance(interaction, Click):
            points.append((interaction.x, interaction.y))
            labels.append(int(interaction.positive))
        elif isinstance(interaction, Scribble):
            samples = stroke_points(interaction.points, SCRIBBLE_POINTS)
            points.extend(samples)
            labels.extend([int(interaction.positive)] * len(samples))
        elif isinstance(interaction, Box):
            box = (interaction.x0, interaction.y0, interaction.x1, interaction.y1)
        elif isinstance(interaction, CoarseMask):
            bounds = mask_bbox(interaction.mask)
            mask_box = None if bounds is None else tuple(float(v) for v in bounds)
        else:
            raise TypeError(f"not an interaction: {type(interaction).__name__}")
    newest = history[-1] if history else None
    coarse = newest.mask if isinstance(newest, CoarseMask) else None
    chosen_box = box if box is not None else mask_box
    return SamPrompts(points=np.array(points, dtype=np.float64) if points else None,
                      labels=np.array(labels, dtype=np.int64) if labels else None,
                      box=None if chosen_box is None else np.array(chosen_box, dtype=np.float64),
                      coarse_mask=coarse)


def stroke_points(points: Sequence[Tuple[float, float]], count: int) -> list:
    """``count`` points at equal arc-length steps along a polyline (its midpoints of ``count`` equal parts)."""
    xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    lengths = np.hypot(*np.diff(xy, axis=0).T) if len(xy) > 1 else np.zeros(0)
    total = float(lengths.sum())
    if total == 0.0:
        return [tuple(xy[0])]
    along = np.concatenate([[0.0], np.cumsum(lengths)])
    at = (np.arange(count) + 0.5) / count * total
    return list(zip(np.interp(at, along, xy[:, 0]), np.interp(at, along, xy[:, 1])))


def to_input_frame(coords: np.ndarray, original_size: Tuple[int, int], input_size: Tuple[int, int]) -> np.ndarray:
    """Image-pixel ``(x, y)`` pairs scaled into the resized image SAM's encoder saw."""
    (old_h, old_w), (new_h, new_w) = original_size, input_size
    scaled = np.array(coords, dtype=np.float64).reshape(-1, 2)
    scaled[:, 0] *= new_w / old_w
    scaled[:, 1] *= new_h / old_h
    return scaled


def mask_prompt(prob: np.ndarray, input_size: Tuple[int, int], image_size: int, low_res: int) -> np.ndarray:
    """A probability map over the image as SAM's mask prompt: ``float32[1, low_res, low_res]`` logits.

    The map goes through SAM's own geometry: resized to the encoder's input size,
    padded at the bottom and right to ``image_size``, averaged down to ``low_res``.
    """
    height, width = input_size
    grid = torch.from_numpy(np.ascontiguousarray(prob, dtype=np.float32))[None, None]
    grid = F.interpolate(grid, (height, width), mode="bilinear", align_corners=False, antialias=True)
    grid = F.pad(grid, (0, image_size - width, 0, image_size - height))
    grid = F.adaptive_avg_pool2d(grid, (low_res, low_res))
    return to_logits(grid[0].numpy())
