"""Correctly rounded arithmetic in any format: add, sub, mul, div, fma, sqrt.

Each function takes float arrays (float16/32/64 or ml_dtypes floats, numpy
broadcasting; the operands need not be values of `fmt`), computes the exact
real result and rounds it ONCE into `fmt` with the policy keywords of
[`numfmt.encode`][numfmt.encode] (`rounding`, `saturation`, `nan`, `random`,
`rbits`). The exact intermediate is an integer significand and exponent
(`numfmt._kernels.arith`) that goes through the same rounding funnel as every
conversion, so results are bit-exact for every format, every rounding mode
(directed, to_odd and the stochastic ones included) and targets up to binary64,
where computing in float64 and rounding the float64 result would round twice.

Special cases: IEEE 754 for IEEE-style formats (inf - inf and 0 * inf are NaN,
x / +-0 is +-inf, an exact zero sum is +0, or -0 under `toward_negative`);
P3109 formats (`fmt.p3109`) have one zero and x / 0 is NaN. Infinite and NaN
results into formats without inf/NaN follow `saturation` and `nan` exactly
as in [`numfmt.encode`][numfmt.encode]. NaN results are the format's positive canonical NaN.

Results are values (float32 when every value of the format is exact in
float32, else float64); `codes=True` returns the codes instead.

Examples
--------
>>> import numfmt
>>> float(numfmt.add(1.0, 2.0**-4, "e4m3"))            # tie: 1.0625 -> even 1.0
1.0
>>> float(numfmt.add(1.0, 2.0**-4 + 2.0**-40, "e4m3")) # just above the tie
1.125
>>> hex(numfmt.mul(3.0, 5.0, "e4m3", codes=True))
'0x57'
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from ._kernels import variants
from ._kernels.params import kernel_params
from .block.formats import is_block_format
from .codec import decode, decode_dtype, threads_arg
from .deprecation import moved_name
from .engine import CHUNK, check_out, chunks, deliver, unshared
from .formats import FloatFormat, IntFormat
from .interop import as_numpy
from .lazy import is_dask, lazy_call
from .plan import EXACT_BITS, make_plan
from .policy import is_stochastic
from .presets import get_format

__all__ = ["add", "sub", "mul", "div", "fma", "sqrt"]

_FLOATS = (np.float16, np.float32, np.float64)


def _lazy_for_dask(verb):
    """`verb` that hands dask operands to `numfmt.daskarray.elementwise` (a lazy result)."""
    n = list(inspect.signature(verb).parameters).index("fmt")  # the operands come first

    @functools.wraps(verb)
    def call(*args, **options):
        operands = (*args[:n], *(options.get(k) for k in ("a", "b", "c")))  # (by position or keyword)
        if any(is_dask(x) for x in operands):
            return lazy_call("elementwise", verb, n, args, options)
        return verb(*args, **options)

    return call


def as_float_input(x, name: str) -> np.ndarray:
    """`x` as a float32 or float64 array holding exactly the same values."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a float array, got {type(x).__name__}: {x!r}")
    if isinstance(x, bool) or isinstance(x, np.bool_):
        raise TypeError(f"{name} must be a float array, got bool {x!r}")
    if isinstance(x, int) and not isinstance(x, np.integer):  # a Python int scalar
        if abs(x) > 2**53:
            raise ValueError(f"{name}={x} is an int not exactly representable as a float64")
        return np.asarray(float(x))
    arr = np.asarray(as_numpy(x, name))  # torch tensors (bfloat16, float8, requires_grad) too
    dt = arr.dtype
    with np.errstate(invalid="ignore"):
        if dt.kind == "f" and dt.type in _FLOATS:
            return arr.astype(np.float32, copy=False) if dt.itemsize <= 4 else arr
        if dt.kind == "V" or (dt.kind == "f" and dt.itemsize <= 2):  # ml_dtypes floats
            if dt.itemsize <= 2 and "float" in dt.name:
                return arr.astype(np.float32)
    raise TypeError(
        f"{name} must be a float array (float16, float32, float64 or an ml_dtypes float), got dtype {dt}"
    )


def _format(fmt):
    if is_block_format(fmt):
        raise ValueError(f"fmt={fmt!r} is a block format; arithmetic needs an element format")
    f = get_format(fmt)
    if not isinstance(f, (FloatFormat, IntFormat)):  # pragma: no cover - get_format guarantees it
        raise TypeError(f"fmt must be a format, got {fmt!r}")
    return f


def _load_f32_kernels() -> None:
    """Import `_kernels.arith_f32`, which registers the float32 variants."""
    from ._kernels import arith_f32  # noqa: F401  (lazy: numba loads on the first kernel call; registers the variants)


def _f32_eligible(f, plan, arrs) -> bool:
    """Whether the vectorised float64-image loops apply (see `_kernels.arith_f32`)."""
    _load_f32_kernels()
    return (
        f.bits < 64
        and all(a.dtype == np.float32 for a in arrs)
        and isinstance(f, FloatFormat)
        and variants.select("arith", 2, np.dtype(np.float32), plan.params, plan.mode, plan.sat) is not None
    )


def _setup(operands, names, fmt, rounding, saturation, nan, random, rbits, f32_ok=False, out=None, codes=False):
    f = _format(fmt)
    plan = make_plan(f, rounding, saturation, nan)
    arrs = [as_float_input(x, n) for x, n in zip(operands, names)]
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrs))
    except ValueError:
        shapes = ", ".join(f"{n}{a.shape}" for n, a in zip(names, arrs))
        raise ValueError(f"operand shapes do not broadcast: {shapes}") from None
    check_out(out, shape, f.code_dtype if codes else plan.value_dtype)
    f32 = f32_ok and _f32_eligible(f, plan, arrs)
    size = int(np.prod(shape))
    flat, steps = [], []
    if f32:  # the float32 loops read flat float32 arrays
        for a in arrs:
            if a.size == 1 and size != 1:
                flat.append(np.ascontiguousarray(a.reshape(-1), dtype=np.float32))
                steps.append(0)
            else:
                b = np.broadcast_to(a, shape) if a.shape != shape else a
                flat.append(np.ascontiguousarray(b, dtype=np.float32).reshape(-1))
                steps.append(1)
    else:  # the general loops read float64, converted a chunk at a time (`_chunked`)
        flat = [np.broadcast_to(a, shape) for a in arrs]
    rkind, rarr, key, nbits = plan.random_setup(random, rbits, shape, exact=True)
    *flat, rarr = unshared(out, *flat, rarr)
    K = min(EXACT_BITS, plan.precision + (nbits if is_stochastic(plan.mode) else 0) + 3)
    return f, plan, shape, flat, steps, (rkind, rarr, key, nbits), K, f32


def _chunked(loop, ops, shape, code_dtype, rnd, threads: int = 1) -> tuple:
    """(codes, count of NaN results without a code) of `loop(parts, dst, rnd, offset)` run over the
    operands `ops` (broadcast to `shape`) a chunk of `CHUNK` elements at a time, in C order.

    Each chunk of each operand is converted to float64 (exact) into a buffer of the chunk's size,
    so the general loops need no float64 copy of the whole input: beyond the codes, the working
    memory is a few chunk buffers per thread. Random bits are those of the whole call (an explicit
    array is sliced, a seeded stream keyed by the flat index `offset`), so `threads` (each running
    its own range of flat indices) never changes a result.
    """
    rk, ra, key, nb = rnd
    codes = np.empty(shape, code_dtype)
    dst = codes.reshape(-1)
    bads = []

    def work(lo, hi):
        bufs = [np.empty(min(CHUNK, hi - lo), np.float64) for _ in ops]
        bad = 0
        pos = lo
        with np.errstate(invalid="ignore"):  # (casting a signalling NaN warns)
            it = np.nditer(list(ops), flags=["external_loop", "buffered", "zerosize_ok", "refs_ok", "ranged"],
                           op_flags=[["readonly"]] * len(ops), op_dtypes=[np.float64] * len(ops),
                           buffersize=CHUNK, order="C", casting="safe", itershape=shape)
            with it:
                it.iterrange = (lo, hi)
                while not it.finished:
                    parts = it.value if len(ops) > 1 else (it.value,)
                    n = parts[0].size
                    for buf, part in zip(bufs, parts):
                        buf[:n] = part
                    r = ra[pos:pos + n] if rk == 1 else ra
                    bad += loop([buf[:n] for buf in bufs], dst[pos:pos + n], (rk, r, key, nb), pos)
                    pos += n
                    it.iternext()
        bads.append(bad)  # (list.append is atomic)

    if dst.size:
        chunks(dst.size, threads)(work)
    return codes, sum(bads)


def _f32_finish(kind, flat, steps, f, plan, shape, want_codes, dest=None, threads: int = 1):
    """Codes or values of add/mul/fma of float32 operands through `_kernels.arith_f32`.

    The loop writes straight into `dest` (the caller's `out=`) when it is contiguous
    and no error can be found after writing (a NaN result under `nan="raise"`).
    """
    _load_f32_kernels()
    size = int(np.prod(shape))
    if dest is not None and dest.flags.c_contiguous and not plan.nan_raise:
        out = dest.reshape(-1)
    else:
        out = np.empty(size, f.code_dtype if want_codes else plan.value_dtype)
    k = {"add": 0, "mul": 1, "fma": 2}[kind]
    c, sc = (flat[2], steps[2]) if k == 2 else (flat[0], 0)
    v = variants.select("arith", k, np.dtype(np.float32), plan.params, plan.mode, plan.sat)
    bads = []

    def work(lo, hi):  # (a step-0 operand is one broadcast value)
        bads.append(v.kernel(k, flat[0][lo:hi] if steps[0] else flat[0], steps[0],
                             flat[1][lo:hi] if steps[1] else flat[1], steps[1], c[lo:hi] if sc else c, sc,
                             out[lo:hi], want_codes, plan.params, kernel_params(f), plan.mode, plan.sat))

    chunks(size, threads)(work)
    bad = sum(bads)
    if bad:
        _finish(out, bad, f, plan, shape, True, kind)  # raises
    return deliver(out.reshape(shape), dest)


def _finish(codes, bad, f, plan, shape, want_codes, what, dest=None):
    if bad and plan.nan_raise:
        raise ValueError(
            f"{bad} result(s) of {what} are NaN (NaN input, 0/0, inf - inf, 0 * inf, sqrt(x < 0) ...) "
            f"and format {f.name} has no NaN; pass nan='zero' or nan='max' to choose a code"
        )
    codes = codes.reshape(shape)
    if want_codes:
        return deliver(codes, dest)
    # (decode flattens 0-d input, so decode flat and restore the shape)
    return deliver(decode(codes.reshape(-1), f).reshape(shape), dest)


def _in_dtype(dtype, codes, fmt, out, run):
    """`run(out)` (values in the default dtype, or codes), or its values in `dtype=` delivered to `out`.

    The default dtype is float32 when it holds every value of the format, else float64; `dtype`
    must hold every value exactly, so the conversion is exact.
    """
    if dtype is None:
        return run(out)
    if codes:
        raise TypeError("dtype= is the dtype of values; codes=True returns the format's code dtype")
    dt = decode_dtype(_format(fmt), dtype)
    res = np.asarray(run(None))
    check_out(out, res.shape, dt)
    return deliver(res.astype(dt), out)


_OPS64 = {"add": 0, "mul": 1, "div": 2, "fma": 3, "sqrt": 4}


def _run64(kind, flat, f, plan, shape, rnd, K, want_codes, dest=None, threads: int = 1):
    """binary64 results through `_kernels.arith64` (uint64 codes with the sign on top)."""
    from ._kernels.arith64 import arith64_loop  # lazy: numba loads on the first kernel call

    def loop(parts, dst, r, offset):
        fl = list(parts) + [parts[0]] * (3 - len(parts))
        arith64_loop(_OPS64[kind], fl[0], 1, fl[1], 1, fl[2], 1, dst, plan.params, plan.mode, plan.sat, *r, K,
                     offset)
        return 0

    codes, _ = _chunked(loop, flat, shape, f.code_dtype, rnd, threads)
    if want_codes:
        return deliver(codes, dest)
    return deliver(codes.view(np.float64), dest)  # (binary64 values are their codes' bits: decode's result)


def _binary(kind, a, b, fmt, rounding, saturation, nan, random, rbits, codes, out, threads=1):
    from ._kernels import arith as K  # lazy: numba loads on the first kernel call

    f, plan, shape, flat, steps, (rk, ra, key, nb), prec_bits, f32 = _setup(
        (a, b), ("a", "b"), fmt, rounding, saturation, nan, random, rbits, f32_ok=kind != "div", out=out,
        codes=codes,
    )
    if f32:
        return _f32_finish(kind, flat, steps, f, plan, shape, codes, out, threads)
    if f.bits == 64:
        return _run64(kind, flat, f, plan, shape, (rk, ra, key, nb), prec_bits, codes, out, threads)
    p, mode, sat = plan.params, plan.mode, plan.sat
    if kind == "add":
        def loop(ops, dst, r, offset):
            return K.add_loop(ops[0], 1, ops[1], 1, dst, p, mode, sat, *r, offset)
    elif kind == "mul":
        def loop(ops, dst, r, offset):
            return K.mul_loop(ops[0], 1, ops[1], 1, dst, p, mode, sat, *r, offset)
    else:
        def loop(ops, dst, r, offset):
            return K.div_loop(ops[0], 1, ops[1], 1, dst, p, mode, sat, *r, prec_bits, offset)
    res, bad = _chunked(loop, flat, shape, f.code_dtype, (rk, ra, key, nb), threads)
    return _finish(res, bad, f, plan, shape, codes, kind, out)


@_lazy_for_dask
def add(a, b, fmt, *, rounding: str = "nearest_even", saturation: str = "none", nan: str = "raise",
        random=None, rbits: int | None = None, codes: bool = False, dtype=None, threads=None, out=None):
    """`a + b` rounded once into `fmt`.

    Parameters
    ----------
    a, b : array_like of float
        Operands (float16/32/64 or ml_dtypes floats; Python floats and ints);
        they broadcast against each other and are used exactly.
    fmt : str or format
        Target element format.
    rounding, saturation, nan, random, rbits
        As in [`numfmt.encode`][numfmt.encode]. `random` draws one random integer per
        result element.
    codes : bool
        Return codes of `fmt` instead of values.
    dtype : numpy dtype, optional
        Float dtype of the values; it must hold every value of `fmt` exactly.
    threads : int, optional
        Worker threads (default 1; clamped to the number of CPUs). Each thread takes
        whole ranges of result elements (random bits are keyed by the element's index),
        so the result never depends on it. Arrays below 2**20 elements use one thread.
    out : ndarray, optional
        Destination of the result (the broadcast shape; the values dtype, or the
        format's code dtype with `codes=True`). Nothing is written on an error.

    Returns
    -------
    ndarray or scalar
        Values (float32 if every value of `fmt` is exact in float32, else
        float64), or codes with `codes=True`.

    Examples
    --------
    >>> import numfmt
    >>> numfmt.add([1.0, 448.0], [2.0**-5, 16.0], "e4m3", saturation="finite").tolist()
    [1.0, 448.0]
    >>> numfmt.add(1.0, 2.0**-5, "e4m3", rounding="toward_positive").tolist()
    1.125
    >>> float(numfmt.add(1.0, -1.0, "binary16", rounding="toward_negative"))
    -0.0
    """
    return _in_dtype(dtype, codes, fmt, out, lambda o: _binary("add", a, b, fmt, rounding, saturation, nan,
                                                                random, rbits, codes, o, threads_arg(threads)))


@_lazy_for_dask
def sub(a, b, fmt, *, rounding: str = "nearest_even", saturation: str = "none", nan: str = "raise",
        random=None, rbits: int | None = None, codes: bool = False, dtype=None, threads=None, out=None):
    """`a - b` rounded once into `fmt` (keywords of [`add`][numfmt.add]).

    Examples
    --------
    >>> import numfmt
    >>> float(numfmt.sub(1.0, 2.0**-30, "bfloat16", rounding="toward_zero"))
    0.99609375
    """
    nb = np.negative(as_float_input(b, "b"))
    return _in_dtype(dtype, codes, fmt, out, lambda o: _binary("add", a, nb, fmt, rounding, saturation, nan,
                                                                random, rbits, codes, o, threads_arg(threads)))


@_lazy_for_dask
def mul(a, b, fmt, *, rounding: str = "nearest_even", saturation: str = "none", nan: str = "raise",
        random=None, rbits: int | None = None, codes: bool = False, dtype=None, threads=None, out=None):
    """`a * b` rounded once into `fmt` (keywords of [`add`][numfmt.add]).

    Examples
    --------
    >>> import numfmt
    >>> numfmt.mul([3.0, 1e-3], [7.0, 1e-3], "e4m3").tolist()     # 21: tie -> even 20; underflow
    [20.0, 0.0]
    """
    return _in_dtype(dtype, codes, fmt, out, lambda o: _binary("mul", a, b, fmt, rounding, saturation, nan,
                                                                random, rbits, codes, o, threads_arg(threads)))


@_lazy_for_dask
def div(a, b, fmt, *, rounding: str = "nearest_even", saturation: str = "none", nan: str = "raise",
        random=None, rbits: int | None = None, codes: bool = False, dtype=None, threads=None, out=None):
    """`a / b` rounded once into `fmt` (keywords of [`add`][numfmt.add]).

    x / +-0 is +-inf in IEEE-style formats (then the format's overflow rules
    apply) and NaN in P3109 formats; 0 / 0 and inf / inf are NaN.

    Examples
    --------
    >>> import numfmt
    >>> numfmt.div([1.0, 1.0], [3.0, 0.0], "e5m2").tolist()
    [0.3125, inf]
    >>> numfmt.div(1.0, 0.0, "binary8p3se", codes=True)      # P3109: x / 0 is NaN
    np.uint8(128)
    """
    return _in_dtype(dtype, codes, fmt, out, lambda o: _binary("div", a, b, fmt, rounding, saturation, nan,
                                                                random, rbits, codes, o, threads_arg(threads)))


@_lazy_for_dask
def fma(a, b, c, fmt, *, rounding: str = "nearest_even", saturation: str = "none", nan: str = "raise",
        random=None, rbits: int | None = None, codes: bool = False, dtype=None, threads=None, out=None):
    """`a * b + c` computed exactly and rounded once into `fmt` (keywords of [`add`][numfmt.add]).

    Examples
    --------
    >>> import numfmt
    >>> a = 1.0 + 2.0**-12                   # a*a - 1 = 2**-11 + 2**-24, exactly
    >>> float(numfmt.fma(a, a, -1.0, "binary32")) == 2.0**-11 + 2.0**-24
    True
    >>> float(numfmt.sub(numfmt.mul(a, a, "binary32"), 1.0, "binary32"))   # two roundings lose it
    0.00048828125
    """
    return _in_dtype(dtype, codes, fmt, out, lambda o: _fma(a, b, c, fmt, rounding, saturation, nan, random,
                                                            rbits, codes, o, threads_arg(threads)))


def _fma(a, b, c, fmt, rounding, saturation, nan, random, rbits, codes, out, threads=1):
    from ._kernels import arith as K  # lazy: numba loads on the first kernel call

    f, plan, shape, flat, steps, (rk, ra, key, nb), _, f32 = _setup(
        (a, b, c), ("a", "b", "c"), fmt, rounding, saturation, nan, random, rbits, f32_ok=True, out=out,
        codes=codes,
    )
    if f32:
        return _f32_finish("fma", flat, steps, f, plan, shape, codes, out, threads)
    if f.bits == 64:
        return _run64("fma", flat, f, plan, shape, (rk, ra, key, nb), 60, codes, out, threads)
    p, mode, sat = plan.params, plan.mode, plan.sat

    def loop(ops, dst, r, offset):
        return K.fma_loop(ops[0], 1, ops[1], 1, ops[2], 1, dst, p, mode, sat, *r, offset)

    res, bad = _chunked(loop, flat, shape, f.code_dtype, (rk, ra, key, nb), threads)
    return _finish(res, bad, f, plan, shape, codes, "fma", out)


@_lazy_for_dask
def sqrt(a, fmt, *, rounding: str = "nearest_even", saturation: str = "none", nan: str = "raise",
         random=None, rbits: int | None = None, codes: bool = False, dtype=None, threads=None, out=None):
    """Square root of `a` rounded once into `fmt` (keywords of [`add`][numfmt.add]).

    sqrt(-0) is -0 (0 in formats with one zero); a negative input gives NaN.

    Examples
    --------
    >>> import numfmt
    >>> numfmt.sqrt([2.0, 0.25, -1.0], "e4m3").tolist()
    [1.375, 0.5, nan]
    >>> numfmt.sqrt([2.0, -1.0], "e2m1", nan="zero").tolist()    # E2M1 has no NaN
    [1.5, 0.0]
    """
    return _in_dtype(dtype, codes, fmt, out, lambda o: _sqrt(a, fmt, rounding, saturation, nan, random, rbits,
                                                             codes, o, threads_arg(threads)))


def _sqrt(a, fmt, rounding, saturation, nan, random, rbits, codes, out, threads=1):
    from ._kernels import arith as K  # lazy: numba loads on the first kernel call

    f, plan, shape, flat, _, (rk, ra, key, nb), prec_bits, _ = _setup(
        (a,), ("a",), fmt, rounding, saturation, nan, random, rbits, out=out, codes=codes
    )
    if f.bits == 64:
        return _run64("sqrt", flat, f, plan, shape, (rk, ra, key, nb), prec_bits, codes, out, threads)
    p, mode, sat = plan.params, plan.mode, plan.sat

    def loop(ops, dst, r, offset):
        return K.sqrt_loop(ops[0], dst, p, mode, sat, *r, prec_bits, offset)

    res, bad = _chunked(loop, flat, shape, f.code_dtype, (rk, ra, key, nb), threads)
    return _finish(res, bad, f, plan, shape, codes, "sqrt", out)


def __getattr__(name: str):
    """Deprecated aliases of names that moved."""
    return moved_name(__name__, name, {"bench_rows": "numfmt.bench.arith_rows"})
