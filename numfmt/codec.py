"""encode, decode and quantize: validate, convert, dispatch to one kernel."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numpy as np

from . import compat as _compat
from . import interop as _interop
from .formats import FloatFormat, IntFormat
from .policy import parse_nan, parse_rounding, parse_saturation, random_spec
from .presets import get_format

__all__ = ["encode", "decode", "quantize"]

_FLOAT_KINDS = (np.float16, np.float32, np.float64)


def _as_input(x, name: str = "x") -> np.ndarray:
    """x as a native-endian float32/float64 or int64/uint64 array (exact)."""
    x = _interop.as_numpy(x, name)  # torch tensors, ml_dtypes sub-byte ints
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


@dataclass(frozen=True)
class _Plan:
    fmt: object
    params: tuple
    mode: int
    sat: int
    nan_raise: bool
    post: object  # compat post-processing or None
    pre: object


def _plan(fmt, rounding, saturation, nan, compat) -> _Plan:
    f = get_format(fmt)
    _, mode = parse_rounding(rounding)
    sat = parse_saturation(saturation)
    nan_pol = parse_nan(nan)
    if compat is not None:
        return _compat.plan(f, rounding=rounding, saturation=saturation, nan=nan, compat=compat, Plan=_Plan)
    if f.bits == 64:  # pass-through, no kernel
        return _Plan(f, (), mode, sat, False, None, None)
    params = f.kernel_params
    nan_raise = False
    if f.code_of_nan is None:
        from ._kernels.params import with_overrides

        if nan_pol == "raise":
            nan_raise = True
        elif nan_pol == "zero":
            params = with_overrides(params, NAN=0, NNAN=0)
        else:
            pos_max = f.max_code_magnitude if isinstance(f, FloatFormat) else f.max_int
            params = with_overrides(params, NAN=pos_max, NNAN=pos_max)
    return _Plan(f, params, mode, sat, nan_raise, None, None)


def _check_out(out, shape, dtype, name="out"):
    if out is None:
        return
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(out).__name__}")
    if out.shape != shape:
        raise ValueError(f"{name} has shape {out.shape}, expected {shape}")
    if out.dtype != dtype:
        raise ValueError(f"{name} has dtype {out.dtype}, expected {np.dtype(dtype)}")
    if not out.flags.writeable:
        raise ValueError(f"{name} is read-only")


def _nan_check(xa: np.ndarray, fmt) -> None:
    if xa.dtype.kind != "f":
        return
    mask = np.isnan(xa)
    if mask.any():
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), xa.shape)) if xa.ndim else ()
        raise ValueError(
            f"x contains {int(mask.sum())} NaN value(s) (first at index {idx}) and format "
            f"{fmt.name} has no NaN; pass nan='zero' or nan='max' to choose a code"
        )


def _threads(threads) -> int:
    if threads is None:
        return 1
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int or None, got {threads!r}")
    return threads


@dataclass(frozen=True)
class _Call:
    plan: _Plan
    xa: np.ndarray
    in_dtype: np.dtype


def _start(verb, x, fmt, rounding, saturation, nan, random, rbits, compat, out, threads, block_options):
    """Shared prologue of encode/quantize: a block format's result, or the validated call."""
    x = _interop.as_numpy(x)  # torch tensors (also for block formats)
    if _is_block(fmt):
        from . import block

        _block_unsupported(saturation=saturation, nan=nan, compat=compat, out=out, threads=threads)
        return getattr(block, verb)(x, fmt, rounding=rounding, random=random, rbits=rbits, **block_options)
    if block_options:
        raise TypeError(f"unexpected keyword(s) {sorted(block_options)} for an element format")
    plan = _plan(fmt, rounding, saturation, nan, compat)
    xa = _as_input(x)
    return _Call(plan, xa, np.asarray(x).dtype)


def _prepare(plan, xa, random, rbits):
    """Random bits, the NaN check and compat pre-processing; nothing has been written yet."""
    rkind, rarr, key, nbits = random_spec(random, rbits, plan.mode, xa.shape)
    if plan.nan_raise:
        _nan_check(xa, plan.fmt)
    if plan.pre is not None:
        xa = plan.pre(xa)
    return xa, rkind, rarr, key, nbits


def encode(x, fmt, *, rounding="nearest_even", saturation="none", nan="raise", random=None,
           rbits=None, compat=None, out=None, threads=None, **block_options):
    """Encode values into codes of `fmt`.

    Parameters
    ----------
    x : array_like
        float16/32/64, ml_dtypes floats or integers (converted exactly).
    fmt : str or format
        Target format (or a block format, see `numfmt.block`).
    rounding : str
        `nearest_even` (default), `nearest_away`, `toward_zero`,
        `toward_positive`, `toward_negative`, `to_odd`, `stochastic`
        (P3109 StochasticA: add N random bits to the discarded bits),
        `stochastic_b`, `stochastic_c`; aliases rne, rna, rtz, rtp, rtn, rto, sr.
    saturation : {"none", "finite", "propagate"}
        Overflow rule, decided after rounding (see the semantics table).
    nan : {"raise", "zero", "max"}
        What a NaN input becomes in a format without NaN.
    random : int, numpy.random.Generator or array of unsigned ints, optional
        Random bits for stochastic roundings: a seed (reproducible on every
        machine and chunking), a Generator, or the exact bits R per element.
    rbits : int, optional
        Number N of random bits, 1..32 (default 32).
    compat : {"ml_dtypes", "torch", "ptx"}, optional
        Reproduce another implementation's conversion bit for bit.
    out : ndarray, optional
        Destination of the codes (shape of `x`, the format's code dtype).
    threads : int, optional
        Use numba's thread pool when > 1.

    Returns
    -------
    ndarray
        Codes in the smallest unsigned dtype holding the format.

    Examples
    --------
    >>> import numfmt
    >>> hex(numfmt.encode(464.0, "e4m3"))            # tie between 448 and 480: even
    '0x7e'
    >>> hex(numfmt.encode(500.0, "e4m3", saturation="finite"))
    '0x7e'
    >>> numfmt.encode([0.25, 0.75, 2.5], "e2m1", rounding="nearest_away").tolist()
    [1, 2, 5]
    """
    call = _start("encode", x, fmt, rounding, saturation, nan, random, rbits, compat, out, threads, block_options)
    if not isinstance(call, _Call):
        return call
    plan, xa = call.plan, call.xa
    _check_out(out, xa.shape, plan.fmt.code_dtype)
    xa, rkind, rarr, key, nbits = _prepare(plan, xa, random, rbits)
    res = _run_encode(xa, plan, rkind, rarr, key, nbits, out, _threads(threads))
    if out is None and res.ndim == 0:
        return res[()]
    return res


_CHUNK = 1 << 16  # elements per work item: encode + decode of a chunk stay in cache


_POOLS: dict = {}  # (process id, thread count) -> a reused worker pool (threads cost ~0.1 ms to start)
_POOLS_LOCK = threading.Lock()


def _pool(threads: int):
    """A worker pool of `threads` threads, reused across calls (a cache with no effect on results;
    keyed by process id too, since a forked child has none of its parent's threads)."""
    key = (os.getpid(), threads)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            from concurrent.futures import ThreadPoolExecutor

            pool = _POOLS[key] = ThreadPoolExecutor(threads, thread_name_prefix="numfmt")
        return pool


def _chunks(n: int, threads: int):
    """Run `work(lo, hi)` over [0, n) in chunks, on `threads` threads (kernels release the GIL).

    The results do not depend on the chunking (random bits are keyed by the global index).
    """

    def run(work):
        if threads <= 1 or n < (1 << 20):
            work(0, n)
            return
        step = -(-n // (threads * 8))
        list(_pool(threads).map(lambda lo: work(lo, min(lo + step, n)), range(0, n, step)))

    return run


def _binary64_codes(xa: np.ndarray, plan) -> np.ndarray:
    """binary64 is a pass-through: float inputs are exact; NaN gets the all-ones payload."""
    from ._kernels import params as P

    if xa.dtype.kind in "iu":
        big = np.abs(xa.astype(np.float64)) > 2.0**53
        if big.any() and plan.mode != P.NEAREST_EVEN:
            raise ValueError("integers beyond 2**53 into binary64 are only supported with rounding='nearest_even'")
        xa = xa.astype(np.float64)
    v = np.asarray(xa, np.float64)
    if plan.sat == P.SAT_FINITE:  # the only overflow a float64 input can have is an infinity
        v = np.clip(v, -np.finfo(np.float64).max, np.finfo(np.float64).max)
    codes = v.view(np.uint64).copy()
    nan = np.isnan(v)
    codes[nan] = np.where(np.signbit(v[nan]), np.uint64(0xFFFFFFFFFFFFFFFF), np.uint64(0x7FFFFFFFFFFFFFFF))
    return codes


def _run_encode(xa, plan, rkind, rarr, key, nbits, out, threads, offset=0):
    dtype = plan.fmt.code_dtype
    if plan.fmt.bits == 64:
        res = _binary64_codes(xa, plan)
        if out is not None:
            out[...] = res
            return out
        return res
    direct = out is not None and out.flags.c_contiguous
    res = out if direct else np.empty(xa.shape, dtype)
    flat_x = xa.reshape(-1)
    flat_o = res.reshape(-1)
    _chunks(flat_x.size, threads)(
        lambda lo, hi: _encode_chunk(flat_x, flat_o[lo:hi], plan, rkind, rarr, key, nbits, lo, hi, offset)
    )
    if plan.post is not None:
        plan.post(xa, res)
    if out is not None and not direct:
        out[...] = res
        return out
    return res


def _block_unsupported(**given) -> None:
    """Block formats fix saturation (elements clamp to ±max) and take no compat/out/threads."""
    defaults = {"saturation": "none", "nan": "raise", "compat": None, "out": None, "threads": None}
    bad = [k for k, v in given.items() if v is not defaults[k] and v != defaults[k]]
    if bad:
        raise TypeError(f"keyword(s) {bad} are not supported with a block format")


def _is_block(fmt) -> bool:
    from . import block

    return block.is_block_format(fmt)


def _check_codes(codes, f, name="codes") -> np.ndarray:
    codes = _interop.as_codes(codes, name)  # torch/ml_dtypes low-precision floats: their bits
    if isinstance(codes, (str, bytes)):
        raise TypeError(f"{name} must be an integer array, got {type(codes).__name__}")
    arr = np.asarray(codes)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must have an integer dtype, got {arr.dtype}")
    top = (1 << f.bits) - 1
    if arr.size and not (arr.dtype.kind == "u" and np.iinfo(arr.dtype).max <= top):  # else every value fits
        lo = 0 if arr.dtype.kind == "u" else int(arr.min())  # (one pass for unsigned codes)
        hi = int(arr.max())
        if lo < 0 or hi > top:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{name} contains {bad:#x}, outside 0..{top:#x} of {f.name}")
    if arr.size and isinstance(f, IntFormat) and f.symmetric:
        bad_code = 1 << (f.bits - 1)
        if (arr == bad_code).any():
            raise ValueError(f"{name} contains {bad_code:#x}, outside the symmetric range of {f.name}")
    return np.asarray(arr, order="C")


def _decode_dtype(f, dtype) -> np.dtype:
    if dtype is None:
        if f.exact_in(np.float32):
            return np.dtype(np.float32)
        if not f.exact_in(np.float64):
            raise ValueError(f"values of {f.name} are not all exact in float64; use fmt.exact_value(code)")
        return np.dtype(np.float64)
    dt = np.dtype(dtype)
    if dt.type not in _FLOAT_KINDS:
        raise TypeError(f"dtype must be float16, float32 or float64, got {dt}")
    if not f.exact_in(dt):
        raise ValueError(f"dtype={dt} cannot hold every value of {f.name} exactly")
    return dt


def decode(codes, fmt=None, *, dtype=None, out=None, threads=None):
    """Exact values of codes of `fmt`.

    Parameters
    ----------
    codes : array_like of int
        Codes, each in `0 .. 2**bits - 1`.
    fmt : str or format
        The format (or a `BlockArray` as the only argument, see `numfmt.block`).
    dtype : numpy dtype, optional
        float32 when every value of the format is exact in float32, else float64.
    out : ndarray, optional
        Destination (shape of `codes`, dtype `dtype`).

    Examples
    --------
    >>> import numfmt
    >>> numfmt.decode([0x7E, 0x7F, 0x01], "e4m3").tolist()
    [448.0, nan, 0.001953125]
    """
    if fmt is None:  # a BlockArray (numfmt.block) decodes itself
        from . import block

        return block.decode(codes, dtype=np.float32 if dtype is None else dtype, out=out)
    f = get_format(fmt)
    ca = _check_codes(codes, f)
    dt = _decode_dtype(f, dtype if out is None or dtype is not None else out.dtype)
    _check_out(out, ca.shape, dt)
    nthreads = _threads(threads)
    direct = out is not None and out.flags.c_contiguous
    res = out if direct else np.empty(ca.shape, dt)
    from ._kernels import decode as K

    if f.bits == 64:
        res[...] = ca.astype(np.uint64).view(np.float64)
    else:
        fc, fo, params, fast = ca.reshape(-1), res.reshape(-1), f.kernel_params, _fast_decode_args(f)
        _chunks(fc.size, nthreads)(lambda lo, hi: K.decode_any(fc[lo:hi], fo[lo:hi], params, fast))
    return _deliver(res, out)


def _fast_decode_args(f):
    """(scale, smallest special magnitude code) for the float32 bit-placement decode, or None.

    Integer formats of <= 24 bits exact in float32: (2**scale_exp, -1).
    """
    if isinstance(f, IntFormat):
        return (2.0**f.scale_exp, -1) if f.bits <= 24 and f.exact_in(np.float32) else None
    if (
        isinstance(f, FloatFormat)
        and f.has_zero
        and f.subnormals
        and f.exponent_bits <= 8
        and f.mantissa_bits <= 23
        and -126 <= 127 - f.bias <= 127
        and f.exact_in(np.float32)
        and (f.inf == "ieee" or (f.max_code_magnitude >> f.mantissa_bits) <= 254)  # field 255 is float32 inf
    ):
        special = [c & ~f._sign_bit for c in (f.code_of_inf, f.code_of_nan, f.code_of_negnan)
                   if c is not None and c & ~f._sign_bit != 0]
        return (np.float32(2.0 ** (127 - f.bias)), min(special, default=0x7FFFFFFF))
    return None


def quantize(x, fmt, *, rounding="nearest_even", saturation="none", nan="raise", random=None,
             rbits=None, compat=None, out=None, threads=None, **block_options):
    """Round `x` to the values of `fmt`: `decode(encode(x))` in one pass.

    Takes the keywords of [`encode`][numfmt.encode]. Returns x's float dtype when every
    value of the format is exact in it, else float64.

    Examples
    --------
    >>> import numfmt
    >>> numfmt.quantize([0.3, 1000.0], "e4m3", saturation="finite").tolist()
    [0.3125, 448.0]
    """
    call = _start("quantize", x, fmt, rounding, saturation, nan, random, rbits, compat, out, threads, block_options)
    if not isinstance(call, _Call):
        return call
    plan, xa, f = call.plan, call.xa, call.plan.fmt
    in_dt = call.in_dtype
    if in_dt.kind == "f" and in_dt.type in _FLOAT_KINDS and f.exact_in(in_dt):
        dt = in_dt
    else:
        dt = _decode_dtype(f, None)
    _check_out(out, xa.shape, dt)
    xa, rkind, rarr, key, nbits = _prepare(plan, xa, random, rbits)
    if f.bits == 64:
        return decode(_binary64_codes(xa, plan), f, dtype=dt, out=out)
    from ._kernels import decode as K

    direct = out is not None and out.flags.c_contiguous
    res = out if direct else np.empty(xa.shape, dt)
    flat_x, flat_r = xa.reshape(-1), res.reshape(-1)
    params, fast = f.kernel_params, _fast_decode_args(f)

    def work(lo, hi):  # encode and decode chunk by chunk: the codes never leave the cache
        buf = np.empty(min(_CHUNK, hi - lo), f.code_dtype)
        for a in range(lo, hi, _CHUNK):
            b = min(a + _CHUNK, hi)
            _encode_chunk(flat_x, buf[: b - a], plan, rkind, rarr, key, nbits, a, b)
            if plan.post is not None:
                plan.post(flat_x[a:b], buf[: b - a])
            K.decode_any(buf[: b - a], flat_r[a:b], params, fast)

    _chunks(flat_x.size, _threads(threads))(work)
    return _deliver(res, out)


def _deliver(res, out):
    """The result: `res` (a scalar when 0-d), or `out=` holding it (copied unless written in place)."""
    if out is None:
        return res[()] if res.ndim == 0 else res
    if not np.may_share_memory(res, out):
        out[...] = res
    return out


def _encode_chunk(flat_x, dst, plan, rkind, rarr, key, nbits, lo, hi, offset=0):
    """Encode `flat_x[lo:hi]` into `dst`; random bits keyed by flat index `offset + lo`."""
    from ._kernels.encode import encode_flat

    r = rarr[lo:hi] if rkind == 1 else rarr
    encode_flat(flat_x[lo:hi], dst, plan.params, plan.mode, plan.sat, rkind, r, key, nbits, offset + lo)
