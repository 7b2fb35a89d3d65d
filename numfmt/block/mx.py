"""Power-of-two (MX) scaling: OCP exact elements, torchao `to_mx`, the fused float32 kernel."""

from __future__ import annotations

import numpy as np

from .._kernels import variants
from ..formats import FloatFormat
from ..policy import SAT_FINITE, SAT_NONE, SAT_PROPAGATE
from .elements import elem_rne_args, encode_elems, nan_or_zero, torchao_floatx_codes
from .inputs import blocked, to_f32
from .scales import elem_emax, elem_mbits, is_e8m0, pow2_scale_codes, rceil_round_pack, scale_exponents


def encode_pow2(x2, f, rule, recipe, nonfinite, mode, rkind, rarr, nbits):
    ef, sf, bs = f.element, f.scale, f.block_size
    rows, n = x2.shape
    nb = -(-n // bs)
    if x2.size:
        fast = fast_pow2(x2, f, rule, recipe, nonfinite, mode)
        if fast is not None:
            return fast
    torchao = recipe in ("torchao", "torchao_main")
    if recipe == "torchao_main":
        if not is_e8m0(f.scale):
            raise ValueError(f"recipe='torchao' needs an E8M0 scale format, not {f.scale.name}")
        if not isinstance(ef, FloatFormat) or ef.bits not in (4, 6, 8):
            raise ValueError(f"recipe='torchao' supports FP8/FP6/FP4 elements, not {ef.name}")
    if x2.dtype != np.float32 and (torchao or rule in ("rceil", "rceil_torchao")):
        x2 = to_f32(x2, f"scale_rule={rule!r} / recipe={recipe!r}")
    ax2 = np.abs(x2)
    blk = blocked(ax2, bs)
    has_nan_elem = None
    if nonfinite == "finite":
        fin = np.isfinite(blk)
        amax = np.where(fin, blk, 0).max(axis=-1) if blk.size else np.zeros((rows, nb), x2.dtype)
        has_nan_elem = np.isnan(blk).any(axis=-1)
        nanmask_extra = has_nan_elem & ((ef.code_of_nan is None) | torchao)
    else:
        amax = blk.max(axis=-1) if blk.size else np.zeros((rows, nb), x2.dtype)
        nanmask_extra = (~np.isfinite(blk)).any(axis=-1) if nonfinite == "nan" else None
    e, nan = scale_exponents(amax, f, scale_rule=rule, input_dtype=x2.dtype)
    if nanmask_extra is not None:
        nan = nan | nanmask_extra
    if recipe == "torchao_main":
        # torchao main: a non-finite amax gives the NaN scale (floor/ceil/even); rceil rounds up without
        # saturation, so past 2**127, inf and NaN give 0xFF
        if rule == "rceil":
            scodes = rceil_round_pack(amax, ef, sf, None, None, nan, saturation="none")[0]
        else:  # "even" tests the rounded amax: one that rounds up to 2**128 counts as inf
            inf = (e + elem_emax(ef) >= 128) if rule == "even" else np.isinf(amax)
            scodes = pow2_scale_codes(e, nan | inf, sf, rule)[0]
        return _torchao_main_elements(x2, scodes, f, rule, mode, rkind, rarr, nbits), scodes.astype(sf.code_dtype)
    scodes, ec, isnan = pow2_scale_codes(e, nan, sf, rule)
    if rule == "rceil" and sf.mantissa_bits == 0:
        scodes, ec = rceil_round_pack(amax, ef, sf, scodes, ec, isnan)
    sat = SAT_PROPAGATE if nonfinite == "finite" else SAT_FINITE
    if recipe == "torchao":
        codes = _torchao_mx_elements(x2, scodes, f, rule, mode, rkind, rarr, nbits)
    else:
        shifts = ec
        codes = encode_elems(x2, shifts, bs, ef, mode, sat, rkind, rarr, nbits)
        if isnan.any():
            codes = np.where(np.repeat(isnan, bs, axis=1)[:, :n], 0, codes).astype(ef.code_dtype)
    return codes, scodes.astype(sf.code_dtype)


def fast_pow2(x2, f, rule, recipe, nonfinite, mode, out=None):
    """(codes, scales) of the (rows, n) array `x2` by the registered fused float32 variant (scales
    and element codes in one pass), written into `out` = (codes, scales) when given (C-contiguous
    (rows, n) and (rows, nb) arrays of the format's code dtypes); None when no variant applies."""
    from .._kernels import block_fast as KF  # lazy: numba loads on the first kernel call

    ef = f.element
    args = elem_rne_args(ef)
    call = KF.BlockCall(scaling="pow2", recipe=recipe, rule=rule, nonfinite=nonfinite, mode=mode,
                        dtype=x2.dtype, scale_e8m0=is_e8m0(f.scale), elem_rne=args is not None)
    v = variants.select("block_encode", call)
    if v is None:
        return None
    rows, n = x2.shape
    bs = f.block_size
    nb = -(-n // bs)
    codes, scales = (np.empty((rows, n), ef.code_dtype), np.empty((rows, nb), np.uint8)) if out is None else out
    ridx = KF.MX_RULES.index(rule)
    inv = np.float32(1.0) / np.float32(ef.max)
    emax, mb = np.int32(elem_emax(ef)), np.int32(elem_mbits(ef))
    v.kernel(x2.view(np.int32).reshape(-1), np.int64(n), np.int64(nb), np.int64(bs), np.int64(ridx),
             emax, mb, inv, *args, scales.reshape(-1), codes.reshape(-1))
    return codes, scales


def _torchao_main_elements(x2, scodes, f, rule, mode, rkind, rarr, nbits):
    """Elements as torchao's main branch (commit 36027d8, 2026-08-21) `to_mx` computes them: x times the
    float32 reciprocal 2**(127 - code) of the scale (code 0: 2**127; the NaN code: a positive NaN, which
    wins over every element, NaN or not), E5M2 clamped to +-max except under rceil, then torch 2.13's
    casts (E4M3 saturates, E5M2 does not) or torchao's FP6/FP4 casts."""
    ef, bs = f.element, f.block_size
    rows, n = x2.shape
    sc = scodes.astype(np.int64)
    r = (254 - sc) & 0xFF
    bits = np.where(r == 0, 0x00400000, np.where(r == 255, 0x7FC00001, r << 23)).astype(np.uint32)
    rcp = np.repeat(bits.view(np.float32), bs, axis=1)[:, :n]
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        v = (x2 * rcp).astype(np.float32)
        v = np.where(np.isnan(rcp), rcp, v)  # torch's product keeps the reciprocal's NaN
        if ef.name == "float8_e5m2" and rule != "rceil":
            mx = np.float32(ef.max)
            v = np.where(np.isnan(v), v, np.clip(v, -mx, mx)).astype(np.float32)
    zeros = np.zeros((rows, max(1, -(-n // bs))), np.int64)
    if mode != 0:  # stochastic or directed element rounding on torchao's scaled values
        return encode_elems(v, zeros, bs, ef, mode, SAT_FINITE, rkind, rarr, nbits, nan_code=nan_or_zero(ef))
    if ef.bits == 8:
        sat = SAT_NONE if ef.name == "float8_e5m2" else SAT_FINITE
        return encode_elems(v, zeros, bs, ef, 0, sat, 0, rarr, nbits)
    return torchao_floatx_codes(v, ef)


def _torchao_mx_elements(x2, scodes, f, rule, mode, rkind, rarr, nbits):
    """Elements as torchao 0.18 `to_mx` computes them (float32 ops, then its casts)."""
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
        return encode_elems(v, np.zeros((rows, max(1, -(-n // bs))), np.int64), bs, ef, mode,
                             SAT_FINITE, rkind, rarr, nbits, nan_code=nan_or_zero(ef))
    if ef.bits == 8:
        return encode_elems(v, np.zeros((rows, max(1, -(-n // bs))), np.int64), bs, ef, 0,
                             SAT_FINITE, 0, rarr, nbits)
    return torchao_floatx_codes(v, ef)
