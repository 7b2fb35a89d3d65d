"""float -> code loops. Each element is decomposed exactly and sent through
`round_pack`; nothing else rounds."""

from __future__ import annotations

import numpy as np

from . import params as P
from .bits import f64_as_i64
from .jit import jit
from .round import round_pack
from .streams import random_bits

__all__ = ["decompose", "encode_loop", "encode_int_loop", "encode_flat"]








@jit
def decompose(v):
    """Exact (cls, neg, sig, exp) of a float32 or float64 scalar."""
    b = f64_as_i64(np.float64(v))
    neg = b < 0
    e = (b >> 52) & 0x7FF
    frac = b & 0xFFFFFFFFFFFFF
    if e == 0x7FF:
        return (P.NOTANUMBER if frac != 0 else P.INFINITE), neg, np.int64(0), np.int64(0)
    if e == 0:
        if frac == 0:
            return P.ZERO, neg, np.int64(0), np.int64(0)
        return P.FINITE, neg, frac, np.int64(-1074)
    return P.FINITE, neg, frac | (np.int64(1) << 52), e - 1075


@jit
def _one(v, i, p, mode, sat, rkind, rarr, key, nbits, offset):
    cls, neg, sig, exp = decompose(v)
    r = np.int64(0)
    if rkind == 1:
        r = np.int64(rarr[i])
    elif rkind == 2:
        r = random_bits(key, i + offset, nbits)
    return round_pack(cls, neg, sig, exp, p, mode, sat, r, nbits)


@jit
def encode_loop(x, out, p, mode, sat, rkind, rarr, key, nbits, offset):
    """Encode the flat array `x` into `out`; returns the number of -1 codes."""
    bad = 0
    for i in range(x.size):
        c = _one(x[i], i, p, mode, sat, rkind, rarr, key, nbits, offset)
        if c < 0:
            bad += 1
            c = 0
        out[i] = c
    return bad


@jit
def _int_decompose(v):
    """Exact (cls, neg, sig, exp) of an int64 or uint64 scalar (sig < 2**62, jammed)."""
    if v == 0:
        return P.ZERO, False, np.int64(0), np.int64(0)
    neg = v < 0
    u = np.uint64(-np.int64(v)) if neg else np.uint64(v)
    exp = np.int64(0)
    if u >= np.uint64(1) << np.uint64(62):
        sticky = np.uint64((u & np.uint64(3)) != 0)
        u = (u >> np.uint64(2)) | sticky
        exp = np.int64(2)
    return P.FINITE, neg, np.int64(u), exp


@jit
def encode_int_loop(x, out, p, mode, sat, rkind, rarr, key, nbits, offset):
    """Encode a flat int64/uint64 array exactly."""
    bad = 0
    for i in range(x.size):
        cls, neg, sig, exp = _int_decompose(x[i])
        r = np.int64(0)
        if rkind == 1:
            r = np.int64(rarr[i])
        elif rkind == 2:
            r = random_bits(key, i + offset, nbits)
        c = round_pack(cls, neg, sig, exp, p, mode, sat, r, nbits)
        if c < 0:
            bad += 1
            c = 0
        out[i] = c
    return bad


def encode_flat(x, out, p, mode, sat, rkind, rarr, key, nbits, offset):
    """Encode flat `x` into flat `out` with the fastest exact kernel that applies.

    `offset` is the flat index of `x[0]` in the whole array (random bits are
    keyed by it); `rarr` is aligned with `x` when `rkind == 1`.
    """
    if x.dtype.kind in "iu":
        return encode_int_loop(x, out, p, mode, sat, rkind, rarr, key, nbits, offset)
    from . import fast

    if x.dtype == np.float32 and mode <= P.TO_ODD and fast.int_eligible(p):
        fast.encode_f32_int(x.view(np.int32), out, p, mode, sat)
        return 0
    if x.dtype != np.float32 or not fast.eligible(p):
        return encode_loop(x, out, p, mode, sat, rkind, rarr, key, nbits, offset)
    xb = x.view(np.int32)
    if mode == P.NEAREST_EVEN and fast.eligible(p, magic=True):
        fast.encode_f32_rne(xb, out, p, sat)
    elif P.NEAREST_AWAY <= mode <= P.TOWARD_NEGATIVE and fast.eligible(p, magic=True):
        fast.encode_f32_dir(xb, out, p, mode, sat)
    elif mode <= P.TO_ODD:
        fast.encode_f32_det(xb, out, p, mode, sat)
    else:
        fast.encode_f32_sr(xb, out, p, mode, sat, rkind, rarr, key, nbits, offset)
    return 0
