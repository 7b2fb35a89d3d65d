"""binary64 through the rounding funnel: magnitude codes, the sign put on top.

binary64 codes do not fit the kernels' int64 parameter fields (sign bit 2**63), so
the funnel rounds the *magnitude* with `magnitude_params` (sign bit 0,
positive inf/NaN codes) and the caller puts the sign back on top. Exact values
>= 2**1024 (products and quotients reach 2**2048) would push the magnitude code
past 2**63: `beyond` replaces them by a stand-in that rounds alike.
"""

from __future__ import annotations

import numpy as np

from . import params as P
from .bits import clz64
from .decode import decode_value
from .jit import jit

__all__ = ["SIGN64", "magnitude_params", "is_magnitude", "signed_value", "beyond"]

SIGN64 = np.int64(-0x8000000000000000)  # bit 63, as the int64 the kernels hold codes in


def magnitude_params(f) -> P.KernelParams:
    """Kernel params of binary64 (`f`) for magnitude codes: sign bit 0, positive specials."""
    p = P.pack_float_params(f)
    return p._replace(SIGNBIT=0, MASK=(1 << 63) - 1, NINF=p.INF, NNAN=p.NAN)


@jit
def is_magnitude(p):
    """Whether `p` are magnitude params (a signed float format whose sign bit is 0)."""
    return p.KIND == 0 and p.SIGNED != 0 and p.SIGNBIT == 0


@jit
def signed_value(neg, code, p):
    """float64 value of `round_pack`'s code for an intermediate of sign `neg`.

    With magnitude params the code is the magnitude (zeros, infinities and the
    largest value included): the sign is put back here. Other params' codes carry
    their sign.
    """
    v = decode_value(code, p)
    return -v if (neg and is_magnitude(p)) else v


@jit
def beyond(cls, sig, exp, ecap):
    """A stand-in for a finite exact value >= 2**ecap (it overflows) that rounds alike.

    Past the largest finite value `round_pack` looks only at the discarded
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
