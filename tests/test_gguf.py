"""GGUF block formats without the gguf package: a scalar transcription of llama.cpp's
reference quantizers (ggml-quants.c `quantize_row_mxfp4_ref`, `quantize_row_nvfp4_ref`,
ggml-impl.h `ggml_fp32_to_ue4m3`), hand-derived vectors, the proof of the element kernel
against the exact rounding funnel, serialized layouts and argument errors.
(tests/test_gguf_oracle.py compares with gguf 0.19.)"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numfmt
from numfmt import BlockArray, block
from numfmt._kernels import gguf as KG
from numfmt.block.gguf import GRID
from numfmt.block.tables import EDGE_CASES, edge_block, gguf_edge_cases_table, layouts_table

F32 = np.float32
KV = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12]
E2M1 = [0, 0.5, 1, 1.5, 2, 3, 4, 6]


# --------------------------------------------------------------------------- transcription of the C reference


def c_best_index(x, d):
    with np.errstate(over="ignore", invalid="ignore"):
        best, berr = 0, F32(abs(F32(KV[0]) * d - x))
        for i in range(1, 16):
            err = F32(abs(F32(KV[i]) * d - x))
            if err < berr:
                best, berr = i, err
    return best


def c_amax(xs):
    a = F32(0)
    for v in xs:
        if a < abs(v):
            a = F32(abs(v))
    return a


def c_e8m0_half(e):
    bits = (0x00200000 << e) if e < 2 else ((e - 1) << 23)
    return np.uint32(bits).view(F32)


def c_fp32_to_ue4m3(x):
    if not x > 0:
        return 0
    if x > 448:
        x = F32(448)
    bits = int(np.float32(x).view(np.uint32))
    exp = ((bits >> 23) & 0xFF) - 127 + 7
    if exp <= 0:
        man = int(F32(F32(x * F32(512)) + F32(0.5)))
        return 0 if man < 1 else min(man, 7)
    if exp >= 15:
        return 0x7E
    man = ((bits >> 20) & 7) + ((bits >> 19) & 1)
    if man > 7:
        man, exp = 0, exp + 1
        if exp >= 15:
            return 0x7E
    return (exp << 3) | man


def c_ue4m3_to_fp32(c):
    if c in (0, 0x7F):
        return F32(0)
    e, m = (c >> 3) & 0xF, c & 7
    raw = Fraction(m, 512) if e == 0 else (1 + Fraction(m, 8)) * Fraction(2) ** (e - 7)
    return F32(float(raw / 2))


def c_mxfp4(x):
    """quantize_row_mxfp4_ref for blocks with amax 0 or >= 2**-125 (below, the C cast is undefined)."""
    out = []
    for blk in x.reshape(-1, 32):
        a = c_amax(blk)
        e = int(np.floor(F32(np.log2(np.float64(a))))) - 2 + 127 if a > 0 else 0
        assert 0 <= e <= 255
        d = c_e8m0_half(e)
        qs = [c_best_index(blk[j], d) | (c_best_index(blk[j + 16], d) << 4) for j in range(16)]
        out.append([e, *qs])
    return np.array(out, np.uint8)


def c_nvfp4(x):
    out = []
    for sup in x.reshape(-1, 64):
        ds, qs = [], []
        for s in range(4):
            xb = sup[16 * s:16 * s + 16]
            ue = c_fp32_to_ue4m3(F32(c_amax(xb) / F32(6)))
            d = c_ue4m3_to_fp32(ue)
            ds.append(ue)
            qs += [c_best_index(xb[j], d) | (c_best_index(xb[j + 8], d) << 4) for j in range(8)]
        out.append(ds + qs)
    return np.array(out, np.uint8)


def _mids():
    v = np.array(E2M1, np.float64)
    return (v[1:] + v[:-1]) / 2


def hard_blocks(seed, n_blocks=8, bs=32):
    """Ties of the grid at many scales, zeros, negative zeros, subnormal elements, huge values."""
    rng = np.random.default_rng(seed)
    x = np.empty((n_blocks, bs), np.float32)
    for b in range(n_blocks):
        k = int(rng.integers(-120, 120))
        pool = np.concatenate([_mids(), -_mids(), E2M1, -np.array(E2M1), [0.25, -0.25, 7.0, -7.0, 6.5]])
        x[b] = (rng.choice(pool, bs) * 2.0 ** k).astype(np.float32)
        x[b, int(rng.integers(bs))] = F32(6.0 * 2.0 ** k)  # pins amax
    x[0] = 0.0
    x[1, :] = -0.0
    x[2, :16] = rng.standard_normal(16).astype(np.float32) * F32(2.0 ** -140)  # subnormal elements
    x[2, 16] = F32(2.0 ** -125)  # the smallest amax with a defined MXFP4 scale
    x[3, 0] = F32(3.4e38)
    x[4, 0] = np.nextafter(F32(1024), F32(0))  # float32 log2 rounds up to 10
    return x


# --------------------------------------------------------------------------- MXFP4


@pytest.mark.parametrize("seed", range(4))
def test_mxfp4_equals_transcription_on_hard_blocks(seed):
    x = hard_blocks(seed)
    assert (numfmt.encode(x, "gguf_mxfp4").to_bytes() == c_mxfp4(x)).all()


@given(hnp.arrays(np.float32, (2, 32), elements=st.floats(width=32, allow_nan=False, allow_infinity=False)))
def test_mxfp4_equals_transcription(x):
    a = np.abs(x).max(axis=1)
    x[(a > 0) & (a < 2.0 ** -125)] = 0.0  # undefined in C: tested below
    assert (numfmt.encode(x, "gguf_mxfp4").to_bytes() == c_mxfp4(x)).all()


def test_mxfp4_hand_vectors():
    x = np.zeros(32, np.float32)
    x[0], x[16], x[1], x[2], x[3], x[17] = 1.0, -6.0, 0.25, -0.25, -0.1, 5.0
    b = numfmt.encode(x, "gguf_mxfp4").to_bytes()
    # scale 2**0 (127); 1.0 -> 0x2 low, -6 -> 0xF high; ties 0.25 and -0.25 -> +0; 5.0 -> 4.0 (tie to smaller)
    assert b[0, :4].tolist() == [127, 0x2 | 0xF << 4, 0x0 | 0x6 << 4, 0x0]
    # amax just below 1024: float32 log2 rounds to 10, so e = 10 - 2 + 127 (OCP floor would give 9 + 125)
    y = np.zeros(32, np.float32)
    y[0] = np.nextafter(F32(1024), F32(0))
    ba = numfmt.encode(y, "gguf_mxfp4")
    assert int(ba.scales[0]) == 135 and int(numfmt.encode(y, "mxfp4").scales[0]) == 134
    assert int(ba.codes[0]) == 0x6  # 1023.99994 / 2**8 -> 4.0


def test_mxfp4_tiny_amax_and_nan():
    # amax below 2**-125: C converts a negative float to uint8 (undefined); numfmt: scale byte 0
    for k in (-126, -130, -149):
        x = np.zeros(32, np.float32)
        x[5] = F32(2.0 ** k)
        ba = numfmt.encode(x, "gguf_mxfp4")
        d = c_e8m0_half(0)
        assert int(ba.scales[0]) == 0 and int(ba.codes[5]) == c_best_index(x[5], d)
    # NaN: skipped by amax, code 0
    x = np.zeros(32, np.float32)
    x[0], x[1] = np.nan, 3.0
    ba = numfmt.encode(x, "gguf_mxfp4")
    assert int(ba.scales[0]) == 126 and ba.codes[:2].tolist() == [0, 0x7]
    assert (ba.to_bytes() == c_mxfp4(x)).all()
    with pytest.raises(ValueError, match="infinity"):
        numfmt.encode(np.full(32, np.inf, np.float32), "gguf_mxfp4")


# --------------------------------------------------------------------------- NVFP4


def test_ue4m3_conversion_every_float32_binade():
    """ggml_fp32_to_ue4m3 (vectorized) equals the scalar transcription on every binade's edges,
    midpoints and neighbours, the subnormal rounding (x*512 + 0.5 in float32) and the top binade."""
    from numfmt.block.gguf import ue4m3_codes

    xs = [F32(0), F32(-1), F32(np.nan), F32(np.inf), F32(-0.0), F32(3e38)]
    for e in range(-149, 128):
        base = F32(2.0 ** e)
        for m in range(0, 16):
            v = F32(base * F32(1 + m / 16))
            xs += [v, np.nextafter(v, F32(0)), np.nextafter(v, F32(np.inf))]
    xs = np.array(xs, np.float32)
    assert ue4m3_codes(xs).tolist() == [c_fp32_to_ue4m3(v) for v in xs]


def test_nvfp4_hand_vectors():
    x = np.zeros(64, np.float32)
    x[:16] = np.linspace(-6, 6, 16)  # amax 6: scale 6/6 = 1.0 -> 0x38, step 0.5
    x[16] = F32(250 * 6)  # 250 rounds up out of binade 14 -> 0x7E (448)
    x[32] = F32(300 * 6)  # 300 lies in the top binade -> 0x7E
    x[48] = F32(7.6 / 512 * 6)  # subnormal: (int)(7.6 + 0.5) = 8 -> clamped to 7
    x[49] = F32(-1e30)  # with x[48] gives amax 1e30 in block 3 ... (overwritten below)
    x[49] = 0.0
    ba = numfmt.encode(x, "gguf_nvfp4")
    assert ba.scales.tolist() == [0x38, 0x7E, 0x7E, 0x07]
    assert int(ba.codes[15]) == 0x7 and int(ba.codes[0]) == 0xF
    # a huge element against the largest scale: every float32 error rounds to |x|, index 0 wins
    y = np.zeros(64, np.float32)
    y[0], y[1] = F32(1e30), F32(-1e30)
    bb = numfmt.encode(y, "gguf_nvfp4")
    assert int(bb.scales[0]) == 0x7E and bb.codes[:2].tolist() == [0, 0]
    # NaN skipped by amax (code 0), inf: amax/6 = inf -> clamped to 448, the inf element -> 0
    z = np.zeros(64, np.float32)
    z[0], z[1], z[16], z[17] = np.nan, 3.0, np.inf, 6.0
    bz = numfmt.encode(z, "gguf_nvfp4")
    assert bz.scales[:2].tolist() == [c_fp32_to_ue4m3(F32(0.5)), 0x7E] and bz.codes[[0, 16]].tolist() == [0, 0]
    for v in (x, y, z):
        assert (numfmt.encode(v, "gguf_nvfp4").to_bytes() == c_nvfp4(v)).all()


@pytest.mark.parametrize("seed", range(4))
def test_nvfp4_equals_transcription_on_hard_blocks(seed):
    x = hard_blocks(seed, bs=64)
    assert (numfmt.encode(x, "gguf_nvfp4").to_bytes() == c_nvfp4(x)).all()


@given(hnp.arrays(np.float32, (64,), elements=st.floats(width=32)))
def test_nvfp4_equals_transcription(x):
    assert (numfmt.encode(x, "gguf_nvfp4").to_bytes() == c_nvfp4(x)).all()


@pytest.mark.parametrize("row", range(len(EDGE_CASES)))
def test_docs_edge_case_rows(row):
    """Every row of the docs table (numfmt.block.tables.EDGE_CASES) against the transcription."""
    fmt, _, vals = EDGE_CASES[row]
    x = edge_block(fmt, vals)
    xs = np.tile(x, 64 // x.size)
    ba = numfmt.encode(xs, fmt)
    a = np.abs(x[np.isfinite(x)]).max()
    if fmt == "gguf_mxfp4" and 0 < a < 2.0 ** -125:  # undefined in C: numfmt's scale byte 0
        assert (ba.scales == 0).all() and ba.codes.tolist() == [c_best_index(v, c_e8m0_half(0)) for v in xs]
        return
    ref = c_mxfp4(xs) if fmt == "gguf_mxfp4" else c_nvfp4(xs)
    assert (ba.to_bytes() == ref).all()


def test_docs_tables_generate():
    t = gguf_edge_cases_table()
    assert t.count("\n") == len(EDGE_CASES) + 1 and "| `gguf_nvfp4` |" in t
    assert "`gguf_mxfp4` | 17 per 32" in layouts_table()


# --------------------------------------------------------------------------- the element kernel


def _exact_rule_funnel(v):
    """Nearest E2M1 code of exact values v, ties to the smaller magnitude, zero -> code 0,
    through the rounding funnel: nearest-away, except toward zero where v lies exactly
    midway between the toward-zero and the nearest-away results."""
    rna = numfmt.encode(v, "e2m1", rounding="nearest_away", saturation="finite")
    tz = numfmt.encode(v, "e2m1", rounding="toward_zero", saturation="finite")
    a, z = np.abs(numfmt.decode(rna, "e2m1", dtype=np.float64)), np.abs(numfmt.decode(tz, "e2m1", dtype=np.float64))
    c = np.where((rna != tz) & (2 * np.abs(v) == a + z), tz, rna)
    return np.where((c & 7) == 0, 0, c)


def _literal_vs_fast(x, steps, bs):
    a = np.empty(x.shape, np.uint8)
    b = np.empty(x.shape, np.uint8)
    KG.grid_index_literal(x, steps, np.int64(bs), GRID, a)
    KG.grid_index(x, steps, np.int64(bs), b)
    return a, b


@given(hnp.arrays(np.float32, (3, 48), elements=st.floats(width=32)),
       hnp.arrays(np.float32, (3, 3), elements=st.sampled_from(
           [c_e8m0_half(e) for e in (0, 1, 2, 60, 127, 200, 252, 254, 255)] +
           [c_ue4m3_to_fp32(c) for c in (0, 1, 7, 8, 0x38, 0x70, 0x7E)])))
def test_kernel_equals_literal_c_loop(x, steps):
    """grid_index (eight comparisons on |x|, then the sign) equals best_index_mxfp4 as written
    (sixteen comparisons) on every float32, NaN, inf and step, huge and zero steps included."""
    a, b = _literal_vs_fast(x, steps, 16)
    assert (a == b).all()


def test_kernel_equals_literal_c_loop_specials():
    vals = np.float32([0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 1e-45, -1e-45, 3.4e38, -3.4e38, 1e30, -1e30,
                       0.25, -0.25, 0.75, -0.75, 5, -5, 7, -7, 2688, -2688, 1e-40, -1e-40])
    for st_ in [c_e8m0_half(e) for e in range(256)] + [c_ue4m3_to_fp32(c) for c in range(128)]:
        x = vals.reshape(1, -1)
        a, b = _literal_vs_fast(x, np.full((1, 1), st_, np.float32), x.shape[1])
        assert (a == b).all(), st_


@given(st.integers(-126, 125), hnp.arrays(np.float64, 64, elements=st.floats(-15.99, 15.99)),
       st.sampled_from([0, 1, 23]))
def test_kernel_equals_exact_rule_power_of_two_steps(k, u, low):
    """With a power-of-two step d and |x| < 16 d (every MXFP4 element: x <= amax < 2**(E+1)),
    the kernel's float32 errors are exact and its index is the exact rule's code."""
    d = F32(2.0 ** (k - 1))
    x = (u * float(d)).astype(np.float32)
    x[:10] = (np.array([0.5, 1.5, 2.5, 3.5, 5, 7, 10, 14, -2.5, -0.5]) * float(d)).astype(np.float32)  # ties (x / 2d)
    if low:
        x[10] = np.nextafter(x[0], F32(0))
    out = np.empty((1, 64), np.uint8)
    KG.grid_index(x.reshape(1, 64), np.full((1, 1), d, np.float32), np.int64(64), out)
    assert out[0].tolist() == _exact_rule_funnel(x.astype(np.float64) / (2 * float(d))).tolist()


@given(st.integers(1, 0x7E), hnp.arrays(np.float64, 32, elements=st.floats(-6.4, 6.4)))
def test_kernel_equals_exact_rule_ue4m3_steps(sc, u):
    """UE4M3 steps, |x| up to 6.4 scales (NVFP4 scales round amax / 6 to nearest): exact
    nearest with ties to the smaller magnitude, computed with Fractions."""
    d = c_ue4m3_to_fp32(sc)
    s = Fraction(float(d)) * 2
    x = (u * float(s)).astype(np.float32)
    out = np.empty((1, 32), np.uint8)
    KG.grid_index(x.reshape(1, 32), np.full((1, 1), d, np.float32), np.int64(32), out)
    for xi, c in zip(x, out[0]):
        q = Fraction(float(xi)) / s
        best = min(range(16), key=lambda i: (abs(Fraction(KV[i], 2) - q), abs(KV[i]), i))
        assert int(c) == (0 if KV[best] == 0 else best)


# --------------------------------------------------------------------------- layouts and errors


def test_gguf_layout_nibble_order():
    codes = np.arange(64, dtype=np.uint8) % 16
    ba = BlockArray(codes, [0x38, 0x30, 0x40, 0x01], "gguf_nvfp4")
    raw = ba.to_bytes()
    assert raw.shape == (1, 36) and raw[0, :4].tolist() == [0x38, 0x30, 0x40, 0x01]
    # block s, byte j: element 16 s + j low, 16 s + j + 8 high
    assert raw[0, 4:12].tolist() == [c | (c + 8) << 4 for c in range(8)]
    m = BlockArray(np.arange(32, dtype=np.uint8) % 16, [127], "gguf_mxfp4").to_bytes()
    assert m.shape == (1, 17) and m[0, 1:].tolist() == [j | j << 4 for j in range(16)]


@pytest.mark.parametrize("fmt,shape,axis", [("mxfp4", (3, 45), -1), ("mxfp6_e3m2", (5, 33), -1),
                                            ("mxfp8_e4m3", (70, 2), 0), ("gguf_mxfp4", (2, 64), -1),
                                            ("gguf_nvfp4", (3, 128), -1), ("mxint8", (40,), 0)])
def test_to_bytes_round_trip(fmt, shape, axis):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    ba = numfmt.encode(x, fmt, axis=axis)
    raw = ba.to_bytes()
    assert raw.dtype == np.uint8
    back = BlockArray.from_bytes(bytes(raw), fmt, shape, axis=axis)
    assert (back.codes == ba.codes).all() and (back.scales == ba.scales).all() and back.axis == ba.axis


def test_planar_layout_is_scales_then_packed_elements():
    ba = numfmt.encode(np.arange(40, dtype=np.float32), "mxfp4")
    raw = ba.to_bytes()
    assert raw[:2].tolist() == ba.scales.tolist()
    assert (raw[2:] == numfmt.pack(ba.codes, 4)).all()


def test_layout_errors():
    x = np.ones((2, 64), np.float32)
    with pytest.raises(ValueError, match="last axis"):
        numfmt.encode(x.T, "gguf_mxfp4", axis=0).to_bytes()
    with pytest.raises(ValueError, match="multiple of 64"):
        numfmt.encode(np.ones(48, np.float32), "gguf_nvfp4").to_bytes()
    with pytest.raises(ValueError, match="tensor scale"):
        numfmt.encode(x, "nvfp4").to_bytes()
    with pytest.raises(ValueError, match="needs 34"):
        BlockArray.from_bytes(np.zeros(33, np.uint8), "gguf_mxfp4", (2, 32))
    with pytest.raises(TypeError, match="uint8"):
        BlockArray.from_bytes(np.zeros(34, np.int32), "gguf_mxfp4", (2, 32))
    with pytest.raises(ValueError, match="outside the 7-bit"):  # llama.cpp writes UE4M3 bytes < 0x80
        BlockArray.from_bytes(np.full(36, 0x80, np.uint8), "gguf_nvfp4", (64,))
    with pytest.raises(ValueError, match="layout"):
        block.BlockFormat(name="bad", element="e4m3", scale="e8m0", block_size=32, layout="gguf_mxfp4")
    with pytest.raises(ValueError, match="did you mean"):
        block.BlockFormat(name="bad", element="e2m1", scale="e8m0", block_size=32, layout="gguf_mxfp")


def test_from_bytes_shape_argument():
    ba = numfmt.encode(np.ones((2, 32), np.float32), "mxfp8")
    raw = ba.to_bytes()
    back = BlockArray.from_bytes(raw, "mxfp8", (np.int64(2), 32))
    assert back.codes.shape == (2, 32) and np.array_equal(back.codes, ba.codes)
    assert BlockArray.from_bytes(raw, "mxfp8", 64).codes.shape == (64,)
    for bad in [(2.7, 32), (2, 32.0), (True, 64), 64.0, None]:
        with pytest.raises(TypeError, match="shape"):
            BlockArray.from_bytes(raw, "mxfp8", bad)
    with pytest.raises(ValueError, match="shape"):
        BlockArray.from_bytes(raw, "mxfp8", (-2, 32))


def test_gguf_recipe_errors():
    x = np.ones(64, np.float32)
    with pytest.raises(ValueError, match="rounding"):
        numfmt.encode(x, "gguf_mxfp4", rounding="toward_zero")
    with pytest.raises(ValueError, match="one-level"):
        numfmt.encode(x, "gguf_nvfp4", tensor_scale=1.0)
    with pytest.raises(ValueError, match="nonfinite"):
        numfmt.encode(x, "gguf_mxfp4", nonfinite="nan")
    with pytest.raises(ValueError, match="scale_rule"):
        numfmt.encode(x, "gguf_mxfp4", scale_rule="ceil")
    with pytest.raises(ValueError, match="E2M1"):
        block.BlockFormat(name="bad", element="e4m3", scale="e8m0", block_size=32, recipe="gguf")
    with pytest.raises(ValueError, match="not exact in float32"):
        numfmt.encode(np.full(32, 0.1), "gguf_mxfp4")
    # the recipe applies to other E2M1 formats of the same scale: mxfp4 with recipe='gguf'
    y = hard_blocks(0)
    assert (numfmt.encode(y, "mxfp4", recipe="gguf").codes == numfmt.encode(y, "gguf_mxfp4").codes).all()
