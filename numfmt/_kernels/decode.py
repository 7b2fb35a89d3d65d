"""code -> value loops.

`decode_value` is the general rule (any format, float64 result). The fast
loops place the fields of a standard sign-magnitude code straight into a float
bit pattern and scale by a power of two, which is exact and lets LLVM vectorise;
subnormal codes come out right by themselves because exponent field 0 of the
target float is also "subnormal"::

    code  s eeee mmm          ->  float32  s 0eeee... mmm000...000  * 2**(127 - bias)
"""

from __future__ import annotations

import math

import numpy as np

from . import params as P
from .bits import i32_as_f32
from .jit import jit

__all__ = ["decode_value", "decode_loop", "decode_loop_f32", "decode_loop_int", "max_code_check"]


@jit
def decode_value(code, p):
    """Exact value of `code` as float64 (caller guarantees exactness)."""
    code = np.int64(code)
    if code == p[P.NAN] or code == p[P.NNAN]:
        return np.nan
    if p[P.KIND] == 1:
        v = code
        if p[P.TWOS] != 0 and code > p[P.MASK] >> 1:
            v = code - p[P.MASK] - 1
        return math.ldexp(np.float64(v), p[P.EMIN] - p[P.M])
    if code == p[P.INF]:
        return np.inf
    if code == p[P.NINF]:
        return -np.inf
    sb = p[P.SIGNBIT]
    neg = sb != 0 and (code & sb) != 0
    mag = code & ~sb if sb != 0 else code
    if p[P.INF] >= 0 and mag > p[P.INF]:  # IEEE NaN payloads sit above the inf code
        return np.nan
    m = p[P.M]
    e = mag >> m
    t = mag & ((np.int64(1) << m) - 1)
    if p[P.HASZERO] == 0:
        v = math.ldexp(np.float64(t + (np.int64(1) << m)), p[P.EMIN] + e - m)
    elif e == 0:
        v = 0.0 if p[P.FTZ] != 0 else math.ldexp(np.float64(t), p[P.EMIN] - m)
    else:
        v = math.ldexp(np.float64(t + (np.int64(1) << m)), p[P.EMIN] - 1 + e - m)
    return -v if neg else v


@jit
def decode_loop(codes, out, p):
    """General decode of flat `codes` into `out` (float32 or float64)."""
    for i in range(codes.size):
        out[i] = decode_value(codes[i], p)


@jit
def decode_loop_f32(codes, out, p, scale, spec_mag):
    """Fast decode of a standard float format (zero, subnormals, <= 8 exponent bits,
    <= 23 trailing bits) into float32.

    `scale` is 2**(127 - bias) as float32; `spec_mag` the smallest magnitude
    code that is an infinity or a NaN (a number larger than every code if none).
    Every magnitude code from `spec_mag` up is NaN except the infinity's, so
    three selects cover every special code (NaN comes out as the canonical quiet
    NaN; payloads are not carried into float values).
    """
    m = p[P.M]
    sb = np.int32(p[P.SIGNBIT])
    sh = np.int32(23 - m)
    if spec_mag > p[P.MASK] and not (p[P.NAN] == p[P.SIGNBIT] and sb != 0) and p[P.INF] < 0:
        _decode_plain_f32(codes, out, sb, sh, scale)  # no special codes (FP4, FP6)
        return
    spec = np.int32(spec_mag)
    zero_nan = sb if (p[P.NAN] == p[P.SIGNBIT] and sb != 0) else np.int32(-1)
    inf_mag = np.int32(p[P.INF] & ~p[P.SIGNBIT]) if p[P.INF] >= 0 else np.int32(-1)
    qnan = np.float32(np.nan)
    pinf = np.float32(np.inf)
    for i in range(codes.size):
        c = np.int32(codes[i])
        mag = np.int32(c & ~sb)
        neg = (c & sb) != 0
        w = i32_as_f32(np.int32(mag << np.int32(sh & np.int32(31)))) * scale  # `& 31`: no shift guard
        w = -w if neg else w
        w = qnan if (mag >= spec) | (c == zero_nan) else w
        w = (-pinf if neg else pinf) if mag == inf_mag else w
        out[i] = w


@jit
def _decode_plain_f32(codes, out, sb, sh, scale):
    """`decode_loop_f32` for formats without infinities or NaNs: two ops fewer per code."""
    sh = np.int32(sh & np.int32(31))
    for i in range(codes.size):
        c = np.int32(codes[i])
        w = i32_as_f32(np.int32(np.int32(c & ~sb) << sh)) * scale
        out[i] = -w if (c & sb) != 0 else w


@jit
def decode_loop_int(codes, out, p, scale):
    """Fast decode of an integer format (codes sign-extended, times `scale` = 2**k)."""
    sh = np.int32(32 - p[P.BITS]) if p[P.TWOS] != 0 else np.int32(0)
    sh = np.int32(sh & np.int32(31))
    for i in range(codes.size):
        v = np.int32(np.int32(np.int32(codes[i]) << sh) >> sh)
        out[i] = v * scale


@jit
def max_code_check(codes, limit):
    """Index of the first code > limit, or -1."""
    for i in range(codes.size):
        if np.int64(codes[i]) > limit:
            return i
    return -1


def decode_any(codes, out, p, fast):
    """Decode flat `codes` into flat `out` with the fastest exact loop."""
    if fast is not None and p[P.KIND] == 1 and out.dtype != np.float16:
        decode_loop_int(codes, out, p, out.dtype.type(fast[0]))
    elif fast is not None and out.dtype == np.float32:
        decode_loop_f32(codes, out, p, fast[0], np.int64(fast[1]))
    elif out.dtype == np.float16 or fast is not None:  # via exact float32
        tmp = np.empty(out.shape, np.float32)
        decode_any(codes, tmp, p, fast)
        out[...] = tmp
    else:
        decode_loop(codes, out, p)
