"""The API conventions of docs/api-conventions.md, one test each."""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import numfmt
from numfmt.block import get_block_format
from numfmt.testing import assert_codes_equal

ROOT = pathlib.Path(numfmt.__file__).parent
H100 = "h100/e4m3"

# verb -> its positional inputs (then fmt when it takes one)
VERBS = {
    numfmt.encode: ("x", "fmt"),
    numfmt.decode: ("codes", "fmt"),
    numfmt.quantize: ("x", "fmt"),
    numfmt.add: ("a", "b", "fmt"),
    numfmt.sub: ("a", "b", "fmt"),
    numfmt.mul: ("a", "b", "fmt"),
    numfmt.div: ("a", "b", "fmt"),
    numfmt.fma: ("a", "b", "c", "fmt"),
    numfmt.sqrt: ("a", "fmt"),
    numfmt.dot: ("a", "b"),
    numfmt.matmul: ("A", "B", "C"),  # C: the deprecated positional addend
}


# ------------------------------------------------------------------ verb(inputs..., fmt, *, options..., out=None)
@pytest.mark.parametrize("verb", list(VERBS), ids=lambda v: v.__name__)
def test_inputs_then_fmt_then_keyword_options(verb):
    params = inspect.signature(verb).parameters
    positional = [n for n, p in params.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert tuple(positional) == VERBS[verb]
    assert all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in params.values())
    # every verb takes out=, its last named keyword
    assert params["out"].kind is params["out"].KEYWORD_ONLY and params["out"].default is None
    assert [n for n, p in params.items() if p.kind is not p.VAR_KEYWORD][-1] == "out"


@pytest.mark.parametrize("call", [
    lambda **kw: numfmt.dot([[1.0, 2.0], [3.0, 4.0]], [1.0, 1.0], model=H100, **kw),
    lambda **kw: numfmt.matmul([[1.0, 2.0], [3.0, 4.0]], [[1.0, 0.5], [1.0, 0.25]], model=H100, **kw),
])
def test_dot_and_matmul_write_into_out(call):
    want = call()
    out = np.full(want.shape, np.nan, want.dtype)
    assert call(out=out) is out
    assert out.tobytes() == want.tobytes()
    wide = np.zeros(want.shape, np.float64)
    assert call(dtype=np.float64, out=wide) is wide and np.array_equal(wide, want)
    bad = np.zeros(want.shape, np.float64)
    with pytest.raises(ValueError, match="dtype"):
        call(out=bad)  # the default result dtype is float32
    assert not bad.any()


@pytest.mark.parametrize("fn", [numfmt.compare, numfmt.compare_block, assert_codes_equal], ids=lambda f: f.__name__)
def test_comparisons_take_actual_and_expected_by_keyword(fn):
    params = inspect.signature(fn).parameters
    assert params["actual"].kind is params["actual"].KEYWORD_ONLY
    assert params["expected"].kind is params["expected"].KEYWORD_ONLY
    assert [p.kind for p in params.values()].count(inspect.Parameter.POSITIONAL_OR_KEYWORD) == 0


# ------------------------------------------------------------------ 0-d results are numpy scalars
@pytest.mark.parametrize("call", [
    lambda: numfmt.encode(1.0, "e4m3"),
    lambda: numfmt.decode(np.uint8(0x38), "e4m3"),
    lambda: numfmt.quantize(0.3, "e4m3"),
    lambda: numfmt.quantize(0.3, "e4m3", dtype=np.float64),
    lambda: numfmt.add(1.0, 2.0, "e4m3"),
    lambda: numfmt.add(1.0, 2.0, "e4m3", dtype=np.float16),
    lambda: numfmt.fma(1.0, 2.0, 3.0, "bf16"),
    lambda: numfmt.sqrt(2.0, "binary64"),
    lambda: numfmt.dot([1.0, 2.0], [1.0, 1.0], model=H100),
    lambda: numfmt.dot([1.0, 2.0], [1.0, 1.0], model=H100, dtype=np.float64),
])
def test_0d_results_are_numpy_scalars(call):
    r = call()
    assert isinstance(r, np.generic) and not isinstance(r, np.ndarray)


def test_dot_scalar_matches_matmul_element():
    a, b = np.array([1.0, 2.0**-7, 3.0]), np.array([1.0, 2.0**-7, 0.5])
    d = numfmt.dot(a, b, c=0.25, model=H100)
    assert d.dtype == np.float32 and d == numfmt.matmul(a[None], b[:, None], c=0.25, model=H100)[0, 0]


# ------------------------------------------------------------------ compare / assert_codes_equal
def test_compare_keywords_and_the_deprecated_positional_order():
    x = [1.0625, 500.0]
    exp = numfmt.encode(x, "e4m3")
    act = np.array([0x39, 0x7E], np.uint8)
    r = numfmt.compare(actual=act, expected=exp, fmt="e4m3", x=x)
    assert r.classes == {"tie": 1, "saturated_vs_overflowed": 1}
    assert r.examples[0].actual == 0x39 and r.examples[0].expected == 0x38
    with pytest.deprecated_call(match="by position"):
        old = numfmt.compare(exp, act, "e4m3", x=x)
    assert str(old) == str(r)  # (== would compare the NaN values of the examples)
    with pytest.raises(TypeError, match="both by position and by keyword"), pytest.deprecated_call():
        numfmt.compare(exp, act, fmt="e4m3", actual=act)
    with pytest.raises(TypeError, match="needs actual="):
        numfmt.compare(expected=exp, fmt="e4m3")


def test_assert_codes_equal_keywords_and_the_deprecated_positional_order():
    assert_codes_equal(actual=[0x38], expected=[0x38], fmt="e4m3")
    with pytest.raises(AssertionError, match="codes differ"):
        assert_codes_equal(actual=[0x39], expected=[0x38], fmt="e4m3", x=[1.0625])
    with pytest.deprecated_call(match="by position"), pytest.raises(AssertionError, match=r"0x39"):
        assert_codes_equal([0x39], [0x38], "e4m3")
    assert_codes_equal(actual=numfmt.encode([500.0], "e4m3", saturation="finite"), x=[500.0], fmt="e4m3",
                       saturation="finite")


def test_compare_takes_encode_keywords_and_policy_is_deprecated():
    x = [1.0, 500.0]
    hw = numfmt.encode(x, "e4m3", saturation="finite")
    r = numfmt.compare(actual=hw, fmt="e4m3", x=x, saturation="finite")
    assert r.ok
    with pytest.deprecated_call(match="policy"):
        assert numfmt.compare(actual=hw, fmt="e4m3", x=x, policy={"saturation": "finite"}) == r
    assert not numfmt.compare(actual=hw, fmt="e4m3", x=x).ok
    with pytest.raises(TypeError, match="only used with expected=None"):
        numfmt.compare(actual=hw, expected=hw, fmt="e4m3", saturation="finite")
    xb = np.linspace(-3, 3, 64, dtype=np.float32)
    sr = numfmt.encode(xb, "mxfp4", rounding="stochastic", random=3)
    assert numfmt.compare_block(actual=sr, x=xb, rounding="stochastic", random=3).ok
    with pytest.deprecated_call(match="policy"):
        assert numfmt.compare_block(actual=sr, x=xb, policy={"rounding": "stochastic", "random": 3}).ok
    with pytest.deprecated_call(match="by position"):
        assert numfmt.compare_block(sr, sr).ok


# ------------------------------------------------------------------ the addend is c=
def test_matmul_addend_keyword_c_and_deprecated_positional():
    A, B, C = np.eye(2), np.array([[1.0, 2.0], [3.0, 4.0]]), np.full((2, 2), 0.5)
    D = numfmt.matmul(A, B, c=C, model="a100/fp16")
    np.testing.assert_array_equal(D, B + 0.5)
    np.testing.assert_array_equal(numfmt.dot(A[:, None, :], B.T[None], c=C, model="a100/fp16"), D)
    with pytest.deprecated_call(match="c="):
        np.testing.assert_array_equal(numfmt.matmul(A, B, C, model="a100/fp16"), D)
    with pytest.raises(TypeError, match="twice"):
        numfmt.matmul(A, B, C, c=C, model="a100/fp16")


# ------------------------------------------------------------------ dtype=
@pytest.mark.parametrize("call, fmt", [
    (lambda dt: numfmt.quantize([0.3, -2.0], "e4m3", dtype=dt), "e4m3"),
    (lambda dt: numfmt.decode([0x38, 0x7E], "e4m3", dtype=dt), "e4m3"),
    (lambda dt: numfmt.add([1.0], [2.0**-5], "e4m3", dtype=dt), "e4m3"),
    (lambda dt: numfmt.sub([1.0], [2.0**-5], "e4m3", dtype=dt), "e4m3"),
    (lambda dt: numfmt.mul([3.0], [7.0], "e4m3", dtype=dt), "e4m3"),
    (lambda dt: numfmt.div([1.0], [3.0], "e4m3", dtype=dt), "e4m3"),
    (lambda dt: numfmt.fma([1.0], [2.0], [3.0], "e4m3", dtype=dt), "e4m3"),
    (lambda dt: numfmt.sqrt([2.0], "e4m3", dtype=dt), "e4m3"),
])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_every_value_verb_takes_dtype(call, fmt, dtype):
    got = call(dtype)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got.astype(np.float64), call(np.float64))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])  # (block values are float32 or float64)
def test_block_quantize_takes_dtype(dtype):
    x = np.linspace(-1, 1, 32)
    assert numfmt.quantize(x, "mxfp4", dtype=dtype).dtype == dtype
    np.testing.assert_array_equal(numfmt.quantize(x, "mxfp4", dtype=dtype), numfmt.quantize(x, "mxfp4"))


@pytest.mark.parametrize("fmt", ["mxfp4", "nvfp4"])
def test_block_dtype_follows_the_element_rule(fmt):
    x = np.linspace(-1, 1, 32, dtype=np.float32)
    with pytest.raises(ValueError, match=f"dtype=float16 cannot hold every value of {fmt} exactly"):
        numfmt.quantize(x, fmt, dtype=np.float16)
    with pytest.raises(ValueError, match="cannot hold every value"):
        numfmt.decode(numfmt.encode(x, fmt), dtype=np.float16)
    with pytest.raises(TypeError, match="dtype must be float16, float32 or float64"):
        numfmt.quantize(x, fmt, dtype=np.int32)


def test_dtype_must_hold_the_format_exactly():
    with pytest.raises(ValueError, match="cannot hold every value"):
        numfmt.quantize([0.3], "binary32", dtype=np.float16)
    with pytest.raises(ValueError, match="cannot hold every value"):
        numfmt.add(1.0, 1.0, "bf16", dtype=np.float16)
    with pytest.raises(TypeError, match="codes=True"):
        numfmt.add(1.0, 1.0, "e4m3", codes=True, dtype=np.float32)
    assert numfmt.matmul(np.eye(2), np.eye(2), model=H100, dtype=np.float64).dtype == np.float64
    out = np.empty(2, np.float16)
    assert numfmt.mul([1.0, 3.0], [2.0, 7.0], "e4m3", dtype=np.float16, out=out) is out
    assert out.tolist() == [2.0, 20.0]


# ------------------------------------------------------------------ unknown values: ValueError, did you mean
@pytest.mark.parametrize("call, match", [
    (lambda: numfmt.encode(1.0, "e4m4"), "unknown format 'e4m4'; did you mean 'e4m3'"),
    (lambda: numfmt.encode(1.0, "e4m3", rounding="nearest"), "did you mean 'nearest_even' or 'nearest_away'"),
    (lambda: numfmt.encode(1.0, "e4m3", saturation="satfinite"), "did you mean 'finite'"),
    (lambda: numfmt.encode(1.0, "e2m1", nan="zeros"), "did you mean 'zero'"),
    (lambda: numfmt.add(1.0, 1.0, "e4m3", rounding="toward_zer"), "did you mean 'toward_zero'"),
    (lambda: numfmt.get_format("nvfp4"), "that is a block format: use numfmt.block.get_block_format"),
    (lambda: numfmt.get_format("mxfp8"), "that is a block format"),
    (lambda: get_block_format("mxfp5"), "unknown block format 'mxfp5'; did you mean .*'mxfp4'"),
    (lambda: numfmt.encode([1.0], "mxfp4", scale_rule="flor"), "did you mean 'floor'"),
    (lambda: numfmt.dot([1.0], [1.0], model="no_such_gpu_e4m3"), "is not a preset name"),
    (lambda: numfmt.dot([1.0], [1.0], model="h100_e4m3"), "did you mean 'h100/e4m3'"),
    (lambda: numfmt.accumulation_model("h10", "e4m3"), "did you mean 'h100'"),
    (lambda: numfmt.accumulation_model("h100", "e4m2"), "did you mean .*'e4m3'"),
    (lambda: numfmt.compare(actual=[1], expected=[1], fmt="e4m3x"), "did you mean"),
    (lambda: numfmt.encode(np.ones(32), "nvfp5"), "did you mean 'nvfp4'"),
    (lambda: numfmt.encode(1.0, "e4m3", compat="mldtypes"), "did you mean 'ml_dtypes'"),
    (lambda: numfmt.emulate([1.0], "e4m3", model="fmma"), "did you mean 'fma'"),
    (lambda: numfmt.emulate([1.0], "e4m3", model="sequental"), "did you mean 'sequential'"),
    (lambda: numfmt.emulate([1.0], "e4m3", model="h100_e4m3"), "did you mean 'h100/e4m3'"),
    (lambda: numfmt.pack([1], 4, order="low"), "did you mean 'low_first'"),
    (lambda: numfmt.unpack(np.zeros(1, np.uint8), 4, 2, order="hi_first"), "did you mean 'high_first'"),
])
def test_unknown_values_are_value_errors_with_a_suggestion(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call", [
    lambda: numfmt.encode(1.0, 8),
    lambda: numfmt.encode(1.0, "e4m3", rounding=1),
    lambda: numfmt.encode(1.0, "e4m3", saturation=None),
    lambda: numfmt.dot([1.0], [1.0], model=3.5),
])
def test_values_of_the_wrong_type_are_type_errors(call):
    with pytest.raises(TypeError):
        call()


@pytest.mark.parametrize("argv, match", [
    (["formats", "--kind", "flot"], "did you mean 'float'"),
    (["encode", "e4m3", "1.0", "--rounding", "nearest"], "did you mean 'nearest_even' or 'nearest_away'"),
    (["info", "e4m4"], "did you mean 'e4m3'"),
])
def test_the_cli_reports_the_same_suggestions(argv, match, capsys):
    from numfmt.cli import main

    try:
        status = main(argv)
    except SystemExit as e:
        status = e.code
    assert status != 0
    assert re.search(match, capsys.readouterr().err)


def test_one_did_you_mean_mechanism():
    """Only numfmt/choices.py builds suggestions (difflib)."""
    users = []
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n.split(".")[0] == "difflib" for n in names):
                users.append(path.relative_to(ROOT).as_posix())
    assert users == ["choices.py"]


# ------------------------------------------------------------------ significand_bits, precision, resolution
@pytest.mark.parametrize("name", ["e4m3", "e5m2", "bf16", "binary16", "binary32", "binary8p3se", "e8m0"])
def test_significand_bits_and_precision(name):
    f = numfmt.get_format(name)
    assert f.significand_bits == f.precision == f.mantissa_bits + 1


def test_decimal_resolution_and_the_deprecated_resolution():
    f = numfmt.get_format("binary32")
    assert np.float32(f.decimal_resolution) == np.finfo(np.float32).resolution
    with pytest.deprecated_call(match="decimal_resolution"):
        assert f.resolution == f.decimal_resolution


# ------------------------------------------------------------------ dask arrays: lazy results
def test_dask_arrays_give_lazy_dask_results():
    da = pytest.importorskip("dask.array")
    xn = np.linspace(-3, 3, 64, dtype=np.float32).reshape(8, 8)
    x = da.from_array(xn, chunks=4)
    for verb in (numfmt.encode, numfmt.quantize):
        got = verb(x, "e4m3", rounding="stochastic", random=5)
        assert isinstance(got, da.Array)
        np.testing.assert_array_equal(got.compute(), verb(xn, "e4m3", rounding="stochastic", random=5))
    codes = numfmt.encode(x, "e4m3")
    vals = numfmt.decode(codes, "e4m3", dtype=np.float64)
    assert isinstance(vals, da.Array) and vals.dtype == np.float64
    np.testing.assert_array_equal(vals.compute(), numfmt.decode(numfmt.encode(xn, "e4m3"), "e4m3"))
    q = numfmt.quantize(x, "e4m3", dtype=np.float16)
    assert isinstance(q, da.Array) and q.compute().dtype == np.float16
    with pytest.raises(TypeError, match="lazy"):
        numfmt.encode(x, "e4m3", out=np.empty((8, 8), np.uint8))


def test_dask_arrays_in_arithmetic_give_lazy_dask_results():
    da = pytest.importorskip("dask.array")
    xn = np.linspace(-3, 3, 12).reshape(3, 4)
    x = da.from_array(xn, chunks=2)
    for call in (lambda a, b: numfmt.add(a, 1.0, "e4m3"),
                 lambda a, b: numfmt.mul(a, b, "bf16", rounding="toward_zero", dtype=np.float64),
                 lambda a, b: numfmt.fma(a, b[0], 0.5, "e5m2", codes=True),
                 lambda a, b: numfmt.sqrt(a=a, fmt="e4m3")):
        got = call(x, x)
        assert isinstance(got, da.Array)
        np.testing.assert_array_equal(got.compute(), call(xn, xn))
    with pytest.raises(TypeError, match="random="):
        numfmt.add(x, x, "e4m3", rounding="stochastic", random=1)


def test_numpy_inputs_do_not_import_dask():
    code = ("import sys, numfmt; numfmt.encode([1.0], 'e4m3'); numfmt.decode([56], 'e4m3'); "
            "numfmt.quantize([1.0], 'e4m3'); numfmt.add([1.0], 2.0, 'e4m3'); "
            "assert 'dask' not in sys.modules, 'dask imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT.parent)


# ------------------------------------------------------------------ torch and ml_dtypes dtypes as formats
def test_ml_dtypes_dtypes_are_formats():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    x = [1.0, -0.3, 300.0]
    want = numfmt.encode(x, "e4m3")
    for fmt in (ml_dtypes.float8_e4m3fn, np.dtype(ml_dtypes.float8_e4m3fn)):
        np.testing.assert_array_equal(numfmt.encode(x, fmt), want)
        assert numfmt.get_format(fmt) is numfmt.get_format("e4m3")
    assert numfmt.get_format(np.float16).name == "binary16"
    assert numfmt.get_format(ml_dtypes.int4).name == "int4"
    with pytest.raises(ValueError, match="has no numfmt format"):
        numfmt.get_format(np.complex64)


def test_torch_dtypes_are_formats():
    torch = pytest.importorskip("torch")
    x = [1.0, -0.3, 300.0]
    np.testing.assert_array_equal(numfmt.encode(x, torch.float8_e4m3fn), numfmt.encode(x, "e4m3"))
    np.testing.assert_array_equal(numfmt.quantize(x, torch.bfloat16), numfmt.quantize(x, "bf16"))
    assert numfmt.get_format(torch.float8_e5m2fnuz).name == "float8_e5m2fnuz"
    assert numfmt.get_format(torch.float4_e2m1fn_x2).name == "float4_e2m1fn"


def test_decode_infers_the_format_of_torch_float8_tensors():
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0, 448.0, -0.75]).to(torch.float8_e4m3fn)
    assert numfmt.decode(t).tolist() == [1.0, 448.0, -0.75]
    assert numfmt.decode(t, "e4m3").tolist() == [1.0, 448.0, -0.75]
    assert numfmt.decode(t, torch.float8_e4m3fn).tolist() == [1.0, 448.0, -0.75]
    with pytest.raises(ValueError, match="hold float8_e4m3fn codes, not float8_e5m2"):
        numfmt.decode(t, "e5m2")
    bits = t.view(torch.uint8)  # integer codes say nothing about their format
    np.testing.assert_array_equal(numfmt.decode(bits, "e5m2"), numfmt.decode(bits.numpy(), "e5m2"))


def test_decode_infers_the_format_of_ml_dtypes_arrays():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    a = np.array([1.0, -2.0, 57344.0], ml_dtypes.float8_e5m2)
    assert numfmt.decode(a).tolist() == [1.0, -2.0, 57344.0]
    with pytest.raises(ValueError, match="not float8_e4m3fn"):
        numfmt.decode(a, "e4m3")


# ------------------------------------------------------------------ block formats: fixed keywords, BlockArray
@pytest.mark.parametrize("kw", [dict(out=np.empty(32, np.uint8)), dict(threads=2), dict(compat="torch"),
                                dict(saturation="finite"), dict(nan="zero")])
@pytest.mark.parametrize("verb", [numfmt.encode, numfmt.quantize])
def test_block_formats_refuse_the_element_keywords(verb, kw):
    with pytest.raises(TypeError, match=rf"keyword\(s\) \['{next(iter(kw))}'\] are not supported with a block format"):
        verb(np.ones(32), "mxfp4", **kw)


@pytest.mark.parametrize("kw", [dict(compat="torch"), dict(saturation="finite"), dict(nan="zero")])
@pytest.mark.parametrize("verb", [numfmt.encode, numfmt.quantize])
def test_block_formats_refuse_the_element_keywords_for_dask_arrays(verb, kw):
    da = pytest.importorskip("dask.array")
    with pytest.raises(TypeError, match="are not supported with a block format"):
        verb(da.ones(32, chunks=32), "mxfp4", **kw)


def test_decode_of_a_block_array_takes_its_own_format_only():
    ba = numfmt.encode(np.linspace(-3, 3, 32), "mxfp4")
    want = numfmt.decode(ba)
    np.testing.assert_array_equal(numfmt.decode(ba, "mxfp4"), want)
    np.testing.assert_array_equal(numfmt.decode(ba, get_block_format("MXFP4")), want)
    for fmt in ("nvfp4", "e2m1"):
        with pytest.raises(ValueError, match="a BlockArray carries its format"):
            numfmt.decode(ba, fmt)
    with pytest.raises(TypeError, match="threads"):
        numfmt.decode(ba, threads=2)
    with pytest.raises(TypeError, match="needs fmt="):
        numfmt.decode([1, 2])


# ------------------------------------------------------------------ torch tensors in every verb
def test_torch_tensors_in_arithmetic_accumulation_emulate_and_explain():
    torch = pytest.importorskip("torch")
    vals = [1.0, 0.5, -3.0]
    tensors = [torch.tensor(vals, dtype=torch.bfloat16), torch.tensor(vals).to(torch.float8_e4m3fn),
               torch.tensor(vals, requires_grad=True)]
    for t in tensors:
        np.testing.assert_array_equal(numfmt.add(t, t, "e4m3"), numfmt.add(vals, vals, "e4m3"))
        assert numfmt.dot(t, t, model=H100) == numfmt.dot(vals, vals, model=H100)
        np.testing.assert_array_equal(numfmt.matmul(t.reshape(1, 3), t.reshape(3, 1), model=H100),
                                      numfmt.matmul(np.reshape(vals, (1, 3)), np.reshape(vals, (3, 1)), model=H100))
        np.testing.assert_array_equal(numfmt.emulate(t, "e4m3"), numfmt.emulate(vals, "e4m3"))
        assert numfmt.explain(t[1], "e4m3").code == numfmt.explain(0.5, "e4m3").code


# ------------------------------------------------------------------ deprecated aliases of moved names
@pytest.mark.parametrize("old, new", [
    ("numfmt.block.bench_rows", "numfmt.bench.block_rows"),
    ("numfmt.arith.bench_rows", "numfmt.bench.arith_rows"),
    ("numfmt.accumulate.bench_matmul", "numfmt.bench.bench_matmul"),
    ("numfmt.policy.random_spec", "numfmt.plan.random_spec"),
])
def test_moved_names_are_deprecated_aliases(old, new):
    (om, on), (nm, nn) = old.rsplit(".", 1), new.rsplit(".", 1)
    with pytest.deprecated_call(match=f"{old} is deprecated: use {new}"):
        got = getattr(importlib.import_module(om), on)
    assert got is getattr(importlib.import_module(nm), nn)
    assert not hasattr(importlib.import_module(om), "no_such_name")
