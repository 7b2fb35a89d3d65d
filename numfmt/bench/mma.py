"""Matrix-instruction rows: numfmt's instruction models against MMA-Sim's, same problem, same run,
and numfmt's threads=2 over threads=1."""

from __future__ import annotations

import os
import time

import numpy as np

from ..accumulate import matmul
from ..frontend import encode, quantize
from ..mma import mma_model

__all__ = ["CASES", "bench_mma"]

#: (label, arch, MMA-Sim class, instruction, element format or block format, M, N, K)
CASES = (
    ("wgmma e4m3 Hopper", "Hopper", "WGMMA", "m64n8k32.f32.e4m3.e4m3", "e4m3", 256, 256, 256),
    ("tcgen05 e2m1 Blackwell", "Blackwell", "TCGen05MMA", "m64n8k32.kind::f8f6f4.f32.e2m1.e2m1", "e2m1",
     256, 256, 256),
    ("tcgen05 nvfp4 Blackwell", "Blackwell", "TCGen05MMABlockScale",
     "m128n8k64.kind::mxf4nvf4.block16.f32.e2m1.e2m1.ue4m3", "nvfp4", 256, 256, 256),
    ("tcgen05 mxfp8 Blackwell", "Blackwell", "TCGen05MMABlockScale",
     "m128n8k32.kind::mxf8f6f4.block32.f32.e4m3.e4m3.ue8m0", "mxfp8_e4m3", 256, 256, 256),
)


def _median(fn, repeat: int) -> float:
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def _operands(fmt: str, M: int, N: int, K: int, rng):
    """(A, B) for `matmul` and (At, Bt, scales) for MMA-Sim: element values (e4m3, e2m1) or block
    arrays (nvfp4 without its tensor scale, so both sides compare the instruction results)."""
    x = rng.standard_normal((M, K)).astype(np.float32)
    w = rng.standard_normal((K, N)).astype(np.float32)
    if fmt in ("e4m3", "e2m1"):
        return tuple(np.asarray(quantize(v, fmt, saturation="finite"), np.float64) for v in (x, w))
    A, B = encode(x, fmt, axis=1), encode(w, fmt, axis=0)
    A.tensor_scale = B.tensor_scale = None
    return A, B


def _mmasim_call(cls_name: str, arch: str, ins: str, A, B, fmt: str):
    """A zero-argument function running MMA-Sim's model of `ins` on the same operands (None when
    mmasim is not installed)."""
    try:
        import torch
        from mmasim import nv_ptx
    except ImportError:
        return None
    torch.set_num_threads(1)
    op = getattr(nv_ptx, cls_name)(arch, ins)
    M, N = A.shape[0], B.shape[1]
    C = torch.zeros((M, N), dtype=torch.float32)
    if fmt == "e4m3":
        At, Bt = (torch.tensor(np.float32(v)).to(torch.float8_e4m3fn) for v in (A, B))
        return lambda: op(At, Bt, C)
    if fmt == "e2m1":  # FP4 codes in bits 5:2 of a byte, as MMA-Sim reads unpacked FP4
        At, Bt = (torch.tensor((np.asarray(encode(v, "e2m1"), np.uint8) << 2).astype(np.uint8)) for v in (A, B))
        return lambda: op(At, Bt, C)
    if fmt == "nvfp4":  # two FP4 codes per byte along K, the first in the high nibble
        At = torch.tensor(((A.codes[:, 0::2] << 4) | A.codes[:, 1::2]).astype(np.uint8))
        Bt = torch.tensor(((B.codes.T[:, 0::2] << 4) | B.codes.T[:, 1::2]).astype(np.uint8)).T
        sdt = torch.float8_e4m3fn
    else:
        At = torch.tensor(A.codes.astype(np.uint8)).view(torch.float8_e4m3fn)
        Bt = torch.tensor(B.codes.astype(np.uint8)).view(torch.float8_e4m3fn)
        sdt = torch.float8_e8m0fnu
    sa = torch.tensor(A.scales.astype(np.uint8)).view(sdt)
    sb = torch.tensor(B.scales.astype(np.uint8)).view(sdt)
    if fmt == "nvfp4":  # its K = 64 datapath takes the scales of a whole row
        return lambda: op(At, Bt, C, sa, sb)

    def chain():  # its K = 32 datapath takes one scale pair: one instruction per 32 elements of K
        D = C
        for j in range(sa.shape[1]):
            D = op(At[:, 32 * j:32 * (j + 1)], Bt[32 * j:32 * (j + 1)], D, sa[:, j:j + 1], sb[j:j + 1])
        return D

    return chain


def bench_mma(*, repeat: int = 3, seed: int = 0, threads: int = 1, cases=CASES) -> list[dict]:
    """Time each case of `cases` (default `CASES`; same tuples) under numfmt's instruction model
    and, when `mmasim` is installed, under MMA-Sim's (one torch thread), on the same operands, in
    the same run.

    Returns one dict per case: `numfmt_s` (`threads` threads, median of `repeat` runs),
    `numfmt_mac_per_s`, `mmasim_s` (one run), `mmasim_mac_per_s`, `speedup` (numfmt's rate over
    MMA-Sim's), `same_bits`, and, on a machine with 2 cores or more, `threads2_speedup`: the
    time at threads=1 over the time at threads=2 (median of `repeat` runs each), and
    `threads2_serial_cpu` (both on operands of 4 M rows): at threads=2, the calling thread's CPU
    time over the process's (the
    part that does not run on the worker threads; with cores to spare, Amdahl's law bounds the
    speedup by 1 / (s + (1 - s) / 2)).
    """
    rng = np.random.default_rng(seed)
    out = []
    for label, arch, cls_name, ins, fmt, M, N, K in cases:
        model = mma_model(arch, ins)
        A, B = _operands(fmt, M, N, K, rng)
        matmul(A, B, model=model, threads=threads)  # compile
        D = matmul(A, B, model=model, threads=threads)
        t = _median(lambda: matmul(A, B, model=model, threads=threads), repeat)
        row = {"case": label, "instruction": ins, "M": M, "N": N, "K": K, "numfmt_s": t,
               "numfmt_mac_per_s": M * N * K / t}
        if (os.cpu_count() or 1) >= 2:  # (on 4 M rows: a 256^3 problem is ~15 ms, too short to split well)
            A4, B4 = _operands(fmt, 4 * M, N, K, rng)
            t1 = _median(lambda: matmul(A4, B4, model=model, threads=1), repeat)
            t2 = _median(lambda: matmul(A4, B4, model=model, threads=2), repeat)
            row["threads2_speedup"] = t1 / t2
            p0, c0 = time.process_time(), time.thread_time()
            matmul(A4, B4, model=model, threads=2)
            row["threads2_serial_cpu"] = (time.thread_time() - c0) / max(time.process_time() - p0, 1e-9)
        sim = _mmasim_call(cls_name, arch, ins, A, B, fmt)
        if sim is not None:
            res = {}

            def run_sim():
                res["D"] = sim()

            ts = _median(run_sim, 1)
            row.update(mmasim_s=ts, mmasim_mac_per_s=M * N * K / ts, speedup=ts / t,
                       same_bits=bool((res["D"].numpy().view(np.uint32) == D.view(np.uint32)).all()))
        out.append(row)
    return out

