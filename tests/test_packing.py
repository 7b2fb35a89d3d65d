"""numfmt.pack / numfmt.unpack: literal layouts, round trips, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import numfmt
from numfmt.packing import packed_size


def test_literal_4bit():
    assert numfmt.pack([0x1, 0x2, 0x3], 4).tolist() == [0x21, 0x03]  # torch/torchao/ONNX: low nibble first
    assert numfmt.pack([0x1, 0x2, 0x3], 4, order="high_first").tolist() == [0x12, 0x30]  # breccia, cvt d,x0,x1
    assert numfmt.unpack([0x21, 0x03], 4, 3).tolist() == [1, 2, 3]
    assert numfmt.unpack([0x12, 0x30], 4, 3, order="high_first").tolist() == [1, 2, 3]


def test_literal_6bit():
    # four codes a b c d -> little-endian 24-bit word d:c:b:a
    assert numfmt.pack([1, 2, 3, 4], 6).tolist() == [0x81, 0x30, 0x10]
    # big-endian stream: 000001 000010 000011 000100
    assert numfmt.pack([1, 2, 3, 4], 6, order="high_first").tolist() == [0x04, 0x20, 0xC4]
    # PTX e2m3x2/e3m2x2 words (cvt d, x1, x0): x0 in bits 5:0, x1 in bits 13:8
    assert numfmt.pack([0x3F, 0x21, 0x05], 6, order="ptx").tolist() == [0x3F, 0x21, 0x05, 0x00]
    w = numfmt.pack([0x3F, 0x21], 6, order="ptx").view("<u2")[0]
    assert (w & 0x3F, (w >> 8) & 0x3F) == (0x3F, 0x21)
    assert numfmt.pack(np.arange(5), 6).size == 6


def test_literal_1_and_2bit():
    bits = np.array([1, 0, 1, 1, 0, 0, 0, 1, 1], np.uint8)
    assert np.array_equal(numfmt.pack(bits, 1), np.packbits(bits, bitorder="little"))
    assert np.array_equal(numfmt.pack(bits, 1, order="high_first"), np.packbits(bits))
    assert numfmt.pack([1, 2, 3, 0, 3], 2).tolist() == [0b00111001, 0b11]
    assert numfmt.pack([1, 2, 3, 0, 3], 2, order="high_first").tolist() == [0b01101100, 0b11000000]


@given(data=st.data(), bits=st.sampled_from([1, 2, 4, 6, 8]), count=st.integers(0, 70))
def test_round_trip(data, bits, count):
    orders = ["low_first", "high_first"] + (["ptx"] if bits == 6 else [])
    order = data.draw(st.sampled_from(orders))
    codes = np.array(data.draw(st.lists(st.integers(0, (1 << bits) - 1), min_size=count, max_size=count)),
                     np.uint8)
    p = numfmt.pack(codes, bits, order=order)
    assert p.dtype == np.uint8
    if order != "ptx":
        assert p.size == (count if bits == 8 else packed_size(count, bits))
    assert np.array_equal(numfmt.unpack(p, bits, count, order=order), codes)


def test_bad_input():
    with pytest.raises(ValueError, match="bits"):
        numfmt.pack([1], 3)
    with pytest.raises(TypeError, match="bits"):
        numfmt.pack([1], 4.0)
    with pytest.raises(ValueError, match="fit"):
        numfmt.pack([16], 4)
    with pytest.raises(ValueError, match="fit"):
        numfmt.pack([-1], 4)
    with pytest.raises(TypeError, match="integer"):
        numfmt.pack([0.5], 4)
    with pytest.raises(ValueError, match="order"):
        numfmt.pack([1], 4, order="ptx")
    with pytest.raises(ValueError, match="order"):
        numfmt.pack([1], 4, order="middle")
    with pytest.raises(ValueError, match="count"):
        numfmt.unpack([0x21], 4, 3)
    with pytest.raises(ValueError, match="bytes"):
        numfmt.unpack([256], 4, 1)
    with pytest.raises(ValueError, match="top bits"):
        numfmt.unpack([0x40, 0], 6, 2, order="ptx")
