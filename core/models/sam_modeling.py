"""segment-anything's network parts and builders, importable without torchvision.

The package's top-level ``__init__`` imports ``SamPredictor``, whose image transforms
need torchvision; the network parts (``modeling``) and builders (``build_sam``) do not.
Where torchvision is missing, the package is entered without running that ``__init__``.
"""
from __future__ import annotations

import importlib

from .package_entry import enter_package

enter_package("segment_anything", ("torchvision",))
modeling = importlib.import_module("segment_anything.modeling")
build_sam = importlib.import_module("segment_anything.build_sam")
