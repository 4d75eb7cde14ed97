"""A stage's task: its objective, how a sample is made for it, and which ``--data`` it reads."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Dict, List, Sequence

import numpy as np
from torch import nn

from ..models.focalclick import FocalClick
from .datasets import MattingFolder
from .objectives import FocalClickObjective
from .samples import focalclick_sample

FOCALCLICK_SIZE = 256   # ClickSEG's crop_size: Target and Focus Crops are 256 x 256


@dataclass
class Task:
    objective: nn.Module
    make: Callable[[Any, np.random.Generator], Dict[str, Any]]
    sources: List[Sequence[Any]]


def build_task(network: nn.Module, stage: str, sources: Sequence[Sequence[Any]]) -> Task:
    segmentation = [source for source in sources if not isinstance(source, MattingFolder)]
    if isinstance(network, FocalClick):
        if not segmentation:
            raise ValueError("--data: FocalClick trains on segmentation datasets; only matting folders were given")
        return Task(FocalClickObjective(network), partial(focalclick_sample, size=FOCALCLICK_SIZE,
                                                          focus_size=FOCALCLICK_SIZE), segmentation)
    from .xl_tasks import build_xl_task

    return build_xl_task(network, stage, sources)
