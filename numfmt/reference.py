"""A slow, independent reference codec: the oracle the fast kernels are tested against.

Everything here is pure Python on ints and `fractions.Fraction`, written
straight from the specifications (IEEE P3109 Interim Report v4.0 §4.7, OCP 8-bit
Floating Point Specification (OFP8) rev. 1.0 §5, OCP MX v1.0 §5, IEEE 754-2019
§4.3 and §7.4), one value at a time. It reads only the *fields* of a format
(widths, bias and the named conventions) and derives every special code, the
largest finite value and the rounding grid itself; it does not use
`kernel_params` or `numfmt._kernels`. It is never used by the fast path:
`numfmt.encode`/`decode` do not call it. Import it as `numfmt.reference` (it is
not re-exported).

`round_trace` records every decision for one
value (neighbours, position, guard/round/sticky, tie, random bits, the rule that
decided, overflow and saturation) in a `Trace`;
`encode` returns that trace's code and
[`numfmt.explain`][numfmt.explain.explain] prints it.

Rounding follows IEEE P3109 RoundToPrecision (§4.7.4), generalised to every
format: for finite nonzero `x`

    Q  = max(floor(log2|x|), emin) - M         (quantum; emin the lowest normal binade)
    S~ = |x| / 2**Q ;  nu = S~ - floor(S~)
    S  = floor(S~) + RoundAway(mode, nu, ...) ;  Z = sign(x) * S * 2**Q

with "even" meaning an even *code* (for 0-mantissa formats the parity of the
biased exponent: E8M0 rounds 3.0 to 0x80). Flush-to-zero formats round values
below the smallest normal on the grid {0, 2**emin}; formats without zero (E8M0)
send every positive value below the smallest one to the smallest one.
Overflow is decided after rounding, then the saturation rules apply:

* `"none"`: IEEE/OCP formats overflow to ±inf where the format has
  infinities, else to NaN where it has a NaN and `overflow_nan` is set, else
  to ±max; directed roundings pointing inward (toward_zero always,
  toward_negative for positive, toward_positive for negative values) give ±max;
  under `to_odd` and the stochastic modes a result that is past max although
  the rounding went toward zero (nu > 0, not rounded away) is ±max, the rule of
  IEEE 754-2019 §7.4 for the direction actually taken. P3109 formats follow
  P3109 SatNone (§4.7.5), including `to_odd` overflow → max for unsigned
  extended formats.
* `"finite"`: overflow and ±inf become ±max.
* `"propagate"`: finite overflow becomes ±max; ±inf stays ±inf where
  representable.

Unsigned formats: a negative value that does not round to zero becomes NaN
under `"none"` (`toward_zero`/`toward_positive`: the smallest value Mlo),
and Mlo under `"finite"`/`"propagate"`; -inf likewise (NaN under `"none"`,
whatever the rounding). Where the format has no NaN, Mlo is used instead of NaN.

A NaN input gives the format's NaN (with its sign where NaNs are signed); a
format without NaN takes `nan_code` (a `ValueError` if None). Zero into a
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
from dataclasses import dataclass
from fractions import Fraction

from .formats import P3109_EDITIONS
from .presets import get_format
from .tables import fields, hex_code, value_str

__all__ = ["ROUNDINGS", "SATURATIONS", "Neighbour", "Overrides", "Trace", "decode", "encode", "flush_code",
           "flush_input", "max_value", "quantize", "round_trace", "special_codes"]

ROUNDINGS = (
    "nearest_even", "nearest_away", "nearest_toward_zero", "toward_zero", "toward_positive", "toward_negative",
    "to_odd", "stochastic", "stochastic_b", "stochastic_c", "stochastic_odd",
)
SATURATIONS = ("none", "finite", "propagate")
_ALIASES = {
    "rne": "nearest_even", "rna": "nearest_away", "rtz": "toward_zero", "rtp": "toward_positive",
    "rtn": "toward_negative", "rto": "to_odd", "rnz": "nearest_toward_zero", "sr": "stochastic",
    "stochastic_a": "stochastic", "stochastic_rtne": "stochastic_c", "stochastic_fast": "stochastic_b",
    "stochastic_fastest": "stochastic",
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


def _rnito(v: Fraction) -> int:
    """Round to the nearest integer, ties to odd."""
    f = math.floor(v)
    r = v - f
    if r > Fraction(1, 2) or (r == Fraction(1, 2) and f % 2 == 0):
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
        self.p3109_v4 = f.p3109 and f.p3109_edition != "model-2026-07-07"
        # exponent of the lowest normal binade
        self.emin = 1 - self.bias if self.has_zero else -self.bias
        # special codes (IEEE 754-2019 §3.4, OFP8 §5, IEEE P3109 Interim Report v4.0 §4.1)
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

    Returns a dict with keys `pinf`, `ninf`, `pnan`, `nnan` (None when
    absent) and `max_mag` (magnitude code of the largest finite value).

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

    Negative zero decodes to `-0.0` (a float) so that its sign is visible.

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


# --------------------------------------------------------------------- trace
@dataclass(frozen=True)
class Neighbour:
    """One candidate of the rounding: its exact (signed) value and its code (None if it has none)."""

    value: Fraction
    code: int | None
    note: str = ""

    def to_dict(self, fmt) -> dict:
        """JSON-safe dict: the value as `value_str` text and as a float, the code in hex and as fields."""
        v = float(self.value)
        return {
            "value": value_str(self.value), "value_float": v if math.isfinite(v) else repr(v),
            "code": self.code, "code_hex": None if self.code is None else hex_code(self.code, fmt),
            "fields": None if self.code is None else fields(self.code, fmt), "note": self.note,
        }


@dataclass(frozen=True)
class Overrides:
    """Rule changes of another implementation applied on top of a format's own rules.

    The compatibility profiles of `numfmt.compat` reproduce
    libraries whose conversions differ from the format's specification in
    these few places only.

    Attributes
    ----------
    nan_codes : tuple of int, optional
        Codes written for a NaN result, (positive, negative), instead of the format's own.
    parity : {"code", "significand"}
        Which "even" `nearest_even` and `to_odd` look at: the code's last bit
        (IEEE 754-2019 §4.3.1) or the significand's, implicit bit included
        (ml_dtypes and torch round E8M0 ties up this way).
    flush_below : int, optional
        Values below `2**flush_below` round on the grid {0, 2**flush_below};
        a 0 result is written as code 0 (ml_dtypes rounds float32 subnormals
        into E8M0 so).
    int_range : tuple of int, optional
        Integer formats: the clamp range (lo, hi) of the rounded integer before
        its low `bits` bits are kept (C casts into int32 on x86-64).
    """

    nan_codes: tuple[int, int] | None = None
    parity: str = "code"
    flush_below: int | None = None
    int_range: tuple[int, int] | None = None


@dataclass(frozen=True)
class Trace:
    """Every decision `round_trace` made for one value.

    The code `encode` returns is `Trace.code` of the same call: the trace is
    recorded on the code path that computes the code.

    Attributes
    ----------
    format : FloatFormat or IntFormat
    rounding, saturation : str
        Canonical policy names.
    kind : {"nan", "infinite", "zero", "finite"}
    negative : bool
        The input's sign (also for -0, -inf and NaN).
    x : Fraction or None
        The exact input (None for NaN and ±inf).
    toward_zero, away_from_zero : Neighbour or None
        The two candidates on the target grid (finite inputs).
    ulp : Fraction or None
        Their distance, the quantum `2**Q`.
    position : Fraction or None
        `nu`: |x| lies this many ulps above the toward-zero neighbour, 0 <= nu < 1.
    guard, round, sticky : int or None
        The first two bits of `nu` and whether any bit below them is set.
    tie : bool
        `nu == 1/2`.
    R, N : int or None
        The random integer and its number of bits (stochastic roundings).
    away : bool or None
        The RoundAway decision: the away-from-zero neighbour was taken.
    direction : {"exact", "toward zero", "away from zero", "-"}
    rule : str
        The rule that chose the neighbour (or handled NaN, zero, inf).
    overflow : str
        The overflow and saturation decision.
    exact : bool
        The input is representable and its own code was written.
    code : int
        The code written.
    value : Fraction or float
        Its value (a float for ±inf, NaN and -0.0).
    """

    format: object
    rounding: str
    saturation: str
    kind: str
    negative: bool
    x: Fraction | None
    code: int
    value: Fraction | float
    rule: str
    overflow: str = "-"
    exact: bool = False
    toward_zero: Neighbour | None = None
    away_from_zero: Neighbour | None = None
    ulp: Fraction | None = None
    position: Fraction | None = None
    guard: int | None = None
    round: int | None = None
    sticky: int | None = None
    tie: bool = False
    R: int | None = None
    N: int | None = None
    away: bool | None = None
    direction: str = "-"


def _bits(nu: Fraction) -> dict:
    """Position nu in [0, 1) -> guard, round, sticky, tie."""
    q = 4 * nu
    return {"position": nu, "guard": int(nu >= Fraction(1, 2)), "round": (q.numerator // q.denominator) % 2,
            "sticky": int(q.denominator != 1), "tie": nu == Fraction(1, 2)}


# --------------------------------------------------------------------- encode
def _decide(mode: str, nu: Fraction, neg: bool, even: bool, even_why: str, R: int, N: int) -> tuple[bool, str]:
    """The RoundAway predicate of IEEE P3109 Interim Report v4.0 §4.7.4, and the rule that decided it."""
    half = Fraction(1, 2)
    if nu == 0:
        return False, "exact: no rounding needed"
    side = "past" if nu > half else "before"
    way = "away from zero" if nu > half else "toward zero"
    if mode == "nearest_even":
        if nu != half:
            return nu > half, f"{mode}: {side} the midpoint, round {way}"
        if even:
            return False, f"{mode}: a tie; {even_why}, keep it (toward zero)"
        return True, f"{mode}: a tie; {even_why}, round away from zero to the even neighbour"
    if mode == "nearest_away":
        if nu == half:
            return True, f"{mode}: a tie, ties go away from zero"
        return nu > half, f"{mode}: {side} the midpoint, round {way}"
    if mode == "nearest_toward_zero":
        if nu == half:
            return False, f"{mode}: a tie, ties go toward zero (keep it)"
        return nu > half, f"{mode}: {side} the midpoint, round {way}"
    if mode == "toward_zero":
        return False, f"{mode}: truncate"
    if mode == "toward_positive":
        return not neg, f"{mode}: inexact and {'negative, truncate' if neg else 'positive, round up'}"
    if mode == "toward_negative":
        return neg, f"{mode}: inexact and {'negative, round down (away)' if neg else 'positive, truncate'}"
    if mode == "to_odd":
        if even:
            return True, f"{mode}: inexact and {even_why}, take the odd neighbour (away from zero)"
        return False, f"{mode}: inexact and {even_why}, keep it"
    if mode == "stochastic_b":
        s = math.floor(nu * 2 ** (N + 1)) + 2 * R + 1
        away = s >= 2 ** (N + 1)
        return away, f"{mode}: floor(nu*2^{N + 1}) + 2R + 1 = {s} {'>=' if away else '<'} 2^{N + 1}"
    if mode == "stochastic":
        s, what = math.floor(nu * 2**N), "floor"
    elif mode == "stochastic_c":
        s, what = _rnite(nu * 2**N), "rne"
    elif mode == "stochastic_odd":
        s, what = _rnito(nu * 2**N), "nearest-ties-to-odd"
    else:
        raise AssertionError(mode)
    away = s + R >= 2**N
    return away, f"{mode}: {what}(nu*2^{N}) + R = {s} + {R} {'>=' if away else '<'} 2^{N}"


def _as_exact(x):
    """(kind, neg, |x| as Fraction) with kind in 'nan', 'infinite', 'zero', 'finite'."""
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
        return "infinite", neg, None
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
           nan_code: int | None = None, R: int = 0, N: int = 32, overrides: Overrides | None = None,
           daz=False, via=None, ftz: bool = False) -> int:
    """Encode one value exactly (slowly): round, saturate, pack.

    Parameters
    ----------
    x : Fraction, int or float
        The exact input (a float may be ±0, ±inf or NaN).
    fmt : str or FloatFormat or IntFormat
        Target format.
    rounding : str
        One of `ROUNDINGS` (`stochastic` = P3109 StochasticA).
    saturation : {"none", "finite", "propagate"}
    nan_code : int, optional
        Code written for a NaN (or a zero into a format without zero) when the
        format has no NaN. `ValueError` when needed and None.
    R, N : int
        Random integer `0 <= R < 2**N` and the number of random bits N
        (stochastic roundings only).
    overrides : Overrides, optional
        Rule changes of a compatibility profile.
    daz : bool or str
        Input denormals are zero: True takes the input's own type (numpy float16/float32
        scalars, a Python or numpy float64; a Fraction or int has no subnormals), a format
        name that format's smallest normal.
    via : str, optional
        Round first into this float format (same rounding and saturation), then into `fmt`.
    ftz : bool
        Output flush to zero: a subnormal result becomes the zero of its sign.

    Returns
    -------
    int
        The code: `round_trace(...).code` of the value after the `daz` and `via` steps, then
        the `ftz` step (the order of `numfmt.steps`).

    Examples
    --------
    >>> import numfmt.reference as ref
    >>> [hex(ref.encode(v, "float8_e5m2")) for v in (61439.0, 61440.0, -float("inf"))]
    ['0x7b', '0x7c', '0xfc']
    >>> hex(ref.encode(1e9, "binary8p4sf", saturation="none")), hex(ref.encode(1e9, "binary8p4sf@interim-v4.0"))
    ('0x80', '0x7f')
    >>> ref.encode(-1.0, "binary8p1ue", rounding="toward_zero"), ref.encode(-1.0, "binary8p1ue")
    (0, 255)
    >>> hex(ref.encode(2.0**-8, "float8_e4m3fn", ftz=True))
    '0x0'
    >>> hex(ref.encode(1.0634765625, "float8_e4m3fn", via="bfloat16"))
    '0x38'
    """
    if daz is not False and daz is not None:
        x = flush_input(x, daz)
    if via is not None:
        v = _fmt(via)
        if _is_int(v):
            raise ValueError(f"via= is an intermediate float format; {v.name} is not one")
        x = decode(round_trace(x, v, rounding=rounding, saturation=saturation, nan_code=None, R=R, N=N).code, v)
    code = round_trace(x, fmt, rounding=rounding, saturation=saturation, nan_code=nan_code, R=R, N=N,
                       overrides=overrides).code
    if ftz:
        code = flush_code(code, _fmt(fmt))
    return code


def _tiny(f) -> Fraction:
    """Smallest normal magnitude of a float format."""
    return _pow2(_layout(f).emin)


_INPUT_TYPES = {"float16": "binary16", "float32": "binary32", "float64": "binary64", "float": "binary64"}


def flush_input(x, rule):
    """`x`, or a zero of its sign when it is a nonzero number below the smallest normal of its input format
    (`rule` True: x's own type; a format name: that format), as `daz=` does.

    Examples
    --------
    >>> import numpy as np, numfmt.reference as ref
    >>> ref.flush_input(np.float32(1e-40), True), ref.flush_input(1e-40, True), ref.flush_input(1e-40, "binary32")
    (0.0, 1e-40, 0.0)
    """
    if rule is True:
        name = _INPUT_TYPES.get(type(x).__name__)
        if name is None and type(x).__module__.startswith("ml_dtypes"):  # bfloat16, float8_*: their format
            name = type(x).__name__
        if name is None or _is_int(_fmt(name)):  # Fraction, int: no subnormals
            return x
        f = _fmt(name)
    else:
        f = _fmt(rule)
        if _is_int(f):
            raise ValueError(f"daz= names a float format; {f.name} is not one")
    kind, neg, a = _as_exact(float(x) if type(x).__module__.startswith("ml_dtypes") else x)  # (exact in float)
    if kind == "finite" and a < _tiny(f):
        return -0.0 if neg else 0.0
    return x


def flush_code(code: int, f) -> int:
    """`code`, or the zero of its sign where it is a subnormal code of float format `f`, as `ftz=` does.

    Examples
    --------
    >>> import numfmt.reference as ref
    >>> hex(ref.flush_code(0x82, "float8_e4m3fn")), hex(ref.flush_code(0x08, "float8_e4m3fn"))
    ('0x80', '0x8')
    """
    f = _fmt(f)
    if _is_int(f):
        raise ValueError(f"ftz=True flushes subnormal results of a float format; {f.name} is not one")
    lay = _layout(f)
    mag = code & lay.ones
    if not (lay.has_zero and lay.subnormals and 0 < mag < (1 << lay.m)):
        return code
    return lay.sign_bit if (code & lay.sign_bit and lay.neg_zero) else 0


def round_trace(x, fmt, *, rounding: str = "nearest_even", saturation: str = "none",
                nan_code: int | None = None, R: int = 0, N: int = 32, overrides: Overrides | None = None) -> Trace:
    """Encode one value exactly and record every decision on the way.

    Takes the arguments of `encode`; `encode`
    returns this function's `Trace.code`.

    Examples
    --------
    >>> import numfmt.reference as ref
    >>> t = ref.round_trace(1.0625, "float8_e4m3fn")
    >>> t.toward_zero.value, t.away_from_zero.value, t.position, t.tie, hex(t.code)
    (Fraction(1, 1), Fraction(9, 8), Fraction(1, 2), True, '0x38')
    >>> t.rule
    'nearest_even: a tie; 0x38 is even, keep it (toward zero)'
    """
    f = _fmt(fmt)
    mode = _check_policy(rounding, saturation, R, N)
    kind, neg, a = _as_exact(x)
    rounder = (_IntRounder if _is_int(f) else _FloatRounder)(f, mode, saturation, nan_code, R, N,
                                                            overrides or Overrides(), neg)
    head = {"format": f, "rounding": mode, "saturation": saturation, "kind": kind, "negative": neg,
            "x": None if a is None else (-a if neg else a)}
    if mode.startswith("stochastic"):
        head.update(R=R, N=N)
    fields_ = getattr(rounder, kind)(a)
    code = fields_["code"]
    return Trace(**head, **fields_, value=decode(code, f))


class _Rounder:
    """What the float and integer paths share: the policy, the sign, NaN and code text."""

    def __init__(self, f, mode, saturation, nan_code, R, N, ov, neg):
        self.f, self.mode, self.sat, self.nan_code, self.R, self.N, self.ov, self.neg = (
            f, mode, saturation, nan_code, R, N, ov, neg)
        self.s = "-" if neg else "+"

    def hx(self, code: int) -> str:
        return hex_code(code, self.f)

    def policy_nan(self, negative: bool) -> int:
        """The code a NaN result gets from the overrides or the `nan_code` policy."""
        if self.ov.nan_codes is not None:
            return int(self.ov.nan_codes[int(negative)])
        if self.nan_code is None:
            raise ValueError(f"format {self.f.name} has no NaN and nan_code is None")
        return int(self.nan_code)

    @staticmethod
    def finish(nu: Fraction, ulp: Fraction, away: bool, rule: str, **more) -> dict:
        """The trace fields of a finite input rounded at quantum `ulp`."""
        return {**_bits(nu), "ulp": ulp, "away": away, "rule": rule,
                "direction": "exact" if nu == 0 else ("away from zero" if away else "toward zero"), **more}


class _FloatRounder(_Rounder):
    """RoundToPrecision, overflow and saturation for a FloatFormat (IEEE P3109 Interim Report v4.0 §4.7)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.lay = _layout(self.f)

    def signed(self, mag: int) -> int:
        return (self.lay.sign_bit | mag) if self.neg else mag

    def nan_out(self, negative: bool) -> int:
        c = self.lay.nnan if negative else self.lay.pnan
        if c is None or self.ov.nan_codes is not None:
            return self.policy_nan(negative)
        return c

    def maxstr(self) -> str:
        return value_str(self.lay.max)

    def zero_code(self) -> tuple[int, str]:
        lay, name = self.lay, self.f.name
        if not lay.has_zero:
            if self.sat != "none":
                return 0, (f"{name} has no zero: saturation='{self.sat}' clamps zero to the smallest value "
                           f"{self.hx(0)}, like a negative or a tiny value")
            return self.nan_out(False), f"{name} has no zero: zero becomes NaN"
        if self.neg and lay.neg_zero:
            return lay.sign_bit, "negative zero keeps its sign"
        if self.neg:
            return 0, f"{name} has no negative zero: -0 becomes +0"
        return 0, "zero"

    # ---- the four kinds of input
    def nan(self, a) -> dict:
        code = self.nan_out(self.neg)
        lay = self.lay
        if lay.pnan is None:
            rule = f"NaN input; {self.f.name} has no NaN, the NaN policy writes {self.hx(code)}"
        elif self.ov.nan_codes is not None and code not in (lay.pnan, lay.nnan):
            rule = f"NaN input -> NaN code {self.hx(code)} (the profile's NaN rule)"
        else:
            rule = f"NaN input -> the canonical {'negative ' if code != lay.pnan else ''}NaN code"
        return {"code": code, "rule": rule}

    def zero(self, a) -> dict:
        code, rule = self.zero_code()
        return {"code": code, "rule": rule, "exact": self.lay.has_zero}

    def infinite(self, a) -> dict:
        if self.neg and not self.lay.signed:
            code, why = self.unsigned_negative(True)
            return {"code": code, "rule": "-inf into an unsigned format: " + why}
        code, why = self.overflow(True)
        return {"code": code, "rule": "infinite input: no rounding", "overflow": why}

    def finite(self, a: Fraction) -> dict:
        lay, m, emin, ov = self.lay, self.lay.m, self.lay.emin, self.ov
        E = _ilog2(a)
        below_smallest = not lay.has_zero and E < emin and ov.flush_below is None
        if ov.flush_below is not None and E < ov.flush_below:
            Q = ov.flush_below  # the override's flush-to-zero grid {0, 2**flush_below}
        elif lay.has_zero and not lay.subnormals and E < emin:
            Q = emin  # flush-to-zero: neighbours 0 and 2**emin
        elif below_smallest:
            Q = emin  # no zero: neighbours 0 (not a value of the format) and the smallest value
        else:
            Q = max(E, emin) - m
        ulp = _pow2(Q)
        F = math.floor(a / ulp)
        nu = a / ulp - F
        if below_smallest:
            away = True
            rule = f"{self.f.name} has no zero: a value below the smallest one, {value_str(ulp)}, becomes it"
        else:
            if ov.parity == "significand":
                even = F % 2 == 0
                even_why = f"its significand {F} is {'even' if even else 'odd'}"
            elif F == 0:
                even, even_why = True, (f"{self.hx(self.zero_code()[0])} is even" if lay.has_zero else "0 is even")
            else:
                par = lay.mag_code(F * ulp) % 2
                even, even_why = par == 0, f"{self.hx(self.signed(lay.mag_code(F * ulp)))} is " + (
                    "odd" if par else "even")
            away, rule = _decide(self.mode, nu, self.neg, even, even_why, self.R, self.N)
        out = self.finish(nu, ulp, away, rule, toward_zero=self.neighbour(F * ulp),
                          away_from_zero=self.neighbour((F + 1) * ulp))
        Z = (F + int(away)) * ulp
        if Z == 0:
            if lay.has_zero:
                code, zrule = self.zero_code()
            else:
                code, zrule = 0, f"{self.f.name} has no zero: the flushed result is written as code {self.hx(0)}"
            return {**out, "code": code, "rule": rule + "; " + zrule, "overflow": "no (underflow to zero)"}
        if self.neg and not lay.signed:
            code, why = self.unsigned_negative(False)
            return {**out, "code": code, "overflow": "negative value into an unsigned format: " + why}
        if Z > lay.max:
            code, why = self.overflow(False, toward_zero_taken=nu > 0 and not away)
            return {**out, "code": code, "overflow": why}
        code = self.signed(lay.mag_code(Z))
        return {**out, "code": code, "exact": nu == 0, "overflow": f"no: |{value_str(Z)}| <= max {self.maxstr()}"}

    def neighbour(self, v: Fraction) -> Neighbour:
        lay = self.lay
        sv = -v if self.neg else v
        if v == 0:
            if not lay.has_zero:
                if self.ov.flush_below is not None:
                    return Neighbour(sv, 0, "the flushed zero, written as code 0")
                return Neighbour(sv, None, f"below the smallest value {value_str(_pow2(lay.emin))}; no code")
            return Neighbour(sv, self.zero_code()[0])
        if v > lay.max:
            return Neighbour(sv, None, f"beyond max {self.maxstr()}; no code")
        if self.neg and not lay.signed:
            return Neighbour(sv, None, "negative; the format is unsigned")
        return Neighbour(sv, self.signed(lay.mag_code(v)))

    # ---- overflow and saturation (IEEE P3109 Interim Report v4.0 §4.7.5; OCP FP8; IEEE 754-2019 §7.4)
    def overflow(self, is_inf: bool, toward_zero_taken: bool = False) -> tuple[int, str]:
        """Code of a value beyond the largest finite one, or of an infinite input, and why."""
        lay, mode, sat, s, name = self.lay, self.mode, self.sat, self.s, self.f.name
        inf_code = lay.ninf if self.neg else lay.pinf
        what = f"{s}inf input" if is_inf else f"rounded magnitude beyond max {self.maxstr()}"
        to_max, why = None, ""
        if sat == "finite":
            to_max, why = True, "saturation='finite' clamps to"
        elif sat == "propagate":
            if is_inf and inf_code is not None:
                to_max, why = False, "saturation='propagate' keeps infinities:"
            else:
                to_max, why = True, "saturation='propagate' clamps finite overflow to"
        elif not is_inf:
            inward = (mode == "toward_zero" or (mode == "toward_negative" and not self.neg)
                      or (mode == "toward_positive" and self.neg))
            if inward:
                to_max, why = True, "saturation='none' but the rounding is toward zero for this sign, so"
            elif lay.p3109_v4 and mode == "to_odd" and not lay.signed and lay.pinf is not None:
                # P3109 Interim Report v4.0 SatNone: X > Mhi and ToOdd and Unsigned&Extended -> Mhi
                to_max, why = True, "saturation='none', to_odd into an unsigned extended P3109 format gives"
            elif toward_zero_taken and not lay.p3109 and (mode == "to_odd" or mode.startswith("stochastic")):
                # the rule of IEEE 754-2019 §7.4 for the direction actually taken
                to_max, why = True, ("saturation='none' and the rounding went toward zero past max "
                                     "(IEEE 754-2019 §7.4), so")
        if to_max is None:
            if inf_code is not None:
                to_max, why = False, "saturation='none':" if is_inf else "saturation='none': overflow to"
            elif lay.pnan is not None and lay.overflow_nan:
                to_max, why = False, f"saturation='none', {name} has no inf" + (
                    ":" if is_inf else ", so overflow gives")
            else:
                to_max, why = True, f"saturation='none', {name} has no inf and " + (
                    "overflows to max:" if is_inf else "saturates (no overflow NaN):")
        if to_max:
            code = self.signed(lay.max_mag)
            return code, f"yes: {what}; {why} {s}max {self.hx(code)}"
        code, tgt = (inf_code, f"{s}inf") if inf_code is not None else (self.nan_out(self.neg), "NaN")
        return code, f"yes: {what}; {why} {tgt} {self.hx(code)}"

    def unsigned_negative(self, is_inf: bool) -> tuple[int, str]:
        """A negative value that does not round to zero, or -inf, in an unsigned format."""
        if self.sat != "none":
            return 0, "saturation clamps it to the smallest value"
        if not is_inf and self.mode in ("toward_zero", "toward_positive"):
            return 0, "rounding toward zero/positive gives the smallest value"
        if self.lay.pnan is not None:
            return self.nan_out(False), "saturation='none' makes it NaN (IEEE P3109 Interim Report v4.0 §4.7.5)"
        return 0, "no NaN: the smallest value"


class _IntRounder(_Rounder):
    """Integers: value = n * 2**scale_exp, two's complement codes; no infinities, no NaN."""

    def __init__(self, *args):
        super().__init__(*args)
        f = self.f
        hi = (1 << (f.bits - 1)) - 1 if f.signed else (1 << f.bits) - 1
        lo = -(hi if f.symmetric else hi + 1) if f.signed else 0
        self.own = (lo, hi)
        self.lo, self.hi = self.ov.int_range or self.own
        self.mask = (1 << f.bits) - 1
        self.ulp = _pow2(f.scale_exp)

    def limit(self, n: int) -> str:
        """The bound of the side of `n`: "max 127.0" or "min -128.0"."""
        return f"min {value_str(self.lo * self.ulp)}" if n < 0 else f"max {value_str(self.hi * self.ulp)}"

    def nan(self, a) -> dict:
        code = self.policy_nan(self.neg)
        return {"code": code, "rule": f"NaN input; {self.f.name} has no NaN, the NaN policy writes {self.hx(code)}"}

    def zero(self, a) -> dict:
        rule = f"{self.f.name} has no negative zero: -0 becomes +0" if self.neg else "zero"
        return {"code": 0, "rule": rule, "exact": True}

    def infinite(self, a) -> dict:
        n = self.lo if self.neg else self.hi
        return {"code": n & self.mask, "rule": "infinite input: no rounding",
                "overflow": f"yes: {self.s}inf input; {self.f.name} has no inf: clamped to "
                            f"{self.limit(-int(self.neg))} {self.hx(n & self.mask)}"}

    def finite(self, a: Fraction) -> dict:
        F = math.floor(a / self.ulp)
        nb = self.neighbour(F)
        even = F % 2 == 0
        even_why = f"{self.hx(nb.code) if nb.code is not None else F} is {'even' if even else 'odd'}"
        nu = a / self.ulp - F
        away, rule = _decide(self.mode, nu, self.neg, even, even_why, self.R, self.N)
        out = self.finish(nu, self.ulp, away, rule, toward_zero=nb, away_from_zero=self.neighbour(F + 1))
        S = F + int(away)
        n = -S if self.neg else S
        if n == 0:
            return {**out, "code": 0, "rule": rule + "; " + self.zero(0)["rule"], "overflow": "no (underflow to zero)"}
        c = min(max(n, self.lo), self.hi)
        code = c & self.mask
        if c == n:
            inside = self.own[0] <= n <= self.own[1]
            wrap = "" if inside else f"; outside {self.f.name}, its low {self.f.bits} bits are kept"
            return {**out, "code": code, "exact": out["position"] == 0 and not wrap,
                    "overflow": f"no: |{value_str(S * self.ulp)}| <= max "
                                f"{value_str(abs(self.lo if self.neg else self.hi) * self.ulp)}{wrap}"}
        if self.lo == 0 and n < 0:
            return {**out, "code": code, "overflow": "negative value into an unsigned format: clamped to 0"}
        return {**out, "code": code, "overflow": f"yes: rounded value {value_str(n * self.ulp)} beyond "
                f"{self.limit(n)}; {self.f.name} has no inf or NaN: clamped to {self.hx(code)}"}

    def neighbour(self, S: int) -> Neighbour:
        n = -S if self.neg else S
        v = n * self.ulp
        if n > self.hi or n < self.lo:
            if self.lo == 0 and n < 0:
                return Neighbour(v, None, "negative; the format is unsigned")
            return Neighbour(v, None, f"beyond {self.limit(n)}; no code")
        return Neighbour(v, n & self.mask)


def quantize(x, fmt, **kw) -> Fraction | float:
    """`decode(encode(x, fmt, **kw), fmt)`.

    Examples
    --------
    >>> import numfmt.reference as ref
    >>> ref.quantize(0.3, "float4_e2m1fn"), ref.quantize(-100, "int4")
    (Fraction(1, 2), Fraction(-8, 1))
    """
    f = _fmt(fmt)
    return decode(encode(x, f, **kw), f)


_EDITION_ROWS = (  # (rule, format, x, rounding)
    ("finite-domain overflow, saturation='none'", "binary8p4sf", 1e9, "nearest_even"),
    ("+inf into a finite-domain format, inward rounding", "binary8p4sf", float("inf"), "toward_zero"),
    ("-inf into a signed finite-domain format", "binary8p4sf", float("-inf"), "nearest_even"),
    ("finite overflow, inward rounding", "binary8p4sf", 1e9, "toward_zero"),
    ("to_odd overflow, unsigned extended", "binary8p3ue", 1e30, "to_odd"),
    ("to_odd overflow, signed extended", "binary8p3se", 1e30, "to_odd"),
)


def p3109_editions_markdown() -> str:
    """A Markdown table of the P3109 editions' SatNone rules with the codes of the exact reference (for the
    docs; `tests/test_p3109_editions.py` checks the same cases against `numfmt.encode` and gfloat)."""
    head = "| rule | format | x | rounding | " + " | ".join(f"`{e}`" for e in P3109_EDITIONS) + " |"
    out = [head, "|---|---|---|---|" + "---|" * len(P3109_EDITIONS)]
    for rule, name, x, rounding in _EDITION_ROWS:
        cells = []
        for ed in P3109_EDITIONS:
            f = get_format(name if ed == P3109_EDITIONS[-1] else f"{name}@{ed}")
            c = encode(x, f, rounding=rounding)
            what = ("NaN" if f.is_nan_code(c) else "+inf" if c == f.code_of_inf else
                    "±max" if c & (f.max_code_magnitude) == f.max_code_magnitude else "")
            cells.append(f"`{c:#04x}` {what}".strip())
        out.append(f"| {rule} | `{name}` | {x!r} | `{rounding}` | " + " | ".join(cells) + " |")
    return "\n".join(out)
