"""Integer decode through the public API, and the chunked random-word filler.

The fast encode, decode and arithmetic loops are proved equal to the exact path in
tests/test_variants.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import numfmt
from numfmt._kernels import streams
from numfmt._kernels.params import kernel_params

INT_FORMATS = ["int8", "uint8", "int4", "uint4", "int2", "int16", "uint16", "int8_symmetric", "mxint8_element"]


@pytest.mark.parametrize("name, dtype", [(n, dt) for n in INT_FORMATS for dt in (np.float16, np.float32, np.float64)
                                         if numfmt.get_format(n).exact_in(dt)])
def test_int_decode_equals_general(name, dtype):
    from numfmt._kernels import decode as D

    f = numfmt.get_format(name)
    codes = np.arange(1 << f.bits, dtype=f.code_dtype)
    if f.symmetric:
        codes = codes[codes != 1 << (f.bits - 1)]
    got = numfmt.decode(codes, f, dtype=dtype)
    want = np.empty(codes.size, np.float64)
    D.decode_loop(codes, want, kernel_params(f))
    assert np.array_equal(got.astype(np.float64), want)
    assert got.dtype == dtype


@pytest.mark.parametrize("start", [0, 1, 4095, 2**33 + 1])
@pytest.mark.parametrize("nbits", [1, 8, 9, 16, 17, 31, 32])
def test_fill_words_is_the_counter_stream(start, nbits):
    """The chunked word filler, read as W-bit fields, equals random_bits element by element."""
    n = 37
    words = np.empty(n // 2 + 2, np.uint64)
    par = streams.fill_words(words, 987654321, start, n, nbits)
    w = {3: np.uint8, 4: np.uint16, 5: np.uint32}[int(streams.field_bits(nbits))]
    field = words.view(w)[par:par + n].astype(np.uint64)
    got = (field >> np.uint64(8 * np.dtype(w).itemsize - nbits)).tolist()
    want = [int(streams.random_bits(987654321, start + i, nbits)) for i in range(n)]
    assert got == want
    assert len(set(want)) > 1


@pytest.mark.parametrize("seed", [0, 1, 2, 12345, 2**63 - 1, 2**64 - 1, 2**64 + 5, 10**30])
def test_seed_key_is_the_splitmix64_finaliser(seed):
    """The key of an integer seed: SplitMix64's finaliser of seed * golden + 0x632BE59BD9B4E019 (mod 2**64)."""
    z = (seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % (1 << 64)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % (1 << 64)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % (1 << 64)
    assert streams.seed_key(seed) == (z ^ (z >> 31)) & ((1 << 63) - 1)


@pytest.mark.parametrize("dtype, itype", [(np.float32, np.int32), (np.float64, np.int64)])
def test_has_nan_is_isnan_any(dtype, itype):
    """The bit-pattern scan finds exactly the NaNs (either sign, any payload, any position) and
    nothing else (infinities, the largest finite value, -0)."""
    from numfmt._kernels.scan import has_nan

    info = np.finfo(dtype)
    base = np.array([0.0, -0.0, np.inf, -np.inf, info.max, -info.max, info.smallest_subnormal, 1.0] * 9, dtype)
    assert not has_nan(base)
    bits = base.view(itype)
    inf_bits = np.array(np.inf, dtype).view(itype)
    for pos in (0, 37, base.size - 1):
        for pattern in (inf_bits + 1, inf_bits | (inf_bits >> 1), -1, np.iinfo(itype).min | (inf_bits + 1)):
            b = bits.copy()
            b[pos] = pattern
            x = b.view(dtype)
            assert has_nan(x) == bool(np.isnan(x).any()) is True


def test_nan_raise_reports_the_first_nan():
    """encode/quantize into a format without NaN: the error names the count and the first index; the
    output array is untouched."""
    x = np.ones((3, 5), np.float32)
    x[1, 2] = x[2, 0] = np.nan
    out = np.full(x.shape, 7, np.uint8)
    with pytest.raises(ValueError, match=r"2 NaN value\(s\) \(first at index \(1, 2\)\)"):
        numfmt.encode(x, "e2m1", out=out)
    assert (out == 7).all()
