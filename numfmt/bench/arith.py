"""Elementwise arithmetic rows: add, mul and fma into E4M3 and bfloat16."""

from __future__ import annotations

import numpy as np

from ..arith import add, fma, mul
from ..codec import decode_dtype
from ..presets import get_format
from .timing import timeit


def arith_rows(n: int = 10_000_000, *, repeat: int = 5) -> list[dict]:
    """Time 1-thread add, mul and fma of `n` float32 elements into E4M3 and bfloat16.

    Each row gives the median seconds and the ratio of elements/s to an
    `np.copyto` of `n` float32 values timed in the same process (the goal is
    >= 0.3 for add and mul, >= 0.15 for fma). Values rows allocate their result (its
    page faults included) or write into a reused `out=`; `codes=True` rows return codes.
    Not a test: timings depend on the machine.

    Examples
    --------
    >>> from numfmt.bench import arith_rows
    >>> sorted(arith_rows(1000, repeat=1)[0])
    ['codes', 'fmt', 'op', 'out', 'ratio', 'seconds']
    """
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(n) * 8).astype(np.float32)
    y = (rng.standard_normal(n) * 8).astype(np.float32)
    z = (rng.standard_normal(n) * 8).astype(np.float32)
    dst = np.empty_like(x)

    def med(fn):
        return timeit(fn, repeat)[0]

    base = med(lambda: np.copyto(dst, x))
    rows = []
    for fmt in ("e4m3", "bfloat16"):
        vals = np.empty(n, decode_dtype(get_format(fmt), None))
        for op, fn in (
            ("add", lambda c, o, f=fmt: add(x, y, f, codes=c, saturation="finite", out=o)),
            ("mul", lambda c, o, f=fmt: mul(x, y, f, codes=c, saturation="finite", out=o)),
            ("fma", lambda c, o, f=fmt: fma(x, y, z, f, codes=c, saturation="finite", out=o)),
        ):
            for c, o in ((False, None), (False, vals), (True, None)):
                t = med(lambda fn=fn, c=c, o=o: fn(c, o))
                rows.append({"op": op, "fmt": fmt, "codes": c, "out": o is not None, "seconds": t,
                             "ratio": base / t})
    return rows
