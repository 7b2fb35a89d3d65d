"""Fuzzing the `numfmt` command with bad files and bad arguments, in-process through `main()`.

Every failing invocation must exit with status 2 and exactly one line on stderr, never an
"internal error" or a traceback (`check` exits 1 when codes differ); a FIFO is refused without
being opened (it would block).
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import shutil
import tempfile
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from numfmt.cli import main

DIR = tempfile.mkdtemp(prefix="numfmt-cli-fuzz-")
atexit.register(shutil.rmtree, DIR, True)


def _path(name: str) -> str:
    return os.path.join(DIR, name)


def _make_files() -> dict:
    """Good and bad files, made once: name -> path."""
    x = np.linspace(-3, 3, 64, dtype=np.float32)
    np.save(_path("x.npy"), x)
    np.save(_path("x2d.npy"), x.reshape(2, 32))
    np.save(_path("codes.npy"), np.zeros(64, np.uint8))
    np.save(_path("codes12.npy"), np.zeros(12, np.uint8))
    np.save(_path("scales.npy"), np.full(2, 127, np.uint8))
    np.save(_path("float_codes.npy"), np.zeros(64, np.float32))
    np.save(_path("complex.npy"), np.zeros(64, np.complex64))
    np.save(_path("bool.npy"), np.zeros(64, bool))
    np.save(_path("big_codes.npy"), np.full(64, 300, np.uint16))
    np.save(_path("strings.npy"), np.array(["a"] * 64))
    np.save(_path("zero_d.npy"), np.float32(1.5))
    np.savez(_path("xy.npz"), x=x, codes=np.zeros(64, np.uint8))
    np.savez(_path("block.npz"), codes=np.zeros(64, np.uint8), scales=np.full(2, 127, np.uint8))
    open(_path("empty.npy"), "wb").close()
    open(_path("empty.npz"), "wb").close()
    open(_path("empty.bin"), "wb").close()
    with open(_path("xy.npz"), "rb") as f:
        data = f.read()
    with open(_path("truncated.npz"), "wb") as f:
        f.write(data[: len(data) // 2])
    with open(_path("x.npy"), "rb") as f:
        data = f.read()
    with open(_path("truncated.npy"), "wb") as f:
        f.write(data[:100])
    with open(_path("garbage.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + b"\xff" * 80)
    with zipfile.ZipFile(_path("notnpy.npz"), "w") as z:
        z.writestr("x.npy", b"not a npy file")
    with open(_path("raw3.bin"), "wb") as f:
        f.write(b"\0" * 3)
    with open(_path("raw.bin"), "wb") as f:
        f.write(np.zeros(64, np.float32).tobytes())
    os.mkdir(_path("dir.npy"))
    files = {n: _path(n) for n in os.listdir(DIR)}
    if hasattr(os, "mkfifo"):
        for n in ("fifo.npy", "fifo.npz", "fifo.bin"):
            os.mkfifo(_path(n))
            files[n] = _path(n)
    files["missing.npy"] = _path("missing.npy")
    return files


FILES = _make_files()
GOOD_IN, GOOD_OUT = FILES["x.npy"], FILES["codes.npy"]
FORMATS = ["e4m3", "e4m4", "E4M3", "e4m3fn ", "float8", "", "mxfp4", "nvfp4", "mxfp5", "binary8p9se", "int8",
           "-e4m3", "binary64", "0x38"]
ROUNDINGS = ["nearest_even", "nearest", "nearest_evn", "rne", "toward-zero", "TOWARD_ZERO", "stochastic", "x", ""]
NUMBERS = ["1.5", "1e999", "-1e-999", "nan", "-inf", "0x1p3", "0x", "1_0", "", "1e", "½", "0b101", "--", "1,5",
           "9" * 400, "0x38", "-0x38", "0x1ff", "128", "-1", "1.0.0", "inf"]


def run(argv):
    """(exit status, stdout, stderr) of `numfmt argv` run in-process."""
    out, err = io.StringIO(), io.StringIO()
    env = os.environ.pop("NUMFMT_DEBUG", None)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main([str(a) for a in argv])
            except SystemExit as e:  # (argparse in `numfmt bench`)
                rc = e.code if isinstance(e.code, int) else 2
    finally:
        if env is not None:
            os.environ["NUMFMT_DEBUG"] = env
    return rc, out.getvalue(), err.getvalue()


def check_failure_is_clean(argv) -> int:
    rc, _out, err = run(argv)
    if rc == 0 or (rc == 1 and argv[0] == "check"):  # (check: 1 when codes differ, the report on stdout)
        assert "Traceback" not in err and "internal error" not in err, (argv, err)
        return rc
    assert rc == 2, (argv, rc, err)
    lines = err.splitlines()
    assert len(lines) == 1, (argv, err)
    assert lines[0].startswith("numfmt"), (argv, err)
    assert "internal error" not in err and "Traceback" not in err, (argv, err)
    return rc


# ------------------------------------------------------------------ bad files


@pytest.mark.parametrize("bad", sorted(set(FILES) - {"x.npy", "x2d.npy", "xy.npz", "zero_d.npy", "raw.bin"}))
@pytest.mark.parametrize("role", ["input", "output", "scales"])
def test_bad_file_is_one_line_exit_2(bad, role):
    fmt = "mxfp4" if role == "scales" else "e4m3"
    args = {"input": GOOD_IN, "output": GOOD_OUT}
    extra = ["--scales", FILES["scales.npy"]] if role == "scales" else []
    if role == "scales":
        extra = ["--scales", FILES[bad]]
    else:
        args[role] = FILES[bad]
    if bad.endswith(".bin") and not bad.startswith("fifo"):
        extra += [f"--{role}-dtype", "float32" if role == "input" else "uint8"]
    argv = ["check", "--format", fmt, "--input", args["input"], "--output", args["output"], "--no-progress", *extra]
    rc = check_failure_is_clean(argv)
    if bad in ("missing.npy", "dir.npy", "empty.npy", "truncated.npz", "truncated.npy", "fifo.npy", "fifo.npz",
               "fifo.bin", "garbage.npy", "complex.npy", "strings.npy", "notnpy.npz", "empty.npz", "raw3.bin"):
        assert rc == 2, (bad, role)


@given(inp=st.sampled_from(sorted(FILES)), outp=st.sampled_from(sorted(FILES)),
       scales=st.sampled_from([None, *sorted(FILES)]), fmt=st.sampled_from(FORMATS),
       opts=st.lists(st.sampled_from([
           ["--input-dtype", "float32"], ["--input-dtype", "bogus"], ["--output-dtype", "uint8"],
           ["--output-dtype", "float32"], ["--input-key", "x"], ["--output-key", "nope"], ["--packed"],
           ["--order", "high"], ["--max-examples", "-1"], ["--chunk-size", "0"], ["--axis", "5"],
           ["--shape", "2,32"], ["--shape", "x"], ["--shape", "-1,64"], ["--rounding", "nearst"],
           ["--saturation", "satfinite"], ["--nan", "zero"], ["--seed", "-1"], ["--rbits", "40"],
           ["--tensor-amax", "nan"], ["--tensor-scale", "1e40"], ["--scale-rule", "flor"], ["--json"],
           ["--compat", "torch"], ["--compat", "numpy"], ["--output-tensor-scale", "-1"],
       ]), max_size=3))
def test_check_fuzz(inp, outp, scales, fmt, opts):
    argv = ["check", "--format", fmt, "--input", FILES[inp], "--output", FILES[outp], "--no-progress",
            "--no-explain"]
    if scales is not None:
        argv += ["--scales", FILES[scales]]
    for o in opts:
        argv += o
    check_failure_is_clean(argv)


# ------------------------------------------------------------------ bad arguments


@given(cmd=st.sampled_from(["encode", "decode", "explain", "info", "table"]), fmt=st.sampled_from(FORMATS),
       nums=st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=3),
       opts=st.lists(st.sampled_from([
           ["--rounding", r] for r in ROUNDINGS] + [
           ["--saturation", "finit"], ["--saturation", "finite"], ["--nan", "zer"], ["--nan", "max"],
           ["--seed", "5"], ["--seed", "18446744073709551616"], ["--seed", "x"], ["--rbits", "0"],
           ["--rbits", "4"], ["--rbits", "4.0"], ["--compat", "ml-dtypes"], ["--compat", "ptx"],
           ["--dtype", "float16"], ["--dtype", "bfloat16"], ["--dtype", "int8"], ["--dtype", "complex64"],
           ["--dtype", "flaot32"], ["--index", "-1"], ["--index", "99999999999999999999"], ["--json"], ["--bogus"],
       ]), max_size=3))
def test_arguments_fuzz(cmd, fmt, nums, opts):
    argv = [cmd, fmt]
    if cmd in ("encode", "decode"):
        argv += nums
    elif cmd == "explain":
        argv += nums[:1]
    for o in opts:
        argv += o
    check_failure_is_clean(argv)


@pytest.mark.parametrize("argv", [
    ["bench", "--bogus"], ["bench", "--only", "nothing"], ["frobnicate"], ["encode"], ["decode", "e4m3"],
    ["decode", "int8_symmetric", "0x80"], ["encode", "e4m3", "1", "--rounding", "nearest"],
    ["encode", "e4m3", "1", "--rounding", "toward_zer"], ["encode", "e4m9", "1"],
    ["explain", "binary64", "0.1"], ["check", "--format", "e4m3"],
])
def test_known_bad_invocations(argv):
    rc = check_failure_is_clean(argv)
    if argv[:2] != ["explain", "binary64"]:
        assert rc == 2, argv


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
@pytest.mark.parametrize("name", ["fifo.npy", "fifo.npz", "fifo.bin"])
@pytest.mark.parametrize("role", ["input", "output", "scales"])
def test_fifo_is_refused_without_opening(name, role):
    """A FIFO blocked `check` forever (.npy/.npz opened it) or read as empty: refused, never opened."""
    args = {"input": GOOD_IN, "output": GOOD_OUT, "scales": FILES["scales.npy"]}
    args[role] = FILES[name]
    argv = ["check", "--format", "mxfp4", "--input", args["input"], "--output", args["output"],
            "--scales", args["scales"], "--no-progress"]
    if name.endswith(".bin"):
        argv += [f"--{role}-dtype", "float32" if role == "input" else "uint8"]
    rc, _, err = run(argv)
    assert rc == 2 and f"{role} path" in err and "is not a regular file" in err, err
