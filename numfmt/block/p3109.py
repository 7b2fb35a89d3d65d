"""P3109 ConvertToBlockMaxAbsFinite + BlockProject (IEEE P3109 Interim Report v4.0 §5)."""

from __future__ import annotations

import numpy as np

from .._kernels.params import kernel_params
from ..codec import decode as _dec
from ..codec import encode as _enc
from ..plan import with_nan_code
from ..policy import SAT_PROPAGATE
from .inputs import blocked


def encode_p3109(x2, f, scale_rounding, mode, rkind, rarr, nbits):
    """P3109 ConvertToBlockMaxAbsFinite + BlockProject (IEEE P3109 Interim Report v4.0 §5)."""
    from .._kernels import block as K  # lazy: numba loads on the first kernel call

    ef, sf, bs = f.element, f.scale, f.block_size
    rows, n = x2.shape
    nb = -(-n // bs)
    blk = blocked(np.abs(x2), bs, fill=np.nan)
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
        p = kernel_params(ef)
        if ef.code_of_nan is None:
            p = with_nan_code(p, 0)
        K.divided_encode(x2, ssig, sexp, skind, np.int64(bs), p, np.int64(mode), np.int64(SAT_PROPAGATE),
                         np.int64(rkind), rarr, np.int64(nbits), out)
    return out, scodes.astype(sf.code_dtype)
