"""compat="ml_dtypes": numfmt reproduces ml_dtypes 0.6 (and numpy) ``astype`` bit for bit.

Default run: a stratified 2**24 sample of float32 bit patterns per type (every
exponent and sign, random trailing fields, every value of the target format,
every midpoint between neighbours and the float32 patterns one ulp either side,
NaN payloads, float32 subnormals) plus float64 and integer inputs.
``-m exhaustive``: all 2**32 float32 patterns per type, in chunks.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import numfmt

ml_dtypes = pytest.importorskip("ml_dtypes")

FLOATS = [
    "float8_e4m3fn", "float8_e4m3fnuz", "float8_e4m3b11fnuz", "float8_e5m2", "float8_e5m2fnuz",
    "float8_e3m4", "float8_e4m3", "float8_e8m0fnu", "float6_e2m3fn", "float6_e3m2fn",
    "float4_e2m1fn", "bfloat16", "binary16",
]
INTS = ["int2", "int4", "uint2", "uint4", "int8", "uint8", "int16", "uint16", "int32", "uint32"]


def ref_dtype(name: str) -> np.dtype:
    """The numpy dtype whose ``astype`` numfmt reproduces for ``name``."""
    if name.startswith(("binary", "int", "uint")) and not hasattr(ml_dtypes, name):
        return np.dtype({"binary16": "float16", "binary32": "float32"}.get(name, name))
    return np.dtype(getattr(ml_dtypes, name))


def ref_codes(x: np.ndarray, name: str) -> np.ndarray:
    """ml_dtypes/numpy codes of ``x`` for format ``name``."""
    f = numfmt.get_format(name)
    with np.errstate(invalid="ignore", over="ignore"):
        return x.astype(ref_dtype(name)).view(f.code_dtype)


def _report(x, got, want):
    bad = np.flatnonzero(got != want)
    if bad.size == 0:
        return ""
    ux = x.view(np.uint32 if x.dtype == np.float32 else np.uint64) if x.dtype.kind == "f" else x
    rows = [f"x={ux[i]:#x} ({x[i]!r}) numfmt={got[i]:#x} ref={want[i]:#x}" for i in bad[:8]]
    return f"{bad.size} mismatches; first: " + "; ".join(rows)


# --------------------------------------------------------------------------- inputs
def _format_points(name: str) -> np.ndarray:
    """float32 patterns at every value of the format, every midpoint, and one ulp either side."""
    f = numfmt.get_format(name)
    with np.errstate(invalid="ignore", over="ignore"):
        v = np.unique(np.abs(f.values()[~np.isnan(f.values())]))
        v = v[np.isfinite(v)]
        mids = (v[:-1] + v[1:]) / 2  # exact in float64; rounded to float32 below (ties stay ties when exact)
        ext = [v[-1] + (v[-1] - v[-2]) / 2, v[-1] * 2, v[0] / 2, v[0] * 0.75, v[0] * 1.5]
        pts = np.concatenate([v, mids, ext]).astype(np.float32)
    u = pts.view(np.uint32)
    u = np.concatenate([u - 1, u, u + 1, u - 2, u + 2])
    return np.concatenate([u, u | np.uint32(1 << 31)])


def _specials() -> np.ndarray:
    s = [0, 1, 2, 0x7FFFFF, 0x400000, 0x400001, 0x3FFFFF, 0x800000, 0x7F7FFFFF, 0x7F800000,
         0x7F800001, 0x7FC00000, 0x7FFFFFFF, 0x7FA12345, 0x7F802000, 0x7F801FFF, 0x7FE00000]
    u = np.array(s, np.uint32)
    # every float32 subnormal range boundary and 2**k (1 +- ulp) for all k
    k = np.arange(0, 256, dtype=np.uint32) << np.uint32(23)
    u = np.concatenate([u, k, k + 1, k - 1, k | np.uint32(0x400000), k | np.uint32(0x400001)])
    return np.concatenate([u, u | np.uint32(1 << 31)])


def stratified_float32(name: str, n: int = 1 << 24, seed: int = 0) -> np.ndarray:
    """About ``n`` float32 patterns: 512 (sign, exponent) strata of random trailing fields + boundaries."""
    rng = np.random.default_rng(seed)
    extra = np.concatenate([_format_points(name), _specials()])
    per = max(1, (n - extra.size) // 512)
    se = np.repeat(np.arange(512, dtype=np.uint32), per) << np.uint32(23)
    frac = rng.integers(0, 1 << 23, se.size, dtype=np.uint32)
    return np.concatenate([se | frac, extra]).view(np.float32)


# --------------------------------------------------------------------------- sweeps
def sweep_float32(name: str, start: int = 0, stop: int = 1 << 32, chunk: int = 1 << 26) -> tuple[int, str]:
    """Encode float32 patterns ``start..stop-1`` both ways; (mismatch count, first mismatches)."""
    f = numfmt.get_format(name)
    buf = np.empty(chunk, f.code_dtype)
    total, first = 0, ""
    for lo in range(start, stop, chunk):
        hi = min(lo + chunk, stop)
        x = np.arange(lo, hi, dtype=np.uint32).view(np.float32)
        got = numfmt.encode(x, name, compat="ml_dtypes", out=buf[: hi - lo])
        want = ref_codes(x, name)
        if not np.array_equal(got, want):
            msg = _report(x, got, want)
            total += int((got != want).sum())
            first = first or msg
    return total, first


# --------------------------------------------------------------------------- tests
@pytest.mark.parametrize("name", FLOATS)
def test_encode_stratified_float32(name):
    x = stratified_float32(name)
    got = numfmt.encode(x, name, compat="ml_dtypes")
    want = ref_codes(x, name)
    assert got.dtype == want.dtype
    assert not _report(x, got, want), _report(x, got, want)


@pytest.mark.parametrize("name", FLOATS)
def test_decode_every_code(name):
    f = numfmt.get_format(name)
    codes = np.arange(1 << f.bits, dtype=f.code_dtype)
    got = numfmt.decode(codes, name)
    want = codes.view(ref_dtype(name)).astype(got.dtype)
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan)
    ib = {4: np.uint32, 8: np.uint64}[got.dtype.itemsize]
    assert np.array_equal(got.view(ib)[~nan], want.view(ib)[~nan])  # bits: signs of zero included


def _float64_sample(n=1 << 18, seed=1):
    rng = np.random.default_rng(seed)
    e = rng.integers(1023 - 160, 1023 + 140, n, dtype=np.uint64)
    m = rng.integers(0, 1 << 52, n, dtype=np.uint64)
    s = rng.integers(0, 2, n, dtype=np.uint64) << np.uint64(63)
    u = s | (e << np.uint64(52)) | m
    few = s | (e << np.uint64(52)) | ((m >> np.uint64(40)) << np.uint64(40))  # ties of every narrow grid
    nans = np.uint64(0x7FF0000000000001) + (rng.integers(0, 1 << 52, 64, dtype=np.uint64) >> np.uint64(1))
    sp = np.array([np.inf, -np.inf, 0.0, -0.0, 1e300, -1e300, 5e-324, 3.4028235677973366e38,
                   2.0**-127 * (1 + 2.0**-40), 1.5 - 2.0**-40], np.float64).view(np.uint64)
    neg_nans = nans | np.uint64(1 << 63)
    parts = [u, few, few + np.uint64(1), few - np.uint64(1), nans, neg_nans, sp]
    return np.concatenate(parts).view(np.float64)


@pytest.mark.parametrize("name", FLOATS)
def test_encode_float64_inputs(name):
    """ml_dtypes rounds float64 to float32 first (double rounding); numpy's float16 does not."""
    x = _float64_sample()
    got = numfmt.encode(x, name, compat="ml_dtypes")
    want = ref_codes(x, name)
    assert not _report(x, got, want), _report(x, got, want)


def test_float64_double_rounding_literal():
    # 1.5 - 2**-40 rounds to 1.5 in float32, which ties up to 2 in E8M0 (0x80); direct would give 0x7F
    x = np.array([1.5 - 2.0**-40, 2.0**-127 * (1 + 2.0**-40)])
    assert numfmt.encode(x, "float8_e8m0fnu", compat="ml_dtypes").tolist() == [0x80, 0x00]
    # binary16 follows numpy: float64 -> float16 directly. 1 + 2**-11 + 2**-40 is above the tie
    # in float64 but rounds to the tie 1 + 2**-11 in float32 (which would give 0x3C00)
    assert numfmt.encode(1 + 2.0**-11 + 2.0**-40, "binary16", compat="ml_dtypes") == 0x3C01


@pytest.mark.parametrize("name", ["float8_e5m2", "bfloat16", "float8_e8m0fnu", "float4_e2m1fn", "binary16"])
@pytest.mark.parametrize("itype", [np.int64, np.uint64, np.int32, np.int8])
def test_encode_integer_inputs(name, itype):
    rng = np.random.default_rng(5)
    info = np.iinfo(itype)
    v = np.concatenate([
        rng.integers(info.min, info.max, 1 << 14, dtype=itype, endpoint=True),
        (rng.integers(1, 1 << 20, 1 << 14) << rng.integers(0, 40, 1 << 14)).astype(itype),
        np.array([0, 1, info.max, info.min, 0x1008001 & info.max], itype),
    ])
    got = numfmt.encode(v, name, compat="ml_dtypes")
    assert not _report(v, got, ref_codes(v, name))


# literal quirks (each found by the sweep)
@pytest.mark.parametrize(("name", "x", "code"), [
    ("float8_e5m2", np.nan, 0x7E), ("float8_e5m2", -np.nan, 0xFE),
    ("float8_e4m3", np.nan, 0x7C), ("float8_e3m4", -np.nan, 0xF8), ("bfloat16", -np.nan, 0xFFC0),
    ("float8_e4m3fn", np.nan, 0x7F), ("float8_e4m3fn", 1e9, 0x7F), ("float8_e4m3fn", -np.inf, 0xFF),
    ("float8_e4m3fnuz", -np.nan, 0x80), ("float8_e4m3fnuz", -0.0, 0x00), ("float8_e5m2fnuz", np.inf, 0x80),
    ("float4_e2m1fn", np.nan, 0x8), ("float4_e2m1fn", -np.nan, 0x0), ("float4_e2m1fn", np.inf, 0x7),
    ("float6_e2m3fn", np.nan, 0x20), ("float6_e3m2fn", -np.nan, 0x00),
    ("float8_e8m0fnu", 3.0, 0x81), ("float8_e8m0fnu", 0.75, 0x7F), ("float8_e8m0fnu", 1.5, 0x80),
    ("float8_e8m0fnu", 0.0, 0xFF), ("float8_e8m0fnu", -2.0, 0xFF), ("float8_e8m0fnu", 3 * 2.0**126, 0xFF),
    ("float8_e8m0fnu", 2.0**-127, 0x00), ("float8_e8m0fnu", 1.4 * 2.0**-127, 0x01),
    ("float8_e8m0fnu", 2.0**-149, 0x00), ("float8_e8m0fnu", 2.0**-126 * 1.5, 0x02),
])
def test_literal_quirks(name, x, code):
    arr = np.array([x], np.float32)
    assert numfmt.encode(arr, name, compat="ml_dtypes")[0] == code
    assert ref_codes(arr, name)[0] == code  # the reference agrees (guards the literal itself)


def test_e8m0_float32_subnormal_rule():
    """(0, 2**-127] -> 0x00, (2**-127, 2**-126) -> 0x01: checked on all 2**23 float32 subnormals."""
    x = np.arange(1, 1 << 23, dtype=np.uint32).view(np.float32)
    got = numfmt.encode(x, "float8_e8m0fnu", compat="ml_dtypes")
    assert np.array_equal(got, np.where(x.view(np.uint32) > 0x400000, 1, 0).astype(np.uint8))
    assert np.array_equal(got, ref_codes(x, "float8_e8m0fnu"))


def test_binary16_nan_payload():
    u = np.array([0x7FA12345, 0xFFA12345, 0x7F800001, 0x7FC00000, 0xFFFFFFFF], np.uint32)
    got = numfmt.encode(u.view(np.float32), "binary16", compat="ml_dtypes")
    assert got.tolist() == [0x7D09, 0xFD09, 0x7C01, 0x7E00, 0xFFFF]


# integers -------------------------------------------------------------------
def _int_inputs(seed=4):
    rng = np.random.default_rng(seed)
    x32 = np.concatenate([rng.integers(0, 1 << 32, 1 << 18, dtype=np.uint64).astype(np.uint32),
                          np.arange(0, 1 << 16, dtype=np.uint32) << np.uint32(16)]).view(np.float32)
    e = rng.integers(1023 - 10, 1023 + 80, 1 << 16, dtype=np.uint64)
    m = rng.integers(0, 1 << 52, 1 << 16, dtype=np.uint64)
    s = rng.integers(0, 2, 1 << 16, dtype=np.uint64) << np.uint64(63)
    edges = np.array([2.0**31 - 1, 2.0**31 - 0.75, 2.0**31 - 0.5, 2.0**31, 2.0**31 + 1, 2.0**32 - 1,
                      2.0**32 - 0.5, 2.0**32, 2.0**32 + 5, -(2.0**31), -(2.0**31) - 0.5, -(2.0**31) - 1,
                      2.0**63, -(2.0**63), 2.0**64, 1e300, -1e300, np.inf, -np.inf, np.nan, -np.nan,
                      7.9, -7.9, 8.0, 9.0, -9.0, 20.0, 2.5, -0.0, 0.99, -0.99, 255.5, 256.0, -129.0])
    x64 = np.concatenate([(s | (e << np.uint64(52)) | m).view(np.float64), edges,
                          edges + 1.5, edges - 1.5, -edges])
    return x32, x64


@pytest.mark.parametrize("name", INTS)
def test_int_casts(name):
    for x in _int_inputs():
        got = numfmt.encode(x, name, compat="ml_dtypes")
        want = ref_codes(x, name)
        assert not _report(x, got, want), (x.dtype, _report(x, got, want))


@pytest.mark.parametrize("name", INTS)
def test_int_casts_from_integers(name):
    rng = np.random.default_rng(6)
    v = np.concatenate([rng.integers(-(2**62), 2**62, 4096), np.arange(-300, 300),
                        [2**63 - 1, -(2**63), 2**31, -(2**31) - 1]]).astype(np.int64)
    for x in (v, v.view(np.uint64), v.astype(np.int16)):
        with np.errstate(over="ignore"):
            want = x.astype(ref_dtype(name)).view(numfmt.get_format(name).code_dtype)
        assert np.array_equal(numfmt.encode(x, name, compat="ml_dtypes"), want)


def test_int4_literals():
    x = np.array([2.5, 7.6, 8.0, 9.0, -9.0, 20.0, np.nan, np.inf, -7.9, 2147483647.25, 2147483647.0])
    assert numfmt.encode(x, "int4", compat="ml_dtypes").tolist() == [2, 7, 8, 9, 7, 4, 0, 0, 9, 0, 15]
    assert numfmt.encode(x, "int8", compat="ml_dtypes").tolist()[-2:] == [0xFF, 0xFF]


# keyword conflicts ------------------------------------------------------------
@pytest.mark.parametrize("kw", [{"rounding": "toward_zero"}, {"saturation": "finite"}, {"nan": "zero"},
                                {"rounding": "stochastic", "random": 1}])
def test_conflicting_keywords(kw):
    with pytest.raises(ValueError, match="compat='ml_dtypes'"):
        numfmt.encode([1.0], "float8_e4m3fn", compat="ml_dtypes", **kw)


def test_int_toward_zero_is_allowed():
    assert numfmt.encode([-7.9], "int4", compat="ml_dtypes", rounding="toward_zero").tolist() == [9]
    with pytest.raises(ValueError, match="rounding"):
        numfmt.encode([1.0], "int4", compat="ml_dtypes", rounding="nearest_away")


@pytest.mark.parametrize("name", ["ue4m3", "binary8p3se", "int8_symmetric", "binary64", "tf32"])
def test_uncovered_formats(name):
    with pytest.raises(ValueError, match="does not cover"):
        numfmt.encode([1.0], name, compat="ml_dtypes")


def test_bad_profile():
    with pytest.raises(ValueError, match="compat="):
        numfmt.encode([1.0], "e4m3", compat="jax")


# exhaustive --------------------------------------------------------------------
@pytest.mark.exhaustive
@pytest.mark.parametrize("name", FLOATS)
def test_exhaustive_float32(name, request):
    if "exhaustive" not in (request.config.getoption("-m") or ""):
        pytest.skip("exhaustive sweep: run with -m exhaustive")
    t = time.perf_counter()
    total, first = sweep_float32(name)
    print(f"{name}: 2**32 float32 patterns, {total} mismatches, {time.perf_counter() - t:.0f} s")
    assert total == 0, first


def test_binary32_numpy():
    """float32 -> float32 is the identity (NaN payloads too); float64 -> float32 as numpy (x86 cvtsd2ss)."""
    x32 = stratified_float32("bfloat16", n=1 << 20, seed=9)
    assert np.array_equal(numfmt.encode(x32, "binary32", compat="ml_dtypes"), x32.view(np.uint32))
    x64 = _float64_sample(n=1 << 16, seed=10)
    got = numfmt.encode(x64, "binary32", compat="ml_dtypes")
    assert not _report(x64, got, ref_codes(x64, "binary32"))
