"""Bit-level primitives: reinterpreting casts and count-leading-zeros.

These are LLVM intrinsics, so they compile to single instructions and keep
loops vectorisable.
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.cpython.unsafe.numbers import leading_zeros
from numba.extending import intrinsic

from .jit import jit

__all__ = ["f32_as_i32", "i32_as_f32", "f64_as_i64", "i64_as_f64", "clz64", "bit_length", "shift_right_jam"]


def _bitcast(src, dst):
    @intrinsic
    def cast(typingctx, x):
        if x != src:
            return None

        def codegen(context, builder, sig, args):
            return builder.bitcast(args[0], context.get_value_type(dst))

        return dst(src), codegen

    return cast


f32_as_i32 = _bitcast(types.float32, types.int32)
i32_as_f32 = _bitcast(types.int32, types.float32)
f64_as_i64 = _bitcast(types.float64, types.int64)
i64_as_f64 = _bitcast(types.int64, types.float64)


@jit
def clz64(x):
    """Count leading zeros of an int64 (64 for zero): LLVM `ctlz`."""
    return np.int64(leading_zeros(np.int64(x)))


@jit
def bit_length(x):
    """Number of bits needed for a non-negative int64 (0 for 0)."""
    return 64 - clz64(x)


@jit
def shift_right_jam(x, n):
    """`x >> n` for an int64 `x >= 0`, with a 1 jammed into bit 0 when a set bit was shifted out.

    The jammed (sticky) bit keeps the rounding of the result exact as long as at least two bits remain
    below the last kept place. `n <= 0` returns `x`; `n >= 63` returns `x != 0`.
    """
    if n <= 0:
        return np.int64(x)
    if n >= 63:
        return np.int64(x != 0)
    return np.int64((x >> n) | np.int64((x & ((np.int64(1) << n) - 1)) != 0))
