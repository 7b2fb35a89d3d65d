"""Test-only helper: the deterministic inputs the ml_dtypes compat tests (and the recorded
ml_dtypes 0.6.0 vectors, tools/record_ml_dtypes_vectors.py) use.

A stratified 2**24 sample of float32 bit patterns per type (every exponent and sign, random
trailing fields, every value of the target format, every midpoint between neighbours and the
float32 patterns one ulp either side, NaN payloads, float32 subnormals), float64 inputs with
near-ties of every narrow grid, and the integer-cast inputs.
"""

from __future__ import annotations

import numpy as np

import numfmt

FLOATS = [
    "float8_e4m3fn", "float8_e4m3fnuz", "float8_e4m3b11fnuz", "float8_e5m2", "float8_e5m2fnuz",
    "float8_e3m4", "float8_e4m3", "float8_e8m0fnu", "float6_e2m3fn", "float6_e3m2fn",
    "float4_e2m1fn", "bfloat16", "binary16",
]
INTS = ["int2", "int4", "uint2", "uint4", "int8", "uint8", "int16", "uint16", "int32", "uint32"]


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


def float64_sample(n=1 << 18, seed=1):
    """Random float64 inputs, their truncations to 12 significant bits +- 1 ulp (near-ties of every
    narrow grid), NaN payloads of both signs and special values."""
    rng = np.random.default_rng(seed)
    e = rng.integers(1023 - 160, 1023 + 140, n, dtype=np.uint64)
    m = rng.integers(0, 1 << 52, n, dtype=np.uint64)
    s = rng.integers(0, 2, n, dtype=np.uint64) << np.uint64(63)
    u = s | (e << np.uint64(52)) | m
    few = s | (e << np.uint64(52)) | ((m >> np.uint64(40)) << np.uint64(40))  # ties of every narrow grid
    nans = np.uint64(0x7FF0000000000001) + (rng.integers(0, 1 << 52, 64, dtype=np.uint64) >> np.uint64(1))
    sp = np.array([np.inf, -np.inf, 0.0, -0.0, 1e300, -1e300, 5e-324, 3.4028235677973366e38,
                   2.0**-127 * (1 + 2.0**-40), 1.5 - 2.0**-40, -100.00000000000001], np.float64).view(np.uint64)
    neg_nans = nans | np.uint64(1 << 63)
    parts = [u, few, few + np.uint64(1), few - np.uint64(1), nans, neg_nans, sp]
    return np.concatenate(parts).view(np.float64)


def int_inputs(seed=4):
    """(float32, float64) inputs of the float -> integer casts: random, every 2**16-th pattern, edges."""
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
    small = np.arange(-600, 600, dtype=np.float64) / 8  # every int2/int4/uint2/uint4 range edge, both sides
    x64 = np.concatenate([(s | (e << np.uint64(52)) | m).view(np.float64), edges,
                          edges + 1.5, edges - 1.5, -edges, small])
    return x32, x64


def integer_sample(itype=np.int64, seed=5):
    """Integer inputs (random, shifted small values, extremes) of the float types' integer casts."""
    rng = np.random.default_rng(seed)
    info = np.iinfo(itype)
    return np.concatenate([
        rng.integers(info.min, info.max, 1 << 14, dtype=itype, endpoint=True),
        (rng.integers(1, 1 << 20, 1 << 14) << rng.integers(0, 40, 1 << 14)).astype(itype),
        np.array([0, 1, info.max, info.min, 0x1008001 & info.max], itype),
    ])


def input_sets(name: str) -> dict[str, np.ndarray]:
    """The named input arrays a type's recorded vectors cover."""
    if name in INTS:
        x32, x64 = int_inputs()
        return {"f32": x32, "f64": x64}
    return {"f32": stratified_float32(name), "f64": float64_sample(), "i64": integer_sample()}


def ref_dtype(name: str) -> np.dtype:
    """The numpy dtype whose ``astype`` numfmt reproduces for ``name`` (ml_dtypes, or numpy's own)."""
    import ml_dtypes  # reason: the oracle is needed only by the tests and the recording tool that compare with it

    if name.startswith(("binary", "int", "uint")) and not hasattr(ml_dtypes, name):
        return np.dtype({"binary16": "float16", "binary32": "float32"}.get(name, name))
    return np.dtype(getattr(ml_dtypes, name))


def ref_codes(x: np.ndarray, name: str) -> np.ndarray:
    """ml_dtypes/numpy codes of ``x`` for format ``name``."""
    f = numfmt.get_format(name)
    with np.errstate(invalid="ignore", over="ignore"):
        return x.astype(ref_dtype(name)).view(f.code_dtype)
