"""Hypothesis strategies and helpers shared by the codec tests (test-only).

* :func:`float_formats` yields only valid :class:`numfmt.FloatFormat` objects with
  random widths, biases and every convention FloatFormat accepts.
* :func:`int_formats` yields :class:`numfmt.IntFormat` objects.
* :func:`interesting_values` draws inputs concentrated where rounding is hard:
  grid points, ties (midpoints of adjacent codes), one float64 ulp either side of
  a tie, ±max ± ulp, the subnormal/normal boundary, ±0, ±inf, NaN.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

import numfmt
import numfmt.reference as ref
from numfmt.formats import FloatFormat, IntFormat

ROUNDINGS = list(ref.ROUNDINGS)
DETERMINISTIC = [r for r in ROUNDINGS if not r.startswith("stochastic")]
STOCHASTIC = [r for r in ROUNDINGS if r.startswith("stochastic")]
SATURATIONS = list(ref.SATURATIONS)


def presets(max_bits: int = 64) -> list[str]:
    """Canonical names of every registered element format up to ``max_bits``."""
    out = []
    for n in numfmt.list_formats():
        f = numfmt.get_format(n)
        if isinstance(f, (FloatFormat, IntFormat)) and f.bits <= max_bits:
            out.append(n)
    return out


@st.composite
def float_formats(draw, max_bits: int = 16, max_exponent_bits: int = 8) -> FloatFormat:
    """A random valid FloatFormat (invalid combinations are rejected by FloatFormat itself)."""
    signed = draw(st.booleans())
    e = draw(st.integers(1, max_exponent_bits))
    m = draw(st.integers(0, max(0, min(10, max_bits - e - int(signed)))))
    assume(2 <= e + m + int(signed) <= max_bits)
    half = 1 << (e - 1)
    bias = draw(st.one_of(st.just(half - 1), st.just(half), st.integers(-half - 4, 2 * half + 4)))
    inf = draw(st.sampled_from(["ieee", "p3109", "none"]))
    nan_choices = {"ieee": ["ieee", "none"], "p3109": ["p3109"], "none": ["fn", "fnuz", "p3109", "none"]}[inf]
    nan = draw(st.sampled_from(nan_choices))
    has_zero = draw(st.booleans()) if nan in ("fn", "none") else True
    subnormals = draw(st.booleans()) if has_zero else False
    negative_zero = signed and has_zero and nan not in ("fnuz", "p3109") and draw(st.booleans())
    overflow_nan = draw(st.booleans())
    p3109 = nan == "p3109" and draw(st.booleans())
    try:
        return FloatFormat(
            name="custom", exponent_bits=e, mantissa_bits=m, bias=bias, signed=signed,
            subnormals=subnormals, has_zero=has_zero, inf=inf, nan=nan,
            negative_zero=negative_zero, overflow_nan=overflow_nan, p3109=p3109,
        )
    except ValueError:
        assume(False)
        raise  # unreachable


@st.composite
def int_formats(draw, max_bits: int = 16) -> IntFormat:
    """A random IntFormat (signed/unsigned, symmetric, power-of-two scale)."""
    bits = draw(st.integers(1, max_bits))
    signed = draw(st.booleans())
    symmetric = signed and bits > 1 and draw(st.booleans())
    scale = draw(st.integers(-12, 12))
    return IntFormat(name="customint", bits=bits, signed=signed, symmetric=symmetric, scale_exp=scale)


# ---------------------------------------------------------------------------- grid helpers
def _grid_value(f, mag: int) -> Fraction:
    """Value of the magnitude code ``mag`` (phantom codes beyond the top continue the grid)."""
    if isinstance(f, IntFormat):
        return mag * Fraction(2) ** f.scale_exp
    return ref._layout(f).mag_value(mag)


def _max_mag(f) -> int:
    if isinstance(f, IntFormat):
        return (1 << (f.bits - 1)) - 1 if f.signed else (1 << f.bits) - 1
    return ref._layout(f).max_mag


def _min_mag(f) -> int:
    """Smallest magnitude code of a positive value."""
    if isinstance(f, IntFormat) or not f.has_zero:
        return 1 if isinstance(f, IntFormat) else 0
    return 1 if f.subnormals else 1 << f.mantissa_bits


def landmark_mags(f) -> list[int]:
    """Magnitude codes around the boundaries where rounding changes behaviour."""
    top = _max_mag(f)
    lo = _min_mag(f)
    marks = {0, lo, top, top - 1, top + 1, top + 2}
    if isinstance(f, FloatFormat):
        normal = (1 << f.mantissa_bits) if f.has_zero else 0  # smallest normal
        marks |= {normal - 1, normal, normal + 1, 1 << f.mantissa_bits}
    return sorted(c for c in marks if 0 <= c <= top + 2)


@st.composite
def interesting_values(draw, f) -> float:
    """One float64 input for format ``f`` (exact where a tie is intended)."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.sampled_from([0.0, -0.0, math.inf, -math.inf, math.nan, -math.nan,
                                     1e300, -1e300, 5e-324, -5e-324, 1e-300]))
    if kind == 1:  # anything at all
        return draw(st.floats(allow_nan=True, allow_infinity=True))
    top = _max_mag(f)
    if kind <= 4:
        mag = draw(st.sampled_from(landmark_mags(f)))
    else:
        mag = draw(st.integers(0, top + 1))
    lo_v = _grid_value(f, mag)
    hi_v = _grid_value(f, mag + 1)
    if isinstance(f, FloatFormat) and not f.has_zero and mag == 0 and draw(st.booleans()):
        lo_v, hi_v = lo_v / 2, lo_v  # below the smallest value of a format without zero
    if isinstance(f, FloatFormat) and f.has_zero and not f.subnormals and mag < (1 << f.mantissa_bits):
        lo_v, hi_v = Fraction(0), _grid_value(f, 1 << f.mantissa_bits)  # flush-to-zero gap
    frac = draw(st.sampled_from([Fraction(0), Fraction(1, 2), Fraction(1, 4), Fraction(3, 4),
                                 Fraction(1, 8), Fraction(7, 8), Fraction(5, 16), Fraction(3, 10)]))
    try:
        v = float(lo_v + (hi_v - lo_v) * frac)
    except OverflowError:  # binary64 beyond max
        v = math.inf
    nudge = draw(st.sampled_from([0, 0, 0, 1, -1]))
    if nudge:
        v = math.nextafter(v, math.inf * nudge)
    if draw(st.booleans()):
        v = -v
    return v


def value_arrays(f, min_size: int = 1, max_size: int = 24):
    """Lists of interesting float64 inputs for ``f``."""
    return st.lists(interesting_values(f), min_size=min_size, max_size=max_size)


def nan_policy(f, draw_choice: str) -> tuple[str, int | None]:
    """(nan=, nan_code for the reference) for format ``f`` and a drawn policy name."""
    if f.code_of_nan is not None:
        return "raise", None
    if draw_choice == "zero":
        return "zero", 0
    top = _max_mag(f)
    return "max", top


def ref_encode_array(xs, f, **kw) -> np.ndarray:
    """Reference codes of a 1-d sequence (R given per element as ``R=array``)."""
    R = kw.pop("R", None)
    out = []
    for i, x in enumerate(xs):
        r = 0 if R is None else int(R[i])
        out.append(ref.encode(_py(x), f, R=r, **kw))
    return np.array(out, dtype=np.uint64 if f.bits == 64 else np.int64)


def _py(x):
    if isinstance(x, (np.integer, int)):
        return int(x)
    return float(x)


def is_nan_value(v) -> bool:
    return isinstance(v, float) and math.isnan(v)
