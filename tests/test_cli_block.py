"""``numfmt check`` with block formats (MX, NVFP4): element codes and scale codes compared separately."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from files import load_module

import numfmt
from numfmt.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run(*args, cwd=None):
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("NUMFMT_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "numfmt", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def _x(shape=(4, 64), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("fmt", ["mxfp4", "mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e2m3", "mxfp6_e3m2", "mxint8",
                                 "nvfp4"])
def test_round_trip_npz_exit_0(tmp_path, fmt, capsys):
    x = _x((3, 80))  # 80 is not a multiple of 32 or 16: short last blocks
    np.save(tmp_path / "x.npy", x)
    ba = numfmt.encode(x, fmt)
    extra = {} if ba.tensor_scale is None else {"tensor_scale": ba.tensor_scale}
    np.savez(tmp_path / "hw.npz", codes=ba.codes, scales=ba.scales, **extra)
    args = ["check", "--format", fmt, "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "hw.npz")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "-- all codes match" in out and f"in {ba.scales.size} blocks" in out
    if fmt == "nvfp4":
        assert f"tensor scale: expected {float(ba.tensor_scale)!r}, actual {float(ba.tensor_scale)!r}" in out
    assert main([*args, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["ok"] and d["different"] == 0 and d["blocks"] == ba.scales.size and d["size"] == x.size
    assert d["scales"]["compared"] == ba.scales.size and d["elements"]["compared"] == x.size
    assert d["tensor_scale"]["compared"] is (fmt == "nvfp4")


def test_round_trip_subprocess_separate_files(tmp_path):
    x = _x()
    np.save(tmp_path / "x.npy", x)
    ba = numfmt.encode(x, "mxfp8_e4m3")
    np.save(tmp_path / "codes.npy", ba.codes)
    ba.scales.tofile(tmp_path / "scales.bin")
    p = run("check", "--format", "mxfp8_e4m3", "--input", "x.npy", "--output", "codes.npy", "--scales",
            "scales.bin", cwd=tmp_path)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert "compare block array mxfp8_e4m3: 256 elements in 8 blocks of 32 along axis 1 -- all codes match" in p.stdout
    assert "compare scales float8_e8m0fnu: 8 compared, 8 equal, 0 different" in p.stdout


@pytest.fixture()
def planted(tmp_path):
    """mxfp4 data with one planted element mismatch (a tie) and one planted scale mismatch."""
    x = _x((4, 64))
    x[0, 3] = 0.0
    x[0, 0] = 6.0          # block (0, 0): amax 6 -> scale 2**0
    x[0, 5] = 2.5          # a tie of E2M1 between 2.0 and 3.0: expected 2.0 (even)
    ba = numfmt.encode(x, "mxfp4")
    codes, scales = ba.codes.copy(), ba.scales.copy()
    assert int(codes[0, 5]) == 0x4
    codes[0, 5] = 0x5      # tie broken away from zero
    scales[2, 1] += 1      # block (2, 1): scale twice as large
    codes[2, 40] ^= 1      # and an element inside that block
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "bad.npz", codes=codes, scales=scales)
    numfmt.pack(codes, 4).tofile(tmp_path / "codes.bin")
    scales.tofile(tmp_path / "scales.bin")
    return tmp_path, x, ba, codes, scales


def test_planted_mismatches_exit_1_name_blocks_and_elements(planted, capsys):
    d = planted[0]
    args = ["check", "--format", "mxfp4", "--input", str(d / "x.npy"), "--output", str(d / "bad.npz")]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "scales:   1 of 8 different" in out
    assert "elements: 2 of 256 different, in 2 blocks (1 in blocks whose scale differs, 1 off with" in out
    assert "first 2 mismatches by block:" in out
    rows = [ln.split() for ln in out.splitlines() if ln.startswith("    0,5 ") or ln.startswith("    2,40 ")]
    assert rows[0][:7] == ["0,5", "0,0", "2.5", "0x7f=1.0", "0x7f=1.0", "0x4=2.0", "0x5=3.0"]
    assert "tie broken the other way" in out
    assert rows[1][1] == "2,1" and rows[1][3] != rows[1][4]
    row2 = next(ln for ln in out.splitlines() if ln.startswith("    2,40 "))
    assert "scale +1 ulp; element" in row2
    assert "compare scales float8_e8m0fnu: 8 compared, 7 equal, 1 different" in out
    assert "compare elements float4_e2m1fn: 256 compared, 254 equal, 2 different" in out
    assert "why the expected element code at index 0,5" in out and "tie          yes" in out
    assert main([*args, "--json"]) == 1
    j = json.loads(capsys.readouterr().out)
    assert not j["ok"] and j["different"] == 3
    assert j["scales"]["different"] == 1 and j["elements"]["different"] == 2
    assert j["elements"]["classes"]["tie"] == 1
    assert j["blocks_with_scale_mismatch"] == 1 and j["elements_in_scale_mismatch_blocks"] == 1
    ex = j["examples"]
    assert [e["index"] for e in ex] == [[0, 5], [2, 40]] and [e["block"] for e in ex] == [[0, 0], [2, 1]]
    assert ex[0]["what"] == "element" and ex[0]["x"] == 2.5
    assert ex[0]["expected"]["hex"] == "0x4" and ex[0]["actual"]["hex"] == "0x5"
    assert ex[1]["what"] == "scale and element"
    assert ex[1]["actual_scale"]["code"] == ex[1]["expected_scale"]["code"] + 1
    json.dumps(j, allow_nan=False)


def test_scale_only_block_is_listed(planted, capsys):
    d, _, ba, _, scales = planted
    np.savez(d / "s.npz", codes=ba.codes, scales=scales)
    assert main(["check", "--format", "mxfp4", "--input", str(d / "x.npy"), "--output", str(d / "s.npz"),
                 "--json"]) == 1
    j = json.loads(capsys.readouterr().out)
    assert j["elements"]["different"] == 0 and j["scales"]["different"] == 1
    assert [(e["index"], e["block"], e["what"]) for e in j["examples"]] == [([2, 32], [2, 1], "scale")]


@pytest.mark.parametrize("order", ["low_first", "high_first"])
def test_packed_fp4_with_raw_scales(planted, order, capsys):
    d, _, ba, _, _ = planted
    ba.pack(order=order).tofile(d / "good.bin")
    ba.scales.tofile(d / "good_scales.bin")
    base = ["check", "--format", "mxfp4", "--input", str(d / "x.npy"), "--packed", "--no-explain"]
    assert main([*base, "--output", str(d / "good.bin"), "--scales", str(d / "good_scales.bin"),
                 "--order", order]) == 0
    assert "(packed, " + order + ")" in capsys.readouterr().out
    other = "high_first" if order == "low_first" else "low_first"
    assert main([*base, "--output", str(d / "good.bin"), "--scales", str(d / "good_scales.bin"),
                 "--order", other]) == 1  # nibbles swapped
    capsys.readouterr()
    if order == "low_first":
        assert main([*base, "--output", str(d / "codes.bin"), "--scales", str(d / "scales.bin")]) == 1
        out = capsys.readouterr().out
        assert "elements: 2 of 256 different" in out and "scales:   1 of 8 different" in out


def test_packed_fp6_ptx_axis0_raw_input_with_shape(tmp_path, capsys):
    x = _x((70, 3), seed=2)  # blocks along axis 0: 3 blocks per column, the last of 6 elements
    x.tofile(tmp_path / "x.f32")
    ba = numfmt.encode(x, "mxfp6_e3m2", axis=0)
    assert ba.scales.shape == (3, 3)
    numfmt.pack(ba.codes, 6, order="ptx").tofile(tmp_path / "c.bin")
    np.save(tmp_path / "s.npy", ba.scales)
    args = ["check", "--format", "mxfp6_e3m2", "--input", str(tmp_path / "x.f32"), "--input-dtype", "float32",
            "--shape", "70,3", "--axis", "0", "--output", str(tmp_path / "c.bin"), "--packed", "--order", "ptx",
            "--scales", str(tmp_path / "s.npy")]
    assert main(args) == 0
    assert "210 elements in 9 blocks of 32 along axis 0" in capsys.readouterr().out
    bad = ba.codes.copy()
    bad[65, 2] ^= 1  # in the short last block (2, 2)
    numfmt.pack(bad, 6, order="ptx").tofile(tmp_path / "c.bin")
    assert main([*args, "--json"]) == 1
    j = json.loads(capsys.readouterr().out)
    assert j["examples"][0]["index"] == [65, 2] and j["examples"][0]["block"] == [2, 2]
    assert j["axis"] == 0 and j["shape"] == [70, 3]


def test_policy_options_map_to_encode(tmp_path, capsys):
    x = _x((2, 64), seed=3)
    x[0, 0] = 7.6  # amax 1.9 * 2**2: rceil (amax / 448 rounded up) is floor's scale * 2
    np.save(tmp_path / "x.npy", x)
    for fmt, kw, flags in [
        ("mxfp8_e4m3", {"scale_rule": "rceil"}, ["--scale-rule", "rceil"]),
        ("mxfp4", {"scale_rule": "ceil", "recipe": "torchao"}, ["--scale-rule", "ceil", "--recipe", "torchao"]),
        ("mxfp4", {"rounding": "stochastic", "random": 7, "rbits": 8},
         ["--rounding", "stochastic", "--seed", "7", "--rbits", "8"]),
        ("nvfp4", {"recipe": "modelopt"}, ["--recipe", "modelopt"]),
        ("nvfp4", {"tensor_scale": False}, ["--tensor-scale", "off"]),
        ("nvfp4", {"tensor_amax": 10.0}, ["--tensor-amax", "10"]),
        ("nvfp4", {"tensor_scale": 0.25}, ["--tensor-scale", "0.25"]),
    ]:
        ba = numfmt.encode(x, fmt, **kw)
        parts = {"codes": ba.codes, "scales": ba.scales}
        if ba.tensor_scale is not None:
            parts["tensor_scale"] = ba.tensor_scale
        np.savez(tmp_path / "hw.npz", **parts)
        args = ["check", "--format", fmt, "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "hw.npz")]
        assert main([*args, *flags]) == 0, (fmt, flags, capsys.readouterr())
        capsys.readouterr()
        dflt = numfmt.encode(x, fmt)
        same = (np.array_equal(dflt.codes, ba.codes) and np.array_equal(dflt.scales, ba.scales)
                and dflt.tensor_scale == ba.tensor_scale)
        assert main(args) == (0 if same else 1), (fmt, flags)  # the default policy
        capsys.readouterr()
        if "--tensor-scale" not in flags and "modelopt" not in flags:
            assert not same, (fmt, flags)  # the option matters on these inputs


def test_nvfp4_tensor_scale_mismatch(tmp_path, capsys):
    x = _x((2, 32), seed=4)
    np.save(tmp_path / "x.npy", x)
    ba = numfmt.encode(x, "nvfp4")
    np.savez(tmp_path / "hw.npz", codes=ba.codes, scales=ba.scales, tensor_scale=np.float32(0.5))
    np.savez(tmp_path / "hw2.npz", codes=ba.codes, scales=ba.scales)
    args = ["check", "--format", "nvfp4", "--input", str(tmp_path / "x.npy")]
    assert main([*args, "--output", str(tmp_path / "hw.npz")]) == 1
    out = capsys.readouterr().out
    assert "tensor scale: expected" in out and "actual 0.5" in out and "note: tensor_scale differs" in out
    assert main([*args, "--output", str(tmp_path / "hw2.npz")]) == 0
    assert "not in the output, not compared" in capsys.readouterr().out
    assert main([*args, "--output", str(tmp_path / "hw2.npz"), "--output-tensor-scale",
                 repr(float(ba.tensor_scale))]) == 0
    capsys.readouterr()
    assert main([*args, "--output", str(tmp_path / "hw2.npz"), "--output-tensor-scale", "0.5"]) == 1


BLOCK_ERRORS = [
    (["--format", "mxfp4", "--output", "codes.npy"], "give its scale codes with --scales"),
    (["--format", "mxfp4", "--output", "codes.npy", "--scales", "short.npy"], "mismatched lengths"),
    (["--format", "mxfp4", "--output", "codes.npy", "--scales", "scales.npy", "--saturation", "finite"],
     "--saturation does not apply to block formats"),
    (["--format", "mxfp4", "--output", "codes.npy", "--scales", "scales.npy", "--nan", "zero"], "--nonfinite"),
    (["--format", "mxfp4", "--output", "codes.npy", "--scales", "scales.npy", "--compat", "torch"], "--recipe"),
    (["--format", "mxfp4", "--output", "codes.npy", "--scales", "scales.npy", "--recipe", "te"],
     "recipe='te' is not one of"),
    (["--format", "mxfp4", "--output", "codes.npy", "--scales", "scales.npy", "--scale-rule", "bogus"],
     "scale_rule='bogus' is not one of"),
    (["--format", "mxfp4", "--output", "codes.npy", "--scales", "scales.npy", "--tensor-scale", "0.5"],
     "tensor_scale/tensor_amax need scale_rule='amax'"),
    (["--format", "nvfp4", "--output", "codes.npy", "--scales", "scales.npy", "--tensor-scale", "abc"],
     "--tensor-scale 'abc' is not a number"),
    (["--format", "nvfp4", "--output", "codes.npy", "--scales", "scales.npy", "--tensor-amax", "nan"],
     "--tensor-amax must be a finite non-negative float32"),
    (["--format", "nvfp4", "--output", "codes.npy", "--scales", "scales.npy", "--tensor-amax", "-1"],
     "--tensor-amax must be a finite non-negative float32"),
    (["--format", "e4m3", "--output", "codes.npy", "--scale-rule", "floor"], "is an option of block formats"),
    (["--format", "mxfp8_e4m3", "--output", "codes.bin", "--scales", "scales.npy", "--packed"],
     "--packed takes 1-, 2-, 4- or 6-bit codes"),
    (["--format", "mxfp4", "--output", "codes.npy", "--scales", "scales.npy", "--axis", "2"], "out of range"),
    (["--format", "mxfp4", "--output", "codes.npy", "--scales", "scales.npy", "--shape", "3,3"],
     "--shape 3,3 holds 9 elements"),
    (["--format", "mxfp4", "--output", "codes.npy", "--scales", "scales.npy", "--shape", "a,b"], "is not a shape"),
    (["--format", "mxfp4", "--output", "only_codes.npz"], "has no array 'scales'"),
    (["--format", "mxfp4", "--output", "wide.npy", "--scales", "scales.npy"], "output code 0x10 at index 0"),
    (["--format", "mxfp4", "--output", "codes.npy", "--scales", "float_scales.npy"], "must hold integer codes"),
    (["--format", "mxfp4", "--output", "codes.npy", "--scales", "scales_t.npy"], "expected (4, 2)"),
    (["--format", "mxfp4", "--output", "codes.bin", "--packed", "--scales", "scales.npy", "--order", "ptx"],
     "--order ptx is the 6-bit"),
]


@pytest.mark.parametrize("args,msg", BLOCK_ERRORS)
def test_bad_block_usage_one_line_exit_2(tmp_path, args, msg, capsys, monkeypatch):
    x = _x((4, 64))
    np.save(tmp_path / "x.npy", x)
    ba = numfmt.encode(x, "mxfp4")
    np.save(tmp_path / "codes.npy", ba.codes)
    ba.pack().tofile(tmp_path / "codes.bin")
    np.save(tmp_path / "scales.npy", ba.scales)
    np.save(tmp_path / "scales_t.npy", ba.scales.T)
    np.save(tmp_path / "short.npy", ba.scales[:, :1])
    np.save(tmp_path / "float_scales.npy", ba.scales.astype(np.float32))
    np.save(tmp_path / "wide.npy", np.full(x.shape, 16, np.uint8))
    np.savez(tmp_path / "only_codes.npz", codes=ba.codes, other=ba.codes)
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--input", "x.npy", *args]) == 2
    cap = capsys.readouterr()
    lines = cap.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("numfmt") and msg in lines[0], cap.err
    assert cap.out == ""


def test_bad_block_usage_subprocess(tmp_path):
    x = _x((2, 32))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "c.npy", numfmt.encode(x, "mxfp4").codes)
    p = run("check", "--format", "mxfp4", "--input", "x.npy", "--output", "c.npy", cwd=tmp_path)
    assert p.returncode == 2 and "Traceback" not in p.stderr and len(p.stderr.splitlines()) == 1
    assert "--scales" in p.stderr


def test_help_lists_block_options():
    p = run("check", "--help")
    assert p.returncode == 0
    for flag in ("--scales", "--scale-rule", "--recipe", "--axis", "--tensor-scale", "--shape"):
        assert flag in p.stdout


def test_docs_example_runs(monkeypatch):
    hooks = load_module(ROOT / "docs" / "hooks.py", "numfmt_docs_hooks_cli")
    monkeypatch.chdir(ROOT)
    text = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    out = hooks.render_markdown(text, "validation.md")
    assert os.getcwd() == str(ROOT)  # the page's example goes back to where it started
    assert "$ numfmt check --format mxfp4" in out
    assert "scales:   1 of 2 different" in out and "tie broken the other way" in out
    assert "(1, 1, [((5,), (0,), 'element'), ((32,), (1,), 'scale')])" in out
