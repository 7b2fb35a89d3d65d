"""Compatibility profiles: reproduce another implementation's conversions.

Each profile is a table of rule changes applied on top of the format (see
`docs/compat.md`). This module turns a profile into kernel parameters (slot
overrides of the format's `kernel_params`) plus, where a library's rule is not
a rounding rule at all, a pre-step (convert the input to float32 first, as
ml_dtypes and torch do, through the same rounding funnel) or a post-step that
only rewrites codes bit by bit (NaN payloads, integer wrap-around).

Profiles are versioned (`CompatProfile`): `compat="ml_dtypes==0.6"` pins ml_dtypes 0.6,
the bare `compat="ml_dtypes"` means the newest version numfmt knows (0.7).
Every rule here was measured against the library and version it names (ml_dtypes 0.6.0
and 0.7.0 with numpy 2 on x86-64, torch 2.13 CPU); `tests/test_compat_*.py` hold the evidence.

Examples
--------
>>> import numpy as np, numfmt
>>> x = np.array([3.0, 0.0, -2.0, np.nan], np.float32)
>>> numfmt.encode(x, "float8_e8m0fnu", compat="ml_dtypes").tolist()   # ties up; 0, <0 -> NaN
[129, 255, 255, 255]
>>> numfmt.encode(x, "float8_e8m0fnu", compat="torch").tolist()       # sign ignored; 0 -> 0x00
[129, 0, 128, 255]
>>> numfmt.encode(x[:3], "float8_e8m0fnu", compat="ptx", rounding="toward_positive").tolist()
[129, 0, 0]
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import sys
import warnings
from dataclasses import dataclass

import numpy as np

from ._kernels import params as _P
from ._kernels.params import kernel_params
from .choices import check_choice
from .formats import IntFormat
from .policy import parse_nan, parse_rounding, parse_saturation

__all__ = ["PROFILES", "CompatProfile", "CompatVersionWarning", "compat_profiles", "covered_formats",
           "plan", "resolve_profile"]


class CompatVersionWarning(UserWarning):
    """The installed library has a version that no compat profile of numfmt was measured against."""


@dataclass(frozen=True)
class CompatProfile:
    """One versioned compat profile: a library, the version its rules were measured on, and the rules.

    Attributes
    ----------
    name : str
        The pinned spelling (`"ml_dtypes==0.7"`); `compat=` also takes the bare library
        name, which means the newest profile of that library.
    library : str
        `"ml_dtypes"`, `"torch"`, `"ptx"` (or `"torchao"` for block recipes).
    version : str or None
        The library's `major.minor` (None: the profile names no library version).
    measured : str
        What the rules were measured against.
    newest : bool
        Whether the bare library name means this profile.
    rules : tuple of (str, str)
        (rule, what the profile does) rows where it differs from the profile before it
        (for the oldest profile of a library: from numfmt's default rules).
    """

    name: str
    library: str
    version: str | None
    measured: str
    newest: bool
    rules: tuple[tuple[str, str], ...]


# ml_dtypes' own types, converted by ml_dtypes through float32 (0.6) or directly (0.7).
_ML_DTYPES_FLOATS = (
    "float8_e5m2", "float8_e4m3", "float8_e3m4", "float8_e4m3fn", "float8_e4m3fnuz",
    "float8_e4m3b11fnuz", "float8_e5m2fnuz", "float8_e8m0fnu", "float6_e2m3fn",
    "float6_e3m2fn", "float4_e2m1fn", "bfloat16",
)
# numpy's own types (what ``astype`` does beside the ml_dtypes types).
_NUMPY_FLOATS = ("binary16", "binary32")
_ML_DTYPES_INTS = ("int2", "int4", "uint2", "uint4")
_NUMPY_INTS = ("int8", "int16", "int32", "uint8", "uint16", "uint32")
_TORCH = ("float8_e5m2", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu")
_PTX = ("float8_e5m2", "float8_e4m3fn", "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn", "float8_e8m0fnu",
        "binary16", "bfloat16")
# cvt.{rn,rz,rm,rp}.f16.f32 and cvt.{rn,rz}.bf16.f32: checked on an H200 against all 2**32 float32
# inputs (tools/device/ptx_cvt_check.py); cvt.rs.{f16x2,bf16x2}.f32 follows the PTX text.
_PTX_HALF_ROUNDING = {
    "binary16": ("nearest_even", "toward_zero", "toward_negative", "toward_positive", "stochastic"),
    "bfloat16": ("nearest_even", "toward_zero", "stochastic"),
}

_COVERED = {
    "ml_dtypes": _ML_DTYPES_FLOATS + _NUMPY_FLOATS + _ML_DTYPES_INTS + _NUMPY_INTS,
    "torch": _TORCH,
    "ptx": _PTX,
}

_ML06_RULES = (
    ("float64 / integer input → ml_dtypes float type",
     "rounded to float32 first (RNE), then to the type: double rounding. float64 `1.5 - 2**-40` → "
     "E8M0 `0x80` (direct: `0x7F`)"),
    ("`float8_e8m0fnu` ties", "**up**: 1.5 → `0x80`, 3.0 → `0x81`, 0.75 → `0x7F` (the implicit bit is the "
     "parity bit)"),
    ("`float8_e8m0fnu`, float32 subnormal input",
     "(0, 2^-127] → `0x00`, (2^-127, 2^-126) → `0x01`: the float32 exponent field 0 is kept and the "
     "fraction rounded to nearest even at quantum 2^-126 (bit pattern `0x00400001` → `0x01`)"),
    ("`float8_e8m0fnu`: 0, -0, negatives, ≥ 1.5·2^127, ±inf, NaN", "all `0xFF` (NaN)"),
    ("float → `int2`/`int4`/`uint2`/`uint4`",
     "truncate toward zero, keep the low bits (wrap): 7.9 → 7, -7.9 → `0x9`, 8 → `0x8` (-8), 20 → `0x4`. "
     "NaN, ±inf and every x > 2^31 - 1 or ≤ -2^31 - 1 → 0"),
)
_ML07_RULES = (
    ("float64 / integer input → ml_dtypes float type",
     "rounded once, directly (no float32 step): float64 `-100.00000000000001` → E4M3 `0xED` (0.6: `0xEC`)"),
    ("`float8_e8m0fnu`, float32 subnormal input",
     "nearest on the E8M0 grid, ties up, below 2^-127 → `0x00`: bit pattern `0x00400001` → `0x00` "
     "(0.6: `0x01`)"),
    ("float → `int2`/`int4`/`uint2`/`uint4`",
     "truncate toward zero; a result outside the type's range, NaN and ±inf → 0: int4 20 → `0x0` "
     "(0.6: `0x4`), 8 → `0x0`, -8.5 → `0x8`; uint4 -7.9 → `0x0`"),
)
_TORCH_RULES = (
    ("float64 input", "rounded to float32 first, like ml_dtypes 0.6"),
    ("`float8_e4m3fn` finite overflow and ±inf", "±448 (`0x7E` / `0xFE`): torch ≥ 2.12 saturates"),
    ("`float8_e8m0fnu` ties", "up (1.5 → `0x80`, 3.0 → `0x81`)"),
    ("`float8_e8m0fnu` sign and ±0", "sign ignored (-2 → `0x80`); ±0 → `0x00`"),
    ("`float8_e8m0fnu` float32 subnormals", "as ml_dtypes 0.6: (0, 2^-127] → `0x00`, (2^-127, 2^-126) → `0x01`"),
)
_PTX_RULES = (
    ("finite overflow, ±inf", "±MAX_NORM (`.satfinite`)"),
    ("NaN → E4M3 / E5M2", "`0x7F` for either sign"),
    ("NaN → E2M1 / E2M3 / E3M2", "+MAX_NORM for either sign"),
    ("ue8m0", "`cvt.rz` / `cvt.rp` only; zero and negatives → `0x00`"),
)

_PROFILE_LIST = (
    CompatProfile("ml_dtypes==0.6", "ml_dtypes", "0.6", "ml_dtypes 0.6.0, numpy 2.4, x86-64", False, _ML06_RULES),
    CompatProfile("ml_dtypes==0.7", "ml_dtypes", "0.7", "ml_dtypes 0.7.0, numpy 2.4, x86-64", True, _ML07_RULES),
    CompatProfile("torch==2.13", "torch", "2.13", "torch 2.13.0 CPU", True, _TORCH_RULES),
    CompatProfile("ptx", "ptx", None, "PTX ISA `cvt`; f16/bf16/e4m3/e5m2 on an H200", True, _PTX_RULES),
)
_BY_NAME = {p.name: p for p in _PROFILE_LIST}
_NEWEST = {p.library: p.name for p in _PROFILE_LIST if p.newest}
# every accepted spelling -> the pinned profile name
_SPELLINGS = {**_NEWEST, **{p.name: p.name for p in _PROFILE_LIST},
              **{f"{p.name}.0": p.name for p in _PROFILE_LIST if p.version is not None}}
PROFILES = tuple(dict.fromkeys([*_NEWEST, *_BY_NAME]))

# torchao versions the block recipes know (numfmt.block.formats names the recipes)
_DIST = {"ml_dtypes": "ml_dtypes", "torch": "torch", "torchao": "torchao"}


def compat_profiles() -> tuple[CompatProfile, ...]:
    """Every versioned compat profile numfmt knows, with the rules each changes.

    `compat=` takes a profile's pinned name (`"ml_dtypes==0.6"`) or the bare library name
    (`"ml_dtypes"`), which means the newest profile of that library (the one with
    `newest=True`), so results do not depend on what is installed. The block recipes'
    versions (`recipe="torchao==0.18"`) are listed by
    [`numfmt.block.recipe_profiles`][numfmt.block.recipe_profiles].

    Examples
    --------
    >>> import numfmt
    >>> [(p.name, p.newest) for p in numfmt.compat_profiles()][:2]
    [('ml_dtypes==0.6', False), ('ml_dtypes==0.7', True)]
    >>> numfmt.encode([-100.00000000000001], "e4m3", compat="ml_dtypes==0.6").tolist()
    [236]
    >>> numfmt.encode([-100.00000000000001], "e4m3", compat="ml_dtypes").tolist()
    [237]
    """
    return _PROFILE_LIST


def resolve_profile(compat: str) -> CompatProfile:
    """The [`CompatProfile`][numfmt.compat.CompatProfile] a `compat=` spelling means.

    An unknown version of a known library is a ValueError listing the known ones; using a
    profile while the installed library has a version no profile knows warns
    ([`CompatVersionWarning`][numfmt.compat.CompatVersionWarning]).

    Examples
    --------
    >>> from numfmt.compat import resolve_profile
    >>> resolve_profile("ml_dtypes").name, resolve_profile("ml_dtypes==0.6.0").name
    ('ml_dtypes==0.7', 'ml_dtypes==0.6')
    """
    if isinstance(compat, str) and "==" in compat:
        lib = compat.split("==", 1)[0].strip().lower()
        if lib in _NEWEST and compat.strip().lower() not in _SPELLINGS:
            known = [p.name for p in _PROFILE_LIST if p.library == lib]
            raise ValueError(f"compat={compat!r}: numfmt knows no profile for that version of {lib}; "
                             f"known: {known} (and {lib!r} = {_NEWEST[lib]!r})")
    name = _SPELLINGS[check_choice("compat", compat, tuple(_SPELLINGS))]
    prof = _BY_NAME[name]
    warn_unknown_installed(prof.library, [p.version for p in _PROFILE_LIST if p.library == prof.library])
    return prof


@functools.cache
def _installed_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def major_minor(version: str) -> str:
    """`"2.13.0+cpu"` -> `"2.13"`."""
    parts = version.split("+", 1)[0].split(".")
    return ".".join(parts[:2])


def warn_unknown_installed(library: str, known) -> None:
    """Warn (`CompatVersionWarning`) when `library` is installed in a version none of `known` matches."""
    dist = _DIST.get(library)
    if dist is None:
        return
    v = _installed_version(dist)
    if v is None or major_minor(v) in known:
        return
    warnings.warn(
        f"{library} {v} is installed, but numfmt's {library} profiles were measured on "
        f"{', '.join(k for k in known if k)}: results follow those rules, not necessarily {library} {v}",
        CompatVersionWarning, stacklevel=_caller_stacklevel())


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _caller_stacklevel() -> int:
    """The `stacklevel` that attributes a warning raised here to the first frame outside numfmt."""
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


def covered_formats(compat: str) -> tuple[str, ...]:
    """Canonical names of the formats a compat profile covers.

    Examples
    --------
    >>> from numfmt.compat import covered_formats
    >>> covered_formats("torch")
    ('float8_e5m2', 'float8_e4m3fn', 'float8_e4m3fnuz', 'float8_e5m2fnuz', 'float8_e8m0fnu')
    """
    return _COVERED[resolve_profile(compat).library]


def _conflict(compat, kw, given, fixed):
    if given != fixed:
        raise ValueError(f"compat={compat!r} fixes {kw}={fixed!r}; got conflicting {kw}={given!r}")


def _e8m0_ml_params(params):
    """E8M0 as ml_dtypes/torch round it from float32.

    Normal inputs: round to nearest with ties *up* (the implicit bit is the
    parity bit: `EVEN_N`). float32 subnormals (< 2**-126): ml_dtypes keeps the
    float32 exponent field (0) and rounds the trailing field to nearest-even at
    the 2**-126 quantum, so (0, 2**-127] -> code 0x00 and (2**-127, 2**-126) ->
    0x01. That is the flush-to-zero grid {0x00, 2**-126} with quantum 2**-126:
    EMIN = -126, OFF = 0, FTZ = 1 gives exactly this and leaves every normal code
    unchanged (code = E + 127 either way).
    """
    return params._replace(EMIN=-126, OFF=0, FTZ=1, EVEN_N=1)


def _to_float32(xa: np.ndarray, to_float32) -> np.ndarray:
    """The library's first step: the input converted to float32 (`to_float32`, handed in by the
    codec, rounds to nearest even through the funnel)."""
    return to_float32(xa)


def plan(f, *, rounding, saturation, nan, compat, Plan):
    """Kernel plan for format `f` under a compat profile (used by [`numfmt.encode`][numfmt.encode]).

    Examples
    --------
    >>> import numfmt
    >>> numfmt.encode([float("nan")], "float4_e2m1fn", compat="ml_dtypes").tolist()   # NaN -> -0
    [8]
    """
    prof = resolve_profile(compat)
    lib = prof.library
    rname, mode = parse_rounding(rounding)
    parse_saturation(saturation)  # validates the name
    nan = parse_nan(nan)
    if f.name not in _COVERED[lib]:
        raise ValueError(
            f"compat={compat!r} does not cover format {f.name!r}; it covers {list(_COVERED[lib])}"
        )
    if lib == "ml_dtypes":
        return _plan_ml_dtypes(f, rname, saturation, nan, Plan, prof.version)
    if lib == "torch":
        return _plan_torch(f, rname, saturation, nan, Plan)
    return _plan_ptx(f, rname, mode, saturation, nan, Plan)


# ---------------------------------------------------------------- ml_dtypes / numpy
def _plan_ml_dtypes(f, rname, saturation, nan, Plan, version):
    compat = "ml_dtypes"
    v06 = version == "0.6"
    if isinstance(f, IntFormat):  # the default keyword, or the rule these casts really follow
        if rname != "nearest_even":
            _conflict(compat, "rounding", rname, "toward_zero")
    else:
        _conflict(compat, "rounding", rname, "nearest_even")
    _conflict(compat, "saturation", saturation, "none")
    _conflict(compat, "nan", nan, "raise")
    if isinstance(f, IntFormat):
        return _plan_int(f, Plan, v06)
    params = kernel_params(f)
    mode = _P.NEAREST_EVEN
    sat = _P.SAT_NONE
    if f.name in _NUMPY_FLOATS:  # numpy converts float64 directly; NaN payload kept
        return Plan(f, params, mode, sat, False, _numpy_nan_payload(f), None)
    if f.inf == "ieee":  # quiet NaN with the input's sign: E5M2 0x7E/0xFE, bfloat16 0x7FC0/0xFFC0
        quiet = f.code_of_inf | (1 << (f.mantissa_bits - 1))
        params = params._replace(NAN=quiet, NNAN=quiet | f.sign_bit)
    if f.code_of_nan is None:  # FP4/FP6: quiet_NaN() is -0, and a negative NaN becomes +0
        params = params._replace(NAN=f.sign_bit, NNAN=0)
    if f.name == "float8_e8m0fnu":  # 0.7: ties up only; below 2**-127 -> 0x00 as the format clamps
        params = _e8m0_ml_params(params) if v06 else params._replace(EVEN_N=1)
    return Plan(f, params, mode, sat, False, None, _to_float32 if v06 else None)


def _numpy_nan_payload(f):
    """numpy float32/float64 -> float16/float32: a NaN keeps its sign and top payload bits.

    float32 -> float16 (npy_floatbits_to_halfbits): `0x7C00 | payload >> 13`, made
    nonzero (`0x7C01`) if the payload vanishes; not quieted. float64 -> float16:
    `payload >> 42`, same rule. float64 -> float32 (x86 cvtsd2ss): quieted,
    `0x7FC00000 | payload >> 29`. float32 -> float32: unchanged.
    """
    half = f.name == "binary16"

    def post(x, codes):
        if x.dtype.kind != "f":
            return
        isnan = np.isnan(x)
        if not isnan.any():
            return
        if x.dtype == np.float32:
            b = x.view(np.uint32)[isnan].astype(np.uint64)
            sign = b >> np.uint64(31)
            pay = b & np.uint64(0x7FFFFF)
            drop, quiet = (13, 0) if half else (0, 0)
        else:
            b = x.view(np.uint64)[isnan]
            sign = b >> np.uint64(63)
            pay = b & np.uint64((1 << 52) - 1)
            drop, quiet = (42, 0) if half else (29, 1 << 22)
        m = f.mantissa_bits
        top = np.uint64(((1 << f.exponent_bits) - 1) << m)
        c = top | (pay >> np.uint64(drop)) | np.uint64(quiet)
        c = np.where(c == top, top | np.uint64(1), c)
        codes[isnan] = (c | (sign << np.uint64(f.bits - 1))).astype(codes.dtype)

    return post


def _plan_int(f: IntFormat, Plan, v06: bool = True):
    """Float -> integer casts of ml_dtypes (intN) and numpy (int8..uint32) on x86-64.

    Truncate toward zero into the int32 range (the C cast compiles to cvttss2si /
    cvttsd2si), keep the low `bits` bits. A NaN or a value whose truncation is
    outside the int32 range gives the x86 "integer indefinite" 0x80000000, whose
    low bits are 0 for every width below 32. ml_dtypes' intN treat every x above
    2**31 - 1 as out of range (float64 2147483647.25 -> 0, where numpy's int8
    gives 0xFF). numpy's uint32 cast is
    `x >= 2**31 ? cvt(x - 2**31) ^ 0x80000000 : cvt(x)`: 0 for x >= 2**32.
    Integer inputs wrap (keep the low bits).

    ml_dtypes 0.7's intN (`v06=False`): a float whose truncation lies outside the type's
    range (NaN, ±inf included) gives 0 instead of the low bits.
    """
    lo, hi = -(2**31), 2**31 - 1
    if f.name == "uint32":
        hi = 2**32 - 1
    base = kernel_params(f)
    params = base._replace(
        MAXMAG=hi, MAXMAG_NEG=-lo, TWOS=1, SIGNED=1, MASK=(1 << f.bits) - 1, ECAP=33, NAN=0, NNAN=0
    )
    mask = (1 << f.bits) - 1
    top = 2.0**32 if f.name == "uint32" else 2.0**31

    def post(x, codes):
        if x.dtype.kind in "iu":  # exact integers wrap
            codes[...] = (x.view(np.uint64) & np.uint64(mask)).astype(codes.dtype)
            return
        with np.errstate(invalid="ignore"):
            inside = (x > -(2.0**31) - 1) & (x < top)
            if f.name in _ML_DTYPES_INTS:
                inside &= x <= 2.0**31 - 1
                if not v06:
                    inside &= (x > f.min_int - 1) & (x < f.max_int + 1)
        codes &= codes.dtype.type(mask)
        indefinite = (2**31) & mask
        if f.name == "uint32":
            with np.errstate(invalid="ignore"):
                big = x >= 2.0**32  # cvt(x - 2**31) overflows, then ^ 0x80000000
            codes[big] = 0
            codes[~inside & ~big] = indefinite
        else:
            codes[~inside] = indefinite

    return Plan(f, params, _P.TOWARD_ZERO, _P.SAT_FINITE, False, post, None)


# ---------------------------------------------------------------- torch
def _plan_torch(f, rname, saturation, nan, Plan):
    compat = "torch"
    _conflict(compat, "rounding", rname, "nearest_even")
    _conflict(compat, "nan", nan, "raise")
    params = kernel_params(f)
    sat = _P.SAT_NONE
    if f.name == "float8_e4m3fn":  # torch >= 2.12 saturates finite overflow and inf to +-448
        if saturation != "none":
            _conflict(compat, "saturation", saturation, "finite")
        sat = _P.SAT_FINITE
    else:
        _conflict(compat, "saturation", saturation, "none")
    if f.name == "float8_e8m0fnu":
        params = _e8m0_ml_params(params)
        return Plan(f, params, _P.NEAREST_EVEN, sat, False, _torch_e8m0_post, _torch_e8m0_pre)
    return Plan(f, params, _P.NEAREST_EVEN, sat, False, None, _to_float32)


def _torch_e8m0_pre(xa, to_float32):
    return np.abs(to_float32(xa))


def _torch_e8m0_post(x, codes):
    """torch maps +-0 to code 0x00 (2**-127); NaN and inf are 0xFF already."""
    codes[x == 0] = 0


# ---------------------------------------------------------------- ptx
def _plan_ptx(f, rname, mode, saturation, nan, Plan):
    """cvt.rn.satfinite (cvt.rs with stochastic rounding); cvt.rz/.rp[.satfinite] for ue8m0."""
    compat = "ptx"
    if f.name in _PTX_HALF_ROUNDING:
        return _plan_ptx_half(f, rname, mode, saturation, nan, Plan)
    e8m0 = f.name == "float8_e8m0fnu"
    allowed = ("toward_zero", "toward_positive") if e8m0 else ("nearest_even", "stochastic")
    if rname not in allowed:
        raise ValueError(
            f"compat='ptx' has no cvt with rounding={rname!r} for {f.name}; use one of {list(allowed)}"
        )
    if saturation != "none":
        _conflict(compat, "saturation", saturation, "finite")
    sat = _P.SAT_FINITE
    params = kernel_params(f)
    if f.code_of_nan is None:  # e2m1/e2m3/e3m2: NaN -> +MAX_NORM
        if nan != "raise":
            _conflict(compat, "nan", nan, "max")
        top = f.max_code_magnitude
        params = params._replace(NAN=top, NNAN=top)
        return Plan(f, params, mode, sat, False, None, None)
    _conflict(compat, "nan", nan, "raise")
    if e8m0:
        # .satfinite: |x| > 2**127 -> 0xFE; NaN -> 0xFF. Zero, negatives and values
        # below 2**-127 clamp to the smallest code 0x00 (2**-127).
        return Plan(f, params, mode, sat, False, _ptx_e8m0_post, None)
    # fp8: NaN -> canonical NaN 0x7F (sign dropped), as cuda_fp8.hpp's fallback path
    params = params._replace(NAN=0x7F, NNAN=0x7F)
    return Plan(f, params, mode, sat, False, None, None)


def _plan_ptx_half(f, rname, mode, saturation, nan, Plan):
    """cvt to f16/bf16: no .satfinite by default (overflow gives inf), NaN -> canonical 0x7fff."""
    allowed = _PTX_HALF_ROUNDING[f.name]
    if rname not in allowed:
        raise ValueError(f"compat='ptx' has no cvt with rounding={rname!r} for {f.name}; use one of {list(allowed)}")
    if saturation == "propagate":
        _conflict("ptx", "saturation", saturation, "none")
    _conflict("ptx", "nan", nan, "raise")
    params = kernel_params(f)._replace(NAN=0x7FFF, NNAN=0x7FFF)
    return Plan(f, params, mode, parse_saturation(saturation), False, None, None)


def _ptx_e8m0_post(x, codes):
    with np.errstate(invalid="ignore"):
        codes[(x <= 0)] = 0


def profiles_markdown(profiles=None) -> str:
    """Markdown tables of versioned profiles (default: [`compat_profiles`][numfmt.compat.compat_profiles]):
    one summary table, then each profile's rules (the docs generate their tables with this)."""
    profiles = _PROFILE_LIST if profiles is None else tuple(profiles)
    bare = {p.library for p in profiles}
    out = ["| profile | also spelled | measured on |", "|---|---|---|"]
    for p in profiles:
        also = [f"`{p.name}.0`"] if p.version is not None and p.library != "torchao" else []
        if p.newest and p.library in bare and p.name != p.library:
            also.insert(0, f"`{p.library}`")
        out.append(f"| `{p.name}` | {', '.join(also) or '-'} | {p.measured} |")
    for p in profiles:
        first = next(q for q in profiles if q.library == p.library) is p
        against = "numfmt's default rules" if first else "the profile before it"
        out += ["", f"`{p.name}`{' (the newest: `' + p.library + '`)' if p.newest and p.name != p.library else ''}"
                f" — rules that differ from {against}:", "", "| rule | behaviour |", "|---|---|"]
        out += [f"| {r} | {b} |" for r, b in p.rules]
    return "\n".join(out)
