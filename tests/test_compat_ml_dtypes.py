"""compat="ml_dtypes": numfmt reproduces ml_dtypes (and numpy) ``astype`` bit for bit.

The oracle tests run against the installed ml_dtypes under the profile of its version
(``compat="ml_dtypes"`` when it is the newest numfmt knows, 0.7.0 in CI); the recorded
vectors (data/compat/ml_dtypes_0.6.npz) check ``compat="ml_dtypes==0.6"`` without 0.6.0.

Default run: a stratified 2**24 sample of float32 bit patterns per type
(tests/ml_dtypes_inputs.py) plus float64 and integer inputs.
``-m exhaustive``: all 2**32 float32 patterns per type, in chunks.
"""

from __future__ import annotations

import hashlib
import pathlib
import time
import warnings

import numpy as np
import pytest
from ml_dtypes_inputs import (
    FLOATS,
    INTS,
    float64_sample,
    input_sets,
    int_inputs,
    integer_sample,
    ref_codes,
    ref_dtype,
    stratified_float32,
)

import numfmt
from numfmt import compat as C

ml_dtypes = pytest.importorskip("ml_dtypes")

VERSIONS = [p.version for p in numfmt.compat_profiles() if p.library == "ml_dtypes"]
INSTALLED = C.major_minor(ml_dtypes.__version__)
NEWEST = next(p.version for p in numfmt.compat_profiles() if p.library == "ml_dtypes" and p.newest)
# the profile of the installed version (the bare name when it is the newest)
PROFILE = "ml_dtypes" if INSTALLED == NEWEST else f"ml_dtypes=={INSTALLED}"
oracle = pytest.mark.skipif(INSTALLED not in VERSIONS,
                            reason=f"ml_dtypes {ml_dtypes.__version__}: no numfmt profile for this version")
DATA = pathlib.Path(__file__).resolve().parent.parent / "data" / "compat" / "ml_dtypes_0.6.npz"


def _report(x, got, want):
    bad = np.flatnonzero(got != want)
    if bad.size == 0:
        return ""
    ux = x.view(np.uint32 if x.dtype == np.float32 else np.uint64) if x.dtype.kind == "f" else x
    rows = [f"x={ux[i]:#x} ({x[i]!r}) numfmt={got[i]:#x} ref={want[i]:#x}" for i in bad[:8]]
    return f"{bad.size} mismatches; first: " + "; ".join(rows)


# --------------------------------------------------------------------------- sweeps
def sweep_float32(name: str, start: int = 0, stop: int = 1 << 32, chunk: int = 1 << 26) -> tuple[int, str]:
    """Encode float32 patterns ``start..stop-1`` both ways; (mismatch count, first mismatches)."""
    f = numfmt.get_format(name)
    buf = np.empty(chunk, f.code_dtype)
    total, first = 0, ""
    for lo in range(start, stop, chunk):
        hi = min(lo + chunk, stop)
        x = np.arange(lo, hi, dtype=np.uint32).view(np.float32)
        got = numfmt.encode(x, name, compat=PROFILE, out=buf[: hi - lo])
        want = ref_codes(x, name)
        if not np.array_equal(got, want):
            msg = _report(x, got, want)
            total += int((got != want).sum())
            first = first or msg
    return total, first


# --------------------------------------------------------------------------- oracle tests
@oracle
@pytest.mark.parametrize("name", FLOATS)
def test_encode_stratified_float32(name):
    x = stratified_float32(name)
    got = numfmt.encode(x, name, compat=PROFILE)
    want = ref_codes(x, name)
    assert got.dtype == want.dtype
    assert not _report(x, got, want), _report(x, got, want)


@pytest.mark.parametrize("name", FLOATS)
def test_decode_every_code(name):
    f = numfmt.get_format(name)
    codes = np.arange(1 << f.bits, dtype=f.code_dtype)
    got = numfmt.decode(codes, name)
    want = codes.view(ref_dtype(name)).astype(got.dtype)
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan)
    ib = {4: np.uint32, 8: np.uint64}[got.dtype.itemsize]
    assert np.array_equal(got.view(ib)[~nan], want.view(ib)[~nan])  # bits: signs of zero included


@oracle
@pytest.mark.parametrize("name", FLOATS)
def test_encode_float64_inputs(name):
    """ml_dtypes 0.6 rounds float64 to float32 first (double rounding), 0.7 directly; numpy's float16
    directly."""
    x = float64_sample()
    got = numfmt.encode(x, name, compat=PROFILE)
    want = ref_codes(x, name)
    assert not _report(x, got, want), _report(x, got, want)


@pytest.mark.parametrize("version", VERSIONS)
def test_float64_literals(version):
    # 1.5 - 2**-40 rounds to 1.5 in float32, which ties up to 2 in E8M0 (0x80); direct gives 0x7F
    x = np.array([1.5 - 2.0**-40, 2.0**-127 * (1 + 2.0**-40)])
    prof = f"ml_dtypes=={version}"
    want = {"0.6": [0x80, 0x00], "0.7": [0x7F, 0x00]}[version]
    assert numfmt.encode(x, "float8_e8m0fnu", compat=prof).tolist() == want
    want = {"0.6": 0xEC, "0.7": 0xED}[version]
    assert numfmt.encode(np.float64(-100.00000000000001), "float8_e4m3fn", compat=prof) == want
    # binary16 follows numpy: float64 -> float16 directly. 1 + 2**-11 + 2**-40 is above the tie
    # in float64 but rounds to the tie 1 + 2**-11 in float32 (which would give 0x3C00)
    assert numfmt.encode(1 + 2.0**-11 + 2.0**-40, "binary16", compat=prof) == 0x3C01
    if version == INSTALLED:
        assert ref_codes(x, "float8_e8m0fnu").tolist() == numfmt.encode(x, "float8_e8m0fnu", compat=prof).tolist()


@oracle
@pytest.mark.parametrize("name", ["float8_e5m2", "bfloat16", "float8_e8m0fnu", "float4_e2m1fn", "binary16"])
@pytest.mark.parametrize("itype", [np.int64, np.uint64, np.int32, np.int8])
def test_encode_integer_inputs(name, itype):
    v = integer_sample(itype)
    got = numfmt.encode(v, name, compat=PROFILE)
    assert not _report(v, got, ref_codes(v, name))


# literal quirks (each found by the sweep): (name, x, code under 0.6, code under 0.7)
@pytest.mark.parametrize(("name", "x", "c06", "c07"), [
    ("float8_e5m2", np.nan, 0x7E, 0x7E), ("float8_e5m2", -np.nan, 0xFE, 0xFE),
    ("float8_e4m3", np.nan, 0x7C, 0x7C), ("float8_e3m4", -np.nan, 0xF8, 0xF8), ("bfloat16", -np.nan, 0xFFC0, 0xFFC0),
    ("float8_e4m3fn", np.nan, 0x7F, 0x7F), ("float8_e4m3fn", 1e9, 0x7F, 0x7F), ("float8_e4m3fn", -np.inf, 0xFF, 0xFF),
    ("float8_e4m3fnuz", -np.nan, 0x80, 0x80), ("float8_e4m3fnuz", -0.0, 0x00, 0x00),
    ("float8_e5m2fnuz", np.inf, 0x80, 0x80),
    ("float4_e2m1fn", np.nan, 0x8, 0x8), ("float4_e2m1fn", -np.nan, 0x0, 0x0), ("float4_e2m1fn", np.inf, 0x7, 0x7),
    ("float6_e2m3fn", np.nan, 0x20, 0x20), ("float6_e3m2fn", -np.nan, 0x00, 0x00),
    ("float8_e8m0fnu", 3.0, 0x81, 0x81), ("float8_e8m0fnu", 0.75, 0x7F, 0x7F), ("float8_e8m0fnu", 1.5, 0x80, 0x80),
    ("float8_e8m0fnu", 0.0, 0xFF, 0xFF), ("float8_e8m0fnu", -2.0, 0xFF, 0xFF),
    ("float8_e8m0fnu", 3 * 2.0**126, 0xFF, 0xFF),
    ("float8_e8m0fnu", 2.0**-127, 0x00, 0x00), ("float8_e8m0fnu", 1.4 * 2.0**-127, 0x01, 0x00),
    ("float8_e8m0fnu", 1.5 * 2.0**-127, 0x01, 0x01), ("float8_e8m0fnu", 2.0**-149, 0x00, 0x00),
    ("float8_e8m0fnu", 2.0**-126 * 1.5, 0x02, 0x02),
    ("int4", 20.0, 0x4, 0x0), ("int4", 8.0, 0x8, 0x0), ("int4", -8.5, 0x8, 0x8), ("uint4", -7.9, 0x9, 0x0),
    ("int2", 2.5, 0x2, 0x0), ("uint2", 2.5, 0x2, 0x2), ("uint4", 15.5, 0xF, 0xF),
])
def test_literal_quirks(name, x, c06, c07):
    arr = np.array([x], np.float32)
    for version, code in (("0.6", c06), ("0.7", c07)):
        assert numfmt.encode(arr, name, compat=f"ml_dtypes=={version}")[0] == code
        if version == INSTALLED:
            assert ref_codes(arr, name)[0] == code  # the installed reference agrees (guards the literal)
    assert numfmt.encode(arr, name, compat="ml_dtypes")[0] == {"0.6": c06, "0.7": c07}[NEWEST]


@pytest.mark.parametrize("version", VERSIONS)
def test_e8m0_float32_subnormals(version):
    """0.6: (0, 2**-127] -> 0x00, (2**-127, 2**-126) -> 0x01; 0.7: nearest with ties up, so
    [1.5 * 2**-127, 2**-126) -> 0x01. Checked on all 2**23 float32 subnormals."""
    x = np.arange(1, 1 << 23, dtype=np.uint32).view(np.float32)
    got = numfmt.encode(x, "float8_e8m0fnu", compat=f"ml_dtypes=={version}")
    edge = 0x400000 if version == "0.6" else 0x5FFFFF
    assert np.array_equal(got, np.where(x.view(np.uint32) > edge, 1, 0).astype(np.uint8))
    if version == INSTALLED:
        assert np.array_equal(got, ref_codes(x, "float8_e8m0fnu"))


def test_binary16_nan_payload():
    u = np.array([0x7FA12345, 0xFFA12345, 0x7F800001, 0x7FC00000, 0xFFFFFFFF], np.uint32)
    for prof in ("ml_dtypes", "ml_dtypes==0.6", "ml_dtypes==0.7"):
        got = numfmt.encode(u.view(np.float32), "binary16", compat=prof)
        assert got.tolist() == [0x7D09, 0xFD09, 0x7C01, 0x7E00, 0xFFFF]


# integers -------------------------------------------------------------------
@oracle
@pytest.mark.parametrize("name", INTS)
def test_int_casts(name):
    for x in int_inputs():
        got = numfmt.encode(x, name, compat=PROFILE)
        want = ref_codes(x, name)
        assert not _report(x, got, want), (x.dtype, _report(x, got, want))


@oracle
@pytest.mark.parametrize("name", INTS)
def test_int_casts_from_integers(name):
    rng = np.random.default_rng(6)
    v = np.concatenate([rng.integers(-(2**62), 2**62, 4096), np.arange(-300, 300),
                        [2**63 - 1, -(2**63), 2**31, -(2**31) - 1]]).astype(np.int64)
    for x in (v, v.view(np.uint64), v.astype(np.int16)):
        with np.errstate(over="ignore"):
            want = x.astype(ref_dtype(name)).view(numfmt.get_format(name).code_dtype)
        assert np.array_equal(numfmt.encode(x, name, compat=PROFILE), want)


def test_int4_literals():
    x = np.array([2.5, 7.6, 8.0, 9.0, -9.0, 20.0, np.nan, np.inf, -7.9, 2147483647.25, 2147483647.0])
    assert numfmt.encode(x, "int4", compat="ml_dtypes==0.6").tolist() == [2, 7, 8, 9, 7, 4, 0, 0, 9, 0, 15]
    assert numfmt.encode(x, "int4", compat="ml_dtypes==0.7").tolist() == [2, 7, 0, 0, 0, 0, 0, 0, 9, 0, 0]
    for prof in ("ml_dtypes==0.6", "ml_dtypes==0.7"):  # numpy's own int8 did not change
        assert numfmt.encode(x, "int8", compat=prof).tolist()[-2:] == [0xFF, 0xFF]


# the recorded ml_dtypes 0.6.0 vectors ------------------------------------------------
@pytest.fixture(scope="module")
def recorded():
    with np.load(DATA) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("name", FLOATS + INTS)
def test_recorded_ml_dtypes_06(name, recorded):
    """compat="ml_dtypes==0.6" gives exactly the codes ml_dtypes 0.6.0 gave on every input set (SHA-256
    of the whole code array), and where 0.6.0 and 0.7.0 differ, "==0.7" gives 0.7.0's code."""
    assert recorded["versions"].tolist() == ["0.6.0", "0.7.0"]
    for key, x in input_sets(name).items():
        p = f"{name}.{key}"
        assert x.size == int(recorded[p + ".n"])
        got = numfmt.encode(x, name, compat="ml_dtypes==0.6")
        assert hashlib.sha256(got.tobytes()).digest() == recorded[p + ".sha256"].tobytes(), p
        dx = recorded[p + ".x"]  # the first (up to 1024) inputs where 0.6.0 and 0.7.0 differ
        assert dx.size == min(1024, int(recorded[p + ".ndiff"]))
        assert np.array_equal(numfmt.encode(dx, name, compat="ml_dtypes==0.6"), recorded[p + ".old"])
        assert np.array_equal(numfmt.encode(dx, name, compat="ml_dtypes==0.7"), recorded[p + ".new"])
        if dx.size:
            assert not np.array_equal(recorded[p + ".old"], recorded[p + ".new"])
        if INSTALLED == "0.7" and dx.size:
            assert np.array_equal(ref_codes(dx, name), recorded[p + ".new"])


# keyword conflicts and profile names ---------------------------------------------
@pytest.mark.parametrize("kw", [{"rounding": "toward_zero"}, {"saturation": "finite"}, {"nan": "zero"},
                                {"rounding": "stochastic", "random": 1}])
def test_conflicting_keywords(kw):
    with pytest.raises(ValueError, match="compat='ml_dtypes'"):
        numfmt.encode([1.0], "float8_e4m3fn", compat="ml_dtypes", **kw)


def test_int_toward_zero_is_allowed():
    assert numfmt.encode([-7.9], "int4", compat="ml_dtypes", rounding="toward_zero").tolist() == [9]
    with pytest.raises(ValueError, match="rounding"):
        numfmt.encode([1.0], "int4", compat="ml_dtypes", rounding="nearest_away")


@pytest.mark.parametrize("name", ["ue4m3", "binary8p3se", "int8_symmetric", "binary64", "tf32"])
def test_uncovered_formats(name):
    with pytest.raises(ValueError, match="does not cover"):
        numfmt.encode([1.0], name, compat="ml_dtypes")


def test_bad_profile():
    with pytest.raises(ValueError, match="compat="):
        numfmt.encode([1.0], "e4m3", compat="jax")


def test_profile_versions():
    assert C.resolve_profile("ml_dtypes").name == f"ml_dtypes=={NEWEST}" == "ml_dtypes==0.7"
    assert C.resolve_profile("ML_dtypes==0.6.0").name == "ml_dtypes==0.6"
    with pytest.raises(ValueError, match=r"known: \['ml_dtypes==0.6', 'ml_dtypes==0.7'\]"):
        numfmt.encode([1.0], "e4m3", compat="ml_dtypes==0.5")
    with pytest.raises(ValueError, match=r"known: .*torch==2\.13"):
        numfmt.encode([1.0], "e4m3", compat="torch==2.12")


def test_unknown_installed_version_warns(monkeypatch):
    monkeypatch.setattr(C, "_installed_version", lambda dist: "9.1.0")
    with pytest.warns(C.CompatVersionWarning, match="ml_dtypes 9.1.0 is installed"):
        numfmt.encode([1.0], "e4m3", compat="ml_dtypes")
    monkeypatch.setattr(C, "_installed_version", lambda dist: "0.6.0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        numfmt.encode([1.0], "e4m3", compat="ml_dtypes")  # a known version: no warning
    monkeypatch.setattr(C, "_installed_version", lambda dist: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        numfmt.encode([1.0], "e4m3", compat="ml_dtypes")  # not installed: nothing to compare


# exhaustive --------------------------------------------------------------------
@oracle
@pytest.mark.exhaustive
@pytest.mark.parametrize("name", FLOATS)
def test_exhaustive_float32(name, request):
    if "exhaustive" not in (request.config.getoption("-m") or ""):
        pytest.skip("exhaustive sweep: run with -m exhaustive")
    t = time.perf_counter()
    total, first = sweep_float32(name)
    print(f"{name} ({PROFILE}, ml_dtypes {ml_dtypes.__version__}): 2**32 float32 patterns, {total} mismatches, "
          f"{time.perf_counter() - t:.0f} s")
    assert total == 0, first


@oracle
def test_binary32_numpy():
    """float32 -> float32 is the identity (NaN payloads too); float64 -> float32 as numpy (x86 cvtsd2ss)."""
    x32 = stratified_float32("bfloat16", n=1 << 20, seed=9)
    assert np.array_equal(numfmt.encode(x32, "binary32", compat=PROFILE), x32.view(np.uint32))
    x64 = float64_sample(n=1 << 16, seed=10)
    got = numfmt.encode(x64, "binary32", compat=PROFILE)
    assert not _report(x64, got, ref_codes(x64, "binary32"))


@pytest.mark.parametrize("call", [
    lambda: numfmt.encode([1.0], "e4m3", compat="ml_dtypes"),
    lambda: numfmt.quantize([1.0], "e4m3", compat="ml_dtypes"),
    lambda: numfmt.encode(np.ones(32, np.float32), "mxfp4", recipe="torchao"),
], ids=["encode", "quantize", "block_encode"])
def test_unknown_installed_version_warning_points_at_caller(monkeypatch, call):
    monkeypatch.setattr(C, "_installed_version", lambda dist: "9.1.0")
    with pytest.warns(C.CompatVersionWarning) as rec:
        call()
    assert {w.filename for w in rec if issubclass(w.category, C.CompatVersionWarning)} == {__file__}
