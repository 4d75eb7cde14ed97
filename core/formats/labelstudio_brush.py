"""Label Studio brush RLE: masks to and from the @thi.ng/rle-pack bit stream.

The stream encodes the flat RGBA bytes of an ``H x W`` image (``num = 4 H W`` values):
a header (32 bits ``num``, 5 bits ``word size - 1``, 4 x 4 bits ``run size - 1``), then
chunks, MSB first: 1 bit repeat flag, 2 bits run-size index ``k``, ``sizes[k]`` bits
``count - 1``, then one word repeated ``count`` times or ``count`` literal words.
Label Studio draws a pixel where its alpha (the 4th byte) is non-zero.

The encoder writes only repeat chunks, so its cost grows with the number of runs,
not pixels: every field lands in a 5-byte window placed with numpy in one pass per
parity (neighbouring fields may share a byte, fields two apart never do).
"""
from __future__ import annotations

from typing import List, Sequence

import numpy as np

WORD_SIZE = 8
RUN_SIZES = (3, 4, 8, 16)
_HEADER = ((WORD_SIZE - 1) << 16) | sum((size - 1) << (4 * (3 - i)) for i, size in enumerate(RUN_SIZES))
_HEADER_BITS = 5 + 4 * len(RUN_SIZES)
_MAX_RUN = 1 << RUN_SIZES[-1]


def encode(mask: np.ndarray) -> List[int]:
    """A 2-D mask (non-zero is foreground) -> RLE of RGBA ``(255, 255, 255, 255)`` / zeros."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    values = np.ascontiguousarray(mask, dtype=bool).ravel()
    codes, lengths = _run_fields(values)
    head_codes = np.array([4 * values.size, _HEADER], dtype=np.uint64)
    head_lengths = np.array([32, _HEADER_BITS], dtype=np.uint64)
    return _pack(np.concatenate([head_codes, codes]), np.concatenate([head_lengths, lengths])).tolist()


def decode(rle: Sequence[int], height: int, width: int) -> np.ndarray:
    """RLE -> ``bool[height, width]``, true where the alpha byte is non-zero.

    The header's length must be the image's ``4 * height * width`` values; it is checked
    before anything is allocated, so a header claiming more costs nothing.
    """
    reader, num, sizes = _open(rle)
    if num != 4 * height * width:
        raise ValueError(f"rle holds {num} values, expected {4 * height * width} for a {width}x{height} image")
    return _decode_chunks(reader, num, sizes).reshape(height, width, 4)[:, :, 3] != 0


def decode_values(rle: Sequence[int]) -> np.ndarray:
    """RLE -> the flat ``uint8`` values it encodes (any mix of repeat and literal chunks)."""
    return _decode_chunks(*_open(rle))


def _open(rle: Sequence[int]):
    """A reader past the header, the header's value count and run sizes."""
    data = _as_bytes(rle)
    reader = _BitReader(data)
    num = reader.read(32)
    word_size = reader.read(5) + 1
    sizes = [reader.read(4) + 1 for _ in range(4)]
    if word_size != WORD_SIZE:
        raise ValueError(f"rle word size is {word_size}, Label Studio brushes use {WORD_SIZE}")
    if num > 8 * len(data) * (1 << 16):
        raise ValueError(f"rle header claims {num} values, more than {len(data)} bytes can hold")
    return reader, num, sizes


def _decode_chunks(reader: "_BitReader", num: int, sizes: List[int]) -> np.ndarray:
    """The values of the chunks after the header: one tight loop over 5-byte windows of the stream.

    A chunk's fields (3 + at most 16 + 8 bits) always fit in the 40 bits read at its first byte.
    """
    data, pos, end_bits = reader.data + b"\0" * 5, reader.pos, 8 * len(reader.data)
    out = bytearray(num)
    from_bytes, fills = int.from_bytes, _Fills()
    i = 0
    while i < num:
        byte, shift = pos >> 3, pos & 7
        window = from_bytes(data[byte:byte + 5], "big") << shift
        size = sizes[(window >> 37) & 3]
        count = ((window >> (37 - size)) & ((1 << size) - 1)) + 1
        pos += 3 + size
        if i + count > num:
            raise ValueError(f"rle run at value {i} overruns the {num} values of its header")
        if pos + 8 * (1 if window >> 39 & 1 else count) > end_bits:
            raise ValueError("rle is truncated")
        if count == 1:           # a single word, repeat or literal: no slice
            out[i] = (window >> (29 - size)) & 0xFF
            pos += 8
        elif window >> 39 & 1:   # repeat: one word, count times (the buffer starts as zeros)
            value = (window >> (29 - size)) & 0xFF
            if value:
                out[i:i + count] = fills[value][:count]
            pos += 8
        else:                    # literal: count words
            byte, shift = pos >> 3, pos & 7
            words = from_bytes(data[byte:byte + count + 1], "big") >> (8 - shift)
            out[i:i + count] = (words & ((1 << (8 * count)) - 1)).to_bytes(count, "big")
            pos += 8 * count
        i += count
    if pos > end_bits:
        raise ValueError("rle is truncated")
    return np.frombuffer(out, np.uint8)


class _Fills(dict):
    """``fills[v]``: a memoryview of ``v`` repeated ``2**16`` times (the longest run), made on first use."""

    def __missing__(self, value: int) -> memoryview:
        self[value] = view = memoryview(bytes((value,)) * _MAX_RUN)
        return view


def _run_fields(values: np.ndarray):
    """Repeat chunks for the runs of the bool ``values``: 0 or 255, each pixel 4 times (RGBA)."""
    if values.size == 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64)
    starts = np.concatenate([[0], np.flatnonzero(values[1:] != values[:-1]) + 1])
    run_values = values[starts].astype(np.uint64) * np.uint64(255)
    run_lengths = 4 * np.diff(np.append(starts, values.size)).astype(np.int64)
    pieces = (run_lengths + _MAX_RUN - 1) // _MAX_RUN
    run_of_piece = np.repeat(np.arange(starts.size), pieces)
    last = np.cumsum(pieces) - 1
    counts = np.full(run_of_piece.size, _MAX_RUN, dtype=np.int64)
    counts[last] = run_lengths - _MAX_RUN * (pieces - 1)
    size_index = np.searchsorted(np.array([1 << s for s in RUN_SIZES]), counts)
    size_bits = np.array(RUN_SIZES, dtype=np.uint64)[size_index]
    head = (np.uint64(4) | size_index.astype(np.uint64)) << size_bits | (counts - 1).astype(np.uint64)
    codes = head << np.uint64(WORD_SIZE) | run_values[run_of_piece]
    return codes, np.uint64(3 + WORD_SIZE) + size_bits


def _pack(codes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenate bit fields (each 8..32 bits long), MSB first, into bytes."""
    ends = np.cumsum(lengths)
    offsets = ends - lengths
    out = np.zeros(int(ends[-1] + 7) // 8 + 5, dtype=np.uint8)
    first_byte = (offsets >> np.uint64(3)).astype(np.int64)
    window = codes << (np.uint64(40) - (offsets & np.uint64(7)) - lengths)
    for parity in (0, 1):
        byte, placed = first_byte[parity::2], window[parity::2]
        for k in range(5):
            out[byte + k] |= ((placed >> np.uint64(8 * (4 - k))) & np.uint64(0xFF)).astype(np.uint8)
    return out[:int(ends[-1] + 7) // 8]


def _as_bytes(rle: Sequence[int]) -> bytes:
    if isinstance(rle, (bytes, bytearray)):
        return bytes(rle)
    if not isinstance(rle, (list, tuple, np.ndarray)) or len(rle) < 7:
        raise ValueError("rle must be a list of at least 7 byte values")
    array = np.asarray(rle)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer) or array.min() < 0 or array.max() > 255:
        raise ValueError("rle must be a list of integers 0..255")
    return array.astype(np.uint8).tobytes()


class _BitReader:
    """MSB-first reads of ``n``-bit integers from bytes."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def read(self, n: int) -> int:
        end = self.pos + n
        if end > 8 * len(self.data):
            raise ValueError("rle is truncated")
        first, last = self.pos >> 3, (end + 7) >> 3
        value = int.from_bytes(self.data[first:last], "big") >> (8 * last - end)
        self.pos = end
        return value & ((1 << n) - 1)
