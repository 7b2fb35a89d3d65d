"""Code classification for comparisons: kind (finite, zero, inf, NaN), ordinal, ties, exact values."""

from __future__ import annotations

import numpy as np

from ..codec import decode
from ..formats import FloatFormat, IntFormat

FIN, ZERO, INF, NAN, _BAD = 0, 1, 2, 3, 4


def _i64(v):
    """A code constant as the int64 that `astype(np.int64)` makes of it (64-bit codes wrap)."""
    return None if v is None else (v - (1 << 64) if v >= 1 << 63 else v)


def code_info(c: np.ndarray, f):
    """(kind, ordinal, neg) arrays for int64 codes `c` (64-bit codes wrapped to int64)."""
    c = c.astype(np.int64, copy=False)
    if isinstance(f, IntFormat):
        top = 1 << (f.bits - 1)
        ordv = np.where(c >= top, c - (1 << f.bits), c) if f.signed else c.copy()
        kind = np.where(c == 0, ZERO, FIN).astype(np.int8)
        return kind, ordv, ordv < 0
    m = f.mantissa_bits
    ones = f.all_ones
    mag = c & ones
    neg = (c & _i64(f.sign_bit)) != 0 if f.signed else np.zeros(c.shape, bool)
    if f.nan == "ieee":
        nan = ((mag >> m) == (1 << f.exponent_bits) - 1) & ((mag & ((1 << m) - 1)) != 0)
    elif f.nan == "fn":
        nan = mag == ones
    elif f.nan in ("fnuz", "p3109"):
        nan = c == _i64(f.code_of_nan)
    else:
        nan = np.zeros(c.shape, bool)
    inf = np.zeros(c.shape, bool)
    for ic in (f.code_of_inf, f.code_of_neginf):
        if ic is not None:
            inf |= c == _i64(ic)
    if f.has_zero:
        zero = ((mag >> m) == 0) & ((mag == 0) | (not f.subnormals)) & ~nan
    else:
        zero = np.zeros(c.shape, bool)
    if f.has_zero and not f.subnormals:
        omag = np.where(mag >> m == 0, 0, mag - ((1 << m) - 1))
    else:
        omag = mag
    ordv = np.where(neg, -omag, omag)
    kind = np.full(c.shape, FIN, np.int8)
    kind[zero] = ZERO
    kind[inf] = INF
    kind[nan] = NAN
    return kind, ordv, neg


def max_ord(f):
    """(ordinal of +max, ordinal of the most negative finite value or None)."""
    _, o, _ = code_info(np.array([_i64(_maxcode(f, False))], np.int64), f)
    pos = int(o[0])
    if isinstance(f, IntFormat):
        return pos, (f.min_int if f.signed else None)
    if not f.signed:
        return pos, None
    _, o, _ = code_info(np.array([_i64(_maxcode(f, True))], np.int64), f)
    return pos, int(o[0])


def _maxcode(f, neg):
    if isinstance(f, IntFormat):
        return f.max_int if not neg else (f.min_int & ((1 << f.bits) - 1))
    return f.max_code_magnitude | (f.sign_bit if neg else 0)


def tie_mask(x: np.ndarray, f) -> np.ndarray:
    """Whether each x is exactly halfway between two neighbouring values of f (grid without a top)."""
    xf = np.asarray(x, np.float64)
    ax = np.abs(xf)
    ok = np.isfinite(ax) & (ax != 0)
    out = np.zeros(xf.shape, bool)
    if not ok.any():
        return out
    a = ax[ok]
    if isinstance(f, IntFormat):
        s = np.ldexp(a, -f.scale_exp)
    else:
        if f.bits > 32:
            return out  # binary64: not classified
        _, ex = np.frexp(a)
        e = ex.astype(np.int64) - 1
        ftz = f.has_zero and not f.subnormals
        q = np.maximum(e, f.emin) - f.mantissa_bits
        if ftz:
            q = np.where(e < f.emin, f.emin, q)
        s = np.ldexp(a, (-q).astype(np.int32))
    out[ok] = (s - np.floor(s)) == 0.5
    return out


def fval(code: int, f) -> float:
    v = f.exact_value(code)
    fl = float(v)
    if fl == 0 and isinstance(f, FloatFormat) and f.negative_zero and code & f.sign_bit:
        return -0.0
    return fl


def decode64(codes, f):
    return np.asarray(decode(codes.astype(f.code_dtype), f, dtype=np.float64), np.float64).reshape(-1)
