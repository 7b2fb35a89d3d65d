"""The benchmark stays honest: every timed row's results are first compared with the exact path.

On a sample (the first and a middle stretch of `SAMPLE` elements each, random bits keyed by
their global index as in the timed call):

* element encode: the codes against the general loop (`round_pack` per element, no variant);
* element decode: the values against the general decode (`decode_value` per code, float64);
* block encode: codes, scales and tensor scale against the general block path, which float64
  input takes (the same values: exact scale arithmetic and one `round_pack` per element);
* block decode: against `fl(element value * fl(scale value * tensor scale))` in numpy float32.

A difference raises `BenchMismatch`: a benchmark of wrong results is not a benchmark.
"""

from __future__ import annotations

import numpy as np

from ..codec import decode, decode_dtype
from ..plan import make_plan
from ..policy import is_stochastic, parse_rounding
from ..presets import get_format

__all__ = ["SAMPLE", "BenchMismatch", "check_encode", "check_decode", "check_block_encode", "check_block_decode"]

SAMPLE = 1 << 14
"""Elements per checked stretch (two stretches per row)."""


class BenchMismatch(AssertionError):
    """A timed row gave results that differ from the exact path."""


def _stretches(n: int, size: int) -> list[tuple[int, int]]:
    size = min(size, n)
    mid = max(0, n // 2 - size // 2)
    return sorted({(0, size), (mid, mid + size)})


def _fail(what, i, got, want, unit: str = "element"):
    raise BenchMismatch(f"bench: {what}: {unit} {i} gave {got!r}, the exact path {want!r}")


def check_encode(x, codes, fmt, *, rounding="nearest_even", nan="max", random=None, rbits=None,
                 size: int = SAMPLE) -> int:
    """Compare `codes` (of `numfmt.encode(x, fmt, ...)`) with the exact loop on a sample; returns
    the number of elements checked.

    Examples
    --------
    >>> import numpy as np, numfmt
    >>> from numfmt.bench.check import check_encode
    >>> x = np.linspace(-7, 7, 1000, dtype=np.float32)
    >>> check_encode(x, numfmt.encode(x, "e2m1", nan="max"), "e2m1")
    1000
    """
    from .._kernels.encode import encode_loop  # lazy: numba loads on the first kernel call

    plan = make_plan(fmt, rounding, "none", nan)
    x, codes = np.ravel(x), np.ravel(codes)
    rkind, rarr, key, nbits = plan.random_setup(random, rbits, x.shape)
    done = 0
    for lo, hi in _stretches(x.size, size):
        want = np.empty(hi - lo, plan.code_dtype)
        r = rarr[lo:hi] if rkind == 1 else rarr
        encode_loop(np.ascontiguousarray(x[lo:hi]), want, plan.params, plan.mode, plan.sat, rkind, r, key, nbits, lo)
        bad = np.flatnonzero(codes[lo:hi] != want)
        if bad.size:
            i = lo + int(bad[0])
            _fail(f"encode {plan.fmt.name} {rounding} of {float(x[i])!r}", i, hex(int(codes[i])),
                  hex(int(want[bad[0]])))
        done += hi - lo
    return done


def _same_values(got, want) -> np.ndarray:
    bits = f"u{got.dtype.itemsize}"
    return (got.view(bits) == want.view(bits)) | (np.isnan(got) & np.isnan(want))


def check_decode(codes, vals, fmt, *, size: int = SAMPLE) -> int:
    """Compare `vals` (of `numfmt.decode(codes, fmt)`) with the general decode on a sample.

    Examples
    --------
    >>> import numpy as np, numfmt
    >>> from numfmt.bench.check import check_decode
    >>> c = np.arange(16, dtype=np.uint8)
    >>> check_decode(c, numfmt.decode(c, "e2m1"), "e2m1")
    16
    """
    from .._kernels.decode import decode_loop  # lazy: numba loads on the first kernel call
    from .._kernels.params import kernel_params  # lazy: as above

    f = get_format(fmt)
    codes, vals = np.ravel(codes), np.ravel(vals)
    if vals.dtype != decode_dtype(f, None):
        raise BenchMismatch(f"bench: decode {f.name} gave dtype {vals.dtype}")
    done = 0
    for lo, hi in _stretches(codes.size, size):
        want = np.empty(hi - lo, np.float64)
        decode_loop(np.ascontiguousarray(codes[lo:hi]), want, kernel_params(f))
        want = want.astype(vals.dtype)
        bad = np.flatnonzero(~_same_values(vals[lo:hi], want))
        if bad.size:
            i = lo + int(bad[0])
            _fail(f"decode {f.name} of code {hex(int(codes[i]))}", i, vals[i], want[bad[0]])
        done += hi - lo
    return done


def _rows(n: int, bs: int, size: int) -> list[tuple[int, int]]:
    """Block-aligned stretches of a flat block-encoded array."""
    return [(lo - lo % bs, min(n, hi - hi % bs + bs)) for lo, hi in _stretches(n, size)]


def check_block_encode(x, ba, fmt, *, size: int = SAMPLE, **options) -> int:
    """Compare the BlockArray `ba` of a flat float32 `x` with the general block path on a sample.

    The sample's tensor scale is the one `ba` used (given to the general path), so a
    two-level format's stretches are checked against the same second level. A failure names
    the element (or block) by its index in `x`. Deterministic roundings only: the stretches are
    re-encoded on their own, so a stochastic rounding would draw other random bits than the
    call that made `ba`; `rounding` stochastic, `random` or `rbits` is a ValueError.

    Examples
    --------
    >>> import numpy as np, numfmt
    >>> from numfmt.bench.check import check_block_encode
    >>> x = np.linspace(-3, 3, 256, dtype=np.float32)
    >>> check_block_encode(x, numfmt.encode(x, "mxfp4"), "mxfp4")
    256
    """
    from ..block import encode as block_encode  # lazy: the block package is only needed for block rows

    for kw in ("random", "rbits"):
        if options.get(kw) is not None:
            raise ValueError(f"check_block_encode checks deterministic roundings only; got {kw}={options[kw]!r}")
    rounding = options.get("rounding", "nearest_even")
    if is_stochastic(parse_rounding(rounding)[1]):
        raise ValueError(f"check_block_encode checks deterministic roundings only; got rounding={rounding!r}")
    bs = ba.format.block_size
    done = 0
    for lo, hi in _rows(x.size, bs, size):
        kw = dict(options)
        if ba.tensor_scale is not None:
            kw["tensor_scale"] = float(ba.tensor_scale)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            fast = block_encode(x[lo:hi], fmt, **kw)
            want = block_encode(x[lo:hi].astype(np.float64), fmt, **kw)
        blo, bhi = lo // bs, -(-hi // bs)
        for what, got, exp, start, unit in (
                ("element codes", ba.codes[lo:hi], want.codes, lo, "element"),
                ("scale codes", ba.scales[blo:bhi], want.scales, blo, "block"),
                ("element codes (float32 call)", fast.codes, want.codes, lo, "element")):
            bad = np.flatnonzero(got != exp)
            if bad.size:
                _fail(f"block encode {fmt} {what}", start + int(bad[0]), got[bad[0]], exp[bad[0]], unit)
        done += hi - lo
    return done


def check_block_decode(ba, vals, *, size: int = SAMPLE) -> int:
    """Compare float32 `vals` (of `numfmt.decode(ba)`, flat) with numpy's
    `fl(element * fl(scale * tensor scale))` on a sample.

    Examples
    --------
    >>> import numpy as np, numfmt
    >>> from numfmt.bench.check import check_block_decode
    >>> ba = numfmt.encode(np.linspace(-3, 3, 64, dtype=np.float32), "nvfp4")
    >>> check_block_decode(ba, numfmt.decode(ba))
    64
    """
    f = ba.format
    ef, sf, bs = f.element, f.scale, f.block_size
    etab = _values_f32(ef)
    stab = _values_f32(sf)
    done = 0
    for lo, hi in _rows(vals.size, bs, size):
        sv = stab[ba.scales[lo // bs:-(-hi // bs)].astype(np.int64)]
        if ba.tensor_scale is not None:
            sv = (sv * np.float32(ba.tensor_scale)).astype(np.float32)
        with np.errstate(over="ignore", invalid="ignore"):
            want = (etab[ba.codes[lo:hi].astype(np.int64)] * np.repeat(sv, bs)[: hi - lo]).astype(np.float32)
        bad = np.flatnonzero(~_same_values(vals[lo:hi], want))
        if bad.size:
            i = lo + int(bad[0])
            _fail(f"block decode {f.name}", i, vals[i], want[bad[0]])
        done += hi - lo
    return done


def _values_f32(fmt) -> np.ndarray:
    """float32 value of every code (exact for element and scale formats of <= 8 bits)."""
    f = get_format(fmt)
    return np.asarray(decode(np.arange(1 << f.bits, dtype=f.code_dtype), f, dtype=np.float32), np.float32)
