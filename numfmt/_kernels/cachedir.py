"""Where numba caches numfmt's kernels (for `numfmt warmup` and the docs)."""

from __future__ import annotations

import os

__all__ = ["kernel_cache_dir"]


def kernel_cache_dir() -> str:
    """The cache directory numba uses for this package's kernels in this process.

    numba picks it when a cached function is first compiled: `NUMBA_CACHE_DIR` when set, else the
    `__pycache__` beside the source when writable, else a per-user directory. Asked here of a
    kernel's cache locator, so the answer is numba's own.
    """
    from .decode import decode_loop  # lazy: a kernel module compiles nothing at import, but loads numba

    cache = getattr(decode_loop, "_cache", None)
    path = getattr(cache, "_cache_path", None)
    return os.path.abspath(path) if path else os.path.abspath(os.path.join(os.path.dirname(__file__), "__pycache__"))
