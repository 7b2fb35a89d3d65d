"""[`compare_block`][numfmt.compare.compare_block]: two block arrays compared part by part (scale codes,
element codes) and by block."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..deprecation import legacy_policy, legacy_positional
from ..formats import FloatFormat
from ..frontend import encode
from ..presets import get_format
from ._acc import Acc, check_codes
from ._classify import decode64, fval
from ._result import BlockCompareResult, BlockMismatch, exclass

STREAM_CHUNK = 1 << 18  # elements compared at a time


def _stream(acc, e, a) -> None:
    """`acc.add` of the flat codes `e`, `a` a chunk at a time (int64 per chunk only)."""
    if e.size == 0:
        acc.add(e.astype(np.int64), a.astype(np.int64), None, 0)
    for lo in range(0, e.size, STREAM_CHUNK):
        hi = min(lo + STREAM_CHUNK, e.size)
        acc.add(e[lo:hi].astype(np.int64), a[lo:hi].astype(np.int64), None, lo)


def is_block_array(a) -> bool:
    return hasattr(a, "scales") and hasattr(a, "codes") and hasattr(a, "format")


def _tsstr(v) -> str:
    return "None" if v is None else repr(float(v))


def _classify_one(e: int, a: int, f, x=None) -> str:
    acc = Acc(f, max_examples=1)
    acc.add(np.array([e], np.int64), np.array([a], np.int64), None if x is None else np.array([x]))
    return exclass(acc.examples[0]) if acc.examples else ""


def _block_index(flat, shape, ax: int, bs: int, sshape) -> np.ndarray:
    """Flat scale index of the block holding each flat element index."""
    if flat.size == 0:
        return flat.astype(np.int64)
    multi = list(np.unravel_index(flat, shape))
    multi[ax] = multi[ax] // bs
    return np.ravel_multi_index(tuple(multi), sshape).astype(np.int64)


def _block_start(blocks, shape, ax: int, bs: int, sshape) -> np.ndarray:
    """Flat element index of the first element of each flat block index."""
    if blocks.size == 0:
        return blocks.astype(np.int64)
    multi = list(np.unravel_index(blocks, sshape))
    multi[ax] = multi[ax] * bs
    return np.ravel_multi_index(tuple(multi), shape).astype(np.int64)


def expected_from(expected, x, fmt, options: dict):
    """`expected`, or (when None) `numfmt.encode(x, fmt, **options)`.

    `options` (encode keywords) are only used to compute the expected codes.
    """
    if expected is not None:
        if options:
            raise TypeError(f"encode keywords {sorted(options)} are only used with expected=None")
        return expected
    if x is None:
        raise ValueError("expected=None needs x= (the inputs) to compute the expected codes")
    return encode(x, fmt, **options)


def compare_block(*args, actual=None, expected=None, x=None, max_examples: int = 10, policy: dict | None = None,
                  **options) -> BlockCompareResult:
    """Compare two block arrays: scale codes and element codes separately, and the mismatches by block.

    The arguments are keywords, as in `numfmt.compare`; the old positional order
    `compare_block(expected, actual)` still works with a `DeprecationWarning`.

    Parameters
    ----------
    actual : BlockArray
        The block array under test (e.g. `BlockArray(hw_codes, hw_scales, "mxfp4")`).
    expected : BlockArray or None
        Reference (e.g. `numfmt.encode(x, "mxfp4")`). `None` computes it
        from `x` with `numfmt.encode(x, actual.format, axis=actual.axis, **options)`.
    x : array_like, optional
        The inputs (shape of the element codes): listed with each mismatch, and
        used to recognise element ties broken the other way when the scales are
        powers of two (the scaled input `x / scale` is then exact).
    max_examples : int
        How many mismatches each part keeps.
    policy : dict, optional
        Deprecated: pass its keywords directly.
    **options
        Keywords of the block [`numfmt.encode`][numfmt.encode] (`rounding`, `random`,
        `scale_rule` ...) used when `expected` is None.

    Returns
    -------
    BlockCompareResult
        `.scales` and `.elements` ([`CompareResult`][numfmt.compare.CompareResult] each), the number
        of blocks with a different scale, of blocks with a different element,
        of element mismatches inside blocks whose scale differs, and
        `.examples`: the first mismatches with their block, both scales,
        both element codes, both decoded values and the input.
        `.elements.mask(cls)` / `.scales.mask(cls)` give the differing codes.

    Notes
    -----
    Element codes are compared in chunks of 2**18; the result keeps one bit per element for each
    mismatch class that occurs, and one byte per block. Measured with tracemalloc in a fresh
    process (`tools/memory.py`) on 10M all-different mxfp8_e4m3 element codes: 2.9 extra bytes per
    element at the peak (was 80).

    Examples
    --------
    >>> import numpy as np, numfmt
    >>> from numfmt.block import BlockArray
    >>> from numfmt.compare import compare_block
    >>> x = np.linspace(-6, 6, 64, dtype=np.float32)
    >>> ba = numfmt.encode(x, "mxfp4")
    >>> codes, scales = ba.codes.copy(), ba.scales.copy()
    >>> codes[3] ^= 1; scales[1] += 1                     # one element, one scale
    >>> r = compare_block(actual=BlockArray(codes, scales, "mxfp4"), expected=ba, x=x)
    >>> r.scales.different, r.elements.different, r.blocks_with_scale_mismatch
    (1, 1, 1)
    >>> [(m.index, m.block, m.what) for m in r.examples]
    [((3,), (0,), 'element'), ((32,), (1,), 'scale')]
    """
    if args:
        kw = legacy_positional("compare_block", args, ("expected", "actual"), {"expected": expected, "actual": actual})
        expected, actual = kw["expected"], kw["actual"]
    options = legacy_policy("compare_block", policy, options)
    if isinstance(max_examples, bool) or not isinstance(max_examples, (int, np.integer)) or max_examples < 0:
        raise ValueError(f"max_examples must be a non-negative int, got {max_examples!r}")
    if not is_block_array(actual):
        raise TypeError(f"actual must be a block array, got {type(actual).__name__}")
    expected = expected_from(expected, x, actual.format,
                             {"axis": actual.axis, **options} if expected is None else options)
    for name, a in (("expected", expected), ("actual", actual)):
        if not is_block_array(a):
            raise TypeError(f"{name} must be a block array like the other argument, got {type(a).__name__}")
    fe, fa = expected.format, actual.format
    notes = []
    if fe != fa:
        notes.append(f"formats differ: expected {getattr(fe, 'name', fe)}, actual {getattr(fa, 'name', fa)}")
    ax_e, ax_a = getattr(expected, "axis", -1), getattr(actual, "axis", -1)
    if ax_e != ax_a:
        notes.append(f"blocked axes differ: expected axis {ax_e}, actual axis {ax_a}")
    sf = get_format(fe.scale)
    ef = get_format(fe.element)
    se, sa = np.asarray(expected.scales), np.asarray(actual.scales)
    ce, ca = np.asarray(expected.codes), np.asarray(actual.codes)
    if se.shape != sa.shape:
        raise ValueError(f"expected.scales has shape {se.shape} but actual.scales has shape {sa.shape}")
    if ce.shape != ca.shape:
        raise ValueError(f"expected.codes has shape {ce.shape} but actual.codes has shape {ca.shape}")
    xa = None
    if x is not None:
        xa = np.asarray(x)
        if xa.dtype.kind not in "fiu":
            raise TypeError(f"x must be numeric, got dtype {xa.dtype}")
        if xa.shape != ce.shape:
            raise ValueError(f"x has shape {xa.shape} but the element codes have shape {ce.shape}")
        xa = xa.reshape(-1)
    ts_e, ts_a = getattr(expected, "tensor_scale", None), getattr(actual, "tensor_scale", None)
    for attr in ("tensor_scale", "global_scale"):
        te, ta = getattr(expected, attr, None), getattr(actual, attr, None)
        if te is not None or ta is not None:
            if not np.array_equal(np.asarray(te, np.float64), np.asarray(ta, np.float64), equal_nan=True):
                notes.append(f"{attr} differs: expected {_tsstr(te)}, actual {_tsstr(ta)}")
    shape, sshape = ce.shape, se.shape
    ax = int(getattr(expected, "axis", len(shape) - 1)) % max(len(shape), 1)
    bs = int(fe.block_size)
    e_s, a_s = check_codes(se, sf, "expected.scales"), check_codes(sa, sf, "actual.scales")
    e_c, a_c = check_codes(ce, ef, "expected.codes"), check_codes(ca, ef, "actual.codes")
    s_acc = Acc(sf, max_examples=max_examples, shape=sshape, label="scales", masks=True)
    _stream(s_acc, e_s, a_s)
    scale_bad = e_s != a_s
    # the scaled input x / scale is exact for power-of-two scales without a tensor scale: ties are recognisable
    sv = None
    if xa is not None and ts_e is None and isinstance(sf, FloatFormat) and sf.mantissa_bits == 0 and e_c.size:
        sv = decode64(e_s.astype(np.int64), sf)
        sv = np.where(np.isfinite(sv) & (sv > 0) & ~scale_bad, sv, np.nan)
    e_acc = Acc(ef, max_examples=max_examples, shape=shape, label="elements", masks=True)
    # elements a chunk at a time: working memory per chunk; kept: one bit per element and mismatch class
    # that occurs, one byte per block
    el_blocks = np.zeros(scale_bad.size, bool)  # blocks holding a differing element
    first: list = []  # the first differing flat element indices
    in_bad = 0
    for lo in range(0, e_c.size, STREAM_CHUNK):
        hi = min(lo + STREAM_CHUNK, e_c.size)
        ec, ac = e_c[lo:hi].astype(np.int64), a_c[lo:hi].astype(np.int64)
        blk = _block_index(np.arange(lo, hi, dtype=np.int64), shape, ax, bs, sshape)
        xs = None
        if sv is not None:
            per = sv[blk]
            with np.errstate(all="ignore"):
                xs = xa[lo:hi].astype(np.float64) / per
            xs = np.where(np.isnan(per), 0.0, xs)
        e_acc.add(ec, ac, xs, lo)
        d = np.flatnonzero(ec != ac)
        if d.size:
            db = blk[d]
            el_blocks[db] = True
            in_bad += int(np.count_nonzero(scale_bad[db]))
            if len(first) < max_examples:
                first += (d[:max_examples - len(first)] + lo).tolist()
    if e_c.size == 0:
        e_acc.add(e_c.astype(np.int64), a_c.astype(np.int64), None, 0)
    el_res = e_acc.result()
    if xa is not None and el_res.examples:
        def xval(m):
            i = int(np.ravel_multi_index(m.index, shape)) if len(shape) != 1 else m.index[0]
            v = xa[i]
            return float(v) if xa.dtype.kind == "f" else int(v)

        el_res = replace(el_res, examples=tuple(replace(m, x=xval(m)) for m in el_res.examples))
    bad_blocks = np.flatnonzero(scale_bad)
    n_el_blocks = int(np.count_nonzero(el_blocks))
    # events: differing elements, and the first element of each scale-only block
    only = np.flatnonzero(scale_bad & ~el_blocks)
    events = np.union1d(np.array(first, np.int64), _block_start(only[:max_examples], shape, ax, bs, sshape))
    events = events[:max_examples]
    ex_classes = {m.index: m for m in e_acc.examples}
    fts = 1.0 if ts_e is None else float(ts_e)
    fta = fts if ts_a is None else float(ts_a)
    rows = []
    for i in events.tolist():
        b = int(_block_index(np.array([i]), shape, ax, bs, sshape)[0])
        es, as_, ec, ac = int(e_s[b]), int(a_s[b]), int(e_c[i]), int(a_c[i])
        parts, what = [], []
        if es != as_:
            what.append("scale")
            parts.append("scale " + _classify_one(es, as_, sf))
        if ec != ac:
            what.append("element")
            m = ex_classes.get((i,))
            parts.append("element " + (exclass(m) if m is not None else _classify_one(ec, ac, ef)))
        with np.errstate(all="ignore"):
            ev = fval(ec, ef) * fval(es, sf) * fts
            av = fval(ac, ef) * fval(as_, sf) * fta
        xi = None
        if xa is not None:
            xi = float(xa[i]) if xa.dtype.kind == "f" else int(xa[i])
        rows.append(BlockMismatch(
            index=tuple(int(j) for j in np.unravel_index(i, shape)),
            block=tuple(int(j) for j in np.unravel_index(b, sshape)),
            x=xi, expected_scale=es, actual_scale=as_, expected=ec, actual=ac,
            expected_value=ev, actual_value=av, what=" and ".join(what), detail="; ".join(parts)))
    return BlockCompareResult(
        scales=s_acc.result(), elements=el_res, blocks=int(se.size),
        blocks_with_scale_mismatch=int(bad_blocks.size), notes=tuple(notes),
        blocks_with_element_mismatch=n_el_blocks, elements_in_scale_mismatch_blocks=in_bad,
        examples=tuple(rows), format_name=getattr(fe, "name", str(fe)), block_size=bs, axis=ax)
