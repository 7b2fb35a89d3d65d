"""Cached per-format tables: the value of every code, and rounding tables built by round_pack."""

from __future__ import annotations

import functools

import numpy as np

from .._kernels.params import kernel_params
from ..codec import decode
from ..formats import IntFormat
from ..plan import with_nan_code


@functools.cache
def all_values(fmt) -> np.ndarray:
    """float64 value of every code through the core decode (keeps -0.0, unlike
    `fmt.values()`); codes outside a symmetric integer range decode as 0. Cached per format."""
    codes = np.arange(1 << fmt.bits, dtype=np.int64)
    if isinstance(fmt, IntFormat) and fmt.symmetric:
        codes[1 << (fmt.bits - 1)] = 0
    if fmt.bits <= 8:  # (256 codes at most: as Python, compiling no decode loop for a table)
        from .._kernels.decode import decode_values_py  # lazy: loads numba, which block calls load anyway

        return decode_values_py(codes, kernel_params(fmt))
    with np.errstate(invalid="ignore"):  # the core decode may produce signalling NaN payloads
        return np.asarray(decode(codes, fmt, dtype=np.float64))


@functools.cache
def elem_table(ef, dt) -> np.ndarray:
    """`all_values` in dtype `dt`; cached per (format, dtype)."""
    return all_values(ef).astype(dt)


@functools.cache
def scale_values(sf) -> np.ndarray:
    """float32 value of every scale code (NaN for NaN codes); cached per format."""
    if sf.bits > 16:
        raise ValueError(f"scale format {sf.name} is too wide for amax scaling (at most 16 bits)")
    return all_values(sf).astype(np.float32)


def rounding_table(fmt, mode: int = 0, sat: int = 1, nan_code=None):
    """Rounding table (and its index constants) of a format, built once by round_pack."""
    return _rounding_table(kernel_params(fmt), mode, sat, nan_code)


@functools.cache
def _rounding_table(p, mode: int, sat: int, nan_code):
    from .._kernels import block as K  # lazy: numba loads on the first kernel call (0.4 s at import)

    if nan_code is not None:
        p = with_nan_code(p, nan_code)
    tab = K.build_table(p, np.int64(mode), np.int64(sat))
    if (tab < 0).any():
        tab = np.where(tab < 0, 0, tab).astype(np.int32)
    return (tab, *K.table_args(p))
