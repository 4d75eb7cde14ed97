"""``--engine ray``: Ray Data actors segment the images, on a running cluster or a local one.

The images (``ImageWork``, pickled) become a Ray dataset; ``map_batches`` runs them
through ``workers`` actors of ``SegmentActor``, each loading the model once in its
constructor and asking for ``num_gpus=1`` when the model runs on CUDA (one actor per
GPU) or ``num_cpus`` = its threads on CPU. Outcomes stream back to the driver,
which keeps the journal and the sinks: the output is the same as with ``--engine local``.

Every node reads the images itself: COCO image folders must be on a path all nodes
see; Label Studio and CVAT images are fetched by the actors from the host.
"""
from __future__ import annotations

import os
import pickle
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

import numpy as np

from ..model import ModelSpec
from ..work import ImageWork, Outcome, Pictures, segment_image


class SegmentActor:
    """One model per actor; each call segments a batch of pickled images."""

    def __init__(self, model: ModelSpec, pictures: Pictures):
        self.segmenter = model.load()
        self.pictures = pictures

    def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, list]:
        results = []
        for blob in batch["work"]:
            work = pickle.loads(blob)
            results.append(pickle.dumps((work.key, segment_image(self.segmenter, work, self.pictures))))
        return {"result": results}


def run_ray(works: Iterable[ImageWork], model: ModelSpec, pictures: Pictures, workers: int,
            address: Optional[str] = None) -> Iterator[Tuple[ImageWork, List[Outcome]]]:
    """Segment ``works`` on Ray; yields each image with its outcomes as they arrive."""
    import ray

    works = {work.key: work for work in works}
    started = not ray.is_initialized()
    if started:
        ray.init(address=address or os.environ.get("RAY_ADDRESS") or None, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False        # the job's own bar counts the items
        context.print_on_execution_start = False
        gpu = _on_gpu(model)
        dataset = ray.data.from_items([{"work": pickle.dumps(work)} for work in works.values()],
                                      override_num_blocks=max(1, min(len(works), 4 * workers)))
        results = dataset.map_batches(SegmentActor, fn_constructor_kwargs={"model": model, "pictures": pictures},
                                      batch_size=1, compute=ray.data.ActorPoolStrategy(size=workers),
                                      num_gpus=1 if gpu else 0,
                                      num_cpus=1 if gpu else model.threads or 1)
        for row in results.iter_rows():
            key, outcomes = pickle.loads(row["result"])
            yield works[key], outcomes
    finally:
        if started:
            ray.shutdown()


def _on_gpu(model: ModelSpec) -> bool:
    """Whether the actors need a GPU each: ``--device cuda``, or ``auto`` on a cluster that has GPUs."""
    import ray

    if model.device is not None and model.device not in ("auto", "cuda") and not model.device.startswith("cuda"):
        return False
    if model.preset == "classical":
        return False
    return ray.cluster_resources().get("GPU", 0) > 0
