"""Compatibility profiles: reproduce another implementation's conversions.

Each profile is a table of rule changes applied on top of the format (see
``docs/compat.md``); this module turns a profile into kernel parameters plus,
where a library's rule is not a rounding rule at all (ml_dtypes' integer
wrap-around), a pre- or post-processing step.
"""

from __future__ import annotations

import numpy as np

from ._kernels.params import with_overrides
from .formats import FloatFormat, IntFormat
from .policy import parse_nan, parse_rounding, parse_saturation

__all__ = ["PROFILES", "plan"]

PROFILES = ("ml_dtypes", "torch", "ptx")

_ML_DTYPES_FLOATS = {
    "float8_e5m2", "float8_e4m3", "float8_e3m4", "float8_e4m3fn", "float8_e4m3fnuz",
    "float8_e4m3b11fnuz", "float8_e5m2fnuz", "float8_e8m0fnu", "float6_e2m3fn",
    "float6_e3m2fn", "float4_e2m1fn", "bfloat16", "binary16", "binary32", "binary64",
}
_ML_DTYPES_INTS = {"int2", "int4", "int8", "int16", "int32", "uint2", "uint4", "uint8", "uint16", "uint32"}
_TORCH = {"float8_e5m2", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu",
          "bfloat16", "binary16", "binary32", "binary64"}
_PTX = {"float8_e5m2", "float8_e4m3fn", "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn",
        "float8_e8m0fnu", "bfloat16", "binary16"}


def _conflict(compat, kw, given, fixed):
    if given != fixed:
        raise ValueError(f"compat={compat!r} fixes {kw}={fixed!r}; got conflicting {kw}={given!r}")


def plan(f, *, rounding, saturation, nan, compat, Plan):
    """Kernel plan for format ``f`` under a compat profile."""
    if not isinstance(compat, str) or compat not in PROFILES:
        raise ValueError(f"compat={compat!r} is not one of {list(PROFILES)}")
    rname, mode = parse_rounding(rounding)
    sat_id = parse_saturation(saturation)
    nan = parse_nan(nan)
    params = f.kernel_params
    pre = post = None
    if compat == "ml_dtypes":
        if f.name not in _ML_DTYPES_FLOATS | _ML_DTYPES_INTS:
            raise ValueError(f"compat='ml_dtypes' does not cover format {f.name}")
        _conflict(compat, "rounding", rname, "nearest_even")
        _conflict(compat, "saturation", saturation, "none")
        _conflict(compat, "nan", nan, "raise")
        if isinstance(f, IntFormat):
            return Plan(f, params, mode, sat_id, False, _ml_dtypes_int_post(f), None)
        if f.inf == "ieee" and f.bits < 32:
            quiet = f.code_of_inf | (1 << (f.mantissa_bits - 1))
            params = with_overrides(params, NAN=quiet, NNAN=quiet | f._sign_bit)
        if f.code_of_nan is None:  # FP4/FP6: NaN -> zero with the sign bit flipped
            params = with_overrides(params, NAN=f._sign_bit, NNAN=0)
        if f.name == "float8_e8m0fnu":
            params = with_overrides(params, EVEN_N=1)
        return Plan(f, params, mode, sat_id, False, None, None)
    if compat == "torch":
        if f.name not in _TORCH:
            raise ValueError(f"compat='torch' does not cover format {f.name}")
        _conflict(compat, "rounding", rname, "nearest_even")
        _conflict(compat, "nan", nan, "raise")
        if f.name == "float8_e4m3fn":
            if saturation not in ("none", "finite"):
                _conflict(compat, "saturation", saturation, "finite")
            sat_id = parse_saturation("finite")
        else:
            _conflict(compat, "saturation", saturation, "none")
        if f.name == "float8_e8m0fnu":
            params = with_overrides(params, EVEN_N=1)
            return Plan(f, params, mode, sat_id, False, _torch_e8m0_post, np.abs)
        return Plan(f, params, mode, sat_id, False, None, None)
    # ptx: cvt.rn.satfinite (cvt.rz/.rp for ue8m0, cvt.rs for stochastic)
    if f.name not in _PTX:
        raise ValueError(f"compat='ptx' does not cover format {f.name}")
    allowed = {"nearest_even", "stochastic"}
    if f.name == "float8_e8m0fnu":
        allowed = {"toward_zero", "toward_positive"}
    if rname not in allowed:
        raise ValueError(f"compat='ptx' has no cvt with rounding={rname!r} for {f.name}; use one of {sorted(allowed)}")
    if saturation not in ("none", "finite"):
        _conflict(compat, "saturation", saturation, "finite")
    sat_id = parse_saturation("finite")
    if f.code_of_nan is None:
        if nan not in ("raise", "max"):
            _conflict(compat, "nan", nan, "max")
        top = f.max_code_magnitude
        params = with_overrides(params, NAN=top, NNAN=top)
    return Plan(f, params, mode, sat_id, False, None, None)


def _torch_e8m0_post(x, codes):
    """torch maps 0 to code 0 (2**-127) and NaN/inf to 0xFF."""
    codes[x == 0] = 0


def _ml_dtypes_int_post(f: IntFormat):
    """ml_dtypes casts floats to intN by truncation toward zero with wrap-around; NaN, inf -> 0."""

    def post(x, codes):
        v = np.asarray(x, np.float64)
        finite = np.isfinite(v)
        t = np.trunc(np.where(finite, v, 0.0))
        big = np.abs(t) >= 2.0**63
        ints = np.where(big, 0, t).astype(np.int64)
        codes[...] = (ints & ((1 << f.bits) - 1)).astype(codes.dtype)

    return post
