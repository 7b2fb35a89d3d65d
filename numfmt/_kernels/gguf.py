"""llama.cpp's loops for GGUF `MXFP4`/`NVFP4` blocks (ggml-quants.c): the block maximum of
`quantize_row_*_ref` and the element rule `best_index_mxfp4`.

`best_index_mxfp4` gives each element the index of the first grid entry with the smallest
float32 error `|grid[i] * step - x|`, scanning the codes 0..15 in order; a later code wins
only with a strictly smaller error. With the E2M1 grid in code order this is round to nearest
with ties to the smaller magnitude, and every x that rounds to zero (negative values and NaN
included) gets code 0. The errors are float32 as in the C reference: where they are exact
(|x| at most 8 times the E2M1 scale, see `tests/test_gguf.py`) the result equals that exact
rule through the rounding funnel; beyond it float32 errors round and can tie.

`grid_index` runs the same comparisons on |x| over the eight non-negative codes and adds the
sign: for x >= 0 a negative grid entry's error `k*step + x` is never below code 0's error
`x` (float32 rounding is monotone), nor is code 8's (-0, the same error as code 0); for
x < 0 the positive entries lose to code 0 the same way, and code 8 + i's error
`|-g_i * step - x|` is the float32 number `|g_i * step - |x||` (negation is exact). A NaN
loses every comparison and keeps code 0. `grid_index_literal` is the C loop itself over all
16 codes; tests/test_gguf.py proves the two equal.
"""

from __future__ import annotations

import numpy as np

from .jit import jit

__all__ = ["block_amax", "grid_index", "grid_index_literal"]


@jit
def block_amax(x, bs, out):
    """`out[r, b]` = the C reference's block maximum of float32 `x[r, b*bs : (b+1)*bs]`:
    `if (amax < fabsf(v)) amax = fabsf(v)` from 0, so NaN is skipped."""
    rows, n = x.shape
    nb = out.shape[1]
    for r in range(rows):
        for b in range(nb):
            a = np.float32(0)
            for i in range(b * bs, min(n, (b + 1) * bs)):
                v = abs(x[r, i])
                a = v if a < v else a
            out[r, b] = a


@jit
def grid_index(x, step, bs, out):
    """llama.cpp's code (`best_index_mxfp4`, E2M1 grid doubled) of float32 `x[r, i]` with the
    float32 step `step[r, i // bs]` (half the block scale)."""
    rows, n = x.shape
    nb = step.shape[1]
    for r in range(rows):
        for b in range(nb):
            s = step[r, b]
            g1, g2, g3, g4 = np.float32(1) * s, np.float32(2) * s, np.float32(3) * s, np.float32(4) * s
            g5, g6, g7 = np.float32(6) * s, np.float32(8) * s, np.float32(12) * s
            for i in range(b * bs, min(n, (b + 1) * bs)):
                v = x[r, i]
                a = abs(v)
                best = np.uint8(0)
                berr = a
                e = abs(g1 - a)
                best = np.uint8(1) if e < berr else best
                berr = e if e < berr else berr
                e = abs(g2 - a)
                best = np.uint8(2) if e < berr else best
                berr = e if e < berr else berr
                e = abs(g3 - a)
                best = np.uint8(3) if e < berr else best
                berr = e if e < berr else berr
                e = abs(g4 - a)
                best = np.uint8(4) if e < berr else best
                berr = e if e < berr else berr
                e = abs(g5 - a)
                best = np.uint8(5) if e < berr else best
                berr = e if e < berr else berr
                e = abs(g6 - a)
                best = np.uint8(6) if e < berr else best
                berr = e if e < berr else berr
                e = abs(g7 - a)
                best = np.uint8(7) if e < berr else best
                out[r, i] = best | np.uint8(8) if (v < 0 and best != 0) else best


@jit
def grid_index_literal(x, step, bs, grid, out):
    """`best_index_mxfp4` as written: all 16 codes of float32 `grid` in order (tests)."""
    rows, n = x.shape
    for r in range(rows):
        for i in range(n):
            s = step[r, i // bs]
            v = x[r, i]
            best = 0
            berr = abs(grid[0] * s - v)
            for c in range(1, grid.size):
                err = abs(grid[c] * s - v)
                if err < berr:
                    best = c
                    berr = err
            out[r, i] = best
