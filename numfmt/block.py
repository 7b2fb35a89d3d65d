"""Block-scaled formats: OCP Microscaling (MX), NVIDIA NVFP4 and custom ones.

A block format is data (:class:`BlockFormat`): an element format, a scale
format, a block size and whether a second-level float32 tensor scale is used.
The verbs of the core codec accept block formats::

    ba = numfmt.encode(x, "mxfp4")            # -> BlockArray(.scales, .codes, ...)
    y  = numfmt.decode(ba)                    # float32 values
    y  = numfmt.quantize(x, "nvfp4", recipe="torchao")

Every scale rule and recipe is named after the implementation whose bits it
reproduces; ``docs/block-formats.md`` has the tables. In short:

* power-of-two scales (MX): ``scale_rule`` = ``floor`` (OCP, default),
  ``ceil``, ``even`` (torchao's definitions), ``rceil`` (NVIDIA/cuBLAS:
  amax * fp32(1/max) rounded *up* exactly to a power of two, PTX
  ``cvt.rp.satfinite.ue8m0x2.f32``) and ``rceil_torchao`` (torchao 0.18's CPU
  fallback: divide by max, ceil of a float32 log2). ``recipe="ocp"`` (default)
  scales elements exactly by the decoded scale; ``recipe="torchao"`` reproduces
  ``torchao.prototype.mx_formats.to_mx`` bit for bit, quirks included.
* amax scales (NVFP4): ``scale_rule="amax"`` with ``recipe`` = ``te``
  (TransformerEngine, default), ``torchao`` or ``modelopt``; each recipe's
  float32 operations are done in the same order with IEEE float32 arithmetic.

Elements are always encoded through the core rounding funnel (or its verified
float32 nearest-even kernel), with saturation to the finite range.
"""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass

import numpy as np

from .formats import FloatFormat, IntFormat
from .policy import parse_rounding, random_spec
from .presets import get_format

__all__ = [
    "BlockFormat", "BlockArray", "is_block_format", "get_block_format", "register_block_format",
    "list_block_formats", "encode", "decode", "quantize", "scale_exponents", "ptx_e2m1x4_rbits",
    "SCALE_RULES", "RECIPES", "NONFINITE", "bench_rows",
]

POW2_RULES = ("floor", "ceil", "even", "rceil", "rceil_torchao")
SCALE_RULES = (*POW2_RULES, "amax", "max_abs_finite")
POW2_RECIPES = ("ocp", "torchao")
AMAX_RECIPES = ("te", "torchao", "modelopt")
RECIPES = ("ocp", "torchao", "te", "modelopt", "p3109")


def _recipes_for(rule: str):
    if rule == "amax":
        return AMAX_RECIPES
    if rule == "max_abs_finite":
        return ("p3109",)
    return POW2_RECIPES


def _default_recipe(rule: str) -> str:
    return _recipes_for(rule)[0] if rule != "amax" else "te"
NONFINITE = ("amax", "nan", "finite")

_F32_MAX = np.float32(np.finfo(np.float32).max)


# =========================================================================== formats


@dataclass(frozen=True, kw_only=True)
class BlockFormat:
    """A block-scaled format: ``block_size`` elements share one scale.

    The value of element ``i`` of a block is ``element(code_i) * scale(s)``
    (times the tensor scale when there is one).

    Parameters
    ----------
    name : str
        Name used by the registry.
    element : str or FloatFormat or IntFormat
        Element format (``"e2m1"``, ``"e4m3"``, ``"mxint8_element"`` ...).
    scale : str or FloatFormat
        Scale format (``"e8m0"``, ``"ue4m3"``, ``"binary32"``, ``"binary8p1uf"`` ...).
    block_size : int
        Elements per block, >= 1 (32 for MX, 16 for NVFP4).
    scale_rule : str
        Default scale rule: a power-of-two rule (``"floor"`` ...) or ``"amax"``.
    recipe : str
        Default recipe (``"ocp"`` for power-of-two rules, ``"te"`` for amax).
    tensor_scale : bool
        Whether ``encode`` computes a second-level float32 tensor scale by
        default (NVFP4: True).

    Examples
    --------
    >>> import numfmt
    >>> from numfmt.block import BlockFormat
    >>> f = BlockFormat(name="mxfp8_e4m3_b64", element="e4m3", scale="e8m0", block_size=64)
    >>> f.block_size, f.element.name, f.scale.name
    (64, 'float8_e4m3fn', 'float8_e8m0fnu')
    >>> numfmt.block.get_block_format("mxfp4").element.max
    6.0
    """

    name: str
    element: object
    scale: object
    block_size: int
    scale_rule: str = "floor"
    recipe: str | None = None
    tensor_scale: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty str, got {self.name!r}")
        object.__setattr__(self, "element", get_format(self.element))
        object.__setattr__(self, "scale", get_format(self.scale))
        bs = self.block_size
        if isinstance(bs, bool) or not isinstance(bs, (int, np.integer)):
            raise TypeError(f"block_size must be an int, got {bs!r}")
        if bs < 1:
            raise ValueError(f"block_size must be >= 1, got {bs}")
        object.__setattr__(self, "block_size", int(bs))
        rule = _check_choice("scale_rule", self.scale_rule, SCALE_RULES)
        object.__setattr__(self, "scale_rule", rule)
        recipe = self.recipe
        if recipe is None:
            recipe = _default_recipe(rule)
        recipe = _check_choice("recipe", recipe, _recipes_for(rule))
        object.__setattr__(self, "recipe", recipe)
        if not isinstance(self.tensor_scale, bool):
            raise TypeError(f"tensor_scale must be a bool, got {self.tensor_scale!r}")
        _check_scale_capable(self.scale, rule)
        if isinstance(self.element, FloatFormat) and not self.element.signed:
            raise ValueError(f"element format {self.element.name} must be signed")

    @property
    def bits_per_element(self) -> float:
        """Storage bits per element, scale included (tensor scale excluded)."""
        return self.element.bits + self.scale.bits / self.block_size

    def __str__(self) -> str:
        return self.name


def _check_choice(kind: str, value, choices) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{kind} must be a str, got {type(value).__name__}: {value!r}")
    key = value.strip().lower()
    if key not in choices:
        close = difflib.get_close_matches(key, choices, n=2, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"{kind}={value!r} is not one of {list(choices)}{hint}")
    return key


def _pow2_range(sf: FloatFormat) -> tuple[int, int]:
    """Exponents of the smallest and largest positive powers of two of a scale format."""
    lo = sf.emin - sf.mantissa_bits if (sf.has_zero and sf.subnormals) else sf.emin
    return lo, sf.emax


def _check_scale_capable(sf, rule: str) -> None:
    what = "power-of-two scales" if rule in POW2_RULES else "positive scales"
    if not isinstance(sf, FloatFormat):
        raise ValueError(f"scale format {sf.name} cannot hold the {what} of scale_rule={rule!r} "
                         "(an integer format has no fractional scales); use e.g. 'e8m0' or 'ue4m3'")
    lo, hi = _pow2_range(sf)
    if not lo <= 0 <= hi:
        raise ValueError(f"scale format {sf.name} cannot hold the {what} of scale_rule={rule!r}: "
                         f"its powers of two span 2**{lo} .. 2**{hi}, without 1.0")
    if sf.bits > 32:
        raise ValueError(f"scale format {sf.name} is wider than 32 bits")


_MXINT8 = IntFormat(name="mxint8_element", bits=8, scale_exp=-6)
_MXINT8_SYM = IntFormat(name="mxint8_element_symmetric", bits=8, symmetric=True, scale_exp=-6)

_BLOCK_PRESETS = [
    BlockFormat(name="mxfp8_e4m3", element="float8_e4m3fn", scale="e8m0", block_size=32),
    BlockFormat(name="mxfp8_e5m2", element="float8_e5m2", scale="e8m0", block_size=32),
    BlockFormat(name="mxfp6_e3m2", element="float6_e3m2fn", scale="e8m0", block_size=32),
    BlockFormat(name="mxfp6_e2m3", element="float6_e2m3fn", scale="e8m0", block_size=32),
    BlockFormat(name="mxfp4", element="float4_e2m1fn", scale="e8m0", block_size=32),
    BlockFormat(name="mxint8", element=_MXINT8, scale="e8m0", block_size=32),
    BlockFormat(name="mxint8_symmetric", element=_MXINT8_SYM, scale="e8m0", block_size=32),
    BlockFormat(name="nvfp4", element="float4_e2m1fn", scale="ue4m3", block_size=16,
                scale_rule="amax", tensor_scale=True),
]
_BLOCK_ALIASES = {"mxfp4_e2m1": "mxfp4", "mxfp8": "mxfp8_e4m3", "mxfp6": "mxfp6_e2m3"}
_BLOCK_REGISTRY: dict = {f.name: f for f in _BLOCK_PRESETS}


def register_block_format(fmt: BlockFormat, *, aliases: tuple[str, ...] = ()) -> None:
    """Add a :class:`BlockFormat` to the registry (names are accepted by ``numfmt.encode``).

    Examples
    --------
    >>> import numfmt
    >>> from numfmt.block import BlockFormat, register_block_format
    >>> register_block_format(BlockFormat(name="doc_mxfp4_b16", element="e2m1",
    ...                                   scale="e8m0", block_size=16))
    >>> numfmt.encode([1.0, 3.0], "doc_mxfp4_b16").scales.tolist()
    [126]
    """
    if not isinstance(fmt, BlockFormat):
        raise TypeError(f"fmt must be a BlockFormat, got {type(fmt).__name__}")
    from .presets import _ALIASES, _REGISTRY

    for n in (fmt.name, *aliases):
        key = n.lower()
        if key in _BLOCK_REGISTRY or key in _BLOCK_ALIASES or key in _REGISTRY or key in _ALIASES:
            raise ValueError(f"format name {n!r} is already registered")
    _BLOCK_REGISTRY[fmt.name.lower()] = fmt
    for a in aliases:
        _BLOCK_ALIASES[a.lower()] = fmt.name.lower()


def list_block_formats() -> list[str]:
    """Names of the registered block formats.

    Examples
    --------
    >>> import numfmt
    >>> "nvfp4" in numfmt.block.list_block_formats()
    True
    """
    return list(_BLOCK_REGISTRY)


def _lookup(fmt):
    if isinstance(fmt, BlockFormat):
        return fmt
    if isinstance(fmt, str):
        key = fmt.strip().lower()
        return _BLOCK_REGISTRY.get(_BLOCK_ALIASES.get(key, key))
    return None


def is_block_format(fmt) -> bool:
    """Whether ``fmt`` names or is a block format.

    Examples
    --------
    >>> from numfmt.block import is_block_format
    >>> is_block_format("mxfp4"), is_block_format("e2m1")
    (True, False)
    """
    return _lookup(fmt) is not None


def get_block_format(fmt) -> BlockFormat:
    """The :class:`BlockFormat` of a name (or the format itself).

    Examples
    --------
    >>> from numfmt.block import get_block_format
    >>> f = get_block_format("nvfp4")
    >>> f.block_size, f.scale.name, f.tensor_scale
    (16, 'ue4m3', True)
    """
    f = _lookup(fmt)
    if f is not None:
        return f
    if not isinstance(fmt, str):
        raise TypeError(f"fmt must be a block format name or BlockFormat, got {type(fmt).__name__}: {fmt!r}")
    close = difflib.get_close_matches(fmt.lower(), list(_BLOCK_REGISTRY) + list(_BLOCK_ALIASES), n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    raise ValueError(f"unknown block format {fmt!r}{hint}")


# =========================================================================== BlockArray


class BlockArray:
    """Encoded block-scaled data: element codes plus one scale code per block.

    Attributes
    ----------
    codes : ndarray
        Element codes (unpacked), the shape of the encoded array.
    scales : ndarray
        Scale codes: ``codes.shape`` with ``axis`` reduced to ``ceil(n / block_size)``.
    format : BlockFormat
    axis : int
        The blocked axis (non-negative).
    tensor_scale : numpy.float32 or None
        Second-level decode scale (values are multiplied by it).
    scale_rule, recipe : str
        How the array was encoded (informational).

    Examples
    --------
    >>> import numpy as np, numfmt
    >>> ba = numfmt.encode(np.arange(8, dtype=np.float32), "mxfp4")
    >>> ba.scales.tolist(), ba.codes.tolist()
    ([127], [0, 2, 4, 5, 6, 6, 7, 7])
    >>> numfmt.decode(ba).tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0, 4.0, 6.0, 6.0]
    """

    __slots__ = ("axis", "codes", "format", "recipe", "scale_rule", "scales", "tensor_scale")

    def __init__(self, codes, scales, fmt, *, axis: int = -1, tensor_scale=None,
                 scale_rule: str | None = None, recipe: str | None = None):
        f = get_block_format(fmt)
        codes = np.asarray(codes)
        scales = np.asarray(scales)
        for name, arr, sub in (("codes", codes, f.element), ("scales", scales, f.scale)):
            if arr.dtype.kind not in "iu":
                raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
            if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= (1 << sub.bits)):
                bad = int(arr.min()) if int(arr.min()) < 0 else int(arr.max())
                raise ValueError(f"{name} contains {bad:#x}, outside the {sub.bits}-bit codes of {sub.name}")
        if codes.ndim == 0:
            raise ValueError("codes must have at least one dimension")
        ax = _norm_axis(axis, codes.ndim)
        expect = list(codes.shape)
        expect[ax] = -(-codes.shape[ax] // f.block_size)
        if scales.shape != tuple(expect):
            raise ValueError(f"scales has shape {scales.shape}, expected {tuple(expect)} for codes of shape "
                             f"{codes.shape}, axis={ax} and block_size={f.block_size}")
        self.codes = codes.astype(f.element.code_dtype, copy=False)
        self.scales = scales.astype(f.scale.code_dtype, copy=False)
        self.format = f
        self.axis = ax
        if tensor_scale is not None:
            ts = np.float32(tensor_scale)
            if ts < 0:
                raise ValueError(f"tensor_scale must be a non-negative float32, got {tensor_scale!r}")
            if np.isfinite(ts) and float(ts) != float(tensor_scale):
                raise ValueError(f"tensor_scale {tensor_scale!r} is not exact in float32")
            tensor_scale = ts
        self.tensor_scale = tensor_scale
        self.scale_rule = scale_rule if scale_rule is not None else f.scale_rule
        self.recipe = recipe if recipe is not None else f.recipe

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the encoded array."""
        return self.codes.shape

    def pack(self, *, order: str = "low_first") -> np.ndarray:
        """Element codes packed along the flattened array (C order), see :func:`numfmt.pack`.

        Examples
        --------
        >>> import numfmt
        >>> numfmt.encode([1.0, 6.0], "mxfp4").pack().tolist()   # 0x2 low, 0x7 high
        [114]
        """
        from .packing import pack

        return pack(self.codes.reshape(-1), self.format.element.bits, order=order)

    def __repr__(self) -> str:
        ts = "" if self.tensor_scale is None else f", tensor_scale={float(self.tensor_scale)!r}"
        return (f"BlockArray(format={self.format.name!r}, shape={self.shape}, axis={self.axis}, "
                f"scale_rule={self.scale_rule!r}, recipe={self.recipe!r}{ts})")


def _norm_axis(axis, ndim: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis={axis} is out of range for an array of {ndim} dimension(s)")
    return int(axis) % ndim


# =========================================================================== helpers


def _as_float(x) -> np.ndarray:
    if isinstance(x, (str, bytes)):
        raise TypeError(f"x must be numeric, got {type(x).__name__}: {x!r}")
    arr = np.asarray(x)
    dt = arr.dtype
    if arr.ndim == 0:
        raise ValueError("x must have at least one dimension (axis is out of range for a scalar)")
    if dt == np.float64:
        return np.ascontiguousarray(arr)
    if dt.kind == "f" or (dt.kind == "V" and "float" in dt.name):
        if dt.itemsize > 4:
            raise TypeError(f"x has unsupported dtype {dt}")
        return np.ascontiguousarray(arr, dtype=np.float32)
    if dt.kind in "iu":
        out = arr.astype(np.float64)
        if not np.array_equal(out.astype(dt), arr):
            raise ValueError("integer x is not exact in float64")
        return out
    raise TypeError(f"x must be a float array, got dtype {dt}")


def _to_f32(x: np.ndarray, why: str) -> np.ndarray:
    if x.dtype == np.float32:
        return x
    y = x.astype(np.float32)
    if not np.array_equal(y.astype(np.float64), x, equal_nan=True):
        raise ValueError(f"{why} computes in float32 and x (float64) is not exact in float32; "
                         "pass float32 input")
    return y


def _blocks(a2: np.ndarray, bs: int, fill=0.0) -> np.ndarray:
    """(rows, n) -> (rows, nb, bs), the last block padded with ``fill``."""
    rows, n = a2.shape
    nb = -(-n // bs)
    if nb * bs == n:
        return a2.reshape(rows, nb, bs)
    out = np.full((rows, nb * bs), fill, a2.dtype)
    out[:, :n] = a2
    return out.reshape(rows, nb, bs)


def _frexp_parts(a: np.ndarray):
    """floor(log2 a), a is a power of two, significand in [1, 2) for finite a > 0 (exact)."""
    m, k = np.frexp(a.astype(np.float64))
    return k.astype(np.int64) - 1, m == 0.5, 2.0 * m


def _elem_emax(ef) -> int:
    """Exponent of the largest power of two <= max of the element format (OCP emax_elem)."""
    if isinstance(ef, IntFormat):
        return int(np.floor(np.log2(ef.max_int))) + ef.scale_exp
    return ef.emax


def _elem_mbits(ef) -> int:
    if isinstance(ef, IntFormat):
        return ef.bits - 2 if ef.signed else ef.bits - 1
    return ef.mantissa_bits


def _log2f(d: np.ndarray) -> np.ndarray:
    """float32 log2 as torch 2.13 CPU computes it (correctly rounded on the values that matter)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log2(d.astype(np.float64)).astype(np.float32)


def scale_exponents(amax, fmt, *, scale_rule: str = "floor", input_dtype=np.float32):
    """Unclamped power-of-two scale exponents of blocks with maximum ``amax``.

    Implements the rule formulas of SPECS §2.3 independently of the fast
    kernels: ``floor`` = floor(log2 amax) - emax_elem (exponent from the float
    bits); ``ceil`` adds 1 unless amax is a power of two; ``even`` first rounds
    amax to ``mbits_elem + 1`` significant bits (ties up); ``rceil`` rounds
    ``amax * fp32(1/max_elem)`` up to a power of two; ``rceil_torchao`` is
    ``ceil(log2_f32(amax / max_elem))``. Zero amax gives a very small exponent
    (the caller clamps); ``inf`` counts as ``2**128`` (float32) as in torchao.
    NaN amax gives NaN positions marked in the second result.

    Returns
    -------
    (exponents int64 array, nan mask)

    Examples
    --------
    >>> import numpy as np
    >>> from numfmt.block import scale_exponents
    >>> scale_exponents(np.float32([7.5, 6.0, 0.0]), "mxfp4", scale_rule="floor")[0].tolist()
    [0, 0, -1002]
    >>> scale_exponents(np.float32([7.5, 6.0]), "mxfp4", scale_rule="rceil")[0].tolist()
    [1, 0]
    """
    f = get_block_format(fmt)
    rule = _check_choice("scale_rule", scale_rule, POW2_RULES)
    dt = np.dtype(input_dtype)
    a = np.asarray(amax, dtype=dt)
    ef = f.element
    emax = _elem_emax(ef)
    nan = np.isnan(a)
    inf = np.isinf(a)
    zero = a == 0
    safe = np.where(nan | inf | zero, dt.type(1), a)
    inf_exp = 128 if dt == np.float32 else 1024
    big = 1000 if dt == np.float32 else 5000
    if rule in ("floor", "ceil", "even"):
        fl, pow2, sig = _frexp_parts(safe)
        if rule == "ceil":
            fl = fl + (~pow2)
        elif rule == "even":
            mb = _elem_mbits(ef)
            fl = fl + (sig >= 2.0 - 2.0 ** -(mb + 1))
        e = np.where(inf, inf_exp, np.where(zero, -big, fl)) - emax
    else:
        if dt != np.float32:
            raise ValueError(f"scale_rule={rule!r} computes in float32; pass float32 input")
        mx = np.float32(ef.max)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if rule == "rceil":
                d = a.astype(np.float32) * (np.float32(1.0) / mx)
            else:
                d = a.astype(np.float32) / mx
        dsafe = np.where(np.isfinite(d) & (d > 0), d, np.float32(1))
        if rule == "rceil":
            fl, pow2, _ = _frexp_parts(dsafe)
            e = fl + (~pow2)
            e = np.where(d == 0, -big, e)
            e = np.where(np.isinf(d), big, e)  # saturates to the largest scale
        else:
            lg = np.ceil(_log2f(dsafe)).astype(np.int64)
            e = np.where(d == 0, -big, lg)
            e = np.where(np.isinf(d), 127, np.clip(e, -127, 127))
    return e.astype(np.int64), nan


def _pow2_scale_codes(e, nan, sf: FloatFormat, rule: str):
    """Scale codes and the exponents actually used (NaN blocks: shift 0)."""
    from .codec import encode as _enc

    lo, hi = _pow2_range(sf)
    over = e > hi
    if rule in ("rceil", "rceil_torchao"):
        over = np.zeros_like(over)  # these rules saturate (.satfinite)
    ec = np.clip(e, lo, hi)
    codes = np.asarray(_enc(np.ldexp(1.0, ec), sf)).astype(np.int64)
    isnan = nan | over
    if isnan.any():
        if sf.code_of_nan is None:
            raise ValueError(f"a block needs the NaN scale but scale format {sf.name} has no NaN")
        codes = np.where(isnan, sf.code_of_nan, codes)
        ec = np.where(isnan, 0, ec)
    return codes, ec, isnan


def _rceil_round_pack(amax, ef, sf, scodes, ec, isnan):
    """NVIDIA rceil through the rounding funnel: fp32(amax * fp32(1/max)) rounded toward
    +inf into the (power-of-two) scale format with saturation (``cvt.rp.satfinite``)."""
    from .codec import decode as _dec
    from .codec import encode as _enc

    with np.errstate(over="ignore", invalid="ignore"):
        d = (amax.astype(np.float32) * (np.float32(1.0) / np.float32(ef.max))).astype(np.float32)
    lo, _ = _pow2_range(sf)
    d = np.where(isnan | (d <= 0), np.float32(2.0 ** max(lo, -149)), d).astype(np.float32)
    c = np.asarray(_enc(d, sf, rounding="toward_positive", saturation="finite")).astype(np.int64)
    e = np.frexp(np.asarray(_dec(c, sf, dtype=np.float64)))[1].astype(np.int64) - 1
    return np.where(isnan, scodes, c), np.where(isnan, ec, e)


def _random_array(random, rbits, mode, shape, ax):
    """(rkind, bits moved so that ``ax`` is last, flattened to 2D, nbits)."""
    rkind, rarr, key, nbits = random_spec(random, rbits, mode, shape)
    if rkind == 0:
        return 0, np.zeros((1, 1), np.uint32), nbits
    if rkind == 2:
        from ._kernels.block import fill_random

        rarr = np.empty(int(np.prod(shape)), np.uint32)
        fill_random(np.int64(key), np.int64(nbits), rarr)
    r = np.moveaxis(rarr.reshape(shape), ax, -1)
    return 1, np.ascontiguousarray(r).reshape(-1, shape[ax] if shape[ax] else 1), nbits


def _encode_elems(v2, shifts, bs, ef, mode, sat, rkind, rarr, nbits, nan_code=None):
    """Exact encode of v2 * 2**-shift (per block) into element codes; NaN -> nan_code."""
    from ._kernels import block as K
    from ._kernels import params as PP

    p = ef.kernel_params
    if nan_code is not None:
        p = PP.with_overrides(p, NAN=nan_code, NNAN=nan_code)
    out = np.empty(v2.shape, ef.code_dtype)
    if v2.size:
        K.scaled_encode(v2, np.ascontiguousarray(shifts, np.int64), np.int64(bs), p, np.int64(mode),
                        np.int64(sat), np.int64(rkind), rarr, np.int64(nbits), out)
    return out


_SAT = {"finite": 1, "propagate": 2}


# =========================================================================== encode


def encode(x, fmt, *, axis: int = -1, scale_rule: str | None = None, rounding: str = "nearest_even",
           random=None, rbits: int | None = None, recipe: str | None = None, tensor_scale=None,
           tensor_amax=None, nonfinite: str = "amax", scale_rounding: str | None = None) -> BlockArray:
    """Encode ``x`` into a block format; blocks run along ``axis``.

    Parameters
    ----------
    x : array_like of float
        float16/bfloat16/float32 (computed in float32) or float64.
    fmt : str or BlockFormat
        ``"mxfp8_e4m3"``, ``"mxfp8_e5m2"``, ``"mxfp6_e3m2"``, ``"mxfp6_e2m3"``,
        ``"mxfp4"`` (``"mxfp4_e2m1"``), ``"mxint8"``, ``"nvfp4"`` or a custom format.
    axis : int
        Axis along which consecutive elements form blocks. When its length is
        not a multiple of the block size the last block is shorter; its scale
        comes from the elements it has.
    scale_rule : str, optional
        ``floor`` (OCP; MX default), ``ceil``, ``even``, ``rceil`` (NVIDIA),
        ``rceil_torchao``, ``amax`` (NVFP4 default) or ``max_abs_finite`` (P3109
        ConvertToBlockMaxAbsFinite: the scale is the largest finite |x| rounded
        with ``scale_rounding`` into the scale format, elements are x / scale
        rounded once).
    rounding, random, rbits :
        Element rounding, as in :func:`numfmt.encode` (stochastic roundings take
        random bits per element of ``x``; see :func:`ptx_e2m1x4_rbits`).
    recipe : str, optional
        Power-of-two rules: ``ocp`` (default, exact) or ``torchao`` (torchao 0.18
        ``to_mx``, quirks included). ``amax``: ``te`` (default), ``torchao``,
        ``modelopt``.
    tensor_scale : None, False or float
        ``amax`` rule only. None: the format's default (NVFP4: two-level, the
        tensor scale computed from the tensor's amax by the recipe); False:
        one-level; a float: this float32 decode tensor scale.
    tensor_amax : float, optional
        A calibrated tensor amax to compute the tensor scale from.
    nonfinite : {"amax", "nan", "finite"}
        Blocks with inf/NaN (power-of-two rules). ``amax`` (torchao): the scale
        comes from the block maximum as it is (inf counts as 2**128; a NaN makes
        the NaN scale); ``nan`` (OCP/microxcaling): any inf or NaN gives the NaN
        scale; ``finite`` (P3109 ConvertToBlockMaxAbsFinite): the scale comes
        from the finite elements, infinities saturate or stay infinite per
        element, a NaN element keeps a NaN code (or makes the NaN scale when the
        element format has no NaN).
    scale_rounding : str, optional
        Rounding of the scale for ``max_abs_finite`` (default ``toward_positive``).

    Returns
    -------
    BlockArray

    Examples
    --------
    >>> import numpy as np, numfmt
    >>> x = ((np.arange(32) - 16) * 0.46875).astype(np.float32)
    >>> ba = numfmt.encode(x, "mxfp4")
    >>> hex(int(ba.scales[0])), ba.codes[:4].tolist()
    ('0x7f', [15, 15, 15, 15])
    >>> hex(int(numfmt.encode(x, "mxfp4", scale_rule="ceil").scales[0]))
    '0x80'
    """
    f = get_block_format(fmt)
    rule = _check_choice("scale_rule", scale_rule if scale_rule is not None else f.scale_rule, SCALE_RULES)
    if recipe is None:
        recipe = f.recipe if _recipes_for(rule) == _recipes_for(f.scale_rule) else _default_recipe(rule)
    recipe = _check_choice("recipe", recipe, _recipes_for(rule))
    nonfinite = _check_choice("nonfinite", nonfinite, NONFINITE)
    _check_scale_capable(f.scale, rule)
    _, mode = parse_rounding(rounding)
    xa = _as_float(x)
    if xa.ndim == 0:
        raise ValueError("x must have at least one dimension (axis=... is out of range for a scalar)")
    ax = _norm_axis(axis, xa.ndim)
    if rule != "amax" and (tensor_scale not in (None, False) or tensor_amax is not None):
        raise ValueError(f"tensor_scale/tensor_amax need scale_rule='amax', got scale_rule={rule!r}")
    moved = np.moveaxis(xa, ax, -1)
    mshape = moved.shape
    n = mshape[-1]
    x2 = np.ascontiguousarray(moved).reshape(-1, n)
    rkind, rarr, nbits = _random_array(random, rbits, mode, xa.shape, ax)
    if scale_rounding is not None and rule != "max_abs_finite":
        raise ValueError(f"scale_rounding is used by scale_rule='max_abs_finite', not {rule!r}")
    if rule == "amax":
        codes2, scales2, ts = _encode_amax(x2, f, recipe, tensor_scale, tensor_amax, mode, rkind, rarr, nbits)
    elif rule == "max_abs_finite":
        codes2, scales2 = _encode_p3109(x2, f, scale_rounding or "toward_positive", mode, rkind, rarr, nbits)
        ts = None
    else:
        if recipe == "torchao" and rule == "rceil":
            raise ValueError("recipe='torchao' computes rceil its own way: use scale_rule='rceil_torchao' "
                             "(scale_rule='rceil' is NVIDIA's exact round-up)")
        codes2, scales2 = _encode_pow2(x2, f, rule, recipe, nonfinite, mode, rkind, rarr, nbits)
        ts = None
    codes = np.moveaxis(codes2.reshape(mshape), -1, ax)
    scales = np.moveaxis(scales2.reshape(mshape[:-1] + (scales2.shape[1],)), -1, ax)
    return BlockArray(np.ascontiguousarray(codes), np.ascontiguousarray(scales), f, axis=ax,
                      tensor_scale=ts, scale_rule=rule, recipe=recipe)


def _encode_p3109(x2, f, scale_rounding, mode, rkind, rarr, nbits):
    """P3109 ConvertToBlockMaxAbsFinite + BlockProject (SPECS §4.5)."""
    from ._kernels import block as K
    from .codec import decode as _dec
    from .codec import encode as _enc

    ef, sf, bs = f.element, f.scale, f.block_size
    rows, n = x2.shape
    nb = -(-n // bs)
    blk = _blocks(np.abs(x2), bs, fill=np.nan)
    fin = np.isfinite(blk)
    if blk.size:
        s_max = np.where(fin, blk, -1.0).max(axis=-1)
        all_nan = np.isnan(blk).all(axis=-1)
    else:
        s_max = np.zeros((rows, nb), x2.dtype)
        all_nan = np.zeros((rows, nb), bool)
    s_max = np.where(s_max < 0, 0.0, s_max)  # no finite element (all inf): 0
    if not sf.has_zero:  # E8M0 has no zero: an all-zero block takes the smallest scale
        s_max = np.where(s_max == 0, sf.smallest_subnormal, s_max)
    s_max = np.where(all_nan, np.nan, s_max).astype(x2.dtype)
    nan_pol = "max" if sf.code_of_nan is None else "raise"
    scodes = np.asarray(_enc(s_max, sf, rounding=scale_rounding, saturation="finite",
                             nan=nan_pol)).astype(np.int64)
    sval = np.asarray(_dec(scodes, sf, dtype=np.float64), np.float64)
    skind = np.where(np.isnan(sval), 2, np.where(sval == 0, 1, 0)).astype(np.int64)
    m, e = np.frexp(np.where(skind == 0, sval, 1.0))
    ssig = np.ldexp(m, 53).astype(np.int64)  # exact: scale formats have <= 24-bit significands
    tz = np.zeros_like(ssig)
    while True:  # strip trailing zeros so ssig < 2**24
        even = (ssig & 1) == 0
        if not even.any():
            break
        ssig = np.where(even, ssig >> 1, ssig)
        tz = tz + even
    sexp = (e.astype(np.int64) - 53 + tz)
    out = np.empty((rows, n), ef.code_dtype)
    if x2.size:
        p = ef.kernel_params
        if ef.code_of_nan is None:
            from ._kernels import params as PP

            p = PP.with_overrides(p, NAN=0, NNAN=0)
        K.divided_encode(x2, ssig, sexp, skind, np.int64(bs), p, np.int64(mode), np.int64(_SAT["propagate"]),
                         np.int64(rkind), rarr, np.int64(nbits), out)
    return out, scodes.astype(sf.code_dtype)


def _is_e8m0(sf) -> bool:
    return (isinstance(sf, FloatFormat) and sf.exponent_bits == 8 and sf.mantissa_bits == 0
            and sf.bias == 127 and not sf.signed and not sf.has_zero and sf.code_of_nan == 255)


def _encode_pow2(x2, f, rule, recipe, nonfinite, mode, rkind, rarr, nbits):
    ef, sf, bs = f.element, f.scale, f.block_size
    rows, n = x2.shape
    nb = -(-n // bs)
    if (recipe == "ocp" and nonfinite == "amax" and mode == 0 and x2.dtype == np.float32
            and rule != "rceil_torchao" and _is_e8m0(sf) and x2.size):
        fast = _fast_mx(x2, f, rule)
        if fast is not None:
            return fast
    if x2.dtype != np.float32 and (recipe == "torchao" or rule in ("rceil", "rceil_torchao")):
        x2 = _to_f32(x2, f"scale_rule={rule!r} / recipe={recipe!r}")
    ax2 = np.abs(x2)
    blk = _blocks(ax2, bs)
    has_nan_elem = None
    if nonfinite == "finite":
        fin = np.isfinite(blk)
        amax = np.where(fin, blk, 0).max(axis=-1) if blk.size else np.zeros((rows, nb), x2.dtype)
        has_nan_elem = np.isnan(blk).any(axis=-1)
        nanmask_extra = has_nan_elem & ((ef.code_of_nan is None) | (recipe == "torchao"))
    else:
        amax = blk.max(axis=-1) if blk.size else np.zeros((rows, nb), x2.dtype)
        nanmask_extra = (~np.isfinite(blk)).any(axis=-1) if nonfinite == "nan" else None
    e, nan = scale_exponents(amax, f, scale_rule=rule, input_dtype=x2.dtype)
    if nanmask_extra is not None:
        nan = nan | nanmask_extra
    scodes, ec, isnan = _pow2_scale_codes(e, nan, sf, rule)
    if rule == "rceil" and sf.mantissa_bits == 0:
        scodes, ec = _rceil_round_pack(amax, ef, sf, scodes, ec, isnan)
    sat = _SAT["propagate" if nonfinite == "finite" else "finite"]
    if recipe == "torchao":
        codes = _torchao_mx_elements(x2, scodes, f, rule, mode, rkind, rarr, nbits)
    else:
        shifts = ec
        codes = _encode_elems(x2, shifts, bs, ef, mode, sat, rkind, rarr, nbits)
        if isnan.any():
            codes = np.where(np.repeat(isnan, bs, axis=1)[:, :n], 0, codes).astype(ef.code_dtype)
    return codes, scodes.astype(sf.code_dtype)


_TABLES: dict = {}


def _table(fmt, mode: int = 0, sat: int = 1, nan_code=None):
    """Rounding table (and its index constants) of a format, built once by round_pack."""
    from ._kernels import block as K
    from ._kernels import params as PP

    key = (fmt.kernel_params, mode, sat, nan_code)
    t = _TABLES.get(key)
    if t is None:
        p = fmt.kernel_params
        if nan_code is not None:
            p = PP.with_overrides(p, NAN=nan_code, NNAN=nan_code)
        tab = K.build_table(p, np.int64(mode), np.int64(sat))
        if (tab < 0).any():
            tab = np.where(tab < 0, 0, tab).astype(np.int32)
        t = (tab, *K.table_args(p))
        _TABLES[key] = t
    return t


_CHUNK = 1 << 18  # elements per chunk of the fast paths (a 1 MiB float32 buffer, cache-resident)


def _chunks(rows, n, bs):
    """Ranges of global block indices, each about _CHUNK elements."""
    nb = -(-n // bs)
    total = rows * nb
    step = max(1, _CHUNK // bs)
    return nb, [(g, min(g + step, total)) for g in range(0, total, step)]


def _fast_mx(x2, f, rule):
    """Fused float32 path: chunk kernel for scales + exact scaling, public encode for elements."""
    from ._kernels import block as K
    from .codec import encode as _enc

    ef = f.element
    p = ef.kernel_params
    from ._kernels import params as PP

    # x * 2**-e below 2**-126 must round to zero: half the smallest subnormal >= 2**-125
    if not (isinstance(ef, FloatFormat) and p[PP.EMIN] - p[PP.M] - 1 >= -126):
        return None
    rows, n = x2.shape
    bs = f.block_size
    nb, chunks = _chunks(rows, n, bs)
    codes = np.empty(rows * n, ef.code_dtype)
    scales = np.empty(rows * nb, np.uint8)
    buf = np.empty(min(rows * n, _CHUNK + bs), np.float32)
    xf = x2.view(np.int32).reshape(-1)
    ridx = {"floor": 0, "ceil": 1, "even": 2, "rceil": 3}[rule]
    inv = np.float32(1.0) / np.float32(ef.max)
    emax, mb = np.int32(_elem_emax(ef)), np.int32(_elem_mbits(ef))
    work = np.empty(25 * K.SUB, np.int32)
    start = 0
    for g0, g1 in chunks:
        cnt = K.mx_scale_chunk(xf, np.int64(n), np.int64(nb), np.int64(bs), np.int64(g0), np.int64(g1),
                               np.int64(ridx), emax, mb, inv, scales, buf, work)
        _enc(buf[:cnt], ef, saturation="finite", nan="zero", out=codes[start:start + cnt])
        start += cnt
    return codes.reshape(rows, n), scales.reshape(rows, nb)


def _torchao_floatx_codes(v, ef):
    """torchao ``_f32_to_floatx_unpacked`` (FP4/FP6): RNE with saturation; NaN -> its bit formula."""
    from .codec import encode as _enc

    codes = np.asarray(_enc(np.where(np.isnan(v), np.float32(0), v), ef, saturation="finite"))
    nanm = np.isnan(v)
    if nanm.any():
        eb, mb = ef.exponent_bits, ef.mantissa_bits
        b = v.view(np.int32).astype(np.int64)
        sign = b & -0x80000000
        xa = b & 0x7FFFFFFF
        bias = (1 << (eb - 1)) - 1
        nx = xa + ((bias - 127) << 23) + ((1 << (23 - mb - 1)) - 1)
        nx = nx + ((xa >> (23 - mb)) & 1)
        nx = (nx >> (23 - mb)) & 0xFF
        slp = (sign >> (31 - mb - eb)) & (1 << (eb + mb))
        garbage = (nx | slp) & ((1 << ef.bits) - 1)
        codes = np.where(nanm, garbage, codes)
    return codes.astype(ef.code_dtype)


def _torchao_mx_elements(x2, scodes, f, rule, mode, rkind, rarr, nbits):
    """Elements as torchao 0.18 ``to_mx`` computes them (float32 ops, then its casts)."""
    ef, bs = f.element, f.block_size
    rows, n = x2.shape
    if not isinstance(ef, FloatFormat) or ef.bits not in (4, 6, 8):
        raise ValueError(f"recipe='torchao' supports FP8/FP6/FP4 elements, not {ef.name}")
    sc = scodes.astype(np.int64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        if rule == "rceil_torchao":
            rcp = np.exp2(np.float32(127) - sc.astype(np.float32)).astype(np.float32)
            rcp = np.where(sc == 0, np.float32(1.0), rcp)
            rcp = np.where(sc == 254, np.float32(2.0 ** -127), rcp)
            v = x2 * np.repeat(rcp.astype(np.float32), bs, axis=1)[:, :n]
            # NaN scale: torchao multiplies by the (positive, quiet) NaN descale, whose NaN wins
            v = np.where(np.repeat(sc == 255, bs, axis=1)[:, :n], np.float32(np.nan), v)
        else:
            sfp = (sc.astype(np.int32) << 23).view(np.float32)
            sfp = np.maximum(sfp, np.float32(2.0 ** -126)).astype(np.float32)
            v = x2 / np.repeat(sfp, bs, axis=1)[:, :n]
        v = v.astype(np.float32)
        if rule == "rceil_torchao" or ef.bits == 8:
            mx = np.float32(ef.max)
            v = np.where(np.isnan(v), v, np.clip(v, -mx, mx)).astype(np.float32)
    if mode != 0:  # stochastic or directed element rounding on torchao's scaled values
        return _encode_elems(v, np.zeros((rows, max(1, -(-n // bs))), np.int64), bs, ef, mode,
                             _SAT["finite"], rkind, rarr, nbits, nan_code=_nan_or_zero(ef))
    if ef.bits == 8:
        return _encode_elems(v, np.zeros((rows, max(1, -(-n // bs))), np.int64), bs, ef, 0,
                             _SAT["finite"], 0, rarr, nbits)
    return _torchao_floatx_codes(v, ef)


def _nan_or_zero(ef):
    return None if ef.code_of_nan is not None else 0


# --------------------------------------------------------------------------- amax family (NVFP4)


def _f32(v) -> np.float32:
    return np.float32(v)


def _encode_amax(x2, f, recipe, tensor_scale, tensor_amax, mode, rkind, rarr, nbits):
    """NVFP4-style two-level (or one-level) scaling with a recipe's float32 op order."""
    from .codec import encode as _enc

    ef, sf, bs = f.element, f.scale, f.block_size
    x2 = _to_f32(x2, f"recipe={recipe!r}")
    rows, n = x2.shape
    nb = -(-n // bs)
    emx, smx = _f32(ef.max), _f32(sf.max)
    one = _f32(1.0)
    if tensor_scale is None:
        two_level = f.tensor_scale
        given_ts = None
    elif tensor_scale is False:
        two_level, given_ts = False, None
    else:
        if isinstance(tensor_scale, bool):
            raise TypeError("tensor_scale must be None, False or a float")
        given_ts = np.float32(tensor_scale)
        if not (np.isfinite(given_ts) and given_ts > 0) or float(given_ts) != float(tensor_scale):
            raise ValueError(f"tensor_scale must be a positive finite float32, got {tensor_scale!r}")
        two_level = True
    if tensor_amax is not None and tensor_scale is not None:
        raise ValueError("pass tensor_scale or tensor_amax, not both")
    ignore_nan = recipe == "te"  # CUDA fmaxf-based amax ignores NaN [U]

    def _amax(a):
        if a.size == 0:
            return _f32(0)
        return _f32(np.fmax.reduce(a, axis=None) if ignore_nan else np.max(a))

    if mode == 0 and recipe in ("te", "torchao") and x2.size and ef.bits <= 8:
        fast = _fast_nv(x2, f, recipe, two_level, given_ts, tensor_amax)
        if fast is not None:
            return fast
    ax2 = np.abs(x2)
    blk = _blocks(ax2, bs)
    if blk.size:
        bamax = (np.fmax.reduce(blk, axis=-1) if ignore_nan else blk.max(axis=-1)).astype(np.float32)
    else:
        bamax = np.zeros((rows, nb), np.float32)
    if two_level and given_ts is None:
        g = _f32(tensor_amax) if tensor_amax is not None else _amax(ax2)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        # ---------------- tensor scale
        ts = None
        if recipe == "te":
            if not two_level:
                s_enc = one
            elif given_ts is not None:
                s_enc = _f32(one / given_ts)
            else:
                s_enc = _f32(_f32(smx * emx) / g)
                s_enc = min(s_enc, _F32_MAX)
                if g == 0 or s_enc == 0:
                    s_enc = one
            s_dec = _f32(one / s_enc)
            ts = s_dec if two_level else None
        else:
            if not two_level:
                t = None
            elif given_ts is not None:
                t = given_ts
            else:
                t = _f32(g / _f32(smx * emx))
            ts = t
        # ---------------- block scales
        if recipe == "te":
            mult = _f32(s_enc * _f32(one / emx))
            ds = (bamax * mult).astype(np.float32)
            scodes = np.asarray(_enc(ds, sf, saturation="finite", nan="max")).astype(np.int64)
        elif recipe == "torchao":
            b = (bamax / emx).astype(np.float32)
            if t is not None:
                b = (b / t).astype(np.float32)
            b = np.where(np.isnan(b), b, np.clip(b, _f32(sf.smallest_normal), smx)).astype(np.float32)
            scodes = np.asarray(_enc(b, sf, saturation="finite", nan="max")).astype(np.int64)
            neg_nan = np.isnan(b) & np.signbit(b)  # e.g. 0/0 for an all-zero tensor (x86: -NaN)
        else:  # modelopt
            tt = t if t is not None else one
            b = (bamax / _f32(emx * tt)).astype(np.float32)
            b = np.where(b == 0, one, b)
            b = np.where(np.isnan(b), b, np.maximum(b, _f32(sf.smallest_subnormal))).astype(np.float32)
            scodes = np.asarray(_enc(b, sf, saturation="finite", nan="max")).astype(np.int64)
        if sf.code_of_nan is not None:
            scodes = np.where(np.isnan(bamax) & (recipe != "te"), sf.code_of_nan, scodes)
        sval = np.asarray(_scale_values(sf), np.float32)[scodes]
        if recipe == "torchao" and sf.code_of_nan is not None:
            # torch widens the e4m3 NaN's fields into float32 (payload kept); it reaches FP4 casts
            wide = np.array([0x7F800000 | ((sf.code_of_nan & ((1 << sf.mantissa_bits) - 1))
                                           << (23 - sf.mantissa_bits))], np.int32).view(np.float32)[0]
            sval = np.where(scodes == sf.code_of_nan, wide, sval).astype(np.float32)
            sval = np.where(neg_nan, -wide, sval).astype(np.float32)
        # ---------------- elements
        if recipe == "te":
            enc = np.minimum((one / (sval * s_dec)).astype(np.float32), _F32_MAX).astype(np.float32)
            v = (x2 * np.repeat(enc, bs, axis=1)[:, :n]).astype(np.float32)
        elif recipe == "torchao":
            enc = ((one / t) / sval) if t is not None else (one / sval)
            enc = np.repeat(enc.astype(np.float32), bs, axis=1)[:, :n]
            # torch's CPU multiply returns the multiplier's NaN when both operands are NaN
            v = np.where(np.isnan(enc), enc, x2 * enc).astype(np.float32)
            v = np.where(np.isnan(v), v, np.clip(v, -emx, emx)).astype(np.float32)
        else:
            tt = t if t is not None else one
            den = (sval * tt).astype(np.float32)
            v = (x2 / np.repeat(den, bs, axis=1)[:, :n]).astype(np.float32)
    zero_shift = np.zeros((rows, max(nb, 1)), np.int64)
    if recipe == "torchao" and mode == 0 and ef.bits in (4, 6) and isinstance(ef, FloatFormat):
        codes = _torchao_floatx_codes(v, ef)
    else:
        nan_code = None
        if ef.code_of_nan is None:
            nan_code = ef.max_code_magnitude  # PTX .satfinite / ModelOpt searchsorted: NaN -> +max
        codes = _encode_elems(v, zero_shift, bs, ef, mode, _SAT["finite"], rkind, rarr, nbits, nan_code=nan_code)
        if recipe == "modelopt" and isinstance(ef, FloatFormat) and ef.negative_zero:
            negz = (codes == ef._sign_bit) & ~(v < 0)
            codes = np.where(negz, 0, codes).astype(ef.code_dtype)
    return codes, scodes.astype(sf.code_dtype), ts


def _fast_nv(x2, f, recipe, two_level, given_ts, tensor_amax):
    """Fused float32 kernel for the te/torchao recipes (None: not applicable)."""
    from ._kernels import block as K

    ef, sf, bs = f.element, f.scale, f.block_size
    if not K.table_eligible(sf.kernel_params) or not isinstance(ef, FloatFormat):
        return None
    one = _f32(1.0)
    emx, smx = _f32(ef.max), _f32(sf.max)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if two_level and given_ts is None:
            g = _f32(tensor_amax) if tensor_amax is not None else _f32(K.abs_max_f32(x2.view(np.int32).reshape(-1)))
            if not np.isfinite(g):
                return None
        if recipe == "te":
            if not two_level:
                s_enc = one
            elif given_ts is not None:
                s_enc = _f32(one / given_ts)
            else:
                s_enc = min(_f32(_f32(smx * emx) / g), _F32_MAX)
                if g == 0 or s_enc == 0:
                    s_enc = one
            s_dec = _f32(one / s_enc)
            ts, pts, rid = (s_dec if two_level else None), one, 0
        else:
            pts = given_ts if given_ts is not None else (_f32(g / _f32(smx * emx)) if two_level else one)
            ts, s_enc, rid = (pts if two_level else None), one, (1 if two_level else 2)
            if not np.isfinite(pts) or pts <= 0:
                return None
    from .codec import encode as _enc

    nan = "max" if ef.code_of_nan is None else "raise"
    rows, n = x2.shape
    nb, chunks = _chunks(rows, n, bs)
    codes = np.empty(rows * n, ef.code_dtype)
    scales = np.empty(rows * nb, sf.code_dtype)
    svals = np.asarray(_scale_values(sf), np.float32)
    buf = np.empty(min(rows * n, _CHUNK + bs), np.float32)
    xf = x2.view(np.int32).reshape(-1)
    stab = _table(sf)
    work = np.empty(25 * K.SUB, np.int32)
    start = 0
    for g0, g1 in chunks:
        cnt = K.nv_scale_chunk(xf, np.int64(n), np.int64(nb), np.int64(bs), np.int64(g0), np.int64(g1),
                               np.int64(rid), _f32(s_enc), _f32(pts), *stab, svals, emx,
                               _f32(sf.smallest_normal), smx, scales, buf, work)
        if cnt < 0:
            return None
        _enc(buf[:cnt], ef, saturation="finite", nan=nan, out=codes[start:start + cnt])
        start += cnt
    return codes.reshape(rows, n), scales.reshape(rows, nb), ts


def _scale_values(sf) -> np.ndarray:
    """float32 value of every scale code (NaN for NaN codes); cached."""
    v = sf._cache.get("block_scale_values_f32")
    if v is None:
        if sf.bits <= 16:
            v = _all_values(sf).astype(np.float32)
        else:
            raise ValueError(f"scale format {sf.name} is too wide for amax scaling (at most 16 bits)")
        sf._cache["block_scale_values_f32"] = v
    return v


# =========================================================================== decode


def decode(ba: BlockArray, *, dtype=np.float32, out=None) -> np.ndarray:
    """Values of a :class:`BlockArray`: ``element * scale (* tensor_scale)``.

    float32 results are computed as torchao does: ``fl(element * fl(scale *
    tensor_scale))`` (one rounding without a tensor scale; exact unless the
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
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    f = ba.format
    ef, sf, bs = f.element, f.scale, f.block_size
    ax = ba.axis
    c2 = np.ascontiguousarray(np.moveaxis(ba.codes, ax, -1))
    mshape = c2.shape
    n = mshape[-1]
    c2 = c2.reshape(-1, n)
    s2 = np.ascontiguousarray(np.moveaxis(ba.scales, ax, -1)).reshape(c2.shape[0], -1)
    if out is not None and (not isinstance(out, np.ndarray) or out.shape != ba.codes.shape or out.dtype != dt
                            or not out.flags.writeable):
        raise ValueError(f"out must be a writeable {dt} array of shape {ba.codes.shape}")
    direct = out is not None and ax == ba.codes.ndim - 1 and out.flags.c_contiguous
    res = out.reshape(c2.shape) if direct else np.empty(c2.shape, dt)
    if c2.size:
        _decode2(c2, s2, ef, sf, bs, ba.tensor_scale, res)
    if direct:
        return out
    res = np.moveaxis(res.reshape(mshape), -1, ax)
    if out is not None:
        out[...] = res
        return out
    return np.ascontiguousarray(res)


def _all_values(fmt) -> np.ndarray:
    """float64 value of every code through the core decode (keeps -0.0, unlike
    ``fmt.values()``); codes outside a symmetric integer range decode as 0."""
    v = fmt._cache.get("block_all_values")
    if v is None:
        from .codec import decode as _dec

        codes = np.arange(1 << fmt.bits, dtype=np.int64)
        if isinstance(fmt, IntFormat) and fmt.symmetric:
            codes[1 << (fmt.bits - 1)] = 0
        with np.errstate(invalid="ignore"):  # the core decode may produce signalling NaN payloads
            v = np.asarray(_dec(codes, fmt, dtype=np.float64))
        fmt._cache["block_all_values"] = v
    return v


def _elem_table(ef, dt) -> np.ndarray:
    key = f"block_elem_table_{np.dtype(dt).name}"
    t = ef._cache.get(key)
    if t is None:
        t = _all_values(ef).astype(dt)
        ef._cache[key] = t
    return t


def _decode2(c2, s2, ef, sf, bs, ts, res):
    from ._kernels import block as K

    n = c2.shape[1]
    if ef.bits > 16:
        raise ValueError(f"element format {ef.name} is too wide for block decoding")
    if res.dtype == np.float32 and _is_e8m0(sf) and ts is None:
        K.mx_decode_f32(c2, s2, np.int64(bs), _elem_table(ef, np.float32), res)
        return
    if res.dtype == np.float32:
        svals = _scale_values(sf) if sf.bits <= 16 else None
        if svals is not None:
            K.nv_decode_f32(c2, s2, np.int64(bs), _elem_table(ef, np.float32), svals,
                            np.float32(1.0) if ts is None else np.float32(ts), res)
            return
    # exact float64 (and wide scale formats)
    from .codec import decode as _dec

    sv = _all_values(sf) if sf.bits <= 16 else None
    svals64 = sv[s2.astype(np.int64)] if sv is not None else np.asarray(_dec(s2, sf, dtype=np.float64))
    if ts is not None:
        svals64 = svals64 * float(ts)
    ev = _elem_table(ef, np.float64)[c2.astype(np.int64)]
    with np.errstate(over="ignore", invalid="ignore"):
        res[...] = ev * np.repeat(svals64, bs, axis=1)[:, :n]


# =========================================================================== quantize


def quantize(x, fmt, *, dtype=None, **options) -> np.ndarray:
    """``decode(encode(x, fmt, **options))`` in x's float dtype (float32 for narrower inputs).

    Examples
    --------
    >>> import numfmt
    >>> numfmt.quantize([0.3, -1.2, 5.0, 100.0], "mxfp4").tolist()   # scale 2**4
    [0.0, -0.0, 8.0, 96.0]
    """
    ba = encode(x, fmt, **options)
    if dtype is None:
        dtype = np.float64 if np.asarray(x).dtype == np.float64 else np.float32
    return decode(ba, dtype=dtype)


# =========================================================================== PTX random bits


def ptx_e2m1x4_rbits(words, count: int | None = None) -> np.ndarray:
    """Per-element random bits of ``cvt.rs.satfinite.e2m1x4.f32`` (8 per FP4 element).

    One 32-bit word serves four consecutive elements ``x0..x3`` issued as
    ``cvt.rs... d, {x3, x2, x1, x0}, rbits`` (TransformerEngine and CUTLASS,
    which gives ``x0`` in the low nibble). PTX gives operand a (= x3) bits
    31:24, b (= x2) bits 15:8, e (= x1) bits 23:16 and f (= x0) bits 7:0 [U:
    from the ISA text, without its figure]. Use with ``rounding="stochastic",
    rbits=8, random=ptx_e2m1x4_rbits(words)``.

    Examples
    --------
    >>> from numfmt.block import ptx_e2m1x4_rbits
    >>> [hex(v) for v in ptx_e2m1x4_rbits([0xAABBCCDD])]
    ['0xdd', '0xbb', '0xcc', '0xaa']
    """
    w = np.asarray(words)
    if w.dtype.kind not in "ui" or (w.size and (int(w.min()) < 0 or int(w.max()) >= 1 << 32)):
        raise ValueError("words must be unsigned 32-bit integers")
    w = w.astype(np.uint32).reshape(-1)
    out = np.empty((w.size, 4), np.uint8)
    out[:, 0] = w & 0xFF
    out[:, 1] = (w >> 16) & 0xFF
    out[:, 2] = (w >> 8) & 0xFF
    out[:, 3] = (w >> 24) & 0xFF
    out = out.reshape(-1)
    if count is not None:
        if count > out.size:
            raise ValueError(f"count={count} needs {-(-count // 4)} words, got {w.size}")
        out = out[:count]
    return out


# =========================================================================== benchmark


def bench_rows(n: int = 10_000_000, *, repeats: int = 5):
    """Throughput rows ``(name, elements/s)`` of block encode/decode along the last axis.

    Includes ``np.copyto`` of float32 measured in the same process (ratios are
    what matter). Single-threaded numba kernels; medians of ``repeats`` runs
    after a warm-up; decode writes into a reused float32 buffer (``out=``),
    encode allocates its BlockArray.

    Examples
    --------
    >>> rows = bench_rows(4096, repeats=1)
    >>> rows[0][0]
    'np.copyto float32'
    """
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(np.float32)
    y = np.empty_like(x)

    def med(fn):
        fn()
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return x.size / float(np.median(ts))

    rows = [("np.copyto float32", med(lambda: np.copyto(y, x)))]
    for name in ("mxfp4", "mxfp8_e4m3", "nvfp4"):
        ba = encode(x, name)
        rows.append((f"{name} encode", med(lambda name=name: encode(x, name))))
        rows.append((f"{name} decode", med(lambda ba=ba: decode(ba, out=y))))
    return rows
