"""Benchmarks that print the figures the README quotes, next to the requirements.

    python -m focalxl.bench [latency|merge|all|models] [--repeats N] [--json PATH]
    focalxl bench ...                                  (the same)

* ``latency`` — the ``classical`` preset on a 1920x1080 photo (the bundled cat,
  resized): the first interaction and the clicks after it, the memory a cached
  session holds and the process's peak RSS. Requirement: <= 300 ms per interaction.
* ``merge`` — Progressive Merge plus the Focus Crop computation on a 12-megapixel
  (4000x3000) mask, the engine's own code path. Requirement: <= 50 ms.

* ``models`` — every learned preset at full size with random weights, each in a child
  process: first interaction (with the Context-Net) and cached ones, Context-Net reruns
  in cached interactions (must be 0), peak memory. Requirement:
  ``focalclick-segformer-b0-s1`` <= 100 ms per interaction.

Figures are printed, never asserted: they depend on the machine.
"""
from __future__ import annotations

from .report import Figure, format_table
from .run import main

__all__ = ["Figure", "format_table", "main"]
