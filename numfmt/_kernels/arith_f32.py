"""add, mul and fma of float32 operands into small float formats, vectorised.

Two loops, both equal to `round.round_pack` on the exact result (tests:
`tests/test_arith_f32.py`, the exhaustive and SoftFloat tests):

**float64 image, every deterministic mode.** The exact result of one operation
on float32 operands has a float64 image `x` that keeps every bit the rounding
needs:

* `a * b`: exact in float64 (24 x 24 bit significands, exponents far inside
  float64's normal range);
* `a + b` and `a * b + c`: `s = RN53(u + v)` with `u, v` the float64
  operands (`u = a * b` exact for fma), and TwoSum gives the exact error
  `e` (`u + v = s + e`). Round-to-odd at 53 bits (RO53) jams `e` into
  `s`: an inexact `s` with an even last bit moves one ulp toward `e`.

`x = RO53(exact)` rounded on a grid of precision `M + 1 <= 51` bits (two
bits fewer than float64) gives the same result as the exact value in every
deterministic mode, round-to-odd included (Boldo & Melquiond). The rounding
itself is one float64 add (see `numfmt._kernels.fast`, here for float64)::

    E     = binade of x            Eq = max(E, EMIN)   (no cap: codes past the
    magic = 2**(Eq + 52 - M)                            largest keep their parity)
    t     = x + magic               RN to the grid of quantum q = 2**(Eq - M)
    r     = t - magic               the nearest-even grid value (exact)
    mag   = (Eq - EMIN) * 2**M + bits(t) - bits(magic)

`r` against `x` says whether the nearest-even step went up and whether
`x` was on the grid, which gives the truncated code and every mode's
increment as masks (as in `fast._det_loop`). Overflow, signs, -0 and
specials are selects with codes precomputed by `round.overflow_code`
(`fast.constants_any`), so the loop vectorises.

**float32 lanes, nearest-even add and mul** (precision <= 22, see
`eligible_rne32`): the same idea with float32 arithmetic, twice the SIMD
width. `p = RN24(exact)` and an error term with the sign of `exact - p`
(TwoSum; `fma(a, b, -p)` for products) give `RO24(exact)`, rounded by the
float32 magic add. Lanes where the error term could be wrong (products below
2**-100, sums that overflow float32) or NaN results without a code are
flagged and redone by the integer kernels.
"""

from __future__ import annotations

import llvmlite.ir as llir
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from . import arith as _exact
from . import params as P
from .bits import f32_as_i32, f64_as_i64, i32_as_f32, i64_as_f64
from .decode import decode_value
from .fast import constants_any
from .jit import jit
from .lanes import pack_code
from .round import round_pack

__all__ = ["eligible", "eligible_rne32", "f32_arith"]

_I64 = np.int64
_I32 = np.int32
_ABS = _I64(0x7FFFFFFFFFFFFFFF)
_INF = _I64(0x7FF0000000000000)
_SIGN = _I64(-0x8000000000000000)
_CHUNK = 1 << 13


def eligible(p) -> bool:
    """Whether a format's params allow the float64-image loops (deterministic modes).

    A signed sign-magnitude float format with zero and subnormals, 1 <= M <= 50
    (two spare bits below float64's 53 for round-to-odd, and an odd/even code
    parity equal to the significand's), a half quantum that is a float64
    (EMIN - M - 1 >= -1074).
    """
    return (
        p[P.KIND] == 0
        and p[P.HASZERO] == 1
        and p[P.OFF] == 0
        and p[P.FTZ] == 0
        and p[P.SIGNED] == 1
        and p[P.TWOS] == 0
        and p[P.EVEN_N] == 0
        and 1 <= p[P.M] <= 50
        and p[P.EMIN] - p[P.M] - 1 >= -1074
        and p[P.MAXMAG] < (1 << 40)
    )


def eligible_rne32(p) -> bool:
    """Whether `eligible` formats also allow the float32-lane nearest-even loops.

    The round-to-odd float32 image needs two spare bits (M <= 21) and a target
    quantum >= 2**-147 (four float32 subnormal quanta); the magic numbers need
    EMIN >= -126; values and codes stay within float32 (ECAP <= 128).
    """
    return eligible(p) and p[P.M] <= 21 and p[P.EMIN] >= -126 and p[P.EMIN] - p[P.M] >= -147 and p[P.ECAP] <= 128


@intrinsic
def _fma32(typingctx, a, b, c):
    """a * b + c with one rounding (LLVM `fma`; vectorises to vfmadd)."""
    if not (a == types.float32 and b == types.float32 and c == types.float32):
        return None

    def codegen(context, builder, sig, args):
        f = llir.FloatType()
        fn = cgutils.get_or_insert_function(builder.module, llir.FunctionType(f, [f, f, f]), "llvm.fma.f32")
        return builder.call(fn, args)

    return types.float32(types.float32, types.float32, types.float32), codegen


@jit
def _two_sum(u, v):
    s = u + v
    bb = s - u
    err = (u - (s - bb)) + (v - bb)
    return s, err


@jit
def _ro53(u, v, rtn):
    """float64 bits of RO53(u + v) (u, v float64 images of float32 operations, no overflow).

    An exact zero sum is -0 under toward_negative (`rtn`) unless both are +0; the FPU's
    nearest-even sum already has the sign of every other mode. Infinite or NaN sums pass.
    """
    s, e = _two_sum(u, v)
    sb = f64_as_i64(s)
    fix = (e != 0.0) & ((sb & _I64(1)) == _I64(0)) & ((s - s) == 0.0)
    away = (e > 0.0) == (sb >= _I64(0))  # e points away from zero: the magnitude moves up
    sb = sb + (_I64(fix) * (_I64(1) if away else _I64(-1)))
    anyneg = (f64_as_i64(u) | f64_as_i64(v)) < _I64(0)
    zb = _I64(-0x8000000000000000) if anyneg else _I64(0)
    return zb if (rtn & (s == 0.0)) else sb


@jit
def _round(vb, emin_b, m52, rne, m_rna, m_up, m_dn, m_odd):
    """Nearest-even rounding of |x| (float64 bits `vb`) on the grid, and the mode's step.

    Returns `ax` (|x|'s bits), `negm` (all ones for negatives), the magic sum
    `t`, nearest-even value `r`, magic `mf` and its bits `mb`, and three
    masks (all ones or zero): `up` (the nearest-even step went up: the truncated
    value is one quantum below `r`), `inexact` and `inc` (the mode rounds
    the truncated value up). With `rne` the masks are not computed.
    """
    ax = vb & _ABS
    negm = vb >> _I64(63)
    x = i64_as_f64(ax)
    mb = (max(ax >> _I64(52), emin_b) + m52) << _I64(52)
    mf = i64_as_f64(mb)
    t = x + mf
    r = t - mf
    z = _I64(0)
    if rne:
        return ax, negm, t, r, mf, mb, z, z, z
    up = -_I64(r > x)
    inexact = -_I64(r != x)
    tie_down = -_I64((x - r) == mf * 2.0**-53)
    trunc_even = ((f64_as_i64(t) + up) & _I64(1)) - _I64(1)
    inc = (
        (m_rna & (up | tie_down))
        | (m_up & inexact & ~negm)
        | (m_dn & inexact & negm)
        | (m_odd & inexact & trunc_even)
    )
    return ax, negm, t, r, mf, mb, up, inexact, inc


@jit
def _code(vb, rne, emin_b, m52, m_rna, m_up, m_dn, m_odd, two_m, maxmag, signbit, nz, ovf_p, dov, tz_p, dtz,
          inf_p, dinf, nan_p):
    """Code (int64) of the float64 bits `vb` rounded into the format."""
    ax, negm, t, _, _, mb, up, inexact, inc = _round(vb, emin_b, m52, rne, m_rna, m_up, m_dn, m_odd)
    mag = ((mb >> _I64(52)) - m52 - emin_b) * two_m + (f64_as_i64(t) - mb)
    if rne:
        ovf = ovf_p ^ (dov & negm)
    else:
        mag = mag + up - inc  # truncated code, then the mode's increment
        away = inc | ~inexact
        ovf = ((ovf_p ^ (dov & negm)) & away) | ((tz_p ^ (dtz & negm)) & ~away)
    keep = nz | -_I64(mag != _I64(0))
    code = ovf if mag > maxmag else mag | (signbit & negm & keep)
    code = (inf_p ^ (dinf & negm)) if ax == _INF else code
    return nan_p if ax > _INF else code


@jit
def _value(vb, rne, emin_b, m52, m_rna, m_up, m_dn, m_odd, maxval, nz, ovf_p, dov, tz_p, dtz, inf_p, dinf,
           nan_v):
    """Value (float64) of the float64 bits `vb` rounded into the format (special values as
    float64 bit patterns: sign flips are XORs)."""
    ax, negm, _, r, mf, _, up, inexact, inc = _round(vb, emin_b, m52, rne, m_rna, m_up, m_dn, m_odd)
    if rne:
        res = r
        ovf = ovf_p ^ (dov & negm)
    else:
        q = mf * 2.0**-52
        trunc = r - q if up != 0 else r
        res = trunc + q if inc != 0 else trunc
        away = inc | ~inexact
        ovf = ((ovf_p ^ (dov & negm)) & away) | ((tz_p ^ (dtz & negm)) & ~away)
    rb = f64_as_i64(res)
    keep = nz | -_I64(rb != _I64(0))
    out = ovf if res > maxval else rb | (_SIGN & negm & keep)
    out = (inf_p ^ (dinf & negm)) if ax == _INF else out
    return i64_as_f64(nan_v if ax > _INF else out)


# (each loop is written out: the operation and ``rne`` are constants inside it, so LLVM
# drops the unused mode logic and vectorises)
@jit
def _codes_loop(kind, rne, a, b, c, out, rtn, k):
    n = out.size
    if kind == 0 and rne:
        for i in range(n):
            out[i] = _code(_ro53(np.float64(a[i]), np.float64(b[i]), rtn), True, *k)
    elif kind == 0:
        for i in range(n):
            out[i] = _code(_ro53(np.float64(a[i]), np.float64(b[i]), rtn), False, *k)
    elif kind == 1 and rne:
        for i in range(n):
            out[i] = _code(f64_as_i64(np.float64(a[i]) * np.float64(b[i])), True, *k)
    elif kind == 1:
        for i in range(n):
            out[i] = _code(f64_as_i64(np.float64(a[i]) * np.float64(b[i])), False, *k)
    elif rne:
        for i in range(n):
            out[i] = _code(_ro53(np.float64(a[i]) * np.float64(b[i]), np.float64(c[i]), rtn), True, *k)
    else:
        for i in range(n):
            out[i] = _code(_ro53(np.float64(a[i]) * np.float64(b[i]), np.float64(c[i]), rtn), False, *k)


@jit
def _values_loop(kind, rne, a, b, c, out, rtn, k):
    n = out.size
    if kind == 0 and rne:
        for i in range(n):
            out[i] = _value(_ro53(np.float64(a[i]), np.float64(b[i]), rtn), True, *k)
    elif kind == 0:
        for i in range(n):
            out[i] = _value(_ro53(np.float64(a[i]), np.float64(b[i]), rtn), False, *k)
    elif kind == 1 and rne:
        for i in range(n):
            out[i] = _value(f64_as_i64(np.float64(a[i]) * np.float64(b[i])), True, *k)
    elif kind == 1:
        for i in range(n):
            out[i] = _value(f64_as_i64(np.float64(a[i]) * np.float64(b[i])), False, *k)
    elif rne:
        for i in range(n):
            out[i] = _value(_ro53(np.float64(a[i]) * np.float64(b[i]), np.float64(c[i]), rtn), True, *k)
    else:
        for i in range(n):
            out[i] = _value(_ro53(np.float64(a[i]) * np.float64(b[i]), np.float64(c[i]), rtn), False, *k)


@jit
def _operand(x, step, lo, hi, buf):
    """x[lo:hi], or a chunk filled with the scalar x[0] (step 0)."""
    if step == 1:
        return x[lo:hi]
    return buf[: hi - lo]


@jit
def _f64_bits(v):
    return f64_as_i64(np.float64(v))


@jit
def _f32_bits(v):
    return f32_as_i32(np.float32(v))


@jit
def _consts32(want_codes, p, pd, sat):
    """Constants of `_rne32` (int32) for codes or values."""
    cs = constants_any(p, P.NEAREST_EVEN, sat)
    m, emin, ecap, maxmag, signbit = cs[0], cs[1], cs[2], cs[3], cs[4]
    ovf_p, ovf_n, inf_p, inf_n, nan_p = cs[6], cs[7], cs[8], cs[9], cs[10]
    nz = _I32(-1) if cs[5] != 0 else _I32(0)
    if not want_codes:
        ovf_p, ovf_n = _f32_bits(decode_value(ovf_p, pd)), _f32_bits(decode_value(ovf_n, pd))
        inf_p, inf_n = _f32_bits(decode_value(inf_p, pd)), _f32_bits(decode_value(inf_n, pd))
        nan_p = _f32_bits(np.nan) if nan_p < 0 else _f32_bits(decode_value(nan_p, pd))
        maxmag = _f32_bits(decode_value(maxmag, pd))
        signbit = _I32(-0x80000000)
    return (_I32(emin + 127), _I32(min(ecap + 127, 254)), _I32(254 - (23 - m)), _I32(23 - m), _I32(m),
            _I32(maxmag), _I32(signbit), nz, _I32(ovf_p), _I32(ovf_p ^ ovf_n), _I32(inf_p), _I32(inf_p ^ inf_n),
            _I32(nan_p))


@jit
def f32_arith(kind, a, sa, b, sb, c, sc, out, want_codes, lanes32, p, pd, mode, sat):
    """`a + b` (kind 0), `a * b` (1) or `a * b + c` (2) of float32 operands into `out`.

    `sa`/`sb`/`sc`: 1, or 0 for a one-element operand that broadcasts.
    `out` (flat) receives codes (`want_codes`, any integer dtype) or values
    (float32 or float64: the values of `pd`, the format's own params; `p` may
    carry `nan=` policy codes). `lanes32`: nearest-even add/mul through the
    float32-lane loops (`eligible_rne32`). Returns the number of NaN results
    the format has no code for (`nan="raise"`; their codes/values are then 0).
    """
    n = out.size
    if n == 0:
        return 0
    cs = constants_any(p, mode, sat)
    m, emin, maxmag, signbit = cs[0], cs[1], cs[3], cs[4]
    ovf_p, ovf_n, inf_p, inf_n, nan_p, tz_p, tz_n = cs[6], cs[7], cs[8], cs[9], cs[10], cs[12], cs[13]
    nz = _I64(-1) if cs[5] != 0 else _I64(0)
    m_rna = _I64(-1) if mode == P.NEAREST_AWAY else _I64(0)
    m_up = _I64(-1) if mode == P.TOWARD_POSITIVE else _I64(0)
    m_dn = _I64(-1) if mode == P.TOWARD_NEGATIVE else _I64(0)
    m_odd = _I64(-1) if mode == P.TO_ODD else _I64(0)
    rne = mode == P.NEAREST_EVEN
    rtn = mode == P.TOWARD_NEGATIVE
    emin_b = emin + 1023
    m52 = 52 - m
    if want_codes:
        k = (emin_b, m52, m_rna, m_up, m_dn, m_odd, _I64(1) << m, maxmag, signbit, nz,
             ovf_p, ovf_p ^ ovf_n, tz_p, tz_p ^ tz_n, inf_p, inf_p ^ inf_n, nan_p)
    else:
        vp, vn = _f64_bits(decode_value(ovf_p, pd)), _f64_bits(decode_value(ovf_n, pd))
        tp, tn = _f64_bits(decode_value(tz_p, pd)), _f64_bits(decode_value(tz_n, pd))
        ip, ineg = _f64_bits(decode_value(inf_p, pd)), _f64_bits(decode_value(inf_n, pd))
        nan_v = _f64_bits(np.nan if nan_p < 0 else decode_value(nan_p, pd))
        kv = (emin_b, m52, m_rna, m_up, m_dn, m_odd, decode_value(maxmag, pd), nz,
              vp, vp ^ vn, tp, tp ^ tn, ip, ip ^ ineg, nan_v)
    k32 = _consts32(want_codes, p, pd, sat)
    nanflag = nan_p < 0
    step = min(n, _CHUNK)
    fa = np.full(step, a[0]) if sa == 0 else a[:0]
    fb = np.full(step, b[0]) if sb == 0 else b[:0]
    fc = np.full(step, c[0]) if (sc == 0 and kind == 2) else c[:0]
    bad = 0
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        x = _operand(a, sa, lo, hi, fa)
        y = _operand(b, sb, lo, hi, fb)
        z = _operand(c, sc, lo, hi, fc) if kind == 2 else c
        o = out[lo:hi]
        if lanes32:
            if _loop32(kind, want_codes, x, y, o, nanflag, k32):
                bad += _redo(kind, want_codes, x, y, o, nanflag, p, pd, mode, sat)
            continue
        if want_codes:
            _codes_loop(kind, rne, x, y, z, o, rtn, k)
        else:
            _values_loop(kind, rne, x, y, z, o, rtn, kv)
        if nanflag:
            bad += _count_nan(kind, x, y, z)
    return bad


@jit
def _count_nan(kind, a, b, c):
    """NaN results of a chunk (only for formats without a NaN code)."""
    bad = 0
    for i in range(a.size):
        u = np.float64(a[i])
        v = np.float64(b[i])
        if kind == 0:
            r = u + v
        elif kind == 1:
            r = u * v
        else:
            r = u * v + np.float64(c[i])
        bad += np.isnan(r)
    return bad


# ---------------------------------------------------------------- nearest-even in float32 lanes
# add and mul of float32 operands in float32 arithmetic (16 lanes): p = RN24(exact) and an error
# term with the sign of exact - p (zero iff exact): TwoSum for add, fma(a, b, -p) for mul. The
# round-to-odd fix makes p RO24(exact), which the magic add rounds exactly (M <= 21). Lanes where
# the error term can be wrong are flagged and redone by the integer kernels: a product below
# 2**-100 (its error may underflow), a sum that overflows float32 (TwoSum gives NaN), and NaN
# results without a code. A product beyond float32 is inf with error -inf: the fix makes it
# the odd largest float32, above every eligible format's largest finite.
_F32 = np.float32
_M32 = _I32(0x7FFFFFFF)
_INF32 = _I32(0x7F800000)
_TINY32 = _I32(0x0D800000)  # 2**-100


@jit
def _ro24(xb, err):
    """float32 bits of RO24(exact) from `xb` = bits(RN24(exact)) and the error's sign."""
    step = _I32(_I32(_I32(f32_as_i32(err) ^ xb) >> _I32(31)) | _I32(1))  # +1: |exact| > |p|
    fix = ((err > _F32(0)) | (err < _F32(0))) & ((xb & _I32(1)) == _I32(0))
    return _I32(xb + (step if fix else _I32(0)))


@jit
def _rne32(xb, want_codes, emin_b, cap_b, big_b, m23, m, maxv, signbit, nz, ovf_p, dov, inf_p, dinf, nan_p):
    """Code, or value bits, (int32) of the float32 bits `xb` rounded to nearest-even.

    The magic number 2**(Eq + 23 - M) must be a float32: in binades above `big_b`
    |x| is scaled by 2**-64 around the add (exact both ways; a result scaled back
    to inf is an overflow anyway). `maxv` is the largest finite magnitude code
    (codes) or value bits (values); `signbit` the codes' sign bit or 2**31;
    `ovf_p`/`inf_p`/`nan_p` (and the sign XORs `dov`/`dinf`) codes or
    value bits alike.
    """
    ax = _I32(xb & _M32)
    negm = _I32(xb >> _I32(31))
    eq = _I32(min(max(_I32(ax >> _I32(23)), emin_b), cap_b))
    big = eq > big_b
    mb = _I32(_I32(_I32(eq + m23) - (_I32(64) if big else _I32(0))) << _I32(23))
    mf = i32_as_f32(mb)
    t = i32_as_f32(ax) * (_F32(2.0**-64) if big else _F32(1.0)) + mf
    if want_codes:
        res = _I32(_I32(_I32(eq - emin_b) << _I32(m & _I32(31))) + _I32(f32_as_i32(t) - mb))
    else:
        res = f32_as_i32((t - mf) * (_F32(2.0**64) if big else _F32(1.0)))
    out = pack_code(res, negm, nz, signbit, maxv, _I32(ovf_p ^ _I32(dov & negm)))
    out = _I32(inf_p ^ _I32(dinf & negm)) if ax == _INF32 else out
    return nan_p if ax > _INF32 else out


@jit
def _mul32(x, y):
    """(RO24 bits of x * y, whether the lane must be redone exactly)."""
    pr = x * y
    xb = _ro24(f32_as_i32(pr), _fma32(x, y, -pr))
    tiny = ((f32_as_i32(pr) & _M32) < _TINY32) & (x != _F32(0)) & (y != _F32(0))
    return xb, tiny


@jit
def _add32(x, y):
    """(RO24 bits of x + y, whether the lane must be redone exactly)."""
    s = x + y
    bb = s - x
    err = (x - (s - bb)) + (y - bb)
    ovf = ((s - s) != _F32(0)) & ((x - x) == _F32(0)) & ((y - y) == _F32(0))
    return _ro24(f32_as_i32(s), err), ovf


@jit
def _loop32(kind, want_codes, a, b, out, nanflag, k):
    """One chunk of the float32-lane loop; returns whether any lane needs the exact redo."""
    flag = _I32(0)
    if kind == 0 and want_codes:
        for i in range(out.size):
            xb, f = _add32(a[i], b[i])
            c = _rne32(xb, True, *k)
            flag = max(flag, _I32(f | (nanflag & (c < _I32(0)))))
            out[i] = c
    elif kind == 0:
        for i in range(out.size):
            xb, f = _add32(a[i], b[i])
            flag = max(flag, _I32(f | (nanflag & ((xb & _M32) > _INF32))))
            out[i] = i32_as_f32(_rne32(xb, False, *k))
    elif want_codes:
        for i in range(out.size):
            xb, f = _mul32(a[i], b[i])
            c = _rne32(xb, True, *k)
            flag = max(flag, _I32(f | (nanflag & (c < _I32(0)))))
            out[i] = c
    else:
        for i in range(out.size):
            xb, f = _mul32(a[i], b[i])
            flag = max(flag, _I32(f | (nanflag & ((xb & _M32) > _INF32))))
            out[i] = i32_as_f32(_rne32(xb, False, *k))
    return flag


@jit
def _redo(kind, want_codes, a, b, out, nanflag, p, pd, mode, sat):
    """Recompute the flagged lanes of a chunk exactly; returns the NaN results without a code."""
    bad = 0
    for i in range(out.size):
        x = a[i]
        y = b[i]
        if kind == 0:
            f = _add32(x, y)[1] | (nanflag & np.isnan(x + y))
        else:
            f = _mul32(x, y)[1] | (nanflag & np.isnan(x * y))
        if not f:
            continue
        if kind == 0:
            cls, neg, sig, exp = _exact.exact_add(np.float64(x), np.float64(y), mode)
        else:
            cls, neg, sig, exp = _exact.exact_mul(np.float64(x), np.float64(y))
        c = round_pack(cls, neg, sig, exp, p, mode, sat, np.int64(0), np.int64(0))
        if c < 0:
            bad += 1
            c = np.int64(0)
        if want_codes:
            out[i] = c
        else:
            out[i] = decode_value(c, pd)
    return bad
