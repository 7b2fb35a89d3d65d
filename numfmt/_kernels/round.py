"""THE rounding funnel: one exact intermediate in, one code out.

Every operation of numfmt (conversion, block scaling, arithmetic, accumulation)
reduces its result to an exact intermediate

    cls, neg, sig, exp   with value (-1)**neg * sig * 2**exp

(`sig` a positive int64 < 2**62; if the operation had to drop bits, it ORs a
sticky 1 into the lowest bit of `sig` after keeping at least N + 3 bits below
the target's last place, N the number of random bits) and calls
`round_pack`, which applies the format (params) and the policy
(rounding mode, saturation, random bits).

Legend: M trailing significand bits; E = floor(log2 |value|); the target
quantum is 2**q with q = max(E, EMIN) - M; `n` = |value| / 2**q truncated,
`rem` the discarded bits, `shift` their count::

    sig:  1 x x x x x x | r r r r r r r
          <-- n ------->  <-- rem ----->   rem / 2**shift = nu, the fraction
                                            past the truncated code
"""

from __future__ import annotations

import numpy as np

from . import params as P
from .bits import clz64, f64_as_i64, shift_right_jam
from .jit import jit

__all__ = ["decompose", "round_magnitude", "round_pack", "overflow_code"]


@jit
def decompose(v):
    """Exact (cls, neg, sig, exp) of a float32 or float64 scalar: the intermediate of a conversion."""
    b = f64_as_i64(np.float64(v))
    neg = b < 0
    e = (b >> 52) & 0x7FF
    frac = b & 0xFFFFFFFFFFFFF
    if e == 0x7FF:
        return (P.NOTANUMBER if frac != 0 else P.INFINITE), neg, np.int64(0), np.int64(0)
    if e == 0:
        if frac == 0:
            return P.ZERO, neg, np.int64(0), np.int64(0)
        return P.FINITE, neg, frac, np.int64(-1074)
    return P.FINITE, neg, frac | (np.int64(1) << 52), e - 1075


@jit
def round_magnitude(neg, sig, exp, p, mode, rbits, nbits):
    """Round |value| = sig * 2**exp onto the format grid.

    Returns `(mag, away)`: the magnitude code, which may exceed the largest
    finite one (overflow is decided by the caller), and 0 when the rounding
    truncated an inexact value (moved toward zero), else 1 (moved away, or
    exact). `sig` must be > 0. Beyond the format the grid continues with the
    same quantum per binade, so a truncated code there has a parity (to_odd)
    like any other.
    """
    m = p.M
    emin = p.EMIN
    E = exp + 63 - clz64(sig)
    ftz = p.FTZ != 0 and E < emin
    Eq = max(E, emin)
    q = emin if ftz else Eq - m
    shift = q - exp
    if shift <= 0:  # exact; sig has at most M + 1 significant bits here
        n = sig << (-shift)
        return ((Eq - emin) << m) + n - p.OFF, np.int64(1)
    if shift > 62:  # keep 62 bits, jam the rest into a sticky bit
        sig = shift_right_jam(sig, shift - 62)
        shift = 62
    one = np.int64(1)
    n = sig >> shift
    rem = sig & ((one << shift) - 1)
    half = one << (shift - 1)
    if ftz:
        base = np.int64(0)  # n == 0 here: the neighbours are 0 and 2**EMIN
        code_even = True
    else:
        base = ((Eq - emin) << m) + n - p.OFF
        code_even = ((n if p.EVEN_N != 0 else base) & 1) == 0
    inc = np.int64(0)
    if mode == P.NEAREST_EVEN:
        inc = np.int64(rem > half or (rem == half and not code_even))
    elif mode == P.NEAREST_AWAY:
        inc = np.int64(rem >= half)
    elif mode == P.NEAREST_TOWARD_ZERO:
        inc = np.int64(rem > half)
    elif mode == P.TOWARD_POSITIVE:
        inc = np.int64(rem != 0 and not neg)
    elif mode == P.TOWARD_NEGATIVE:
        inc = np.int64(rem != 0 and neg)
    elif mode == P.TO_ODD:
        inc = np.int64(rem != 0 and code_even)
    elif mode == P.STOCHASTIC_A:
        f = rem >> (shift - nbits) if shift >= nbits else rem << (nbits - shift)
        inc = np.int64(f + rbits >= (one << nbits))
    elif mode == P.STOCHASTIC_B:
        k = nbits + 1
        f = rem >> (shift - k) if shift >= k else rem << (k - shift)
        inc = np.int64(f + 2 * rbits + 1 >= (one << k))
    elif mode == P.STOCHASTIC_C:
        if shift > nbits:
            k = shift - nbits
            f = rem >> k
            r2 = rem & ((one << k) - 1)
            h2 = one << (k - 1)
            if r2 > h2 or (r2 == h2 and (f & 1) == 1):
                f += 1
        else:
            f = rem << (nbits - shift)
        inc = np.int64(f + rbits >= (one << nbits))
    elif mode == P.STOCHASTIC_ODD:  # as C, the N-bit fraction rounded to nearest with ties to odd
        if shift > nbits:
            k = shift - nbits
            f = rem >> k
            r2 = rem & ((one << k) - 1)
            h2 = one << (k - 1)
            if r2 > h2 or (r2 == h2 and (f & 1) == 0):
                f += 1
        else:
            f = rem << (nbits - shift)
        inc = np.int64(f + rbits >= (one << nbits))
    away = inc | np.int64(rem == 0)
    if ftz:
        return (inc << m) - p.OFF, away
    return base + inc, away


@jit
def overflow_code(neg, is_inf, p, mode, sat, away=True):
    """Code for a value rounded beyond the largest finite one (or an infinite input).

    `away` is False when the rounding truncated an inexact value. Under
    `saturation="none"` it decides to_odd and the stochastic modes of
    non-P3109 formats by the IEEE 754 rule for the direction actually taken: rounded away past max gives the overflow
    value, truncated (toward zero) gives max. The three nearest modes (ties to even, away, toward zero) overflow
    alike. P3109 formats follow SatNone of their edition (Interim Report
    v4.0: to_odd into an unsigned extended format gives max; the 2026-07-07 formal model: +inf; its NaN for
    finite-domain overflow comes from `OVFNAN`).
    """
    maxc = p.MAXMAG_NEG if neg else p.MAXMAG
    inf = p.NINF if neg else p.INF
    nan = p.NNAN if neg else p.NAN
    to_max = False
    if sat == P.SAT_FINITE:
        to_max = True
    elif sat == P.SAT_PROPAGATE:
        to_max = not (is_inf and inf >= 0)
    elif is_inf:
        if inf < 0:
            to_max = p.OVFNAN == 0 or p.HASNAN == 0
    elif (
        mode == P.TOWARD_ZERO
        or (mode == P.TOWARD_NEGATIVE and not neg)
        or (mode == P.TOWARD_POSITIVE and neg)
        or (p.P3109 == 1 and mode == P.TO_ODD and p.SIGNED == 0 and p.INF >= 0)
        or (p.P3109 == 0 and P.TO_ODD <= mode <= P.STOCHASTIC_ODD and not away)
    ):
        to_max = True
    elif inf < 0:
        to_max = p.OVFNAN == 0 or p.HASNAN == 0
    if to_max:
        return _sign(neg, maxc, p)
    if inf >= 0:
        return inf
    return nan


@jit
def _sign(neg, mag, p):
    if not neg:
        return mag
    if p.TWOS != 0:
        return (-mag) & p.MASK
    return mag | p.SIGNBIT


@jit
def _zero(neg, p):
    if p.HASZERO == 0:
        return p.NAN
    if neg and p.NEGZERO != 0:
        return p.SIGNBIT
    return np.int64(0)


@jit
def _unsigned_negative(is_inf, p, mode, sat):
    """A negative nonzero value (or -inf) for an unsigned format: P3109 rules."""
    lo = np.int64(0)  # Mlo: zero, or the smallest value of a format without zero
    if sat != P.SAT_NONE:
        return lo
    if not is_inf and (mode == P.TOWARD_ZERO or mode == P.TOWARD_POSITIVE):
        return lo
    return p.NAN if p.HASNAN != 0 else lo


@jit
def round_pack(cls, neg, sig, exp, p, mode, sat, rbits, nbits):
    """Round the exact intermediate and pack it into a code.

    Returns -1 only for a NaN into a format that has no NaN code (the caller's
    `nan=` policy has no code for it).
    """
    if cls == P.NOTANUMBER:
        return p.NNAN if neg else p.NAN
    if cls == P.ZERO:
        if p.HASZERO == 0 and sat != P.SAT_NONE:
            return np.int64(0)  # no zero (E8M0): saturation clamps it to the smallest value, as a negative
        return _zero(neg, p)
    unsigned_neg = neg and p.SIGNED == 0
    # `is_inf` (a runtime bool, not a literal True/False) in every call below: numba compiles
    # `overflow_code` and `_unsigned_negative` once each instead of once per literal argument
    is_inf = cls == P.INFINITE
    if is_inf:
        if unsigned_neg:
            return _unsigned_negative(is_inf, p, mode, sat)
        return overflow_code(neg, is_inf, p, mode, sat, is_inf)  # (away: an infinity is not a truncation)
    mag, away = round_magnitude(neg, sig, exp, p, mode, rbits, nbits)
    if p.HASZERO == 0:
        mag = max(mag, np.int64(0))
    elif mag == 0:
        return _zero(neg, p)
    if unsigned_neg:
        return _unsigned_negative(is_inf, p, mode, sat)
    if mag > (p.MAXMAG_NEG if neg else p.MAXMAG):
        return overflow_code(neg, is_inf, p, mode, sat, away != 0)
    return _sign(neg, mag, p)
