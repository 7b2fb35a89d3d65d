"""Search-time rows: `numfmt.identify` on 1M conversion elements and `identify_matmul` on a 256^3 GEMM."""

from __future__ import annotations

import time

import numpy as np

from ..accum_models import Chunked, Pairwise, Sequential, accumulation_model
from ..accumulate import matmul
from ..codec import encode, quantize
from ..identify import identify, identify_matmul


def _timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    res = fn()
    return time.perf_counter() - t0, res


def identify_rows(n: int = 1 << 20, gemm: int = 256, seed: int = 0) -> list[dict]:
    """Seconds of a default-space search (one call each, after a warm-up that compiles): conversions of
    `n` float32 elements into E4M3 by a rule inside the space (double rounding through bfloat16, with
    saturation) and outside it (stochastic rounding: every candidate runs), and `gemm`^3 E4M3 GEMMs made by
    the H100 preset, by a Chunked model and by a Pairwise model outside the default space.

    Examples
    --------
    >>> from numfmt.bench.identify import identify_rows
    >>> [r["op"] for r in identify_rows(4096, 16)][:2]
    ['identify e4m3 (in space)', 'identify e4m3 (outside)']
    """
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * 2.0 ** rng.integers(-10, 9, n)).astype(np.float32)
    identify(x[:64], encode(x[:64], "e4m3"), "e4m3")  # compile
    out = []
    cases = [("identify e4m3 (in space)", encode(x, "e4m3", via="bfloat16", saturation="finite")),
             ("identify e4m3 (outside)", encode(x, "e4m3", rounding="stochastic", random=1))]
    for name, dump in cases:
        s, res = _timed(lambda d=dump: identify(x, d, "e4m3"))
        out.append({"op": name, "format": "float8_e4m3fn", "mode": f"{res[0].fraction:.4f} found", "dist": "-",
                    "seconds": s, "rate": n / s, "ratio": float("nan")})
    vals = np.asarray(quantize(rng.standard_normal((2, gemm, gemm)), "e4m3", saturation="finite"), np.float64)
    A, B = vals[0], vals[1]
    h100 = accumulation_model("h100", "e4m3")
    models = [("identify_matmul h100 preset", h100),
              ("identify_matmul chunked", Chunked(h100, Sequential("fp32"), every=128)),
              ("identify_matmul (outside)", Pairwise("bf16", "nearest_even"))]
    for name, model in models:
        D = matmul(A, B, model=model)
        s, res = _timed(lambda d=D: identify_matmul(A, B, d))
        out.append({"op": name, "format": f"{gemm}^3 e4m3", "mode": f"{res[0].fraction:.4f} found", "dist": "-",
                    "seconds": s, "rate": gemm**3 / s, "ratio": float("nan")})
    return out
