"""Lazy `encode`/`decode`/`quantize` on dask arrays (`pip install "dask[array]"`).

Every function returns dask collections built with `map_blocks`: nothing is
computed until `.compute()` (or `dask.compute`), on any scheduler (threads,
processes, `distributed`). Options are validated when the graph is built;
data-dependent errors (a NaN under `nan="raise"`) surface at compute time.

Results are bit-identical to the numpy functions on the whole array, whatever
the chunking, including seeded stochastic rounding: the random bits of an
element are keyed by its flat index in the *whole* array, so each chunk draws
the bits of its own elements.

Block formats block along `axis`; every chunk along that axis except the last
must be a multiple of the block size (pass `rechunk=True` to fix the chunks,
otherwise a ValueError says what to do). They return a [`DaskBlockArray`][numfmt.daskarray.DaskBlockArray]
of lazy `codes` and `scales`. Two-level formats (NVFP4) first reduce the
tensor amax (a lazy reduction), as the numpy path does.

Examples
--------
>>> import numpy as np, dask.array as da, numfmt
>>> import numfmt.daskarray as nda
>>> x = da.from_array(np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4), chunks=2)
>>> c = nda.encode(x, "e4m3", rounding="stochastic", random=7)     # lazy
>>> bool((c.compute() == numfmt.encode(x.compute(), "e4m3", rounding="stochastic", random=7)).all())
True
>>> nda.decode(c, "e4m3").dtype.name
'float32'
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from .block import BlockArray, block_decode_dtype, get_block_format, is_block_format, norm_axis
from .block import decode as block_decode
from .block import encode as block_encode
from .codec import decode as element_decode
from .codec import decode_dtype
from .codec import encode as element_encode
from .codec import quantize as element_quantize
from .frontend import check_block_keywords
from .interop import counter_bits, global_index, seed_spec
from .lazy import LAZY_VERBS
from .presets import get_format

__all__ = ["encode", "decode", "quantize", "elementwise", "DaskBlockArray"]


def _da():
    try:
        import dask.array as da
    except ImportError as e:  # pragma: no cover - exercised only without dask
        raise ImportError('numfmt.daskarray needs dask: pip install "dask[array]"') from e
    return da


def _as_dask(x, name="x"):
    da = _da()
    if isinstance(x, da.Array):
        return x
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be an array, got {type(x).__name__}")
    return da.asarray(x)


def _random_args(x, random, rbits, rounding):
    """(seed spec or None, extra dask array of bits or None, options update)."""
    spec = seed_spec(random, rbits, rounding)
    if spec is None:
        return None, None, {}
    if spec == "array":
        da = _da()
        bits = random if isinstance(random, da.Array) else da.asarray(np.asarray(random))
        if bits.dtype.kind not in "ui":
            raise TypeError(f"random array must have an unsigned-integer dtype, got {bits.dtype}")
        try:
            bits = da.broadcast_to(bits, x.shape)
        except ValueError:
            raise ValueError(f"random array of shape {bits.shape} does not broadcast to x's shape {x.shape}") from None
        return None, bits.rechunk(x.chunks), {"rbits": rbits}
    return spec, None, {"rbits": spec[1]}


def _chunk_bits(seed, block_info, shape, xb, rest):
    if seed is not None:
        if block_info is None:  # dask probing with an empty array
            return np.zeros(xb.shape, np.uint32)
        return counter_bits(seed[0], global_index(block_info[0]["array-location"], shape), seed[1])
    if rest:
        return np.asarray(rest[0])
    return None


def _encode_chunk(xb, *rest, fmt, opts, seed, shape, block_info=None):
    rnd = _chunk_bits(seed, block_info, shape, xb, rest)
    return np.asarray(element_encode(xb, fmt, random=rnd, **opts))


def _quantize_chunk(xb, *rest, fmt, opts, seed, shape, block_info=None):
    rnd = _chunk_bits(seed, block_info, shape, xb, rest)
    return np.asarray(element_quantize(xb, fmt, random=rnd, **opts))


def _probe(x, fn, fmt, opts, seed, bits):
    """Run `fn` on one zero of x's dtype: validates every option now and gives the result dtype."""
    z = np.zeros((1,) * max(x.ndim, 1), x.dtype)
    rnd = None if seed is None and bits is None else np.zeros(z.shape, np.uint32)
    return np.asarray(fn(z, fmt, random=rnd, **opts)).dtype


def encode(x, fmt, *, rounding: str = "nearest_even", saturation: str = "none", nan: str = "raise",
           random=None, rbits: int | None = None, compat: str | None = None, axis: int = -1,
           rechunk: bool = False, **block_options):
    """Lazy [`numfmt.encode`][numfmt.encode] of a dask array.

    Block formats give a [`DaskBlockArray`][numfmt.daskarray.DaskBlockArray].

    Parameters
    ----------
    x : dask.array.Array or array_like
    fmt, rounding, saturation, nan, rbits, compat :
        As in [`numfmt.encode`][numfmt.encode].
    random : int, numpy.random.Generator or array, optional
        A seed or Generator gives the same codes as the numpy path on the whole
        array, for every chunking. An array (numpy or dask) of bits is
        broadcast to `x` and chunked like it.
    axis, rechunk, **block_options :
        Block formats only: the blocked axis, whether to rechunk it to multiples
        of the block size, and `numfmt.block.encode` options.

    Examples
    --------
    >>> import dask.array as da, numfmt.daskarray as nda
    >>> c = nda.encode(da.arange(6, chunks=4) * 0.5, "e2m1")
    >>> c.compute().tolist()
    [0, 1, 2, 3, 4, 4]
    """
    x = _as_dask(x)
    if is_block_format(fmt):
        check_block_keywords(saturation=saturation, nan=nan, compat=compat)
        return _block_encode(x, fmt, axis, rechunk, rounding, random, rbits, block_options)
    if block_options or axis != -1 or rechunk:
        raise TypeError("axis=, rechunk= and block options only apply to block formats")
    seed, bits, upd = _random_args(x, random, rbits, rounding)
    opts = dict(rounding=rounding, saturation=saturation, nan=nan, compat=compat, rbits=rbits)
    opts.update(upd)
    dt = _probe(x, element_encode, fmt, opts, seed, bits)
    args = (x,) if bits is None else (x, bits)
    return _da().map_blocks(_encode_chunk, *args, dtype=dt, meta=np.empty((0,) * x.ndim, dt),
                            fmt=get_format(fmt), opts=opts, seed=seed, shape=x.shape)


def quantize(x, fmt, *, rounding: str = "nearest_even", saturation: str = "none", nan: str = "raise",
             random=None, rbits: int | None = None, compat: str | None = None, dtype=None, axis: int = -1,
             rechunk: bool = False, **block_options):
    """Lazy [`numfmt.quantize`][numfmt.quantize] of a dask array (the options of `encode`, and `dtype`).

    Examples
    --------
    >>> import dask.array as da, numfmt.daskarray as nda
    >>> nda.quantize(da.from_array([0.3, 1000.0], chunks=1), "e4m3", saturation="finite").compute().tolist()
    [0.3125, 448.0]
    """
    x = _as_dask(x)
    if is_block_format(fmt):
        check_block_keywords(saturation=saturation, nan=nan, compat=compat)
        dt = dtype if dtype is not None else np.float64 if x.dtype == np.float64 else np.float32
        return decode(_block_encode(x, fmt, axis, rechunk, rounding, random, rbits, block_options), dtype=dt)
    if block_options or axis != -1 or rechunk:
        raise TypeError("axis=, rechunk= and block options only apply to block formats")
    seed, bits, upd = _random_args(x, random, rbits, rounding)
    opts = dict(rounding=rounding, saturation=saturation, nan=nan, compat=compat, rbits=rbits, dtype=dtype)
    opts.update(upd)
    dt = _probe(x, element_quantize, fmt, opts, seed, bits)
    args = (x,) if bits is None else (x, bits)
    return _da().map_blocks(_quantize_chunk, *args, dtype=dt, meta=np.empty((0,) * x.ndim, dt),
                            fmt=get_format(fmt), opts=opts, seed=seed, shape=x.shape)


def elementwise(verb, n: int, args: tuple, options: dict):
    """Lazy `verb(*args, **options)` (an arithmetic verb of numfmt whose first `n` arguments are
    its operands) when an operand is a dask array; chunks of the broadcast operands are computed
    independently. Stochastic rounding needs the whole array (its random bits): pass `x.compute()`.

    Examples
    --------
    >>> import dask.array as da, numfmt
    >>> numfmt.add(da.from_array([1.0, 448.0], chunks=1), 2.0**-5, "e4m3").compute().tolist()
    [1.0, 448.0]
    """
    bound = inspect.signature(verb).bind(*args, **options).arguments
    names = list(bound)[:n]
    if bound.get("out") is not None or bound.get("random") is not None:
        raise TypeError(f"{verb.__name__} of dask arrays returns a lazy dask array: out= and random= do not apply "
                        "(compute the operands first for them)")
    rest = {k: v for k, v in bound.items() if k not in names}
    da = _da()
    ops = da.broadcast_arrays(*(_as_dask(bound[k], k) for k in names))
    probe = np.asarray(verb(*(np.ones((1,) * x.ndim, x.dtype) for x in ops), **rest))

    def chunk(*blocks):
        return np.asarray(verb(*blocks, **rest))

    return da.map_blocks(chunk, *ops, dtype=probe.dtype, meta=np.empty((0,) * ops[0].ndim, probe.dtype))


def _decode_chunk(cb, *, fmt, out_dtype):
    return np.asarray(element_decode(cb, fmt, dtype=out_dtype))


def decode(codes, fmt=None, *, dtype=None):
    """Lazy [`numfmt.decode`][numfmt.decode] of dask codes.

    A [`DaskBlockArray`][numfmt.daskarray.DaskBlockArray] decodes without `fmt`.

    Examples
    --------
    >>> import dask.array as da, numfmt.daskarray as nda
    >>> nda.decode(da.from_array([0x7E, 0x01], chunks=1), "e4m3").compute().tolist()
    [448.0, 0.001953125]
    """
    if isinstance(codes, DaskBlockArray):
        if fmt is not None:
            raise TypeError("decode of a DaskBlockArray takes no fmt (it carries its format)")
        return codes._decode(np.float32 if dtype is None else dtype)
    if fmt is None:
        raise TypeError("decode needs fmt for a code array")
    codes = _as_dask(codes, "codes")
    if codes.dtype.kind not in "iu":
        raise TypeError(f"codes must have an integer dtype, got {codes.dtype}")
    f = get_format(fmt)
    dt = decode_dtype(f, dtype)
    return codes.map_blocks(_decode_chunk, dtype=dt, meta=np.empty((0,) * codes.ndim, dt), fmt=f, out_dtype=dt)


# =========================================================================== block formats


class DaskBlockArray:
    """Lazy block-format codes: dask `codes` and `scales` (chunked alike along the other axes).

    `compute()` returns a `numfmt.block.BlockArray`; [`decode`][numfmt.decode]
    gives lazy values.

    Attributes
    ----------
    codes, scales : dask.array.Array
    tensor_scale : dask.array.Array or None
        0-d float32 (two-level formats).
    format : numfmt.block.BlockFormat
    axis : int
    """

    def __init__(self, codes, scales, fmt, axis, tensor_scale, scale_rule, recipe):
        self.codes, self.scales, self.format, self.axis = codes, scales, fmt, axis
        self.tensor_scale, self.scale_rule, self.recipe = tensor_scale, scale_rule, recipe

    @property
    def shape(self) -> tuple:
        return self.codes.shape

    def compute(self, **kwargs):
        """The `numfmt.block.BlockArray` (one `dask.compute` of codes, scales and tensor scale)."""
        import dask

        parts = [self.codes, self.scales] + ([self.tensor_scale] if self.tensor_scale is not None else [])
        got = dask.compute(*parts, **kwargs)
        ts = got[2] if self.tensor_scale is not None else None
        return _block_array(got[0], got[1], self.format, self.axis, ts, self.scale_rule, self.recipe)

    def _decode(self, dtype):
        dt = block_decode_dtype(self.format, dtype)
        args = [self.codes, self.scales] + ([self.tensor_scale] if self.tensor_scale is not None else [])
        return _da().map_blocks(_block_decode_chunk, *args, dtype=dt, meta=np.empty((0,) * self.codes.ndim, dt),
                                fmt=self.format, axis=self.axis, dt=dt, scale_rule=self.scale_rule,
                                recipe=self.recipe)

    def __repr__(self) -> str:
        return (f"DaskBlockArray(format={self.format.name!r}, shape={self.shape}, axis={self.axis}, "
                f"chunks={self.codes.chunks})")


def _block_array(codes, scales, fmt, axis, ts, scale_rule, recipe):
    """The BlockArray of encoded parts. A NaN tensor scale (what encode gives a tensor holding a NaN
    under the amax recipes) is set after the constructor's checks, which refuse it from a caller."""
    nan_ts = ts is not None and bool(np.isnan(ts))
    ba = BlockArray(codes, scales, fmt, axis=axis, tensor_scale=None if nan_ts else ts, scale_rule=scale_rule,
                    recipe=recipe)
    if nan_ts:
        ba.tensor_scale = np.float32(np.nan)
    return ba


def _block_decode_chunk(cb, sb, *ts, fmt, axis, dt, scale_rule, recipe):
    t = np.float32(ts[0]) if ts else None
    return block_decode(_block_array(cb, sb, fmt, axis, t, scale_rule, recipe), dtype=dt)


def _block_chunk(xb, *rest, fmt, axis, opts, seed, shape, has_bits, has_amax, block_info=None):
    rest = list(rest)
    bits = rest.pop(0) if has_bits else None
    amax = rest.pop(0) if has_amax else None
    rnd = _chunk_bits(seed, block_info, shape, xb, [bits] if has_bits else [])
    o = dict(opts)
    if amax is not None:
        o["tensor_amax"] = float(np.asarray(amax))
    return block_encode(xb, fmt, axis=axis, random=rnd, **o)


def _amax_chunk(b, axis, keepdims, ignore_nan):
    a = np.abs(np.asarray(b).astype(np.float32))
    red = np.fmax if ignore_nan else np.maximum
    return red.reduce(a, axis=axis, keepdims=keepdims, initial=np.float32(0))


def _amax_agg(b, axis, keepdims, ignore_nan):
    red = np.fmax if ignore_nan else np.maximum
    return red.reduce(np.asarray(b, np.float32), axis=axis, keepdims=keepdims, initial=np.float32(0))


def _ts_of(amax, fmt, opts):
    o = dict(opts, rounding="nearest_even", rbits=None)  # the tensor scale does not depend on rounding
    ba = block_encode(np.zeros((1, 1), np.float32), fmt, tensor_amax=float(amax), **o)
    return np.float32(ba.tensor_scale)


def _block_rechunk_sizes(chunks, bs, n):
    target = max(bs, (max(chunks) // bs) * bs)
    sizes = [target] * (n // target)
    if n % target:
        sizes.append(n % target)
    return tuple(sizes) or (0,)


def _block_encode(x, fmt, axis, rechunk, rounding, random, rbits, options):
    import dask

    da = _da()
    f = get_block_format(fmt)
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension for a block format")
    ax = norm_axis(axis, x.ndim)
    bs = f.block_size
    if any(c % bs for c in x.chunks[ax][:-1]):
        if not rechunk:
            sizes = _block_rechunk_sizes(x.chunks[ax], bs, x.shape[ax])
            raise ValueError(
                f"chunks along axis {ax} are {x.chunks[ax]}; block format {f.name} needs every chunk but the last "
                f"to be a multiple of block_size={bs}: pass rechunk=True or x.rechunk({{{ax}: {sizes[0]}}})")
        x = x.rechunk({ax: _block_rechunk_sizes(x.chunks[ax], bs, x.shape[ax])})
    if options.get("tensor_scale") not in (None, False) and not isinstance(options.get("tensor_scale"), float):
        raise TypeError(f"tensor_scale must be None, False or a float, got {options['tensor_scale']!r}")
    seed, bits, upd = _random_args(x, random, rbits, rounding)
    opts = dict(options, rounding=rounding, rbits=rbits)
    opts.update(upd)
    # validate now on one block of zeros
    z = np.ones((1,) * (x.ndim - 1) + (bs,), np.float32)
    z = np.moveaxis(z, -1, ax)
    probe = block_encode(z, f, axis=ax, random=None if seed is None and bits is None else
                          np.zeros(z.shape, np.uint32), **opts)
    rule, recipe = probe.scale_rule, probe.recipe
    two_level = (rule == "amax" and options.get("tensor_scale") is None and f.tensor_scale
                 and options.get("tensor_amax") is None)
    args = [x]
    if bits is not None:
        args.append(bits)
    amax = None
    if two_level:
        ignore_nan = recipe == "te"
        amax = da.reduction(x, functools.partial(_amax_chunk, ignore_nan=ignore_nan),
                            functools.partial(_amax_agg, ignore_nan=ignore_nan), axis=None, dtype=np.float32,
                            concatenate=True)
        args.append(amax)
    nd = x.ndim
    inter = da.map_blocks(_block_chunk, *args, dtype=object, meta=np.empty((0,) * nd, object), fmt=f, axis=ax,
                          opts=opts, seed=seed, shape=x.shape, has_bits=bits is not None, has_amax=two_level)
    codes = inter.map_blocks(_get_codes, dtype=f.element.code_dtype, meta=np.empty((0,) * nd, f.element.code_dtype))
    schunks = list(x.chunks)
    schunks[ax] = tuple(-(-c // bs) for c in x.chunks[ax])
    scales = inter.map_blocks(_get_scales, dtype=f.scale.code_dtype, chunks=tuple(schunks),
                              meta=np.empty((0,) * nd, f.scale.code_dtype))
    ts = None
    if two_level:
        ts = da.from_delayed(dask.delayed(_ts_of)(amax, f, opts), shape=(), dtype=np.float32)
    elif probe.tensor_scale is not None:
        ts = da.from_array(np.float32(probe.tensor_scale))
    return DaskBlockArray(codes, scales, f, ax, ts, rule, recipe)


def _get_codes(ba):
    return ba.codes


def _get_scales(ba):
    return ba.scales


LAZY_VERBS.update(encode=encode, decode=decode, quantize=quantize, elementwise=elementwise)
