"""The verbs numfmt exports for element and block formats: `encode`, `decode`, `quantize`.

This is the one place where block formats meet element formats: each verb looks at the
format (or, for `decode`, at a `BlockArray`) and hands the call to `numfmt.block` or to
`numfmt.codec`, neither of which knows about the other. Block formats fix the saturation
(elements clamp to the finite range) and take no `compat`, `out` or `threads`.
"""

from __future__ import annotations

import numpy as np

from .block import decode as block_decode
from .block import encode as block_encode
from .block import is_block_format
from .block import quantize as block_quantize
from .codec import decode as element_decode
from .codec import encode as element_encode
from .codec import quantize as element_quantize
from .interop import as_numpy

__all__ = ["encode", "decode", "quantize"]


def _route(block_verb, element_verb, x, fmt, rounding, saturation, nan, random, rbits, compat, out, threads,
           block_options):
    """``block_verb`` for a block format, ``element_verb`` for an element format, each with its keywords."""
    x = as_numpy(x)  # torch tensors (also for block formats)
    if is_block_format(fmt):
        # block formats fix saturation (elements clamp to ±max) and take no compat/out/threads
        given = {"saturation": saturation, "nan": nan, "compat": compat, "out": out, "threads": threads}
        defaults = {"saturation": "none", "nan": "raise", "compat": None, "out": None, "threads": None}
        bad = [k for k, v in given.items() if v is not defaults[k] and v != defaults[k]]
        if bad:
            raise TypeError(f"keyword(s) {bad} are not supported with a block format")
        return block_verb(x, fmt, rounding=rounding, random=random, rbits=rbits, **block_options)
    if block_options:
        raise TypeError(f"unexpected keyword(s) {sorted(block_options)} for an element format")
    return element_verb(x, fmt, rounding=rounding, saturation=saturation, nan=nan, random=random, rbits=rbits,
                        compat=compat, out=out, threads=threads)


def encode(x, fmt, *, rounding="nearest_even", saturation="none", nan="raise", random=None,
           rbits=None, compat=None, out=None, threads=None, **block_options):
    """Encode values into codes of ``fmt``.

    Parameters
    ----------
    x : array_like
        float16/32/64, ml_dtypes floats or integers (converted exactly).
    fmt : str or format
        Target format (or a block format, see :mod:`numfmt.block`).
    rounding : str
        ``nearest_even`` (default), ``nearest_away``, ``toward_zero``,
        ``toward_positive``, ``toward_negative``, ``to_odd``, ``stochastic``
        (P3109 StochasticA: add N random bits to the discarded bits),
        ``stochastic_b``, ``stochastic_c``; aliases rne, rna, rtz, rtp, rtn, rto, sr.
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
        Destination of the codes (shape of ``x``, the format's code dtype).
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
    return _route(block_encode, element_encode, x, fmt, rounding, saturation, nan, random, rbits, compat, out, threads,
                  block_options)


def decode(codes, fmt=None, *, dtype=None, out=None, threads=None):
    """Exact values of codes of ``fmt``.

    Parameters
    ----------
    codes : array_like of int
        Codes, each in ``0 .. 2**bits - 1``.
    fmt : str or format
        The format (or a ``BlockArray`` as the only argument, see :mod:`numfmt.block`).
    dtype : numpy dtype, optional
        float32 when every value of the format is exact in float32, else float64.
    out : ndarray, optional
        Destination (shape of ``codes``, dtype ``dtype``).

    Examples
    --------
    >>> import numfmt
    >>> numfmt.decode([0x7E, 0x7F, 0x01], "e4m3").tolist()
    [448.0, nan, 0.001953125]
    """
    if fmt is None:  # a BlockArray (numfmt.block) decodes itself
        return block_decode(codes, dtype=np.float32 if dtype is None else dtype, out=out)
    return element_decode(codes, fmt, dtype=dtype, out=out, threads=threads)


def quantize(x, fmt, *, rounding="nearest_even", saturation="none", nan="raise", random=None,
             rbits=None, compat=None, out=None, threads=None, **block_options):
    """Round ``x`` to the values of ``fmt``: ``decode(encode(x))`` in one pass.

    Takes the keywords of :func:`encode`. Returns x's float dtype when every
    value of the format is exact in it, else float64.

    Examples
    --------
    >>> import numfmt
    >>> numfmt.quantize([0.3, 1000.0], "e4m3", saturation="finite").tolist()
    [0.3125, 448.0]
    """
    return _route(block_quantize, element_quantize, x, fmt, rounding, saturation, nan, random, rbits, compat, out,
                  threads, block_options)
