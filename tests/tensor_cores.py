"""The tensor-core recordings in `data/tensor-cores` (Khattak & Mikaitis, "Accurate Models of NVIDIA
Tensor Cores", arXiv 2512.07004), read by tests/test_accumulate_data.py and docs/hooks.py."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from numfmt.accum_models import MMA_SYNC_FP8_HALVES, Exact, accumulation_model

DATA = Path(__file__).resolve().parent.parent / "data" / "tensor-cores"


def load(path: Path):
    """(gpu, format, archive, a, b, c) of one recording: H100/H200 FP8 were recorded with c = 0
    (data/tensor-cores/README.md)."""
    z = np.load(path)
    g, fmt = path.stem.split("_")
    a, b, c = (z[k].view(np.float32) for k in ("a", "b", "c"))
    if g in ("h100", "h200") and fmt in ("e4m3", "e5m2"):
        c = np.zeros_like(c)
    return g, fmt, z, a, b, c


def fp16_fp8_variants(g: str, fmt: str) -> dict:
    """Binary16-output FP8 variants for Hopper/Blackwell, as models: the preset with fields changed
    (evaluated on the recordings by tests/test_accumulate_data.py and docs/hooks.py)."""
    m = accumulation_model(g, fmt, out_format="fp16")
    inner = m.inner
    late = lambda blk: dataclasses.replace(m, inner=blk)  # noqa: E731 - one-line helper
    return {
        "one 32-term block, F = 13, c aligned": dataclasses.replace(inner, terms=32, extra_bits=-10,
                                                                    k_order="sequential"),
        "one 32-term block, F = 25, c aligned": dataclasses.replace(inner, terms=32, k_order="sequential"),
        "exact product sum rounded to fp16, then + c": late(Exact("fp16", in_format=fmt)),
        "halves k < 16 / k >= 16": late(dataclasses.replace(inner, k_order="sequential")),
        "halves k even / k odd": late(dataclasses.replace(inner, k_order="interleaved")),
        "halves k mod 4 in {2, 3} first": late(dataclasses.replace(
            inner, k_order=MMA_SYNC_FP8_HALVES[16:] + MMA_SYNC_FP8_HALVES[:16])),
        "halves k mod 4 in {0, 1} first, c as the first block's addend": inner,
        "halves with F = 13": late(dataclasses.replace(inner, extra_bits=-10)),
        "halves with F = 17": late(dataclasses.replace(inner, extra_bits=-6)),
        "halves with F = 18": late(dataclasses.replace(inner, extra_bits=-5)),
        "halves without a minimum exponent": late(dataclasses.replace(inner, min_exp=None)),
        "preset": m,
    }
