"""encode, decode and quantize into element formats: check the arguments, plan, run.

The package's verbs (`numfmt.frontend`) hand block formats to `numfmt.block` and element
formats to this module. The plan of a call comes from `numfmt.plan.make_plan`; the kernel
calls are `numfmt.engine`'s.
"""

from __future__ import annotations

import numpy as np

from .engine import (
    CHUNK,
    check_out,
    chunks,
    clamp_threads,
    decode_chunk,
    decode_into,
    deliver,
    encode_chunk,
    prepare,
    run_encode,
    unshared,
)
from .interop import as_numpy, check_codes
from .plan import make_plan, value_dtype
from .presets import get_format
from .steps import check_steps, flush_inputs, flush_outputs

__all__ = ["encode", "decode", "quantize"]

_FLOAT_KINDS = (np.float16, np.float32, np.float64)


def as_input(x, name: str = "x") -> np.ndarray:
    """x as a native-endian float32/float64 or int64/uint64 array (exact)."""
    x = as_numpy(x, name)  # torch tensors, ml_dtypes sub-byte ints
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be numeric, got {type(x).__name__}: {x!r}")
    arr = np.asarray(x)
    dt = arr.dtype
    if dt.kind == "f" and dt.type in _FLOAT_KINDS:
        target = np.float32 if dt.itemsize <= 4 else np.float64
    elif dt.kind == "V" or (dt.kind == "f" and dt.type not in _FLOAT_KINDS):
        # ml_dtypes floats (all exact in float32)
        if dt.itemsize > 2 or "float" not in dt.name:
            raise TypeError(f"{name} has unsupported dtype {dt}")
        target = np.float32
    elif dt.kind in "iu":
        target = np.uint64 if dt.kind == "u" else np.int64
    elif dt.kind == "b":
        raise TypeError(f"{name} must be float or integer, got bool array")
    else:
        raise TypeError(f"{name} must be float or integer, got dtype {dt}")
    return np.asarray(arr, dtype=target, order="C")  # (ascontiguousarray would make 0-d arrays 1-d)


def threads_arg(threads) -> int:
    """`threads=` checked (a positive int, or None for 1) and clamped to `engine.MAX_THREADS`."""
    if threads is None:
        return 1
    if isinstance(threads, (bool, np.bool_)) or not isinstance(threads, (int, np.integer)):
        raise TypeError(f"threads must be a positive int or None, got {type(threads).__name__} {threads!r}")
    if threads < 1:
        raise ValueError(f"threads must be a positive int or None, got {threads!r}")
    return clamp_threads(int(threads))


def decode_dtype(f, dtype=None) -> np.dtype:
    """The dtype of values of format `f`: `dtype` checked to hold every value exactly, or the default
    (float32 when every value of `f` is exact in float32, else float64)."""
    if dtype is None:
        return value_dtype(f)
    try:
        dt = np.dtype(dtype).newbyteorder("=")  # (results are in native byte order)
    except TypeError:
        raise TypeError(f"dtype must be a numpy float dtype (float16, float32 or float64), got {dtype!r}") from None
    if dt.type not in _FLOAT_KINDS:
        raise TypeError(f"dtype must be float16, float32 or float64, got {dt}")
    if not f.exact_in(dt):
        raise ValueError(f"dtype={dt} cannot hold every value of {f.name} exactly")
    return dt


def stepped_input(x, plan, steps, rounding, saturation, nan) -> np.ndarray:
    """`x` as `as_input` gives it, then the `daz=` and `via=` steps (`numfmt.steps`) applied."""
    x = as_numpy(x)
    xa = as_input(x)
    if steps.daz is not None:
        xa = flush_inputs(xa, steps.daz, np.asarray(x).dtype)
    if steps.via is not None:
        xa = as_input(quantize(xa, steps.via, rounding=rounding, saturation=saturation, nan=nan))
    return xa


def encode(x, fmt, *, rounding="nearest_even", saturation="none", nan="raise", random=None, rbits=None,
           compat=None, daz=False, ftz=False, via=None, threads=None, out=None):
    """Codes of `x` in the element format `fmt`: `numfmt.encode` for a format that is not a block format."""
    plan = make_plan(fmt, rounding, saturation, nan, compat)
    steps = check_steps(plan.fmt, daz=daz, via=via, ftz=ftz, rounding=rounding, compat=compat)
    xa = stepped_input(x, plan, steps, rounding, saturation, nan) if steps.active else as_input(x)
    check_out(out, xa.shape, plan.code_dtype)
    xa, rkind, rarr, key, nbits = prepare(plan, xa, random, rbits)
    xa, rarr = unshared(out, xa, rarr)
    res = run_encode(xa, plan, rkind, rarr, key, nbits, out, threads_arg(threads))
    if steps.ftz:
        flush_outputs(res, plan.fmt)
    if out is None and res.ndim == 0:
        return res[()]
    return res


def decode(codes, fmt, *, dtype=None, out=None, threads=None):
    """Exact values of codes of the element format `fmt`: `numfmt.decode` of codes."""
    f = get_format(fmt)
    ca = check_codes(codes, f)
    dt = decode_dtype(f, dtype if out is None or dtype is not None else out.dtype)
    check_out(out, ca.shape, dt)
    (ca,) = unshared(out, ca)
    nthreads = threads_arg(threads)
    direct = out is not None and out.flags.c_contiguous
    res = out if direct else np.empty(ca.shape, dt)
    decode_into(ca.reshape(-1), res.reshape(-1), f, nthreads)
    return deliver(res, out)


def quantize(x, fmt, *, rounding="nearest_even", saturation="none", nan="raise", random=None, rbits=None,
             compat=None, daz=False, ftz=False, via=None, dtype=None, threads=None, out=None):
    """`decode(encode(x))` into the element format `fmt` in one pass: `numfmt.quantize` of an element format."""
    x = as_numpy(x)  # (its dtype decides the result's)
    plan = make_plan(fmt, rounding, saturation, nan, compat)
    steps = check_steps(plan.fmt, daz=daz, via=via, ftz=ftz, rounding=rounding, compat=compat)
    xa = as_input(x)
    f = plan.fmt
    in_dt = np.asarray(x).dtype
    if dtype is None and in_dt.kind == "f" and in_dt.type in _FLOAT_KINDS and f.exact_in(in_dt):
        dt = in_dt
    else:
        dt = decode_dtype(f, dtype)
    check_out(out, xa.shape, dt)
    if steps.active:  # (the steps compose encode and decode)
        codes = encode(x, f, rounding=rounding, saturation=saturation, nan=nan, random=random, rbits=rbits,
                       compat=compat, daz=daz, ftz=ftz, via=via, threads=threads)
        return decode(codes, f, dtype=dt, out=out, threads=threads)
    xa, rkind, rarr, key, nbits = prepare(plan, xa, random, rbits)
    xa, rarr = unshared(out, xa, rarr)
    if f.bits == 64:
        codes = run_encode(xa, plan, rkind, rarr, key, nbits, None, 1)
        return decode(codes, f, dtype=dt, out=out)
    direct = out is not None and out.flags.c_contiguous
    res = out if direct else np.empty(xa.shape, dt)
    flat_x, flat_r = xa.reshape(-1), res.reshape(-1)

    def work(lo, hi):  # encode and decode chunk by chunk: the codes never leave the cache
        buf = np.empty(min(CHUNK, hi - lo), f.code_dtype)
        for a in range(lo, hi, CHUNK):
            b = min(a + CHUNK, hi)
            encode_chunk(flat_x, buf[: b - a], plan, rkind, rarr, key, nbits, a, b)
            if plan.post is not None:
                plan.post(flat_x[a:b], buf[: b - a])
            decode_chunk(buf[: b - a], flat_r[a:b], f)

    chunks(flat_x.size, threads_arg(threads))(work)
    return deliver(res, out)
