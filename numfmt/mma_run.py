"""Evaluation of matrix-instruction models (FusedBlock models with instruction fields).

[`numfmt.dot`][numfmt.dot] and [`numfmt.matmul`][numfmt.matmul] call
`run_instruction` for a [`FusedBlock`][numfmt.FusedBlock] whose
`instruction_datapath` is true (models from [`numfmt.mma_model`][numfmt.mma_model]);
block scales reach it from `matmul(..., a_scales=, b_scales=)`.
"""

from __future__ import annotations

import functools

import numpy as np

from ._kernels.variants import select
from .accum_models import Chunked, FusedBlock, float_format_arg, in_format_arg, rounding_mode_arg
from .codec import decode
from .engine import chunks
from .interop import real_array
from .plan import funnel_params

__all__ = ["run_instruction", "scale_values", "c_format_of", "split_dots", "is_block_of"]


def c_format_of(model: FusedBlock):
    """The format the addend c must be in: `c_format`, else `out_format`."""
    return float_format_arg(model.out_format if model.c_format is None else model.c_format, "c_format")


def _split(x: np.ndarray, man: int, emin: int):
    from ._kernels import accumulate as K_  # numba loads on first use, not at import

    flat = np.ascontiguousarray(x, np.float64).ravel()
    m = np.empty(flat.size, np.int64)
    E = np.empty(flat.size, np.int64)
    cls = np.empty(flat.size, np.int8)
    bad = K_.split_inputs(flat, man, emin, False, m, E, cls)
    if bad >= 0:  # pragma: no cover - the callers check the values first
        raise ValueError(f"value {flat[bad]!r} has more than {man} fraction bits above 2**{emin - man}")
    return m, E, cls


def scale_values(s, fmt, name: str, shape: tuple[int, int]) -> np.ndarray:
    """`s` as float64 scale values of `fmt` with shape `shape`; a ValueError naming `name` otherwise.

    Values must be exactly representable (NaN where the format has it); E8M0 holds
    the powers of two 2**-127 .. 2**127.
    """
    a = real_array(s, name)
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (one {fmt.name} scale per block of K), got {a.shape}")
    fin = a[np.isfinite(a)]
    if np.isinf(a).any():
        raise ValueError(f"{name} holds an infinity, which {fmt.name} cannot represent")
    if np.isnan(a).any() and fmt.code_of_nan is None:
        raise ValueError(f"{name} holds a NaN, which {fmt.name} cannot represent")
    if fin.size:
        if (fin < 0).any() or (np.signbit(fin) & (fin == 0)).any():
            raise ValueError(f"{name} holds {float(fin[np.signbit(fin)][0])!r}: scales are unsigned")
        if not fmt.has_zero and (fin == 0).any():
            raise ValueError(f"{name} holds 0.0, which {fmt.name} cannot represent")
        nz = fin[fin != 0]
        _mant, ex = np.frexp(nz)
        e = ex - 1  # nz = (2 _mant) * 2**e, 1 <= 2 _mant < 2
        lo = np.maximum(e, fmt.emin) - fmt.mantissa_bits  # weight of the last significand bit
        ok = (np.ldexp(np.floor(np.ldexp(nz, -lo)), lo) == nz) & (nz <= fmt.max) & (e >= fmt.emin - fmt.mantissa_bits)
        if not ok.all():
            raise ValueError(f"{name} holds {float(nz[~ok][0])!r}, which is not exactly representable in {fmt.name}")
    return a


def run_instruction(model: FusedBlock, X, Y, ia, ib, c, sa=None, sb=None, threads: int = 1,
                    grid: bool = False, ycache: dict | None = None, k_off: int = 0) -> np.ndarray:
    """Evaluate `model` on rows X[ia[t]] . Y[ib[t]] + c[t] (float64 results).

    X (R, K) and Y (S, K) hold values of the input formats, c values of the addend
    format; `sa` (R, K / scale_block) and `sb` (S, K / scale_block) the scale values
    when the model has a `scale_format`. The dot products are split over `threads`
    threads (each its own run of t; the results do not depend on it). The kernel is
    `mma_dots`, or its registered variant where one applies; with `grid` (ia, ib the
    row-major grid of every row of X with every row of Y, as `matmul` makes them) the
    variant of op `"mma_grid"` where one applies. `ycache` (a dict, empty at first) keeps the
    split planes of Y and `sb` for the next calls with the same Y (matmul's row tiles).
    `k_off` > 0: X and Y are the elements from `k_off` (a multiple of `terms`) of a longer K and
    c the result of the blocks before them (a value of the result format, whose exponent is
    clamped at the result format's emin).
    """
    from ._kernels import mma as KM  # numba loads on first use, not at import

    fa, fb = in_format_arg(model.in_format)
    T = ia.size
    K = X.shape[1]
    G = model.group_size
    if G > 1:
        span = max(fa.emax - fa.emin, 0) + max(fb.emax - fb.emin, 0) + fa.mantissa_bits + fb.mantissa_bits + 2
        if span + G.bit_length() + 8 > 62:
            raise ValueError(f"group_size={G} with {fa.name} x {fb.name} inputs: the exact group sum needs "
                             f"{span + G.bit_length()} bits; the limit is 54")
    rf = model.result_format()
    scaled = model.scale_format is not None
    sf = float_format_arg(model.scale_format, "scale_format") if scaled else None
    nsb = sa.shape[1] if scaled else 0
    man_s = 2 * sf.mantissa_bits if scaled else 0
    am, aE, acls, flags_a, sam, saE, scls = _planes(X, sa, fa, sf)
    key = (Y.__array_interface__["data"][0], Y.shape, None if sb is None else sb.__array_interface__["data"][0])
    if ycache is not None and ycache.get("key") == key:
        bm, bE, bcls, flags_b, sbm, sbE, sbcls = ycache["planes"]
    else:
        bm, bE, bcls, flags_b, sbm, sbE, sbcls = _planes(Y, sb, fb, sf)
        if ycache is not None:
            ycache.clear()
            ycache.update(key=key, planes=(bm, bE, bcls, flags_b, sbm, sbE, sbcls))
    out = np.empty(T, np.float64)
    ia = np.ascontiguousarray(ia, np.int64)
    ib = np.ascontiguousarray(ib, np.int64)
    c = np.ascontiguousarray(c, np.float64)
    if model.addend == "two_stage":
        outf = float_format_arg(model.out_format, "out_format")
        head = (am, aE, acls, bm, bE, bcls, K)
        tail = (flags_a, flags_b, fa.mantissa_bits + fb.mantissa_bits, model.terms, model.lanes,
                model.fraction_bits, model.sum_bits, model.drop_small_c, c_format_of(model).emin, outf.emax + 1,
                funnel_params(outf), rounding_mode_arg(model.rounding, "rounding"))
        split_dots(KM.two_stage_dots, head, ia, ib, c, out, tail, threads)
        return out
    min_exp = -(1 << 35) if model.min_exp is None else model.min_exp
    if G > 1:  # elements as integers in units of the format's smallest subnormal (exact group sums)
        afix = am << np.maximum(aE - fa.emin, 0)  # (at most 62: the span check above)
        bfix = ycache["bfix"] if ycache and "bfix" in ycache else bm << np.maximum(bE - fb.emin, 0)
        if ycache is not None:
            ycache["bfix"] = bfix
    else:
        afix = bfix = np.zeros(1, np.int64)
    man_ab = fa.mantissa_bits + fb.mantissa_bits
    p = funnel_params(rf)
    mode = rounding_mode_arg(model.rounding, "rounding")
    fix_bits = (fa.mantissa_bits + 1 + max(fa.emax - fa.emin, 0) + fb.mantissa_bits + 1
                + max(fb.emax - fb.emin, 0) + G.bit_length())
    fast = select("mma", man_ab, man_s, model.fraction_bits, G, fix_bits, model.min_exp, model.terms, scaled,
                  model.scale_block, p, mode)
    kernel = KM.mma_dots
    bm64 = bm
    if fast is not None:  # the variant reads int32 significand planes

        def narrow_b():
            if ycache is None:
                return bm64.astype(np.int32)
            if "bm32" not in ycache:
                ycache["bm32"] = bm64.astype(np.int32)
            return ycache["bm32"]

        kernel = fast.kernel
        am = am.astype(np.int32)
    else:
        def narrow_b():
            return bm64

    def head():  # the per-output kernel's leading arguments
        return (am, aE, acls, narrow_b(), bE, bcls, afix, bfix, K)

    out_emin = float_format_arg(model.out_format, "out_format").emin
    c_emin = c_format_of(model).emin if k_off == 0 else out_emin  # (a later piece's c is a result)
    chain = (model.scale_block, man_s, model.terms, G, model.fraction_bits, min_exp, c_emin, out_emin, p, mode,
             model.overflow == "inf", model.plus_zero)
    tail = (flags_a, flags_b, man_ab, fa.emin + fb.emin, scaled, sam, saE, scls, sbm, sbE, sbcls, nsb) + chain
    gfast = select("mma_grid", man_ab, man_s, model.fraction_bits, G, fix_bits, model.min_exp, model.terms,
                   scaled, model.scale_block, p, mode) if grid and fast is not None else None
    if gfast is None:
        split_dots(kernel, head(), ia, ib, c, out, tail, threads)
        return out
    # the whole grid, vectorized over the columns: B's planes as (K, S), its scales as (nsb, S)
    R, S = X.shape[0], Y.shape[0]

    def cols(v, width, name):
        if ycache is None:
            return np.ascontiguousarray(v.reshape(S, width).T)
        if name not in ycache:
            ycache[name] = np.ascontiguousarray(v.reshape(S, width).T)
        return ycache[name]

    skip = flags_a[:, None] | flags_b[None, :] | ~np.isfinite(c).reshape(R, S)
    redo = np.empty((R, S), np.bool_)
    one = np.zeros((1, 1), np.int64)
    gafix, gbfix = afix, bfix
    if G > 1 and max(f.mantissa_bits + 1 + max(f.emax - f.emin, 0) for f in (fa, fb)) <= 30:
        # the fixed-point elements within int32 (their products are formed in int64)
        gafix = afix.astype(np.int32)
        gbfix = bfix.astype(np.int32)
    if G == 1:  # the grid kernel reads the significand and exponent planes, or the group planes
        bmT, bET, bfixT = cols(narrow_b(), K, "bmT"), cols(bE, K, "bET"), one
    else:
        bmT, bET, bfixT = np.zeros((1, 1), np.int32), one, cols(gbfix, K, "bfixT")
    ghead = (am, aE, bmT, bET, gafix, bfixT, K, S, c.reshape(R, S), out.reshape(R, S), skip, redo, man_ab,
             fa.emin + fb.emin, scaled, sam, saE, cols(sbm, nsb, "sbmT") if scaled else one,
             cols(sbE, nsb, "sbET") if scaled else one, nsb) + chain
    chunks(R, threads, min_n=2)(lambda lo, hi: gfast.kernel(*ghead, lo, hi))
    t = np.flatnonzero(redo.ravel())
    if t.size:  # NaN or infinity in the chain: the per-output kernel, which has the special-value rule
        part = np.empty(t.size, np.float64)
        kernel(*head(), ia[t], ib[t], c[t], part, *tail)
        out[t] = part
    return out


def _planes(V, s, f, sf):
    """The split planes of one operand (rows of V, values of `f`) and of its scales `s` (values
    of `sf`, or None): (m, E, cls, row flags, scale m, scale E, scale cls); a row is flagged when
    it holds a NaN or an infinity, or its scales a NaN."""
    K = V.shape[1]
    m, E, cls = _split(V, f.mantissa_bits, f.emin)
    flags = ~np.isfinite(V).all(axis=1) if K else np.zeros(V.shape[0], bool)
    if sf is None:
        return m, E, cls, np.ascontiguousarray(flags), np.zeros(1, np.int64), np.zeros(1, np.int64), \
            np.zeros(1, np.int8)
    sm, sE, scls = _split(s, sf.mantissa_bits, sf.emin)
    if s.shape[1]:
        flags = flags | ~np.isfinite(s).all(axis=1)
    return m, E, cls, np.ascontiguousarray(flags), sm, sE, scls


def split_dots(kernel, head: tuple, ia, ib, c, out, tail: tuple, threads: int) -> None:
    """`kernel(*head, ia, ib, c, out, *tail)` (a dot-product kernel, one result per t) run over
    pieces of t on `threads` threads; the results do not depend on `threads`."""
    def work(lo, hi):
        kernel(*head, ia[lo:hi], ib[lo:hi], c[lo:hi], out[lo:hi], *tail)

    chunks(ia.size, threads, min_n=64)(work)


def scaled_model(model):
    """The block-scaled instruction model of `model` (itself, a Chunked model's inner model, or None)."""
    if isinstance(model, FusedBlock) and model.scale_format is not None:
        return model
    if isinstance(model, Chunked):
        if scaled_model(model.outer) is not None:
            raise ValueError("a Chunked model's outer model cannot take block scales (it sums the partial sums)")
        return scaled_model(model.inner)
    return None


def prepare_scales(model, sa, sb, K: int, rows_a: tuple, rows_b: tuple, names=("a_scales", "b_scales"),
                   k_names=("A", "B"), b_by_columns: bool = False):
    """(sa, sb) as float64 arrays (rows, K / scale_block) checked against `model`; None when unscaled.

    `rows_a` / `rows_b` are the leading shapes the scales must have; with `b_by_columns`
    (matmul) `sb` is given as (K / block, N) and returned transposed.
    """
    m = scaled_model(model)
    if m is None:
        if sa is not None or sb is not None:
            which = names[0] if sa is not None else names[1]
            raise ValueError(f"{which} given, but the model has no block scales (scale_format is None)")
        return None
    if sa is None or sb is None:
        which = names[0] if sa is None else names[1]
        raise ValueError(f"the model multiplies block-scaled operands ({m.scale_format} per {m.scale_block} "
                         f"elements of K): pass {which}")
    if K % m.scale_block:
        raise ValueError(f"{k_names[0]} and {k_names[1]} have K = {K}, not a multiple of the scale block "
                         f"{m.scale_block}")
    if isinstance(model, Chunked) and model.every % m.scale_block:
        raise ValueError(f"Chunked every={model.every} must be a multiple of the inner model's scale block "
                         f"{m.scale_block}")
    sf = float_format_arg(m.scale_format, "scale_format")
    nb = K // m.scale_block
    sa = scale_values(sa, sf, names[0], (*rows_a, nb))
    if b_by_columns:
        return sa, np.ascontiguousarray(scale_values(sb, sf, names[1], (nb, *rows_b)).T)
    return sa, scale_values(sb, sf, names[1], (*rows_b, nb))


def is_block_of(x, fmt) -> bool:
    """Whether `x` is a `BlockArray` whose elements are codes of the format `fmt` (so that its
    decoded elements need no representability check)."""
    codes = getattr(x, "codes", None)
    element = getattr(getattr(x, "format", None), "element", None)
    return codes is not None and codes.dtype == np.uint8 and getattr(element, "name", None) == fmt.name


def block_operand(x, scales, name: str, scale_name: str, k_axis: int, model):
    """(element values, scale values, tensor scale or None) of a `BlockArray` operand blocked along K;
    `(x, scales, None)` for anything else.

    The element codes are decoded without their scales (the instruction applies the
    scales); a block size that the model's scale block divides is accepted (each scale
    repeated). ValueError naming `name` when the array does not fit the model.
    """
    from .block import BlockArray  # reason: block formats load numfmt.block's encoders; plain operands skip it
    if not isinstance(x, BlockArray):
        return x, scales, None
    if scales is not None:
        raise ValueError(f"{name} is a BlockArray, which carries its scales: do not pass {scale_name}")
    if x.codes.ndim != 2 or x.axis != k_axis:
        raise ValueError(f"{name} must be a 2-D BlockArray blocked along K (axis={k_axis}), got shape "
                         f"{x.codes.shape} blocked along axis {x.axis}")
    m = scaled_model(model)
    f = x.format
    if m is None:
        raise ValueError(f"{name} is a block-scaled BlockArray ({f.name}) but the model takes no block scales; "
                         f"use a block-scaled instruction (numfmt.mma_model(..., 'm16n8k64.kind::mxf4...'))")
    sf = float_format_arg(m.scale_format, "scale_format")
    if f.scale.name != sf.name:
        raise ValueError(f"{name} is {f.name} with {f.scale.name} scales; the model takes {sf.name} scales")
    if f.block_size % m.scale_block:
        raise ValueError(f"{name} is {f.name} with blocks of {f.block_size}; the model scales blocks of "
                         f"{m.scale_block}")
    if x.codes.shape[k_axis] % f.block_size:
        raise ValueError(f"{name} has K = {x.codes.shape[k_axis]}, not a multiple of the scale block "
                         f"{f.block_size}")
    vals = _decode_table(f.element)[x.codes]
    s = np.repeat(_decode_table(f.scale)[x.scales], f.block_size // m.scale_block, axis=k_axis)
    return vals, s, x.tensor_scale


@functools.lru_cache(maxsize=64)
def _decode_table(fmt) -> np.ndarray:
    """float64 value of every code of an 8-bit (or narrower) format, indexed by code (read-only,
    kept per format)."""
    t = np.asarray(decode(np.arange(1 << fmt.bits, dtype=np.uint8), fmt), np.float64)
    t.flags.writeable = False
    return t


def epilogue_alpha(ts_a, ts_b):
    """The GEMM epilogue's alpha: the product of the two tensor scales rounded to float32 (None
    when neither operand has one)."""
    if ts_a is None and ts_b is None:
        return None
    one = np.float32(1.0)
    return np.float32(one if ts_a is None else ts_a) * np.float32(one if ts_b is None else ts_b)


def run_ftz_pairs(model, X, Y, ia, ib, c, k_off: int = 0) -> np.ndarray:
    """A `Pairwise` model with `terms` (groups of 2 or 4 products) in binary32 arithmetic (IEEE
    round to nearest even, numpy float32), optionally flushing subnormals (float64 results).

    `k_off`: X and Y are the elements from `k_off` (a multiple of `terms` and of
    `instruction_k`) of a longer K, c the result of the elements before them."""
    from ._kernels import accumulate as K_  # numba loads on first use, not at import

    fa, fb = in_format_arg(model.in_format)
    P = model.terms
    K = X.shape[1]
    if K % P:
        raise ValueError(f"K = {K} is not a multiple of the model's group of {P} products")
    ftz = model.flush_subnormals
    tiny = np.float32(2.0**-126)
    zero = np.float32(0.0)

    def flush(v, keep_sign):
        if not ftz:
            return v
        return np.where(np.abs(v) < tiny, v * zero if keep_sign else zero, v).astype(np.float32)

    Xa = X.astype(np.float32)
    Ya = Y.astype(np.float32)
    if ftz:
        Xa = np.where(np.abs(Xa) < np.float32(2.0**fa.emin), zero, Xa).astype(np.float32)
        Ya = np.where(np.abs(Ya) < np.float32(2.0**fb.emin), zero, Ya).astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        prods = flush(Xa[ia] * Ya[ib], True)
        # the groups' sums (they do not depend on the accumulator): row g of `sums` is group g's
        sums = flush(prods[:, 0::P] + prods[:, 1::P], True)
        if P == 4:
            sums = flush(sums + flush(prods[:, 2::P] + prods[:, 3::P], True), True)
        sums = np.ascontiguousarray(sums.T, np.float32)
        k = k_off + P * np.arange(K // P)  # the accumulator enters an instruction (without instruction_k: once)
        enter = (k % model.instruction_k == 0) if model.instruction_k else k == 0
        acc = np.empty(ia.size, np.float32)
        K_.ftz_pair_chain(sums, np.ascontiguousarray(c, np.float32), enter, ftz, acc)
    # NaN as np.nan, as the other kernels give it: the sign numpy's float32 loops leave on a NaN
    # depends on the array's length and layout (vector or scalar loop), so on how K and the rows were cut
    return np.where(np.isnan(acc), np.nan, acc.astype(np.float64))


def run_fma64(X, Y, ia, ib, c) -> np.ndarray:
    """A chain of binary64 fused multiply-adds, c first (`numfmt.fma`, exact then rounded once to
    nearest even), over K: a Sequential model with binary64 inputs and accumulator."""
    from .arith import fma  # reason: arith loads the arithmetic kernels; only binary64 chains need them

    acc = np.array(c, np.float64)
    for k in range(X.shape[1]):
        acc = np.asarray(fma(X[ia, k], Y[ib, k], acc, "binary64", dtype=np.float64), np.float64)
    return acc
