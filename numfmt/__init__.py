"""numfmt: bit-exact low-precision number formats, rounding and arithmetic.

Codes are the truth: encoded arrays are unsigned integer codes and values are
derived from them. Every conversion rule (rounding, saturation, NaN) is an
explicit keyword.

>>> import numfmt
>>> hex(numfmt.encode(1.0, "e4m3"))
'0x38'
"""

from __future__ import annotations

from .arith import add, div, fma, mul, sqrt, sub
from .codec import decode, encode, quantize
from .compare import compare
from .explain import explain
from .formats import FloatFormat, IntFormat
from .presets import get_format, list_formats, p3109_format, register_format

__version__ = "0.1.0"

__all__ = [
    "add",
    "div",
    "fma",
    "mul",
    "sqrt",
    "sub",
    "FloatFormat",
    "compare",
    "explain",
    "IntFormat",
    "decode",
    "encode",
    "get_format",
    "list_formats",
    "p3109_format",
    "quantize",
    "register_format",
]
