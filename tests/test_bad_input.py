"""Bad input (issue 2, "Bad input"): each case is a ValueError/TypeError whose message names the
argument and the offending value, and nothing is written to ``out=``."""

from __future__ import annotations

import re

import numpy as np
import pytest

import numfmt

SENTINEL = 0xA5


def _x(n=3):
    return np.array([1.0, 2.0, 3.0][:n])


# (id, call(fn, out): runs encode or quantize with out=, exception, regex the message must match)
ENCODE_CASES = [
    ("unknown format", lambda fn, out: fn(_x(), "float8_e4m3f", out=out), ValueError,
     r"'float8_e4m3f'.*float8_e4m3fn"),
    ("impossible p3109", lambda fn, out: fn(_x(), "binary8p9se", out=out), ValueError, r"p=9"),
    ("format type", lambda fn, out: fn(_x(), 8, out=out), TypeError, r"fmt.*8"),
    ("rbits 0", lambda fn, out: fn(_x(), "e4m3", rounding="stochastic", random=1, rbits=0, out=out),
     ValueError, r"rbits.*0"),
    ("rbits 33", lambda fn, out: fn(_x(), "e4m3", rounding="stochastic", random=1, rbits=33, out=out),
     ValueError, r"rbits.*33"),
    ("rbits float", lambda fn, out: fn(_x(), "e4m3", rounding="stochastic", random=1, rbits=4.0,
                                              out=out), TypeError, r"rbits.*4\.0"),
    ("random shape", lambda fn, out: fn(_x(), "e4m3", rounding="stochastic",
                                               random=np.zeros(2, np.uint32), out=out),
     ValueError, r"random.*\(2,\).*\(3,\)"),
    ("random too big", lambda fn, out: fn(_x(), "e4m3", rounding="stochastic", rbits=4,
                                                 random=np.array([1, 16, 2], np.uint32), out=out),
     ValueError, r"random.*16"),
    ("random float dtype", lambda fn, out: fn(_x(), "e4m3", rounding="stochastic",
                                                     random=np.zeros(3), out=out), TypeError, r"random.*float64"),
    ("random negative seed", lambda fn, out: fn(_x(), "e4m3", rounding="stochastic", random=-5,
                                                       out=out), ValueError, r"random.*-5"),
    ("stochastic without random", lambda fn, out: fn(_x(), "e4m3", rounding="stochastic", out=out),
     ValueError, r"random"),
    ("random with deterministic mode", lambda fn, out: fn(_x(), "e4m3", random=3, out=out),
     ValueError, r"random"),
    ("rbits with deterministic mode", lambda fn, out: fn(_x(), "e4m3", rbits=8, out=out),
     ValueError, r"rbits=8.*deterministic"),
    ("seed beyond 2**64", lambda fn, out: fn(_x(), "e4m3", rounding="stochastic", random=2**64 + 5,
                                                    out=out), ValueError, r"random seed.*18446744073709551621"),
    ("complex input", lambda fn, out: fn(_x() + 1j, "e4m3", out=out), TypeError, r"x.*complex"),
    ("object input", lambda fn, out: fn(_x().astype(object), "e4m3", out=out), TypeError, r"x.*object"),
    ("string input", lambda fn, out: fn(np.array(["1", "2", "3"]), "e4m3", out=out), TypeError,
     r"x.*<U1"),
    ("bool input", lambda fn, out: fn(np.array([True, False, True]), "e4m3", out=out), TypeError,
     r"x.*bool"),
    ("nan raise", lambda fn, out: fn(np.array([1.0, np.nan, np.nan]), "e2m1", out=out), ValueError,
     r"2 NaN.*index.*1.*float4_e2m1fn"),
    ("nan raise int", lambda fn, out: fn(np.array([1.0, 2.0, np.nan]), "int8", out=out), ValueError,
     r"1 NaN.*2.*int8"),
    ("rounding name", lambda fn, out: fn(_x(), "e4m3", rounding="nearest", out=out), ValueError,
     r"rounding='nearest'"),
    ("saturation name", lambda fn, out: fn(_x(), "e4m3", saturation="clamp", out=out), ValueError,
     r"saturation='clamp'"),
    ("nan name", lambda fn, out: fn(_x(), "e2m1", nan="ignore", out=out), ValueError, r"nan='ignore'"),
    ("compat name", lambda fn, out: fn(_x(), "e4m3", compat="numpy", out=out), ValueError,
     r"compat='numpy'"),
    ("compat conflict", lambda fn, out: fn(_x(), "e4m3", compat="ml_dtypes", saturation="finite",
                                                  out=out), ValueError, r"saturation.*finite"),
    ("threads", lambda fn, out: fn(_x(), "e4m3", threads=0, out=out), ValueError, r"threads.*0"),
    ("rounding type", lambda fn, out: fn(_x(), "e4m3", rounding=1, out=out), TypeError, r"rounding"),
]


@pytest.mark.parametrize("call, exc, pattern", [c[1:] for c in ENCODE_CASES], ids=[c[0] for c in ENCODE_CASES])
@pytest.mark.parametrize("fn", ["encode", "quantize"])
def test_encode_bad_input(fn, call, exc, pattern):
    out = np.full(3, SENTINEL, np.uint8) if fn == "encode" else np.full(3, np.pi, np.float64)
    before = out.copy()
    with pytest.raises(exc) as e:
        call(getattr(numfmt, fn), out)
    assert re.search(pattern, str(e.value)), str(e.value)
    assert np.array_equal(out, before), "out= was written although the call failed"


@pytest.mark.parametrize("out, exc, pattern", [
    (np.full(4, SENTINEL, np.uint8), ValueError, r"out.*\(4,\).*\(3,\)"),
    (np.full(3, SENTINEL, np.uint16), ValueError, r"out.*uint16.*uint8"),
    (np.full((3, 1), SENTINEL, np.uint8), ValueError, r"out.*\(3, 1\)"),
    (np.full(3, 0x25, np.int8), ValueError, r"out.*int8"),
])
def test_encode_bad_out(out, exc, pattern):
    before = out.copy()
    with pytest.raises(exc, match=pattern):
        numfmt.encode(_x(), "e4m3", out=out)
    assert np.array_equal(out, before)


def test_encode_out_not_array_or_read_only():
    with pytest.raises(TypeError, match=r"out.*list"):
        numfmt.encode(_x(), "e4m3", out=[0, 0, 0])
    ro = np.full(3, SENTINEL, np.uint8)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match=r"out.*read-only"):
        numfmt.encode(_x(), "e4m3", out=ro)
    assert (ro == SENTINEL).all()


def test_quantize_bad_out():
    out = np.full(3, np.pi, np.float16)
    with pytest.raises(ValueError, match=r"out.*float16"):
        numfmt.quantize(_x(), "e4m3", out=out)
    assert (out == np.float16(np.pi)).all()


DECODE_CASES = [
    ("code too big", lambda out: numfmt.decode(np.array([0, 0x1F, 1]), "e2m1", out=out), ValueError,
     r"0x1f.*float4_e2m1fn"),
    ("negative code", lambda out: numfmt.decode(np.array([0, -1, 1]), "e2m1", out=out), ValueError, r"-0x1"),
    ("float codes", lambda out: numfmt.decode(np.array([0.0, 1.0, 2.0]), "e2m1", out=out), TypeError,
     r"codes.*float64"),
    ("string codes", lambda out: numfmt.decode("012", "e2m1", out=out), TypeError, r"codes"),
    ("symmetric int code", lambda out: numfmt.decode(np.array([0, 0x80, 1]), "int8_symmetric", out=out),
     ValueError, r"0x80.*int8_symmetric"),
    ("unknown format", lambda out: numfmt.decode(np.array([0, 1, 2]), "e9m9", out=out), ValueError, r"'e9m9'"),
    ("bad dtype", lambda out: numfmt.decode(np.array([0, 1, 2]), "e2m1", dtype=np.int32, out=out), TypeError,
     r"dtype.*int32"),
    ("inexact dtype", lambda out: numfmt.decode(np.array([0, 1, 2]), "bfloat16", dtype=np.float16, out=out),
     ValueError, r"float16.*bfloat16"),
]


@pytest.mark.parametrize("call, exc, pattern", [c[1:] for c in DECODE_CASES], ids=[c[0] for c in DECODE_CASES])
def test_decode_bad_input(call, exc, pattern):
    out = np.full(3, np.pi, np.float32)
    with pytest.raises(exc) as e:
        call(out)
    assert re.search(pattern, str(e.value)), str(e.value)
    assert (out == np.float32(np.pi)).all()


@pytest.mark.parametrize("out, exc, pattern", [
    (np.full(2, np.pi, np.float32), ValueError, r"out.*\(2,\)"),
    (np.full(3, np.pi, np.float16), ValueError, r"float16"),
])
def test_decode_bad_out(out, exc, pattern):
    before = out.copy()
    with pytest.raises(exc, match=pattern):
        numfmt.decode(np.array([0, 1, 2]), "bfloat16", out=out)
    assert np.array_equal(out, before)


def test_good_input_still_works_after_errors():
    """Sanity: the same calls with the offending part removed succeed and fill out=."""
    out = np.full(3, SENTINEL, np.uint8)
    numfmt.encode(_x(), "e4m3", out=out)
    assert out.tolist() == [0x38, 0x40, 0x44]
    out = np.full(3, SENTINEL, np.uint8)
    numfmt.encode(np.array([1.0, np.nan, 9.0]), "e2m1", nan="zero", out=out)
    assert out.tolist() == [0x2, 0x0, 0x7]


def test_seed_below_2_64_is_its_own_stream():
    """2**64 - 1 is the largest seed; 2**64 + 5 was silently the stream of 5."""
    x = np.linspace(-3, 3, 64, dtype=np.float32)
    top = numfmt.encode(x, "e4m3", rounding="stochastic", random=2**64 - 1)
    assert top.shape == x.shape
    with pytest.raises(ValueError, match="random seed"):
        numfmt.quantize(x, "e4m3", rounding="stochastic", random=2**64)


@pytest.mark.parametrize("call", [
    lambda: numfmt.add(np.float32([1.0]), np.float32([2.0]), "e4m3", rbits=4),
    lambda: numfmt.encode(np.zeros(32, np.float32), "mxfp4", rbits=4),
    lambda: numfmt.explain(1.0, "e4m3", rbits=4),
])
def test_rbits_with_deterministic_mode_everywhere(call):
    with pytest.raises(ValueError, match="rbits"):
        call()
