"""A batch job from end to end: source -> journal -> runner -> journal -> sink -> summary.

Items already done for the same prompt and model (the journal says so) are skipped;
images whose items are all done are still delivered, so an upload cut short by a crash
is completed (the sinks make a delivery idempotent). Failed items are retried on a rerun.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, List, Optional, Protocol, Sequence, Tuple

from . import prompts
from .journal import Journal
from .model import ModelSpec, threads_per_worker
from .progress import Progress, Summary
from .work import ImageWork, Outcome, Pictures

ENGINES = ("local", "ray")


class Sink(Protocol):
    def deliver(self, work: ImageWork, outcomes: List[Outcome]) -> None:
        """Send one image's successful outcomes (all of them so far); ``UploadError`` when the host refused."""

    def close(self) -> None:
        """Finish (write the file); called once every image was delivered."""


class UploadError(RuntimeError):
    """A host refused or failed a delivery; the job records it and goes on."""


@dataclass
class RunOptions:
    """How to run: model, parallelism and where the journal and pictures go."""

    model: ModelSpec = field(default_factory=ModelSpec)
    journal: str = "annotate.journal.sqlite"
    workers: int = 1
    engine: str = "local"
    ray_address: Optional[str] = None
    pictures: Pictures = field(default_factory=Pictures)
    progress: bool = True


def run_job(works: Sequence[ImageWork], make_sink: Callable[[Journal], Sink], options: RunOptions) -> Summary:
    """Segment what the journal does not have yet, deliver every image, return the summary.

    ``make_sink`` builds the sink on the job's journal (sinks that upload record there).
    """
    if options.engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {options.engine!r}")
    if options.workers < 1:
        raise ValueError(f"workers must be at least 1, got {options.workers}")
    model = options.model if options.model.threads is not None else \
        replace(options.model, threads=threads_per_worker(options.workers))
    journal = Journal(options.journal)
    try:
        sink = make_sink(journal)
        digests = {item.key: prompts.digest(item.prompt, model.identity) for work in works for item in work.items}
        done = journal.done(digests.items())
        todo, finished = _split(works, done)
        progress = Progress(sum(len(w.items) for w in todo), skipped=len(done), enabled=options.progress)
        for work in finished:
            _deliver(sink, work, [done[item.key] for item in work.items], progress)
        whole = {work.key: work for work in works}
        for pending, outcomes in _runner(options, todo, model):
            journal.record((outcome, digests[outcome.key]) for outcome in outcomes)
            progress.add(outcomes)
            work = whole[pending.key]       # delivered whole: the masks done before a resume go too
            _deliver(sink, work, [done[item.key] for item in work.items if item.key in done] + outcomes, progress)
        sink.close()
        return progress.close()
    finally:
        journal.close()


def _split(works: Sequence[ImageWork], done: dict) -> Tuple[List[ImageWork], List[ImageWork]]:
    """Images with items left to segment (only those items kept), and images entirely done."""
    todo, finished = [], []
    for work in works:
        pending = tuple(item for item in work.items if item.key not in done)
        if pending:
            todo.append(replace(work, items=pending))
        else:
            finished.append(work)
    return todo, finished


def _deliver(sink: Sink, work: ImageWork, outcomes: List[Outcome], progress: Progress) -> None:
    try:
        sink.deliver(work, [o for o in outcomes if o.ok])
    except UploadError as error:
        progress.upload_failed(f"{work.key}: {error}")


def _runner(options: RunOptions, works: List[ImageWork], model: ModelSpec) -> Iterator[Tuple[ImageWork, List[Outcome]]]:
    if not works:
        return iter(())
    if options.engine == "ray":
        from .runners.ray import run_ray

        return run_ray(works, model, options.pictures, options.workers, options.ray_address)
    from .runners.local import run_local

    return run_local(works, model, options.pictures, options.workers)
