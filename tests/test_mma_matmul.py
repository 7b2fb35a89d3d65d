"""numfmt.mma_model / mma_instructions, block-scaled matmul (BlockArray operands, scales,
tensor-scale epilogue), instruction chains over long K and Chunked promotion."""

from __future__ import annotations

import numpy as np
import pytest

import numfmt
from numfmt.mma import mma_family
from numfmt.mma_table import ARCHS, FAMILIES


def bits32(x):
    return np.asarray(x, np.float32).view(np.uint32)


# ------------------------------------------------------------------ lookup
def test_every_listed_instruction_builds_and_every_shape_is_accepted():
    listed = numfmt.mma_instructions()
    assert len(listed) == len(set(listed))
    for arch, ins in listed:
        fam, _ = mma_family(arch, ins)
        for s in fam.shapes[:3] + fam.shapes[-2:]:
            m = numfmt.mma_model(arch, fam.instruction(s))
            assert m == numfmt.mma_model(arch.lower(), fam.instruction(s))
    assert {a for a, _ in listed} <= set(ARCHS)
    assert numfmt.mma_instructions("sm_120") == numfmt.mma_instructions("RTX Blackwell")


@pytest.mark.parametrize("alias,arch", [("sm_90", "Hopper"), ("hopper", "Hopper"), ("gfx942", "CDNA3"),
                                        ("ada lovelace", "Ada Lovelace"), ("Ada-Lovelace", "Ada Lovelace"),
                                        ("sm_100a", "Blackwell"), ("rtx_blackwell", "RTX Blackwell")])
def test_arch_aliases(alias, arch):
    assert {a for a, _ in numfmt.mma_instructions(alias)} == {arch}


def test_family_parameters():
    m = numfmt.mma_model("Hopper", "m64n8k32.f32.e4m3.e4m3")
    assert (m.terms, m.fraction_bits, m.result_bits, m.min_exp, m.plus_zero) == (32, 13, 13, -133, True)
    m = numfmt.mma_model("Turing", "m8n8k4.f32.f16.f16.f32")  # Volta's datapath on Turing
    assert (m.terms, m.fraction_bits, m.min_exp) == (4, 23, -131)
    m = numfmt.mma_model("Turing", "m16n8k8.f32.f16.f16.f32")
    assert (m.terms, m.fraction_bits, m.min_exp) == (8, 24, -132)
    m = numfmt.mma_model("Ampere", "m16n8k8.f32.tf32.tf32.f32")  # L = 4: two fused steps per instruction
    assert m.terms == 4
    m = numfmt.mma_model("Volta", "m8n8k4.f32.f16.f16.f16")
    assert numfmt.get_format(m.c_format).name == "binary16"
    m = numfmt.mma_model("Blackwell", "m128n8k64.kind::mxf4nvf4.block16.f32.e2m1.e2m1.ue4m3")
    assert (m.terms, m.group_size, m.fraction_bits, m.scale_format, m.scale_block) == (64, 16, 35, "ue4m3", 16)
    assert isinstance(numfmt.mma_model("CDNA3", "f32_16x16x4_f32"), numfmt.Sequential)
    m = numfmt.mma_model("Hopper", "m16n8k16.f64.f64.f64.f64")
    assert isinstance(m, numfmt.Sequential) and numfmt.get_format(m.acc_format).name == "binary64"
    m = numfmt.mma_model("CDNA2", "f32_32x32x8f16")
    assert (m.terms, m.flush_subnormals, m.instruction_k) == (4, True, 8)
    assert numfmt.mma_model("CDNA2", "f32_32x32x4bf16").terms == 2
    assert numfmt.mma_model("CDNA1", "f32_32x32x4bf16").terms == 2
    m = numfmt.mma_model("CDNA3", "f32_32x32x16_fp8_fp8")
    assert (m.addend, m.lanes, m.terms, m.drop_small_c) == ("two_stage", 2, 16, True)


@pytest.mark.parametrize("arch,ins,match", [
    ("hoper", "m64n8k32.f32.e4m3.e4m3", "unknown architecture 'hoper'.*did you mean 'hopper'"),
    ("Hopper", "m64n8k32.f32.e4m3.e4m2", r"unknown instruction.*did you mean 'm64n8k32.f32.e4m3.e5m2'"),
    ("Hopper", "m64n7k32.f32.e4m3.e4m3", "not 'm64n7k32'.*did you mean"),
    ("Volta", "m16n8k16.f32.bf16.bf16.f32", "unknown instruction"),
    ("CDNA3", "f32_32x32x16_fp8_fp9", "did you mean 'f32_32x32x16_fp8_fp8'"),
    ("Hopper", "m16n8k16.f64.f64.f64.f32", "unknown instruction"),
])
def test_bad_names(arch, ins, match):
    with pytest.raises(ValueError, match=match):
        numfmt.mma_model(arch, ins)


def test_bad_types():
    with pytest.raises(TypeError, match="arch must be a str"):
        numfmt.mma_model(90, "m64n8k32.f32.e4m3.e4m3")
    with pytest.raises(TypeError, match="instruction must be a str"):
        numfmt.mma_model("Hopper", None)


def test_table_counts_every_mmasim_family():
    """238 (architecture, instruction type) families as MMA-Sim 2.1.1 models them."""
    nv = [f for f in FAMILIES if f.api != "v_mfma"]
    assert len(nv) == 221


# ------------------------------------------------------------- block-scaled
MXF4 = "m16n8k64.kind::mxf4.block32.f32.e2m1.e2m1.f32.ue8m0"
NVF4 = "m16n8k64.kind::mxf4nvf4.block16.f32.e2m1.e2m1.f32.ue4m3"


def _fp4_operands(rng, M, K, N, fmt):
    x = rng.standard_normal((M, K)).astype(np.float32)
    w = rng.standard_normal((K, N)).astype(np.float32)
    return numfmt.encode(x, fmt, axis=1), numfmt.encode(w, fmt, axis=0)


@pytest.mark.parametrize("fmt,ins", [("mxfp4", MXF4), ("nvfp4", NVF4)])
def test_block_array_operands_equal_explicit_scales(fmt, ins):
    rng = np.random.default_rng(3)
    A, B = _fp4_operands(rng, 8, 128, 5, fmt)
    m = numfmt.mma_model("RTX Blackwell", ins)
    el = A.format.element
    sc = A.format.scale
    Av = np.asarray(numfmt.decode(A.codes, el), np.float64)
    Bv = np.asarray(numfmt.decode(B.codes, el), np.float64)
    SA = np.asarray(numfmt.decode(A.scales, sc), np.float64)
    SB = np.asarray(numfmt.decode(B.scales, sc), np.float64)
    c = rng.standard_normal((8, 5)).astype(np.float32)
    d1 = numfmt.matmul(A, B, c=c, model=m)
    d2 = numfmt.matmul(Av, Bv, c=c, model=m, a_scales=SA, b_scales=SB)
    alpha = None
    if A.tensor_scale is not None:
        alpha = np.float32(A.tensor_scale) * np.float32(B.tensor_scale)
        d2 = d2 * alpha  # float32 epilogue
    assert (bits32(d1) == bits32(d2)).all()
    # one row by dot, with its scales
    d3 = numfmt.dot(Av[2], Bv[:, 3], c=c[2, 3], model=m, a_scales=SA[2], b_scales=SB[:, 3])
    d3 = np.float32(d3) if alpha is None else np.float32(d3) * alpha
    assert bits32(d3) == bits32(d1[2, 3])


def test_block_scaled_matmul_matches_mmasim_call():
    torch = pytest.importorskip("torch")
    sim = pytest.importorskip("mmasim.nv_ptx")
    rng = np.random.default_rng(5)
    A, B = _fp4_operands(rng, 16, 64, 8, "mxfp4")
    m = numfmt.mma_model("RTX Blackwell", MXF4)
    c = rng.standard_normal((16, 8)).astype(np.float32)
    ours = numfmt.matmul(A, B, c=c, model=m)
    pa = (A.codes[:, 0::2].astype(np.uint8) << 4) | A.codes[:, 1::2]
    pb = (B.codes.T[:, 0::2].astype(np.uint8) << 4) | B.codes.T[:, 1::2]
    op = sim.MMABlockScale("RTX Blackwell", MXF4)
    D = op(torch.tensor(pa), torch.tensor(pb).T, torch.tensor(c),
           torch.tensor(A.scales.astype(np.uint8)).view(torch.float8_e8m0fnu),
           torch.tensor(B.scales.astype(np.uint8)).view(torch.float8_e8m0fnu))
    assert (bits32(D.numpy()) == bits32(ours)).all()


def test_unscaled_chain_matches_mmasim_call_over_long_k():
    """K = 3 instructions: the accumulator fed back as c, as MMA-Sim chains them."""
    torch = pytest.importorskip("torch")
    sim = pytest.importorskip("mmasim.nv_ptx")
    rng = np.random.default_rng(8)
    A = numfmt.quantize(rng.standard_normal((64, 96)) * 4, "e4m3", saturation="finite")
    B = numfmt.quantize(rng.standard_normal((96, 8)), "e5m2", saturation="finite")
    C = rng.standard_normal((64, 8)).astype(np.float32)
    op = sim.WGMMA("Hopper", "m64n8k32.f32.e4m3.e5m2")
    D = op(torch.tensor(np.float32(A)).to(torch.float8_e4m3fn), torch.tensor(np.float32(B)).to(torch.float8_e5m2),
           torch.tensor(C))
    ours = numfmt.matmul(A, B, c=C, model=numfmt.mma_model("Hopper", "m64n8k32.f32.e4m3.e5m2"))
    assert (bits32(D.numpy()) == bits32(ours)).all()


def test_chunked_promotion_with_an_instruction_model():
    """DeepSeek-V3: 4 WGMMAs (128 elements of K) in the tensor core, then an FP32 add."""
    rng = np.random.default_rng(9)
    A = numfmt.quantize(rng.standard_normal((6, 384)), "e4m3", saturation="finite")
    B = numfmt.quantize(rng.standard_normal((384, 4)), "e4m3", saturation="finite")
    c = rng.standard_normal((6, 4)).astype(np.float32)
    inner = numfmt.mma_model("Hopper", "m64n8k32.f32.e4m3.e4m3")
    m = numfmt.Chunked(inner, numfmt.Sequential("fp32"), every=128)
    ours = numfmt.matmul(A, B, c=c, model=m)
    s = c.copy()
    for j in range(3):
        part = numfmt.matmul(A[:, 128 * j:128 * (j + 1)], B[128 * j:128 * (j + 1)], model=inner)
        s = (s + part).astype(np.float32)  # one float32 round-to-nearest addition
    assert (bits32(ours) == bits32(s)).all()


def test_chunked_promotion_block_scaled():
    rng = np.random.default_rng(10)
    A, B = _fp4_operands(rng, 4, 256, 3, "mxfp4")
    inner = numfmt.mma_model("Blackwell", "m128n8k64.kind::mxf4.block32.f32.e2m1.e2m1.ue8m0")
    m = numfmt.Chunked(inner, numfmt.Sequential("fp32"), every=128)
    ours = numfmt.matmul(A, B, model=m)
    el, sc = A.format.element, A.format.scale
    Av, Bv = (np.asarray(numfmt.decode(x.codes, el), np.float64) for x in (A, B))
    SA, SB = (np.asarray(numfmt.decode(x.scales, sc), np.float64) for x in (A, B))
    s = np.zeros((4, 3), np.float32)
    for j in range(2):
        part = numfmt.matmul(Av[:, 128 * j:128 * (j + 1)], Bv[128 * j:128 * (j + 1)], model=inner,
                             a_scales=SA[:, 4 * j:4 * (j + 1)], b_scales=SB[4 * j:4 * (j + 1)])
        s = (s + part).astype(np.float32)
    assert (bits32(ours) == bits32(s)).all()
    with pytest.raises(ValueError, match="every=48 must be a multiple"):
        numfmt.matmul(A, B, model=numfmt.Chunked(inner, numfmt.Sequential("fp32"), every=48))


def test_scale_extremes_and_nan():
    m = numfmt.mma_model("RTX Blackwell", "m16n8k32.kind::mxf8f6f4.block32.f32.e4m3.e4m3.f32.ue8m0")
    a = np.zeros(32)
    a[0] = 448.0
    b = np.zeros(32)
    b[0] = 448.0
    big = 2.0**127
    assert numfmt.dot(a, b, model=m, a_scales=[big], b_scales=[big]) == np.inf  # overflow: inf
    assert numfmt.dot(a, b, model=m, a_scales=[2.0**-127], b_scales=[2.0**-127]) == 0.0  # underflow
    assert np.isnan(numfmt.dot(np.zeros(32), b, model=m, a_scales=[np.nan], b_scales=[1.0]))  # NaN scale


@pytest.mark.parametrize("kw,match", [
    ({"a_scales": None}, "pass a_scales"),
    ({"a_scales": np.ones((2, 1))}, r"a_scales must have shape \(2, 2\)"),
    ({"b_scales": np.ones((2, 2))}, r"b_scales must have shape \(2, 3\)"),
    ({"a_scales": np.full((2, 2), 3.0)}, "a_scales holds 3.0, which is not exactly representable"),
    ({"a_scales": -np.ones((2, 2))}, "scales are unsigned"),
    ({"a_scales": np.full((2, 2), np.inf)}, "a_scales holds an infinity"),
])
def test_bad_scales(kw, match):
    m = numfmt.mma_model("RTX Blackwell", MXF4)
    args = {"a_scales": np.ones((2, 2)), "b_scales": np.ones((2, 3))}
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        numfmt.matmul(np.zeros((2, 64)), np.zeros((64, 3)), model=m, **args)


def test_bad_operands():
    m = numfmt.mma_model("RTX Blackwell", MXF4)
    ones = {"a_scales": np.ones((2, 1)), "b_scales": np.ones((1, 3))}
    with pytest.raises(ValueError, match="K = 48, not a multiple of the scale block 32"):
        numfmt.matmul(np.zeros((2, 48)), np.zeros((48, 3)), model=m, a_scales=np.ones((2, 1)),
                      b_scales=np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"A holds 0\.75, which is not exactly representable in float4_e2m1fn"):
        numfmt.matmul(np.full((2, 32), 0.75), np.zeros((32, 3)), model=m, **ones)
    with pytest.raises(ValueError, match="model has no block scales"):
        numfmt.matmul(np.zeros((2, 32)), np.zeros((32, 3)), model="h100/e4m3", a_scales=np.ones((2, 1)))
    rng = np.random.default_rng(0)
    A, B = _fp4_operands(rng, 2, 64, 3, "mxfp4")
    with pytest.raises(ValueError, match="A is a BlockArray, which carries its scales"):
        numfmt.matmul(A, B, model=m, a_scales=np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"B must be a 2-D BlockArray blocked along K \(axis=0\)"):
        numfmt.matmul(A, numfmt.encode(np.ones((64, 3), np.float32), "mxfp4", axis=1), model=m)
    A16, B16 = _fp4_operands(rng, 2, 64, 3, "nvfp4")
    with pytest.raises(ValueError, match="A is nvfp4 with ue4m3 scales; the model takes float8_e8m0fnu"):
        numfmt.matmul(A16, B16, model=m)
    with pytest.raises(ValueError, match="model takes no block scales"):
        numfmt.matmul(A, B, model="h100/e4m3")


def test_mxfp4_block32_operands_on_a_block16_instruction():
    """A scale per 32 is a scale for each of its two 16-element halves."""
    rng = np.random.default_rng(4)
    A, B = _fp4_operands(rng, 3, 64, 2, "mxfp4")
    m16 = numfmt.mma_model("Blackwell", "m128n8k64.kind::mxf4nvf4.block16.f32.e2m1.e2m1.ue8m0")
    m32 = numfmt.mma_model("Blackwell", "m128n8k64.kind::mxf4nvf4.block32.f32.e2m1.e2m1.ue8m0")
    assert (bits32(numfmt.matmul(A, B, model=m16)) == bits32(numfmt.matmul(A, B, model=m32))).all()


# ------------------------------------------------------ against the recordings
_REC_ARCH = {"v100": "Volta", "a2": "Ampere", "a100": "Ampere", "ada": "Ada Lovelace", "l40s": "Ada Lovelace",
             "h100": "Hopper", "h200": "Hopper", "b200": "Blackwell"}
_REC_INS = {("fp16", 4): "m8n8k4.f32.f16.f16.f32", ("fp16", 8): "m16n8k8.f32.f16.f16.f32",
            ("fp16", 16): "m16n8k16.f32.f16.f16.f32", ("bf16", 8): "m16n8k8.f32.bf16.bf16.f32",
            ("bf16", 16): "m16n8k16.f32.bf16.bf16.f32", ("tf32", 4): "m16n8k4.f32.tf32.tf32.f32",
            ("e4m3", 32): "m16n8k32.f32.e4m3.e4m3.f32", ("e5m2", 32): "m16n8k32.f32.e5m2.e5m2.f32"}


def _recordings():
    from tensor_cores import DATA

    # B200 FP8 was recorded with mma.sync, which MMA-Sim does not model on Blackwell (its
    # tcgen05.mma fuses c, the recorded instruction adds it late: the accumulation preset)
    return [p for p in sorted(DATA.glob("*.npz")) if not (p.stem.startswith("b200_e"))]


@pytest.mark.parametrize("path", _recordings(), ids=lambda p: p.stem)
def test_instruction_models_reproduce_the_recordings(path):
    """The recorded instruction's model (parameters from MMA-Sim) gives every recorded fp32 result."""
    from tensor_cores import load

    g, fmt, z, a, b, c = load(path)
    ins = _REC_INS[(fmt, a.shape[1])]
    if g in ("h100", "h200") and fmt in ("e4m3", "e5m2"):
        ins = f"m64n8k32.f32.{fmt}.{fmt}"  # wgmma, recorded with c = 0
        c = np.zeros_like(c)
    d = numfmt.dot(a, b, c=c, model=numfmt.mma_model(_REC_ARCH[g], ins))
    assert int((bits32(d) == z["d_fp32"]).sum()) == len(a)


# ------------------------------------------------------------ the docs table
def test_every_table_row_is_the_model():
    from numfmt.mma import instruction_rows, instructions_table

    rows = instruction_rows()
    assert len(rows) == len(FAMILIES) == 238
    modelled = [r for r in rows if r["modelled"]]
    assert len(modelled) == 238
    assert [(r["arch"], r["instruction"]) for r in modelled] == numfmt.mma_instructions()
    for r in modelled:
        m = numfmt.mma_model(r["arch"], r["instruction"])
        if isinstance(m, numfmt.FusedBlock):
            assert (r["L"], r["F"], r["G"]) == (m.terms, m.fraction_bits, m.group_size)
            assert r["zero_exp"] == ("-" if m.min_exp is None else m.min_exp)
            assert r["rounding"].startswith({"toward_zero": "RZ", "nearest_even": "RNE"}[m.rounding])
            assert (r["scales"] == "-") == (m.scale_format is None)
        elif isinstance(m, numfmt.Exact):
            assert (r["L"], r["F"]) == (m.terms, "exact")
        elif isinstance(m, numfmt.Pairwise):
            assert (r["L"], r["F"]) == (m.terms, "pairs, FTZ") and m.flush_subnormals
        else:
            assert r["F"] == "FMA" and isinstance(m, numfmt.Sequential)
    table = instructions_table()
    assert table.count("\n| ") == len(rows) and f"{len(modelled)} of 238 families modelled" in table


@pytest.mark.parametrize("kw,err", [
    ({"group_size": 3, "terms": 64}, "group_size=3 must divide terms=64"),
    ({"group_size": 16, "terms": 64, "scale_format": "ue4m3", "scale_block": 8}, "must divide scale_block=8"),
    ({"scale_format": "fp16"}, "block scales are 8-bit formats"),
    ({"plus_zero": True, "addend": "late"}, "describe one matrix instruction"),
    ({"lanes": 2}, "lanes and drop_small_c belong to addend='two_stage'"),
    ({"addend": "two_stage", "scale_format": "e8m0"}, "takes no groups or block scales"),
    ({"addend": "two_stage", "extra_bits": 12, "sum_bits": 20}, "needs sum_bits \\+ 1 >= fraction_bits"),
    ({"c_format": "fp32", "out_format": "fp16"}, "wider than out_format"),
])
def test_instruction_fields_checked(kw, err):
    with pytest.raises(ValueError, match=err):
        numfmt.FusedBlock(**kw)


def test_pairwise_and_sequential_instruction_fields_checked():
    with pytest.raises(ValueError, match="terms must be None, 2 or 4"):
        numfmt.Pairwise(terms=3)
    with pytest.raises(ValueError, match="needs binary32 products and accumulator"):
        numfmt.Pairwise("fp16", terms=2)
    with pytest.raises(ValueError, match="flush_subnormals needs terms"):
        numfmt.Pairwise(flush_subnormals=True)
    with pytest.raises(ValueError, match="binary64 only for a Sequential FMA chain"):
        numfmt.Sequential("fp32", in_format="binary64")
    with pytest.raises(ValueError, match="K = 6 is not a multiple of the model's group of 4"):
        numfmt.dot(np.ones(6), np.ones(6), model=numfmt.Pairwise(terms=4))


def test_binary64_fma_chain():
    m = numfmt.Sequential("binary64", in_format="binary64")
    a = np.array([1.0 + 2.0**-52, 2.0**-60])
    # fma(a0, a0, -1) keeps 2**-51 + 2**-104 exactly rounded; then + 2**-120
    d = numfmt.dot(a, a, c=-1.0, model=m)
    assert d == np.float64(2.0**-51 + 2.0**-104) + 2.0**-120 and d.dtype == np.float64


def test_zero_scale_then_all_zero_group_matches_mmasim():
    """A zero UE4M3 scale leaves the maximum alone, and so does the all-zero group after it
    (whose scales are large): the tiny third group is not truncated away."""
    torch = pytest.importorskip("torch")
    sim = pytest.importorskip("mmasim.nv_ptx")
    ins = "m128n8k64.kind::mxf4nvf4.block16.f32.e2m1.e2m1.ue4m3"
    a = np.zeros(64)
    a[:16] = 6.0
    a[32] = 0.5
    b = np.ones(64)
    b[32] = 0.5
    sa_codes = np.array([0x00, 0x7E, 0x01, 0x38], np.uint8)  # 0, 448, 2**-9, 1
    sb_codes = np.array([0x38, 0x7E, 0x01, 0x38], np.uint8)
    sa, sb = (np.asarray(numfmt.decode(x, "ue4m3"), np.float64) for x in (sa_codes, sb_codes))
    m = numfmt.mma_model("Blackwell", ins)
    ours = numfmt.dot(a, b, model=m, a_scales=sa, b_scales=sb)
    codes = np.asarray(numfmt.encode(a, "e2m1"), np.uint8)
    bcodes = np.asarray(numfmt.encode(b, "e2m1"), np.uint8)
    op = sim.TCGen05MMABlockScale("Blackwell", ins)
    ref = op.dpa(torch.tensor(((codes[0::2] << 4) | codes[1::2])[None]),
                 torch.tensor(((bcodes[0::2] << 4) | bcodes[1::2])[None]), torch.zeros(1),
                 torch.tensor(sa_codes[None]).view(torch.float8_e4m3fn),
                 torch.tensor(sb_codes[None]).view(torch.float8_e4m3fn))
    assert bits32(ours) == bits32(ref.numpy()[0]) and ours == 2.0**-20


@pytest.mark.parametrize("bad,exc", [("x", TypeError), (np.ones((2, 2), complex), TypeError),
                                     (np.array([["a", "b"], ["c", "d"]]), TypeError)])
def test_non_real_scales_name_the_argument(bad, exc):
    m = numfmt.mma_model("RTX Blackwell", MXF4)
    with pytest.raises(exc, match="a_scales"):
        numfmt.matmul(np.zeros((2, 64)), np.zeros((64, 3)), model=m, a_scales=bad, b_scales=np.ones((2, 3)))
    m1 = numfmt.mma_model("RTX Blackwell", "m16n8k32.kind::mxf8f6f4.block32.f32.e4m3.e4m3.f32.ue8m0")
    with pytest.raises(TypeError, match="b_scales"):
        numfmt.dot(np.zeros(32), np.zeros(32), model=m1, a_scales=[1.0], b_scales="x")


_THREAD_MODELS = [
    ("Hopper", "m64n8k32.f32.e4m3.e4m3", "e4m3"),
    ("Blackwell", "m64n8k32.kind::f8f6f4.f32.e2m1.e2m1", "e2m1"),
    ("Blackwell", "m128n8k64.kind::mxf4nvf4.block16.f32.e2m1.e2m1.ue4m3", "nvfp4"),
    ("Blackwell", "m128n8k32.kind::mxf8f6f4.block32.f32.e4m3.e4m3.ue8m0", "mxfp8_e4m3"),
    ("CDNA3", "f32_32x32x16_fp8_fp8", "float8_e4m3fnuz"),
]


@pytest.mark.parametrize("arch,ins,fmt", _THREAD_MODELS)
def test_threads_give_the_same_bits(arch, ins, fmt):
    """matmul and dot with an instruction model: identical results for threads = 1, 2, 3 (NaN rows,
    infinite addends and overflowing chains included: the grid kernel's redone outputs)."""
    rng = np.random.default_rng(5)
    model = numfmt.mma_model(arch, ins)
    M, N, K = 70, 33, 128
    x = rng.standard_normal((M, K)) * 2.0 ** rng.integers(-8, 9, (M, K))
    w = rng.standard_normal((K, N)) * 2.0 ** rng.integers(-8, 9, (K, N))
    if fmt in ("nvfp4", "mxfp8_e4m3"):
        A, B = numfmt.encode(x.astype(np.float32), fmt, axis=1), numfmt.encode(w.astype(np.float32), fmt, axis=0)
    else:
        A = np.asarray(numfmt.quantize(x, fmt, saturation="finite"), np.float64)
        B = np.asarray(numfmt.quantize(w, fmt, saturation="finite"), np.float64)
        f = numfmt.get_format(fmt)
        if f.code_of_nan is not None:
            A[3, 5] = np.nan
        if f.code_of_inf is not None:
            B[7, 2] = -np.inf
    c = np.zeros((M, N), np.float32)
    c[1, :4] = [np.inf, -np.inf, np.nan, 3e38]
    want = numfmt.matmul(A, B, c=c, model=model)
    for threads in (2, 3):
        got = numfmt.matmul(A, B, c=c, model=model, threads=threads)
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
    if fmt in ("nvfp4", "mxfp8_e4m3"):
        return
    d1 = numfmt.dot(A[:, None, :], B.T[None, :, :], c=c, model=model)
    assert np.array_equal(d1.view(np.uint32), want.view(np.uint32))
    d2 = numfmt.dot(A[:, None, :], B.T[None, :, :], c=c, model=model, threads=2)
    assert np.array_equal(d2.view(np.uint32), want.view(np.uint32))


@pytest.mark.parametrize("model", ["h100/e4m3", numfmt.Chunked(numfmt.accumulation_model("h100", "e4m3"),
                                                               numfmt.Sequential("fp32"), every=64)])
def test_threads_same_bits_other_models(model):
    rng = np.random.default_rng(6)
    A = np.asarray(numfmt.quantize(rng.standard_normal((90, 256)), "e4m3"), np.float64)
    B = np.asarray(numfmt.quantize(rng.standard_normal((256, 40)), "e4m3"), np.float64)
    want = numfmt.matmul(A, B, model=model)
    got = numfmt.matmul(A, B, model=model, threads=2)
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


@pytest.mark.parametrize("threads,exc", [(0, ValueError), (-1, ValueError), (1.5, TypeError), ("2", TypeError),
                                         (True, TypeError)])
def test_bad_threads(threads, exc):
    m = numfmt.mma_model("Hopper", "m64n8k32.f32.e4m3.e4m3")
    with pytest.raises(exc, match="threads"):
        numfmt.matmul(np.ones((2, 32)), np.ones((32, 2)), model=m, threads=threads)
    with pytest.raises(exc, match="threads"):
        numfmt.dot(np.ones(32), np.ones(32), model=m, threads=threads)


def test_threads_same_bits_tiled_b():
    """A K long enough that B is cut into column tiles (threads inside each kernel call instead of
    over row tiles): the same bits for every threads value."""
    rng = np.random.default_rng(7)
    model = numfmt.mma_model("Hopper", "m64n8k32.f32.e4m3.e4m3")
    A = np.asarray(numfmt.quantize(rng.standard_normal((20, 4096)), "e4m3"), np.float64)
    B = np.asarray(numfmt.quantize(rng.standard_normal((4096, 40)), "e4m3"), np.float64)
    want = numfmt.matmul(A, B, model=model)
    got = numfmt.matmul(A, B, model=model, threads=2)
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
    with_scales = numfmt.mma_model("Blackwell", "m128n8k32.kind::mxf8f6f4.block32.f32.e4m3.e4m3.ue8m0")
    sa = 2.0 ** rng.integers(-3, 4, (20, 128))
    sb = 2.0 ** rng.integers(-3, 4, (128, 40))
    want = numfmt.matmul(A, B, model=with_scales, a_scales=sa, b_scales=sb)
    got = numfmt.matmul(A, B, model=with_scales, a_scales=sa, b_scales=sb, threads=2)
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
