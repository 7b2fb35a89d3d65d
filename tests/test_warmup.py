"""`numfmt warmup` fills numba's cache: a fresh process's first call then compiles nothing.

Asserted through the cache itself (no file written or rewritten by the later process), never
through wall time.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import numfmt
from numfmt.bench import cold
from numfmt.cli import main
from numfmt.warmup import CALLS, DEFAULT_VERBS, VERBS, cache_dir, warmup

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_verbs_name_existing_calls():
    assert set(DEFAULT_VERBS) <= set(VERBS)
    for verb, names in VERBS.items():
        assert names, verb
        assert set(names) <= set(CALLS)
    assert set(cold.COLD_CALLS) <= set(CALLS)


def test_warmup_bad_verb():
    with pytest.raises(ValueError, match="did you mean"):
        warmup(["decod"])


def test_warmup_verbs_argument():
    assert warmup("explain") == warmup(["explain"]) == len(VERBS["explain"])
    with pytest.raises(ValueError, match=r"verbs='explai'.*did you mean 'explain'"):
        warmup("explai")
    with pytest.raises(TypeError, match="verbs"):
        warmup(5)
    with pytest.raises(TypeError, match="verbs"):
        warmup([5])


def test_cli_warmup_where_and_errors(capsys):
    assert main(["warmup", "--where"]) == 0
    assert capsys.readouterr().out.strip() == cache_dir()
    assert main(["warmup", "--all", "encode"]) == 2
    assert main(["warmup", "bogus"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "bogus" in err


def test_cache_dir_follows_numba_cache_dir(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-m", "numfmt", "warmup", "--where"], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out.startswith(str(tmp_path))


@pytest.mark.slow
def test_warmup_then_a_fresh_process_compiles_nothing(tmp_path):
    cache = str(tmp_path)
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    subprocess.run([sys.executable, "-m", "numfmt", "warmup", "decode", "--quiet"], env=env, cwd=ROOT, check=True)
    assert cold._files(cache), "warmup wrote no cache files"
    for name in ("decode float8_e4m3fn float32", "decode float4_e2m1fn float64", "decode int8 float32"):
        assert cold.run_child(name, cache)["cache_files_written"] == 0, name
    # the control: a call warmup did not cover compiles (and writes) in the same cache
    assert cold.run_child("encode float4_e2m1fn toward_zero float32", cache)["cache_files_written"] > 0


def test_cold_rows_report(tmp_path):
    rows = cold.cold_rows(["explain float8_e4m3fn"])
    assert [r["cache"] for r in rows] == ["empty", "warm"]
    assert all(r["first_call_s"] >= 0 and r["import_numfmt_s"] > 0 for r in rows)
    assert rows[1]["cache_files_written"] == 0
    assert "explain float8_e4m3fn" in cold.format_cold(rows)


def test_cli_cold_bad_call(capsys):
    assert main(["bench", "--cold", "--calls", "encode nothing"]) == 2
    assert "encode nothing" in capsys.readouterr().err


def test_every_call_runs():
    """Each named call works in this process (whatever the cache holds)."""
    for name in CALLS:
        if "float64" in name or "nearest_away" in name or "to_odd" in name:
            continue  # (same kernels as their float32 / toward_zero neighbours; kept short)
        CALLS[name]()
    assert numfmt.decode(numfmt.encode(1.0, "e4m3"), "e4m3") == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["encode float8_e4m3fn nearest_even float64", "dot h100 e4m3"])
def test_second_process_hits_the_cache(tmp_path, name):
    """A kernel compiled by one process is loaded, not recompiled, by the next (a closure over a
    dispatcher in a kernel's definition would change numba's cache key in every process)."""
    cache = str(tmp_path)
    assert cold.run_child(name, cache)["cache_files_written"] > 0
    assert cold.run_child(name, cache)["cache_files_written"] == 0
