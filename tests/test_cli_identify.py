"""numfmt identify, check-gemm, check --mismatches/--identify, explain with several values, did-you-mean."""

from __future__ import annotations

import json

import numpy as np
import pytest

import numfmt
from numfmt.cli import main


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((16, 24)) * 100).astype(np.float32)
    np.save("x.npy", x)
    np.save("y.npy", numfmt.encode(x, "e4m3", saturation="finite", via="bfloat16").view(np.int8))
    x.tofile("x.raw")
    numfmt.encode(x, "e4m3", via="bfloat16").tofile("y.raw")
    A = numfmt.quantize(rng.standard_normal((12, 64)), "e4m3")
    B = numfmt.quantize(rng.standard_normal((64, 8)), "e4m3")
    np.save("A.npy", A)
    np.save("B.npy", B)
    D = numfmt.matmul(A, B, model="h100/e4m3")
    np.save("D.npy", D)
    A.astype(np.float32).tofile("A.raw")
    B.astype(np.float32).tofile("B.raw")
    D.tofile("D.raw")
    ba = numfmt.encode(x, "mxfp8_e4m3")
    np.savez("ba.npz", scales=ba.scales, codes=ba.codes)
    return x


def test_identify_a_conversion_exit_0_and_json(files, capsys):
    assert main(["identify", "--format", "e4m3", "--input", "x.npy", "--output", "y.npy"]) == 0
    out = capsys.readouterr().out
    assert "1.     100% through bfloat16 first (double rounding)" in out
    assert main(["identify", "--format", "e4m3", "--input", "x.npy", "--output", "y.npy", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["results"][0]["rule"] == {"via": "bfloat16"} and d["results"][0]["fraction"] == 1.0
    assert d["shape"] == "16x24"


def test_identify_raw_files_with_shape_and_dtype(files, capsys):
    args = ["identify", "--format", "e4m3", "--input", "x.raw", "--dtype", "float32", "--output", "y.raw",
            "--shape", "16,24", "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["rule"] == {"via": "bfloat16"}


def test_identify_a_block_dump(files, capsys):
    assert main(["identify", "--format", "mxfp8_e4m3", "--input", "x.npy", "--output", "ba.npz"]) == 0
    assert "100%" in capsys.readouterr().out


def test_identify_a_gemm_npy_and_raw(files, capsys):
    assert main(["identify", "--a", "A.npy", "--b", "B.npy", "--output", "D.npy"]) == 0
    assert "1.     100% the h100/e4m3 preset" in capsys.readouterr().out
    assert main(["identify", "--gemm", "--a", "A.raw", "--b", "B.raw", "--output", "D.raw", "--dtype", "float32",
                 "--shape", "12,64,8", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["results"][0]["fraction"] == 1.0 and d["results"][0]["kind"] == "matmul"


def test_identify_exit_1_when_no_rule_explains_everything(files, capsys):
    y = numfmt.encode(files, "e4m3", rounding="stochastic", random=3, saturation="finite")
    np.save("sr.npy", y)
    assert main(["identify", "--format", "e4m3", "--input", "x.npy", "--output", "sr.npy"]) == 1
    assert "residual" in capsys.readouterr().out


def test_check_gemm(files, capsys):
    assert main(["check-gemm", "--a", "A.npy", "--b", "B.npy", "--output", "D.npy", "--model", "h100/e4m3"]) == 0
    assert "relative error actual vs exact" in capsys.readouterr().out
    assert main(["check-gemm", "--a", "A.npy", "--b", "B.npy", "--output", "D.npy", "--model", "exact", "--json"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert d["different"] > 0 and d["relative_error"]["model_vs_exact"]["max"] == 0.0
    assert all(len(i) == 2 for i in d["indices"]) and d["shape"] == [12, 8]
    assert main(["check-gemm", "--a", "A.npy", "--b", "B.npy", "--output", "D.npy",
                 "--model", "sequential:fp32:toward_zero"]) in (0, 1)


@pytest.mark.parametrize("argv,match", [
    (["identify", "--format", "e4m3", "--input", "x.npy"], "needs --format FMT, --input X and --output Y"),
    (["identify", "--a", "A.npy", "--output", "D.npy"], "needs --a A, --b B"),
    (["identify", "--format", "fp8", "--input", "x.npy", "--output", "y.npy"], "'e4m3' or 'e5m2'"),
    (["identify", "--format", "e4m3", "--input", "x.raw", "--output", "y.raw"], "needs --dtype"),
    (["identify", "--format", "e4m3", "--input", "x.npy", "--output", "D.npy"], "mismatched lengths"),
    (["check-gemm", "--a", "A.npy", "--b", "B.npy", "--output", "D.npy", "--model", "h100/e4m4"], "did you mean"),
    (["check-gemm", "--a", "A.npy", "--b", "A.npy", "--output", "D.npy", "--model", "h100/e4m3"], "(M,K)"),
    (["encode", "e4m3", "1", "--rounding", "nearest-even"], "did you mean 'nearest_even'"),
    (["encode", "e4m3", "1", "--saturation", "satfinite"], "did you mean 'finite'"),
])
def test_user_errors_exit_2_with_one_line(files, capsys, argv, match):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1 and "Traceback" not in err


def test_check_mismatches_file_nd_indices_json_explanations_and_identification(files, capsys):
    argv = ["check", "--format", "e4m3", "--input", "x.npy", "--output", "y.npy", "--saturation", "finite",
            "--mismatches", "m.npy", "--identify", "--json"]
    assert main(argv) == 1
    d = json.loads(capsys.readouterr().out)
    want = numfmt.encode(files, "e4m3", saturation="finite")
    got = numfmt.encode(files, "e4m3", saturation="finite", via="bfloat16")
    assert np.array_equal(np.load("m.npy"), np.argwhere(want != got))
    assert d["shape"] == [16, 24] and len(d["examples"][0]["index"]) == 2
    assert d["explanations"][0]["index"] == d["examples"][0]["index"] and "rule" in d["explanations"][0]
    rule = d["identification"][0]["rule"]
    assert d["identification"][0]["fraction"] == 1.0 and np.array_equal(numfmt.encode(files, "e4m3", **rule), got)
    assert d["classes"] == {"double_rounding": d["different"]}


def test_check_element_format_with_shape_for_raw_input(files, capsys):
    argv = ["check", "--format", "e4m3", "--input", "x.raw", "--input-dtype", "float32", "--output", "y.raw",
            "--shape", "16,24", "--json"]
    assert main(argv) == 1
    d = json.loads(capsys.readouterr().out)
    assert d["shape"] == [16, 24] and len(d["examples"][0]["index"]) == 2


def test_explain_several_values(capsys):
    assert main(["explain", "e4m3", "464", "480"]) == 0
    out = capsys.readouterr().out
    assert out.count("explain ") == 2 and "464.0" in out and "480.0" in out
    assert main(["explain", "e4m3", "464", "480", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2


def test_check_gemm_with_no_finite_output(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    A, B = np.full((2, 4), 60000.0, np.float16), np.full((4, 2), 60000.0, np.float16)
    np.save("A.npy", A)
    np.save("B.npy", B)
    np.save("D.npy", numfmt.matmul(A, B, model=numfmt.Sequential("fp16")))  # every element +inf
    assert main(["check-gemm", "--a", "A.npy", "--b", "B.npy", "--output", "D.npy", "--model", "sequential:fp16"]) == 0
    assert "no finite value" in capsys.readouterr().out


def test_identify_signed_block_dump_and_bfloat16_input(files, capsys):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    ba = numfmt.encode(files, "mxfp8_e4m3")
    np.savez("bs.npz", scales=ba.scales.view(np.int8), codes=ba.codes.view(np.int8))
    assert main(["identify", "--format", "mxfp8_e4m3", "--input", "x.npy", "--output", "bs.npz"]) == 0
    assert "1.     100%" in capsys.readouterr().out
    xb = files.astype(ml_dtypes.bfloat16)
    xb.tofile("xb.raw")
    numfmt.encode(xb, "e4m3", rounding="toward_positive").tofile("yb.raw")
    assert main(["identify", "--format", "e4m3", "--input", "xb.raw", "--dtype", "bfloat16", "--output", "yb.raw",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["rule"] == {"rounding": "toward_positive"}
    argv = ["check", "--format", "e4m3", "--input", "xb.raw", "--input-dtype", "bfloat16", "--output", "yb.raw",
            "--identify", "--json"]
    assert main(argv) == 1
    d = json.loads(capsys.readouterr().out)
    assert d["identification"][0]["rule"] == {"rounding": "toward_positive"}
