"""The evaluation suite: the FocalClick-XL protocols on the standard datasets.

* :mod:`.datasets` — samples, and the plain ``images/ masks/ pairs.tsv`` folder;
* :mod:`.layouts` — GrabCut, Berkeley, DAVIS, COCO_MVal, SBD, PASCAL VOC, DAVIS-585, COCO json;
* :mod:`.clicker` — the simulated user's next click;
* :mod:`.scribbler` — the deterministic scribble generator;
* :mod:`.coarse_masks` — ground truth roughened to five IoU levels;
* :mod:`.superpixel_defects` — DAVIS-585-style initial masks for mask correction;
* :mod:`.metrics` — IoU, NoC@thr, NoF@thr, mIoU@k;
* :mod:`.protocol` — the protocols on one sample;
* :mod:`.grabcut_baseline` — plain OpenCV GrabCut seeded with the clicks;
* :mod:`.methods` — presets and baselines by name;
* :mod:`.report` — tables, markdown and plots;
* :mod:`.run` — a dataset in parallel, ``main`` (``focalxl eval``).
"""
from .clicker import Clicker, next_click
from .coarse_masks import COARSE_LEVELS, coarse_mask
from .datasets import DatasetError, FolderDataset, Sample
from .grabcut_baseline import PlainGrabCut
from .layouts import LAYOUTS, detect_layout, open_dataset
from .methods import load_method, method_names, supports
from .metrics import clicks_to_reach, iou, miou_at, nof, noc
from .protocol import PromptRun, SampleRun, evaluate_box, evaluate_coarse, evaluate_sample, tight_box
from .report import format_table, markdown_report, write_plots
from .run import PROTOCOLS, evaluate, main
from .scribbler import Scribbler, next_scribble
from .superpixel_defects import superpixel_defects

__all__ = ["Clicker", "next_click", "COARSE_LEVELS", "coarse_mask", "DatasetError", "FolderDataset", "Sample",
           "PlainGrabCut", "LAYOUTS", "detect_layout", "open_dataset", "load_method", "method_names", "supports",
           "clicks_to_reach", "iou", "miou_at", "nof", "noc", "PromptRun", "SampleRun", "evaluate_box",
           "evaluate_coarse", "evaluate_sample", "tight_box", "format_table", "markdown_report", "write_plots",
           "PROTOCOLS", "evaluate", "main", "Scribbler", "next_scribble", "superpixel_defects"]
