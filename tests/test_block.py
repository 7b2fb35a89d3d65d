"""Block-scaled formats: literal vectors, properties against independent references, bad input."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numfmt
import numfmt.bench
from numfmt import block
from numfmt.block import BlockArray, BlockFormat

MX = ["mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4", "mxint8"]
POW2 = ["floor", "ceil", "even", "rceil", "rceil_torchao"]


def hexs(codes):
    return "".join(f"{int(c):X}" for c in np.ravel(codes))


# ------------------------------------------------ OCP MX v1.0 literal vectors (gfloat 0.5.2, torchao 0.18)

V = ((np.arange(32) - 16) * 0.46875).astype(np.float32)


_LITERAL_MXFP4 = [
    ("floor", 0x7F, "FFFFFFEEEDDCCBA90123445566677777"),
    ("ceil", 0x80, "EEDDDDCCCBBAA9980011223344455556"),
    ("even", 0x80, "EEDDDDCCCBBAA9980011223344455556"),
    ("rceil", 0x80, "EEDDDDCCCBBAA9980011223344455556"),
    ("rceil_torchao", 0x80, "EEDDDDCCCBBAA9980011223344455556"),
]


# (rceil is NVIDIA's rule; torchao 0.18's is rceil_torchao, so torchao==0.18 does not take rceil, and
# torchao's main branch (recipe="torchao") computes NVIDIA's rule and does not take rceil_torchao)
@pytest.mark.parametrize("rule, scale, codes, recipe", [
    (*row, recipe) for row in _LITERAL_MXFP4 for recipe in ("ocp", "torchao==0.18", "torchao")
    if (row[0], recipe) not in (("rceil", "torchao==0.18"), ("rceil_torchao", "torchao"))
])
def test_mxfp4_literal_block(rule, scale, codes, recipe):
    ba = numfmt.encode(V, "mxfp4", scale_rule=rule, recipe=recipe)
    assert ba.scales.tolist() == [scale]
    assert hexs(ba.codes) == codes


def test_mxfp4_floor_dequant_and_alias():
    q = numfmt.quantize(V, "mxfp4_e2m1")
    assert q.tolist() == [-6.0] * 6 + [-4.0] * 3 + [-3.0] * 2 + [-2.0] * 2 + [-1.5, -1.0, -0.5, 0.0, 0.5, 1.0,
                                                                            1.5, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0,
                                                                            4.0] + [6.0] * 5


def test_mxfp8_e4m3_literal_block():
    x = np.array([1000, -3, 0.001, 2.0 ** -20, 500, 511, 0, -0.0] + [1.0] * 24, np.float32)
    ba = numfmt.encode(x, "mxfp8_e4m3")
    assert ba.scales.tolist() == [0x80]
    assert [int(c) for c in ba.codes[:8]] == [0x7E, 0xBC, 0x00, 0x00, 0x78, 0x78, 0x00, 0x80]
    assert set(ba.codes[8:].tolist()) == {0x30}


def test_mxint8_literal_and_minus_two():
    x = np.zeros(32, np.float32)
    x[:6] = [1.5, -1.0, 0.01, 1.99, -1.99, 0.0078125]
    ba = numfmt.encode(x, "mxint8")
    assert ba.scales.tolist() == [0x7F]
    assert [int(c) for c in ba.codes[:6]] == [0x60, 0xC0, 0x01, 0x7F, 0x81, 0x00]
    # -1.995 rounds to -128/64 = -2.0: the spec's two's complement code 0x80 is produced and decoded
    y = np.zeros(32, np.float32)
    y[0], y[1] = -1.995, 1.5
    ba = numfmt.encode(y, "mxint8")
    assert int(ba.codes[0]) == 0x80 and numfmt.decode(ba)[0] == -2.0
    # microxcaling's symmetric element never produces it
    assert int(numfmt.encode(y, "mxint8_symmetric").codes[0]) == 0x81


def test_mx_zero_block_subnormal_amax_and_overflow():
    z = np.zeros(32, np.float32)
    ba = numfmt.encode(z, "mxfp8_e4m3")
    assert ba.scales.tolist() == [0] and not ba.codes.any()
    s = np.full(32, 1e-40, np.float32)  # float32 subnormal amax
    for rule in POW2:
        assert numfmt.encode(s, "mxfp4", scale_rule=rule).scales.tolist() == [0]
    big = np.full(32, 3.0e38, np.float32)
    # int8 element: emax 0, floor(log2 3e38) = 127 -> fits; E2M1 -> 125
    assert numfmt.encode(big, "mxfp4").scales.tolist() == [127 + 125]


def test_nonfinite_policies():
    x = np.ones(32, np.float32)
    x[3] = np.inf
    # torchao's behaviour: the scale from inf's bit pattern (2**128): E4M3 FLOOR -> 0xF7
    assert numfmt.encode(x, "mxfp8_e4m3").scales.tolist() == [0xF7]
    assert numfmt.encode(x, "mxfp8_e4m3", scale_rule="rceil").scales.tolist() == [0xFE]
    # OCP / microxcaling: any inf or NaN -> NaN scale, whole block NaN
    ba = numfmt.encode(x, "mxfp8_e4m3", nonfinite="nan")
    assert ba.scales.tolist() == [0xFF] and np.isnan(numfmt.decode(ba)).all()
    # P3109 ConvertToBlockMaxAbsFinite: scale from the finite values; inf stays inf in E5M2
    ba = numfmt.encode(x, "mxfp8_e5m2", nonfinite="finite")
    assert ba.scales.tolist() == [127 - 15]
    d = numfmt.decode(ba)
    assert d[3] == np.inf and (np.delete(d, 3) == 1.0).all()
    ba = numfmt.encode(x, "mxfp4", nonfinite="finite")
    assert int(ba.codes[3]) == 0x7  # no inf in E2M1: saturates
    y = np.ones(32, np.float32)
    y[0] = np.nan
    assert numfmt.encode(y, "mxfp8_e4m3").scales.tolist() == [0xFF]
    ba = numfmt.encode(y, "mxfp8_e4m3", nonfinite="finite")
    assert ba.scales.tolist() == [127 - 8] and int(ba.codes[0]) == 0x7F
    assert numfmt.encode(y, "mxfp4", nonfinite="finite").scales.tolist() == [0xFF]


def test_last_shorter_block_and_axis():
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((3, 40)) * 10).astype(np.float32)
    ba = numfmt.encode(x, "mxfp4")
    assert ba.scales.shape == (3, 2) and ba.codes.shape == (3, 40)
    # the short block's scale comes from its own 8 elements
    tail = numfmt.encode(x[:, 32:], "mxfp4")
    assert (ba.scales[:, 1] == tail.scales[:, 0]).all() and (ba.codes[:, 32:] == tail.codes).all()
    bt = numfmt.encode(x.T.copy(), "mxfp4", axis=0)
    assert bt.axis == 0 and (bt.scales == ba.scales.T).all() and (bt.codes == ba.codes.T).all()
    assert (numfmt.decode(bt) == numfmt.decode(ba).T).all()
    b3 = numfmt.encode(np.stack([x, x]), "mxfp4", axis=-1)
    assert (b3.codes[1] == ba.codes).all()


def test_float64_input_matches_float32():
    rng = np.random.default_rng(6)
    x = (rng.standard_normal(256) * 3).astype(np.float32)
    for rule in ("floor", "ceil", "even"):
        a = numfmt.encode(x, "mxfp6_e3m2", scale_rule=rule)
        b = numfmt.encode(x.astype(np.float64), "mxfp6_e3m2", scale_rule=rule)
        assert (a.scales == b.scales).all() and (a.codes == b.codes).all()
        assert numfmt.quantize(x.astype(np.float64), "mxfp6_e3m2", scale_rule=rule).dtype == np.float64


def test_decode_dtypes_and_nan_scale():
    ba = BlockArray(np.array([2, 10, 7, 0], np.uint8), np.array([255], np.uint8), "mxfp4")
    assert np.isnan(numfmt.decode(ba)).all()
    ba = BlockArray(np.array([2, 10, 7, 0], np.uint8), np.array([254], np.uint8), "mxfp4")
    assert numfmt.decode(ba).tolist() == [2.0 ** 127, -(2.0 ** 127), np.inf, 0.0]  # 6 * 2**127 overflows
    assert numfmt.decode(ba, dtype=np.float64).tolist() == [2.0 ** 127, -(2.0 ** 127), 6 * 2.0 ** 127, 0.0]
    ba = BlockArray(np.array([1], np.uint8), np.array([0], np.uint8), "mxfp4")
    assert numfmt.decode(ba).tolist() == [2.0 ** -128]  # float32 subnormal, exact


# ------------------------------------------------ NVFP4 (TransformerEngine, torchao 0.18, ModelOpt)

XN = ((np.arange(16) - 8) * np.float32(0.37)).astype(np.float32)


@pytest.mark.parametrize("recipe", ["te", "torchao", "modelopt"])
def test_nvfp4_literal_block(recipe):
    ba = numfmt.encode(XN, "nvfp4", recipe=recipe, tensor_amax=10.0)
    assert ba.scales.tolist() == [0x70]
    assert hexs(ba.codes) == "FFEEDCBA02345667"
    e = np.array([-6, -6, -4, -4, -3, -2, -1.5, -1, 0, 1, 1.5, 2, 3, 4, 4, 6])
    assert (numfmt.decode(ba, dtype=np.float64) == e * 128.0 * float(ba.tensor_scale)).all()


def test_nvfp4_tensor_scales():
    te = numfmt.encode(XN, "nvfp4", tensor_amax=10.0)
    assert np.float32(1) / te.tensor_scale == np.float32(268.79998779296875)
    ta = numfmt.encode(XN, "nvfp4", recipe="torchao", tensor_amax=10.0)
    assert ta.tensor_scale == np.float32(0.0037202381063252687)
    auto = numfmt.encode(XN, "nvfp4", recipe="torchao")  # tensor amax from x: 2.96
    assert auto.tensor_scale == np.float32(np.float32(2.96) / np.float32(2688))
    one = numfmt.encode(XN, "nvfp4", tensor_scale=False)
    assert one.tensor_scale is None
    given = numfmt.encode(XN, "nvfp4", recipe="torchao", tensor_scale=float(ta.tensor_scale))
    assert (given.scales == ta.scales).all() and (given.codes == ta.codes).all()


def test_nvfp4_recipe_differences_zero_and_tiny_blocks():
    x = np.zeros(32, np.float32)
    x[16:] = 1e-6 * np.arange(16, dtype=np.float32)  # second block tiny
    g = 100.0  # calibrated tensor amax far above both blocks
    te = numfmt.encode(x, "nvfp4", recipe="te", tensor_amax=g)
    ta = numfmt.encode(x, "nvfp4", recipe="torchao", tensor_amax=g)
    mo = numfmt.encode(x, "nvfp4", recipe="modelopt", tensor_amax=g)
    # zero block: TE lets the scale be 0, torchao clamps at 2**-6 (0x08), ModelOpt uses 1.0 (0x38)
    assert (te.scales[0], ta.scales[0], mo.scales[0]) == (0x00, 0x08, 0x38)
    assert not te.codes[:16].any() and not ta.codes[:16].any() and not mo.codes[:16].any()
    # tiny block: amax 1.5e-5 -> scale 1.5e-5/6*2688/100 = 6.7e-5: TE underflows to 0 (and saturates
    # the elements), torchao clamps to 2**-6, ModelOpt to 2**-9 (0x01)
    assert (te.scales[1], ta.scales[1], mo.scales[1]) == (0x00, 0x08, 0x01)
    assert te.codes[31] == 0x7


def test_nvfp4_one_level_and_modelopt_negative_zero():
    x = np.array([-0.0, -0.01, 1.0, 3.0] + [0.0] * 12, np.float32)
    mo = numfmt.encode(x, "nvfp4", recipe="modelopt", tensor_scale=False)
    # ModelOpt: sign from (x < 0): -0.0 -> 0x0, -0.01/0.5 -> 0x8
    assert int(mo.codes[0]) == 0x0 and int(mo.codes[1]) == 0x8
    te = numfmt.encode(x, "nvfp4", tensor_scale=False)
    assert int(te.codes[0]) == 0x8  # TE/PTX keep the sign of zero
    assert te.scales[0] == int(numfmt.encode(np.float32(0.5), "ue4m3"))


def test_nvfp4_nan_handling():
    x = np.ones(16, np.float32)
    x[2] = np.nan
    te = numfmt.encode(x, "nvfp4", tensor_amax=1.0)
    assert int(te.codes[2]) == 0x7 and te.scales[0] != 0x7F  # PTX .satfinite: NaN -> +max
    ta = numfmt.encode(x, "nvfp4", recipe="torchao", tensor_scale=False)
    assert ta.scales.tolist() == [0x7F]


# --------------------------------------------------------------------------- stochastic rounding


def test_element_stochastic_rounding_explicit_bits():
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(64) * 2).astype(np.float32)
    r = rng.integers(0, 256, 64, dtype=np.uint32)
    ba = numfmt.encode(x, "mxfp4", rounding="stochastic", random=r, rbits=8)
    s = numfmt.decode(BlockArray(np.zeros(64, np.uint8) + 2, ba.scales, "mxfp4"), dtype=np.float64)
    ref = numfmt.encode(x / s, "e2m1", rounding="stochastic", random=r, rbits=8, saturation="finite")
    assert (ba.codes == ref).all()
    # seeds: reproducible, and the same stream as the element codec (index = flat position in x)
    a = numfmt.encode(x, "mxfp4", rounding="stochastic", random=3)
    b = numfmt.encode(x, "mxfp4", rounding="stochastic", random=3)
    assert (a.codes == b.codes).all()
    assert (a.codes == numfmt.encode(x / s, "e2m1", rounding="stochastic", random=3, saturation="finite")).all()


def test_ptx_e2m1x4_rbits_layout_and_nvfp4_sr():
    assert block.ptx_e2m1x4_rbits([0xAABBCCDD]).tolist() == [0xDD, 0xBB, 0xCC, 0xAA]
    assert block.ptx_e2m1x4_rbits([1, 2], count=5).tolist() == [1, 0, 0, 0, 2]
    x = np.linspace(-3, 3, 16).astype(np.float32)
    words = np.arange(4, dtype=np.uint32) * 0x01010101 * 50
    ba = numfmt.encode(x, "nvfp4", tensor_scale=False, rounding="stochastic", rbits=8,
                       random=block.ptx_e2m1x4_rbits(words))
    det = numfmt.encode(x, "nvfp4", tensor_scale=False)
    assert ba.scales.tolist() == det.scales.tolist()
    lo = numfmt.encode(x, "nvfp4", tensor_scale=False, rounding="toward_zero")
    up = np.where(np.abs(x) > 0, 1, 0)
    assert ((ba.codes == lo.codes) | ((ba.codes & 7) == (lo.codes & 7) + up)).all()
    with pytest.raises(ValueError):
        block.ptx_e2m1x4_rbits([1], count=5)


# --------------------------------------------------------------------------- properties


def _ref_exponent(amax: float, fmt: BlockFormat, rule: str) -> int | None:
    """Independent scale exponent (Fractions / math), clamped to E8M0; None for NaN scale."""
    ef = fmt.element
    emax = block.scales.elem_emax(ef)
    if amax == 0:
        return -127
    m, k = math.frexp(amax)  # amax = m * 2**k, m in [0.5, 1)
    fl = k - 1
    if rule == "floor":
        e = fl - emax
    elif rule == "ceil":
        e = fl + (m != 0.5) - emax
    elif rule == "even":
        mb = block.scales.elem_mbits(ef)
        q = Fraction(amax) / Fraction(2) ** (fl - mb)  # amax in units of its (mb+1)-bit ulp
        r = math.floor(q + Fraction(1, 2))
        e = (fl + (r == 2 ** (mb + 1))) - emax
    else:  # rceil: fp32(amax * fp32(1/max)) rounded up to a power of two
        d = Fraction(float(np.float32(amax) * (np.float32(1) / np.float32(ef.max))))
        if d == 0:
            return -127
        e = math.ceil(math.log2(d))
        while Fraction(2) ** e < d:
            e += 1
        while Fraction(2) ** (e - 1) >= d:
            e -= 1
        return max(-127, min(127, e))
    if e > 127:
        return None
    return max(-127, e)


_BIG = float(np.float32(3e38))
blocks_f32 = hnp.arrays(
    np.float32, st.tuples(st.integers(1, 3), st.integers(1, 80)),
    elements=st.floats(width=32, allow_nan=False, allow_infinity=False, min_value=-_BIG, max_value=_BIG),
)


@given(x=blocks_f32, name=st.sampled_from(MX), rule=st.sampled_from(["floor", "ceil", "even", "rceil"]),
       scale_pow=st.integers(-130, 100))
def test_property_scale_formula_and_elementwise_quantization(x, name, rule, scale_pow):
    x = (x * np.float32(2.0 ** max(-126, min(scale_pow, 0)))).astype(np.float32)
    fmt = block.get_block_format(name)
    ba = numfmt.encode(x, fmt, scale_rule=rule)
    assert ba.codes.dtype == fmt.element.code_dtype and int(ba.codes.max(initial=0)) < (1 << fmt.element.bits)
    bs = fmt.block_size
    n = x.shape[1]
    for r in range(x.shape[0]):
        for b in range(ba.scales.shape[1]):
            blk = x[r, b * bs:(b + 1) * bs]
            e = _ref_exponent(float(np.max(np.abs(blk))), fmt, rule)
            if e is None:
                assert ba.scales[r, b] == 0xFF
                continue
            assert int(ba.scales[r, b]) == e + 127
    # decode(encode(x)) == element-wise quantization with the block's decoded scale
    s = np.repeat(2.0 ** (ba.scales.astype(np.float64) - 127), bs, axis=1)[:, :n]
    ref = numfmt.quantize(x / s, fmt.element, saturation="finite") * s
    got = numfmt.decode(ba, dtype=np.float64)
    ok = ba.scales != 0xFF
    okx = np.repeat(ok, bs, axis=1)[:, :n]
    assert np.array_equal(got[okx], ref[okx])
    assert np.array_equal(np.signbit(got[okx]), np.signbit(ref[okx]))


@given(x=hnp.arrays(np.float32, st.integers(1, 70),
                    elements=st.floats(width=32, allow_nan=False, allow_infinity=False, min_value=-1e6,
                                       max_value=1e6)),
       recipe=st.sampled_from(["te", "torchao", "modelopt"]), two=st.booleans())
def test_property_nvfp4_fast_path_equals_general_path(x, recipe, two):
    """The fused kernel (te/torchao) and the numpy recipe path give the same bits."""
    ts = None if two else False
    a = numfmt.encode(x, "nvfp4", recipe=recipe, tensor_scale=ts)
    y = x.copy()
    y[0] = np.nan  # forces the general path for the block with the NaN
    b = numfmt.encode(y, "nvfp4", recipe=recipe, tensor_scale=ts, tensor_amax=None if not two else
                      float(np.max(np.abs(x))))
    same = np.ones(a.scales.shape, bool)
    same[0] = False
    assert (a.scales[same] == b.scales[same]).all()
    assert (a.codes[16:] == b.codes[16:]).all()


@given(x=blocks_f32, name=st.sampled_from(["mxfp4", "mxfp8_e4m3", "mxfp6_e2m3"]),
       rule=st.sampled_from(["floor", "ceil", "even", "rceil"]))
def test_property_fast_path_equals_exact_path(x, name, rule):
    a = numfmt.encode(x, name, scale_rule=rule)  # fused float32 kernel
    b = numfmt.encode(x.astype(np.float64), name, scale_rule=rule) if rule != "rceil" else \
        numfmt.encode(x, name, scale_rule=rule, nonfinite="nan")  # numpy + round_pack path
    assert (a.scales == b.scales).all() and (a.codes == b.codes).all()


def test_rounding_table_matches_round_pack():
    """The round_pack-built rounding table (NVFP4 scale encode) on every float32 class."""
    from numfmt._kernels import block as K

    rng = np.random.default_rng(9)
    bits = rng.integers(-(2 ** 31), 2 ** 31, 200_000, dtype=np.int64).astype(np.int32)
    edge = np.array([0, 1, 0x7F800000, 0x7FC00000, 0x00800000, 0x3F800000], np.int32)
    bits = np.concatenate([bits, edge, edge | np.int32(-(2 ** 31))])
    # values near the format's grid
    for name in ("ue4m3", "e2m1", "e4m3"):
        f = numfmt.get_format(name)
        v = f.values()[np.isfinite(f.values())].astype(np.float32)
        near = np.concatenate([v, np.nextafter(v, np.float32(np.inf)), np.nextafter(v, np.float32(-np.inf)),
                               (v[1:] + v[:-1]) / 2]).astype(np.float32)
        allb = np.concatenate([bits, near.view(np.int32)])
        tab = block.values.rounding_table(f)
        out = np.empty(allb.size, np.int32)
        K.encode_table_f32(allb, *tab, out)
        ref = np.asarray(numfmt.encode(allb.view(np.float32), f, saturation="finite", nan="zero"))
        assert (out == ref).all()


# --------------------------------------------------------------------------- API and bad input


def test_registry_and_formats():
    assert block.is_block_format("mxfp4") and not block.is_block_format("e4m3")
    assert block.get_block_format("MXFP4_E2M1") is block.get_block_format("mxfp4")
    f = block.get_block_format("nvfp4")
    assert (f.block_size, f.element.name, f.scale.name, f.scale_rule, f.recipe) == \
        (16, "float4_e2m1fn", "ue4m3", "amax", "te")
    assert block.get_block_format("mxfp8_e4m3").bits_per_element == 8.25
    with pytest.raises(ValueError, match="did you mean"):
        block.get_block_format("mxfp44")
    custom = BlockFormat(name="p3109_b64", element="binary8p4se", scale="binary8p1uf", block_size=64)
    ba = numfmt.encode(np.linspace(-5, 5, 130).astype(np.float32), custom)
    assert ba.scales.shape == (3,)
    q = numfmt.decode(ba)
    assert np.isfinite(q).all()


def test_bad_input():
    x = np.ones((2, 32), np.float32)
    with pytest.raises(ValueError, match="axis"):
        numfmt.encode(x, "mxfp4", axis=2)
    with pytest.raises(ValueError, match="axis"):
        numfmt.encode(np.float32(1.0), "mxfp4")
    with pytest.raises(ValueError, match="block_size"):
        BlockFormat(name="bad", element="e2m1", scale="e8m0", block_size=0)
    with pytest.raises(TypeError, match="block_size"):
        BlockFormat(name="bad", element="e2m1", scale="e8m0", block_size=2.0)
    with pytest.raises(ValueError, match="cannot hold"):
        BlockFormat(name="bad", element="e2m1", scale="int8", block_size=32)
    with pytest.raises(ValueError, match="cannot hold"):
        BlockFormat(name="bad", element="e2m1", scale=numfmt.FloatFormat(
            name="big_only", exponent_bits=4, mantissa_bits=0, bias=-2, signed=False, inf="none",
            nan="none", overflow_nan=False, negative_zero=False), block_size=32)
    ba = numfmt.encode(x, "mxfp4")
    with pytest.raises(ValueError, match="shape"):
        BlockArray(ba.codes, ba.scales[:, :0], "mxfp4")
    with pytest.raises(ValueError, match="shape"):
        BlockArray(ba.codes, ba.scales, "mxfp4", axis=0)
    with pytest.raises(ValueError, match="outside"):
        BlockArray(ba.codes + 16, ba.scales, "mxfp4")
    with pytest.raises(ValueError, match="scale_rule"):
        numfmt.encode(x, "mxfp4", scale_rule="round")
    with pytest.raises(ValueError, match="rceil_torchao"):
        numfmt.encode(x, "mxfp4", scale_rule="rceil", recipe="torchao==0.18")
    with pytest.raises(ValueError, match="recipe"):
        numfmt.encode(x, "mxfp4", recipe="te")
    with pytest.raises(ValueError, match="tensor_scale"):
        numfmt.encode(x, "mxfp4", tensor_scale=1.0)
    with pytest.raises(ValueError, match="nonfinite"):
        numfmt.encode(x, "mxfp4", nonfinite="ignore")
    with pytest.raises(TypeError):
        numfmt.encode(["a"], "mxfp4")
    with pytest.raises(ValueError, match="random"):
        numfmt.encode(x, "mxfp4", rounding="stochastic")
    with pytest.raises(TypeError, match="BlockArray"):
        block.decode(np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="float32"):
        numfmt.encode(np.array([0.1] * 16), "nvfp4")  # float64 not exact in float32


def test_blockarray_pack_and_repr():
    ba = numfmt.encode(V, "mxfp4")
    assert (ba.pack() == numfmt.pack(ba.codes, 4)).all()
    assert ba.pack().size == 16
    assert "mxfp4" in repr(ba) and ba.shape == (32,)
    b6 = numfmt.encode(V, "mxfp6_e2m3")
    assert b6.pack().size == 24
    assert (numfmt.unpack(b6.pack(), 6, 32) == b6.codes).all()


def test_bench_rows_smoke():
    rows = numfmt.bench.block_rows(4096, repeats=1)
    names = [r[0] for r in rows]
    assert names[0] == "np.copyto float32" and "mxfp4 encode" in names and "nvfp4 decode" in names
    assert all(r[1] > 0 for r in rows)


# --------------------------------------------------------------------------- P3109 ConvertToBlockMaxAbsFinite


def _ref_rne_code(q: Fraction, ef) -> int:
    """Nearest-even element code of the exact value q, saturating (pure Python reference)."""
    vals = [(Fraction(ef.exact_value(c)), c) for c in range(1 << ef.bits)
            if not isinstance(ef.exact_value(c), float)]
    best = min(abs(v - q) for v, _ in vals)
    cands = [(v, c) for v, c in vals if abs(v - q) == best]
    if len(cands) > 1:
        cands = [vc for vc in cands if ((vc[1] & ((1 << (ef.bits - 1)) - 1)) & 1) == 0] or cands
        if len(cands) > 1:  # +0 / -0
            cands = [vc for vc in cands if (vc[1] >> (ef.bits - 1)) == (q < 0)] or cands
    return cands[0][1]


@given(x=hnp.arrays(np.float32, st.integers(1, 20),
                    elements=st.floats(width=32, allow_nan=False, allow_infinity=False, min_value=-1e4,
                                       max_value=1e4)))
def test_property_max_abs_finite_exact_division(x):
    f = BlockFormat(name="p3109_ue4m3_e2m3", element="e2m3", scale="ue4m3", block_size=8,
                    scale_rule="max_abs_finite", recipe="p3109")
    ba = numfmt.encode(x, f)
    for b in range(ba.scales.size):
        blk = x[b * 8:(b + 1) * 8]
        smax = float(np.max(np.abs(blk)))
        sc = int(numfmt.encode(np.float32(smax), "ue4m3", rounding="toward_positive", saturation="finite"))
        assert int(ba.scales[b]) == sc
        S = Fraction(numfmt.get_format("ue4m3").exact_value(sc))
        for i, v in enumerate(blk):
            want = 0 if S == 0 else _ref_rne_code(Fraction(float(v)) / S, f.element)
            got = int(ba.codes[b * 8 + i])
            if S == 0 or Fraction(float(v)) / S == 0:
                assert got & 0x1F == 0
            else:
                assert got == want, (v, S, got, want)


def test_max_abs_finite_specials():
    x = np.array([1.0, -3.0, np.inf, 5.0] + [0.0] * 28, np.float32)
    ba = numfmt.encode(x, "mxfp8_e5m2", scale_rule="max_abs_finite")
    assert ba.recipe == "p3109" and ba.scales.tolist() == [127 + 3]  # 5 rounded up to 8
    d = numfmt.decode(ba)
    assert d[:4].tolist() == [1.0, -3.0, np.inf, 5.0]
    assert numfmt.decode(numfmt.encode(x, "mxfp8_e4m3", scale_rule="max_abs_finite"))[2] == 448 * 8
    nan = np.full(32, np.nan, np.float32)
    ba = numfmt.encode(nan, "mxfp8_e4m3", scale_rule="max_abs_finite")
    assert ba.scales.tolist() == [0xFF] and (ba.codes == 0x7F).all()
    z = numfmt.encode(np.zeros(32, np.float32), "mxfp4", scale_rule="max_abs_finite")
    assert z.scales.tolist() == [0] and not z.codes.any()
    p = BlockFormat(name="p3109_b8", element="binary8p3se", scale="binary8p1uf", block_size=8)
    zz = numfmt.encode(np.zeros(8, np.float32), p, scale_rule="max_abs_finite")
    assert zz.scales.tolist() == [0] and (numfmt.decode(zz) == 0).all()  # binary8p1uf has a zero
    with pytest.raises(ValueError, match="scale_rounding"):
        numfmt.encode(x, "mxfp4", scale_rounding="toward_zero")
    down = numfmt.encode(x, "mxfp8_e4m3", scale_rule="max_abs_finite", scale_rounding="toward_zero")
    assert down.scales.tolist() == [127 + 2]


def test_encode_output_equals_public_construction():
    """encode builds its BlockArray without re-validating; the result is what public
    construction (which validates) makes of the same parts."""
    x = np.random.default_rng(8).standard_normal((3, 40)).astype(np.float32)
    for name, ax in (("mxfp4", -1), ("nvfp4", 0), ("mxint8", 1)):
        ba = numfmt.encode(x, name, axis=ax)
        pub = BlockArray(ba.codes, ba.scales, ba.format, axis=ba.axis, tensor_scale=ba.tensor_scale,
                         scale_rule=ba.scale_rule, recipe=ba.recipe)
        for a in BlockArray.__slots__:
            u, v = getattr(ba, a), getattr(pub, a)
            if isinstance(u, np.ndarray):
                assert u.dtype == v.dtype and np.array_equal(u, v)
            else:
                assert type(u) is type(v) and (u == v or u is v)
        assert repr(ba) == repr(pub)
    with pytest.raises(ValueError, match="outside"):
        BlockArray(np.array([16, 0]), np.array([127]), "mxfp4")


@pytest.mark.parametrize("ts", [float("nan"), 1e40, -0.5, -np.inf])
def test_block_array_tensor_scale_refused(ts):
    """NaN (an all-NaN decode) and 1e40 (inf in float32) are not tensor scales."""
    ba = numfmt.encode(XN, "nvfp4")
    with pytest.raises(ValueError, match="tensor_scale"):
        numfmt.BlockArray(ba.codes, ba.scales, "nvfp4", tensor_scale=ts)


def test_block_array_tensor_scale_inf_accepted():
    """+inf is a tensor scale: encode with recipe="torchao" gives it to a tensor holding an
    infinity (torchao's per_tensor_scale = amax / (448 * 6)), and a BlockArray rebuilt from that
    array's parts (e.g. read back from a file) decodes as the encoded one."""
    x = XN.copy()
    x.flat[3] = -np.inf
    ba = numfmt.encode(x, "nvfp4", recipe="torchao")
    assert ba.tensor_scale == np.inf and type(ba.tensor_scale) is np.float32
    again = numfmt.BlockArray(ba.codes, ba.scales, "nvfp4", axis=ba.axis, tensor_scale=np.inf)
    assert again.tensor_scale == np.inf and type(again.tensor_scale) is np.float32
    assert numfmt.decode(again).tobytes() == numfmt.decode(ba).tobytes()


@pytest.mark.parametrize("amax", [-1.0, -1e-30, -np.inf])
def test_encode_tensor_amax_refused(amax):
    """A negative amax made a negative tensor scale (NaN and inf are what data holding them gives)."""
    with pytest.raises(ValueError, match="tensor_amax"):
        numfmt.encode(XN, "nvfp4", tensor_amax=amax)
