"""Block formats as data: [`BlockFormat`][numfmt.block.BlockFormat], the scale rules and recipes, the registry."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..choices import check_choice, did_you_mean
from ..compat import CompatProfile, profiles_markdown, warn_unknown_installed
from ..formats import FloatFormat, IntFormat
from ..presets import ALIASES, BLOCK_FORMAT_NAMES, REGISTRY, get_format
from .kinds import check_gguf
from .layout import LAYOUTS, check_layout

POW2_RULES = ("floor", "ceil", "even", "rceil", "rceil_torchao")
SCALE_RULES = (*POW2_RULES, "amax", "max_abs_finite")
# torchao's versions: 0.18.0 (the last release) and its main branch at commit 36027d8 (2026-08-21);
# the bare "torchao" means the newest
TORCHAO_018 = "torchao==0.18"
TORCHAO_MAIN = "torchao==main-2026-08-21"
TORCHAO = (TORCHAO_018, TORCHAO_MAIN)
POW2_RECIPES = ("ocp", "torchao", *TORCHAO, "gguf")
AMAX_RECIPES = ("te", "torchao", *TORCHAO, "modelopt", "gguf")
RECIPES = ("ocp", "torchao", *TORCHAO, "te", "modelopt", "p3109", "gguf")

_TORCHAO_PROFILES = (
    CompatProfile(TORCHAO_018, "torchao", "0.18", "torchao 0.18.0 CPU, torch 2.13", False, (
        ("block holding ±inf (floor/ceil/even)", "scale from inf's bit pattern (2^128): E4M3 FLOOR `0xF7`"),
        ("element division (floor/ceil/even)", "x / max(scale, 2^-126): a block with scale code `0x00` is divided "
                                               "by 2^-126"),
        ("NaN-scale block elements", "x / inf: ±0 (`0x00`/`0x80`), NaN elements NaN"),
        ("RCEIL", "`scale_rule=\"rceil_torchao\"`: ceil(float32 log2(amax / max)) clamped to ±127, inf → `0xFE`; "
                  "scale code 0 multiplies by 1.0; elements clamped to ±max"),
    )),
    CompatProfile(TORCHAO_MAIN, "torchao", "main", "pytorch/ao main at commit 36027d8 (2026-08-21), CPU, torch 2.13",
                  True, (
        ("block holding ±inf (floor/ceil/even)", "scale `0xFF` (NaN), like a NaN block"),
        ("element scaling (floor/ceil/even/rceil)", "x * 2^(127 - code) in float32 (scale code `0x00`: * 2^127), "
                                                    "i.e. exact division by the decoded scale"),
        ("NaN-scale block elements", "x * NaN: every element NaN (E4M3/E5M2 `0x7F`)"),
        ("RCEIL", "`scale_rule=\"rceil\"`: fp32(amax * fp32(1/max)) rounded up to a power of two without "
                  "saturation (> 2^127, ±inf, NaN → `0xFF`); no element clamp (E5M2 may overflow to inf). "
                  "`rceil_torchao` is 0.18's rule only"),
    )),
)


def recipe_profiles() -> tuple[CompatProfile, ...]:
    """The versioned torchao recipes numfmt knows, with the rules each changes.

    `recipe="torchao"` means the newest (`newest=True`): torchao's main branch as of the date in
    its name, since no release after 0.18.0 exists; `recipe="torchao==0.18"` pins 0.18.0. The
    amax (NVFP4) recipe is the same in both. A block array records the pinned name.

    Examples
    --------
    >>> import numfmt
    >>> [(p.name, p.newest) for p in numfmt.block.recipe_profiles()]
    [('torchao==0.18', False), ('torchao==main-2026-08-21', True)]
    """
    return _TORCHAO_PROFILES


def recipe_profiles_markdown() -> str:
    """Markdown tables of the torchao recipe versions (generated into the docs)."""
    return profiles_markdown(_TORCHAO_PROFILES)


def resolve_recipe(recipe: str, rule: str) -> tuple[str, str]:
    """(name to record, implementation) of a checked recipe spelling: the bare `"torchao"` is the
    newest torchao profile; the implementation of a torchao recipe is `"torchao"` (0.18's rules, and
    the amax recipe of both versions) or `"torchao_main"`."""
    if not recipe.startswith("torchao"):
        return recipe, recipe
    warn_unknown_installed("torchao", ("0.18",))
    pinned = TORCHAO_MAIN if recipe == "torchao" else recipe
    impl = "torchao_main" if pinned == TORCHAO_MAIN and rule in POW2_RULES else "torchao"
    return pinned, impl


def recipes_for(rule: str):
    if rule == "amax":
        return AMAX_RECIPES
    if rule == "max_abs_finite":
        return ("p3109",)
    return POW2_RECIPES


def default_recipe(rule: str) -> str:
    return recipes_for(rule)[0] if rule != "amax" else "te"


NONFINITE = ("amax", "nan", "finite")


@dataclass(frozen=True, kw_only=True)
class BlockFormat:
    """A block-scaled format: `block_size` elements share one scale.

    The value of element `i` of a block is `element(code_i) * scale(s)`
    (times the tensor scale when there is one).

    Parameters
    ----------
    name : str
        Name used by the registry.
    element : str or FloatFormat or IntFormat
        Element format (`"e2m1"`, `"e4m3"`, `"mxint8_element"` ...).
    scale : str or FloatFormat
        Scale format (`"e8m0"`, `"ue4m3"`, `"binary32"`, `"binary8p1uf"` ...).
    block_size : int
        Elements per block, >= 1 (32 for MX, 16 for NVFP4).
    scale_rule : str
        Default scale rule: a power-of-two rule (`"floor"` ...) or `"amax"`.
    recipe : str
        Default recipe (`"ocp"` for power-of-two rules, `"te"` for amax).
    tensor_scale : bool
        Whether `encode` computes a second-level float32 tensor scale by
        default (NVFP4: True).
    layout : {"planar", "gguf_mxfp4", "gguf_nvfp4"}
        Serialized layout of [`BlockArray.to_bytes`][numfmt.block.BlockArray.to_bytes]:
        `"planar"` (scales, then packed elements) or llama.cpp's `block_mxfp4` /
        `block_nvfp4` bytes (docs/block-formats.md, "Serialized layouts").

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
    layout: str = "planar"

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
        rule = check_choice("scale_rule", self.scale_rule, SCALE_RULES)
        object.__setattr__(self, "scale_rule", rule)
        recipe = self.recipe
        if recipe is None:
            recipe = default_recipe(rule)
        recipe = check_choice("recipe", recipe, recipes_for(rule))
        object.__setattr__(self, "recipe", recipe)
        if not isinstance(self.tensor_scale, bool):
            raise TypeError(f"tensor_scale must be a bool, got {self.tensor_scale!r}")
        check_scale_capable(self.scale, rule)
        if isinstance(self.element, FloatFormat) and not self.element.signed:
            raise ValueError(f"element format {self.element.name} must be signed")
        object.__setattr__(self, "layout", check_choice("layout", self.layout, LAYOUTS))
        check_layout(self)
        if recipe == "gguf":
            check_gguf(self, rule)

    @property
    def bits_per_element(self) -> float:
        """Storage bits per element, scale included (tensor scale excluded)."""
        return self.element.bits + self.scale.bits / self.block_size

    def exact_in(self, dtype) -> bool:
        """Whether `dtype` holds every element value and every scale (and the float32 tensor scale
        when there is one): the float dtypes `numfmt.decode` may give the block's values in."""
        dt = np.dtype(dtype)
        return (self.element.exact_in(dt) and self.scale.exact_in(dt)
                and (not self.tensor_scale or np.finfo(dt).bits >= 32))

    def __str__(self) -> str:
        return self.name


def pow2_range(sf: FloatFormat) -> tuple[int, int]:
    """Exponents of the smallest and largest positive powers of two of a scale format."""
    lo = sf.emin - sf.mantissa_bits if (sf.has_zero and sf.subnormals) else sf.emin
    return lo, sf.emax


def check_scale_capable(sf, rule: str) -> None:
    what = "power-of-two scales" if rule in POW2_RULES else "positive scales"
    if not isinstance(sf, FloatFormat):
        raise ValueError(f"scale format {sf.name} cannot hold the {what} of scale_rule={rule!r} "
                         "(an integer format has no fractional scales); use e.g. 'e8m0' or 'ue4m3'")
    lo, hi = pow2_range(sf)
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
    # llama.cpp / GGUF: the exact bytes of quantize_row_mxfp4_ref / quantize_row_nvfp4_ref
    BlockFormat(name="gguf_mxfp4", element="float4_e2m1fn", scale="e8m0", block_size=32, recipe="gguf",
                layout="gguf_mxfp4"),
    BlockFormat(name="gguf_nvfp4", element="float4_e2m1fn", scale="ue4m3", block_size=16, scale_rule="amax",
                recipe="gguf", layout="gguf_nvfp4"),
]
_BLOCK_ALIASES = {"mxfp4_e2m1": "mxfp4", "mxfp8": "mxfp8_e4m3", "mxfp6": "mxfp6_e2m3"}
_BLOCK_REGISTRY: dict = {f.name: f for f in _BLOCK_PRESETS}
BLOCK_FORMAT_NAMES.update(_BLOCK_REGISTRY, _BLOCK_ALIASES)  # get_format points these names here


def register_block_format(fmt: BlockFormat, *, aliases: tuple[str, ...] = ()) -> None:
    """Add a [`BlockFormat`][numfmt.block.BlockFormat] to the registry (names are accepted by `numfmt.encode`).

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

    for n in (fmt.name, *aliases):
        key = n.lower()
        if key in _BLOCK_REGISTRY or key in _BLOCK_ALIASES or key in REGISTRY or key in ALIASES:
            raise ValueError(f"format name {n!r} is already registered")
    _BLOCK_REGISTRY[fmt.name.lower()] = fmt
    for a in aliases:
        _BLOCK_ALIASES[a.lower()] = fmt.name.lower()
    BLOCK_FORMAT_NAMES.update((fmt.name.lower(), *(a.lower() for a in aliases)))


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
    """Whether `fmt` names or is a block format.

    Examples
    --------
    >>> from numfmt.block import is_block_format
    >>> is_block_format("mxfp4"), is_block_format("e2m1")
    (True, False)
    """
    return _lookup(fmt) is not None


def get_block_format(fmt) -> BlockFormat:
    """The [`BlockFormat`][numfmt.block.BlockFormat] of a name (or the format itself).

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
    raise ValueError(f"unknown block format {fmt!r}{did_you_mean(fmt, [*_BLOCK_REGISTRY, *_BLOCK_ALIASES])}")
