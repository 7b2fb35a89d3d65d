"""Specialised float32 -> small-float encode for round-to-nearest-even.

The FPU does the rounding: adding a power of two whose ulp equals the target
quantum makes the float32 adder round |x| to the target grid (ties to even),
and the integer difference of the bit patterns is the rounded significand::

    magic = 2**(Eq + 23 - M)          Eq = clamp(E, EMIN, ECAP)   (binade of the result)
    t     = |x| + magic                one float32 add, RNE
    n     = bits(t) - bits(magic)      |x| rounded, in units of 2**(Eq - M)
    code  = ((Eq - EMIN) << M) + n     the magnitude code (n may carry into the next binade)

This is exact for every float32 input when M >= 1, EMIN >= -126 and
ECAP + 23 - M <= 127 (checked by :func:`eligible`); the tests compare it with
the general funnel on every float32 pattern class. Specials are selected
branch-free so the loop vectorises.
"""

from __future__ import annotations

import numpy as np

from . import params as P
from .bits import f32_as_i32, i32_as_f32
from .encode import random_bits
from .jit import jit
from .round import overflow_code

__all__ = ["eligible", "constants", "constants_any", "encode_f32_rne", "encode_f32_det", "encode_f32_sr"]


def eligible(p, magic: bool = False) -> bool:
    """Whether a format's params allow the float32 fast loops.

    The integer loops (``encode_f32_det``/``_sr``) need a signed float format with
    zero and subnormals whose lowest binade is inside float32's normal range
    (EMIN >= -126). The FPU loop (``magic=True``) also needs its magic number
    2**(Eq + 23 - M) to stay finite for every binade up to ECAP.
    """
    ok = (
        p[P.KIND] == 0
        and p[P.HASZERO] == 1
        and p[P.FTZ] == 0
        and p[P.SIGNED] == 1
        and p[P.EVEN_N] == 0
        and 1 <= p[P.M] <= 22
        and p[P.EMIN] >= -126
        and p[P.MAXMAG] < (1 << 30)
    )
    return ok and (not magic or p[P.ECAP] + 23 - p[P.M] <= 127)


_I32 = np.int32


@jit
def constants(p, sat):
    """The format slots the nearest-even loop needs, then the codes for overflow
    (+/-), infinities (+/-) and NaNs (+/-) under this saturation mode, as int32."""
    e = P.NEAREST_EVEN
    return (
        _I32(p[P.M]), _I32(p[P.EMIN] + 127), _I32(p[P.ECAP] + 127), _I32(p[P.MAXMAG]), _I32(p[P.SIGNBIT]),
        _I32(p[P.NEGZERO]),
        _I32(overflow_code(False, False, p, e, sat)), _I32(overflow_code(True, False, p, e, sat)),
        _I32(overflow_code(False, True, p, e, sat)), _I32(overflow_code(True, True, p, e, sat)),
        _I32(p[P.NAN]), _I32(p[P.NNAN]),
    )


@jit
def encode_f32_rne(xb, out, p, sat):
    """Encode float32 bit patterns ``xb`` (int32 view) with nearest-even into ``out``."""
    _rne_loop(xb, out, *constants(p, sat))


@jit
def _magic_round(ax, m, emin_b, cap_b):
    """|x| (float32 bits ``ax``) rounded to nearest-even on the grid by one float add.

    Returns the magnitude code, |x|, the magic number and |x| + magic (all
    float32 but the code), see the module notes.
    """
    eq = _I32(min(max(_I32(ax >> _I32(23)), emin_b), cap_b))
    magic = _I32(_I32(_I32(eq + _I32(23)) - m) << _I32(23))
    mf = i32_as_f32(magic)
    xf = i32_as_f32(ax)
    t = xf + mf
    return _I32(_I32(_I32(eq - emin_b) << m) + _I32(f32_as_i32(t) - magic)), xf, mf, t


@jit
def _pack(mag, negm, nz, signbit, maxmag, ovf):
    """Code of a rounded magnitude: ``ovf`` past max, else the sign OR-ed in through the mask
    ``negm`` (all ones for negatives), kept on a zero only where ``nz`` says the format has -0."""
    keep = _I32(nz | -_I32(mag != _I32(0)))
    return ovf if mag > maxmag else _I32(mag | _I32(signbit & _I32(negm & keep)))


@jit
def _fix_specials(xb, out, inf_p, inf_n, nan_p, nan_n):
    """Scalar pass: the codes of infinite and NaN inputs (flagged by a vectorised loop)."""
    for i in range(xb.size):
        b = xb[i]
        ax = b & _I32(0x7FFFFFFF)
        if ax == _I32(0x7F800000):
            out[i] = inf_n if b < 0 else inf_p
        elif ax > _I32(0x7F800000):
            out[i] = nan_n if b < 0 else nan_p


@jit
def _rne_loop(xb, out, m, emin_b, cap_b, maxmag, signbit, negzero, ovf_p, ovf_n, inf_p, inf_n, nan_p, nan_n):
    """Encode float32 bit patterns ``xb`` (int32 view) with nearest-even.

    Every intermediate is int32 (numba would widen to int64 and halve the SIMD
    width) and the common path is straight-line: the sign is OR-ed in through a
    mask made by an arithmetic shift, overflow is one select. Infinities and
    NaNs (rare) only set a flag in the vectorised loop; a scalar pass then
    rewrites those elements.
    """
    nz = _I32(-1) if negzero != 0 else _I32(0)
    dov = _I32(ovf_p ^ ovf_n)
    special = False
    for i in range(xb.size):
        b = xb[i]
        ax = _I32(b & _I32(0x7FFFFFFF))
        mag = _magic_round(ax, m, emin_b, cap_b)[0]
        negm = _I32(b >> _I32(31))  # all ones for negative inputs
        out[i] = _pack(mag, negm, nz, signbit, maxmag, _I32(ovf_p ^ _I32(dov & negm)))
        special |= ax >= _I32(0x7F800000)
    if special:
        _fix_specials(xb, out, inf_p, inf_n, nan_p, nan_n)



@jit
def _dir_loop(xb, out, m, emin_b, cap_b, maxmag, signbit, negzero, ovf_p, ovf_n, inf_p, inf_n, nan_p, nan_n, mode):
    """nearest_away and the three directed modes through the FPU (formats that allow ``magic``).

    The magic add gives the nearest-even neighbour ``r`` (exact on the grid);
    comparing ``r`` with |x| says whether it rounded up or down, so each mode
    is a +-1 correction of the code::

        toward_zero       mag - (r > |x|)
        toward_positive   mag + (r < |x|) for x > 0, as toward_zero for x < 0 (mirrored)
        nearest_away      mag + 1 where |x| - r is exactly half an ulp (a tie rounded down)

    The half ulp is magic * 2**-24, exact even when it is a float32 subnormal.
    """
    nz = _I32(-1) if negzero != 0 else _I32(0)
    dov = _I32(ovf_p ^ ovf_n)
    two_m24 = np.float32(2.0**-24)
    special = False
    for i in range(xb.size):
        b = xb[i]
        ax = _I32(b & _I32(0x7FFFFFFF))
        negm = _I32(b >> _I32(31))
        mag, xf, mf, t = _magic_round(ax, m, emin_b, cap_b)
        r = t - mf  # exact: the nearest-even grid value
        up = _I32(r > xf)
        down = _I32(r < xf)
        tie_down = _I32((xf - r) == mf * two_m24)
        pos = _I32(~negm & _I32(1))
        neg1 = _I32(negm & _I32(1))
        if mode == P.TOWARD_ZERO:
            mag = _I32(mag - up)
        elif mode == P.TOWARD_POSITIVE:
            mag = _I32(mag + _I32(down & pos) - _I32(up & neg1))
        elif mode == P.TOWARD_NEGATIVE:
            mag = _I32(mag + _I32(down & neg1) - _I32(up & pos))
        else:  # nearest_away
            mag = _I32(mag + tie_down)
        out[i] = _pack(mag, negm, nz, signbit, maxmag, _I32(ovf_p ^ _I32(dov & negm)))
        special |= ax >= _I32(0x7F800000)
    if special:
        _fix_specials(xb, out, inf_p, inf_n, nan_p, nan_n)


@jit
def encode_f32_dir(xb, out, p, mode, sat):
    """nearest_away / toward_zero / toward_positive / toward_negative through :func:`_dir_loop`."""
    c = constants(p, sat)
    _dir_loop(xb, out, c[0], c[1], c[2], c[3], c[4], c[5],
              _I32(overflow_code(False, False, p, mode, sat)), _I32(overflow_code(True, False, p, mode, sat)),
              c[8], c[9], c[10], c[11], mode)


_I64 = np.int64


@jit
def encode_f32_det(xb, out, p, mode, sat):
    """float32 -> small float for the deterministic modes into ``out``."""
    c = constants_any(p, mode, sat)
    _det_loop(xb, out, _I32(c[0]), _I32(c[1]), _I32(c[2]), _I32(c[3]), _I32(c[4]), _I32(c[5]), _I32(c[6]),
              _I32(c[7]), _I32(c[8]), _I32(c[9]), _I32(c[10]), _I32(c[11]), _I32(mode), _I32(c[12]), _I32(c[13]))


@jit
def _det_loop(xb, out, m, emin, ecap, maxmag, signbit, negzero, ovf_p, ovf_n, inf_p, inf_n, nan_p, nan_n, mode,
              tz_p, tz_n):
    """float32 -> small float for the deterministic modes, branch-free int32.

    The discarded-bit count is clamped at 25: below that the whole 24-bit
    significand is discarded (n = 0, rem < half) and every mode decides alike.
    Each mode's round-away test is a mask; infinities and NaNs are rewritten by a
    scalar pass when the vectorised loop flagged any (as in :func:`_rne_loop`).
    """
    one = _I32(1)
    m_rne = _I32(-1) if mode == 0 else _I32(0)
    m_rna = _I32(-1) if mode == 1 else _I32(0)
    m_up = _I32(-1) if mode == 3 else _I32(0)  # toward_positive: away for positives
    m_dn = _I32(-1) if mode == 4 else _I32(0)  # toward_negative: away for negatives
    m_odd = _I32(-1) if mode == 5 else _I32(0)
    nz = _I32(-1) if negzero != 0 else _I32(0)
    dov = _I32(ovf_p ^ ovf_n)
    dtz = _I32(tz_p ^ tz_n)
    special = False
    for i in range(xb.size):
        b = xb[i]
        ax = _I32(b & _I32(0x7FFFFFFF))
        negm = _I32(b >> _I32(31))
        eb = _I32(ax >> _I32(23))
        sig = _I32(_I32(ax & _I32(0x7FFFFF)) | _I32(_I32(eb != _I32(0)) << _I32(23)))
        eq = _I32(max(_I32(eb - _I32(127)), emin))  # no cap: codes past max keep their parity
        shift = _I32(_I32(_I32(eq - m) - _I32(max(eb, one) - _I32(150))))
        shift = _I32(min(max(shift, one), _I32(25)))
        rem = _I32(sig & _I32(_I32(one << shift) - one))
        half = _I32(one << _I32(shift - one))
        mag = _I32(_I32(_I32(eq - emin) << m) + _I32(sig >> shift))
        odd = _I32(-_I32(mag & one))
        above = _I32(-_I32(rem > half))
        tie = _I32(-_I32(rem == half))
        inexact = _I32(-_I32(rem != _I32(0)))
        inc = _I32(
            (m_rne & (above | (tie & odd)))
            | (m_rna & (above | tie))
            | (m_up & inexact & ~negm)
            | (m_dn & inexact & negm)
            | (m_odd & inexact & ~odd)
        )
        mag = _I32(mag - inc)  # inc is 0 or -1
        away = _I32(inc | ~inexact)
        ovf = _I32(_I32(ovf_p ^ _I32(dov & negm)) & away) | _I32(_I32(tz_p ^ _I32(dtz & negm)) & ~away)
        out[i] = _pack(mag, negm, nz, signbit, maxmag, ovf)
        special |= ax >= _I32(0x7F800000)
    if special:
        _fix_specials(xb, out, inf_p, inf_n, nan_p, nan_n)


@jit
def _inc_sr(mode, rem, shift, rbits, nbits):
    """Round-away decision of the stochastic modes (P3109 A, B, C) as selects.

    ``nu`` is the discarded fraction as a 40-bit fixed-point number, a sticky bit
    jammed into its last place when more than 40 bits were discarded (N <= 32, so
    the bits each rule reads, and C's tie test, stay exact).
    """
    one = _I64(1)
    lo = shift > 40
    nu = (rem >> (shift - 40)) if lo else (rem << (40 - shift))
    nu |= _I64(lo & ((rem & ((one << (shift - 40)) - one)) != 0)) if lo else _I64(0)
    k = 40 - nbits
    f = nu >> k
    top = one << nbits
    r = nu & ((one << k) - one)
    h = one << (k - 1)
    fc = f + _I64((r > h) | ((r == h) & ((f & one) == one)))
    a = f + rbits >= top
    b = (nu >> (k - 1)) + 2 * rbits + one >= (top << one)
    c = fc + rbits >= top
    return (mode == P.STOCHASTIC_A) & a | (mode == P.STOCHASTIC_B) & b | (mode == P.STOCHASTIC_C) & c


@jit
def encode_f32_sr(xb, out, p, mode, sat, rkind, rarr, key, nbits, offset):
    """float32 -> small float with stochastic rounding into ``out``.

    The loop computes in int64; LLVM vectorises its uint8 stores badly (2.5x
    slower than uint16), so 8-bit codes go through a small uint16 buffer.
    """
    c = constants_any(p, mode, sat)
    if out.itemsize != 1:
        _sr_loop(xb, out, *c, mode, rkind, rarr, key, nbits, offset)
        return
    n = xb.size
    step = 1 << 13
    buf = np.empty(min(n, step), np.uint16)
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        r = rarr[lo:hi] if rkind == 1 else rarr
        _sr_loop(xb[lo:hi], buf[: hi - lo], *c, mode, rkind, r, key, nbits, offset + lo)
        out[lo:hi] = buf[: hi - lo]


@jit
def _sr_loop(xb, out, m, emin, ecap, maxmag, signbit, negzero, ovf_p, ovf_n, inf_p, inf_n, nan_p, nan_n, tz_p,
             tz_n, mode, rkind, rarr, key, nbits, offset):
    """float32 -> small float with stochastic rounding, branch-free int64.

    Random bits come from ``rarr`` (rkind 1, one per element) or the
    counter-based stream ``random_bits(key, index)`` (rkind 2).
    """
    rmask = -1 if rkind == 1 else 0
    for i in range(xb.size):
        b = _I64(xb[i])
        ax = b & _I64(0x7FFFFFFF)
        neg = b < 0
        eb = ax >> _I64(23)
        sig = (ax & _I64(0x7FFFFF)) | (_I64(eb != 0) << _I64(23))
        eq = max(eb - _I64(127), emin)  # no cap: codes past max keep their grid
        shift = min(max(eq - m - (max(eb, _I64(1)) - _I64(150)), _I64(1)), _I64(60))
        n = sig >> shift
        rem = sig & ((_I64(1) << shift) - _I64(1))
        r1 = _I64(rarr[i & rmask])
        r2 = random_bits(key, i + offset, nbits)
        r = r1 if rkind == 1 else r2
        inc = _I64(_inc_sr(mode, rem, shift, r, nbits))
        mag = ((eq - emin) << m) + n + inc
        res = (mag | signbit) if neg else mag
        ovf = (ovf_n if neg else ovf_p) if (inc != 0) | (rem == 0) else (tz_n if neg else tz_p)
        res = ovf if mag > maxmag else res
        res = _I64(0) if (mag == 0) & neg & (negzero == 0) else res
        res = (inf_n if neg else inf_p) if ax == _I64(0x7F800000) else res
        res = (nan_n if neg else nan_p) if ax > _I64(0x7F800000) else res
        out[i] = res


@jit
def constants_any(p, mode, sat):
    """Slots and special codes of the mode-generic loops (int64), as :func:`constants`."""
    return (
        _I64(p[P.M]), _I64(p[P.EMIN]), _I64(p[P.ECAP]), _I64(p[P.MAXMAG]), _I64(p[P.SIGNBIT]), _I64(p[P.NEGZERO]),
        _I64(overflow_code(False, False, p, mode, sat)), _I64(overflow_code(True, False, p, mode, sat)),
        _I64(overflow_code(False, True, p, mode, sat)), _I64(overflow_code(True, True, p, mode, sat)),
        _I64(p[P.NAN]), _I64(p[P.NNAN]),
        _I64(overflow_code(False, False, p, mode, sat, False)), _I64(overflow_code(True, False, p, mode, sat, False)),
    )
