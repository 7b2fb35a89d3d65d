"""Formats with a per-tensor exponent bias, given as data: [`with_bias`][numfmt.with_bias].

The bias is a field of [`FloatFormat`][numfmt.FloatFormat] (`bias`: a normal code with
exponent field `e` has value `1.m * 2**(e - bias)`), so every verb (encode, decode, quantize,
block formats) honours it. `with_bias(fmt, bias)` gives the format with another bias,
checked against the biases its hardware family allows (`BIAS_FAMILIES`); it registers
nothing, so one format object per bias in use is all there is.

Families (presets with their default bias, docs/formats.md has the table):

* `cfloat8_1_4_3`, `cfloat8_1_5_2`: Tesla CFloat8 (Tesla, "Dojo Technology: A Guide to
  Tesla's Configurable Floating Point Formats & Arithmetic", 2021): sign, 4 (5) exponent
  and 3 (2) fraction bits, a 6-bit unsigned bias 0..63, the all-ones exponent an ordinary
  binade (no infinity, no NaN), denormals at exponent field 0. numfmt's default bias is the
  IEEE-style 7 (15).
* `gaudi2_e4m3`: Intel Gaudi2 FP8 E4M3 with the exponent biases {3, 7, 11, 15} of Intel
  Neural Compressor's Gaudi2 tables (`EXP_BIAS_SETS`); IEEE-style specials (the all-ones
  exponent is ±inf and NaN), largest finite value 240 * 2**(7 - bias) (`MAX_RANGE`
  = 2**(16 - 2 - 7) * (2 - 2**-3) = 240 at the default bias 7).
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from .formats import FloatFormat
from .presets import get_format

__all__ = ["with_bias", "BIAS_FAMILIES"]

# family preset name -> the exponent biases its hardware accepts
BIAS_FAMILIES = {
    "cfloat8_1_4_3": tuple(range(64)),
    "cfloat8_1_5_2": tuple(range(64)),
    "gaudi2_e4m3": (3, 7, 11, 15),
}
_SUFFIX = re.compile(r"^(.+)_b(\d+)$")


def family_of(f) -> str | None:
    """The bias family of format `f` (the preset with every field but `name` and `bias` equal), or None."""
    if not isinstance(f, FloatFormat):
        return None
    m = _SUFFIX.match(f.name)
    for base in (f.name, m.group(1) if m else None):
        if base in BIAS_FAMILIES:
            p = get_format(base)
            if dataclasses.replace(p, name=f.name, bias=f.bias) == f:
                return base
    return None


def with_bias(fmt, bias: int) -> FloatFormat:
    """`fmt` with exponent bias `bias`: same fields, values scaled by `2**(old bias - bias)`.

    Parameters
    ----------
    fmt : str or FloatFormat
        A float format; for a bias family (`"cfloat8_1_4_3"`, `"cfloat8_1_5_2"`,
        `"gaudi2_e4m3"`) the bias must be one its hardware accepts (`BIAS_FAMILIES`).
    bias : int
        The new bias. Any other format takes any int bias that keeps its values in binary64.

    Returns
    -------
    FloatFormat
        Named `"<family or name>_b<bias>"` (the preset itself at its own bias); not registered.

    Examples
    --------
    >>> import numfmt
    >>> f = numfmt.with_bias("cfloat8_1_4_3", 11)
    >>> f.name, f.max, f.smallest_subnormal
    ('cfloat8_1_4_3_b11', 30.0, 0.0001220703125)
    >>> numfmt.encode([1.0, 30.0, 100.0], f, saturation="finite").tolist()
    [88, 127, 127]
    >>> numfmt.with_bias("gaudi2_e4m3", 11).max
    15.0
    """
    f = get_format(fmt)
    if not isinstance(f, FloatFormat):
        raise TypeError(f"with_bias needs a float format, got {type(f).__name__} {f.name}")
    if isinstance(bias, bool) or not isinstance(bias, (int, np.integer)):
        raise TypeError(f"bias must be an int, got {bias!r}")
    bias = int(bias)
    fam = family_of(f)
    if fam is not None:
        allowed = BIAS_FAMILIES[fam]
        if bias not in allowed:
            span = (f"{allowed[0]}..{allowed[-1]}" if allowed == tuple(range(allowed[0], allowed[-1] + 1))
                    else ", ".join(map(str, allowed)))
            raise ValueError(f"bias={bias} is not a bias of {fam} (allowed: {span})")
        base = get_format(fam)
    else:
        if f.bits == 64:
            raise ValueError("binary64 has a fixed bias")
        m = _SUFFIX.match(f.name)
        base = f
        if m:
            try:
                b = get_format(m.group(1))
            except ValueError:
                b = None
            if isinstance(b, FloatFormat) and dataclasses.replace(b, name=f.name, bias=f.bias) == f:
                base = b
    if bias == base.bias:
        return base
    new = dataclasses.replace(base, name=f"{base.name}_b{bias}", bias=bias)
    if not new.exact_in(np.dtype(np.float64)):
        raise ValueError(f"bias={bias} puts the values of {base.name} outside binary64 "
                         f"(emin {new.emin}, emax {new.emax})")
    return new


_NONE = "none (all-ones exponent is a binade)"
_SPECIALS = {"cfloat8_1_4_3": _NONE, "cfloat8_1_5_2": _NONE, "gaudi2_e4m3": "IEEE: ±inf, NaN at the all-ones exponent"}


def bias_table() -> str:
    """Markdown table of the bias families (docs/formats.md), computed from the formats."""
    rows = ["| family | layout | specials | biases | default | largest value (lowest … highest bias) "
            "| smallest subnormal (lowest … highest bias) |", "|---|---|---|---|---|---|---|"]
    for fam, allowed in BIAS_FAMILIES.items():
        p = get_format(fam)
        lo, hi = with_bias(fam, allowed[0]), with_bias(fam, allowed[-1])
        span = (f"{allowed[0]}…{allowed[-1]}" if allowed == tuple(range(allowed[0], allowed[-1] + 1))
                else ", ".join(map(str, allowed)))
        rows.append(f"| `{fam}` | e{p.exponent_bits}m{p.mantissa_bits} | {_SPECIALS[fam]} | {span} | {p.bias} | "
                    f"{lo.max:.6g} … {hi.max:.6g} | {lo.smallest_subnormal:.6g} … {hi.smallest_subnormal:.6g} |")
    return "\n".join(rows)
