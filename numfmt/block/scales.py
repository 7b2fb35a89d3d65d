"""Power-of-two scale rules (OCP MX v1.0 §6.3; torchao 0.18 `to_mx`; PTX `cvt.rp.satfinite.ue8m0x2.f32`):
exponents, E8M0-style scale codes, NVIDIA rceil."""

from __future__ import annotations

import numpy as np

from ..choices import check_choice
from ..codec import decode as _dec
from ..codec import encode as _enc
from ..formats import FloatFormat, IntFormat
from .formats import POW2_RULES, get_block_format, pow2_range
from .kinds import is_e8m0 as is_e8m0  # numfmt.block.mx, decoder


def _pow2_exps(v: np.ndarray, rule: str, ef) -> np.ndarray:
    """The scale rule `rule` ("floor", "ceil", "even" or "rceil") of positive float32 or
    float64 values (+inf allowed), before emax is subtracted: the fused loops' definition
    `numfmt._kernels.block_fast.pow2_exp`, run over the array."""
    from .._kernels import block_fast as KF  # numba loads on first use (import time of numfmt)

    f32 = v.dtype == np.float32
    v = np.ascontiguousarray(v, dtype=np.float32 if f32 else np.float64)
    it = np.int32 if f32 else np.int64
    out = np.empty(v.size, np.int64)
    KF.pow2_exps(v.view(it).reshape(-1), np.int64(KF.MX_RULES.index(rule)), np.int64(elem_mbits(ef)), it,
                 32 if f32 else 64, 23 if f32 else 52, 127 if f32 else 1023, out)
    return out.reshape(v.shape)


def elem_emax(ef) -> int:
    """Exponent of the largest power of two <= max of the element format (OCP emax_elem)."""
    if isinstance(ef, IntFormat):
        return int(np.floor(np.log2(ef.max_int))) + ef.scale_exp
    return ef.emax


def elem_mbits(ef) -> int:
    if isinstance(ef, IntFormat):
        return ef.bits - 2 if ef.signed else ef.bits - 1
    return ef.mantissa_bits


def _log2f(d: np.ndarray) -> np.ndarray:
    """float32 log2 as torch 2.13 CPU computes it (correctly rounded on the values that matter)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log2(d.astype(np.float64)).astype(np.float32)


def scale_exponents(amax, fmt, *, scale_rule: str = "floor", input_dtype=np.float32):
    """Unclamped power-of-two scale exponents of blocks with maximum `amax` (>= 0).

    The rules are those the fused loops run (`numfmt._kernels.block_fast.pow2_exp`):
    `floor` = floor(log2 amax) - emax_elem (exponent from the float
    bits); `ceil` adds 1 unless amax is a power of two; `even` first rounds
    amax to `mbits_elem + 1` significant bits (ties up); `rceil` rounds
    `amax * fp32(1/max_elem)` up to a power of two; `rceil_torchao` is
    `ceil(log2_f32(amax / max_elem))`. Zero amax gives a very small exponent
    (the caller clamps); `inf` counts as `2**128` (float32) as in torchao.
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
    rule = check_choice("scale_rule", scale_rule, POW2_RULES)
    dt = np.dtype(input_dtype)
    a = np.asarray(amax, dtype=dt)
    ef = f.element
    emax = elem_emax(ef)
    nan = np.isnan(a)
    zero = a == 0
    big = 1000 if dt == np.float32 else 5000
    if rule in ("floor", "ceil", "even"):
        # +inf passes: the rules give it the exponent 2**128 (2**1024) has
        e = np.where(zero, -big, _pow2_exps(np.where(nan | zero, dt.type(1), a), rule, ef)) - emax
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
            e = np.where(d == 0, -big, _pow2_exps(dsafe, rule, ef))
            e = np.where(np.isinf(d), big, e)  # saturates to the largest scale
        else:
            lg = np.ceil(_log2f(dsafe)).astype(np.int64)
            e = np.where(d == 0, -big, lg)
            e = np.where(np.isinf(d), 127, np.clip(e, -127, 127))
    return e.astype(np.int64), nan


def pow2_scale_codes(e, nan, sf: FloatFormat, rule: str):
    """Scale codes and the exponents actually used (NaN blocks: shift 0)."""

    lo, hi = pow2_range(sf)
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


def rceil_round_pack(amax, ef, sf, scodes, ec, isnan, saturation="finite"):
    """NVIDIA rceil through the rounding funnel: fp32(amax * fp32(1/max)) rounded toward
    +inf into the (power-of-two) scale format with saturation (`cvt.rp.satfinite`), or without
    (`saturation="none"`, `cvt.rp`: past the largest power of two, inf and NaN give the NaN code)."""

    with np.errstate(over="ignore", invalid="ignore"):
        d = (amax.astype(np.float32) * (np.float32(1.0) / np.float32(ef.max))).astype(np.float32)
    lo, _ = pow2_range(sf)
    d = np.where(isnan | (d <= 0), np.float32(2.0 ** max(lo, -149)), d).astype(np.float32)
    if saturation == "none":
        bad = isnan | np.isnan(amax) | np.isinf(amax)
        d = np.where(bad, np.float32(np.inf), d).astype(np.float32)
        return np.asarray(_enc(d, sf, rounding="toward_positive")).astype(np.int64), None
    c = np.asarray(_enc(d, sf, rounding="toward_positive", saturation="finite")).astype(np.int64)
    e = np.frexp(np.asarray(_dec(c, sf, dtype=np.float64)))[1].astype(np.int64) - 1
    return np.where(isnan, scodes, c), np.where(isnan, ec, e)
