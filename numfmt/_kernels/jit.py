"""The one jit decorator: nopython, cached, no fastmath (bit-exactness)."""

from __future__ import annotations

import numba

__all__ = ["jit"]


def jit(fn):
    """Compile `fn` lazily in nopython mode with an on-disk cache."""
    return numba.njit(cache=True, nogil=True, error_model="numpy")(fn)

