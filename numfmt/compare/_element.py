"""[`compare`][numfmt.compare.compare]: expected and actual codes (or values) of one element format,
every mismatch classified."""

from __future__ import annotations

import numpy as np

from ..codec import encode
from ..deprecation import legacy_policy, legacy_positional
from ..presets import get_format
from ._acc import Acc, check_codes
from ._block import compare_block, expected_from, is_block_array
from ._classify import NAN, code_info, decode64, fval

STREAM_CHUNK = 1 << 18  # elements compared at a time: the working memory is per chunk, not per element


def compare(*args, actual=None, expected=None, fmt=None, values: bool = False, max_examples: int = 10, x=None,
            policy: dict | None = None, **options):
    """Compare actual codes of `fmt` with the expected ones and classify every mismatch.

    The arguments are keywords, since libraries disagree on the order of actual and expected;
    the old positional order `compare(expected, actual, fmt)` still works with a
    `DeprecationWarning`.

    Parameters
    ----------
    actual : array_like of int or BlockArray
        Codes under test.
    expected : array_like of int, BlockArray or None
        Reference codes (e.g. `numfmt.encode(x, fmt)`), same shape. `None` computes them
        from `x` with `numfmt.encode(x, fmt, **options)`.
    fmt : str or format
        The element format (for block arrays it is taken from the arrays).
    values : bool
        `expected` and `actual` hold values of the format instead of codes;
        a value that no code holds is a `not_representable` mismatch.
    max_examples : int
        How many mismatches to keep as examples (the first ones in flat order).
    x : array_like, optional
        The inputs; needed to recognise ties broken the other way.
    policy : dict, optional
        Deprecated: pass its keywords directly.
    **options
        Keywords of [`numfmt.encode`][numfmt.encode] (`rounding`, `saturation`, `nan`,
        `compat`, `random`, `rbits` ...) used when `expected` is None.

    Returns
    -------
    CompareResult or BlockCompareResult
        `result.mask(cls)` / `result.indices(cls)` give the differing elements (of one
        mismatch class, or all), unpacked on request.

    Notes
    -----
    Element codes are compared in chunks of 2**18: the result keeps counts, the examples
    and one bit per element for each mismatch class that occurs. Measured with
    tracemalloc in a fresh process on 20M all-different uint8 codes: 1.44 extra bytes
    per element at the peak (0.13 kept in the result; was 99). Index arrays are
    made only when `indices()` or `mask()` asks for them.

    Examples
    --------
    >>> import numfmt
    >>> x = [1.0625, 3.0, 500.0, -0.0]
    >>> r = numfmt.compare(actual=[0x39, 0x44, 0x7E, 0x00], expected=numfmt.encode(x, "e4m3"), fmt="e4m3", x=x)
    >>> r.different, r.classes
    (3, {'tie': 1, 'signed_zero': 1, 'saturated_vs_overflowed': 1})
    >>> print(r)                                     # doctest: +NORMALIZE_WHITESPACE +ELLIPSIS
    compare float8_e4m3fn: 4 compared, 1 equal, 3 different
      mismatch classes:
        tie broken the other way  1
        signed zero only          1
        saturated vs overflowed   1
      largest ulp distance: 1
      first 3 mismatches:
        index  x       expected         value  actual           value   class
        0      1.0625  0x38 0|0111|000  1.0    0x39 0|0111|001  1.125   tie broken the other way (expected ...)
        2      500.0   0x7f 0|1111|111  nan    0x7e 0|1111|110  448.0   saturated vs overflowed (expected ...)
        3      -0.0    0x80 1|0000|000  -0.0   0x00 0|0000|000  0.0     signed zero only
    """
    if args:
        kw = legacy_positional("compare", args, ("expected", "actual", "fmt"),
                               {"expected": expected, "actual": actual, "fmt": fmt})
        expected, actual, fmt = kw["expected"], kw["actual"], kw["fmt"]
    options = legacy_policy("compare", policy, options)
    if actual is None:
        raise TypeError("compare() needs actual= (the codes under test)")
    if is_block_array(actual) or is_block_array(expected):
        return compare_block(actual=actual, expected=expected, x=x, max_examples=max_examples, **options)
    if fmt is None:
        raise TypeError("compare() needs fmt (the format of the codes)")
    f = get_format(fmt)
    expected = expected_from(expected, x, f, options)
    exp_arr = np.asarray(expected) if not isinstance(expected, (str, bytes)) else expected
    act_arr = np.asarray(actual) if not isinstance(actual, (str, bytes)) else actual
    if isinstance(exp_arr, np.ndarray) and isinstance(act_arr, np.ndarray) and exp_arr.shape != act_arr.shape:
        raise ValueError(f"expected has shape {exp_arr.shape} but actual has shape {act_arr.shape}")
    shape = getattr(exp_arr, "shape", None)
    xa = None
    if x is not None:
        xa = np.asarray(x)
        if xa.dtype.kind not in "fiu":
            raise TypeError(f"x must be numeric, got dtype {xa.dtype}")
        if xa.shape != shape:
            raise ValueError(f"x has shape {xa.shape} but the codes have shape {shape}")
    acc = Acc(f, max_examples=max_examples, shape=shape, masks=True)
    xf = None if xa is None else xa.reshape(-1)
    if values:
        ev, av = _flat_values(exp_arr, "expected"), _flat_values(act_arr, "actual")
        for lo in range(0, ev.size, STREAM_CHUNK):
            hi = min(lo + STREAM_CHUNK, ev.size)
            e, be, ve = _values_to_codes(ev[lo:hi], f, "expected")
            a, ba, va = _values_to_codes(av[lo:hi], f, "actual")
            acc.add(e, a, None if xf is None else xf[lo:hi], lo, be, ba, ve, va)
    else:
        ec = check_codes(exp_arr, f, "expected")
        ac = check_codes(act_arr, f, "actual")
        if ec.size == 0:
            acc.add(ec.astype(np.int64), ac.astype(np.int64), xf, 0)
        for lo in range(0, ec.size, STREAM_CHUNK):
            hi = min(lo + STREAM_CHUNK, ec.size)
            acc.add(ec[lo:hi].astype(np.int64), ac[lo:hi].astype(np.int64), None if xf is None else xf[lo:hi], lo)
    return acc.result()


def _flat_values(v, name) -> np.ndarray:
    """The flat numeric array of values `v` (checked; converted chunk by chunk later)."""
    if isinstance(v, (str, bytes)):
        raise TypeError(f"{name} must be a numeric array, got {type(v).__name__}")
    arr = np.asarray(v)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    return arr.reshape(-1)


def _values_to_codes(v, f, name):
    """Codes of values (exactly representable ones), a not-representable mask and the values."""

    if isinstance(v, (str, bytes)):
        raise TypeError(f"{name} must be a numeric array, got {type(v).__name__}")
    arr = np.asarray(v)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    vals = arr.astype(np.float64).reshape(-1)
    nanm = np.isnan(vals)
    safe = np.where(nanm, 0.0, vals)
    codes = np.asarray(encode(safe, f, rounding="nearest_even", saturation="none"), np.int64).reshape(-1)
    kind, _, _ = code_info(codes, f)
    back = np.array([fval(int(c), f) for c in codes]) if codes.size < 4096 else decode64(codes, f)
    bad = ~nanm & ~((back == safe) & (kind != NAN))
    if nanm.any():
        nc = f.code_of_nan
        if nc is None:
            bad |= nanm
        else:
            neg = np.signbit(vals)
            nn = f.code_of_negnan
            codes[nanm] = np.where(neg[nanm], nn, nc)
    return codes, bad, vals
