"""The paths that keep first calls from compiling what they do not run give the exact results.

A first call compiles only what it runs: fix-up passes (the exact redo of flagged float32 arithmetic
lanes, the funnel pass of the stochastic loop, the special rows of fused dot products) run after
the vectorised loop, chunk by chunk, only where needed; float64 inputs holding float32 values take
the float32 encode variants; the value tables of formats of <= 8 bits are computed without a
decode loop. Each is compared here with the exact path on inputs that put the fix-ups in some
chunks (not all) of a multi-chunk array.
"""

from __future__ import annotations

import numpy as np
import pytest

import numfmt
from numfmt._kernels import encode as E
from numfmt.block.values import all_values
from numfmt.codec import decode
from numfmt.formats import IntFormat
from numfmt.plan import make_plan
from numfmt.presets import list_formats

N = 3 * 8192 + 77  # several chunks of every chunked loop (8192 arithmetic, 4096 stochastic)


def _sparse(rng, n, special):
    """float32 values of a normal-ish spread with `special` put into chunk 1 only."""
    x = (rng.standard_normal(n) * 4).astype(np.float32)
    pos = 8192 + rng.choice(4096, special.size, replace=False)
    x[pos] = special
    return x


def test_small_format_tables_equal_the_decode_loop():
    n = 0
    for name in list_formats():
        f = numfmt.get_format(name)
        if f.bits > 8:
            continue
        codes = np.arange(1 << f.bits, dtype=np.int64)
        if isinstance(f, IntFormat) and f.symmetric:
            codes[1 << (f.bits - 1)] = 0
        with np.errstate(invalid="ignore"):
            want = np.asarray(decode(codes, f, dtype=np.float64))
        got = all_values(f)
        assert got.dtype == np.float64 and np.array_equal(got.view(np.uint64), want.view(np.uint64)), f.name
        n += 1
    assert n > 10


@pytest.mark.parametrize("fmt", ["float8_e4m3fn", "float4_e2m1fn", "float8_e5m2", "float6_e2m3fn"])
@pytest.mark.parametrize("op", ["add", "mul", "fma"])
@pytest.mark.parametrize("codes", [True, False])
def test_f32_arith_redo_in_some_chunks_equals_exact(fmt, op, codes):
    rng = np.random.default_rng(1)
    f32 = np.finfo(np.float32)
    special = np.array([2.0**-80, -(2.0**-90), f32.max, -f32.max, np.inf, np.nan], np.float32)
    a = _sparse(rng, N, special)
    b = _sparse(rng, N, special[::-1].copy())
    c = (rng.standard_normal(N)).astype(np.float32)
    args = (a, b, c) if op == "fma" else (a, b)
    kw = dict(saturation="finite", nan="zero", codes=codes)
    with np.errstate(all="ignore"):
        got = np.asarray(getattr(numfmt, op)(*args, fmt, **kw))
        want = np.asarray(getattr(numfmt, op)(*(x.astype(np.float64) for x in args), fmt, **kw))
    assert got.dtype == want.dtype
    assert np.array_equal(got.view(np.uint8), want.view(np.uint8))
    # a scalar operand that broadcasts
    with np.errstate(all="ignore"):
        got = np.asarray(getattr(numfmt, op)(*args[:-1], np.float32(2.0**-100), fmt, **kw))
        want = np.asarray(getattr(numfmt, op)(*(x.astype(np.float64) for x in args[:-1]), 2.0**-100, fmt, **kw))
    assert np.array_equal(got.view(np.uint8), want.view(np.uint8))


@pytest.mark.parametrize("fmt", ["float8_e4m3fn", "float4_e2m1fn"])
@pytest.mark.parametrize("rounding", ["stochastic", "stochastic_b"])
@pytest.mark.parametrize("rbits", [8, 32])
def test_stochastic_fix_pass_in_some_chunks_equals_exact(fmt, rounding, rbits):
    rng = np.random.default_rng(2)
    special = np.array([np.inf, -np.inf, np.nan, 2.0**-140, -(2.0**-149), 1e-30], np.float32)
    x = _sparse(rng, N, special)
    f = numfmt.get_format(fmt)
    plan = make_plan(f, rounding, "finite", "zero")
    dummy = np.zeros(1, np.uint32)
    explicit = rng.integers(0, 1 << rbits, N, dtype=np.uint64).astype(np.uint32)
    for rkind, rarr in ((1, explicit), (2, dummy)):
        got = np.empty(N, f.code_dtype)
        want = np.empty(N, f.code_dtype)
        E.encode_flat(x, got, plan.params, plan.mode, plan.sat, rkind, rarr, 99, rbits, 5)
        E.encode_loop(x, want, plan.params, plan.mode, plan.sat, rkind, rarr, 99, rbits, 5)
        assert np.array_equal(got, want), (rkind, np.flatnonzero(got != want)[:5])


@pytest.mark.parametrize("rounding", ["nearest_even", "toward_zero", "stochastic"])
def test_float64_holding_float32_values_equals_exact_loop(rounding):
    rng = np.random.default_rng(3)
    f = numfmt.get_format("float8_e4m3fn")
    plan = make_plan(f, rounding, "finite", "zero")
    dummy = np.zeros(1, np.uint32)
    x32 = _sparse(rng, N, np.array([np.inf, -np.nan, 2.0**-140, -0.0], np.float32))
    for x in (x32.astype(np.float64), x32.astype(np.float64) + 2.0**-60):  # float32 values, then not
        got = np.empty(N, f.code_dtype)
        want = np.empty(N, f.code_dtype)
        E.encode_flat(x, got, plan.params, plan.mode, plan.sat, 2, dummy, 7, 8, 3)
        E.encode_loop(x, want, plan.params, plan.mode, plan.sat, 2, dummy, 7, 8, 3)
        assert np.array_equal(got, want)
    assert E._float32_image(x32.astype(np.float64)) is not None
    assert E._float32_image(x32.astype(np.float64) + 2.0**-60) is None


def test_fused_dots_special_rows():
    """Rows with a NaN, and non-finite addends, among finite ones: the special pass fills them as the
    IEEE rule says; the others are the finite chain's."""
    model = numfmt.accumulation_model("h100", "e4m3")
    rng = np.random.default_rng(4)
    a = np.asarray(numfmt.quantize(rng.standard_normal((6, 32)).astype(np.float32), "e4m3"), np.float64)
    b = np.asarray(numfmt.quantize(rng.standard_normal((32, 5)).astype(np.float32), "e4m3"), np.float64)
    finite = np.asarray(numfmt.matmul(a, b, model=model), np.float64)
    a[2, 0] = np.nan
    c = np.zeros((6, 5))
    c[4, 1] = np.inf
    c[5, 3] = -np.inf
    c[0, 0] = np.nan
    got = np.asarray(numfmt.matmul(a, b, model=model, c=c), np.float64)
    assert np.all(np.isnan(got[2]))
    assert got[4, 1] == np.inf and got[5, 3] == -np.inf and np.isnan(got[0, 0])
    rest = np.ones((6, 5), bool)
    rest[2] = False
    rest[4, 1] = rest[5, 3] = rest[0, 0] = False
    assert np.array_equal(got[rest], finite[rest])


@pytest.mark.parametrize("inputs", ["e4m3", "e5m2"])
def test_dot_input_check_by_value_table_equals_quantize(inputs):
    """An 8-bit input format's exactness check (membership in its finite values) refuses exactly
    the values that quantize does not return unchanged."""
    model = numfmt.accumulation_model("h100", inputs)
    f = numfmt.get_format("float8_e4m3fn" if inputs == "e4m3" else "float8_e5m2")
    v = all_values(f)
    v = v[np.isfinite(v)]
    cand = np.concatenate([v, (v[1:] + v[:-1]) / 2, v * (1 + 2.0**-20), [-0.0, f.max * 2, 2.0**-30, 1e300]])
    for x in cand[::3]:
        with np.errstate(all="ignore"):
            exact = float(numfmt.quantize(x, f, saturation="none", nan="zero")) == x
        try:
            numfmt.dot(np.array([x]), np.array([1.0]), model=model)
            refused = False
        except ValueError as e:
            assert "not exactly representable" in str(e)
            refused = True
        assert refused == (not exact), x
