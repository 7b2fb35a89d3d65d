"""Fuzzing the public API as a hostile user would: every verb's keywords and every array layout.

Each example draws values, a layout (dtype, byte order, strides, 0-d, empty, read-only, memmap) and
keywords, then asserts:

* the call on the layout gives bit for bit the result of the same call on a contiguous copy in the
  machine's byte order (the kernel path), or the same error;
* encode/quantize of float inputs equal the exact reference (`numfmt.reference`), element by element;
* `out=` overlapping the input gives the result of a call into a new array;
* an error is a ValueError or TypeError whose message names an argument (OSError for the file
  system) and never a numba error.

The default Hypothesis profile keeps it fast for `make test`; CI runs the `ci` profile.
"""

from __future__ import annotations

import atexit
import inspect
import math
import os
import re
import shutil
import tempfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import numfmt
from numfmt import reference
from numfmt.block import BlockArray

FORMATS = ["e4m3", "e5m2", "e2m1", "e3m2", "int8", "int4", "bfloat16", "binary16", "binary32", "binary64",
           "binary8p3se", "binary8p1ue", "float8_e4m3fnuz", "e8m0"]
BLOCK_FORMATS = ["mxfp8_e4m3", "mxfp4", "nvfp4", "mxint8", "mxfp6_e2m3"]
ROUNDINGS = ["nearest_even", "nearest_away", "toward_zero", "toward_positive", "toward_negative", "to_odd",
             "stochastic", "stochastic_b", "rne", "sr", "nearest", "up", ""]
SATURATIONS = ["none", "finite", "propagate", "satfinite", None]
NANS = ["raise", "zero", "max", "nan", 0]
LAYOUTS = ["contiguous", "strided", "reversed", "big_endian", "read_only", "memmap", "zero_d", "empty",
           "transposed", "float16", "float64", "int32", "int64", "uint8", "bool", "object", "complex"]
FLOAT_LAYOUTS = {"contiguous", "strided", "reversed", "big_endian", "read_only", "memmap", "zero_d", "empty",
                 "transposed", "float64"}

SPECIALS = [0.0, -0.0, math.inf, -math.inf, math.nan, 448.0, 464.0, 1e-9, -1e-45, 65504.0, 1e300, 2.0**-149,
            0.5, 1.5, 2.5, -3.75, 2.0**60 + 1]
values = st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32),
                            st.floats(-1e4, 1e4), st.sampled_from(SPECIALS)), min_size=1, max_size=10)
seeds = st.one_of(st.none(), st.integers(0, 2**64 - 1), st.integers(-3, -1), st.just(2**64), st.just(1.5))
_MEMMAP_DIR = tempfile.mkdtemp(prefix="numfmt-fuzz-")
atexit.register(shutil.rmtree, _MEMMAP_DIR, True)
_COUNT = [0]


def _native(a: np.ndarray) -> np.ndarray:
    """A contiguous copy of `a` in the machine's byte order (the plain kernel path)."""
    dt = a.dtype.newbyteorder("=") if a.dtype.byteorder not in ("=", "|") else a.dtype
    return np.array(a, dtype=dt, order="C", copy=True)


def layout(vals, how: str, base=np.float32) -> np.ndarray:
    """`vals` (floats) presented as `how`."""
    with np.errstate(all="ignore"):  # (out-of-range casts are the point)
        return _layout(np.array(vals, np.float64), how, base)


def _layout(v, how, base):
    if how == "zero_d":
        return np.array(v[0], base)
    if how == "empty":
        return np.zeros((0, 3), base)
    if how in ("int32", "int64", "uint8"):
        fin = np.where(np.isfinite(v), v, 0.0)
        dt = np.dtype(how)
        lo, hi = (0, 255) if how == "uint8" else (-(2**31), 2**31 - 1)
        return np.clip(np.round(fin), lo, hi).astype(dt)
    if how == "bool":
        return v > 0
    if how == "object":
        return v.astype(object)
    if how == "complex":
        return v.astype(np.complex64)
    dt = {"float16": np.float16, "float64": np.float64}.get(how, base)
    a = v.astype(dt)
    if how == "strided":
        b = np.zeros(2 * a.size, a.dtype)
        b[::2] = a
        return b[::2]
    if how == "reversed":
        return a[::-1].copy()[::-1]
    if how == "big_endian":
        return a.astype(a.dtype.newbyteorder(">"))
    if how == "read_only":
        a.flags.writeable = False
        return a
    if how == "memmap":
        _COUNT[0] += 1
        path = os.path.join(_MEMMAP_DIR, f"m{os.getpid()}-{_COUNT[0]}.bin")
        m = np.memmap(path, a.dtype, "w+", shape=a.shape)
        m[...] = a
        m.flush()
        del m
        r = np.memmap(path, a.dtype, "r", shape=a.shape)
        return r
    if how == "transposed":
        if a.size % 2:
            a = np.append(a, a[:1])
        return np.ascontiguousarray(a.reshape(2, -1)).T
    return a


_NUMBA = re.compile(r"numba|Typing|nopython|NumbaError|pyobject", re.I)


def _check_error(e: BaseException, names) -> None:
    """A user error: ValueError or TypeError whose message names an argument, never numba's."""
    assert isinstance(e, (ValueError, TypeError)), f"{type(e).__name__}: {e}"
    msg = str(e)
    assert not _NUMBA.search(msg) and not type(e).__module__.startswith("numba"), msg
    words = set(names) | {"format", "codes", "dtype", "shape", "value"}
    assert any(re.search(rf"(?<![A-Za-z_]){re.escape(w)}(?![A-Za-z_])", msg) for w in words), \
        f"the message names no argument of {sorted(names)}: {msg}"


def _call(fn, args, kw):
    """(result, None) or (None, exception) of fn(*args, **kw), the exception checked."""
    try:
        return fn(*args, **kw), None
    except Exception as e:  # (checked: only user errors pass)
        try:
            params = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):  # pragma: no cover - builtins
            params = []
        _check_error(e, params + list(kw) + ["x", "a", "b", "c", "A", "B", "fmt", "codes", "random", "rbits"])
        return None, e


def _same(r1, r2) -> None:
    if hasattr(r1, "to_dict"):  # comparison results
        assert type(r1) is type(r2) and r1.to_dict() == r2.to_dict()
        return
    if isinstance(r1, BlockArray) or isinstance(r2, BlockArray):
        assert isinstance(r1, BlockArray) and isinstance(r2, BlockArray)
        _same(r1.codes, r2.codes)
        _same(r1.scales, r2.scales)
        assert (r1.tensor_scale is None) == (r2.tensor_scale is None)
        if r1.tensor_scale is not None:
            _same(np.float32(r1.tensor_scale), np.float32(r2.tensor_scale))
        return
    a, b = np.asarray(r1), np.asarray(r2)
    assert type(r1) is type(r2) or (np.ndim(r1) and np.ndim(r2)), (type(r1), type(r2))
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    assert a.dtype.isnative
    assert a.tobytes() == b.tobytes(), (a, b)


def _both(fn, x, rest, kw):
    """fn on the layout `x` and on its contiguous native copy: the same result or the same error."""
    r1, e1 = _call(fn, (x, *rest), kw)
    r2, e2 = _call(fn, (_native(x), *rest), kw)
    assert (e1 is None) == (e2 is None), (e1, e2)
    if e1 is not None:
        assert type(e1) is type(e2), (e1, e2)
        return None
    _same(r1, r2)
    return r1


policy = st.fixed_dictionaries({}, optional={
    "rounding": st.sampled_from(ROUNDINGS), "saturation": st.sampled_from(SATURATIONS),
    "nan": st.sampled_from(NANS), "random": seeds, "rbits": st.one_of(st.integers(-1, 40), st.just(4.0)),
})


# ------------------------------------------------------------------ encode, decode, quantize


@given(vals=values, how=st.sampled_from(LAYOUTS), fmt=st.sampled_from(FORMATS), kw=policy,
       threads=st.sampled_from([None, None, 1, 3, 0, 2.0]))
def test_encode_quantize_layouts(vals, how, fmt, kw, threads):
    x = layout(vals, how)
    kw = dict(kw) if threads is None else dict(kw, threads=threads)
    codes = _both(numfmt.encode, x, (fmt,), kw)
    _both(numfmt.quantize, x, (fmt,), kw)
    if codes is None or how not in FLOAT_LAYOUTS or kw.get("rounding", "nearest_even") in ("stochastic", "sr",
                                                                                          "stochastic_b"):
        return
    # the exact reference, element by element
    f = numfmt.get_format(fmt)
    rounding = {"rne": "nearest_even"}.get(kw.get("rounding", "nearest_even"), kw.get("rounding", "nearest_even"))
    flat = np.asarray(_native(x), np.float64).reshape(-1)
    got = np.asarray(codes).reshape(-1)
    for v, c in zip(flat.tolist(), got.tolist()):
        if math.isnan(v):
            continue
        want = reference.encode(v, f, rounding=rounding, saturation=kw.get("saturation", "none"), nan_code=c)
        assert want == c, (v, fmt, kw, hex(want), hex(c))


@given(vals=values, how=st.sampled_from(["contiguous", "strided", "big_endian", "read_only", "memmap", "zero_d",
                                         "empty", "uint8", "int32", "int64", "bool", "float64", "object"]),
       fmt=st.sampled_from(FORMATS),
       dtype=st.sampled_from([None, np.float32, np.float64, ">f8", np.float16, np.int32, "float128", "bogus"]))
def test_decode_layouts(vals, how, fmt, dtype):
    f = numfmt.get_format(fmt)
    top = (1 << min(f.bits, 62)) - 1
    v = np.abs(np.nan_to_num(np.array(vals, np.float64), nan=1, posinf=top, neginf=7))
    c = np.minimum(np.round(v * 37), top)
    if how in ("uint8", "int32", "int64", "bool", "object", "float64"):
        x = layout(c, how)
    else:
        x = layout(c, how, base=f.code_dtype)
    kw = {} if dtype is None else {"dtype": dtype}
    res = _both(numfmt.decode, x, (fmt,), kw)
    if res is not None and how not in ("bool", "float64", "object") and np.asarray(x).size:
        codes = np.asarray(_native(x)).astype(np.int64).reshape(-1)
        vals = np.asarray(res, np.float64).reshape(-1)
        for code, got in zip(codes.tolist(), vals.tolist()):
            want = float(reference.decode(int(code), f))
            assert (math.isnan(want) and math.isnan(got)) or (want == got and math.copysign(1, want) ==
                                                               math.copysign(1, got)), (code, want, got)


@given(vals=values, fmt=st.sampled_from(FORMATS), shift=st.integers(-2, 2), kw=policy,
       verb=st.sampled_from(["quantize", "encode", "decode"]))
def test_overlapping_out_is_like_a_new_array(vals, fmt, shift, kw, verb):
    """out= sharing memory with the input (in place, shifted, through another dtype)."""
    f = numfmt.get_format(fmt)
    n = len(vals)
    if verb == "quantize":
        dt = np.float32 if f.exact_in(np.float32) else np.float64
        buf = np.zeros(n + 2, dt)
        x = buf[2:] if shift >= 0 else buf[:-2]
        out = buf[2 - abs(shift): 2 - abs(shift) + n] if shift >= 0 else buf[abs(shift): abs(shift) + n]
        with np.errstate(all="ignore"):
            x[...] = np.array(vals, np.float64).astype(dt)
        args = (x, fmt)
    elif verb == "encode":
        cd = f.code_dtype
        buf = np.zeros(n * 8 + 32, np.uint8)
        x = buf[16:16 + 4 * n].view(np.float32)
        with np.errstate(all="ignore"):
            x[...] = np.array(vals, np.float64).astype(np.float32)
        off = 16 + shift * cd.itemsize
        out = buf[off:off + n * cd.itemsize].view(cd)
        args = (x, fmt)
    else:
        kw = {}
        cd = f.code_dtype
        vd = np.float32 if f.exact_in(np.float32) else np.float64
        buf = np.zeros(n * np.dtype(vd).itemsize + 8, np.uint8)
        top = (1 << min(f.bits, 62)) - 1
        codes_v = buf[8:8 + n * cd.itemsize].view(cd)
        codes_v[...] = np.minimum(np.abs(np.nan_to_num(np.array(vals), nan=0, posinf=1, neginf=2)), top)
        out = buf[:n * np.dtype(vd).itemsize].view(vd) if shift else buf[8 - 8:n * np.dtype(vd).itemsize].view(vd)
        x = codes_v
        args = (x, fmt)
    fn = getattr(numfmt, verb)
    want, e1 = _call(fn, (np.array(x, copy=True), *args[1:]), kw)
    before = out.copy()
    got, e2 = _call(fn, args, dict(kw, out=out))
    assert (e1 is None) == (e2 is None), (e1, e2)
    if e1 is not None:
        assert type(e1) is type(e2)
        assert out.tobytes() == before.tobytes()  # nothing written on an error
        return
    assert got is out
    _same(np.array(out), np.asarray(want))


@given(vals=values, how=st.sampled_from(["contiguous", "strided", "big_endian", "read_only", "memmap", "empty",
                                         "transposed", "float16", "float64", "int32", "bool", "complex"]),
       fmt=st.sampled_from(BLOCK_FORMATS), axis=st.sampled_from([-1, 0, 1, 2, None, 1.0]),
       extra=st.fixed_dictionaries({}, optional={
           "rounding": st.sampled_from(ROUNDINGS), "random": seeds, "scale_rule": st.sampled_from(
               ["floor", "ceil", "even", "rceil", "amax", "flor", 3]),
           "saturation": st.sampled_from(["none", "finite"]), "nan": st.sampled_from(["raise", "zero"]),
           "threads": st.sampled_from([None, 2]), "compat": st.sampled_from([None, "torch"]),
           "tensor_scale": st.sampled_from([None, False, 1.0, math.nan, 1e40, "x"]),
       }))
def test_block_layouts(vals, how, fmt, axis, extra):
    x = layout(vals * 7, how)
    kw = dict(extra)
    if axis is not None:
        kw["axis"] = axis
    ba = _both(numfmt.encode, x, (fmt,), kw)
    _both(numfmt.quantize, x, (fmt,), kw)
    if ba is not None:
        _v, e = _call(numfmt.decode, (ba,), {})
        assert e is None
        r, e = _call(numfmt.compare_block, (), {"actual": ba, "expected": ba, "x": x})
        assert e is None and r.ok


# ------------------------------------------------------------------ arithmetic


@given(a=values, b=values, how=st.sampled_from(LAYOUTS), fmt=st.sampled_from(FORMATS), kw=policy,
       verb=st.sampled_from(["add", "sub", "mul", "div", "fma", "sqrt"]),
       opts=st.fixed_dictionaries({}, optional={"codes": st.booleans(),
                                                "dtype": st.sampled_from([np.float64, np.float32, "f2", "i4"])}))
def test_arith_layouts(a, b, how, fmt, kw, verb, opts):
    fn = getattr(numfmt, verb)
    x = layout(a, how)
    kw = {**kw, **opts}
    n = x.shape[-1] if x.ndim else 1
    with np.errstate(all="ignore"):
        other = np.resize(np.array(b, np.float32), n) if x.ndim else np.float32(b[0])
    rest = {"add": (other,), "sub": (other,), "mul": (other,), "div": (other,), "fma": (other, other),
            "sqrt": ()}[verb]
    r = _both(lambda x_, *r_, **k: fn(x_, *r_, **k), x, (*rest, fmt), kw)
    if r is not None and verb != "sqrt":  # the layout as the second operand too
        _both(lambda x_, *r_, **k: fn(other if np.ndim(x_) == 0 else np.resize(other, x_.shape), x_, *r_[1:],
                                      **k), x, (*rest, fmt), kw)


# ------------------------------------------------------------------ dot, matmul, compare, explain, packing


@given(a=values, how=st.sampled_from(LAYOUTS),
       model=st.sampled_from(["h100/e4m3", "v100/fp16", "seq", "exact", "h100_e4m3", 3]),
       round_inputs=st.sampled_from([None, "nearest_even", "nearest"]))
def test_dot_matmul_layouts(a, how, model, round_inputs):
    models = {"seq": numfmt.Sequential("fp32", in_format="bf16"),
              "exact": numfmt.Exact("fp32", in_format="e4m3")}
    m = models.get(model, model)
    kw = {"model": m} if round_inputs is None else {"model": m, "round_inputs": round_inputs}
    x = layout(a, how)
    if x.ndim == 0:
        _both(lambda x_, **k: numfmt.dot(x_, x_, **k), x, (), kw)
        return
    _both(lambda x_, **k: numfmt.dot(x_, np.ones(x_.shape, np.float32), **k), x, (), kw)
    if x.ndim == 2:
        _both(lambda x_, **k: numfmt.matmul(x_, np.ones((x_.shape[1], 2), np.float32), **k), x, (), kw)


@given(vals=values, how=st.sampled_from(["contiguous", "strided", "big_endian", "read_only", "memmap", "empty",
                                         "zero_d", "int32", "bool", "float64", "object"]),
       fmt=st.sampled_from(FORMATS), values_mode=st.booleans(), max_examples=st.sampled_from([0, 3, -1, 2.5]))
def test_compare_layouts(vals, how, fmt, values_mode, max_examples):
    f = numfmt.get_format(fmt)
    top = (1 << min(f.bits, 62)) - 1
    c = np.minimum(np.abs(np.nan_to_num(np.round(np.array(vals) * 13), nan=3, posinf=top, neginf=1)), top)
    x = layout(c, how, base=f.code_dtype if not values_mode else np.float32)
    exp = np.zeros(np.shape(x), f.code_dtype if not values_mode else np.float32)
    kw = {"fmt": fmt, "values": values_mode, "max_examples": max_examples}
    r = _both(lambda x_, **k: numfmt.compare(actual=x_, expected=exp, **k), x, (), kw)
    if r is not None:
        assert r.compared == np.size(x)


@given(v=st.one_of(st.floats(), st.sampled_from(SPECIALS), st.integers(-(2**70), 2**70), st.just("1.5"),
                   st.just(np.float16(3)), st.just(np.array([1.0, 2.0])), st.just(np.array(2.5, ">f4"))),
       fmt=st.sampled_from(FORMATS), kw=policy, index=st.sampled_from([0, 5, -1, 2**70]))
def test_explain(v, fmt, kw, index):
    r, _e = _call(numfmt.explain, (v, fmt), dict(kw, index=index))
    if r is not None:
        assert str(r)


@given(codes=st.lists(st.integers(0, 300), max_size=9), bits=st.sampled_from([1, 2, 4, 6, 8, 0, 9, 3.0]),
       order=st.sampled_from(["low_first", "high_first", "low", None]),
       how=st.sampled_from(["contiguous", "strided", "big_endian", "read_only", "int64", "bool", "float64"]))
def test_pack_unpack(codes, bits, order, how):
    x = layout(codes, how, base=np.uint8) if codes else np.zeros(0, np.uint8)
    kw = {"order": order}
    packed = _both(numfmt.pack, x, (bits,), kw)
    if packed is not None:
        back = _both(numfmt.unpack, packed, (bits, x.size), kw)
        assert back.tolist() == np.asarray(x).reshape(-1).tolist()


@given(name=st.one_of(st.sampled_from(FORMATS + BLOCK_FORMATS + ["e4m4", "binary8p9se", "fp8", "", "int0",
                                                                 "binary0p1se", "uint8"]),
                      st.text(max_size=12), st.integers(-3, 70), st.none(), st.just(np.float32),
                      st.just(np.dtype("V3"))))
def test_format_lookup(name):
    for fn in (numfmt.get_format, numfmt.get_block_format):
        _call(fn, (name,), {})


@given(k=st.integers(-2, 70), p=st.integers(-2, 70), signed=st.sampled_from([True, False, 1, "yes"]),
       extended=st.sampled_from([True, False, None]))
def test_p3109_format(k, p, signed, extended):
    _call(numfmt.p3109_format, (k, p), {"signed": signed, "extended": extended})


@given(vals=values, fmt=st.sampled_from(BLOCK_FORMATS), scale_shift=st.integers(-1, 1),
       ts=st.sampled_from([None, 1.0, math.nan, 1e40, -2.0, "x", np.float64(0.5)]),
       axis=st.sampled_from([-1, 0, 3, 1.0]))
def test_block_array_constructor(vals, fmt, scale_shift, ts, axis):
    f = numfmt.get_block_format(fmt)
    n = len(vals) * 4
    codes = np.resize(np.clip(np.abs(np.nan_to_num(np.array(vals), nan=0, posinf=1, neginf=1)), 0, 1e6).astype(
        np.int64) % (
        1 << f.element.bits), n).astype(f.element.code_dtype)
    scales = np.full(max(-(-n // f.block_size) + scale_shift, 0), 0x7F if f.scale.bits == 8 else 1,
                     f.scale.code_dtype)
    ba, e = _call(BlockArray, (codes, scales, fmt), {"tensor_scale": ts, "axis": axis})
    if ba is not None:
        v, e = _call(numfmt.decode, (ba,), {})
        assert e is None and v.shape == codes.shape


@pytest.mark.parametrize("target", ["ml_dtypes", "torch"])
@given(vals=values, fmt=st.sampled_from(FORMATS), how=st.sampled_from(["contiguous", "strided", "big_endian",
                                                                        "read_only", "float64", "int64"]))
def test_to_other_libraries(target, vals, fmt, how):
    lib = pytest.importorskip(target)
    torch = lib if target == "torch" else None
    f = numfmt.get_format(fmt)
    top = (1 << min(f.bits, 62)) - 1
    c = np.minimum(np.abs(np.nan_to_num(np.array(vals), nan=1, posinf=1, neginf=1)), top)
    x = layout(c, how, base=f.code_dtype)
    fn = numfmt.to_ml_dtypes if target == "ml_dtypes" else numfmt.to_torch
    r1, e1 = _call(fn, (x, fmt), {})
    r2, e2 = _call(fn, (_native(x), fmt), {})
    assert (e1 is None) == (e2 is None), (e1, e2)
    if r1 is not None:
        def raw(r):  # the bytes (a size-1 torch tensor may keep a stride of 2 and still count as contiguous)
            if target == "ml_dtypes":
                return np.ascontiguousarray(r).view(np.uint8).tobytes()
            dense = torch.empty(r.shape, dtype=r.dtype)
            dense.copy_(r)
            return dense.view(torch.uint8).numpy().tobytes()

        assert raw(r1) == raw(r2)


# ------------------------------------------------------------------ regressions found by this module


@pytest.mark.parametrize("call,exc,match", [
    (lambda: numfmt.decode([1], "e4m3", dtype="bogus"), TypeError, r"dtype must be .*'bogus'"),
    (lambda: numfmt.quantize([1.0], "e4m3", dtype="bogus"), TypeError, r"dtype must be .*'bogus'"),
    (lambda: numfmt.add(1.0, 1.0, "e4m3", dtype="bogus"), TypeError, r"dtype must be .*'bogus'"),
    (lambda: numfmt.dot([1.0], [1.0], model="h100/e4m3", round_inputs="nearest"), ValueError,
     r"round_inputs='nearest'.*did you mean"),
    (lambda: numfmt.get_format("binary8p9se"), ValueError, r"format 'binary8p9se': .*p=9"),
    (lambda: numfmt.p3109_format(8, 3, signed="yes"), TypeError, r"signed must be a bool.*'yes'"),
    (lambda: numfmt.p3109_format(8, 3, extended=None), TypeError, r"extended must be a bool"),
])
def test_fuzz_regressions_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_fuzz_regression_compare_binary64():
    """compare of binary64 codes raised OverflowError (codes >= 2**63 as int64) for every call."""
    x = np.array([1.0, -2.5, np.inf, -0.0, 5e-324, -np.inf])
    e = numfmt.encode(x, "binary64")
    a = e.copy()
    a[0] += 1
    a[1] += 3
    a[2] = numfmt.encode(np.finfo(np.float64).max, "binary64")
    a[3] = 0
    r = numfmt.compare(actual=a, expected=e, fmt="binary64", x=x)
    assert r.different == 4 and r.indices().tolist() == [0, 1, 2, 3]
    assert r.classes == {"ulps": 2, "saturated_vs_overflowed": 1, "signed_zero": 1}
    assert r.ulp_histogram == {1: 1, -3: 1}  # -2.5 -> three codes larger in magnitude: 3 ulps below
    assert [m.expected for m in r.examples] == [int(c) for c in e[:4]]
    assert numfmt.compare(actual=e, expected=e, fmt="binary64").ok


def test_fuzz_regression_mxint8_amax_rule():
    """encode(x, "mxint8", scale_rule="amax") raised AttributeError (an integer element format has no
    max_code_magnitude): a NaN element becomes +max (127) like a float element format without NaN."""
    x = np.array([-3.0, 100.0, np.nan, 64.0] + [1.0] * 28, np.float32)
    ba = numfmt.encode(x, "mxint8", scale_rule="amax", tensor_scale=False)
    assert ba.codes[2] == numfmt.get_block_format("mxint8").element.max_int
    v = numfmt.decode(ba)
    assert v[[0, 1, 3]].tolist() == [-3.0, 100.0, 64.0]


def test_fuzz_regression_explain_index():
    """explain(index=2**70) with a seed raised numba's TypingError or OverflowError; with an array of
    bits a large index allocated index + 1 elements (the array was broadcast to them)."""
    kw = {"rounding": "stochastic", "rbits": 4}
    with pytest.raises(ValueError, match=r"index must be .*below 2\*\*63"):
        numfmt.explain(1.3, "e4m3", random=5, index=2**70, **kw)
    with pytest.raises(ValueError, match=r"index=1000000000000 is beyond the 3 elements"):
        numfmt.explain(1.3, "e4m3", random=np.array([1, 2, 3], np.uint32), index=10**12, **kw)
    x = np.full(3, 1.3, np.float32)
    bits = np.array([1, 9, 15], np.uint32)
    codes = numfmt.encode(x, "e4m3", random=bits, **kw)
    for i in range(3):  # bits of element i of the array (was: only the last element's index)
        assert numfmt.explain(x[i], "e4m3", random=bits, index=i, **kw).code == codes[i]
    assert numfmt.explain(x[0], "e4m3", random=np.array([9], np.uint32), index=2**62, **kw).code == codes[1]
    big = numfmt.explain(x[0], "e4m3", random=5, index=2**63 - 1, **kw)
    assert big.code == numfmt.explain(x[0], "e4m3", random=5, index=2**63 - 1, **kw).code
