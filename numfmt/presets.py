"""Named formats and the registry: `get_format(name)` and `list_formats()`.

Canonical names follow ml_dtypes (`float8_e4m3fn` ...), IEEE (`binary16`)
and IEEE P3109 (`binary8p3se`: K=8 bits, precision P=3, signed, extended).
Short aliases live only in the alias table.
"""

from __future__ import annotations

import re

import numpy as np

from .choices import check_choice, did_you_mean
from .formats import P3109_EDITIONS, FloatFormat, IntFormat

__all__ = ["get_format", "list_formats", "p3109_format", "register_format"]


def _ieee(name: str, e: int, m: int, **kw) -> FloatFormat:
    return FloatFormat(name=name, exponent_bits=e, mantissa_bits=m, bias=(1 << (e - 1)) - 1, **kw)


def _fn(name: str, e: int, m: int, bias: int | None = None) -> FloatFormat:
    return FloatFormat(
        name=name, exponent_bits=e, mantissa_bits=m,
        bias=(1 << (e - 1)) - 1 if bias is None else bias, inf="none", nan="fn",
    )


def _fnuz(name: str, e: int, m: int, bias: int) -> FloatFormat:
    return FloatFormat(
        name=name, exponent_bits=e, mantissa_bits=m, bias=bias,
        inf="none", nan="fnuz", negative_zero=False,
    )


def _finite(name: str, e: int, m: int) -> FloatFormat:
    return FloatFormat(
        name=name, exponent_bits=e, mantissa_bits=m, bias=(1 << (e - 1)) - 1,
        inf="none", nan="none", overflow_nan=False,
    )


def p3109_format(k: int, p: int, *, signed: bool = True, extended: bool = True,
                 edition: str = P3109_EDITIONS[-1]) -> FloatFormat:
    """The IEEE P3109 format Binary{K}p{P}{s|u}{e|f} (Interim Report v4.0 §3), under the rules of `edition`.

    Parameters
    ----------
    k, p : int
        Bit width K and precision P.
    signed, extended : bool
        Signedness and domain (extended: with infinities; finite: without).
    edition : {"model-2026-07-07", "interim-v4.0"}
        Which P3109 text the saturation rules follow. `"model-2026-07-07"` (default: the
        newest public material, the P3109 formal model imandra-ai/ieee-p3109, change
        "Saturate to NaN in finite domains" of 2026-07-07, as gfloat 0.5.2 also rounds):
        under `saturation="none"` overflow and ±inf into a finite-domain format give NaN
        (except a finite value under a rounding toward zero for its sign, which gives max),
        and to_odd overflow of an unsigned extended format gives +inf.
        `"interim-v4.0"` (IEEE P3109 Interim Report v4.0, 2026-06-26): both give max.
        The name of a non-default edition's format ends in `@edition`
        (`"binary8p3sf@interim-v4.0"`, also accepted by `numfmt.get_format`).

    Examples
    --------
    >>> import numfmt
    >>> f = numfmt.p3109_format(8, 3)
    >>> f.name, f.bias, f.max
    ('binary8p3se', 16, 49152.0)
    >>> numfmt.encode([1e9], "binary8p3sf").tolist(), numfmt.encode([1e9], "binary8p3sf@interim-v4.0").tolist()
    ([128], [127])
    """
    for n, v in (("k", k), ("p", p)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{n} must be an int, got {v!r}")
    for n, v in (("signed", signed), ("extended", extended)):
        if not isinstance(v, (bool, np.bool_)):
            raise TypeError(f"{n} must be a bool, got {type(v).__name__}: {v!r}")
    edition = check_choice("edition", edition, P3109_EDITIONS)
    if not 2 <= k <= 32:
        raise ValueError(f"P3109 bit width k must be 2..32, got {k}")
    if not (0 < p < k if signed else 0 < p <= k):
        raise ValueError(f"P3109 precision p must satisfy 0 < p {'<' if signed else '<='} k, got k={k}, p={p}")
    e = k - p + (0 if signed else 1)
    if e > 11:
        raise ValueError(f"P3109 format with k={k}, p={p} has {e} exponent bits; at most 11 are supported")
    bias = 1 << (k - p - 1) if signed else 1 << (k - p)
    name = f"binary{k}p{p}{'s' if signed else 'u'}{'e' if extended else 'f'}"
    if edition != P3109_EDITIONS[-1]:
        name += f"@{edition}"
    return FloatFormat(
        name=name, exponent_bits=e, mantissa_bits=p - 1, bias=bias, signed=signed,
        inf="p3109" if extended else "none", nan="p3109", negative_zero=False,
        overflow_nan=edition != "interim-v4.0", p3109=True, p3109_edition=edition,
    )


_PRESETS: list = [
    _ieee("binary16", 5, 10),
    _ieee("bfloat16", 8, 7),
    _ieee("binary32", 8, 23),
    FloatFormat(name="binary64", exponent_bits=11, mantissa_bits=52, bias=1023),
    _ieee("tf32", 8, 10),
    _ieee("float8_e5m2", 5, 2),
    _ieee("float8_e4m3", 4, 3),
    _ieee("float8_e3m4", 3, 4),
    _fn("float8_e4m3fn", 4, 3),
    _fnuz("float8_e4m3fnuz", 4, 3, 8),
    _fnuz("float8_e4m3b11fnuz", 4, 3, 11),
    _fnuz("float8_e5m2fnuz", 5, 2, 16),
    FloatFormat(
        name="float8_e8m0fnu", exponent_bits=8, mantissa_bits=0, bias=127, signed=False,
        subnormals=False, has_zero=False, inf="none", nan="fn", negative_zero=False,
    ),
    FloatFormat(
        name="ue4m3", exponent_bits=4, mantissa_bits=3, bias=7, signed=False,
        inf="none", nan="fn", negative_zero=False,
    ),
    FloatFormat(  # UE5M3 block scale (PTX ISA 13.4 "Alternate floating-point data formats")
        name="ue5m3", exponent_bits=5, mantissa_bits=3, bias=15, signed=False,
        inf="none", nan="fn", negative_zero=False,
    ),
    # configurable-bias families at their default bias (numfmt.bias.with_bias gives the others)
    FloatFormat(name="cfloat8_1_4_3", exponent_bits=4, mantissa_bits=3, bias=7, inf="none", nan="none",
                overflow_nan=False),
    FloatFormat(name="cfloat8_1_5_2", exponent_bits=5, mantissa_bits=2, bias=15, inf="none", nan="none",
                overflow_nan=False),
    _ieee("gaudi2_e4m3", 4, 3),
    _finite("float6_e2m3fn", 2, 3),
    _finite("float6_e3m2fn", 3, 2),
    _finite("float4_e2m1fn", 2, 1),
    IntFormat(name="int2", bits=2),
    IntFormat(name="int4", bits=4),
    IntFormat(name="int8", bits=8),
    IntFormat(name="int16", bits=16),
    IntFormat(name="int32", bits=32),
    IntFormat(name="uint2", bits=2, signed=False),
    IntFormat(name="uint4", bits=4, signed=False),
    IntFormat(name="uint8", bits=8, signed=False),
    IntFormat(name="uint16", bits=16, signed=False),
    IntFormat(name="uint32", bits=32, signed=False),
    IntFormat(name="int8_symmetric", bits=8, symmetric=True),
    IntFormat(name="int4_symmetric", bits=4, symmetric=True),
    # the narrow integers of quantization studies (Kumar et al. 2024 sweep int3 .. int8)
    *(IntFormat(name=f"int{b}", bits=b) for b in (3, 5, 6, 7)),
    *(IntFormat(name=f"int{b}_symmetric", bits=b, symmetric=True) for b in (2, 3, 5, 6, 7)),
    IntFormat(name="mxint8_element", bits=8, scale_exp=-6),
]
_PRESETS += [
    p3109_format(8, p, signed=s, extended=x)
    for p in range(1, 8)
    for s in (True, False)
    for x in (True, False)
]
_PRESETS += [p3109_format(8, 8, signed=False, extended=x) for x in (True, False)]
_PRESETS += [
    p3109_format(k, p, signed=True, extended=x)
    for k, p in ((4, 1), (4, 2), (4, 3), (6, 2), (6, 3))
    for x in (True, False)
]

ALIASES = {
    "fp16": "binary16", "half": "binary16", "float16": "binary16", "f16": "binary16",
    "bf16": "bfloat16",
    "fp32": "binary32", "float32": "binary32", "single": "binary32", "f32": "binary32",
    "fp64": "binary64", "float64": "binary64", "double": "binary64", "f64": "binary64",
    "e5m2": "float8_e5m2", "fp8_e5m2": "float8_e5m2", "ocp_e5m2": "float8_e5m2",
    "e4m3": "float8_e4m3fn", "fp8_e4m3": "float8_e4m3fn", "ocp_e4m3": "float8_e4m3fn",
    "e4m3fn": "float8_e4m3fn", "e4m3fnuz": "float8_e4m3fnuz", "e5m2fnuz": "float8_e5m2fnuz",
    "e3m4": "float8_e3m4",
    "e3m2": "float6_e3m2fn", "fp6_e3m2": "float6_e3m2fn",
    "e2m3": "float6_e2m3fn", "fp6_e2m3": "float6_e2m3fn",
    "e2m1": "float4_e2m1fn", "fp4": "float4_e2m1fn", "fp4_e2m1": "float4_e2m1fn",
    "e8m0": "float8_e8m0fnu", "ue8m0": "float8_e8m0fnu",
}

REGISTRY: dict = {}


def register_format(fmt, *, aliases: tuple[str, ...] = ()) -> None:
    """Add `fmt` (and aliases) to the registry; a name may be registered once.

    Examples
    --------
    >>> import numfmt
    >>> numfmt.register_format(numfmt.FloatFormat(name="my_e3m3", exponent_bits=3,
    ...     mantissa_bits=3, bias=3, inf="none", nan="none", overflow_nan=False))
    >>> numfmt.get_format("my_e3m3").max
    30.0
    """
    if not isinstance(fmt, (FloatFormat, IntFormat)):
        raise TypeError(f"fmt must be a FloatFormat or IntFormat, got {type(fmt).__name__}")
    for n in (fmt.name, *aliases):
        key = n.lower()
        if key in REGISTRY or key in ALIASES:
            raise ValueError(f"format name {n!r} is already registered")
    REGISTRY[fmt.name.lower()] = fmt
    for a in aliases:
        ALIASES[a.lower()] = fmt.name.lower()


for _f in _PRESETS:
    REGISTRY[_f.name] = _f

_P3109_RE = re.compile(r"^binary(\d+)p(\d+)([su])([ef])(?:@(.+))?$")

BLOCK_FORMAT_NAMES: set = set()  # names and aliases of block formats (numfmt.block.formats adds them)


def dtype_format_name(fmt) -> str | None:
    """The format name of a torch, ml_dtypes or numpy dtype (or scalar type), else None.

    Library dtypes carry the numfmt name of their format (`torch.float8_e4m3fn`,
    `ml_dtypes.float8_e5m2`, `numpy.float16`); torch's packed
    `float4_e2m1fn_x2` holds `float4_e2m1fn` elements.
    """
    if type(fmt).__module__ == "torch" and type(fmt).__name__ == "dtype":
        return str(fmt).removeprefix("torch.").removesuffix("_x2")
    if isinstance(fmt, np.dtype) or (isinstance(fmt, type) and issubclass(fmt, np.generic)):
        return np.dtype(fmt).name
    return None


# family names that are not one format, and the formats they stand for (the did-you-mean of get_format)
AMBIGUOUS = {"fp8": ("e4m3", "e5m2"), "float8": ("e4m3", "e5m2"), "fp6": ("e2m3", "e3m2"),
             "float6": ("e2m3", "e3m2"), "mxfp8": ("mxfp8_e4m3", "mxfp8_e5m2"), "mxfp6": ("mxfp6_e2m3", "mxfp6_e3m2")}


def get_format(fmt):
    """Return the format object for a name (or the format itself).

    Parameters
    ----------
    fmt : str or FloatFormat or IntFormat or dtype
        A canonical name, an alias (`"e4m3"`, `"bf16"`, `"fp4"` ...), any
        P3109 name `binary{K}p{P}{s|u}{e|f}`, a format object, or a torch,
        ml_dtypes or numpy dtype (`torch.float8_e4m3fn`, `ml_dtypes.float8_e5m2`,
        `np.float16`).

    Raises
    ------
    TypeError
        `fmt` is none of these types.
    ValueError
        Unknown name (the message suggests close matches, and points a block
        format's name at `get_block_format`), or a dtype without a format.

    Examples
    --------
    >>> import numfmt
    >>> numfmt.get_format("e4m3").name
    'float8_e4m3fn'
    >>> numfmt.get_format("binary8p4sf").max
    240.0
    """
    if isinstance(fmt, (FloatFormat, IntFormat)):
        return fmt
    dname = dtype_format_name(fmt)
    if dname is not None:
        try:
            return get_format(dname)
        except ValueError:
            raise ValueError(f"dtype {fmt} has no numfmt format") from None
    if not isinstance(fmt, str):
        raise TypeError(f"fmt must be a format name, format object or dtype, got {type(fmt).__name__}: {fmt!r}")
    key = fmt.strip().lower()
    key = ALIASES.get(key, key)
    f = REGISTRY.get(key)
    if f is not None:
        return f
    m = _P3109_RE.match(key)
    if m:
        if m[5] is not None and m[5] not in P3109_EDITIONS:
            raise ValueError(f"unknown format {fmt!r}: P3109 edition {m[5]!r} is not one of {list(P3109_EDITIONS)}")
        try:
            return p3109_format(int(m[1]), int(m[2]), signed=m[3] == "s", extended=m[4] == "e",
                                edition=m[5] or P3109_EDITIONS[-1])
        except ValueError as e:
            raise ValueError(f"format {fmt!r}: {e}") from None
    if key in BLOCK_FORMAT_NAMES:
        raise ValueError(f"unknown format {fmt!r}: that is a block format: use numfmt.block.get_block_format, "
                         f"or pass it to numfmt.encode / numfmt.quantize")
    hint = did_you_mean(key, [*REGISTRY, *ALIASES, *sorted(BLOCK_FORMAT_NAMES)], n=4)
    if key in AMBIGUOUS:  # a family name: name its members
        hint = f"; {key} is a family: did you mean {' or '.join(map(repr, AMBIGUOUS[key]))}?"
    raise ValueError(f"unknown format {fmt!r}{hint} (numfmt.list_formats() lists them)")


def list_formats() -> list[str]:
    """Canonical names of every registered format (aliases excluded).

    Examples
    --------
    >>> import numfmt
    >>> "float8_e4m3fn" in numfmt.list_formats()
    True
    """
    return list(REGISTRY)
