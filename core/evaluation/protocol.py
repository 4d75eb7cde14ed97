"""The protocols on one sample: interactive rounds (clicks, scribbles), one box, coarse masks.

Any method plugs in through a **session factory**: ``new_session(image)`` (or
``new_session(image, initial_mask)`` for mask correction) returns an object whose
``add(interaction)`` returns something with a boolean ``mask``. A focalxl preset
(``focalxl.load(name).new_session``) and the plain baselines fit as they are.

The interactive loop is the same for clicks and scribbles; only the simulated **user**
differs (:class:`.clicker.Clicker` or :class:`.scribbler.Scribbler`, anything with
``next(pred) -> interaction or None``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Protocol, Sequence, Tuple

import numpy as np

from ..interactions import Box, CoarseMask, Interaction
from .clicker import Clicker
from .coarse_masks import COARSE_LEVELS, coarse_mask
from .metrics import MAX_CLICKS, iou


class ClickSession(Protocol):
    def add(self, interaction: Interaction) -> Any: ...   # the result has ``.mask``: bool[H, W]


class SimulatedUser(Protocol):
    def next(self, pred: np.ndarray) -> Optional[Interaction]: ...


SessionFactory = Callable[..., ClickSession]
UserFactory = Callable[[np.ndarray, Optional[np.ndarray]], SimulatedUser]


@dataclass
class SampleRun:
    """One sample's run: IoU after each click, the clicks, and the method's own time.

    ``seconds`` covers ``new_session`` and every ``add`` (not the simulated user or IoU),
    ``click_seconds`` each ``add`` alone, ``click_cpu_seconds`` the process's CPU time in it
    (what a loaded machine does not inflate);
    ``clicks`` holds only interactions actually made (``ious`` may be longer, see
    :func:`evaluate_sample`); ``initial_iou`` is the IoU of the mask the session started
    from (0 from scratch).
    """

    ious: List[float] = field(default_factory=list)
    clicks: List[Interaction] = field(default_factory=list)
    seconds: float = 0.0
    initial_iou: float = 0.0
    click_seconds: List[float] = field(default_factory=list)
    click_cpu_seconds: List[float] = field(default_factory=list)


def evaluate_sample(new_session: SessionFactory, image: np.ndarray, gt: np.ndarray,
                    ignore: Optional[np.ndarray] = None, max_clicks: int = MAX_CLICKS,
                    stop_iou: Optional[float] = 0.90, min_clicks: int = 1,
                    initial: Optional[np.ndarray] = None, user: UserFactory = Clicker) -> SampleRun:
    """Run the protocol: up to ``max_clicks`` rounds, each interaction made by ``user`` on the last mask.

    Stops early once IoU >= ``stop_iou`` after at least ``min_clicks`` clicks
    (``stop_iou=None`` always makes ``max_clicks``). NoC@thr for any thr <= ``stop_iou``
    is exact from the recorded IoUs; mIoU@k is exact for k <= ``min_clicks``.
    When the simulated user finds no error left to correct, the mask cannot change, so its IoU
    is repeated up to the length the run would have had.
    With an ``initial`` mask the session starts from it (mask correction) and the first
    interaction corrects it.
    """
    gt = gt.astype(bool)
    simulated = user(gt, ignore)
    run = SampleRun()
    start = time.perf_counter()
    session = new_session(image) if initial is None else new_session(image, initial)
    run.seconds += time.perf_counter() - start
    pred = np.zeros(gt.shape, dtype=bool) if initial is None else initial.astype(bool)
    if initial is not None:
        run.initial_iou = iou(gt, pred, ignore)
    while len(run.ious) < max_clicks:
        if _reached(run.ious, stop_iou, min_clicks):
            break
        click = simulated.next(pred)
        if click is None:
            last = run.ious[-1] if run.ious else iou(gt, pred, ignore)
            run.ious.append(last)
            while len(run.ious) < max_clicks and not _reached(run.ious, stop_iou, min_clicks):
                run.ious.append(last)
            break
        start, cpu_start = time.perf_counter(), time.process_time()
        result = session.add(click)
        took = time.perf_counter() - start
        run.click_cpu_seconds.append(time.process_time() - cpu_start)
        run.seconds += took
        run.click_seconds.append(took)
        pred = np.asarray(result.mask, dtype=bool)
        if pred.shape != gt.shape:
            raise ValueError(f"method returned a {pred.shape} mask for a {gt.shape} image")
        run.clicks.append(click)
        run.ious.append(iou(gt, pred, ignore))
    return run


def _reached(ious: List[float], stop_iou: Optional[float], min_clicks: int) -> bool:
    return stop_iou is not None and bool(ious) and ious[-1] >= stop_iou and len(ious) >= min_clicks


@dataclass
class PromptRun:
    """One prompt's outcome: the prompt's own IoU (a coarse mask's; ``None`` for a box),
    the IoU of the method's mask, the method's time (wall and CPU), and whether the mask was empty."""

    prompt_iou: Optional[float]
    iou: float
    seconds: float
    empty: bool = False
    cpu_seconds: float = 0.0


def tight_box(gt: np.ndarray) -> Box:
    """The ground truth's tight box, in pixel-edge coordinates (covers every object pixel)."""
    rows, cols = np.nonzero(gt)
    if len(rows) == 0:
        raise ValueError("gt is empty: it has no box")
    return Box(float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1))


def evaluate_box(new_session: SessionFactory, image: np.ndarray, gt: np.ndarray,
                 ignore: Optional[np.ndarray] = None) -> PromptRun:
    """The box protocol: one round from the ground truth's tight box."""
    gt = gt.astype(bool)
    return _single_prompt(new_session, image, gt, ignore, tight_box(gt), None)


def evaluate_coarse(new_session: SessionFactory, image: np.ndarray, gt: np.ndarray,
                    ignore: Optional[np.ndarray], rng: np.random.Generator,
                    levels: Sequence[Tuple[float, float]] = COARSE_LEVELS) -> List[PromptRun]:
    """The coarse-mask protocol: per level, a roughened ground truth refined in a fresh session."""
    gt = gt.astype(bool)
    runs = []
    for level in levels:
        rough = coarse_mask(gt, level, rng, ignore)
        runs.append(_single_prompt(new_session, image, gt, ignore, CoarseMask(rough), iou(gt, rough, ignore)))
    return runs


def _single_prompt(new_session: SessionFactory, image: np.ndarray, gt: np.ndarray, ignore: Optional[np.ndarray],
                   prompt: Interaction, prompt_iou: Optional[float]) -> PromptRun:
    start, cpu_start = time.perf_counter(), time.process_time()
    result = new_session(image).add(prompt)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    mask = np.asarray(result.mask, dtype=bool)
    if mask.shape != gt.shape:
        raise ValueError(f"method returned a {mask.shape} mask for a {gt.shape} image")
    return PromptRun(prompt_iou, iou(gt, mask, ignore), seconds, not mask.any(), cpu_seconds)
