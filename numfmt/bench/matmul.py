"""Accumulation rows: an E4M3 matmul under the H100 preset (and MMA-Sim's, when installed)."""

from __future__ import annotations

import time

import numpy as np

from ..accum_models import accumulation_model
from ..accumulate import matmul
from ..codec import quantize


def bench_matmul(n: int = 256, *, repeat: int = 3, with_mmasim: bool = True, seed: int = 0) -> dict:
    """Time an n x n x n E4M3 matmul under the H100 preset (one thread).

    Returns a dict with `numfmt_mac_per_s` and, when MMA-Sim (`mmasim`)
    is installed, `mmasim_mac_per_s` (its WGMMA Hopper m64n8k32 e4m3 model
    over the same K, CPU) and whether both gave the same bits.
    Not a test; run it by hand::

        python -c "import numfmt.bench as b; print(b.bench_matmul())"
    """
    rng = np.random.default_rng(seed)
    vals = np.asarray(quantize(rng.standard_normal((2, n, n)), "e4m3", saturation="finite"), np.float64)
    A, B = vals[0], vals[1]
    model = accumulation_model("h100", "e4m3")
    matmul(A[:2, :], B[:, :2], model=model)  # compile
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        D = matmul(A, B, model=model)
        best = min(best, time.perf_counter() - t0)
    res = {"n": n, "numfmt_s": best, "numfmt_mac_per_s": n**3 / best}
    if with_mmasim:
        try:
            import torch
            from mmasim.nv_ptx import WGMMA
        except ImportError:
            return res
        torch.set_num_threads(1)
        op = WGMMA("Hopper", "m64n8k32.f32.e4m3.e4m3")
        At = torch.tensor(A, dtype=torch.float32).to(torch.float8_e4m3fn)
        Bt = torch.tensor(B.T.copy(), dtype=torch.float32).to(torch.float8_e4m3fn)
        t0 = time.perf_counter()
        Dm = op(At, Bt.T, torch.zeros((n, n), dtype=torch.float32))
        dt = time.perf_counter() - t0
        res.update(mmasim_s=dt, mmasim_mac_per_s=n**3 / dt,
                   same_bits=bool((Dm.numpy().view(np.uint32) == D.view(np.uint32)).all()))
        res["speedup"] = res["numfmt_mac_per_s"] / res["mmasim_mac_per_s"]
    return res
