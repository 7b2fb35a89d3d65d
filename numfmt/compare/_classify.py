"""Code classification for comparisons: kind (finite, zero, inf, NaN), ordinal, ties, exact values."""

from __future__ import annotations

import numpy as np

from ..codec import decode, quantize
from ..formats import FloatFormat, IntFormat
from ..steps import subnormal_code_mask

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


# intermediate formats a converter may round through first (double rounding), by name
INTERMEDIATES = ("bfloat16", "binary16", "tf32", "binary32")


def double_rounding_mask(x: np.ndarray, f) -> np.ndarray:
    """Whether rounding each x (nearest even) into one of `INTERMEDIATES` more precise than `f` (and
    than x's own dtype) lands exactly on a midpoint of `f` while x itself is not one: the signature
    of double rounding."""
    from ..presets import get_format  # reason: presets is a data module; kept out of the module imports

    xf = np.asarray(x)
    out = np.zeros(xf.shape, bool)
    if xf.dtype.kind != "f" or f.bits > 32:
        return out
    prec = f.precision if isinstance(f, FloatFormat) else f.bits
    own = np.finfo(xf.dtype).nmant + 1
    x64 = xf.astype(np.float64)
    fin = np.isfinite(x64)
    for name in INTERMEDIATES:
        v = get_format(name)
        if not prec < v.precision < own:
            continue
        q = np.zeros_like(x64)
        q[fin] = np.asarray(quantize(x64[fin], v, saturation="finite"), np.float64)
        out |= fin & (q != x64) & tie_mask(q, f)
    return out & ~tie_mask(x64, f)


def subnormal_mask(c: np.ndarray, f) -> np.ndarray:
    """Whether each code is a nonzero subnormal of float format `f` (one with a zero)."""
    if isinstance(f, FloatFormat) and not f.has_zero:
        return np.zeros(c.shape, bool)
    return subnormal_code_mask(np.asarray(c), f)


# the bins of the ulp report: 1, 2, 3-4, 5-8, 9-64, 65-65536, more (each toward or away from zero)
_EDGES = (1, 2, 4, 8, 64, 65536)


def _bin(d: int) -> str:
    lo = 1
    for hi in _EDGES:
        if d <= hi:
            return f"{lo}" if lo == hi else f"{lo}-{hi}"
        lo = hi + 1
    return f">{_EDGES[-1]}"


def bin_order(label: str) -> tuple:
    """Sort key of a bin label: toward zero, away from zero, sign crossing; small distances first."""
    if label == "sign crossing":
        return (2, 0)
    direction, _, rng = label.partition(" ")
    first = rng.split(" ")[0].lstrip(">").split("-")[0]
    return (0 if direction == "toward" else 1, int(first) + (rng.startswith(">")))


def ulp_bins(oe: np.ndarray, oa: np.ndarray) -> dict:
    """Counts of the ulp distances between ordinals `oe` (expected) and `oa` (actual), binned
    logarithmically, by direction: `"toward 1"`, `"away 3-4"` (|actual| below / above |expected|), and
    `"sign crossing"` (opposite nonzero signs)."""
    cross = ((oe > 0) & (oa < 0)) | ((oe < 0) & (oa > 0))
    code = np.searchsorted(_EDGES, np.abs(oa - oe))  # bin 0..len(_EDGES)
    code += (len(_EDGES) + 1) * (np.abs(oa) > np.abs(oe))
    code[cross] = 2 * (len(_EDGES) + 1)
    counts = np.bincount(code, minlength=2 * (len(_EDGES) + 1) + 1)
    labels = [_bin(1)] + [_bin(e) for e in _EDGES[1:]] + [_bin(_EDGES[-1] + 1)]
    out: dict = {}
    for i, c in enumerate(counts.tolist()):
        if c:
            if i == 2 * (len(_EDGES) + 1):
                out["sign crossing"] = c
            else:
                direction = "away" if i > len(_EDGES) else "toward"
                out[f"{direction} {labels[i % (len(_EDGES) + 1)]}"] = c
    return out


def fval(code: int, f) -> float:
    v = f.exact_value(code)
    fl = float(v)
    if fl == 0 and isinstance(f, FloatFormat) and f.negative_zero and code & f.sign_bit:
        return -0.0
    return fl


def decode64(codes, f):
    return np.asarray(decode(codes.astype(f.code_dtype), f, dtype=np.float64), np.float64).reshape(-1)
