"""compat="torch": numfmt reproduces torch 2.13 CPU ``.to(dtype)`` bit for bit.

A stratified 2**24 sample of float32 patterns per type (every sign and exponent,
random trailing fields, the format's values, midpoints and one ulp either side,
NaN payloads, float32 subnormals), float64 inputs and the special values.
"""

from __future__ import annotations

import numpy as np
import pytest

import numfmt

torch = pytest.importorskip("torch")

from ml_dtypes_inputs import float64_sample as _float64_sample  # noqa: E402
from ml_dtypes_inputs import stratified_float32  # noqa: E402
from test_compat_ml_dtypes import _report  # noqa: E402

TYPES = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu"]


def torch_codes(x: np.ndarray, name: str) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(x)).to(getattr(torch, name))
    return t.view(torch.uint8).numpy().copy()


@pytest.mark.parametrize("name", TYPES)
def test_stratified_float32(name):
    x = stratified_float32(name, seed=7)
    got = numfmt.encode(x, name, compat="torch")
    want = torch_codes(x, name)
    assert not _report(x, got, want), _report(x, got, want)


@pytest.mark.parametrize("name", TYPES)
def test_float64_inputs(name):
    """torch rounds float64 to float32 first (double rounding), like ml_dtypes."""
    x = _float64_sample(seed=8)
    got = numfmt.encode(x, name, compat="torch")
    want = torch_codes(x, name)
    assert not _report(x, got, want), _report(x, got, want)


@pytest.mark.parametrize(("name", "x", "code"), [
    ("float8_e4m3fn", 464.0, 0x7E), ("float8_e4m3fn", 465.0, 0x7E), ("float8_e4m3fn", 1e30, 0x7E),
    ("float8_e4m3fn", np.inf, 0x7E), ("float8_e4m3fn", -np.inf, 0xFE), ("float8_e4m3fn", np.nan, 0x7F),
    ("float8_e4m3fn", -np.nan, 0xFF), ("float8_e4m3fn", -0.0, 0x80),
    ("float8_e5m2", np.nan, 0x7F), ("float8_e5m2", -np.nan, 0xFF), ("float8_e5m2", 61440.0, 0x7C),
    ("float8_e5m2", 61439.0, 0x7B), ("float8_e5m2", -np.inf, 0xFC),
    ("float8_e4m3fnuz", 1e6, 0x80), ("float8_e4m3fnuz", np.inf, 0x80), ("float8_e4m3fnuz", -0.0, 0x00),
    ("float8_e5m2fnuz", -np.nan, 0x80), ("float8_e5m2fnuz", 248.0, 0x60),
    ("float8_e8m0fnu", 1.5, 0x80), ("float8_e8m0fnu", 3.0, 0x81), ("float8_e8m0fnu", 0.75, 0x7F),
    ("float8_e8m0fnu", 1.45, 0x7F), ("float8_e8m0fnu", 2.0**-128, 0x00), ("float8_e8m0fnu", 0.0, 0x00),
    ("float8_e8m0fnu", -0.0, 0x00), ("float8_e8m0fnu", -2.0, 0x80), ("float8_e8m0fnu", 3e38, 0xFF),
    ("float8_e8m0fnu", np.inf, 0xFF), ("float8_e8m0fnu", -np.inf, 0xFF), ("float8_e8m0fnu", np.nan, 0xFF),
    ("float8_e8m0fnu", 1.4 * 2.0**-127, 0x01),
])
def test_literals(name, x, code):
    arr = np.array([x], np.float32)
    assert numfmt.encode(arr, name, compat="torch")[0] == code
    assert torch_codes(arr, name)[0] == code


def test_e4m3_saturation_keyword():
    # torch's E4M3 saturates; saturation="finite" says so explicitly and is accepted
    x = np.array([500.0, -np.inf], np.float32)
    assert numfmt.encode(x, "float8_e4m3fn", compat="torch", saturation="finite").tolist() == [0x7E, 0xFE]
    with pytest.raises(ValueError, match="saturation"):
        numfmt.encode(x, "float8_e4m3fn", compat="torch", saturation="propagate")
    with pytest.raises(ValueError, match="saturation"):
        numfmt.encode(x, "float8_e5m2", compat="torch", saturation="finite")


@pytest.mark.parametrize("kw", [{"rounding": "toward_zero"}, {"nan": "max"}])
def test_conflicts(kw):
    with pytest.raises(ValueError, match="compat='torch'"):
        numfmt.encode([1.0], "float8_e5m2", compat="torch", **kw)


@pytest.mark.parametrize("name", ["float4_e2m1fn", "bfloat16", "binary16", "int8"])
def test_uncovered(name):
    with pytest.raises(ValueError, match="does not cover"):
        numfmt.encode([1.0], name, compat="torch")


def test_torch_profile_versions():
    """"torch" is the newest torch profile numfmt knows (2.13); the pinned spelling gives the same codes."""
    x = stratified_float32("float8_e8m0fnu", n=1 << 16, seed=3)
    assert numfmt.compat.resolve_profile("torch").name == "torch==2.13"
    for name in TYPES:
        assert np.array_equal(numfmt.encode(x, name, compat="torch==2.13"), numfmt.encode(x, name, compat="torch"))
    with pytest.raises(ValueError, match=r"known: \['torch==2.13'\]"):
        numfmt.encode(x, "e4m3", compat="torch==2.11")
