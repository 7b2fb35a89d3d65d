"""First-call times: each verb's first call in a fresh process, with an empty and with a warm numba cache.

`cold_rows()` runs every call of `COLD_CALLS` (names of `numfmt.warmup.CALLS`) in a new Python
process whose `NUMBA_CACHE_DIR` is a new empty directory, then once more in another new process
with the cache that first run left behind. Each process reports how long `import numpy`,
`import numfmt` and the call itself took, and the parent counts the cache files the call wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

__all__ = ["COLD_CALLS", "cold_rows", "format_cold", "markdown_cold"]

COLD_CALLS = (
    "encode float8_e4m3fn nearest_even float32",
    "encode float4_e2m1fn nearest_even float32",
    "encode float8_e4m3fn stochastic float32",
    "encode float4_e2m1fn stochastic float32",
    "decode float8_e4m3fn float32",
    "decode float4_e2m1fn float32",
    "quantize float8_e4m3fn nearest_even",
    "quantize float4_e2m1fn nearest_even",
    "quantize float8_e4m3fn stochastic",
    "quantize float4_e2m1fn stochastic",
    "encode mxfp4",
    "decode mxfp4",
    "encode mxfp8_e4m3",
    "encode nvfp4",
    "decode nvfp4",
    "add float8_e4m3fn",
    "mul float8_e4m3fn",
    "fma float8_e4m3fn",
    "dot h100 e4m3",
    "matmul h100 e4m3",
    "compare float8_e4m3fn",
    "explain float8_e4m3fn",
)
"""The calls `numfmt bench --cold` times (an FP8 and an FP4 format, nearest-even and stochastic,
block formats, arithmetic, a GPU accumulation model, compare, explain)."""

_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import numpy
t1 = time.perf_counter()
import numfmt
t2 = time.perf_counter()
from numfmt.warmup import CALLS
call = CALLS[sys.argv[1]]
t3, c3 = time.perf_counter(), time.process_time()
call()
t4, c4 = time.perf_counter(), time.process_time()
print(json.dumps({"import_numpy_s": t1 - t0, "import_numfmt_s": t2 - t1, "first_call_s": t4 - t3,
                  "first_call_cpu_s": c4 - c3}))
"""


def _files(d: str) -> dict:
    out = {}
    for root, _, names in os.walk(d):
        for n in names:
            p = os.path.join(root, n)
            st = os.stat(p)
            out[p] = (st.st_mtime_ns, st.st_size)
    return out


def run_child(name: str, cache: str, python: str = sys.executable) -> dict:
    """Run call `name` in a fresh process with `NUMBA_CACHE_DIR=cache`; its times and the cache files it
    wrote or rewrote (`cache_files_written`)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    before = _files(cache)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    res = subprocess.run([python, "-c", _CHILD, name], env=env, capture_output=True, text=True, cwd=root,
                         check=False)
    if res.returncode != 0:
        raise RuntimeError(f"cold call {name!r} failed: {res.stderr.strip().splitlines()[-1:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    after = _files(cache)
    out["cache_files_written"] = sum(1 for p, v in after.items() if before.get(p) != v)
    return out


def cold_rows(calls=COLD_CALLS, *, python: str = sys.executable) -> list[dict]:
    """For each call: one row with an empty cache, one with the cache that run left (`cache`: "empty" /
    "warm"), each with `import_numpy_s`, `import_numfmt_s`, `first_call_s` (wall) and `first_call_cpu_s` (the
    process's CPU time: steadier on a shared machine), `cache_files_written`.

    Examples
    --------
    >>> from numfmt.bench.cold import cold_rows
    >>> [(r["call"], r["cache"]) for r in cold_rows(["explain float8_e4m3fn"])]
    [('explain float8_e4m3fn', 'empty'), ('explain float8_e4m3fn', 'warm')]
    """
    rows = []
    for name in calls:
        with tempfile.TemporaryDirectory(prefix="numfmt-cold-") as d:
            for cache in ("empty", "warm"):
                r = run_child(name, d, python)
                rows.append({"op": "first call", "call": name, "cache": cache, **r})
    return rows


def format_cold(rows: list[dict]) -> str:
    """Aligned text: per call, `import numfmt` and the first call's seconds with an empty and a warm cache."""
    by: dict = {}
    for r in rows:
        by.setdefault(r["call"], {})[r["cache"]] = r
    nan = float("nan")
    lines = ["seconds, wall (CPU)                          empty cache         files  warm cache        import numfmt"]
    for name, c in by.items():
        e, w = c.get("empty", {}), c.get("warm", {})
        lines.append(f"{name:<44} {e.get('first_call_s', nan):>7.2f} ({e.get('first_call_cpu_s', nan):>6.2f}) "
                     f"{e.get('cache_files_written', 0):>6} {w.get('first_call_s', nan):>7.3f} "
                     f"({w.get('first_call_cpu_s', nan):>6.3f}) {w.get('import_numfmt_s', nan):>7.3f}")
    return "\n".join(lines)


def markdown_cold(doc: dict) -> str:
    """Markdown of a `numfmt bench --cold --json` document: per call, the first call's wall and CPU
    seconds with an empty and a warm cache, and the cache files written.

    Examples
    --------
    >>> from numfmt.bench.cold import markdown_cold
    >>> row = {"call": "explain float8_e4m3fn", "first_call_s": 0.01, "first_call_cpu_s": 0.01,
    ...        "import_numfmt_s": 0.2, "cache_files_written": 0}
    >>> doc = {"meta": {"command": "numfmt bench --cold", "cpu": "x", "cores": 2},
    ...        "rows": [dict(row, cache="empty"), dict(row, cache="warm")]}
    >>> print(markdown_cold(doc).splitlines()[-1])
    | explain float8_e4m3fn | 0.01 | 0.01 | 0 | 0.010 | 0.010 | 0 | 0.200 |
    """
    m = doc["meta"]
    load = m.get("loadavg_at_end")
    head = (f"Measured with `{m['command']}` on {m.get('cpu', '?')} ({m.get('cores', '?')} cores), numpy "
            f"{m.get('numpy')}, numba {m.get('numba')}" + (f", load average {load[0]} at the end" if load else "")
            + ". Seconds of the first call after the import; CPU seconds are the process's own (steadier than "
            "wall time on a shared machine).")
    by: dict = {}
    for r in doc["rows"]:
        by.setdefault(r["call"], {})[r["cache"]] = r
    lines = ["| first call | empty cache: wall | CPU | files written | warm cache: wall | CPU | files written "
             "| `import numfmt` (warm) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, c in by.items():
        e, w = c["empty"], c["warm"]
        lines.append(f"| {name} | {e['first_call_s']:.2f} | {e['first_call_cpu_s']:.2f} | {e['cache_files_written']} "
                     f"| {w['first_call_s']:.3f} | {w['first_call_cpu_s']:.3f} | {w['cache_files_written']} "
                     f"| {w['import_numfmt_s']:.3f} |")
    return head + "\n\n" + "\n".join(lines)
