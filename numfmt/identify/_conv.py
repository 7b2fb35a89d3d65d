"""`identify` for element formats: search encode keyword sets on a sample, confirm on every element."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np

from ..choices import check_choice
from ..compare import compare
from ..compare._classify import INTERMEDIATES
from ..compat import PROFILES, covered_formats
from ..formats import FloatFormat
from ..frontend import encode
from ..interop import as_numpy
from ..presets import get_format
from ..steps import input_subnormal_mask, input_tiny
from ._result import Identification

__all__ = ["ROUNDINGS", "DEFAULT_VIAS", "RULE_KEYS", "check_candidates", "check_max_results", "float_input",
           "unsigned_view", "conversion_candidates", "describe", "dump_codes", "search"]

ROUNDINGS = ("nearest_even", "nearest_away", "toward_zero", "toward_positive", "toward_negative", "to_odd",
             "nearest_toward_zero")  # (the deterministic modes; ties broken to even, away, toward zero)
SATURATIONS = ("none", "finite", "propagate")
DEFAULT_VIAS = INTERMEDIATES  # (the intermediate formats compare's double-rounding class tries)
SAMPLE = 4096  # random elements of the search sample (plus up to as many the plain rule gets wrong)
CONFIRM = 12  # candidates confirmed on every element at most (the best of the sample first)
RULE_KEYS = ("rounding", "saturation", "nan", "via", "daz", "ftz", "compat")  # the encode keywords a rule sets


def check_candidates(candidates, keys=RULE_KEYS, what="encode") -> list[dict]:
    """`candidates` as a list of dicts, each key one of `keys`; TypeError/ValueError naming `candidates`."""
    if isinstance(candidates, (str, Mapping)) or not hasattr(candidates, "__iter__"):
        raise TypeError(f"candidates must be a list of dicts of {what} keywords, got {type(candidates).__name__}")
    out = []
    for i, c in enumerate(candidates):
        if not isinstance(c, Mapping):
            raise TypeError(f"candidates[{i}] must be a dict of {what} keywords, got {type(c).__name__}: {c!r}")
        for k in c:
            check_choice(f"candidates[{i}] keyword", k, keys)
        out.append(dict(c))
    if not out:
        raise ValueError("candidates is empty")
    return out


def float_input(dt: np.dtype) -> bool:
    """Whether inputs of dtype `dt` are floats: numpy floats, or ml_dtypes floats (bfloat16, float8_*)."""
    return dt.kind == "f" or (dt.kind == "V" and input_tiny(True, dt) > 0)


def unsigned_view(arr: np.ndarray) -> np.ndarray:
    """A signed-integer array (`tensor.view(torch.int8)`) viewed as the unsigned integers of the same
    width (the codes it holds); any other array as it is."""
    return arr.view(arr.dtype.str.replace("i", "u")) if arr.dtype.kind == "i" else arr


def check_max_results(max_results) -> None:
    """ValueError unless `max_results` is a positive int."""
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise ValueError(f"max_results must be a positive int, got {max_results!r}")


def dump_codes(actual, f, name: str = "actual") -> np.ndarray:
    """`actual` as unsigned codes of `f`: int8/int16/int32/int64 dumps (`tensor.view(torch.int8)`) are
    reinterpreted as the unsigned integers of the same width, then checked to lie in the format's range."""
    arr = unsigned_view(np.asarray(as_numpy(actual, name)))
    if arr.dtype.kind not in "u":
        raise TypeError(f"{name} must hold integer codes, got dtype {arr.dtype}")
    if arr.size and int(arr.max()) >= (1 << f.bits):
        raise ValueError(f"{name} contains {int(arr.max()):#x}, outside 0..{(1 << f.bits) - 1:#x} of {f.name}")
    return arr


def conversion_candidates(fmt, x=None, *, vias=DEFAULT_VIAS):
    """The default search space of `identify` for element format `fmt`: a list of encode keyword dicts,
    simplest first (fewest non-default keywords).

    Dimensions: `rounding` (the seven deterministic modes: ties to even, away and toward zero, the three
    directed modes, to_odd), `saturation` (none/finite/propagate, when `x`
    overflows or holds ±inf), `nan` (zero/max for a format without NaN when `x` holds NaN), `via`
    (each of `vias` more precise than `fmt`; binary32 only for float64 inputs), `daz` (when `x` holds
    subnormals of its dtype), `ftz` (float formats with subnormals), and each `compat` profile that
    covers `fmt` (with the roundings). Knowing `x` prunes the dimensions that cannot matter.

    Examples
    --------
    >>> from numfmt.identify import conversion_candidates
    >>> c = conversion_candidates("e4m3", [1.0, 1000.0])
    >>> c[0], len(c) > 100
    ({}, True)
    """
    f = get_format(fmt)
    xa = None if x is None else np.asarray(as_numpy(x))
    flo = float_input(xa.dtype) if xa is not None else True
    xv = xa.astype(np.float64) if xa is not None and xa.dtype.kind == "V" and flo else xa  # (ml_dtypes: values)
    finite = None if xa is None or not flo else np.isfinite(xv)
    dims = [("rounding", ROUNDINGS)]
    if xa is None or (flo and (not finite.all() or (np.abs(np.where(finite, xv, 0)) > f.max).any())) or (
            not flo and xa.size and np.abs(xa.astype(np.float64)).max() > f.max):
        dims.append(("saturation", SATURATIONS))
    nan_in = xa is None or (flo and np.isnan(xv).any())
    if f.code_of_nan is None if isinstance(f, FloatFormat) else True:
        dims.append(("nan", ("zero", "max") if nan_in else ("raise",)))
    precision = f.precision if isinstance(f, FloatFormat) else f.bits
    wide = xa is None or xa.dtype == np.float64 or not flo
    via = [None] + [v for v in vias if get_format(v).precision > precision and get_format(v) != f
                    and (get_format(v).name != "binary32" or wide)]
    dims.append(("via", tuple(via)))
    if xa is None or input_subnormal_mask(xa).any():
        dims.append(("daz", (False, True)))
    if isinstance(f, FloatFormat) and f.subnormals and f.mantissa_bits > 0:
        dims.append(("ftz", (False, True)))
    defaults = {"rounding": "nearest_even", "saturation": "none", "nan": "raise", "via": None, "daz": False,
                "ftz": False}
    out = []
    for combo in itertools.product(*(vals for _, vals in dims)):
        out.append({k: v for (k, _), v in zip(dims, combo, strict=True) if v != defaults[k]
                    or (k == "nan" and v != "raise")})
    for prof in PROFILES:
        if f.name in covered_formats(prof):
            out += [{"compat": prof, **({"rounding": r} if r != "nearest_even" else {})} for r in ROUNDINGS]
            names = {k for k, _ in dims}
            nan_opts = [{"nan": n} for n in ("zero", "max")] if "nan" in names and nan_in else [{}]
            sats = ("finite", "propagate") if "saturation" in names else ()
            out += [{"compat": prof, "saturation": s, **n} for s in sats for n in nan_opts]
    out.sort(key=len)
    return out


def describe(rule: dict) -> str:
    """One readable line for an encode keyword dict."""
    if not rule:
        return "round to nearest, ties to even (the defaults)"
    parts = []
    for k, v in rule.items():
        if k == "via":
            parts.append(f"through {get_format(v).name} first (double rounding)")
        elif k == "daz":
            parts.append("input subnormals as zero (daz)" if v is True else f"inputs below {v}'s normals as zero")
        elif k == "ftz":
            parts.append("subnormal results flushed to zero (ftz)")
        elif k == "scale_offset":
            parts.append(f"scale {v:+d} off the rule")
        else:
            parts.append(f"{k}={v}")
    return ", ".join(parts)


def _run(rule: dict, x, f):
    try:
        return encode(x, f, **rule)
    except (ValueError, TypeError):
        return None


def search(x, actual, fmt, *, candidates=None, max_results=5, sample=SAMPLE, seed=0):
    """`identify` for an element format (see there)."""
    f = get_format(fmt)
    xa = np.asarray(as_numpy(x, "x"))
    if xa.dtype.kind not in "fiu" and not float_input(xa.dtype):
        raise TypeError(f"x must be numeric, got dtype {xa.dtype}")
    codes = dump_codes(actual, f)
    if codes.shape != xa.shape:
        raise ValueError(f"actual has shape {codes.shape} but x has shape {xa.shape}")
    cands = conversion_candidates(f, xa) if candidates is None else check_candidates(candidates)
    xf, cf = xa.reshape(-1), codes.reshape(-1).astype(np.int64)
    n = xf.size
    rng = np.random.default_rng(seed)
    idx = np.arange(n) if n <= 2 * sample else np.sort(rng.choice(n, sample, replace=False))
    if n > 2 * sample:  # the elements the first candidate gets wrong tell the rules apart
        first = _run(cands[0], xf, f)
        if first is not None:
            wrong = np.flatnonzero(first.astype(np.int64) != cf)[:sample]
            idx = np.union1d(idx, wrong)
    xs, cs = xf[idx], cf[idx]
    scored = []  # (sample matches, -order, rule)
    confirmed: dict[int, int] = {}
    failed = set()  # candidates that run on the sample but raise on the whole input (e.g. a NaN outside it)

    def confirm(order, rule):
        full = _run(rule, xf, f)
        if full is None:
            failed.add(order)
        else:
            confirmed[order] = int((full.astype(np.int64) == cf).sum())

    for order, rule in enumerate(cands):
        got = _run(rule, xs, f)
        if got is None:
            continue
        m = int((got.astype(np.int64) == cs).sum())
        scored.append((m, -order, rule))
        if m == idx.size and len(confirmed) < CONFIRM:
            confirm(order, rule)
            if confirmed.get(order) == n:
                break
    scored.sort(key=lambda t: (t[0], t[1]), reverse=True)
    results = []
    for m, neg, rule in scored[: max(max_results, 1) * 3]:
        order = -neg
        if order not in confirmed and order not in failed and len(confirmed) < CONFIRM + max_results:
            confirm(order, rule)
        if order in failed:
            continue
        if order in confirmed:
            results.append((confirmed[order], True, order, rule))
        else:
            results.append((m, False, order, rule))
    results.sort(key=lambda t: ((t[0] / n) if t[1] else (t[0] / idx.size), t[1], -t[2]), reverse=True)
    out = []
    for k, (m, conf, _, rule) in enumerate(results[:max_results]):
        total = n if conf else idx.size
        residual = {}
        if conf and m < total and k < 3:
            residual = dict(compare(actual=cf.reshape(codes.shape), expected=encode(xa, f, **rule), fmt=f,
                                    x=_compare_x(xa), max_examples=0).classes)
        out.append(Identification(fraction=m / total if total else 1.0, matched=m, total=total,
                                  description=describe(rule), rule=dict(rule), kind="conversion", confirmed=conf,
                                  residual=residual, applier=_applier(f, rule)))
    return tuple(out)


def _compare_x(xa: np.ndarray):
    """`xa` as compare's `x=` takes it: numpy floats as they are, ml_dtypes floats as (exact) float32."""
    if xa.dtype.kind == "f":
        return xa
    return xa.astype(np.float32) if float_input(xa.dtype) else None


def _applier(f, rule):
    def apply(x):
        return encode(x, f, **rule)

    return apply
