"""recipe="torchao" (torchao's main branch, 2026-08-21) against its recorded `to_mx` bytes, and the
versioned recipe names. The bytes were recorded from pytorch/ao at commit 36027d8 with
tools/record_torchao_mx.py (data/compat/README.md); torchao 0.18 itself is checked in
tests/test_block_torchao.py."""

from __future__ import annotations

import pathlib
import warnings

import numpy as np
import pytest

import numfmt
from numfmt import compat as C
from numfmt.block import recipe_profiles

DATA = pathlib.Path(__file__).resolve().parent.parent / "data" / "compat" / "torchao_mx_main_2026-08-21.npz"
ELEMS = ["mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp4"]


@pytest.fixture(scope="module")
def recorded():
    with np.load(DATA) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("name", ELEMS)
@pytest.mark.parametrize("rule", ["floor", "ceil", "even", "rceil"])
@pytest.mark.parametrize("recipe", ["torchao", "torchao==main-2026-08-21"])
def test_torchao_main_recorded(recorded, name, rule, recipe):
    assert "36027d82d1ad9949597ea16002ff4940374b1b94" in str(recorded["source"][0])
    x = recorded["x"]
    ba = numfmt.encode(x, name, scale_rule=rule, recipe=recipe)
    assert ba.recipe == "torchao==main-2026-08-21"
    s, d = recorded[f"{name}.{rule}.scales"], recorded[f"{name}.{rule}.codes"]
    bad = np.flatnonzero(ba.scales.ravel() != s.ravel())
    assert bad.size == 0, (bad[:5], ba.scales.ravel()[bad[:5]], s.ravel()[bad[:5]])
    bad = np.flatnonzero(ba.codes.ravel() != d.ravel())
    assert bad.size == 0, (bad[:5], ba.codes.ravel()[bad[:5]], d.ravel()[bad[:5]], x.ravel()[bad[:5]])


def test_main_rules_literals():
    """The rules that changed after 0.18: an inf block gets the NaN scale and NaN elements; the element
    bytes of a NaN-scale block are 0x7F (E4M3); scale code 0 divides by 2**-127 exactly."""
    x = np.ones((1, 64), np.float32)
    x[0, 3] = np.inf
    x[0, 40] = 2.0
    new = numfmt.encode(x, "mxfp8_e4m3", recipe="torchao")
    old = numfmt.encode(x, "mxfp8_e4m3", recipe="torchao==0.18")
    assert new.scales.tolist() == [[0xFF, 0x7F - 8 + 1]] and old.scales.tolist() == [[0xF7, 0x78]]
    assert set(new.codes[0, :32].tolist()) == {0x7F}
    assert old.codes[0, :32].tolist() == [0x7E if i == 3 else 0 for i in range(32)]
    nan = np.ones(32, np.float32)
    nan[9], nan[2] = np.nan, -1.0
    new = numfmt.encode(nan, "mxfp8_e4m3", recipe="torchao")
    old = numfmt.encode(nan, "mxfp8_e4m3", recipe="torchao==0.18")
    assert new.scales.tolist() == old.scales.tolist() == [0xFF]
    assert new.codes.tolist() == [0x7F] * 32  # x * NaN
    assert old.codes.tolist() == [0x80 if i == 2 else 0x7F if i == 9 else 0 for i in range(32)]  # x / inf
    tiny = np.full((1, 32), np.float32(2.0 ** -140))  # scale code 0x00 (2**-127)
    for rule in ("floor", "rceil"):
        b = numfmt.encode(tiny, "mxfp8_e4m3", scale_rule=rule, recipe="torchao")
        assert b.scales[0, 0] == 0 and b.codes[0, 0] == numfmt.encode(2.0 ** -13, "e4m3")  # 2**-140 / 2**-127
    # 0.18 divides by 2**-126 (floor) and multiplies by 1.0 (rceil_torchao)
    assert numfmt.encode(tiny, "mxfp8_e4m3", recipe="torchao==0.18").codes[0, 0] == numfmt.encode(2.0 ** -14, "e4m3")
    b = numfmt.encode(tiny, "mxfp8_e4m3", scale_rule="rceil_torchao", recipe="torchao==0.18")
    assert b.codes[0, 0] == 0


def test_recipe_names():
    names = [p.name for p in recipe_profiles()]
    assert names == ["torchao==0.18", "torchao==main-2026-08-21"]
    assert [p.newest for p in recipe_profiles()] == [False, True]
    with pytest.raises(ValueError, match="rceil_torchao"):
        numfmt.encode(np.ones(32, np.float32), "mxfp4", scale_rule="rceil", recipe="torchao==0.18")
    with pytest.raises(ValueError, match=r"torchao==0\.18"):
        numfmt.encode(np.ones(32, np.float32), "mxfp4", scale_rule="rceil_torchao", recipe="torchao")
    with pytest.raises(ValueError, match=r"recipe='torchao==0.19' is not one of .*'torchao==0.18'"):
        numfmt.encode(np.ones(32, np.float32), "mxfp4", recipe="torchao==0.19")
    # the amax (NVFP4) recipe did not change: both names give the same bytes
    x = np.random.default_rng(0).standard_normal((4, 64)).astype(np.float32)
    a, b = (numfmt.encode(x, "nvfp4", recipe=r) for r in ("torchao", "torchao==0.18"))
    assert np.array_equal(a.codes, b.codes) and np.array_equal(a.scales, b.scales)
    assert a.recipe == "torchao==main-2026-08-21" and b.recipe == "torchao==0.18"


def test_unknown_torchao_version_warns(monkeypatch):
    monkeypatch.setattr(C, "_installed_version", lambda dist: "0.21.0" if dist == "torchao" else None)
    with pytest.warns(C.CompatVersionWarning, match="torchao 0.21.0 is installed"):
        numfmt.encode(np.ones(32, np.float32), "mxfp4", recipe="torchao")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        numfmt.encode(np.ones(32, np.float32), "mxfp4")  # the ocp recipe names no library
