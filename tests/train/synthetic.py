"""Tiny synthetic training data written to disk: image/mask folders and matting folders."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_folder_dataset(root: Path, count: int = 8, seed: int = 0, size=(96, 128)) -> Path:
    """``images/``, ``masks/``, ``pairs.tsv``: bright discs and boxes on dark noise."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(exist_ok=True)
    lines = []
    height, width = size
    for i in range(count):
        image = rng.integers(0, 80, (height, width, 3), dtype=np.uint8)
        mask = np.zeros((height, width), np.uint8)
        if i % 2:
            cv2.circle(mask, (int(rng.integers(35, width - 35)), int(rng.integers(35, height - 35))),
                       int(rng.integers(15, 30)), 255, -1)
        else:
            x, y = int(rng.integers(5, width // 2)), int(rng.integers(5, height // 2))
            cv2.rectangle(mask, (x, y), (x + int(rng.integers(20, 50)), y + int(rng.integers(20, 40))), 255, -1)
        image[mask > 0] = np.clip(image[mask > 0].astype(int) + 150, 0, 255).astype(np.uint8)
        cv2.imwrite(str(root / "images" / f"{i}.png"), image[:, :, ::-1])
        cv2.imwrite(str(root / "masks" / f"{i}.png"), mask)
        lines.append(f"images/{i}.png\tmasks/{i}.png")
    (root / "pairs.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def write_matting_folder(root: Path, count: int = 4, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for name in ("fg", "alpha", "bg"):
        (root / name).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        foreground = rng.integers(120, 255, (80, 96, 3), dtype=np.uint8)
        alpha = np.zeros((80, 96), np.float32)
        cv2.circle(alpha, (48, 40), 24, 1.0, -1)
        alpha = cv2.GaussianBlur(alpha, (9, 9), 0)
        cv2.imwrite(str(root / "fg" / f"{i}.png"), foreground)
        cv2.imwrite(str(root / "alpha" / f"{i}.png"), (alpha * 255).astype(np.uint8))
        cv2.imwrite(str(root / "bg" / f"{i}.jpg"), rng.integers(0, 90, (100, 120, 3), dtype=np.uint8))
    return root
