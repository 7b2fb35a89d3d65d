"""torch and ml_dtypes bridges (numfmt.interop): zero copies where claimed, bits identical to the numpy path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import numfmt
from numfmt import interop

RNG = np.random.default_rng(20261129)
X = (RNG.standard_normal(4096) * 4.0 ** RNG.integers(-4, 4, 4096)).astype(np.float32)

# ------------------------------------------------------------------ shared: counter-based bits


@given(st.integers(0, 2**63 - 1), st.integers(0, 2**40), st.integers(1, 32))
def test_counter_bits_equal_the_kernel_generator(key, index, nbits):
    from numfmt._kernels.streams import random_bits

    got = interop.counter_bits(key, np.array([index], np.uint64), nbits)[0]
    assert int(got) == int(random_bits(key, index, nbits))


def test_global_index_is_c_order():
    shape = (4, 5, 6)
    full = np.arange(np.prod(shape)).reshape(shape)
    loc = [(1, 3), (2, 5), (0, 4)]
    got = interop.global_index(loc, shape)
    assert got.dtype == np.uint64
    np.testing.assert_array_equal(got, full[1:3, 2:5, 0:4])
    assert interop.global_index([], ()).shape == ()


def test_chunk_bits_reproduce_seeded_sr():
    """Passing the bits of each element's global index == the seeded whole-array encode."""
    x = X.reshape(64, 64)
    ref = numfmt.encode(x, "e4m3", rounding="stochastic", random=11, rbits=9)
    key, nbits = interop.seed_spec(11, 9, "stochastic")
    out = np.empty_like(ref)
    for r0, r1, c0, c1 in ((0, 10, 0, 64), (10, 64, 0, 7), (10, 64, 7, 64)):
        bits = interop.counter_bits(key, interop.global_index([(r0, r1), (c0, c1)], x.shape), nbits)
        out[r0:r1, c0:c1] = numfmt.encode(x[r0:r1, c0:c1], "e4m3", rounding="stochastic", random=bits, rbits=9)
    np.testing.assert_array_equal(out, ref)


def test_dask_arrays_give_lazy_results():
    da = pytest.importorskip("dask.array")
    lazy = numfmt.encode(da.from_array(X, chunks=1000), "e4m3")
    assert type(lazy).__module__.startswith("dask.")
    np.testing.assert_array_equal(lazy.compute(), numfmt.encode(X, "e4m3"))


# ------------------------------------------------------------------ torch

torch_names = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu", "bfloat16"]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_torch_float_tensors_zero_copy_and_identical(torch, dtype):
    t = torch.from_numpy(X.astype(dtype))
    assert np.shares_memory(interop.as_numpy(t), t.numpy())
    for fmt, kw in (("e4m3", {"saturation": "finite"}), ("e2m1", {}), ("binary8p3se", {"rounding": "sr",
                                                                                        "random": 3})):
        np.testing.assert_array_equal(numfmt.encode(t, fmt, **kw), numfmt.encode(t.numpy(), fmt, **kw))
        q = numfmt.quantize(t, fmt, **kw)
        assert isinstance(q, np.ndarray)
        np.testing.assert_array_equal(q, numfmt.quantize(t.numpy(), fmt, **kw))


def test_torch_requires_grad_and_views(torch):
    base = torch.from_numpy(X.reshape(64, 64).copy()).requires_grad_(True)
    t = base.t()[3:40:2]  # a strided view
    a = interop.as_numpy(t)
    assert np.shares_memory(a, base.detach().numpy())
    np.testing.assert_array_equal(numfmt.encode(t, "e5m2"), numfmt.encode(t.detach().numpy(), "e5m2"))


def test_torch_integer_tensors(torch):
    t = torch.arange(-20, 20, dtype=torch.int32)
    assert np.shares_memory(interop.as_numpy(t), t.numpy())
    np.testing.assert_array_equal(numfmt.encode(t, "int4", saturation="finite"),
                                  numfmt.encode(t.numpy(), "int4", saturation="finite"))


@pytest.mark.parametrize("name", torch_names)
def test_torch_low_precision_read_by_bits(torch, name):
    """A float8/bfloat16 tensor's values are its codes: encode gives them back, decode reads them."""
    tdt = getattr(torch, name)
    src = torch.from_numpy(X).to(tdt)
    bits = src.view(torch.uint8 if src.element_size() == 1 else torch.int16).numpy().view(
        np.uint8 if src.element_size() == 1 else np.uint16)
    fmt = interop.torch_format(tdt)
    assert fmt == name
    # decode reads the bits without a copy
    assert np.shares_memory(interop.as_codes(src), bits)
    vals = numfmt.decode(src, fmt)
    np.testing.assert_array_equal(vals, src.float().numpy())
    # encode: exact values in, same codes out (NaN codes compared by class)
    nan_free = ~np.isnan(vals)
    np.testing.assert_array_equal(numfmt.encode(src, fmt)[nan_free], bits[nan_free])
    np.testing.assert_array_equal(numfmt.quantize(src, fmt), vals)


def test_torch_float4_x2_nibbles(torch):
    packed = np.array([[0x21, 0xF7], [0x00, 0x9A]], np.uint8)
    t = torch.from_numpy(packed).view(torch.float4_e2m1fn_x2)
    codes = interop.as_codes(t)
    assert codes.shape == (2, 4)
    assert codes.tolist() == [[1, 2, 7, 15], [0, 0, 10, 9]]
    np.testing.assert_array_equal(numfmt.encode(t, "e2m1"), codes)
    assert numfmt.decode(t, "e2m1").tolist() == [[0.5, 1.0, 6.0, -6.0], [0.0, 0.0, -1.0, -0.5]]
    back = numfmt.to_torch(codes, "e2m1")
    assert back.dtype == torch.float4_e2m1fn_x2
    np.testing.assert_array_equal(back.view(torch.uint8).numpy(), packed)


@pytest.mark.parametrize("fmt,tname", [
    ("float8_e4m3fn", "float8_e4m3fn"), ("e5m2", "float8_e5m2"), ("e4m3fnuz", "float8_e4m3fnuz"),
    ("e5m2fnuz", "float8_e5m2fnuz"), ("e8m0", "float8_e8m0fnu"), ("bf16", "bfloat16"),
    ("binary16", "float16"), ("binary32", "float32"), ("int8", "int8"), ("uint16", "uint16"),
])
def test_to_torch_views_codes(torch, fmt, tname):
    f = numfmt.get_format(fmt)
    src = np.abs(X[:256]) if not f.signed or isinstance(f, numfmt.IntFormat) else X[:256]
    if isinstance(f, numfmt.IntFormat):
        src = np.round(src).astype(np.int64)
    codes = numfmt.encode(src, f, **({"saturation": "finite"} if fmt != "e8m0" else {}))
    t = numfmt.to_torch(codes, fmt)
    assert t.dtype == getattr(torch, tname)
    raw = t.view(getattr(torch, {1: "uint8", 2: "int16", 4: "int32"}[t.element_size()])).numpy()
    assert np.shares_memory(raw, codes)
    np.testing.assert_array_equal(t.double().numpy(), numfmt.decode(codes, f).astype(np.float64))


def test_to_torch_errors(torch):
    with pytest.raises(ValueError, match="no matching torch dtype"):
        numfmt.to_torch(np.zeros(2, np.uint8), "float6_e3m2fn")
    with pytest.raises(ValueError, match="no matching torch dtype"):
        numfmt.to_torch(np.zeros(2, np.uint8), "binary8p3se")
    with pytest.raises(ValueError, match="pairs"):
        numfmt.to_torch(np.zeros(3, np.uint8), "e2m1")
    with pytest.raises(ValueError, match="outside"):
        numfmt.to_torch(np.array([300]), "e4m3")


def test_to_torch_custom_format_with_same_semantics(torch):
    f = numfmt.FloatFormat(name="my_fp8", exponent_bits=5, mantissa_bits=2, bias=15)
    t = numfmt.to_torch(numfmt.encode([1.5, -2.0], f), f)
    assert t.dtype == torch.float8_e5m2 and t.float().tolist() == [1.5, -2.0]


def test_torch_bad_inputs(torch):
    with pytest.raises(TypeError, match="bool"):
        numfmt.encode(torch.ones(2, dtype=torch.bool), "e4m3")
    with pytest.raises(TypeError, match="complex"):
        numfmt.encode(torch.ones(2, dtype=torch.complex64), "e4m3")


def test_torch_block_formats(torch):
    t = torch.from_numpy(X.reshape(64, 64))
    ba = numfmt.encode(t, "mxfp4")
    ref = numfmt.encode(X.reshape(64, 64), "mxfp4")
    np.testing.assert_array_equal(ba.codes, ref.codes)
    np.testing.assert_array_equal(ba.scales, ref.scales)
    bf = t.to(torch.bfloat16)
    np.testing.assert_array_equal(numfmt.quantize(bf, "nvfp4"), numfmt.quantize(bf.float().numpy(), "nvfp4"))


# ------------------------------------------------------------------ ml_dtypes

ML_FLOATS = interop._ML_FLOATS


@pytest.fixture(scope="module")
def ml_dtypes():
    return pytest.importorskip("ml_dtypes")


@pytest.mark.parametrize("name", ML_FLOATS)
def test_to_ml_dtypes_zero_copy_round_trip(ml_dtypes, name):
    f = numfmt.get_format(name)
    codes = np.arange(1 << f.bits, dtype=f.code_dtype)  # every code
    v = numfmt.to_ml_dtypes(codes, name)
    assert v.dtype == np.dtype(getattr(ml_dtypes, name))
    assert np.shares_memory(v, codes)
    # ml_dtypes' values are numfmt's values, bit for bit
    with np.errstate(invalid="ignore"):  # ml_dtypes warns when casting its NaNs
        np.testing.assert_array_equal(v.astype(np.float64), numfmt.decode(codes, f).astype(np.float64))
    # encode of an ml_dtypes array is exact: codes come back (NaN codes map to the canonical NaN)
    vals = numfmt.decode(codes, f)
    ok = ~np.isnan(vals)
    np.testing.assert_array_equal(numfmt.encode(v, name)[ok], codes[ok])
    # and decode reads an ml_dtypes array by its bits
    assert np.shares_memory(interop.as_codes(v), codes)
    np.testing.assert_array_equal(numfmt.decode(v, name), vals)


@pytest.mark.parametrize("name", ML_FLOATS)
def test_ml_dtypes_inputs_exact_to_other_formats(ml_dtypes, name):
    a = X.astype(getattr(ml_dtypes, name))
    for fmt in ("e4m3", "binary8p4se", "e2m1"):
        kw = {"saturation": "finite", "nan": "zero"} if fmt == "e2m1" else {"saturation": "finite"}
        np.testing.assert_array_equal(numfmt.encode(a, fmt, **kw), numfmt.encode(a.astype(np.float32), fmt, **kw))


@pytest.mark.parametrize("name", ["int2", "int4", "uint2", "uint4"])
def test_ml_dtypes_sub_byte_ints(ml_dtypes, name):
    f = numfmt.get_format(name)
    codes = np.arange(1 << f.bits, dtype=np.uint8)
    v = numfmt.to_ml_dtypes(codes, name)
    assert v.dtype == np.dtype(getattr(ml_dtypes, name)) and np.shares_memory(v, codes)
    np.testing.assert_array_equal(v.astype(np.int64), [f.to_int(int(c)) for c in codes])
    np.testing.assert_array_equal(numfmt.encode(v, name), codes)


def test_to_ml_dtypes_numpy_types_and_errors(ml_dtypes):
    c = numfmt.encode([1.0, -2.5], "binary16")
    v = numfmt.to_ml_dtypes(c, "fp16")
    assert v.dtype == np.float16 and np.shares_memory(v, c) and v.tolist() == [1.0, -2.5]
    with pytest.raises(ValueError, match="no matching ml_dtypes"):
        numfmt.to_ml_dtypes(np.zeros(2, np.uint8), "ue4m3")
    with pytest.raises(ValueError, match="outside"):
        numfmt.to_ml_dtypes(np.array([64]), "e2m3")
    # codes of a wider dtype are converted (a copy), values kept
    w = numfmt.to_ml_dtypes(np.array([0x38, 0xC0], np.int64), "e4m3")
    assert w.astype(np.float32).tolist() == [1.0, -2.0]


def test_ml_dtypes_format_names(ml_dtypes):
    for name in ML_FLOATS:
        assert interop.ml_dtypes_format(getattr(ml_dtypes, name)) == name
    with pytest.raises(ValueError):
        interop.ml_dtypes_format(np.complex64)


def test_decode_float16_when_exact(ml_dtypes):
    c = np.arange(256, dtype=np.uint8)
    v = numfmt.decode(c, "e4m3", dtype=np.float16)
    assert v.dtype == np.float16
    np.testing.assert_array_equal(v.astype(np.float32), numfmt.decode(c, "e4m3"))
    with pytest.raises(ValueError, match="exactly"):
        numfmt.decode(c, "e8m0", dtype=np.float16)  # 2**127 is beyond float16's range
