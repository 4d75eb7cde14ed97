"""sam2's network parts, importable without Hydra and torchvision.

The package's top-level ``__init__`` initialises Hydra for its YAML configs, and its image
predictor's transforms need torchvision; the network modules need neither. Where Hydra is
missing, the package is entered without running that ``__init__`` (the presets build the
modules directly, :mod:`focalxl.models.sam2`).
"""
from __future__ import annotations

import importlib

from .package_entry import enter_package

enter_package("sam2", ("hydra", "omegaconf"))
sam2_base = importlib.import_module("sam2.modeling.sam2_base")
hieradet = importlib.import_module("sam2.modeling.backbones.hieradet")
image_encoder = importlib.import_module("sam2.modeling.backbones.image_encoder")
position_encoding = importlib.import_module("sam2.modeling.position_encoding")
memory_attention = importlib.import_module("sam2.modeling.memory_attention")
memory_encoder = importlib.import_module("sam2.modeling.memory_encoder")
transformer = importlib.import_module("sam2.modeling.sam.transformer")
