"""float -> code loops. Each element is decomposed exactly and sent through
`round_pack`; nothing else rounds. `encode_flat` dispatches to a registered
fast variant (`numfmt._kernels.variants`; the float32 loops of `fast`) where one
covers the call, else to these loops.
"""

from __future__ import annotations

import numpy as np

from . import fast  # noqa: F401  (registers the float32 encode variants)
from . import params as P
from .jit import jit
from .round import decompose, round_pack
from .streams import element_bits
from .variants import select

__all__ = ["decompose", "encode_loop", "encode_int_loop", "encode_flat"]


@jit
def _int_decompose(v):
    """Exact (cls, neg, sig, exp) of an int64 or uint64 scalar (sig < 2**62, jammed)."""
    if v == 0:
        return P.ZERO, False, np.int64(0), np.int64(0)
    neg = v < 0
    u = np.uint64(-np.int64(v)) if neg else np.uint64(v)
    exp = np.int64(0)
    if u >= np.uint64(1) << np.uint64(62):  # (unsigned: bits.shift_right_jam takes int64 >= 0)
        sticky = np.uint64((u & np.uint64(3)) != 0)
        u = (u >> np.uint64(2)) | sticky
        exp = np.int64(2)
    return P.FINITE, neg, np.int64(u), exp


# The two exact loops are written out, not made by a factory: numba keys its on-disk cache on the
# pickled closure, and a closed-over dispatcher pickles differently in every process (the cache
# would never hit and would grow by one entry per process).
@jit
def encode_loop(x, out, p, mode, sat, rkind, rarr, key, nbits, offset):
    """Encode the flat float array `x` into `out`; returns the number of -1 codes (written as 0)."""
    bad = 0
    for i in range(x.size):
        cls, neg, sig, exp = decompose(x[i])
        r = element_bits(rkind, rarr, key, nbits, i, offset)
        c = round_pack(cls, neg, sig, exp, p, mode, sat, r, nbits)
        if c < 0:
            bad += 1
            c = 0
        out[i] = c
    return bad


@jit
def encode_int_loop(x, out, p, mode, sat, rkind, rarr, key, nbits, offset):
    """Encode a flat int64/uint64 array exactly (as `encode_loop`)."""
    bad = 0
    for i in range(x.size):
        cls, neg, sig, exp = _int_decompose(x[i])
        r = element_bits(rkind, rarr, key, nbits, i, offset)
        c = round_pack(cls, neg, sig, exp, p, mode, sat, r, nbits)
        if c < 0:
            bad += 1
            c = 0
        out[i] = c
    return bad


_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


def _float32_image(x):
    """`x` (float64) as float32 when every element is exactly a float32 (NaNs of either sign
    included), else None. The first elements are tried first, so other inputs cost little."""
    head = x[:64]
    with np.errstate(over="ignore", invalid="ignore"):
        if not np.array_equal(head.astype(np.float32), head, equal_nan=True):
            return None
        x32 = x.astype(np.float32)
        return x32 if np.array_equal(x32, x, equal_nan=True) else None


def encode_flat(x, out, p, mode, sat, rkind, rarr, key, nbits, offset):
    """Encode flat `x` into flat `out` with the first registered variant that covers the call.

    `offset` is the flat index of `x[0]` in the whole array (random bits are
    keyed by it); `rarr` is aligned with `x` when `rkind == 1`. Without a
    variant (integer inputs, float64, formats no variant covers) the exact loops
    run; float64 values that are all exactly float32 (values of a small format, as the
    exactness checks of `compare` and `accumulate` pass) take the float32 variant, which gives
    the same codes for the same values, and the exact float64 loop is not compiled. Returns
    the exact loops' count of NaNs without a code (written as 0), or 0 after a variant
    (callers check such NaN inputs beforehand).
    """
    if x.dtype.kind in "iu":
        return encode_int_loop(x, out, p, mode, sat, rkind, rarr, key, nbits, offset)
    v = select("encode", x.dtype, p, mode, sat)
    if v is None and x.dtype == _F64:
        v = select("encode", _F32, p, mode, sat)
        x32 = _float32_image(x) if v is not None else None
        if x32 is None:
            v = None
        else:
            x = x32
    if v is None:
        return encode_loop(x, out, p, mode, sat, rkind, rarr, key, nbits, offset)
    v.kernel(x, out, p, mode, sat, rkind, rarr, key, nbits, offset)
    return 0
