"""`identify_matmul`: search accumulation models for the one that reproduces a GEMM's output."""

from __future__ import annotations

import itertools

import numpy as np

from ..accum_models import (
    Chunked,
    Exact,
    FusedBlock,
    Pairwise,
    Sequential,
    accumulation_model,
    accumulation_presets,
    in_format_arg,
)
from ..accumulate import as_model, matmul
from ..codec import quantize
from ..compare import compare
from ..interop import as_numpy
from ..mma import mma_instructions, mma_model
from ..presets import get_format
from ._conv import ROUNDINGS, check_max_results
from ._result import Identification

__all__ = ["ACC_FORMATS", "CHUNKS", "OUTER_ROUNDINGS", "matmul_candidates", "instruction_candidates",
           "identify_matmul", "describe_model"]

ACC_FORMATS = ("fp32", "fp16", "bf16", "tf32")
CHUNKS = (128, 256, 64, 32)
OUTER_ROUNDINGS = ("nearest_even", "toward_zero")  # the promoted partial sums' rounding (CUDA cores: RNE)
IN_FORMATS = ("e4m3", "e5m2", "fp16", "bf16", "tf32")
SAMPLE = 16  # rows of A and columns of B of the first sample (then 64 x 64, then all)
CONFIRM = 12  # models confirmed on every element during the search, at most
TOP_CONFIRM = 3  # best results confirmed on every element (the others keep their sample fraction)
KEEP = 1 << 22  # outputs of at most this many elements are kept for the residual classes


def _holds(values: np.ndarray, fmt: str) -> bool:
    fin = values[np.isfinite(values)]
    try:
        q = np.asarray(quantize(fin, fmt, nan="zero"), np.float64)
    except ValueError:
        return False
    return bool(np.array_equal(q, fin))


def _presets(in_fmts, out_formats):
    out = []
    for g, f in sorted(accumulation_presets(), key=lambda p: in_fmts.index(p[1]) if p[1] in in_fmts else 99):
        if f in in_fmts:
            for o in out_formats:
                try:
                    name = f"{g}/{f}" + ("" if o == "fp32" else f" (out {o})")
                    out.append((name, accumulation_model(g, f, out_format=o)))
                except ValueError:
                    pass
    seen, uniq = set(), []
    for name, m in out:  # (h200 and l40s repeat h100 and ada: keep the first name)
        if m not in seen:
            seen.add(m)
            uniq.append((name, m))
    return uniq


def instruction_candidates(A, B, *, out_dtype=np.float32) -> list:
    """The unscaled matrix-instruction models (`numfmt.mma_model` of every family in
    `numfmt.mma_instructions()`) whose input formats hold A and B exactly and whose output has
    `out_dtype`'s width, one per distinct model, in the order of `mma_instructions()`."""
    Af = np.asarray(as_numpy(A, "A"), np.float64)
    Bf = np.asarray(as_numpy(B, "B"), np.float64)
    bits = 16 if np.dtype(out_dtype) == np.float16 else 32
    holds: dict = {}
    out, seen = [], set()
    for arch, ins in mma_instructions():
        m = mma_model(arch, ins)
        if getattr(m, "scale_format", None) is not None or m in seen:
            continue
        out_fmt = getattr(m, "out_format", None) or getattr(m, "acc_format", None)
        if out_fmt is None or get_format(out_fmt).bits != bits:
            continue
        fa, fb = in_format_arg(m.in_format)
        for f, v in ((fa, Af), (fb, Bf)):
            if (f.name, id(v)) not in holds:
                holds[(f.name, id(v))] = _holds(v.ravel(), f.name)
        if holds[(fa.name, id(Af))] and holds[(fb.name, id(Bf))]:
            seen.add(m)
            out.append(m)
    return out


def matmul_candidates(A, B, *, out_dtype=np.float32, fused_grid: bool = True):
    """The default search space of `identify_matmul`: a list of accumulation models, likeliest first.

    1. every GPU preset (`accumulation_presets`) whose input format holds A and B exactly, with
       binary32 output and then with binary16 output (only these for a float16 `out_dtype`),
       then every unscaled matrix-instruction model that holds them (`instruction_candidates`);
    2. `Exact(out, rounding)` and `Sequential(acc, rounding)` for each accumulator format of
       `ACC_FORMATS` and each deterministic rounding (`Pairwise` models are slow to evaluate and
       left to `candidates=`);
    3. `Chunked(inner, Sequential(out, r), every)` for each preset or Sequential inner model, with
       `out` the output format ("fp32", or "fp16" for a float16 `out_dtype`), each rounding r of
       `OUTER_ROUNDINGS` for the outer sum and each chunk length of `CHUNKS` shorter than K;
    4. (`fused_grid`) `FusedBlock` over block length (2..64 terms), fraction bits kept after
       alignment (`extra_bits` -12..3), block rounding (toward_zero, nearest_even), normalised
       products and the addend's placement (aligned, late), for one input format only: the first
       of `IN_FORMATS` that holds A and B exactly.

    Other models are added by passing `candidates=matmul_candidates(A, B) + [more...]` to
    `identify_matmul`.

    Examples
    --------
    >>> import numpy as np
    >>> from numfmt.identify._matmul import describe_model, matmul_candidates
    >>> ms = matmul_candidates(np.ones((2, 4)), np.ones((4, 2)), fused_grid=False)
    >>> describe_model(ms[0]), len(ms) > 100
    ('the ada/e4m3 preset', True)
    """
    Af = np.asarray(as_numpy(A, "A"), np.float64)
    Bf = np.asarray(as_numpy(B, "B"), np.float64)
    vals = np.concatenate([Af.ravel(), Bf.ravel()])
    in_fmts = [f for f in IN_FORMATS if _holds(vals, f)]
    f16 = np.dtype(out_dtype) == np.float16
    presets = [m for _, m in _presets(in_fmts, ("fp16",) if f16 else ("fp32",))]
    presets += [m for _, m in _presets(in_fmts, ("fp16",))] if not f16 else []  # (matmul gives float32 for both)
    known = set(presets)
    presets += [m for m in instruction_candidates(Af, Bf, out_dtype=out_dtype) if m not in known]
    outs = ("fp16",) if f16 else ("fp32",)
    accs = ("fp16",) if f16 else ACC_FORMATS
    simple = [Exact(o, r) for o in outs for r in ROUNDINGS]
    seq = [Sequential(a, r) for a in accs for r in ROUNDINGS]
    simple += seq
    K = Af.shape[1] if Af.ndim == 2 else 0
    everies = [e for e in CHUNKS if e < K] or [min(CHUNKS)]  # (one chunk holding all of K: inner + outer)
    chunked = [Chunked(inner, Sequential(outs[0], r), every) for r in OUTER_ROUNDINGS for every in everies
               for inner in presets + seq]
    cands = presets + simple + chunked
    if fused_grid:
        for f in in_fmts[:1]:
            for terms, eb, rnd, norm, addend in itertools.product((2, 4, 8, 16, 32, 64), range(-12, 4),
                                                                  ("toward_zero", "nearest_even"), (False, True),
                                                                  ("aligned", "late")):
                try:
                    cands.append(FusedBlock(in_format=f, terms=terms, extra_bits=eb, rounding=rnd,
                                            normalized_products=norm, addend=addend, out_format=outs[0]))
                except ValueError:
                    pass
    return cands


def describe_model(m) -> str:
    """One line for a model: the preset's name when it is one."""
    for g, f in accumulation_presets():
        for o in ("fp32", "fp16"):
            try:
                if accumulation_model(g, f, out_format=o) == m:
                    return f"the {g}/{f} preset" + ("" if o == "fp32" else " with binary16 output")
            except ValueError:
                pass
    if isinstance(m, Chunked):
        return f"Chunked(every={m.every}): inner {describe_model(m.inner)}, outer {describe_model(m.outer)}"
    if isinstance(m, (Sequential, Pairwise, Exact)):
        fmtname = m.out_format if isinstance(m, Exact) else m.acc_format
        return f"{type(m).__name__}({fmtname!r}, {m.rounding!r})"
    return repr(m)


def _same(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    g, w = got.astype(np.float64), want.astype(np.float64)
    return ((g == w) & (np.signbit(g) == np.signbit(w))) | (np.isnan(g) & np.isnan(w))


def _run(model, A, B, c):
    try:
        return matmul(A, B, model=model, c=c)
    except (ValueError, TypeError):
        return None


def identify_matmul(A, B, actual, *, c=None, candidates=None, max_results: int = 5):
    """Search for the accumulation model under which `c + A @ B` gives `actual` bit for bit.

    Parameters
    ----------
    A : array_like, shape (M, K)
    B : array_like, shape (K, N)
    actual : array_like, shape (M, N)
        The GEMM's output (float32, or float16 for a binary16-output GEMM).
    c : array_like, optional
        The addend it was given (broadcast to (M, N)).
    candidates : list of models, optional
        The space to search, likeliest first (default `matmul_candidates(A, B)`).
    max_results : int
        How many results to return.

    Returns
    -------
    tuple of Identification
        Best first; `rule` is the model (pass it as `model=` to `numfmt.matmul`), `apply(A, B, c=None)`
        evaluates it. Candidates are run on a 16 x 16 sample of the output, then 64 x 64, then all;
        the search stops at the first model reproducing every element. The three best results are
        confirmed on every element; the others keep the fraction of the sample (`confirmed` False).

    Examples
    --------
    >>> import numpy as np, numfmt
    >>> rng = np.random.default_rng(1)
    >>> A = numfmt.quantize(rng.standard_normal((8, 64)), "fp16")
    >>> B = numfmt.quantize(rng.standard_normal((64, 8)), "fp16")
    >>> D = numfmt.matmul(A, B, model=numfmt.Sequential("fp32", "toward_zero"))
    >>> best = numfmt.identify_matmul(A, B, D)[0]
    >>> best.fraction, bool((best.apply(A, B) == D).all())
    (1.0, True)
    """
    check_max_results(max_results)
    Af = np.asarray(as_numpy(A, "A"), np.float64)
    Bf = np.asarray(as_numpy(B, "B"), np.float64)
    act = np.asarray(as_numpy(actual, "actual"))
    if Af.ndim != 2 or Bf.ndim != 2 or Af.shape[1] != Bf.shape[0]:
        raise ValueError(f"A and B must be (M, K) and (K, N), got shapes {Af.shape} and {Bf.shape}")
    if act.shape != (Af.shape[0], Bf.shape[1]):
        raise ValueError(f"actual has shape {act.shape}, expected {(Af.shape[0], Bf.shape[1])}")
    if act.dtype.kind != "f":
        raise TypeError(f"actual must hold float values, got dtype {act.dtype}")
    if c is None:
        cf = np.zeros(act.shape)
    else:
        c_arr = np.asarray(as_numpy(c, "c"), np.float64)
        try:
            cf = np.broadcast_to(c_arr, act.shape)
        except ValueError:
            raise ValueError(f"c has shape {c_arr.shape}, which does not broadcast to the output's "
                             f"{act.shape}") from None
    cands = matmul_candidates(Af, Bf, out_dtype=act.dtype) if candidates is None else _check_models(candidates)
    M, N = act.shape
    stages = []
    for s in (SAMPLE, 4 * SAMPLE):
        if M > s or N > s:
            ri = np.linspace(0, M - 1, min(M, s)).astype(np.int64)
            ci = np.linspace(0, N - 1, min(N, s)).astype(np.int64)
            stages.append((ri, ci))
    total = act.size

    failed: set = set()
    outs: dict = {}  # order -> full output of a model run on everything (kept for the residual classes)

    def score(model, stage, order=None):
        if stage is None:
            got = _run(model, Af, Bf, cf)
            if got is None:  # runs on the sample, raises on the whole input
                failed.add(order)
                return None, total
            if order is not None and got.size <= KEEP:
                outs[order] = got
            return int(_same(got, act).sum()), total
        ri, ci = stage
        got = _run(model, Af[ri], Bf[:, ci], cf[np.ix_(ri, ci)])
        return None if got is None else int(_same(got, act[np.ix_(ri, ci)]).sum()), ri.size * ci.size

    first = stages[0] if stages else None
    scored, confirmed = [], {}
    for order, model in enumerate(cands):
        m, size = score(model, first, order)
        if m is None:
            continue
        scored.append((m / size, -order, model, m, size))
        if m == size and len(confirmed) < CONFIRM:
            ok = True
            for st in stages[1:]:
                mm, ss = score(model, st)
                if mm != ss:
                    ok = False
                    break
            if ok or first is None:
                full = m if first is None else score(model, None, order)[0]
                if full is not None:
                    confirmed[order] = full
                    if full == total:
                        break
    scored.sort(key=lambda t: (t[0], t[1]), reverse=True)
    results = []
    for k, (_frac, neg, model, m, size) in enumerate(scored[:max_results]):
        order = -neg
        if order not in confirmed and order not in failed and k < TOP_CONFIRM:
            full = score(model, None, order)[0]
            if full is not None:
                confirmed[order] = full
        if order in failed:
            continue
        if order in confirmed:
            m, size = confirmed[order], total
        results.append((m / size, order in confirmed, order, model, m, size))
    results.sort(key=lambda t: (t[0], t[1], -t[2]), reverse=True)
    out = []
    for i, (frac, conf, order, model, m, size) in enumerate(results):
        residual = {}
        if conf and frac < 1 and i < TOP_CONFIRM:
            got = outs.get(order)
            residual = _residual(matmul(Af, Bf, model=model, c=cf) if got is None else got, act)
        out.append(Identification(fraction=frac, matched=m, total=size, description=describe_model(model), rule=model,
                                  kind="matmul", confirmed=conf, residual=residual, applier=_applier(model)))
    return tuple(out)


def _check_models(candidates) -> list:
    """`candidates` as a list of models (`numfmt.accumulate.as_model` spellings); errors name `candidates`."""
    if isinstance(candidates, str) or not hasattr(candidates, "__iter__"):
        raise TypeError(f"candidates must be a list of accumulation models, got {type(candidates).__name__}")
    out = []
    for i, m in enumerate(candidates):
        try:
            out.append(as_model(m))
        except (ValueError, TypeError) as e:
            raise type(e)(f"candidates[{i}]: {e}") from None
    if not out:
        raise ValueError("candidates is empty")
    return out


def _residual(got: np.ndarray, act: np.ndarray) -> dict:
    fmt = "binary16" if act.dtype == np.float16 else "binary32"
    dt = np.float16 if fmt == "binary16" else np.float32
    ui = np.uint16 if fmt == "binary16" else np.uint32
    e = np.asarray(got, dt).view(ui)
    a = np.asarray(act, dt).view(ui)
    return dict(compare(actual=a, expected=e, fmt=fmt, max_examples=0).classes)


def _applier(model):
    def apply(A, B, c=None):
        return matmul(A, B, model=model, c=c)

    return apply
