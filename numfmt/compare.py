"""Compare codes from hardware (or another library) with expected codes, and say how they differ.

:func:`compare` counts equal and different codes and sorts every mismatch into
one class:

======================  ==============================================================
class                   meaning
======================  ==============================================================
``ulps``                both are numbers, ``k`` ulps apart (``ulp_histogram`` holds the
                        signed ``k``: positive when ``actual`` is larger)
``tie``                 the input ``x`` is exactly halfway between the two codes and they
                        broke the tie in opposite directions (needs ``x=``)
``nan_payload``         both are NaN; only the NaN payload or sign differs
``signed_zero``         +0 versus -0
``saturated_vs_overflowed``  one side clamped to ±max, the other gave ±inf or NaN
``nan_vs_number``       NaN versus a number (not an overflow)
``infinity``            ±inf versus a finite number (not ±max), or +inf versus -inf
``not_representable``   (``values=True``) a value that no code of the format holds
======================  ==============================================================

Block arrays (``numfmt.block.BlockArray``) are compared part by part by
:func:`compare_block`: the scale codes and the element codes get a result
each, and the first mismatches are listed by block (block, both scales, both
element codes, both decoded values, the input).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .formats import FloatFormat, IntFormat
from .presets import get_format
from .tables import fields, hex_code, render

__all__ = ["compare", "compare_block", "CompareResult", "BlockCompareResult", "BlockMismatch", "Mismatch", "CLASSES"]

CLASSES = {
    "ulps": "k ulps apart",
    "tie": "tie broken the other way",
    "nan_payload": "NaN payload/sign only",
    "signed_zero": "signed zero only",
    "saturated_vs_overflowed": "saturated vs overflowed",
    "nan_vs_number": "NaN vs number",
    "infinity": "infinity vs finite",
    "not_representable": "value not representable",
}

_FIN, _ZERO, _INF, _NAN, _BAD = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class Mismatch:
    """One differing element."""

    index: tuple
    cls: str
    expected: int | None
    actual: int | None
    expected_value: float
    actual_value: float
    ulps: int | None = None
    x: float | None = None
    detail: str = ""

    def to_dict(self, fmt) -> dict:
        def code(c):
            return None if c is None else {"code": int(c), "hex": hex_code(c, fmt), "fields": fields(c, fmt)}

        return {
            "index": list(self.index), "class": self.cls,
            "expected": code(self.expected), "actual": code(self.actual),
            "expected_value": _jfloat(self.expected_value), "actual_value": _jfloat(self.actual_value),
            "ulps": self.ulps, "x": None if self.x is None else _jfloat(self.x), "detail": self.detail,
        }


def _jfloat(v):
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else repr(v)


@dataclass(frozen=True)
class CompareResult:
    """Totals, mismatch classes and the first mismatches of one comparison.

    ``str()`` is a readable report, ``to_dict()`` JSON-safe data, ``ok`` is
    True when every code matched.
    """

    format: object
    shape: tuple
    compared: int
    equal: int
    different: int
    classes: dict = field(default_factory=dict)
    ulp_histogram: dict = field(default_factory=dict)
    max_ulp: int = 0
    examples: tuple = ()
    label: str = ""

    @property
    def ok(self) -> bool:
        """True when nothing differs."""
        return self.different == 0

    def to_dict(self) -> dict:
        """JSON-safe dict."""
        return {
            "format": self.format.name, "label": self.label, "shape": list(self.shape),
            "compared": self.compared, "equal": self.equal, "different": self.different, "ok": self.ok,
            "classes": dict(self.classes),
            "ulp_histogram": {f"{k:+d}": v for k, v in sorted(self.ulp_histogram.items())},
            "max_ulp": self.max_ulp,
            "examples": [m.to_dict(self.format) for m in self.examples],
        }

    def __str__(self) -> str:
        f = self.format
        what = f"{self.label} " if self.label else ""
        head = (f"compare {what}{f.name}: {self.compared} compared, {self.equal} equal, "
                f"{self.different} different")
        if self.ok:
            return head + " -- all codes match"
        lines = [head, "  mismatch classes:"]
        rows = []
        for cls, n in sorted(self.classes.items(), key=lambda kv: -kv[1]):
            if cls == "ulps":
                for k, c in sorted(self.ulp_histogram.items(), key=lambda kv: (abs(kv[0]), kv[0])):
                    rows.append({"class": f"{k:+d} ulp{'s' if abs(k) != 1 else ''} apart", "count": c})
            else:
                rows.append({"class": CLASSES[cls], "count": n})
        lines += ["    " + s for s in render(rows, ["class", "count"]).splitlines()[1:]]
        lines.append(f"  largest ulp distance: {self.max_ulp}")
        if self.examples:
            shown = len(self.examples)
            lines.append(f"  first {shown} mismatch{'es' if shown != 1 else ''}:")
            has_x = any(m.x is not None for m in self.examples)
            cols = ["index", *(["x"] if has_x else []), "expected", "value", "actual", "value ", "class"]
            erows = []
            for m in self.examples:
                erows.append({
                    "index": ",".join(str(i) for i in m.index), "x": "-" if m.x is None else repr(float(m.x)),
                    "expected": _codestr(m.expected, f), "value": _valstr(m.expected_value),
                    "actual": _codestr(m.actual, f), "value ": _valstr(m.actual_value),
                    "class": _exclass(m),
                })
            lines += ["    " + s for s in render(erows, cols).splitlines()]
        return "\n".join(lines)


def _codestr(c, f) -> str:
    return "-" if c is None else f"{hex_code(c, f)} {fields(c, f)}"


def _valstr(v) -> str:
    return repr(float(v))


def _exclass(m: Mismatch) -> str:
    if m.cls == "ulps":
        s = f"{m.ulps:+d} ulp{'s' if abs(m.ulps) != 1 else ''}"
    else:
        s = CLASSES[m.cls]
    return f"{s} ({m.detail})" if m.detail else s


@dataclass(frozen=True)
class BlockMismatch:
    """One mismatch of a block array, seen from its block: the element, its block's scale, the input.

    ``what`` is ``"scale"`` (only the block's scale code differs), ``"element"``
    (only the element code) or ``"scale and element"``; ``expected_value`` and
    ``actual_value`` are the decoded values element * scale (* tensor scale),
    exact in float64.
    """

    index: tuple
    block: tuple
    x: float | None
    expected_scale: int
    actual_scale: int
    expected: int
    actual: int
    expected_value: float
    actual_value: float
    what: str
    detail: str = ""

    def to_dict(self, scale_fmt, element_fmt) -> dict:
        def code(c, f):
            return {"code": int(c), "hex": hex_code(c, f), "value": _jfloat(_fval(int(c), f))}

        return {
            "index": list(self.index), "block": list(self.block),
            "x": None if self.x is None else _jfloat(self.x), "what": self.what,
            "expected_scale": code(self.expected_scale, scale_fmt), "actual_scale": code(self.actual_scale, scale_fmt),
            "expected": code(self.expected, element_fmt), "actual": code(self.actual, element_fmt),
            "expected_value": _jfloat(self.expected_value), "actual_value": _jfloat(self.actual_value),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class BlockCompareResult:
    """Comparison of two block arrays: ``scales`` and ``elements`` results, and the mismatches by block.

    ``examples`` lists the first mismatches in flat element order as
    :class:`BlockMismatch` rows (a block whose scale differs while all its
    element codes match appears once, at its first element).
    """

    scales: CompareResult
    elements: CompareResult
    blocks: int
    blocks_with_scale_mismatch: int
    notes: tuple = ()
    blocks_with_element_mismatch: int = 0
    elements_in_scale_mismatch_blocks: int = 0
    examples: tuple = ()
    format_name: str = ""
    block_size: int = 0
    axis: int = -1

    @property
    def ok(self) -> bool:
        """True when every scale and element code matched."""
        return self.scales.ok and self.elements.ok and not self.notes

    @property
    def different(self) -> int:
        """Scale plus element mismatches."""
        return self.scales.different + self.elements.different

    def to_dict(self) -> dict:
        """JSON-safe dict."""
        sf, ef = self.scales.format, self.elements.format
        return {"ok": self.ok, "format": self.format_name, "block_size": self.block_size, "axis": self.axis,
                "blocks": self.blocks, "blocks_with_scale_mismatch": self.blocks_with_scale_mismatch,
                "blocks_with_element_mismatch": self.blocks_with_element_mismatch,
                "elements_in_scale_mismatch_blocks": self.elements_in_scale_mismatch_blocks,
                "scales": self.scales.to_dict(), "elements": self.elements.to_dict(),
                "examples": [m.to_dict(sf, ef) for m in self.examples], "notes": list(self.notes)}

    def __str__(self) -> str:
        name = f" {self.format_name}" if self.format_name else ""
        geo = f" of {self.block_size} along axis {self.axis}" if self.block_size else ""
        head = (f"compare block array{name}: {self.elements.compared} elements in {self.blocks} "
                f"block{'s' if self.blocks != 1 else ''}{geo}"
                + (" -- all codes match" if self.ok else ""))
        lines = [head]
        if not self.ok:
            lines.append(f"  scales:   {self.scales.different} of {self.blocks} different")
            el = (f"  elements: {self.elements.different} of {self.elements.compared} different")
            if self.elements.different:
                el += (f", in {self.blocks_with_element_mismatch} block"
                       f"{'s' if self.blocks_with_element_mismatch != 1 else ''}"
                       f" ({self.elements_in_scale_mismatch_blocks} in blocks whose scale differs)")
            lines.append(el)
        if self.examples:
            sf, ef = self.scales.format, self.elements.format
            shown = len(self.examples)
            lines.append(f"  first {shown} mismatch{'es' if shown != 1 else ''} by block:")
            has_x = any(m.x is not None for m in self.examples)
            rows = []
            for m in self.examples:
                rows.append({
                    "index": ",".join(str(i) for i in m.index), "block": ",".join(str(i) for i in m.block),
                    "x": "-" if m.x is None else repr(float(m.x)),
                    "scale": _cv(m.expected_scale, sf), "scale ": _cv(m.actual_scale, sf),
                    "element": _cv(m.expected, ef), "element ": _cv(m.actual, ef),
                    "value": _valstr(m.expected_value), "value ": _valstr(m.actual_value),
                    "what": m.detail or m.what,
                })
            cols = ["index", "block", *(["x"] if has_x else []), "scale", "scale ", "element", "element ",
                    "value", "value ", "what"]
            heads = {"scale": "exp. scale", "scale ": "act. scale", "element": "exp. element",
                     "element ": "act. element", "value": "exp. value", "value ": "act. value"}
            lines += ["    " + s for s in render(rows, cols, headers=heads).splitlines()]
        parts = ["\n".join(lines), str(self.scales), str(self.elements), *(f"note: {n}" for n in self.notes)]
        return "\n".join(parts)


def _tsstr(v) -> str:
    return "None" if v is None else repr(float(v))


def _cv(c, f) -> str:
    return f"{hex_code(c, f)}={_valstr(_fval(int(c), f))}"


# ---------------------------------------------------------------------- code classification

def _code_info(c: np.ndarray, f):
    """(kind, ordinal, neg) arrays for int64 codes ``c``."""
    c = c.astype(np.int64, copy=False)
    if isinstance(f, IntFormat):
        top = 1 << (f.bits - 1)
        ordv = np.where(c >= top, c - (1 << f.bits), c) if f.signed else c.copy()
        kind = np.where(c == 0, _ZERO, _FIN).astype(np.int8)
        return kind, ordv, ordv < 0
    m = f.mantissa_bits
    ones = f._all_ones
    mag = c & ones
    neg = (c & f._sign_bit) != 0 if f.signed else np.zeros(c.shape, bool)
    if f.nan == "ieee":
        nan = ((mag >> m) == (1 << f.exponent_bits) - 1) & ((mag & ((1 << m) - 1)) != 0)
    elif f.nan == "fn":
        nan = mag == ones
    elif f.nan in ("fnuz", "p3109"):
        nan = c == f.code_of_nan
    else:
        nan = np.zeros(c.shape, bool)
    inf = np.zeros(c.shape, bool)
    for ic in (f.code_of_inf, f.code_of_neginf):
        if ic is not None:
            inf |= c == ic
    if f.has_zero:
        zero = ((mag >> m) == 0) & ((mag == 0) | (not f.subnormals)) & ~nan
    else:
        zero = np.zeros(c.shape, bool)
    if f.has_zero and not f.subnormals:
        omag = np.where(mag >> m == 0, 0, mag - ((1 << m) - 1))
    else:
        omag = mag
    ordv = np.where(neg, -omag, omag)
    kind = np.full(c.shape, _FIN, np.int8)
    kind[zero] = _ZERO
    kind[inf] = _INF
    kind[nan] = _NAN
    return kind, ordv, neg


def _max_ord(f):
    """(ordinal of +max, ordinal of the most negative finite value or None)."""
    _, o, _ = _code_info(np.array([_maxcode(f, False)], np.int64), f)
    pos = int(o[0])
    if isinstance(f, IntFormat):
        return pos, (f.min_int if f.signed else None)
    if not f.signed:
        return pos, None
    _, o, _ = _code_info(np.array([_maxcode(f, True)], np.int64), f)
    return pos, int(o[0])


def _maxcode(f, neg):
    if isinstance(f, IntFormat):
        return f.max_int if not neg else (f.min_int & ((1 << f.bits) - 1))
    return f.max_code_magnitude | (f._sign_bit if neg else 0)


def _tie_mask(x: np.ndarray, f) -> np.ndarray:
    """Whether each x is exactly halfway between two neighbouring values of f (grid without a top)."""
    xf = np.asarray(x, np.float64)
    ax = np.abs(xf)
    ok = np.isfinite(ax) & (ax != 0)
    out = np.zeros(xf.shape, bool)
    if not ok.any():
        return out
    a = ax[ok]
    if isinstance(f, IntFormat):
        s = np.ldexp(a, -f.scale_exp)
    else:
        if f.bits > 32:
            return out  # binary64: not classified
        _, ex = np.frexp(a)
        e = ex.astype(np.int64) - 1
        ftz = f.has_zero and not f.subnormals
        q = np.maximum(e, f.emin) - f.mantissa_bits
        if ftz:
            q = np.where(e < f.emin, f.emin, q)
        s = np.ldexp(a, (-q).astype(np.int32))
    out[ok] = (s - np.floor(s)) == 0.5
    return out


class _Acc:
    """Accumulates a comparison over chunks (the CLI's ``check`` streams through it)."""

    def __init__(self, f, *, max_examples=10, shape=None, label=""):
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
        self.max_ulp = 0
        self.examples: list[Mismatch] = []
        self.maxpos, self.maxneg = _max_ord(f)

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
        ke, oe, ne = _code_info(ee, f)
        ka, oa, na = _code_info(aa, f)
        cls = np.full(idx.size, -1, np.int8)
        names = ["ulps", "tie", "nan_payload", "signed_zero", "saturated_vs_overflowed", "nan_vs_number",
                 "infinity", "not_representable"]
        C = {n_: i for i, n_ in enumerate(names)}
        if bad_e is not None:
            nr = bad_e[idx] | bad_a[idx]
            cls[nr] = C["not_representable"]
        free = cls < 0
        both_nan = (ke == _NAN) & (ka == _NAN) & free
        cls[both_nan] = C["nan_payload"]
        free = cls < 0
        cls[(ke == _ZERO) & (ka == _ZERO) & free] = C["signed_zero"]
        free = cls < 0
        num_e = (ke == _FIN) | (ke == _ZERO)
        num_a = (ka == _FIN) | (ka == _ZERO)
        both_num = num_e & num_a
        at_max_e = num_e & ((oe == self.maxpos) | ((oe == self.maxneg) if self.maxneg is not None else False))
        at_max_a = num_a & ((oa == self.maxpos) | ((oa == self.maxneg) if self.maxneg is not None else False))
        ovf_e = ((ke == _INF) & (ne == (oa < 0))) | (ke == _NAN)
        ovf_a = ((ka == _INF) & (na == (oe < 0))) | (ka == _NAN)
        satovf = (at_max_e & ovf_a) | (at_max_a & ovf_e)
        xs = None
        if x is not None:
            xs = np.asarray(x).reshape(-1)[idx]
            xnan = np.isnan(xs.astype(np.float64)) if xs.dtype.kind == "f" else np.zeros(idx.size, bool)
            satovf &= ~xnan
            tie = _tie_mask(xs, f) & (
                (both_num & (np.abs(oe - oa) == 1)) | satovf
            )
            cls[tie & free] = C["tie"]
            free = cls < 0
        cls[satovf & free] = C["saturated_vs_overflowed"]
        free = cls < 0
        cls[((ke == _NAN) | (ka == _NAN)) & free] = C["nan_vs_number"]
        free = cls < 0
        cls[((ke == _INF) | (ka == _INF)) & free] = C["infinity"]
        free = cls < 0
        cls[free] = C["ulps"]
        k = (oa - oe).astype(np.int64)
        for i, name in enumerate(names):
            c = int(np.count_nonzero(cls == i))
            if c:
                self.classes[name] += c
        ul = cls == C["ulps"]
        if ul.any():
            vals, counts = np.unique(k[ul], return_counts=True)
            for v_, c_ in zip(vals.tolist(), counts.tolist()):
                self.hist[int(v_)] += int(c_)
        numeric = both_num & (cls != C["not_representable"])
        if numeric.any():
            self.max_ulp = max(self.max_ulp, int(np.abs(k[numeric]).max()))
        room = self.max_examples - len(self.examples)
        for j in range(min(room, idx.size)):
            name = names[cls[j]]
            flat = int(idx[j]) + offset
            ec, ac = int(ee[j]), int(aa[j])
            ev = float(ve[idx[j]]) if ve is not None else _fval(ec, f)
            av = float(va[idx[j]]) if va is not None else _fval(ac, f)
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
            classes=dict(self.classes), ulp_histogram=dict(self.hist), max_ulp=self.max_ulp,
            examples=tuple(exs), label=self.label,
        )


def _reindex(m: Mismatch, shape) -> Mismatch:
    from dataclasses import replace

    if len(shape) == 0:
        return replace(m, index=())
    return replace(m, index=tuple(int(i) for i in np.unravel_index(m.index[0], shape)))


def _fval(code: int, f) -> float:
    v = f.exact_value(code)
    fl = float(v)
    if fl == 0 and isinstance(f, FloatFormat) and f.negative_zero and code & f._sign_bit:
        return -0.0
    return fl


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


def _as_codes(a, f, name) -> np.ndarray:
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
    return arr.astype(np.int64).reshape(-1)


def _values_to_codes(v, f, name):
    """Codes of values (exactly representable ones), a not-representable mask and the values."""
    from .codec import encode

    if isinstance(v, (str, bytes)):
        raise TypeError(f"{name} must be a numeric array, got {type(v).__name__}")
    arr = np.asarray(v)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    vals = arr.astype(np.float64).reshape(-1)
    nanm = np.isnan(vals)
    safe = np.where(nanm, 0.0, vals)
    codes = np.asarray(encode(safe, f, rounding="nearest_even", saturation="none"), np.int64).reshape(-1)
    kind, _, _ = _code_info(codes, f)
    back = np.array([_fval(int(c), f) for c in codes]) if codes.size < 4096 else _decode64(codes, f)
    bad = ~nanm & ~((back == safe) & (kind != _NAN))
    if nanm.any():
        nc = f.code_of_nan
        if nc is None:
            bad |= nanm
        else:
            neg = np.signbit(vals)
            nn = f.code_of_negnan
            codes[nanm] = np.where(neg[nanm], nn, nc)
    return codes, bad, vals


def _decode64(codes, f):
    from .codec import decode

    return np.asarray(decode(codes.astype(f.code_dtype), f, dtype=np.float64), np.float64).reshape(-1)


def _is_block_array(a) -> bool:
    return hasattr(a, "scales") and hasattr(a, "codes") and hasattr(a, "format")


def compare(expected, actual, fmt=None, *, values: bool = False, max_examples: int = 10, x=None,
            policy: dict | None = None):
    """Compare expected and actual codes of ``fmt`` and classify every mismatch.

    Parameters
    ----------
    expected : array_like of int, BlockArray or None
        Reference codes (e.g. ``numfmt.encode(x, fmt)``). ``None`` computes them
        from ``x`` with ``numfmt.encode(x, fmt, **policy)``.
    actual : array_like of int or BlockArray
        Codes under test, same shape.
    fmt : str or format
        The element format (for block arrays it is taken from the arrays).
    values : bool
        ``expected`` and ``actual`` hold values of the format instead of codes;
        a value that no code holds is a ``not_representable`` mismatch.
    max_examples : int
        How many mismatches to keep as examples (the first ones in flat order).
    x : array_like, optional
        The inputs; needed to recognise ties broken the other way.
    policy : dict, optional
        Keywords of :func:`numfmt.encode` used when ``expected`` is None.

    Returns
    -------
    CompareResult or BlockCompareResult

    Examples
    --------
    >>> import numfmt
    >>> x = [1.0625, 3.0, 500.0, -0.0]
    >>> r = numfmt.compare(numfmt.encode(x, "e4m3"), [0x39, 0x44, 0x7E, 0x00], "e4m3", x=x)
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
    if _is_block_array(actual) or _is_block_array(expected):
        return compare_block(expected, actual, x=x, policy=policy, max_examples=max_examples)
    if fmt is None:
        raise TypeError("compare() needs fmt (the format of the codes)")
    f = get_format(fmt)
    if policy is not None and not isinstance(policy, dict):
        raise TypeError(f"policy must be a dict of encode keywords, got {type(policy).__name__}")
    if expected is None:
        if x is None:
            raise ValueError("expected=None needs x= (the inputs) to compute the expected codes")
        from .codec import encode

        expected = encode(x, f, **(policy or {}))
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
    acc = _Acc(f, max_examples=max_examples, shape=shape)
    if values:
        e, be, ve = _values_to_codes(exp_arr, f, "expected")
        a, ba, va = _values_to_codes(act_arr, f, "actual")
        acc.add(e, a, xa, 0, be, ba, ve, va)
    else:
        e = _as_codes(exp_arr, f, "expected")
        a = _as_codes(act_arr, f, "actual")
        acc.add(e, a, xa, 0)
    return acc.result()


def _classify_one(e: int, a: int, f, x=None) -> str:
    acc = _Acc(f, max_examples=1)
    acc.add(np.array([e], np.int64), np.array([a], np.int64), None if x is None else np.array([x]))
    return _exclass(acc.examples[0]) if acc.examples else ""


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


def compare_block(expected, actual, *, x=None, policy: dict | None = None,
                  max_examples: int = 10) -> BlockCompareResult:
    """Compare two block arrays: scale codes and element codes separately, and the mismatches by block.

    Parameters
    ----------
    expected : BlockArray or None
        Reference (e.g. ``numfmt.encode(x, "mxfp4")``). ``None`` computes it
        from ``x`` with ``numfmt.encode(x, actual.format, axis=actual.axis, **policy)``.
    actual : BlockArray
        The block array under test (e.g. ``BlockArray(hw_codes, hw_scales, "mxfp4")``).
    x : array_like, optional
        The inputs (shape of the element codes): listed with each mismatch, and
        used to recognise element ties broken the other way when the scales are
        powers of two (the scaled input ``x / scale`` is then exact).
    policy : dict, optional
        Keywords of the block :func:`numfmt.encode` used when ``expected`` is None.
    max_examples : int
        How many mismatches each part keeps.

    Returns
    -------
    BlockCompareResult
        ``.scales`` and ``.elements`` (:class:`CompareResult` each), the number
        of blocks with a different scale, of blocks with a different element,
        of element mismatches inside blocks whose scale differs, and
        ``.examples``: the first mismatches with their block, both scales,
        both element codes, both decoded values and the input.

    Examples
    --------
    >>> import numpy as np, numfmt
    >>> from numfmt.block import BlockArray
    >>> from numfmt.compare import compare_block
    >>> x = np.linspace(-6, 6, 64, dtype=np.float32)
    >>> ba = numfmt.encode(x, "mxfp4")
    >>> codes, scales = ba.codes.copy(), ba.scales.copy()
    >>> codes[3] ^= 1; scales[1] += 1                     # one element, one scale
    >>> r = compare_block(ba, BlockArray(codes, scales, "mxfp4"), x=x)
    >>> r.scales.different, r.elements.different, r.blocks_with_scale_mismatch
    (1, 1, 1)
    >>> [(m.index, m.block, m.what) for m in r.examples]
    [((3,), (0,), 'element'), ((32,), (1,), 'scale')]
    """
    if isinstance(max_examples, bool) or not isinstance(max_examples, (int, np.integer)) or max_examples < 0:
        raise ValueError(f"max_examples must be a non-negative int, got {max_examples!r}")
    if policy is not None and not isinstance(policy, dict):
        raise TypeError(f"policy must be a dict of encode keywords, got {type(policy).__name__}")
    if expected is None:
        if x is None:
            raise ValueError("expected=None needs x= to compute the expected block array")
        if not _is_block_array(actual):
            raise TypeError(f"actual must be a block array, got {type(actual).__name__}")
        from .codec import encode

        kw = {"axis": actual.axis, **(policy or {})}
        expected = encode(x, actual.format, **kw)
    for name, a in (("expected", expected), ("actual", actual)):
        if not _is_block_array(a):
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
    e_s, a_s = _as_codes(se, sf, "expected.scales"), _as_codes(sa, sf, "actual.scales")
    e_c, a_c = _as_codes(ce, ef, "expected.codes"), _as_codes(ca, ef, "actual.codes")
    s_acc = _Acc(sf, max_examples=max_examples, shape=sshape, label="scales")
    s_acc.add(e_s, a_s)
    scale_bad = e_s != a_s
    # the scaled input x / scale is exact for power-of-two scales without a tensor scale: ties are recognisable
    xs = None
    if xa is not None and ts_e is None and isinstance(sf, FloatFormat) and sf.mantissa_bits == 0 and e_c.size:
        sv = _decode64(e_s, sf).reshape(sshape)
        sv = np.where(np.isfinite(sv) & (sv > 0) & ~scale_bad.reshape(sshape), sv, np.nan)
        per = np.take(sv, np.arange(shape[ax]) // bs, axis=ax).reshape(-1)
        with np.errstate(all="ignore"):
            xs = xa.astype(np.float64) / per
        xs = np.where(np.isnan(per), 0.0, xs)
    e_acc = _Acc(ef, max_examples=max_examples, shape=shape, label="elements")
    e_acc.add(e_c, a_c, xs)
    el_res = e_acc.result()
    if xa is not None and el_res.examples:
        from dataclasses import replace

        def xval(m):
            i = int(np.ravel_multi_index(m.index, shape)) if len(shape) != 1 else m.index[0]
            v = xa[i]
            return float(v) if xa.dtype.kind == "f" else int(v)

        el_res = replace(el_res, examples=tuple(replace(m, x=xval(m)) for m in el_res.examples))
    idx = np.flatnonzero(e_c != a_c)
    eblk = _block_index(idx, shape, ax, bs, sshape)
    bad_blocks = np.flatnonzero(scale_bad)
    n_el_blocks = int(np.unique(eblk).size)
    in_bad = int(np.count_nonzero(scale_bad[eblk])) if eblk.size else 0
    # events: differing elements, and the first element of each scale-only block
    only = np.setdiff1d(bad_blocks, eblk, assume_unique=False)
    events = np.union1d(idx[:max_examples], _block_start(only[:max_examples], shape, ax, bs, sshape))
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
            parts.append("element " + (_exclass(m) if m is not None else _classify_one(ec, ac, ef)))
        with np.errstate(all="ignore"):
            ev = _fval(ec, ef) * _fval(es, sf) * fts
            av = _fval(ac, ef) * _fval(as_, sf) * fta
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
