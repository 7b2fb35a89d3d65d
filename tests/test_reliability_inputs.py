"""Inputs that used to give wrong answers or internal errors: `out=` sharing memory with an input,
non-native byte order, binary64 corner cases, damaged files on the command line, empty block input."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

import numfmt
from numfmt.cli import main

# ---- out= sharing memory with an input: the inputs are read as they were before the call


def test_add_out_overlapping_a_shifted():
    a = np.float32([1, 2, 3, 4, 5])
    want = numfmt.add(a[:-1].copy(), np.float32(0.5), "e4m3")
    got = numfmt.add(a[:-1], np.float32(0.5), "e4m3", out=a[1:])
    assert got.tolist() == want.tolist() == [1.5, 2.5, 3.5, 4.5]
    assert a.tolist() == [1, 1.5, 2.5, 3.5, 4.5]


@pytest.mark.parametrize("verb", ["add", "sub", "mul", "div"])
@pytest.mark.parametrize("fmt", ["e4m3", "binary16", "binary64"])
def test_arith_out_is_an_operand(verb, fmt):
    rng = np.random.default_rng(1)
    dt = numfmt.decode(0, fmt).dtype
    a = rng.uniform(0.5, 4, 300).astype(dt)
    b = rng.uniform(0.5, 4, 300).astype(dt)
    want = getattr(numfmt, verb)(a.copy(), b.copy(), fmt)
    for out in (a, b):
        x, y = a.copy(), b.copy()
        o = x if out is a else y
        got = getattr(numfmt, verb)(x, y, fmt, out=o)
        assert got is o
        np.testing.assert_array_equal(got, want)
    # shifted by one element (an operand read after its element was written)
    x = np.concatenate([a, a[-1:]])
    want = getattr(numfmt, verb)(x[:-1].copy(), x[-1], fmt)
    got = getattr(numfmt, verb)(x[:-1], x[-1], fmt, out=x[1:])
    np.testing.assert_array_equal(got, want)


def test_fma_sqrt_out_is_an_operand():
    a = np.linspace(0.5, 8, 100, dtype=np.float32)
    want = numfmt.fma(a, a[::-1].copy(), a, "bfloat16", dtype=np.float32)
    x = a.copy()
    np.testing.assert_array_equal(numfmt.fma(x, x[::-1], x, "bfloat16", dtype=np.float32, out=x), want)
    want = numfmt.sqrt(a, "e4m3")
    x = np.concatenate([a, [0]]).astype(np.float32)
    np.testing.assert_array_equal(numfmt.sqrt(x[:-1], "e4m3", out=x[1:]), want)


def test_encode_out_overlapping_the_input_bytes():
    b = np.linspace(0.1, 10, 64, dtype=np.float32)
    want = numfmt.encode(b.copy(), "e4m3")
    got = numfmt.encode(b, "e4m3", out=b.view(np.uint8)[192:])
    np.testing.assert_array_equal(got, want)


def test_decode_out_overlapping_the_codes():
    codes = np.arange(0, 1 << 16, 7, dtype=np.uint16)
    want = numfmt.decode(codes, "bfloat16", dtype=np.float64)
    buf = np.zeros(codes.size * 4 + 8, np.uint16)
    buf[4:4 + codes.size] = codes
    out = buf.view(np.float64)[: codes.size]  # the codes lie in out's first elements
    got = numfmt.decode(buf[4:4 + codes.size], "bfloat16", dtype=np.float64, out=out)
    np.testing.assert_array_equal(got, want)


def test_quantize_out_overlapping_across_chunk_boundaries():
    x = np.random.default_rng(0).standard_normal(200_000).astype(np.float32)  # > 64 Ki elements
    want = numfmt.quantize(x[:-1].copy(), "e4m3")
    got = numfmt.quantize(x[:-1], "e4m3", out=x[1:])
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("threads", [None, 4])
def test_quantize_in_place(threads):
    x = np.random.default_rng(2).standard_normal(3 << 19).astype(np.float32)
    want = numfmt.quantize(x, "e5m2", rounding="stochastic", random=7)
    got = numfmt.quantize(x, "e5m2", rounding="stochastic", random=7, out=x, threads=threads)
    assert got is x
    np.testing.assert_array_equal(x, want)


def test_quantize_in_place_binary64_and_ints():
    x = np.linspace(-3, 3, 1001)
    want = numfmt.quantize(x, "int8", dtype=np.float64)
    np.testing.assert_array_equal(numfmt.quantize(x, "int8", dtype=np.float64, out=x), want)


def test_dot_matmul_out_is_an_operand():
    a = np.float32([[1, 2], [3, 4]])
    want = numfmt.matmul(a, a, model="h100/e4m3")
    np.testing.assert_array_equal(numfmt.matmul(a, a, model="h100/e4m3", out=a), want)
    b = np.float32([[1, 2], [3, 4]])
    want = numfmt.dot(b, b, model="h100/e4m3")
    np.testing.assert_array_equal(numfmt.dot(b, b, model="h100/e4m3", out=b[:, 0]), want)


# ---- non-native byte order: converted once at the boundary


def test_big_endian_codes_decode():
    assert numfmt.decode(np.array([0x38], ">u2"), "e4m3").tolist() == [1.0]
    codes = np.arange(256, dtype=np.uint8)
    for fmt in ("int8", "e4m3", "e5m2", "binary16"):
        c = np.arange(1 << 8, dtype=np.uint16)
        np.testing.assert_array_equal(numfmt.decode(c.astype(">u2"), fmt), numfmt.decode(c, fmt))
    got = numfmt.decode(codes, "int8", dtype=">f4")
    assert got.dtype == np.float32 and got.dtype.isnative
    np.testing.assert_array_equal(got, numfmt.decode(codes, "int8"))


def test_big_endian_values():
    q = numfmt.quantize(np.array([1.5], ">f4"), "int8")
    assert q.tolist() == [2.0] and q.dtype.isnative
    x = np.linspace(-500, 500, 999)
    for dt in (">f4", ">f8", ">i4"):
        xb = x.astype(dt)
        xn = x.astype(np.dtype(dt).newbyteorder("="))
        np.testing.assert_array_equal(numfmt.encode(xb, "e4m3", saturation="finite"),
                                      numfmt.encode(xn, "e4m3", saturation="finite"))
        np.testing.assert_array_equal(numfmt.quantize(xb, "bfloat16"), numfmt.quantize(xn, "bfloat16"))
    np.testing.assert_array_equal(numfmt.quantize(x.astype(">f4"), "mxfp8_e4m3"),
                                  numfmt.quantize(x.astype(np.float32), "mxfp8_e4m3"))


def test_big_endian_arith_and_dot():
    a = np.array([1.5, 2.25, -3.0], ">f4")
    b = np.array([0.5, 1.0, 2.0], ">f8")
    an, bn = a.astype(np.float32), b.astype(np.float64)
    for verb in ("add", "mul", "div"):
        np.testing.assert_array_equal(getattr(numfmt, verb)(a, b, "e4m3"), getattr(numfmt, verb)(an, bn, "e4m3"))
    assert numfmt.dot(a, b, model="h100/e4m3") == numfmt.dot(an, bn, model="h100/e4m3")
    A = np.arange(4, dtype=">f4").reshape(2, 2)
    np.testing.assert_array_equal(numfmt.matmul(A, A, model="h100/e4m3"),
                                  numfmt.matmul(A.astype(np.float32), A.astype(np.float32), model="h100/e4m3"))


# ---- binary64 corner cases


@pytest.mark.parametrize("x", [0.1, -2.5, 1e308, float("inf"), float("nan"), 5e-324])
def test_explain_binary64(x):
    e = numfmt.explain(x, "binary64")
    assert e.code == int(numfmt.encode(x, "binary64"))


def test_cli_explain_binary64(capsys):
    assert main(["explain", "binary64", "0.1"]) == 0
    assert "0x3fb999999999999a" in capsys.readouterr().out


@pytest.mark.parametrize("x", [1.0, np.array(1.0), np.array(np.inf), -np.inf, np.float64(2.0)])
def test_encode_binary64_finite_saturation_scalars(x):
    got = numfmt.encode(x, "binary64", saturation="finite")
    v = np.clip(np.float64(x), -np.finfo(np.float64).max, np.finfo(np.float64).max)
    assert np.ndim(got) == 0 and int(got) == int(np.float64(v).view(np.uint64))


# ---- the command line: one line on stderr, exit status 2


def _one_line(capsys, rc):
    assert rc == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("numfmt") and "internal error" not in err[0], err
    return err[0]


def test_cli_check_empty_npy(tmp_path, capsys):
    empty = tmp_path / "x.npy"
    empty.write_bytes(b"")
    out = tmp_path / "y.npy"
    np.save(out, np.zeros(4, np.uint8))
    rc = main(["check", "--format", "e4m3", "--input", str(empty), "--output", str(out)])
    assert "x.npy" in _one_line(capsys, rc)


def test_cli_check_truncated_npz(tmp_path, capsys):
    full = tmp_path / "full.npz"
    np.savez(full, x=np.zeros(100, np.float32))
    data = full.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(zipfile.BadZipFile), open(cut, "rb") as fh:
        np.load(fh)
    rc = main(["check", "--format", "e4m3", "--input", str(cut), "--output", str(cut)])
    assert "cut.npz" in _one_line(capsys, rc)
    np.save(tmp_path / "x.npy", np.zeros(64, np.float32))
    rc = main(["check", "--format", "mxfp4", "--input", str(tmp_path / "x.npy"), "--output", str(cut)])
    _one_line(capsys, rc)


def test_cli_decode_symmetric_unused_code(capsys):
    with pytest.raises(ValueError, match="symmetric"):
        numfmt.decode(np.uint8(0x80), "int8_symmetric")
    assert "symmetric" in _one_line(capsys, main(["decode", "int8_symmetric", "0x80"]))
    assert main(["decode", "int8_symmetric", "0x81"]) == 0


def test_cli_bench_bad_argument(capsys):
    with pytest.raises(SystemExit) as e:
        main(["bench", "--bogus"])
    assert e.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "--bogus" in err[0], err


# ---- block formats on empty input: empty results


@pytest.mark.parametrize("fmt", ["mxfp4", "mxfp8_e4m3", "mxint8", "nvfp4"])
@pytest.mark.parametrize("shape,axis", [((0,), -1), ((3, 0), -1), ((0, 32), 0), ((2, 0, 5), 1)])
def test_block_empty_input(fmt, shape, axis):
    x = np.zeros(shape, np.float32)
    ba = numfmt.encode(x, fmt, axis=axis)
    assert ba.codes.shape == shape and ba.codes.size == 0
    assert numfmt.decode(ba).shape == shape
    q = numfmt.quantize(x, fmt, axis=axis)
    assert q.shape == shape and q.dtype == np.float32
    assert numfmt.quantize(x.astype(np.float64), fmt, axis=axis, rounding="stochastic", random=3).shape == shape
