"""numfmt.explain: OCP FP8 v1.0 conversion vectors, literal reports for ties and overflow, and agreement with encode."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import numfmt
from numfmt import explain
from numfmt.testing import formats, inputs

NAN = None  # "is NaN" in the table (the NaN code is implementation-defined)

# OCP FP8 v1.0 (values from gfloat 0.5.2; ml_dtypes 0.6.0 agrees but for the NaN code):
# float32 input -> E4M3 sat, E4M3 non-sat, E5M2 sat, E5M2 non-sat (RNE)
SPEC_1_3 = [
    (0.0, 0x00, 0x00, 0x00, 0x00),
    (-0.0, 0x80, 0x80, 0x80, 0x80),
    (1.0, 0x38, 0x38, 0x3C, 0x3C),
    (-1.0, 0xB8, 0xB8, 0xBC, 0xBC),
    (0.5, 0x30, 0x30, 0x38, 0x38),
    (float(np.float32(0.1)), 0x1D, 0x1D, 0x2E, 0x2E),
    (float(np.float32(-0.3)), 0xAA, 0xAA, 0xB5, 0xB5),
    (float(np.float32(3.14159)), 0x45, 0x45, 0x42, 0x42),
    (1.0625, 0x38, 0x38, 0x3C, 0x3C),
    (1.1875, 0x3A, 0x3A, 0x3D, 0x3D),
    (2.0**-6, 0x08, 0x08, 0x24, 0x24),
    (2.0**-9, 0x01, 0x01, 0x18, 0x18),
    (2.0**-10, 0x00, 0x00, 0x14, 0x14),
    (2.0**-10 * (1 + 2.0**-23), 0x01, 0x01, 0x14, 0x14),
    (1.5 * 2.0**-10, 0x01, 0x01, 0x16, 0x16),
    (2.0**-16, 0x00, 0x00, 0x01, 0x01),
    (2.0**-17, 0x00, 0x00, 0x00, 0x00),
    (240.0, 0x77, 0x77, 0x5C, 0x5C),
    (256.0, 0x78, 0x78, 0x5C, 0x5C),
    (272.0, 0x78, 0x78, 0x5C, 0x5C),
    (448.0, 0x7E, 0x7E, 0x5F, 0x5F),
    (float(np.float32(463.99)), 0x7E, 0x7E, 0x5F, 0x5F),
    (464.0, 0x7E, 0x7E, 0x5F, 0x5F),
    (480.0, 0x7E, NAN, 0x60, 0x60),
    (500.0, 0x7E, NAN, 0x60, 0x60),
    (57344.0, 0x7E, NAN, 0x7B, 0x7B),
    (61439.0, 0x7E, NAN, 0x7B, 0x7B),
    (61440.0, 0x7E, NAN, 0x7B, 0x7C),
    (65536.0, 0x7E, NAN, 0x7B, 0x7C),
    (1e6, 0x7E, NAN, 0x7B, 0x7C),
    (math.inf, 0x7E, NAN, 0x7B, 0x7C),
    (-math.inf, 0xFE, NAN, 0xFB, 0xFC),
    (math.nan, NAN, NAN, NAN, NAN),
]
COLUMNS = [("e4m3", "finite"), ("e4m3", "none"), ("e5m2", "finite"), ("e5m2", "none")]


@pytest.mark.parametrize("row", SPEC_1_3, ids=lambda r: repr(r[0]))
def test_spec_1_3_vectors(row):
    x = np.float32(row[0])
    for (fmt, sat), want in zip(COLUMNS, row[1:]):
        e = explain(x, fmt, saturation=sat)
        f = numfmt.get_format(fmt)
        if want is NAN:
            assert f.is_nan_code(e.code), (fmt, sat, hex(e.code))
        else:
            assert e.code == want, (fmt, sat, hex(e.code), hex(want))
        assert e.code == int(np.asarray(numfmt.encode(np.array([x]), fmt, saturation=sat))[0])


def _lines(e) -> list[str]:
    return [ln.strip() for ln in str(e).splitlines()]


def test_report_tie_kept_even_literal():
    assert str(explain(np.float32(1.0625), "e4m3")) == "\n".join([
        "explain 1.0625 -> float8_e4m3fn  (rounding=nearest_even, saturation=none, nan=raise)",
        "  input        1.0625 (float32)",
        "  class        finite",
        "  toward zero  1.0 = 0x38 (0|0111|000)",
        "  away         1.125 = 0x39 (0|0111|001)",
        "  ulp          0.125 (2^-3)",
        "  position     0.5 ulp past the toward-zero neighbour (guard 1, round 0, sticky 0)",
        "  tie          yes",
        "  rule         nearest_even: a tie; 0x38 is even, keep it (toward zero)",
        "  overflow     no: |1.0| <= max 448.0",
        "  result       0x38 (0|0111|000) = 1.0",
    ])


def test_report_tie_goes_up_to_even_literal():
    lines = _lines(explain(np.float32(1.1875), "e4m3"))
    assert "toward zero  1.125 = 0x39 (0|0111|001)" in lines
    assert "away         1.25 = 0x3a (0|0111|010)" in lines
    assert "rule         nearest_even: a tie; 0x39 is odd, round away from zero to the even neighbour" in lines
    assert lines[-1] == "result       0x3a (0|0111|010) = 1.25"


def test_report_tie_to_zero_literal():
    e = explain(np.float32(2.0**-10), "e4m3")
    lines = _lines(e)
    assert "toward zero  0.0 = 0x00 (0|0000|000)" in lines
    assert "away         0.001953125 = 0x01 (0|0000|001)" in lines
    assert "tie          yes" in lines
    assert "rule         nearest_even: a tie; 0x00 is even, keep it (toward zero); zero" in lines
    assert lines[-1] == "result       0x00 (0|0000|000) = 0.0"
    # one float32 ulp above the tie: sticky set, rounds up
    e2 = explain(np.float32(2.0**-10 * (1 + 2.0**-23)), "e4m3")
    assert (e2.guard, e2.round, e2.sticky, e2.tie, e2.code) == (1, 0, 1, False, 0x01)
    assert e2.position == Fraction(1, 2) + Fraction(1, 2**24)


def test_report_overflow_tie_464_stays_at_max_literal():
    assert str(explain(np.float32(464.0), "e4m3")) == "\n".join([
        "explain 464.0 -> float8_e4m3fn  (rounding=nearest_even, saturation=none, nan=raise)",
        "  input        464.0 (float32)",
        "  class        finite",
        "  toward zero  448.0 = 0x7e (0|1111|110)",
        "  away         480.0  (beyond max 448.0; no code)",
        "  ulp          32.0 (2^5)",
        "  position     0.5 ulp past the toward-zero neighbour (guard 1, round 0, sticky 0)",
        "  tie          yes",
        "  rule         nearest_even: a tie; 0x7e is even, keep it (toward zero)",
        "  overflow     no: |448.0| <= max 448.0",
        "  result       0x7e (0|1111|110) = 448.0",
    ])


def test_report_e5m2_overflow_tie_61440_literal():
    lines = _lines(explain(np.float32(61440.0), "e5m2"))
    assert "toward zero  57344.0 = 0x7b (0|11110|11)" in lines
    assert "away         65536.0  (beyond max 57344.0; no code)" in lines
    assert "rule         nearest_even: a tie; 0x7b is odd, round away from zero to the even neighbour" in lines
    assert ("overflow     yes: rounded magnitude beyond max 57344.0; saturation='none': overflow to +inf 0x7c"
            in lines)
    assert lines[-1] == "result       0x7c (0|11111|00) = inf"
    sat = _lines(explain(np.float32(61440.0), "e5m2", saturation="finite"))
    assert ("overflow     yes: rounded magnitude beyond max 57344.0; saturation='finite' clamps to +max 0x7b"
            in sat)


def test_report_overflow_nan_and_saturation_literal():
    lines = _lines(explain(np.float32(500.0), "e4m3"))
    assert "toward zero  480.0  (beyond max 448.0; no code)" in lines
    assert "position     0.625 ulp past the toward-zero neighbour (guard 1, round 0, sticky 1)" in lines
    assert ("overflow     yes: rounded magnitude beyond max 448.0; saturation='none', float8_e4m3fn has no inf, "
            "so overflow gives NaN 0x7f") in lines
    lines = _lines(explain(np.float32(-math.inf), "e4m3", saturation="finite"))
    assert "rule         infinite input: no rounding" in lines
    assert "overflow     yes: -inf input; saturation='finite' clamps to -max 0xfe" in lines
    lines = _lines(explain(np.float32(1e6), "e5m2", rounding="toward_zero"))
    assert ("overflow     yes: rounded magnitude beyond max 57344.0; saturation='none' but the rounding is "
            "toward zero for this sign, so +max 0x7b") in lines


def test_other_rules_and_specials():
    e = explain(-1.0625, "e4m3", rounding="toward_negative")
    assert (e.direction, e.code) == ("away from zero", 0xB9)
    e = explain(1.0625, "e4m3", rounding="to_odd")
    assert e.code == 0x39 and "take the odd neighbour" in e.rule
    e = explain(-0.0, "float8_e4m3fnuz")
    assert e.code == 0x00 and "no negative zero" in e.rule
    e = explain(0.0, "e8m0")
    assert e.code == 0xFF and "no zero" in e.rule
    e = explain(math.nan, "e2m1", nan="max")
    assert e.code == 0x7
    with pytest.raises(ValueError, match="has no NaN"):
        explain(math.nan, "e2m1")
    e = explain(-2.5, "binary8p3uf")  # negative into an unsigned P3109 format
    assert e.code == numfmt.get_format("binary8p3uf").code_of_nan
    with pytest.raises(TypeError, match="x must be"):
        explain("1.0", "e4m3")
    with pytest.raises(ValueError, match="one scalar"):
        explain(np.ones(2), "e4m3")
    with pytest.raises(ValueError, match="block format"):
        explain(1.0, "mxfp4")


def test_stochastic_bits_match_encode():
    x = np.full(6, 1.0 + 3 * 2.0**-23, np.float32)
    codes = numfmt.encode(x, "bfloat16", rounding="stochastic", random=1234, rbits=16)
    for i in range(6):
        e = explain(x[i], "bfloat16", rounding="stochastic", random=1234, rbits=16, index=i)
        assert e.code == int(codes[i])
        assert e.random_bits is not None and "floor(nu*2^16) + R = 3 + " in e.rule
    # explicit bits: PTX cvt.rs rule, discarded field 3 of 16 bits: away iff R >= 65533
    for r, want in ((65532, 0x3F80), (65533, 0x3F81)):
        e = explain(np.float32(1.0 + 3 * 2.0**-23), "bfloat16", rounding="stochastic", rbits=16,
                    random=np.array([r], np.uint32))
        assert e.code == want


def test_to_dict_is_json():
    d = explain(np.float32(464.0), "e4m3").to_dict()
    s = json.loads(json.dumps(d, allow_nan=False))
    assert s["tie"] is True and s["code_hex"] == "0x7e" and s["position"] == "0.5"
    assert s["toward_zero"]["code_hex"] == "0x7e" and s["away_from_zero"]["code"] is None
    d = explain(math.inf, "e5m2").to_dict()
    json.dumps(d, allow_nan=False)
    assert d["value"] == "inf"


ROUNDINGS = ["nearest_even", "nearest_away", "toward_zero", "toward_positive", "toward_negative", "to_odd",
             "stochastic", "stochastic_b", "stochastic_c"]


@given(f=formats(), data=st.data())
def test_explain_agrees_with_encode(f, data):
    dtype = data.draw(st.sampled_from(["float32", "float64"]))
    x = data.draw(inputs(f, dtype=dtype))
    rounding = data.draw(st.sampled_from(ROUNDINGS))
    sat = data.draw(st.sampled_from(["none", "finite", "propagate"]))
    nan = data.draw(st.sampled_from(["zero", "max"])) if f.code_of_nan is None else "raise"
    kw = {"rounding": rounding, "saturation": sat, "nan": nan}
    index = 0
    if rounding.startswith("stochastic"):
        kw.update(random=data.draw(st.integers(0, 2**32)), rbits=data.draw(st.integers(1, 32)))
        index = data.draw(st.integers(0, 3))
    xa = np.full(index + 1, x, dtype)
    want = int(np.asarray(numfmt.encode(xa, f, **kw))[index])
    e = explain(xa[index], f, index=index, **kw)
    assert e.code == want, str(e)
    if e.position is not None:
        assert 0 <= e.position < 1
        assert e.tie == (e.position == Fraction(1, 2))
        assert e.guard == int(e.position >= Fraction(1, 2))
