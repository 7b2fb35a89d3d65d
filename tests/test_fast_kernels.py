"""The specialised float32 loops (numfmt._kernels.fast) equal the general rounding funnel.

Every fast loop is an optimisation of ``round_pack``; here both run on the same float32 bit
patterns: random patterns over every exponent, values spread over each format's range (ties and
near-ties included by construction of the grid midpoints), and the special values.
"""

from __future__ import annotations

import numpy as np
import pytest

import numfmt
from numfmt._kernels import encode as K
from numfmt._kernels import fast, streams

FORMATS = ["float8_e4m3fn", "float8_e5m2", "float4_e2m1fn", "float6_e3m2fn", "float6_e2m3fn",
           "binary8p3se", "binary8p4sf", "float8_e4m3fnuz", "float8_e4m3", "binary16", "bfloat16", "tf32"]
MODES = range(9)
SATS = ["none", "finite", "propagate"]


def _inputs(f, n=1 << 15, seed=0):
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32)
    spread = numfmt.bench.spread(f, n, seed)
    vals = f.values() if f.bits <= 16 else np.zeros(0)
    fin = np.sort(np.unique(vals[np.isfinite(vals)]))
    mids = ((fin[1:] + fin[:-1]) / 2).astype(np.float32) if fin.size else np.zeros(0, np.float32)
    with np.errstate(over="ignore"):
        special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, f.max, -f.max, f.max * 1.0625, f.max * 2,
                            f.smallest_subnormal, f.smallest_subnormal / 2, 3e38], np.float32)
    with np.errstate(over="ignore"):
        up = np.nextafter(mids, np.float32(np.inf))
    return np.concatenate([bits.view(np.float32), spread, mids, -mids, up, special])


import numfmt.bench  # noqa: E402  (spread)
from numfmt._kernels.params import kernel_params  # noqa: E402


@pytest.mark.parametrize("name", FORMATS)
def test_fast_equals_funnel(name):
    f = numfmt.get_format(name)
    assert fast.eligible(kernel_params(f))
    x = _inputs(f)
    rng = np.random.default_rng(1)
    dummy = np.zeros(1, np.uint32)
    for sat in SATS:
        plan = numfmt.plan.make_plan(f, "nearest_even", sat, "max", None)
        for mode in MODES:
            # N = 1, 8 take the short stochastic loop for every format here, 16 for most (W = 16),
            # 23 and 32 the long one (W = 32)
            for nbits in (1, 8, 16, 23, 32) if mode >= 6 else (8,):
                r = rng.integers(0, 1 << nbits, x.size, dtype=np.uint64).astype(np.uint32)
                for rkind, rarr in ((1, r), (2, dummy)) if mode >= 6 else ((0, dummy),):
                    got = np.empty(x.size, f.code_dtype)
                    want = np.empty(x.size, f.code_dtype)
                    K.encode_flat(x, got, plan.params, mode, plan.sat, rkind, rarr, 12345, nbits, 7)
                    K.encode_loop(x, want, plan.params, mode, plan.sat, rkind, rarr, 12345, nbits, 7)
                    bad = np.flatnonzero(got != want)
                    assert bad.size == 0, (name, sat, mode, nbits, rkind, hex(int(x.view(np.uint32)[bad[0]])),
                                           hex(int(got[bad[0]])), hex(int(want[bad[0]])))


INT_FORMATS = ["int8", "uint8", "int4", "uint4", "int2", "int16", "uint16", "int8_symmetric", "mxint8_element"]


@pytest.mark.parametrize("name", INT_FORMATS)
def test_int_loop_equals_funnel(name):
    f = numfmt.get_format(name)
    p = kernel_params(f)
    assert fast.int_eligible(p)
    rng = np.random.default_rng(2)
    bits = rng.integers(0, 1 << 32, 1 << 15, dtype=np.uint64).astype(np.uint32).view(np.float32)
    lo, hi = float(f.values().min()), float(f.values().max())
    grid = np.arange(lo - 3, hi + 3, 0.25 * 2.0**f.scale_exp).astype(np.float32)  # ties, quarters, past both ends
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 3e38, -3e38, 1e-45, -1e-45, 0.5, -0.5], np.float32)
    x = np.concatenate([bits, grid, -grid, np.nextafter(grid, np.float32(np.inf)), special])
    for nan in ("zero", "max"):
        for sat in SATS:
            plan = numfmt.plan.make_plan(f, "nearest_even", sat, nan, None)
            for mode in range(6):
                dummy = np.zeros(1, np.uint32)
                got = np.empty(x.size, f.code_dtype)
                want = np.empty(x.size, f.code_dtype)
                K.encode_flat(x, got, plan.params, mode, plan.sat, 0, dummy, 0, 8, 0)
                K.encode_loop(x, want, plan.params, mode, plan.sat, 0, dummy, 0, 8, 0)
                bad = np.flatnonzero(got != want)
                assert bad.size == 0, (name, nan, sat, mode, float(x[bad[0]]), int(got[bad[0]]), int(want[bad[0]]))


@pytest.mark.parametrize("name", INT_FORMATS)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_int_decode_equals_general(name, dtype):
    from numfmt._kernels import decode as D

    f = numfmt.get_format(name)
    codes = np.arange(1 << f.bits, dtype=f.code_dtype)
    if f.symmetric:
        codes = codes[codes != 1 << (f.bits - 1)]
    if not f.exact_in(dtype):
        pytest.skip(f"{name} is not exact in {np.dtype(dtype)}")
    got = numfmt.decode(codes, f, dtype=dtype)
    want = np.empty(codes.size, np.float64)
    D.decode_loop(codes, want, kernel_params(f))
    assert np.array_equal(got.astype(np.float64), want)
    assert got.dtype == dtype


@pytest.mark.parametrize("start", [0, 1, 4095, 2**33 + 1])
@pytest.mark.parametrize("nbits", [1, 8, 9, 16, 17, 31, 32])
def test_fill_words_is_the_counter_stream(start, nbits):
    """The chunked word filler, read as W-bit fields, equals random_bits element by element,
    and explain's Python copy too."""
    import importlib

    E = importlib.import_module("numfmt.explain")
    n = 37
    words = np.empty(n // 2 + 2, np.uint64)
    par = streams.fill_words(words, 987654321, start, n, nbits)
    w = {3: np.uint8, 4: np.uint16, 5: np.uint32}[int(streams.field_bits(nbits))]
    field = words.view(w)[par:par + n].astype(np.uint64)
    got = (field >> np.uint64(8 * np.dtype(w).itemsize - nbits)).tolist()
    want = [int(streams.random_bits(987654321, start + i, nbits)) for i in range(n)]
    assert got == want
    assert [E._splitmix_bits(987654321, start + i, nbits) for i in range(n)] == want
    assert len(set(want)) > 1
