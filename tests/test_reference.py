"""The fast kernels equal the slow independent reference (numfmt.reference).

Inputs are concentrated on ties, midpoints, ±max ± ulp, the subnormal/normal
boundary, ±0, ±inf and NaN (tests/strategies_internal.py); every float64 input
is built from an exact Fraction, so a tie is a tie. float32 inputs are the same
values cast to float32, and the reference is given the float32 value exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies_internal import (
    DETERMINISTIC,
    ROUNDINGS,
    SATURATIONS,
    STOCHASTIC,
    float_formats,
    int_formats,
    nan_policy,
    presets,
    ref_encode_array,
    value_arrays,
)

import numfmt
import numfmt.reference as ref
from numfmt.formats import FloatFormat, IntFormat

# binary64 is left out of the random comparisons: KNOWN BUG (reported, test_binary64_codes below):
# its kernel_params hold ints >= 2**63 (SIGNBIT, MASK, NINF, NNAN), which numba types as uint64,
# so int64/uint64 arithmetic in the funnel goes through float64 and loses the low code bits.
PRESETS = [n for n in presets() if n != "binary64"]
SMALL_PRESETS = presets(max_bits=16)


def _check(xs, f, rounding, saturation, nanpol, dtype=np.float64, rbits=None, R=None):
    nan, nan_code = nan_policy(f, nanpol)
    with np.errstate(over="ignore"):
        x = np.array(xs, dtype=dtype)  # float32: values beyond its range become ±inf
    kw = {}
    if rounding in STOCHASTIC:
        kw = dict(random=R, rbits=rbits)
    got = numfmt.encode(x, f, rounding=rounding, saturation=saturation, nan=nan, **kw)
    assert got.dtype == f.code_dtype and got.shape == x.shape
    want = ref_encode_array(x, f, rounding=rounding, saturation=saturation, nan_code=nan_code,
                            R=R, N=32 if rbits is None else rbits)
    bad = np.flatnonzero(got.astype(want.dtype) != want)
    bad = [i for i in bad if not _known_overflow_divergence(f, rounding, saturation, int(got[i]), int(want[i]))]
    assert not bad, (
        f"{f!r} rounding={rounding} saturation={saturation} nan={nan}: "
        + ", ".join(f"x={x[i]!r} R={None if R is None else int(R[i])} got {int(got[i]):#x} "
                    f"want {int(want[i]):#x}" for i in bad[:5])
    )


def _known_overflow_divergence(f, rounding, saturation, got: int, want: int) -> bool:
    """KNOWN KERNEL BUG (reported; see test_overflow_toward_zero_taken): under to_odd and the
    stochastic modes with saturation="none", docs/semantics.md and IEEE 754-2019 §7.4 say a result that is
    past max although it was rounded toward zero is max; the kernel (round.py overflow_code and the
    precomputed overflow codes of fast.py) gives the overflow value (inf/NaN) instead. Accept
    exactly that substitution and nothing else."""
    if isinstance(f, IntFormat) or f.p3109 or saturation != "none":
        return False
    if rounding != "to_odd" and rounding not in STOCHASTIC:
        return False
    sc = ref.special_codes(f)
    sb = 1 << (f.bits - 1) if f.signed else 0
    for neg in (False, True):
        maxc = sc["max_mag"] | (sb if neg else 0)
        ovf = sc["ninf" if neg else "pinf"]
        if ovf is None and f.overflow_nan:
            ovf = sc["nnan" if neg else "pnan"]
        if want == maxc and ovf is not None and got == ovf:
            return True
    return False


@st.composite
def cases(draw, fmt_strategy):
    f = draw(fmt_strategy)
    xs = draw(value_arrays(f))
    rounding = draw(st.sampled_from(ROUNDINGS))
    saturation = draw(st.sampled_from(SATURATIONS))
    nanpol = draw(st.sampled_from(["zero", "max"]))
    rbits = R = None
    if rounding in STOCHASTIC:
        rbits = draw(st.integers(1, 32))
        R = np.array(draw(st.lists(st.integers(0, 2**rbits - 1), min_size=len(xs), max_size=len(xs))),
                     dtype=np.uint32)
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    return xs, f, rounding, saturation, nanpol, dtype, rbits, R


@given(cases(float_formats()))
def test_random_float_formats(case):
    _check(*case)


@given(cases(int_formats()))
def test_random_int_formats(case):
    _check(*case)


@given(cases(st.sampled_from(PRESETS).map(numfmt.get_format)))
def test_presets(case):
    _check(*case)


@pytest.mark.parametrize("rounding", ROUNDINGS)
@pytest.mark.parametrize("saturation", SATURATIONS)
@given(data=st.data())
def test_every_mode_on_presets(rounding, saturation, data):
    """Every rounding and saturation pair, on a few presets each time."""
    f = numfmt.get_format(data.draw(st.sampled_from(PRESETS)))
    xs = data.draw(value_arrays(f, max_size=16))
    rbits = R = None
    if rounding in STOCHASTIC:
        rbits = data.draw(st.sampled_from([1, 2, 4, 8, 16, 32]))
        R = np.array(data.draw(st.lists(st.integers(0, 2**rbits - 1), min_size=len(xs), max_size=len(xs))),
                     dtype=np.uint32)
    _check(xs, f, rounding, saturation, "max", np.float64, rbits, R)


@given(f=st.one_of(float_formats(), int_formats(), st.sampled_from(SMALL_PRESETS).map(numfmt.get_format)),
       ints=st.lists(st.integers(-(2**62), 2**62), min_size=1, max_size=16),
       rounding=st.sampled_from(DETERMINISTIC), saturation=st.sampled_from(SATURATIONS))
def test_integer_inputs(f, ints, rounding, saturation):
    """int64 inputs are converted exactly (no detour through float64)."""
    ints = [*ints, 0, 1, -1, 2**53 + 1, -(2**53) - 1]
    x = np.array(ints, dtype=np.int64)
    nan, nan_code = nan_policy(f, "zero")
    got = numfmt.encode(x, f, rounding=rounding, saturation=saturation, nan=nan)
    want = [ref.encode(int(v), f, rounding=rounding, saturation=saturation, nan_code=nan_code) for v in ints]
    bad = [(v, hex(g), hex(w)) for v, g, w in zip(ints, got.tolist(), want)
           if g != w and not _known_overflow_divergence(f, rounding, saturation, g, w)]
    assert not bad, (f, rounding, saturation, bad)


# ------------------------------------------------------------------ exhaustive decode
def _same(a: float, b) -> bool:
    """Bitwise equality of two decoded values (NaN == NaN, -0 != +0)."""
    b = float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


@pytest.mark.parametrize("name", SMALL_PRESETS)
def test_decode_every_code(name):
    f = numfmt.get_format(name)
    codes = np.arange(1 << f.bits)
    if isinstance(f, IntFormat) and f.symmetric:
        codes = codes[codes != 1 << (f.bits - 1)]  # not a code of the format
    want = [ref.decode(int(c), f) for c in codes]
    dtypes = [np.float64] + ([np.float32] if f.exact_in(np.float32) else [])
    for dt in dtypes:
        got = numfmt.decode(codes, f, dtype=dt)
        bad = [int(c) for c, g, w in zip(codes, got.tolist(), want) if not _same(g, w)]
        assert not bad, f"{name} dtype={dt.__name__}: codes {[hex(c) for c in bad[:8]]} ({len(bad)} wrong)"
    default = numfmt.decode(codes, f)
    assert default.dtype == (np.float32 if f.exact_in(np.float32) else np.float64)


def _known_decode_issue(f, c: int, w) -> bool:
    """Codes of custom formats whose decode is wrong or ill-defined today (all reported)."""
    if isinstance(f, IntFormat):
        return False
    mag = c & ((1 << (f.bits - int(f.signed))) - 1)
    if f.nan == "ieee" and isinstance(w, float) and math.isnan(w) and c not in (f.code_of_nan, f.code_of_negnan):
        return True  # BUG: see test_decode_ieee_nan_payloads_general_path
    if f.inf == "ieee" and f.nan == "none" and mag > f.code_of_inf:
        # AMBIGUITY: inf="ieee" with nan="none" leaves the rest of the top binade undefined;
        # formats.exact_value (and the reference) read those codes as finite numbers above max,
        # the float32 decode path as NaN. encode never produces them.
        return True
    if f.exponent_bits == 8 and f.inf != "ieee" and (mag >> f.mantissa_bits) == 255:
        return True  # BUG: see test_decode_exponent_255_not_ieee
    return False


@given(f=st.one_of(float_formats(max_bits=12), int_formats(max_bits=12)))
def test_decode_random_formats(f):
    codes = np.arange(1 << f.bits)
    if isinstance(f, IntFormat) and f.symmetric:
        codes = codes[codes != 1 << (f.bits - 1)]
    got = numfmt.decode(codes, f, dtype=np.float64)
    for c, g in zip(codes.tolist(), got.tolist()):
        w = ref.decode(c, f)
        if _known_decode_issue(f, c, w):
            continue
        assert _same(g, w), (f, hex(c), g, w)


@given(f=float_formats())
def test_reference_agrees_with_format_properties(f):
    """The reference derives specials and max from the fields alone; formats.py agrees."""
    sc = ref.special_codes(f)
    assert sc["max_mag"] == f.max_code_magnitude
    assert sc["pinf"] == f.code_of_inf and sc["ninf"] == f.code_of_neginf
    assert sc["pnan"] == f.code_of_nan and sc["nnan"] == f.code_of_negnan
    assert float(ref.max_value(f)) == f.max


def test_reference_is_not_reexported():
    assert "reference" not in numfmt.__all__


@pytest.mark.parametrize("x, rounding, R", [(490.0, "to_odd", None), (1.9375 * 2.0**29, "to_odd", None),
                                            (490.0, "stochastic", 0), (70000.0, "stochastic", 0)])
def test_overflow_toward_zero_taken(x, rounding, R):
    f = numfmt.get_format("float8_e4m3fn" if x < 1e4 else "float8_e5m2")
    kw = {} if R is None else dict(random=np.array([R], np.uint32), rbits=4)
    want = ref.encode(x, f, rounding=rounding, R=R or 0, N=4)
    assert want == ref.special_codes(f)["max_mag"]
    assert int(numfmt.encode(np.array([x]), f, rounding=rounding, **kw)[0]) == want


def test_decode_float64_no_warning():
    """Regression: decoding NaN payloads (E5M2 0x7D: a float32 signalling NaN) to float64 must not
    raise numpy's 'invalid value encountered in cast' (warnings are errors in this suite)."""
    numfmt.decode(np.arange(256), "float8_e5m2", dtype=np.float64)


def test_binary64_codes():
    x = np.array([8.066154906103905e-38, np.nan, np.inf, -1.0])
    got = numfmt.encode(x, "binary64", saturation="finite")
    want = [ref.encode(float(v), "binary64", saturation="finite") for v in x]
    assert got.tolist() == want


def test_decode_ieee_nan_payloads_general_path():
    f = FloatFormat(name="e5m2_ftz", exponent_bits=5, mantissa_bits=2, bias=15, subnormals=False)
    assert math.isnan(float(ref.decode(0x7D, f)))
    assert np.isnan(numfmt.decode(np.array([0x7D, 0xFE]), f, dtype=np.float64)).all()


def test_decode_exponent_255_not_ieee():
    f = FloatFormat(name="ue8m2_p3109ish", exponent_bits=8, mantissa_bits=2, bias=128, signed=False,
                    inf="p3109", nan="p3109", negative_zero=False)
    assert ref.decode(0x3FC, f) == 2**127
    assert numfmt.decode(np.array([0x3FC]), f, dtype=np.float64)[0] == 2.0**127
