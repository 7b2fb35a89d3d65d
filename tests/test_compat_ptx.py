"""compat="ptx": NVIDIA ``cvt`` conversions, the rules of the PTX ISA `cvt` section taken literally.

* cvt.rn.satfinite.{e4m3x2,e5m2x2,e2m1x2,e2m3x2,e3m2x2}.f32: RNE; |x| > MAX_NORM and
  +-inf -> sign-preserved MAX_NORM; NaN -> NaN for fp8 (canonical 0x7F, sign dropped,
  as cuda_fp8.hpp's fallback computes it) and NaN -> +MAX_NORM for e2m1/e2m3/e3m2.
* cvt.rs.satfinite: add the random bits to the discarded bits, the carry rounds away.
* cvt.{rz,rp}.satfinite.ue8m0x2.f32: toward zero / up; |x| > 2**127 -> 0xFE; NaN -> 0xFF.
"""

from __future__ import annotations

import numpy as np
import pytest

import numfmt


def enc(x, name, **kw):
    return numfmt.encode(np.array(x, np.float32), name, compat="ptx", **kw).tolist()


def test_e4m3_satfinite():
    x = [0.0, -0.0, 1.0, 448.0, 463.99, 464.0, 465.0, 480.0, 1e30, np.inf, -np.inf, -500.0, 2.0**-10,
         2.0**-10 * (1 + 2.0**-23), 1.0625, 1.1875]
    assert enc(x, "float8_e4m3fn") == [0x00, 0x80, 0x38, 0x7E, 0x7E, 0x7E, 0x7E, 0x7E, 0x7E, 0x7E, 0xFE,
                                       0xFE, 0x00, 0x01, 0x38, 0x3A]


def test_e5m2_satfinite():
    x = [57344.0, 61439.0, 61440.0, 65536.0, 1e6, np.inf, -np.inf, 2.0**-17, 2.0**-16, 1.0]
    assert enc(x, "float8_e5m2") == [0x7B, 0x7B, 0x7B, 0x7B, 0x7B, 0x7B, 0xFB, 0x00, 0x01, 0x3C]


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float8_e5m2"])
def test_fp8_nan_is_canonical(name):
    u = np.array([0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFFFFFFF], np.uint32)
    assert numfmt.encode(u.view(np.float32), name, compat="ptx").tolist() == [0x7F] * 4


# OCP MX v1.0 element conversions (RNE + saturation; gfloat 0.5.2 = ml_dtypes 0.6.0), then the PTX NaN/inf rules
_X = [0.25, 0.26, 0.75, 1.25, 1.75, 2.5, 2.6, 3.5, 5.0, 5.1, 7.0, 100, -0.1, -2.5, -5.0, -0.0]
_TABLE = {
    "float4_e2m1fn": [0, 1, 2, 2, 4, 4, 5, 6, 6, 7, 7, 7, 8, 0xC, 0xE, 8],
    "float6_e2m3fn": [0x02, 0x02, 0x06, 0x0A, 0x0E, 0x12, 0x12, 0x16, 0x1A, 0x1A, 0x1E, 0x1F, 0x21, 0x32,
                      0x3A, 0x20],
    "float6_e3m2fn": [0x04, 0x04, 0x0A, 0x0D, 0x0F, 0x11, 0x11, 0x13, 0x15, 0x15, 0x17, 0x1F, 0x22, 0x31,
                      0x35, 0x20],
}


@pytest.mark.parametrize("name", list(_TABLE))
def test_fp4_fp6_table(name):
    assert enc(_X, name) == _TABLE[name]


@pytest.mark.parametrize(("name", "top"),
                         [("float4_e2m1fn", 0x7), ("float6_e2m3fn", 0x1F), ("float6_e3m2fn", 0x1F)])
def test_fp4_fp6_nan_is_plus_max(name, top):
    sign = 1 << (numfmt.get_format(name).bits - 1)
    assert enc([np.nan, -np.nan, np.inf, -np.inf], name) == [top, top, top, top | sign]
    assert enc([np.nan], name, nan="max") == [top]  # the explicit keyword that agrees is accepted
    with pytest.raises(ValueError, match="nan"):
        enc([np.nan], name, nan="zero")


# E8M0 conversions (OCP MX v1.0 scale format): round-up (cvt.rp) and round-down (cvt.rz) rows
_E8X = [1.0, 1.49, 1.5, 1.51, 3.0, 6.0, 0.75, 2.0**-127, 2.0**127, 3 * 2.0**126]
_E8 = {
    "toward_positive": [0x7F, 0x80, 0x80, 0x80, 0x81, 0x82, 0x7F, 0x00, 0xFE, 0xFE],
    "toward_zero": [0x7F, 0x7F, 0x7F, 0x7F, 0x80, 0x81, 0x7E, 0x00, 0xFE, 0xFE],
}


@pytest.mark.parametrize("rounding", list(_E8))
def test_ue8m0(rounding):
    assert enc(_E8X, "float8_e8m0fnu", rounding=rounding) == _E8[rounding]
    assert enc([np.inf, 1e38 * 3, np.nan], "float8_e8m0fnu", rounding=rounding) == [0xFE, 0xFE, 0xFF]


def test_ue8m0_float32_subnormals():
    # rp: (0, 2**-127] -> 0x00, (2**-127, 2**-126] -> 0x01; rz: everything below 2**-126 -> 0x00
    x = [2.0**-149, 2.0**-127, 1.4 * 2.0**-127, 2.0**-126]
    assert enc(x, "float8_e8m0fnu", rounding="toward_positive") == [0x00, 0x00, 0x01, 0x01]
    assert enc(x, "float8_e8m0fnu", rounding="toward_zero") == [0x00, 0x00, 0x00, 0x01]


def test_ue8m0_needs_a_directed_rounding():
    with pytest.raises(ValueError, match="toward_zero"):
        enc([1.0], "float8_e8m0fnu")


def test_stochastic_cvt_rs():
    # e2m1: 1.25 lies half-way between 1.0 (0x2) and 1.5 (0x3); with 8 random bits the
    # discarded fraction is 128/256: R = 127 keeps 0x2, R = 128 carries to 0x3
    r = np.array([0, 127, 128, 255], np.uint8)
    assert enc([1.25] * 4, "float4_e2m1fn", rounding="stochastic", random=r, rbits=8) == [2, 2, 3, 3]
    # satfinite: 7.0 (past 6.0 = max) with every bit set would round to 8, which saturates to max
    assert enc([7.0, -7.0], "float4_e2m1fn", rounding="stochastic", random=np.array([255, 255], np.uint8),
               rbits=8) == [0x7, 0xF]


@pytest.mark.parametrize("kw", [{"rounding": "toward_zero"}, {"rounding": "nearest_away"},
                                {"saturation": "propagate"}, {"nan": "zero"}])
def test_conflicts(kw):
    with pytest.raises(ValueError, match="compat='ptx'"):
        enc([1.0], "float8_e4m3fn", **kw)


def test_satfinite_is_accepted_explicitly():
    assert enc([1e9], "float8_e5m2", saturation="finite") == [0x7B]


@pytest.mark.parametrize("name", ["float8_e4m3fnuz", "tf32", "int8", "float8_e3m4"])
def test_uncovered(name):
    with pytest.raises(ValueError, match="does not cover"):
        enc([1.0], name)


@pytest.mark.parametrize("fmt, modes", [
    ("binary16", ("nearest_even", "toward_zero", "toward_negative", "toward_positive")),
    ("bfloat16", ("nearest_even", "toward_zero")),
])
def test_half_cvt_as_measured_on_h200(fmt, modes):
    """cvt.{rn,rz,rm,rp}.f16.f32 / cvt.{rn,rz}.bf16.f32 equal the plain rounding on every non-NaN input
    (checked on an H200 over all 2**32 float32 patterns) and give the canonical NaN 0x7fff for every NaN."""
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 1 << 32, 1 << 16, dtype=np.uint64).astype(np.uint32)
    bits[:4] = [0x7FC00000, 0xFFC00001, 0x7F800001, 0xFF800000]
    x = bits.view(np.float32)
    nan = np.isnan(x)
    for mode in modes:
        got = numfmt.encode(x, fmt, compat="ptx", rounding=mode)
        assert (got[nan] == 0x7FFF).all()
        plain = numfmt.encode(x[~nan], fmt, rounding=mode)
        np.testing.assert_array_equal(got[~nan], plain)
    with pytest.raises(ValueError, match="no cvt"):
        numfmt.encode(x, "bfloat16", compat="ptx", rounding="to_odd")
