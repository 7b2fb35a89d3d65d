"""llama.cpp's element rule for GGUF `MXFP4`/`NVFP4` blocks (ggml `best_index_mxfp4`).

Each element gets the index of the first grid entry with the smallest float32 error
`|grid[i] * step - x|`, scanning the indices 0..15 in order; a later index wins only with
a strictly smaller error. With the E2M1 grid in code order this is round to nearest with
ties to the smaller magnitude, and every x that rounds to zero (negative values and NaN
included) gets index 0. The errors are float32 as in the C reference: where they are
exact (|x| at most the largest grid value times the step, see `tests/test_gguf.py`) the
result equals that exact rule through the rounding funnel; beyond it float32 errors
round and can tie.
"""

from __future__ import annotations

from .jit import jit

__all__ = ["grid_index"]


@jit
def grid_index(x, step, bs, grid, out):
    """`out[r, i]` = llama.cpp's grid index of `x[r, i]` (float32) with the float32 step
    `step[r, i // bs]` (half the block scale) and the float32 `grid` (16 entries)."""
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
