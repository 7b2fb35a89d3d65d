"""`decode` ([`BlockArray`][numfmt.block.BlockArray] -> float32/float64 values): the fused float32 loops, the exact
float64 path."""

from __future__ import annotations

import functools

import numpy as np

from .._kernels import variants
from ..codec import decode as _dec
from ..codec import decode_dtype
from ..formats import FloatFormat
from .array import BlockArray
from .inputs import as_rows
from .scales import is_e8m0
from .slabs import slabs
from .values import all_values, elem_table, scale_values


def block_decode_dtype(f, dtype) -> np.dtype:
    """`dtype` checked for the values of block format `f` by the rule of `numfmt.codec.decode_dtype`
    (a float dtype that holds every value, see `BlockFormat.exact_in`), and float32 or float64."""
    dt = decode_dtype(f, dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


def decode(ba: BlockArray, *, dtype=np.float32, out=None) -> np.ndarray:
    """Values of a [`BlockArray`][numfmt.block.BlockArray]: `element * scale (* tensor_scale)`.

    float32 results are computed as torchao does: `fl(element * fl(scale *
    tensor_scale))` (one rounding without a tensor scale; exact unless the
    product leaves the float32 range). float64 results are exact. A NaN scale
    makes its whole block NaN.

    Examples
    --------
    >>> import numfmt
    >>> ba = numfmt.encode([1.0, -3.0, 0.2, 12.0], "mxfp4")
    >>> numfmt.decode(ba).tolist()
    [1.0, -3.0, 0.0, 12.0]
    """
    if not isinstance(ba, BlockArray):
        raise TypeError(f"decode of a block format needs a BlockArray, got {type(ba).__name__}")
    f = ba.format
    dt = block_decode_dtype(f, dtype)
    ef, sf, bs = f.element, f.scale, f.block_size
    ax = ba.axis
    if out is not None and (not isinstance(out, np.ndarray) or out.shape != ba.codes.shape or out.dtype != dt
                            or not out.flags.writeable):
        raise ValueError(f"out must be a writeable {dt} array of shape {ba.codes.shape}")
    res = np.empty(ba.codes.shape, dt) if out is None or np.may_share_memory(out, ba.codes) or (
        np.may_share_memory(out, ba.scales)) else out
    cm, sm, rm = (np.moveaxis(a, ax, -1) for a in (ba.codes, ba.scales, res))
    others, n = cm.shape[:-1], cm.shape[-1]
    whole = cm.flags.c_contiguous and sm.flags.c_contiguous and rm.flags.c_contiguous
    # (blocks along the last contiguous axis: one call on the whole array, no copies; else a slab at a
    # time: no copy of the whole array)
    for index, _, _ in [((), 0, 0)] if whole else slabs(others, n):
        c2 = as_rows(np.ascontiguousarray(cm[index]))
        s2 = as_rows(np.ascontiguousarray(sm[index]))
        dst = rm[index]
        direct = dst.flags.c_contiguous  # (blocks along the last axis: the rows are dst's)
        r2 = dst.reshape(c2.shape) if direct else np.empty(c2.shape, dt)
        if c2.size:
            _decode2(c2, s2, ef, sf, bs, ba.tensor_scale, r2)
        if not direct:
            dst[...] = r2.reshape(dst.shape)
    if out is not None and res is not out:
        out[...] = res
        return out
    return res


@functools.cache
def _elem_arith(ef):
    """(arguments of the decode loops' arithmetic element value, the smallest
    magnitude code whose arithmetic value is not the table's (those codes take
    the table; 0: always the table), the float32 table); see
    `_kernels/block_fast.py:_elem_value`. Cached per format."""
    table = elem_table(ef, np.float32)
    spec = 0
    args = (0, 0, 0, 0, 0, 0, 0.0)
    if (isinstance(ef, FloatFormat) and 2 <= ef.bits <= 16 and 1 <= ef.mantissa_bits <= 22
            and -126 <= 1 - ef.bias and (1 << ef.exponent_bits) - 1 - ef.bias <= 127):
        bits, m = ef.bits, ef.mantissa_bits
        args = (1 << (bits - 1), 32 - bits, (1 << (bits - 1)) - 1, 23 - m, 1 << m, (127 - ef.bias) << 23,
                2.0 ** (1 - ef.bias))
        c = np.arange(1 << bits, dtype=np.int64)
        mag = c & args[2]
        sub = mag < args[4]
        p = ((mag << args[3]) + args[5] + np.where(sub, 1 << 23, 0)).astype(np.uint32).view(np.float32)
        v = (p - np.where(sub, np.float32(args[6]), np.float32(0))).astype(np.float32)
        v = (v.view(np.uint32) | ((c & args[0]) << args[1]).astype(np.uint32)).view(np.int32)
        bad = v != table.view(np.int32)
        spec = int(mag[bad].min()) if bad.any() else 1 << bits
    ea = (*(np.int32(a) for a in args[:6]), np.float32(args[6]))
    return ea, np.int32(spec), table


def _decode2(c2, s2, ef, sf, bs, ts, res):
    from .._kernels import block_fast as KF  # lazy: numba loads on the first kernel call

    n = c2.shape[1]
    nb = s2.shape[1]
    if ef.bits > 16:
        raise ValueError(f"element format {ef.name} is too wide for block decoding")
    call = KF.BlockCall(dtype=res.dtype, scale_e8m0=is_e8m0(sf), scale_bits=sf.bits, tensor_scale=ts is not None,
                        elem_bits=ef.bits)
    v = variants.select("block_decode", call)
    if v is not None:
        v.kernel(c2.reshape(-1), s2.reshape(-1), np.int64(n), np.int64(nb), np.int64(bs), scale_values(sf),
                 np.float32(1.0) if ts is None else np.float32(ts), *_elem_arith(ef), res.reshape(-1))
        return
    # exact float64 (and wide scale formats)

    sv = all_values(sf) if sf.bits <= 16 else None
    svals64 = sv[s2.astype(np.int64)] if sv is not None else np.asarray(_dec(s2, sf, dtype=np.float64))
    if ts is not None:
        svals64 = svals64 * float(ts)
    ev = elem_table(ef, np.float64)[c2.astype(np.int64)]
    with np.errstate(over="ignore", invalid="ignore"):
        res[...] = ev * np.repeat(svals64, bs, axis=1)[:, :n]
