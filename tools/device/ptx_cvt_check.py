"""Compare numfmt with NVIDIA's cvt instructions on a GPU, on every float32 bit pattern.

Run on a machine with a CUDA GPU (sm_89+), cupy and numfmt's dependencies:
    python tools/device/ptx_cvt_check.py [--chunks N]
For each conversion the GPU converts all 2**32 float32 patterns (generated on the
device from the index), numfmt encodes the same patterns on the CPU, and the
script prints the number of differing codes. It writes a JSON summary to $OUT or
the current directory.
"""

from __future__ import annotations

import json
import os
import sys
import time

import cupy as cp
import numpy as np

sys.path.insert(0, os.environ.get("NUMFMT_PATH", os.path.join(os.path.dirname(__file__), "..", "..")))
import numfmt

SRC = r"""
extern "C" __global__ void fp8x2(unsigned base, unsigned n2, unsigned short* out, int e5m2) {
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n2) return;
    float lo = __uint_as_float(base + 2u * i), hi = __uint_as_float(base + 2u * i + 1u);
    unsigned short d;
    if (e5m2) asm("cvt.rn.satfinite.e5m2x2.f32 %0, %1, %2;" : "=h"(d) : "f"(hi), "f"(lo));
    else      asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(d) : "f"(hi), "f"(lo));
    out[i] = d;   // first operand (hi) in the upper byte: memory order lo, hi
}
extern "C" __global__ void f16(unsigned base, unsigned n, unsigned short* out, int mode) {
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float x = __uint_as_float(base + i);
    unsigned short d;
    if (mode == 0) asm("cvt.rn.f16.f32 %0, %1;" : "=h"(d) : "f"(x));
    else if (mode == 1) asm("cvt.rz.f16.f32 %0, %1;" : "=h"(d) : "f"(x));
    else if (mode == 2) asm("cvt.rm.f16.f32 %0, %1;" : "=h"(d) : "f"(x));
    else if (mode == 3) asm("cvt.rp.f16.f32 %0, %1;" : "=h"(d) : "f"(x));
    else if (mode == 4) asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(d) : "f"(x));
    else asm("cvt.rz.bf16.f32 %0, %1;" : "=h"(d) : "f"(x));
    out[i] = d;
}
extern "C" __global__ void fp8_decode(unsigned short* out, int e5m2) {
    unsigned i = threadIdx.x;   // 256 codes, 128 pairs
    if (i >= 128) return;
    unsigned short pair = (unsigned short)((2 * i) | ((2 * i + 1) << 8));
    unsigned d;
    if (e5m2) asm("cvt.rn.f16x2.e5m2x2 %0, %1;" : "=r"(d) : "h"(pair));
    else      asm("cvt.rn.f16x2.e4m3x2 %0, %1;" : "=r"(d) : "h"(pair));
    out[2 * i] = (unsigned short)(d & 0xFFFF);
    out[2 * i + 1] = (unsigned short)(d >> 16);
}
"""

CASES = [  # (name, kernel, flag, numfmt format, numfmt keywords)
    ("cvt.rn.satfinite.e4m3x2.f32", "fp8x2", 0, "float8_e4m3fn", {"compat": "ptx"}),
    ("cvt.rn.satfinite.e5m2x2.f32", "fp8x2", 1, "float8_e5m2", {"compat": "ptx"}),
    ("cvt.rn.f16.f32", "f16", 0, "binary16", {"rounding": "nearest_even"}),
    ("cvt.rz.f16.f32", "f16", 1, "binary16", {"rounding": "toward_zero"}),
    ("cvt.rm.f16.f32", "f16", 2, "binary16", {"rounding": "toward_negative"}),
    ("cvt.rp.f16.f32", "f16", 3, "binary16", {"rounding": "toward_positive"}),
    ("cvt.rn.bf16.f32", "f16", 4, "bfloat16", {"rounding": "nearest_even"}),
    ("cvt.rz.bf16.f32", "f16", 5, "bfloat16", {"rounding": "toward_zero"}),
]


def main() -> None:
    chunks = int(sys.argv[sys.argv.index("--chunks") + 1]) if "--chunks" in sys.argv else 16
    mod = cp.RawModule(code=SRC, options=("-arch=sm_90",))
    n = (1 << 32) // chunks
    threads = os.cpu_count() or 1
    summary = {"device": cp.cuda.runtime.getDeviceProperties(0)["name"].decode(), "cases": {}}
    for name, kname, flag, fmt, kw in CASES:
        k = mod.get_function(kname)
        t0 = time.time()
        diff = nan_diff = 0
        examples = []
        for c in range(chunks):
            base = c * n
            if kname == "fp8x2":
                out = cp.empty(n // 2, cp.uint16)
                k(((n // 2 + 255) // 256,), (256,), (np.uint32(base), np.uint32(n // 2), out, np.int32(flag)))
                gpu = out.get().view(np.uint8)
            else:
                out = cp.empty(n, cp.uint16)
                k(((n + 255) // 256,), (256,), (np.uint32(base), np.uint32(n), out, np.int32(flag)))
                gpu = out.get()
            xb = np.arange(base, base + n, dtype=np.uint64).astype(np.uint32)
            x = xb.view(np.float32)
            ours = numfmt.encode(x, fmt, threads=threads, **kw)
            bad = np.nonzero(gpu != ours)[0]
            if bad.size:
                isnan = np.isnan(x[bad])
                nan_diff += int(isnan.sum())
                diff += int((~isnan).sum())
                for j in bad[:5]:
                    if len(examples) < 12:
                        examples.append([hex(int(xb[j])), hex(int(gpu[j])), hex(int(ours[j]))])
                if isnan.any():
                    nb = bad[isnan]
                    summary.setdefault("nan_codes", {})[name] = sorted({hex(int(v)) for v in gpu[nb][:1000]})
        summary["cases"][name] = {"format": fmt, "keywords": kw, "compared": 1 << 32, "differ_non_nan": diff,
                                  "differ_nan_inputs": nan_diff, "examples": examples,
                                  "seconds": round(time.time() - t0, 1)}
        print(name, summary["cases"][name], flush=True)
    for e5 in (0, 1):
        out = cp.empty(256, cp.uint16)
        mod.get_function("fp8_decode")((1,), (128,), (out, np.int32(e5)))
        halfs = out.get().view(np.float16).astype(np.float64)
        fmt = "float8_e5m2" if e5 else "float8_e4m3fn"
        ours = numfmt.decode(np.arange(256, dtype=np.uint8), fmt).astype(np.float64)
        same = bool(np.array_equal(halfs, ours, equal_nan=True))
        summary["cases"][f"cvt.rn.f16x2.{fmt}x2 (decode)"] = {"all_256_equal": same}
        print(fmt, "decode equal:", same, flush=True)
    path = os.path.join(os.environ.get("OUT", "."), "ptx_cvt_check.json")
    with open(path, "w") as fh:
        json.dump(summary, fh, indent=1)


if __name__ == "__main__":
    main()
