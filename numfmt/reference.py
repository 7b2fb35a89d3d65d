"""A slow, independent reference codec: the oracle the fast kernels are tested against.

Everything here is pure Python on ints and :class:`fractions.Fraction`, written
straight from the specifications (SPECS.md §1, §2.1, §4.2, §4.3, §5, §6), one
value at a time. It reads only the *fields* of a format (widths, bias and the
named conventions) and derives every special code, the largest finite value and
the rounding grid itself; it does not use ``kernel_params``, ``numfmt._kernels``
or numpy. It is never used by the fast path: ``numfmt.encode``/``decode`` do not
call it. Import it as ``numfmt.reference`` (it is not re-exported).

Rounding follows IEEE P3109 RoundToPrecision (§4.7.4), generalised to every
format: for finite nonzero ``x``::

    Q  = max(floor(log2|x|), emin) - M         (quantum; emin the lowest normal binade)
    S~ = |x| / 2**Q ;  nu = S~ - floor(S~)
    S  = floor(S~) + RoundAway(mode, nu, ...) ;  Z = sign(x) * S * 2**Q

with "even" meaning an even *code* (for 0-mantissa formats the parity of the
biased exponent: E8M0 rounds 3.0 to 0x80). Flush-to-zero formats round values
below the smallest normal on the grid {0, 2**emin}; formats without zero (E8M0)
send every positive value below the smallest one to the smallest one.
Overflow is decided after rounding, then the saturation rules apply:

* ``"none"``: IEEE/OCP formats overflow to ±inf where the format has
  infinities, else to NaN where it has a NaN and ``overflow_nan`` is set, else
  to ±max; directed roundings pointing inward (toward_zero always,
  toward_negative for positive, toward_positive for negative values) give ±max;
  under ``to_odd`` and the stochastic modes (ERRATA 5) a result that is past
  max although the rounding went toward zero (nu > 0, not rounded away) is ±max.
  P3109 formats follow P3109 SatNone, including ``to_odd`` overflow → max for
  unsigned extended formats.
* ``"finite"``: overflow and ±inf become ±max.
* ``"propagate"``: finite overflow becomes ±max; ±inf stays ±inf where
  representable.

Unsigned formats: a negative value that does not round to zero becomes NaN
under ``"none"`` (``toward_zero``/``toward_positive``: the smallest value Mlo),
and Mlo under ``"finite"``/``"propagate"``; -inf likewise (NaN under ``"none"``,
whatever the rounding). Where the format has no NaN, Mlo is used instead of NaN.

A NaN input gives the format's NaN (with its sign where NaNs are signed); a
format without NaN takes ``nan_code`` (a ``ValueError`` if None). Zero into a
format without zero is treated like NaN. -0 gives the -0 code where the format
has one, else +0.

Examples
--------
>>> from fractions import Fraction
>>> import numfmt.reference as ref
>>> hex(ref.encode(464.0, "float8_e4m3fn"))
'0x7e'
>>> hex(ref.encode(3.0, "float8_e8m0fnu"))
'0x80'
>>> ref.decode(0x7E, "float8_e4m3fn")
Fraction(448, 1)
>>> hex(ref.encode(Fraction(1075, 1000), "binary8p3se", rounding="stochastic", R=12, N=4))
'0x41'
"""

from __future__ import annotations

import functools
import math
import numbers
from fractions import Fraction

from .presets import get_format

__all__ = ["ROUNDINGS", "SATURATIONS", "decode", "encode", "quantize", "special_codes", "max_value"]

ROUNDINGS = (
    "nearest_even", "nearest_away", "toward_zero", "toward_positive", "toward_negative",
    "to_odd", "stochastic", "stochastic_b", "stochastic_c",
)
SATURATIONS = ("none", "finite", "propagate")
_ALIASES = {
    "rne": "nearest_even", "rna": "nearest_away", "rtz": "toward_zero", "rtp": "toward_positive",
    "rtn": "toward_negative", "rto": "to_odd", "sr": "stochastic", "stochastic_a": "stochastic",
}


def _fmt(fmt):
    if isinstance(fmt, str):
        return get_format(fmt)
    return fmt


def _is_int(f) -> bool:
    return not hasattr(f, "exponent_bits")


def _pow2(k: int) -> Fraction:
    return Fraction(2) ** k


def _ilog2(a: Fraction) -> int:
    """floor(log2(a)) for a Fraction a > 0, exactly."""
    n, d = a.numerator, a.denominator
    k = n.bit_length() - d.bit_length()
    if (n << -k if k < 0 else n) < (d << k if k > 0 else d):
        k -= 1
    return k


def _rnite(v: Fraction) -> int:
    """Round to the nearest integer, ties to even."""
    f = math.floor(v)
    r = v - f
    if r > Fraction(1, 2) or (r == Fraction(1, 2) and f % 2 == 1):
        return f + 1
    return f


# --------------------------------------------------------------------- float layout
class _Layout:
    """Everything the reference needs about a FloatFormat, derived from its fields."""

    def __init__(self, f):
        self.e = f.exponent_bits
        self.m = f.mantissa_bits
        self.bias = f.bias
        self.signed = f.signed
        self.K = self.e + self.m + int(f.signed)
        self.sign_bit = (1 << (self.K - 1)) if f.signed else 0
        self.ones = (1 << (self.e + self.m)) - 1  # all-ones magnitude field
        self.has_zero = f.has_zero
        self.subnormals = f.subnormals
        self.neg_zero = f.negative_zero
        self.inf_style = f.inf
        self.nan_style = f.nan
        self.overflow_nan = f.overflow_nan
        self.p3109 = f.p3109
        # exponent of the lowest normal binade
        self.emin = 1 - self.bias if self.has_zero else -self.bias
        # special codes (SPECS §1.1, §4.1 Annex B table)
        K, sb, ones = self.K, self.sign_bit, self.ones
        if f.inf == "ieee":
            self.pinf = ((1 << self.e) - 1) << self.m
            self.ninf = sb | self.pinf if f.signed else None
        elif f.inf == "p3109":
            self.pinf = (1 << (K - 1)) - 1 if f.signed else (1 << K) - 2
            self.ninf = (1 << K) - 1 if f.signed else None
        else:
            self.pinf = self.ninf = None
        if f.nan in ("ieee", "fn"):
            self.pnan, self.nnan = ones, (sb | ones if f.signed else ones)
        elif f.nan == "fnuz":
            self.pnan = self.nnan = sb
        elif f.nan == "p3109":
            self.pnan = self.nnan = (1 << (K - 1)) if f.signed else (1 << K) - 1
        else:
            self.pnan = self.nnan = None
        # largest finite magnitude code: the top magnitude code that is not special
        top = ones
        if f.inf == "ieee":
            top = (((1 << self.e) - 1) << self.m) - 1  # the whole top binade is inf/NaN
        while top >= 0 and (self.is_nan(top) or top == self.pinf):
            top -= 1
        self.max_mag = top

    def is_nan(self, code: int) -> bool:
        mag = code & self.ones
        if self.nan_style == "ieee":
            return (mag >> self.m) == (1 << self.e) - 1 and (mag & ((1 << self.m) - 1)) != 0
        if self.nan_style == "fn":
            return mag == self.ones
        if self.nan_style in ("fnuz", "p3109"):
            return code == self.pnan
        return False

    def mag_value(self, mag: int) -> Fraction:
        """Value of a finite magnitude code (also beyond the format's top: 'phantom' codes)."""
        ef = mag >> self.m
        t = mag & ((1 << self.m) - 1)
        if self.has_zero and ef == 0:
            if not self.subnormals:
                return Fraction(0)
            return t * _pow2(1 - self.bias - self.m)
        return ((1 << self.m) + t) * _pow2(ef - self.bias - self.m)

    def mag_code(self, v: Fraction) -> int:
        """Magnitude code of a value on the grid (may be a phantom code beyond the top)."""
        if v == 0:
            assert self.has_zero
            return 0
        E = _ilog2(v)
        if self.has_zero and E < self.emin:
            assert self.subnormals
            t = v / _pow2(self.emin - self.m)
            assert t.denominator == 1 and t < (1 << self.m)
            return int(t)
        assert E >= self.emin
        s = v / _pow2(E - self.m)
        assert s.denominator == 1
        return ((E + self.bias) << self.m) | (int(s) - (1 << self.m))

    @property
    def max(self) -> Fraction:
        return self.mag_value(self.max_mag)


@functools.cache
def _layout(f) -> _Layout:
    return _Layout(f)


def special_codes(fmt) -> dict:
    """Special codes of a float format as the reference derives them.

    Returns a dict with keys ``pinf``, ``ninf``, ``pnan``, ``nnan`` (None when
    absent) and ``max_mag`` (magnitude code of the largest finite value).

    Examples
    --------
    >>> import numfmt.reference as ref
    >>> {k: hex(v) for k, v in ref.special_codes("float8_e4m3fn").items() if v is not None}
    {'pnan': '0x7f', 'nnan': '0xff', 'max_mag': '0x7e'}
    """
    lay = _layout(_fmt(fmt))
    return {"pinf": lay.pinf, "ninf": lay.ninf, "pnan": lay.pnan, "nnan": lay.nnan, "max_mag": lay.max_mag}


def max_value(fmt) -> Fraction:
    """Largest finite value of a format, exactly.

    Examples
    --------
    >>> import numfmt.reference as ref
    >>> ref.max_value("float8_e5m2"), ref.max_value("binary8p4se"), ref.max_value("int8")
    (Fraction(57344, 1), Fraction(224, 1), Fraction(127, 1))
    """
    f = _fmt(fmt)
    if _is_int(f):
        return ((1 << (f.bits - 1)) - 1 if f.signed else (1 << f.bits) - 1) * _pow2(f.scale_exp)
    return _layout(f).max


# --------------------------------------------------------------------- decode
def decode(code: int, fmt) -> Fraction | float:
    """Exact value of one code: a Fraction, or a float for ±inf and NaN.

    Negative zero decodes to ``-0.0`` (a float) so that its sign is visible.

    Examples
    --------
    >>> import numfmt.reference as ref
    >>> ref.decode(0x80, "binary8p4se"), ref.decode(0x7F, "binary8p4se"), ref.decode(0x48, "binary8p4se")
    (nan, inf, Fraction(2, 1))
    >>> ref.decode(0x80, "int8"), ref.decode(0x00, "float8_e8m0fnu")
    (Fraction(-128, 1), Fraction(1, 170141183460469231731687303715884105728))
    """
    f = _fmt(fmt)
    code = int(code)
    if _is_int(f):
        if not 0 <= code < (1 << f.bits):
            raise ValueError(f"code {code:#x} out of range for {f.name}")
        v = code - (1 << f.bits) if f.signed and code >> (f.bits - 1) else code
        return v * _pow2(f.scale_exp)
    lay = _layout(f)
    if not 0 <= code < (1 << lay.K):
        raise ValueError(f"code {code:#x} out of range for {f.name}")
    if lay.is_nan(code):
        return math.nan
    if code == lay.pinf:
        return math.inf
    if code == lay.ninf:
        return -math.inf
    neg = bool(code & lay.sign_bit)
    v = lay.mag_value(code & lay.ones)
    if neg:
        return -0.0 if v == 0 else -v
    return v


# --------------------------------------------------------------------- encode
def _round_away(mode: str, nu: Fraction, neg: bool, code_even: bool, R: int, N: int) -> bool:
    """The RoundAway predicate of P3109 §4.7.4."""
    if mode == "toward_zero":
        return False
    if mode == "toward_positive":
        return nu > 0 and not neg
    if mode == "toward_negative":
        return nu > 0 and neg
    if mode == "nearest_away":
        return nu >= Fraction(1, 2)
    if mode == "nearest_even":
        return nu > Fraction(1, 2) or (nu == Fraction(1, 2) and not code_even)
    if mode == "to_odd":
        return nu > 0 and code_even
    if mode == "stochastic":
        return math.floor(nu * 2**N) + R >= 2**N
    if mode == "stochastic_b":
        return math.floor(nu * 2 ** (N + 1)) + (2 * R + 1) >= 2 ** (N + 1)
    if mode == "stochastic_c":
        return _rnite(nu * 2**N) + R >= 2**N
    raise AssertionError(mode)


def _as_exact(x):
    """(kind, neg, |x| as Fraction) with kind in 'nan', 'inf', 'zero', 'finite'."""
    if isinstance(x, bool):
        raise TypeError(f"x must be a number, got {x!r}")
    if isinstance(x, numbers.Rational):  # Fraction, int, numpy integers
        x = Fraction(int(x)) if isinstance(x, numbers.Integral) else Fraction(x)
        return ("zero" if x == 0 else "finite"), x < 0, abs(x)
    if not isinstance(x, numbers.Real):
        raise TypeError(f"x must be a real number, got {type(x).__name__}: {x!r}")
    v = float(x)  # float, numpy floats (all exact in float64)
    neg = math.copysign(1.0, v) < 0
    if math.isnan(v):
        return "nan", neg, None
    if math.isinf(v):
        return "inf", neg, None
    if v == 0:
        return "zero", neg, Fraction(0)
    return "finite", neg, abs(Fraction(v))


def _check_policy(rounding, saturation, R, N):
    if not isinstance(rounding, str):
        raise TypeError(f"rounding must be a str, got {rounding!r}")
    mode = _ALIASES.get(rounding, rounding)
    if mode not in ROUNDINGS:
        raise ValueError(f"rounding={rounding!r} is not one of {ROUNDINGS}")
    if saturation not in SATURATIONS:
        raise ValueError(f"saturation={saturation!r} is not one of {SATURATIONS}")
    if mode.startswith("stochastic"):
        if not (isinstance(N, int) and 1 <= N <= 62):
            raise ValueError(f"N must be an int in 1..62, got {N!r}")
        if not (isinstance(R, int) and 0 <= R < 2**N):
            raise ValueError(f"R must be an int in 0..2**N-1, got {R!r}")
    return mode


def encode(x, fmt, *, rounding: str = "nearest_even", saturation: str = "none",
           nan_code: int | None = None, R: int = 0, N: int = 32) -> int:
    """Encode one value exactly (slowly): round, saturate, pack.

    Parameters
    ----------
    x : Fraction, int or float
        The exact input (a float may be ±0, ±inf or NaN).
    fmt : str or FloatFormat or IntFormat
        Target format.
    rounding : str
        One of :data:`ROUNDINGS` (``stochastic`` = P3109 StochasticA).
    saturation : {"none", "finite", "propagate"}
    nan_code : int, optional
        Code written for a NaN (or a zero into a format without zero) when the
        format has no NaN. ``ValueError`` when needed and None.
    R, N : int
        Random integer ``0 <= R < 2**N`` and the number of random bits N
        (stochastic roundings only).

    Returns
    -------
    int
        The code.

    Examples
    --------
    >>> import numfmt.reference as ref
    >>> [hex(ref.encode(v, "float8_e5m2")) for v in (61439.0, 61440.0, -float("inf"))]
    ['0x7b', '0x7c', '0xfc']
    >>> hex(ref.encode(1e9, "binary8p4sf", saturation="none"))
    '0x7f'
    >>> ref.encode(-1.0, "binary8p1ue", rounding="toward_zero"), ref.encode(-1.0, "binary8p1ue")
    (0, 255)
    """
    f = _fmt(fmt)
    mode = _check_policy(rounding, saturation, R, N)
    kind, neg, a = _as_exact(x)
    if _is_int(f):
        return _encode_int(kind, neg, a, f, mode, saturation, nan_code, R, N)
    lay = _layout(f)

    def nan_out(negative):
        c = lay.nnan if negative else lay.pnan
        if c is None:
            if nan_code is None:
                raise ValueError(f"format {f.name} has no NaN and nan_code is None")
            return int(nan_code)
        return c

    def signed_mag(negative, mag):
        return (lay.sign_bit | mag) if negative else mag

    def overflow(negative, is_inf, toward_zero_taken=False):
        """Code of a value beyond the largest finite one, or of an infinite input.

        ``toward_zero_taken``: the rounding discarded a nonzero fraction without
        rounding away (used for to_odd and the stochastic modes, ERRATA 5).
        """
        inf_code = lay.ninf if negative else lay.pinf
        maxc = signed_mag(negative, lay.max_mag)
        if saturation == "finite":
            return maxc
        if saturation == "propagate":
            return inf_code if (is_inf and inf_code is not None) else maxc
        # saturation "none"
        if not is_inf:
            inward = (
                mode == "toward_zero"
                or (mode == "toward_negative" and not negative)
                or (mode == "toward_positive" and negative)
            )
            # P3109 SatNone: X > Mhi and ToOdd and Unsigned&Extended -> Mhi
            odd_rule = lay.p3109 and mode == "to_odd" and not lay.signed and lay.pinf is not None
            # ERRATA 5 (to_odd, stochastic; not P3109, whose SatNone speaks): the IEEE rule
            # for the direction actually taken -- rounded toward zero past max gives max
            taken = toward_zero_taken and not lay.p3109 and (mode == "to_odd" or mode.startswith("stochastic"))
            if inward or odd_rule or taken:
                return maxc
        if inf_code is not None:
            return inf_code
        if lay.pnan is not None and lay.overflow_nan:
            return nan_out(negative)
        return maxc

    def unsigned_negative(is_inf):
        """A negative value that does not round to zero, or -inf, in an unsigned format."""
        lo = 0  # Mlo: code 0 is zero, or the smallest value of a format without zero
        if saturation != "none":
            return lo
        if not is_inf and mode in ("toward_zero", "toward_positive"):
            return lo
        return lay.pnan if lay.pnan is not None else lo

    if kind == "nan":
        return nan_out(neg)
    if kind == "zero":
        if not lay.has_zero:
            return nan_out(False)
        return lay.sign_bit if (neg and lay.neg_zero) else 0
    if kind == "inf":
        if neg and not lay.signed:
            return unsigned_negative(True)
        return overflow(neg, True)

    # ---- RoundToPrecision (P3109 §4.7.4) on the magnitude
    m = lay.m
    emin = lay.emin
    toward_zero_taken = False
    if not lay.has_zero and a < _pow2(emin):
        Z = _pow2(emin)  # no zero: everything below the smallest value rounds up to it
    else:
        E = _ilog2(a)
        if lay.has_zero and not lay.subnormals and E < emin:
            Q = emin  # flush-to-zero: neighbours 0 and 2**emin
        else:
            Q = max(E, emin) - m
        St = a / _pow2(Q)
        F = math.floor(St)
        nu = St - F
        code_even = F == 0 or lay.mag_code(F * _pow2(Q)) % 2 == 0
        away = _round_away(mode, nu, neg, code_even, R, N)
        toward_zero_taken = nu > 0 and not away
        Z = (F + int(away)) * _pow2(Q)
    if Z == 0:
        return lay.sign_bit if (neg and lay.neg_zero) else 0
    if neg and not lay.signed:
        return unsigned_negative(False)
    if Z > lay.max:
        return overflow(neg, False, toward_zero_taken)
    return signed_mag(neg, lay.mag_code(Z))


def _encode_int(kind, neg, a, f, mode, saturation, nan_code, R, N) -> int:
    """Integers: value = n * 2**scale_exp, two's complement codes."""
    hi = (1 << (f.bits - 1)) - 1 if f.signed else (1 << f.bits) - 1
    lo = -(hi if f.symmetric else hi + 1) if f.signed else 0
    mask = (1 << f.bits) - 1
    if kind == "nan":
        if nan_code is None:
            raise ValueError(f"format {f.name} has no NaN and nan_code is None")
        return int(nan_code)
    if kind == "zero":
        return 0
    if kind == "inf":
        n = (lo if neg else hi)  # no infinities, no NaN: saturate (unsigned -inf -> Mlo = 0)
        return n & mask
    St = a / _pow2(f.scale_exp)
    F = math.floor(St)
    nu = St - F
    S = F + int(_round_away(mode, nu, neg, F % 2 == 0, R, N))
    n = -S if neg else S
    if n == 0:
        return 0
    n = min(max(n, lo), hi)  # no infinities or NaN: every overflow saturates
    return n & mask


def quantize(x, fmt, **kw) -> Fraction | float:
    """``decode(encode(x, fmt, **kw), fmt)``.

    Examples
    --------
    >>> import numfmt.reference as ref
    >>> ref.quantize(0.3, "float4_e2m1fn"), ref.quantize(-100, "int4")
    (Fraction(1, 2), Fraction(-8, 1))
    """
    f = _fmt(fmt)
    return decode(encode(x, f, **kw), f)
