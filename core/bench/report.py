"""Figures and the table they are printed in."""
from __future__ import annotations

import json
import os
import platform
import resource
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union


@dataclass
class Figure:
    """One measured number, with the requirement it is held against (if any)."""

    bench: str
    measure: str
    value: float
    unit: str
    limit: Optional[float] = None       # requirement: value <= limit
    details: Dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.limit is None:
            return "-"
        return "PASS" if self.value <= self.limit else "OVER"

    def as_dict(self) -> Dict[str, Any]:
        return {**asdict(self), "status": self.status}


def _number(value: float, unit: str) -> str:
    return f"{value:.1f} {unit}" if value < 1000 else f"{value:.0f} {unit}"


def format_table(figures: Sequence[Figure]) -> str:
    """A plain-text table: bench, measure, value, requirement, PASS/OVER."""
    header = ("bench", "measure", "value", "requirement", "status")
    rows = [(f.bench, f.measure, _number(f.value, f.unit),
             "-" if f.limit is None else f"<= {f.limit:g} {f.unit}", f.status) for f in figures]
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(header, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for row in rows:
        cells = [cell.rjust(w) if i == 2 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def machine() -> Dict[str, Any]:
    """What the figures were measured on."""
    import cv2
    import numpy as np

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpus": cpus, "machine": platform.machine(), "processor": platform.processor() or None,
            "python": platform.python_version(), "numpy": np.__version__, "opencv": cv2.__version__,
            "opencv_threads": cv2.getNumThreads()}


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024.0 ** 2 if sys.platform == "darwin" else peak / 1024.0   # bytes on macOS, KiB on Linux


def write_json(path: Union[str, Path], figures: Sequence[Figure], settings: Dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine(), "settings": settings, "figures": [f.as_dict() for f in figures]}
    path.write_text(json.dumps(payload, indent=2) + "\n")


def mib(nbytes: int) -> float:
    return nbytes / 1024.0 ** 2
