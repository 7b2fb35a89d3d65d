"""numfmt.add/sub/mul/div/fma/sqrt against exact references.

* ``numfmt.reference`` (pure-Fraction codec) applied to the exact result, computed here
  with Fractions and the IEEE 754 / P3109 special-case rules written out independently;
  every rounding mode (to_odd and the three stochastic modes with explicit R included)
  and every saturation mode, on many formats and random custom formats;
* MPFR through gmpy2 (precision, emin/emax, subnormalize) for the IEEE-style formats;
* hand-written special cases, the FMA double-rounding counterexample, dtypes and errors.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import numfmt
import numfmt.reference as ref
from numfmt._kernels.params import kernel_params

DET_MODES = ["nearest_even", "nearest_away", "toward_zero", "toward_positive", "toward_negative", "to_odd"]
SR_MODES = ["stochastic", "stochastic_b", "stochastic_c", "stochastic_odd"]
SATS = ["none", "finite", "propagate"]
OPS = ["add", "sub", "mul", "div", "fma", "sqrt"]
ARITY = {"add": 2, "sub": 2, "mul": 2, "div": 2, "fma": 3, "sqrt": 1}

NAMED = [
    "bfloat16", "tf32", "binary16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3", "float8_e4m3fnuz",
    "float8_e5m2fnuz", "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn", "binary8p3se", "binary8p4sf",
    "binary8p1ue", "binary6p3uf", "ue4m3", "float8_e8m0fnu",
]


# ---------------------------------------------------------------- exact results, written from the standards
def _signed_zero(neg):
    return -0.0 if neg else 0.0


def _zero_sum(na, nb, mode):
    return _signed_zero(na if na == nb else mode == "toward_negative")


def _sqrt_proxy(a: Fraction):
    """sqrt(a) exactly when rational, else a rational in the same open interval
    (s, s + 1) * 2**-k as the true root, with k far beyond any rounding boundary."""
    k = 300
    n = a.numerator << (2 * k)
    d = a.denominator
    # sqrt(n / d) = sqrt(n * d) / d
    s = math.isqrt(n * d)
    if s * s == n * d:
        return Fraction(s, d << k)
    return Fraction(2 * s + 1, d << (k + 1))


def exact(op, xs, mode, p3109):
    """The exact result: a Fraction (finite nonzero) or a float (+-0, +-inf, nan)."""
    xs = [float(x) for x in xs]
    if any(math.isnan(x) for x in xs):
        return math.nan
    sg = [math.copysign(1.0, x) < 0 for x in xs]
    inf = [math.isinf(x) for x in xs]
    zero = [x == 0 for x in xs]
    if op == "sub":
        op, xs, sg = "add", [xs[0], -xs[1]], [sg[0], not sg[1]]
    if op == "add":
        if inf[0] or inf[1]:
            if inf[0] and inf[1] and sg[0] != sg[1]:
                return math.nan
            return xs[0] if inf[0] else xs[1]
        s = Fraction(xs[0]) + Fraction(xs[1])
        if s == 0:
            return _zero_sum(sg[0], sg[1], mode) if zero[0] and zero[1] else _zero_sum(False, True, mode)
        return s
    if op == "mul":
        neg = sg[0] != sg[1]
        if inf[0] or inf[1]:
            return math.nan if (zero[0] or zero[1]) else (-math.inf if neg else math.inf)
        if zero[0] or zero[1]:
            return _signed_zero(neg)
        return Fraction(xs[0]) * Fraction(xs[1])
    if op == "div":
        neg = sg[0] != sg[1]
        if zero[1]:
            if zero[0] or p3109:
                return math.nan
            return -math.inf if neg else math.inf
        if inf[0]:
            return math.nan if inf[1] else (-math.inf if neg else math.inf)
        if zero[0] or inf[1]:
            return _signed_zero(neg)
        return Fraction(xs[0]) / Fraction(xs[1])
    if op == "fma":
        pneg = sg[0] != sg[1]
        if inf[0] or inf[1]:
            if zero[0] or zero[1] or (inf[2] and sg[2] != pneg):
                return math.nan
            return -math.inf if pneg else math.inf
        if inf[2]:
            return xs[2]
        if zero[0] or zero[1]:
            return _zero_sum(pneg, sg[2], mode) if zero[2] else Fraction(xs[2])
        s = Fraction(xs[0]) * Fraction(xs[1]) + Fraction(xs[2])
        if s == 0:
            return _zero_sum(False, True, mode)
        return s
    if op == "sqrt":
        x = xs[0]
        if x == 0:
            return x
        if sg[0]:
            return math.nan
        if inf[0]:
            return x
        return _sqrt_proxy(Fraction(x))
    raise AssertionError(op)


def ref_codes(op, cols, fmt, mode, sat, R, N, nan_code):
    f = numfmt.get_format(fmt)
    out = []
    for i in range(len(cols[0])):
        x = exact(op, [c[i] for c in cols], mode, f.p3109)
        r = int(R[i]) if R is not None else 0
        out.append(ref.encode(x, f, rounding=mode, saturation=sat, nan_code=nan_code, R=r, N=N))
    return np.array(out, np.int64)


def same_codes(f, got, want):
    got = np.asarray(got).astype(np.int64).ravel()
    want = np.asarray(want).astype(np.int64).ravel()
    if hasattr(f, "is_nan_code"):
        both = np.array([f.is_nan_code(int(g)) and f.is_nan_code(int(w)) for g, w in zip(got, want)], bool)
    else:
        both = np.zeros(got.shape, bool)
    return (got == want) | both


# ---------------------------------------------------------------- operands
def operands(f, rng, n):
    """float64 operands around the format's grid: its values, values nudged by a fraction of
    an ulp, log-uniform values over (and beyond) its range, and a few specials."""
    codes = rng.integers(0, 1 << f.bits, n)
    vals = np.array([float(f.exact_value(int(c))) for c in codes])
    vals = np.where(np.isnan(vals), 1.0, vals)
    hi = math.log2(f.max) + 2
    lo = math.log2(f.smallest_subnormal) - 3
    logu = np.exp2(rng.uniform(lo, hi, n)) * rng.choice([-1.0, 1.0], n)
    nudge = vals * (1 + rng.choice([-1, 1], n) * np.exp2(-f.mantissa_bits - rng.integers(1, 6, n)))
    kind = rng.integers(0, 16, n)
    x = np.where(kind < 6, vals, np.where(kind < 10, nudge, logu))
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0])
    x = np.where(kind == 15, rng.choice(specials, n), x)
    return x


def _run(op, cols, fmt, mode, sat, R, N, nan):
    kw = dict(rounding=mode, saturation=sat, nan=nan, codes=True)
    if R is not None:
        kw.update(random=R.astype(np.uint32), rbits=N)
    return getattr(numfmt, op)(*cols, fmt, **kw)


def check_against_reference(fmt, op, rng, n, modes):
    f = numfmt.get_format(fmt)
    has_nan = f.code_of_nan is not None
    nan_kw, nan_code = ("raise", None) if has_nan else ("zero", 0)
    for mode in modes:
        for sat in SATS:
            cols = [operands(f, rng, n) for _ in range(ARITY[op])]
            R, N = None, 32
            if mode.startswith("stochastic"):
                N = int(rng.choice([1, 2, 3, 5, 8, 13, 16, 32]))
                N = min(N, 57 - f.precision)
                R = rng.integers(0, 1 << N, n)
            got = _run(op, cols, f, mode, sat, R, N, nan_kw)
            want = ref_codes(op, cols, f, mode, sat, R, N, nan_code)
            ok = same_codes(f, got, want)
            if not ok.all():
                k = int(np.flatnonzero(~ok)[0])
                args = ", ".join(repr(float(c[k])) for c in cols)
                pytest.fail(f"{f.name} {op}({args}) {mode} sat={sat} R={None if R is None else R[k]} N={N}: "
                            f"got {int(got[k]):#x}, reference {int(want[k]):#x}")


@pytest.mark.slow
@pytest.mark.parametrize("fmt", NAMED)
@pytest.mark.parametrize("op", OPS)
def test_named_formats_equal_reference(fmt, op):
    rng = np.random.default_rng([NAMED.index(fmt), OPS.index(op)])
    check_against_reference(fmt, op, rng, 12, DET_MODES + SR_MODES)


def _custom_formats(seed, count):
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        e = int(rng.integers(1, 9))
        m = int(rng.integers(0, 11))
        style = rng.choice(["ieee", "fn", "fnuz", "finite", "unsigned"])
        kw = dict(name=f"custom_e{e}m{m}_{style}_{len(out)}", exponent_bits=e, mantissa_bits=m,
                  bias=int(rng.integers(-3, 2 ** e + 2)))
        if style == "ieee":
            kw.update(subnormals=bool(rng.integers(0, 2)))
        elif style == "fn":
            kw.update(inf="none", nan="fn")
        elif style == "fnuz":
            kw.update(inf="none", nan="fnuz", negative_zero=False)
        elif style == "finite":
            kw.update(inf="none", nan="none", overflow_nan=False)
        else:
            kw.update(inf="none", nan="fn", signed=False, negative_zero=False)
        try:
            f = numfmt.FloatFormat(**kw)
            f.exact_value(0)
            kernel_params(f)
        except ValueError:
            continue
        if not (f.exact_in(np.float64) and math.isfinite(f.max) and f.smallest_subnormal > 0):
            continue
        out.append(f)
    return out


CUSTOM = _custom_formats(2026, 10)


@pytest.mark.slow
@pytest.mark.parametrize("f", CUSTOM, ids=[f.name for f in CUSTOM])
def test_custom_formats_equal_reference(f):
    rng = np.random.default_rng(abs(hash(f.name)) % (1 << 32))
    for op in OPS:
        check_against_reference(f, op, rng, 6, DET_MODES + SR_MODES)


@given(
    fi=st.sampled_from(range(len(CUSTOM))),
    op=st.sampled_from(OPS),
    mode=st.sampled_from(DET_MODES),
    data=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=3, max_size=3),
)
def test_hypothesis_any_float64_operands(fi, op, mode, data):
    f = CUSTOM[fi]
    cols = [np.array([v]) for v in data[: ARITY[op]]]
    nan_kw, nan_code = ("raise", None) if f.code_of_nan is not None else ("zero", 0)
    got = _run(op, cols, f, mode, "none", None, 32, nan_kw)
    want = ref_codes(op, cols, f, mode, "none", None, 32, nan_code)
    assert same_codes(f, got, want).all(), (f.name, op, mode, data, got, want)


# ---------------------------------------------------------------- MPFR
gmpy2_modes = {
    "nearest_even": "RoundToNearest", "toward_zero": "RoundToZero",
    "toward_positive": "RoundUp", "toward_negative": "RoundDown",
}
MPFR_FORMATS = ["bfloat16", "tf32", "binary16", "float8_e5m2", "float8_e4m3", "float8_e3m4"]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", MPFR_FORMATS)
def test_equals_mpfr(fmt):
    gmpy2 = pytest.importorskip("gmpy2")
    f = numfmt.get_format(fmt)
    p = f.precision
    rng = np.random.default_rng(MPFR_FORMATS.index(fmt))
    n = 400
    for op in OPS:
        cols = [operands(f, rng, n) for _ in range(ARITY[op])]
        xs = [[gmpy2.mpfr(float(v), 53) for v in c] for c in cols]
        for mode, rname in gmpy2_modes.items():
            ctx = gmpy2.context(precision=p, emin=f.emin - p + 2, emax=f.emax + 1, subnormalize=True,
                                round=getattr(gmpy2, rname))
            fn = getattr(ctx, op) if op != "fma" else ctx.fma
            want = np.array([float(fn(*args)) for args in zip(*xs)])
            got = getattr(numfmt, op)(*cols, f, rounding=mode)
            ok = (got == want) & (np.signbit(got) == np.signbit(want)) | (np.isnan(got) & np.isnan(want))
            if not ok.all():
                k = int(np.flatnonzero(~ok)[0])
                pytest.fail(f"{fmt} {op}{tuple(float(c[k]) for c in cols)} {mode}: got {got[k]!r}, "
                            f"MPFR {want[k]!r}")


# ---------------------------------------------------------------- binary64 targets
def test_binary64_target_rounds_once():
    # binary64 targets: tests/test_arith_binary64.py and the SoftFloat f64 tests
    for op in OPS:
        got = getattr(numfmt, op)(*([1.5] * ARITY[op]), "binary64", codes=True)
        assert got.dtype == np.uint64
    assert float(numfmt.fma(1.5, 1.5, 1.5, "binary64")) == 3.75


# ---------------------------------------------------------------- special cases
def _c(fn, *args, fmt, **kw):
    return int(fn(*args, fmt, codes=True, **kw))


def test_ieee_special_cases():
    inf, nan = np.inf, np.nan
    h = "binary16"
    assert _c(numfmt.sub, inf, inf, fmt=h) == 0x7FFF  # NaN
    assert _c(numfmt.add, inf, -inf, fmt=h) == 0x7FFF
    assert _c(numfmt.mul, 0.0, inf, fmt=h) == 0x7FFF
    assert _c(numfmt.fma, 0.0, inf, nan, fmt=h) == 0x7FFF
    assert _c(numfmt.fma, inf, 1.0, -inf, fmt=h) == 0x7FFF
    assert _c(numfmt.div, 1.0, 0.0, fmt=h) == 0x7C00
    assert _c(numfmt.div, 1.0, -0.0, fmt=h) == 0xFC00
    assert _c(numfmt.div, -1.0, 0.0, fmt=h) == 0xFC00
    assert _c(numfmt.div, 0.0, 0.0, fmt=h) == 0x7FFF
    assert _c(numfmt.div, inf, inf, fmt=h) == 0x7FFF
    assert _c(numfmt.div, 1.0, -inf, fmt=h) == 0x8000
    assert _c(numfmt.sub, 1.5, 1.5, fmt=h) == 0x0000
    assert _c(numfmt.sub, 1.5, 1.5, fmt=h, rounding="toward_negative") == 0x8000
    assert _c(numfmt.add, -0.0, -0.0, fmt=h) == 0x8000
    assert _c(numfmt.add, 0.0, -0.0, fmt=h) == 0x0000
    assert _c(numfmt.add, 0.0, -0.0, fmt=h, rounding="toward_negative") == 0x8000
    assert _c(numfmt.fma, -0.0, 1.0, 0.0, fmt=h) == 0x0000
    assert _c(numfmt.fma, -0.0, 1.0, -0.0, fmt=h) == 0x8000
    assert _c(numfmt.fma, 2.0, 3.0, -6.0, fmt=h, rounding="toward_negative") == 0x8000
    assert _c(numfmt.sqrt, -0.0, fmt=h) == 0x8000
    assert _c(numfmt.sqrt, -1.0, fmt=h) == 0x7FFF
    assert _c(numfmt.sqrt, inf, fmt=h) == 0x7C00
    assert _c(numfmt.mul, -1e-30, 1e-30, fmt=h) == 0x8000  # underflow keeps the sign
    assert _c(numfmt.add, 65504.0, 16.0, fmt=h) == 0x7C00  # overflow: 65520 ties up to inf
    assert _c(numfmt.add, 65504.0, 15.99, fmt=h) == 0x7BFF
    assert _c(numfmt.add, 65504.0, 1e9, fmt=h, rounding="toward_zero") == 0x7BFF


def test_p3109_special_cases():
    f = "binary8p3se"
    nan_code, inf_code = 0x80, 0x7F
    assert _c(numfmt.div, 1.0, 0.0, fmt=f) == nan_code  # x/0 -> NaN, not inf
    assert _c(numfmt.div, -1.0, -0.0, fmt=f) == nan_code
    assert _c(numfmt.div, np.inf, 0.0, fmt=f) == nan_code
    assert _c(numfmt.div, 1.0, np.inf, fmt=f) == 0
    assert _c(numfmt.sub, 1.0, 1.0, fmt=f, rounding="toward_negative") == 0  # one zero
    assert _c(numfmt.mul, -1.0, 0.0, fmt=f) == 0
    assert _c(numfmt.sqrt, -0.0, fmt=f) == 0
    assert _c(numfmt.add, np.inf, -np.inf, fmt=f) == nan_code
    assert _c(numfmt.mul, 49152.0, 2.0, fmt=f) == inf_code
    assert _c(numfmt.mul, 49152.0, 2.0, fmt=f, saturation="finite") == 0x7E
    assert _c(numfmt.mul, -49152.0, 2.0, fmt=f, rounding="toward_positive") == 0xFE
    # P3109 unsigned: a negative result is NaN under SatNone, 0 toward zero
    assert _c(numfmt.sub, 1.0, 2.0, fmt="binary8p3ue") == 0xFF
    assert _c(numfmt.sub, 1.0, 2.0, fmt="binary8p3ue", rounding="toward_zero") == 0
    assert _c(numfmt.sub, 1.0, 2.0, fmt="binary8p3ue", saturation="finite") == 0


def test_formats_without_inf_or_nan_follow_policy():
    # E4M3 (OCP fn): inf -> NaN under saturation none, max under finite
    assert _c(numfmt.div, 1.0, 0.0, fmt="e4m3") == 0x7F
    assert _c(numfmt.div, -1.0, 0.0, fmt="e4m3", saturation="finite") == 0xFE
    assert _c(numfmt.mul, 300.0, 2.0, fmt="e4m3") == 0x7F
    # E2M1: no inf, no NaN -> overflow saturates; NaN results follow nan=
    assert float(numfmt.div(1.0, 0.0, "e2m1")) == 6.0
    assert float(numfmt.div(-1.0, 0.0, "e2m1")) == -6.0
    with pytest.raises(ValueError, match="no NaN"):
        numfmt.div(0.0, 0.0, "e2m1")
    with pytest.raises(ValueError, match="no NaN"):
        numfmt.sqrt([4.0, -1.0], "e2m1")
    assert float(numfmt.div(0.0, 0.0, "e2m1", nan="zero")) == 0.0
    assert float(numfmt.div(0.0, 0.0, "e2m1", nan="max")) == 6.0


# ---------------------------------------------------------------- exactness is needed
def test_fma_double_rounding_through_float64_is_wrong():
    """a*b + c in float64 then rounded to binary32 rounds twice and misses; numfmt does not.

    a*b = -(2**-24 - 2**-70) exactly, so a*b + c = 1 + 2**-24 + 2**-70: just above the
    midpoint between 1 and 1 + 2**-23. float64 rounds it to the midpoint, then binary32
    ties to even (1.0). The correctly rounded result is 1 + 2**-23.
    """
    a = np.float32(1 + 2.0**-23)
    b = np.float32(-(2.0**-24) * (1 - 2.0**-23))
    c = np.float32(1 + 2.0**-23)
    exact_val = Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c))
    assert exact_val == 1 + Fraction(1, 2**24) + Fraction(1, 2**70)
    twice = np.float32(np.float64(a) * np.float64(b) + np.float64(c))
    assert twice == np.float32(1.0)
    once = numfmt.fma(a, b, c, "binary32")
    assert once == np.float32(1 + 2.0**-23)
    assert ref.encode(exact_val, "binary32") == int(np.float32(once).view(np.uint32))
    sf = pytest.importorskip("softfloatpy")
    r = sf.f32_mul_add(*(sf.Float32.from_float(float(v)) for v in (a, b, c)))
    assert r.to_float() == float(once)


def test_float64_intermediate_is_wrong_for_directed_modes():
    """Rounding a float64 sum again is wrong under toward_zero: a + b = 1 - 2**-80 rounds to
    1.0 in float64, but toward_zero in bfloat16 gives the value below 1."""
    a, b = 1.0, -(2.0**-80)
    assert numfmt.quantize(np.float64(a + b), "bfloat16", rounding="toward_zero") == 1.0
    assert numfmt.add(a, b, "bfloat16", rounding="toward_zero") == 1 - 2.0**-8


def test_stochastic_vectors_and_seed():
    # IEEE P3109 Interim Report v4.0 stochastic modes (gfloat = A/B/C): binary8p3se, X = 1.075, N = 4:
    # A/B/C at R = 10, 11, 12
    x = 1.075
    want = {"stochastic": [0x40, 0x40, 0x41], "stochastic_b": [0x40, 0x41, 0x41],
            "stochastic_c": [0x40, 0x41, 0x41]}
    for mode, codes in want.items():
        got = numfmt.add(np.full(3, x), 0.0, "binary8p3se", rounding=mode, random=np.array([10, 11, 12], np.uint32),
                         rbits=4, codes=True)
        assert got.tolist() == codes, mode
    # x = 1.075 built as a product keeps the same nu only if exact: use mul by 1
    got = numfmt.mul(np.array([x]), 1.0, "binary8p3se", rounding="stochastic_b", random=np.array([11], np.uint32),
                     rbits=4, codes=True)
    assert got.tolist() == [0x41]
    # a seed is reproducible, and the mean of stochastic rounding is close to exact
    v = np.full(20000, 1.0)
    s1 = numfmt.add(v, 0.3 * 2.0**-7, "bfloat16", rounding="stochastic", random=7)
    s2 = numfmt.add(v, 0.3 * 2.0**-7, "bfloat16", rounding="stochastic", random=7)
    assert np.array_equal(s1, s2)
    assert abs(float(np.mean(s1.astype(np.float64))) - (1 + 0.3 * 2.0**-7)) < 2e-4


# ---------------------------------------------------------------- dtypes, shapes, errors
def test_dtypes_and_broadcasting():
    a = np.arange(6, dtype=np.float16).reshape(2, 3)
    b = np.float32(0.5)
    r = numfmt.add(a, b, "e4m3")
    assert r.dtype == np.float32 and r.shape == (2, 3)
    assert r.tolist() == [[0.5, 1.5, 2.5], [3.5, 4.5, 5.5]]
    assert numfmt.mul(np.ones((3, 1)), np.ones((1, 4)), "bf16").shape == (3, 4)
    assert numfmt.add(1.0, 2.0, "binary32").dtype == np.float32
    c = numfmt.add([1.0, 2.0], 1.0, "e5m2", codes=True)
    assert c.dtype == np.uint8 and c.tolist() == [0x40, 0x42]
    assert numfmt.sub(3, 1, "e4m3") == 2.0  # Python ints are exact floats
    assert np.isscalar(numfmt.add(1.0, 2.0, "e4m3"))
    assert numfmt.fma(np.ones((2, 1, 3)), np.ones(3), np.zeros((4, 1)), "tf32").shape == (2, 4, 3)
    ml = pytest.importorskip("ml_dtypes")
    x = np.array([1.5, 2.5], dtype=ml.bfloat16)
    assert numfmt.mul(x, x, "bfloat16").tolist() == [2.25, 6.25]
    assert numfmt.add(np.float16(1), np.float64(2.0**-30), "binary32", rounding="toward_positive") == \
        np.float32(1 + 2.0**-23)


def test_bad_input():
    with pytest.raises(ValueError, match="broadcast"):
        numfmt.add(np.ones(3), np.ones(4), "e4m3")
    with pytest.raises(ValueError, match="broadcast"):
        numfmt.fma(np.ones(3), np.ones(3), np.ones(2), "e4m3")
    with pytest.raises(TypeError, match="a must be a float array"):
        numfmt.add(np.arange(3), 1.0, "e4m3")
    with pytest.raises(TypeError, match="b must be a float array"):
        numfmt.mul(1.0, "2", "e4m3")
    with pytest.raises(TypeError, match="float array"):
        numfmt.sqrt(np.array([True]), "e4m3")
    with pytest.raises(TypeError, match="float array"):
        numfmt.div(np.array([1 + 2j]), 1.0, "e4m3")
    with pytest.raises(ValueError, match="unknown format"):
        numfmt.add(1.0, 1.0, "e9m9")
    with pytest.raises(TypeError, match="fmt"):
        numfmt.add(1.0, 1.0, 3)
    with pytest.raises(ValueError, match="rounding"):
        numfmt.add(1.0, 1.0, "e4m3", rounding="banker")
    with pytest.raises(ValueError, match="random"):
        numfmt.add(1.0, 1.0, "e4m3", rounding="stochastic")
    with pytest.raises(ValueError, match="rbits"):
        wide = numfmt.FloatFormat(name="e3m28", exponent_bits=3, mantissa_bits=28, bias=3)
        numfmt.add(1.0, 1.0, wide, rounding="stochastic", random=1, rbits=32)
    with pytest.raises(ValueError, match="not exactly representable"):
        numfmt.add(2**60 + 1, 1.0, "e4m3")


# ---------------------------------------------------------------- the exact intermediates themselves
def _check_jam(cls, neg, sig, exp, x, min_bits):
    """(cls, neg, sig, exp) represents the Fraction x: sig = floor(|x| / 2**exp) with the
    lowest bit ORed with "something was dropped", and >= min_bits bits when inexact."""
    assert cls == 0 and 0 < sig < 2**62
    assert neg == (x < 0)
    t = abs(x) / Fraction(2) ** exp
    fl = math.floor(t)
    assert sig == (fl | int(t != fl)), (sig, fl, t != fl)
    if t != fl:
        assert sig.bit_length() >= min_bits


def _wild(rng, n):
    """float64 operands with every exponent gap: random bit patterns, near-equal pairs, powers."""
    e = rng.integers(-1074, 1000, n).astype(np.float64)
    m = 1 + rng.random(n)
    x = np.ldexp(m, e.astype(np.int64)) * rng.choice([-1.0, 1.0], n)
    x[: n // 8] = np.ldexp(rng.integers(1, 2**53, n // 8).astype(np.float64), -1074)  # subnormals
    return x


def test_exact_intermediates_keep_the_sticky_invariant():
    from numfmt._kernels import arith as K

    rng = np.random.default_rng(11)
    a, b, c = _wild(rng, 600), _wild(rng, 600), _wild(rng, 600)
    b[:100] = -a[:100] * (1 + 2.0**-52 * rng.integers(-3, 4, 100))  # cancellation
    a[100:200] = np.ldexp(1 + rng.random(100), rng.integers(-400, 400, 100))
    b[100:200] = np.ldexp(1 + rng.random(100), rng.integers(-400, 400, 100))
    c[100:150] = -a[100:150] * b[100:150] * (1 + 2.0**-50 * rng.integers(-9, 9, 50))  # fma cancellation
    c[150:200] = np.ldexp(1.0, -1070) * rng.choice([-1.0, 1.0], 50)  # tiny addends
    for i in range(a.size):
        fa, fb, fc = Fraction(float(a[i])), Fraction(float(b[i])), Fraction(float(c[i]))
        s = fa + fb
        if s != 0:
            _check_jam(*K.exact_add(a[i], b[i], 0), s, 60)
        _check_jam(*K.exact_mul(a[i], b[i]), fa * fb, 61)
        r = fa * fb + fc
        if r != 0:
            _check_jam(*K.exact_fma(a[i], b[i], c[i], 0), r, 61)
        for k in (7, 30, 60):
            _check_jam(*K.exact_div(a[i], b[i], k, False), fa / fb, k + 1)
            cls, neg, sig, exp = K.exact_sqrt(abs(a[i]), k)
            assert cls == 0 and not neg and sig.bit_length() >= k + 1
            t2 = abs(fa) / Fraction(4) ** exp  # (sig / 2**0)**2 vs |a| / 4**exp
            fl = math.isqrt(math.floor(t2))
            exact_root = Fraction(fl) ** 2 == t2
            assert sig == (fl | int(not exact_root))


# ---------------------------------------------------------------- the float32 round-to-odd path
RO32_FORMATS = ["float8_e4m3fn", "float8_e5m2", "float4_e2m1fn", "binary8p3se", "binary8p1ue", "float8_e4m3fnuz",
                "binary16", "float6_e3m2fn", "ue4m3", "float6_e2m3fn"]


def _f32_operands(rng, n):
    bits = rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32).view(np.float32)
    small = (rng.standard_normal(n) * np.exp2(rng.integers(-40, 20, n))).astype(np.float32)
    x = np.where(rng.integers(0, 3, n) == 0, bits, small)
    return x


@pytest.mark.slow
@pytest.mark.parametrize("fmt", RO32_FORMATS)
def test_float32_path_equals_integer_path(fmt):
    """add/sub/mul/fma of float32 operands (round-to-odd float32 intermediate, then the codec's
    encoder) give the same codes as the integer kernels on the same values as float64."""
    from numfmt import arith
    from numfmt import plan as planning

    f = numfmt.get_format(fmt)
    rng = np.random.default_rng(RO32_FORMATS.index(fmt))
    n = 3000
    a, b, c = (_f32_operands(rng, n) for _ in range(3))
    nan = "raise" if f.code_of_nan is not None else "zero"
    with np.errstate(all="ignore"):
        b[: n // 4] = -a[: n // 4] * np.float32(1.0001)
        c[: n // 4] = (a[: n // 4].astype(np.float64) * b[: n // 4]).astype(np.float32) * np.float32(-1.0001)
        wide = [x.astype(np.float64) for x in (a, b, c)]
    for mode in DET_MODES:
        plan = planning.make_plan(f, mode, "none", nan, None)
        assert arith._f32_eligible(f, plan, [a]) == (f.signed and f.precision >= 2)
        for sat in SATS:
            for op in ("add", "sub", "mul", "fma"):
                k = ARITY[op]
                got = getattr(numfmt, op)(*(a, b, c)[:k], f, rounding=mode, saturation=sat, nan=nan, codes=True)
                want = getattr(numfmt, op)(*wide[:k], f, rounding=mode, saturation=sat, nan=nan, codes=True)
                ok = same_codes(f, got, want)
                assert ok.all(), (fmt, op, mode, sat, [float(x[np.flatnonzero(~ok)[0]]) for x in (a, b, c)[:k]])
    # scalar operands broadcast on the same path
    got = numfmt.fma(np.float32(0.3), a, np.float32(-0.1), f, rounding="to_odd", nan=nan, codes=True)
    want = numfmt.fma(0.30000001192092896, wide[0], -0.10000000149011612, f, rounding="to_odd", nan=nan, codes=True)
    assert same_codes(f, got, want).all()


def test_float32_path_is_not_used_where_it_would_be_wrong():
    from numfmt import arith
    from numfmt import plan as planning

    x = [np.zeros(1, np.float32)]
    for fmt, mode, ok in (("e4m3", "nearest_even", True), ("e4m3", "stochastic", False),
                          ("bfloat16", "to_odd", True), ("tf32", "toward_zero", True),
                          ("binary32", "nearest_even", True),
                          ("ue4m3", "nearest_even", False), ("float8_e8m0fnu", "nearest_even", False),
                          ("binary8p1se", "nearest_even", False), ("int8", "nearest_even", False)):
        plan = planning.make_plan(numfmt.get_format(fmt), mode, "none", "raise", None)
        assert arith._f32_eligible(numfmt.get_format(fmt), plan, x) == ok, fmt
    plan = planning.make_plan(numfmt.get_format("e4m3"), "nearest_even", "none", "raise", None)
    assert not arith._f32_eligible(numfmt.get_format("e4m3"), plan, [np.zeros(1)])


# ------------------------------------------------------------------ out=
@pytest.mark.parametrize("fmt", ["e4m3", "bfloat16", "e2m1", "binary64"])
@pytest.mark.parametrize("codes", [False, True])
def test_out_equals_the_returned_result(fmt, codes):
    rng = np.random.default_rng(5)
    a = (rng.standard_normal((3, 40)) * 4).astype(np.float32)
    b = (rng.standard_normal(40) * 4).astype(np.float32)
    f = numfmt.get_format(fmt)
    for op, args in ((numfmt.add, (a, b)), (numfmt.mul, (a, b)), (numfmt.div, (a, b)), (numfmt.sub, (a, b)),
                     (numfmt.fma, (a, b, b)), (numfmt.sqrt, (np.abs(a),))):
        want = op(*args, f, codes=codes, nan="zero")
        for out in (np.empty(want.shape, want.dtype), np.empty((want.shape[1], 3), want.dtype).T):  # (non-contiguous)
            got = op(*args, f, codes=codes, nan="zero", out=out)
            assert got is out
            bits = np.dtype(f"u{want.dtype.itemsize}")
            assert np.array_equal(np.ascontiguousarray(got).view(bits), want.view(bits)), op.__name__  # bits: -0, NaN


def test_out_bad_input_writes_nothing():
    a = np.array([1.0, np.nan], np.float32)
    out = np.full(2, 7.0, np.float32)
    with pytest.raises(ValueError, match="no NaN"):
        numfmt.add(a, a, "e2m1", out=out)
    assert out.tolist() == [7.0, 7.0]
    with pytest.raises(ValueError, match="shape"):
        numfmt.add(a, a, "e4m3", out=np.empty(3, np.float32))
    with pytest.raises(ValueError, match="dtype"):
        numfmt.add(a, a, "e4m3", out=np.empty(2, np.float64))
    with pytest.raises(ValueError, match="dtype"):
        numfmt.add(a, a, "e4m3", codes=True, out=np.empty(2, np.float32))
    with pytest.raises(TypeError, match="numpy array"):
        numfmt.add(a, a, "e4m3", out=[0.0, 0.0])


_BIG = (1 << 20) + 12345  # (threads apply from 2**20 elements)


@pytest.mark.parametrize("fmt", ["e4m3", "bfloat16", "e2m1", "binary64"])
@pytest.mark.parametrize("path", ["float32", "float64", "broadcast"])
def test_threads_never_change_a_result(fmt, path):
    """add/sub/mul/div/fma/sqrt with threads=2 and 3 give one thread's codes: the float32 loops, the
    general (float64, chunk-converted) loops, broadcast operands, stochastic rounding keyed by index,
    and a NaN result under nan='raise' (same error) included."""
    rng = np.random.default_rng(5)
    a = (rng.standard_normal(_BIG) * 4).astype(np.float32 if path == "float32" else np.float64)
    b = rng.standard_normal(_BIG if path != "broadcast" else 1).astype(np.float32)
    kw = {"nan": "zero"} if fmt == "e2m1" else {}
    calls = [
        lambda t: numfmt.add(a, b, fmt, codes=True, threads=t, **kw),
        lambda t: numfmt.sub(a, b, fmt, codes=True, rounding="toward_zero", threads=t, **kw),
        lambda t: numfmt.mul(a, b, fmt, codes=True, threads=t, **kw),
        lambda t: numfmt.fma(a, b, a, fmt, codes=True, rounding="stochastic", random=11, rbits=4, threads=t, **kw),
    ]
    if path != "float32":  # (the general loops only: div and sqrt)
        calls += [lambda t: numfmt.div(a[: 1 << 20], b[: 1 << 20], fmt, codes=True, threads=t, **kw),
                  lambda t: numfmt.sqrt(a[: 1 << 20], fmt, codes=True, threads=t, **kw)]
    for call in calls:
        one = call(1)
        for t in (2, 3):
            np.testing.assert_array_equal(call(t), one)
    if fmt == "e2m1":
        a[-5] = np.nan
        with pytest.raises(ValueError, match="1 result"):
            numfmt.add(a, b, fmt, threads=2)


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)])
def test_threads_bad_value(bad, exc):
    with pytest.raises(exc, match="threads"):
        numfmt.add(1.0, 2.0, "e4m3", threads=bad)
