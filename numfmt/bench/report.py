"""The table `python -m numfmt.bench` prints, and its command line."""

from __future__ import annotations

import argparse
import json
import sys

from .arith import arith_rows
from .block import block_rows
from .core import FORMATS, rows
from .identify import identify_rows
from .matmul import bench_matmul
from .mma import bench_mma


def extra_rows(n: int, repeat: int) -> list[dict]:
    """Block-format, arithmetic and accumulation rows, each ratio measured against its own copyto run."""
    out: list[dict] = []
    brows = block_rows(n, repeats=repeat)
    base_rate = dict(brows)["np.copyto float32"]
    for name, rate in brows[1:]:
        out.append({"op": name, "format": "block", "mode": "nearest_even", "rate": rate, "ratio": rate / base_rate})
    for r in arith_rows(n, repeat=repeat):
        op = f"{r['op']}{' codes' if r['codes'] else ''}{' out=' if r['out'] else ''}"
        out.append({"op": op, "format": r["fmt"], "mode": "nearest_even", "seconds": r["seconds"],
                    "rate": n / r["seconds"], "ratio": r["ratio"]})
    m = bench_matmul(256, repeat=min(repeat, 3))
    out.append({"op": "matmul 256^3 h100/e4m3", "format": "float8_e4m3fn", "mode": "MAC/s",
                "rate": m["numfmt_mac_per_s"], "ratio": float("nan")})
    if m.get("mmasim_mac_per_s"):
        out.append({"op": "mmasim WGMMA same matmul", "format": "float8_e4m3fn", "mode": "MAC/s",
                    "rate": m["mmasim_mac_per_s"], "ratio": float("nan")})
    out += identify_rows(min(n, 1 << 20))
    for r in bench_mma(repeat=min(repeat, 3)):  # ratio: numfmt's rate over MMA-Sim's, same run
        out.append({"op": f"mma_model {r['case']}", "format": "instruction", "mode": "MAC/s",
                    "rate": r["numfmt_mac_per_s"], "ratio": r.get("speedup", float("nan"))})
        if r.get("mmasim_mac_per_s"):
            out.append({"op": f"mmasim {r['case']}", "format": "instruction", "mode": "MAC/s",
                        "rate": r["mmasim_mac_per_s"], "ratio": 1.0})
    return out


def format_table(rs: list[dict]) -> str:
    """Aligned text table of benchmark rows."""
    lines = [f"{'operation':<30} {'format':<16} {'mode':<14} {'M elem/s':>10} {'ratio':>7}"]
    for r in rs:
        rate = r.get("rate")
        lines.append(
            f"{r['op']:<30} {r['format']:<16} {r['mode']:<14} "
            f"{(rate / 1e6 if rate else float('nan')):>10.0f} {r['ratio']:>7.2f}"
        )
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit status 2), like the other commands."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = _Parser(prog="numfmt bench",
                                 description="numfmt conversion benchmark: rates and ratios to np.copyto")
    ap.add_argument("--n", type=int, default=10_000_000, help="elements per array (default 10M)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per row (median reported)")
    ap.add_argument("--threads", type=int, default=None, help="threads for numfmt kernels (default 1)")
    ap.add_argument("--formats", default=",".join(FORMATS), help="comma-separated format names")
    ap.add_argument("--json", action="store_true", help="print JSON rows")
    ap.add_argument("--core-only", action="store_true", help="skip the block, arithmetic and matmul rows")
    args = ap.parse_args(argv)
    if args.n < 1 or args.repeat < 1:
        print("numfmt bench: --n and --repeat must be >= 1", file=sys.stderr)
        return 2
    rs = rows(args.n, args.repeat, [s for s in args.formats.split(",") if s], args.threads)
    if not args.core_only:
        rs += extra_rows(args.n, args.repeat)
    print(json.dumps(rs, indent=1) if args.json else format_table(rs))
    return 0
