"""Compile ahead of time: `numfmt warmup` fills numba's on-disk cache with the kernels the verbs use.

numfmt's kernels are compiled by numba on their first call in an environment and cached on disk
(`cache=True`); a later process loads them instead of compiling. `warmup(verbs)` makes small calls
of each verb for the common formats, rounding modes and input dtypes, so that the first real call
of a fresh process (a CI job, a notebook kernel) finds its kernels in the cache. The cache lives
where `cache_dir()` says: numba writes next to the package's sources (`numfmt/_kernels/__pycache__`)
when that directory is writable, else in a per-user directory; the environment variable
`NUMBA_CACHE_DIR` sends it anywhere (set it before Python starts, for read-only installs).

`CALLS` names every call; `VERBS` groups them; `numfmt bench --cold` times the same calls in fresh
processes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .presets import get_format

__all__ = ["CALLS", "VERBS", "DEFAULT_VERBS", "COMMON_FORMATS", "warmup", "cache_dir"]

COMMON_FORMATS = ("float8_e4m3fn", "float8_e5m2", "float6_e3m2fn", "float6_e2m3fn", "float4_e2m1fn", "bfloat16",
                  "binary16", "int8", "int4")
"""The element formats `warmup` compiles for."""

_ROUNDINGS = ({}, {"rounding": "toward_zero"}, {"rounding": "nearest_away"}, {"rounding": "to_odd"},
              {"rounding": "stochastic", "random": 0}, {"rounding": "stochastic", "random": 0, "rbits": 8})
_BLOCK = ("mxfp4", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp8_e4m3", "mxfp8_e5m2", "nvfp4")


def _x(n: int = 256, dtype=np.float32) -> np.ndarray:
    return np.linspace(-3.0, 3.0, n).astype(dtype)


def _codes(fmt) -> np.ndarray:
    """Codes of `fmt` made without a kernel (a decode call compiles only the decode)."""
    f = get_format(fmt)
    return (np.arange(256) % (1 << min(f.bits, 8))).astype(f.code_dtype)


def _values(fmt, shape) -> np.ndarray:
    """Finite values of `fmt` made without a kernel (a dot call compiles only the dot)."""
    from .block.values import all_values  # lazy: the block package loads on block calls

    v = all_values(get_format(fmt))
    return np.resize(v[np.isfinite(v)][::3], shape)


def _block_codes(fmt):
    """A BlockArray of `fmt` made without a kernel."""
    from .block import BlockArray, get_block_format  # lazy: the block package loads on block calls

    f = get_block_format(fmt)
    n = 256
    return BlockArray(_codes(f.element), np.full(n // f.block_size, 120, f.scale.code_dtype), f,
                      tensor_scale=0.5 if f.tensor_scale else None)


def _label(kw: dict) -> str:
    if not kw:
        return "nearest_even"
    r = kw["rounding"]
    return f"{r} N={kw['rbits']}" if "rbits" in kw else r


def _calls() -> dict[str, Callable[[], object]]:
    """Every named warm-up call (a zero-argument function that makes one small call)."""
    import numfmt  # (the package imports this module lazily; no cycle at import time)

    calls: dict[str, Callable[[], object]] = {}
    for f in COMMON_FORMATS:
        for kw in _ROUNDINGS:
            for dt in (np.float32, np.float64):
                calls[f"encode {f} {_label(kw)} {np.dtype(dt).name}"] = (
                    lambda f=f, kw=kw, dt=dt: numfmt.encode(_x(dtype=dt), f, nan="max", **kw))
            calls[f"quantize {f} {_label(kw)}"] = lambda f=f, kw=kw: numfmt.quantize(_x(), f, nan="max", **kw)
        for dt in (np.float32, np.float64):
            calls[f"decode {f} {np.dtype(dt).name}"] = lambda f=f, dt=dt: numfmt.decode(_codes(f), f, dtype=dt)
    for b in _BLOCK:
        calls[f"encode {b}"] = lambda b=b: numfmt.encode(_x(), b)
        calls[f"decode {b}"] = lambda b=b: numfmt.decode(_block_codes(b))
        calls[f"quantize {b}"] = lambda b=b: numfmt.quantize(_x(), b)
    for f in ("float8_e4m3fn", "bfloat16"):
        for op in ("add", "mul"):
            calls[f"{op} {f}"] = lambda op=op, f=f: getattr(numfmt, op)(_x(), _x(), f, saturation="finite")
        calls[f"fma {f}"] = lambda f=f: numfmt.fma(_x(), _x(), _x(), f, saturation="finite")
    model = lambda: numfmt.accumulation_model("h100", "e4m3")  # noqa: E731
    vals = lambda shape: _values("e4m3", shape)  # noqa: E731
    calls["dot h100 e4m3"] = lambda: numfmt.dot(vals((64,)), vals((64,)), model=model())
    calls["matmul h100 e4m3"] = lambda: numfmt.matmul(vals((8, 64)), vals((64, 8)), model=model())
    calls["compare float8_e4m3fn"] = lambda: numfmt.compare(
        actual=numfmt.encode(_x(), "e4m3"), expected=numfmt.encode(_x() * 1.01, "e4m3"), fmt="e4m3", x=_x())
    calls["explain float8_e4m3fn"] = lambda: numfmt.explain(0.3, "e4m3")
    return calls


CALLS = _calls()
"""Every warm-up call by name (`"encode float8_e4m3fn nearest_even float32"`, `"add bfloat16"`, ...)."""


def _group(prefix: str) -> tuple[str, ...]:
    return tuple(k for k in CALLS if k.split(" ")[0] in prefix.split(","))


VERBS: dict[str, tuple[str, ...]] = {
    "encode": tuple(k for k in _group("encode") if k.split(" ")[1] in COMMON_FORMATS),
    "decode": tuple(k for k in _group("decode") if k.split(" ")[1] in COMMON_FORMATS),
    "quantize": tuple(k for k in _group("quantize") if k.split(" ")[1] in COMMON_FORMATS),
    "block": tuple(k for k in CALLS if k.split(" ")[0] in ("encode", "decode", "quantize")
                   and k.split(" ")[1] in _BLOCK),
    "arith": _group("add,mul,fma"),
    "matmul": _group("dot,matmul"),
    "compare": _group("compare"),
    "explain": _group("explain"),
}
"""The calls of each verb `numfmt warmup VERB` names."""

DEFAULT_VERBS = ("encode", "decode", "quantize", "block")
"""What `numfmt warmup` without arguments compiles (`--all`: every verb)."""


def warmup(verbs=DEFAULT_VERBS, *, progress: Callable[[str], object] | None = None) -> int:
    """Make every call of `verbs` once (compiling and caching its kernels); returns the number of calls.

    Parameters
    ----------
    verbs : str or iterable of str
        A name, or names, of `VERBS` (`"encode"`, `"decode"`, `"quantize"`, `"block"`, `"arith"`, `"matmul"`,
        `"compare"`, `"explain"`).
    progress : callable, optional
        Called with each call's name before it runs.

    Examples
    --------
    >>> from numfmt.warmup import warmup
    >>> warmup(["explain"])
    1
    """
    if isinstance(verbs, str):
        verbs = [verbs]
    try:
        verbs = list(verbs)
    except TypeError:
        raise TypeError(f"verbs must be a verb name or an iterable of them, not {type(verbs).__name__}") from None
    for v in verbs:
        if not isinstance(v, str):
            raise TypeError(f"verbs must hold verb names (str), got {type(v).__name__} {v!r}")
        if v not in VERBS:
            from .choices import check_choice  # lazy: only for the error message

            check_choice("verbs", v, tuple(VERBS))
    names = [k for v in verbs for k in VERBS[v]]
    with np.errstate(all="ignore"):
        for name in names:
            if progress is not None:
                progress(name)
            CALLS[name]()
    return len(names)


def cache_dir() -> str:
    """The directory numba caches numfmt's kernels in, in this process (`NUMBA_CACHE_DIR` if set).

    Examples
    --------
    >>> import os
    >>> from numfmt.warmup import cache_dir
    >>> os.path.isabs(cache_dir())
    True
    """
    from ._kernels.cachedir import kernel_cache_dir  # lazy: numba loads with the kernels

    return kernel_cache_dir()
