"""The tensor-core recordings in `data/tensor-cores` (Khattak & Mikaitis, "Accurate Models of NVIDIA
Tensor Cores", arXiv 2512.07004), read by tests/test_accumulate_data.py and docs/hooks.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
