"""The learned presets, registered by name without importing torch.

``import focalxl`` stays fast for the ``classical`` preset: a learned preset's module
(and torch with it) is imported when the preset is first loaded.
"""
from __future__ import annotations

import importlib
from typing import Callable

from ..segmenter import register


def _deferred(module: str, factory: str, *args) -> Callable:
    """A factory that imports ``module`` and calls ``module.factory(*args)(**options)`` on first use."""
    def build(**options):
        return getattr(importlib.import_module(module, __package__), factory)(*args)(**options)

    return build


for _variant in ("vit_b", "vit_l", "vit_h"):
    register(f"sam-{_variant.replace('_', '-')}", _deferred(".sam", "preset", _variant))

for _variant in ("tiny", "small", "base_plus", "large"):
    register(f"sam2.1-hiera-{_variant.replace('_', '-')}", _deferred(".sam2", "preset", _variant))

for _name in ("focalclick-segformer-b0-s1", "focalclick-segformer-b0-s2", "focalclick-segformer-b3-s2",
              "focalclick-hrnet18s-s1", "focalclick-hrnet18s-s2", "focalclick-hrnet32-s2"):
    register(_name, _deferred(".focalclick", "preset", _name))

for _name in ("focalclick-xl-b", "focalclick-xl-h"):
    register(_name, _deferred(".focalclick_xl", "preset", _name))
