"""Evaluation of matrix-instruction models (FusedBlock models with instruction fields).

[`numfmt.dot`][numfmt.dot] and [`numfmt.matmul`][numfmt.matmul] call
`run_instruction` for a [`FusedBlock`][numfmt.FusedBlock] whose
`instruction_datapath` is true (models from [`numfmt.mma_model`][numfmt.mma_model]);
block scales reach it from `matmul(..., a_scales=, b_scales=)`.
"""

from __future__ import annotations

import numpy as np

from .accum_models import Chunked, FusedBlock, float_format_arg, in_format_arg, rounding_mode_arg
from .codec import decode
from .interop import real_array
from .plan import funnel_params

__all__ = ["run_instruction", "scale_values", "c_format_of"]


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


def run_instruction(model: FusedBlock, X, Y, ia, ib, c, sa=None, sb=None, k_off: int = 0) -> np.ndarray:
    """Evaluate `model` on rows X[ia[t]] . Y[ib[t]] + c[t] (float64 results).

    X (R, K) and Y (S, K) hold values of the input formats, c values of the addend
    format; `sa` (R, K / scale_block) and `sb` (S, K / scale_block) the scale values
    when the model has a `scale_format`. `k_off` > 0: X and Y are the elements from
    `k_off` (a multiple of `terms`) of a longer K and c the result of the blocks before them
    (a value of the result format, whose exponent is clamped at the result format's emin).
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
    am, aE, acls = _split(X, fa.mantissa_bits, fa.emin)
    bm, bE, bcls = _split(Y, fb.mantissa_bits, fb.emin)
    flags_a = ~np.isfinite(X).all(axis=1) if K else np.zeros(X.shape[0], bool)
    flags_b = ~np.isfinite(Y).all(axis=1) if K else np.zeros(Y.shape[0], bool)
    scaled = model.scale_format is not None
    if scaled:
        sf = float_format_arg(model.scale_format, "scale_format")
        nsb = sa.shape[1]
        sam, saE, scls = _split(sa, sf.mantissa_bits, sf.emin)
        sbm, sbE, sbcls = _split(sb, sf.mantissa_bits, sf.emin)
        if nsb:
            flags_a = flags_a | ~np.isfinite(sa).all(axis=1)
            flags_b = flags_b | ~np.isfinite(sb).all(axis=1)
        man_s = 2 * sf.mantissa_bits
    else:
        nsb = 0
        sam = saE = sbm = sbE = np.zeros(1, np.int64)
        scls = sbcls = np.zeros(1, np.int8)
        man_s = 0
    out = np.empty(T, np.float64)
    if model.addend == "two_stage":
        outf = float_format_arg(model.out_format, "out_format")
        KM.two_stage_dots(am, aE, acls, bm, bE, bcls, K, np.ascontiguousarray(ia, np.int64),
                          np.ascontiguousarray(ib, np.int64), np.ascontiguousarray(c, np.float64), out,
                          np.ascontiguousarray(flags_a), np.ascontiguousarray(flags_b),
                          fa.mantissa_bits + fb.mantissa_bits, model.terms, model.lanes, model.fraction_bits,
                          model.sum_bits, model.drop_small_c, c_format_of(model).emin, outf.emax + 1,
                          funnel_params(outf), rounding_mode_arg(model.rounding, "rounding"))
        return out
    min_exp = -(1 << 35) if model.min_exp is None else model.min_exp
    if G > 1:  # elements as integers in units of the format's smallest subnormal (exact group sums)
        afix = am << (aE - fa.emin).clip(0, 62)
        bfix = bm << (bE - fb.emin).clip(0, 62)
    else:
        afix = bfix = np.zeros(1, np.int64)
    KM.mma_dots(am, aE, acls, bm, bE, bcls, afix, bfix, K, np.ascontiguousarray(ia, np.int64),
                np.ascontiguousarray(ib, np.int64), np.ascontiguousarray(c, np.float64), out,
                np.ascontiguousarray(flags_a), np.ascontiguousarray(flags_b),
                fa.mantissa_bits + fb.mantissa_bits, fa.emin + fb.emin,
                scaled, sam, saE, scls, sbm, sbE, sbcls, nsb, model.scale_block, man_s,
                model.terms, G, model.fraction_bits, min_exp,
                (c_format_of(model) if k_off == 0 else float_format_arg(model.out_format, "out_format")).emin,
                float_format_arg(model.out_format, "out_format").emin,
                funnel_params(rf), rounding_mode_arg(model.rounding, "rounding"), model.overflow == "inf",
                model.plus_zero)
    return out


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


def _decode_table(fmt) -> np.ndarray:
    """float64 value of every code of an 8-bit (or narrower) format, indexed by code."""
    return np.asarray(decode(np.arange(1 << fmt.bits, dtype=np.uint8), fmt), np.float64)


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
