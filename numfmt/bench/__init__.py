"""Conversion benchmark: `python -m numfmt.bench` or `numfmt bench`.

For N float32 values spread over each format's range it prints elements/s and
the ratio to `np.copyto` of float32 of the same N, measured in the same
process (only same-process ratios mean anything on a shared machine). Medians
of `--repeat` runs after a warm-up call that compiles.
"""

from .arith import arith_rows
from .block import block_rows
from .core import FORMATS, rows
from .identify import identify_rows
from .matmul import bench_matmul
from .mma import bench_mma
from .report import extra_rows, format_table, main
from .timing import spread, timeit

__all__ = ["FORMATS", "arith_rows", "bench_matmul", "bench_mma", "block_rows", "extra_rows", "format_table",
           "identify_rows", "main", "rows", "spread", "timeit"]
