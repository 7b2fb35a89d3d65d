"""Three optional conversion steps around the rounding: `daz=`, `via=` and `ftz=` of `encode`.

Each is a composition of exact operations that already exist; none changes the rounding itself
(`numfmt._kernels.round.round_pack` stays the only rounding definition). In the order applied:

1. `daz` (input denormals are zero): a nonzero finite input whose magnitude is below the
   smallest normal of the *input* format becomes a zero of the same sign. `daz=True` takes the
   input's floating dtype (float16, float32 or float64; torch/ml_dtypes low-precision inputs are
   read as float32); a format name (`daz="bfloat16"`) takes that format's smallest normal.
   Integer inputs have no subnormals and are left alone by `daz=True`.
2. `via` (double rounding): the value is first rounded into the format `via` with the same
   rounding, saturation and NaN policy and decoded exactly, then rounded into the target.
3. `ftz` (output flush to zero): a *result* that is subnormal in the target (exponent field 0,
   mantissa not 0) becomes the zero of its sign (+0 where the format has no -0). Decided on the
   rounded result, so a value that rounds up to the smallest normal is kept. Only float formats
   (a format without subnormals is left as it is).

`numfmt.reference.encode` applies the same steps to one exact value, so `explain` and the
reference agree with `encode`.

Examples
--------
>>> import numfmt
>>> hex(numfmt.encode(2.0**-8, "e4m3")), hex(numfmt.encode(2.0**-8, "e4m3", ftz=True))
('0x2', '0x0')
>>> x = 1 + 2.0**-4 + 2.0**-9          # just above a midpoint of e4m3, just below one of bfloat16
>>> hex(numfmt.encode(x, "e4m3")), hex(numfmt.encode(x, "e4m3", via="bfloat16"))
('0x39', '0x38')
"""

from __future__ import annotations

import numpy as np

from .formats import FloatFormat
from .policy import is_stochastic, parse_rounding
from .presets import get_format

__all__ = ["Steps", "check_steps", "flush_inputs", "flush_outputs", "input_subnormal_mask", "input_tiny",
           "subnormal_code_mask", "zero_codes"]


class Steps:
    """The checked `daz=`/`via=`/`ftz=` of one call: `daz` (None or the input-normal threshold rule:
    True for the input dtype, else a format), `via` (None or a format), `ftz` (bool)."""

    __slots__ = ("daz", "ftz", "via")

    def __init__(self, daz, via, ftz):
        self.daz, self.via, self.ftz = daz, via, ftz

    @property
    def active(self) -> bool:
        return self.daz is not None or self.via is not None or self.ftz


def check_steps(fmt, *, daz=False, via=None, ftz=False, rounding="nearest_even", compat=None) -> Steps:
    """`daz=`, `via=`, `ftz=` checked against the target `fmt` (a format) and the other keywords.

    Examples
    --------
    >>> from numfmt.steps import check_steps
    >>> s = check_steps(get_format("e4m3"), daz=True, via="bfloat16")
    >>> s.daz, s.via.name, s.ftz
    (True, 'bfloat16', False)
    """
    if isinstance(daz, (bool, np.bool_)):
        daz_rule = True if daz else None
    elif isinstance(daz, str) or isinstance(daz, FloatFormat):
        daz_rule = get_format(daz)
        if not isinstance(daz_rule, FloatFormat):
            raise ValueError(f"daz= names the input format whose subnormals become zero; {daz_rule.name} is not a "
                             "float format")
    else:
        raise TypeError(f"daz must be a bool or a float format name, got {type(daz).__name__}: {daz!r}")
    if not isinstance(ftz, (bool, np.bool_)):
        raise TypeError(f"ftz must be a bool, got {type(ftz).__name__}: {ftz!r}")
    if ftz and not isinstance(fmt, FloatFormat):
        raise ValueError(f"ftz=True flushes subnormal results of a float format; {fmt.name} is not one")
    via_fmt = None
    if via is not None:
        if not isinstance(via, (str, FloatFormat)) and not hasattr(via, "name"):
            raise TypeError(f"via must be a format name or format, got {type(via).__name__}: {via!r}")
        via_fmt = get_format(via)
        if not isinstance(via_fmt, FloatFormat):
            raise ValueError(f"via= is an intermediate float format; {via_fmt.name} is not one")
        if is_stochastic(parse_rounding(rounding)[1]):
            raise ValueError("via= rounds twice with the same deterministic rounding; a stochastic rounding "
                             "has no defined second draw")
        if compat is not None:
            raise ValueError("via= cannot be combined with compat= (a compat profile fixes the whole conversion)")
    return Steps(daz_rule, via_fmt, bool(ftz))


def input_tiny(rule, dtype: np.dtype) -> float:
    """The smallest normal magnitude of the input under the `daz` rule (0.0 for integer inputs)."""
    if isinstance(rule, FloatFormat):
        return float(rule.smallest_normal)
    if dtype.kind == "V":  # ml_dtypes floats (bfloat16, float8_*): the normals of their format
        try:
            f = get_format(dtype.name)
        except (ValueError, TypeError, KeyError):
            return 0.0
        return float(f.smallest_normal) if isinstance(f, FloatFormat) else 0.0
    if dtype.kind != "f":
        return 0.0
    return float(np.finfo(dtype).tiny)


def input_subnormal_mask(x) -> np.ndarray:
    """Whether each x is a nonzero subnormal of its own float dtype (numpy float16/32/64, or an
    ml_dtypes float such as bfloat16); all False for other dtypes."""
    xa = np.asarray(x)
    if xa.dtype.kind == "f" and xa.dtype.type not in (np.float16, np.float32, np.float64):
        return np.zeros(xa.shape, bool)
    tiny = input_tiny(True, xa.dtype)
    if tiny == 0.0:
        return np.zeros(xa.shape, bool)
    a = np.abs(xa.astype(np.float64))
    return (a > 0) & (a < tiny)


def flush_inputs(xa: np.ndarray, rule, dtype: np.dtype) -> np.ndarray:
    """`xa` with the subnormal inputs (under the `daz` rule, input dtype `dtype`) made signed zeros;
    `xa` itself when there are none."""
    tiny = input_tiny(rule, np.dtype(dtype))
    if tiny == 0.0 or xa.dtype.kind != "f":
        return xa
    sub = (np.abs(xa) < tiny) & (xa != 0)
    if not sub.any():
        return xa
    res = xa.copy()
    res[sub] = np.copysign(0.0, xa[sub])
    return res


def zero_codes(f: FloatFormat) -> tuple[int, int]:
    """Codes of +0 and of -0 (+0 where the format has no -0) of a float format."""
    neg = f.sign_bit if (f.signed and f.negative_zero) else 0
    return 0, neg


def subnormal_code_mask(c: np.ndarray, f) -> np.ndarray:
    """Whether each code of `c` is a nonzero subnormal of format `f` (all False unless `f` is a float
    format with subnormals)."""
    if not isinstance(f, FloatFormat) or not f.subnormals or f.mantissa_bits == 0:
        return np.zeros(np.shape(c), bool)
    mag = c & np.asarray(f.all_ones, c.dtype)
    return (mag != 0) & (mag < np.asarray(1 << f.mantissa_bits, c.dtype))


def flush_outputs(codes: np.ndarray, f: FloatFormat) -> None:
    """Replace (in place) every subnormal code of float format `f` with the zero of its sign."""
    c = codes
    sub = subnormal_code_mask(c, f)
    if not sub.any():
        return
    pos, neg = zero_codes(f)
    if f.signed:
        negative = (c & np.asarray(f.sign_bit, c.dtype)) != 0
        c[sub & negative] = neg
        c[sub & ~negative] = pos
    else:
        c[sub] = pos

