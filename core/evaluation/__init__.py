"""The click-based evaluation harness (RITM / FocalClick protocol).

* :mod:`.datasets` — folders with ``images/``, ``masks/``, ``pairs.tsv``;
* :mod:`.clicker` — the simulated user's next click;
* :mod:`.metrics` — IoU, NoC@thr, NoF@thr, mIoU@k;
* :mod:`.protocol` — the click loop on one sample;
* :mod:`.grabcut_baseline` — plain OpenCV GrabCut seeded with the clicks;
* :mod:`.methods` — presets and baselines by name;
* :mod:`.run` — a dataset in parallel, the comparison table, ``main``.
"""
from .clicker import Clicker, next_click
from .datasets import DatasetError, FolderDataset, Sample
from .grabcut_baseline import PlainGrabCut
from .methods import load_method, method_names
from .metrics import clicks_to_reach, iou, miou_at, nof, noc
from .protocol import SampleRun, evaluate_sample
from .run import evaluate, format_table, main

__all__ = ["Clicker", "next_click", "DatasetError", "FolderDataset", "Sample", "PlainGrabCut",
           "load_method", "method_names", "clicks_to_reach", "iou", "miou_at", "nof", "noc",
           "SampleRun", "evaluate_sample", "evaluate", "format_table", "main"]
