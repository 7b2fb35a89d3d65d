"""Timing helpers and the input spread shared by the benchmark rows."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ..presets import get_format


def spread(fmt, n: int, seed: int = 0) -> np.ndarray:
    """n float32 values log-uniform over the format's range, a little past both ends, random signs."""
    f = get_format(fmt)
    rng = np.random.default_rng(seed)
    lo = np.log2(f.smallest_subnormal) - 2
    hi = np.log2(f.max) + 1
    mag = np.minimum(np.exp2(rng.uniform(lo, hi, n)), np.finfo(np.float32).max).astype(np.float32)
    sign = rng.integers(0, 2, n, dtype=np.int8) * 2 - 1
    return (mag * sign).astype(np.float32)


def timeit(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """(median, min, max) seconds of `fn` after one warm-up call."""
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), min(ts), max(ts)




def copyto_rate(n: int, repeat: int) -> float:
    """Elements/s of `np.copyto` of `n` float32 values (median of `repeat` after a warm-up)."""
    src = np.ones(n, np.float32)
    dst = np.empty_like(src)
    return n / timeit(lambda: np.copyto(dst, src), repeat)[0]
