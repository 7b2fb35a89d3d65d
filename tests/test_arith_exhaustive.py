"""Every pair of codes of E4M3, E5M2, E2M1 and binary8p3se: add, sub, mul and div under
every deterministic rounding mode (and saturation none/finite) equal an independent
reference.

The reference picks the result from the format's table of values, not from bits:
for an exact result |x| = num / den it finds the neighbours lo <= |x| < hi among the
finite magnitudes (extended by the next grid point past the largest, which stands for
overflow), compares |x| with the midpoint, and chooses by the rounding rule. For
these formats every sum, difference and product of two values is exact in float64,
and every comparison ``value * den <= num`` is exact (values have <= 5 significant
bits), so the whole reference is exact float64 numpy (checked against Fractions on
a sample below).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import numfmt

FORMATS = ["float8_e4m3fn", "float8_e5m2", "float4_e2m1fn", "binary8p3se"]
MODES = ["nearest_even", "nearest_away", "toward_zero", "toward_positive", "toward_negative", "to_odd"]
OPS = ["add", "sub", "mul", "div"]


class Table:
    """Values, codes and special codes of a small sign-magnitude format."""

    def __init__(self, name):
        f = self.f = numfmt.get_format(name)
        codes = np.arange(1 << f.bits)
        self.values = np.array([float(f.exact_value(int(c))) for c in codes])
        self.sign_bit = 1 << (f.bits - 1)
        fin = np.isfinite(self.values) & (codes < self.sign_bit)
        mags = codes[fin]
        vals = self.values[fin]
        order = np.argsort(vals, kind="stable")
        vals, mags = vals[order], mags[order]
        mx = vals[-1]
        # the next grid point past the largest finite value: max + one ulp of its binade
        e = np.floor(np.log2(mx))
        nxt = mx + 2.0 ** (e - f.mantissa_bits)
        self.max_mag = int(mags[-1])
        self.ext = np.concatenate([vals, [nxt, np.inf]])
        self.ext_code = np.concatenate([mags, [mags[-1] + 1, mags[-1] + 2]])
        self.nan = f.code_of_nan
        self.inf = f.code_of_inf
        self.negzero = f.negative_zero

    def is_nan(self, codes):
        return np.isnan(self.values[codes])


def _signed(t, neg, mag):
    return np.where(neg, mag | t.sign_bit, mag)


def _overflow(t, neg, is_inf, mode, sat):
    """Code of an overflowing or infinite result (sign-magnitude formats)."""
    maxc = _signed(t, neg, np.full(neg.shape, t.max_mag))
    if sat == "finite":
        return maxc
    inward = np.zeros(neg.shape, bool) if mode is None else (
        np.full(neg.shape, mode == "toward_zero")
        | ((mode == "toward_negative") & ~neg) | ((mode == "toward_positive") & neg)
    )
    inward &= ~is_inf
    if t.inf is not None:
        over = _signed(t, neg, np.full(neg.shape, t.inf))
    elif t.nan is not None and t.f.overflow_nan:
        over = np.full(neg.shape, t.nan)
    else:
        over = maxc
    return np.where(inward, maxc, over)


def reference(t, op, a, b, mode, sat, nan_code):
    """Codes of ``a op b`` (float64 arrays of format values) by table lookup."""
    f = t.f
    with np.errstate(all="ignore"):
        if op in ("add", "sub"):
            x = a + b if op == "add" else a - b
            num, den = np.abs(x), np.ones_like(x)
            exact_zero = (x == 0) & np.isfinite(a) & np.isfinite(b)
            bneg = np.signbit(b) ^ (op == "sub")
            same = np.signbit(a) == bneg
            zneg = np.where(same, np.signbit(a), mode == "toward_negative")
            zneg = np.where((a == 0) & (b == 0), zneg, mode == "toward_negative")
        elif op == "mul":
            x = a * b
            num, den = np.abs(x), np.ones_like(x)
            exact_zero = x == 0
            zneg = np.signbit(a) ^ np.signbit(b)
        else:
            x = a / b
            num, den = np.abs(a), np.abs(b)
            exact_zero = (a == 0) & (b != 0) | np.isinf(b) & np.isfinite(a)
            zneg = np.signbit(a) ^ np.signbit(b)
            if f.p3109:
                x = np.where(b == 0, np.nan, x)
        neg = np.signbit(x) if op != "div" else zneg
        # bracket num/den between ext[i] and ext[i + 1], exactly
        q = np.where(np.isfinite(num / den), num / den, 0.0)
        i = np.clip(np.searchsorted(t.ext, q, side="right") - 1, 0, len(t.ext) - 2)
        for _ in range(3):
            i = np.where(t.ext[np.minimum(i + 1, len(t.ext) - 1)] * den <= num, i + 1, i)
            i = np.where(t.ext[i] * den > num, i - 1, i)
        i = np.clip(i, 0, len(t.ext) - 2)
        lo, hi = t.ext[i], t.ext[i + 1]
        is_exact = lo * den == num
        mid = (lo + hi) / 2 * den
        lo_even = t.ext_code[i] % 2 == 0
        up = {
            "nearest_even": (num > mid) | ((num == mid) & ~lo_even),
            "nearest_away": num >= mid,
            "toward_zero": np.zeros(num.shape, bool),
            "toward_positive": ~neg,
            "toward_negative": neg,
            "to_odd": lo_even,
        }[mode] & ~is_exact
        j = i + up
        over = (j >= len(t.ext) - 2) | (num >= t.ext[-2] * den)
        mag = t.ext_code[np.minimum(j, len(t.ext) - 3)]
        zero = t.ext[np.minimum(j, len(t.ext) - 3)] == 0
        code = _signed(t, neg, mag)
        code = np.where(zero, np.where(neg & t.negzero, t.sign_bit, 0), code)
        ovf = _overflow(t, neg, np.zeros(neg.shape, bool), mode, sat)
        if mode == "to_odd" and sat == "none" and not f.p3109:
            # IEEE 754-2019 §7.4 / docs/semantics.md: past max after rounding toward zero (to_odd kept an odd
            # truncation F on the unbounded grid, nu > 0) gives max, rounded away the overflow value
            q = np.where(over & (num > 0), num / den, 1.0)
            e = np.floor(np.log2(q))
            e = np.where(np.exp2(e) * den > num, e - 1, e)
            e = np.where(np.exp2(e + 1) * den <= num, e + 1, e)
            quantum = np.exp2(e - f.mantissa_bits)
            F = np.floor(q / quantum)
            F = np.where(F * quantum * den > num, F - 1, F)
            F = np.where((F + 1) * quantum * den <= num, F + 1, F)
            taken = (F * quantum * den != num) & (F % 2 == 1)
            ovf = np.where(taken, _signed(t, neg, np.full(neg.shape, t.max_mag)), ovf)
        code = np.where(over, ovf, code)
        code = np.where(exact_zero, np.where(zneg & t.negzero, t.sign_bit, 0), code)
        code = np.where(np.isinf(x), _overflow(t, np.signbit(x), np.ones(x.shape, bool), None, sat), code)
        nan = np.isnan(x)
        code = np.where(nan, t.nan if t.nan is not None else nan_code, code)
    return code


@pytest.fixture(scope="module", params=FORMATS)
def table(request):
    return Table(request.param)


def _pairs(t):
    n = 1 << t.f.bits
    ca, cb = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return ca.ravel(), cb.ravel()


def test_reference_float64_is_exact(table):
    """The claims the reference rests on: sums and products of values are exact in float64."""
    t = table
    ca, cb = _pairs(t)
    rng = np.random.default_rng(1)
    pick = rng.choice(ca.size, min(3000, ca.size), replace=False)
    for k in pick:
        a, b = t.values[ca[k]], t.values[cb[k]]
        if not (np.isfinite(a) and np.isfinite(b)):
            continue
        fa, fb = Fraction(a), Fraction(b)
        assert Fraction(a + b) == fa + fb and Fraction(a * b) == fa * fb


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("op", OPS)
def test_every_pair(table, op, dtype):
    """float64 operands take the integer kernels; float32 operands (these values are exact in
    float32) take the vectorised float64-image path for add, sub and mul (codes and values)."""
    t = table
    ca, cb = _pairs(t)
    a, b = t.values[ca], t.values[cb]
    if dtype == np.float32 and op != "div":
        from numfmt import arith
        from numfmt import plan as planning

        plan = planning.make_plan(t.f, "nearest_even", "none", "raise", None)
        assert arith._f32_eligible(t.f, plan, [a.astype(np.float32)])
    nan_kw = "raise" if t.nan is not None else "zero"
    n_checked = 0
    for sat in ("none", "finite"):
        for mode in MODES:
            want = reference(t, op, a, b, mode, sat, 0)
            got = getattr(numfmt, op)(a.astype(dtype), b.astype(dtype), t.f, rounding=mode, saturation=sat,
                                      nan=nan_kw, codes=True)
            got = got.astype(np.int64)
            if dtype == np.float32 and op != "div":  # the values come from their own loop
                vals = getattr(numfmt, op)(a.astype(dtype), b.astype(dtype), t.f, rounding=mode, saturation=sat,
                                           nan=nan_kw)
                wv = numfmt.decode(got.astype(t.f.code_dtype), t.f)
                assert vals.dtype == np.float32
                ok = (vals == wv) & (np.signbit(vals) == np.signbit(wv)) | (np.isnan(vals) & np.isnan(wv))
                assert ok.all(), (op, mode, sat, a[~ok][:3], b[~ok][:3], vals[~ok][:3], wv[~ok][:3])
            both_nan = t.is_nan(got) & t.is_nan(want) if t.nan is not None else np.zeros(got.shape, bool)
            mism = (got != want) & ~both_nan
            bad = np.flatnonzero(mism)
            if bad.size:
                k = bad[0]
                pytest.fail(
                    f"{t.f.name} {op} {mode} sat={sat}: {bad.size} mismatches; first "
                    f"{a[k]!r} {op} {b[k]!r} (codes {ca[k]:#x}, {cb[k]:#x}): got {got[k]:#x}, want {want[k]:#x}"
                )
            n_checked += got.size
    assert n_checked == 12 * (1 << (2 * t.f.bits))
