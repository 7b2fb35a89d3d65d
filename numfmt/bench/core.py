"""encode/decode rows: each format's conversion rate against `np.copyto` of float32."""

from __future__ import annotations

import numpy as np

from ..codec import decode, decode_dtype, encode
from ..presets import get_format
from .timing import spread, timeit

FORMATS = ("float8_e4m3fn", "float8_e5m2", "float4_e2m1fn", "float6_e3m2fn", "bfloat16", "int8")


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
        f = get_format(name)
        x = spread(f, n)
        codes = np.empty(n, f.code_dtype)
        kw = {"nan": "max", "threads": threads}
        add("encode out=", name, "nearest_even", lambda: encode(x, f, out=codes, **kw))
        add("encode", name, "nearest_even", lambda: encode(x, f, **kw))
        add("encode out=", name, "toward_zero",
            lambda: encode(x, f, rounding="toward_zero", out=codes, **kw))
        add("encode out=", name, "stochastic",
            lambda: encode(x, f, rounding="stochastic", random=1, rbits=8, out=codes, **kw))
        encode(x, f, out=codes, **kw)
        vals = np.empty(n, decode_dtype(f, None))
        add("decode out=", name, "-", lambda: decode(codes, f, out=vals, threads=threads))
        add("decode", name, "-", lambda: decode(codes, f, threads=threads))
        mt = getattr(ml_dtypes, name, None) if ml_dtypes is not None and f.kind == "float" else None
        if name == "bfloat16" and ml_dtypes is not None:
            mt = ml_dtypes.bfloat16
        if mt is not None:
            add("ml_dtypes astype", name, "nearest_even", lambda: x.astype(mt))
            y = x.astype(mt)
            add("ml_dtypes astype back", name, "-", lambda: y.astype(np.float32))
    return out
