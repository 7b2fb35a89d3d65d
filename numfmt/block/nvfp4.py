"""amax scaling (NVFP4): the te, torchao and modelopt recipes, one- or two-level, and the
fused float32 kernel."""

from __future__ import annotations

import functools

import numpy as np

from .._kernels import variants
from .._kernels.params import kernel_params
from ..codec import encode as _enc
from ..formats import FloatFormat
from ..policy import NEAREST_EVEN, SAT_FINITE
from .elements import elem_rne_args, encode_elems, torchao_floatx_codes
from .inputs import blocked, to_f32
from .values import rounding_table, scale_values

_F32_MAX = np.float32(np.finfo(np.float32).max)
_TORCH_MAX_NAN = np.array([0xFFFFFFFF], np.uint32).view(np.float32)[0]


def _f32(v) -> np.float32:
    return np.float32(v)


def _te_s_enc(two_level, given_ts, g, top) -> np.float32:
    """TransformerEngine's float32 encode scale: (max_scale * max_elem) / amax, clamped to
    FLT_MAX, 1 for a zero amax or one-level scaling, 1 / the tensor scale when one is given."""
    one = _f32(1.0)
    if not two_level:
        return one
    if given_ts is not None:
        return _f32(one / given_ts)
    s_enc = min(_f32(_f32(top) / g), _F32_MAX)
    return one if g == 0 or s_enc == 0 else s_enc


def encode_amax(x2, f, recipe, tensor_scale, tensor_amax, mode, rkind, rarr, nbits):
    """NVFP4-style two-level (or one-level) scaling with a recipe's float32 op order."""

    ef, sf, bs = f.element, f.scale, f.block_size
    x2 = to_f32(x2, f"recipe={recipe!r}")
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
    if tensor_amax is not None:
        if isinstance(tensor_amax, (bool, np.bool_)) or not isinstance(tensor_amax, (int, float, np.number)):
            raise TypeError(f"tensor_amax must be a float, got {type(tensor_amax).__name__}")
        if tensor_amax < 0:  # (NaN and inf act as an amax computed from data holding them)
            raise ValueError(f"tensor_amax must be non-negative, got {tensor_amax!r}")
    ignore_nan = recipe == "te"  # CUDA fmaxf-based amax ignores NaN [U]

    def _amax(a):
        if a.size == 0:
            return _f32(0)
        return _f32(np.fmax.reduce(a, axis=None) if ignore_nan else np.max(a))

    if x2.size:
        fast = _fast_nv(x2, f, recipe, two_level, given_ts, tensor_amax, mode)
        if fast is not None:
            return fast
    ax2 = np.abs(x2)
    blk = blocked(ax2, bs)
    if blk.size:
        bamax = (np.fmax.reduce(blk, axis=-1) if ignore_nan else blk.max(axis=-1)).astype(np.float32)
    else:
        bamax = np.zeros((rows, nb), np.float32)
    if two_level and given_ts is None:
        g = _f32(tensor_amax) if tensor_amax is not None else _amax(ax2)
        if recipe == "torchao" and np.isnan(g):
            # torch.max(torch.abs(x)) of a tensor holding NaN is the NaN 0xFFFFFFFF (sign set), numpy's
            # max 0x7FC00000; that NaN's sign reaches every element through the scales (torch 2.13 CPU).
            # A NaN tensor_amax acts as the amax of data holding NaN.
            g = _TORCH_MAX_NAN
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        # ---------------- tensor scale
        ts = None
        if recipe == "te":
            s_enc = _te_s_enc(two_level, given_ts, g if two_level and given_ts is None else None, smx * emx)
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
        sval = np.asarray(scale_values(sf), np.float32)[scodes]
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
        codes = torchao_floatx_codes(v, ef)
    else:
        nan_code = None
        if ef.code_of_nan is None:  # PTX .satfinite / ModelOpt searchsorted: NaN -> +max
            nan_code = ef.max_code_magnitude if isinstance(ef, FloatFormat) else ef.max_int
        codes = encode_elems(v, zero_shift, bs, ef, mode, SAT_FINITE, rkind, rarr, nbits, nan_code=nan_code)
        if recipe == "modelopt" and isinstance(ef, FloatFormat) and ef.negative_zero:
            negz = (codes == ef.sign_bit) & ~(v < 0)
            codes = np.where(negz, 0, codes).astype(ef.code_dtype)
    return codes, scodes.astype(sf.code_dtype), ts


def _fast_nv(x2, f, recipe, two_level, given_ts, tensor_amax, mode):
    """The registered fused float32 variant for the te/torchao recipes (None: none applies)."""
    from .._kernels import block as K  # lazy: numba loads on the first kernel call
    from .._kernels import block_fast as KF  # lazy: numba loads on the first kernel call

    ef, sf, bs = f.element, f.scale, f.block_size
    args = elem_rne_args(ef)
    call = KF.BlockCall(scaling="amax", recipe=recipe, mode=mode, dtype=x2.dtype,
                        scale_table=K.table_eligible(kernel_params(sf)), elem_rne=args is not None, elem_bits=ef.bits)
    v = variants.select("block_encode", call)
    if v is None:
        return None
    rows, n = x2.shape
    nb = -(-n // bs)
    xf = x2.view(np.int32).reshape(-1)
    one = _f32(1.0)
    emx, smx = _f32(ef.max), _f32(sf.max)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if two_level and given_ts is None:
            if tensor_amax is not None:
                g = _f32(tensor_amax)
            else:  # a first pass over x (a NaN gives a NaN amax)
                g = np.int32(KF.abs_max_bits(xf)).view(np.float32)
            if not np.isfinite(g):
                return None
        if recipe == "te":
            s_enc = _te_s_enc(two_level, given_ts, g if two_level and given_ts is None else None, smx * emx)
            s_dec = _f32(one / s_enc)
            ts, pts, rid = (s_dec if two_level else None), one, 0
        else:
            pts = given_ts if given_ts is not None else (_f32(g / _f32(smx * emx)) if two_level else one)
            ts, s_enc, rid = (pts if two_level else None), one, (1 if two_level else 2)
            if not np.isfinite(pts) or pts <= 0:
                return None
    sa = _scale_arith_args(sf)
    use_sa = sa is not None
    if sa is None:
        sa = (*(np.int32(0) for _ in range(8)), np.float32(0))
    codes = np.empty(rows * n, ef.code_dtype)
    scales = np.empty(rows * nb, sf.code_dtype)
    svals = np.asarray(scale_values(sf), np.float32)
    rc = v.kernel(xf, np.int64(n), np.int64(nb), np.int64(bs), np.int64(rid),
                  _f32(s_enc), _f32(pts), *rounding_table(sf), svals, emx, _f32(sf.smallest_normal), smx,
                  sa, np.int64(use_sa), *args, scales, codes)
    if rc < 0:
        return None
    return codes.reshape(rows, n), scales.reshape(rows, nb), ts


@functools.cache
def _scale_arith_args(sf):
    """Constants of the fused NVFP4 loop's arithmetic scale code and value
    (`_kernels/block_fast.py:_scale_code_value`), or None when the scale format
    does not allow them (the loop then uses the rounding table). Checked here
    against the rounding table (every binade, with and without sticky bits) and
    the scale values of every finite code. Cached per format."""
    from .._kernels import block_fast as KF  # lazy: numba loads on the first kernel call
    from .._kernels import fast as F  # lazy: numba loads on the first kernel call

    sa = None
    p = kernel_params(sf)
    if isinstance(sf, FloatFormat) and sf.bits <= 16 and F.eligible(p._replace(SIGNED=1), magic=True):
        c = F.codes_py(p, NEAREST_EVEN, SAT_FINITE)  # (computed in Python: nothing to compile)
        m, bias = sf.mantissa_bits, sf.bias
        if 1 - bias >= -126 and sf.emax <= 127:
            sa = (np.int32(c.m), np.int32(c.emin + 127), np.int32(c.ecap + 127), np.int32(c.maxmag), np.int32(c.ovf_p),
                  np.int32(23 - m), np.int32(1 << m), np.int32((127 - bias) << 23), np.float32(2.0 ** (1 - bias)))
            # every positive float32 class: exponents 0..255 x (top bits, sticky) patterns
            e = np.arange(256, dtype=np.int64)[:, None] << 23
            low = np.array([0, 1, 0x1FFF, 0x3FFFFF, 0x400000, 0x400001, 0x7FFFFF]
                           + [t << (23 - m - 1) for t in range(1 << (m + 1))]
                           + [(t << (23 - m - 1)) | 1 for t in range(1 << (m + 1))], np.int64)
            pats = (e | low[None, :]).reshape(-1)
            pats = pats[pats <= 0x7F800000].astype(np.int32)
            got_c = np.empty(pats.size, np.int32)
            got_v = np.empty(pats.size, np.float32)
            KF.scale_code_value_f32(pats, sa, got_c, got_v)
            ref = np.empty(pats.size, np.int32)
            from .._kernels import block as K  # lazy: numba loads on the first kernel call

            K.encode_table_f32(pats, *rounding_table(sf), ref)
            vals = np.asarray(scale_values(sf), np.float32)
            if not (np.array_equal(got_c, ref) and (ref <= c[3]).all()
                    and np.array_equal(got_v.view(np.int32), vals[ref].view(np.int32))):
                sa = None
    return sa
