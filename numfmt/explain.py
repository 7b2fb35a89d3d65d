"""Why did this value round here? `explain(x, fmt, **policy)`.

For one input value [`explain`][numfmt.explain.explain] reports its two neighbours in
the target format, its exact position between them in ulps, the guard, round
and sticky bits, whether it is a tie, which rule of the rounding policy chose
the result, and the overflow/saturation decision.

Every line is read from the trace of the exact reference,
`numfmt.reference.round_trace`, which rounds
as IEEE P3109 Interim Report v4.0 §4.7.4 formulates it:
`Q = max(floor(log2|x|), emin) - m`, `S~ = |x| / 2**Q`, `nu = S~ - floor(S~)`;
the result is `floor(S~)` or `floor(S~) + 1` ("away from zero"), then overflow
and saturation are applied. `explain` only turns the policy into the
reference's arguments (the `nan=` code, a compatibility profile's rule
changes, the random bits `encode` would draw) and prints the trace. The test
suite checks that the code equals [`numfmt.encode`][numfmt.encode] for every
format and policy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .block.formats import is_block_format
from .engine import to_float32
from .formats import IntFormat
from .interop import as_numpy
from .plan import funnel_params, make_plan, random_spec
from .policy import ROUNDINGS, SATURATIONS
from .reference import Neighbour, Overrides, Trace, flush_code, flush_input, round_trace
from .reference import decode as exact_value
from .reference import encode as exact_encode
from .steps import check_steps
from .tables import fields, hex_code, value_str

__all__ = ["explain", "Explanation", "Neighbour"]


@dataclass(frozen=True)
class Explanation:
    """The result of [`explain`][numfmt.explain.explain]; `str()` prints it, `to_dict()` gives JSON-safe data.

    Every field but `x`, `x_dtype`, `policy` and `notes` is a field of `trace`
    (the code and value after a compatibility profile's post-step, which a
    note reports).
    """

    x: float | int
    x_dtype: str
    format: object
    policy: dict
    kind: str  # "nan", "infinite", "zero", "finite"
    negative: bool
    x_exact: Fraction | None
    exact: bool
    toward_zero: Neighbour | None
    away_from_zero: Neighbour | None
    ulp: Fraction | None
    position: Fraction | None  # nu: |x| lies this many ulps above the toward-zero neighbour
    guard: int | None
    round: int | None
    sticky: int | None
    tie: bool
    random_bits: int | None
    direction: str  # "exact", "toward zero", "away from zero", "-"
    rule: str
    overflow: str
    code: int
    value: Fraction | float
    notes: tuple = field(default=())
    trace: Trace | None = field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------------ output
    def __str__(self) -> str:
        f = self.format
        pol = ", ".join(f"{k}={v}" for k, v in self.policy.items())
        lines = [f"explain {_xstr(self.x)} -> {f.name}  ({pol})"]

        def row(k, v):
            lines.append(f"  {k:<13}{v}")

        x_repr = _xstr(self.x) + f" ({self.x_dtype})"
        if self.x_exact and value_str(self.x_exact) != _xstr(self.x):
            x_repr += f" = {value_str(self.x_exact)}"
        row("input", x_repr)
        row("class", self.kind + (" (exactly representable)" if self.exact else ""))
        if self.toward_zero is not None:
            row("toward zero", _nb(self.toward_zero, f))
            row("away", _nb(self.away_from_zero, f))
            row("ulp", _ulp_str(self.ulp))
            row("position", f"{value_str(self.position)} ulp past the toward-zero neighbour"
                + f" (guard {self.guard}, round {self.round}, sticky {self.sticky})")
            row("tie", "yes" if self.tie else "no")
            if self.random_bits is not None:
                row("random bits", f"R = {self.random_bits} (N = {self.policy.get('rbits', 32)})")
        row("rule", self.rule)
        row("overflow", self.overflow)
        for n in self.notes:
            row("note", n)
        row("result", f"{hex_code(self.code, f)} ({fields(self.code, f)}) = {_vstr(self.value)}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-safe dict (Fractions as `"p/q"` strings next to float approximations)."""
        f = self.format
        return {
            "input": _jfloat(self.x) if isinstance(self.x, float) else int(self.x),
            "input_dtype": self.x_dtype,
            "input_exact": None if self.x_exact is None else value_str(self.x_exact),
            "format": f.name,
            "policy": dict(self.policy),
            "class": self.kind,
            "negative": self.negative,
            "exact": self.exact,
            "toward_zero": None if self.toward_zero is None else self.toward_zero.to_dict(f),
            "away_from_zero": None if self.away_from_zero is None else self.away_from_zero.to_dict(f),
            "ulp": None if self.ulp is None else value_str(self.ulp),
            "position": None if self.position is None else value_str(self.position),
            "guard": self.guard, "round": self.round, "sticky": self.sticky,
            "tie": self.tie,
            "random_bits": self.random_bits,
            "direction": self.direction,
            "rule": self.rule,
            "overflow": self.overflow,
            "notes": list(self.notes),
            "code": self.code,
            "code_hex": hex_code(self.code, f),
            "fields": fields(self.code, f),
            "value": value_str(self.value) if isinstance(self.value, Fraction) else _jfloat(self.value),
        }


def _jfloat(v: float):
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    return v


def _xstr(x) -> str:
    if isinstance(x, float):
        return repr(x)
    return str(x)


def _vstr(v) -> str:
    return value_str(v) if isinstance(v, Fraction) else repr(v)


def _ulp_str(u: Fraction) -> str:
    e = u.numerator.bit_length() - u.denominator.bit_length()
    return f"{value_str(u)} (2^{e})"


def _nb(n: Neighbour, f) -> str:
    s = "0.0" if n.value == 0 else value_str(n.value)
    if n.code is not None:
        s += f" = {hex_code(n.code, f)} ({fields(n.code, f)})"
    return s + (f"  ({n.note})" if n.note else "")


def _input(x):
    """(python value, dtype name, array for encode)."""
    if isinstance(x, (str, bytes)) or isinstance(x, (bool, np.bool_)):
        raise TypeError(f"x must be a real number (float, int or numpy scalar), got {type(x).__name__}: {x!r}")
    if isinstance(x, Fraction):
        raise TypeError("x must be a float or int (encode cannot take a Fraction); got a Fraction")
    arr = np.asarray(as_numpy(x))  # torch tensors (bfloat16, float8, requires_grad) too
    if arr.ndim != 0:
        raise ValueError(f"x must be one scalar value, got an array of shape {arr.shape}")
    dt = arr.dtype
    if dt.kind in "iu":
        return int(arr), str(dt), arr
    if dt.kind == "f" or dt.kind == "V":
        try:
            return float(arr), dt.name, arr
        except (TypeError, ValueError):
            pass
    raise TypeError(f"x must be a real number, got dtype {dt}")


# the kernel-parameter fields whose changes Overrides expresses (the others follow from them)
_NAN_FIELDS = {"NAN", "NNAN"}
_GRID_FIELDS = {"EMIN", "OFF", "FTZ"}
_INT_FIELDS = {"MAXMAG", "MAXMAG_NEG", "TWOS", "SIGNED", "MASK", "ECAP"}


def _overrides(f, params) -> Overrides | None:
    """The rule changes a plan makes to the format's own rules, in the reference's terms.

    A `nan=` policy code and a compatibility profile (see `numfmt.compat`)
    change a few kernel parameters; anything else is refused rather than silently ignored.
    """
    own = funnel_params(f)  # (64-bit formats: the magnitude funnel's parameters)
    changed = {k for k in own._fields if getattr(params, k) != getattr(own, k)}
    known = _NAN_FIELDS | {"EVEN_N"} | (_INT_FIELDS if isinstance(f, IntFormat) else _GRID_FIELDS)
    if changed - known:
        raise NotImplementedError(f"explain cannot express kernel parameter fields {sorted(changed - known)}")
    kw = {}
    if changed & _NAN_FIELDS:
        kw["nan_codes"] = (int(params.NAN), int(params.NNAN))
    if params.EVEN_N:
        kw["parity"] = "significand"
    if changed & _GRID_FIELDS and not isinstance(f, IntFormat):
        kw["flush_below"] = int(params.EMIN)
    if changed & _INT_FIELDS and isinstance(f, IntFormat):
        kw["int_range"] = (-int(params.MAXMAG_NEG), int(params.MAXMAG))
    return Overrides(**kw) if kw else None



def explain(x, fmt, *, rounding="nearest_even", saturation="none", nan="raise", random=None,
            rbits=None, compat=None, daz=False, ftz=False, via=None, index: int = 0) -> Explanation:
    """Explain how one value is encoded into `fmt` under a policy.

    Parameters
    ----------
    x : float, int or numpy scalar
        The value (float16/32/64 or an integer; its exact value is used).
    fmt : str or format
        Target element format.
    rounding, saturation, nan, random, rbits, compat, daz, ftz, via
        As for [`numfmt.encode`][numfmt.encode] (the `daz`, `via` and `ftz` steps appear as notes;
        the trace is the rounding into `fmt`). For stochastic roundings `random` is a
        seed (bits of flat element `index`, as `encode` would draw them) or
        an array holding the one value R (or the bits of every element: element
        `index` is used).
    index : int
        Flat element index whose random bits a seed or an array selects
        (default 0; below 2**63).

    Returns
    -------
    Explanation
        `str()` is a report; `.code` equals `numfmt.encode(x, fmt, ...)`;
        `.trace` is the reference's `Trace`.

    Examples
    --------
    >>> import numfmt
    >>> e = numfmt.explain(1.0625, "e4m3")
    >>> e.tie, e.position, hex(e.code)
    (True, Fraction(1, 2), '0x38')
    >>> print(e)                                             # doctest: +NORMALIZE_WHITESPACE
    explain 1.0625 -> float8_e4m3fn  (rounding=nearest_even, saturation=none, nan=raise)
      input        1.0625 (float64)
      class        finite
      toward zero  1.0 = 0x38 (0|0111|000)
      away         1.125 = 0x39 (0|0111|001)
      ulp          0.125 (2^-3)
      position     0.5 ulp past the toward-zero neighbour (guard 1, round 0, sticky 0)
      tie          yes
      rule         nearest_even: a tie; 0x38 is even, keep it (toward zero)
      overflow     no: |1.0| <= max 448.0
      result       0x38 (0|0111|000) = 1.0
    """
    if is_block_format(fmt):
        raise ValueError(f"explain takes an element format, got block format {fmt!r}; "
                         "explain the element or scale format instead")
    xv, x_dtype, xarr = _input(x)
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < 1 << 63:
        raise ValueError(f"index must be a non-negative int below 2**63 (a flat element index), got {index!r}")
    plan = make_plan(fmt, rounding, saturation, nan, compat)
    f = plan.fmt
    rname = next(k for k, v in ROUNDINGS.items() if v == plan.mode)
    sname = next(k for k, v in SATURATIONS.items() if v == plan.sat)
    policy = {"rounding": rname, "saturation": sname, "nan": nan}
    if compat is not None:
        policy["compat"] = compat
    kw = {"rounding": rname, "saturation": sname, "overrides": _overrides(f, plan.params)}
    if rname.startswith("stochastic"):
        # (an array of bits is checked as it is: never broadcast to index + 1 elements)
        own = np.shape(random) if isinstance(random, (np.ndarray, list, tuple)) else (1,)
        rkind, rarr, key, nbits = random_spec(random, rbits, plan.mode, own)
        policy["rbits"] = nbits
        from ._kernels.streams import random_bits  # lazy: numba loads on the first kernel call

        if rkind == 1 and rarr.size != 1 and index >= rarr.size:
            raise ValueError(f"index={index} is beyond the {rarr.size} elements of the random array")
        R = rarr[min(index, rarr.size - 1)] if rkind == 1 else random_bits(key, int(index), nbits)
        kw.update(R=int(R), N=nbits)
    else:
        random_spec(random, rbits, plan.mode, (1,))
    notes: list[str] = []
    x_exact = None
    steps = check_steps(f, daz=daz, via=via, ftz=ftz, rounding=rounding, compat=compat)
    x_round = xv  # the value the rounding into fmt sees (after the daz and via steps)
    if steps.daz is not None:
        val = np.asarray(xarr).reshape(())[()]
        flushed = flush_input(val, steps.daz if steps.daz is True else steps.daz.name)
        if flushed is not val:
            notes.append(f"daz: the input {_xstr(xv)} is subnormal in its input format: treated as {flushed}")
            x_exact = Fraction(xv)
            xarr = np.asarray(flushed)
            x_round = flushed
    if steps.via is not None:
        vcode = exact_encode(x_round, steps.via, rounding=rname, saturation=sname)
        vval = exact_value(vcode, steps.via)
        notes.append(f"via: first rounded into {steps.via.name}: {hex_code(vcode, steps.via)} = {_vstr(vval)}")
        if x_exact is None and (isinstance(xv, int) or math.isfinite(xv)):
            x_exact = Fraction(xv)
        x_round = vval
        xarr = np.asarray(float(vval))
    if plan.pre is not None:
        pre = np.asarray(plan.pre(np.asarray(xarr).reshape(1), to_float32)).reshape(())
        new_xv = float(pre) if pre.dtype.kind == "f" else int(pre)
        if new_xv != xv and not (new_xv != new_xv and xv != xv):
            notes.append(f"compat={compat}: the input is first converted to {_xstr(new_xv)} ({pre.dtype})")
        if isinstance(xv, int) or math.isfinite(xv):
            x_exact = Fraction(xv)
        xarr, xv_in = pre, new_xv
    else:
        xv_in = x_round
    try:
        t = round_trace(xv_in, f, **kw)
    except ValueError:
        if plan.nan_raise:
            raise ValueError(f"x is NaN and format {f.name} has no NaN; pass nan='zero' or nan='max' "
                             "to choose a code") from None
        raise
    code, value = t.code, t.value
    if plan.post is not None:  # a profile's bit-level rewrite of the code (NaN payloads, wrap-around)
        codes = np.array([code], np.dtype(f.code_dtype))
        plan.post(np.asarray(xarr).reshape(1), codes)
        if int(codes[0]) != code:
            notes.append(f"compat={compat} post-processing changes {hex_code(code, f)} to "
                         f"{hex_code(int(codes[0]), f)}")
            code = int(codes[0])
            value = exact_value(code, f)
    if steps.ftz:
        flushed = flush_code(code, f)
        if flushed != code:
            notes.append(f"ftz: {hex_code(code, f)} is subnormal: flushed to {hex_code(flushed, f)}")
            code = flushed
            value = exact_value(code, f)
    for k, v in (("daz", daz), ("ftz", ftz), ("via", via)):
        if v is not False and v is not None:
            policy[k] = v if not hasattr(v, "name") else v.name
    return Explanation(
        x=xv, x_dtype=x_dtype, format=f, policy=policy, kind=t.kind, negative=t.negative,
        x_exact=t.x if (plan.pre is None and x_exact is None) else x_exact, exact=t.exact, toward_zero=t.toward_zero,
        away_from_zero=t.away_from_zero, ulp=t.ulp, position=t.position, guard=t.guard, round=t.round,
        sticky=t.sticky, tie=t.tie, random_bits=t.R, direction=t.direction, rule=t.rule, overflow=t.overflow,
        code=code, value=value, notes=tuple(notes), trace=t,
    )

