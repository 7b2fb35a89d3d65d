"""GGUF (llama.cpp) block formats: the scale rules of ggml's `quantize_row_mxfp4_ref` and
`quantize_row_nvfp4_ref` and their element rule `best_index_mxfp4` (llama.cpp, ggml-quants.c).

* `gguf_mxfp4`: blocks of 32, E8M0 scale byte `e = floor(log2f(amax)) - 2 + 127` (float32
  log2, so an amax just below a power of two can take the next exponent), 0 for a zero
  block; elements by `best_index_mxfp4` against half the scale (`ggml_e8m0_to_fp32_half`)
  and the doubled E2M1 grid.
* `gguf_nvfp4`: blocks of 16 (four to a 64-element super-block), UE4M3 scale byte
  `ggml_fp32_to_ue4m3(amax / 6)` (float32 division; the conversion rounds half up,
  clamps to 448, and sends every value of the top binade to 0x7E), one level (no tensor
  scale); elements as for MXFP4 against half the decoded scale.

amax skips NaN (`if (amax < fabsf(v))`), and a NaN element gets code 0.
"""

from __future__ import annotations

import functools

import numpy as np

from .inputs import to_f32
from .kinds import check_gguf
from .values import all_values

# the E2M1 value of each code, doubled (ggml kvalues_mxfp4): the grid of best_index_mxfp4
GRID = np.array([0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12], np.float32)


def mxfp4_scale_codes(amax: np.ndarray) -> np.ndarray:
    """E8M0 bytes of `quantize_row_mxfp4_ref` for float32 block maxima (finite, >= 0).

    Below 2**-125 the C expression is negative and its conversion to uint8 is undefined
    (x86-64 builds wrap modulo 256): numfmt gives 0, the smallest scale."""
    a = np.asarray(amax, np.float32)
    pos = a > 0
    with np.errstate(divide="ignore"):
        # float32 log2 correctly rounded (the float64 log2 rounded once to float32)
        lg = np.log2(np.where(pos, a, np.float32(1)).astype(np.float64)).astype(np.float32)
    e = np.floor(lg).astype(np.int64) - 2 + 127
    return np.where(pos, np.maximum(e, 0), 0).astype(np.uint8)


def e8m0_half(codes) -> np.ndarray:
    """`ggml_e8m0_to_fp32_half`: 2**(code - 128) as float32."""
    return np.ldexp(np.float32(1), np.asarray(codes, np.int64) - 128).astype(np.float32)


def ue4m3_codes(x) -> np.ndarray:
    """`ggml_fp32_to_ue4m3` of float32 values (vectorized, the same float32 operations)."""
    x = np.asarray(x, np.float32)
    pos = x > 0  # NaN, zero and negative values give 0
    xc = np.where(pos, np.minimum(x, np.float32(448)), np.float32(1)).astype(np.float32)
    b = xc.view(np.uint32).astype(np.int64)
    ue = ((b >> 23) & 0xFF) - 127 + 7
    with np.errstate(invalid="ignore"):
        sub = np.trunc(xc * np.float32(512) + np.float32(0.5)).astype(np.int64)  # (int)(x*512 + 0.5f)
    sub = np.where(sub < 1, 0, np.minimum(sub, 7))
    m = ((b >> 20) & 7) + ((b >> 19) & 1)  # round half up on the magnitude
    ue_n = np.where(m > 7, ue + 1, ue)
    m = np.where(m > 7, 0, m)
    normal = np.where(ue_n >= 15, 0x7E, (ue_n << 3) | m)
    code = np.where(ue <= 0, sub, np.where(ue >= 15, 0x7E, normal))
    return np.where(pos, code, 0).astype(np.uint8)


@functools.cache
def _ue4m3_half(sf) -> np.ndarray:
    """`ggml_ue4m3_to_fp32` of every code: half the value, 0 for 0x7F."""
    v = all_values(sf).astype(np.float32) * np.float32(0.5)
    return np.where(np.isnan(v), np.float32(0), v).astype(np.float32)


def encode_gguf(x2: np.ndarray, f, rule: str):
    """(element codes, scale codes) of float rows `x2` by llama.cpp's reference quantizers."""
    from .._kernels import gguf as KG  # lazy: numba loads on the first kernel call

    check_gguf(f, rule)
    x2 = np.ascontiguousarray(to_f32(x2, "recipe='gguf' (llama.cpp quantizes float32)"))
    rows, n = x2.shape
    bs = f.block_size
    nb = -(-n // bs)
    amax = np.zeros((rows, nb), np.float32)
    if x2.size:
        KG.block_amax(x2, np.int64(bs), amax)
    if rule == "floor":
        if np.isinf(amax).any():
            raise ValueError("recipe='gguf' (MXFP4): x holds an infinity, for which llama.cpp's reference "
                             "quantize_row_mxfp4_ref has no defined result (float-to-uint8 conversion of inf)")
        scodes = mxfp4_scale_codes(amax)
        step = e8m0_half(scodes)
    else:
        with np.errstate(over="ignore"):
            scodes = ue4m3_codes((amax / np.float32(6)).astype(np.float32))
        step = _ue4m3_half(f.scale)[scodes]
    codes = np.empty((rows, n), np.uint8)
    if x2.size:
        KG.grid_index(x2, np.ascontiguousarray(step.reshape(rows, nb), np.float32), np.int64(bs), codes)
    return codes, scodes.reshape(rows, nb)

