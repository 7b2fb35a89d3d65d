"""code -> value loops.

`decode_value` is the general rule (any format, float64 result). The fast
loops place the fields of a standard sign-magnitude code straight into a float
bit pattern and scale by a power of two, which is exact and lets LLVM vectorise;
subnormal codes come out right by themselves because exponent field 0 of the
target float is also "subnormal"::

    code  s eeee mmm          ->  float32  s 0eeee... mmm000...000  * 2**(127 - bias)
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .bits import f16_bits_to_f32, f32_as_i32, has_f16c, i32_as_f32
from .jit import jit
from .params import is_binary16
from .variants import register, select

__all__ = ["decode_value", "decode_values_py", "decode_loop", "decode_loop_f32", "decode_loop_int", "max_code_check",
           "decode_any"]


@jit
def decode_value(code, p):
    """Exact value of `code` as float64 (caller guarantees exactness). Also runs as Python
    (`decode_value.py_func`, for loop constants computed outside numba)."""
    code = np.int64(code)
    if code == p.NAN or code == p.NNAN:
        return np.nan
    if p.KIND == 1:
        v = code
        if p.TWOS != 0 and code > p.MASK >> 1:
            v = code - p.MASK - 1
        return math.ldexp(np.float64(v), int(p.EMIN - p.M))
    if code == p.INF:
        return np.inf
    if code == p.NINF:
        return -np.inf
    sb = p.SIGNBIT
    neg = sb != 0 and (code & sb) != 0
    mag = code & ~sb if sb != 0 else code
    if p.INF >= 0 and mag > p.INF:  # IEEE NaN payloads sit above the inf code
        return np.nan
    m = p.M
    e = mag >> m
    t = mag & ((np.int64(1) << m) - 1)
    if p.HASZERO == 0:
        v = math.ldexp(np.float64(t + (np.int64(1) << m)), int(p.EMIN + e - m))
    elif e == 0:
        v = 0.0 if p.FTZ != 0 else math.ldexp(np.float64(t), int(p.EMIN - m))
    else:
        v = math.ldexp(np.float64(t + (np.int64(1) << m)), int(p.EMIN - 1 + e - m))
    return -v if neg else v


def decode_values_py(codes, p) -> np.ndarray:
    """float64 value of each of a few `codes` by `decode_value` run as Python: the value tables of
    small formats (`numfmt.block.values`) without compiling a decode loop."""
    f = decode_value.py_func
    return np.array([f(int(c), p) for c in codes], np.float64)


@jit
def decode_loop(codes, out, p):
    """General decode of flat `codes` into `out` (float32 or float64)."""
    for i in range(codes.size):
        out[i] = decode_value(codes[i], p)


def _i32(v) -> np.int32:
    """`v` as an int32 with numba's wrap-around (2**31 -> -2**31), in Python."""
    return np.int64(v).astype(np.int32)


def decode_loop_f32(codes, out, p, scale, spec_mag):
    """Fast decode of a standard float format (zero, subnormals, <= 8 exponent bits,
    <= 23 trailing bits) into float32.

    `scale` is 2**(127 - bias) as float32; `spec_mag` the smallest magnitude
    code that is an infinity or a NaN (a number larger than every code if none).
    Every magnitude code from `spec_mag` up is NaN except the infinity's, so
    three selects cover every special code (NaN comes out as the canonical quiet
    NaN; payloads are not carried into float values).

    No float32 subnormal enters an arithmetic operation (x86 CPUs take a slow
    assist for each one, 10-100x the cost of the loop): a normal code's bits are
    re-biased by an integer add, a subnormal code's value is its integer trailing
    field converted to float32 times the normal power of two 2**(EMIN - M); a
    format with bias 127 needs neither (its codes are float32's own bit fields).
    Formats whose subnormals are float32 subnormals with another bias take the
    multiply (`how` 2).

    The loop constants and the choice of loop are worked out here, in Python, so that a call
    compiles only the one loop it runs.
    """
    plain, args = _f32_args(p, np.float32(scale), int(spec_mag))
    if plain:
        _decode_plain_f32(codes, out, *args)  # no specials
    else:
        _decode_special_f32(codes, out, *args)


@functools.cache
def _f32_args(p, scale, spec_mag):
    """(no specials, arguments after `codes, out`) of the loop `decode_loop_f32` runs; cached."""
    m = p.M
    sb = _i32(p.SIGNBIT)
    sh = np.int32(23 - m)
    emin = p.EMIN
    how = 0 if emin == -126 else (1 if emin - m >= -126 else 2)
    adj = _i32((126 + emin) << 23) if how == 1 else np.int32(0)
    sscale = np.float32(2.0 ** (emin - m)) if how == 1 else scale
    if spec_mag > p.MASK and not (p.NAN == p.SIGNBIT and sb != 0) and p.INF < 0:
        return True, (sb, sh, scale, np.int32(m), adj, sscale, np.int32(how))
    zero_nan = sb if (p.NAN == p.SIGNBIT and sb != 0) else np.int32(-1)
    inf_mag = _i32(p.INF & ~p.SIGNBIT) if p.INF >= 0 else np.int32(-1)
    return False, (sb, sh, scale, np.int32(m), adj, sscale, np.int32(how), _i32(spec_mag), zero_nan, inf_mag)


@jit
def _mag_bits(mag, sh, scale, m, adj, sscale, how):
    """float32 bits of the magnitude code `mag` (see `decode_loop_f32`; `how` is loop-invariant)."""
    placed = np.int32(mag << np.int32(sh & np.int32(31)))  # `& 31`: no shift guard
    if how == 0:
        return placed
    if how == 1:
        sub = f32_as_i32(np.float32(mag) * sscale)  # exact: a small integer times a normal power of two
        return sub if np.int32(mag >> np.int32(m & np.int32(31))) == np.int32(0) else np.int32(placed + adj)
    return f32_as_i32(i32_as_f32(placed) * scale)


@jit
def _decode_special_f32(codes, out, sb, sh, scale, m, adj, sscale, how, spec, zero_nan, inf_mag):
    """The loop of `decode_loop_f32` for formats with infinities or NaNs, in int32 bits."""
    qnan = np.int32(0x7FC00000)
    pinf = np.int32(0x7F800000)
    smask = np.int32(-0x80000000)
    for i in range(codes.size):
        c = np.int32(codes[i])
        mag = np.int32(c & ~sb)
        negm = np.int32(-np.int32((c & sb) != 0))
        w = np.int32(_mag_bits(mag, sh, scale, m, adj, sscale, how) | np.int32(negm & smask))
        w = qnan if (mag >= spec) | (c == zero_nan) else w
        w = np.int32(pinf | np.int32(negm & smask)) if mag == inf_mag else w
        out[i] = i32_as_f32(w)


@jit
def _decode_plain_f32(codes, out, sb, sh, scale, m, adj, sscale, how):
    """`decode_loop_f32` for formats without infinities or NaNs: the selects fall away."""
    smask = np.int32(-0x80000000)
    for i in range(codes.size):
        c = np.int32(codes[i])
        negm = np.int32(-np.int32((c & sb) != 0))
        w = _mag_bits(np.int32(c & ~sb), sh, scale, m, adj, sscale, how)
        out[i] = i32_as_f32(np.int32(w | np.int32(negm & smask)))


@jit
def decode_loop_int(codes, out, p, scale):
    """Fast decode of an integer format (codes sign-extended, times `scale` = 2**k)."""
    sh = np.int32(32 - p.BITS) if p.TWOS != 0 else np.int32(0)
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
    """Decode flat `codes` into flat `out` with the first registered variant that covers
    the call, else `decode_loop`.

    `fast` is None, or the caller's (scale, smallest special magnitude code) of the
    bit-placement loops (a format whose every value is exact in float32).
    """
    v = select("decode", out.dtype, p, fast)
    if v is None:
        decode_loop(codes, out, p)
    else:
        v.kernel(codes, out, p, fast)


@jit
def decode_table(codes, out, table):
    """`out[i] = table[codes[i]]`: uint8 codes looked up in a 256-entry table."""
    for i in range(codes.size):
        out[i] = table[codes[i]]


@functools.lru_cache(maxsize=64)
def _table(p, dtype: np.dtype) -> np.ndarray:
    """The values of every code of an 8-bit-or-narrower format (`decode_values_py`: the rule of
    `decode_loop`, run as Python, so no loop is compiled for it) in `dtype` (codes past the format's
    width, which callers refuse, read as NaN)."""
    table = np.full(256, np.nan, dtype)
    table[: 1 << p.BITS] = decode_values_py(range(1 << p.BITS), p)  # (exact: `dtype` holds every value)
    table.setflags(write=False)
    return table


def _via_table(codes, out, p, fast):
    if codes.dtype != np.uint8:  # pragma: no cover - formats of <= 8 bits have uint8 codes
        decode_loop(codes, out, p)
        return
    decode_table(codes, out, _table(p, out.dtype))


@jit
def decode_half(codes, out):
    """binary16 codes into float32 by the CPU's conversion (`f16_bits_to_f32`: F16C `vcvtph2ps`),
    exact; NaN codes give the one quiet NaN the other loops write."""
    for i in range(codes.size):
        c = np.int32(codes[i])
        w = f32_as_i32(f16_bits_to_f32(c))
        out[i] = i32_as_f32(np.int32(0x7FC00000) if np.int32(c & np.int32(0x7FFF)) > np.int32(0x7C00) else w)


def _via_f32(codes, out, p, fast):
    """Decode into float32 (exact for these formats), then widen or narrow into `out`."""
    tmp = np.empty(out.shape, np.float32)
    decode_any(codes, tmp, p, fast)
    out[...] = tmp


# ---------------------------------------------------------------- the registered decode variants
# Dispatch calls `kernel(codes, out, p, fast)` and asks `applies(out.dtype, p, fast)`.
# Proofs: tests/test_variants.py (every code of every covered format).
_F16, _F32, _F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)

register(
    "decode.half", "decode",
    lambda codes, out, p, fast: decode_half(codes, out),
    lambda dt, p, fast: dt == _F32 and is_binary16(p) and has_f16c(),
    "IEEE binary16 codes (is_binary16) on CPUs with a binary16 conversion instruction; float32 values",
)
register(
    "decode.int", "decode",
    lambda codes, out, p, fast: decode_loop_int(codes, out, p, out.dtype.type(fast[0])),
    lambda dt, p, fast: fast is not None and p.KIND == 1 and dt in (_F32, _F64),
    "integer formats of <= 24 bits whose values are exact in float32 (fast = (2**k, -1)); "
    "float32 or float64 values",
)
register(
    "decode.f32", "decode",
    lambda codes, out, p, fast: decode_loop_f32(codes, out, p, fast[0], np.int64(fast[1])),
    lambda dt, p, fast: fast is not None and p.KIND == 0 and dt == _F32,
    "float formats with zero, subnormals, <= 8 exponent and <= 23 trailing bits, every value "
    "exact in float32 (fast = (2**(127 - bias), smallest special magnitude)); float32 values",
)
register(
    "decode.via_f32", "decode",
    _via_f32,
    lambda dt, p, fast: dt == _F16 or (fast is not None and dt in (_F32, _F64)),
    "float16 values of any format (the float32 decode, then a cast), and float64 values of the "
    "formats of decode.int and decode.f32 (exact in float32)",
)
register(
    "decode.table8", "decode",
    _via_table,
    lambda dt, p, fast: p.BITS <= 8 and dt in (_F32, _F64),
    "the other formats of <= 8 bits (E8M0, formats without subnormals or zero, ...): a 256-entry table "
    "of the values decode_loop gives (decode_values_py); float32 or float64 values",
)
