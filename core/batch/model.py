"""Which model a job runs, as a small picklable spec each worker loads once."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class ModelSpec:
    """``focalxl.load`` arguments; ``threads`` is per worker (``None``: the cores split evenly)."""

    preset: str = "classical"
    checkpoint: Optional[str] = None
    device: Optional[str] = None
    precision: Optional[str] = None
    threads: Optional[int] = None

    @property
    def identity(self) -> str:
        """What a result depends on: the preset and the checkpoint file's name, size and mtime."""
        weights = "-"
        if self.checkpoint is not None:
            stat = os.stat(self.checkpoint)
            weights = f"{os.path.basename(self.checkpoint)}:{stat.st_size}:{int(stat.st_mtime)}"
        return f"{self.preset}|{weights}|{self.precision or 'auto'}"

    def load(self):
        """The ``focalxl.Segmenter`` (learned presets share one network per process); ``ModelLoadError`` if not."""
        import focalxl

        options = {"precision": self.precision} if self.precision is not None else {}
        try:
            return focalxl.load(self.preset, self.checkpoint, device=self.device, threads=self.threads, **options)
        except TypeError as error:      # an option the preset does not take
            raise ModelLoadError(f"preset {self.preset!r} does not take that option: {error}") from None
        except (ValueError, OSError, RuntimeError, KeyError) as error:
            raise ModelLoadError(f"cannot load preset {self.preset!r}: {error}") from None


class ModelLoadError(ValueError):
    """The model of a job cannot be loaded (unknown preset, bad checkpoint, option it does not take)."""


def threads_per_worker(workers: int) -> int:
    """The CPU cores split between ``workers`` processes (at least one each)."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))
