"""FocalClick's published inference flow (``FocalPredictor`` with ``ZoomIn``, ``ResizeTrans``,
``SigmoidForPred``, ``get_focus_cropv1``), rewritten from its description so that our
network parts can be checked against the published code's outputs stage for stage.

Only the flow lives here; every network computation is ``focalxl.models.focalclick``'s.
Coordinates are FocalClick's: clicks are ``(row, col)`` pixel indices, disks are
``(r - y)^2 + (c - x)^2 <= R^2`` over integer pixel coordinates.

Two paths where the published code fails are made total, as the engine does: when the
previous mask is empty after an earlier Target Crop, the published ``ZoomIn`` squashes a
whole-image prediction into the stale crop (here: the whole image is the target again);
a Focus Crop that misses the Target Crop crashes ``F.interpolate`` (here: the Target
Crop is the focus). ``SEQUENCES`` never take either path.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from focalxl.models.focalclick import REFINE_RADIUS, FocalClick
from focalclick_published import REFERENCE

Clicks = Sequence[Tuple[float, float, bool]]   # (row, col, positive)


def disks(clicks: Clicks, height: int, width: int, radius: float) -> torch.Tensor:
    """``[1, 2, H, W]``: positive and negative disks (FocalClick's DistMaps with use_disks)."""
    rows = torch.arange(height, dtype=torch.float32)[:, None]
    cols = torch.arange(width, dtype=torch.float32)[None, :]
    out = torch.zeros(1, 2, height, width)
    for y, x, positive in clicks:
        if max(y, x) < 0:   # DistMaps treats a point with both coordinates negative as padding
            continue
        inside = ((rows - y) ** 2 + (cols - x) ** 2) <= radius ** 2
        out[0, 0 if positive else 1] = torch.maximum(out[0, 0 if positive else 1], inside.float())
    return out


def _mask_bbox_inclusive(mask: np.ndarray) -> Tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return rows[0], rows[-1], cols[0], cols[-1]


def _object_roi(prev_mask: np.ndarray, clicks: Clicks, ratio: float, min_size: int) -> Tuple[int, int, int, int]:
    """ZoomIn's ROI: bbox of mask + positive clicks, expanded (rounded), clamped; inclusive."""
    mask = prev_mask.copy()
    for y, x, positive in clicks:
        if positive:
            mask[int(y), int(x)] = True
    rmin, rmax, cmin, cmax = _mask_bbox_inclusive(mask)
    rc, cc = 0.5 * (rmin + rmax), 0.5 * (cmin + cmax)
    height = max(ratio * (rmax - rmin + 1), min_size)
    width = max(ratio * (cmax - cmin + 1), min_size)
    rmin, rmax = int(round(rc - 0.5 * height)), int(round(rc + 0.5 * height))
    cmin, cmax = int(round(cc - 0.5 * width)), int(round(cc + 0.5 * width))
    h, w = mask.shape
    return max(0, rmin), min(h - 1, rmax), max(0, cmin), min(w - 1, cmax)


def _focus_bbox_from_mask(mask: np.ndarray) -> Tuple[int, int, int, int]:
    h, w = mask.shape
    if mask.sum() < 10:
        return 0, h, 0, w
    return _mask_bbox_inclusive(mask)


def _expand_focus(shape, y1, y2, x1, x2, ratio):
    height, width = shape
    xc, yc = 0.5 * (x1 + x2), 0.5 * (y1 + y2)
    h, w = ratio * (y2 - y1 + 1), ratio * (x2 - x1 + 1)
    return (max(0, int(yc - h * 0.5)), min(height, int(yc + h * 0.5)),
            max(0, int(xc - w * 0.5)), min(width, int(xc + w * 0.5)))


def focus_crop_v1(coarse_logits: np.ndarray, prev_prob: np.ndarray, global_roi, y: int, x: int, ratio: float):
    pred, prev = coarse_logits > 0.49, prev_prob > 0.49   # sic: the logits are thresholded at 0.49
    if prev.sum() == 0:
        y1, y2, x1, x2 = _focus_bbox_from_mask(pred)
    else:
        _, labels = cv2.connectedComponents(np.logical_xor(prev, pred).astype(np.uint8))
        y1d, y2d, x1d, x2d = _focus_bbox_from_mask(labels == labels[y, x])
        y1p, y2p, x1p, x2p = _focus_bbox_from_mask(pred)
        hp, wp = y2p - y1p, x2p - x1p
        if y2d - y1d < hp / 3 or x2d - x1d < wp / 3:
            side = 0.2 * max(hp, wp)
            y1, y2, x1, x2 = y - side, y + side, x - side, x + side
        else:
            y1, y2, x1, x2 = y1d, y2d, x1d, x2d
    y1, y2, x1, x2 = _expand_focus(pred.shape, y1, y2, x1, x2, ratio)
    ymin, ymax, xmin, xmax = global_roi
    return max(y1, ymin), min(y2, ymax), max(x1, xmin), min(x2, xmax)


class ReferenceFlow:
    """FocalPredictor's ``get_prediction`` loop around our FocalClick network."""

    def __init__(self, net: FocalClick, image: np.ndarray, infer_size: int = 256, focus_crop_r: float = 1.4,
                 expansion_ratio: float = 1.4, min_crop_size: int = 10, skip_clicks: int = 1):
        self.net = net
        self.size = infer_size
        self.focus_crop_r = focus_crop_r
        self.expansion_ratio = expansion_ratio
        self.min_crop_size = min_crop_size
        self.skip_clicks = skip_clicks
        self.image = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
        self.prev = torch.zeros_like(self.image[:, :1])
        self.zoom_probs: Optional[np.ndarray] = None
        self.object_roi: Optional[Tuple[int, int, int, int]] = None

    def _zoom(self, clicks: Clicks) -> Tuple[torch.Tensor, List[Tuple[float, float, bool]]]:
        both = torch.cat([self.image, self.prev], 1)
        if len(clicks) <= self.skip_clicks:
            return both, list(clicks)
        roi = None
        if self.zoom_probs is not None and (self.zoom_probs > 0.49).sum() > 0:
            roi = _object_roi(self.zoom_probs > 0.49, clicks, self.expansion_ratio, self.min_crop_size)
        if roi is None:
            self.object_roi = None
            return both, list(clicks)
        self.object_roi = roi
        rmin, rmax, cmin, cmax = roi
        return both[:, :, rmin:rmax + 1, cmin:cmax + 1], [(y - rmin, x - cmin, p) for y, x, p in clicks]

    def add(self, clicks: Clicks) -> np.ndarray:
        """Probabilities after the last of ``clicks`` (all clicks so far, oldest first)."""
        last_y, last_x, _ = clicks[-1]
        prev_prob = self.prev
        crop, crop_clicks = self._zoom(clicks)
        height, width = self.image.shape[-2:]
        global_roi = (0, height, 0, width) if self.object_roi is None else (
            self.object_roi[0], self.object_roi[1] + 1, self.object_roi[2], self.object_roi[3] + 1)
        crop_h, crop_w = crop.shape[-2:]
        resized = F.interpolate(crop, (self.size, self.size), mode="bilinear", align_corners=True)
        scaled = [(y * self.size / crop_h, x * self.size / crop_w, p) for y, x, p in crop_clicks]
        with torch.no_grad():
            logits, feature = self.net.segment(resized[:, :3], resized[:, 3:],
                                               disks(scaled, self.size, self.size, self.net.arch.click_radius))
            prob = F.interpolate(torch.sigmoid(logits), (crop_h, crop_w), mode="bilinear", align_corners=True)
            if self.object_roi is None:
                full = prob
            else:
                rmin, rmax, cmin, cmax = self.object_roi
                full = torch.zeros(1, 1, height, width)
                full[:, :, rmin:rmax + 1, cmin:cmax + 1] = prob
            coarse = torch.log(full / (1 - full))
            y1, y2, x1, x2 = focus_crop_v1(coarse[0, 0].numpy(), prev_prob[0, 0].numpy(), global_roi,
                                           int(last_y), int(last_x), self.focus_crop_r)
            if y2 <= y1 or x2 <= x1:
                y1, y2, x1, x2 = global_roi
            box = self._in_target(y1, y2, x1, x2, global_roi)
            focus = F.interpolate(self.image[:, :, y1:y2, x1:x2], (self.size, self.size), mode="bilinear",
                                  align_corners=True)
            focus_clicks = [((y - y1) * self.size / (y2 - y1), (x - x1) * self.size / (x2 - x1), p)
                            for y, x, p in clicks]
            refined, _ = self.net.refine(focus, disks(focus_clicks, self.size, self.size, REFINE_RADIUS), feature,
                                         logits, box)
            refined = F.interpolate(refined, (y2 - y1, x2 - x1), mode="bilinear", align_corners=True)
            if len(clicks) > 10:
                coarse = torch.log(self.prev / (1 - self.prev))
            coarse[:, :, y1:y2, x1:x2] = refined
            self.prev = torch.sigmoid(coarse)
        self.zoom_probs = self.prev[0, 0].numpy()
        return self.prev[0, 0].numpy()

    def _in_target(self, y1, y2, x1, x2, global_roi) -> Tuple[float, float, float, float]:
        """The focus box in the target crop's ``size x size`` frame, as ``(x1, y1, x2, y2)``."""
        yg1, yg2, xg1, xg2 = global_roi
        sy, sx = self.size / (yg2 - yg1), self.size / (xg2 - xg1)
        return (max((x1 - xg1) * sx, 0), max((y1 - yg1) * sy, 0),
                min((x2 - xg1) * sx, self.size), min((y2 - yg1) * sy, self.size))


    def written(self) -> Tuple[slice, slice]:
        """Where the last click wrote probabilities (the published flow zeroes the rest)."""
        if self.object_roi is None:
            return slice(None), slice(None)
        rmin, rmax, cmin, cmax = self.object_roi
        return slice(rmin, rmax + 1), slice(cmin, cmax + 1)


def scene(height: int, width: int, seed: int) -> np.ndarray:
    """A textured image with a bright rectangle, so random weights still give varied maps."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 90, (height, width, 3), dtype=np.uint8)
    image[height // 4:3 * height // 4, width // 5:3 * width // 5] += 140
    return image


# (name, image height, width, seed, clicks as (row, col, positive)); up to 10 clicks, the
# published flow's limit before it switches to updating the Focus Crop alone.
SEQUENCES = [
    ("landscape", 240, 400, 1, [(120, 150, True), (60, 100, True), (200, 380, False), (100, 230, True),
                                (150, 90, False), (30, 30, True), (239, 399, False), (120, 200, True),
                                (90, 120, False), (180, 160, True)]),
    ("elongated", 40, 600, 2, [(20, 300, True), (5, 100, True), (35, 590, False), (20, 10, True),
                               (0, 0, False), (39, 599, True)]),
    ("portrait", 500, 90, 3, [(250, 45, True), (480, 10, True), (10, 80, False), (300, 50, True)]),
]


def compare(net: FocalClick, preset: str, image: np.ndarray, clicks: Clicks,
            expected: Optional[Sequence[np.ndarray]] = None) -> List[Tuple[float, float]]:
    """Per click, the largest difference where the published flow writes: the flow against
    ``expected`` (the published code's own outputs, when given) and the engine against the flow."""
    import focalxl

    flow = ReferenceFlow(net, image)
    predictor = focalxl.load(preset, random_weights=True, device="cpu", precision="fp32").predictor
    predictor.network = net
    session = focalxl.Segmenter(predictor).new_session(image)
    so_far: List[Tuple[float, float, bool]] = []
    differences = []
    for index, (y, x, positive) in enumerate(clicks):
        so_far.append((int(y), int(x), bool(positive)))
        published = flow.add(so_far)
        ours = session.add(focalxl.Click(x + 0.5, y + 0.5, bool(positive))).alpha
        region = flow.written()
        against_outputs = 0.0 if expected is None else float(np.abs(published - expected[index]).max())
        differences.append((against_outputs, float(np.abs(ours[region] - published[region]).max())))
    return differences


def report(checkpoint: str, outputs: str) -> None:
    """Per click, how far the flow is from the published code's outputs, and how far the engine
    (``focalxl.load``) is from the flow where the flow writes, on every reference sequence."""
    from focalxl.models.checkpoints import load_strict, read_checkpoint
    from focalxl.models.focalclick import architecture_from_config, build

    reference = np.load(outputs)
    stored = read_checkpoint(checkpoint)
    net = load_strict(build(architecture_from_config(stored["config"])), stored["state_dict"], checkpoint)
    cases = [("published outputs", reference["image"], reference["clicks"], reference["probs"])]
    cases += [(name, scene(h, w, seed), clicks, None) for name, h, w, seed, clicks in SEQUENCES]
    print("sequence            click  flow vs published outputs  engine vs flow (max abs, where the flow writes)")
    for name, image, clicks, expected in cases:
        for index, (flow, engine) in enumerate(compare(net, "focalclick-segformer-b0-s1", image, clicks, expected), 1):
            print(f"{name:18s}  {index:5d}  {flow:.2e}{'':17s}  {engine:.2e}")


if __name__ == "__main__":
    import sys

    default = REFERENCE
    base = sys.argv[1] if len(sys.argv) > 1 else default
    report(base + ".pth", base + ".npz")
