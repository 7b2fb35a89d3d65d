"""GGUF block formats against the gguf package 0.19 (llama.cpp's gguf-py): encode equals
`gguf.quants.quantize(x, MXFP4)` byte for byte, decode equals `gguf.quants.dequantize` for
MXFP4 and NVFP4, and a .gguf file written by `gguf.GGUFWriter` reads back through
`numfmt.io.read_gguf`."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numfmt
import numfmt.io
from numfmt import BlockArray

gguf = pytest.importorskip("gguf")
from gguf.quants import dequantize, quantize  # noqa: E402

T = gguf.GGMLQuantizationType
F32 = np.float32


def _defined(x):
    """Rows (blocks of 32) whose amax is 0 or >= 2**-125: below, quantize_row_mxfp4_ref converts
    a negative float to uint8 (undefined in C; gguf-py's numpy cast wraps, numfmt gives 0)."""
    a = np.abs(x.reshape(-1, 32)).max(axis=1)
    return (a == 0) | (a >= 2.0 ** -125)


def _check_mxfp4(x):
    x = x.reshape(-1, 32)
    ok = _defined(x)
    ba = numfmt.encode(x, "gguf_mxfp4")
    with np.errstate(all="ignore"):
        ref = quantize(x, T.MXFP4).reshape(-1, 17)
    assert (ba.to_bytes()[ok] == ref[ok]).all()
    got = numfmt.decode(ba)
    with np.errstate(all="ignore"):
        want = dequantize(ref, T.MXFP4).reshape(-1, 32)
    assert (got[ok].view(np.uint32) == want[ok].view(np.uint32)).all()


@given(hnp.arrays(np.float32, (4, 32), elements=st.floats(width=32, allow_nan=False, allow_infinity=False)))
def test_mxfp4_encode_equals_gguf(x):
    _check_mxfp4(x)


@given(st.integers(-125, 127), hnp.arrays(np.float64, (2, 32), elements=st.sampled_from(
    [0.0, -0.0, 0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0, 7.0, -0.25, -0.75, -1.25, -2.5, -3.5, -5.0, 6.0, -6.0,
     7.99, 0.1, 1e-3])))
def test_mxfp4_ties_equal_gguf(k, u):
    """Grid ties (ties go to the smaller magnitude, negative values round to +0) at every scale."""
    x = (u * 2.0 ** (k - 2)).astype(np.float32)
    _check_mxfp4(x)


def test_mxfp4_constructed_blocks():
    rng = np.random.default_rng(7)
    blocks = [np.zeros(32), np.full(32, -0.0), rng.standard_normal(32) * 2.0 ** -140,
              np.r_[2.0 ** -125, rng.standard_normal(31) * 2.0 ** -140],  # smallest defined amax, subnormals
              np.r_[3.4028235e38, rng.standard_normal(31) * 1e38], np.r_[-3.4028235e38, np.zeros(31)],
              np.r_[np.nextafter(F32(1024), F32(0)), np.zeros(31)]]
    blocks += [np.r_[np.nextafter(F32(2.0 ** k), F32(0)), rng.standard_normal(31)] for k in range(-124, 128)]
    _check_mxfp4(np.array(blocks, np.float32))


def test_mxfp4_random_tensor():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((64, 256)) * 2.0 ** rng.integers(-30, 30, (64, 1))).astype(np.float32)
    ba = numfmt.encode(x, "gguf_mxfp4")
    assert (ba.to_bytes().reshape(64, -1) == quantize(x, T.MXFP4)).all()


def _random_bytes(rng, n, nsc, bpb, smax):
    raw = rng.integers(0, 256, (n, bpb), dtype=np.uint8)
    raw[:, :nsc] = rng.integers(0, smax + 1, (n, nsc), dtype=np.uint8)
    return raw


@pytest.mark.parametrize("fmt,qt,nsc,bpb,smax,per", [("gguf_mxfp4", "MXFP4", 1, 17, 254, 32),
                                                      ("gguf_nvfp4", "NVFP4", 4, 36, 0x7E, 64)])
def test_decode_equals_gguf_dequantize(fmt, qt, nsc, bpb, smax, per):
    """Every byte llama.cpp can write (scale bytes without numfmt's NaN code: 0xFF for E8M0,
    0x7F and up for UE4M3). Nibble 8 (-0) decodes to -0.0 in numfmt, +0.0 in gguf."""
    rng = np.random.default_rng(0)
    raw = _random_bytes(rng, 4096, nsc, bpb, smax)
    ba = BlockArray.from_bytes(raw, fmt, (4096 * per,))
    with np.errstate(all="ignore"):
        want = dequantize(raw, getattr(T, qt)).reshape(-1)
        got = numfmt.decode(ba)
    negzero = ba.codes == 8
    assert (got[~negzero].view(np.uint32) == want[~negzero].view(np.uint32)).all()
    assert (got[negzero] == 0).all() and (want[negzero] == 0).all()
    assert (ba.to_bytes() == raw).all()


def test_nvfp4_decode_of_encode_equals_gguf():
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((32, 128)) * 2.0 ** rng.integers(-12, 12, (32, 1))).astype(np.float32)
    ba = numfmt.encode(x, "gguf_nvfp4")
    want = dequantize(ba.to_bytes().reshape(32, -1), T.NVFP4)
    assert (numfmt.decode(ba).view(np.uint32) == want.view(np.uint32)).all()


def _write(path, tensors):
    w = gguf.GGUFWriter(str(path), "numfmt-test")
    for name, (arr, qt) in tensors.items():
        w.add_tensor(name, arr, raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_read_gguf_round_trip(tmp_path):
    rng = np.random.default_rng(11)
    a = rng.standard_normal((4, 96)).astype(np.float32)
    b = rng.standard_normal((3, 2, 128)).astype(np.float32)
    qa = quantize(a, T.MXFP4)  # written by gguf-py's own quantizer
    qb = numfmt.encode(b, "gguf_nvfp4").to_bytes().reshape(3, 2, -1)
    p = tmp_path / "model.gguf"
    _write(p, {"a": (qa, T.MXFP4), "b": (qb, T.NVFP4), "f": (rng.standard_normal((2, 8)).astype(np.float32), None)})
    got = numfmt.io.read_gguf(p)
    assert list(got) == ["a", "b"]
    assert got["a"].shape == (4, 96) and got["b"].shape == (3, 2, 128)
    assert (got["a"].codes == numfmt.encode(a, "gguf_mxfp4").codes).all()
    assert (numfmt.decode(got["a"]).view(np.uint32) == dequantize(qa, T.MXFP4).view(np.uint32)).all()
    assert (numfmt.decode(got["b"]).view(np.uint32) == dequantize(qb, T.NVFP4).view(np.uint32)).all()
    assert list(numfmt.io.read_gguf(str(p), names=["b"])) == ["b"]
    with pytest.raises(ValueError, match="not in"):
        numfmt.io.read_gguf(p, names=["zz"])
    with pytest.raises(ValueError, match="type F32"):
        numfmt.io.read_gguf(p, names="f")


def test_docs_edge_case_rows_equal_gguf():
    """The MXFP4 rows of the docs table (numfmt.block.tables.EDGE_CASES) whose result C defines
    and gguf-py computes the same way (no NaN: gguf-py's numpy max propagates it, C skips it)."""
    from numfmt.block.tables import EDGE_CASES, edge_block

    rows = [edge_block(f, v) for f, _, v in EDGE_CASES if f == "gguf_mxfp4"]
    x = np.array([r for r in rows if not np.isnan(r).any()])
    assert len(x) >= 7
    _check_mxfp4(x)
