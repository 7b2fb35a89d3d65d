"""Accumulation models: presets, literal vectors, a Fraction reference (the recorded tensor-core
outputs: test_accumulate_data.py), properties, MMA-Sim agreement and bad input."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import numfmt
from numfmt.accum_models import (
    Chunked,
    Exact,
    FusedBlock,
    Pairwise,
    Sequential,
    accumulation_model,
    accumulation_presets,
)
from numfmt.accumulate import dot, matmul


def f32(x) -> np.ndarray:
    return np.asarray(x, np.float32)


def bits(x) -> np.ndarray:
    return np.asarray(x, np.float32).view(np.uint32)


# ------------------------------------------------------------ presets
def test_presets_cover_brief():
    ps = set(accumulation_presets())
    for g in ("a2", "a100", "ada", "l40s", "h100", "h200", "b200"):
        for f in ("fp16", "bf16", "tf32"):
            assert (g, f) in ps
    for g in ("ada", "l40s", "h100", "h200", "b200"):
        assert (g, "e4m3") in ps and (g, "e5m2") in ps
    assert ("v100", "fp16") in ps
    assert numfmt.PRESET_SOURCES[("b200", "e4m3", "fp32")][1] == "5000/5000"


# ------------------------------------------------------------ literal vectors
V100 = accumulation_model("v100", "fp16")
T24 = 2.0**-24


@pytest.mark.parametrize("a,b,c,d", [
    ([1, 1, 1, 1], [2, 3 * T24, 0, 0], 0.0, 2.0),
    ([1, 1, 1, 1], [-2, -3 * T24, 0, 0], 0.0, -2.0),
    ([1], [1], -(1 - T24), 2.0**-23),
    ([1, 1, 1, 1], [T24] * 4, 1 - T24, 1 + 2.0**-23),
    ([1, 1, 1, 1], [1, 1, 1, 2.0**-23], 1 + 2.0**-22 + 2.0**-23, 4 + 2.0**-21),
    ([1, 1, 1, 1], [1, 1.5, 1.75, 1.875], 1.875, 8.0),
    ([1, 1, 1, 1], [1, 1, 1, 1], 1 + 2.0**-22 + 2.0**-23, 5.0),
    ([1, 1, 1, 1], [T24] * 4, 1.0, 1.0),
])
def test_specs_7_2_v100(a, b, c, d):
    assert bits(dot(a, b, c=c, model=V100)) == bits(d)


def test_specs_7_2_non_monotone():
    lo = dot([1, 1, 1, 1], [T24] * 4, c=1 - T24, model=V100)
    hi = dot([1, 1, 1, 1], [T24] * 4, c=1.0, model=V100)
    assert lo > hi  # a smaller addend gives a larger result


def test_specs_7_2_v100_fp16_output():
    m = accumulation_model("v100", "fp16", out_format="fp16")
    d = dot([T24, T24], [0.5, 0.25], model=m)
    assert d.dtype == np.float32 and d == T24


def test_specs_7_3_vectors():
    h = accumulation_model("h100", "e4m3")
    b2 = accumulation_model("b200", "e4m3")
    assert dot([1, 2.0**-7], [1, 2.0**-7], model=h) == 1.0
    assert dot([1, 2.0**-6], [1, 2.0**-7], model=h) == 1 + 2.0**-13
    assert dot([0.0, 0.0], [1.0, 1.0], c=1 + 2.0**-20, model=h) == 1.0
    assert dot([1, 2.0**-7], [1, 2.0**-7], model=b2) == 1 + 2.0**-14
    # mmaemu 0.1.0 README: [448, 15 x 2**-6] . ones = 448 under Hopper (exact 448.234375)
    assert dot([448.0] + [2.0**-6] * 15, np.ones(16), model=h) == 448.0


# ------------------------------------------------------------ Fraction reference
def ref_round(x: Fraction, f, mode: str) -> float:
    """Independent rounding of an exact Fraction into FloatFormat f (IEEE rules)."""
    if x == 0:
        return 0.0
    neg = x < 0
    ax = -x if neg else x
    E = ax.numerator.bit_length() - ax.denominator.bit_length()
    if Fraction(2) ** E > ax:
        E -= 1
    q = max(E, f.emin) - f.mantissa_bits
    scaled = ax / Fraction(2) ** q
    n = scaled.numerator // scaled.denominator
    rem = scaled - n
    if mode == "nearest_even":
        n += rem > Fraction(1, 2) or (rem == Fraction(1, 2) and n % 2 == 1)
    elif mode == "nearest_away":
        n += rem >= Fraction(1, 2)
    elif mode == "toward_positive":
        n += rem != 0 and not neg
    elif mode == "toward_negative":
        n += rem != 0 and neg
    v = Fraction(n) * Fraction(2) ** q
    if v > Fraction(f.max):
        away = mode in ("nearest_even", "nearest_away") or (mode == "toward_positive" and not neg) or (
            mode == "toward_negative" and neg)
        r = math.inf if away else f.max
    else:
        r = float(v)
    return -r if neg else r


def _vals(fmt):
    v = numfmt.get_format(fmt).values()
    return v[np.isfinite(v)]


E4M3 = _vals("e4m3")
BF16 = _vals("bf16")
MODES = ["nearest_even", "nearest_away", "toward_zero", "toward_positive", "toward_negative"]


@given(st.data())
def test_exact_equals_fraction_reference(data):
    fin = data.draw(st.sampled_from(["e4m3", "bf16"]))
    pool = E4M3 if fin == "e4m3" else BF16[np.abs(BF16) < 2.0**60]
    K = data.draw(st.integers(1, 40))
    idx = data.draw(st.lists(st.integers(0, pool.size - 1), min_size=2 * K, max_size=2 * K))
    a, b = pool[idx[:K]], pool[idx[K:]]
    out = data.draw(st.sampled_from(["fp32", "fp16", "bf16", "e5m2"]))
    mode = data.draw(st.sampled_from(MODES))
    c = float(numfmt.quantize(data.draw(st.floats(width=32, allow_nan=False, allow_infinity=False)), out,
                              saturation="finite"))
    exact = sum((Fraction(x) * Fraction(y) for x, y in zip(a, b)), Fraction(c))
    want = ref_round(exact, numfmt.get_format(out), mode)
    got = float(dot(a, b, c=c, model=Exact(out, mode, in_format=fin)))
    assert got == want or (got == 0 and want == 0), (got, want)


SMALL = E4M3[np.abs(E4M3) <= 16]  # no overflow in fp16/e5m2 sums of 20 products


@given(st.data())
def test_sequential_and_pairwise_reference(data):
    K = data.draw(st.integers(1, 20))
    idx = data.draw(st.lists(st.integers(0, SMALL.size - 1), min_size=2 * K, max_size=2 * K))
    a, b = SMALL[idx[:K]], SMALL[idx[K:]]
    acc = data.draw(st.sampled_from(["fp16", "bf16", "e5m2"]))
    mode = data.draw(st.sampled_from(MODES))
    fused = data.draw(st.booleans())
    f = numfmt.get_format(acc)
    s = Fraction(0)
    for x, y in zip(a, b):
        p = Fraction(x) * Fraction(y)
        if not fused:
            p = Fraction(ref_round(p, f, mode))
        s = Fraction(ref_round(s + p, f, mode))
    m = Sequential(acc, mode, product_format=None if fused else acc, product_rounding=mode, in_format="e4m3")
    got = float(dot(a, b, model=m))
    assert got == float(s)
    # pairwise: adjacent pairs level by level
    vals = [Fraction(ref_round(Fraction(x) * Fraction(y), f, mode)) for x, y in zip(a, b)]
    while len(vals) > 1:
        nxt = [Fraction(ref_round(vals[i] + vals[i + 1], f, mode)) for i in range(0, len(vals) - 1, 2)]
        if len(vals) % 2:
            nxt.append(vals[-1])
        vals = nxt
    got = float(dot(a, b, model=Pairwise(acc, mode, product_rounding=mode, in_format="e4m3")))
    assert got == float(ref_round(vals[0], f, mode))


def test_exact_fp64_equals_fsum():
    """fp32 products are exact in float64, so math.fsum is a correctly rounded oracle."""
    rng = np.random.default_rng(5)
    a = f32(rng.standard_normal((40, 50)) * 2.0 ** rng.integers(-60, 60, (40, 50))).astype(np.float64)
    b = f32(rng.standard_normal((40, 50)) * 2.0 ** rng.integers(-60, 60, (40, 50))).astype(np.float64)
    c = rng.standard_normal(40) * 2.0**-70
    got = dot(a, b, c=c, model=Exact("fp64"))
    want = [math.fsum(list(a[i] * b[i]) + [c[i]]) for i in range(40)]
    assert (np.asarray(got).view(np.int64) == np.asarray(want).view(np.int64)).all()
    assert dot([1.0, 2.0**-60], [1.0, 1.0], c=0.1, model=Sequential("fp64")) == 1.1


def test_sequential_fp32_matches_numpy_float32_loop():
    rng = np.random.default_rng(1)
    a = numfmt.quantize(rng.standard_normal((50, 64)), "bf16")
    b = numfmt.quantize(rng.standard_normal((50, 64)), "bf16")
    s = np.zeros(50, np.float32)
    for k in range(64):
        s = s + f32(a[:, k]) * f32(b[:, k])  # bf16 products are exact in fp32
    got = dot(a, b, model=Sequential("fp32", in_format="bf16", product_format="fp32"))
    assert (bits(got) == bits(s)).all()
    fma = dot(a, b, model=Sequential("fp32", in_format="bf16"))
    assert (bits(fma) == bits(s)).all()  # exact products: FMA and mul+add agree


def _floor_log2(x: Fraction) -> int:
    x = abs(x)
    e = x.numerator.bit_length() - x.denominator.bit_length()
    return e - 1 if Fraction(2) ** e > x else e


def ref_fused(a, b, c, m: FusedBlock) -> float:
    """Pure-Python FusedBlock (Khattak & Mikaitis Generic_BFMA_TC.m core, plus the model's options)."""
    fa, fb = (numfmt.get_format(f) for f in (m.in_format if isinstance(m.in_format, tuple) else (m.in_format,) * 2))
    out = numfmt.get_format(m.out_format)
    rf = m.result_format()
    F = m.fraction_bits
    K = len(a)
    order = list(range(K)) if m.k_order == "sequential" else None
    if m.k_order == "interleaved":
        nb = -(-K // m.terms)
        order = [i for j in range(nb) for i in range(j, K, nb)]
    a = [Fraction(float(a[i])) for i in order]
    b = [Fraction(float(b[i])) for i in order]
    d = Fraction(float(c))
    for k0 in range(0, max(K, 1), m.terms):
        terms = []
        for x, y in zip(a[k0:k0 + m.terms], b[k0:k0 + m.terms]):
            tiny = 0 < abs(x) < Fraction(2) ** fa.emin or 0 < abs(y) < Fraction(2) ** fb.emin
            if m.flush_subnormal_inputs and tiny:
                continue
            if x == 0 or y == 0:
                continue
            p = x * y
            e = _floor_log2(p) if m.normalized_products else max(_floor_log2(x), fa.emin) + max(_floor_log2(y), fb.emin)
            terms.append((p, e))
        if m.addend == "aligned" and d != 0:
            terms.append((d, max(_floor_log2(d), out.emin)))
        if terms:
            Mx = max(e for _, e in terms)
            if m.min_exp is not None:
                Mx = max(Mx, m.min_exp)
            acc = 0
            for v, _ in terms:
                s = abs(v) * Fraction(2) ** (F - Mx)
                t = s.numerator // s.denominator
                if m.sticky:
                    t = 2 * t + (t != s)
                acc += t if v > 0 else -t
            val = Fraction(acc) * Fraction(2) ** (Mx - F - int(m.sticky))
        else:
            val = Fraction(0)
        if val != 0 and m.overflow == "inf" and abs(val) >= Fraction(2) ** (rf.emax + 1):
            r = math.copysign(math.inf, val)
        else:
            r = ref_round(val, rf, m.rounding)
        if m.addend == "late":
            r = ref_round(Fraction(r) + d, out, m.late_rounding)
        d = Fraction(r)
    return float(d)


@given(st.data())
def test_fused_block_equals_python_reference(data):
    fin = data.draw(st.sampled_from(["e4m3", "e5m2", "fp16", "bf16"]))
    v = _vals(fin)
    pool = v[(np.abs(v) <= 2.0**10) & (np.abs(v) >= 2.0**-30)]
    pool = np.concatenate([pool, [0.0]])
    K = data.draw(st.integers(1, 40))
    idx = data.draw(st.lists(st.integers(0, pool.size - 1), min_size=2 * K, max_size=2 * K))
    a, b = pool[idx[:K]], pool[idx[K:]]
    terms = data.draw(st.integers(1, 16))
    sticky = data.draw(st.booleans())
    eb = data.draw(st.integers(-20, 62 - 25 - 1 - (terms + 1).bit_length()))
    m = FusedBlock(
        in_format=fin, terms=terms, extra_bits=eb, sticky=sticky,
        normalized_products=data.draw(st.booleans()),
        min_exp=data.draw(st.sampled_from([None, -30, -5, 3])),
        addend=data.draw(st.sampled_from(["aligned", "late"])),
        rounding=data.draw(st.sampled_from(MODES)),
        result_bits=data.draw(st.sampled_from([None, 4, 13])),
        late_rounding=data.draw(st.sampled_from(MODES)),
        flush_subnormal_inputs=data.draw(st.booleans()),
        k_order=data.draw(st.sampled_from(["sequential", "interleaved"])),
    )
    c = float(numfmt.quantize(data.draw(st.floats(-1e4, 1e4, width=32)), "fp32"))
    want = ref_fused(a, b, c, m)
    got = float(dot(a, b, c=c, model=m))
    assert got == want, (got, want, m)


# ------------------------------------------------------------ properties
@given(st.data())
def test_wide_fused_block_with_sticky_is_exact(data):
    K = data.draw(st.integers(1, 32))
    idx = data.draw(st.lists(st.integers(0, E4M3.size - 1), min_size=2 * K, max_size=2 * K))
    a, b = E4M3[idx[:K]], E4M3[idx[K:]]
    c = float(data.draw(st.sampled_from(list(E4M3[::7]))))
    mode = data.draw(st.sampled_from(MODES))
    wide = FusedBlock(in_format="e4m3", terms=32, extra_bits=30, sticky=True, rounding=mode, overflow="ieee")
    assert wide.fraction_bits == 53
    got = dot(a, b, c=c, model=wide)
    want = dot(a, b, c=c, model=Exact("fp32", mode, in_format="e4m3"))
    # equal bits, except that a fused block's exact zero is always +0 (as the hardware's)
    assert bits(got) == bits(want) or (got == 0 and want == 0 and not np.signbit(got))


@given(st.data())
def test_permutation_invariant_inside_block(data):
    idx = data.draw(st.lists(st.integers(0, E4M3.size - 1), min_size=64, max_size=64))
    a, b = E4M3[idx[:32]], E4M3[idx[32:]]
    perm = np.array(data.draw(st.permutations(range(32))))
    for g in ("h100", "b200"):
        m = accumulation_model(g, "e4m3")
        assert bits(dot(a, b, c=1.5, model=m)) == bits(dot(a[perm], b[perm], c=1.5, model=m))


def test_not_permutation_invariant_across_blocks():
    m = accumulation_model("ada", "e4m3")  # 16-term blocks
    a = np.zeros(32)
    b = np.ones(32)
    a[0], a[1], a[16] = 1.0, 2.0**-7, -1.0
    b[1] = 2.0**-7
    d1 = dot(a, b, model=m)  # block 1: 1 + 2**-14 truncated to 1; block 2: -1 + 1
    perm = np.arange(32)
    perm[[1, 16]] = [16, 1]
    d2 = dot(a[perm], b[perm], model=m)  # block 1: 1 - 1; block 2: 2**-14
    assert d1 == 0.0 and d2 == 2.0**-14
    assert dot(a, b, model=dataclasses.replace(m, k_order=tuple(perm.tolist()))) == d2


def test_interleaved_k_order():
    m = FusedBlock(in_format="e4m3", terms=2, extra_bits=-20, k_order="interleaved")  # F = 3
    a = np.array([1.0, -1.0, 2.0**-4, 2.0**-4])
    # interleaved blocks (0, 2), (1, 3): 1 + 2**-4 -> 1 (3 fraction bits); then 1 - 1 + 2**-4 -> 0
    assert dot(a, np.ones(4), model=m) == 0.0
    # sequential blocks (0, 1), (2, 3): 0; then 2**-4 + 2**-4 exactly
    assert dot(a, np.ones(4), model=dataclasses.replace(m, k_order="sequential")) == 0.125


def test_k_order_longer_than_k_zero_pads():
    m = FusedBlock(in_format="e4m3", terms=2, extra_bits=-20, k_order=(0, 2, 1, 3))  # F = 3
    a = np.array([1.0, -1.0, 2.0**-4])
    # K = 3 padded to 4: blocks (0, 2) = 1 + 2**-4 -> 1, then (1, pad) = 1 - 1 = 0
    assert dot(a, np.ones(3), model=m) == 0.0
    assert dot(np.append(a, 0.0), np.ones(4), model=m) == 0.0
    # without the order: blocks (0, 1) = 0, then (2, pad) = 2**-4
    assert dot(a, np.ones(3), model=dataclasses.replace(m, k_order="sequential")) == 2.0**-4
    with pytest.raises(ValueError, match="k_order has 4 entries but K = 5"):
        dot(np.ones(5), np.ones(5), model=m)


def test_normalized_products_and_min_exp():
    # products 1.5*1.5 = 2.25: unnormalised exponent 0, normalised 1
    base = FusedBlock(in_format="fp16", terms=2, extra_bits=-21)  # F = 2
    norm = dataclasses.replace(base, normalized_products=True)
    a, b = [1.5, 2.0**-2], [1.5, 1.0]
    assert dot(a, b, model=base) == 2.5  # window 2**-2: 2.25 + 0.25
    assert dot(a, b, model=norm) == 2.0  # window 2**-1: 0.25 truncated, 2.25 -> 2.0
    lim = dataclasses.replace(base, min_exp=3)  # align at 2**3 at least
    assert dot(a, b, model=lim) == 2.0


def test_flush_subnormal_inputs():
    m = FusedBlock(in_format="e4m3", terms=4)
    sub = 2.0**-9  # smallest E4M3 subnormal
    assert dot([sub, 1.0], [1.0, 2.0**-6], model=m) == sub + 2.0**-6
    ftz = dataclasses.replace(m, flush_subnormal_inputs=True)
    assert dot([sub, 1.0], [1.0, 2.0**-6], model=ftz) == 2.0**-6


def test_chunked_promotion():
    rng = np.random.default_rng(7)
    A = numfmt.quantize(rng.standard_normal((4, 256)), "e4m3", saturation="finite")
    B = numfmt.quantize(rng.standard_normal((256, 3)), "e4m3", saturation="finite")
    h = accumulation_model("h100", "e4m3")
    m = Chunked(h, Sequential("fp32"), every=128)
    got = matmul(A, B, model=m)
    p1 = matmul(A[:, :128], B[:128], model=h)
    p2 = matmul(A[:, 128:], B[128:], model=h)
    want = (f32(0) + p1) + p2  # float32 round-to-nearest adds
    assert (bits(got) == bits(want)).all()
    assert not (bits(got) == bits(matmul(A, B, model=h))).all()


def test_specials():
    m = accumulation_model("h100", "fp16")
    inf = np.inf
    assert np.isnan(dot([inf, 1.0], [1.0, 1.0], c=-inf, model=m))
    assert np.isnan(dot([inf, 0.0], [0.0, 1.0], model=m))
    assert np.isnan(dot([np.nan, 1.0], [1.0, 1.0], model=m))
    assert dot([inf, 1.0], [-2.0, 1.0], model=m) == -inf
    for mod in (Exact("fp32", in_format="fp16"), Sequential("fp32", in_format="fp16"), Pairwise(in_format="fp16")):
        assert dot([inf, 1.0], [2.0, 1.0], model=mod) == inf
        assert np.isnan(dot([inf, -inf], [1.0, 1.0], model=mod))


def test_overflow_policy():
    big = float(numfmt.get_format("bf16").max)
    m = accumulation_model("h100", "bf16")
    assert dot([big, big], [big, big], model=m) == np.inf
    ieee = dataclasses.replace(m, overflow="ieee")
    assert dot([big, big], [big, big], model=ieee) == np.float32(np.finfo(np.float32).max)


def test_zero_signs():
    assert np.signbit(dot([-0.0], [1.0], c=-0.0, model=Exact("fp32")))
    assert not np.signbit(dot([1.0, -1.0], [1.0, 1.0], model=Exact("fp32")))
    assert np.signbit(dot([1.0, -1.0], [1.0, 1.0], model=Exact("fp32", "toward_negative")))
    assert not np.signbit(dot([0.0], [1.0], c=0.0, model=Exact("fp32", "toward_negative")))  # +0 + +0
    assert np.signbit(dot([-0.0], [1.0], c=0.0, model=Exact("fp32", "toward_negative")))  # -0 + +0
    assert not np.signbit(dot([-0.0], [1.0], c=0.0, model=Exact("fp32")))
    assert not np.signbit(dot([0.0], [1.0], c=0.0, model=Sequential("fp32", "toward_negative")))
    assert np.signbit(dot([-0.0], [1.0], c=-0.0, model=Sequential("fp32")))
    assert not np.signbit(dot([-0.0], [1.0], c=-0.0, model=accumulation_model("a100", "fp16")))


def test_matmul_shapes_and_batched_dot():
    rng = np.random.default_rng(3)
    A = numfmt.quantize(rng.standard_normal((5, 40)), "fp16")
    B = numfmt.quantize(rng.standard_normal((40, 6)), "fp16")
    C = numfmt.quantize(rng.standard_normal((5, 1)), "fp32")
    m = "a100/fp16"
    D = matmul(A, B, c=C, model=m)
    assert D.shape == (5, 6) and D.dtype == np.float32
    d = dot(A[:, None, :], B.T[None, :, :], c=C, model=("a100", "fp16"))
    assert (bits(D) == bits(d)).all()
    assert dot(A[0], B[:, 0], model=m).shape == ()


def test_round_inputs():
    m = accumulation_model("h100", "e4m3")
    with pytest.raises(ValueError, match="not exactly representable in float8_e4m3fn"):
        dot([0.1], [1.0], model=m)
    d = dot([0.1], [1.0], model=m, round_inputs="nearest_even")
    assert d == numfmt.quantize(0.1, "e4m3")
    assert dot([1000.0], [1.0], model=m, round_inputs="nearest_even") == 448.0  # satfinite


# ------------------------------------------------------------ bad input
def test_errors():
    m = accumulation_model("h100", "e4m3")
    with pytest.raises(ValueError, match="inner dimensions disagree"):
        matmul(np.ones((2, 3)), np.ones((4, 2)), model=m)
    with pytest.raises(ValueError, match="inner dimensions disagree"):
        dot(np.ones(3), np.ones(4), model=m)
    with pytest.raises(ValueError, match="c holds"):
        dot([1.0], [1.0], c=0.1, model=m)
    with pytest.raises(ValueError, match="unknown GPU 'a800'"):
        accumulation_model("a800", "fp16")
    with pytest.raises(ValueError, match="no v100 preset for bf16"):
        accumulation_model("v100", "bf16")
    with pytest.raises(ValueError, match="unknown input format"):
        accumulation_model("h100", "int8")
    with pytest.raises(ValueError, match="inconsistent FusedBlock"):
        FusedBlock(in_format="fp16", terms=64, extra_bits=35)
    with pytest.raises(ValueError, match="addend"):
        FusedBlock(addend="early")
    with pytest.raises(ValueError, match="result_bits"):
        FusedBlock(result_bits=30)
    with pytest.raises(ValueError, match="k_order"):
        FusedBlock(k_order=(0, 0))
    with pytest.raises(ValueError, match="k_order has 2 entries"):
        dot([1.0] * 3, [1.0] * 3, model=FusedBlock(k_order=(1, 0)))
    with pytest.raises(ValueError, match="stochastic"):
        Sequential("fp32", "stochastic")
    with pytest.raises(ValueError, match="fraction bits"):
        Exact(in_format="fp64")
    with pytest.raises(TypeError, match="inner must be an accumulation model"):
        Chunked("h100")
    with pytest.raises(ValueError, match="model='fp32' is not a preset name"):
        dot([1.0], [1.0], model="fp32")
    with pytest.raises(TypeError, match="model must be"):
        dot([1.0], [1.0], model=32)
    with pytest.raises(ValueError, match="inconsistent Chunked"):
        bad = Chunked(Sequential("fp32"), Sequential("fp16", in_format="fp16"), every=1)
        dot([1.0, 2.0**-30], [1.0, 1.0], model=bad)
    with pytest.raises(ValueError, match="a holds an infinity"):
        dot([np.inf], [1.0], model=m)
    with pytest.raises(ValueError, match=r"B holds 0\.3,"):
        matmul(np.ones((1, 1)), [[0.3]], model=m)


# ------------------------------------------------------------ MMA-Sim oracle
_TCGEN05 = "m64n8k32.kind::f8f6f4.f32.e4m3.e4m3"


def _mmasim_op(sim, arch, instr):
    if instr.startswith("m64n8k32.kind"):
        return sim.TCGen05MMA(arch, instr)
    return sim.WGMMA(arch, instr) if instr.count(".") == 3 else sim.MMA(arch, instr)


@pytest.mark.parametrize("arch,instr,gpu,fmts,k", [
    ("Hopper", "m64n8k32.f32.e4m3.e4m3", "h100", ("e4m3", "e4m3"), 96),
    ("Hopper", "m64n8k32.f32.e5m2.e5m2", "h100", ("e5m2", "e5m2"), 64),
    ("Hopper", "m64n8k32.f32.e4m3.e5m2", "h100", ("e4m3", "e5m2"), 64),
    ("Hopper", "m64n8k16.f32.bf16.bf16", "h100", ("bf16", "bf16"), 48),
    ("Ampere", "m16n8k16.f32.f16.f16.f32", "a100", ("fp16", "fp16"), 32),
    ("Blackwell", _TCGEN05, "b200", ("e4m3", "e4m3"), 64),
])
def test_mmasim_identical_bits(arch, instr, gpu, fmts, k):
    torch = pytest.importorskip("torch")
    sim = pytest.importorskip("mmasim.nv_ptx")
    op = _mmasim_op(sim, arch, instr)
    tdt = {"e4m3": torch.float8_e4m3fn, "e5m2": torch.float8_e5m2, "bf16": torch.bfloat16,
           "fp16": torch.float16}
    model = dataclasses.replace(accumulation_model(gpu, fmts[0]), in_format=fmts)
    if instr == _TCGEN05:
        # MMA-Sim's tcgen05.mma fuses c with the products (F = 25); the recorded
        # mma.sync on B200 adds it late (the preset). Same datapath otherwise.
        model = dataclasses.replace(model, addend="aligned")
    rng = np.random.default_rng(11)
    for _ in range(3):
        A = numfmt.quantize(rng.standard_normal((64, k)) * 2.0 ** rng.integers(-8, 8, (64, k)), fmts[0],
                            saturation="finite")
        B = numfmt.quantize(rng.standard_normal((k, 8)) * 2.0 ** rng.integers(-8, 8, (k, 8)), fmts[1],
                            saturation="finite")
        C = f32(rng.standard_normal((64, 8)))
        D = op(torch.tensor(f32(A)).to(tdt[fmts[0]]), torch.tensor(f32(B)).to(tdt[fmts[1]]), torch.tensor(C))
        ours = matmul(A, B, c=C, model=model)
        assert (bits(D.numpy()) == bits(ours)).all()


def test_edge_shapes():
    for m in (accumulation_model("b200", "e4m3"), Exact(), Sequential(), Pairwise(),
              Chunked(accumulation_model("h100", "e4m3"))):
        D = matmul(np.zeros((2, 0)), np.zeros((0, 3)), c=np.full((2, 3), 1.5), model=m)
        assert D.shape == (2, 3) and (D == 1.5).all()
        assert matmul(np.zeros((0, 4)), np.zeros((4, 3)), model=m).shape == (0, 3)
        assert dot([], [], c=2.0, model=m) == 2.0


# ------------------------------------------------------------ binary64 accumulators
F64 = numfmt.get_format("binary64")
MODES64 = MODES + ["to_odd"]
MAX64 = float(np.finfo(np.float64).max)


def r64(v, mode, fmt=F64) -> float:
    """``v`` (Fraction or float) rounded by numfmt.reference, as a float."""
    import numfmt.reference as ref

    if isinstance(v, float) and not math.isfinite(v):
        return v
    x = ref.decode(ref.encode(v, fmt, rounding=mode), fmt)
    return float(x)


def _data64(seed, T=24, K=20):
    """fp32 inputs with products across 2**+-240, binary64 addends across 2**+-300; rows with
    ties at 1, overflow past +-MAX, exact cancellation of products."""
    rng = np.random.default_rng(seed)
    a = f32(rng.standard_normal((T, K)) * 2.0 ** rng.integers(-120, 120, (T, K))).astype(np.float64)
    b = f32(rng.standard_normal((T, K)) * 2.0 ** rng.integers(-120, 120, (T, K))).astype(np.float64)
    c = rng.standard_normal(T) * 2.0 ** rng.integers(-300, 300, T)
    c[0], a[0], b[0] = 1.0, 2.0**-27, 2.0**-26  # each product half an ulp of 1: ties
    c[1], a[1], b[1] = MAX64, 2.0**120, 2.0**120  # past +MAX
    c[2], a[2], b[2] = -MAX64, 2.0**100, -(2.0**100)  # past -MAX
    c[3] = 2.0**-1070  # products cancel in pairs: c survives (a subnormal)
    a[3, 1::2] = -a[3, 0::2]
    b[3, 1::2] = b[3, 0::2]
    c[4], a[4], b[4] = 1.0 + 2.0**-52, 1.0 + 2.0**-23, -(1.0 - 2.0**-24)
    return a, b, c


def _radd(x, y, mode):
    """x + y rounded into binary64 (x, y: Fractions, or floats for zeros and infinities), IEEE zero signs."""
    if (isinstance(x, float) and not math.isfinite(x)) or (isinstance(y, float) and not math.isfinite(y)):
        return float(x) + float(y)
    v = Fraction(x) + Fraction(y)
    if v == 0:
        if x == 0 and y == 0 and math.copysign(1, x) == math.copysign(1, y):
            return float(x)  # the common sign
        return -0.0 if mode == "toward_negative" else 0.0
    r = r64(v, mode)
    return Fraction(r) if math.isfinite(r) else r


def _seq64(a, b, c, mode, product_format=None):
    s = float(c) if c == 0 else Fraction(c)
    for x, y in zip(a, b):
        p = Fraction(x) * Fraction(y)
        if product_format is not None:
            p = r64(p, mode, numfmt.get_format(product_format))
            p = Fraction(p) if math.isfinite(p) else p
        s = _radd(s, p, mode)
    return float(s)


def _pairwise64(a, b, c, mode):
    vals = [Fraction(x) * Fraction(y) for x, y in zip(a, b)]  # fp32 products are exact in binary64
    while len(vals) > 1:
        nxt = [_radd(vals[i], vals[i + 1], mode) for i in range(0, len(vals) - 1, 2)]
        if len(vals) % 2:
            nxt.append(vals[-1])
        vals = nxt
    return float(_radd(vals[0], float(c) if c == 0 else Fraction(c), mode))


def _same64(got, want) -> bool:
    g = np.asarray(got, np.float64)
    w = np.asarray(want, np.float64)
    return bool(np.all(g.view(np.uint64) == w.view(np.uint64)))


@pytest.mark.parametrize("mode", MODES64)
def test_binary64_accumulators_every_mode_equal_fraction_reference(mode):
    """Every model that rounds into a binary64 accumulator, every step correctly rounded."""
    a, b, c = _data64(MODES64.index(mode))
    T = len(c)
    models = {
        "fma": (Sequential("binary64", mode), lambda t: _seq64(a[t], b[t], c[t], mode)),
        "product fp32": (Sequential("binary64", mode, product_format="fp32", product_rounding=mode),
                         lambda t: _seq64(a[t], b[t], c[t], mode, "fp32")),
        "pairwise": (Pairwise("binary64", mode), lambda t: _pairwise64(a[t], b[t], c[t], mode)),
        "exact": (Exact("binary64", mode),
                  lambda t: r64(sum((Fraction(x) * Fraction(y) for x, y in zip(a[t], b[t])), Fraction(c[t])), mode)),
    }
    for name, (m, ref_fn) in models.items():
        got = dot(a, b, c=c, model=m)
        assert got.dtype == np.float64
        want = np.array([ref_fn(t) for t in range(T)])
        bad = np.flatnonzero(got.view(np.uint64) != want.view(np.uint64))
        assert bad.size == 0, (name, mode, int(bad[0]), got[bad[0]], want[bad[0]])
    # +-MAX + a term far below half an ulp: only the directed mode away from zero overflows
    up = mode == "toward_positive"
    down = mode == "toward_negative"
    for m in (Sequential("binary64", mode), Pairwise("binary64", mode), Exact("binary64", mode)):
        assert dot([2.0**120], [2.0**120], c=MAX64, model=m) == (np.inf if up else MAX64)
        assert dot([2.0**120], [-(2.0**120)], c=-MAX64, model=m) == (-np.inf if down else -MAX64)


def test_binary64_zero_signs_and_specials():
    for mode in MODES64:
        neg = mode == "toward_negative"
        for m in (Sequential("binary64", mode), Pairwise("binary64", mode), Exact("binary64", mode)):
            z = dot([1.0, -1.0], [1.0, 1.0], model=m)
            assert z == 0 and bool(np.signbit(z)) == neg, (m, z)
            assert np.signbit(dot([-0.0], [1.0], c=-0.0, model=m))
        assert np.signbit(dot([1.0], [-1.0], c=1.0, model=Sequential("binary64", mode))) == neg
    with pytest.raises(ValueError, match="FusedBlock with out_format='binary64' and result_bits=30"):
        dot([1.0], [1.0], model=FusedBlock(out_format="binary64", result_bits=30))  # no 42-bit format
    for m in (Sequential("binary64"), Pairwise("binary64"), Exact("binary64")):
        assert dot([np.inf, 1.0], [-2.0, 1.0], model=m) == -np.inf
        assert np.isnan(dot([np.inf, 1.0], [1.0, 1.0], c=-np.inf, model=m))


@given(st.data())
def test_binary64_fused_block_and_chunked(data):
    """FusedBlock blocks and the late addition rounded into binary64 (ref_fused), and a Chunked
    model whose outer Sequential accumulates in binary64."""
    pool = BF16[(np.abs(BF16) <= 2.0**40) & (np.abs(BF16) >= 2.0**-40)]
    K = data.draw(st.integers(1, 40))
    idx = data.draw(st.lists(st.integers(0, pool.size - 1), min_size=2 * K, max_size=2 * K))
    a, b = pool[idx[:K]], pool[idx[K:]]
    terms = data.draw(st.integers(1, 16))
    m = FusedBlock(
        in_format="bf16", terms=terms, extra_bits=data.draw(st.integers(-20, 62 - 25 - 1 - (terms + 1).bit_length())),
        sticky=data.draw(st.booleans()), addend=data.draw(st.sampled_from(["aligned", "late"])),
        out_format="binary64", rounding=data.draw(st.sampled_from(MODES)),
        late_rounding=data.draw(st.sampled_from(MODES)), result_bits=data.draw(st.sampled_from([None, 13])),
        overflow="ieee",
    )
    c = data.draw(st.floats(-1e30, 1e30))
    assert float(dot(a, b, c=c, model=m)) == ref_fused(a, b, c, m)
    mode = data.draw(st.sampled_from(MODES64))
    every = data.draw(st.integers(1, 8))
    ch = Chunked(Exact("fp32", "toward_zero", in_format="bf16"), Sequential("binary64", mode), every=every)
    parts = [float(dot(a[i:i + every], b[i:i + every], model=Exact("fp32", "toward_zero", in_format="bf16")))
             for i in range(0, K, every)]
    want = _seq64(np.array(parts), np.ones(len(parts)), c, mode)
    assert _same64(dot(a, b, c=c, model=ch), want)


def test_int64_beyond_2_53_checked_exactly():
    """An int64 above 2**53 is not converted to float64 before the check (2**60 + 1 is not bf16)."""
    m = numfmt.Exact("fp64", in_format="bf16")
    with pytest.raises(ValueError, match=r"a holds the integer 1152921504606846977.*bfloat16"):
        numfmt.dot([2**60 + 1], [1.0], model=m)
    with pytest.raises(ValueError, match=r"c holds the integer 1152921504606846977"):
        numfmt.dot([1.0], [1.0], c=np.int64(2**60 + 1), model=m)
    with pytest.raises(ValueError, match=r"B holds the integer"):
        numfmt.matmul(np.ones((1, 1)), np.array([[2**60 + 1]]), model=m)
    assert numfmt.dot([2**60], [1.0], model=m) == 2.0**60
    assert numfmt.dot(np.array([2**64 - 2**56], np.uint64), [1.0], model=m) == 2.0**64 - 2**56


def test_int64_beyond_2_53_rounded_exactly():
    """round_inputs= rounds the integer itself: 2**60 + 2**52 + 1 is above the bf16 midpoint (a float64
    step would make it the tie 2**60 + 2**52 and round it to even, 2**60)."""
    m = numfmt.Exact("fp64", in_format="bf16")
    x = 2**60 + 2**52 + 1
    want = 2.0**60 * (1 + 2**-7)
    assert numfmt.dot([x], [1.0], model=m, round_inputs="nearest_even") == want
    assert numfmt.dot([-x], [1.0], model=m, round_inputs="nearest_even") == -want
    got = numfmt.matmul(np.array([[x]]), np.ones((1, 1)), model=m, round_inputs="nearest_even")
    assert got.tolist() == [[want]]


def test_exact_plus_zero_sign_rules():
    """`Exact(plus_zero=True)`: +0 only when every product and c are zeros; an exact
    cancellation keeps the IEEE sign (-0 under toward_negative), as documented."""
    m = Exact("fp32", "toward_negative", in_format="e4m3", plus_zero=True)
    assert np.signbit(dot([1.0, 1.0], [1.0, -1.0], model=m))  # cancellation: -0
    assert not np.signbit(dot([-0.0, 0.0], [1.0, 1.0], model=m))  # every product a zero: +0
    assert not np.signbit(dot([-0.0, -0.0], [1.0, 1.0], model=m, c=-0.0))
    m_rne = dataclasses.replace(m, rounding="nearest_even")
    assert not np.signbit(dot([1.0, 1.0], [1.0, -1.0], model=m_rne))
    assert "cancel exactly keep the IEEE 754 sign" in " ".join(Exact.__doc__.split())
