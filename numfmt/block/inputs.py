"""Input arrays: float checks, the float32 requirement of some recipes, blocks as an axis."""

from __future__ import annotations

import numpy as np


def as_float(x) -> np.ndarray:
    if isinstance(x, (str, bytes)):
        raise TypeError(f"x must be numeric, got {type(x).__name__}: {x!r}")
    arr = np.asarray(x)
    dt = arr.dtype
    if arr.ndim == 0:
        raise ValueError("x must have at least one dimension (axis is out of range for a scalar)")
    if dt == np.float64:
        return np.ascontiguousarray(arr)
    if dt.kind == "f" or (dt.kind == "V" and "float" in dt.name):
        if dt.itemsize > 4:
            raise TypeError(f"x has unsupported dtype {dt}")
        return np.ascontiguousarray(arr, dtype=np.float32)
    if dt.kind in "iu":
        out = arr.astype(np.float64)
        if not np.array_equal(out.astype(dt), arr):
            raise ValueError("integer x is not exact in float64")
        return out
    raise TypeError(f"x must be a float array, got dtype {dt}")


def to_f32(x: np.ndarray, why: str) -> np.ndarray:
    if x.dtype == np.float32:
        return x
    y = x.astype(np.float32)
    if not np.array_equal(y.astype(np.float64), x, equal_nan=True):
        raise ValueError(f"{why} computes in float32 and x (float64) is not exact in float32; "
                         "pass float32 input")
    return y


def as_rows(a: np.ndarray) -> np.ndarray:
    """(..., n) -> (rows, n): one row per block line (also when n or the row count is 0, where
    `reshape(-1, n)` cannot infer the row count)."""
    return a.reshape(int(np.prod(a.shape[:-1], dtype=np.int64)), a.shape[-1])


def blocked(a2: np.ndarray, bs: int, fill=0.0) -> np.ndarray:
    """(rows, n) -> (rows, nb, bs), the last block padded with `fill`."""
    rows, n = a2.shape
    nb = -(-n // bs)
    if nb * bs == n:
        return a2.reshape(rows, nb, bs)
    out = np.full((rows, nb * bs), fill, a2.dtype)
    out[:, :n] = a2
    return out.reshape(rows, nb, bs)
