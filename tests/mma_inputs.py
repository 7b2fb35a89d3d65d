"""Random and adversarial inputs of matrix-instruction families (no oracle needed): every kind of
input in turn (the whole range, realistic values, subnormals, massive cancellation, all-zero blocks,
the largest values), NaN/infinity/signed-zero rows, addends and scale codes at their extremes.

Used by tests/test_mma_models.py (against MMA-Sim) and tests/test_variants.py (the fast kernels
against the exact one).
"""

from __future__ import annotations

import numpy as np

import numfmt

__all__ = ["KINDS", "cases"]


def _codes_dtype(fmt):
    return np.uint8 if fmt.bits <= 8 else (np.uint16 if fmt.bits <= 16 else np.uint32)


def _decode(codes, fmt):
    return np.asarray(numfmt.decode(codes.astype(_codes_dtype(fmt)), fmt), np.float64)


def _finite_codes(rng, fmt, shape):
    """Values of random codes, the non-finite ones drawn again (every exponent of the format)."""
    if fmt.bits == 64:
        v = rng.integers(0, 2**64, shape, dtype=np.uint64, endpoint=False).view(np.float64)
        return np.where(np.isfinite(v), v, 1.0)
    codes = rng.integers(0, 1 << fmt.bits, shape, dtype=np.int64)
    v = _decode(codes, fmt)
    bad = ~np.isfinite(v)
    while bad.any():
        codes[bad] = rng.integers(0, 1 << fmt.bits, int(bad.sum()), dtype=np.int64)
        v = _decode(codes, fmt)
        bad = ~np.isfinite(v)
    return v


def _values(rng, fmt, shape, kind):
    if kind == "range":  # the whole range: spread beyond the window, subnormals, overflow
        return _finite_codes(rng, fmt, shape)
    if kind == "narrow":  # realistic: normal values within a few binades around 1
        lo, hi = max(fmt.emin, -3), min(fmt.emax, 3)
        m = rng.integers(1 << fmt.mantissa_bits, 2 << fmt.mantissa_bits, shape)
        e = rng.integers(lo, hi + 1, shape)
        v = np.ldexp(m.astype(np.float64), e - fmt.mantissa_bits)
        v = np.minimum(v, fmt.max)
        return np.where(rng.random(shape) < 0.5, -v, v) * (rng.random(shape) > 0.05)
    if kind == "subnormal":
        v = _finite_codes(rng, fmt, shape)
        sub = 2.0 ** (fmt.emin - fmt.mantissa_bits) * rng.integers(0, 1 << fmt.mantissa_bits, shape)
        return np.where(rng.random(shape) < 0.7, sub * np.where(rng.random(shape) < 0.5, -1, 1), v)
    if kind == "max":
        return np.where(rng.random(shape) < 0.5, -fmt.max, fmt.max)
    raise AssertionError(kind)


def _specials(rng, fmt, v):
    """Put a NaN, an infinity or a signed zero into some rows (what the format holds)."""
    T, K = v.shape
    rows = rng.random(T) < 0.25
    cols = rng.integers(0, K, T)
    choice = [-0.0, 0.0]
    if fmt.code_of_inf is not None:
        choice += [np.inf, -np.inf]
    if fmt.code_of_nan is not None:
        choice += [np.nan]
    pick = np.array(choice)[rng.integers(0, len(choice), T)]
    v = v.copy()
    v[rows, cols[rows]] = pick[rows]
    return v


def _c_values(rng, cfmt, T, kind):
    if kind == "zero":
        return np.where(rng.random(T) < 0.5, -0.0, 0.0)
    c = _values(rng, cfmt, T, "range" if kind == "range" else "narrow")
    c[rng.random(T) < 0.15] = 0.0
    c[rng.random(T) < 0.1] = -0.0
    if kind == "special":
        pick = np.array([np.inf, -np.inf, np.nan, cfmt.max, -cfmt.max])[rng.integers(0, 5, T)]
        c = np.where(rng.random(T) < 0.3, pick, c)
    return c


def _scale_codes(rng, sfmt, shape):
    if sfmt.name == "float8_e8m0fnu":
        codes = np.where(rng.random(shape) < 0.8, rng.integers(110, 145, shape), rng.integers(0, 256, shape))
        ext = rng.random(shape)
        codes = np.where(ext < 0.03, 0, np.where(ext < 0.06, 254, np.where(ext < 0.065, 255, codes)))
        return codes, _decode(codes, sfmt)
    codes = np.where(rng.random(shape) < 0.8, rng.integers(40, 80, shape), rng.integers(0, 128, shape))
    ext = rng.random(shape)
    codes = np.where(ext < 0.03, 0, np.where(ext < 0.06, 0x7E, np.where(ext < 0.065, 0x7F, codes)))
    hw = codes | (rng.integers(0, 2, shape) << 7)  # the sign bit, which the instruction ignores
    return hw, _decode(codes, sfmt)


KINDS = ("range", "narrow", "narrow", "subnormal", "cancel", "zero", "max")


def cases(rng, fam, K, n, T):
    """(a, b, c, sa, sb) for T dot products of n instructions, every kind of input in turn;
    sa and sb are (codes as the instruction reads them, values)."""
    parts = [_case(rng, fam, K, n, -(-T // len(KINDS)), kind) for kind in KINDS]
    a, b, c = (np.concatenate([p[i] for p in parts]) for i in range(3))
    if parts[0][3] is None:
        return a, b, c, None, None
    sa, sb = ((np.concatenate([p[i][0] for p in parts]), np.concatenate([p[i][1] for p in parts])) for i in (3, 4))
    return a, b, c, sa, sb


def _case(rng, fam, K, n, T, kind):
    """(a, b, c, sa codes/values, sb codes/values) for T dot products of n instructions."""
    fa, fb = numfmt.get_format(fam.a_format), numfmt.get_format(fam.b_format)
    cf = numfmt.get_format(fam.c_format)
    Kt = K * n
    if kind == "cancel":
        a = _values(rng, fa, (T, Kt), "narrow")
        b = _values(rng, fb, (T, Kt), "narrow")
        h = Kt // 2
        if fa.name == fb.name:
            a[:, h:2 * h], b[:, h:2 * h] = -a[:, :h], b[:, :h]
        small = rng.random((T, Kt)) < 0.1
        a = np.where(small, _values(rng, fa, (T, Kt), "range"), a)
    elif kind == "zero":
        a = _values(rng, fa, (T, Kt), "narrow")
        b = _values(rng, fb, (T, Kt), "narrow")
        blk = rng.integers(0, n, T)
        for t in range(T):
            if rng.random() < 0.5:
                a[t, blk[t] * K:(blk[t] + 1) * K] = np.where(rng.random(K) < 0.5, -0.0, 0.0)
    else:
        a = _values(rng, fa, (T, Kt), kind)
        b = _values(rng, fb, (T, Kt), kind if kind != "max" else "narrow")
    if rng.random() < 0.4:
        a = _specials(rng, fa, a)
        b = _specials(rng, fb, b)
    ckind = {"zero": "zero", "max": "special"}.get(kind, rng.choice(["narrow", "range", "special", "zero"]))
    c = _c_values(rng, cf, T, ckind)
    sa = sb = None
    if fam.scale_format is not None:
        sf = numfmt.get_format(fam.scale_format)
        nb = Kt // fam.scale_block
        sa = _scale_codes(rng, sf, (T, nb))
        sb = _scale_codes(rng, sf, (T, nb))
    return a, b, c, sa, sb
