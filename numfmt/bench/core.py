"""encode/decode rows: each format's conversion rate against `np.copyto` of float32, per input distribution."""

from __future__ import annotations

import numpy as np

from ..codec import decode, decode_dtype, encode
from ..presets import get_format
from .check import check_decode, check_encode
from .inputs import DISTRIBUTIONS, sample
from .timing import copyto_rate, timeit

FORMATS = ("float8_e4m3fn", "float8_e5m2", "float6_e3m2fn", "float6_e2m3fn", "float4_e2m1fn", "bfloat16",
           "binary16", "int8", "int4")

# (operation, mode label, encode keywords); every row writes into a reused `out=` but the fresh-output one
_ENCODES = (
    ("encode out=", "nearest_even", {}),
    ("encode", "nearest_even", {}),
    ("encode out=", "toward_zero", {"rounding": "toward_zero"}),
    ("encode out=", "stochastic N=8", {"rounding": "stochastic", "random": 1, "rbits": 8}),
    ("encode out=", "stochastic N=32", {"rounding": "stochastic", "random": 1}),
)


def rows(n: int = 10_000_000, repeat: int = 5, formats=FORMATS, threads: int | None = None,
         dists=DISTRIBUTIONS, check: bool = True) -> list[dict]:
    """Run the conversion benchmark; one dict per (operation, format, mode, distribution).

    Each row has `op`, `format`, `mode`, `dist`, `seconds` (median of `repeat` after a warm-up
    call), `min`, `max`, `rate` (elements/s), `base_rate` (`np.copyto` of `n` float32 values,
    measured just before the format's rows), `ratio` = rate / base_rate and `checked` (how many
    elements of the row's results were compared with the exact path first; see
    `numfmt.bench.check`). The first row is the copyto baseline itself.

    Examples
    --------
    >>> from numfmt.bench import rows
    >>> r = rows(2000, 1, formats=["e2m1"], dists=["gaussian_absmax"])
    >>> r[2]["op"], r[2]["format"], r[2]["dist"], r[2]["checked"] > 0
    ('encode out=', 'float4_e2m1fn', 'gaussian_absmax', True)
    """
    base = copyto_rate(n, repeat)
    out: list[dict] = [{"op": "np.copyto float32", "format": "-", "mode": "-", "dist": "-", "rate": base,
                        "base_rate": base, "ratio": 1.0}]

    def add(op, fmt, mode, dist, fn, checked):
        med, lo, hi = timeit(fn, repeat)
        out.append({"op": op, "format": fmt, "mode": mode, "dist": dist, "seconds": med, "min": lo, "max": hi,
                    "rate": n / med, "base_rate": base, "ratio": (n / med) / base,
                    "checked": checked})

    # what a fresh 4-byte output costs: numpy's own cast with the traffic of a decode
    u8 = np.zeros(n, np.uint8)
    add("numpy uint8->float32 astype", "-", "fresh output", "-", lambda: u8.astype(np.float32), 0)
    try:
        import ml_dtypes
    except ImportError:  # pragma: no cover - optional
        ml_dtypes = None
    for name in formats:
        f = get_format(name)
        base = copyto_rate(n, repeat)
        kw = {"nan": "max", "threads": threads}
        for dist in dists:
            x = sample(f, n, dist)
            codes = np.empty(n, f.code_dtype)
            for op, mode, extra in _ENCODES:
                o = codes if op == "encode out=" else None
                res = encode(x, f, out=o, **extra, **kw)
                done = check_encode(x, res, f, nan="max", **extra) if check else 0
                add(op, f.name, mode, dist, lambda o=o, extra=extra: encode(x, f, out=o, **extra, **kw), done)
            encode(x, f, out=codes, **kw)
            vals = np.empty(n, decode_dtype(f, None))
            for op, o in (("decode out=", vals), ("decode", None)):
                res = decode(codes, f, out=o, threads=threads)
                done = check_decode(codes, res, f) if check else 0
                add(op, f.name, "-", dist, lambda o=o: decode(codes, f, out=o, threads=threads), done)
            mt = getattr(ml_dtypes, f.name, None) if ml_dtypes is not None and f.kind == "float" else None
            if f.name == "bfloat16" and ml_dtypes is not None:
                mt = ml_dtypes.bfloat16
            if f.name == "binary16":
                mt = np.float16
            if mt is not None:
                lib = "numpy" if mt is np.float16 else "ml_dtypes"
                with np.errstate(over="ignore", invalid="ignore"):  # (spread: values past max)
                    add(f"{lib} astype", f.name, "nearest_even", dist, lambda mt=mt: x.astype(mt), 0)
                    y = x.astype(mt)
                add(f"{lib} astype back", f.name, "-", dist, lambda y=y: y.astype(np.float32), 0)
    return out
