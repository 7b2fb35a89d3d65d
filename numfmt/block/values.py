"""Cached per-format tables: the value of every code, and rounding tables built by round_pack."""

from __future__ import annotations

import numpy as np

from ..formats import IntFormat


def _all_values(fmt) -> np.ndarray:
    """float64 value of every code through the core decode (keeps -0.0, unlike
    `fmt.values()`); codes outside a symmetric integer range decode as 0."""
    v = fmt._cache.get("block_all_values")
    if v is None:
        from ..codec import decode as _dec

        codes = np.arange(1 << fmt.bits, dtype=np.int64)
        if isinstance(fmt, IntFormat) and fmt.symmetric:
            codes[1 << (fmt.bits - 1)] = 0
        with np.errstate(invalid="ignore"):  # the core decode may produce signalling NaN payloads
            v = np.asarray(_dec(codes, fmt, dtype=np.float64))
        fmt._cache["block_all_values"] = v
    return v


def _elem_table(ef, dt) -> np.ndarray:
    key = f"block_elem_table_{np.dtype(dt).name}"
    t = ef._cache.get(key)
    if t is None:
        t = _all_values(ef).astype(dt)
        ef._cache[key] = t
    return t


def _scale_values(sf) -> np.ndarray:
    """float32 value of every scale code (NaN for NaN codes); cached."""
    v = sf._cache.get("block_scale_values_f32")
    if v is None:
        if sf.bits <= 16:
            v = _all_values(sf).astype(np.float32)
        else:
            raise ValueError(f"scale format {sf.name} is too wide for amax scaling (at most 16 bits)")
        sf._cache["block_scale_values_f32"] = v
    return v


_TABLES: dict = {}


def _table(fmt, mode: int = 0, sat: int = 1, nan_code=None):
    """Rounding table (and its index constants) of a format, built once by round_pack."""
    from .._kernels import block as K
    from .._kernels import params as PP

    key = (fmt.kernel_params, mode, sat, nan_code)
    t = _TABLES.get(key)
    if t is None:
        p = fmt.kernel_params
        if nan_code is not None:
            p = PP.with_overrides(p, NAN=nan_code, NNAN=nan_code)
        tab = K.build_table(p, np.int64(mode), np.int64(sat))
        if (tab < 0).any():
            tab = np.where(tab < 0, 0, tab).astype(np.int32)
        t = (tab, *K.table_args(p))
        _TABLES[key] = t
    return t
