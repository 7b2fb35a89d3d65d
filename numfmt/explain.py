"""Why did this value round here? ``explain(x, fmt, **policy)``.

For one input value :func:`explain` reports its two neighbours in the target
format, its exact position between them in ulps, the guard, round and sticky
bits, whether it is a tie, which rule of the rounding policy chose the result,
and the overflow/saturation decision.

It is computed independently of the kernels, in Python integers and
:class:`fractions.Fraction`, following the P3109 formulation of rounding
(SPECS.md §4.3): ``Q = max(floor(log2|x|), emin) - m``, ``S~ = |x| / 2**Q``,
``nu = S~ - floor(S~)``; the result is ``floor(S~)`` or ``floor(S~) + 1``
("away from zero"), then overflow and saturation are applied. The test suite
checks that the chosen code equals :func:`numfmt.encode` for every format and
policy, so ``explain`` doubles as a slow reference implementation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from fractions import Fraction

import numpy as np

from ._kernels import params as P
from .block.formats import is_block_format
from .formats import FloatFormat, IntFormat
from .plan import make_plan, random_spec
from .policy import ROUNDINGS, SATURATIONS, parse_rounding
from .tables import fields, hex_code, value_str

__all__ = ["explain", "Explanation", "Neighbour"]

_GOLDEN = 0x9E3779B97F4A7C15
_M64 = (1 << 64) - 1


@dataclass(frozen=True)
class Neighbour:
    """One candidate of the rounding: its exact (signed) value and its code (None if it has none)."""

    value: Fraction
    code: int | None
    note: str = ""

    def to_dict(self, fmt) -> dict:
        return {
            "value": value_str(self.value), "value_float": _jfloat(float(self.value)),
            "code": self.code, "code_hex": None if self.code is None else hex_code(self.code, fmt),
            "fields": None if self.code is None else fields(self.code, fmt), "note": self.note,
        }


@dataclass(frozen=True)
class Explanation:
    """The result of :func:`explain`; ``str()`` prints it, ``to_dict()`` gives JSON-safe data."""

    x: float | int
    x_dtype: str
    format: object
    policy: dict
    kind: str  # "nan", "infinite", "zero", "finite"
    negative: bool
    x_exact: Fraction | None
    exact: bool
    toward_zero: Neighbour | None
    away_from_zero: Neighbour | None
    ulp: Fraction | None
    position: Fraction | None  # nu: |x| lies this many ulps above the toward-zero neighbour
    guard: int | None
    round: int | None
    sticky: int | None
    tie: bool
    random_bits: int | None
    direction: str  # "exact", "toward zero", "away from zero", "-"
    rule: str
    overflow: str
    code: int
    value: Fraction | float
    notes: tuple = field(default=())

    # ------------------------------------------------------------------ output
    def __str__(self) -> str:
        f = self.format
        pol = ", ".join(f"{k}={v}" for k, v in self.policy.items())
        lines = [f"explain {_xstr(self.x)} -> {f.name}  ({pol})"]

        def row(k, v):
            lines.append(f"  {k:<13}{v}")

        x_repr = _xstr(self.x) + f" ({self.x_dtype})"
        if self.x_exact and value_str(self.x_exact) != _xstr(self.x):
            x_repr += f" = {value_str(self.x_exact)}"
        row("input", x_repr)
        row("class", self.kind + (" (exactly representable)" if self.exact else ""))
        if self.toward_zero is not None:
            row("toward zero", _nb(self.toward_zero, f))
            row("away", _nb(self.away_from_zero, f))
            row("ulp", _ulp_str(self.ulp))
            nu = self.position
            row("position", f"{value_str(nu)} ulp past the toward-zero neighbour"
                + f" (guard {self.guard}, round {self.round}, sticky {self.sticky})")
            row("tie", "yes" if self.tie else "no")
            if self.random_bits is not None:
                row("random bits", f"R = {self.random_bits} (N = {self.policy.get('rbits', 32)})")
        row("rule", self.rule)
        row("overflow", self.overflow)
        for n in self.notes:
            row("note", n)
        val = value_str(self.value) if isinstance(self.value, Fraction) else repr(self.value)
        if isinstance(self.value, Fraction) and self.value == 0 and self.negative and _has_negzero_code(f, self.code):
            val = "-0.0"
        row("result", f"{hex_code(self.code, f)} ({fields(self.code, f)}) = {val}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-safe dict (Fractions as ``"p/q"`` strings next to float approximations)."""
        f = self.format
        val = self.value
        return {
            "input": _jfloat(self.x) if isinstance(self.x, float) else int(self.x),
            "input_dtype": self.x_dtype,
            "input_exact": None if self.x_exact is None else value_str(self.x_exact),
            "format": f.name,
            "policy": dict(self.policy),
            "class": self.kind,
            "negative": self.negative,
            "exact": self.exact,
            "toward_zero": None if self.toward_zero is None else self.toward_zero.to_dict(f),
            "away_from_zero": None if self.away_from_zero is None else self.away_from_zero.to_dict(f),
            "ulp": None if self.ulp is None else value_str(self.ulp),
            "position": None if self.position is None else value_str(self.position),
            "guard": self.guard, "round": self.round, "sticky": self.sticky,
            "tie": self.tie,
            "random_bits": self.random_bits,
            "direction": self.direction,
            "rule": self.rule,
            "overflow": self.overflow,
            "notes": list(self.notes),
            "code": self.code,
            "code_hex": hex_code(self.code, f),
            "fields": fields(self.code, f),
            "value": value_str(val) if isinstance(val, Fraction) else _jfloat(val),
        }


def _has_negzero_code(f, code) -> bool:
    return isinstance(f, FloatFormat) and f.negative_zero and code == f._sign_bit


def _jfloat(v: float):
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    return v


def _xstr(x) -> str:
    if isinstance(x, float):
        return repr(x)
    return str(x)


def _ulp_str(u: Fraction) -> str:
    e = u.numerator.bit_length() - u.denominator.bit_length()
    return f"{value_str(u)} (2^{e})"


def _nb(n: Neighbour, f) -> str:
    s = value_str(n.value)
    if n.value == 0 and n.value.numerator == 0:
        s = "0.0"
    if n.code is None:
        return f"{s}  ({n.note})" if n.note else s
    out = f"{s} = {hex_code(n.code, f)} ({fields(n.code, f)})"
    return out + (f"  ({n.note})" if n.note else "")


def _floor_log2(v: Fraction) -> int:
    e = v.numerator.bit_length() - v.denominator.bit_length()
    if v < Fraction(2) ** e:
        e -= 1
    return e


def _pow2(e: int) -> Fraction:
    return Fraction(1 << e) if e >= 0 else Fraction(1, 1 << -e)


def _splitmix_bits(key: int, index: int, nbits: int) -> int:
    """Element ``index``'s bits: the top N of W-bit field ``index % k`` of SplitMix64 output
    ``index // k`` (W = 8, 16 or 32, the smallest >= N; k = 64 / W)."""
    w = 8 if nbits <= 8 else (16 if nbits <= 16 else 32)
    k = 64 // w
    z = (key + (index // k + 1) * _GOLDEN) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    z ^= z >> 31
    return ((z >> (w * (index % k))) & ((1 << w) - 1)) >> (w - nbits)


def _input(x):
    """(python value, dtype name, array for encode)."""
    if isinstance(x, (str, bytes)) or isinstance(x, (bool, np.bool_)):
        raise TypeError(f"x must be a real number (float, int or numpy scalar), got {type(x).__name__}: {x!r}")
    if isinstance(x, Fraction):
        raise TypeError("x must be a float or int (encode cannot take a Fraction); got a Fraction")
    arr = np.asarray(x)
    if arr.ndim != 0:
        raise ValueError(f"x must be one scalar value, got an array of shape {arr.shape}")
    dt = arr.dtype
    if dt.kind in "iu":
        return int(arr), str(dt), arr
    if dt.kind == "f" or dt.kind == "V":
        try:
            return float(arr), dt.name, arr
        except (TypeError, ValueError):
            pass
    raise TypeError(f"x must be a real number, got dtype {dt}")


def explain(x, fmt, *, rounding="nearest_even", saturation="none", nan="raise", random=None,
            rbits=None, compat=None, index: int = 0) -> Explanation:
    """Explain how one value is encoded into ``fmt`` under a policy.

    Parameters
    ----------
    x : float, int or numpy scalar
        The value (float16/32/64 or an integer; its exact value is used).
    fmt : str or format
        Target element format.
    rounding, saturation, nan, random, rbits, compat
        As for :func:`numfmt.encode`. For stochastic roundings ``random`` is a
        seed (bits of flat element ``index``, as ``encode`` would draw them) or
        an array holding the one value R.
    index : int
        Flat element index whose random bits a seed selects (default 0).

    Returns
    -------
    Explanation
        ``str()`` is a report; ``.code`` equals ``numfmt.encode(x, fmt, ...)``.

    Examples
    --------
    >>> import numfmt
    >>> e = numfmt.explain(1.0625, "e4m3")
    >>> e.tie, e.position, hex(e.code)
    (True, Fraction(1, 2), '0x38')
    >>> print(e)                                             # doctest: +NORMALIZE_WHITESPACE
    explain 1.0625 -> float8_e4m3fn  (rounding=nearest_even, saturation=none, nan=raise)
      input        1.0625 (float64)
      class        finite
      toward zero  1.0 = 0x38 (0|0111|000)
      away         1.125 = 0x39 (0|0111|001)
      ulp          0.125 (2^-3)
      position     0.5 ulp past the toward-zero neighbour (guard 1, round 0, sticky 0)
      tie          yes
      rule         nearest_even: a tie; 0x38 is even, keep it (toward zero)
      overflow     no: |1.0| <= max 448.0
      result       0x38 (0|0111|000) = 1.0
    """
    if is_block_format(fmt):
        raise ValueError(f"explain takes an element format, got block format {fmt!r}; "
                         "explain the element or scale format instead")
    xv, x_dtype, xarr = _input(x)
    orig_xv = x_shown = xv
    plan = make_plan(fmt, rounding, saturation, nan, compat)
    f = plan.fmt
    p = plan.params
    mode, sat = plan.mode, plan.sat
    rname = parse_rounding(rounding)[0]
    policy = {"rounding": rname, "saturation": saturation, "nan": nan}
    if compat is not None:  # a profile may fix the rounding and saturation it really uses
        rname = next(k for k, v in ROUNDINGS.items() if v == mode)
        saturation = next(k for k, v in SATURATIONS.items() if v == sat)
        policy = {"rounding": rname, "saturation": saturation, "nan": nan}
    if compat is not None:
        policy["compat"] = compat
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
        raise ValueError(f"index must be a non-negative int, got {index!r}")
    notes: list[str] = []
    R = None
    nbits = 32
    if mode >= P.STOCHASTIC_A:
        rkind, rarr, key, nbits = random_spec(random, rbits, mode, (1,) if index == 0 else (index + 1,))
        policy["rbits"] = nbits
        if rkind == 1:
            R = int(rarr[min(index, rarr.size - 1)])
        else:
            R = _splitmix_bits(key, int(index), nbits)
    else:
        random_spec(random, rbits, mode, (1,))
    if plan.pre is not None:
        pre = np.asarray(plan.pre(np.asarray(xarr).reshape(1))).reshape(())
        new_xv = float(pre) if pre.dtype.kind == "f" else int(pre)
        if new_xv != xv and not (new_xv != new_xv and xv != xv):
            notes.append(f"compat={compat}: the input is first converted to {_xstr(new_xv)} ({pre.dtype})")
        xarr, xv = pre, new_xv
    x_shown = orig_xv

    # ---------------------------------------------------------------- classify the input
    if isinstance(xv, float):
        neg = math.copysign(1.0, xv) < 0
        if math.isnan(xv):
            kind = "nan"
        elif math.isinf(xv):
            kind = "infinite"
        elif xv == 0:
            kind = "zero"
        else:
            kind = "finite"
    else:
        neg = xv < 0
        kind = "zero" if xv == 0 else "finite"
    x_val = Fraction(xv) if kind in ("finite", "zero") else None
    x_exact = Fraction(orig_xv) if isinstance(orig_xv, int) or math.isfinite(orig_xv) else None
    common = dict(x=x_shown, x_dtype=x_dtype, format=f, policy=policy, kind=kind, negative=neg, x_exact=x_exact)
    none = dict(exact=False, toward_zero=None, away_from_zero=None, ulp=None, position=None,
                guard=None, round=None, sticky=None, tie=False, random_bits=None, direction="-")

    signed = p[P.SIGNED] != 0
    unsigned_neg = neg and not signed

    if kind == "nan":
        code = p[P.NNAN] if neg else p[P.NAN]
        if code < 0:
            raise ValueError(f"x is NaN and format {f.name} has no NaN; pass nan='zero' or nan='max' to choose a code")
        if f.code_of_nan is None:
            rule = f"NaN input; {f.name} has no NaN, nan={nan!r} writes {hex_code(code, f)}"
        elif code in (f.code_of_nan, f.code_of_negnan) or compat is None:
            rule = f"NaN input -> the canonical {'negative ' if neg and code != f.code_of_nan else ''}NaN code"
        else:
            rule = f"NaN input -> NaN code {hex_code(code, f)} of compat={compat}"
        return _finish(Explanation(**common, **none, rule=rule, overflow="-", code=int(code),
                                   value=float("nan"), notes=tuple(notes)), plan, xarr)

    if kind == "zero":
        code, rule = _zero(neg, p, f)
        return _finish(Explanation(**common, **{**none, "exact": code != p[P.NAN]}, rule=rule, overflow="-",
                                   code=code, value=_value(code, f), notes=tuple(notes)), plan, xarr)

    if kind == "infinite":
        if unsigned_neg:
            code, why = _unsigned_negative(True, p, mode, sat)
            return _finish(Explanation(**common, **none, rule="-inf into an unsigned format: " + why,
                                       overflow="-", code=code, value=_value(code, f),
                                       notes=tuple(notes)), plan, xarr)
        code, why = _overflow(neg, True, p, mode, sat, f, saturation)
        return _finish(Explanation(**common, **none, rule="infinite input: no rounding", overflow=why,
                                   code=code, value=_value(code, f), notes=tuple(notes)), plan, xarr)

    # ---------------------------------------------------------------- finite nonzero: round |x|
    v = abs(x_val)
    m, emin, off = p[P.M], p[P.EMIN], p[P.OFF]
    ftz = p[P.FTZ] != 0
    E = _floor_log2(v)
    if ftz and E < emin:
        ulp = _pow2(emin)
        n = 0
        base = 0
        step = 1 << m
        even = True
        even_why = "0 is even"
    else:
        Eq = max(E, emin)
        ulp = _pow2(Eq - m)
        n = v.numerator * ulp.denominator // (v.denominator * ulp.numerator)
        base = ((Eq - emin) << m) + n - off
        step = 1
        par = n if p[P.EVEN_N] != 0 else base
        even = par % 2 == 0
        shown = hex_code(_sign(neg, base, p), f) if base > 0 or (base == 0 and not neg) else (
            "0" if base == 0 else "it")
        even_why = f"{shown} is {'even' if even else 'odd'}"
        if p[P.EVEN_N] != 0:
            even_why = f"its significand {n} is {'even' if even else 'odd'} (compat={compat})"
    lo_val = n * ulp
    hi_val = lo_val + ulp
    nu = v / ulp - n
    guard = int(nu >= Fraction(1, 2))
    rnd = int((4 * nu).numerator // (4 * nu).denominator % 2)
    sticky = int((4 * nu).denominator != 1)
    tie = nu == Fraction(1, 2)

    # decide, per P3109 RoundAway
    away, rule = _decide(mode, rname, nu, neg, even, even_why, R, nbits)
    mag = base + (step if away else 0)
    direction = "exact" if nu == 0 else ("away from zero" if away else "toward zero")

    sgn = -1 if neg else 1
    maxmag = p[P.MAXMAG_NEG] if neg else p[P.MAXMAG]
    if not signed:
        maxmag = p[P.MAXMAG]

    def nb(val: Fraction, magcode: int) -> Neighbour:
        if p[P.HASZERO] == 0 and magcode < 0:
            return Neighbour(sgn * val, None, f"below the smallest value {f.smallest_subnormal!r}; no code")
        if magcode > maxmag:
            return Neighbour(sgn * val, None, f"beyond max {_maxstr(f, neg)}; no code")
        if val == 0:
            c, _ = _zero(neg, p, f)
            return Neighbour(sgn * val, c)
        if unsigned_neg:
            return Neighbour(sgn * val, None, "negative; the format is unsigned")
        return Neighbour(sgn * val, _sign(neg, magcode, p))

    tz = nb(lo_val, base)
    az = nb(hi_val, base + step)
    exact = nu == 0 and not unsigned_neg and 0 <= base <= maxmag
    res = dict(exact=exact, toward_zero=tz, away_from_zero=az, ulp=ulp, position=nu, guard=guard,
               round=rnd, sticky=sticky, tie=tie, random_bits=R, direction=direction)

    if p[P.HASZERO] == 0 and mag < 0:
        notes.append(f"below the smallest value: clamped to {f.smallest_subnormal!r}")
        mag = 0
    elif p[P.HASZERO] != 0 and mag == 0:
        code, zrule = _zero(neg, p, f)
        return _finish(Explanation(**common, **res, rule=rule + "; " + zrule, overflow="no (underflow to zero)",
                                   code=code, value=_value(code, f), notes=tuple(notes)), plan, xarr)
    if unsigned_neg:
        code, why = _unsigned_negative(False, p, mode, sat)
        return _finish(Explanation(**common, **res, rule=rule, overflow="negative value into an unsigned format: "
                                   + why, code=code, value=_value(code, f), notes=tuple(notes)), plan, xarr)
    if mag > maxmag:
        code, why = _overflow(neg, False, p, mode, sat, f, saturation, away or nu == 0)
        return _finish(Explanation(**common, **res, rule=rule, overflow=why, code=code, value=_value(code, f),
                                   notes=tuple(notes)), plan, xarr)
    code = _sign(neg, mag, p)
    value = _value(code, f)
    ovf = f"no: |{value_str(abs(value))}| <= max {_maxstr(f, neg)}"
    return _finish(Explanation(**common, **res, rule=rule, overflow=ovf, code=code, value=value,
                               notes=tuple(notes)), plan, xarr)


def _maxstr(f, neg: bool) -> str:
    """Largest finite magnitude on the side of the sign (ints: |min| on the negative side)."""
    if isinstance(f, IntFormat) and neg:
        return repr(-f.min)
    return repr(f.max)


def _finish(e: Explanation, plan, xarr) -> Explanation:
    if plan.post is None:
        return e
    dt = np.dtype(plan.fmt.code_dtype)
    codes = np.array([e.code & ((1 << (8 * dt.itemsize)) - 1)], dt)  # the kernel's store wraps, as here
    plan.post(np.asarray(xarr).reshape(1), codes)
    c = int(codes[0])
    if c == e.code:
        return e
    old, new = hex_code(e.code, plan.fmt), hex_code(c, plan.fmt)
    note = f"compat={e.policy.get('compat')} post-processing changes {old} to {new}"
    return replace(e, code=c, value=_value(c, plan.fmt), notes=(*e.notes, note))


def _value(code: int, f):
    if not 0 <= code < (1 << f.bits):  # a compat profile's intermediate code (fixed by its post-step)
        return float("nan")
    return f.exact_value(code)


def _sign(neg: bool, mag: int, p) -> int:
    if not neg:
        return mag
    if p[P.TWOS] != 0:
        return (-mag) & p[P.MASK]
    return mag | p[P.SIGNBIT]


def _zero(neg: bool, p, f) -> tuple[int, str]:
    if p[P.HASZERO] == 0:
        return int(p[P.NAN]), f"{f.name} has no zero: zero becomes NaN"
    if neg and p[P.NEGZERO] != 0:
        return int(p[P.SIGNBIT]), "negative zero keeps its sign"
    if neg:
        return 0, f"{f.name} has no negative zero: -0 becomes +0"
    return 0, "zero"


def _decide(mode, rname, nu, neg, even, even_why, R, nbits) -> tuple[bool, str]:
    half = Fraction(1, 2)
    if nu == 0:
        return False, "exact: no rounding needed"
    if mode == P.NEAREST_EVEN:
        if nu > half:
            return True, f"{rname}: past the midpoint, round away from zero"
        if nu < half:
            return False, f"{rname}: before the midpoint, round toward zero"
        if even:
            return False, f"{rname}: a tie; {even_why}, keep it (toward zero)"
        return True, f"{rname}: a tie; {even_why}, round away from zero to the even neighbour"
    if mode == P.NEAREST_AWAY:
        if nu == half:
            return True, f"{rname}: a tie, ties go away from zero"
        return nu > half, f"{rname}: {'past' if nu > half else 'before'} the midpoint, round " + (
            "away from zero" if nu > half else "toward zero")
    if mode == P.TOWARD_ZERO:
        return False, f"{rname}: truncate"
    if mode == P.TOWARD_POSITIVE:
        return (not neg), f"{rname}: inexact and {'negative, truncate' if neg else 'positive, round up'}"
    if mode == P.TOWARD_NEGATIVE:
        return neg, f"{rname}: inexact and {'negative, round down (away)' if neg else 'positive, truncate'}"
    if mode == P.TO_ODD:
        if even:
            return True, f"{rname}: inexact and {even_why}, take the odd neighbour (away from zero)"
        return False, f"{rname}: inexact and {even_why}, keep it"
    one = 1 << nbits
    if mode == P.STOCHASTIC_A:
        fl = math.floor(nu * one)
        away = fl + R >= one
        return away, f"{rname}: floor(nu*2^{nbits}) + R = {fl} + {R} {'>=' if away else '<'} 2^{nbits}"
    if mode == P.STOCHASTIC_B:
        k = one << 1
        fl = math.floor(nu * k)
        away = fl + 2 * R + 1 >= k
        cmp = ">=" if away else "<"
        return away, f"{rname}: floor(nu*2^{nbits + 1}) + 2R + 1 = {fl + 2 * R + 1} {cmp} 2^{nbits + 1}"
    if mode == P.STOCHASTIC_C:
        fl = round(nu * one)  # Fraction round: ties to even
        away = fl + R >= one
        return away, f"{rname}: rne(nu*2^{nbits}) + R = {fl} + {R} {'>=' if away else '<'} 2^{nbits}"
    raise AssertionError(f"unknown rounding id {mode}")


def _hasnan(p, nan_code) -> bool:
    """Whether the format itself has a NaN (a nan= policy code is not one)."""
    slot = getattr(P, "HASNAN", None)
    if slot is not None and slot < len(p):
        return p[slot] != 0
    return nan_code >= 0


def _unsigned_negative(is_inf: bool, p, mode, sat) -> tuple[int, str]:
    nan = p[P.NAN]
    if sat != P.SAT_NONE:
        return 0, "saturation clamps it to the smallest value"
    if not is_inf and mode in (P.TOWARD_ZERO, P.TOWARD_POSITIVE):
        return 0, "rounding toward zero/positive gives the smallest value"
    if _hasnan(p, nan):
        return int(nan), "saturation='none' makes it NaN (P3109)"
    return 0, "no NaN: the smallest value"


def _overflow(neg, is_inf, p, mode, sat, f, saturation, away=True) -> tuple[int, str]:
    """Code and reason for a value beyond max (or an infinite input); mirrors P3109 §4.7.5 / OCP."""
    maxc = p[P.MAXMAG_NEG] if neg else p[P.MAXMAG]
    inf = p[P.NINF] if neg else p[P.INF]
    nan = p[P.NNAN] if neg else p[P.NAN]
    s = "-" if neg else "+"
    what = f"{s}inf input" if is_inf else f"rounded magnitude beyond max {_maxstr(f, neg)}"
    if sat == P.SAT_FINITE:
        to_max, why = True, "saturation='finite' clamps to"
    elif sat == P.SAT_PROPAGATE:
        if is_inf and inf >= 0:
            to_max, why = False, "saturation='propagate' keeps infinities:"
        else:
            to_max, why = True, "saturation='propagate' clamps finite overflow to"
    elif is_inf:
        if inf >= 0:
            to_max, why = False, "saturation='none':"
        elif p[P.OVFNAN] == 0 or not _hasnan(p, nan):
            to_max, why = True, f"saturation='none', {f.name} has no inf and overflows to max:"
        else:
            to_max, why = False, f"saturation='none', {f.name} has no inf:"
    elif mode == P.TOWARD_ZERO or (mode == P.TOWARD_NEGATIVE and not neg) or (mode == P.TOWARD_POSITIVE and neg):
        to_max, why = True, "saturation='none' but the rounding is toward zero for this sign, so"
    elif p[P.P3109] != 0 and mode == P.TO_ODD and p[P.SIGNED] == 0 and p[P.INF] >= 0:
        to_max, why = True, "saturation='none', to_odd into an unsigned extended P3109 format gives"
    elif p[P.P3109] == 0 and mode >= P.TO_ODD and not away:
        to_max, why = True, "saturation='none' and the rounding truncated (toward zero) past max (ERRATA 5), so"
    elif inf >= 0:
        to_max, why = False, "saturation='none': overflow to"
    elif p[P.OVFNAN] == 0 or not _hasnan(p, nan):
        to_max, why = True, f"saturation='none', {f.name} has no inf and saturates (no overflow NaN):"
    else:
        to_max, why = False, f"saturation='none', {f.name} has no inf, so overflow gives"
    if to_max:
        code = _sign(neg, maxc, p)
        return code, f"yes: {what}; {why} {s}max {hex_code(code, f)}"
    if inf >= 0:
        code, tgt = inf, f"{s}inf"
    else:
        code, tgt = nan, "NaN"
    if code < 0:
        raise AssertionError("overflow with neither inf nor NaN")
    return int(code), f"yes: {what}; {why} {tgt} {hex_code(code, f)}"
