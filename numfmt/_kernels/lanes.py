"""int32 lane primitives shared by the vectorised float32 loops (encode, block, arithmetic).

Every intermediate is int32 so that LLVM keeps the full SIMD width. Shift amounts
are masked with `& 31`: it tells LLVM the shift is in range, so a runtime shift
costs no guard per element.
"""

from __future__ import annotations

import numpy as np

from .bits import f32_as_i32, i32_as_f32
from .jit import jit

__all__ = ["magic_round", "pack_code", "overflow_select"]

_I32 = np.int32


@jit
def magic_round(ax, m, emin_b, cap_b):
    """|x| (float32 bits `ax`) rounded to nearest-even on the grid by one float add.

    Returns the magnitude code, |x|, the magic number and |x| + magic (all
    float32 but the code); see the notes of `numfmt._kernels.fast`.
    """
    eq = _I32(min(max(_I32(ax >> _I32(23)), emin_b), cap_b))
    magic = _I32(_I32(_I32(eq + _I32(23)) - m) << _I32(23))
    mf = i32_as_f32(magic)
    xf = i32_as_f32(ax)
    t = xf + mf
    return _I32(_I32(_I32(eq - emin_b) << _I32(m & _I32(31))) + _I32(f32_as_i32(t) - magic)), xf, mf, t


@jit
def pack_code(mag, negm, nz, signbit, maxmag, ovf):
    """Code of a rounded magnitude: `ovf` past max, else the sign OR-ed in through the mask
    `negm` (all ones for negatives), kept on a zero only where `nz` says the format has -0."""
    keep = _I32(nz | -_I32(mag != _I32(0)))
    return ovf if mag > maxmag else _I32(mag | _I32(signbit & _I32(negm & keep)))


@jit
def overflow_select(away, negm, ovf_p, dov, tz_p, dtz):
    """The code past max: the overflow code when rounded away (mask `away` all ones), else the
    truncated one (the IEEE 754 rule for the direction actually taken); `dov`/`dtz` XOR the
    positive codes into the negative ones."""
    return _I32(_I32(_I32(ovf_p ^ _I32(dov & negm)) & away) | _I32(_I32(tz_p ^ _I32(dtz & negm)) & ~away))
