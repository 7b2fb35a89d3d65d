"""Hypothesis strategies and assertions for testing quantization code against numfmt.

This module needs [Hypothesis](https://hypothesis.readthedocs.io) (the
`numfmt[test]` extra); `import numfmt` itself never imports it.

Strategies
----------
[`formats`][numfmt.testing.formats]      preset formats and random custom float/int formats
[`codes`][numfmt.testing.codes]        valid codes of a format
[`values`][numfmt.testing.values]       values a format represents exactly
[`inputs`][numfmt.testing.inputs]       inputs concentrated where conversions go wrong: exact ties,
                     one input ulp either side of them, ±max ± ulp, the overflow
                     tie, subnormal boundaries, ±0, ±inf, NaN
[`input_arrays`][numfmt.testing.input_arrays] numpy arrays of [`inputs`][numfmt.testing.inputs]
[`blocks`][numfmt.testing.blocks]       block inputs (one block per row) with planted element ties

[`assert_codes_equal`][numfmt.testing.assert_codes_equal] fails with the
[`numfmt.compare`][numfmt.compare.compare] report.

Examples
--------
>>> import numpy as np, numfmt
>>> from hypothesis import given, settings
>>> from numfmt.testing import assert_codes_equal, input_arrays
>>> @settings(deadline=None)
... @given(input_arrays("e4m3"))
... def test_my_quantizer(x):
...     mine = numfmt.encode(x, "e4m3")          # replace with the kernel under test
...     assert_codes_equal(actual=mine, expected=numfmt.encode(x, "e4m3"), fmt="e4m3", x=x)
>>> test_my_quantizer()
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as exc:  # pragma: no cover
    raise ImportError("numfmt.testing needs hypothesis: pip install 'numfmt[test]' (or hypothesis)") from exc

from . import block
from .compare import compare
from .compare._classify import INF, NAN, code_info
from .deprecation import legacy_positional
from .formats import FloatFormat, IntFormat
from .presets import get_format, list_formats, p3109_format
from .tables import code_class

__all__ = ["formats", "codes", "values", "inputs", "input_arrays", "blocks", "assert_codes_equal"]

_DTYPES = {"float16": np.float16, "float32": np.float32, "float64": np.float64}


def _dtype(dtype) -> type:
    dt = np.dtype(dtype)
    if dt.name not in _DTYPES:
        raise ValueError(f"dtype must be float16, float32 or float64, got {dtype!r}")
    return _DTYPES[dt.name]


# ---------------------------------------------------------------------- formats

def _preset_list(max_bits: int, kinds) -> list:
    out = []
    for n in list_formats():
        f = get_format(n)
        if f.bits <= max_bits and f.kind in kinds:
            out.append(f)
    return out


@st.composite
def _custom_float(draw, max_bits: int):
    signed = draw(st.booleans())
    style = draw(st.sampled_from(["ieee", "fn", "fnuz", "p3109", "finite"]))
    room = max_bits - int(signed)
    e = draw(st.integers(1, min(8, room - (1 if style == "ieee" else 0))))
    m = draw(st.integers(1 if style == "ieee" else 0, min(10, room - e)))
    if style == "p3109":
        k, p = e + m + int(signed), m + 1

        try:
            return p3109_format(k, p, signed=signed, extended=draw(st.booleans()))
        except ValueError:
            pass  # fall through to a plain finite format
        style = "finite"
    bias = draw(st.integers(-2, (1 << e)))
    sub = draw(st.booleans())
    kw = dict(name=f"custom_e{e}m{m}b{bias}{'' if signed else 'u'}_{style}", exponent_bits=e, mantissa_bits=m,
              bias=bias, signed=signed, subnormals=sub)
    if style == "ieee":
        kw.update(inf="ieee", nan="ieee", negative_zero=signed)
    elif style == "fn":
        kw.update(inf="none", nan="fn", negative_zero=signed)
    elif style == "fnuz":
        kw.update(inf="none", nan="fnuz" if signed else "fn", negative_zero=False)
    else:
        kw.update(inf="none", nan="none", negative_zero=signed and draw(st.booleans()), overflow_nan=False)
    try:
        return FloatFormat(**kw)
    except ValueError:
        return FloatFormat(name="custom_e2m1", exponent_bits=2, mantissa_bits=1, bias=1, inf="none",
                           nan="none", overflow_nan=False)


@st.composite
def _custom_int(draw, max_bits: int):
    bits = draw(st.integers(2, min(16, max_bits)))
    signed = draw(st.booleans())
    sym = signed and draw(st.booleans())
    s = draw(st.integers(-8, 4))
    return IntFormat(name=f"custom_{'' if signed else 'u'}int{bits}{'s' if sym else ''}x2^{s}", bits=bits,
                     signed=signed, symmetric=sym, scale_exp=s)


def formats(*, presets: bool = True, custom: bool = True, kinds=("float", "int"), max_bits: int = 16):
    """Formats: the registered presets (up to `max_bits` bits) and random custom ones.

    Custom float formats cover every NaN/inf convention (IEEE, fn, fnuz,
    P3109, finite), signed and unsigned, with and without subnormals, and odd
    biases; custom integers cover widths, symmetry and power-of-two scales.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from numfmt.testing import formats
    >>> @settings(deadline=None)
    ... @given(formats())
    ... def test_max_is_finite(f):
    ...     assert f.max > 0
    >>> test_max_is_finite()
    """
    kinds = tuple(kinds)
    if not set(kinds) <= {"float", "int"} or not kinds:
        raise ValueError(f"kinds must be a non-empty subset of ('float', 'int'), got {kinds!r}")
    if isinstance(max_bits, bool) or not isinstance(max_bits, int) or not 2 <= max_bits <= 32:
        raise ValueError(f"max_bits must be an int in 2..32, got {max_bits!r}")
    parts = []
    if presets:
        lst = _preset_list(max_bits, kinds)
        if lst:
            parts.append(st.sampled_from(lst))
    if custom:
        if "float" in kinds:
            parts.append(_custom_float(max_bits))
        if "int" in kinds:
            parts.append(_custom_int(max_bits))
    if not parts:
        raise ValueError("formats(): nothing to draw from (presets=False and custom=False?)")
    return st.one_of(*parts)


# ---------------------------------------------------------------------- codes and values

def _classify(f, c: int) -> str:
    return code_class(c, f)


def _allowed(f, allow_nan, allow_infinity, allow_subnormal):
    def ok(c: int) -> bool:
        cls = _classify(f, c)
        if cls == "unused":
            return False
        if cls == "nan":
            return allow_nan
        if cls == "inf":
            return allow_infinity
        if cls == "subnormal":
            return allow_subnormal
        if cls == "zero" and isinstance(f, FloatFormat) and (c & f.all_ones) != 0:
            return allow_subnormal  # non-canonical zero codes of a flush-to-zero format
        return True

    return ok


@functools.cache
def _allowed_codes(f, allow_nan, allow_infinity, allow_subnormal) -> tuple[int, ...]:
    """Every code of a format of <= 16 bits that the options allow (vectorised `_allowed`)."""

    c = np.arange(1 << f.bits, dtype=np.int64)
    kind, _, _ = code_info(c, f)
    keep = np.ones(c.size, bool)
    if not allow_nan:
        keep &= kind != NAN
    if not allow_infinity:
        keep &= kind != INF
    if isinstance(f, IntFormat):
        if f.symmetric:
            keep &= c != 1 << (f.bits - 1)
    elif not allow_subnormal and f.has_zero:
        mag = c & f.all_ones
        keep &= ~(((mag >> f.mantissa_bits) == 0) & (mag != 0))
    return tuple(c[keep].tolist())


def codes(fmt, *, allow_nan: bool = True, allow_infinity: bool = True, allow_subnormal: bool = True):
    """Valid codes (Python ints) of `fmt`.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from numfmt.testing import codes
    >>> @settings(deadline=None)
    ... @given(codes("e4m3", allow_nan=False))
    ... def test_not_nan(c):
    ...     assert c & 0x7F != 0x7F
    >>> test_not_nan()
    """
    f = get_format(fmt)
    ok = _allowed(f, allow_nan, allow_infinity, allow_subnormal)
    if f.bits <= 16:
        lst = _allowed_codes(f, allow_nan, allow_infinity, allow_subnormal)
        if not lst:
            raise ValueError(f"format {f.name} has no codes with these options")
        return st.sampled_from(lst)
    return st.integers(0, (1 << f.bits) - 1).filter(ok)


def _float_of(f, c: int) -> float:
    v = f.exact_value(c)
    if isinstance(v, float):
        return v
    fl = float(v)
    if fl == 0 and isinstance(f, FloatFormat) and f.negative_zero and c & f.sign_bit:
        return -0.0
    return fl


def values(fmt, *, allow_nan: bool = True, allow_infinity: bool = True, allow_subnormal: bool = True):
    """Values that `fmt` represents exactly, as Python floats (-0.0 included where it exists).

    Examples
    --------
    >>> import numfmt
    >>> from hypothesis import given, settings
    >>> from numfmt.testing import values
    >>> @settings(deadline=None)
    ... @given(values("e2m1"))
    ... def test_roundtrip(v):
    ...     assert numfmt.quantize(v, "e2m1") == v
    >>> test_roundtrip()
    """
    f = get_format(fmt)
    return codes(f, allow_nan=allow_nan, allow_infinity=allow_infinity,
                 allow_subnormal=allow_subnormal).map(lambda c: _float_of(f, c))


# ---------------------------------------------------------------------- inputs

def _ulp_at(f, v: Fraction) -> Fraction:
    """Grid spacing just above the magnitude v (v on the grid)."""
    if isinstance(f, IntFormat):
        return Fraction(2) ** f.scale_exp
    if v == 0:
        return Fraction(2) ** (f.emin if not f.subnormals else f.emin - f.mantissa_bits)
    e = v.numerator.bit_length() - v.denominator.bit_length()
    if v < Fraction(2) ** e:
        e -= 1
    return Fraction(2) ** (max(e, f.emin) - f.mantissa_bits)


def _mags(f) -> tuple[int, int]:
    """Range of positive magnitude codes (ints: integers) of finite values, zero included."""
    if isinstance(f, IntFormat):
        return 0, f.max_int
    return 0, f.max_code_magnitude


def _mag_value(f, c: int) -> Fraction:
    if isinstance(f, IntFormat):
        return Fraction(c) * Fraction(2) ** f.scale_exp
    if f.has_zero and not f.subnormals and c < (1 << f.mantissa_bits):
        return Fraction(0)
    return f.exact_value(c)


def _tofloat(v) -> float:
    """A Fraction (or float) as float64, +-inf beyond the float64 range."""
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def _cast(v, dt) -> float:
    with np.errstate(over="ignore"):
        return float(dt(_tofloat(v)))


@st.composite
def _tricky(draw, f, dt, allow_nan, allow_infinity):
    with np.errstate(over="ignore", invalid="ignore"):
        return _tricky_draw(draw, f, dt, allow_nan, allow_infinity)


def _tricky_draw(draw, f, dt, allow_nan, allow_infinity):
    kind = draw(st.integers(0, 99))
    neg = draw(st.booleans())
    lo, hi = _mags(f)
    top = _mag_value(f, hi)
    if kind < 30:  # an exact tie between two neighbours (the top one may lie past max)
        c = draw(st.integers(lo, hi))
        v = _mag_value(f, c)
        x = v + _ulp_at(f, v) / 2
    elif kind < 45:  # one input ulp either side of a tie
        c = draw(st.integers(lo, hi))
        v = _mag_value(f, c)
        t = dt(_tofloat(v + _ulp_at(f, v) / 2))
        x = float(np.nextafter(t, dt(np.inf) if draw(st.booleans()) else dt(0)))
    elif kind < 60:  # a representable value, or one input ulp away from it
        c = draw(st.integers(lo, hi))
        x = _tofloat(_mag_value(f, c))
        step = draw(st.sampled_from([0, 1, -1]))
        if step:
            x = float(np.nextafter(dt(x), dt(np.inf) if step > 0 else dt(0)))
    elif kind < 75:  # around max and the overflow threshold
        u = _ulp_at(f, top)
        x = draw(st.sampled_from([top, top - u / 2, top + u / 2, top + u, top + 3 * u / 2, 2 * top, top + u / 4]))
        if draw(st.booleans()):
            x = float(np.nextafter(dt(_tofloat(x)), dt(np.inf) if draw(st.booleans()) else dt(0)))
    elif kind < 88:  # subnormal and normal boundaries
        if isinstance(f, IntFormat):
            one = Fraction(2) ** f.scale_exp
            x = draw(st.sampled_from([one / 2, one / 4, 3 * one / 4, 3 * one / 2, one]))
        else:
            sub = Fraction(f.smallest_subnormal)
            nrm = Fraction(f.smallest_normal)
            x = draw(st.sampled_from([sub, sub / 2, sub / 4, 3 * sub / 4, 3 * sub / 2, nrm, nrm - sub / 2,
                                      nrm - sub, nrm + _ulp_at(f, nrm) / 2, nrm / 2]))
    elif kind < 94:  # specials
        opts = [0.0]
        if allow_infinity:
            opts.append(float("inf"))
        if allow_nan:
            opts.append(float("nan"))
        x = draw(st.sampled_from(opts))
    else:  # anything finite in the input dtype
        bits = {np.float16: 16, np.float32: 32, np.float64: 64}[dt]
        x = draw(st.floats(width=bits, allow_nan=False, allow_infinity=False))
    x = _cast(x, dt)
    if neg:
        x = -x
    if x != x and not allow_nan:
        x = 0.0
    if abs(x) == float("inf") and not allow_infinity:
        x = float(np.copysign(np.finfo(dt).max, x))
    return x


def inputs(fmt, *, dtype="float32", allow_nan: bool = True, allow_infinity: bool = True):
    """Input values (Python floats exact in `dtype`) concentrated where conversions go wrong.

    About 30% are exact ties between neighbouring values (including the
    overflow tie `max + ulp/2`), 15% lie one input ulp either side of a tie,
    15% are representable values or one input ulp away, 15% sit around
    `±max` (`max ± ulp/2`, `max + ulp` ...), 13% around the smallest
    subnormal and normal numbers, 6% are ±0, ±inf and NaN, and the rest are
    arbitrary finite floats of `dtype`. Signs are random (negative inputs
    into unsigned formats included).

    Examples
    --------
    >>> import numfmt
    >>> from hypothesis import given, settings
    >>> from numfmt.testing import inputs
    >>> @settings(deadline=None)
    ... @given(inputs("e4m3", allow_nan=False))
    ... def test_saturates(x):
    ...     assert abs(numfmt.quantize(x, "e4m3", saturation="finite")) <= 448
    >>> test_saturates()
    """
    f = get_format(fmt)
    return _tricky(f, _dtype(dtype), allow_nan, allow_infinity)


def input_arrays(fmt, *, dtype="float32", shape=None, allow_nan: bool = True, allow_infinity: bool = True):
    """numpy arrays of [`inputs`][numfmt.testing.inputs].

    `shape`: an int, a tuple or a strategy; default 1..64 elements.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from numfmt.testing import input_arrays
    >>> @settings(deadline=None)
    ... @given(input_arrays("e2m1", shape=(2, 3), allow_nan=False))
    ... def test_shape(x):
    ...     assert x.shape == (2, 3) and x.dtype == "float32"
    >>> test_shape()
    """
    dt = _dtype(dtype)
    if shape is None:
        shape = st.integers(1, 64)
    return hnp.arrays(dt, shape, elements=inputs(fmt, dtype=dtype, allow_nan=allow_nan,
                                                 allow_infinity=allow_infinity))


def _block_parts(block_fmt, element, block_size):
    if block_fmt is not None:
        bf = block.get_block_format(block_fmt)
        element, block_size = bf.element, bf.block_size
    if element is None or block_size is None:
        raise ValueError("blocks() needs a block format, or element= and block_size=")
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 1:
        raise ValueError(f"block_size must be a positive int, got {block_size!r}")
    return get_format(element), int(block_size)


@functools.cache
def _block_tables(ef, lo, hi):
    """(magnitude codes of the top binade, values, ties) of an element format, computed once per format."""
    top = _mag_value(ef, hi)
    etop = top.numerator.bit_length() - top.denominator.bit_length()
    if top < Fraction(2) ** etop:
        etop -= 1
    # magnitude codes of the top binade: the block maximum sits there, so the OCP scale is 2**X
    top_codes = [c for c in range(max(lo, hi - 64), hi + 1) if _mag_value(ef, c) >= Fraction(2) ** etop]
    vals = [_mag_value(ef, c) for c in range(lo, hi + 1)]
    ties = [v + _ulp_at(ef, v) / 2 for v in vals]
    return top_codes, np.array([float(v) for v in vals]), np.array([float(t) for t in ties])


@st.composite
def _block_rows(draw, ef, k, nblocks, dt, exps, allow_nan, allow_infinity):
    nb = draw(nblocks) if isinstance(nblocks, st.SearchStrategy) else int(nblocks)
    lo, hi = _mags(ef)
    top_codes, vals, ties = _block_tables(ef, lo, hi)
    out = np.zeros((nb, k), dt)
    for b in range(nb):
        X = draw(st.integers(*exps))
        amax_code = draw(st.sampled_from(top_codes))
        amax = vals[amax_code - lo]
        pos = draw(st.integers(0, k - 1))
        n = k
        cs = np.array(draw(st.lists(st.integers(lo, amax_code), min_size=n, max_size=n)), np.int64) - lo
        kinds = np.array(draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)), np.int64)
        neg = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
        row = np.where(kinds < 5, np.minimum(ties[cs], amax), vals[cs])  # about half are planted ties
        row = np.where(kinds == 9, 0.0, row)
        row[pos] = amax
        row = np.ldexp(np.where(neg, -row, row), X)
        if allow_nan and draw(st.integers(0, 19)) == 0:
            row[draw(st.integers(0, k - 1))] = np.nan
        if allow_infinity and draw(st.integers(0, 19)) == 0:
            row[draw(st.integers(0, k - 1))] = np.inf
        with np.errstate(over="ignore"):
            out[b] = row.astype(dt)
    return out


def blocks(block_fmt=None, *, element=None, block_size=None, nblocks=None, dtype="float32",
           scale_exponents=(-20, 20), allow_nan: bool = False, allow_infinity: bool = False):
    """Block inputs, shape `(nblocks, block_size)`, with planted element ties.

    Each row is one block. Its largest magnitude lies in the element format's
    top binade times `2**X` (so the OCP scale is exactly `2**X`), and about
    half the other elements are exact ties of the element grid times `2**X`.

    Parameters
    ----------
    block_fmt : block format or name, optional
        Anything with `.element` and `.block_size` (or `.k`); or give
        `element=` and `block_size=`.
    nblocks : int or strategy
        Number of blocks (default 1 to 4).
    scale_exponents : (int, int)
        Range of X.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from numfmt.testing import blocks
    >>> @settings(deadline=None)
    ... @given(blocks(element="e2m1", block_size=32))
    ... def test_rows(x):
    ...     assert x.shape[1] == 32
    >>> test_rows()
    """
    ef, k = _block_parts(block_fmt, element, block_size)
    dt = _dtype(dtype)
    if nblocks is None:
        nblocks = st.integers(1, 4)
    lo_x, hi_x = scale_exponents
    return _block_rows(ef, k, nblocks, dt, (int(lo_x), int(hi_x)), allow_nan, allow_infinity)


# ---------------------------------------------------------------------- assertions

def assert_codes_equal(*args, actual=None, expected=None, fmt=None, x=None, max_examples: int = 10,
                       **options) -> None:
    """Raise `AssertionError` with the [`numfmt.compare`][numfmt.compare.compare] report unless the codes are equal.

    Takes the keywords of [`numfmt.compare`][numfmt.compare.compare]; the old positional order
    `assert_codes_equal(actual, expected, fmt)` still works with a `DeprecationWarning`.

    Examples
    --------
    >>> from numfmt.testing import assert_codes_equal
    >>> assert_codes_equal(actual=[0x38, 0x7E], expected=[0x38, 0x7E], fmt="e4m3")
    >>> assert_codes_equal(actual=[0x39], expected=[0x38], fmt="e4m3", x=[1.0625])
    Traceback (most recent call last):
    ...
    AssertionError: codes differ
    compare float8_e4m3fn: 1 compared, 0 equal, 1 different
    ...
    """

    if args:
        kw = legacy_positional("assert_codes_equal", args, ("actual", "expected", "fmt"),
                               {"actual": actual, "expected": expected, "fmt": fmt})
        actual, expected, fmt = kw["actual"], kw["expected"], kw["fmt"]
    r = compare(actual=actual, expected=expected, fmt=fmt, x=x, max_examples=max_examples, **options)
    if not r.ok:
        raise AssertionError("codes differ\n" + str(r))
