"""The table `python -m numfmt.bench` prints, and its command line."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from importlib import metadata

import numpy as np

from .. import __version__
from ..choices import did_you_mean
from .arith import arith_rows
from .block import BLOCK_FORMATS, block_dist_rows
from .core import FORMATS, rows
from .identify import identify_rows
from .inputs import BLOCK_DISTRIBUTIONS, DISTRIBUTIONS
from .matmul import bench_matmul
from .mma import bench_mma
from .threads import thread_rows


def extra_rows(n: int, repeat: int) -> list[dict]:
    """Arithmetic and accumulation rows, each ratio measured against its own copyto run."""
    out: list[dict] = []
    for r in arith_rows(n, repeat=repeat):
        op = f"{r['op']}{' codes' if r['codes'] else ''}{' out=' if r['out'] else ''}"
        out.append({"op": op, "format": r["fmt"], "mode": "nearest_even", "dist": "-", "seconds": r["seconds"],
                    "rate": n / r["seconds"], "ratio": r["ratio"]})
    m = bench_matmul(256, repeat=min(repeat, 3))
    out.append({"op": "matmul 256^3 h100/e4m3", "format": "float8_e4m3fn", "mode": "MAC/s", "dist": "-",
                "rate": m["numfmt_mac_per_s"], "ratio": float("nan")})
    if m.get("mmasim_mac_per_s"):
        out.append({"op": "mmasim WGMMA same matmul", "format": "float8_e4m3fn", "mode": "MAC/s", "dist": "-",
                    "rate": m["mmasim_mac_per_s"], "ratio": float("nan")})
    out += identify_rows(min(n, 1 << 20))
    out += thread_rows(n, repeat)
    return out + mma_rows(repeat)


def mma_rows(repeat: int) -> list[dict]:
    """The matrix-instruction rows: numfmt's rate with its speedup over MMA-Sim's (same run, same
    operands), MMA-Sim's rate, and numfmt's threads=2 over threads=1."""
    out: list[dict] = []
    for r in bench_mma(repeat=min(repeat, 3)):  # ratio: numfmt's rate over MMA-Sim's, same run
        out.append({"op": f"mma_model {r['case']}", "format": "instruction", "mode": "MAC/s", "dist": "-",
                    "rate": r["numfmt_mac_per_s"], "ratio": r.get("speedup", float("nan"))})
        if r.get("mmasim_mac_per_s"):
            out.append({"op": f"mmasim {r['case']}", "format": "instruction", "mode": "MAC/s", "dist": "-",
                        "rate": r["mmasim_mac_per_s"], "ratio": 1.0})
        if r.get("threads2_speedup"):  # ratio: threads=2 over threads=1, same run
            out.append({"op": f"mma_threads {r['case']}", "format": "instruction", "mode": "threads=2/1",
                        "dist": "-", "rate": r["numfmt_mac_per_s"] * r["threads2_speedup"],
                        "ratio": r["threads2_speedup"], "serial_cpu": r.get("threads2_serial_cpu")})
    return out


def machine() -> dict:
    """What the numbers were measured on: CPU model, cores, Python, numpy and numba versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        numba_version = metadata.version("numba")  # (without importing it)
    except metadata.PackageNotFoundError:  # pragma: no cover - numba is a dependency
        numba_version = None
    load = [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None
    return {"cpu": cpu, "cores": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba_version, "numfmt": __version__, "loadavg_at_end": load}


def _ratio(r) -> str:
    v = r.get("ratio")
    return "-" if v is None or v != v else f"{v:.2f}"


def format_table(rs: list[dict]) -> str:
    """Aligned text table of benchmark rows: one line per (operation, format, mode), the ratio of each
    input distribution side by side (rows without a distribution in one `ratio` column)."""
    dists = [d for d in dict.fromkeys(r.get("dist", "-") for r in rs) if d not in ("-",)]
    keyed: dict = {}
    for r in rs:
        keyed.setdefault((r["op"], r["format"], r["mode"]), {})[r.get("dist", "-")] = r
    w = max([len(d) for d in dists] + [7])
    lines = [f"{'operation':<30} {'format':<14} {'mode':<16} " + " ".join(f"{d:>{w}}" for d in dists)
             + f" {'M elem/s':>9}"]
    for (op, fmt, mode), by in keyed.items():
        if "-" in by:
            r = by["-"]
            cells = [f"{_ratio(r):>{w}}"] + [f"{'':>{w}}"] * (len(dists) - 1)
            rate = r.get("rate")
        else:
            cells = [f"{_ratio(by[d]) if d in by else '':>{w}}" for d in dists]
            rate = next(iter(by.values())).get("rate")
        lines.append(f"{op:<30} {fmt:<14} {mode:<16} " + " ".join(cells)
                     + f" {(rate / 1e6 if rate else float('nan')):>9.0f}")
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit status 2), like the other commands."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _names(arg: str, allowed, what: str) -> list[str]:
    names = [s for s in arg.split(",") if s]
    bad = [s for s in names if s not in allowed]
    if bad:
        if len(allowed) > 12:
            raise ValueError(f"unknown {what} {bad[0]!r}" + (did_you_mean(bad[0], allowed) or
                                                            "; see numfmt.warmup.CALLS"))
        raise ValueError(f"unknown {what} {bad[0]!r}; choose from {', '.join(allowed)}")
    return names


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = _Parser(prog="numfmt bench",
                 description="numfmt conversion benchmark: rates and ratios to np.copyto, per input distribution "
                             "(gaussian_absmax, loguniform_inside, spread); every row's results are checked "
                             "against the exact path first")
    ap.add_argument("--n", type=int, default=10_000_000, help="elements per array (default 10M)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per row (median reported)")
    ap.add_argument("--threads", type=int, default=None, help="threads for numfmt kernels (default 1)")
    ap.add_argument("--formats", default=",".join(FORMATS), help="comma-separated format names")
    ap.add_argument("--dists", default=",".join(DISTRIBUTIONS),
                    help="comma-separated input distributions (default: all three)")
    ap.add_argument("--block-formats", default=",".join(BLOCK_FORMATS), help="comma-separated block formats")
    ap.add_argument("--json", action="store_true", help="print JSON: {'meta': {...}, 'rows': [...]}")
    ap.add_argument("--core-only", action="store_true", help="skip the block, arithmetic and matmul rows")
    ap.add_argument("--mma-only", action="store_true",
                    help="only the matrix-instruction rows (numfmt vs MMA-Sim, threads=2 vs 1)")
    ap.add_argument("--no-check", action="store_true", help="skip comparing each row with the exact path")
    ap.add_argument("--cold", action="store_true",
                    help="instead: each verb's first call in a fresh process, with an empty and a warm numba cache")
    ap.add_argument("--calls", default=None,
                    help="--cold: comma-separated call names of numfmt.warmup.CALLS (default: numfmt.bench.COLD_CALLS)")
    args = ap.parse_args(argv)
    command = " ".join(["numfmt bench", *(sys.argv[1:] if argv is None else argv)])
    if args.cold:
        from ..warmup import CALLS  # lazy: builds the call table
        from .cold import COLD_CALLS, cold_rows, format_cold  # lazy: only for --cold

        try:
            calls = _names(args.calls, tuple(CALLS), "call") if args.calls else list(COLD_CALLS)
        except ValueError as e:
            print(f"numfmt bench: {e}", file=sys.stderr)
            return 2
        rs = cold_rows(calls)
        if args.json:
            print(json.dumps({"meta": {"command": command, **machine()}, "rows": rs}, indent=1))
        else:
            print(format_cold(rs))
        return 0
    if args.n < 1 or args.repeat < 1:
        print("numfmt bench: --n and --repeat must be >= 1", file=sys.stderr)
        return 2
    try:
        dists = _names(args.dists, DISTRIBUTIONS, "distribution")
        bfmts = [s for s in args.block_formats.split(",") if s]
        fmts = [s for s in args.formats.split(",") if s]
        if args.mma_only:
            rs = mma_rows(args.repeat)
        else:
            rs = rows(args.n, args.repeat, fmts, args.threads, dists, not args.no_check)
        if not args.core_only and not args.mma_only:
            rs += block_dist_rows(args.n, args.repeat, bfmts, [d for d in dists if d in BLOCK_DISTRIBUTIONS],
                                  not args.no_check)
            rs += extra_rows(args.n, args.repeat)
    except (ValueError, KeyError) as e:
        print(f"numfmt bench: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    if args.json:
        meta = {"command": command, "n": args.n,
                "repeat": args.repeat, "threads": args.threads or 1, **machine()}
        print(json.dumps({"meta": meta, "rows": rs}, indent=1))
    else:
        print(format_table(rs))
    return 0


def markdown(doc: dict) -> str:
    """Markdown of a `numfmt bench --json` document: what was measured where, then the conversion
    and block rows with each input distribution's ratio side by side.

    Examples
    --------
    >>> from numfmt.bench.report import markdown
    >>> doc = {"meta": {"command": "numfmt bench", "n": 10, "repeat": 1, "threads": 1, "cpu": "x", "cores": 2,
    ...                 "numpy": "2", "numba": "0.6"},
    ...        "rows": [{"op": "encode out=", "format": "e2m1", "mode": "nearest_even", "dist": "spread",
    ...                  "ratio": 1.234}]}
    >>> print(markdown(doc).splitlines()[-1])
    | encode out= | e2m1 | nearest_even | 1.23 |
    """
    m = doc["meta"]
    head = (f"Measured with `{m['command']}`: N = {m['n']:,} float32 elements, median of {m['repeat']} runs, "
            f"{m['threads']} thread(s), on {m.get('cpu', '?')} ({m.get('cores', '?')} cores), numpy {m.get('numpy')}, "
            f"numba {m.get('numba')}"
            + (f", load average {m['loadavg_at_end'][0]} at the end of the run" if m.get("loadavg_at_end") else "")
            + ". Ratio = elements/s ÷ `np.copyto` of float32 elements/s in the same process; "
            "each row's results were compared with the exact path before it was timed.")
    rs = [r for r in doc["rows"] if r.get("dist", "-") in DISTRIBUTIONS]
    dists = [d for d in DISTRIBUTIONS if any(r["dist"] == d for r in rs)]
    keyed: dict = {}
    for r in rs:
        keyed.setdefault((r["op"], r["format"], r["mode"]), {})[r["dist"]] = r
    lines = ["| operation | format | mode | " + " | ".join(f"`{d}`" for d in dists) + " |",
             "|---|---|---|" + "---:|" * len(dists)]
    for (op, fmt, mode), by in keyed.items():
        lines.append(f"| {op} | {fmt} | {mode} | " + " | ".join(_ratio(by[d]) if d in by else "" for d in dists)
                     + " |")
    return head + "\n\n" + "\n".join(lines)
