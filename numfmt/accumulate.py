"""Dot products and matrix products evaluated under an accumulation model.

[`dot`][numfmt.dot] and [`matmul`][numfmt.matmul] take float arrays whose values are exactly
representable in the model's input format(s) (or round them first when
`round_inputs=` names a rounding) and return what the modelled hardware
returns, bit for bit. Models and presets live in `numfmt.accum_models`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .accum_models import (
    Chunked,
    Exact,
    FusedBlock,
    Pairwise,
    Sequential,
    accumulation_model,
    accumulation_presets,
    float_format_arg,
    in_format_arg,
    rounding_mode_arg,
)
from .choices import did_you_mean
from .codec import decode_dtype, quantize, threads_arg
from .deprecation import deprecated, moved_name
from .engine import check_out, chunks, deliver
from .interop import as_numpy, real_array
from .mma_run import (
    block_operand,
    c_format_of,
    epilogue_alpha,
    is_block_of,
    prepare_scales,
    run_fma64,
    run_ftz_pairs,
    run_instruction,
    scaled_model,
    split_dots,
)
from .plan import funnel_params

__all__ = ["dot", "matmul"]

CHUNK = 1 << 16  # input elements (rows x K) that dot and matmul check, split and evaluate at a time


def as_model(model):
    if isinstance(model, (Exact, Sequential, Pairwise, FusedBlock, Chunked)):
        return model
    if isinstance(model, str) and ("/" in model or ":" in model):
        gpu, _, fmt = model.replace(":", "/").partition("/")
        return accumulation_model(gpu, fmt)
    if isinstance(model, tuple) and len(model) == 2 and all(isinstance(s, str) for s in model):
        return accumulation_model(*model)
    if isinstance(model, str):
        raise ValueError(f"model={model!r} is not a preset name 'gpu/format' (e.g. 'h100/e4m3'); "
                         f"numfmt.accumulation_presets() lists them{did_you_mean(model, preset_names())}")
    raise TypeError(
        "model must be an accumulation model (Exact, Sequential, Pairwise, FusedBlock, Chunked), "
        f"a preset name 'gpu/format' or a (gpu, format) tuple; got {model!r}"
    )


def preset_names() -> list[str]:
    """Every preset as `gpu/format`."""
    return ["/".join(p) for p in accumulation_presets()]


def _raw(x, name: str):
    """(`x` as a numpy array, the dtype its values are checked in): float64, or int64/uint64 when it
    holds an integer beyond 2**53 (which float64 may not hold: `_check_values` checks or rounds those
    exactly). The conversion is left to the caller, a piece at a time."""
    a = np.asarray(as_numpy(x, name))  # torch tensors (bfloat16, float8, requires_grad) too
    if a.dtype == object or a.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a real numeric array, got dtype {a.dtype}")
    if a.dtype.kind in "iu" and a.size and (int(a.max()) > 2**53 or int(a.min()) < -(2**53)):
        return a, np.dtype(np.uint64 if a.dtype.kind == "u" else np.int64)
    return a, np.dtype(np.float64)


def _as_float(x, name: str) -> np.ndarray:
    """`x` converted whole as `_raw` describes."""
    a, dt = _raw(x, name)
    return a.astype(dt)


def _int_values(x: np.ndarray, fmt, name: str, round_inputs) -> np.ndarray:
    """float64 values of the integers `x`: rounded exactly (no float64 step) when `round_inputs` is
    given, else checked to be exact in float64 (the input formats are no wider)."""
    if round_inputs is not None:
        return _rounded(x, fmt, round_inputs)
    f = x.astype(np.float64)
    if x.dtype.kind == "u":
        back = np.minimum(f, 2.0**64 - 2048).astype(np.uint64)  # the largest float64 below 2**64
    else:
        back = np.clip(f, -(2.0**63), 2.0**63 - 1024).astype(np.int64)
    _refuse_inexact(x, back != x, fmt, name, lambda v: f"the integer {int(v)}")
    return f


def _rounded(x: np.ndarray, fmt, round_inputs: str) -> np.ndarray:
    """`x` rounded into `fmt` (formats without infinities saturate), as float64."""
    sat = "none" if fmt.code_of_inf is not None else "finite"
    return np.asarray(quantize(x, fmt, rounding=round_inputs, saturation=sat, nan="raise"), np.float64)


def _refuse_inexact(x: np.ndarray, bad: np.ndarray, fmt, name: str, show) -> None:
    """A ValueError naming (through `show`) the first element of `x` where `bad` holds (not exact in `fmt`)."""
    if bad.any():
        raise ValueError(
            f"{name} holds {show(x[bad].ravel()[0])}, which is not exactly representable in {fmt.name} "
            f"(pass round_inputs='nearest_even' to round the inputs first)"
        )


def _check_values(x: np.ndarray, fmt, name: str, round_inputs) -> np.ndarray:
    """Values of `x` in `fmt` (float64): checked exact, or rounded when asked."""
    if x.dtype.kind in "iu":  # integers beyond 2**53 (see _as_float)
        x = _int_values(x, fmt, name, round_inputs)
        if round_inputs is not None:
            return x
    if fmt.bits == 64:  # binary64 holds every float64
        return x
    if round_inputs is not None:
        return _rounded(x, fmt, round_inputs)
    fin = np.isfinite(x)
    if fin.all():
        xf = x
    else:
        if np.isinf(x).any() and fmt.code_of_inf is None:
            raise ValueError(f"{name} holds an infinity, which {fmt.name} cannot represent")
        if np.isnan(x).any() and fmt.code_of_nan is None:
            raise ValueError(f"{name} holds a NaN, which {fmt.name} cannot represent")
        xf = x[fin]
    if xf.size and (xf.any() or not getattr(fmt, "has_zero", True)):  # (all zeros, c=0: exact with a zero code)
        if fmt.bits <= 8:  # a finite value is exact iff it is one of the format's (no kernel to compile)
            from .block.values import all_values  # lazy: the block package loads on block calls

            vals = all_values(fmt)
            inexact = ~np.isin(xf, vals[np.isfinite(vals)])
        elif _within_float32(fmt) and np.array_equal(x32 := xf.astype(np.float32), xf):  # float32 loops
            if fmt.name == "binary32":
                return x
            inexact = np.asarray(quantize(x32, fmt, rounding="nearest_even", saturation="none", nan="zero")) != x32
        else:
            q = np.asarray(quantize(xf, fmt, rounding="nearest_even", saturation="none", nan="zero"), np.float64)
            inexact = q != xf
        _refuse_inexact(xf, inexact, fmt, name, lambda v: repr(float(v)))
    return x


def _within_float32(fmt) -> bool:
    """Whether every finite value of the float format `fmt` is a float32."""
    return (getattr(fmt, "mantissa_bits", 99) <= 23 and getattr(fmt, "emax", 999) <= 127
            and getattr(fmt, "emin", -999) - fmt.mantissa_bits >= -149)


def _split(x: np.ndarray, fmt, ftz: bool = False):
    from ._kernels import accumulate as K_  # numba loads on first use, not at import

    flat = np.ascontiguousarray(x, np.float64).ravel()
    m = np.empty(flat.size, np.int64)
    E = np.empty(flat.size, np.int64)
    cls = np.empty(flat.size, np.int8)
    bad = K_.split_inputs(flat, fmt.mantissa_bits, fmt.emin, ftz, m, E, cls)
    if bad >= 0:  # pragma: no cover - _check_values catches it first
        raise ValueError(f"value {flat[bad]!r} is not representable in {fmt.name}")
    return m, E, cls



def _piece(raw: np.ndarray, dt, fmt, name: str, round_inputs, one_pass) -> np.ndarray:
    """The values of the piece `raw` of an operand (converted to `dt`) in `fmt`, checked or rounded.

    Every check is per element, so a piece fails only when the whole operand does; then `one_pass()`
    checks all the operands at once and raises the error one pass gives (the first operand, its
    first element)."""
    try:
        return _check_values(raw.astype(dt), fmt, name, round_inputs)
    except ValueError:
        one_pass()
        raise  # pragma: no cover - one_pass() raises: the piece's elements are among its elements


def _k_unit(model):
    """(unit, pow2): K of a long dot product may be cut at multiples of `unit` times m (m a power
    of two when `pow2`) and evaluated a piece at a time (`_KStream`) with the bits of one pass;
    None when it may not (a FusedBlock whose `k_order` permutes K).

    - `Sequential` (a chain of rounded steps from c), `Exact` (one rounding of the exact sum, the
      Kulisch accumulator carried between pieces; with `terms` = L a chain of exact blocks):
      any cut (multiples of L);
    - `FusedBlock` and instruction models: a chain of blocks, each result the next block's c:
      multiples of `terms` (and of the scale block);
    - `Pairwise`: the tree of a power-of-two piece aligned to its size is a subtree of the
      whole row's tree (see `_pair_tree` in numfmt._kernels.accumulate); with `terms`
      (groups of binary32 pairs) a chain: multiples of `terms` and `instruction_k`;
    - `Chunked`: the inner model starts from 0 every `every` elements; the partial sums are
      the outer model's products, fed to it a piece at a time: multiples of `every` times the
      outer model's unit.
    """
    if isinstance(model, Sequential):
        return 1, False
    if isinstance(model, Exact):
        return (model.terms or 1), False
    if isinstance(model, Pairwise):
        if model.terms is None:
            return 1, True
        return math.lcm(model.terms, model.instruction_k or 1), False
    if isinstance(model, FusedBlock):
        if model.k_order != "sequential":
            return None
        if model.scale_format is not None:
            return math.lcm(model.terms, model.scale_block), False
        return model.terms, False
    o = _k_unit(model.outer)
    return None if o is None else (model.every * o[0], o[1])


def _k_step(model, K: int) -> int:
    """Elements of K per piece of a long dot product (about CHUNK; K when it is no longer, or when
    the model cannot be cut: `_k_unit`)."""
    u = None if K <= CHUNK else _k_unit(model)
    if u is None:
        return max(K, 1)
    unit, pow2 = u
    m = max(1, CHUNK // unit)
    if pow2:
        m = 1 << (m.bit_length() - 1)
    return unit * m


def _spans(n: int, step: int) -> list[tuple[int, int]]:
    """[(start, stop)] covering range(n) in steps of `step` (one empty span when n = 0)."""
    return [(i, min(i + step, n)) for i in range(0, max(n, 1), step)]


def _acc_format(model):
    if isinstance(model, (Exact, FusedBlock)):
        return float_format_arg(model.out_format, "out_format")
    if isinstance(model, (Sequential, Pairwise)):
        return float_format_arg(model.acc_format, "acc_format")
    return _acc_format(model.outer)


def _in_formats(model):
    if isinstance(model, Chunked):
        return _in_formats(model.inner)
    if isinstance(model, (Sequential, Pairwise)):
        return in_format_arg(model.in_format, max_mant=model.max_input_bits())
    return in_format_arg(model.in_format)


def _k_perm(model, K: int):
    ko = model.k_order
    if ko == "sequential":
        return None
    if ko == "interleaved":
        nb = -(-K // model.terms)
        return np.array([i for j in range(nb) for i in range(j, K, nb)], np.int64)
    if len(ko) < K:
        raise ValueError(f"k_order has {len(ko)} entries but K = {K}")
    return np.asarray(ko, np.int64)  # longer than K: K is zero-padded to len(k_order) (see _run)


def _chunk_partials(model: Chunked, X, Y, ia, ib, scales=None, threads=1) -> np.ndarray:
    """(T, ceil(K / every)) partial sums of a Chunked model (each chunk's inner dot product from 0),
    checked to be values of the outer model's input format.

    The whole chunks are the rows of one call of the inner model (row r of X, chunk j is row
    r * nc + j of X reshaped to (R * nc, every)); a last, shorter chunk is a call of its own."""
    T = ia.size
    K = X.shape[1]
    n = model.every
    nc = max(-(-K // n), 1)
    full = K // n
    partial = np.empty((T, nc), np.float64)
    q = None if scales is None else n // scaled_model(model.inner).scale_block  # scales per chunk
    if full:
        j = np.arange(full, dtype=np.int64)
        sc = None
        if scales is not None:  # prepare_scales checked that `every` is a multiple of the scale block
            sc = tuple(np.ascontiguousarray(s[:, :full * q]).reshape(-1, q) for s in scales)
        vals = _run(model.inner, np.ascontiguousarray(X[:, :full * n]).reshape(-1, n),
                    np.ascontiguousarray(Y[:, :full * n]).reshape(-1, n), (ia[:, None] * full + j).ravel(),
                    (ib[:, None] * full + j).ravel(), np.zeros(T * full, np.float64), scales=sc,
                    threads=threads)
        partial[:, :full] = vals.reshape(T, full)
    if full < nc:  # the last chunk (K not a multiple of every; K = 0: one empty chunk)
        sc = None if scales is None else (scales[0][:, full * q:], scales[1][:, full * q:])
        partial[:, full] = _run(model.inner, X[:, full * n:], Y[:, full * n:], ia, ib, np.zeros(T, np.float64),
                                scales=sc, threads=threads)
    fa = _in_formats(model.outer)[0]
    try:
        _check_values(partial, fa, "partial sums", None)
    except ValueError as e:
        raise ValueError(
            f"inconsistent Chunked model: the inner model's results do not fit the outer model's "
            f"in_format ({e})"
        ) from None
    return partial


def _exact_window(model: Exact, K: int) -> tuple[int, int]:
    """(lo, L) of the Kulisch accumulator of an exact dot product of K terms: `lo` below the last
    bit of every product and of the rounded result's guard bits, L 32-bit digits (in int64 limbs)
    above it covering the sum of K products and c."""
    fa, fb = _in_formats(model)
    outf = float_format_arg(model.out_format, "out_format")
    lo = min(fa.emin - fa.mantissa_bits + fb.emin - fb.mantissa_bits, outf.emin - outf.mantissa_bits - 53)
    hi = max(fa.emax + fb.emax + 2, outf.emax + 1) + int(K + 1).bit_length() + 2
    return lo, (hi - lo) // 32 + 4


def _run(model, X, Y, ia, ib, c, round_inputs=None, scales=None, k_off=0, flags=None, threads=1, grid=False,
         ycache=None):
    """Evaluate `model` on rows X[ia[t]] . Y[ib[t]] + c[t]; float64 results (the kernels split t over
    `threads` threads; `grid`: ia, ib are the row-major grid of every row of X with every row of Y;
    `ycache`: a dict an instruction model keeps Y's split planes in, for calls with the same Y).

    X (R, K), Y (S, K) float64 already checked/rounded into the input formats;
    c (T,) already in the accumulator format. A piece of a longer K (`_KStream`): `k_off`
    is the index of its first element, c the result of the pieces before it, and a FusedBlock
    without instruction fields ORs its rows' product flags into `flags` (nan, pinf, ninf) instead
    of deciding a special value over the piece.
    """
    from ._kernels import accumulate as K_  # lazy: numba loads on the first kernel call

    T = ia.size
    K = X.shape[1]
    out = np.empty(T, np.float64)
    if isinstance(model, Chunked):
        partial = _chunk_partials(model, X, Y, ia, ib, scales, threads)
        return _run(model.outer, partial, np.ones((1, partial.shape[1]), np.float64), np.arange(T, dtype=np.int64),
                    np.zeros(T, np.int64), c, threads=threads)

    if isinstance(model, FusedBlock) and model.instruction_datapath:
        return run_instruction(model, X, Y, ia, ib, c, *(scales or (None, None)), threads=threads, grid=grid,
                               ycache=ycache, k_off=k_off)
    if isinstance(model, Pairwise) and model.terms is not None:
        return run_ftz_pairs(model, X, Y, ia, ib, c, k_off=k_off)
    if isinstance(model, Sequential) and max(f.mantissa_bits for f in _in_formats(model)) > 25:
        return run_fma64(X, Y, ia, ib, c)
    fa, fb = in_format_arg(model.in_format)
    if isinstance(model, FusedBlock):
        perm = _k_perm(model, K)
        if perm is not None:
            if perm.size > K:  # a k_order longer than K: the missing elements are zeros
                X = np.pad(X, ((0, 0), (0, perm.size - K)))
                Y = np.pad(Y, ((0, 0), (0, perm.size - K)))
                K = perm.size
            X = X[:, perm]
            Y = Y[:, perm]
    ftz = isinstance(model, FusedBlock) and model.flush_subnormal_inputs
    am, aE, acls = _split(X, fa, ftz)
    bm, bE, bcls = _split(Y, fb, ftz)
    man_ab = fa.mantissa_bits + fb.mantissa_bits
    ia = np.ascontiguousarray(ia, np.int64)
    ib = np.ascontiguousarray(ib, np.int64)
    c = np.ascontiguousarray(c, np.float64)
    if isinstance(model, (Sequential, Pairwise)):
        acc = float_format_arg(model.acc_format, "acc_format")
        pf = acc if model.product_format is None else float_format_arg(model.product_format, "product_format")
        av = np.ascontiguousarray(X, np.float64).ravel()
        bv = np.ascontiguousarray(Y, np.float64).ravel()
        head = (am, aE, acls, av, bm, bE, bcls, bv, K)
        mode_p = rounding_mode_arg(model.product_rounding, "product_rounding")
        mode_a = rounding_mode_arg(model.rounding, "rounding")
        if isinstance(model, Sequential):
            split_dots(K_.sequential_dots, head, ia, ib, c, out, (man_ab, model.product_format is None,
                       funnel_params(pf), mode_p, funnel_params(acc), mode_a), threads)
        else:
            split_dots(K_.pairwise_dots, head, ia, ib, c, out, (man_ab, funnel_params(pf), mode_p,
                       funnel_params(acc), mode_a), threads)
        return out
    flags_a = ~np.isfinite(X).all(axis=1) if K else np.zeros(X.shape[0], bool)
    flags_b = ~np.isfinite(Y).all(axis=1) if K else np.zeros(Y.shape[0], bool)
    if flags is not None:
        K_.special_flags(acls, am, bcls, bm, K, ia, ib, flags_a, flags_b, *flags)
    outf = float_format_arg(model.out_format, "out_format")
    if isinstance(model, Exact) and model.terms is not None and K > model.terms:
        L = model.terms  # a chain of exact blocks, each result the next block's c
        for k0 in range(0, K, L):
            c = _run(dataclasses.replace(model, terms=None), X[:, k0:k0 + L], Y[:, k0:k0 + L], ia, ib, c,
                     threads=threads)
        return c
    if isinstance(model, Exact):
        lo, L = _exact_window(model, K)
        split_dots(K_.exact_dots, (am, aE, acls, bm, bE, bcls, K), ia, ib, c, out,
                   (flags_a, flags_b, man_ab, lo, L, funnel_params(outf),
                    rounding_mode_arg(model.rounding, "rounding")), threads)
        if model.plus_zero:  # every product and c a zero: +0; exact cancellation and underflow keep their sign
            zero = out == 0
            if zero.any():
                t = np.flatnonzero(zero)
                exact0 = ~((X[ia[t]] * Y[ib[t]]) != 0).any(axis=1) & (c[t] == 0)
                out[t[exact0]] = 0.0
        return out
    # FusedBlock
    try:
        rf = model.result_format()
    except ValueError as e:  # (result_bits narrowing binary64 to a width no format has)
        raise ValueError(f"FusedBlock with out_format={outf.name!r} and result_bits={model.result_bits} "
                         f"cannot round its blocks: {e}") from None
    min_exp = -(1 << 35) if model.min_exp is None else model.min_exp
    split_dots(K_.fused_dots, (am, aE, acls, bm, bE, bcls, K), ia, ib, c, out,
               (flags_a, flags_b, man_ab, model.terms, model.fraction_bits, model.sticky,
                model.normalized_products, min_exp, outf.emin, model.addend == "late", funnel_params(rf),
                rounding_mode_arg(model.rounding, "rounding"), funnel_params(outf),
                rounding_mode_arg(model.late_rounding, "late_rounding"), model.overflow == "inf"), threads)
    return out


class _KStream:
    """One model evaluated over K a piece at a time (`feed` each piece in order, then `result`),
    giving the bits of one pass (`_k_unit` says where K may be cut):

    - chains (Sequential, Exact with terms, instructions, FusedBlock, Pairwise with terms): the
      running result is the next piece's c; a FusedBlock without instruction fields decides
      NaN and infinities over the whole row, so the rows' product flags are gathered and the
      rule applied at the end (`special_result`);
    - Pairwise: the tree of each piece, then the tree over the pieces and + c;
    - Exact: the Kulisch accumulators of the rows carried from piece to piece, rounded once;
    - Chunked: each piece's partial sums fed to a stream of the outer model.

    `multi` False: one piece (the whole of K), evaluated by `_run` as it is.
    """

    def __init__(self, model, c: np.ndarray, K: int, multi: bool, threads: int = 1, grid: bool = False,
                 ycache: dict | None = None):
        self.model, self.c, self.K, self.multi = model, c, K, multi
        self.threads, self.grid, self.ycache = threads, grid, ycache
        self.acc = c
        self.parts: list = []
        self.flags = None
        self.state = None
        if not multi:
            return
        T = c.size
        exact = isinstance(model, Exact) and model.terms is None
        if isinstance(model, Chunked):
            self.outer = _KStream(model.outer, c, -(-K // model.every), True, threads)
        elif exact or (isinstance(model, FusedBlock) and not model.instruction_datapath):
            self.flags = tuple(np.zeros(T, bool) for _ in range(3))  # the rows' NaN, +inf, -inf products
        if exact:
            lo, L = _exact_window(model, K)
            self.state = (lo, L, np.zeros((T, L), np.int64), np.ones((T, 2), bool), np.zeros(T, bool))

    def feed(self, X, Y, ia, ib, scales, k_off: int) -> None:
        m = self.model
        if not self.multi:
            self.acc = _run(m, X, Y, ia, ib, self.c, scales=scales, threads=self.threads, grid=self.grid,
                            ycache=self.ycache)
            return
        if isinstance(m, Chunked):
            part = _chunk_partials(m, X, Y, ia, ib, scales, self.threads)
            T = ia.size
            self.outer.feed(part, np.ones((1, part.shape[1]), np.float64), np.arange(T, dtype=np.int64),
                            np.zeros(T, np.int64), None, k_off // m.every)
            return
        if isinstance(m, Pairwise) and m.terms is None:
            self.parts.append(self._pairwise_part(X, Y, ia, ib))
            return
        if self.state is not None:
            self._exact_part(X, Y, ia, ib)
            return
        self.acc = _run(m, X, Y, ia, ib, self.acc, scales=scales, k_off=k_off, flags=self.flags,
                        threads=self.threads, grid=self.grid)

    def result(self) -> np.ndarray:
        from ._kernels import accumulate as K_  # lazy: numba loads on the first kernel call

        m = self.model
        if not self.multi:
            return self.acc
        if isinstance(m, Chunked):
            return self.outer.result()
        if isinstance(m, Pairwise) and m.terms is None:
            acc = float_format_arg(m.acc_format, "acc_format")
            out = np.empty(self.c.size, np.float64)
            K_.pairwise_finish(np.ascontiguousarray(np.stack(self.parts, axis=1)), self.c, out, funnel_params(acc),
                               rounding_mode_arg(m.rounding, "rounding"))
            return out
        out = self.acc
        if self.state is not None:
            lo, L, bufs, zsign, nonzero = self.state
            outf = float_format_arg(m.out_format, "out_format")
            out = np.empty(self.c.size, np.float64)
            K_.exact_finish(self.c, bufs, zsign, out, lo, L, funnel_params(outf),
                            rounding_mode_arg(m.rounding, "rounding"))
            if m.plus_zero:  # every product and c a zero: +0 (as _run)
                out[(out == 0) & ~nonzero & (self.c == 0)] = 0.0
        if self.flags is not None:  # the NaN / infinity rule of the whole row and c (`special_result`)
            c = self.c
            nan = self.flags[0] | np.isnan(c)
            pinf = self.flags[1] | (c == np.inf)
            ninf = self.flags[2] | (c == -np.inf)
            sp = nan | pinf | ninf
            if sp.any():
                out = out.copy()
                out[sp] = np.where((nan | (pinf & ninf))[sp], np.nan, np.where(pinf[sp], np.inf, -np.inf))
        return out

    def _pairwise_part(self, X, Y, ia, ib) -> np.ndarray:
        from ._kernels import accumulate as K_  # lazy: numba loads on the first kernel call

        m = self.model
        fa, fb = _in_formats(m)
        am, aE, acls = _split(X, fa)
        bm, bE, bcls = _split(Y, fb)
        acc = float_format_arg(m.acc_format, "acc_format")
        pf = acc if m.product_format is None else float_format_arg(m.product_format, "product_format")
        out = np.empty(ia.size, np.float64)
        K_.pairwise_parts(am, aE, acls, np.ascontiguousarray(X, np.float64).ravel(), bm, bE, bcls,
                          np.ascontiguousarray(Y, np.float64).ravel(), X.shape[1],
                          np.ascontiguousarray(ia, np.int64), np.ascontiguousarray(ib, np.int64), out,
                          fa.mantissa_bits + fb.mantissa_bits, funnel_params(pf),
                          rounding_mode_arg(m.product_rounding, "product_rounding"), funnel_params(acc),
                          rounding_mode_arg(m.rounding, "rounding"))
        return out

    def _exact_part(self, X, Y, ia, ib) -> None:
        from ._kernels import accumulate as K_  # lazy: numba loads on the first kernel call

        fa, fb = _in_formats(self.model)
        am, aE, acls = _split(X, fa)
        bm, bE, bcls = _split(Y, fb)
        ia = np.ascontiguousarray(ia, np.int64)
        ib = np.ascontiguousarray(ib, np.int64)
        K = X.shape[1]
        lo, _L, bufs, zsign, nonzero = self.state
        K_.exact_parts(am, aE, acls, bm, bE, bcls, K, ia, ib, fa.mantissa_bits + fb.mantissa_bits, lo, bufs, zsign)
        flags_a = ~np.isfinite(X).all(axis=1)
        flags_b = ~np.isfinite(Y).all(axis=1)
        K_.special_flags(acls, am, bcls, bm, K, ia, ib, flags_a, flags_b, *self.flags)
        if self.model.plus_zero:
            with np.errstate(invalid="ignore", over="ignore"):
                nonzero |= ((X[ia] * Y[ib]) != 0).any(axis=1)


def _prepare(model, X, Y, c, round_inputs, names=("A", "B", "c")):
    if round_inputs is not None:
        rounding_mode_arg(round_inputs, "round_inputs")
    fa, fb = _in_formats(model)
    X = _check_values(X, fa, names[0], round_inputs)
    Y = _check_values(Y, fb, names[1], round_inputs)
    c = _check_values(c, _c_format(model), names[2], round_inputs)
    return X, Y, c


def _c_format(model):
    """The format of the addend c (an instruction's `c_format`, else the accumulator format)."""
    if isinstance(model, FusedBlock):
        return c_format_of(model)
    return _acc_format(model)


def _result_dtype(model, shape, dtype, out) -> np.dtype:
    """The result dtype (default float32 when the accumulator format fits it), `out=` checked against it."""
    dt = decode_dtype(_acc_format(model), dtype)
    check_out(out, shape, dt)
    return dt


def _result(vals: np.ndarray, shape, dt, out):
    """The float64 results `vals` in `dt`: a scalar when 0-d, or written into `out=`."""
    return deliver(vals.reshape(shape).astype(dt), out)


def matmul(A, B, C=None, *, model, c=None, a_scales=None, b_scales=None, round_inputs: str | None = None,
           dtype=None, threads: int | None = None, out=None) -> np.ndarray:
    """`D = c + A @ B` evaluated under `model`, one dot product per element.

    Parameters
    ----------
    A : array_like or BlockArray, shape (M, K)
    B : array_like or BlockArray, shape (K, N)
        Values exactly representable in the model's input format(s). With a
        block-scaled instruction model, a `BlockArray` from
        `numfmt.encode(x, "mxfp4" | "nvfp4" | "mxfp8_e4m3" | ..., axis=...)` blocked
        along K (A: axis=1, B: axis=0) supplies its elements and scales; its
        tensor scale (NVFP4) is not an instruction operand: the product of the two
        tensor scales, rounded to float32, multiplies the result in one float32
        multiplication (the GEMM epilogue's alpha, as cuBLAS and TransformerEngine
        apply it; c, the accumulator's initial value, is multiplied by it too).
    C : array_like, optional
        Deprecated: the addend given by position; pass `c=`.
    model : model, preset name `"h100/e4m3"` or tuple `("h100", "e4m3")`
        Or an instruction model from [`numfmt.mma_model`][numfmt.mma_model]: K is
        consumed as the hardware issues the instruction (a chain of instructions,
        each result fed back as the next one's c; see docs/instructions.md).
    c : array_like, optional
        Addend, broadcast to (M, N); values in the model's accumulator format
        (an instruction's c type; default +0), as in `dot`.
    a_scales, b_scales : array_like, optional
        Block scales of a block-scaled instruction model (`scale_format` set):
        `a_scales` (M, K / block) and `b_scales` (K / block, N), values of the
        scale format (E8M0 powers of two, UE4M3 values; NaN where the format has
        it). Applied inside the dot product as the instruction does (scale
        exponents added to the product exponents before alignment). K must be a
        multiple of the block.
    round_inputs : str, optional
        A rounding name: round A, B (to the input format, saturating formats
        without infinities) and c (to the accumulator format) first instead of
        rejecting values that are not representable.
    dtype : numpy dtype, optional
        Float dtype of the result; it must hold every value of the accumulator
        format exactly.
    threads : int, optional
        Worker threads (default 1) the dot products are split over (pieces of
        rows of D); the results are the same for every value.
    out : numpy.ndarray, optional
        Destination of the result (shape (M, N), the result's dtype); checked before anything runs.

    Returns
    -------
    numpy.ndarray, shape (M, N)
        `dtype`; by default float32 when the accumulator format fits float32, else float64.

    Examples
    --------
    >>> import numpy as np, numfmt
    >>> A = np.array([[448.0] + [2.0**-6] * 15])
    >>> numfmt.matmul(A, np.ones((16, 1)), model="h100/e4m3")  # small products truncated away
    array([[448.]], dtype=float32)
    >>> numfmt.matmul(A, np.ones((16, 1)), model=numfmt.Exact("fp32", in_format="e4m3"))
    array([[448.23438]], dtype=float32)
    """
    if C is not None:
        if c is not None:
            raise TypeError("matmul got the addend twice (C by position and c=); pass only c=")
        deprecated("matmul(A, B, C): the positional addend is deprecated; pass c=C as dot does")
        c = C
    model = as_model(model)
    nthreads = threads_arg(threads)
    a_block = is_block_of(A, _in_formats(model)[0])  # values decoded from codes of the input format
    b_block = is_block_of(B, _in_formats(model)[1])
    A, a_scales, ts_a = block_operand(A, a_scales, "A", "a_scales", 1, model)
    B, b_scales, ts_b = block_operand(B, b_scales, "B", "b_scales", 0, model)
    alpha = epilogue_alpha(ts_a, ts_b)
    Araw, adt = _raw(A, "A")
    Braw, bdt = _raw(B, "B")
    if Araw.ndim != 2 or Braw.ndim != 2:
        raise ValueError(f"A and B must be 2-D, got shapes {Araw.shape} and {Braw.shape}")
    M, K = Araw.shape
    if Braw.shape[0] != K:
        raise ValueError(f"inner dimensions disagree: A is {Araw.shape}, B is {Braw.shape}")
    N = Braw.shape[1]
    Craw, cdt = (np.zeros((M, N)), np.dtype(np.float64)) if c is None else _raw(c, "c")
    try:
        Craw = np.broadcast_to(Craw, (M, N))
    except ValueError:
        raise ValueError(f"c of shape {Craw.shape} does not broadcast to {(M, N)}") from None
    dt = _result_dtype(model, (M, N), dtype, out)
    if round_inputs is not None:
        rounding_mode_arg(round_inputs, "round_inputs")
    fa, fb = _in_formats(model)
    fc = _c_format(model)

    def one_pass():
        _prepare(model, Araw.astype(adt), Braw.astype(bdt), Craw.astype(cdt), round_inputs)

    try:
        scales = prepare_scales(model, a_scales, b_scales, K, (M,), (N,), b_by_columns=True)
    except ValueError:
        one_pass()  # the values are checked first
        raise
    # Each element of D depends on its row of A and column of B only: tiles of rows of A and columns
    # of B of about CHUNK elements each, and pieces of K (`_k_step`, `_KStream`).
    step = max(1, CHUNK // max(K, 1))
    cols = _spans(N, step)
    ks = _spans(K, _k_step(model, K))
    sb = None if scales is None else scaled_model(model).scale_block
    keep_b = len(cols) == 1 and len(ks) == 1  # B is one piece: checked and split once
    rows = _spans(M, step)
    Yk = None
    if keep_b:
        Yk = np.ascontiguousarray((Braw if b_block else _piece(Braw, bdt, fb, "B", round_inputs, one_pass)).T)
        if nthreads > 1:  # the threads take row tiles (each checks and splits its rows of A)
            rows = _spans(M, max(1, -(-M // (4 * nthreads))))
    ycache: dict | None = {} if keep_b else None  # B's split planes, kept for the row tiles
    vals = np.empty((M, N))
    tile_threads = 1 if keep_b else nthreads  # threads over row tiles, else inside each kernel call

    def tile(i0, i1):
        for j0, j1 in cols:
            m, n = i1 - i0, j1 - j0
            ia = np.repeat(np.arange(m, dtype=np.int64), n)
            ib = np.tile(np.arange(n, dtype=np.int64), m)
            acc = np.ascontiguousarray(_piece(Craw[i0:i1, j0:j1], cdt, fc, "c", round_inputs, one_pass)).ravel()
            st = _KStream(model, acc, K, len(ks) > 1, threads=tile_threads, grid=True, ycache=ycache)
            for k0, k1 in ks:
                X = np.ascontiguousarray(Araw[i0:i1, k0:k1] if a_block else
                                         _piece(Araw[i0:i1, k0:k1], adt, fa, "A", round_inputs, one_pass))
                Y = Yk if keep_b else np.ascontiguousarray(
                    (Braw[k0:k1, j0:j1] if b_block else
                     _piece(Braw[k0:k1, j0:j1], bdt, fb, "B", round_inputs, one_pass)).T)
                sc = None if scales is None else (scales[0][i0:i1, k0 // sb:k1 // sb],
                                                  scales[1][j0:j1, k0 // sb:k1 // sb])
                st.feed(X, Y, ia, ib, sc, k0)
            vals[i0:i1, j0:j1] = st.result().reshape(m, n)

    if keep_b and nthreads > 1 and len(rows) > 1:
        tile(0, 0)  # no rows: fills ycache with B's planes before the threads read it
        chunks(len(rows), nthreads, min_n=2)(lambda lo, hi: [tile(*r) for r in rows[lo:hi]])
    else:
        for r in rows:
            tile(*r)
    vals = vals.ravel()
    if alpha is not None:  # the epilogue: one float32 multiply by the tensor scales' product
        vals = (vals.astype(np.float32) * alpha).astype(np.float64)
    return _result(vals, (M, N), dt, out)


def dot(a, b, *, model, c=None, a_scales=None, b_scales=None, round_inputs: str | None = None, dtype=None,
        threads: int | None = None, out=None):
    """`d = c + sum_k a[..., k] * b[..., k]` under `model` (batched over leading axes).

    Parameters
    ----------
    a, b : array_like, shape (..., K)
        Broadcast against each other; values in the model's input format(s).
    model : model, preset name `"h100/e4m3"` or tuple `("h100", "e4m3")`
    c : array_like, optional
        Addend broadcast to the batch shape (default +0).
    a_scales, b_scales : array_like, shape (..., K / block), optional
        Block scales of a block-scaled instruction model (see [`matmul`][numfmt.matmul]),
        broadcast to the batch shape.
    round_inputs : str, optional
        Round the inputs first (see [`matmul`][numfmt.matmul]).
    dtype : numpy dtype, optional
        Float dtype of the result (see [`matmul`][numfmt.matmul]).
    threads : int, optional
        Worker threads (default 1) the dot products are split over; the results
        are the same for every value.
    out : numpy.ndarray, optional
        Destination of the result (the batch shape, the result's dtype); not for vectors (0-d result).

    Returns
    -------
    numpy.ndarray or numpy scalar
        Shape `broadcast(a, b).shape[:-1]`; a numpy scalar for vectors.

    Examples
    --------
    >>> import numfmt
    >>> m = numfmt.accumulation_model("v100", "fp16")
    >>> numfmt.dot([1.0], [1.0], c=-(1 - 2.0**-24), model=m).item() == 2.0**-23   # no guard bit
    True
    """
    model = as_model(model)
    nthreads = threads_arg(threads)
    araw, adt = _raw(a, "a")
    braw, bdt = _raw(b, "b")
    if araw.ndim == 0 or braw.ndim == 0:
        raise ValueError("a and b must have at least one axis (the K axis)")
    if araw.shape[-1] != braw.shape[-1]:
        raise ValueError(f"inner dimensions disagree: a has K={araw.shape[-1]}, b has K={braw.shape[-1]}")
    try:
        batch = np.broadcast_shapes(araw.shape[:-1], braw.shape[:-1])
    except ValueError:
        raise ValueError(f"a of shape {araw.shape} and b of shape {braw.shape} do not broadcast") from None
    K = araw.shape[-1]
    T = int(np.prod(batch, dtype=np.int64))
    araw = np.broadcast_to(araw, batch + (K,)).reshape(T, K)
    braw = np.broadcast_to(braw, batch + (K,)).reshape(T, K)
    craw, cdt = (np.zeros(batch), np.dtype(np.float64)) if c is None else _raw(c, "c")
    try:
        craw = np.broadcast_to(craw, batch).ravel()
    except ValueError:
        raise ValueError(f"c of shape {np.shape(craw)} does not broadcast to {batch}") from None
    dt = _result_dtype(model, batch, dtype, out)
    if round_inputs is not None:
        rounding_mode_arg(round_inputs, "round_inputs")
    fa, fb = _in_formats(model)
    fc = _c_format(model)

    def one_pass():
        _prepare(model, araw.astype(adt), braw.astype(bdt), craw.astype(cdt), round_inputs, ("a", "b", "c"))

    try:
        scales = _dot_scales(model, a_scales, b_scales, batch, T, K)
    except ValueError:
        one_pass()  # the values are checked first
        raise
    # rows of about CHUNK elements; pieces of K (`_k_step`) evaluated one after the other (`_KStream`)
    ks = _spans(K, _k_step(model, K))
    sb = None if scales is None else scaled_model(model).scale_block
    vals = np.empty(T)
    for t0, t1 in _spans(T, max(1, CHUNK // max(K, 1))):
        idx = np.arange(t1 - t0, dtype=np.int64)
        acc = np.ascontiguousarray(_piece(craw[t0:t1], cdt, fc, "c", round_inputs, one_pass))
        st = _KStream(model, acc, K, len(ks) > 1, threads=nthreads)
        for k0, k1 in ks:
            x = np.ascontiguousarray(_piece(araw[t0:t1, k0:k1], adt, fa, "a", round_inputs, one_pass))
            y = np.ascontiguousarray(_piece(braw[t0:t1, k0:k1], bdt, fb, "b", round_inputs, one_pass))
            sc = None if scales is None else (scales[0][t0:t1, k0 // sb:k1 // sb], scales[1][t0:t1, k0 // sb:k1 // sb])
            st.feed(x, y, idx, idx, sc, k0)
        vals[t0:t1] = st.result()
    return _result(vals, batch, dt, out)



def _dot_scales(model, a_scales, b_scales, batch, T: int, K: int):
    """`dot`'s block scales broadcast to the batch and checked (`prepare_scales`)."""
    if a_scales is None and b_scales is None:
        return prepare_scales(model, None, None, K, (T,), (T,), k_names=("a", "b"))
    sa, sb = (None if s is None else real_array(s, n) for s, n in ((a_scales, "a_scales"), (b_scales, "b_scales")))
    try:
        sa, sb = (None if s is None else np.broadcast_to(s, batch + s.shape[-1:]).reshape(T, s.shape[-1])
                  for s in (sa, sb))
    except ValueError:
        raise ValueError(f"a_scales of shape {np.shape(a_scales)} and b_scales of shape {np.shape(b_scales)} "
                         f"must broadcast to the batch shape {batch} plus one scale per block") from None
    return prepare_scales(model, sa, sb, K, (T,), (T,), k_names=("a", "b"))


def __getattr__(name: str):
    """Deprecated aliases of names that moved."""
    return moved_name(__name__, name, {"bench_matmul": "numfmt.bench.bench_matmul"})
