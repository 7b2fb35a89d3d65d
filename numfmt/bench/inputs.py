"""The benchmark's input distributions: what real data looks like, and the stress spread.

* `gaussian_absmax`: standard normal values scaled so that the largest magnitude is the
  format's max (per-tensor absmax scaling, the usual post-training-quantisation case);
  almost every element lands on a normal code.
* `loguniform_inside`: magnitudes log-uniform strictly inside the format's finite range,
  from its smallest subnormal (smallest nonzero value) to its max, random signs: every
  binade equally often, subnormals included, nothing over- or underflows.
* `spread`: log-uniform a little past both ends (2 binades below the smallest subnormal,
  1 above max), random signs: underflow, subnormals, normals and overflow.

Block formats are measured on the first two, per block (`block_sample`): every block of
`block_size` values gets its own magnitude, log-uniform over 2**-16 .. 2**16, so the block
scales vary as they do across a tensor.
"""

from __future__ import annotations

import operator

import numpy as np

from ..choices import check_choice
from ..presets import get_format
from .timing import spread

__all__ = ["DISTRIBUTIONS", "BLOCK_DISTRIBUTIONS", "sample", "block_sample"]

DISTRIBUTIONS = ("gaussian_absmax", "loguniform_inside", "spread")
BLOCK_DISTRIBUTIONS = ("gaussian_absmax", "loguniform_inside")
_F32MAX = float(np.finfo(np.float32).max)


def _signs(rng, n: int) -> np.ndarray:
    return rng.integers(0, 2, n, dtype=np.int8) * np.int8(2) - np.int8(1)


def _count(n) -> int:
    """`n` as a non-negative int (TypeError / ValueError naming `n`)."""
    if isinstance(n, bool):
        raise TypeError(f"n must be an int, got bool {n!r}")
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"n must be an int, got {type(n).__name__} {n!r}") from None
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return n


def _loguniform(rng, n: int, lo: float, hi: float) -> np.ndarray:
    """float64 magnitudes 2**U(log2 lo, log2 hi), clipped into [lo, hi]."""
    mag = np.exp2(rng.uniform(np.log2(lo), np.log2(hi), n))
    return np.clip(mag, lo, hi)


def sample(fmt, n: int, dist: str, seed: int = 0) -> np.ndarray:
    """`n` float32 inputs for format `fmt` drawn from distribution `dist` (see the module notes).

    Examples
    --------
    >>> import numpy as np
    >>> from numfmt.bench.inputs import sample
    >>> x = sample("e2m1", 1000, "gaussian_absmax")
    >>> x.dtype.name, float(np.abs(x).max())
    ('float32', 6.0)
    """
    n = _count(n)
    dist = check_choice("dist", dist, DISTRIBUTIONS)
    f = get_format(fmt)
    rng = np.random.default_rng(seed)
    top = min(float(f.max), _F32MAX)
    if dist == "gaussian_absmax":
        g = rng.standard_normal(n)
        if n:
            g *= top / np.abs(g).max()
        return np.clip(g, -top, top).astype(np.float32)
    if dist == "loguniform_inside":
        return (_loguniform(rng, n, float(f.smallest_subnormal), top) * _signs(rng, n)).astype(np.float32)
    return spread(f, n, seed)


def block_sample(fmt, n: int, dist: str, seed: int = 0) -> np.ndarray:
    """`n` float32 inputs for the block format `fmt`, distribution `dist` applied per block.

    `gaussian_absmax`: each block standard normal; `loguniform_inside`: each block
    log-uniform over the element format's finite range; then every block times its own
    magnitude 2**U(-16, 16).

    Examples
    --------
    >>> from numfmt.bench.inputs import block_sample
    >>> block_sample("mxfp4", 64, "loguniform_inside").shape
    (64,)
    """
    from ..block import get_block_format  # lazy: the block package is only needed for block rows

    n = _count(n)
    dist = check_choice("dist", dist, BLOCK_DISTRIBUTIONS)
    f = get_block_format(fmt)
    bs = f.block_size
    nb = -(-n // bs)
    rng = np.random.default_rng(seed)
    if dist == "gaussian_absmax":
        v = rng.standard_normal((nb, bs))
        v /= np.maximum(np.abs(v).max(axis=1, keepdims=True), 1e-300)
    else:  # loguniform_inside
        ef = f.element
        v = _loguniform(rng, nb * bs, float(ef.smallest_subnormal), float(ef.max)).reshape(nb, bs)
        v *= _signs(rng, nb * bs).reshape(nb, bs) / float(ef.max)
    v *= np.exp2(rng.uniform(-16, 16, (nb, 1)))
    return v.reshape(-1)[:n].astype(np.float32)
