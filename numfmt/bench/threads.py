"""Thread scaling rows: the same compute-bound call with `threads=2` and with one thread.

Each row's ratio is the one-thread time over the two-thread time, both measured in the same
process (median of the repeats), so 2.0 is perfect scaling on two cores. The results of the
two calls are compared bit for bit first: threads never change a result.
"""

from __future__ import annotations

import numpy as np

from ..arith import add, fma
from ..codec import encode
from .inputs import sample
from .timing import timeit

__all__ = ["THREAD_CASES", "thread_rows"]

THREAD_CASES = (
    ("encode", "float8_e4m3fn", "stochastic N=32"),
    ("encode", "int8", "stochastic N=8"),
    ("add codes", "float8_e4m3fn", "nearest_even"),
    ("fma codes", "bfloat16", "nearest_even"),
)
"""(operation, format, mode) of each thread-scaling row."""


def _call(op: str, fmt: str, mode: str, n: int):
    x = sample(fmt, n, "gaussian_absmax", seed=1)
    y = sample(fmt, n, "gaussian_absmax", seed=2)
    if op == "encode":
        nbits = int(mode.rsplit("=", 1)[1])
        return lambda t: encode(x, fmt, rounding="stochastic", random=7, rbits=nbits, threads=t)
    if op == "add codes":
        return lambda t: add(x, y, fmt, codes=True, saturation="finite", threads=t)
    return lambda t: fma(x, y, x, fmt, codes=True, saturation="finite", threads=t)


def thread_rows(n: int = 10_000_000, repeat: int = 5, threads: int = 2) -> list[dict]:
    """One row per `THREAD_CASES` entry: seconds with `threads` threads and the speed-up over one.

    Examples
    --------
    >>> from numfmt.bench.threads import thread_rows
    >>> r = thread_rows(1 << 12, repeat=1)[0]
    >>> r["op"], r["format"], r["mode"]
    ('threads=2 encode', 'float8_e4m3fn', 'stochastic N=32')
    """
    rows = []
    for op, fmt, mode in THREAD_CASES:
        call = _call(op, fmt, mode, n)
        one, many = call(1), call(threads)
        if not np.array_equal(one, many):
            raise AssertionError(f"{op} {fmt} {mode}: threads={threads} changed the result")
        t1 = timeit(lambda: call(1), repeat)[0]
        tn = timeit(lambda: call(threads), repeat)[0]
        rows.append({"op": f"threads={threads} {op}", "format": fmt, "mode": mode, "dist": "gaussian_absmax",
                     "seconds": tn, "rate": n / tn, "ratio": t1 / tn})
    return rows
