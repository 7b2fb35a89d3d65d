"""Correctly rounded +, -, x, /, fma and sqrt of float64 operands into any format.

Each operation computes its exact result as an integer significand and an
exponent (`value = (-1)**neg * sig * 2**exp`), keeps at least 60 significant
bits (61 for products and fma) or `K` quotient/root bits, ORs a sticky bit
for anything dropped, and ends in ONE call of `round_pack`. Nothing here
rounds by itself.

Operands are decomposed exactly and normalised so that `2**52 <= sig < 2**53`.

add:  the larger operand is shifted left by 8 (its 8 low bits are then zero), the
      smaller is aligned to it and jammed (sticky) if it falls below bit 0. A jam
      only happens when the exponents differ by more than 8, so the result keeps
      >= 60 bits and the usual sticky argument holds for subtraction too::

          A: 1xxxxxxxxxxxxxxx00000000
          B:            1xxxxxxxxxxxxx|yyyy  -> ...xxxxs  (s = OR of y)

mul:  53 x 53 bits in three partial products of 26/27-bit halves, combined in
      base 2**52 (all int64), then the top 61 bits plus sticky.
div:  long division, 10 quotient bits per step, until the quotient has K bits;
      the remainder is the sticky bit.
sqrt: a floor square root of sig * 2**8 from the FPU corrected to exact, then
      bit-by-bit digits until K bits; the remainder is the sticky bit.
fma:  the exact 106-bit product and the addend in a two-limb (base 2**62) fixed
      point frame with the larger operand's top bit at bit 120, then as add.

K = min(60, precision + N + 3) (N = random bits of a stochastic mode) keeps at
least N + 3 bits below the target's last place, as `round_pack` requires.
"""

from __future__ import annotations

import math

import numpy as np

from . import params as P
from .bits import clz64, shift_right_jam
from .decode import decode_value
from .jit import jit
from .magnitude import SIGN64, beyond, is_magnitude
from .round import decompose, round_pack
from .streams import element_bits, random_bits

__all__ = [
    "add_finite", "zero_sum_sign", "exact_add", "exact_mul", "exact_div", "exact_sqrt", "exact_fma",
    "add_loop", "mul_loop", "div_loop", "fma_loop", "sqrt_loop",
    "reduce_loop", "matmul_loop",
]

_M62 = (1 << 62) - 1
_M52 = (1 << 52) - 1
_M26 = (1 << 26) - 1


@jit
def _norm(v):
    """(cls, neg, sig, exp) of v with a finite nonzero sig normalised to 53 bits."""
    cls, neg, sig, exp = decompose(v)
    if cls == P.FINITE:
        sh = clz64(sig) - 11
        sig = sig << sh
        exp = exp - sh
    return cls, neg, sig, exp


@jit
def zero_sum_sign(na, nb, mode):
    """Sign of an exact zero sum (IEEE 754 §6.3)."""
    if na == nb:
        return na
    return mode == P.TOWARD_NEGATIVE


@jit
def _nan():
    return P.NOTANUMBER, False, np.int64(0), np.int64(0)


@jit
def add_finite(na, sa, ea, nb, sb, eb, mode):
    """Exact a + b for finite nonzero normalised operands."""
    if ea < eb or (ea == eb and sa < sb):
        na, sa, ea, nb, sb, eb = nb, sb, eb, na, sa, ea
    d = ea - eb
    A = sa << 8
    B = sb << (8 - d) if d <= 8 else shift_right_jam(sb, d - 8)
    if na == nb:
        S = A + B
    else:
        S = A - B
        if S == 0:
            return P.ZERO, zero_sum_sign(na, nb, mode), np.int64(0), np.int64(0)
    return P.FINITE, na, S, ea - 8


@jit
def exact_add(a, b, mode):
    """(cls, neg, sig, exp) of the exact a + b (IEEE special cases)."""
    ca, na, sa, ea = _norm(a)
    cb, nb, sb, eb = _norm(b)
    if ca == P.NOTANUMBER or cb == P.NOTANUMBER:
        return _nan()
    if ca == P.INFINITE or cb == P.INFINITE:
        if ca == P.INFINITE and cb == P.INFINITE and na != nb:
            return _nan()
        return P.INFINITE, (na if ca == P.INFINITE else nb), np.int64(0), np.int64(0)
    if ca == P.ZERO:
        if cb == P.ZERO:
            return P.ZERO, zero_sum_sign(na, nb, mode), np.int64(0), np.int64(0)
        return cb, nb, sb, eb
    if cb == P.ZERO:
        return ca, na, sa, ea
    return add_finite(na, sa, ea, nb, sb, eb, mode)


@jit
def _mul_words(sa, sb):
    """The exact product of two 53-bit integers as w1 * 2**52 + w0 (w0 < 2**52)."""
    a0 = sa & _M26
    a1 = sa >> 26
    b0 = sb & _M26
    b1 = sb >> 26
    lo = a0 * b0
    mid = a1 * b0 + a0 * b1
    hi = a1 * b1
    t = lo + ((mid & _M26) << 26)
    w0 = t & _M52
    w1 = hi + (mid >> 26) + (t >> 52)
    return w1, w0


@jit
def _mul_finite(sa, ea, sb, eb):
    """(sig, exp) of the exact product, 61 bits plus sticky."""
    w1, w0 = _mul_words(sa, sb)
    l1 = 64 - clz64(w1)  # 53 or 54
    k = 61 - l1  # bits taken from w0
    drop = 52 - k
    sig = (w1 << k) | shift_right_jam(w0, drop)
    return sig, ea + eb + drop


@jit
def exact_mul(a, b):
    """(cls, neg, sig, exp) of the exact a * b (IEEE special cases)."""
    ca, na, sa, ea = _norm(a)
    cb, nb, sb, eb = _norm(b)
    neg = na != nb
    if ca == P.NOTANUMBER or cb == P.NOTANUMBER:
        return _nan()
    if ca == P.INFINITE or cb == P.INFINITE:
        if ca == P.ZERO or cb == P.ZERO:
            return _nan()
        return P.INFINITE, neg, np.int64(0), np.int64(0)
    if ca == P.ZERO or cb == P.ZERO:
        return P.ZERO, neg, np.int64(0), np.int64(0)
    sig, exp = _mul_finite(sa, ea, sb, eb)
    return P.FINITE, neg, sig, exp


@jit
def exact_div(a, b, K, p3109):
    """(cls, neg, sig, exp) of a / b with >= K quotient bits plus sticky.

    x / 0 is +-inf (IEEE) or NaN (`p3109`); 0/0, inf/inf and NaN give NaN.
    """
    ca, na, sa, ea = _norm(a)
    cb, nb, sb, eb = _norm(b)
    neg = na != nb
    if ca == P.NOTANUMBER or cb == P.NOTANUMBER:
        return _nan()
    if cb == P.ZERO:
        if ca == P.ZERO or p3109:
            return _nan()
        return P.INFINITE, neg, np.int64(0), np.int64(0)
    if ca == P.INFINITE:
        if cb == P.INFINITE:
            return _nan()
        return P.INFINITE, neg, np.int64(0), np.int64(0)
    if ca == P.ZERO or cb == P.INFINITE:
        return P.ZERO, neg, np.int64(0), np.int64(0)
    q = np.int64(0)
    r = sa
    if r >= sb:
        q = np.int64(1)
        r -= sb
    k = np.int64(0)
    lim = np.int64(1) << K
    while q < lim:
        c = min(np.int64(10), np.int64(61) - (64 - clz64(q)))
        t = r << c
        d = t // sb
        r = t - d * sb
        q = (q << c) | d
        k += c
    sig = (q << 1) | np.int64(r != 0)
    return P.FINITE, neg, sig, ea - eb - k - 1


@jit
def _isqrt_small(x):
    """floor(sqrt(x)) for 0 <= x < 2**62, exact."""
    r = np.int64(math.sqrt(np.float64(x)))
    while r * r > x:
        r -= 1
    while (r + 1) * (r + 1) <= x:
        r += 1
    return r


@jit
def exact_sqrt(a, K):
    """(cls, neg, sig, exp) of sqrt(a) with >= K root bits plus sticky.

    sqrt(-0) = -0 (single zero formats map it to 0); sqrt of a negative number
    or -inf is NaN.
    """
    ca, na, sa, ea = _norm(a)
    if ca == P.NOTANUMBER:
        return _nan()
    if ca == P.ZERO:
        return P.ZERO, na, np.int64(0), np.int64(0)
    if na:
        return _nan()
    if ca == P.INFINITE:
        return P.INFINITE, False, np.int64(0), np.int64(0)
    if ea & 1:
        sa = sa << 1
        ea -= 1
    x = sa << 8  # < 2**62
    R = _isqrt_small(x)
    rem = x - R * R
    j = np.int64(4)
    lim = np.int64(1) << K
    while R < lim:
        rem = rem << 2
        trial = (R << 2) | 1
        R = R << 1
        if rem >= trial:
            rem -= trial
            R |= 1
        j += 1
    sig = (R << 1) | np.int64(rem != 0)
    return P.FINITE, False, sig, (ea >> 1) - j - 1


# ---------------------------------------------------------------- two-limb helpers (base 2**62)
@jit
def _shl2(hi, lo, n):
    """(hi, lo) << n; the caller guarantees the result is < 2**124."""
    if n == 0:
        return hi, lo
    if n >= 62:
        return lo << (n - 62), np.int64(0)
    nhi = (hi << n) | (lo >> (62 - n))
    nlo = (lo & ((np.int64(1) << (62 - n)) - 1)) << n
    return nhi, nlo


@jit
def _shr2_sticky(hi, lo, n):
    """(hi, lo) >> n with the dropped bits ORed into bit 0 (n >= 0)."""
    if n == 0:
        return hi, lo
    if n >= 124:
        return np.int64(0), np.int64((hi | lo) != 0)
    if n >= 62:
        return np.int64(0), shift_right_jam(hi, n - 62) | np.int64(lo != 0)
    return hi >> n, shift_right_jam(lo, n) | ((hi & ((np.int64(1) << n) - 1)) << (62 - n))


@jit
def _bitlen2(hi, lo):
    if hi != 0:
        return 62 + 64 - clz64(hi)
    return 64 - clz64(lo)


@jit
def exact_fma(a, b, c, mode):
    """(cls, neg, sig, exp) of the exact a * b + c, 61 bits plus sticky."""
    ca, na, sa, ea = _norm(a)
    cb, nb, sb, eb = _norm(b)
    cc, nc, sc, ec = _norm(c)
    npr = na != nb
    if ca == P.NOTANUMBER or cb == P.NOTANUMBER or cc == P.NOTANUMBER:
        return _nan()
    if ca == P.INFINITE or cb == P.INFINITE:
        if ca == P.ZERO or cb == P.ZERO:
            return _nan()
        if cc == P.INFINITE and nc != npr:
            return _nan()
        return P.INFINITE, npr, np.int64(0), np.int64(0)
    if cc == P.INFINITE:
        return P.INFINITE, nc, np.int64(0), np.int64(0)
    if ca == P.ZERO or cb == P.ZERO:
        if cc == P.ZERO:
            return P.ZERO, zero_sum_sign(npr, nc, mode), np.int64(0), np.int64(0)
        return cc, nc, sc, ec
    if cc == P.ZERO:
        sig, exp = _mul_finite(sa, ea, sb, eb)
        return P.FINITE, npr, sig, exp
    # exact product P = w1 * 2**52 + w0 at exponent ea + eb, as two limbs base 2**62
    w1, w0 = _mul_words(sa, sb)
    phi = w1 >> 10
    plo = w0 | ((w1 & 1023) << 52)
    ep = ea + eb
    lp = 52 + 64 - clz64(w1)
    topp = ep + lp - 1
    topc = ec + 52
    u = max(topp, topc) - 120  # exponent of bit 0 of the frame
    chi = np.int64(0)
    clo = sc
    sp = ep - u
    if sp >= 0:
        phi, plo = _shl2(phi, plo, sp)
    else:
        phi, plo = _shr2_sticky(phi, plo, -sp)
    scs = ec - u
    if scs >= 0:
        chi, clo = _shl2(chi, clo, scs)
    else:
        chi, clo = _shr2_sticky(chi, clo, -scs)
    if npr == nc:
        lo = plo + clo
        hi = phi + chi + (lo >> 62)
        lo = lo & _M62
        neg = npr
    else:
        if phi > chi or (phi == chi and plo >= clo):
            hi, lo, xhi, xlo, neg = phi, plo, chi, clo, npr
        else:
            hi, lo, xhi, xlo, neg = chi, clo, phi, plo, nc
        lo = lo - xlo
        br = np.int64(lo < 0)
        lo = lo + (br << 62)
        hi = hi - xhi - br
        if hi == 0 and lo == 0:
            return P.ZERO, zero_sum_sign(npr, nc, mode), np.int64(0), np.int64(0)
    L = _bitlen2(hi, lo)
    if L > 61:
        hi, lo = _shr2_sticky(hi, lo, L - 61)
        u += L - 61
    return P.FINITE, neg, lo, u


# ---------------------------------------------------------------- loops
@jit
def _store(out, i, c):
    if c < 0:
        out[i] = 0
        return 1
    out[i] = c
    return 0


@jit
def add_loop(a, sa, b, sb, out, p, mode, sat, rkind, rarr, key, nbits, offset=0):
    """out[i] = code of a[i*sa] + b[i*sb]; returns the count of NaN results without a code."""
    bad = 0
    for i in range(out.size):
        cls, neg, sig, exp = exact_add(np.float64(a[i * sa]), np.float64(b[i * sb]), mode)
        r = element_bits(rkind, rarr, key, nbits, i, offset)
        bad += _store(out, i, round_pack(cls, neg, sig, exp, p, mode, sat, r, nbits))
    return bad


@jit
def mul_loop(a, sa, b, sb, out, p, mode, sat, rkind, rarr, key, nbits, offset=0):
    """out[i] = code of a[i*sa] * b[i*sb]."""
    bad = 0
    for i in range(out.size):
        cls, neg, sig, exp = exact_mul(np.float64(a[i * sa]), np.float64(b[i * sb]))
        r = element_bits(rkind, rarr, key, nbits, i, offset)
        bad += _store(out, i, round_pack(cls, neg, sig, exp, p, mode, sat, r, nbits))
    return bad


@jit
def div_loop(a, sa, b, sb, out, p, mode, sat, rkind, rarr, key, nbits, K, offset=0):
    """out[i] = code of a[i*sa] / b[i*sb]."""
    bad = 0
    p3109 = p.P3109 != 0
    for i in range(out.size):
        cls, neg, sig, exp = exact_div(np.float64(a[i * sa]), np.float64(b[i * sb]), K, p3109)
        r = element_bits(rkind, rarr, key, nbits, i, offset)
        bad += _store(out, i, round_pack(cls, neg, sig, exp, p, mode, sat, r, nbits))
    return bad


@jit
def fma_loop(a, sa, b, sb, c, sc, out, p, mode, sat, rkind, rarr, key, nbits, offset=0):
    """out[i] = code of a[i*sa] * b[i*sb] + c[i*sc] (one rounding)."""
    bad = 0
    for i in range(out.size):
        cls, neg, sig, exp = exact_fma(
            np.float64(a[i * sa]), np.float64(b[i * sb]), np.float64(c[i * sc]), mode
        )
        r = element_bits(rkind, rarr, key, nbits, i, offset)
        bad += _store(out, i, round_pack(cls, neg, sig, exp, p, mode, sat, r, nbits))
    return bad


@jit
def sqrt_loop(a, out, p, mode, sat, rkind, rarr, key, nbits, K, offset=0):
    """out[i] = code of sqrt(a[i])."""
    bad = 0
    for i in range(out.size):
        cls, neg, sig, exp = exact_sqrt(np.float64(a[i]), K)
        r = element_bits(rkind, rarr, key, nbits, i, offset)
        bad += _store(out, i, round_pack(cls, neg, sig, exp, p, mode, sat, r, nbits))
    return bad


# ---------------------------------------------------------------- sequential reductions and matmul
@jit
def _rb(rkind, key, nbits, counter):
    if rkind == 2:
        return random_bits(key, counter, nbits)
    return np.int64(0)


@jit
def _step(cls, neg, sig, exp, p, pd, mode, sat, rkind, key, nbits, counter):
    """Round one exact intermediate; returns (code, value, is_bad).

    With magnitude params (binary64, `numfmt._kernels.magnitude`) the funnel
    rounds |value| and the sign goes on top of the code (bit 63 of the int64).
    """
    wide = is_magnitude(p)
    if wide:
        sig, exp = beyond(cls, sig, exp, p.ECAP)
    r = _rb(rkind, key, nbits, counter)
    c = round_pack(cls, neg, sig, exp, p, mode, sat, r, nbits)
    if c < 0:
        return np.int64(0), np.nan, 1
    v = decode_value(c, pd)
    if wide and neg and cls != P.NOTANUMBER:
        return c | SIGN64, -v, 0
    return c, v, 0


@jit
def reduce_loop(x, out, op, keep, p, pd, mode, sat, rkind, key, nbits):
    """Sequential rounded reduction of each row of the 2-D `x`: acc = round(acc op x[r, j]).

    op 0: add, 1: multiply. `out` has shape (rows,) or, with `keep`, (rows, n)
    (every prefix: accumulate). The first element is rounded into the format, an empty
    row gives the rounded identity. Returns the number of NaN results without a code.
    """
    rows, n = x.shape
    bad = 0
    for r in range(rows):
        base = r * (n + 1)
        if n == 0:
            ident = 0.0 if op == 0 else 1.0
            cls, neg, sig, exp = decompose(ident)
            c, acc, b = _step(cls, neg, sig, exp, p, pd, mode, sat, rkind, key, nbits, base)
            out[r, 0] = c
            continue
        cls, neg, sig, exp = decompose(np.float64(x[r, 0]))
        c, acc, b = _step(cls, neg, sig, exp, p, pd, mode, sat, rkind, key, nbits, base)
        bad += b
        if keep:
            out[r, 0] = c
        for j in range(1, n):
            v = np.float64(x[r, j])
            if op == 0:
                cls, neg, sig, exp = exact_add(acc, v, mode)
            else:
                cls, neg, sig, exp = exact_mul(acc, v)
            c, acc, b = _step(cls, neg, sig, exp, p, pd, mode, sat, rkind, key, nbits, base + j)
            bad += b
            if keep:
                out[r, j] = c
        if not keep:
            out[r, 0] = c
    return bad


@jit
def matmul_loop(a, b, out, fused, p, pd, mode, sat, rkind, key, nbits):
    """out[i, j] = code of the sequential dot product of a[i, :] and b[:, j].

    `fused` 0: acc = round(acc + round(a*b)) (the first term is round(a*b));
    1: acc = round(a*b + acc), one rounding per step (a chain of fma).
    """
    m, k = a.shape
    n = b.shape[1]
    bad = 0
    for i in range(m):
        for j in range(n):
            base = ((i * n + j) * (k + 1)) * 2
            if k == 0:
                cls, neg, sig, exp = decompose(0.0)
                c, acc, bb = _step(cls, neg, sig, exp, p, pd, mode, sat, rkind, key, nbits, base)
                out[i, j] = c
                continue
            cls, neg, sig, exp = exact_mul(np.float64(a[i, 0]), np.float64(b[0, j]))
            c, acc, bb = _step(cls, neg, sig, exp, p, pd, mode, sat, rkind, key, nbits, base)
            bad += bb
            for t in range(1, k):
                x = np.float64(a[i, t])
                y = np.float64(b[t, j])
                if fused:
                    cls, neg, sig, exp = exact_fma(x, y, acc, mode)
                else:
                    cls, neg, sig, exp = exact_mul(x, y)
                    c, pr, bb = _step(cls, neg, sig, exp, p, pd, mode, sat, rkind, key, nbits, base + 2 * t)
                    bad += bb
                    cls, neg, sig, exp = exact_add(acc, pr, mode)
                c, acc, bb = _step(cls, neg, sig, exp, p, pd, mode, sat, rkind, key, nbits, base + 2 * t + 1)
                bad += bb
            out[i, j] = c
    return bad
