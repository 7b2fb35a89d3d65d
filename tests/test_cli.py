"""The numfmt command, run as a new user would: subprocesses of ``python -m numfmt`` (and the console script)."""

from __future__ import annotations

import io
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import numfmt
from numfmt.cli import main

BIN = pathlib.Path(sys.executable).parent


def run(*args, cwd=None):
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("NUMFMT_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "numfmt", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def one_line_error(p):
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("numfmt"), p.stderr
    return lines[0]


@pytest.mark.parametrize("cmd", ["", "formats", "info", "table", "encode", "decode", "explain", "check", "bench"])
def test_help(cmd):
    p = run(*([cmd] if cmd else []), "--help")
    assert p.returncode == 0 and p.stderr == ""
    assert p.stdout.startswith("usage: numfmt")
    if cmd in ("encode", "explain", "check"):
        assert "--rounding" in p.stdout and "--saturation" in p.stdout and "--seed" in p.stdout


def test_console_script():
    exe = BIN / "numfmt"
    if not exe.exists():
        pytest.skip("console script not installed (pip install -e .)")
    p = subprocess.run([str(exe), "info", "e4m3", "--json"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0
    d = json.loads(p.stdout)
    assert d["name"] == "float8_e4m3fn" and d["max"] == "448.0" and d["nan code"] == "0x7f"


def test_formats_table():
    p = run("formats")
    assert p.returncode == 0
    lines = p.stdout.splitlines()
    assert lines[0].split()[:4] == ["name", "bits", "layout", "bias"]
    row = next(ln for ln in lines if ln.startswith("float8_e4m3fn "))
    assert row.split()[:5] == ["float8_e4m3fn", "8", "e4m3", "7", "448.0"]
    assert "fn (all-ones magnitude)" in row
    assert any(ln.startswith("block format") for ln in lines)
    # columns are aligned: every row of the first table is as wide as the header's first columns
    assert all(ln.index(" ") <= lines[0].index("bits") for ln in lines[1:20])


def test_formats_info_table_in_process(capsys):
    assert main(["formats", "--json", "--kind", "int"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} >= {"int4", "int8", "uint8"} and all(r["bias"] is None for r in rows)
    assert main(["info", "binary8p3se"]) == 0
    out = capsys.readouterr().out
    assert "+inf code                   0x7f" in out and "nan code                    0x80" in out
    assert main(["table", "e2m1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "code  fields  value  class" and lines[8] == "0x7   0|11|1  6.0    normal"
    assert lines[9] == "0x8   1|00|0  -0.0   zero"
    assert main(["table", "e4m3", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0x7F] == {"code": "0x7f", "fields": "0|1111|111", "value": "nan", "class": "nan"}


def test_encode_decode_explain_in_process(capsys):
    assert main(["encode", "e5m2", "61440", "-61440", "-inf", "0x1.ep15", "--saturation", "finite"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["61440", "0x7b", "0|11110|11", "57344.0"]
    assert out[2].split() == ["-61440", "0xfb", "1|11110|11", "-57344.0"]
    assert out[3].split() == ["-inf", "0xfb", "1|11110|11", "-57344.0"]
    assert out[4].split() == ["0x1.ep15", "0x7b", "0|11110|11", "57344.0"]
    assert main(["encode", "e2m1", "0.25", "0.75", "2.5", "--rounding", "rna", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["code_int"] for r in rows] == [1, 2, 5]
    assert main(["encode", "binary8p3se", "1.075", "--rounding", "stochastic", "--rbits", "4", "--seed", "7"]) == 0
    want = numfmt.encode(np.array([1.075]), "binary8p3se", rounding="stochastic", rbits=4, random=7)
    assert capsys.readouterr().out.splitlines()[1].split()[1] == f"0x{int(want[0]):02x}"
    assert main(["decode", "e4m3", "0x7e", "127", "0b10000000", "01"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [ln.split() for ln in out[1:]] == [["0x7e", "0|1111|110", "448.0", "normal"],
                                             ["0x7f", "0|1111|111", "nan", "nan"],
                                             ["0x80", "1|0000|000", "-0.0", "zero"],
                                             ["0x01", "0|0000|001", "0.001953125", "subnormal"]]
    assert main(["explain", "e4m3", "1.0625", "--dtype", "float32", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["tie"] is True and d["code_hex"] == "0x38" and d["input_dtype"] == "float32"


def test_explain_subprocess_literal():
    p = run("explain", "e4m3", "-464")
    assert p.returncode == 0 and p.stderr == ""
    lines = [ln.strip() for ln in p.stdout.splitlines()]
    assert lines[0] == "explain -464.0 -> float8_e4m3fn  (rounding=nearest_even, saturation=none, nan=raise)"
    assert "toward zero  -448.0 = 0xfe (1|1111|110)" in lines
    assert "away         -480.0  (beyond max 448.0; no code)" in lines
    assert "rule         nearest_even: a tie; 0xfe is even, keep it (toward zero)" in lines
    assert lines[-1] == "result       0xfe (1|1111|110) = -448.0"


@pytest.fixture()
def files(tmp_path):
    x = np.array([1.0625, 3.0, 500.0, -0.0, 0.1, 464.0, 1.1875, 2.0**-10, -1e6, 7.0], np.float32)
    np.save(tmp_path / "x.npy", x)
    x.tofile(tmp_path / "x.f32")
    np.savez(tmp_path / "xz.npz", inputs=x)
    good = np.asarray(numfmt.encode(x, "e4m3"))
    np.save(tmp_path / "good.npy", good)
    good.tofile(tmp_path / "good.u8")
    bad = good.copy()
    bad[0] = 0x39  # tie broken away
    bad[2] = 0x7E  # saturated instead of NaN
    np.save(tmp_path / "bad.npy", bad)
    x4 = np.array([0.25, 0.75, 2.5, 5.0, -6.0], np.float32)
    np.save(tmp_path / "x4.npy", x4)
    c4 = np.asarray(numfmt.encode(x4, "e2m1")).astype(np.int64)
    packed = np.zeros(3, np.uint8)
    for i, c in enumerate(c4):
        packed[i // 2] |= c << (4 * (i % 2))
    packed.tofile(tmp_path / "c4.bin")
    return tmp_path


def test_check_match_and_mismatch(files):
    p = run("check", "--format", "e4m3", "--input", "x.npy", "--output", "good.npy", cwd=files)
    assert p.returncode == 0, p.stderr
    assert "10 compared, 10 equal, 0 different -- all codes match" in p.stdout
    p = run("check", "--format", "e4m3", "--input", "x.f32", "--input-dtype", "float32", "--output", "bad.npy",
            cwd=files)
    assert p.returncode == 1 and p.stderr == ""
    assert "10 compared, 8 equal, 2 different" in p.stdout
    assert "tie broken the other way" in p.stdout and "saturated vs overflowed" in p.stdout
    assert "why the expected code at index 0:" in p.stdout


def test_check_json_packed_raw_and_saturation(files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    assert main(["check", "--format", "e4m3", "--input", "xz.npz", "--output", "bad.npy", "--json"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert d["different"] == 2 and d["classes"] == {"tie": 1, "saturated_vs_overflowed": 1}
    assert d["examples"][0]["index"] == [0] and d["policy"]["rounding"] == "nearest_even"
    assert main(["check", "--format", "e2m1", "--input", "x4.npy", "--output", "c4.bin", "--packed"]) == 0
    capsys.readouterr()
    assert main(["check", "--format", "e2m1", "--input", "x4.npy", "--output", "c4.bin", "--packed",
                 "--order", "high_first", "--no-explain"]) == 1
    assert "ulps away from zero" in capsys.readouterr().out
    assert main(["check", "--format", "e4m3", "--input", "x.npy", "--output", "good.u8",
                 "--saturation", "finite"]) == 1
    assert "saturated vs overflowed" in capsys.readouterr().out


@pytest.mark.parametrize("order", ["low_first", "high_first", "ptx"])
def test_check_packed_fp6_in_chunks(tmp_path, order):
    x = np.random.default_rng(1).standard_normal(37).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    codes = numfmt.encode(x, "e3m2")
    numfmt.pack(codes, 6, order=order).tofile(tmp_path / "y.bin")
    args = ["check", "--format", "e3m2", "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.bin"),
            "--packed", "--order", order, "--chunk-size", "8"]
    assert main(args) == 0
    bad = codes.copy()
    bad[30] ^= 1
    numfmt.pack(bad, 6, order=order).tofile(tmp_path / "y.bin")
    assert main([*args, "--json"]) == 1


def test_check_chunks_with_seeded_stochastic_rounding(tmp_path, capsys):
    x = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    codes = numfmt.encode(x, "e4m3", rounding="stochastic", random=11, rbits=8)
    codes.tofile(tmp_path / "y.bin")
    args = ["check", "--format", "e4m3", "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.bin"),
            "--rounding", "stochastic", "--seed", "11", "--rbits", "8"]
    assert main([*args, "--chunk-size", "96"]) == 0  # chunks draw the bits of their global indices
    capsys.readouterr()
    assert main([*args, "--seed", "12", "--json"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert d["compared"] == 1000 and 0 < d["different"] < 1000 and d["policy"]["random"] == 12


def test_progress_bar_only_when_enabled(monkeypatch):
    from numfmt.cli._check import _progress

    buf = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buf)
    _progress(5, 10, False)
    assert buf.getvalue() == ""
    _progress(5, 10, True)
    assert "50.0%" in buf.getvalue()


ACCEPTANCE_ERRORS = [
    (["check", "--format", "e4m3", "--input", "missing.npy", "--output", "good.npy"], "does not exist"),
    (["check", "--format", "e4m3", "--input", "odd.f32", "--input-dtype", "float32", "--output", "good.u8"],
     "not a multiple of the float32 element size 4"),
    (["info", "e9m9"], "unknown format 'e9m9'"),
    (["encode", "e4m3", "1.2.3"], "cannot parse '1.2.3' as a number"),
    (["check", "--format", "e4m3", "--input", "x4.npy", "--output", "good.npy"], "mismatched lengths"),
]
MORE_ERRORS = [
    (["check", "--format", "e2m1", "--input", "x.npy", "--output", "c4.bin", "--packed"], "mismatched lengths"),
    (["check", "--format", "e4m3", "--input", "x.f32", "--output", "good.npy"], "needs --input-dtype"),
    (["check", "--format", "e4m3", "--input", "xz.npz", "--output", "good.npy", "--input-key", "nope"],
     "has no array 'nope'"),
    (["check", "--format", "e4m3", "--input", "x.npy"], "--output"),
    (["check", "--format", "mxfp4", "--input", "x.npy", "--output", "good.npy"], "give its scale codes with --scales"),
    (["info", "mxfp4"], "is a block format"),
    (["decode", "e4m3", "0x100"], "outside 0..0xff"),
    (["decode", "e4m3", "zz"], "cannot parse 'zz' as a code"),
    (["encode", "e2m1", "nan"], "has no NaN"),
    (["encode", "e4m3", "1", "--rounding", "sr"], "--seed"),
    (["encode", "e4m3", "1", "--rounding", "bogus"], "rounding='bogus'"),
    (["encode", "int8", "1.5", "--dtype", "int8"], "is not an integer"),
    (["encode", "e4m3", "1", "--dtype", "complex64"], "complex"),
    (["frobnicate"], "invalid choice"),
    ([], "required"),
]


@pytest.mark.parametrize("args,msg", ACCEPTANCE_ERRORS)
def test_bad_input_subprocess_one_line_exit_2(files, args, msg):
    (files / "odd.f32").write_bytes(b"\0" * 7)
    line = one_line_error(run(*args, cwd=files))
    assert msg in line


@pytest.mark.parametrize("args,msg", MORE_ERRORS)
def test_bad_usage_in_process_one_line_exit_2(files, args, msg, capsys, monkeypatch):
    monkeypatch.chdir(files)
    assert main(args) == 2
    cap = capsys.readouterr()
    lines = cap.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("numfmt") and msg in lines[0], cap.err
    assert cap.out == ""


def test_negative_numbers_are_values_not_options(capsys):
    assert main(["encode", "e4m3", "-1e6", "-inf", "-0.5", "-0x1p-9", "--saturation", "finite"]) == 0
    out = [ln.split()[1] for ln in capsys.readouterr().out.splitlines()[1:]]
    assert out == ["0xfe", "0xfe", "0xb0", "0x81"]
