"""add, mul, div, fma and sqrt rounded into binary64.

The exact intermediates of `numfmt._kernels.arith` (>= 60 significant bits
plus a sticky bit, or K quotient/root bits) go through `round_pack` like
every other target; only the packing differs: the funnel rounds the magnitude
(`numfmt._kernels.magnitude`) and the loop puts the sign on top as a uint64.
Sequential reductions and dot products into binary64 use the loops of
`numfmt._kernels.arith`, whose rounding step handles magnitude params.
"""

from __future__ import annotations

import numpy as np

from . import params as P
from .arith import exact_add, exact_div, exact_fma, exact_mul, exact_sqrt
from .jit import jit
from .magnitude import beyond, magnitude_params
from .round import round_pack
from .streams import element_bits

__all__ = ["magnitude_params", "arith64_loop"]

_SIGN = np.uint64(1) << np.uint64(63)


@jit
def arith64_loop(op, a, sa, b, sb, c, sc, out, p, mode, sat, rkind, rarr, key, nbits, K, offset=0):
    """out[i] (uint64) = binary64 code of the op on a[i*sa], b[i*sb], c[i*sc].

    op 0 add, 1 mul, 2 div, 3 fma, 4 sqrt (`a` only). NaN results are the positive NaN code
    of `p`. Seeded random bits are keyed by flat index `offset + i`.
    """
    ecap = p.ECAP
    p3109 = p.P3109 != 0
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
        sig, exp = beyond(cls, sig, exp, ecap)
        r = element_bits(rkind, rarr, key, nbits, i, offset)
        code = np.uint64(round_pack(cls, neg, sig, exp, p, mode, sat, r, nbits))
        out[i] = (code | _SIGN) if (neg and cls != P.NOTANUMBER) else code
