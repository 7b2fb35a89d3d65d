"""Conversion benchmark: `python -m numfmt.bench` or `numfmt bench`.

For N float32 values spread over each format's range it prints elements/s and
the ratio to `np.copyto` of float32 of the same N, measured in the same
process (only same-process ratios mean anything on a shared machine). Medians
of `--repeat` runs after a warm-up call that compiles.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

import numpy as np

import numfmt

FORMATS = ("float8_e4m3fn", "float8_e5m2", "float4_e2m1fn", "float6_e3m2fn", "bfloat16", "int8")


def spread(fmt, n: int, seed: int = 0) -> np.ndarray:
    """n float32 values log-uniform over the format's range, a little past both ends, random signs."""
    f = numfmt.get_format(fmt)
    rng = np.random.default_rng(seed)
    lo = np.log2(f.smallest_subnormal) - 2
    hi = np.log2(f.max) + 1
    mag = np.minimum(np.exp2(rng.uniform(lo, hi, n)), np.finfo(np.float32).max).astype(np.float32)
    sign = rng.integers(0, 2, n, dtype=np.int8) * 2 - 1
    return (mag * sign).astype(np.float32)


def timeit(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """(median, min, max) seconds of `fn` after one warm-up call."""
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), min(ts), max(ts)


def rows(n: int = 10_000_000, repeat: int = 5, formats=FORMATS, threads: int | None = None) -> list[dict]:
    """Run the core benchmark; one dict per measurement (ratio = rate / copyto rate)."""
    src = np.ones(n, np.float32)
    dst = np.empty_like(src)
    base, _, _ = timeit(lambda: np.copyto(dst, src), repeat)
    out: list[dict] = [
        {"op": "np.copyto float32", "format": "-", "mode": "-", "seconds": base, "rate": n / base, "ratio": 1.0}
    ]

    def add(op, fmt, mode, fn):
        med, lo, hi = timeit(fn, repeat)
        out.append({"op": op, "format": fmt, "mode": mode, "seconds": med, "min": lo, "max": hi,
                    "rate": n / med, "ratio": base / med})

    # what a fresh 4-byte output costs: numpy's own cast with the traffic of a decode (page faults included)
    u8 = np.zeros(n, np.uint8)
    add("numpy uint8->float32 astype", "-", "fresh output", lambda: u8.astype(np.float32))
    try:
        import ml_dtypes
    except ImportError:  # pragma: no cover - optional
        ml_dtypes = None
    for name in formats:
        f = numfmt.get_format(name)
        x = spread(f, n)
        codes = np.empty(n, f.code_dtype)
        kw = {"nan": "max", "threads": threads}
        add("encode out=", name, "nearest_even", lambda: numfmt.encode(x, f, out=codes, **kw))
        add("encode", name, "nearest_even", lambda: numfmt.encode(x, f, **kw))
        add("encode out=", name, "toward_zero",
            lambda: numfmt.encode(x, f, rounding="toward_zero", out=codes, **kw))
        add("encode out=", name, "stochastic",
            lambda: numfmt.encode(x, f, rounding="stochastic", random=1, rbits=8, out=codes, **kw))
        numfmt.encode(x, f, out=codes, **kw)
        vals = np.empty(n, numfmt.codec._decode_dtype(f, None))
        add("decode out=", name, "-", lambda: numfmt.decode(codes, f, out=vals, threads=threads))
        add("decode", name, "-", lambda: numfmt.decode(codes, f, threads=threads))
        mt = getattr(ml_dtypes, name, None) if ml_dtypes is not None and f.kind == "float" else None
        if name == "bfloat16" and ml_dtypes is not None:
            mt = ml_dtypes.bfloat16
        if mt is not None:
            add("ml_dtypes astype", name, "nearest_even", lambda: x.astype(mt))
            y = x.astype(mt)
            add("ml_dtypes astype back", name, "-", lambda: y.astype(np.float32))
    return out


def extra_rows(n: int, repeat: int) -> list[dict]:
    """Block-format, arithmetic and accumulation rows, each ratio measured against its own copyto run."""
    from . import accumulate, arith, block

    out: list[dict] = []
    brows = block.bench_rows(n, repeats=repeat)
    base_rate = dict(brows)["np.copyto float32"]
    for name, rate in brows[1:]:
        out.append({"op": name, "format": "block", "mode": "nearest_even", "rate": rate, "ratio": rate / base_rate})
    for r in arith.bench_rows(n, repeat=repeat):
        op = f"{r['op']}{' codes' if r['codes'] else ''}{' out=' if r['out'] else ''}"
        out.append({"op": op, "format": r["fmt"], "mode": "nearest_even", "seconds": r["seconds"],
                    "rate": n / r["seconds"], "ratio": r["ratio"]})
    m = accumulate.bench_matmul(256, repeat=min(repeat, 3))
    out.append({"op": "matmul 256^3 h100/e4m3", "format": "float8_e4m3fn", "mode": "MAC/s",
                "rate": m["numfmt_mac_per_s"], "ratio": float("nan")})
    if m.get("mmasim_mac_per_s"):
        out.append({"op": "mmasim WGMMA same matmul", "format": "float8_e4m3fn", "mode": "MAC/s",
                    "rate": m["mmasim_mac_per_s"], "ratio": float("nan")})
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


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(prog="numfmt bench", description=__doc__.splitlines()[0])
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


if __name__ == "__main__":
    sys.exit(main())
