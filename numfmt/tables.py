"""Format tables for the command line and the docs: presets, one format's
properties, and every code of a format.

Everything here is plain Python (rows are lists of dicts) plus one renderer,
[`render`][numfmt.tables.render], that aligns columns. `numfmt formats`, `numfmt info` and
`numfmt table` print these tables.

Examples
--------
>>> from numfmt import tables
>>> tables.fields(0x7E, "e4m3")
'0|1111|110'
>>> print(tables.render(tables.code_rows("e2m1")[:3], ["code", "fields", "value", "class"]))
code  fields  value  class
0x0   0|00|0  0.0    zero
0x1   0|00|1  0.5    subnormal
0x2   0|01|0  1.0    normal
"""

from __future__ import annotations

from fractions import Fraction

from .formats import FloatFormat, IntFormat
from .presets import get_format, list_formats

__all__ = [
    "fields", "code_class", "value_str", "hex_code", "render",
    "format_rows", "info_rows", "code_rows",
]


def hex_code(code: int, fmt) -> str:
    """`code` in hex, zero-padded to the format's width (`0x7e`, `0x003c`)."""
    f = get_format(fmt)
    digits = max(1, (f.bits + 3) // 4)
    return f"0x{int(code):0{digits}x}"


def fields(code: int, fmt) -> str:
    """The bits of `code` split as `sign|exponent|mantissa` (ints: all bits)."""
    f = get_format(fmt)
    b = format(int(code), f"0{f.bits}b")
    if not isinstance(f, FloatFormat):
        return b
    s = 1 if f.signed else 0
    parts = [b[:s], b[s : s + f.exponent_bits], b[s + f.exponent_bits :]]
    return "|".join(p for p in parts if p)


def code_class(code: int, fmt) -> str:
    """`nan`, `inf`, `zero`, `subnormal`, `normal` (floats) or `int`."""
    f = get_format(fmt)
    code = int(code)
    if isinstance(f, IntFormat):
        if f.symmetric and code == 1 << (f.bits - 1):
            return "unused"
        return "zero" if code == 0 else "int"
    if f.is_nan_code(code):
        return "nan"
    if code in (f.code_of_inf, f.code_of_neginf):
        return "inf"
    mag = code & f.all_ones
    if f.has_zero and mag >> f.mantissa_bits == 0:
        if mag == 0 or not f.subnormals:
            return "zero"
        return "subnormal"
    return "normal"


def value_str(v) -> str:
    """A value as the shortest float repr when exact, else `p/q` (Fractions)."""
    if isinstance(v, Fraction):
        if abs(v) < Fraction(2) ** 1024:
            fl = float(v)
            if Fraction(fl) == v:
                return repr(fl)
        return f"{v.numerator}/{v.denominator}" if v.denominator != 1 else str(v.numerator)
    if isinstance(v, float):
        return repr(v)
    return str(v)


def render(rows: list[dict], columns: list[str] | None = None, *, headers: dict | None = None) -> str:
    """Rows of dicts as an aligned text table (numbers right-aligned).

    Examples
    --------
    >>> from numfmt import tables
    >>> print(tables.render([{"a": 1, "b": "x"}, {"a": 100, "b": "yy"}]))
      a  b
      1  x
    100  yy
    """
    if not rows:
        return ""
    cols = columns or list(rows[0])
    heads = [(headers or {}).get(c, c) for c in cols]
    cells = [[_cell(r.get(c, "")) for c in cols] for r in rows]
    numeric = [all(_is_num(r.get(c)) for r in rows) for c in cols]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(heads)]

    def line(vals):
        out = []
        for i, v in enumerate(vals):
            last = i == len(vals) - 1
            if numeric[i]:
                out.append(v.rjust(widths[i]))
            else:
                out.append(v if last else v.ljust(widths[i]))
        return "  ".join(out).rstrip()

    return "\n".join([line(heads), *(line(r) for r in cells)])


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _cell(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _conventions(f) -> tuple[str, str, str]:
    if isinstance(f, IntFormat):
        kind = ("symmetric " if f.symmetric else "") + ("two's complement" if f.signed else "unsigned")
        return "-", "-", kind
    inf = {"ieee": "ieee", "p3109": "p3109 (top codes)", "none": "none"}[f.inf]
    nan = {
        "ieee": "ieee (exp all ones, m != 0)", "fn": "fn (all-ones magnitude)",
        "fnuz": "fnuz (at -0 code)", "p3109": "p3109", "none": "none",
    }[f.nan]
    extra = []
    if not f.signed:
        extra.append("unsigned")
    if f.negative_zero:
        extra.append("-0")
    if not f.has_zero:
        extra.append("no zero")
    elif not f.subnormals:
        extra.append("no subnormals")
    return inf, nan, ", ".join(extra) or "-"


def format_rows(names=None) -> list[dict]:
    """One row per format: bits, fields, bias, max, smallest normal/subnormal, inf/NaN conventions.

    Examples
    --------
    >>> from numfmt import tables
    >>> r = tables.format_rows(["e4m3"])[0]
    >>> r["name"], r["bits"], r["bias"], r["max"], r["inf"], r["nan"]
    ('float8_e4m3fn', 8, 7, 448.0, 'none', 'fn (all-ones magnitude)')
    """
    rows = []
    for n in names if names is not None else list_formats():
        f = get_format(n)
        inf, nan, extra = _conventions(f)
        if isinstance(f, FloatFormat):
            layout = f"e{f.exponent_bits}m{f.mantissa_bits}"
            bias = f.bias
        else:
            layout = f"int{f.bits}" + (f"*2^{f.scale_exp}" if f.scale_exp else "")
            bias = None
        rows.append({
            "name": f.name, "bits": f.bits, "layout": layout, "bias": bias, "max": f.max,
            "smallest_normal": f.smallest_normal, "smallest_subnormal": f.smallest_subnormal,
            "inf": inf, "nan": nan, "other": extra,
        })
    return rows


def _pow2(v: float) -> str:
    fr = Fraction(v)
    if fr > 0 and fr.numerator & (fr.numerator - 1) == 0 and fr.denominator & (fr.denominator - 1) == 0:
        e = fr.numerator.bit_length() - fr.denominator.bit_length()
        return f"{v!r} (2^{e})"
    return repr(v)


def info_rows(fmt) -> list[dict]:
    """`property`/`value` rows describing one format (`numfmt info`)."""
    f = get_format(fmt)
    inf, nan, extra = _conventions(f)
    rows: list[tuple[str, object]] = [("name", f.name), ("kind", f.kind), ("bits", f.bits),
                                      ("code dtype", str(f.code_dtype))]
    if isinstance(f, FloatFormat):
        rows += [
            ("exponent bits", f.exponent_bits), ("mantissa bits", f.mantissa_bits),
            ("bias", f.bias), ("signed", f.signed), ("precision p", f.precision),
            ("emin", f.emin), ("emax", f.emax),
            ("max", _pow2(f.max) if f.mantissa_bits == 0 else repr(f.max)),
            ("min", repr(f.min)),
            ("smallest normal", _pow2(f.smallest_normal)),
            ("smallest subnormal", _pow2(f.smallest_subnormal)),
            ("eps", _pow2(f.eps)),
            ("subnormals", f.subnormals), ("negative zero", f.negative_zero),
            ("infinity", inf), ("nan", nan),
            ("+inf code", None if f.code_of_inf is None else hex_code(f.code_of_inf, f)),
            ("-inf code", None if f.code_of_neginf is None else hex_code(f.code_of_neginf, f)),
            ("nan code", None if f.code_of_nan is None else hex_code(f.code_of_nan, f)),
            ("max code", hex_code(f.max_code_magnitude, f)),
            ("overflow (saturation=none)", "inf" if f.code_of_inf is not None
             else ("nan" if f.overflow_nan and f.code_of_nan is not None else "max")),
            ("other", extra),
        ]
    else:
        rows += [
            ("signed", f.signed), ("symmetric", f.symmetric), ("scale", f"2^{f.scale_exp}"),
            ("min int", f.min_int), ("max int", f.max_int),
            ("max", repr(f.max)), ("min", repr(f.min)), ("unit", _pow2(f.eps)),
            ("representation", extra),
        ]
    return [{"property": k, "value": v} for k, v in rows]


def code_rows(fmt) -> list[dict]:
    """Every code of a format (at most 16 bits): hex, fields, value, class.

    Examples
    --------
    >>> from numfmt import tables
    >>> tables.code_rows("e4m3")[0x7F]
    {'code': '0x7f', 'fields': '0|1111|111', 'value': 'nan', 'class': 'nan'}
    """
    f = get_format(fmt)
    if f.bits > 16:
        raise ValueError(f"table lists at most 2**16 codes; {f.name} has {f.bits} bits")
    rows = []
    for c in range(1 << f.bits):
        cls = code_class(c, f)
        if cls == "unused":
            val = "-"
        else:
            v = f.exact_value(c)
            val = value_str(v) if isinstance(v, Fraction) else repr(v)
            if cls == "zero" and isinstance(f, FloatFormat) and c & f.sign_bit:
                val = "-0.0"
        rows.append({"code": hex_code(c, f), "fields": fields(c, f), "value": val, "class": cls})
    return rows
