"""add, mul, div, fma and sqrt rounded into binary64.

The exact intermediates of :mod:`numfmt._kernels.arith` (>= 60 significant bits
plus a sticky bit, or K quotient/root bits) go through :func:`round_pack` like
every other target; only the packing differs. binary64 codes do not fit the
kernels' int64 parameter slots (the sign bit is bit 63), so the kernels round
the *magnitude* with params whose sign bit is 0 (:func:`magnitude_params`) and
the loop puts the sign on top as a uint64. Magnitude codes of values >= 2**1024
would pass 2**63 (products and quotients of float64 reach 2**2048): such a value
overflows whatever the mode, and is replaced by a stand-in in the binade
[2**1024, 2**1025) that keeps every decision the funnel makes past the largest
value (the discarded bits, the truncated code's parity for to_odd), see
:func:`_beyond`.
"""

from __future__ import annotations

import numpy as np

from . import params as P
from .arith import _rbits, exact_add, exact_div, exact_fma, exact_mul, exact_sqrt
from .bits import clz64
from .jit import jit
from .round import round_pack

__all__ = ["magnitude_params", "arith64_loop"]

_SIGN = np.uint64(1) << np.uint64(63)


def magnitude_params(f) -> tuple[int, ...]:
    """Kernel params of binary64 (``f``) for magnitude codes: sign bit 0, positive specials."""
    p = list(P.pack_float_params(f))
    p[P.SIGNBIT] = 0
    p[P.MASK] = (1 << 63) - 1
    p[P.NINF] = p[P.INF]
    p[P.NNAN] = p[P.NAN]
    return tuple(p)


@jit
def _beyond(cls, sig, exp, ecap):
    """A stand-in for a finite exact value >= 2**ecap (it overflows) that rounds alike.

    Past the largest finite value :func:`round_pack` looks only at the discarded
    bits and the truncated code's parity. The stand-in has the same low bits, the
    exponent of the binade [2**ecap, 2**(ecap+1)) and the bit below its leading
    bit cleared, so its magnitude code (and a carry into it) stays below 2**63.
    """
    if cls != P.FINITE:
        return sig, exp
    top = 63 - clz64(sig)
    e = exp + top
    if e < ecap:
        return sig, exp
    return sig & ~(np.int64(1) << (top - 1)), exp - (e - ecap)


@jit
def arith64_loop(op, a, sa, b, sb, c, sc, out, p, mode, sat, rkind, rarr, key, nbits, K):
    """out[i] (uint64) = binary64 code of the op on a[i*sa], b[i*sb], c[i*sc].

    op 0 add, 1 mul, 2 div, 3 fma, 4 sqrt (``a`` only). NaN results are the positive NaN code
    of ``p``.
    """
    ecap = p[P.ECAP]
    p3109 = p[P.P3109] != 0
    for i in range(out.size):
        x = np.float64(a[i * sa])
        if op == 0:
            cls, neg, sig, exp = exact_add(x, np.float64(b[i * sb]), mode)
        elif op == 1:
            cls, neg, sig, exp = exact_mul(x, np.float64(b[i * sb]))
        elif op == 2:
            cls, neg, sig, exp = exact_div(x, np.float64(b[i * sb]), K, p3109)
        elif op == 3:
            cls, neg, sig, exp = exact_fma(x, np.float64(b[i * sb]), np.float64(c[i * sc]), mode)
        else:
            cls, neg, sig, exp = exact_sqrt(x, K)
        sig, exp = _beyond(cls, sig, exp, ecap)
        r = _rbits(rkind, rarr, key, nbits, i)
        code = np.uint64(round_pack(cls, neg, sig, exp, p, mode, sat, r, nbits))
        out[i] = (code | _SIGN) if (neg and cls != P.NOTANUMBER) else code
