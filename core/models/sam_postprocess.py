"""SAM's mask, ``Sam.postprocess_masks(low_res) > 0``, decided from the low-res logits region by region.

``postprocess_masks`` upsamples the 256x256 low-res logits bilinearly twice: x4 to the
encoder's 1024 frame (cut to the resized image), then to the image size. Bilinear weights
are non-negative, so a pixel whose *support* (the low-res cells both steps read for it)
holds only positive logits is in the mask, and one whose support holds none is out of it,
whatever float32 rounds to. Only the pixels along the edge, with a mixed support, need a
value (where the edge covers much of the region, as with a speckled mask, ``F.interpolate``
upsamples it all instead):

* the first step's float32 values come from ``F.interpolate`` itself, over a window of the
  low-res logits (its inside equals the whole upsampling's, the window's edge rows are left out);
* the second step is evaluated in float64 from those values and PyTorch's float32 weights;
  its sign is the float32 result's wherever it lies farther from 0 than float32 rounding
  can move it (a few ulps of the largest logit);
* the few pixels closer to 0 replay PyTorch's CPU arithmetic exactly (``fma(t0, w0, t1 * w1)``
  per axis, weights from ``fma(scale, i + 0.5, -0.5)``), which is checked against
  ``F.interpolate`` once per image size; where it does not match (another kernel, another
  build) their values come from ``F.interpolate`` over the whole image.

The probability this gives the session is ``1`` or ``0`` where the support decides the mask
and ``sigmoid(logit)`` along the edge, so two predictions differ only where their supports'
signs differ or along either edge: :meth:`MaskUpsampling.changed_box` bounds that region
and the session rewrites only it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

Box = Tuple[int, int, int, int]

TINY = 1e-30            # positive logits below this may round to 0 on the way up: counted as mixed
ROUNDING = 16 * 2.0 ** -24   # |float32 second step - float64 one| <= ROUNDING * max |logit| (4.2 ulps needed)
SIGN_MARGIN = 1e-3      # non-positive logits are pushed below -SIGN_MARGIN so that sigmoid < 0.5 in float32
VECTORIZED_SIDES = 128  # PyTorch's CPU kernel takes another code path for outputs with height + width <= this
DENSE_EDGE = 8          # an edge over more than 1/8 of the box is upsampled whole, by F.interpolate


def fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """float32 ``a * b + c`` rounded once, as a fused multiply-add (float64 with round-to-odd)."""
    a, b, c = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c)))
    product = a * b                      # exact: 24-bit by 24-bit significands
    total = product + c
    virtual = total - product
    error = (product - (total - virtual)) + (c - virtual)
    inexact = (error != 0) & ((total.view(np.int64) & 1) == 0)
    if inexact.any():                    # round to odd, so that rounding to float32 is not a double rounding
        total = total.copy()
        total[inexact] = np.nextafter(total[inexact], np.where(error[inexact] > 0, np.inf, -np.inf))
    return total.astype(np.float32)


@dataclass(frozen=True)
class Axis:
    """One axis of one bilinear step, as PyTorch's CPU kernel indexes and weighs it."""

    index0: np.ndarray     # int64[out]
    index1: np.ndarray
    weight0: np.ndarray    # float32[out]
    weight1: np.ndarray

    @classmethod
    def linear(cls, in_size: int, out_size: int, scale: np.float32) -> "Axis":
        """``align_corners=False`` source indices and weights, in PyTorch's float32 arithmetic."""
        if in_size == out_size:
            same = np.arange(out_size)
            return cls(same, same, np.ones(out_size, np.float32), np.zeros(out_size, np.float32))
        half = np.float32(0.5)
        source = fma(np.float32(scale), np.arange(out_size, dtype=np.float32) + half, -half)
        source = np.maximum(source, np.float32(0))
        index0 = np.minimum(np.floor(source).astype(np.int64), in_size - 1)
        weight1 = np.clip(source - index0.astype(np.float32), np.float32(0), np.float32(1)).astype(np.float32)
        index1 = index0 + (index0 < in_size - 1)
        return cls(index0, index1, (np.float32(1) - weight1).astype(np.float32), weight1)


@dataclass(frozen=True)
class Groups:
    """Runs of output rows (or columns) with the same low-res support ``[low, high]``."""

    start: np.ndarray      # int64[G + 1], first output index of each run, then the size
    low: np.ndarray        # int64[G]
    high: np.ndarray       # int64[G]

    @classmethod
    def of(cls, low: np.ndarray, high: np.ndarray) -> "Groups":
        key = low * (high.max() + 1) + high
        start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        return cls(np.r_[start, len(low)], low[start], high[start])

    def at(self, first: int, last: int) -> Tuple[int, int]:
        """The runs holding output indices ``first`` and ``last``."""
        return (int(np.searchsorted(self.start, first, side="right")) - 1,
                int(np.searchsorted(self.start, last, side="right")) - 1)

    def all(self, bits: np.ndarray, axis: int) -> np.ndarray:
        """Bitwise AND over each run's support along ``axis``."""
        out = np.take(bits, self.low, axis=axis)
        for step in range(1, int((self.high - self.low).max()) + 1):
            out &= np.take(bits, np.minimum(self.low + step, self.high), axis=axis)
        return out


class MaskUpsampling:
    """``Sam.postprocess_masks`` for one image size, decided from low-res logits."""

    def __init__(self, input_size: Tuple[int, int], original_size: Tuple[int, int], low_res: int = 256,
                 img_size: int = 1024):
        self.input_size, self.original_size = input_size, original_size
        self.low_res, self.img_size = low_res, img_size
        factor = img_size // low_res
        self.first = [Axis.linear(low_res, img_size, np.float32(1.0 / factor))] * 2
        self.second = [Axis.linear(size, out, np.float32(size) / np.float32(out))
                       for size, out in zip(input_size, original_size)]
        self.groups = [Groups.of(first.index0[second.index0], first.index1[second.index1])
                       for first, second in zip(self.first, self.second)]
        self._replays: Optional[bool] = None

    # ---- which pixels are decided by their support

    def classes(self, low_res: np.ndarray) -> np.ndarray:
        """``int8[row runs, column runs]``: 1 support all positive, -1 none positive, 0 mixed."""
        rows, cols = self.groups
        bits = (low_res > TINY).view(np.uint8) | ((low_res <= 0).view(np.uint8) << 1)
        decided = cols.all(rows.all(bits, 0), 1)     # bit 0: all positive, bit 1: none positive
        return (decided & 1).astype(np.int8) - (decided >> 1).astype(np.int8)

    def changed_box(self, before: np.ndarray, after: np.ndarray) -> Optional[Box]:
        """The pixels where the probabilities of ``before`` and ``after`` (classes) may differ, or
        ``None`` where they cannot differ anywhere."""
        unsettled = (before != after) | (after == 0)
        if not unsettled.any():
            return None
        rows, cols = self.groups
        ys, xs = np.flatnonzero(unsettled.any(axis=1)), np.flatnonzero(unsettled.any(axis=0))
        return (int(cols.start[xs[0]]), int(rows.start[ys[0]]), int(cols.start[xs[-1] + 1]),
                int(rows.start[ys[-1] + 1]))

    # ---- the probabilities

    def probabilities(self, low_res: np.ndarray, classes: np.ndarray, box: Box) -> np.ndarray:
        """``float32[box]``: 1 / 0 where the support decides, ``sigmoid(logit)`` along the edge;
        ``>= 0.5`` exactly where ``postprocess_masks(low_res) > 0``."""
        x0, y0, x1, y1 = box
        rows, cols = self.groups
        (r0, r1), (c0, c1) = rows.at(y0, y1 - 1), cols.at(x0, x1 - 1)
        row_counts = np.diff(np.clip(rows.start[r0:r1 + 2], y0, y1))
        col_counts = np.diff(np.clip(cols.start[c0:c1 + 2], x0, x1))
        part = classes[r0:r1 + 1, c0:c1 + 1]
        expand = lambda cells: np.repeat(np.repeat(cells, col_counts, axis=1), row_counts, axis=0)
        edge = part == 0
        if int(row_counts @ edge @ col_counts) * DENSE_EDGE > (y1 - y0) * (x1 - x0):   # edge all over: upsample all
            decided = np.array([-np.inf, 0.0, np.inf], dtype=np.float32)[part + 1]   # +-inf where decided, else 0
            with torch.inference_mode():
                logits = upscale(torch.from_numpy(low_res)[None, None], self.input_size, self.original_size,
                                 self.img_size)[0, 0, y0:y1, x0:x1]
                pushed = torch.where(logits > 0, logits, logits.clamp(max=-SIGN_MARGIN))   # sigmoid < 0.5
                pushed.add_(torch.from_numpy(expand(decided))).sigmoid_()
            return pushed.numpy()
        prob = expand((part == 1).astype(np.float32))
        ys, xs = _cells_pixels(np.argwhere(edge), rows.start[r0:r1 + 2].clip(y0, y1),
                               cols.start[c0:c1 + 2].clip(x0, x1))
        if ys.size:
            logits, positive = self.edge(low_res, ys, xs)
            pushed = np.where(positive, logits, np.minimum(logits, -SIGN_MARGIN))
            prob[ys - y0, xs - x0] = 1.0 / (1.0 + np.exp(-pushed))
        return prob

    def edge(self, low_res: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Logits (float64, close) and ``postprocess_masks(low_res) > 0`` (exact) at pixels ``(ys, xs)``."""
        if not self.replays():
            exact = upscale(torch.from_numpy(low_res)[None, None], self.input_size, self.original_size,
                            self.img_size)[0, 0].numpy()[ys, xs]
            return exact.astype(np.float64), exact > 0
        rows, cols = self.second
        top, left, window = self.first_step(low_res, (int(rows.index0[ys.min()]), int(rows.index1[ys.max()])),
                                            (int(cols.index0[xs.min()]), int(cols.index1[xs.max()])))
        flat, stride = window.ravel(), window.shape[1]
        row_at = [(r[ys] - top) * stride for r in (rows.index0, rows.index1)]
        col_at = [c[xs] - left for c in (cols.index0, cols.index1)]
        corners = [flat.take(r + c) for r in row_at for c in col_at]
        wy0, wy1, wx0, wx1 = rows.weight0[ys], rows.weight1[ys], cols.weight0[xs], cols.weight1[xs]
        x0, x1 = wx0.astype(np.float64), wx1.astype(np.float64)
        value = (corners[0] * x0 + corners[1] * x1) * wy0 + (corners[2] * x0 + corners[3] * x1) * wy1
        positive = value > 0
        close = np.flatnonzero(np.abs(value) <= ROUNDING * float(np.abs(low_res).max()))
        if close.size:
            at = lambda a: a[close]
            upper = fma(at(corners[0]), at(wx0), at(corners[1]) * at(wx1))
            lower = fma(at(corners[2]), at(wx0), at(corners[3]) * at(wx1))
            positive[close] = fma(upper, at(wy0), lower * at(wy1)) > 0
        return value, positive

    def first_step(self, low_res: np.ndarray, rows: Tuple[int, int], cols: Tuple[int, int]):
        """``(top, left, float32 values)`` of the x4 step over at least rows and columns ``[first, last]``
        of its output, computed by ``F.interpolate`` on a window of ``low_res`` one cell wider than needed
        (the window's own edge rows are interpolated differently and left out)."""
        spans = []
        for (first, last), axis in zip((rows, cols), self.first):
            low = max(0, int(axis.index0[first]) - 1)
            high = min(self.low_res, int(axis.index1[last]) + 2)
            spans.append([low, high])
        factor = self.img_size // self.low_res
        while (sum(high - low for low, high in spans)) * factor <= VECTORIZED_SIDES:
            for span in spans:
                span[0], span[1] = max(0, span[0] - 1), min(self.low_res, span[1] + 1)
        (ra, rb), (ca, cb) = spans
        window = torch.from_numpy(np.ascontiguousarray(low_res[ra:rb, ca:cb]))[None, None]
        with torch.inference_mode():
            values = F.interpolate(window, scale_factor=float(factor), mode="bilinear", align_corners=False)
        return ra * factor, ca * factor, values[0, 0].numpy()

    def replays(self) -> bool:
        """Whether :meth:`edge`'s exact replay equals ``F.interpolate``'s second step for this size
        (checked once, on random values, at every output row and column)."""
        if self._replays is None:
            height, width = self.original_size
            if height + width <= VECTORIZED_SIDES:
                self._replays = False
                return False
            values = np.random.default_rng(0).standard_normal(self.input_size).astype(np.float32)
            with torch.inference_mode():
                full = F.interpolate(torch.from_numpy(values)[None, None], self.original_size, mode="bilinear",
                                     align_corners=False)[0, 0].numpy()
            ys = np.r_[np.arange(height), (np.arange(width) * 7919) % height]
            xs = np.r_[(np.arange(height) * 7919) % width, np.arange(width)]
            rows, cols = self.second
            corner = lambda r, c: values[r[ys], c[xs]]
            upper = fma(corner(rows.index0, cols.index0), cols.weight0[xs],
                        corner(rows.index0, cols.index1) * cols.weight1[xs])
            lower = fma(corner(rows.index1, cols.index0), cols.weight0[xs],
                        corner(rows.index1, cols.index1) * cols.weight1[xs])
            replayed = fma(upper, rows.weight0[ys], lower * rows.weight1[ys])
            self._replays = bool(np.array_equal(replayed.view(np.int32), full[ys, xs].view(np.int32)))
        return self._replays


def _cells_pixels(cells: np.ndarray, row_edges: np.ndarray, col_edges: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Every pixel of the given ``(row run, column run)`` cells, whose pixel ranges are
    ``[edges[k], edges[k + 1])``."""
    if len(cells) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    top, bottom = row_edges[cells[:, 0]], row_edges[cells[:, 0] + 1]
    left, right = col_edges[cells[:, 1]], col_edges[cells[:, 1] + 1]
    heights, widths = bottom - top, right - left
    sizes = heights * widths
    cell = np.repeat(np.arange(len(cells)), sizes)
    offset = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return top[cell] + offset // widths[cell], left[cell] + offset % widths[cell]


def upscale(low_res: torch.Tensor, input_size: Tuple[int, int], original_size: Tuple[int, int],
            img_size: int) -> torch.Tensor:
    """``Sam.postprocess_masks``, upsampling only the low-res rows and columns the image covers.

    The first x(img_size / low-res side) step samples source index ``(i + 0.5) / f - 0.5``;
    output rows below ``input_size`` never read past low-res row ``ceil(h / f)``, so cutting the
    input there (plus one) and the output at ``input_size`` gives exactly SAM's values.
    """
    factor = img_size // low_res.shape[-1]
    rows = min(low_res.shape[-2], math.ceil(input_size[0] / factor) + 1)
    cols = min(low_res.shape[-1], math.ceil(input_size[1] / factor) + 1)
    masks = F.interpolate(low_res[..., :rows, :cols], scale_factor=float(factor), mode="bilinear",
                          align_corners=False)
    masks = masks[..., :input_size[0], :input_size[1]]
    return F.interpolate(masks, original_size, mode="bilinear", align_corners=False)
