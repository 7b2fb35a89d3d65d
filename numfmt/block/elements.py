"""Element encoding: random bits, the exact funnel loop, the fused loops' rounding
constants, torchao's FP4/FP6 casts."""

from __future__ import annotations

import numpy as np

from .._kernels.params import kernel_params
from ..codec import encode as _enc
from ..formats import FloatFormat
from ..plan import random_spec, with_nan_code
from ..policy import NEAREST_EVEN, SAT_FINITE
from .inputs import as_rows


def random_array(random, rbits, mode, shape, ax):
    """(rkind, bits moved so that `ax` is last, flattened to 2D, nbits)."""
    rkind, rarr, key, nbits = random_spec(random, rbits, mode, shape)
    if rkind == 0:
        return 0, np.zeros((1, 1), np.uint32), nbits
    if rkind == 2:
        from .._kernels.block import fill_random  # lazy: numba loads on the first kernel call

        rarr = np.empty(int(np.prod(shape)), np.uint32)
        fill_random(np.int64(key), np.int64(nbits), rarr)
    r = np.moveaxis(rarr.reshape(shape), ax, -1)
    return 1, as_rows(np.ascontiguousarray(r)), nbits


def encode_elems(v2, shifts, bs, ef, mode, sat, rkind, rarr, nbits, nan_code=None):
    """Exact encode of v2 * 2**-shift (per block) into element codes; NaN -> nan_code."""
    from .._kernels import block as K  # lazy: numba loads on the first kernel call

    p = kernel_params(ef)
    if nan_code is not None:
        p = with_nan_code(p, nan_code)
    out = np.empty(v2.shape, ef.code_dtype)
    if v2.size:
        K.scaled_encode(v2, np.ascontiguousarray(shifts, np.int64), np.int64(bs), p, np.int64(mode),
                        np.int64(sat), np.int64(rkind), rarr, np.int64(nbits), out)
    return out


def elem_rne_args(ef):
    """int32 arguments of the fused loops' element rounding (nearest-even, saturating to +-max,
    formats with -0), or None when the format does not allow them (the caller takes the general
    path)."""
    from .._kernels import fast as F  # lazy: numba loads on the first kernel call

    if not isinstance(ef, FloatFormat):
        return None
    p = kernel_params(ef)
    # x * 2**-e below 2**-126 must round to zero: half the smallest subnormal >= 2**-125
    if not (F.eligible(p, magic=True) and p.EMIN - p.M - 1 >= -126):
        return None
    c = F.codes_py(p, NEAREST_EVEN, SAT_FINITE)  # (computed in Python: nothing to compile)
    if (c.ovf_p, c.ovf_n) != (c.inf_p, c.inf_n):  # an infinite product must saturate like an overflow
        return None
    # the loops' element code (`_kernels/block_fast.py:_elem_code`) ORs the sign into a magnitude clamped
    # to the largest finite one: the format must have -0 and saturate to +-max
    if not c.negzero or (c.ovf_p, c.ovf_n) != (c.maxmag, c.maxmag | c.signbit):
        return None
    # EMIN and ECAP biased like float32 exponent fields
    return tuple(np.int32(v) for v in (c.m, c.emin + 127, c.ecap + 127, c.maxmag, c.signbit, c.negzero,
                                       c.ovf_p, c.ovf_n))


def torchao_floatx_codes(v, ef):
    """torchao `_f32_to_floatx_unpacked` (FP4/FP6): RNE with saturation; NaN -> its bit formula."""

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


def nan_or_zero(ef):
    return None if ef.code_of_nan is not None else 0
