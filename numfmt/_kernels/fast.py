"""Specialised float32 -> small-format encode loops, registered as variants of `round_pack`.

Each loop is registered (bottom of this module; `numfmt._kernels.variants`) with the
inputs, formats, modes and saturations it covers, and proved equal to the exact loop
on them in tests/test_variants.py:

* `encode.f32.rne` / `encode.f32.dir` (`_rne_loop` / `_dir_loop`, `_odd_loop`):
  nearest-even through the FPU (below), and nearest-away, the directed modes and to_odd as a
  +-1 correction of it;
* `encode.f32.half` (`_half_loop`, `_half_dir_loop`): IEEE binary16 by the CPU's conversion
  instruction (F16C `vcvtps2ph`), nearest-even, and the directed modes as a +-1 correction of it;
* `encode.f32.top` (`_top_rne_loop`, `_top_loop`): the deterministic modes by integer rounding of the
  bit pattern, for formats whose codes are float32's top bits (bfloat16, TF32);
* `encode.f32.det` (`_det_loop`): every deterministic mode (nearest_toward_zero too) in branch-free int32
  (formats the other loops do not fit);
* `encode.f32.sr` (`encode_f32_sr`): the stochastic modes, an int32 carry loop fed by
  chunked random words;
* `encode.f32.int` (`encode_f32_int`): integer formats through the FPU;
* `encode.f32.int_sr` (`encode_f32_int_sr`): integer formats, stochastic modes (integer part by a
  float -> int conversion, the step by `_sr_away`).

The FPU does the rounding: adding a power of two whose ulp equals the target
quantum makes the float32 adder round |x| to the target grid (ties to even),
and the integer difference of the bit patterns is the rounded significand::

    magic = 2**(Eq + 23 - M)          Eq = clamp(E, EMIN, ECAP)   (binade of the result)
    t     = |x| + magic                one float32 add, RNE
    n     = bits(t) - bits(magic)      |x| rounded, in units of 2**(Eq - M)
    code  = ((Eq - EMIN) << M) + n     the magnitude code (n may carry into the next binade)

This is exact for every float32 input when M >= 1, EMIN >= -126 and
ECAP + 23 - M <= 127 (checked by `eligible`); the tests compare it with
the general funnel on every float32 pattern class. Specials are selected
branch-free so the loop vectorises.
"""

from __future__ import annotations

import functools
import types
from typing import NamedTuple

import numpy as np

from . import params as P
from .bits import f16_bits_to_f32, f32_as_i32, f32_to_f16_bits, has_f16c, i32_as_f32, prefetch
from .jit import jit
from .lanes import directed_step, magic_round, overflow_select, pack_code
from .round import decompose, overflow_code, round_pack
from .streams import field_bits, fill_words
from .variants import register

__all__ = ["eligible", "int_eligible", "top_eligible", "Codes", "constants_any", "codes_py",
           "encode_f32_sr", "encode_f32_int", "encode_f32_int_sr"]


def eligible(p, magic: bool = False) -> bool:
    """Whether a format's params allow the float32 fast loops.

    The integer loops (`encode.f32.det`/`.sr`) need a signed float format with
    zero and subnormals whose lowest binade is inside float32's normal range
    (EMIN >= -126). The FPU loop (`magic=True`) also needs its magic number
    2**(Eq + 23 - M) to stay finite for every binade up to ECAP.
    """
    ok = (
        p.KIND == 0
        and p.HASZERO == 1
        and p.FTZ == 0
        and p.SIGNED == 1
        and p.EVEN_N == 0
        and 1 <= p.M <= 22
        and p.EMIN >= -126
        and p.MAXMAG < (1 << 30)
    )
    return ok and (not magic or p.ECAP + 23 - p.M <= 127)


_I32 = np.int32


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
    """Encode float32 bit patterns `xb` (int32 view) with nearest-even.

    Every intermediate is int32 (numba would widen to int64 and halve the SIMD
    width) and the common path is straight-line: the sign is OR-ed in through a
    mask made by an arithmetic shift, overflow is one select. Infinities and
    NaNs (rare) only raise a running max of |x|'s bits in the vectorised loop (a
    max reduction vectorises better than an OR of flags); a scalar pass then
    rewrites those elements.
    """
    nz = _I32(-1) if negzero != 0 else _I32(0)
    dov = _I32(ovf_p ^ ovf_n)
    amax = _I32(0)
    for i in range(xb.size):
        b = xb[i]
        ax = _I32(b & _I32(0x7FFFFFFF))
        mag = magic_round(ax, m, emin_b, cap_b)[0]
        negm = _I32(b >> _I32(31))  # all ones for negative inputs
        out[i] = pack_code(mag, negm, nz, signbit, maxmag, _I32(ovf_p ^ _I32(dov & negm)))
        amax = max(amax, ax)
    if amax >= _I32(0x7F800000):
        _fix_specials(xb, out, inf_p, inf_n, nan_p, nan_n)


_PF_BLOCK = 512  # elements per block of the prefetching loops
_PF_AHEAD = 4096  # elements ahead they prefetch (16 KiB of float32)


@jit
def _prefetch_ahead(xb, lo, last):
    """Prefetch the cache lines of xb[lo + _PF_AHEAD : lo + _PF_AHEAD + _PF_BLOCK] (clamped to `last`):
    measured on 10M float32, the directed and to_odd loops ran at 0.72-0.84 and 1.9-2.2 ns per
    element without it (their reads following their arithmetic), 0.51 and 0.54-0.59 with it; the
    nearest-even loop measured no gain and has none."""
    for k in range(0, _PF_BLOCK, 16):
        prefetch(xb, min(np.uint64(lo + _PF_AHEAD + k), last))


@jit
def _dir_loop(xb, out, m, emin_b, cap_b, maxmag, signbit, negzero, ovf_p, ovf_n, inf_p, inf_n, nan_p, nan_n, mode):
    """nearest_away and the three directed modes through the FPU (formats that allow `magic`).

    The magic add gives the nearest-even neighbour `r` (exact on the grid);
    comparing `r` with |x| says whether it rounded up or down, so each mode
    is a +-1 correction of the code::

        toward_zero       mag - (r > |x|)
        toward_positive   mag + (r < |x|) for x > 0, as toward_zero for x < 0 (mirrored)
        nearest_away      mag + 1 where |x| - r is exactly half an ulp (a tie rounded down)

    The half ulp is magic * 2**-24, exact even when it is a float32 subnormal.
    """
    nz = _I32(-1) if negzero != 0 else _I32(0)
    dov = _I32(ovf_p ^ ovf_n)
    two_m24 = np.float32(2.0**-24)
    amax = _I32(0)
    last = np.uint64(max(xb.size - 1, 0))
    for lo in range(0, xb.size, _PF_BLOCK):  # (blocks, each prefetching the lines _PF_AHEAD elements on)
        _prefetch_ahead(xb, lo, last)
        o = np.uint64(lo)
        for j in range(np.uint64(min(_PF_BLOCK, xb.size - lo))):
            i = o + j
            b = xb[i]
            ax = _I32(b & _I32(0x7FFFFFFF))
            negm = _I32(b >> _I32(31))
            mag, xf, mf, t = magic_round(ax, m, emin_b, cap_b)
            r = t - mf  # exact: the nearest-even grid value
            mag = directed_step(mag, _I32(r > xf), _I32(r < xf), _I32((xf - r) == mf * two_m24), negm, mode)
            out[i] = pack_code(mag, negm, nz, signbit, maxmag, _I32(ovf_p ^ _I32(dov & negm)))
            amax = max(amax, ax)
    if amax >= _I32(0x7F800000):
        _fix_specials(xb, out, inf_p, inf_n, nan_p, nan_n)


@jit
def _odd_loop(xb, out, m, emin_b, cap_b, maxmag, signbit, negzero, ovf_p, ovf_n, inf_p, inf_n, nan_p, nan_n, tz_p,
              tz_n):
    """to_odd through the FPU (formats that allow `magic`), as `_dir_loop`: the truncated code is the
    nearest-even one less (r > |x|), and an inexact result takes its odd neighbour::

        code = (mag - (r > |x|)) | (r != |x|)

    Past max, a result above the truncated code (or exact) takes the overflow code, else the
    truncated one (`overflow_select`, as `_det_loop`). Above the capped binade the magic grid
    is coarser than the format's, so there the truncated code's parity and inexactness come
    from the bits of |x|.
    """
    nz, dov, dtz = _sign_masks(negzero, ovf_p, ovf_n, tz_p, tz_n)
    big_b = _I32(_I32(min(_I32(cap_b + _I32(1)), _I32(255))) << _I32(23))  # |x| past the capped binade
    sh = _I32(_I32(23) - m)
    lowm = _I32(_I32(_I32(1) << _I32(sh & _I32(31))) - _I32(1))
    amax = _I32(0)
    last = np.uint64(max(xb.size - 1, 0))
    for lo in range(0, xb.size, _PF_BLOCK):  # (as `_dir_loop`)
        _prefetch_ahead(xb, lo, last)
        o = np.uint64(lo)
        for j in range(np.uint64(min(_PF_BLOCK, xb.size - lo))):
            i = o + j
            b = xb[i]
            ax = _I32(b & _I32(0x7FFFFFFF))
            negm = _I32(b >> _I32(31))
            mag, xf, mf, t = magic_round(ax, m, emin_b, cap_b)
            r = t - mf  # exact: the nearest-even grid value
            up = _I32(r > xf)
            inexact = _I32(r != xf)
            trunc = _I32(mag - up)
            mag = _I32(trunc | inexact)
            odd_in = _I32(trunc & inexact)  # 1: an odd truncated code kept (rounded toward zero), else away/exact
            odd_big = _I32(_I32(_I32(ax >> _I32(sh & _I32(31))) & _I32(1)) & _I32(_I32(ax & lowm) != _I32(0)))
            odd_in = odd_big if ax >= big_b else odd_in
            out[i] = pack_code(mag, negm, nz, signbit, maxmag,
                               overflow_select(_I32(odd_in - _I32(1)), negm, ovf_p, dov, tz_p, dtz))
            amax = max(amax, ax)
    if amax >= _I32(0x7F800000):
        _fix_specials(xb, out, inf_p, inf_n, nan_p, nan_n)


def _dir_call(xb, out, p, mode, sat):
    """`_dir_loop`, or `_odd_loop` for to_odd, with the constants computed in Python (`codes_py`)."""
    c = codes_py(p, mode, sat)
    if mode == P.TO_ODD:
        _odd_loop(xb, out, *_b32(c), _I32(c.tz_p), _I32(c.tz_n))
    else:
        _dir_loop(xb, out, *_b32(c), _I32(mode))


def half_eligible(p) -> bool:
    """Whether a format is IEEE binary16 (sign, zero, subnormals, max 65504, infinities) and the CPU
    converts to it in one instruction (`bits.has_f16c`); its NaN codes may be any."""
    return eligible(p) and P.is_binary16(p) and has_f16c()


def _half_call(xb, out, p, mode, sat):
    """`_half_loop` (nearest-even) or `_half_dir_loop` with the constants computed in Python."""
    c = _b32(codes_py(p, mode, sat))
    if mode == P.NEAREST_EVEN:
        _half_loop(xb, out, *c[6:])
    else:
        _half_dir_loop(xb, out, *c[3:], _I32(mode))


@jit
def _half_dir_loop(xb, out, maxmag, signbit, negzero, ovf_p, ovf_n, inf_p, inf_n, nan_p, nan_n, mode):
    """toward_zero, toward_positive and toward_negative into binary16 as a +-1 correction of
    the CPU's nearest-even conversion (as `_dir_loop` corrects the magic add): its value, widened
    back exactly (+inf past 65504), is above or below |x|, or equal."""
    nz = _I32(-1) if negzero != 0 else _I32(0)
    dov = _I32(ovf_p ^ ovf_n)
    amax = _I32(0)
    last = np.uint64(max(xb.size - 1, 0))
    for lo in range(0, xb.size, _PF_BLOCK):  # (as `_dir_loop`)
        _prefetch_ahead(xb, lo, last)
        o = np.uint64(lo)
        for j in range(np.uint64(min(_PF_BLOCK, xb.size - lo))):
            i = o + j
            b = xb[i]
            ax = _I32(b & _I32(0x7FFFFFFF))
            amax = max(amax, ax)
            xf = i32_as_f32(ax)
            n = _I32(f32_to_f16_bits(xf))
            r = f16_bits_to_f32(n)
            negm = _I32(b >> _I32(31))
            mag = directed_step(n, _I32(r > xf), _I32(r < xf), _I32(0), negm, mode)
            out[i] = pack_code(mag, negm, nz, signbit, maxmag, _I32(ovf_p ^ _I32(dov & negm)))
    if amax >= _I32(0x7F800000):
        _fix_specials(xb, out, inf_p, inf_n, nan_p, nan_n)


@jit
def _half_loop(xb, out, ovf_p, ovf_n, inf_p, inf_n, nan_p, nan_n):
    """Nearest-even into binary16 by the CPU's conversion (`f32_to_f16_bits`: F16C `vcvtps2ph`);
    a finite input it rounds to +-inf takes the saturation's overflow code instead, and infinities
    and NaNs are rewritten by a scalar pass (as in `_rne_loop`)."""
    dov = _I32(ovf_p ^ ovf_n)
    amax = _I32(0)
    for i in range(xb.size):
        b = xb[i]
        amax = max(amax, _I32(b & _I32(0x7FFFFFFF)))
        h = f32_to_f16_bits(i32_as_f32(b))
        negm = _I32(b >> _I32(31))
        out[i] = _I32(ovf_p ^ _I32(dov & negm)) if _I32(h & _I32(0x7FFF)) == _I32(0x7C00) else h
    if amax >= _I32(0x7F800000):
        _fix_specials(xb, out, inf_p, inf_n, nan_p, nan_n)


def top_eligible(p) -> bool:
    """Whether a format's codes are the top bits of float32's (bfloat16, TF32): `eligible`, EMIN = -126
    and max = float32's largest exponent field, so a magnitude code is |x|'s bits shifted right."""
    return eligible(p) and p.EMIN == -126 and p.MAXMAG == (255 << p.M) - 1


def _top_call(xb, out, p, mode, sat):
    """`_top_loop` with the constants of `mode` computed in Python (`codes_py`): what is added to
    |x|'s bits before the shift, for positive and for negative x (half an ulp less one and the kept
    last bit for nearest-even; half for nearest-away, less one for nearest-toward-zero; an ulp less
    one away from zero for the directed modes that round away; nothing toward zero and for to_odd,
    which ORs in the inexact bit instead)."""
    c = _b32(codes_py(p, mode, sat))
    k = 23 - int(c[0])
    half, ulp1 = 1 << (k - 1), (1 << k) - 1
    add = {P.NEAREST_EVEN: (half - 1, half - 1), P.NEAREST_AWAY: (half, half),
           P.NEAREST_TOWARD_ZERO: (half - 1, half - 1), P.TOWARD_ZERO: (0, 0), P.TOWARD_POSITIVE: (ulp1, 0),
           P.TOWARD_NEGATIVE: (0, ulp1), P.TO_ODD: (0, 0)}[mode]
    if mode == P.NEAREST_EVEN:
        _top_rne_loop(xb, out, _I32(k), *c[3:])
        return
    _top_loop(xb, out, _I32(k), _I32(add[0]), _I32(add[1]), _I32(0), _I32(mode == P.TO_ODD), *c[3:])


@jit
def _top_loop(xb, out, k, add_p, add_n, lsb, odd, maxmag, signbit, negzero, ovf_p, ovf_n, inf_p, inf_n, nan_p,
              nan_n):
    """Rounding on the bit pattern: add `add_p` (`add_n` for negative x) plus, for nearest-even
    (`lsb` 1), the kept last bit, then drop `k` bits (the classic float32 -> bfloat16 rounding; the
    carry runs into the exponent field, and past the largest finite into the infinity's magnitude,
    which `pack_code` turns into the mode's overflow code); to_odd (`odd` 1) ORs in whether a
    dropped bit was set. Subnormals need nothing else: the format shares float32's exponent range.
    Infinities and NaNs are rewritten by a scalar pass (as in `_rne_loop`)."""
    nz = _I32(-1) if negzero != 0 else _I32(0)
    dov = _I32(ovf_p ^ ovf_n)
    dadd = _I32(add_p ^ add_n)
    km = _I32(k & _I32(31))
    low = _I32(_I32(_I32(1) << km) - _I32(1))
    amax = _I32(0)
    for i in range(xb.size):
        b = xb[i]
        ax = _I32(b & _I32(0x7FFFFFFF))
        amax = max(amax, ax)
        a = min(ax, _I32(0x7F800000))  # (NaN patterns would carry past int32; redone below)
        negm = _I32(b >> _I32(31))
        t = _I32(_I32(a + _I32(add_p ^ _I32(dadd & negm))) + _I32(_I32(a >> km) & lsb))
        mag = _I32(_I32(t >> km) | _I32(_I32(_I32(a & low) != _I32(0)) & odd))
        out[i] = pack_code(mag, negm, nz, signbit, maxmag, _I32(ovf_p ^ _I32(dov & negm)))
    if amax >= _I32(0x7F800000):
        _fix_specials(xb, out, inf_p, inf_n, nan_p, nan_n)


@jit
def _top_rne_loop(xb, out, k, maxmag, signbit, negzero, ovf_p, ovf_n, inf_p, inf_n, nan_p, nan_n):
    """`_top_loop` for nearest-even alone (measured 5% faster: no sign-dependent addend, no odd bit)."""
    nz = _I32(-1) if negzero != 0 else _I32(0)
    dov = _I32(ovf_p ^ ovf_n)
    km = _I32(k & _I32(31))
    half = _I32(_I32(_I32(1) << _I32(_I32(k - _I32(1)) & _I32(31))) - _I32(1))
    amax = _I32(0)
    for i in range(xb.size):
        b = xb[i]
        ax = _I32(b & _I32(0x7FFFFFFF))
        amax = max(amax, ax)
        a = min(ax, _I32(0x7F800000))  # (NaN patterns would carry past int32; redone below)
        mag = _I32(_I32(_I32(a + half) + _I32(_I32(a >> km) & _I32(1))) >> km)
        negm = _I32(b >> _I32(31))
        out[i] = pack_code(mag, negm, nz, signbit, maxmag, _I32(ovf_p ^ _I32(dov & negm)))
    if amax >= _I32(0x7F800000):
        _fix_specials(xb, out, inf_p, inf_n, nan_p, nan_n)


_I64 = np.int64


def _det_call(xb, out, p, mode, sat):
    """`_det_loop` with the constants computed in Python (`codes_py`)."""
    c = _i32(codes_py(p, mode, sat))
    _det_loop(xb, out, *c[:12], _I32(mode), c[12], c[13])


@jit
def _det_loop(xb, out, m, emin, ecap, maxmag, signbit, negzero, ovf_p, ovf_n, inf_p, inf_n, nan_p, nan_n, mode,
              tz_p, tz_n):
    """float32 -> small float for the deterministic modes, branch-free int32.

    The discarded-bit count is clamped at 25: below that the whole 24-bit
    significand is discarded (n = 0, rem < half) and every mode decides alike.
    Each mode's round-away test is a mask; infinities and NaNs are rewritten by a
    scalar pass when the vectorised loop flagged any (as in `_rne_loop`).
    """
    one = _I32(1)
    m_rne = _I32(-1) if mode == 0 else _I32(0)
    m_rna = _I32(-1) if mode == 1 else _I32(0)
    m_up = _I32(-1) if mode == 3 else _I32(0)  # toward_positive: away for positives
    m_dn = _I32(-1) if mode == 4 else _I32(0)  # toward_negative: away for negatives
    m_odd = _I32(-1) if mode == 5 else _I32(0)
    m_rnz = _I32(-1) if mode == P.NEAREST_TOWARD_ZERO else _I32(0)
    nz, dov, dtz = _sign_masks(negzero, ovf_p, ovf_n, tz_p, tz_n)
    amax = _I32(0)
    for i in range(xb.size):
        b = xb[i]
        ax = _I32(b & _I32(0x7FFFFFFF))
        negm = _I32(b >> _I32(31))
        eq, sig, shift = _f32_parts(ax, m, emin)
        shift = _I32(min(max(shift, one), _I32(25)))
        rem = _I32(sig & _I32(_I32(one << _I32(shift & _I32(31))) - one))
        half = _I32(one << _I32(_I32(shift - one) & _I32(31)))
        mag = _I32(_I32(_I32(eq - emin) << _I32(m & _I32(31))) + _I32(sig >> _I32(shift & _I32(31))))
        odd = _I32(-_I32(mag & one))
        above = _I32(-_I32(rem > half))
        tie = _I32(-_I32(rem == half))
        inexact = _I32(-_I32(rem != _I32(0)))
        inc = _I32(
            (m_rne & (above | (tie & odd)))
            | (m_rna & (above | tie))
            | (m_rnz & above)
            | (m_up & inexact & ~negm)
            | (m_dn & inexact & negm)
            | (m_odd & inexact & ~odd)
        )
        mag = _I32(mag - inc)  # inc is 0 or -1
        away = _I32(inc | ~inexact)
        out[i] = pack_code(mag, negm, nz, signbit, maxmag, overflow_select(away, negm, ovf_p, dov, tz_p, dtz))
        amax = max(amax, ax)
    if amax >= _I32(0x7F800000):
        _fix_specials(xb, out, inf_p, inf_n, nan_p, nan_n)


_SR_STEP = 4096  # elements per chunk (x, codes and random words stay in L1/L2)
_SR_SMAX = 29  # the int32 loops hold 2*sig + aligned R for discarded-bit counts s <= 29
_SR_TINY_N = 27  # up to this N, more discarded bits are folded into a sticky bit (`_sticky_shift`)


def _sr_fields(rkind, rarr, nbits):
    """The random-word buffer and the array the loops read R's fields from: the explicit array, or
    the buffer viewed as W-bit fields. Chosen here, outside numba, so that a call compiles its
    loops for one field type only."""
    words = np.empty(_SR_STEP // 2 + 2, np.uint64)  # (W = 32: two fields per word)
    if rkind == 1:
        return words, rarr
    return words, words.view(np.uint8 if nbits <= 8 else (np.uint16 if nbits <= 16 else np.uint32))


def encode_f32_sr(xb, out, p, mode, sat, rkind, rarr, key, nbits, offset):
    """float32 -> small float with stochastic rounding into `out`.

    Chunk by chunk: the random bits (the explicit array's slice, or the seeded
    stream's words, read as W-bit fields and shifted to N bits in the loop), then
    a vectorised loop. Elements that loop cannot hold (infinities, NaNs and, in
    `_sr_long` with N > 27, values with more than 29 discarded bits) are redone through
    `round_pack`. Only the loop the call needs is compiled: when every shift of R is
    to the left (N, +1 for B, <= 23 - M, the fewest discarded bits) `_sr_short_f`
    (EMIN >= -97) or `_sr_short`; otherwise `_sr_wide` when every binade's scale
    2**(M - E) is a float32 normal (EMIN >= M - 127), else `_sr_long`.
    """
    words, src = _sr_fields(rkind, rarr, nbits)
    if nbits + (1 if mode == P.STOCHASTIC_B else 0) <= 23 - p.M:
        run = _sr_run_shortf if p.EMIN >= -97 else _sr_run_short
    else:
        run = _sr_run_wide if p.EMIN >= p.M - 127 else _sr_run_long
    flagged = np.empty(-(-xb.size // _SR_STEP), np.int64)
    nf = run(xb, out, mode, rkind, src, words, key, nbits, offset, _i32(codes_py(p, mode, sat)), flagged)
    if nf:  # the funnel pass, compiled only when a chunk needs it
        shw, maskn = _field_masks.py_func(rkind, nbits)
        for lo in flagged[:nf].tolist():
            hi = min(lo + _SR_STEP, xb.size)
            rb = _chunk_fields.py_func(src, words, key, offset, lo, hi, nbits, rkind)  # (the chunk's words again)
            _sr_fix(xb[lo:hi], rb, out[lo:hi], p, mode, sat, nbits, shw, maskn)


@jit
def _field_masks(rkind, nbits):
    """(shw, maskn) of the stochastic loops: R = (field >> shw) & maskn takes N bits from a W-bit field
    of the seeded stream (its top N), or from an explicit array's value (shw 0)."""
    shw = _I32(0) if rkind == 1 else _I32((1 << field_bits(nbits)) - nbits)
    return shw, _I32(-1) if nbits == 32 else _I32((1 << nbits) - 1)


@jit
def _chunk_fields(src, words, key, offset, lo, hi, nbits, rkind):
    """The random fields of elements lo..hi: the explicit array's slice, or the seeded stream's words
    for them (filled into `words`, viewed as fields by `src`)."""
    if rkind == 1:
        return src[lo:hi]
    par = fill_words(words, key, offset + lo, hi - lo, nbits)
    return src[par:par + hi - lo]


@jit
def _prefetch_next(xb, hi):
    """Prefetch the cache lines of the stochastic loops' next chunk, xb[hi : hi + _SR_STEP], while
    this one's random bits are made and its elements coded (measured on 10M float32: N = 8 0.26 ->
    0.38x np.copyto, N = 32 0.13 -> 0.20x)."""
    for k in range(hi, min(hi + _SR_STEP, xb.size), 16):
        prefetch(xb, np.uint64(k))


def _sr_driver(kind):
    """The chunk loop of `encode_f32_sr` around one of the stochastic loops (`kind`: shortf, short, wide,
    long); returns how many chunks it wrote into `flagged` (their first index) for the funnel pass."""
    shortf, short, wide = kind == "shortf", kind == "short", kind == "wide"

    def run(xb, out, mode, rkind, src, words, key, nbits, offset, c, flagged):
        shw, maskn = _field_masks(rkind, nbits)
        m, emin, maxmag, signbit = _I32(c.m), _I32(c.emin), _I32(c.maxmag), _I32(c.signbit)
        negzero, ovf_p, ovf_n, tz_p, tz_n = _I32(c.negzero), _I32(c.ovf_p), _I32(c.ovf_n), _I32(c.tz_p), _I32(c.tz_n)
        nf = 0
        for lo in range(0, xb.size, _SR_STEP):
            hi = min(lo + _SR_STEP, xb.size)
            _prefetch_next(xb, hi)
            x, o = xb[lo:hi], out[lo:hi]
            rb = _chunk_fields(src, words, key, offset, lo, hi, nbits, rkind)
            if shortf:
                amax, smax = _sr_short_f(x, rb, o, m, emin, maxmag, signbit, negzero, ovf_p, ovf_n, tz_p, tz_n, mode,
                                         nbits, shw, maskn)
            elif short:
                amax, smax = _sr_short(x, rb, o, m, emin, maxmag, signbit, negzero, ovf_p, ovf_n, tz_p, tz_n, mode,
                                       nbits, shw, maskn)
            elif wide:
                amax, smax = _sr_wide(x, rb, o, m, emin, maxmag, signbit, negzero, ovf_p, ovf_n, tz_p, tz_n, mode,
                                      nbits, shw, maskn)
            else:
                amax, smax = _sr_long(x, rb, o, m, emin, maxmag, signbit, negzero, ovf_p, ovf_n, tz_p, tz_n, mode,
                                      nbits, shw, maskn)
            if amax >= _I32(0x7F800000) or (smax > _SR_SMAX and nbits > _SR_TINY_N):  # (`_sr_fix`, by the caller)
                flagged[nf] = lo
                nf += 1
        return nf

    run.__name__ = run.__qualname__ = "_sr_run_" + kind  # (one cache entry each)
    return jit(run)


@jit
def _sr_fix(xb, rb, out, p, mode, sat, nbits, shw, maskn):
    """Scalar pass: infinities, NaNs and (N > 27) tiny values through the funnel.

    The elements are found block by block: a vectorised test of 64 elements, then the scalar
    funnel only in a block that has one (a scalar scan of every element cost more than the
    vectorised loop)."""
    emin, m = _I32(p.EMIN), _I32(p.M)
    smax = _I32(_SR_SMAX) if nbits > _SR_TINY_N else _I32(0x7FFFFFFF)
    for b0 in range(0, xb.size, 64):
        b1 = min(b0 + 64, xb.size)
        hit = _I32(0)
        for i in range(b0, b1):
            hit |= _sr_needs_fix(xb[i], emin, m, smax)
        if hit == 0:
            continue
        for i in range(b0, b1):
            if _sr_needs_fix(xb[i], emin, m, smax) != 0:
                r = np.int64(_I32(_I32(_I32(rb[i]) >> shw) & maskn)) & np.int64(0xFFFFFFFF)
                cls, neg, sig, exp = decompose(i32_as_f32(_I32(xb[i])))
                out[i] = round_pack(cls, neg, sig, exp, p, mode, sat, r, nbits)


@jit
def _sr_needs_fix(b, emin, m, smax):
    """1 where the vectorised loops cannot hold the float32 bits `b`: an infinity or NaN, or more than
    `smax` discarded bits, else 0."""
    ax = _I32(b & _I32(0x7FFFFFFF))
    eb = _I32(ax >> _I32(23))
    s = _I32(_I32(max(_I32(eb - _I32(127)), emin) - m) - _I32(max(eb, _I32(1)) - _I32(150)))
    return _I32(_I32(ax >= _I32(0x7F800000)) | _I32(s > smax))


@jit
def _sticky_shift(sig, s, jmask):
    """(sig, s) with the discarded-bit count `s` lowered to at most 29: the bits shifted out of `sig`
    are OR-ed into its last bit (sticky). Every stochastic rule reads the discarded bits only
    at and above bit d - 1 = s - N - 1 and whether any bit below is set, so with
    N <= 27 (d - 1 >= 1 after the shift) the rounded result is unchanged; the kept
    value is 0 either way (s >= 24 > the 24-bit significand). `jmask` 0 keeps `sig` (N > 27: the
    funnel redoes those elements)."""
    j = _I32(_I32(min(max(_I32(s - _I32(_SR_SMAX)), _I32(0)), _I32(31))) & jmask)
    low = _I32(_I32(_I32(_I32(1) << j) - _I32(1)) & sig)
    return _I32(_I32(sig >> j) | _I32(low != _I32(0))), _I32(min(s, _I32(_SR_SMAX)))


# The stochastic loops. With s the number of discarded bits (clamped at 29), N
# the random bits and d = s - N, every rule of P3109 4.7.4 is "round away iff
# the sum carries", in a frame doubled to hold C's half:
#     core = (2*sig + T) >> (s + 1)          (= kept bits + round-away)
#     A: T = 2 * align(R, d)
#     B: T = 2 * align(2R + 1, d - 1)        (R's top bit plus half)
#     C: T = align(2R + 1, d) - (R & 1 if d >= 0 else 0)
# where align(u, k) = u << k for k >= 0 and floor(u / 2**-k) otherwise. Each
# follows from floor(a) + R >= 2**N <=> a + R >= 2**N for integer R (tests:
# tests/test_variants.py compare every mode and N with the funnel).


@jit
def _sign_masks(negzero, ovf_p, ovf_n, tz_p, tz_n):
    """Loop constants: keep the sign of a zero (all ones when the format has -0), and the XORs
    that turn the positive overflow and truncated-overflow codes into the negative ones."""
    return _I32(-1) if negzero != 0 else _I32(0), _I32(ovf_p ^ ovf_n), _I32(tz_p ^ tz_n)


@jit
def _sr_lane(b, field, shw, maskn):
    """R from its W-bit random field, |x|'s bits and the sign mask of the float32 bits `b`."""
    r = _I32(_I32(_I32(field) >> _I32(shw & _I32(31))) & maskn)
    return r, _I32(b & _I32(0x7FFFFFFF)), _I32(b >> _I32(31))


@jit
def _sr_short(xb, rb, out, m, emin, maxmag, signbit, negzero, ovf_p, ovf_n, tz_p, tz_n, mode, nbits, shw, maskn):
    """The stochastic loop when N (+1 for B) <= 23 - M, so every shift of R is to the left.

    Here d = s - N >= 0 and the doubled frame is not needed: the code is
    (v + T) >> s with T = (R << d) + [B, C] 2**(d-1) - [C, d > 0] (R & 1), where
    v is the float32 bit pattern itself for |x| >= 2**EMIN (s = 23 - M: the
    exponent field carries like a code) and the 24-bit significand below.
    """
    one = _I32(1)
    nb = _I32(nbits)
    bm = _I32(0) if mode == P.STOCHASTIC_A else _I32(-1)  # B, C: + half of R's last place
    cm = one if mode == P.STOCHASTIC_C else _I32(0)  # C: - (R & 1) when d > 0
    sn = _I32(_I32(23) - m)  # discarded bits at and above 2**EMIN
    nmin = _I32(_I32(emin + _I32(127)) << _I32(23))  # float32 bits of 2**EMIN
    cn = _I32(_I32(emin + _I32(126)) << _I32(m & _I32(31)))  # code offset of the bit pattern
    cs = _I32(_I32(emin - m) + _I32(150))  # below 2**EMIN, s = cs - max(eb, 1)
    nz, dov, dtz = _sign_masks(negzero, ovf_p, ovf_n, tz_p, tz_n)
    amax = _I32(0)
    for i in range(xb.size):
        r, ax, negm = _sr_lane(xb[i], rb[i], shw, maskn)
        amax = max(amax, ax)
        normal = ax >= nmin
        eb = _I32(ax >> _I32(23))
        sig = _I32(_I32(ax & _I32(0x7FFFFF)) | _I32(_I32(eb != _I32(0)) << _I32(23)))
        sig, ss = _sticky_shift(sig, _I32(cs - max(eb, one)), _I32(-1))  # (N <= 22 here)
        v = ax if normal else sig
        s = sn if normal else ss
        d = _I32(s - nb)
        dm = _I32(d & _I32(31))
        t = _I32(_I32(_I32(r << dm) + _I32(_I32(_I32(one << dm) >> one) & bm)) - _I32(_I32(r & cm) & -_I32(d > 0)))
        core = _I32(_I32(v + t) >> _I32(s & _I32(31)))
        trunc = _I32(-_I32(_I32(core << _I32(s & _I32(31))) < v))  # kept bits only, and inexact
        mag = _I32(core - (cn if normal else _I32(0)))
        out[i] = pack_code(mag, negm, nz, signbit, maxmag, overflow_select(_I32(~trunc), negm, ovf_p, dov, tz_p, dtz))
    return amax, _I32(0)


@jit
def _sr_short_f(xb, rb, out, m, emin, maxmag, signbit, negzero, ovf_p, ovf_n, tz_p, tz_n, mode, nbits, shw, maskn):
    """`_sr_short` with the same discarded-bit count for every value below 2**EMIN (EMIN >= -97).

    There v = |x| * 2**(30 - EMIN) (exact, below 2**30) holds |x| / quantum with s = 30 - M
    fraction bits: its floor by one float -> int32 conversion, OR-ed with 1 when that
    dropped bits (the sticky bit, as `_sticky_shift`: every rule reads the fraction only
    down to N + 1 places and whether any bit below is set, and 30 - M >= N + 2 here).
    Both kinds of lane then shift by one of two loop constants.
    """
    one = _I32(1)
    nb = _I32(nbits)
    bm = _I32(0) if mode == P.STOCHASTIC_A else _I32(-1)  # B, C: + half of R's last place
    cm = one if mode == P.STOCHASTIC_C else _I32(0)  # C: - (R & 1) when d > 0
    sn = _I32(_I32(23) - m)  # discarded bits at and above 2**EMIN
    sl = _I32(_I32(30) - m)  # below
    scale = i32_as_f32(_I32(_I32(_I32(157) - emin) << _I32(23)))  # 2**(30 - EMIN)
    cap = np.float32(2.0**30)
    nmin = _I32(_I32(emin + _I32(127)) << _I32(23))  # float32 bits of 2**EMIN
    cn = _I32(_I32(emin + _I32(126)) << _I32(m & _I32(31)))  # code offset of the bit pattern
    nz, dov, dtz = _sign_masks(negzero, ovf_p, ovf_n, tz_p, tz_n)
    amax = _I32(0)
    for i in range(xb.size):
        r, ax, negm = _sr_lane(xb[i], rb[i], shw, maskn)
        amax = max(amax, ax)
        normal = ax >= nmin
        y = min(i32_as_f32(ax) * scale, cap)  # (normal lanes: not used)
        vi = _I32(y)
        v = ax if normal else _I32(vi | _I32(np.float32(vi) != y))
        s = sn if normal else sl
        d = _I32(s - nb)
        dm = _I32(d & _I32(31))
        t = _I32(_I32(_I32(r << dm) + _I32(_I32(_I32(one << dm) >> one) & bm)) - _I32(_I32(r & cm) & -_I32(d > 0)))
        core = _I32(_I32(v + t) >> _I32(s & _I32(31)))
        trunc = _I32(-_I32(_I32(core << _I32(s & _I32(31))) < v))  # kept bits only, and inexact
        mag = _I32(core - (cn if normal else _I32(0)))
        out[i] = pack_code(mag, negm, nz, signbit, maxmag, overflow_select(_I32(~trunc), negm, ovf_p, dov, tz_p, dtz))
    return amax, _I32(0)


@jit
def _sr_long(xb, rb, out, m, emin, maxmag, signbit, negzero, ovf_p, ovf_n, tz_p, tz_n, mode, nbits, shw, maskn):
    """The stochastic loop for any N <= 32 (R may be shifted either way; R is uint32 bits)."""
    one = _I32(1)
    nb = _I32(nbits)
    delta = one if mode == P.STOCHASTIC_B else _I32(0)
    am1 = _I32(0) if mode == P.STOCHASTIC_A else one
    bm = _I32(0) if mode == P.STOCHASTIC_A else _I32(-1)
    gamma = _I32(0) if mode == P.STOCHASTIC_C else one
    cm = _I32(-1) if mode == P.STOCHASTIC_C else _I32(0)
    nz, dov, dtz = _sign_masks(negzero, ovf_p, ovf_n, tz_p, tz_n)
    jmask = _I32(-1) if nbits <= _SR_TINY_N else _I32(0)
    amax = _I32(0)
    smax = _I32(0)
    for i in range(xb.size):
        r, ax, negm = _sr_lane(xb[i], rb[i], shw, maskn)
        amax = max(amax, ax)
        eq, sig, s = _f32_parts(ax, m, emin)
        smax = max(smax, s)
        sig, s = _sticky_shift(sig, s, jmask)
        d = _I32(s - nb)
        k = _I32(d - delta)
        kp = _I32(k & _I32(31))
        left = _I32(_I32(r << _I32(_I32(kp + am1) & _I32(31))) | _I32(_I32(one << kp) & bm))
        # k < 0: R >> (-k - (alpha - 1)) as a logical shift of the 32 bits
        lp = _I32(_I32(_I32(-k) - am1) & _I32(31))
        half = _I32(_I32(r >> one) & _I32(0x7FFFFFFF))
        right = _I32(half >> _I32(_I32(lp - one) & _I32(31))) if lp >= one else r
        al = left if k >= _I32(0) else right
        t = _I32(_I32(al << gamma) - _I32(_I32(r & _I32(cm & _I32(-_I32(d >= _I32(0))))) & one))
        out[i] = _sr_pack(sig, t, s, eq, negm, m, emin, maxmag, signbit, nz, ovf_p, dov, tz_p, dtz)
    return amax, smax


@jit
def _sr_wide(xb, rb, out, m, emin, maxmag, signbit, negzero, ovf_p, ovf_n, tz_p, tz_n, mode, nbits, shw, maskn):
    """The stochastic loop for any N <= 32 without per-element shift counts (EMIN >= M - 127).

    |x| times 2**(M - E) (E = max(binade, EMIN); the scale is built from its exponent bits,
    exact) lies below 2**(M+1): its integer part n0 (a float -> int32 conversion) is the
    truncated significand, the magnitude code is ((E - EMIN) << M) + n0 (n0 >= 2**M holds
    the leading bit of a normal), and `_sr_away` decides the step from the exact fraction.
    Values too small for float32's range after scaling (below 2**-126) become 0 or lose
    bits, which decides alike: their w = fraction * 2**N < 1/2 is below every threshold.
    Returns the running max of |x|'s bits (infinities and NaNs: the funnel pass) and 0.
    """
    c1 = 1.0 if mode == P.STOCHASTIC_A else 0.5
    cmode = mode == P.STOCHASTIC_C
    scale = np.float64(1 << nbits)  # (outside the loop: a power in it would not vectorise)
    sb = _I32(_I32(_I32(m + _I32(127)) + _I32(127)) << _I32(23))  # bits of 2**(M - E) = sb - (E + 127 << 23)
    ebmin = _I32(emin + _I32(127))
    co = _I32(ebmin << _I32(m & _I32(31)))
    nz, dov, dtz = _sign_masks(negzero, ovf_p, ovf_n, tz_p, tz_n)
    amax = _I32(0)
    for i in range(xb.size):
        r, ax, negm = _sr_lane(xb[i], rb[i], shw, maskn)
        amax = max(amax, ax)
        a = min(ax, _I32(0x7F7FFFFF))  # (infinities and NaNs: redone by the funnel)
        eb = _I32(max(_I32(a >> _I32(23)), ebmin))  # biased E
        y = i32_as_f32(a) * i32_as_f32(_I32(sb - _I32(eb << _I32(23))))  # exact
        n0 = _I32(y)  # floor (y >= 0)
        fr = y - np.float32(n0)  # exact
        away = _sr_away(fr, r, maskn, scale, c1, cmode)
        mag = _I32(_I32(_I32(_I32(eb << _I32(m & _I32(31))) - co) + n0) + away)
        trunc = _I32(-_I32(_I32(fr != np.float32(0)) & _I32(away ^ _I32(1))))  # kept bits only, and inexact
        out[i] = pack_code(mag, negm, nz, signbit, maxmag, overflow_select(_I32(~trunc), negm, ovf_p, dov, tz_p, dtz))
    return amax, _I32(0)


_sr_run_shortf = _sr_driver("shortf")
_sr_run_short = _sr_driver("short")
_sr_run_wide = _sr_driver("wide")
_sr_run_long = _sr_driver("long")


@jit
def _f32_parts(ax, m, emin):
    """(binade, 24-bit significand, discarded-bit count) of |x| (float32 bits `ax`), int32."""
    eb = _I32(ax >> _I32(23))
    sig = _I32(_I32(ax & _I32(0x7FFFFF)) | _I32(_I32(eb != _I32(0)) << _I32(23)))
    eq = _I32(max(_I32(eb - _I32(127)), emin))  # no cap: codes past max keep their grid
    s = _I32(_I32(eq - m) - _I32(max(eb, _I32(1)) - _I32(150)))
    return eq, sig, s


@jit
def _sr_pack(sig, t, s, eq, negm, m, emin, maxmag, signbit, nz, ovf_p, dov, tz_p, dtz):
    """The code from the carried sum; truncated inexact values past max take `tz`."""
    core = _I32(_I32(_I32(sig << _I32(1)) + t) >> _I32(_I32(s + _I32(1)) & _I32(31)))
    trunc = _I32(-_I32(_I32(core << _I32(s & _I32(31))) < sig))  # kept bits only, and inexact
    mag = _I32(_I32(_I32(eq - emin) << _I32(m & _I32(31))) + core)
    return pack_code(mag, negm, nz, signbit, maxmag, overflow_select(_I32(~trunc), negm, ovf_p, dov, tz_p, dtz))


class Codes(NamedTuple):
    """The format fields and special codes of the mode-generic loops, for one mode and saturation."""

    m: int
    emin: int
    ecap: int
    maxmag: int
    signbit: int
    negzero: int
    ovf_p: int  # a value past max rounded away from zero (+, -)
    ovf_n: int
    inf_p: int  # an infinite input (+, -)
    inf_n: int
    nan_p: int  # a NaN input (+, -)
    nan_n: int
    tz_p: int  # a value past max truncated toward zero (+, -)
    tz_n: int


@jit
def constants_any(p, mode, sat):
    """The `Codes` (int64) of a format under a rounding mode and saturation."""
    return Codes(
        _I64(p.M), _I64(p.EMIN), _I64(p.ECAP), _I64(p.MAXMAG), _I64(p.SIGNBIT), _I64(p.NEGZERO),
        _I64(overflow_code(False, False, p, mode, sat)), _I64(overflow_code(True, False, p, mode, sat)),
        _I64(overflow_code(False, True, p, mode, sat)), _I64(overflow_code(True, True, p, mode, sat)),
        _I64(p.NAN), _I64(p.NNAN),
        _I64(overflow_code(False, False, p, mode, sat, False)), _I64(overflow_code(True, False, p, mode, sat, False)),
    )


@functools.cache
def _overflow_code_py():
    """`round.overflow_code` as a Python function whose jitted callees are called as Python too
    (calling a dispatcher from Python would compile it)."""
    f = overflow_code.py_func
    g = {k: getattr(v, "py_func", v) if hasattr(v, "py_func") and callable(v) else v
         for k, v in f.__globals__.items()}
    return types.FunctionType(f.__code__, g, f.__name__, f.__defaults__, f.__closure__)


@functools.cache
def codes_py(p, mode, sat) -> Codes:
    """`constants_any` computed in Python (`round.overflow_code` run as Python): a fast loop called
    with these compiles neither `constants_any` nor `overflow_code`, about half of its first call's
    compile time. The same function of the same params as `constants_any` (tests compare them)."""
    oc = _overflow_code_py()
    return Codes(
        int(p.M), int(p.EMIN), int(p.ECAP), int(p.MAXMAG), int(p.SIGNBIT), int(p.NEGZERO),
        int(oc(False, False, p, mode, sat)), int(oc(True, False, p, mode, sat)),
        int(oc(False, True, p, mode, sat)), int(oc(True, True, p, mode, sat)),
        int(p.NAN), int(p.NNAN),
        int(oc(False, False, p, mode, sat, False)), int(oc(True, False, p, mode, sat, False)),
    )


def _b32(c: Codes) -> tuple:
    """The first twelve codes as int32, EMIN and ECAP biased like float32 fields."""
    return (_I32(c.m), _I32(c.emin + 127), _I32(c.ecap + 127), *(_I32(v) for v in c[3:12]))


def _i32(c: Codes) -> Codes:
    """`c` with every field an int32."""
    return Codes(*(_I32(v) for v in c))


def int_eligible(p) -> bool:
    """Whether an integer format allows `encode_f32_int`: at most 16 bits, a range inside
    +-2**22 and a scale 2**k with k <= 0, so x * 2**-k is exact in float32 (or overflows, which
    saturates)."""
    k = p.EMIN - p.M
    small = p.MAXMAG < (1 << 22) and p.MAXMAG_NEG < (1 << 22)  # (compat profiles may widen the range)
    return p.KIND == 1 and p.BITS <= 16 and -126 <= k <= 0 and small


def encode_f32_int(xb, out, p, mode, sat):
    """float32 -> integer codes for the deterministic modes, through the FPU.

    y = x * 2**-k (exact), |y| clamped at 2**22 (far past every <= 16-bit range),
    then the magic add 2**23 rounds it to an integer (nearest-even) and a compare
    corrects for the other modes, as in `_dir_loop`. NaNs and infinities are
    redone through `round_pack` (compiled only when an input has one).
    """
    inv = np.float32(2.0 ** (p.M - p.EMIN))
    c = codes_py(p, mode, sat)
    args = (xb, out, inv, _I32(p.MAXMAG), _I32(p.MAXMAG_NEG), _I32(p.MASK), _I32(c.ovf_p), _I32(c.ovf_n))
    amax = _int_rne_loop(*args) if mode == P.NEAREST_EVEN else _int_loop(*args, _I32(mode))
    if amax >= 0x7F800000:
        _int_fix(xb, out, p, mode, sat)


@jit
def _int_fix(xb, out, p, mode, sat):
    """Scalar pass of `encode_f32_int`: infinities and NaNs through the funnel."""
    for i in range(xb.size):
        if xb[i] & 0x7FFFFFFF >= 0x7F800000:
            cls, neg, sig, exp = decompose(i32_as_f32(_I32(xb[i])))
            out[i] = max(round_pack(cls, neg, sig, exp, p, mode, sat, np.int64(0), 1), 0)


@jit
def _int_rne_loop(xb, out, inv, maxpos, maxneg, mask, ovf_p, ovf_n):
    """`_int_loop` for nearest-even: the signed y = x * 2**-k (clamped to +-2**22) plus 1.5 * 2**23 keeps
    its sum in one binade, so the sum's bits less the magic's are the rounded signed integer (RNE
    is symmetric); then two range selects (`maxneg` < 0: unsigned, negatives give 0)."""
    magic = np.float32(1.5 * 2.0**23)
    cap = np.float32(2.0**22)
    mb = f32_as_i32(magic)
    amax = _I32(0)
    uns = maxneg < _I32(0)
    lo = _I32(0) if uns else _I32(-maxneg)
    low_code = _I32(0) if uns else ovf_n
    for i in range(xb.size):
        b = xb[i]
        amax = max(amax, _I32(b & _I32(0x7FFFFFFF)))
        y = max(min(i32_as_f32(b) * inv, cap), -cap)
        n = _I32(f32_as_i32(y + magic) - mb)
        code = low_code if n < lo else _I32(n & mask)
        out[i] = ovf_p if n > maxpos else code
    return amax


@jit
def _int_loop(xb, out, inv, maxpos, maxneg, mask, ovf_p, ovf_n, mode):
    """The vectorised part of `encode_f32_int` (`maxneg` < 0: unsigned)."""
    magic = np.float32(2.0**23)
    cap = np.float32(2.0**22)
    half = np.float32(0.5)
    mb = f32_as_i32(magic)
    amax = _I32(0)
    dov = _I32(ovf_p ^ ovf_n)
    for i in range(xb.size):
        b = xb[i]
        ax = _I32(b & _I32(0x7FFFFFFF))
        amax = max(amax, ax)
        negm = _I32(b >> _I32(31))
        y = min(i32_as_f32(ax) * inv, cap)
        t = y + magic
        n = _I32(f32_as_i32(t) - mb)
        r = t - magic  # exact: the nearest-even integer
        n = directed_step(n, _I32(r > y), _I32(r < y), _I32((y - r) == half), negm, mode)
        lim = maxpos ^ _I32(_I32(maxpos ^ maxneg) & negm)
        v = _I32(_I32(n ^ negm) - negm)  # the signed integer
        v = _I32(v & _I32(~_I32(negm & _I32(-_I32(maxneg < _I32(0))))))  # unsigned: negatives are 0
        code = _I32(v & mask)
        out[i] = _I32(ovf_p ^ _I32(dov & negm)) if (n > lim) & (lim >= _I32(0)) else code
    return amax


def encode_f32_int_sr(xb, out, p, mode, sat, rkind, rarr, key, nbits, offset):
    """float32 -> integer codes with stochastic rounding (the formats of `encode_f32_int`).

    Chunk by chunk as `encode_f32_sr`: the random fields, then `_int_sr_small` (stochastic_a with
    N <= 8, stochastic_b with N <= 7) or `_int_sr_wide` (only the one the call needs is
    compiled); infinities and NaNs are redone through `round_pack`.
    """
    words, src = _sr_fields(rkind, rarr, nbits)
    small = nbits + (1 if mode == P.STOCHASTIC_B else 0) <= _INT_SR_SMALL_N and mode != P.STOCHASTIC_C
    (_int_sr_run_small if small else _int_sr_run_wide)(xb, out, p, mode, sat, rkind, src, words, key, nbits, offset,
                                                       _i32(codes_py(p, mode, sat)))


def _int_sr_driver(small):
    """The chunk loop of `encode_f32_int_sr` around `_int_sr_small` or `_int_sr_wide`."""
    def run(xb, out, p, mode, sat, rkind, src, words, key, nbits, offset, c):
        inv = np.float32(2.0 ** (p.M - p.EMIN))
        shw, maskn = _field_masks(rkind, nbits)
        for lo in range(0, xb.size, _SR_STEP):
            hi = min(lo + _SR_STEP, xb.size)
            _prefetch_next(xb, hi)
            x, o = xb[lo:hi], out[lo:hi]
            rb = _chunk_fields(src, words, key, offset, lo, hi, nbits, rkind)
            if small:
                amax = _int_sr_small(x, rb, o, inv, _I32(p.MAXMAG), _I32(p.MAXMAG_NEG), _I32(p.MASK), _I32(c.ovf_p),
                                     _I32(c.ovf_n), _I32(c.tz_p), _I32(c.tz_n), mode, nbits, shw, maskn)
            else:
                amax = _int_sr_wide(x, rb, o, inv, _I32(p.MAXMAG), _I32(p.MAXMAG_NEG), _I32(p.MASK), _I32(c.ovf_p),
                                    _I32(c.ovf_n), _I32(c.tz_p), _I32(c.tz_n), mode, nbits, shw, maskn)
            if amax >= _I32(0x7F800000):
                _int_sr_fix(x, rb, o, p, mode, sat, nbits, shw, maskn)

    run.__name__ = run.__qualname__ = "_int_sr_run_small" if small else "_int_sr_run_wide"  # (one cache entry each)
    return jit(run)


@jit
def _int_sr_fix(x, rb, o, p, mode, sat, nbits, shw, maskn):
    """Scalar pass of `encode_f32_int_sr`: infinities and NaNs through the funnel (found by a vectorised
    test per 64-element block, as in `_sr_fix`)."""
    for b0 in range(0, x.size, 64):
        b1 = min(b0 + 64, x.size)
        hit = _I32(0)
        for i in range(b0, b1):
            hit = max(hit, _I32(x[i] & _I32(0x7FFFFFFF)))
        if hit < _I32(0x7F800000):
            continue
        for i in range(b0, b1):
            if _I32(x[i] & _I32(0x7FFFFFFF)) >= _I32(0x7F800000):
                r = np.int64(_I32(_I32(_I32(rb[i]) >> shw) & maskn)) & np.int64(0xFFFFFFFF)
                cls, neg, sig, exp = decompose(i32_as_f32(_I32(x[i])))
                o[i] = round_pack(cls, neg, sig, exp, p, mode, sat, r, nbits)


_INT_SR_SMALL_N = 8  # N' = N (+1 for B) up to which _int_sr_small holds |y| * 2**N' (|y| <= 2**22) in int32


@jit
def _int_sr_small(xb, rb, out, inv, maxpos, maxneg, mask, ovf_p, ovf_n, tz_p, tz_n, mode, nbits, shw, maskn):
    """`_int_sr_wide` for stochastic_a with N <= 8 and stochastic_b with N <= 7: the rule of
    `_sr_long` with the integer point as the rounding position is, for these modes,

        A: n = (floor(|y| * 2**N) + R) >> N
        B: n = (floor(|y| * 2**(N+1)) + 2R + 1) >> (N + 1)

    and |y| * 2**N' is exact in float32 (a power-of-two scale) and below 2**30, so its floor
    is one float -> int32 conversion: no per-element shift count. Returns the running max of
    |x|'s bits (infinities and NaNs are redone by the chunk's funnel pass)."""
    one = _I32(1)
    b = mode == P.STOCHASTIC_B
    nq = _I32(nbits + 1) if b else _I32(nbits)
    rs = one if b else _I32(0)  # B: R' = 2R + 1
    scale = np.float32(2.0 ** (nbits + 1)) if b else np.float32(2.0**nbits)
    cap = np.float32(2.0**22)
    dov = _I32(ovf_p ^ ovf_n)
    dtz = _I32(tz_p ^ tz_n)
    uns = _I32(-_I32(maxneg < _I32(0)))  # all ones: an unsigned format (negatives give 0)
    amax = _I32(0)
    for i in range(xb.size):
        r, ax, negm = _sr_lane(xb[i], rb[i], shw, maskn)
        amax = max(amax, ax)
        z = min(i32_as_f32(ax) * inv, cap) * scale  # exact
        f = _I32(z)  # floor (z >= 0)
        n = _I32(_I32(f + _I32(_I32(r << rs) | rs)) >> nq)
        trunc = _I32(-_I32(np.float32(_I32(n << nq)) < z))  # kept bits only, and inexact (n << nq exact)
        lim = maxpos ^ _I32(_I32(maxpos ^ maxneg) & negm)
        v = _I32(_I32(n ^ negm) - negm)
        v = _I32(v & _I32(~_I32(negm & uns)))
        code = _I32(v & mask)
        ovf = overflow_select(_I32(~trunc), negm, ovf_p, dov, tz_p, dtz)
        out[i] = ovf if (n > lim) & (lim >= _I32(0)) else code
    return amax


@jit
def _sr_away(fr, r, maskn, scale, c1, cmode):
    """Whether stochastic rounding goes away from zero, from the fraction `fr` (float32, 0 <= fr < 1,
    in units of the target quantum) and R (`r`, N bits in int32 lanes); `scale` = 2.0**N.

    With w = fr * 2**N and Rc = 2**N - 1 - R, each rule of P3109 4.7.4 is a comparison
    of w with Rc + 1/2 (B, C) or Rc + 1 (A), exact in float64 (w has 24 significant
    bits, Rc < 2**32)::

        A: floor(w) + R >= 2**N               <=>  w >= Rc + 1
        B: floor(2w) + 2R + 1 >= 2**(N+1)     <=>  w >= Rc + 1/2
        C: round w, ties by R's parity        <=>  w > Rc + 1/2, or w = Rc + 1/2 and Rc odd
    """
    rc = _I32(_I32(~r) & maskn)
    rf = np.float64(rc) + (4294967296.0 if rc < _I32(0) else 0.0)  # (N = 32: Rc as unsigned)
    w = np.float64(fr) * scale
    th = rf + c1
    tie = _I32(rc & _I32(1)) if cmode else _I32(1)
    return _I32(_I32(w > th) | _I32(_I32(w == th) & tie))


@jit
def _int_sr_wide(xb, rb, out, inv, maxpos, maxneg, mask, ovf_p, ovf_n, tz_p, tz_n, mode, nbits, shw, maskn):
    """The integer stochastic loop, every mode and N <= 32: |y| = |x| * 2**-k (exact, clamped at
    2**22, past every range) splits into its integer part n0 (a float -> int32 conversion) and
    the exact fraction fr = |y| - n0, and `_sr_away` decides the step; then the sign and the
    range as in `_int_loop`. Returns the running max of |x|'s bits (infinities and NaNs: the
    chunk's funnel pass)."""
    c1 = 1.0 if mode == P.STOCHASTIC_A else 0.5
    cmode = mode == P.STOCHASTIC_C
    scale = np.float64(1 << nbits)  # (outside the loop: a power in it would not vectorise)
    cap = np.float32(2.0**22)
    dov = _I32(ovf_p ^ ovf_n)
    dtz = _I32(tz_p ^ tz_n)
    uns = _I32(-_I32(maxneg < _I32(0)))  # all ones: an unsigned format (negatives give 0)
    amax = _I32(0)
    for i in range(xb.size):
        r, ax, negm = _sr_lane(xb[i], rb[i], shw, maskn)
        amax = max(amax, ax)
        y = min(i32_as_f32(ax) * inv, cap)
        n0 = _I32(y)  # floor (y >= 0)
        fr = y - np.float32(n0)  # exact
        away = _sr_away(fr, r, maskn, scale, c1, cmode)
        n = _I32(n0 + away)
        trunc = _I32(-_I32(_I32(fr != np.float32(0)) & _I32(away ^ _I32(1))))  # kept bits only, and inexact
        lim = maxpos ^ _I32(_I32(maxpos ^ maxneg) & negm)
        v = _I32(_I32(n ^ negm) - negm)
        v = _I32(v & _I32(~_I32(negm & uns)))
        code = _I32(v & mask)
        ovf = overflow_select(_I32(~trunc), negm, ovf_p, dov, tz_p, dtz)
        out[i] = ovf if (n > lim) & (lim >= _I32(0)) else code
    return amax


_int_sr_run_small = _int_sr_driver(True)
_int_sr_run_wide = _int_sr_driver(False)


# ---------------------------------------------------------------- the registered encode variants
# Dispatch (`encode.encode_flat`) calls `kernel(x, out, p, mode, sat, rkind, rarr, key, nbits,
# offset)` with a flat float array `x` and asks `applies(x.dtype, p, mode, sat)`; the first
# variant that applies runs. Every saturation is covered: its codes are precomputed by
# `round.overflow_code`. Proofs: tests/test_variants.py.
_FLOAT32 = np.dtype(np.float32)


_HALF_MODES = (P.NEAREST_EVEN, P.TOWARD_ZERO, P.TOWARD_POSITIVE, P.TOWARD_NEGATIVE)  # (to_odd: `_odd_loop`)


def _deterministic(mode) -> bool:
    """The six deterministic modes the integer and `.det` loops share (not nearest_toward_zero)."""
    return mode <= P.TO_ODD


def _stochastic(mode) -> bool:
    """The stochastic modes the `_sr` loops implement (stochastic_a, _b, _c)."""
    return P.STOCHASTIC_A <= mode <= P.STOCHASTIC_C


register(
    "encode.f32.half", "encode",
    lambda x, out, p, mode, sat, *_: _half_call(x.view(np.int32), out, p, mode, sat),
    lambda dt, p, mode, sat: dt == _FLOAT32 and mode in _HALF_MODES and half_eligible(p),
    "float32 input; IEEE binary16 (half_eligible: on CPUs with a binary16 conversion instruction); "
    "nearest_even, toward_zero, toward_positive, toward_negative; every saturation",
)
register(
    "encode.f32.int", "encode",
    lambda x, out, p, mode, sat, *_: encode_f32_int(x.view(np.int32), out, p, mode, sat),
    lambda dt, p, mode, sat: dt == _FLOAT32 and _deterministic(mode) and int_eligible(p),
    "float32 input; integer formats of <= 16 bits, range inside +-2**22, scale 2**k with "
    "-126 <= k <= 0 (int_eligible); the six deterministic modes; every saturation",
)
register(
    "encode.f32.int_sr", "encode",
    lambda x, out, p, mode, sat, rkind, rarr, key, nbits, offset: encode_f32_int_sr(
        x.view(np.int32), out, p, mode, sat, rkind, rarr, key, nbits, offset),
    lambda dt, p, mode, sat: dt == _FLOAT32 and _stochastic(mode) and int_eligible(p),
    "float32 input; the formats of encode.f32.int; stochastic_a, _b, _c with 1 <= N <= 32 random bits, "
    "explicit or seeded; every saturation",
)
register(
    "encode.f32.rne", "encode",
    lambda x, out, p, mode, sat, *_: _rne_loop(x.view(np.int32), out, *_b32(codes_py(p, P.NEAREST_EVEN, sat))),
    lambda dt, p, mode, sat: dt == _FLOAT32 and mode == P.NEAREST_EVEN and eligible(p, magic=True),
    "float32 input; signed float formats with zero and subnormals, 1 <= M <= 22, EMIN >= -126, "
    "ECAP + 23 - M <= 127 (eligible(p, magic=True)); nearest_even; every saturation",
)
register(
    "encode.f32.dir", "encode",
    lambda x, out, p, mode, sat, *_: _dir_call(x.view(np.int32), out, p, mode, sat),
    lambda dt, p, mode, sat: (dt == _FLOAT32 and P.NEAREST_AWAY <= mode <= P.TO_ODD
                              and eligible(p, magic=True)),
    "float32 input; the formats of encode.f32.rne; nearest_away, toward_zero, toward_positive, "
    "toward_negative, to_odd; every saturation",
)
register(
    "encode.f32.top", "encode",
    lambda x, out, p, mode, sat, *_: _top_call(x.view(np.int32), out, p, mode, sat),
    lambda dt, p, mode, sat: (dt == _FLOAT32 and (_deterministic(mode) or mode == P.NEAREST_TOWARD_ZERO)
                              and top_eligible(p)),
    "float32 input; formats whose codes are float32's top bits (top_eligible: bfloat16, tf32); the six "
    "deterministic modes and nearest_toward_zero; every saturation",
)
register(
    "encode.f32.det", "encode",
    lambda x, out, p, mode, sat, *_: _det_call(x.view(np.int32), out, p, mode, sat),
    lambda dt, p, mode, sat: (dt == _FLOAT32 and (_deterministic(mode) or mode == P.NEAREST_TOWARD_ZERO)
                              and eligible(p)),
    "float32 input; signed float formats with zero and subnormals, 1 <= M <= 22, EMIN >= -126 "
    "(eligible(p)); the six deterministic modes and nearest_toward_zero; every saturation",
)
register(
    "encode.f32.sr", "encode",
    lambda x, out, p, mode, sat, rkind, rarr, key, nbits, offset: encode_f32_sr(
        x.view(np.int32), out, p, mode, sat, rkind, rarr, key, nbits, offset),
    lambda dt, p, mode, sat: dt == _FLOAT32 and _stochastic(mode) and eligible(p),
    "float32 input; the formats of encode.f32.det; stochastic_a, _b, _c with 1 <= N <= 32 random "
    "bits, explicit or seeded; every saturation",
)
