"""``--engine local``: the job's own process, or ``--workers N`` processes on this machine.

Each worker process loads the model once (the pool's initializer) and segments whole
images. A worker that dies (a crash, the OOM killer) breaks the pool: the images in
flight are retried on a fresh pool, and an image in flight during ``MAX_CRASHES``
crashes fails with the reason instead of taking the job down.
"""
from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Dict, Iterable, Iterator, List, Tuple

from ..model import ModelLoadError, ModelSpec
from ..work import ImageWork, Outcome, Pictures, segment_image

MAX_CRASHES = 2
_segmenter = None     # the worker process's model, loaded once by ``_load``
_load_error = None    # or why it could not be loaded (raised by every ``_segment`` call)


def run_local(works: Iterable[ImageWork], model: ModelSpec, pictures: Pictures,
              workers: int = 1) -> Iterator[Tuple[ImageWork, List[Outcome]]]:
    """Segment ``works``; yields each image with its outcomes as soon as it is done (any order)."""
    if workers <= 1:
        segmenter = model.load()
        for work in works:
            yield work, segment_image(segmenter, work, pictures)
        return
    yield from _run_pool(iter(works), model, pictures, workers)


def _load(model: ModelSpec) -> None:
    global _segmenter, _load_error
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C reaches the whole group: the job's process handles it
    try:
        _segmenter = model.load()
    except ModelLoadError as error:
        _load_error = str(error)


def _segment(work: ImageWork, pictures: Pictures) -> List[Outcome]:
    if _load_error is not None:
        raise ModelLoadError(_load_error)
    return segment_image(_segmenter, work, pictures)


def _run_pool(works: Iterator[ImageWork], model: ModelSpec, pictures: Pictures,
              workers: int) -> Iterator[Tuple[ImageWork, List[Outcome]]]:
    retry: deque = deque()
    crashes: Dict[str, int] = {}
    context = multiprocessing.get_context("spawn")   # no fork of a process holding threads and models
    while True:
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_load, initargs=(model,))
        running: Dict[object, ImageWork] = {}
        try:
            while True:
                while len(running) < 2 * workers:
                    work = retry.popleft() if retry else next(works, None)
                    if work is None:
                        break
                    running[pool.submit(_segment, work, pictures)] = work
                if not running:
                    return
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    error = future.exception()
                    if isinstance(error, (BrokenProcessPool, ModelLoadError)):
                        raise error
                    work = running.pop(future)
                    if error is not None:
                        yield work, [Outcome(item.key, reason=f"worker: {type(error).__name__}: {error}")
                                     for item in work.items]
                    else:
                        yield work, future.result()
        except BrokenProcessPool:
            for work in running.values():
                crashes[work.key] = crashes.get(work.key, 0) + 1
                if crashes[work.key] >= MAX_CRASHES:
                    reason = f"worker crashed {crashes[work.key]} times while segmenting this image"
                    yield work, [Outcome(item.key, reason=reason) for item in work.items]
                else:
                    retry.append(work)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)     # workers finish their image and exit
