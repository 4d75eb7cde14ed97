"""Methods by name: focalxl presets and the plain baselines, as session factories."""
from __future__ import annotations

from typing import Callable, Dict, FrozenSet, List, Optional

from ..segmenter import load, presets
from .grabcut_baseline import PlainGrabCut
from .protocol import SessionFactory

BASELINES: Dict[str, Callable[[], object]] = {"grabcut": PlainGrabCut}
BASELINE_PROTOCOLS: Dict[str, FrozenSet[str]] = {"grabcut": frozenset({"clicks", "box"})}   # no initial mask


def method_names() -> List[str]:
    return sorted(set(presets()) | set(BASELINES))


def load_method(name: str, checkpoint: Optional[str] = None) -> SessionFactory:
    """``new_session(image)`` for a baseline name (``grabcut``) or a focalxl preset (with its ``checkpoint``)."""
    if name in BASELINES:
        return BASELINES[name]().new_session
    if name in presets():
        return load(name, checkpoint=checkpoint).new_session
    raise ValueError(f"unknown method {name!r}; choose one of {', '.join(method_names())}")


def supports(name: str, protocol: str) -> bool:
    """Whether method ``name`` takes the prompts of ``protocol`` (presets take them all)."""
    return name not in BASELINE_PROTOCOLS or protocol in BASELINE_PROTOCOLS[name]
