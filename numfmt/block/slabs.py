"""Slabs: a block array processed a few rows at a time, whatever its blocked axis.

The element and scale rules of the power-of-two and P3109 families, and decoding, treat every
block on its own: `encode` and `decode` run them on slabs of about `SLAB` elements of the array
with the blocked axis moved last, each slab copied into contiguous rows, so their working memory
is a few slabs and no copy of the whole array is made (moving an axis is only a view).
"""

from __future__ import annotations

import numpy as np

__all__ = ["SLAB", "slabs"]

SLAB = 1 << 16
"""Elements processed at a time."""


def slabs(others: tuple, n: int):
    """(index, first row, row count) of the slabs of an array of shape `others + (n,)`.

    `index` selects a slab (shape `(m,) + others[k + 1:] + (n,)` for some axis k); its rows, in the
    flat C-order numbering over `others`, are `first .. first + count - 1`. An array of at most
    `SLAB` elements, or one row, is one slab.

    Examples
    --------
    >>> for s in slabs((2, 3), 1 << 15):   # 2 x 3 rows of 32768: two rows a slab at most
    ...     print(s)
    ((0, slice(0, 2, None)), 0, 2)
    ((0, slice(2, 3, None)), 2, 1)
    ((1, slice(0, 2, None)), 3, 2)
    ((1, slice(2, 3, None)), 5, 1)
    """
    rows = int(np.prod(others, dtype=np.int64))
    if rows * n <= SLAB or not others:
        yield (), 0, rows
        return
    inner = [int(np.prod(others[k + 1:], dtype=np.int64)) for k in range(len(others))]
    k = next((k for k in range(len(others)) if inner[k] * n <= SLAB), len(others) - 1)
    step = max(1, SLAB // max(inner[k] * n, 1))
    for lead in np.ndindex(*others[:k]):
        base = (int(np.ravel_multi_index(lead, others[:k])) if k else 0) * others[k]
        for i in range(0, others[k], step):
            j = min(i + step, others[k])
            yield lead + (slice(i, j),), (base + i) * inner[k], (j - i) * inner[k]
