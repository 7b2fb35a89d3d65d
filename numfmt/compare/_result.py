"""Results of comparisons (`CompareResult`, `BlockCompareResult`), their mismatch rows and reports."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..tables import fields, hex_code, render
from ._classify import fval

CLASSES = {
    "ulps": "k ulps apart",
    "tie": "tie broken the other way",
    "nan_payload": "NaN payload/sign only",
    "signed_zero": "signed zero only",
    "saturated_vs_overflowed": "saturated vs overflowed",
    "nan_vs_number": "NaN vs number",
    "infinity": "infinity vs finite",
    "not_representable": "value not representable",
    "double_rounding": "double rounding (x rounds onto a midpoint in an intermediate format)",
    "input_as_zero": "subnormal input treated as zero",
    "flushed_to_zero": "subnormal result flushed to zero",
}


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

    `str()` is a readable report, `to_dict()` JSON-safe data, `ok` is
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
    masks: dict = field(default_factory=dict, repr=False, compare=False)
    ulp_bins: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when nothing differs."""
        return self.different == 0

    def mask(self, cls: str | None = None):
        """Boolean mask (of `shape`) of the differing elements, or of those of mismatch class `cls`.

        Kept bit-packed (one bit per element and class that occurs); unpacked on request.
        """
        if cls is not None and cls not in CLASSES:
            raise ValueError(f"cls={cls!r} is not a mismatch class; choose from {sorted(CLASSES)}")
        n = math.prod(self.shape)
        if self.different and not self.masks:
            raise ValueError("this result keeps no masks (numfmt.compare and compare_block keep them)")
        packed = np.zeros(-(-n // 8), np.uint8)
        for name, m in self.masks.items():
            if cls is None or name == cls:
                packed |= m
        return np.unpackbits(packed, count=n).astype(bool).reshape(self.shape)

    def indices(self, cls: str | None = None, *, nd: bool = False):
        """Indices of the differing elements (or of class `cls`), in order: flat (an int64 array), or
        with `nd=True` one row per element holding its N-d index (`np.argwhere` of the mask)."""
        m = self.mask(cls)
        return np.argwhere(m) if nd else np.flatnonzero(m)

    def nonzero(self, cls: str | None = None) -> tuple:
        """`np.nonzero` of the mask: for every code, `np.nonzero(expected != actual)`."""
        return np.nonzero(self.mask(cls))

    def to_dict(self) -> dict:
        """JSON-safe dict."""
        return {
            "format": self.format.name, "label": self.label, "shape": list(self.shape),
            "compared": self.compared, "equal": self.equal, "different": self.different, "ok": self.ok,
            "classes": dict(self.classes),
            "ulp_histogram": {f"{k:+d}": v for k, v in sorted(self.ulp_histogram.items())},
            "ulp_bins": dict(self.ulp_bins),
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
        order = list(CLASSES)  # (equal counts in the classes' fixed order: no dependence on chunking)
        for cls, n in sorted(self.classes.items(), key=lambda kv: (-kv[1], order.index(kv[0]))):
            if cls == "ulps" and self.ulp_bins:
                for label, c in self.ulp_bins.items():
                    rows.append({"class": _bin_text(label), "count": c})
            elif cls == "ulps":
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
                    "class": exclass(m),
                })
            lines += ["    " + s for s in render(erows, cols).splitlines()]
        return "\n".join(lines)


def _bin_text(label: str) -> str:
    """`"away 3-4"` -> `"3-4 ulps away from zero"`."""
    if label == "sign crossing":
        return "sign crossing (opposite signs)"
    direction, _, rng = label.partition(" ")
    unit = "ulp" if rng == "1" else "ulps"
    return f"{rng} {unit} {direction} {'from' if direction == 'away' else ''} zero".replace("  ", " ")


def _codestr(c, f) -> str:
    return "-" if c is None else f"{hex_code(c, f)} {fields(c, f)}"


def _valstr(v) -> str:
    return repr(float(v))


def exclass(m: Mismatch) -> str:
    if m.cls == "ulps":
        s = f"{m.ulps:+d} ulp{'s' if abs(m.ulps) != 1 else ''}"
    else:
        s = CLASSES[m.cls]
    return f"{s} ({m.detail})" if m.detail else s


@dataclass(frozen=True)
class BlockMismatch:
    """One mismatch of a block array, seen from its block: the element, its block's scale, the input.

    `what` is `"scale"` (only the block's scale code differs), `"element"`
    (only the element code) or `"scale and element"`; `expected_value` and
    `actual_value` are the decoded values element * scale (* tensor scale),
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
            return {"code": int(c), "hex": hex_code(c, f), "value": _jfloat(fval(int(c), f))}

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
    """Comparison of two block arrays: `scales` and `elements` results, and the mismatches by block.

    `examples` lists the first mismatches in flat element order as
    [`BlockMismatch`][numfmt.compare.BlockMismatch] rows (a block whose scale differs while all its
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

    @property
    def scale_offsets(self) -> dict:
        """k -> number of blocks whose scale code is k steps off (actual - expected; for power-of-two
        scales a factor 2**k), NaN/inf scale mismatches left out."""
        return dict(sorted(self.scales.ulp_histogram.items()))

    @property
    def elements_off_with_scale_right(self) -> int:
        """Element mismatches in blocks whose scale matches."""
        return self.elements.different - self.elements_in_scale_mismatch_blocks

    def to_dict(self) -> dict:
        """JSON-safe dict."""
        sf, ef = self.scales.format, self.elements.format
        return {"ok": self.ok, "format": self.format_name, "block_size": self.block_size, "axis": self.axis,
                "blocks": self.blocks, "blocks_with_scale_mismatch": self.blocks_with_scale_mismatch,
                "blocks_with_element_mismatch": self.blocks_with_element_mismatch,
                "elements_in_scale_mismatch_blocks": self.elements_in_scale_mismatch_blocks,
                "scales": self.scales.to_dict(), "elements": self.elements.to_dict(),
                "scale_offsets": {f"{k:+d}": v for k, v in self.scale_offsets.items()},
                "elements_off_with_scale_right": self.elements_off_with_scale_right,
                "examples": [m.to_dict(sf, ef) for m in self.examples], "notes": list(self.notes)}

    def __str__(self) -> str:
        name = f" {self.format_name}" if self.format_name else ""
        geo = f" of {self.block_size} along axis {self.axis}" if self.block_size else ""
        head = (f"compare block array{name}: {self.elements.compared} elements in {self.blocks} "
                f"block{'s' if self.blocks != 1 else ''}{geo}"
                + (" -- all codes match" if self.ok else ""))
        lines = [head]
        if not self.ok:
            offs = ", ".join(f"{k:+d}: {v}" for k, v in self.scale_offsets.items())
            lines.append(f"  scales:   {self.scales.different} of {self.blocks} different"
                         + (f" (scale off by {offs})" if offs else ""))
            el = (f"  elements: {self.elements.different} of {self.elements.compared} different")
            if self.elements.different:
                el += (f", in {self.blocks_with_element_mismatch} block"
                       f"{'s' if self.blocks_with_element_mismatch != 1 else ''}"
                       f" ({self.elements_in_scale_mismatch_blocks} in blocks whose scale differs, "
                       f"{self.elements_off_with_scale_right} off with the scale right)")
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


def _cv(c, f) -> str:
    return f"{hex_code(c, f)}={_valstr(fval(int(c), f))}"
