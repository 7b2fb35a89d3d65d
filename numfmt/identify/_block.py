"""`identify` for block formats: scale rules, recipes, element rounding and a scale off by ±1."""

from __future__ import annotations

import itertools

import numpy as np

from ..block import RECIPES, SCALE_RULES, BlockArray, get_block_format
from ..block import encode as block_encode
from ..codec import encode as element_encode
from ..compare import compare
from ..interop import as_numpy
from ._conv import ROUNDINGS, check_candidates, describe, dump_codes
from ._result import Identification

__all__ = ["block_candidates", "search", "apply_block_rule"]

BLOCK_RULE_KEYS = ("rounding", "scale_rule", "recipe", "scale_offset", "nonfinite", "scale_rounding")
SAMPLE_ROWS = 64  # rows (all blocks of a row along the last axis) of the search sample
CONFIRM = 12


def _works(bf, opts) -> bool:
    try:
        block_encode(np.linspace(-3, 5, 2 * bf.block_size, dtype=np.float32), bf, **opts)
    except (ValueError, TypeError):
        return False
    return True


def block_candidates(fmt, *, offsets=(0, 1, -1)):
    """The default search space of `identify` for block format `fmt`: a list of keyword dicts of the
    block `encode` (`rounding`, `scale_rule`, `recipe`) plus `scale_offset` (the scale code k off the
    rule's, elements rounded exactly with that scale; power-of-two scales and the exact `ocp` recipe
    only), simplest first.

    Examples
    --------
    >>> from numfmt.identify import block_candidates
    >>> c = block_candidates("mxfp4")
    >>> c[0], {"rounding": "nearest_even", "scale_rule": "floor", "recipe": "ocp", "scale_offset": 1} in c
    ({'rounding': 'nearest_even', 'scale_rule': 'floor', 'recipe': 'ocp'}, True)
    """
    bf = get_block_format(fmt)
    rules = []
    for s in SCALE_RULES:
        with_recipe = [(s, r) for r in RECIPES if _works(bf, {"scale_rule": s, "recipe": r})]
        rules += with_recipe or ([(s, None)] if _works(bf, {"scale_rule": s}) else [])
    pow2 = bf.scale.name == "float8_e8m0fnu"
    out = []
    for rnd, (s, r), k in itertools.product(ROUNDINGS, rules, offsets):
        if k and not (pow2 and r == "ocp"):
            continue
        rule = {"rounding": rnd, "scale_rule": s, **({"recipe": r} if r else {})}
        out.append({**rule, **({"scale_offset": k} if k else {})})
    out.sort(key=lambda d: (bool(d.get("scale_offset")), d.get("rounding", "") != "nearest_even"))
    return out


def apply_block_rule(x, bf, rule: dict) -> BlockArray:
    """The BlockArray a block rule gives for `x` (blocks along the last axis)."""
    rule = dict(rule)
    k = rule.pop("scale_offset", 0)
    if k and bf.scale.name != "float8_e8m0fnu":
        raise ValueError(f"scale_offset needs power-of-two (float8_e8m0fnu) scales; {bf.name} has "
                         f"{bf.scale.name} scales")
    ba = block_encode(x, bf, **rule)
    if not k:
        return ba
    xs = np.asarray(x, np.float64)
    sc = ba.scales.astype(np.int64)
    nan_code = (1 << bf.scale.bits) - 1
    new = np.where(sc == nan_code, sc, np.clip(sc + k, 0, nan_code - 1))
    n = xs.shape[-1]
    exp = np.repeat(new, bf.block_size, axis=-1)[..., :n]
    with np.errstate(invalid="ignore"):
        scaled = np.where(exp == nan_code, np.nan, np.ldexp(xs, -(exp - 127)))
    codes = element_encode(scaled, bf.element, rounding=rule.get("rounding", "nearest_even"), saturation="finite",
                           nan="zero")
    return BlockArray(codes, new.astype(ba.scales.dtype), bf, axis=-1, scale_rule=ba.scale_rule, recipe=ba.recipe)


def _as_block_dump(actual, bf, shape):
    if isinstance(actual, BlockArray):
        return actual.scales, actual.codes
    if isinstance(actual, tuple) and len(actual) == 2:  # (int8 dumps read as unsigned codes)
        scales = dump_codes(actual[0], bf.scale, "actual scales")
        codes = dump_codes(actual[1], bf.element, "actual codes")
        want = (*shape[:-1], -(-shape[-1] // bf.block_size)) if len(shape) else None
        if codes.shape == tuple(shape) and scales.shape != want:
            raise ValueError(f"actual scales have shape {scales.shape}, expected {want} (one per block of "
                             f"{bf.block_size} along the last axis of x)")
        return scales, codes
    raise TypeError("for a block format, actual must be a BlockArray or a pair (scales, codes)")


def _matches(ba: BlockArray, scales, codes, bf) -> np.ndarray:
    n = codes.shape[-1]
    same_scale = np.repeat(ba.scales.astype(np.int64) == scales.astype(np.int64), bf.block_size, axis=-1)[..., :n]
    return same_scale & (ba.codes.astype(np.int64) == codes.astype(np.int64))


def _run(x, bf, rule):
    try:
        return apply_block_rule(x, bf, rule)
    except (ValueError, TypeError):
        return None


def search(x, actual, fmt, *, candidates=None, max_results=5):
    """`identify` for a block format (see there)."""
    bf = get_block_format(fmt)
    xa = np.asarray(as_numpy(x, "x"))
    if xa.dtype.kind != "f" or xa.ndim == 0:
        raise TypeError("x must be a float array of at least one dimension for a block format")
    scales, codes = _as_block_dump(actual, bf, xa.shape)
    if codes.shape != xa.shape:
        raise ValueError(f"actual codes have shape {codes.shape} but x has shape {xa.shape}")
    cands = block_candidates(bf) if candidates is None else check_candidates(candidates, BLOCK_RULE_KEYS,
                                                                             "block encode")
    x2, s2, c2 = xa.reshape(-1, xa.shape[-1]), scales.reshape(-1, scales.shape[-1]), codes.reshape(-1, xa.shape[-1])
    rows = x2.shape[0]
    pick = np.arange(rows) if rows <= SAMPLE_ROWS else np.linspace(0, rows - 1, SAMPLE_ROWS).astype(np.int64)
    xs, ss, cs = x2[pick], s2[pick], c2[pick]
    n, ns = codes.size, cs.size
    scored, confirmed, failed = [], {}, set()

    def confirm(order, rule):
        ba = _run(x2, bf, rule)
        if ba is None:  # runs on the sample, raises on the whole input
            failed.add(order)
        else:
            confirmed[order] = int(_matches(ba, s2, c2, bf).sum())

    for order, rule in enumerate(cands):
        ba = _run(xs, bf, rule)
        if ba is None:
            continue
        m = int(_matches(ba, ss, cs, bf).sum())
        scored.append((m, -order, rule))
        if m == ns and len(confirmed) < CONFIRM:
            confirm(order, rule)
            if confirmed.get(order) == n:
                break
    scored.sort(key=lambda t: (t[0], t[1]), reverse=True)
    results = []
    for m, neg, rule in scored[: max_results * 3]:
        order = -neg
        if order not in confirmed and order not in failed and len(confirmed) < CONFIRM + max_results:
            confirm(order, rule)
        if order in failed:
            continue
        results.append((confirmed.get(order, m), order in confirmed, order, rule))
    results.sort(key=lambda t: (t[0] / (n if t[1] else ns), t[1], -t[2]), reverse=True)
    out = []
    for i, (m, conf, _, rule) in enumerate(results[:max_results]):
        total = n if conf else ns
        residual = {}
        if conf and m < total and i < 3:
            ba = _run(xa, bf, rule)
            residual = {"scale " + k: v for k, v in compare(actual=scales, expected=ba.scales, fmt=bf.scale,
                                                              max_examples=0).classes.items()}
            residual.update({"element " + k: v for k, v in compare(actual=codes, expected=ba.codes, fmt=bf.element,
                                                                   max_examples=0).classes.items()})
        out.append(Identification(fraction=m / total if total else 1.0, matched=m, total=total,
                                  description=describe(rule), rule=dict(rule), kind="block", confirmed=conf,
                                  residual=residual, applier=_applier(bf, rule)))
    return tuple(out)


def _applier(bf, rule):
    def apply(x):
        return apply_block_rule(x, bf, rule)

    return apply
