"""Block encode/decode throughput rows."""

from __future__ import annotations

import numpy as np

from ..block import decode, encode
from .check import check_block_decode, check_block_encode
from .inputs import BLOCK_DISTRIBUTIONS, block_sample
from .timing import copyto_rate, timeit


def block_rows(n: int = 10_000_000, *, repeats: int = 5):
    """Throughput rows `(name, elements/s)` of block encode/decode along the last axis.

    Includes `np.copyto` of float32 measured in the same process (ratios are
    what matter). Single-threaded numba kernels; medians of `repeats` runs
    after a warm-up; decode writes into a reused float32 buffer (`out=`),
    encode allocates its BlockArray.

    Examples
    --------
    >>> from numfmt.bench import block_rows
    >>> rows = block_rows(4096, repeats=1)
    >>> rows[0][0]
    'np.copyto float32'
    """
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(np.float32)
    y = np.empty_like(x)

    def med(fn):  # elements per second, median of the repeats
        return x.size / timeit(fn, repeats)[0]

    rows = [("np.copyto float32", med(lambda: np.copyto(y, x)))]
    for name in ("mxfp4", "mxfp8_e4m3", "nvfp4"):
        ba = encode(x, name)
        rows.append((f"{name} encode", med(lambda name=name: encode(x, name))))
        rows.append((f"{name} decode", med(lambda ba=ba: decode(ba, out=y))))
    return rows


BLOCK_FORMATS = ("mxfp4", "mxfp6_e2m3", "mxfp8_e4m3", "nvfp4")


def block_dist_rows(n: int = 10_000_000, repeat: int = 5, formats=BLOCK_FORMATS, dists=BLOCK_DISTRIBUTIONS,
                    check: bool = True) -> list[dict]:
    """Block encode (fresh BlockArray) and decode (`out=`) rows per input distribution (applied per block).

    Dicts as `numfmt.bench.rows` gives them (`op`, `format`, `mode`, `dist`, `ratio`, `checked`, ...);
    each row's results are first compared with the general block path on a sample
    (`numfmt.bench.check`).

    Examples
    --------
    >>> from numfmt.bench.block import block_dist_rows
    >>> r = block_dist_rows(4096, 1, formats=["mxfp4"], dists=["gaussian_absmax"])
    >>> [(x["op"], x["dist"]) for x in r]
    [('mxfp4 encode', 'gaussian_absmax'), ('mxfp4 decode out=', 'gaussian_absmax')]
    """
    out: list[dict] = []

    def add(op, fmt, dist, fn, checked):
        med, lo, hi = timeit(fn, repeat)
        out.append({"op": op, "format": fmt, "mode": "nearest_even", "dist": dist, "seconds": med, "min": lo,
                    "max": hi, "rate": n / med, "base_rate": base, "ratio": (n / med) / base, "checked": checked})

    for name in formats:
        base = copyto_rate(n, repeat)
        for dist in dists:
            x = block_sample(name, n, dist)
            ba = encode(x, name)
            done = check_block_encode(x, ba, name) if check else 0
            add(f"{name} encode", name, dist, lambda name=name, x=x: encode(x, name), done)
            y = np.empty(n, np.float32)
            decode(ba, out=y)
            done = check_block_decode(ba, y) if check else 0
            add(f"{name} decode out=", name, dist, lambda ba=ba, y=y: decode(ba, out=y), done)
    return out
