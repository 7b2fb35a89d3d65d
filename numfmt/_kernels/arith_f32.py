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
from .fast import codes_py
from .jit import jit
from .lanes import magic_round, magic_round64, overflow_select64, pack_code, pack_code64, round_to_odd, round_to_odd64
from .round import round_pack
from .variants import register

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
        p.KIND == 0
        and p.HASZERO == 1
        and p.OFF == 0
        and p.FTZ == 0
        and p.SIGNED == 1
        and p.TWOS == 0
        and p.EVEN_N == 0
        and 1 <= p.M <= 50
        and p.EMIN - p.M - 1 >= -1074
        and p.MAXMAG < (1 << 40)
    )


def eligible_rne32(p) -> bool:
    """Whether `eligible` formats also allow the float32-lane nearest-even loops.

    The round-to-odd float32 image needs two spare bits (M <= 21) and a target
    quantum >= 2**-147 (four float32 subnormal quanta); the magic numbers need
    EMIN >= -126; values and codes stay within float32 (ECAP <= 128).
    """
    return eligible(p) and p.M <= 21 and p.EMIN >= -126 and p.EMIN - p.M >= -147 and p.ECAP <= 128


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
    sb = round_to_odd64(f64_as_i64(s), e)  # (an infinite or NaN sum has a NaN error: no step)
    anyneg = (f64_as_i64(u) | f64_as_i64(v)) < _I64(0)
    zb = _I64(-0x8000000000000000) if anyneg else _I64(0)
    return zb if (rtn & (s == 0.0)) else sb


@jit
def _round(vb, emin_b, m, rne, m_rna, m_up, m_dn, m_odd):
    """Nearest-even rounding of |x| (float64 bits `vb`) on the grid, and the mode's step.

    Returns `ax` (|x|'s bits), `negm` (all ones for negatives), the nearest-even
    magnitude code `mag` and value `r`, the magic number `mf` (see
    `lanes.magic_round64`; no cap: codes past the largest keep their parity), and
    three masks (all ones or zero): `up` (the nearest-even step went up: the
    truncated value is one quantum below `r`), `inexact` and `inc` (the mode
    rounds the truncated value up). With `rne` the masks are not computed.
    """
    ax = vb & _ABS
    negm = vb >> _I64(63)
    mag, x, mf, t = magic_round64(ax, m, emin_b, _I64(2047))
    r = t - mf
    z = _I64(0)
    if rne:
        return ax, negm, mag, r, mf, z, z, z
    up = -_I64(r > x)
    inexact = -_I64(r != x)
    tie_down = -_I64((x - r) == mf * 2.0**-53)
    trunc_even = ((mag + up) & _I64(1)) - _I64(1)  # (M >= 1: the code's parity is the significand's)
    inc = (
        (m_rna & (up | tie_down))
        | (m_up & inexact & ~negm)
        | (m_dn & inexact & negm)
        | (m_odd & inexact & trunc_even)
    )
    return ax, negm, mag, r, mf, up, inexact, inc


@jit
def _code(vb, rne, emin_b, m, m_rna, m_up, m_dn, m_odd, maxmag, signbit, nz, ovf_p, dov, tz_p, dtz,
          inf_p, dinf, nan_p):
    """Code (int64) of the float64 bits `vb` rounded into the format."""
    ax, negm, mag, _, _, up, inexact, inc = _round(vb, emin_b, m, rne, m_rna, m_up, m_dn, m_odd)
    if rne:
        ovf = ovf_p ^ (dov & negm)
    else:
        mag = mag + up - inc  # truncated code, then the mode's increment
        ovf = overflow_select64(inc | ~inexact, negm, ovf_p, dov, tz_p, dtz)
    code = pack_code64(mag, negm, nz, signbit, maxmag, ovf)
    code = (inf_p ^ (dinf & negm)) if ax == _INF else code
    return nan_p if ax > _INF else code


@jit
def _value(vb, rne, emin_b, m, m_rna, m_up, m_dn, m_odd, maxbits, nz, ovf_p, dov, tz_p, dtz, inf_p, dinf,
           nan_v):
    """Value (float64) of the float64 bits `vb` rounded into the format (the largest finite
    value and the special values as float64 bit patterns: sign flips are XORs)."""
    ax, negm, _, r, mf, up, inexact, inc = _round(vb, emin_b, m, rne, m_rna, m_up, m_dn, m_odd)
    if rne:
        res = r
        ovf = ovf_p ^ (dov & negm)
    else:
        q = mf * 2.0**-52
        trunc = r - q if up != 0 else r
        res = trunc + q if inc != 0 else trunc
        ovf = overflow_select64(inc | ~inexact, negm, ovf_p, dov, tz_p, dtz)
    out = pack_code64(f64_as_i64(res), negm, nz, _SIGN, maxbits, ovf)  # (res >= 0: bits order as values)
    out = (inf_p ^ (dinf & negm)) if ax == _INF else out
    return i64_as_f64(nan_v if ax > _INF else out)


def _image_run(values, kind, rne, name):
    """The chunk loop of the float64-image path for one case: `values` (`_value`, else `_code`),
    the operation `kind` (0 add, 1 mul, 2 fma) and `rne`. Returns the count of NaN results without
    a code (`nanflag`: the format has no NaN code).

    Each case is its own jitted function closing over constants only (numba prunes the other
    cases' branches, and its cache keys stay the same in every process): the operation and `rne`
    are constants inside the element loop, so LLVM drops the unused mode logic and vectorises,
    and a call compiles only the case it runs.
    """
    def run(a, sa, b, sb, c, sc, out, nanflag, rtn, k, fa, fb, fc, step):
        n = out.size
        bad = 0
        for lo in range(0, n, step):
            hi = min(lo + step, n)
            x = _operand(a, sa, lo, hi, fa)
            y = _operand(b, sb, lo, hi, fb)
            if kind == 2:
                z = _operand(c, sc, lo, hi, fc)
            else:
                z = x
            o = out[lo:hi]
            for i in range(hi - lo):
                if kind == 0:
                    vb = _ro53(np.float64(x[i]), np.float64(y[i]), rtn)
                elif kind == 1:
                    vb = f64_as_i64(np.float64(x[i]) * np.float64(y[i]))
                else:
                    vb = _ro53(np.float64(x[i]) * np.float64(y[i]), np.float64(z[i]), rtn)
                if values:
                    o[i] = _value(vb, rne, *k)
                else:
                    o[i] = _code(vb, rne, *k)
            if nanflag:
                bad += _count_nan(kind, x, y, z)
        return bad

    run.__name__ = run.__qualname__ = name  # (one numba cache entry per case)
    return jit(run)


_IMAGE = {(w, k, r): _image_run(not w, k, r, f"_image_{'codes' if w else 'values'}_{('add', 'mul', 'fma')[k]}"
                                                f"{'_rne' if r else ''}")
          for w in (False, True) for k in (0, 1, 2) for r in (False, True)}


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


@jit
def _operand(x, step, lo, hi, buf):
    """x[lo:hi], or a chunk filled with the scalar x[0] (step 0)."""
    if step == 1:
        return x[lo:hi]
    return buf[: hi - lo]


def _f64_bits(v) -> np.int64:
    return np.float64(v).view(np.int64)


def _f32_bits(v) -> np.int32:
    return np.float32(v).view(np.int32)


def _value_of(code, pd) -> float:
    """`decode.decode_value` run as Python (a constant of a loop; compiles nothing)."""
    return float(decode_value.py_func(code, pd))


def _consts32(want_codes, p, pd, sat):
    """Constants of `_rne32` (int32) for codes or values, computed in Python (`fast.codes_py`)."""
    cs = codes_py(p, P.NEAREST_EVEN, sat)
    m, emin, ecap, maxmag, signbit = cs.m, cs.emin, cs.ecap, cs.maxmag, cs.signbit
    ovf_p, ovf_n, inf_p, inf_n, nan_p = cs.ovf_p, cs.ovf_n, cs.inf_p, cs.inf_n, cs.nan_p
    nz = -1 if cs.negzero != 0 else 0
    if not want_codes:
        ovf_p, ovf_n = _f32_bits(_value_of(ovf_p, pd)), _f32_bits(_value_of(ovf_n, pd))
        inf_p, inf_n = _f32_bits(_value_of(inf_p, pd)), _f32_bits(_value_of(inf_n, pd))
        nan_p = _f32_bits(np.nan) if nan_p < 0 else _f32_bits(_value_of(nan_p, pd))
        maxmag = _f32_bits(_value_of(maxmag, pd))
        signbit = -0x80000000
    return tuple(np.int64(int(v)).astype(np.int32) for v in (
        emin + 127, min(ecap + 127, 254), 254 - (23 - m), m, maxmag, signbit, nz, ovf_p, int(ovf_p) ^ int(ovf_n),
        inf_p, int(inf_p) ^ int(inf_n), nan_p))


def _chunk_operand(x, step, lo, hi):
    """x[lo:hi], or the scalar x[0] repeated (step 0), in Python."""
    return x[lo:hi] if step == 1 else np.full(hi - lo, x[0], x.dtype)


def f32_arith(kind, a, sa, b, sb, c, sc, out, want_codes, lanes32, p, pd, mode, sat):
    """`a + b` (kind 0), `a * b` (1) or `a * b + c` (2) of float32 operands into `out`.

    `sa`/`sb`/`sc`: 1, or 0 for a one-element operand that broadcasts.
    `out` (flat) receives codes (`want_codes`, any integer dtype) or values
    (float32 or float64: the values of `pd`, the format's own params; `p` may
    carry `nan=` policy codes). `lanes32`: nearest-even add/mul through the
    float32-lane loops (`eligible_rne32`). Returns the number of NaN results
    the format has no code for (`nan="raise"`; their codes/values are then 0).

    The loop constants are computed here in Python (`fast.codes_py`) and only the loop of the
    call's operation, mode and output kind is compiled; the exact redo of flagged float32 lanes
    (`_redo`, which compiles `round_pack`) runs after the loop, only when a lane was flagged.
    """
    n = out.size
    if n == 0:
        return 0
    cs = codes_py(p, mode, sat)
    nanflag = bool(cs.nan_p < 0)
    step = min(n, _CHUNK)
    fa = np.full(step, a[0], a.dtype) if sa == 0 else a[:0]
    fb = np.full(step, b[0], b.dtype) if sb == 0 else b[:0]
    if lanes32:
        k32 = _consts32(want_codes, p, pd, sat)
        flagged = np.empty(-(-n // step), np.int64)
        nf = _LANES[bool(want_codes), kind](a, sa, b, sb, out, nanflag, k32, fa, fb, flagged, step)
        bad = 0
        for lo in flagged[:nf].tolist():
            hi = min(lo + step, n)
            bad += _redo(kind, want_codes, _chunk_operand(a, sa, lo, hi), _chunk_operand(b, sb, lo, hi),
                         out[lo:hi], nanflag, p, pd, mode, sat)
        return bad
    fc = np.full(step, c[0], c.dtype) if (sc == 0 and kind == 2) else c[:0]
    m, emin, maxmag, signbit = cs.m, cs.emin, cs.maxmag, cs.signbit
    ovf_p, ovf_n, inf_p, inf_n, nan_p, tz_p, tz_n = cs.ovf_p, cs.ovf_n, cs.inf_p, cs.inf_n, cs.nan_p, cs.tz_p, cs.tz_n
    nz = -1 if cs.negzero != 0 else 0
    m_rna = -1 if mode == P.NEAREST_AWAY else 0
    m_up = -1 if mode == P.TOWARD_POSITIVE else 0
    m_dn = -1 if mode == P.TOWARD_NEGATIVE else 0
    m_odd = -1 if mode == P.TO_ODD else 0
    rne = mode == P.NEAREST_EVEN
    rtn = mode == P.TOWARD_NEGATIVE
    emin_b = emin + 1023
    if want_codes:
        k = (emin_b, m, m_rna, m_up, m_dn, m_odd, maxmag, signbit, nz,
             ovf_p, ovf_p ^ ovf_n, tz_p, tz_p ^ tz_n, inf_p, inf_p ^ inf_n, nan_p)
    else:
        vp, vn = _f64_bits(_value_of(ovf_p, pd)), _f64_bits(_value_of(ovf_n, pd))
        tp, tn = _f64_bits(_value_of(tz_p, pd)), _f64_bits(_value_of(tz_n, pd))
        ip, ineg = _f64_bits(_value_of(inf_p, pd)), _f64_bits(_value_of(inf_n, pd))
        nan_v = _f64_bits(np.nan if nan_p < 0 else _value_of(nan_p, pd))
        k = (emin_b, m, m_rna, m_up, m_dn, m_odd, _f64_bits(_value_of(maxmag, pd)), nz,
             vp, vp ^ vn, tp, tp ^ tn, ip, ip ^ ineg, nan_v)
    k = tuple(_I64(int(v)) for v in k)
    return _IMAGE[bool(want_codes), kind, bool(rne)](a, sa, b, sb, c, sc, out, nanflag, bool(rtn), k, fa, fb,
                                                         fc, step)


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
def _rne32(xb, want_codes, emin_b, cap_b, big_b, m, maxv, signbit, nz, ovf_p, dov, inf_p, dinf, nan_p):
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
    big = _I32(min(max(_I32(ax >> _I32(23)), emin_b), cap_b)) > big_b
    sh = _I32(64) if big else _I32(0)
    axs = f32_as_i32(i32_as_f32(ax) * (_F32(2.0**-64) if big else _F32(1.0)))
    mag, _, mf, t = magic_round(axs, m, _I32(emin_b - sh), _I32(cap_b - sh))
    res = mag if want_codes else f32_as_i32((t - mf) * (_F32(2.0**64) if big else _F32(1.0)))
    out = pack_code(res, negm, nz, signbit, maxv, _I32(ovf_p ^ _I32(dov & negm)))
    out = _I32(inf_p ^ _I32(dinf & negm)) if ax == _INF32 else out
    return nan_p if ax > _INF32 else out


@jit
def _mul32(x, y):
    """(RO24 bits of x * y, whether the lane must be redone exactly)."""
    pr = x * y
    xb = round_to_odd(f32_as_i32(pr), _fma32(x, y, -pr))
    tiny = ((f32_as_i32(pr) & _M32) < _TINY32) & (x != _F32(0)) & (y != _F32(0))
    return xb, tiny


@jit
def _add32(x, y):
    """(RO24 bits of x + y, whether the lane must be redone exactly)."""
    s, err = _two_sum(x, y)
    ovf = ((s - s) != _F32(0)) & ((x - x) == _F32(0)) & ((y - y) == _F32(0))
    return round_to_odd(f32_as_i32(s), err), ovf


def _lanes_run(want_codes, kind, name):
    """The chunk loop of the float32-lane path for one operation (`kind` 0 add, 1 mul) and output
    kind: writes the start of every chunk with a lane that needs the exact redo into `flagged` and
    returns their count (the caller redoes them).

    (Each case is its own jitted function closing over constants only, as in `_image_run`: the
    operation and `want_codes` are constants inside the element loop, so it vectorises, and a
    call compiles only its own case.)
    """
    def run(a, sa, b, sb, out, nanflag, k, fa, fb, flagged, step):
        n = out.size
        nf = 0
        for lo in range(0, n, step):
            hi = min(lo + step, n)
            x = _operand(a, sa, lo, hi, fa)
            y = _operand(b, sb, lo, hi, fb)
            o = out[lo:hi]
            flag = _I32(0)
            for i in range(hi - lo):
                if kind == 0:
                    xb, f = _add32(x[i], y[i])
                else:
                    xb, f = _mul32(x[i], y[i])
                if want_codes:
                    c = _rne32(xb, True, *k)
                    flag = max(flag, _I32(f | (nanflag & (c < _I32(0)))))
                    o[i] = c
                else:
                    flag = max(flag, _I32(f | (nanflag & ((xb & _M32) > _INF32))))
                    o[i] = i32_as_f32(_rne32(xb, False, *k))
            if flag:
                flagged[nf] = lo
                nf += 1
        return nf

    run.__name__ = run.__qualname__ = name
    return jit(run)


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


_LANES = {(w, k): _lanes_run(w, k, f"_lanes_{'codes' if w else 'values'}_{('add', 'mul')[k]}")
          for w in (False, True) for k in (0, 1)}


# ---------------------------------------------------------------- the registered arithmetic variants
# Dispatch (`numfmt.arith`) calls `kernel(kind, a, sa, b, sb, c, sc, out, want_codes, p, pd, mode,
# sat)` (see `f32_arith`) and asks `applies(kind, dtype, p, mode, sat)`, `dtype` the
# operands' common dtype. Every saturation is covered (codes from `round.overflow_code`).
# Proofs: tests/test_variants.py, against the integer kernels of `numfmt._kernels.arith`.
_FLOAT32 = np.dtype(np.float32)


def _lanes(kind, a, sa, b, sb, c, sc, out, want_codes, p, pd, mode, sat):
    return f32_arith(kind, a, sa, b, sb, c, sc, out, want_codes, True, p, pd, mode, sat)


def _image(kind, a, sa, b, sb, c, sc, out, want_codes, p, pd, mode, sat):
    return f32_arith(kind, a, sa, b, sb, c, sc, out, want_codes, False, p, pd, mode, sat)


register(
    "arith.f32.lanes", "arith", _lanes,
    lambda kind, dt, p, mode, sat: kind < 2 and dt == _FLOAT32 and mode == P.NEAREST_EVEN and eligible_rne32(p),
    "add and mul of float32 operands; the formats of arith.f32.image with M <= 21, EMIN >= -126, "
    "EMIN - M >= -147, ECAP <= 128 (eligible_rne32); nearest_even; every saturation; codes or values",
)
register(
    "arith.f32.image", "arith", _image,
    lambda kind, dt, p, mode, sat: dt == _FLOAT32 and mode <= P.TO_ODD and eligible(p),
    "add, mul and fma of float32 operands; signed sign-magnitude float formats with zero and "
    "subnormals, 1 <= M <= 50, EMIN - M - 1 >= -1074 (eligible); the six deterministic modes; "
    "every saturation; codes or values",
)
