"""segment-anything's network parts and builders, importable without torchvision.

The package's top-level ``__init__`` imports ``SamPredictor``, whose image transforms
need torchvision; the network parts (``modeling``) and builders (``build_sam``) do not.
Where torchvision is missing, the package is entered without running that ``__init__``.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types


def _enter_package() -> None:
    try:
        importlib.import_module("segment_anything")
        return
    except ModuleNotFoundError as error:
        if error.name is None or not error.name.startswith("torchvision"):
            raise
    spec = importlib.util.find_spec("segment_anything")
    hollow = types.ModuleType("segment_anything", "segment-anything without its torchvision-only predictor")
    hollow.__path__ = list(spec.submodule_search_locations)
    hollow.__spec__ = spec
    sys.modules["segment_anything"] = hollow


_enter_package()
modeling = importlib.import_module("segment_anything.modeling")
build_sam = importlib.import_module("segment_anything.build_sam")
