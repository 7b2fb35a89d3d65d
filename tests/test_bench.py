"""The benchmark's inputs, its honesty checks and its command line (no timing is asserted)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import numfmt
from numfmt import bench
from numfmt.bench import check, inputs
from numfmt.bench.report import format_table, markdown
from numfmt.cli import main


@pytest.mark.parametrize("name", ["e4m3", "e5m2", "e3m2", "e2m3", "e2m1", "bfloat16", "binary16", "int8", "int4"])
def test_distributions(name):
    f = numfmt.get_format(name)
    n = 20000
    g = inputs.sample(f, n, "gaussian_absmax")
    assert g.dtype == np.float32 and g.size == n
    assert float(np.abs(g).max()) == float(f.max)
    li = inputs.sample(f, n, "loguniform_inside")
    a = np.abs(li.astype(np.float64))
    assert (a >= f.smallest_subnormal).all() and (a <= f.max).all()
    assert (li > 0).any() and (li < 0).any()
    # every binade of the finite range is hit, the subnormal one included
    assert a.min() < 2.0 * f.smallest_subnormal and a.max() > f.max / 2
    sp = inputs.sample(f, n, "spread")
    s = np.abs(sp.astype(np.float64))
    assert (s < f.smallest_subnormal).any() and (s > f.max).any()
    # a real-data input rounds onto codes: nothing overflows, a Gaussian rarely underflows
    codes = numfmt.encode(g, f, saturation="finite")
    assert np.isfinite(numfmt.decode(codes, f)).all()


@pytest.mark.parametrize("name", ["mxfp4", "nvfp4"])
@pytest.mark.parametrize("dist", inputs.BLOCK_DISTRIBUTIONS)
def test_block_distributions(name, dist):
    f = numfmt.block.get_block_format(name)
    x = inputs.block_sample(name, 100 * f.block_size, dist).reshape(100, f.block_size).astype(np.float64)
    amax = np.abs(x).max(axis=1)
    assert np.isfinite(x).all() and (amax > 0).all()
    assert amax.max() / amax.min() > 2.0**4  # block magnitudes differ
    if dist == "loguniform_inside":  # each block spans the element range below its own max
        ratio = np.abs(x).min(axis=1) / amax
        assert (ratio >= f.element.smallest_subnormal / f.element.max * (1 - 1e-6)).all()


def test_unknown_distribution():
    with pytest.raises(ValueError, match="dist"):
        inputs.sample("e4m3", 10, "uniform")
    with pytest.raises(ValueError, match="dist"):
        inputs.block_sample("mxfp4", 10, "spread")
    with pytest.raises(ValueError, match="did you mean 'gaussian_absmax'"):
        inputs.sample("e4m3", 10, "gaussian_absmx")


@pytest.mark.parametrize("dist", inputs.DISTRIBUTIONS)
def test_sample_sizes(dist):
    assert inputs.sample("e4m3", 0, dist).shape == (0,)
    assert inputs.sample("e4m3", 0, dist).dtype == np.float32
    if dist in inputs.BLOCK_DISTRIBUTIONS:
        assert inputs.block_sample("mxfp8", 0, dist).shape == (0,)
    with pytest.raises(ValueError, match="n must be >= 0"):
        inputs.sample("e4m3", -1, dist)
    with pytest.raises(TypeError, match="n must be an int"):
        inputs.sample("e4m3", 2.5, dist)


@pytest.mark.parametrize("kw", [{}, {"rounding": "toward_zero"}, {"rounding": "stochastic", "random": 3, "rbits": 8},
                                {"rounding": "stochastic", "random": np.arange(40000, dtype=np.uint32)}])
def test_check_encode_passes_and_catches(kw):
    x = inputs.sample("e2m3", 40000, "loguniform_inside")
    codes = numfmt.encode(x, "e2m3", nan="max", **kw)
    assert check.check_encode(x, codes, "e2m3", nan="max", **kw) == 2 * check.SAMPLE
    for i in (5, 20000):  # an error in either checked stretch is found
        bad = codes.copy()
        bad[i] ^= 1
        with pytest.raises(check.BenchMismatch, match=f"element {i}"):
            check.check_encode(x, bad, "e2m3", nan="max", **kw)


def test_check_decode_passes_and_catches():
    codes = numfmt.encode(inputs.sample("e4m3", 5000, "gaussian_absmax"), "e4m3")
    vals = numfmt.decode(codes, "e4m3")
    assert check.check_decode(codes, vals, "e4m3") == 5000
    vals[17] = np.nextafter(vals[17], np.float32(np.inf))
    with pytest.raises(check.BenchMismatch, match="element 17"):
        check.check_decode(codes, vals, "e4m3")


@pytest.mark.parametrize("name", ["mxfp4", "mxfp8_e4m3", "nvfp4"])
def test_check_block_passes_and_catches(name):
    x = inputs.block_sample(name, 4096, "gaussian_absmax")
    ba = numfmt.encode(x, name)
    assert check.check_block_encode(x, ba, name) == 4096
    y = numfmt.decode(ba)
    assert check.check_block_decode(ba, y) == 4096
    ba.codes[100] ^= 1
    with pytest.raises(check.BenchMismatch, match="element codes"):
        check.check_block_encode(x, ba, name)
    with pytest.raises(check.BenchMismatch, match="block decode"):
        check.check_block_decode(ba, y)


def test_check_block_encode_names_the_global_index():
    x = inputs.block_sample("mxfp4", 4096, "gaussian_absmax")
    ba = numfmt.encode(x, "mxfp4")
    ba.codes[2050] ^= 1  # inside the middle stretch of a 64-element sample
    with pytest.raises(check.BenchMismatch, match="element codes: element 2050 "):
        check.check_block_encode(x, ba, "mxfp4", size=64)
    ba = numfmt.encode(x, "mxfp4")
    ba.scales[65] ^= 1  # block 65: elements 2080..2111
    with pytest.raises(check.BenchMismatch, match="scale codes: block 65 "):
        check.check_block_encode(x, ba, "mxfp4", size=128)


@pytest.mark.parametrize("kw", [{"rounding": "stochastic"}, {"rounding": "sr"}, {"random": 3}, {"rbits": 8}])
def test_check_block_encode_refuses_stochastic(kw):
    x = inputs.block_sample("mxfp4", 64, "gaussian_absmax")
    ba = numfmt.encode(x, "mxfp4")
    with pytest.raises(ValueError, match="deterministic roundings only"):
        check.check_block_encode(x, ba, "mxfp4", **kw)
    tz = numfmt.encode(x, "mxfp4", rounding="toward_zero")
    assert check.check_block_encode(x, tz, "mxfp4", rounding="toward_zero") == 64


def test_rows_every_distribution_checked():
    rs = bench.rows(3000, 1, formats=["e2m1", "int4"])
    timed = [r for r in rs if r["op"].startswith(("encode", "decode"))]
    assert {r["dist"] for r in timed} == set(inputs.DISTRIBUTIONS)
    assert {(r["format"], r["mode"]) for r in timed if r["op"] == "encode out="} == {
        (f, m) for f in ("float4_e2m1fn", "int4")
        for m in ("nearest_even", "toward_zero", "stochastic N=8", "stochastic N=32")}
    assert all(r["checked"] > 0 and r["ratio"] > 0 for r in timed)
    table = format_table(rs)
    assert all(d in table.splitlines()[0] for d in inputs.DISTRIBUTIONS)


def test_block_dist_rows():
    rs = bench.block_dist_rows(2048, 1, formats=["mxfp4", "nvfp4"])
    assert {(r["op"], r["dist"]) for r in rs} == {
        (f"{f} {op}", d) for f in ("mxfp4", "nvfp4") for op in ("encode", "decode out=")
        for d in inputs.BLOCK_DISTRIBUTIONS}
    assert all(r["checked"] > 0 for r in rs)


def test_cli_json_and_markdown(capsys):
    assert main(["bench", "--n", "2000", "--repeat", "1", "--core-only", "--formats", "e2m1",
                 "--dists", "gaussian_absmax,spread", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    meta = doc["meta"]
    assert meta["n"] == 2000 and meta["cores"] >= 1 and meta["numpy"] == np.__version__ and meta["numba"]
    assert meta["command"].startswith("numfmt bench --n 2000")
    assert {r["dist"] for r in doc["rows"] if r["op"] == "encode out="} == {"gaussian_absmax", "spread"}
    md = markdown(doc)
    assert "| encode out= | float4_e2m1fn | nearest_even |" in md and "`loguniform_inside`" not in md


def test_cli_bad_distribution(capsys):
    assert main(["bench", "--dists", "gaussian", "--n", "10"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "gaussian_absmax" in err


def test_every_speed_goal_covers_rows_of_the_committed_run():
    """Each goal of numfmt.bench.goals selects rows of docs/data/bench_run.json (a goal matching
    nothing would be reported as 'not in this run'), and met means every selected row reaches it."""
    from pathlib import Path

    from numfmt.bench.goals import GOALS, goal_rows

    doc = json.loads((Path(__file__).parents[1] / "docs" / "data" / "bench_run.json").read_text(encoding="utf-8"))
    rows = goal_rows(doc)
    assert [r["goal"] for r in rows] == list(GOALS)
    for r in rows:
        assert r["met"] is not None, r["goal"].label
        assert r["met"] == (r["low"] >= r["goal"].goal)
    fake = {"rows": [{"op": "decode out=", "format": "int8", "mode": "-", "dist": "spread", "ratio": 0.99},
                     {"op": "decode out=", "format": "int4", "mode": "-", "dist": "spread", "ratio": 2.0}]}
    dec = next(r for r in goal_rows(fake) if r["goal"].label.startswith("decode"))
    assert (dec["low"], dec["high"], dec["met"]) == (0.99, 2.0, False)


def test_bench_mma_rows_same_bits_as_mmasim():
    """Every case of numfmt.bench.mma.CASES, shrunk: numfmt's and MMA-Sim's results are the same
    bits (the bench times the same instruction on the same operands), and the threads ratio and
    the serial CPU share are reported."""
    pytest.importorskip("torch")
    pytest.importorskip("mmasim")
    from numfmt.bench.mma import CASES, bench_mma

    small = [(*c[:5], 8, 16, 128) for c in CASES]
    rows = bench_mma(repeat=1, cases=small)
    assert [r["case"] for r in rows] == [c[0] for c in CASES]
    for r in rows:
        assert r["same_bits"], r["case"]
        assert r["speedup"] > 0 and r["numfmt_mac_per_s"] > 0
        assert r["threads2_speedup"] > 0 and 0 <= r["threads2_serial_cpu"] <= 1.5
