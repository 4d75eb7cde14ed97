"""Feedback while a job runs (a progress bar with items/s and ETA) and the closing summary."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, TextIO

from tqdm import tqdm

from .work import Outcome


@dataclass
class Summary:
    """What a job did: items done now, skipped as already done, failed (by reason), speed."""

    done: int = 0
    skipped: int = 0
    failed: Dict[str, int] = field(default_factory=dict)
    failures: List[Outcome] = field(default_factory=list)
    upload_errors: List[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures and not self.upload_errors

    @property
    def masks_per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def text(self) -> str:
        lines = [f"done {self.done}, skipped (already done) {self.skipped}, failed {len(self.failures)}; "
                 f"{self.masks_per_second:.2f} masks/s over {self.seconds:.1f} s"]
        for reason, count in sorted(self.failed.items(), key=lambda kv: -kv[1]):
            lines.append(f"  failed {count}x: {reason}")
        for error in self.upload_errors:
            lines.append(f"  upload failed: {error}")
        return "\n".join(lines)


class Progress:
    """Counts outcomes into a ``Summary`` and shows a bar (items, items/s, ETA) on ``stream``."""

    def __init__(self, total: int, skipped: int, stream: Optional[TextIO] = None, enabled: bool = True):
        self.summary = Summary(skipped=skipped)
        self._start = time.perf_counter()
        self._bar = tqdm(total=total, unit="item", file=stream or sys.stderr, disable=not enabled,
                         dynamic_ncols=True, smoothing=0.1, desc="annotate")

    def add(self, outcomes: List[Outcome]) -> None:
        for outcome in outcomes:
            if outcome.ok:
                self.summary.done += 1
            else:
                self.summary.failures.append(outcome)
                reason = _reason_kind(outcome.reason)
                self.summary.failed[reason] = self.summary.failed.get(reason, 0) + 1
        self._bar.update(len(outcomes))
        if self.summary.failures:
            self._bar.set_postfix(failed=len(self.summary.failures), refresh=False)

    def upload_failed(self, message: str) -> None:
        self.summary.upload_errors.append(message)

    def close(self) -> Summary:
        self._bar.close()
        self.summary.seconds = time.perf_counter() - self._start
        return self.summary


def _reason_kind(reason: Optional[str]) -> str:
    """The summary's grouping of a failure: its reason, cut at 80 characters."""
    text = reason or "unknown"
    return text if len(text) <= 80 else text[:77] + "..."
