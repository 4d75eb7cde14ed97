"""Brush RLE: our encoder against Label Studio SDK's reference decoder, and our decoder against any stream."""
from __future__ import annotations

import numpy as np
import pytest
from focalxl.formats import labelstudio_brush as brush
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from label_studio_sdk.converter.brush import decode_rle, encode_rle, mask2rle

masks = st.tuples(st.integers(1, 40), st.integers(1, 40)).flatmap(lambda shape: arrays(bool, shape))


def rgba(mask: np.ndarray) -> np.ndarray:
    return np.repeat(mask.ravel().astype(np.uint8) * 255, 4)


@settings(max_examples=150, deadline=None)
@given(masks)
def test_encoded_mask_decodes_identically_with_the_sdk(mask):
    assert np.array_equal(decode_rle(brush.encode(mask)), rgba(mask))


@settings(max_examples=150, deadline=None)
@given(masks)
def test_decode_inverts_encode_and_reads_the_sdk_encoder(mask):
    assert np.array_equal(brush.decode(brush.encode(mask), *mask.shape), mask)
    assert np.array_equal(brush.decode(mask2rle(mask.astype(np.uint8) * 255), *mask.shape), mask)


@settings(max_examples=100, deadline=None)
@given(arrays(np.uint8, st.integers(1, 300), elements=st.sampled_from([0, 1, 7, 128, 255])))
def test_decoder_reads_literal_and_repeat_chunks_of_any_values(values):
    assert np.array_equal(brush.decode_values(encode_rle(values)), values)


def test_long_runs_are_split_at_the_largest_run_size():
    mask = np.ones((300, 300), bool)   # 360000 values, more than 2**16 in one run
    mask[150, 150] = False
    assert np.array_equal(decode_rle(brush.encode(mask)), rgba(mask))


def test_unaligned_literal_chunk_is_read_word_by_word():
    bits = f"{6:032b}" + "00111" + "0010" + "0011" + "0111" + "1111"   # header: 6 values, word 8, sizes 3,4,8,16
    bits += "0" + "00" + "010" + "".join(f"{v:08b}" for v in (9, 200, 33))   # 3 literal words
    bits += "1" + "00" + "010" + f"{77:08b}"                                  # 3 x 77
    bits += "0" * (-len(bits) % 8)
    rle = [int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)]
    assert brush.decode_values(rle).tolist() == [9, 200, 33, 77, 77, 77]
    assert decode_rle(rle).tolist() == [9, 200, 33, 77, 77, 77]


def test_alpha_decides_the_mask_whatever_the_colour():
    values = np.zeros((2, 3, 4), np.uint8)
    values[0, 1] = (200, 10, 10, 255)
    values[1, 2] = (0, 0, 0, 40)          # an anti-aliased edge still counts, as Label Studio draws it
    mask = brush.decode(encode_rle(values.ravel()), 2, 3)
    assert mask.tolist() == [[False, True, False], [False, False, True]]


@pytest.mark.parametrize("rle, words", [
    ([0, 0, 0, 24, 57, 27, 254, 23], "truncated"),
    ("abc", "list"),
    ([0, 0, 0, 24, 57, 27, 254, 300, 0], "0..255"),
    ([0, 0, 0, 24, 41, 27, 254, 23, 0, 0], "word size"),
])
def test_malformed_streams_raise_value_errors_naming_the_problem(rle, words):
    with pytest.raises(ValueError, match=words):
        brush.decode(rle, 2, 3)


def test_decode_checks_the_image_size():
    with pytest.raises(ValueError, match="expected 28 for a 7x1 image"):
        brush.decode(brush.encode(np.zeros((2, 3), bool)), 1, 7)


def test_a_header_claiming_more_values_than_the_image_is_refused_before_allocating():
    import tracemalloc
    claim = brush.encode(np.ones((8192, 8192), bool))   # 268 M values, a few hundred bytes of RLE
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="expected 40000 for a 100x100 image"):
            brush.decode(claim, 100, 100)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 ** 2
