"""Scaled quantization as data: `scaled_quantize` / `scaled_encode` (one scale per tensor, channel,
block or tile, chosen by a named rule) and `error_stats` (the error of a quantization).

The definitions, in the work dtype w of `x` (float32 for inputs of 32 bits or fewer, else float64;
each operation rounded to w):

* groups: `granularity="tensor"` one group; `"channel"` one per vector along `axis`;
  `("block", n)` runs of n consecutive elements along `axis` (the last one shorter);
  `("tile", (r, c))` r x c tiles, c along `axis` and r along the last of the other axes (x has
  >= 2 dimensions; for a matrix and axis=-1, r rows by c columns).
* amax = max |x| over the group; M = the element format's largest finite value.
* `scale_rule="amax"`: s = amax / M, rounded to nearest-even into `scale_format` when one is given
  (saturating); elements e = Q(x / s).
* `"floor"`, `"ceil"`, `"even"`, `"rceil"`: s = 2**k with the exponent rule of the block formats
  (`numfmt.block.scale_exponents`), clamped to the scale format's powers of two (or w's);
  elements e = Q(x * 2**-k) (exact).
* `"mse"`: the candidate s_j = amax / M * (1 - j/64), j = 0..31 (each rounded into `scale_format`)
  with the smallest sum of squared errors (float64) over the group; ties: the larger scale.
* `"4over6"`: two candidates, s6 = amax / M (the block maximum maps to M) and s4 = 1.5 * s6 (it
  maps to 2M/3: 4 for FP4), each rounded into `scale_format`; s4 when its sum of squared errors is
  smaller.
* `tensor_scale=True` (rule `amax` with a scale format): a second-level float32 scale, computed in
  TransformerEngine's float32 order of operations (`numfmt.training.nvfp4_quantize` documents it).

Q is `numfmt.encode` into the element format with `rounding`, `saturation="finite"`; a group
whose scale is 0 (an all-zero group, or a scale below the scale format's smallest value) holds
zeros. Values are `decode(e) * s` in w.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .block.elements import random_array
from .block.formats import BlockFormat, pow2_range
from .block.inputs import as_float
from .block.scales import scale_exponents
from .block.values import all_values
from .choices import check_choice
from .codec import decode as _decode
from .codec import encode as _encode
from .engine import check_out
from .formats import FloatFormat
from .interop import as_numpy, real_array
from .policy import parse_rounding
from .presets import get_format

__all__ = ["ScaledValues", "ScaledCodes", "ErrorStats", "scaled_quantize", "scaled_encode", "error_stats",
           "SCALED_RULES", "GRANULARITIES", "MSE_RATIOS", "te_tensor_scale", "te_block_scales"]

SCALED_RULES = ("amax", "floor", "ceil", "even", "rceil", "mse", "4over6")
GRANULARITIES = ("tensor", "channel", "block", "tile")
#: the candidate ratios of `scale_rule="mse"`: amax / M times 1, 63/64, ... 33/64
MSE_RATIOS = tuple(1 - j / 64 for j in range(32))
_F32_MAX = np.float32(np.finfo(np.float32).max)


class ScaledValues(NamedTuple):
    """`scaled_quantize`'s result: the quantized values (x's shape) and the decode scale of each
    group (x's number of dimensions; each scaled axis has one entry per group along it)."""

    values: np.ndarray
    scales: np.ndarray


class ScaledCodes(NamedTuple):
    """`scaled_encode`'s result: element codes (x's shape); the scales as codes of `scale_format`
    (or as float values when there is none), shaped as in `ScaledValues`; the float32 second-level
    tensor scale (or None)."""

    codes: np.ndarray
    scales: np.ndarray
    tensor_scale: np.float32 | None


@dataclass(frozen=True)
class ErrorStats:
    """The error of a quantization q of x (float64 statistics over all elements).

    Attributes
    ----------
    rel_rms : float
        sqrt(sum (q - x)**2 / sum x**2) (0 when q == x; inf when x is all zero and q is not).
    sqnr_db : float
        10 log10(sum x**2 / sum (q - x)**2) (inf when q == x).
    mean_bias : float
        mean(q - x).
    max_abs_error : float
        max |q - x|.
    frac_saturated : float or None
        Fraction of elements with |x| > M * scale (M: `fmt`'s largest finite value); None without `fmt`.
    frac_flushed : float
        Fraction of elements with x != 0 and q == 0.
    n : int
        Number of elements.
    """

    rel_rms: float
    sqnr_db: float
    mean_bias: float
    max_abs_error: float
    frac_saturated: float | None
    frac_flushed: float
    n: int


def _granularity(granularity, ndim: int):
    """(kind, tile rows, tile cols or None for the whole axis)."""
    if isinstance(granularity, str):
        g = check_choice("granularity", granularity, ("tensor", "channel"))
        return g, 1, None
    if not isinstance(granularity, tuple) or len(granularity) != 2 or not isinstance(granularity[0], str):
        raise TypeError("granularity must be 'tensor', 'channel', ('block', n) or ('tile', (r, c)), "
                        f"got {granularity!r}")
    kind = check_choice("granularity", granularity[0], ("block", "tile"))
    arg = granularity[1]
    if kind == "block":
        if isinstance(arg, bool) or not isinstance(arg, (int, np.integer)):
            raise TypeError(f"granularity ('block', n) needs an int n, got {arg!r}")
        if arg < 1:
            raise ValueError(f"granularity ('block', n) needs n >= 1, got {arg}")
        return "block", 1, int(arg)
    if (not isinstance(arg, tuple) or len(arg) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in arg)):
        raise TypeError(f"granularity ('tile', (r, c)) needs two ints, got {arg!r}")
    if min(arg) < 1:
        raise ValueError(f"granularity ('tile', (r, c)) needs r, c >= 1, got {arg}")
    if ndim < 2:
        raise ValueError("granularity ('tile', (r, c)) needs x with at least 2 dimensions")
    return "tile", int(arg[0]), int(arg[1])


class _Layout:
    """x (moved so that `axis` is last) seen as groups: (G, K) zero-padded, and back."""

    def __init__(self, shape, kind, r, c, ax):
        self.shape, self.ax, self.kind = shape, ax, kind
        nd = len(shape)
        moved = tuple(np.delete(np.array(shape), ax)) + (shape[ax],) if nd else ()
        self.moved = tuple(int(v) for v in moved)
        if kind == "tensor":
            size = int(np.prod(shape, dtype=np.int64))
            self.p, self.m, self.n, self.r, self.c = 1, 1, size, 1, max(size, 1)
        else:
            n = self.moved[-1]
            m = self.moved[-2] if kind == "tile" else 1
            lead = self.moved[:-2] if kind == "tile" else self.moved[:-1]
            self.p, self.m, self.n = int(np.prod(lead, dtype=np.int64)), m, n
            self.r, self.c = r, (c if c is not None else max(n, 1))
        self.mt, self.nt = -(-self.m // self.r), -(-self.n // self.c)
        if kind == "tensor":
            self.nt = 1  # one scale, also for an empty x

    def groups(self, a: np.ndarray) -> np.ndarray:
        """(G, r * c) zero-padded groups of `a` (x's shape)."""
        b = np.moveaxis(a, self.ax, -1).reshape(self.p, self.m, self.n)
        pad = np.zeros((self.p, self.mt * self.r, self.nt * self.c), a.dtype)
        pad[:, : self.m, : self.n] = b
        g = pad.reshape(self.p, self.mt, self.r, self.nt, self.c).transpose(0, 1, 3, 2, 4)
        return g.reshape(self.p * self.mt * self.nt, self.r * self.c)

    def expand(self, s: np.ndarray) -> np.ndarray:
        """Per-group values (G,) as an array of x's shape."""
        s3 = s.reshape(self.p, self.mt, self.nt)
        e = np.repeat(np.repeat(s3, self.r, axis=1), self.c, axis=2)[:, : self.m, : self.n]
        return np.moveaxis(e.reshape(self.moved), -1, self.ax)

    def compact(self, s: np.ndarray) -> np.ndarray:
        """Per-group values (G,) shaped like x with each scaled axis reduced to its group count."""
        nd = len(self.shape)
        if self.kind == "tensor":
            return s.reshape((1,) * nd)
        if self.kind == "tile":
            shp = self.moved[:-2] + (self.mt, self.nt)
        else:
            shp = self.moved[:-1] + (self.nt,)
        return np.moveaxis(s.reshape(shp), -1, self.ax)


def _work(x):
    xa = as_float(as_numpy(x))
    w = np.float64 if xa.dtype == np.float64 else np.float32
    return xa.astype(w, copy=False), np.dtype(w)


def _scale_round(s, sf, w):
    """s rounded to nearest-even into the scale format (saturating); w values."""
    if sf is None:
        return s
    if not sf.has_zero:
        vals = all_values(sf)
        lo = float(vals[vals > 0].min())  # (E8M0: its smallest value stands for a zero scale)
        s = np.where(s == 0, w.type(lo), s)
    c = np.asarray(_encode(s, sf, saturation="finite", nan="max"))
    return np.asarray(_decode(c, sf, dtype=np.float64)).astype(w)


def _elements(x, s_el, ef, rounding, rbits_arr, nbits):
    """Codes of Q(x / s) (s == 0: the zeros of x * 0)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        v = np.where(s_el == 0, x * 0, x / np.where(s_el == 0, 1, s_el)).astype(x.dtype)
    return _enc_elems(v, ef, rounding, rbits_arr, nbits)


def _enc_elems(v, ef, rounding, rbits_arr, nbits):
    kw = {} if rbits_arr is None else {"random": rbits_arr, "rbits": nbits}
    return np.asarray(_encode(v, ef, rounding=rounding, saturation="finite", nan="max", **kw))


def _values(codes, ef, s_el, w):
    with np.errstate(over="ignore", invalid="ignore"):
        return (np.asarray(_decode(codes, ef, dtype=np.float64)).astype(w) * s_el).astype(w)


def _sse(x, codes, ef, s_el, w, lay):
    q = _values(codes, ef, s_el, w)
    d = q.astype(np.float64) - x.astype(np.float64)
    return lay.groups(d * d).sum(axis=1)


def te_tensor_scale(g, smax, emax):
    """TransformerEngine's float32 tensor scales of amax `g` (a float32 scalar or array):
    S_enc = min(fl(fl(smax * emax) / g), FLT_MAX), 1 where that is 0 (g = inf); S_dec = fl(1 / S_enc).
    Returns (S_enc, S_dec)."""
    g = np.asarray(g, np.float32)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        s_enc = np.minimum((np.float32(np.float32(smax) * np.float32(emax)) / g).astype(np.float32), _F32_MAX)
        s_enc = np.where(s_enc == 0, np.float32(1), s_enc).astype(np.float32)
        s_dec = (np.float32(1) / s_enc).astype(np.float32)
    return s_enc, s_dec


def te_block_scales(vmax, s_enc, s_dec, emax, sf, clamp=448.0):
    """TransformerEngine's block scales (reference quantizer, default path), float32 ops:
    mult = fl(S_enc * fl(1 / emax)); d = min(fl(vmax * mult), FLT_MAX) clamped to +-clamp, rounded
    to nearest-even into `sf`; encode scale = min(fl(1 / fl(d * S_dec)), FLT_MAX).
    Returns (scale codes, scale values float32, encode scales float32)."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        mult = (np.asarray(s_enc, np.float32) * (np.float32(1) / np.float32(emax))).astype(np.float32)
        d = np.minimum((np.asarray(vmax, np.float32) * mult).astype(np.float32), _F32_MAX)
        d = np.clip(d, -np.float32(clamp), np.float32(clamp)).astype(np.float32)
    return _te_scale_code(d, s_dec, sf)


def _te_scale_code(d, s_dec, sf):
    codes = np.asarray(_encode(d, sf, saturation="finite"))
    sv = np.asarray(_decode(codes, sf, dtype=np.float32), np.float32)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        enc = np.minimum((np.float32(1) / (sv * np.asarray(s_dec, np.float32)).astype(np.float32)).astype(np.float32),
                         _F32_MAX)
    return codes, sv, enc.astype(np.float32)


def _check(fmt, scale_format, scale_rule, tensor_scale):
    ef = get_format(fmt)
    sf = None if scale_format is None else get_format(scale_format)
    rule = check_choice("scale_rule", scale_rule, SCALED_RULES)
    if sf is not None and (not isinstance(sf, FloatFormat) or sf.bits > 16):
        raise ValueError(f"scale_format must be a float format of at most 16 bits, got {sf.name}")
    if not isinstance(tensor_scale, bool):
        raise TypeError(f"tensor_scale must be a bool, got {tensor_scale!r}")
    if tensor_scale and (rule != "amax" or sf is None):
        raise ValueError("tensor_scale=True needs scale_rule='amax' and a scale_format (two-level scaling)")
    if rule in ("floor", "ceil", "even", "rceil") and sf is not None:
        lo, hi = pow2_range(sf)
        if not lo <= 0 <= hi:
            raise ValueError(f"scale_format {sf.name} cannot hold the power-of-two scales of {rule!r}")
    return ef, sf, rule


def _run(x, fmt, granularity, axis, scale_format, scale_rule, tensor_scale, rounding, random, rbits):
    """(x work array, w, layout, element format, codes, per-element scales, per-group scales,
    scale codes or None, tensor scale or None)."""
    ef, sf, rule = _check(fmt, scale_format, scale_rule, tensor_scale)
    x, w = _work(x)
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension")
    if not np.isfinite(x).all():
        raise ValueError("x must be finite (scaled quantization takes its scales from max |x|)")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int, got {axis!r}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis={axis} is out of range for x with {x.ndim} dimension(s)")
    ax = int(axis) % x.ndim
    kind, r, c = _granularity(granularity, x.ndim)
    lay = _Layout(x.shape, kind, r, c, ax)
    _, mode = parse_rounding(rounding)
    rkind, rarr, nbits = random_array(random, rbits, mode, x.shape, x.ndim - 1)
    bits = rarr.reshape(x.shape) if rkind else None
    grp = lay.groups(np.abs(x))
    amax = grp.max(axis=1) if grp.size else np.zeros(grp.shape[0], w)
    emax = w.type(ef.max)
    ts = None
    scodes = None
    if tensor_scale:
        if w != np.float32:
            raise ValueError("tensor_scale=True computes in float32: pass float32 (or narrower) input")
        g = np.float32(amax.max()) if amax.size else np.float32(0)
        s_enc, s_dec = te_tensor_scale(g, sf.max, ef.max)
        scodes, sv, enc = te_block_scales(amax, s_enc, s_dec, ef.max, sf, clamp=sf.max)
        with np.errstate(over="ignore", invalid="ignore"):
            v = np.clip((x * lay.expand(enc)).astype(np.float32), -emax, emax)
        codes = _enc_elems(v, ef, rounding, bits, nbits)
        ts = np.float32(s_dec)
        s = (sv * ts).astype(np.float32)
        return x, w, lay, ef, codes, lay.expand(s), s, scodes, ts
    if rule in ("floor", "ceil", "even", "rceil"):
        if rule == "rceil" and w != np.float32:
            raise ValueError("scale_rule='rceil' computes in float32: pass float32 (or narrower) input")
        bf = BlockFormat(name="scaled", element=ef, scale="e8m0", block_size=1)
        e, _ = scale_exponents(amax, bf, scale_rule=rule, input_dtype=w)
        lo, hi = pow2_range(sf) if sf is not None else (-149, 127) if w == np.float32 else (-1074, 1023)
        e = np.clip(e, lo, hi)
        e_el = lay.expand(e)
        v = np.ldexp(x.astype(np.float64), -e_el)
        codes = _enc_elems(v, ef, rounding, bits, nbits)
        s = np.ldexp(np.ones(e.shape, w), e).astype(w)
        if sf is not None:
            scodes = np.asarray(_encode(s, sf))
        return x, w, lay, ef, codes, lay.expand(s), s, scodes, None
    with np.errstate(over="ignore", under="ignore"):
        base = (amax / emax).astype(w)
    if rule == "amax":
        cands = [base]
    elif rule == "mse":
        cands = [(base * w.type(q)).astype(w) for q in MSE_RATIOS]
    else:  # 4over6
        cands = [base, (base * w.type(1.5)).astype(w)]
    best_s = best_codes = best_err = None
    for cand in cands:
        s = _scale_round(cand, sf, w)
        s_el = lay.expand(s)
        codes = _elements(x, s_el, ef, rounding, bits, nbits)
        if len(cands) == 1:
            best_s, best_codes = s, codes
            break
        err = _sse(x, codes, ef, s_el, w, lay)
        if best_s is None:
            best_s, best_codes, best_err = s, codes, err
            continue
        better = err < best_err
        best_s = np.where(better, s, best_s)
        best_err = np.where(better, err, best_err)
        best_codes = np.where(lay.expand(better), codes, best_codes)
    if sf is not None:
        scodes = np.asarray(_encode(best_s, sf, saturation="finite", nan="max"))
    return x, w, lay, ef, best_codes, lay.expand(best_s), best_s, scodes, None


_OPTIONS_DOC = """
    Parameters
    ----------
    x : array_like of float
        float16/bfloat16/float32 (computed in float32) or float64 input (a torch tensor too); finite.
    fmt : str or format
        Element format (`"e4m3"`, `"e2m1"`, `"int8_symmetric"`, `"int6"` ...).
    granularity : "tensor", "channel", ("block", n) or ("tile", (r, c))
        One scale per tensor, per vector along `axis`, per n consecutive elements along `axis`, or
        per r x c tile (c along `axis`, r along the last other axis).
    axis : int
        The axis along which channels and blocks run (the tile's column axis).
    scale_format : str or format, optional
        Format the scales are rounded into (`"e4m3"`, `"e8m0"` ...); None: scales stay in the work
        dtype.
    scale_rule : str
        `amax`, `floor`, `ceil`, `even`, `rceil` (power-of-two scales, the rules of the block
        formats), `mse` or `4over6` (see `numfmt.scaling`).
    tensor_scale : bool
        Two-level scaling (rule `amax` with a scale format): a float32 tensor scale as
        TransformerEngine's NVFP4 computes it.
    rounding, random, rbits :
        Element rounding, as in [`numfmt.encode`][numfmt.encode] (random bits per element of x).
"""


def scaled_encode(x, fmt, *, granularity="tensor", axis: int = -1, scale_format=None, scale_rule: str = "amax",
                  tensor_scale: bool = False, rounding: str = "nearest_even", random=None, rbits=None,
                  out=None) -> ScaledCodes:
    """Element codes and scales of `x` quantized with one scale per group.
    {options}
    out : ndarray, optional
        Destination of the element codes (x's shape, the format's code dtype).

    Returns
    -------
    ScaledCodes
        (codes, scales, tensor_scale): the scales are codes of `scale_format` when one is given,
        else the decode scales in the work dtype.

    Examples
    --------
    >>> import numpy as np, numfmt
    >>> x = np.float32([[0.5, -3.0, 12.0, 1.0], [0.1, 0.2, -0.4, 0.05]])
    >>> r = numfmt.scaled_encode(x, "e2m1", granularity="channel", scale_format="e8m0", scale_rule="floor")
    >>> r.codes.tolist(), r.scales.tolist()
    ([[0, 11, 7, 1], [3, 5, 15, 2]], [[128], [123]])
    """
    x, _, lay, ef, codes, _, s, scodes, ts = _run(x, fmt, granularity, axis, scale_format, scale_rule,
                                                  tensor_scale, rounding, random, rbits)
    codes = codes.astype(ef.code_dtype)
    check_out(out, x.shape, ef.code_dtype)
    if out is not None:
        out[...] = codes
        codes = out
    scales = lay.compact(scodes if scodes is not None else s)
    return ScaledCodes(codes, scales, ts)


def scaled_quantize(x, fmt, *, granularity="tensor", axis: int = -1, scale_format=None, scale_rule: str = "amax",
                    tensor_scale: bool = False, rounding: str = "nearest_even", random=None, rbits=None,
                    out=None) -> ScaledValues:
    """`x` quantized with one scale per group: the values `decode(e) * s` and the scales s.
    {options}
    out : ndarray, optional
        Destination of the values (x's shape, the work dtype).

    Returns
    -------
    ScaledValues
        (values, scales): values in the work dtype; the decode scale of each group (with
        `tensor_scale=True`, fl(block scale x tensor scale)).

    Examples
    --------
    >>> import numpy as np, numfmt
    >>> w = np.float32([[0.5, -3.0, 12.0, 1.0], [0.1, 0.2, -0.4, 0.05]])
    >>> q, s = numfmt.scaled_quantize(w, "int4_symmetric", granularity="channel")
    >>> q.tolist()[0], s.ravel().tolist()
    ([0.0, -3.4285714626312256, 12.0, 1.7142857313156128], [1.7142857313156128, 0.05714285746216774])
    """
    x, w, lay, ef, codes, s_el, s, _, _ = _run(x, fmt, granularity, axis, scale_format, scale_rule, tensor_scale,
                                               rounding, random, rbits)
    vals = _values(codes, ef, s_el, w)
    check_out(out, x.shape, w)
    if out is not None:
        out[...] = vals
        vals = out
    return ScaledValues(vals, lay.compact(s))


scaled_encode.__doc__ = scaled_encode.__doc__.replace("{options}", _OPTIONS_DOC)
scaled_quantize.__doc__ = scaled_quantize.__doc__.replace("{options}", _OPTIONS_DOC)


def error_stats(x, q, *, fmt=None, scale=None) -> ErrorStats:
    """Error statistics of `q` (a quantization of `x`), in float64.

    Parameters
    ----------
    x, q : array_like
        The original and the quantized values (same shape; torch tensors too); finite.
    fmt : str or format, optional
        The element format: with it, `frac_saturated` counts |x| > max(fmt) * scale.
    scale : array_like, optional
        Scale per element (broadcast to x); 1 when None.

    Returns
    -------
    ErrorStats

    Examples
    --------
    >>> import numpy as np, numfmt
    >>> x = np.float32([0.3, -1.2, 500.0, 1e-4])
    >>> st = numfmt.error_stats(x, numfmt.quantize(x, "e4m3", saturation="finite"), fmt="e4m3")
    >>> round(st.sqnr_db, 2), st.max_abs_error, st.frac_saturated, st.frac_flushed
    (19.66, 52.0, 0.25, 0.25)
    """
    xa = np.asarray(as_numpy(x), dtype=np.float64)
    qa = np.asarray(as_numpy(q), dtype=np.float64)
    if xa.shape != qa.shape:
        raise ValueError(f"x and q must have the same shape, got {xa.shape} and {qa.shape}")
    if not (np.isfinite(xa).all() and np.isfinite(qa).all()):
        raise ValueError("x and q must be finite")
    n = int(xa.size)
    d = qa - xa
    se = float(np.sum(d * d))
    sx = float(np.sum(xa * xa))
    if se == 0:
        rel, sqnr = 0.0, math.inf
    else:
        rel = math.sqrt(se / sx) if sx > 0 else math.inf
        sqnr = 10 * math.log10(sx / se) if sx > 0 else -math.inf
    sat = None
    sc = None
    if scale is not None:
        sc = real_array(scale, "scale")
        try:
            sc = np.broadcast_to(sc, xa.shape)
        except ValueError:
            raise ValueError(f"scale of shape {sc.shape} does not broadcast to x's shape {xa.shape}") from None
    if fmt is not None:
        top = get_format(fmt).max * (1.0 if sc is None else sc)
        sat = float(np.mean(np.abs(xa) > top)) if n else 0.0
    return ErrorStats(
        rel_rms=rel, sqnr_db=sqnr,
        mean_bias=float(np.mean(d)) if n else 0.0,
        max_abs_error=float(np.max(np.abs(d))) if n else 0.0,
        frac_saturated=sat,
        frac_flushed=float(np.mean((xa != 0) & (qa == 0))) if n else 0.0,
        n=n,
    )
