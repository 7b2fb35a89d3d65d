"""The verbs numfmt exports for element and block formats: `encode`, `decode`, `quantize`.

This is the one place where block formats meet element formats: each verb looks at the
format (or, for `decode`, at a `BlockArray`) and hands the call to `numfmt.block` or to
`numfmt.codec`, neither of which knows about the other. Block formats fix the saturation
(elements clamp to the finite range) and take no `compat`, `out` or `threads`.
"""

from __future__ import annotations

import numpy as np

from .block import BlockArray, get_block_format, is_block_format
from .block import decode as block_decode
from .block import encode as block_encode
from .block import quantize as block_quantize
from .codec import decode as element_decode
from .codec import encode as element_encode
from .codec import quantize as element_quantize
from .interop import as_numpy, code_format
from .lazy import is_dask, lazy_call
from .presets import get_format

__all__ = ["encode", "decode", "quantize"]


def check_block_keywords(*, saturation="none", nan="raise", compat=None, out=None, threads=None) -> None:
    """TypeError unless each keyword has its default: block formats fix the saturation (elements
    clamp to ±max) and the NaN rule, and take no `compat`, `out` or `threads`."""
    fixed = {"saturation": (saturation, "none"), "nan": (nan, "raise")}
    bad = [k for k, (v, default) in fixed.items() if not (isinstance(v, str) and v == default)]
    bad += [k for k, v in {"compat": compat, "out": out, "threads": threads}.items() if v is not None]
    if bad:
        raise TypeError(f"keyword(s) {bad} are not supported with a block format")


def _route(block_verb, element_verb, x, fmt, rounding, saturation, nan, random, rbits, compat, out, threads,
           block_options, steps=None):
    """`block_verb` for a block format, `element_verb` for an element format, each with its keywords;
    a dask array gets a lazy dask array (`numfmt.daskarray`). `steps`: the `daz`/`ftz`/`via` keywords
    (element formats only, `numfmt.steps`)."""
    steps = {k: v for k, v in (steps or {}).items() if v is not None and v is not False}
    if steps and (is_dask(x) or is_block_format(fmt)):
        raise TypeError(f"keyword(s) {sorted(steps)} are only supported with an element format and a non-dask input")
    if is_dask(x):
        return _lazy(element_verb.__name__, x, fmt, out, threads, rounding=rounding, saturation=saturation, nan=nan,
                     random=random, rbits=rbits, compat=compat, **block_options)
    x = as_numpy(x)  # torch tensors (also for block formats)
    if is_block_format(fmt):
        check_block_keywords(saturation=saturation, nan=nan, compat=compat, out=out, threads=threads)
        return block_verb(x, fmt, rounding=rounding, random=random, rbits=rbits, **block_options)
    extra = {}
    if element_verb is element_quantize and "dtype" in block_options:  # (the element quantize takes dtype= too)
        extra["dtype"] = block_options.pop("dtype")
    if block_options:
        raise TypeError(f"unexpected keyword(s) {sorted(block_options)} for an element format")
    return element_verb(x, fmt, rounding=rounding, saturation=saturation, nan=nan, random=random, rbits=rbits,
                        compat=compat, out=out, threads=threads, **steps, **extra)


def _lazy(verb, x, fmt, out, threads, **options):
    """`numfmt.daskarray.<verb>` of a dask array: a lazy result, computed chunk by chunk."""
    if out is not None or threads is not None:
        raise TypeError(f"out= and threads= do not apply to a dask array: {verb} returns a lazy dask array")
    return lazy_call(verb, x, fmt, **options)


def encode(x, fmt, *, rounding="nearest_even", saturation="none", nan="raise", random=None,
           rbits=None, compat=None, daz=False, ftz=False, via=None, threads=None, out=None, **block_options):
    """Encode values into codes of `fmt`.

    Parameters
    ----------
    x : array_like
        float16/32/64, ml_dtypes floats or integers (converted exactly); torch
        tensors; a dask array gives a lazy dask array (see `numfmt.daskarray`).
    fmt : str or format or dtype
        Target format (or a block format, see `numfmt.block`); a torch or
        ml_dtypes dtype names its format (`torch.float8_e4m3fn`).
    rounding : str
        `nearest_even` (default), `nearest_away`, `nearest_toward_zero`
        (ties toward zero), `toward_zero`, `toward_positive`, `toward_negative`,
        `to_odd`, `stochastic` (P3109 StochasticA: add N random bits to the
        discarded bits), `stochastic_b`, `stochastic_c`, `stochastic_odd`;
        aliases rne, rna, rnz, rtz, rtp, rtn, rto, sr.
    saturation : {"none", "finite", "propagate"}
        Overflow rule, decided after rounding (see the semantics table).
    nan : {"raise", "zero", "max"}
        What a NaN input becomes in a format without NaN.
    random : int, numpy.random.Generator, numfmt.sr_key or array of unsigned ints, optional
        Random bits for stochastic roundings: a seed in 0 .. 2**64 - 1 (reproducible
        on every machine and chunking), a Generator, a key `numfmt.sr_key(seed, step)`
        (fresh bits per training step), or the exact bits R per element.
    rbits : int, optional
        Number N of random bits, 1..32 (default 32); only with a stochastic rounding
        (like `random=`, a ValueError with a deterministic one).
    compat : {"ml_dtypes", "torch", "ptx"} or a pinned version, optional
        Reproduce another implementation's conversion bit for bit. The bare name is the newest
        version numfmt knows; `"ml_dtypes==0.6"`, `"ml_dtypes==0.7"`, `"torch==2.13"` pin one
        (`numfmt.compat_profiles()` lists them).
    daz : bool or str, optional
        Input denormals are zero: a nonzero input below the smallest normal of its own
        dtype (True) or of the named float format becomes a zero of its sign before rounding.
    ftz : bool, optional
        Output flush to zero: a result that is subnormal in `fmt` becomes the zero of its sign.
    via : str or format, optional
        Round first into this float format (same rounding, saturation and NaN policy), then
        into `fmt`: double rounding, as a converter through bfloat16 or float16 does.
        See `numfmt.steps` and the semantics page for the order (daz, via, round, ftz).
    threads : int, optional
        Split the work over this many threads when > 1 (arrays of 1M elements or more);
        clamped to `os.cpu_count()`. The threads come from one shared pool per process
        (named `numfmt-worker_*`, stopped at exit); results never depend on `threads`.
        A non-int is a TypeError, a value below 1 a ValueError.
    out : ndarray, optional
        Destination of the codes (shape of `x`, the format's code dtype).

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
    >>> hex(numfmt.encode(2.0**-8, "e4m3", ftz=True))  # subnormal result flushed
    '0x0'
    """
    return _route(block_encode, element_encode, x, fmt, rounding, saturation, nan, random, rbits, compat, out, threads,
                  block_options, {"daz": daz, "ftz": ftz, "via": via})


def decode(codes, fmt=None, *, dtype=None, threads=None, out=None):
    """Exact values of codes of `fmt`.

    Parameters
    ----------
    codes : array_like of int
        Codes, each in `0 .. 2**bits - 1`; a torch float8/bfloat16/float4 tensor or an
        ml_dtypes float array holds codes of its own format (read by their bits).
    fmt : str or format or dtype, optional
        The format; inferred from a torch tensor's or an ml_dtypes array's dtype (a
        different format is a ValueError); None for a `BlockArray` (it carries its format).
    dtype : numpy dtype, optional
        float32 when every value of the format is exact in float32, else float64.
    threads : int, optional
        Threads for large arrays, as in [`encode`][numfmt.encode] (clamped to `os.cpu_count()`).
    out : ndarray, optional
        Destination (shape of `codes`, dtype `dtype`).

    Examples
    --------
    >>> import numfmt
    >>> numfmt.decode([0x7E, 0x7F, 0x01], "e4m3").tolist()
    [448.0, nan, 0.001953125]
    """
    if is_dask(codes) or is_dask(getattr(codes, "codes", None)):
        return _lazy("decode", codes, fmt, out, threads, dtype=dtype)
    own = code_format(codes)
    if own is not None:
        if fmt is not None and get_format(fmt) != get_format(own):
            raise ValueError(f"codes of dtype {codes.dtype} hold {own} codes, not {get_format(fmt).name}: "
                             f"pass fmt={own!r} or fmt=None, or view the bits as integers first")
        fmt = own
    if isinstance(codes, BlockArray):  # it carries its format, and decodes itself
        if fmt is not None and not (is_block_format(fmt) and get_block_format(fmt) == codes.format):
            raise ValueError(f"a BlockArray carries its format ({codes.format.name}): pass fmt=None, not {fmt!r}")
        check_block_keywords(threads=threads)
        return block_decode(codes, dtype=np.float32 if dtype is None else dtype, out=out)
    if fmt is None:
        raise TypeError(f"decode of {type(codes).__name__} codes needs fmt= (a BlockArray, a torch float8 "
                        "tensor or an ml_dtypes array carries its format)")
    return element_decode(codes, fmt, dtype=dtype, out=out, threads=threads)


def quantize(x, fmt, *, rounding="nearest_even", saturation="none", nan="raise", random=None,
             rbits=None, compat=None, daz=False, ftz=False, via=None, dtype=None, threads=None, out=None,
             **block_options):
    """Round `x` to the values of `fmt`: `decode(encode(x))` in one pass.

    Takes the keywords of [`encode`][numfmt.encode]. Returns `dtype` (a float dtype that
    holds every value of the format exactly) when given, else x's float dtype
    when every value of the format is exact in it, else float64.

    Examples
    --------
    >>> import numfmt
    >>> numfmt.quantize([0.3, 1000.0], "e4m3", saturation="finite").tolist()
    [0.3125, 448.0]
    """
    if dtype is not None:
        block_options["dtype"] = dtype
    return _route(block_quantize, element_quantize, x, fmt, rounding, saturation, nan, random, rbits, compat, out,
                  threads, block_options, {"daz": daz, "ftz": ftz, "via": via})
