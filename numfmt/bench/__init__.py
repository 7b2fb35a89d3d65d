"""Conversion benchmark: `python -m numfmt.bench` or `numfmt bench`.

For N float32 values of each input distribution (`numfmt.bench.inputs`) it prints
elements/s and the ratio to `np.copyto` of float32 of the same N, measured in the same
process (only same-process ratios mean anything on a shared machine). Medians of
`--repeat` runs after a warm-up call that compiles; every row's results are first
compared with the exact path on a sample (`numfmt.bench.check`).
"""

from .arith import arith_rows
from .block import BLOCK_FORMATS, block_dist_rows, block_rows
from .check import BenchMismatch
from .cold import COLD_CALLS, cold_rows
from .core import FORMATS, rows
from .identify import identify_rows
from .inputs import BLOCK_DISTRIBUTIONS, DISTRIBUTIONS, block_sample, sample
from .matmul import bench_matmul
from .mma import bench_mma
from .report import extra_rows, format_table, main
from .timing import copyto_rate, spread, timeit

__all__ = ["BLOCK_DISTRIBUTIONS", "BLOCK_FORMATS", "BenchMismatch", "COLD_CALLS", "DISTRIBUTIONS", "FORMATS",
           "arith_rows", "bench_matmul", "bench_mma", "block_dist_rows", "block_rows", "block_sample", "cold_rows",
           "copyto_rate", "extra_rows", "format_table", "identify_rows", "main", "rows", "sample", "spread", "timeit"]
