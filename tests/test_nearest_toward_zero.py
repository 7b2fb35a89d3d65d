"""rounding="nearest_toward_zero" (alias rnz): round to nearest, ties toward zero.

The kernel (`round_pack`, and the float32 loop `encode.f32.det` where it applies) against the exact
reference `numfmt.reference` on every format family, every saturation, with ties planted at every
place they can be: between neighbours of a binade, at the subnormal/normal boundary, between 0 and
the smallest subnormal, and between max and the next grid point past it (where a tie decides between
max and overflow). Then the verbs that take `rounding=`: arithmetic, accumulation models, block
element rounding and `explain`.
"""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies_internal import float_formats, int_formats

import numfmt
import numfmt.reference as ref
from numfmt.formats import FloatFormat, IntFormat
from numfmt.policy import ROUNDING_ALIASES, ROUNDINGS, is_stochastic

FAMILIES = [
    "float8_e4m3fn", "float8_e5m2", "float8_e4m3", "float8_e4m3fnuz", "float8_e5m2fnuz",  # FP8
    "float6_e3m2fn", "float6_e2m3fn", "float4_e2m1fn",  # FP6 / FP4
    "bfloat16", "binary16", "tf32",
    "int8", "uint8", "int4", "int8_symmetric",
    "binary8p3se", "binary8p4sf", "binary8p1uf", "binary8p3ue", "binary8p4sf@interim-v4.0",  # P3109
    "float8_e8m0fnu",
]
SATURATIONS = ("none", "finite", "propagate")


def _nan(f) -> str:
    return "raise" if f.code_of_nan is not None else "zero"


@functools.cache
def _grid(f) -> list[Fraction]:
    """The finite values of `f` (signed), exactly, sorted; for formats of more than 12 bits the
    values of the lowest, a middle and the highest codes."""
    n = 1 << f.bits
    codes = range(n) if f.bits <= 12 else sorted(
        {*range(512), *range(n // 4 - 256, n // 4 + 256), *range(n // 2 - 512, n // 2), *range(n - 512, n)})
    vals = set()
    for c in codes:
        if isinstance(f, IntFormat) and f.symmetric and c == 1 << (f.bits - 1):
            continue
        v = ref.decode(c, f)
        if isinstance(v, Fraction):
            vals.add(v)
            if f.signed:
                vals.add(-v)
    return sorted(vals)


def _planted(f, picks) -> list[Fraction]:
    """Ties of `f`: midpoints of neighbours, 0 and its neighbours, and the tie past max (max + half
    the top binade's ulp, as the grid continues), with a near-tie either side of each."""
    g = _grid(f)
    out = []
    for i in picks:
        i %= len(g) - 1
        out.append((g[i] + g[i + 1]) / 2)
    top = max(g)
    below = max(v for v in g if v < top)
    past = top + (top - below) / 2  # the tie between max and the phantom next value
    out += [past, -past, top + (top - below), g[0] / 2 if g[0] > 0 else min(v for v in g if v > 0) / 2]
    return out + [v + v / 2**20 for v in out] + [v - v / 2**20 for v in out]


def _check(f, xs, saturation):
    nan = _nan(f)
    nan_code = None if nan == "raise" else (0 if nan == "zero" else None)
    for dtype in (np.float64, np.float32):
        x = np.array([float(v) for v in xs], np.float64)
        with np.errstate(over="ignore"):
            keep = x.astype(dtype).astype(np.float64) == x  # exact in this dtype
        x = x[keep].astype(dtype)
        got = numfmt.encode(x, f, rounding="nearest_toward_zero", saturation=saturation, nan=nan)
        alias = numfmt.encode(x, f, rounding="rnz", saturation=saturation, nan=nan)
        want = [ref.encode(float(v), f, rounding="nearest_toward_zero", saturation=saturation,
                           nan_code=nan_code) for v in x]
        bad = [(float(v), hex(g), hex(w)) for v, g, w in zip(x, got.tolist(), want) if g != w]
        assert not bad, (f.name, saturation, dtype, bad[:5])
        assert np.array_equal(got, alias)


@pytest.mark.parametrize("saturation", SATURATIONS)
@pytest.mark.parametrize("name", FAMILIES)
def test_every_tie_of_every_family_equals_the_reference(name, saturation):
    f = numfmt.get_format(name)
    _check(f, _planted(f, range(0, 4096, 41 if f.bits > 8 else 3)), saturation)


@given(f=st.one_of(st.sampled_from(FAMILIES).map(numfmt.get_format), float_formats(), int_formats()),
       picks=st.lists(st.integers(0, 1 << 16), min_size=1, max_size=12),
       saturation=st.sampled_from(SATURATIONS))
def test_random_formats_with_planted_ties_equal_the_reference(f, picks, saturation):
    _check(f, _planted(f, picks), saturation)


@given(name=st.sampled_from([n for n in FAMILIES if numfmt.get_format(n).bits <= 8]),
       picks=st.lists(st.integers(0, 1 << 16), min_size=1, max_size=12), saturation=st.sampled_from(SATURATIONS))
def test_ties_go_toward_zero_and_the_rest_as_nearest_even(name, picks, saturation):
    """Oracle-free: at a tie the result is toward_zero's, elsewhere nearest_even's (inside the range)."""
    f = numfmt.get_format(name)
    g = _grid(f)
    xs = [v for v in _planted(f, picks) if min(g) <= v <= max(g)]
    x = np.array([float(v) for v in xs])
    ties = np.array([(v - max(w for w in g if w <= v)) * 2 == min(w for w in g if w >= v) - max(w for w in g if w <= v)
                     and v not in g for v in xs], bool)
    kw = dict(saturation=saturation, nan=_nan(f))
    got = numfmt.encode(x, f, rounding="nearest_toward_zero", **kw)
    want = np.where(ties, numfmt.encode(x, f, rounding="toward_zero", **kw), numfmt.encode(x, f, **kw))
    assert np.array_equal(got, want)


def test_float32_fast_loop_equals_round_pack_on_ties():
    """bfloat16 (`encode.f32.top`) and E4M3/E5M2/E2M1 (`encode.f32.det`) from float32: the same codes as
    the general loop."""
    from numfmt._kernels import encode as E  # (the exact loop, as tests/test_variants.py)
    from numfmt._kernels import variants as V
    from numfmt.plan import make_plan

    mode = ROUNDINGS["nearest_toward_zero"]
    for name in ("bfloat16", "float8_e4m3fn", "float8_e5m2", "float4_e2m1fn"):
        f = numfmt.get_format(name)
        plan = make_plan(f, "nearest_toward_zero", "none", _nan(f), None)
        want_loop = "encode.f32.top" if name == "bfloat16" else "encode.f32.det"
        assert V.select("encode", np.dtype(np.float32), plan.params, mode, plan.sat).name == want_loop
        with np.errstate(over="ignore"):  # (bfloat16's tie past max is beyond float32: inf, also an input)
            x = np.array([float(v) for v in _planted(f, range(0, 1 << 12, 3))], np.float64).astype(np.float32)
        got = numfmt.encode(x, f, rounding="rnz", nan=_nan(f))
        want = np.empty(x.size, f.code_dtype)
        E.encode_loop(x, want, plan.params, mode, plan.sat, 0, np.zeros(1, np.uint32), 0, 8, 0)
        assert np.array_equal(got, want), name


def test_policy_names():
    assert ROUNDING_ALIASES["rnz"] == "nearest_toward_zero"
    assert not is_stochastic(ROUNDINGS["nearest_toward_zero"])
    assert "nearest_toward_zero" in ref.ROUNDINGS
    with pytest.raises(ValueError, match="nearest_toward_zero"):
        numfmt.encode([1.0], "e4m3", rounding="nearest_toward_zer")


def test_explain_names_the_tie_rule():
    t = ref.round_trace(2.5, "e2m1", rounding="rnz")
    assert t.tie and t.code == 0x4 and "ties go toward zero" in t.rule
    assert "ties go toward zero" in str(numfmt.explain(-2.5, "e2m1", rounding="nearest_toward_zero"))


def test_arithmetic_rounds_the_exact_result_ties_toward_zero():
    # sums: 2 + 0.5 = 2.5 (a tie of E2M1: 2 | 3), 2 + 3 = 5 (4 | 6), -0.25 + 0 (-0 | -0.5), 1.5 + 1.5 = 3,
    # 3 + 0.5 = 3.5 (3 | 4, where ties to even go up); products: 1, 6, -0, 2.25 (not a tie), 1.5
    a, b = np.array([2.0, 2.0, -0.25, 1.5, 3.0]), np.array([0.5, 3.0, 0.0, 1.5, 0.5])
    sums = numfmt.add(a, b, "e2m1", rounding="rnz", codes=True)
    assert sums.tolist() == [ref.encode(float(v), "e2m1", rounding="nearest_toward_zero") for v in a + b]
    assert sums.tolist() == [0x4, 0x6, 0x8, 0x5, 0x5]
    assert numfmt.mul(a, b, "e2m1", rounding="rnz", codes=True).tolist() == [
        ref.encode(float(v), "e2m1", rounding="nearest_toward_zero") for v in a * b]
    assert numfmt.add(a, b, "e2m1", codes=True).tolist() == [0x4, 0x6, 0x8, 0x5, 0x6]  # ties to even
    assert numfmt.add(a, b, "e2m1", rounding="rna", codes=True).tolist() == [0x5, 0x7, 0x9, 0x5, 0x6]


def test_accumulation_models_take_it():
    # bfloat16 accumulator: 1 + 2**-7 (odd last bit) + 2**-8 is a tie between 1 + 2**-7 and 1 + 2**-6
    A = np.float32([[1.0, 2.0**-7, 2.0**-8]])
    B = np.ones((3, 1), np.float32)
    out = {r: float(numfmt.matmul(A, B, model=numfmt.Sequential("bf16", r))[0, 0])
           for r in ("nearest_toward_zero", "nearest_even", "nearest_away")}
    assert out == {"nearest_toward_zero": 1 + 2.0**-7, "nearest_even": 1 + 2.0**-6, "nearest_away": 1 + 2.0**-6}
    A2 = np.float32([[1.0, 2.0**-8]])  # 1 + 2**-8: a tie below an even code
    got = float(numfmt.matmul(A2, np.ones((2, 1), np.float32), model=numfmt.Sequential("bf16", "rnz"))[0, 0])
    away = float(numfmt.matmul(A2, np.ones((2, 1), np.float32), model=numfmt.Sequential("bf16", "rna"))[0, 0])
    assert (got, away) == (1.0, 1 + 2.0**-7)


def test_block_elements_round_ties_toward_zero():
    # one MX block whose E8M0 scale is 1 (amax in [4, 8), OCP floor rule): the elements are E2M1 encodes
    x = np.array([2.5, 0.25, -2.5, 5.0, 1.0, -0.75, 3.0, 0.0, 1.25, -5.0] * 3 + [6.0, 4.5], np.float32)
    b = numfmt.encode(x, "mxfp4", rounding="nearest_toward_zero")
    assert b.scales.tolist() == [127]
    assert np.array_equal(b.codes, numfmt.encode(x, "e2m1", rounding="nearest_toward_zero"))
    assert not np.array_equal(b.codes, numfmt.encode(x, "mxfp4", rounding="nearest_away").codes)
    assert isinstance(numfmt.get_format("e2m1"), FloatFormat)
