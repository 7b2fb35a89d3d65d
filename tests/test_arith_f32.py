"""The vectorised float32-operand paths of add/sub/mul/fma (``numfmt._kernels.arith_f32``)
equal the integer kernels (``round_pack`` on the exact result), codes and values.

float32 operands take the fast loops; the same values as float64 take the integer
kernels, which the reference, MPFR and SoftFloat tests check. Operands aim at what
the fast paths must get right: exact ties of the target grid and values one float32
ulp off them, huge exponent gaps (the float32 sum is inexact), products below 2**-100
and above float32's range, sums that overflow float32, float32 subnormals, the
target's subnormal/normal boundary and largest values, zeros of both signs, inf, NaN.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import numfmt
from numfmt import arith
from numfmt import plan as planning
from numfmt._kernels import arith_f32
from numfmt._kernels.params import kernel_params

MODES = ["nearest_even", "nearest_away", "toward_zero", "toward_positive", "toward_negative", "to_odd"]
SATS = ["none", "finite", "propagate"]
FORMATS = [
    "float8_e4m3fn", "float8_e5m2", "float8_e4m3", "float8_e4m3fnuz", "float8_e5m2fnuz", "float6_e2m3fn",
    "float6_e3m2fn", "float4_e2m1fn", "binary8p3se", "binary8p4sf", "bfloat16", "tf32", "binary16", "binary32",
]
WIDE = [  # float64-image path only: precision above 22 bits or exponents beyond float32
    numfmt.FloatFormat(name="e3m28", exponent_bits=3, mantissa_bits=28, bias=3),
    numfmt.FloatFormat(name="e10m12", exponent_bits=10, mantissa_bits=12, bias=511),
    numfmt.FloatFormat(name="e5m26", exponent_bits=5, mantissa_bits=26, bias=15),
]


def _grid(f, rng, n):
    """float32 values on and around the target grid: values, ties, and one float32 ulp off."""
    e = rng.integers(f.emin - 3, f.emax + 3, n)
    sig = rng.integers(0, 1 << min(f.mantissa_bits + 2, 22), n)
    v = np.ldexp(1.0 + sig / float(1 << min(f.mantissa_bits + 2, 22)), e)
    v = np.clip(v, 0, float(np.finfo(np.float32).max)).astype(np.float32)
    nudge = rng.integers(-1, 2, n).astype(np.int32)
    v = (v.view(np.int32) + nudge).view(np.float32)
    return np.where(rng.integers(0, 2, n) == 1, -v, v)


def operands(f, rng, n):
    """Three float32 operand columns for add/mul/fma that hit the hard cases."""
    f32 = np.finfo(np.float32)
    a, b, c = _grid(f, rng, n), _grid(f, rng, n), _grid(f, rng, n)
    k = n // 10
    s = rng.choice([-1.0, 1.0], k).astype(np.float32)
    # huge exponent gaps: a + tiny, with tiny far below a's last bit
    a[:k] = _grid(f, rng, k)
    b[:k] = (s * np.ldexp(1.0 + rng.random(k), rng.integers(-149, -30, k))).astype(np.float32)
    # products below 2**-100 (the error term may underflow) and beyond float32's range
    a[k:2 * k] = np.ldexp(1.0 + rng.random(k), rng.integers(-149, -40, k)).astype(np.float32) * s
    b[k:2 * k] = np.ldexp(1.0 + rng.random(k), rng.integers(-100, 0, k)).astype(np.float32)
    a[2 * k:3 * k] = np.ldexp(1.0 + rng.random(k), rng.integers(60, 128, k)).astype(np.float32) * s
    b[2 * k:3 * k] = np.ldexp(1.0 + rng.random(k), rng.integers(0, 128, k)).astype(np.float32)
    # sums that overflow float32, and cancellation (x + -x, a*b - round(a*b))
    a[3 * k:4 * k] = f32.max * s
    b[3 * k:4 * k] = np.ldexp(1.0 + rng.random(k), rng.integers(100, 128, k)).astype(np.float32) * s
    b[4 * k:5 * k] = -a[4 * k:5 * k]
    with np.errstate(all="ignore"):
        c[4 * k:5 * k] = -(a[4 * k:5 * k].astype(np.float64) * b[4 * k:5 * k]).astype(np.float32)
    # float32 subnormals and specials
    a[5 * k:6 * k] = (rng.integers(1, 1 << 23, k).astype(np.int32)).view(np.float32) * s
    sp = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 0.0, -0.0, 1.0], np.float32)
    b[5 * k:6 * k] = rng.choice(sp, k)
    c[5 * k:6 * k] = rng.choice(sp, k)
    return a, b, c


def _check(f, op, cols, mode, sat, nan):
    k = {"add": 2, "sub": 2, "mul": 2, "fma": 3}[op]
    fn = getattr(numfmt, op)
    with np.errstate(all="ignore"):
        wide = [x.astype(np.float64) for x in cols[:k]]
    kw = dict(rounding=mode, saturation=sat, nan=nan)
    got = fn(*cols[:k], f, codes=True, **kw)
    want = fn(*wide, f, codes=True, **kw)
    ok = got == want
    if f.code_of_nan is not None:
        nan_codes = np.isnan(numfmt.decode(got, f)) & np.isnan(numfmt.decode(want, f))
        ok |= nan_codes
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        pytest.fail(f"{f.name} {op} {mode} sat={sat}: {[float(x[i]) for x in cols[:k]]} -> "
                    f"{int(got[i]):#x}, integer kernels {int(want[i]):#x}")
    vals = fn(*cols[:k], f, **kw)
    wv = numfmt.decode(want, f)
    assert vals.dtype == wv.dtype
    same = (vals == wv) & (np.signbit(vals) == np.signbit(wv)) | (np.isnan(vals) & np.isnan(wv))
    assert same.all(), (f.name, op, mode, sat, [float(x[~same][0]) for x in cols[:k]])


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS + WIDE, ids=lambda x: x if isinstance(x, str) else x.name)
def test_fast_paths_equal_integer_kernels(fmt):
    f = numfmt.get_format(fmt)
    rng = np.random.default_rng(len(f.name) * 1000 + f.bits)
    cols = operands(f, rng, 4000)
    nans = ["raise"] if f.code_of_nan is not None else ["zero", "max"]
    for mode in MODES:
        plan = planning.make_plan(f, mode, "none", nans[0], None)
        assert arith._f32_eligible(f, plan, cols)
        for sat in SATS:
            for nan in nans:
                for op in ("add", "sub", "mul", "fma"):
                    _check(f, op, cols, mode, sat, nan)


def test_which_loops_apply():
    def params(name):
        return kernel_params(numfmt.get_format(name))

    for name in ("float8_e4m3fn", "bfloat16", "binary16", "tf32", "float4_e2m1fn", "binary8p3se"):
        assert arith_f32.eligible(params(name)) and arith_f32.eligible_rne32(params(name)), name
    for name in ("binary32", "e3m28", "e10m12"):  # too many bits for the float32 lanes
        p = params(name) if name == "binary32" else kernel_params(next(w for w in WIDE if w.name == name))
        assert arith_f32.eligible(p) and not arith_f32.eligible_rne32(p), name
    for name in ("ue4m3", "float8_e8m0fnu", "binary8p1se", "int8"):
        assert not arith_f32.eligible(params(name)), name


def test_scalars_broadcast_and_empty():
    f = numfmt.get_format("bfloat16")
    x = np.linspace(-3, 3, 50_000).astype(np.float32)
    for mode in ("nearest_even", "toward_zero"):
        for op, args in (("add", (x, np.float32(0.1))), ("mul", (np.float32(0.1), x)),
                         ("fma", (x, np.float32(0.1), np.float32(-1e-3)))):
            fn = getattr(numfmt, op)
            got = fn(*args, f, rounding=mode, codes=True)
            want = fn(*(np.asarray(v, np.float64) for v in args), f, rounding=mode, codes=True)
            assert np.array_equal(got, want), (op, mode)
    e = np.zeros(0, np.float32)
    assert numfmt.add(e, e, "e4m3").shape == (0,)
    assert numfmt.mul(e, np.float32(2), "e4m3", codes=True).shape == (0,)


def test_nan_policy_on_the_fast_paths():
    x = np.array([1.0, np.nan, np.inf, 2.0**-120], np.float32)
    y = np.array([1.0, 1.0, -np.inf, 2.0**-20], np.float32)
    for op in ("add", "mul"):
        for mode in ("nearest_even", "toward_zero"):
            with pytest.raises(ValueError, match="NaN"):
                getattr(numfmt, op)(x, y, "float4_e2m1fn", rounding=mode)
            got = getattr(numfmt, op)(x, y, "float4_e2m1fn", rounding=mode, nan="zero", codes=True)
            want = getattr(numfmt, op)(x.astype(np.float64), y, "float4_e2m1fn", rounding=mode, nan="zero",
                                       codes=True)
            assert np.array_equal(got, want)


def test_ties_and_tiny_perturbations():
    """1 + 2**-4 is an E4M3 tie; 2**-100 (one product lane, one sum lane) breaks it."""
    one = np.float32(1.0)
    assert float(numfmt.add(one, np.float32(2.0**-4), "e4m3")) == 1.0
    assert float(numfmt.add(np.float32(1.0625), np.float32(2.0**-100), "e4m3")) == 1.125
    assert float(numfmt.add(np.float32(1.0625), np.float32(-(2.0**-100)), "e4m3")) == 1.0
    # (1 + 2**-12)**2 = 1 + 2**-11 + 2**-24: RN24 is the binary16 tie 1 + 2**-11 (-> even 1.0);
    # the error term 2**-24 puts it above
    a = np.float32(1 + 2.0**-12)
    assert float(numfmt.mul(a, a, "binary16")) == 1 + 2.0**-10
    assert float(numfmt.mul(a, a, "binary16", rounding="toward_zero")) == 1.0
    # products at a tie of bfloat16's/tf32's subnormal grid, perturbed by about 2**-157: the
    # float32 error term of the product underflows to 0, so these lanes must be redone exactly
    for fmt in ("bfloat16", "tf32"):
        f = numfmt.get_format(fmt)
        q = 2.0 ** (f.emin - f.mantissa_bits)
        tie = (2 * np.arange(40) + 1) * (q / 2)
        x = (tie * 2.0**70).astype(np.float32)
        for d in (1, -1):
            y = np.full(40, 2.0**-70 * (1 + d * 2.0**-23), np.float32)
            exact = tie * (1 + d * 2.0**-23)  # x * y, rounded as float64 only beyond its last bit
            got = numfmt.mul(x, y, f)
            want = numfmt.mul(x.astype(np.float64), y.astype(np.float64), f)
            assert np.array_equal(got, want), fmt
            assert (np.abs(got - exact) < q / 2).all()
    # a product below 2**-100 rounds up under toward_positive
    assert float(numfmt.mul(np.float32(2.0**-80), np.float32(2.0**-80), "bfloat16",
                            rounding="toward_positive")) == 2.0**-133


@settings(max_examples=300, deadline=None)
@given(
    fmt=st.sampled_from(FORMATS),
    op=st.sampled_from(["add", "sub", "mul", "fma"]),
    mode=st.sampled_from(MODES),
    sat=st.sampled_from(SATS),
    data=st.lists(st.floats(width=32, allow_nan=True, allow_infinity=True), min_size=3, max_size=3),
)
def test_hypothesis_float32_operands(fmt, op, mode, sat, data):
    f = numfmt.get_format(fmt)
    cols = [np.array([v], np.float32) for v in data]
    _check(f, op, cols, mode, sat, "raise" if f.code_of_nan is not None else "zero")
