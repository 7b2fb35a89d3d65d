"""PTX conventions: the random bits of `cvt.rs.satfinite.e2m1x4.f32`."""

from __future__ import annotations

import numpy as np


def ptx_e2m1x4_rbits(words, count: int | None = None) -> np.ndarray:
    """Per-element random bits of `cvt.rs.satfinite.e2m1x4.f32` (8 per FP4 element).

    One 32-bit word serves four consecutive elements `x0..x3` issued as
    `cvt.rs... d, {x3, x2, x1, x0}, rbits` (TransformerEngine and CUTLASS,
    which gives `x0` in the low nibble). PTX gives operand a (= x3) bits
    31:24, b (= x2) bits 15:8, e (= x1) bits 23:16 and f (= x0) bits 7:0 [U:
    from the ISA text, without its figure]. Use with `rounding="stochastic",
    rbits=8, random=ptx_e2m1x4_rbits(words)`.

    Examples
    --------
    >>> from numfmt.block import ptx_e2m1x4_rbits
    >>> [hex(v) for v in ptx_e2m1x4_rbits([0xAABBCCDD])]
    ['0xdd', '0xbb', '0xcc', '0xaa']
    """
    w = np.asarray(words)
    if w.dtype.kind not in "ui" or (w.size and (int(w.min()) < 0 or int(w.max()) >= 1 << 32)):
        raise ValueError("words must be unsigned 32-bit integers")
    w = w.astype(np.uint32).reshape(-1)
    out = np.empty((w.size, 4), np.uint8)
    out[:, 0] = w & 0xFF
    out[:, 1] = (w >> 16) & 0xFF
    out[:, 2] = (w >> 8) & 0xFF
    out[:, 3] = (w >> 24) & 0xFF
    out = out.reshape(-1)
    if count is not None:
        if count > out.size:
            raise ValueError(f"count={count} needs {-(-count // 4)} words, got {w.size}")
        out = out[:count]
    return out
