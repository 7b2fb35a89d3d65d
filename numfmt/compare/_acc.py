"""The element comparison: flat expected/actual codes in (chunk by chunk),
a [`CompareResult`][numfmt.compare.CompareResult] out."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

import numpy as np

from ..steps import input_subnormal_mask
from ._classify import (
    FIN,
    INF,
    NAN,
    ZERO,
    bin_order,
    code_info,
    double_rounding_mask,
    fval,
    max_ord,
    subnormal_mask,
    tie_mask,
    ulp_bins,
)
from ._result import CLASSES, CompareResult, Mismatch


class Acc:
    """Accumulates a comparison over chunks (the CLI's `check` streams through it)."""

    def __init__(self, f, *, max_examples=10, shape=None, label="", masks=False):
        if isinstance(max_examples, bool) or not isinstance(max_examples, (int, np.integer)) or max_examples < 0:
            raise ValueError(f"max_examples must be a non-negative int, got {max_examples!r}")
        self.f = f
        self.max_examples = int(max_examples)
        self.shape = shape
        self.label = label
        self.compared = 0
        self.equal = 0
        self.classes: Counter = Counter()
        self.hist: Counter = Counter()
        self.bins: Counter = Counter()  # log-binned ulp distances by direction (`ulp_bins`)
        self.max_ulp = 0
        self.examples: list[Mismatch] = []
        self.maxpos, self.maxneg = max_ord(f)
        # class -> bit-packed mask over the flat elements (np.packbits order), when `masks` and `shape`
        self.total = math.prod(shape) if (masks and shape is not None) else None
        self.masks: dict[str, np.ndarray] = {}

    def _mark(self, name: str, pos: np.ndarray, n: int, offset: int) -> None:
        """Set the bits of the chunk-relative positions `pos` (of a chunk of `n` at `offset`) in
        `name`'s packed mask."""
        packed = self.masks.get(name)
        if packed is None:
            packed = self.masks[name] = np.zeros(-(-self.total // 8), np.uint8)
        if offset % 8 == 0:
            m = np.zeros(n, bool)
            m[pos] = True
            bits = np.packbits(m)
            packed[offset // 8: offset // 8 + bits.size] |= bits
        else:
            g = pos.astype(np.int64) + offset
            np.bitwise_or.at(packed, g >> 3, (np.uint8(0x80) >> (g & 7).astype(np.uint8)))

    def add(self, e, a, x=None, offset=0, bad_e=None, bad_a=None, ve=None, va=None):
        """Flat int64 expected/actual codes; x flat floats or None; bad_*: not-representable masks."""
        n = e.size
        self.compared += n
        diff = e != a
        if bad_e is not None:
            diff |= bad_e | bad_a
        idx = np.flatnonzero(diff)
        self.equal += n - idx.size
        if idx.size == 0:
            return
        f = self.f
        ee, aa = e[idx], a[idx]
        ke, oe, ne = code_info(ee, f)
        ka, oa, na = code_info(aa, f)
        cls = np.full(idx.size, -1, np.int8)
        names = ["ulps", "tie", "nan_payload", "signed_zero", "saturated_vs_overflowed", "nan_vs_number",
                 "infinity", "not_representable", "double_rounding", "input_as_zero", "flushed_to_zero"]
        C = {n_: i for i, n_ in enumerate(names)}
        if bad_e is not None:
            nr = bad_e[idx] | bad_a[idx]
            cls[nr] = C["not_representable"]
        free = cls < 0
        both_nan = (ke == NAN) & (ka == NAN) & free
        cls[both_nan] = C["nan_payload"]
        free = cls < 0
        cls[(ke == ZERO) & (ka == ZERO) & free] = C["signed_zero"]
        free = cls < 0
        num_e = (ke == FIN) | (ke == ZERO)
        num_a = (ka == FIN) | (ka == ZERO)
        both_num = num_e & num_a
        at_max_e = num_e & ((oe == self.maxpos) | ((oe == self.maxneg) if self.maxneg is not None else False))
        at_max_a = num_a & ((oa == self.maxpos) | ((oa == self.maxneg) if self.maxneg is not None else False))
        ovf_e = ((ke == INF) & (ne == (oa < 0))) | (ke == NAN)
        ovf_a = ((ka == INF) & (na == (oe < 0))) | (ka == NAN)
        satovf = (at_max_e & ovf_a) | (at_max_a & ovf_e)
        xs = None
        if x is not None:
            xs = np.asarray(x).reshape(-1)[idx]
            xnan = np.isnan(xs.astype(np.float64)) if xs.dtype.kind == "f" else np.zeros(idx.size, bool)
            satovf &= ~xnan
            tie = tie_mask(xs, f) & (
                (both_num & (np.abs(oe - oa) == 1)) | satovf
            )
            cls[tie & free] = C["tie"]
            free = cls < 0
            zero_a = (ka == ZERO) & (ke == FIN) & free
            if zero_a.any():
                cls[zero_a & input_subnormal_mask(xs)] = C["input_as_zero"]
                free = cls < 0
        sub_e = (ke == FIN) & (ka == ZERO) & (ne == na) & subnormal_mask(ee, f) & free
        cls[sub_e] = C["flushed_to_zero"]
        free = cls < 0
        if xs is not None:
            near = free & both_num & (np.abs(oe - oa) == 1)
            if near.any():
                cls[near & double_rounding_mask(xs, f)] = C["double_rounding"]
                free = cls < 0
        cls[satovf & free] = C["saturated_vs_overflowed"]
        free = cls < 0
        cls[((ke == NAN) | (ka == NAN)) & free] = C["nan_vs_number"]
        free = cls < 0
        cls[((ke == INF) | (ka == INF)) & free] = C["infinity"]
        free = cls < 0
        cls[free] = C["ulps"]
        k = (oa - oe).astype(np.int64)
        for i, name in enumerate(names):
            sel = cls == i
            c = int(np.count_nonzero(sel))
            if c:
                self.classes[name] += c
                if self.total is not None:
                    self._mark(name, idx[sel], n, offset)
        ul = cls == C["ulps"]
        if ul.any():
            vals, counts = np.unique(k[ul], return_counts=True)
            for v_, c_ in zip(vals.tolist(), counts.tolist()):
                self.hist[int(v_)] += int(c_)
            for label, c_ in (ulp_bins(oe, oa) if ul.all() else ulp_bins(oe[ul], oa[ul])).items():
                self.bins[label] += c_
        numeric = both_num & (cls != C["not_representable"])
        if numeric.any():
            self.max_ulp = max(self.max_ulp, int(np.abs(k[numeric]).max()))
        room = self.max_examples - len(self.examples)
        for j in range(min(room, idx.size)):
            name = names[cls[j]]
            flat = int(idx[j]) + offset
            ec, ac = int(ee[j]) % (1 << f.bits), int(aa[j]) % (1 << f.bits)  # (64-bit codes were wrapped)
            ev = float(ve[idx[j]]) if ve is not None else fval(ec, f)
            av = float(va[idx[j]]) if va is not None else fval(ac, f)
            xj = None if xs is None else (float(xs[j]) if xs.dtype.kind == "f" else int(xs[j]))
            detail = _detail(name, ec, ac, ev, av, f)
            self.examples.append(Mismatch(
                index=(flat,), cls=name,
                expected=None if (bad_e is not None and bad_e[idx[j]]) else ec,
                actual=None if (bad_a is not None and bad_a[idx[j]]) else ac,
                expected_value=ev, actual_value=av,
                ulps=int(k[j]) if name in ("ulps", "tie") and bool(both_num[j]) else None,
                x=xj, detail=detail,
            ))

    def result(self) -> CompareResult:
        exs = self.examples
        if self.shape is not None and len(self.shape) != 1:
            exs = [_reindex(m, self.shape) for m in exs]
        return CompareResult(
            format=self.f, shape=tuple(self.shape) if self.shape is not None else (self.compared,),
            compared=self.compared, equal=self.equal, different=self.compared - self.equal,
            classes={c: self.classes[c] for c in CLASSES if c in self.classes},
            ulp_histogram=dict(self.hist), max_ulp=self.max_ulp,
            ulp_bins=dict(sorted(self.bins.items(), key=lambda kv: bin_order(kv[0]))),
            examples=tuple(exs), label=self.label, masks=dict(self.masks),
        )


def _reindex(m: Mismatch, shape) -> Mismatch:
    if len(shape) == 0:
        return replace(m, index=())
    return replace(m, index=tuple(int(i) for i in np.unravel_index(m.index[0], shape)))


def _detail(name, ec, ac, ev, av, f) -> str:
    if name == "tie":
        e_away = abs(ev) > abs(av) if not (math.isnan(ev) or math.isinf(ev)) else True
        if math.isnan(av) or math.isinf(av):
            e_away = False
        a, b = ("away from", "toward") if e_away else ("toward", "away from")
        return f"expected rounds {a} zero, actual {b}"
    if name == "saturated_vs_overflowed":
        if math.isnan(ev) or math.isinf(ev):
            return "expected overflowed, actual saturated"
        return "expected saturated, actual overflowed"
    return ""


def as_codes(a, f, name) -> np.ndarray:
    """Flat int64 codes of `a`, checked to lie in the format's range."""
    return check_codes(a, f, name).astype(np.int64).reshape(-1)


def check_codes(a, f, name) -> np.ndarray:
    """`a` as a flat integer array (a view when it can be), checked to lie in the format's range."""
    if isinstance(a, (str, bytes)):
        raise TypeError(f"{name} must be an integer array of codes, got {type(a).__name__}")
    arr = np.asarray(a)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer codes, got dtype {arr.dtype} (pass values=True for values)")
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        top = (1 << f.bits) - 1
        if lo < 0 or hi > top:
            raise ValueError(f"{name} contains {lo if lo < 0 else hi:#x}, outside 0..{top:#x} of {f.name}")
    return arr.reshape(-1)
