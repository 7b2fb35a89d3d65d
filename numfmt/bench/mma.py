"""Matrix-instruction rows: numfmt's instruction models against MMA-Sim's, same problem, same run."""

from __future__ import annotations

import time

import numpy as np

from ..accumulate import matmul
from ..frontend import encode, quantize
from ..mma import mma_model

#: (label, arch, instruction, element format or block format, M, N, K)
CASES = (
    ("wgmma e4m3 Hopper", "Hopper", "m64n8k32.f32.e4m3.e4m3", "e4m3", 128, 256, 128),
    ("mma mxf4 RTX Blackwell", "RTX Blackwell", "m16n8k64.kind::mxf4.block32.f32.e2m1.e2m1.f32.ue8m0", "mxfp4",
     128, 128, 256),
    ("mma nvf4 RTX Blackwell", "RTX Blackwell", "m16n8k64.kind::mxf4nvf4.block16.f32.e2m1.e2m1.f32.ue4m3", "nvfp4",
     128, 128, 256),
)


def _best(fn, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _mmasim_call(arch: str, ins: str, A, B, fmt: str):
    """A zero-argument function running MMA-Sim's model of `ins` on the same operands, and its
    result converter (None when mmasim is not installed)."""
    try:
        import torch
        from mmasim.nv_ptx import WGMMA, MMABlockScale
    except ImportError:
        return None
    torch.set_num_threads(1)
    M, N = A.shape[0], B.shape[1]
    C = torch.zeros((M, N), dtype=torch.float32)
    if fmt == "e4m3":
        op = WGMMA(arch, ins)
        At = torch.tensor(np.float32(A)).to(torch.float8_e4m3fn)
        Bt = torch.tensor(np.float32(B)).to(torch.float8_e4m3fn)
        return lambda: op(At, Bt, C)
    op = MMABlockScale(arch, ins)
    pa = torch.tensor(((A.codes[:, 0::2] << 4) | A.codes[:, 1::2]).astype(np.uint8))
    pb = torch.tensor(((B.codes.T[:, 0::2] << 4) | B.codes.T[:, 1::2]).astype(np.uint8)).T
    sdt = torch.float8_e8m0fnu if fmt == "mxfp4" else torch.float8_e4m3fn
    sa = torch.tensor(A.scales.astype(np.uint8)).view(sdt)
    sb = torch.tensor(B.scales.astype(np.uint8)).view(sdt)
    return lambda: op(pa, pb, C, sa, sb)


def bench_mma(*, repeat: int = 3, seed: int = 0, threads: int = 1) -> list[dict]:
    """Time each case of `CASES` under numfmt's instruction model (`threads` threads) and, when
    `mmasim` is installed, under MMA-Sim's (one torch thread), on the same operands.

    Returns one dict per case: `numfmt_mac_per_s`, `mmasim_mac_per_s`, `speedup` and
    `same_bits` (the NVFP4 case compares the results before the tensor-scale epilogue).
    """
    rng = np.random.default_rng(seed)
    out = []
    for label, arch, ins, fmt, M, N, K in CASES:
        model = mma_model(arch, ins)
        x = rng.standard_normal((M, K)).astype(np.float32)
        w = rng.standard_normal((K, N)).astype(np.float32)
        if fmt == "e4m3":
            A, B = (np.asarray(quantize(v, "e4m3", saturation="finite"), np.float64) for v in (x, w))
        else:
            A, B = encode(x, fmt, axis=1), encode(w, fmt, axis=0)
            A.tensor_scale = None if fmt == "nvfp4" else A.tensor_scale  # compare the instruction results
            B.tensor_scale = None if fmt == "nvfp4" else B.tensor_scale
        matmul(A[:2] if fmt == "e4m3" else A, B[:, :2] if fmt == "e4m3" else B, model=model)  # compile
        D = None

        def run():
            nonlocal D
            D = matmul(A, B, model=model)

        t = _best(run, repeat)
        row = {"case": label, "instruction": ins, "M": M, "N": N, "K": K, "numfmt_s": t,
               "numfmt_mac_per_s": M * N * K / t}
        sim = _mmasim_call(arch, ins, A, B, fmt)
        if sim is not None:
            res = {}

            def run_sim():
                res["D"] = sim()

            ts = _best(run_sim, 1)
            row.update(mmasim_s=ts, mmasim_mac_per_s=M * N * K / ts, speedup=ts / t,
                       same_bits=bool((res["D"].numpy().view(np.uint32) == D.view(np.uint32)).all()))
        out.append(row)
    return out
