"""Running a plan: the encode and decode kernel calls, chunked over threads.

Everything here takes a `Plan` (`numfmt.plan`) and validated numpy arrays; checking the
arguments is the callers' job (`numfmt.codec`, `numfmt.arith`, `numfmt.cli`). The kernels are
imported on first use: importing numba doubles the time of `import numfmt`.
"""

from __future__ import annotations

import atexit
import functools
import os
import threading

import numpy as np

from ._kernels.params import kernel_params
from .formats import FloatFormat, IntFormat
from .plan import make_plan
from .policy import SAT_FINITE

__all__ = ["CHUNK", "MAX_THREADS", "clamp_threads", "check_out", "unshared", "deliver", "nan_check", "prepare",
           "chunks", "to_float32", "run_encode", "encode_chunk", "decode_chunk", "decode_into"]

CHUNK = 1 << 16  # elements per work item: encode + decode of a chunk stay in cache
_SIGN64 = np.uint64(1 << 63)


def check_out(out, shape, dtype, name="out"):
    """Validate a caller's `out=` array against the result's shape and dtype."""
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


def _same_elements(a: np.ndarray, out: np.ndarray) -> bool:
    """Whether `a` and `out` are the same elements (truly in place: element i of the result is written
    only after element i of the input was read, which every loop does)."""
    return (a.dtype == out.dtype and a.shape == out.shape and a.strides == out.strides
            and a.__array_interface__["data"][0] == out.__array_interface__["data"][0])


def unshared(out, *arrays):
    """`arrays`, each copied when it overlaps `out=` other than element for element, so that writing
    `out` cannot change an input before it is read: the result is the same as into a new array."""
    if out is None:
        return arrays
    too_hard = getattr(np, "exceptions", np).TooHardError  # (numpy < 1.25: np.TooHardError)
    res = []
    for a in arrays:
        if isinstance(a, np.ndarray) and np.may_share_memory(a, out) and not _same_elements(a, out):
            try:
                shared = np.shares_memory(a, out, max_work=1 << 16)
            except too_hard:  # (copying is always right)
                shared = True
            if shared:
                a = a.copy()
        res.append(a)
    return tuple(res)

def deliver(res, out):
    """The result: `res` (a scalar when 0-d), or `out=` holding it (copied unless written in place)."""
    if out is None:
        return res[()] if res.ndim == 0 else res
    if not np.may_share_memory(res, out):
        out[...] = res
    return out


def nan_check(xa: np.ndarray, fmt) -> None:
    """Refuse NaN inputs for a format without NaN under `nan="raise"`."""
    if xa.dtype.kind != "f":
        return
    if xa.dtype in (np.float32, np.float64) and xa.flags.c_contiguous and xa.size:
        from ._kernels.scan import has_nan  # lazy: numba loads on the first kernel call

        if not has_nan(xa):
            return
    mask = np.isnan(xa)
    if mask.any():
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), xa.shape)) if xa.ndim else ()
        raise ValueError(
            f"x contains {int(mask.sum())} NaN value(s) (first at index {idx}) and format "
            f"{fmt.name} has no NaN; pass nan='zero' or nan='max' to choose a code"
        )


def prepare(plan, xa, random, rbits):
    """Random bits, the NaN check and compat pre-processing; nothing has been written yet."""
    rkind, rarr, key, nbits = plan.random_setup(random, rbits, xa.shape)
    if plan.nan_raise:
        nan_check(xa, plan.fmt)
    if plan.pre is not None:
        xa = plan.pre(xa, to_float32)
    return xa, rkind, rarr, key, nbits


MAX_THREADS = max(1, os.cpu_count() or 1)
"""The most worker threads numfmt runs (`os.cpu_count()`): a larger `threads=` is clamped to it."""

_POOLS: dict = {}  # process id -> (size, the one shared worker pool of that process)
_POOLS_LOCK = threading.Lock()


def clamp_threads(threads: int) -> int:
    """`threads` clamped to `MAX_THREADS` (results never depend on it)."""
    return min(threads, MAX_THREADS)


def _pool(threads: int):
    """The process's one shared worker pool, with at least `threads` threads (clamped to `MAX_THREADS`).

    The pool grows to the largest request: a larger one replaces it (the old pool's threads finish
    their work and exit). Its threads are named `numfmt-worker_<i>`; it is shut down at exit and keyed
    by process id, since a forked child has none of its parent's threads and builds its own.
    """
    threads = clamp_threads(threads)
    pid = os.getpid()
    with _POOLS_LOCK:
        size, pool = _POOLS.get(pid, (0, None))
        if pool is None or size < threads:
            # lazy: concurrent.futures (it loads logging) adds 9 ms to import numfmt; threads are opt-in
            from concurrent.futures import ThreadPoolExecutor

            old = pool
            pool = ThreadPoolExecutor(threads, thread_name_prefix="numfmt-worker")
            _POOLS.clear()  # a parent's pool (after fork) is not ours to keep
            _POOLS[pid] = (threads, pool)
            if old is not None:
                old.shutdown(wait=False)
        return pool


def _shutdown_pools() -> None:
    """Stop the worker threads (at exit)."""
    with _POOLS_LOCK:
        pools = [p for pid, (_, p) in _POOLS.items() if pid == os.getpid()]
        _POOLS.clear()
    for p in pools:
        p.shutdown(wait=True)


def _forget_pools_in_child() -> None:
    """A forked child drops its parent's pool (its threads do not exist in the child)."""
    global _POOLS_LOCK
    _POOLS_LOCK = threading.Lock()
    _POOLS.clear()


atexit.register(_shutdown_pools)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_in_child)


def _run_all(threads: int, tasks: list) -> None:
    """Run the callables `tasks` on the shared pool and wait for them (re-raising their errors).

    A pool replaced by a larger one while tasks are being submitted refuses new ones: the rest go
    to the new pool (the ones already submitted still run)."""
    futures: list = []
    pool = None
    while len(futures) < len(tasks):
        fresh = _pool(threads)
        if fresh is pool:  # not replaced: a real refusal (interpreter shutdown)
            raise RuntimeError("numfmt's worker pool refuses new work (interpreter shutdown?)")
        pool = fresh
        try:
            for t in tasks[len(futures):]:
                futures.append(pool.submit(t))
        except RuntimeError:
            continue
    errors = []
    for fut in futures:  # every task has finished (or failed) before the call returns
        try:
            fut.result()
        except BaseException as e:  # (re-raised below, after the others finished)
            errors.append(e)
    if errors:
        raise errors[0]


def chunks(n: int, threads: int, min_n: int = 1 << 20):
    """Run `work(lo, hi)` over [0, n) in chunks, on `threads` threads (kernels release the GIL).

    `threads` is clamped to `MAX_THREADS`; an `n` below `min_n` runs in one call on the calling
    thread. The results do not depend on the chunking (random bits are keyed by the global index).
    """
    threads = clamp_threads(threads)

    def run(work):
        if threads <= 1 or n < min_n:
            work(0, n)
            return
        # `threads` runners take chunks from one queue: at most `threads` at once, however large the pool
        step = -(-n // (threads * 8))
        starts = iter(range(0, n, step))
        lock = threading.Lock()
        failed = threading.Event()

        def runner():
            while not failed.is_set():
                with lock:
                    lo = next(starts, None)
                if lo is None:
                    return
                try:
                    work(lo, min(lo + step, n))
                except BaseException:
                    failed.set()
                    raise

        _run_all(threads, [runner] * threads)

    return run


def to_float32(xa: np.ndarray) -> np.ndarray:
    """float64 or integer input -> float32, rounded to nearest even through the funnel."""
    if xa.dtype == np.float32:
        return xa
    plan = make_plan("binary32")
    rkind, rarr, key, nbits = plan.random_setup(None, None, xa.shape)
    return run_encode(xa, plan, rkind, rarr, key, nbits, None, 1).view(np.float32).reshape(xa.shape)


def _binary64_codes(xa: np.ndarray, plan, rkind, rarr, key, nbits, offset) -> np.ndarray:
    """binary64 codes. Integers round through the funnel like into any other format (its magnitude,
    the sign put on top); float inputs are exact: their bits, NaN with the all-ones payload."""
    if xa.dtype.kind in "iu":
        codes = np.empty(xa.shape, np.uint64)
        encode_chunk(xa.reshape(-1), codes.reshape(-1), plan, rkind, rarr, key, nbits, 0, xa.size, offset)
        codes[xa < 0] |= _SIGN64
        return codes
    v = np.asarray(xa, np.float64)
    if plan.sat == SAT_FINITE:  # the only overflow a float64 input can have is an infinity
        v = np.asarray(np.clip(v, -np.finfo(np.float64).max, np.finfo(np.float64).max))  # (0-d stays an array)
    codes = v.view(np.uint64).copy()
    nan = np.isnan(v)
    codes[nan] = np.where(np.signbit(v[nan]), np.uint64(0xFFFFFFFFFFFFFFFF), np.uint64(0x7FFFFFFFFFFFFFFF))
    return codes


def run_encode(xa, plan, rkind, rarr, key, nbits, out, threads, offset=0):
    """Encode `xa` with `plan` into `out` (or a new array); random bits keyed from `offset`."""
    if plan.fmt.bits == 64:
        res = _binary64_codes(xa, plan, rkind, rarr, key, nbits, offset)
        if out is not None:
            out[...] = res
            return out
        return res
    direct = out is not None and out.flags.c_contiguous
    res = out if direct else np.empty(xa.shape, plan.code_dtype)
    flat_x = xa.reshape(-1)
    flat_o = res.reshape(-1)
    chunks(flat_x.size, threads)(
        lambda lo, hi: encode_chunk(flat_x, flat_o[lo:hi], plan, rkind, rarr, key, nbits, lo, hi, offset)
    )
    if plan.post is not None:
        plan.post(xa, res)
    if out is not None and not direct:
        out[...] = res
        return out
    return res


def encode_chunk(flat_x, dst, plan, rkind, rarr, key, nbits, lo, hi, offset=0):
    """Encode `flat_x[lo:hi]` into `dst`; random bits keyed by flat index `offset + lo`."""
    from ._kernels.encode import encode_flat  # lazy: numba loads on the first kernel call

    r = rarr[lo:hi] if rkind == 1 else rarr
    encode_flat(flat_x[lo:hi], dst, plan.params, plan.mode, plan.sat, rkind, r, key, nbits, offset + lo)


@functools.cache
def _decode_args(f):
    """(kernel params, fast-decode arguments) of a format below 64 bits.

    The fast arguments are (scale, smallest special magnitude code) for the float32 bit-placement
    decode, or None; integer formats of <= 24 bits exact in float32: (2**scale_exp, -1).
    """
    fast = None
    if isinstance(f, IntFormat):
        fast = (2.0**f.scale_exp, -1) if f.bits <= 24 and f.exact_in(np.float32) else None
    elif (
        isinstance(f, FloatFormat)
        and f.has_zero
        and f.subnormals
        and f.exponent_bits <= 8
        and f.mantissa_bits <= 23
        and -126 <= 127 - f.bias <= 127
        and f.exact_in(np.float32)
        and (f.inf == "ieee" or (f.max_code_magnitude >> f.mantissa_bits) <= 254)  # field 255 is float32 inf
    ):
        special = [c & ~f.sign_bit for c in (f.code_of_inf, f.code_of_nan, f.code_of_negnan)
                   if c is not None and c & ~f.sign_bit != 0]
        fast = (np.float32(2.0 ** (127 - f.bias)), min(special, default=0x7FFFFFFF))
    return kernel_params(f), fast


def decode_chunk(codes, dst, f) -> None:
    """Values of the flat codes `codes` of `f` (below 64 bits) into the flat `dst`."""
    from ._kernels import decode as K  # lazy: numba loads on the first kernel call

    K.decode_any(codes, dst, *_decode_args(f))


def decode_into(codes, dst, f, threads: int = 1) -> None:
    """Values of the flat codes `codes` of `f` into the flat `dst`, chunked over `threads`."""
    if f.bits == 64:
        dst[...] = codes.astype(np.uint64).view(np.float64)
        return
    chunks(codes.size, threads)(lambda lo, hi: decode_chunk(codes[lo:hi], dst[lo:hi], f))
