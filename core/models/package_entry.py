"""Entering a model package whose ``__init__`` imports what the network code does not need.

segment-anything's ``__init__`` imports its predictor, which needs torchvision; sam2's
``__init__`` sets up Hydra for its YAML configs. Their network modules need neither. Where
such an import is missing, the package is registered without running its ``__init__``, so
its submodules import as usual.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Tuple


def enter_package(name: str, unneeded: Tuple[str, ...]) -> None:
    """Import package ``name``, or register it hollow when its ``__init__`` fails for lack of one of ``unneeded``."""
    try:
        importlib.import_module(name)
        return
    except ModuleNotFoundError as error:
        if error.name is None or error.name.split(".")[0] not in unneeded:
            raise
    spec = importlib.util.find_spec(name)
    hollow = types.ModuleType(name, f"{name} without its __init__ (it needs {', '.join(unneeded)})")
    hollow.__path__ = list(spec.submodule_search_locations)
    hollow.__spec__ = spec
    sys.modules[name] = hollow
