"""Block encode/decode throughput rows."""

from __future__ import annotations

import numpy as np

from ..block import decode, encode
from .timing import timeit


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
