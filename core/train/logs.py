"""What a run reports: ``RUN_DIR/log.csv`` (one row per step, validation columns when it
ran), TensorBoard scalars under ``RUN_DIR/tensorboard`` when ``tensorboard`` is installed
(``pip install focalxl[train]``), and a progress bar on rank 0."""
from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

COLUMNS = ("step", "epoch", "stage", "lr", "total", "coarse_nfl", "refined_nfl", "boundary_bce", "aux_bce", "nfl", "alpha_mse",
           "samples_per_s", "step_s", "skipped", "val_NoC85", "val_NoC90", "val_mIoU@5")


class RunLog:
    """CSV rows, TensorBoard scalars and a tqdm bar; every method is a no-op off rank 0."""

    def __init__(self, run_dir: Path, enabled: bool, total_steps: int, start_step: int, stage: str,
                 earlier_stages: Sequence[str] = ()):
        self.enabled = enabled
        self.writer = None
        self.bar = None
        if not enabled:
            return
        path = run_dir / "log.csv"
        kept = _rows_kept(path, stage, start_step, earlier_stages)
        self.file = path.open("w", newline="", encoding="utf-8")
        self.csv = csv.DictWriter(self.file, fieldnames=COLUMNS, extrasaction="ignore")
        self.csv.writeheader()
        self.csv.writerows(kept)
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            print("note: tensorboard is not installed (pip install 'focalxl[train]'); logging to log.csv only",
                  file=sys.stderr)
        else:
            self.writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=start_step)
        from tqdm import tqdm

        self.bar = tqdm(total=total_steps, initial=start_step, unit="step", file=sys.stderr, dynamic_ncols=True,
                        mininterval=1.0)

    def step(self, row: Dict[str, Any]) -> None:
        if not self.enabled:
            return
        self.csv.writerow(row)
        self.file.flush()
        if self.writer is not None:
            for key, value in row.items():
                if isinstance(value, (int, float)) and key not in ("step", "epoch"):
                    self.writer.add_scalar(f"train/{key}" if not key.startswith("val_") else f"val/{key[4:]}",
                                           value, row["step"])
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{row['total']:.4f}", sps=f"{row['samples_per_s']:.2f}", refresh=False)

    def note(self, text: str) -> None:
        if self.enabled:
            (self.bar.write if self.bar is not None else print)(text, file=sys.stderr)

    def close(self) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()
        self.file.close()


def _rows_kept(path: Path, stage: str, step: int, earlier_stages: Sequence[str]) -> List[Dict[str, str]]:
    """Rows of the earlier stages, and of this stage up to ``step``: a resumed run drops what it will redo."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as file:
        return [row for row in csv.DictReader(file)
                if row.get("stage") in earlier_stages
                or (row.get("stage") == stage and row.get("step", "").isdigit() and int(row["step"]) <= step)]


def validation_row(summary: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    if not summary:
        return {}
    return {"val_NoC85": summary.get("NoC85"), "val_NoC90": summary.get("NoC90"), "val_mIoU@5": summary.get("mIoU@5")}
