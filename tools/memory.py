"""Peak memory of every numfmt verb, each measured in a fresh process.

    python tools/memory.py [--n 10000000] [CASE ...]

For each case a child process builds the inputs (n float32 values, or their codes), runs the
verb once on a small input (numba compiles, caches fill), then runs it on the full input with
`tracemalloc` on (numpy reports its allocations to it) and prints the peak of what was allocated
during the call less the bytes of the result: the extra bytes per element the verb needs beyond
its output. The input's bytes per element (all array operands together) are printed beside it.
The peak resident set growth during the call (Linux: peak RSS reset through
/proc/self/clear_refs) is printed too: it also sees allocations numba makes inside a kernel,
which tracemalloc does not.

Output: a Markdown table (case, input B/elem, extra B/elem, extra / input, RSS B/elem).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tracemalloc

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _floats(n, seed=0):
    return np.random.default_rng(seed).standard_normal(n, dtype=np.float32)


def _case(name, n):
    """(run(), input bytes) of case `name` on about `n` elements; run() is called twice: small, full."""
    import numfmt
    from numfmt import block

    def el(verb, fmt="e4m3", **kw):
        x = _floats(n)
        small = x[:4096].copy()
        kw.setdefault("saturation", "finite")
        return (lambda: verb(small, fmt, **kw)), (lambda: verb(x, fmt, **kw)), x.nbytes

    def arith(verb, k, fmt="e4m3", scalar_b=False, **kw):
        ops = [_floats(n, s) for s in range(k)]
        if scalar_b:
            ops[1] = np.float32(1.7)
        small = [o[:4096].copy() if o.ndim else o for o in ops]
        kw.setdefault("saturation", "finite")
        kw.setdefault("nan", "zero" if not numfmt.get_format(fmt).code_of_nan else "raise")
        return ((lambda: verb(*small, fmt, **kw)), (lambda: verb(*ops, fmt, **kw)),
                sum(o.nbytes for o in ops))

    def blk(verb, fmt, axis=-1):
        shape = (n // 1024, 1024) if axis == -1 else (1024, n // 1024)
        x = _floats(shape[0] * shape[1]).reshape(shape)
        small = x[:64, :64].copy() if axis == 0 else x[:8].copy()
        return (lambda: verb(small, fmt, axis=axis)), (lambda: verb(x, fmt, axis=axis)), x.nbytes

    if name == "encode":
        return el(numfmt.encode)
    if name == "encode_int8":
        return el(numfmt.encode, "int8")
    if name == "quantize":
        return el(numfmt.quantize)
    if name == "decode":
        c = numfmt.encode(_floats(n), "e4m3", saturation="finite")
        return (lambda: numfmt.decode(c[:4096], "e4m3")), (lambda: numfmt.decode(c, "e4m3")), c.nbytes
    if name in ("add", "sub", "mul", "div"):
        return arith(getattr(numfmt, name), 2)
    if name in ("add_int8", "div_int8", "mul_bf16", "div_bf16"):
        verb, fmt = name.split("_")
        return arith(getattr(numfmt, verb), 2, {"bf16": "bfloat16"}.get(fmt, fmt))
    if name == "div_scalar":
        return arith(numfmt.div, 2, scalar_b=True)
    if name == "add_binary64":
        return arith(numfmt.add, 2, "binary64")
    if name == "fma":
        return arith(numfmt.fma, 3)
    if name == "sqrt":
        return arith(numfmt.sqrt, 1, nan="zero")
    if name in ("encode_mxfp8", "encode_mxfp4", "encode_nvfp4", "quantize_mxfp8"):
        verb, fmt = name.split("_")
        fmt = {"mxfp8": "mxfp8_e4m3"}.get(fmt, fmt)
        return blk(getattr(numfmt, verb), fmt)
    if name in ("encode_mxfp8_axis0", "quantize_mxfp8_axis0"):
        return blk(getattr(numfmt, name.split("_")[0]), "mxfp8_e4m3", axis=0)
    if name == "decode_mxfp8":
        ba = numfmt.encode(_floats(n).reshape(-1, 1024), "mxfp8_e4m3")
        sm = numfmt.encode(_floats(8192).reshape(-1, 1024), "mxfp8_e4m3")
        return (lambda: numfmt.decode(sm)), (lambda: numfmt.decode(ba)), ba.codes.nbytes + ba.scales.nbytes
    if name in DOT_MODELS:  # one long dot product (K = n) under each kind of accumulation model
        model, fmt = _dot_model(name)
        a, b = (numfmt.quantize(_floats(n, s), fmt, saturation="finite") for s in (1, 2))
        return ((lambda: numfmt.dot(a[:4096], b[:4096], model=model)),
                (lambda: numfmt.dot(a, b, model=model)), a.nbytes + b.nbytes)
    if name in ("dot", "matmul", "dot_pairwise"):
        from numfmt.accum_models import Pairwise, Sequential
        m = int(np.sqrt(n))  # matmul: A (m, m) @ B (m, k), k small: n = m * m inputs
        model = Pairwise("fp32") if name == "dot_pairwise" else Sequential("fp32")
        if name != "matmul":
            a, b = _floats(n, 1), _floats(n, 2)
            return ((lambda: numfmt.dot(a[:4096], b[:4096], model=model)),
                    (lambda: numfmt.dot(a, b, model=model)), a.nbytes + b.nbytes)
        A, B = _floats(m * m, 1).reshape(m, m), _floats(m * 8, 2).reshape(m, 8)
        return ((lambda: numfmt.matmul(A[:8, :64], B[:64], model=model)),
                (lambda: numfmt.matmul(A, B, model=model)), A.nbytes + B.nbytes)
    if name == "compare":
        e = np.random.default_rng(0).integers(0, 0x7E, n, dtype=np.uint8)
        a = (e + 1).astype(np.uint8)
        return ((lambda: numfmt.compare(actual=a[:4096], expected=e[:4096], fmt="e4m3")),
                (lambda: numfmt.compare(actual=a, expected=e, fmt="e4m3")), a.nbytes + e.nbytes)
    if name == "compare_block":
        x = _floats(n).reshape(-1, 1024)
        e = numfmt.encode(x, "mxfp8_e4m3")
        a = block.BlockArray((e.codes + 1).astype(e.codes.dtype) & 0x7E, e.scales, e.format, axis=-1)
        es, as_ = (numfmt.encode(x[:8], "mxfp8_e4m3"),
                   block.BlockArray(a.codes[:8].copy(), a.scales[:8].copy(), e.format, axis=-1))
        nb = 2 * (e.codes.nbytes + e.scales.nbytes)
        return ((lambda: numfmt.compare_block(actual=as_, expected=es)),
                (lambda: numfmt.compare_block(actual=a, expected=e)), nb)
    if name.startswith("dask"):  # a dask array of 1M-element chunks, computed to numpy
        import dask.array as da
        x = _floats(n)
        d = da.from_array(x, chunks=1 << 20)
        if name == "dask_encode":
            def fn(a):
                return numfmt.encode(a, "e4m3", saturation="finite")
        elif name == "dask_encode_sr":  # seeded stochastic rounding: random bits per chunk
            def fn(a):
                return numfmt.encode(a, "e4m3", saturation="finite", rounding="stochastic", random=5)
        else:  # dask_astype: the same graph shape without numfmt (dask's own materialisation)
            def fn(a):
                return a.map_blocks(lambda b: b.astype(np.uint8), dtype=np.uint8)
        return (lambda: fn(d[:4096]).compute()), (lambda: fn(d).compute()), x.nbytes
    raise SystemExit(f"unknown case {name!r}")


def _dot_model(name):
    """(model, input format) of the case `name` of `DOT_MODELS`."""
    import numfmt
    from numfmt.accum_models import Chunked, Exact, Sequential

    h100 = numfmt.accumulation_model("h100", "e4m3")
    return {
        "dot_fused": (h100, "e4m3"),
        "dot_chunked": (Chunked(h100, Sequential("fp32"), every=128), "e4m3"),
        "dot_chunked_fp16": (numfmt.accumulation_model("h100", "e4m3", out_format="fp16"), "e4m3"),
        "dot_exact": (Exact("fp32", in_format="e4m3"), "e4m3"),
        "dot_mma": (numfmt.mma_model("Hopper", "m64n8k32.f32.e4m3.e4m3"), "e4m3"),
        "dot_mma_cdna2": (numfmt.mma_model("CDNA2", "f32_32x32x8f16"), "fp16"),
        "dot_mma_cdna3": (numfmt.mma_model("CDNA3", "f32_32x32x16_fp8_fp8"), "e4m3"),
    }[name]


DOT_MODELS = ("dot_fused", "dot_chunked", "dot_chunked_fp16", "dot_exact", "dot_mma", "dot_mma_cdna2",
              "dot_mma_cdna3")

CASES = ["encode", "encode_int8", "decode", "quantize", "add", "sub", "mul", "div", "div_scalar", "add_int8",
         "div_int8", "mul_bf16", "add_binary64", "fma", "sqrt", "encode_mxfp8", "encode_mxfp4", "encode_nvfp4",
         "quantize_mxfp8", "encode_mxfp8_axis0", "quantize_mxfp8_axis0", "decode_mxfp8", "dot",
         "dot_pairwise", *DOT_MODELS, "matmul",
         "compare", "compare_block", "dask_encode", "dask_encode_sr", "dask_astype"]


def _nbytes(res) -> int:
    """Bytes of a verb's result (a BlockArray's codes and scales; 0 for a comparison result: all of
    what it keeps counts as extra)."""
    if isinstance(res, np.ndarray):
        return res.nbytes
    codes = getattr(res, "codes", None)
    if isinstance(codes, np.ndarray):
        return codes.nbytes + res.scales.nbytes
    return 0


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def measure(name: str, n: int) -> dict:
    """Measure case `name` in this process (call it in a fresh one)."""
    n -= n % 1024  # whole rows of 1024 for the block cases
    small, full, in_bytes = _case(name, n)
    small()
    gc.collect()
    rss_ok = True
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak RSS (Linux >= 4.0)
    except OSError:
        rss_ok = False
    rss0 = _rss() if rss_ok else 0
    tracemalloc.start()
    res = full()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss = (_peak_rss() - rss0) if rss_ok else None
    out = _nbytes(res)
    nel = n
    return {"case": name, "n": nel, "input": in_bytes / nel, "extra": (peak - out) / nel, "output": out / nel,
            "rss": None if rss is None else (rss - out) / nel}


def run_child(name: str, n: int) -> dict:
    """`measure(name, n)` in a fresh Python process."""
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", name, "--n", str(n)],
                       capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    if p.returncode != 0:
        raise RuntimeError(f"{name}: {p.stderr.strip()[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*", default=CASES)
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--child", default=None)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(measure(a.child, a.n)))
        return
    print(f"n = {a.n:,} elements; bytes per element\n")
    print("| case | input | output | extra (tracemalloc) | extra / input | extra (peak RSS) |")
    print("|---|---:|---:|---:|---:|---:|")
    for c in a.cases:
        r = run_child(c, a.n)
        rss = "n/a" if r["rss"] is None else f"{r['rss']:.2f}"
        print(f"| {c} | {r['input']:.2f} | {r['output']:.2f} | {r['extra']:.2f} | {r['extra'] / r['input']:.2f} "
              f"| {rss} |", flush=True)


if __name__ == "__main__":
    main()
