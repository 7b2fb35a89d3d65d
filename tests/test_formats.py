"""Formats: finfo-style properties, the registry, and FloatFormat/IntFormat validation."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from strategies_internal import float_formats, int_formats

import numfmt
import numfmt.reference as ref
from numfmt.formats import FloatFormat, IntFormat

ML_DTYPES_FLOATS = [
    "float8_e4m3fn", "float8_e4m3fnuz", "float8_e4m3b11fnuz", "float8_e5m2", "float8_e5m2fnuz",
    "float8_e3m4", "float8_e4m3", "float8_e8m0fnu", "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn",
    "bfloat16",
]
ML_DTYPES_INTS = ["int2", "int4", "uint2", "uint4"]
FLOAT_PRESETS = [n for n in numfmt.list_formats() if isinstance(numfmt.get_format(n), FloatFormat)]


# ------------------------------------------------------------------ finfo identities
@pytest.mark.parametrize("name", FLOAT_PRESETS)
def test_finfo_identities(name):
    f = numfmt.get_format(name)
    m = f.mantissa_bits
    assert f.bits == f.exponent_bits + m + int(f.signed)
    assert (f.nmant, f.nexp, f.precision) == (m, f.exponent_bits, m + 1)
    assert f.eps == 2.0**-m and f.machep == -m
    assert f.smallest_normal == f.tiny == 2.0**f.emin and f.minexp == f.emin
    assert f.maxexp == f.emax + 1
    assert Fraction(2) ** f.emax <= Fraction(f.max) < Fraction(2) ** (f.emax + 1)
    assert Fraction(f.max) == ref.max_value(f)
    assert f.min == (-f.max if f.signed else float(ref.decode(0, f)))
    sub = ref.decode(1, f) if f.has_zero and f.subnormals else ref.decode(1 << m if f.has_zero else 0, f)
    assert Fraction(f.smallest_subnormal) == sub
    assert f.code_dtype == np.dtype(f"uint{max(8, 1 << math.ceil(math.log2(f.bits)))}")
    if f.bits <= 12 or name == "binary16":  # values() builds Fractions: keep 16-bit cases few
        codes = np.arange(1 << f.bits)
        dec = numfmt.decode(codes, f, dtype=np.float64)
        np.testing.assert_array_equal(f.values(), dec)
        fin = f.values()[np.isfinite(f.values())]
        assert fin.max() == f.max and fin.min() == f.min
        assert fin[fin > 0].min() == f.smallest_subnormal


@pytest.mark.parametrize("name", ML_DTYPES_FLOATS)
def test_finfo_matches_ml_dtypes(name):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    fi = ml_dtypes.finfo(getattr(ml_dtypes, name))
    f = numfmt.get_format(name)
    for attr in ("bits", "eps", "max", "min", "smallest_normal", "smallest_subnormal", "tiny",
                 "nmant", "nexp", "maxexp", "minexp", "machep"):
        assert float(getattr(f, attr)) == float(getattr(fi, attr)), attr
    assert f.code_dtype.itemsize == np.dtype(getattr(ml_dtypes, name)).itemsize


@pytest.mark.parametrize("name, dtype", [("binary16", np.float16), ("binary32", np.float32),
                                         ("binary64", np.float64)])
def test_finfo_matches_numpy(name, dtype):
    fi = np.finfo(dtype)
    f = numfmt.get_format(name)
    for attr in ("bits", "eps", "epsneg", "max", "min", "smallest_normal", "smallest_subnormal", "tiny",
                 "nmant", "nexp", "maxexp", "minexp", "machep"):
        assert float(getattr(f, attr)) == float(getattr(fi, attr)), attr


def test_finfo_epsneg_resolution():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    for name in ("float6_e2m3fn", "float4_e2m1fn"):
        assert numfmt.get_format(name).epsneg == float(ml_dtypes.finfo(getattr(ml_dtypes, name)).epsneg)
    assert np.float32(numfmt.get_format("binary32").decimal_resolution) == np.finfo(np.float32).resolution


@given(f=float_formats())
def test_random_format_properties(f):
    assert Fraction(f.max) == ref.max_value(f)
    assert f.smallest_normal == 2.0**f.emin
    for c in range(min(1 << f.bits, 64)):
        v, r = f.exact_value(c), ref.decode(c, f)
        if isinstance(r, float) and math.isnan(r):
            assert f.is_nan_code(c) and math.isnan(v)
        else:
            assert not f.is_nan_code(c) and v == r


@given(f=int_formats())
def test_int_format_properties(f):
    assert Fraction(f.max) == ref.max_value(f)
    assert f.min == (-(f.max_int + (0 if f.symmetric else 1)) * 2.0**f.scale_exp if f.signed else 0.0)
    assert f.smallest_subnormal == f.eps == 2.0**f.scale_exp
    assert f.to_int(0) == 0 and f.to_int((1 << f.bits) - 1) == (-1 if f.signed else (1 << f.bits) - 1)


# ------------------------------------------------------------------ registry
@pytest.mark.parametrize("name", ML_DTYPES_FLOATS + ML_DTYPES_INTS)
def test_every_ml_dtypes_name(name):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    f = numfmt.get_format(name)
    assert f.name == name and name in numfmt.list_formats()
    dt = np.dtype(getattr(ml_dtypes, name))
    if name in ML_DTYPES_INTS:
        ii = ml_dtypes.iinfo(dt)
        assert (f.bits, f.min, f.max) == (ii.bits, ii.min, ii.max)
    else:
        assert f.bits == ml_dtypes.finfo(dt).bits


@pytest.mark.parametrize("alias, canonical", [
    ("binary16", "binary16"), ("binary32", "binary32"), ("binary64", "binary64"),
    ("e4m3", "float8_e4m3fn"), ("e5m2", "float8_e5m2"), ("e3m2", "float6_e3m2fn"),
    ("e2m3", "float6_e2m3fn"), ("e2m1", "float4_e2m1fn"), ("fp4", "float4_e2m1fn"),
    ("e8m0", "float8_e8m0fnu"), ("ue8m0", "float8_e8m0fnu"), ("ue4m3", "ue4m3"),
    ("fp16", "binary16"), ("half", "binary16"), ("bf16", "bfloat16"), ("tf32", "tf32"),
    ("fp32", "binary32"), ("int8", "int8"), ("uint8", "uint8"), ("E4M3", "float8_e4m3fn"),
    (" bf16 ", "bfloat16"),
])
def test_aliases(alias, canonical):
    assert numfmt.get_format(alias).name == canonical
    assert canonical in numfmt.list_formats()


def test_alias_formats_are_right():
    tf32 = numfmt.get_format("tf32")
    assert (tf32.exponent_bits, tf32.mantissa_bits, tf32.bits) == (8, 10, 19)
    ue4m3 = numfmt.get_format("ue4m3")
    assert not ue4m3.signed and ue4m3.bits == 7 and ue4m3.max == 448.0
    assert numfmt.get_format("int8").min == -128 and numfmt.get_format("uint8").max == 255


@pytest.mark.parametrize("k, p, signed, extended", [
    (8, 3, True, True), (8, 4, True, False), (8, 1, False, False), (4, 2, True, False),
    (8, 8, False, True), (12, 5, True, True), (16, 8, False, False), (3, 1, True, False),
    (16, 11, True, True), (2, 1, True, False),
])
def test_p3109_names(k, p, signed, extended):
    name = f"binary{k}p{p}{'s' if signed else 'u'}{'e' if extended else 'f'}"
    f = numfmt.get_format(name)
    assert f.name == name and f.bits == k and f.precision == p and f.signed == signed
    assert f.bias == (2 ** (k - p - 1) if signed else 2 ** (k - p))
    # Annex B table 3: 1.0 at the midpoint code, NaN and infinities at fixed codes
    assert ref.decode(2 ** (k - 2) if signed else 2 ** (k - 1), f) == 1
    assert int(numfmt.encode(1.0, f)) == (2 ** (k - 2) if signed else 2 ** (k - 1))
    assert f.code_of_nan == (2 ** (k - 1) if signed else 2**k - 1)
    assert f.code_of_inf == ((2 ** (k - 1) - 1 if signed else 2**k - 2) if extended else None)
    assert f.code_of_neginf == (2**k - 1 if signed and extended else None)
    assert not f.negative_zero and numfmt.get_format(name.upper()) == f
    assert f == numfmt.p3109_format(k, p, signed=signed, extended=extended)


@pytest.mark.parametrize("bad, suggestion", [
    ("float8_e4m3f", "float8_e4m3fn"), ("bfloat61", "bfloat16"), ("e4m4", "e4m3"), ("binray16", "binary16"),
])
def test_unknown_name_suggests(bad, suggestion):
    with pytest.raises(ValueError, match="unknown format") as e:
        numfmt.get_format(bad)
    assert repr(bad) in str(e.value) and repr(suggestion) in str(e.value)


@pytest.mark.parametrize("bad", ["binary8p9se", "binary8p0sf", "binary8p8se", "binary40p2se"])
def test_impossible_p3109(bad):
    with pytest.raises(ValueError, match=r"\bp\b|k=|width|exponent"):
        numfmt.get_format(bad)


def test_get_format_types():
    f = numfmt.get_format("e4m3")
    assert numfmt.get_format(f) is f
    with pytest.raises(TypeError, match="3"):
        numfmt.get_format(3)
    # every public function takes a name where it takes a format
    assert int(numfmt.encode(1.0, "e4m3")) == int(numfmt.encode(1.0, f)) == 0x38
    assert float(numfmt.decode(0x38, "e4m3")) == 1.0


def test_list_formats():
    names = numfmt.list_formats()
    assert len(names) == len(set(names))
    for n in names:
        assert numfmt.get_format(n).name == n
    for alias in ("e4m3", "fp16", "bf16", "fp4", "half"):
        assert alias not in names
    for n in ML_DTYPES_FLOATS + ML_DTYPES_INTS + ["binary16", "binary32", "binary64", "binary8p3se",
                                                  "binary8p4sf", "binary8p1uf", "binary4p2sf"]:
        assert n in names


def test_register_format():
    f = FloatFormat(name="test_formats_e2m2", exponent_bits=2, mantissa_bits=2, bias=1,
                    inf="none", nan="none", overflow_nan=False)
    numfmt.register_format(f, aliases=("test_formats_alias",))
    assert numfmt.get_format("test_formats_alias") is f and "test_formats_e2m2" in numfmt.list_formats()
    with pytest.raises(ValueError, match="test_formats_e2m2"):
        numfmt.register_format(f)
    with pytest.raises(ValueError, match="e4m3"):
        numfmt.register_format(FloatFormat(name="x_e4m3_dup", exponent_bits=4, mantissa_bits=3, bias=7),
                               aliases=("e4m3",))
    with pytest.raises(TypeError, match="str"):
        numfmt.register_format("e4m3")


# ------------------------------------------------------------------ validation
def _ff(**kw):
    base = dict(name="t", exponent_bits=4, mantissa_bits=3, bias=7)
    base.update(kw)
    return FloatFormat(**base)


@pytest.mark.parametrize("kw, match", [
    (dict(exponent_bits=0), "exponent_bits"),
    (dict(mantissa_bits=-1), "mantissa_bits"),
    (dict(exponent_bits=8, mantissa_bits=24), "33"),
    (dict(exponent_bits=1, mantissa_bits=0, signed=False, nan="none", inf="none"), "width"),
    (dict(exponent_bits=12, mantissa_bits=3), "exponent_bits"),
    (dict(exponent_bits=11, mantissa_bits=52, bias=1000), "binary64"),
    (dict(inf="both"), "inf"),
    (dict(nan="quiet"), "nan"),
    (dict(inf="ieee", nan="fn"), "nan"),
    (dict(inf="none", nan="ieee"), "ieee"),
    (dict(exponent_bits=5, mantissa_bits=0, nan="ieee"), "mantissa_bits"),
    (dict(inf="none", nan="fnuz"), "negative_zero"),
    (dict(inf="none", nan="fnuz", signed=False, negative_zero=False), "signed"),
    (dict(inf="none", nan="p3109"), "negative_zero"),
    (dict(inf="p3109", nan="fn"), "p3109"),
    (dict(signed=False), "negative_zero"),
    (dict(has_zero=False, inf="none", nan="fn", negative_zero=False), "subnormals|zero"),
    (dict(name=""), "name"),
])
def test_float_format_value_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        _ff(**kw)


@pytest.mark.parametrize("kw, match", [
    (dict(exponent_bits=True), "exponent_bits"), (dict(bias=1.5), "bias"), (dict(mantissa_bits="3"), "mantissa"),
])
def test_float_format_type_errors(kw, match):
    with pytest.raises(TypeError, match=match):
        _ff(**kw)


def test_float_format_without_finite_values():
    # unsigned E1M1 flushing subnormals: codes 0 (zero), 1 (a subnormal code, flushed), 2 (+inf),
    # 3 (NaN) -- the special codes swallow every nonzero finite value, so the format is refused
    with pytest.raises(ValueError, match="finite"):
        FloatFormat(name="t", exponent_bits=1, mantissa_bits=1, bias=0, signed=False, inf="p3109",
                    nan="p3109", negative_zero=False, subnormals=False)


@pytest.mark.parametrize("kw, exc, match", [
    (dict(bits=0), ValueError, "bits"), (dict(bits=33), ValueError, "bits"),
    (dict(bits=8, signed=False, symmetric=True), ValueError, "symmetric"),
    (dict(bits=True), TypeError, "bits"), (dict(bits=8, scale_exp=1.0), TypeError, "scale_exp"),
    (dict(bits=8, scale_exp=10_000), ValueError, "scale_exp"),
])
def test_int_format_errors(kw, exc, match):
    with pytest.raises(exc, match=match):
        IntFormat(name="t", **kw)


@pytest.mark.parametrize("args, kw, exc", [
    ((8, 8), {}, ValueError), ((8, 0), {}, ValueError), ((1, 1), {}, ValueError),
    ((8, 9), dict(signed=False), ValueError), ((8.0, 3), {}, TypeError), ((40, 30), {}, ValueError),
])
def test_p3109_format_errors(args, kw, exc):
    with pytest.raises(exc):
        numfmt.p3109_format(*args, **kw)


def test_formats_are_immutable_and_hashable():
    f = numfmt.get_format("e4m3")
    with pytest.raises(AttributeError):
        f.bias = 8
    assert hash(f) == hash(_ff(name="float8_e4m3fn", inf="none", nan="fn"))
    assert {f: 1}[numfmt.get_format("float8_e4m3fn")] == 1
