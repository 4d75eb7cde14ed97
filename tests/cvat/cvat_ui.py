"""CVAT's side of the interactor protocol, for tests: synthetic frames, the request bodies CVAT's
server posts, and what CVAT's UI makes of a reply (a mask shape's RLE, or a traced polygon)."""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import List, Sequence, Tuple

import cv2
import numpy as np


# --------------------------------------------------------------------------- scenes and payloads

@dataclass(frozen=True)
class Scene:
    image: np.ndarray = field(repr=False)                # uint8[H, W, 3] RGB
    objects: Tuple[np.ndarray, ...] = field(repr=False)  # bool[H, W] per object
    centres: Tuple[Tuple[float, float], ...]             # (x, y) per object

    @property
    def shape(self) -> Tuple[int, int]:
        return self.image.shape[:2]


def disks_scene(centres: Sequence[Tuple[float, float]], radius: float = 30.0, height: int = 160, width: int = 200,
                seed: int = 0) -> Scene:
    """Bright red disks on a dark, striped, noisy green background (distinct in colour and in grey)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    background = np.stack([30 + 20 * np.sin(xx / 5.0), 80 + 20 * np.cos(yy / 7.0), 40 + 10 * np.sin((xx + yy) / 9.0)],
                          axis=-1) + rng.normal(0, 8, (height, width, 3))
    objects = tuple((xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= radius ** 2 for cx, cy in centres)
    inside = np.any(objects, axis=0)
    disk = np.array([235.0, 170.0, 160.0]) + rng.normal(0, 8, (height, width, 3))
    image = np.clip(np.where(inside[..., None], disk, background), 0, 255).astype(np.uint8)
    return Scene(image=image, objects=objects, centres=tuple(centres))


def encode(image: np.ndarray, ext: str = ".png") -> str:
    """An RGB / RGBA / grey / 16-bit array as the base64 file bytes CVAT sends."""
    if image.ndim == 3:
        code = cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR
        image = cv2.cvtColor(image, code)
    ok, data = cv2.imencode(ext, image)
    assert ok
    return base64.b64encode(data.tobytes()).decode("ascii")


def request(image_b64: str, pos: Sequence = (), neg: Sequence = (), **extra) -> dict:
    """The body CVAT 2.14's server posts to an interactor."""
    return {"image": image_b64, "pos_points": [list(p) for p in pos], "neg_points": [list(p) for p in neg], **extra}


# --------------------------------------------------------------------------- CVAT's UI side

def mask2rle(flat: Sequence[int]) -> List[int]:
    """cvat-core ``mask2Rle``: runs of equal values, the first run counting background."""
    runs: List[int] = []
    for i, value in enumerate(flat):
        if i == 0:
            runs.extend([0, 1] if value > 0 else [1])
        elif flat[i - 1] == value:
            runs[-1] += 1
        else:
            runs.append(1)
    return runs


def cvat_mask_shape(reply: dict, shape: Tuple[int, int]) -> np.ndarray:
    """What CVAT's UI makes of an interactor reply when it keeps a mask: ``mask2Rle(mask.flat())``
    plus the inclusive ``bounds``, the points of a mask shape, decoded onto the frame."""
    rows = reply["mask"]
    xtl, ytl, xbr, ybr = reply["bounds"]
    height, width = ybr - ytl + 1, xbr - xtl + 1
    assert len(rows) == height and all(len(row) == width for row in rows), "mask shape must match the bounds"
    flat = [value for row in rows for value in row]
    assert set(flat) <= {0, 255}, "the mask must be two-valued 0/255"
    points = mask2rle(flat) + [xtl, ytl, xbr, ybr]
    decoded, value, position = np.zeros(height * width, dtype=bool), False, 0
    for run in points[:-4]:
        decoded[position:position + run] = value
        position, value = position + run, not value
    frame = np.zeros(shape, dtype=bool)
    frame[ytl:ybr + 1, xtl:xbr + 1] = decoded.reshape(height, width)
    return frame


def cvat_polygon(reply: dict) -> np.ndarray:
    """What CVAT's UI makes of a reply without points when it keeps a polygon: the first
    contour OpenCV finds in the mask, shifted by the bounds."""
    crop = np.array(reply["mask"], dtype=np.uint8)
    contours, _ = cv2.findContours(crop, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    assert contours, "the UI needs at least one contour"
    return contours[0].reshape(-1, 2) + np.array(reply["bounds"][:2])


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0
