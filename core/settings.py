"""Environment settings shared by the doors: one parser, one error wording."""
from __future__ import annotations

from typing import Mapping


def positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    """``env[name]`` as a positive whole number (``_`` separators allowed), ``default`` when unset or blank."""
    text = (env.get(name) or "").strip()
    if not text:
        return default
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {text!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value
