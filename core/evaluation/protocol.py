"""The click protocol: simulated clicks, one at a time, on one sample.

Any method plugs in through a **session factory**: ``new_session(image)`` returns an
object whose ``add(click)`` returns something with a boolean ``mask``. A focalxl preset
(``focalxl.load(name).new_session``) and the plain baselines fit as they are.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Protocol

import numpy as np

from ..interactions import Click
from .clicker import Clicker
from .metrics import MAX_CLICKS, iou


class ClickSession(Protocol):
    def add(self, click: Click) -> Any: ...   # the result has ``.mask``: bool[H, W]


SessionFactory = Callable[[np.ndarray], ClickSession]


@dataclass
class SampleRun:
    """One sample's run: IoU after each click, the clicks, and the method's own time.

    ``seconds`` covers ``new_session`` and every ``add`` (not the clicker or IoU);
    ``clicks`` holds only clicks actually made (``ious`` may be longer, see
    :func:`evaluate_sample`).
    """

    ious: List[float] = field(default_factory=list)
    clicks: List[Click] = field(default_factory=list)
    seconds: float = 0.0


def evaluate_sample(new_session: SessionFactory, image: np.ndarray, gt: np.ndarray,
                    ignore: Optional[np.ndarray] = None, max_clicks: int = MAX_CLICKS,
                    stop_iou: Optional[float] = 0.90, min_clicks: int = 1) -> SampleRun:
    """Run the protocol: up to ``max_clicks`` clicks, each placed by the clicker on the last mask.

    Stops early once IoU >= ``stop_iou`` after at least ``min_clicks`` clicks
    (``stop_iou=None`` always makes ``max_clicks``). NoC@thr for any thr <= ``stop_iou``
    is exact from the recorded IoUs; mIoU@k is exact for k <= ``min_clicks``.
    When the clicker finds no error left to correct, the mask cannot change, so its IoU
    is repeated up to the length the run would have had.
    """
    gt = gt.astype(bool)
    clicker = Clicker(gt, ignore)
    run = SampleRun()
    start = time.perf_counter()
    session = new_session(image)
    run.seconds += time.perf_counter() - start
    pred = np.zeros(gt.shape, dtype=bool)
    while len(run.ious) < max_clicks:
        if _reached(run.ious, stop_iou, min_clicks):
            break
        click = clicker.next(pred)
        if click is None:
            last = run.ious[-1] if run.ious else iou(gt, pred, ignore)
            run.ious.append(last)
            while len(run.ious) < max_clicks and not _reached(run.ious, stop_iou, min_clicks):
                run.ious.append(last)
            break
        start = time.perf_counter()
        result = session.add(click)
        run.seconds += time.perf_counter() - start
        pred = np.asarray(result.mask, dtype=bool)
        if pred.shape != gt.shape:
            raise ValueError(f"method returned a {pred.shape} mask for a {gt.shape} image")
        run.clicks.append(click)
        run.ious.append(iou(gt, pred, ignore))
    return run


def _reached(ious: List[float], stop_iou: Optional[float], min_clicks: int) -> bool:
    return stop_iou is not None and bool(ious) and ious[-1] >= stop_iou and len(ious) >= min_clicks
