"""Configurable exponent bias (`numfmt.with_bias`, Tesla CFloat8, Intel Gaudi2 E4M3) and the
UE5M3 scale format: every code's value against the formats' public definitions, encode
against the exact reference (numfmt.reference, Fractions), errors, block formats."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import numfmt
import numfmt.reference as ref
from numfmt import block
from numfmt.bias import BIAS_FAMILIES, bias_table

F32 = np.float32


def published_value(fam, code, bias):
    """Value of an 8-bit code from the public descriptions: 1.m * 2**(e - bias) for e >= 1,
    0.m * 2**(1 - bias) at e = 0; CFloat8 uses the all-ones exponent as a binade, Gaudi2's
    E4M3 (IEEE-style) holds ±inf (m = 0) and NaN there."""
    code = int(code)
    eb, mb = (5, 2) if fam == "cfloat8_1_5_2" else (4, 3)
    s, e, m = code >> 7, (code >> mb) & ((1 << eb) - 1), code & ((1 << mb) - 1)
    if fam == "gaudi2_e4m3" and e == (1 << eb) - 1:
        return math.nan if m else (-math.inf if s else math.inf)
    v = Fraction(m, 1 << mb) * Fraction(2) ** (1 - bias) if e == 0 else \
        (1 + Fraction(m, 1 << mb)) * Fraction(2) ** (e - bias)
    return -v if s else v


@pytest.mark.parametrize("fam", list(BIAS_FAMILIES))
def test_every_code_of_every_bias(fam):
    codes = np.arange(256)
    for b in BIAS_FAMILIES[fam]:
        f = numfmt.with_bias(fam, b)
        got = numfmt.decode(codes, f, dtype=np.float64)
        want = np.array([float(published_value(fam, c, b)) for c in codes])
        assert np.array_equal(got, want, equal_nan=True), (fam, b)
        assert [ref.decode(c, f) for c in (0x01, 0x7E)] == [published_value(fam, c, b) for c in (0x01, 0x7E)]


@given(st.sampled_from(sorted(BIAS_FAMILIES)), st.data(),
       st.lists(st.floats(allow_nan=False, width=64), min_size=1, max_size=20),
       st.sampled_from(["nearest_even", "toward_zero", "nearest_away"]),
       st.sampled_from(["finite", "none"]))
def test_encode_equals_exact_reference(fam, data, xs, rounding, sat):
    b = data.draw(st.sampled_from(BIAS_FAMILIES[fam]))
    f = numfmt.with_bias(fam, b)
    scale = 2.0 ** (7 - b)  # bring the inputs near the format's range
    x = np.array([v * scale if math.isfinite(v * scale) else v for v in xs])
    got = numfmt.encode(x, f, rounding=rounding, saturation=sat).tolist()
    assert got == [ref.encode(float(v), f, rounding=rounding, saturation=sat)
                   for v in x]


def test_ties_and_specials_per_family():
    for fam in BIAS_FAMILIES:
        for b in BIAS_FAMILIES[fam][::7]:
            f = numfmt.with_bias(fam, b)
            v = f.values()
            fin = np.sort(np.unique(v[np.isfinite(v) & (v >= 0)]))
            mids = (fin[1:] + fin[:-1]) / 2
            got = numfmt.encode(mids, f)
            assert got.tolist() == [ref.encode(Fraction(m), f) for m in mids]
            # round trip of every finite value
            assert np.array_equal(numfmt.decode(numfmt.encode(fin, f), f, dtype=np.float64), fin)
    # CFloat8 has no inf and no NaN: overflow saturates, inf saturates under "finite", NaN needs a policy
    f = numfmt.with_bias("cfloat8_1_5_2", 20)
    assert numfmt.encode([np.inf, -1e30], f, saturation="finite").tolist() == [0x7F, 0xFF]
    with pytest.raises(ValueError, match="no NaN"):
        numfmt.encode([np.nan], f)
    g = numfmt.with_bias("gaudi2_e4m3", 3)
    assert numfmt.encode([np.inf, np.nan, 1e9], g).tolist() == [0x78, 0x7F, 0x78]


def test_with_bias_names_and_identity():
    assert numfmt.with_bias("cfloat8_1_4_3", 7) is numfmt.get_format("cfloat8_1_4_3")
    f = numfmt.with_bias(numfmt.with_bias("cfloat8_1_5_2", 3), 60)
    assert f.name == "cfloat8_1_5_2_b60" and f.bias == 60
    assert numfmt.with_bias(f, 15) is numfmt.get_format("cfloat8_1_5_2")
    assert numfmt.with_bias(numfmt.with_bias("e5m2", 3), 9).name == "float8_e5m2_b9"  # any float format
    assert numfmt.with_bias("gaudi2_e4m3", 7).max == 240.0
    with pytest.raises(ValueError, match="unknown format"):
        numfmt.get_format("cfloat8_1_4_3_b11")  # one object per bias, nothing registered


def test_with_bias_errors():
    with pytest.raises(ValueError, match=r"allowed: 0\.\.63"):
        numfmt.with_bias("cfloat8_1_4_3", 64)
    with pytest.raises(ValueError, match="allowed: 3, 7, 11, 15"):
        numfmt.with_bias("gaudi2_e4m3", 4)
    with pytest.raises(ValueError, match="allowed"):
        numfmt.with_bias(numfmt.with_bias("gaudi2_e4m3", 11), -1)
    with pytest.raises(TypeError, match="bias must be an int"):
        numfmt.with_bias("cfloat8_1_4_3", 3.0)
    with pytest.raises(TypeError, match="bias must be an int"):
        numfmt.with_bias("cfloat8_1_4_3", True)
    with pytest.raises(TypeError, match="float format"):
        numfmt.with_bias("int8", 3)
    with pytest.raises(ValueError, match="binary64"):
        numfmt.with_bias("binary32", -2000)
    with pytest.raises(ValueError, match="fixed bias"):
        numfmt.with_bias("binary64", 3)


def test_bias_table_rows():
    rows = bias_table().splitlines()[2:]
    assert len(rows) == len(BIAS_FAMILIES)
    for row, fam in zip(rows, BIAS_FAMILIES):
        lo, hi = BIAS_FAMILIES[fam][0], BIAS_FAMILIES[fam][-1]
        vals = [float(published_value(fam, c, lo)) for c in range(128)]
        top = max(v for v in vals if np.isfinite(v))
        assert f"`{fam}`" in row and f"{top:.6g} …" in row
        assert f"… {float(published_value(fam, 1, hi)):.6g} |" in row


def test_bias_in_a_block_format():
    el = numfmt.with_bias("cfloat8_1_4_3", 3)
    bf = block.BlockFormat(name="cf8_b3_mx", element=el, scale="e8m0", block_size=32)
    x = np.random.default_rng(0).standard_normal(64).astype(np.float32) * 100
    ba = numfmt.encode(x, bf)
    # floor rule: scale 2**(floor(log2 amax) - emax_elem), emax_elem = 15 - 3 = 12
    a = np.abs(x.reshape(2, 32)).max(axis=1)
    assert ba.scales.tolist() == [127 + int(np.floor(np.log2(v))) - 12 for v in a]
    y = numfmt.decode(ba, dtype=np.float64)
    s = np.repeat(2.0 ** (ba.scales.astype(np.int64) - 127), 32)
    assert np.array_equal(y, numfmt.decode(ba.codes, el, dtype=np.float64) * s)


# --------------------------------------------------------------------------- UE5M3


def test_ue5m3_codes():
    f = numfmt.get_format("ue5m3")
    assert (f.bits, f.bias, f.code_of_nan, f.code_of_inf, f.max, f.smallest_subnormal) == \
        (8, 15, 0xFF, None, 114688.0, 2.0 ** -17)
    v = numfmt.decode(np.arange(256), f, dtype=np.float64)
    want = [(c & 7) / 8 * 2.0 ** -14 if c >> 3 == 0 else (1 + (c & 7) / 8) * 2.0 ** ((c >> 3) - 15)
            for c in range(255)]
    assert np.array_equal(v[:255], want) and np.isnan(v[255])
    assert numfmt.encode([np.inf, 1e9, np.nan, -0.0], f, saturation="finite").tolist() == [0xFE, 0xFE, 0xFF, 0x00]


def test_ue5m3_as_block_scale():
    """A custom NVFP4-like format with UE5M3 scales: the TransformerEngine recipe one-level,
    re-derived in float32 (scale = bamax * fl(1/6) rounded to UE5M3, elements x * fl(1/scale))."""
    bf = block.BlockFormat(name="nvfp4_ue5m3_test", element="e2m1", scale="ue5m3", block_size=16,
                           scale_rule="amax")
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((4, 64)) * 2.0 ** rng.integers(-20, 18, (4, 1))).astype(np.float32)
    x[0, :16] *= F32(1e3)  # amax beyond UE4M3's 448 * 6
    ba = numfmt.encode(x, bf)
    bam = np.abs(x.reshape(4, 4, 16)).max(axis=-1)
    s = (bam * (F32(1) / F32(6))).astype(np.float32)
    sc = numfmt.encode(s, "ue5m3", saturation="finite")
    assert (ba.scales == sc).all()
    sv = numfmt.decode(sc, "ue5m3").astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.minimum(F32(1) / sv, np.finfo(np.float32).max).astype(np.float32)
    el = numfmt.encode((x.reshape(4, 4, 16) * inv[..., None]).astype(np.float32), "e2m1", saturation="finite")
    assert (ba.codes == el.reshape(4, 64)).all()
    assert (numfmt.decode(ba) == (numfmt.decode(ba.codes, "e2m1") * np.repeat(sv, 16, axis=1))).all()
    # power-of-two scales in UE5M3 (2**-17 .. 2**16)
    pf = block.BlockFormat(name="mxfp4_ue5m3_test", element="e2m1", scale="ue5m3", block_size=32)
    p = numfmt.encode(np.float32([1.0, 6.0] * 16), pf)
    assert p.scales.tolist() == [15 << 3]
