"""daz=, via=, ftz= of encode/quantize (numfmt.steps) against numfmt.reference, and the semantics rows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import numfmt
import numfmt.reference as ref
from numfmt.steps_doc import CASES, steps_table

FORMATS = ("e4m3", "e5m2", "float8_e4m3fnuz", "e2m1", "e3m2", "bfloat16", "binary16", "binary8p3se")
VIAS = (None, "bfloat16", "binary16", "tf32", "e5m2", "binary32")
ROUNDINGS = ("nearest_even", "nearest_away", "toward_zero", "toward_positive", "toward_negative", "to_odd",
             "nearest_toward_zero")


def _x(text, dtype):
    return np.asarray(eval(text, {"__builtins__": {}}), dtype)


@pytest.mark.parametrize("row", CASES, ids=lambda r: f"{r[0]}-{r[1]}-{r[3]}")
def test_semantics_row_matches_the_reference(row):
    fmt, xtext, dtype, opts, _ = row
    x = _x(xtext, dtype)
    got = int(numfmt.encode(x, fmt, **opts))
    assert got == ref.encode(x[()], numfmt.get_format(fmt), **opts)
    assert f"| {got:#x} |" in steps_table()


def test_semantics_page_has_the_table():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "semantics.md").read_text()
    assert "<!-- numfmt:call numfmt.steps_doc:steps_table -->" in page


def test_rows_show_each_step_changing_a_result():
    """Each step changes at least one row's code from the plain encode (no row set that cannot fail)."""
    changed = set()
    for fmt, xtext, dtype, opts, _ in CASES:
        x = _x(xtext, dtype)
        plain = {k: v for k, v in opts.items() if k == "rounding"}
        if int(numfmt.encode(x, fmt, **opts)) != int(numfmt.encode(x, fmt, **plain)):
            changed |= set(opts) - {"rounding"}
    assert changed == {"daz", "ftz", "via"}


def _nan_code(f):
    return None if f.code_of_nan is not None else 0


@given(st.lists(st.floats(width=32, allow_nan=False), min_size=1, max_size=8),
       st.sampled_from(FORMATS), st.sampled_from(ROUNDINGS), st.sampled_from(("none", "finite", "propagate")),
       st.sampled_from(VIAS), st.booleans(), st.booleans())
def test_encode_matches_the_reference(xs, fmt, rounding, saturation, via, daz, ftz):
    f = numfmt.get_format(fmt)
    x = np.array(xs, np.float32)
    small = np.float32(2.0**-130)  # add float32 subnormals and values near the target's subnormals
    x = np.concatenate([x, x * small, x * np.float32(f.smallest_normal)])
    kw = {"rounding": rounding, "saturation": saturation, "via": via, "daz": daz, "ftz": ftz}
    got = numfmt.encode(x, fmt, nan="zero", **kw)
    want = [ref.encode(v, f, nan_code=_nan_code(f), **kw) for v in x]
    assert got.tolist() == want
    q = numfmt.quantize(x, fmt, nan="zero", **kw)
    assert np.array_equal(q, numfmt.decode(got, fmt), equal_nan=True)


def test_out_and_shapes():
    x = np.float32([[2.0**-8, -2.0**-8], [1e-40, 1.0]])
    out = np.empty((2, 2), np.uint8)
    assert numfmt.encode(x, "e4m3", ftz=True, daz=True, out=out) is out
    assert out.tolist() == [[0, 0x80], [0, 0x38]]
    assert numfmt.encode(np.float32(2.0**-8), "e4m3", ftz=True).shape == ()


def test_daz_leaves_integers_and_the_input_alone():
    x = np.float32([1e-40, 3.0])
    before = x.copy()
    numfmt.encode(x, "bfloat16", daz=True)
    assert x.tobytes() == before.tobytes()
    assert numfmt.encode(np.int64([0, 3]), "e4m3", daz=True).tolist() == numfmt.encode([0, 3], "e4m3").tolist()


@pytest.mark.parametrize("kw,err,match", [
    ({"ftz": True, "fmt": "int8"}, ValueError, "float format"),
    ({"via": "int8"}, ValueError, "intermediate float format"),
    ({"via": "bfloat17"}, ValueError, "did you mean"),
    ({"via": "bfloat16", "rounding": "stochastic", "random": 1}, ValueError, "stochastic"),
    ({"via": "bfloat16", "compat": "ml_dtypes"}, ValueError, "compat"),
    ({"daz": 1}, TypeError, "daz"),
    ({"daz": "int8"}, ValueError, "float format"),
    ({"ftz": "yes"}, TypeError, "ftz"),
    ({"via": 3}, TypeError, "via"),
    ({"ftz": True, "fmt": "mxfp8_e4m3"}, TypeError, "element format"),
])
def test_bad_options(kw, err, match):
    fmt = kw.pop("fmt", "e4m3")
    with pytest.raises(err, match=match):
        numfmt.encode(np.float32([1.0] * 32), fmt, **kw)


def test_dask_inputs_refuse_the_steps():
    da = pytest.importorskip("dask.array")
    with pytest.raises(TypeError, match="non-dask"):
        numfmt.encode(da.from_array(np.float32([1.0])), "e4m3", ftz=True)


@pytest.mark.parametrize("row", CASES, ids=lambda r: f"{r[0]}-{r[1]}-{r[3]}")
def test_explain_agrees_and_notes_each_step(row):
    fmt, xtext, dtype, opts, _ = row
    x = _x(xtext, dtype)[()]
    e = numfmt.explain(x, fmt, **opts)
    assert e.code == int(numfmt.encode(x, fmt, **opts))
    changed = int(numfmt.encode(x, fmt, **{k: v for k, v in opts.items() if k == "rounding"})) != e.code
    if changed:
        assert any(n.split(":")[0] in opts for n in e.notes)


def test_cli_flags(capsys):
    from numfmt.cli import main

    assert main(["encode", "e4m3", "1.064453125", "0.00390625", "--via", "bfloat16", "--ftz", "--json"]) == 0
    import json

    assert [r["code_int"] for r in json.loads(capsys.readouterr().out)] == [0x38, 0x00]
    assert main(["encode", "bfloat16", "1e-40", "--dtype", "float32", "--daz", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["code_int"] == 0
    assert main(["explain", "e4m3", "0.00390625", "--ftz"]) == 0
    assert "ftz: 0x02 is subnormal" in capsys.readouterr().out
    assert main(["encode", "e4m3", "1", "--via", "bfloat17"]) == 2
    assert "did you mean" in capsys.readouterr().err


def test_daz_flushes_ml_dtypes_bfloat16_inputs():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    x = np.array([1e-39, -1e-39, 2e-38, 1.0], ml_dtypes.bfloat16)  # 1e-39: subnormal in bfloat16
    got = numfmt.encode(x, "binary32", daz=True)
    assert got.tolist() == numfmt.encode(x.astype(np.float32), "binary32", daz=True).tolist()
    assert got.tolist()[:2] == [0, 0x80000000]
    assert [float(ref.flush_input(v, True)) for v in x] == [0.0, -0.0, float(x[2]), 1.0]
    assert np.signbit(ref.flush_input(x[1], True))
