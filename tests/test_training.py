"""numfmt.training: TransformerEngine's NVFP4 reference quantizer bit for bit (hand-derived vectors from
its published rules, and a torch restatement of those rules as an oracle), recipes as data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import numfmt
from numfmt import training
from numfmt.training import TE_RHT_SIGNS, nvfp4_quantize, random_hadamard

F32MAX = float(np.finfo(np.float32).max)


def _codes(ba):
    return [int(c) for c in ba.codes.ravel()]


# ------------------------------------------------------------------ hand-derived vectors
def test_published_vector():
    """x_i = (i - 8) * 0.37, tensor amax 10: S_enc = fl(2688 / 10), block scale 0x70 (128)."""
    x = ((np.arange(16) - 8) * 0.37).astype(np.float32)[None]
    ba = nvfp4_quantize(x, global_amax=10.0)
    assert int(ba.scales[0, 0]) == 0x70
    assert _codes(ba) == [0xF, 0xF, 0xE, 0xE, 0xD, 0xC, 0xB, 0xA, 0, 2, 3, 4, 5, 6, 6, 7]
    assert ba.tensor_scale == np.float32(1) / np.float32(np.float32(2688) / np.float32(10))


def test_ties_go_to_even_and_negative_zero_is_code_0():
    """amax 2688 -> S_enc = 1; block amax 6 -> d = fl(6 * fl(1/6)) = 1.0 (0x38), enc = 1: x is E2M1's input."""
    x = np.float32([[0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0, 6.0, -0.25, -0.75, -1.25, -1.75, -2.5, -3.5, -5.0, -0.0]])
    ba = nvfp4_quantize(x, global_amax=2688.0)
    assert int(ba.scales[0, 0]) == 0x38 and ba.tensor_scale == 1.0
    assert _codes(ba) == [0, 2, 2, 4, 4, 6, 6, 7, 8, 0xA, 0xA, 0xC, 0xC, 0xE, 0xE, 0]
    # numfmt's own nvfp4 encode keeps -0.0 as 0x8: the reference's interval table does not
    assert int(numfmt.encode(x, "nvfp4", tensor_amax=2688.0).codes[0, -1]) == 8


def test_block_amax_maps_exactly_to_6():
    """block amax 12: d = fl(12 * fl(1/6)) rounds to 2.0 (0x40), enc = 0.5, 12 -> 6.0 (0x7)."""
    x = np.zeros((1, 32), np.float32)
    x[0, 16:] = np.float32([12, -12, 1, 0.5] * 4)
    ba = nvfp4_quantize(x, global_amax=2688.0)
    assert ba.scales.tolist() == [[0, 0x40]]
    assert _codes(ba)[:16] == [0] * 16  # the zero block: scale 0, enc = FLT_MAX, codes 0
    assert _codes(ba)[16:20] == [7, 0xF, 1, 0]  # 1 * 0.5 = 0.5; 0.5 * 0.5 = 0.25 (a tie: even, 0)


def test_scale_multiplier_order_decides_a_tie():
    """The reference multiplies by fl(S_enc * fl(1/6)), not S_enc / 6: with tensor amax 637.32470703125
    (S_enc = 4.2176304, mult = 0.70293844) and block amax 4.445624351501465, d = 3.1250002 is just above
    the E4M3 tie 3.125 between 3.0 (0x44) and 3.25 (0x45): 0x45 (S_enc / 6 would give exactly 3.125: 0x44)."""
    x = np.zeros((1, 32), np.float32)
    x[0, 0] = np.uint32(0x441F54C8).view(np.float32)
    x[0, 16] = np.uint32(0x408E428E).view(np.float32)
    assert nvfp4_quantize(x).scales.tolist() == [[0x7E, 0x45]]


def test_all_zero_tensor():
    """amax 0: 2688 / 0 = inf -> S_enc = FLT_MAX, S_dec = fl(1 / FLT_MAX) = 2**-128 (a float32 subnormal)."""
    ba = nvfp4_quantize(np.zeros((2, 32), np.float32))
    assert not ba.codes.any() and not ba.scales.any() and ba.tensor_scale == np.float32(2.0**-128)


def test_global_scale_saturates():
    """amax 2**-126: 2688 * 2**126 overflows float32 -> S_enc = FLT_MAX; mult = fl(FLT_MAX * fl(1/6));
    d = fl(2**-126 * mult) = 0.66666.. -> E4M3 0.6875 (0x33); enc = 1 / fl(0.6875 * 2**-128) overflows
    -> FLT_MAX; elements fl(x * FLT_MAX): 2**-126 -> 3.9999998 -> 4 (0x6), 2**-127 -> 2 (0x4),
    -2**-128 -> -1 (0xA)."""
    x = np.zeros((1, 16), np.float32)
    x[0, :3] = [2.0**-126, 2.0**-127, -(2.0**-128)]
    ba = nvfp4_quantize(x)
    assert int(ba.scales[0, 0]) == 0x33 and ba.tensor_scale == np.float32(2.0**-128)
    assert _codes(ba)[:4] == [6, 4, 0xA, 0]


def test_2d_tiles_share_one_scale():
    x = np.ones((20, 32), np.float32)
    x[3, 5] = 12.0
    b2 = nvfp4_quantize(x, tile=(16, 16), global_amax=2688.0)
    b1 = nvfp4_quantize(x, tile=(1, 16), global_amax=2688.0)
    assert b2.scales.shape == (20, 2)
    assert (b2.scales[:16, 0] == 0x40).all() and b2.codes[0, 0] == 1 and b2.codes[3, 5] == 7
    # rows 16..19 are a tile of their own (zero padded): amax 1 -> d = fl(1/6) -> 0.171875 (0x23)
    assert (b2.scales[16:, :] == 0x23).all() and (b2.scales[:16, 1] == 0x23).all()
    assert b1.scales[3, 0] == 0x40 and b1.scales[0, 0] == 0x23


def test_4over6_picks_map_to_4_when_it_is_exact():
    """E = 256, amax 1536 -> S_enc = 1. Block amax 4: d6 = fl(4/6) -> 0.6875, d4 = fl(d6 * 1.5) = 1.0.
    x on the FP4 grid is exact with the map-to-4 scale (error 0) and not with map-to-6."""
    x = np.zeros((1, 32), np.float32)
    x[0, :16] = [4, 3, 2, 1.5, 1, 0.5, 0, -4, -3, -2, -1.5, -1, -0.5, 0, 4, 2]
    x[0, 16:] = [3] + [0] * 15  # amax 3: d6 = 0.5, d4 = 0.75 -> both exact: a tie, map-to-6
    for mode in ("mae", "mse"):
        ba = nvfp4_quantize(x, four_over_six=mode, global_amax=1536.0)
        assert ba.scales.tolist() == [[0x38, 0x30]] and ba.tensor_scale == 1.0
        np.testing.assert_array_equal(numfmt.decode(ba), x)
        assert _codes(ba)[16] == 7
    plain = nvfp4_quantize(x, global_amax=1536.0 * 448 / 256)  # no 4over6: map-to-6 only
    assert not np.array_equal(numfmt.decode(plain)[0, :16], x[0, :16])


def test_rht_by_hand_and_against_torch():
    """The transform is x @ diag(signs) H / 4: a one-hot 4 e_k gives signs[k] * row k of H."""
    h = np.ones((1, 1))
    while h.shape[0] < 16:
        h = np.block([[h, h], [h, -h]])
    for k in (0, 3, 15):
        x = np.zeros((1, 16), np.float32)
        x[0, k] = 4.0
        np.testing.assert_array_equal(random_hadamard(x)[0], TE_RHT_SIGNS[k] * h[k])
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = (rng.integers(-64, 64, (8, 64)) * 2.0**-3).astype(np.float32)  # sums exact in every order
    t = torch.tensor(np.diag(TE_RHT_SIGNS).astype(np.float32)) @ torch.tensor(h.astype(np.float32)) * 0.25
    want = (torch.tensor(x).view(-1, 16) @ t).view(8, 64).numpy()
    np.testing.assert_array_equal(random_hadamard(x), want)
    # a bfloat16 input: the transform's output is rounded to bfloat16 (TE's matmul in the input dtype)
    xb = torch.tensor(rng.standard_normal((2, 32)).astype(np.float32)).to(torch.bfloat16)
    yb = (xb.float().view(-1, 16) @ t).view(2, 32).to(torch.bfloat16).float().numpy()
    got = nvfp4_quantize(xb, rht=True)
    np.testing.assert_array_equal(got.codes, nvfp4_quantize(yb).codes)


def test_row_scaled():
    x = np.float32([[1.0] * 16, [100.0] * 15 + [-50.0]])
    ba, rs = nvfp4_quantize(x, row_scaled=True)
    assert ba.tensor_scale is None and rs.dtype == np.float32
    for i in range(2):  # each row on its own is a tensor
        one = nvfp4_quantize(x[i:i + 1])
        assert rs[i] == one.tensor_scale
        np.testing.assert_array_equal(ba.codes[i], one.codes[0])
        np.testing.assert_array_equal(ba.scales[i], one.scales[0])


def test_bad_arguments():
    x = np.ones((2, 16), np.float32)
    with pytest.raises(ValueError, match="tile"):
        nvfp4_quantize(x, tile=(1, 32))
    with pytest.raises(ValueError, match="did you mean 'mse'"):
        nvfp4_quantize(x, four_over_six="mes")
    with pytest.raises(ValueError, match="2-D"):
        nvfp4_quantize(np.ones(16, np.float32))
    with pytest.raises(ValueError, match="multiple of 16"):
        nvfp4_quantize(np.ones((2, 20), np.float32), rht=True)
    with pytest.raises(ValueError, match="row_scaled"):
        nvfp4_quantize(x, tile=(16, 16), row_scaled=True)
    with pytest.raises(ValueError, match="finite"):
        nvfp4_quantize(np.float32([[np.inf] * 16]))


# ------------------------------------------------------------------ the rules restated in torch (oracle)
def _torch_ref(x, tile, mode, row_scaled, emax_g):
    """TE's reference rules, restated with torch float32 ops (written from the published rules)."""
    import torch

    t = torch.tensor(x)
    m, n = t.shape
    r = tile[0]
    mp, npd = -(-m // r) * r, -(-n // 16) * 16
    xp = torch.nn.functional.pad(t, (0, npd - n, 0, mp - m))
    nb = npd // 16
    if r == 16:
        tiles = xp.view(mp // 16, 16, nb, 16).abs().amax(dim=(1, 3))
        vmax = tiles.repeat_interleave(16, dim=0).unsqueeze(-1)
    else:
        vmax = xp.view(mp, nb, 16).abs().amax(dim=-1, keepdim=True)
    fmax = torch.tensor(F32MAX, dtype=torch.float32)
    g = t.abs().amax(dim=1).view(m, 1, 1) if row_scaled else t.abs().max().view(1)
    s_enc = torch.minimum(torch.div(torch.tensor(emax_g * 6.0), g), fmax)
    s_enc = torch.where(s_enc == 0, torch.ones_like(s_enc), s_enc)
    s_dec = torch.div(1.0, s_enc)
    x3 = xp.view(mp, nb, 16)

    def fp4(v):
        res = torch.zeros_like(v, dtype=torch.uint8)
        table = [(0, .25, 1, 1, 0), (.25, .75, 0, 0, 1), (.75, 1.25, 1, 1, 2), (1.25, 1.75, 0, 0, 3),
                 (1.75, 2.5, 1, 1, 4), (2.5, 3.5, 0, 0, 5), (3.5, 5, 1, 1, 6)]  # (lo, hi, closed lo, closed hi, code)
        for lo, hi, lc, hc, code in table:
            sel = ((v >= lo) if lc else (v > lo)) & ((v <= hi) if hc else (v < hi))
            res[sel] = code
            nsel = ((-v >= lo) if lc else (-v > lo)) & ((-v <= hi) if hc else (-v < hi)) & (v < -0.0)
            res[nsel] = code + 8
        res[v > 5] = 7
        res[v < -5] = 15
        return res

    def cand(d):
        d = torch.clamp(d, -448.0, 448.0).to(torch.float8_e4m3fn)
        enc = torch.minimum(torch.div(1.0, d.float() * s_dec), fmax)
        q = fp4(torch.clamp(x3 * enc, -6.0, 6.0))
        return q, d

    if mode is None:
        d = torch.minimum(vmax * (s_enc * torch.reciprocal(torch.tensor(6.0))), fmax)
        q, d = cand(d)
    else:
        base = torch.div(vmax, 6.0) * s_enc
        vals = torch.tensor(numfmt.decode(np.arange(16), "e2m1"))
        res = []
        for d in (base * 1.5, base):
            q, dd = cand(d)
            e = vals[q.long()]
            err = torch.zeros_like(vmax)
            gg = g.squeeze(-1) if row_scaled else g
            for i in range(16):
                v = e[:, :, i] * dd.float().squeeze(-1)
                v = v * gg
                v = v / torch.tensor(6.0 * emax_g)
                diff = v - x3[:, :, i]
                err = err + ((diff * diff) if mode == "mse" else diff.abs()).unsqueeze(-1)
            res.append((q, dd, err))
        (q4, d4, e4), (q6, d6, e6) = res
        if r == 16:
            def tree(e):
                rows = e.view(mp // 16, 16, nb)
                rows = rows[:, 0:8] + rows[:, 8:16]
                rows = rows[:, 0:4] + rows[:, 4:8]
                rows = rows[:, 0:2] + rows[:, 2:4]
                return (rows[:, 0] + rows[:, 1]).repeat_interleave(16, dim=0).unsqueeze(-1)
            pick = tree(e4) < tree(e6)
        else:
            pick = e4 < e6
        q = torch.where(pick, q4, q6)
        d = torch.where(pick, d4.float(), d6.float()).to(torch.float8_e4m3fn)
    return (q.view(mp, npd)[:m, :n].numpy(), d.squeeze(-1).view(torch.uint8)[:m].numpy(),
            (s_dec.view(m) if row_scaled else s_dec.view(())).numpy())


@st.composite
def te_inputs(draw):
    m = draw(st.sampled_from([1, 3, 16, 17, 32]))
    n = draw(st.sampled_from([16, 32, 48, 20]))
    kind = draw(st.sampled_from(["normal", "ties", "zeros", "wide", "tiny", "huge"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if kind == "normal":
        x = rng.standard_normal((m, n)) * 2.0 ** rng.integers(-10, 10)
    elif kind == "ties":  # the FP4 grid and its midpoints, with amax 6
        x = rng.choice([0, .25, .5, .75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 5, 6], (m, n)) * rng.choice([-1, 1],
                                                                                                          (m, n))
        x[0, 0] = 6
    elif kind == "zeros":
        x = rng.standard_normal((m, n))
        x[:, :16] = 0
    elif kind == "wide":
        x = rng.standard_normal((m, n)) * 2.0 ** rng.integers(-60, 60, (m, n))
    elif kind == "tiny":
        x = rng.standard_normal((m, n)) * 2.0**-130
    else:
        x = rng.standard_normal((m, n)) * 1e37
    return x.astype(np.float32)


@given(te_inputs(), st.sampled_from([(1, 16), (16, 16)]), st.sampled_from([None, "mae", "mse"]))
def test_equals_the_torch_restatement_of_the_rules(x, tile, mode):
    pytest.importorskip("torch")
    emax_g = 256 if mode else 448
    ba = nvfp4_quantize(x, tile=tile, four_over_six=mode)
    q, s, sd = _torch_ref(x, tile, mode, False, emax_g)
    np.testing.assert_array_equal(ba.codes, q)
    np.testing.assert_array_equal(ba.scales, s)
    assert ba.tensor_scale.view(np.uint32) == sd.view(np.uint32)


@given(te_inputs(), st.sampled_from([None, "mae"]))
def test_row_scaled_equals_the_torch_restatement(x, mode):
    pytest.importorskip("torch")
    ba, rs = nvfp4_quantize(x, row_scaled=True, four_over_six=mode)
    q, s, sd = _torch_ref(x, (1, 16), mode, True, 256 if mode else 448)
    np.testing.assert_array_equal(ba.codes, q)
    np.testing.assert_array_equal(ba.scales, s)
    np.testing.assert_array_equal(rs.view(np.uint32), sd.view(np.uint32))


@given(te_inputs())
def test_1x16_equals_numfmt_nvfp4_te_recipe(x):
    """Away from an all-zero tensor and -0.0 inputs, the reference is numfmt's `nvfp4` (recipe te)."""
    x = np.where(x == 0, np.float32(0), x).astype(np.float32)  # (+0 only)
    if not x.any():
        return
    ba = nvfp4_quantize(x)
    nb = numfmt.encode(x, "nvfp4")
    np.testing.assert_array_equal(ba.scales, nb.scales)
    np.testing.assert_array_equal(ba.codes, nb.codes)
    assert ba.tensor_scale == nb.tensor_scale


# ------------------------------------------------------------------ recipes
@given(te_inputs(), st.sampled_from([(1, 16), (16, 16)]))
def test_nvfp4_recipe_equals_scaled_quantize(x, block):
    """The recipe object's operand quantization = scaled_quantize with the same spec (two-level)."""
    spec = training.nvfp4.fprop_input if block == (1, 16) else training.nvfp4.fprop_weight
    assert spec.block == block
    got = training.quantize_operand(x, spec)
    gran = ("block", 16) if block == (1, 16) else ("tile", block)
    want = numfmt.scaled_quantize(x, "e2m1", granularity=gran, scale_format="e4m3", tensor_scale=True).values
    np.testing.assert_array_equal(got, want)  # (== : the reference's +0 for -0.0)


def test_recipes_are_frozen_data_and_complete():
    assert training.list_recipes() == list(training.RECIPES)
    for r in training.RECIPES.values():
        assert len(r.rows()) == 6
        with pytest.raises(AttributeError):
            r.name = "x"
    nv = training.get_recipe("nvfp4")
    assert nv.operand("fprop", "weight").block == (16, 16) and nv.operand("wgrad", "grad").transform == "rht16"
    assert nv.operand("dgrad", "grad").rounding == "stochastic" and nv.operand("fprop", "input").transform is None
    assert training.mxfp8.operand("fprop", "input").scale_rule == "rceil"
    assert training.mxfp8_floor.operand("wgrad", "grad").scale_rule == "floor"
    with pytest.raises(ValueError, match="no weight operand"):
        nv.operand("wgrad", "weight")
    with pytest.raises(ValueError, match="did you mean 'nvfp4'"):
        training.get_recipe("nvfp5")
    assert "| `nvfp4` |" in training.recipe_table()


def test_quantize_operand_mx_and_fp8():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 64)).astype(np.float32)
    np.testing.assert_array_equal(training.quantize_operand(x, training.mxfp8.fprop_input),
                                  numfmt.quantize(x, "mxfp8_e4m3", scale_rule="rceil"))
    np.testing.assert_array_equal(training.quantize_operand(x, training.mxfp4.fprop_input),
                                  numfmt.quantize(x, "mxfp4"))
    np.testing.assert_array_equal(training.quantize_operand(x, training.bf16.wgrad_grad), numfmt.quantize(x, "bf16"))
    sr = training.mxfp4_hadamard_sr.wgrad_grad
    a = training.quantize_operand(x, sr, random=1)
    assert np.array_equal(a, training.quantize_operand(x, sr, random=1))
    assert not np.array_equal(a, training.quantize_operand(x, sr, random=2))
    s = training.fp8_scale(np.abs(x).max(), "e4m3")
    want = numfmt.quantize((x * s).astype(np.float32), "e4m3", saturation="finite") * (np.float32(1) / s)
    np.testing.assert_array_equal(training.quantize_operand(x, training.fp8_current.fprop_input), want)
    with pytest.raises(ValueError, match="amax="):
        training.quantize_operand(x, training.fp8_delayed.fprop_input)
    assert training.fp8_scale(0.0, "e4m3") == 1.0 and training.fp8_scale(448.0, "e4m3", margin=1) == 0.5


def test_margin_divides_the_fp8_scale():
    x = np.float32([[0.3, -2.0, 5.0, 100.0, 0.003]])  # 0.003: subnormal after the scale, so margin shows
    spec = training.fp8_current.fprop_input
    s0 = training.fp8_scale(100.0, "e4m3")
    assert training.fp8_scale(100.0, "e4m3", margin=3) == np.float32(s0 / 8)
    got = training.quantize_operand(x, spec, margin=3)
    xs = (x * np.float32(s0 / 8)).astype(np.float32)
    want = (numfmt.quantize(xs, "e4m3", saturation="finite") * (np.float32(1) / np.float32(s0 / 8))).astype(np.float32)
    assert got.tobytes() == want.tobytes()
    assert got.tobytes() != training.quantize_operand(x, spec).tobytes()
    with pytest.raises(ValueError, match="margin"):
        training.quantize_operand(x, training.mxfp8.fprop_input, margin=1)
    with pytest.raises(ValueError, match="margin"):
        dataclasses.replace(training.fp8_current, margin=-1)
    with pytest.raises(TypeError, match="amax_history"):
        dataclasses.replace(training.fp8_delayed, amax_history=1.5)


@pytest.mark.parametrize("amax", [np.inf, -np.inf, np.nan, -1.0])
def test_fp8_scale_rejects_bad_amax(amax):
    with pytest.raises(ValueError, match="amax"):
        training.fp8_scale(amax, "e4m3")
    with pytest.raises(ValueError, match="amax"):
        training.quantize_operand(np.ones((2, 4), np.float32), training.fp8_delayed.fprop_input, amax=amax)
    with pytest.raises(TypeError, match="amax"):
        training.fp8_scale("big", "e4m3")


def test_amax_is_refused_where_it_is_not_used():
    x = np.ones((2, 32), np.float32)
    for spec in (training.mxfp8.fprop_input, training.nvfp4.fprop_input, training.bf16.fprop_input):
        with pytest.raises(ValueError, match="amax"):
            training.quantize_operand(x, spec, amax=2.0)
    # current scaling uses a given amax instead of max |x|
    spec = training.fp8_current.fprop_input
    assert (training.quantize_operand(x, spec, amax=4.0).tobytes()
            == training.quantize_operand(x, training.fp8_delayed.fprop_input, amax=4.0).tobytes())


@pytest.mark.parametrize("kw,exc,match", [
    ({"format": "e2m1", "block": (1, 16), "scale_format": "e4m3", "tensor_scale": True, "four_over_six": "xyz"},
     ValueError, "four_over_six"),
    ({"format": "e4m3", "block": (1, 32), "scale_format": "e8m0", "scale_rule": "rceil", "four_over_six": "mae"},
     ValueError, "four_over_six"),
    ({"format": "e4m3", "block": (1, 32), "scale_format": "e8m0", "scale_rule": "rceil", "row_scaled": True},
     ValueError, "row_scaled"),
    ({"format": "e4m3", "block": None, "scale_format": "e8m0", "scale_rule": "rceil"}, ValueError, "scale_rule"),
    ({"format": "e4m3", "block": None, "scale_format": "e8m0", "scale_rule": "current"}, ValueError,
     "scale_format"),
    ({"format": "e4m3", "block": 16, "scale_format": "e8m0", "scale_rule": "rceil"}, TypeError, "block"),
    ({"format": "e4m3", "block": (1, 32), "scale_rule": "current"}, ValueError, "scale_rule"),
    ({"format": "e2m1", "block": (1, 16), "scale_format": "e4m3", "tensor_scale": True, "transform": "rht32"},
     ValueError, "transform"),
])
def test_operand_spec_rejects_inconsistent_fields(kw, exc, match):
    with pytest.raises(exc, match=match):
        training.OperandSpec(**kw)


def test_every_recipe_spec_is_valid():
    for r in training.RECIPES.values():
        for _, _, spec in r.rows():
            assert dataclasses.replace(spec) == spec


def test_nvfp4_tile_as_array():
    x = np.ones((16, 16), np.float32)
    want = nvfp4_quantize(x, tile=(16, 16))
    got = nvfp4_quantize(x, tile=np.array([16, 16]))
    assert got.codes.tobytes() == want.codes.tobytes() and got.scales.tobytes() == want.scales.tobytes()
    with pytest.raises(ValueError, match="tile must be"):
        nvfp4_quantize(x, tile=np.array([1, 32]))
    with pytest.raises(ValueError, match="tile must be"):
        nvfp4_quantize(x, tile=16)
