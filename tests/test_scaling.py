"""numfmt.scaled_quantize / scaled_encode / error_stats: each rule equals a straightforward numpy
composition of numfmt primitives, group by group (the oracle below loops over the groups)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numfmt
from numfmt.block import BlockFormat, scale_exponents
from numfmt.scaling import MSE_RATIOS

ELEMS = ["e4m3", "e5m2", "e2m1", "e3m2", "int4_symmetric", "int8", "int6", "int3_symmetric"]
POW2 = ("floor", "ceil", "even", "rceil")


def _groups(shape, granularity, axis):
    """Index arrays (into x) of each group, in the group's row-major order, and its padded size."""
    nd = len(shape)
    ax = axis % nd
    idx = np.arange(int(np.prod(shape))).reshape(shape)
    if granularity == "tensor":
        return [(idx.ravel(), idx.size)]
    m = np.moveaxis(idx, ax, -1)
    out = []
    if granularity == "channel":
        for lead in np.ndindex(m.shape[:-1]):
            out.append((m[lead], m.shape[-1]))
        return out
    kind, arg = granularity
    if kind == "block":
        for lead in np.ndindex(m.shape[:-1]):
            v = m[lead]
            for k in range(0, max(v.size, 1), arg):
                if v.size:
                    out.append((v[k:k + arg], arg))
        return out
    r, c = arg
    for lead in np.ndindex(m.shape[:-2]):
        t = m[lead]
        for i in range(0, t.shape[0], r):
            for j in range(0, t.shape[1], c):
                sub = np.full((r, c), -1)
                blk = t[i:i + r, j:j + c]
                sub[: blk.shape[0], : blk.shape[1]] = blk
                out.append((sub.ravel(), r * c))
    return out


def _round_scale(s, sf, w):
    if sf is None:
        return w.type(s)
    f = numfmt.get_format(sf)
    if s == 0 and not f.has_zero:
        s = min(v for v in f.values() if v > 0)
    return w.type(numfmt.quantize(np.float64(s), f, saturation="finite", nan="max", dtype=np.float64))


def _q(v, fmt, rounding, bits):
    kw = {} if bits is None else {"random": bits, "rbits": 8}
    return numfmt.quantize(v, fmt, rounding=rounding, saturation="finite", nan="max", dtype=np.float64, **kw)


def oracle(x, fmt, granularity, axis, sf, rule, rounding="nearest_even", bits=None):
    """Values of x quantized group by group with numfmt.quantize / scale_exponents."""
    w = x.dtype
    flat = x.ravel()
    fb = None if bits is None else bits.ravel()
    out = np.empty_like(flat)
    M = w.type(numfmt.get_format(fmt).max)
    for gi, size in _groups(x.shape, granularity, axis):
        gi = gi[gi >= 0] if gi.ndim else gi
        g = flat[gi]
        gb = None if fb is None else fb[gi]
        amax = np.abs(g).max() if g.size else w.type(0)
        if rule in POW2:
            e = scale_exponents(np.asarray([amax], w), BlockFormat(name="o", element=fmt, scale="e8m0", block_size=1),
                                scale_rule=rule, input_dtype=w)[0][0]
            lo, hi = (-127, 127) if sf == "e8m0" else (-9, 8) if sf == "e4m3" else (-149, 127)
            e = int(np.clip(e, lo, hi))
            q = _q(np.ldexp(g.astype(np.float64), -e), fmt, rounding, gb).astype(w)
            out[gi] = q * w.type(2.0**e)
            continue
        base = w.type(amax / M)
        ratios = {"amax": [1.0], "mse": MSE_RATIOS, "4over6": [1.0, 1.5]}[rule]
        best = None
        for rt in ratios:
            s = _round_scale(w.type(base * w.type(rt)) if rt != 1.0 else base, sf, w)
            with np.errstate(divide="ignore", invalid="ignore"):
                v = (g * w.type(0)) if s == 0 else (g / s).astype(w)
            vals = (_q(v, fmt, rounding, gb).astype(w) * s).astype(w)
            d = vals.astype(np.float64) - g.astype(np.float64)
            err = np.sum(np.concatenate([d * d, np.zeros(size - d.size)]))
            if best is None or err < best[0]:
                best = (err, vals)
        out[gi] = best[1]
    return out.reshape(x.shape)


SHAPES = st.sampled_from([(7,), (33,), (3, 20), (17, 18), (2, 3, 16), (5, 1), (1, 40)])


@st.composite
def cases(draw):
    shape = draw(SHAPES)
    dt = draw(st.sampled_from([np.float32, np.float64]))
    exp = draw(st.integers(-30, 30))
    x = draw(hnp.arrays(dt, shape, elements=st.floats(-4, 4, width=32)))
    x = (x * dt(2.0**exp)).astype(dt)
    fmt = draw(st.sampled_from(ELEMS))
    gran = draw(st.sampled_from(["tensor", "channel", ("block", 4), ("block", 16), ("tile", (2, 4)),
                                 ("tile", (16, 16))]))
    if gran[0] == "tile" and len(shape) < 2:
        gran = "channel"
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    rule = draw(st.sampled_from(["amax", "mse", "4over6", *POW2]))
    if rule == "rceil" and dt == np.float64:
        rule = "floor"
    sf = draw(st.sampled_from([None, "e8m0"] if rule in POW2 else [None, "e4m3", "e8m0"]))
    return x, fmt, gran, axis, sf, rule


@given(cases())
def test_scaled_quantize_equals_the_composition(case):
    x, fmt, gran, axis, sf, rule = case
    got = numfmt.scaled_quantize(x, fmt, granularity=gran, axis=axis, scale_format=sf, scale_rule=rule)
    want = oracle(x, fmt, gran, axis, sf, rule)
    assert got.values.dtype == x.dtype
    np.testing.assert_array_equal(got.values.view(f"u{x.itemsize}"), want.view(f"u{x.itemsize}"))
    enc = numfmt.scaled_encode(x, fmt, granularity=gran, axis=axis, scale_format=sf, scale_rule=rule)
    assert enc.codes.shape == x.shape and enc.scales.shape == got.scales.shape
    sv = got.scales if sf is None else numfmt.decode(enc.scales, sf, dtype=np.float64).astype(x.dtype)
    assert np.array_equal(sv, got.scales)


@given(st.integers(0, 2**32 - 1), st.sampled_from(["amax", "floor", "mse"]))
def test_stochastic_rounding_with_explicit_bits(seed, rule):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((6, 32)).astype(np.float32)
    bits = rng.integers(0, 256, x.shape, dtype=np.uint32)
    got = numfmt.scaled_quantize(x, "e2m1", granularity=("block", 16), scale_rule=rule, rounding="stochastic",
                                 random=bits, rbits=8)
    want = oracle(x, "e2m1", ("block", 16), -1, None, rule, "stochastic", bits)
    np.testing.assert_array_equal(got.values.view(np.uint32), want.view(np.uint32))
    # a seed gives the same bits as its stream does for numfmt.encode of x
    a = numfmt.scaled_quantize(x, "e2m1", granularity="tensor", rounding="stochastic", random=seed)
    s = a.scales.item()
    want = numfmt.quantize(x / np.float32(s), "e2m1", rounding="stochastic", random=seed, saturation="finite") * s
    np.testing.assert_array_equal(a.values, want)


def test_scales_shapes_follow_the_granularity():
    x = np.arange(2 * 33 * 40, dtype=np.float32).reshape(2, 33, 40)
    for gran, shape in [("tensor", (1, 1, 1)), ("channel", (2, 33, 1)), (("block", 16), (2, 33, 3)),
                        (("tile", (16, 16)), (2, 3, 3))]:
        assert numfmt.scaled_quantize(x, "e4m3", granularity=gran).scales.shape == shape
    assert numfmt.scaled_quantize(x, "e4m3", granularity="channel", axis=0).scales.shape == (1, 33, 40)


def test_per_channel_int8_by_hand():
    w = np.float32([[1.0, -2.0, 127.0], [0.5, 0.25, -0.125]])
    q, s = numfmt.scaled_quantize(w, "int8_symmetric", granularity="channel")
    s1 = np.float32(0.5) / np.float32(127)
    assert s.ravel().tolist() == [1.0, s1.item()]
    np.testing.assert_array_equal(q[0], w[0])
    assert q[1, 2] == np.float32(-32) * s1  # -0.125 / s1 = -31.75


def test_zero_groups_and_e8m0_scale_without_zero():
    x = np.zeros((2, 16), np.float32)
    x[1, 3] = 3.0
    r = numfmt.scaled_encode(x, "e2m1", granularity="channel", scale_format="e8m0")
    assert r.scales.ravel().tolist()[0] == 0  # 2**-127: E8M0 has no zero
    q = numfmt.scaled_quantize(x, "e2m1", granularity="channel", scale_format="e4m3")
    assert q.scales.ravel().tolist() == [0.0, 0.5] and q.values[1, 3] == 3.0 and not q.values[0].any()


def test_4over6_picks_the_map_to_4_scale_when_it_is_better():
    # block max 1.0: map-to-6 grid 1/6 * {0, .5, 1, 1.5, 2, 3, 4, 6}; map-to-4 grid 1/4 * the same
    x = np.float32([1.0, 0.75, 0.5, 0.25] * 4)
    q6 = numfmt.scaled_quantize(x, "e2m1", granularity=("block", 16), scale_rule="amax")
    q46 = numfmt.scaled_quantize(x, "e2m1", granularity=("block", 16), scale_rule="4over6")
    np.testing.assert_array_equal(q46.values, x)  # every x is on the map-to-4 grid
    assert q46.scales.item() == np.float32(np.float32(1 / 6) * np.float32(1.5)) and not np.array_equal(q6.values, x)


def test_mse_never_worse_than_amax():
    rng = np.random.default_rng(1)
    x = rng.standard_t(3, (8, 64)).astype(np.float32)
    for fmt in ("e2m1", "int4_symmetric"):
        a = numfmt.scaled_quantize(x, fmt, granularity=("block", 32), scale_rule="amax")
        m = numfmt.scaled_quantize(x, fmt, granularity=("block", 32), scale_rule="mse")
        ea = ((a.values - x).astype(np.float64) ** 2).reshape(8, 2, 32).sum(-1)
        em = ((m.values - x).astype(np.float64) ** 2).reshape(8, 2, 32).sum(-1)
        assert (em <= ea).all() and (em < ea).any()


def test_pow2_scale_codes_match_the_block_format():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 64)).astype(np.float32) * 10
    for rule in ("floor", "rceil"):
        ba = numfmt.encode(x, "mxfp8_e4m3", scale_rule=rule)
        r = numfmt.scaled_encode(x, "e4m3", granularity=("block", 32), scale_format="e8m0", scale_rule=rule)
        np.testing.assert_array_equal(r.scales, ba.scales)
        np.testing.assert_array_equal(r.codes, ba.codes)


def test_out_and_bad_arguments():
    x = np.linspace(-1, 1, 32, dtype=np.float32)
    out = np.empty(32, np.float32)
    r = numfmt.scaled_quantize(x, "e4m3", out=out)
    assert r.values is out
    codes = np.empty(32, np.uint8)
    assert numfmt.scaled_encode(x, "e4m3", out=codes).codes is codes
    with pytest.raises(ValueError, match="did you mean 'channel'"):
        numfmt.scaled_quantize(x, "e4m3", granularity="chanel")
    with pytest.raises(ValueError, match="did you mean 'mse'"):
        numfmt.scaled_quantize(x, "e4m3", scale_rule="mes")
    with pytest.raises(TypeError, match="granularity"):
        numfmt.scaled_quantize(x, "e4m3", granularity=("block", "16"))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        numfmt.scaled_quantize(x, "e4m3", granularity=("tile", (16, 16)))
    with pytest.raises(ValueError, match="tensor_scale=True needs"):
        numfmt.scaled_quantize(x, "e2m1", tensor_scale=True)
    with pytest.raises(ValueError, match="finite"):
        numfmt.scaled_quantize(np.float32([1, np.inf]), "e4m3")
    with pytest.raises(ValueError, match="shape"):
        numfmt.scaled_quantize(x, "e4m3", out=np.empty(31, np.float32))


def test_two_level_matches_the_nvfp4_block_format():
    """tensor_scale=True is TransformerEngine's order of operations: the `nvfp4` block format
    (recipe te) gives the same scale codes and values for a non-zero tensor."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((8, 64)) * 3).astype(np.float32)
    r = numfmt.scaled_encode(x, "e2m1", granularity=("block", 16), scale_format="e4m3", tensor_scale=True)
    ba = numfmt.encode(x, "nvfp4")
    np.testing.assert_array_equal(r.scales, ba.scales)
    np.testing.assert_array_equal(r.codes, ba.codes)
    assert r.tensor_scale == ba.tensor_scale
    q = numfmt.scaled_quantize(x, "e2m1", granularity=("block", 16), scale_format="e4m3", tensor_scale=True)
    np.testing.assert_array_equal(q.values, numfmt.decode(ba))


# ------------------------------------------------------------------ error_stats
def test_error_stats_by_hand():
    x = np.array([1.0, -2.0, 4.0, 0.001])
    q = np.array([1.0, -2.5, 4.0, 0.0])
    st_ = numfmt.error_stats(x, q, fmt="e2m1", scale=[1.0, 1.0, 0.5, 1.0])
    se = 0.25 + 0.001**2
    sx = 1 + 4 + 16 + 0.001**2
    assert st_.rel_rms == math.sqrt(se / sx) and st_.sqnr_db == 10 * math.log10(sx / se)
    assert st_.mean_bias == np.mean(q - x) and st_.max_abs_error == 0.5
    assert st_.frac_saturated == 0.25 and st_.frac_flushed == 0.25 and st_.n == 4
    same = numfmt.error_stats(x, x)
    assert same.rel_rms == 0 and same.sqnr_db == math.inf and same.frac_saturated is None
    with pytest.raises(ValueError, match="same shape"):
        numfmt.error_stats(x, q[:3])
    with pytest.raises(AttributeError):
        st_.n = 3  # frozen


def test_integer_preset_family():
    for b, sym in itertools.product((3, 5, 6, 7), (False, True)):
        f = numfmt.get_format(f"int{b}" + ("_symmetric" if sym else ""))
        assert f.bits == b and f.max == 2 ** (b - 1) - 1 and f.min == (-f.max if sym else -(2 ** (b - 1)))
    assert numfmt.quantize([3.6, -9.0], "int3_symmetric").tolist() == [3.0, -3.0]


@pytest.mark.parametrize("shape", [(0, 4), (4, 0), (0,)])
@pytest.mark.parametrize("kw", [{}, {"scale_format": "e8m0", "scale_rule": "floor"},
                                {"scale_format": "e4m3", "tensor_scale": True}])
def test_tensor_granularity_empty_input(shape, kw):
    r = numfmt.scaled_quantize(np.zeros(shape, np.float32), "e4m3", **kw)
    assert r.values.shape == shape and r.values.dtype == np.float32
    # the one scale of an empty tensor is that of an all-zero tensor
    z = numfmt.scaled_quantize(np.zeros((1,) * len(shape), np.float32), "e4m3", **kw)
    assert r.scales.shape == (1,) * len(shape)
    assert r.scales.tobytes() == z.scales.tobytes()


def test_error_stats_bad_scale():
    x = np.float32([1.0, 2.0, 3.0, 4.0]).reshape(2, 2)
    with pytest.raises(ValueError, match="scale of shape"):
        numfmt.error_stats(x, x, fmt="e4m3", scale=np.ones(3))
    with pytest.raises(TypeError, match="scale"):
        numfmt.error_stats(x, x, fmt="e4m3", scale="a")
    with pytest.raises(TypeError, match="scale"):
        numfmt.error_stats(x, x, fmt="e4m3", scale=np.ones(2, complex))
    st = numfmt.error_stats(x, x, fmt="e4m3", scale=np.float32([[1.0], [0.0078125]]))
    assert st.frac_saturated == 0.25  # only 4.0 > 448 * 2**-7
