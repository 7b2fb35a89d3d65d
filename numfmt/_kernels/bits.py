"""Bit-level primitives: reinterpreting casts and count-leading-zeros.

These are LLVM intrinsics, so they compile to single instructions and keep
loops vectorisable.
"""

from __future__ import annotations

import functools
import platform

import numpy as np
from llvmlite import ir as llvm_ir
from numba import types
from numba.core import cgutils
from numba.cpython.unsafe.numbers import leading_zeros
from numba.extending import intrinsic

from .jit import jit

__all__ = ["f32_as_i32", "i32_as_f32", "f64_as_i64", "i64_as_f64", "f32_to_f16_bits", "f16_bits_to_f32", "has_f16c",
           "prefetch", "clz64", "bit_length", "shift_right_jam"]


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


@intrinsic
def f32_to_f16_bits(typingctx, x):
    """The IEEE binary16 bits (int32, 0..0xFFFF) of the float32 `x` rounded to nearest-even: LLVM's
    `fptrunc` to half, one F16C `vcvtps2ph` per 8 lanes on x86 (overflow gives +-inf, subnormals
    are exact, a NaN keeps its sign and top payload bits)."""
    if x != types.float32:
        return None

    def codegen(context, builder, sig, args):
        h = builder.fptrunc(args[0], llvm_ir.HalfType())
        return builder.zext(builder.bitcast(h, llvm_ir.IntType(16)), llvm_ir.IntType(32))

    return types.int32(types.float32), codegen


@intrinsic
def f16_bits_to_f32(typingctx, c):
    """The float32 value of the binary16 bits in the low 16 bits of the integer `c` (exact): LLVM's
    `fpext` from half, F16C `vcvtph2ps` on x86."""
    if not isinstance(c, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        h = builder.bitcast(builder.trunc(args[0], llvm_ir.IntType(16)), llvm_ir.HalfType())
        return builder.fpext(h, llvm_ir.FloatType())

    return types.float32(c), codegen


@functools.cache
def has_f16c() -> bool:
    """Whether the binary16 conversions above are single instructions here (x86 F16C, or a 64-bit
    ARM CPU); elsewhere LLVM would call a runtime helper numba does not link."""
    import llvmlite.binding as llvm  # (numba has loaded it)

    features = llvm.get_host_cpu_features()
    return bool(features.get("f16c", False)) or platform.machine().lower() in ("aarch64", "arm64")


@intrinsic
def prefetch(typingctx, arr, idx):
    """Hint the cache to fetch the line holding arr[idx] (LLVM `prefetch`, read, keep in all
    levels: x86 `prefetcht0`); it never faults and changes no result. Streaming loops fetch a
    few KiB ahead while they work on the current elements, so the reading of the input overlaps
    the arithmetic instead of following it (measured: MX encode 35% faster, to_odd encode into
    E4M3 2.2 -> 0.57 ns per element on 10M float32)."""
    if not (isinstance(arr, types.Array) and isinstance(idx, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        i8p = llvm_ir.IntType(8).as_pointer()
        i32 = llvm_ir.IntType(32)
        fnty = llvm_ir.FunctionType(llvm_ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


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
