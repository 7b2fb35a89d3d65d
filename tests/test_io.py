"""numfmt.io: streaming safetensors checkpoint quantization."""

from __future__ import annotations

import json
import os
import struct
import tracemalloc

import numpy as np
import pytest

import numfmt
import numfmt.io as nio
from numfmt.io import checkpoint

RNG = np.random.default_rng(8)


def _ckpt(tmp_path, tensors=None, name="src.safetensors", metadata=None):
    if tensors is None:
        tensors = {
            "layer0.weight": RNG.standard_normal((48, 64)).astype(np.float32),
            "layer0.bias": RNG.standard_normal(64).astype(np.float32),
            "layer1.weight": (RNG.standard_normal((33, 40)) * 30).astype(np.float16),
            "scalar": np.array(0.3, np.float64),
            "step": np.array([5, 6], np.int64),
            "mask": np.array([True, False]),
        }
    p = tmp_path / name
    nio.save(tensors, p, metadata=metadata)
    return p, tensors


def _ls(tmp_path):
    return sorted(os.listdir(tmp_path))


# ------------------------------------------------------------------ file format


def test_save_is_readable_by_safetensors(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    p, tensors = _ckpt(tmp_path, metadata={"k": "v"})
    back = st.load_file(str(p))
    assert sorted(back) == sorted(tensors)
    for k, v in tensors.items():
        np.testing.assert_array_equal(back[k], v)
        assert back[k].dtype == v.dtype


def test_reads_files_written_by_safetensors(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    a = RNG.standard_normal((7, 9)).astype(np.float32)
    st.save_file({"a": a, "i": np.arange(3, dtype=np.int16)}, str(tmp_path / "s.safetensors"), metadata={"m": "1"})
    rep = nio.quantize_checkpoint(tmp_path / "s.safetensors", tmp_path / "o.safetensors", "e5m2", progress=False)
    assert list(rep) == ["a"]
    out = nio.load_quantized(tmp_path / "o.safetensors")
    np.testing.assert_array_equal(out["a"], numfmt.encode(a, "e5m2"))
    np.testing.assert_array_equal(out["i"], np.arange(3, dtype=np.int16))
    assert nio.read_header(tmp_path / "o.safetensors")[0]["m"] == "1"


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("fmt,kw", [
    ("e4m3", {"saturation": "finite"}),
    ("binary8p3se", {"rounding": "stochastic", "random": 9}),
    ("e2m1", {"rounding": "toward_zero", "saturation": "finite"}),
    ("int8", {"saturation": "finite"}),
    ("bfloat16", {}),
])
def test_element_round_trip_equals_numpy_path(tmp_path, fmt, kw):
    src, tensors = _ckpt(tmp_path)
    dst = tmp_path / "out.safetensors"
    rep = nio.quantize_checkpoint(src, dst, fmt, chunk_elements=500, progress=False, **kw)
    assert sorted(rep) == ["layer0.bias", "layer0.weight", "layer1.weight", "scalar"]
    out = nio.load_quantized(dst)
    for name, x in tensors.items():
        if name in rep:
            want = numfmt.encode(x, fmt, **kw)
            np.testing.assert_array_equal(out[name], want)
            assert out[name].shape == x.shape
            q = numfmt.decode(want, fmt).astype(np.float64)
            err = np.abs(q - x.astype(np.float64))
            r = rep[name]
            assert r.max_abs == float(err.max())
            assert r.rms == pytest.approx(float(np.sqrt(np.mean(err ** 2))), rel=1e-12)
            assert r.relative == pytest.approx(r.rms / float(np.sqrt(np.mean(x.astype(np.float64) ** 2))),
                                               rel=1e-12)
        else:
            np.testing.assert_array_equal(out[name], x)
    assert _ls(tmp_path) == ["out.safetensors", "src.safetensors"]


def test_metadata_and_native_dtypes(tmp_path):
    src, _ = _ckpt(tmp_path, metadata={"format": "pt"})
    dst = tmp_path / "o.safetensors"
    nio.quantize_checkpoint(src, dst, "e4m3", saturation="finite", progress=False)
    meta, entries = nio.read_header(dst)
    dtypes = {e.name: e.dtype for e in entries}
    assert dtypes == {"layer0.weight": "F8_E4M3", "layer0.bias": "F8_E4M3", "layer1.weight": "F8_E4M3",
                      "scalar": "F8_E4M3", "step": "I64", "mask": "BOOL"}
    assert meta["format"] == "pt"
    assert meta["numfmt.format"] == "float8_e4m3fn"
    assert json.loads(meta["numfmt.policy"]) == {"rounding": "nearest_even", "saturation": "finite", "nan": "raise",
                                                 "rbits": None}
    roles = json.loads(meta["numfmt.tensors"])
    assert roles["step"]["role"] == "copy" and roles["layer1.weight"]["source_dtype"] == "F16"
    nio.quantize_checkpoint(src, tmp_path / "u.safetensors", "e4m3", saturation="finite", native_dtypes=False,
                            progress=False)
    assert {e.dtype for e in nio.read_header(tmp_path / "u.safetensors")[1] if e.name.startswith("layer")} == {"U8"}


def test_float8_output_loads_in_torch(tmp_path):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    src, tensors = _ckpt(tmp_path)
    dst = tmp_path / "o.safetensors"
    nio.quantize_checkpoint(src, dst, "e4m3", saturation="finite", progress=False)
    w = st.load_file(str(dst))["layer0.weight"]
    assert w.dtype == torch.float8_e4m3fn
    np.testing.assert_array_equal(w.float().numpy(), numfmt.quantize(tensors["layer0.weight"], "e4m3",
                                                                      saturation="finite"))


def test_bf16_and_float8_sources(tmp_path):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    w = RNG.standard_normal((16, 32)).astype(ml_dtypes.bfloat16)
    f8 = RNG.standard_normal(40).astype(ml_dtypes.float8_e4m3fn)
    src = tmp_path / "s.safetensors"
    nio.save({"w": w, "f8": f8}, src)
    assert {e.dtype for e in nio.read_header(src)[1]} == {"BF16", "F8_E4M3"}
    rep = nio.quantize_checkpoint(src, tmp_path / "o.safetensors", "e2m1", progress=False)
    out = nio.load_quantized(tmp_path / "o.safetensors")
    np.testing.assert_array_equal(out["w"], numfmt.encode(w, "e2m1"))
    np.testing.assert_array_equal(out["f8"], numfmt.encode(f8, "e2m1"))
    assert rep["w"].source_dtype == "BF16"


@pytest.mark.parametrize("fmt,kw", [
    ("mxfp4", {}),
    ("nvfp4", {}),
    ("nvfp4", {"recipe": "torchao", "rounding": "stochastic", "random": 4}),
    ("mxfp8_e4m3", {"scale_rule": "rceil"}),
    ("mxfp8_e4m3", {"scale_rule": "max_abs_finite"}),
])
def test_block_round_trip_equals_numpy_path(tmp_path, fmt, kw):
    src, tensors = _ckpt(tmp_path)
    dst = tmp_path / "o.safetensors"
    rep = nio.quantize_checkpoint(src, dst, fmt, chunk_elements=300, progress=False, **kw)
    assert "scalar" not in rep  # no blocks in a scalar: copied
    out = nio.load_quantized(dst)
    for name in ("layer0.weight", "layer0.bias", "layer1.weight"):
        ref = numfmt.encode(tensors[name], fmt, **kw)
        ba = out[name]
        np.testing.assert_array_equal(ba.codes, ref.codes)
        np.testing.assert_array_equal(ba.scales, ref.scales)
        assert (ba.scale_rule, ba.recipe) == (ref.scale_rule, ref.recipe)
        assert (ba.tensor_scale is None) == (ref.tensor_scale is None)
        if ref.tensor_scale is not None:
            assert ba.tensor_scale.tobytes() == ref.tensor_scale.tobytes()
        q = numfmt.decode(ref, dtype=np.float64)
        assert rep[name].max_abs == float(np.abs(q - tensors[name]).max())
    np.testing.assert_array_equal(out["scalar"], tensors["scalar"])


@pytest.mark.parametrize("fmt,kw", [
    ("mxfp8_e4m3", {"scale_rule": "max_abs_finite"}),
    ("nvfp4", {}),
    ("nvfp4", {"scale_rule": "floor"}),
    ("mxfp4", {"scale_rule": "amax", "tensor_scale": False}),
])
def test_recipe_metadata_is_what_the_encoder_used(tmp_path, fmt, kw):
    """The file and the loaded BlockArray record the encoder's own scale rule and recipe."""
    src, _ = _ckpt(tmp_path, {"w": RNG.standard_normal((4, 64)).astype(np.float32)})
    dst = tmp_path / "o.safetensors"
    nio.quantize_checkpoint(src, dst, fmt, progress=False, **kw)
    ref = numfmt.encode(np.ones((1, 64), np.float32), fmt, **kw)
    recipe = json.loads(nio.read_header(dst)[0]["numfmt.recipe"])
    assert (recipe["scale_rule"], recipe["recipe"]) == (ref.scale_rule, ref.recipe)
    assert recipe["two_level"] == (ref.tensor_scale is not None)
    ba = nio.load_quantized(dst)["w"]
    assert (ba.scale_rule, ba.recipe) == (ref.scale_rule, ref.recipe)


def test_include_exclude(tmp_path):
    src, _ = _ckpt(tmp_path)
    rep = nio.quantize_checkpoint(src, tmp_path / "o.safetensors", "e4m3", include="*.weight", exclude=["layer1.*"],
                                  saturation="finite", progress=False)
    assert list(rep) == ["layer0.weight"]
    with pytest.raises(ValueError, match="only floating-point"):
        nio.quantize_checkpoint(src, tmp_path / "p.safetensors", "e4m3", include="st*", progress=False)
    assert "p.safetensors" not in _ls(tmp_path)


# ------------------------------------------------------------------ memory


def test_peak_memory_below_twice_the_largest_tensor(tmp_path):
    big = RNG.standard_normal((512, 1024)).astype(np.float32)  # 2 MiB, the largest
    tensors = {f"t{i}": RNG.standard_normal((256, 1024)).astype(np.float32) for i in range(6)}
    tensors["big"] = big
    src, _ = _ckpt(tmp_path, tensors)
    del tensors
    largest = big.nbytes
    del big
    for fmt in ("e4m3", "mxfp4"):
        kw = {"saturation": "finite"} if fmt == "e4m3" else {}
        # warm up first: numba compiling (or loading) the kernels allocates memory of its own
        warm, _ = _ckpt(tmp_path, {"w": np.ones((4, 64), np.float32)}, name="warm.safetensors")
        nio.quantize_checkpoint(warm, tmp_path / "warm_out.safetensors", fmt, progress=False, **kw)
        tracemalloc.start()
        try:
            nio.quantize_checkpoint(src, tmp_path / f"o_{fmt}.safetensors", fmt, progress=False, **kw)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert os.path.getsize(src) > 3 * largest
        assert peak < 2 * largest, (fmt, peak, largest)


# ------------------------------------------------------------------ bad input: clear errors, no output


def _assert_no_output(tmp_path, keep):
    assert _ls(tmp_path) == sorted(keep)


def test_truncated_file(tmp_path):
    src, _ = _ckpt(tmp_path)
    data = src.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:-100])
    with pytest.raises(ValueError, match="truncated"):
        nio.quantize_checkpoint(tmp_path / "cut.safetensors", tmp_path / "o.safetensors", "e4m3", progress=False)
    (tmp_path / "tiny.safetensors").write_bytes(data[:5])
    with pytest.raises(ValueError, match="truncated"):
        nio.quantize_checkpoint(tmp_path / "tiny.safetensors", tmp_path / "o.safetensors", "e4m3", progress=False)
    _assert_no_output(tmp_path, ["cut.safetensors", "src.safetensors", "tiny.safetensors"])


def _with_header(tmp_path, header: bytes, data=b""):
    p = tmp_path / "bad.safetensors"
    p.write_bytes(struct.pack("<Q", len(header)) + header + data)
    return p


@pytest.mark.parametrize("header,match", [
    (b"{not json", "corrupt JSON header"),
    (b"[1, 2]", "expected an object"),
    (b'{"a": {"dtype": "F32", "shape": [2]}}', "needs dtype, shape and data_offsets"),
    (b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}', "needs 8 bytes"),
    (b'{"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}', "invalid shape"),
    (b'{"a": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}', "unsupported dtype 'C64'"),
    (b'{"a": {"dtype": "F4", "shape": [2], "data_offsets": [0, 1]}}', "unsupported dtype 'F4'"),
    (b'{"__metadata__": {"k": 1}}', "strings to strings"),
    (b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, '
     b'"b": {"dtype": "U8", "shape": [2], "data_offsets": [4, 6]}}', "overlap"),
])
def test_corrupt_headers(tmp_path, header, match):
    p = _with_header(tmp_path, header, b"\0" * 8)
    with pytest.raises(ValueError, match=match):
        nio.quantize_checkpoint(p, tmp_path / "o.safetensors", "e4m3", progress=False)
    _assert_no_output(tmp_path, ["bad.safetensors"])


def test_header_length_beyond_file(tmp_path):
    p = tmp_path / "bad.safetensors"
    p.write_bytes(struct.pack("<Q", 10**6) + b"{}")
    with pytest.raises(ValueError, match="does not fit"):
        nio.quantize_checkpoint(p, tmp_path / "o.safetensors", "e4m3", progress=False)
    _assert_no_output(tmp_path, ["bad.safetensors"])


def test_error_midway_leaves_nothing_and_keeps_old_output(tmp_path):
    """A NaN under nan='raise' in the last tensor: no partial file; an existing dst is untouched."""
    src, _ = _ckpt(tmp_path, {"a": np.ones(10, np.float32), "z": np.array([1.0, np.nan], np.float32)})
    dst = tmp_path / "o.safetensors"
    dst.write_bytes(b"old")
    with pytest.raises(ValueError, match="NaN"):
        nio.quantize_checkpoint(src, dst, "e2m1", progress=False)
    assert dst.read_bytes() == b"old"
    _assert_no_output(tmp_path, ["o.safetensors", "src.safetensors"])


def test_keyboard_interrupt_leaves_no_output(tmp_path, monkeypatch):
    src, _ = _ckpt(tmp_path)
    calls = []
    real = checkpoint.quantize_elems

    def interrupted(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(checkpoint, "quantize_elems", interrupted)
    with pytest.raises(KeyboardInterrupt):
        nio.quantize_checkpoint(src, tmp_path / "o.safetensors", "e4m3", saturation="finite", progress=False)
    _assert_no_output(tmp_path, ["src.safetensors"])


def test_bad_arguments(tmp_path):
    src, _ = _ckpt(tmp_path)
    dst = tmp_path / "o.safetensors"
    with pytest.raises(ValueError, match="unknown format"):
        nio.quantize_checkpoint(src, dst, "e9m9", progress=False)
    with pytest.raises(ValueError, match="rounding"):
        nio.quantize_checkpoint(src, dst, "e4m3", rounding="up", progress=False)
    with pytest.raises(ValueError, match="needs random"):
        nio.quantize_checkpoint(src, dst, "e4m3", rounding="stochastic", progress=False)
    with pytest.raises(TypeError, match="not an array"):
        nio.quantize_checkpoint(src, dst, "e4m3", rounding="stochastic", random=np.zeros(3, np.uint32),
                                progress=False)
    with pytest.raises(ValueError, match="differ"):
        nio.quantize_checkpoint(src, src, "e4m3", progress=False)
    with pytest.raises(ValueError, match="last axis"):
        nio.quantize_checkpoint(src, dst, "mxfp4", axis=0, progress=False)
    with pytest.raises(ValueError, match="clashes"):
        s2, _ = _ckpt(tmp_path, {"w": np.ones((2, 32), np.float32), "w.scales": np.ones(2, np.float32)},
                      name="clash.safetensors")
        nio.quantize_checkpoint(s2, dst, "mxfp4", include="w", progress=False)
    assert "o.safetensors" not in _ls(tmp_path)


@pytest.mark.parametrize("kw", [{"saturation": "finite"}, {"nan": "zero"}, {"saturation": "none", "nan": "max"}])
def test_block_format_rejects_saturation_and_nan_like_encode(tmp_path, kw):
    """saturation=/nan= with a block format: the TypeError (and message) encode gives, nothing written."""
    src, _ = _ckpt(tmp_path)
    with pytest.raises(TypeError) as want:
        numfmt.encode(np.ones((1, 32), np.float32), "mxfp4", **kw)
    with pytest.raises(TypeError) as got:
        nio.quantize_checkpoint(src, tmp_path / "o.safetensors", "mxfp4", progress=False, **kw)
    assert str(got.value) == str(want.value) and "not supported with a block format" in str(got.value)
    assert _ls(tmp_path) == ["src.safetensors"]


def test_progress_bar_draws_on_request(tmp_path, capsys):
    src, _ = _ckpt(tmp_path)
    nio.quantize_checkpoint(src, tmp_path / "o.safetensors", "e4m3", saturation="finite", progress=True)
    err = capsys.readouterr().err
    assert "numfmt quantize" in err and "100.0%" in err
    nio.quantize_checkpoint(src, tmp_path / "p.safetensors", "e4m3", saturation="finite")  # not a TTY: silent
    assert capsys.readouterr().err == ""
