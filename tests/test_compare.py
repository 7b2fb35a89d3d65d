"""numfmt.compare: every mismatch class on a planted set, reports, JSON, block arrays, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import numfmt
from numfmt import compare
from numfmt.compare._acc import Acc

NAN = math.nan

# (x, expected code, actual code, class, signed ulps or None)
PLANTED_E4M3 = [
    (1.0625, 0x38, 0x38, None, None),          # equal
    (1.0625, 0x38, 0x39, "tie", 1),            # tie broken away instead of to even
    (464.0, 0x7E, 0x7F, "tie", None),          # the overflow tie broken toward overflow
    (3.0, 0x44, 0x46, "ulps", 2),
    (-1.0, 0xB8, 0xB7, "ulps", 1),             # -0.9375 > -1: positive error
    (0.5, 0x30, 0x2D, "ulps", -3),
    (NAN, 0x7F, 0xFF, "nan_payload", None),
    (-0.0, 0x80, 0x00, "signed_zero", None),
    (500.0, 0x7F, 0x7E, "saturated_vs_overflowed", None),
    (-500.0, 0xFE, 0xFF, "saturated_vs_overflowed", None),
    (NAN, 0x7F, 0x00, "nan_vs_number", None),
    (NAN, 0x7F, 0x7E, "nan_vs_number", None),   # a NaN input is never an overflow
    (2.0, 0x40, 0x7F, "nan_vs_number", None),
]
PLANTED_E5M2 = [
    (61440.0, 0x7C, 0x7B, "tie", None),        # E5M2 overflow tie: even is 65536 -> inf
    (1e6, 0x7C, 0x7A, "infinity", None),       # inf vs a finite non-max value
    (-1e6, 0xFC, 0x7C, "infinity", None),      # -inf vs +inf
    (NAN, 0x7E, 0x7F, "nan_payload", None),
    (NAN, 0x7E, 0xFE, "nan_payload", None),
    (1e6, 0x7C, 0x7B, "saturated_vs_overflowed", None),
    (1.25, 0x3D, 0x3C, "ulps", -1),
]


def _run(planted, fmt, **kw):
    x = np.array([p[0] for p in planted], np.float32)
    e = np.array([p[1] for p in planted], np.uint8)
    a = np.array([p[2] for p in planted], np.uint8)
    return compare(expected=e, actual=a, fmt=fmt, x=x, max_examples=100, **kw)


@pytest.mark.parametrize("planted,fmt", [(PLANTED_E4M3, "e4m3"), (PLANTED_E5M2, "e5m2")])
def test_planted_classes(planted, fmt):
    r = _run(planted, fmt)
    want = [p for p in planted if p[3] is not None]
    assert (r.compared, r.equal, r.different) == (len(planted), len(planted) - len(want), len(want))
    got = [(m.index[0], m.cls) for m in r.examples]
    assert got == [(i, p[3]) for i, p in enumerate(planted) if p[3] is not None]
    for m in r.examples:
        p = planted[m.index[0]]
        assert (m.expected, m.actual) == (p[1], p[2])
        if p[3] == "ulps":
            assert m.ulps == p[4]
    counts: dict = {}
    for p in want:
        counts[p[3]] = counts.get(p[3], 0) + 1
    assert r.classes == counts
    hist: dict = {}
    for p in want:
        if p[3] == "ulps":
            hist[p[4]] = hist.get(p[4], 0) + 1
    assert r.ulp_histogram == hist
    assert r.max_ulp == max(abs(p[4]) for p in want if p[4] is not None)


def test_tie_needs_x_and_direction_detail():
    r = compare(expected=[0x38], actual=[0x39], fmt="e4m3")
    assert r.classes == {"ulps": 1} and r.ulp_histogram == {1: 1}
    r = compare(expected=[0x38], actual=[0x39], fmt="e4m3", x=[1.0625])
    assert r.classes == {"tie": 1}
    assert r.examples[0].detail == "expected rounds toward zero, actual away from"
    r = compare(expected=[0x39], actual=[0x38], fmt="e4m3", x=[1.0625])
    assert r.examples[0].detail == "expected rounds away from zero, actual toward"
    # not a tie: 1.07 lies between the same codes
    assert compare(expected=[0x39], actual=[0x38], fmt="e4m3", x=[1.07]).classes == {"ulps": 1}
    # integers: ties at n + 1/2 (two's complement codes)
    r = compare(expected=[0x2, 0xE], actual=[0x3, 0xD], fmt="int4", x=[2.5, -2.5])
    assert r.classes == {"tie": 2}


def test_report_text():
    r = _run(PLANTED_E4M3, "e4m3")
    s = str(r)
    assert s.startswith("compare float8_e4m3fn: 13 compared, 1 equal, 12 different\n  mismatch classes:")
    for label in ("tie broken the other way", "NaN payload/sign only", "signed zero only",
                  "saturated vs overflowed", "NaN vs number", "2 ulps away from zero", "1 ulp toward zero",
                  "3-4 ulps toward zero"):
        assert label in s
    assert "  largest ulp distance: 3" in s
    assert "1      1.0625  0x38 0|0111|000  1.0" in s
    ok = compare(expected=[1, 2], actual=[1, 2], fmt="e4m3")
    assert ok.ok and str(ok) == "compare float8_e4m3fn: 2 compared, 2 equal, 0 different -- all codes match"


def test_to_dict_json_and_max_examples():
    r = compare(expected=np.zeros(50, np.uint8), actual=np.full(50, 0x7F, np.uint8), fmt="e4m3", max_examples=3)
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert d["different"] == 50 and d["classes"] == {"nan_vs_number": 50} and len(d["examples"]) == 3
    ex = d["examples"][0]
    assert ex["expected"] == {"code": 0, "hex": "0x00", "fields": "0|0000|000"}
    assert ex["actual"]["fields"] == "0|1111|111" and ex["actual_value"] == "nan"


def test_multidimensional_index():
    e = np.zeros((3, 4), np.uint8)
    a = e.copy()
    a[2, 1] = 1
    r = compare(expected=e, actual=a, fmt="e4m3")
    assert r.examples[0].index == (2, 1) and r.shape == (3, 4)


def test_values_mode():
    r = compare(expected=[1.0, 2.0, NAN, -0.0], actual=[1.0, 2.1, NAN, 0.0], fmt="e4m3", values=True)
    assert r.classes == {"not_representable": 1, "signed_zero": 1}
    m = r.examples[0]
    assert m.index == (1,) and m.actual is None and m.actual_value == 2.1
    assert compare(expected=[0.5], actual=[0.25], fmt="e2m1", values=True).classes == {"not_representable": 1}


def test_expected_from_policy():
    x = np.array([1.0625, 500.0], np.float32)
    r = compare(expected=None, actual=[0x38, 0x7E], fmt="e4m3", x=x, saturation="finite")
    assert r.ok
    r = compare(expected=None, actual=[0x38, 0x7E], fmt="e4m3", x=x)
    assert r.classes == {"saturated_vs_overflowed": 1}


def test_chunked_accumulation_equals_one_shot():
    rng = np.random.default_rng(5)
    e = rng.integers(0, 256, 1000).astype(np.int64)
    a = np.where(rng.random(1000) < 0.3, rng.integers(0, 256, 1000), e).astype(np.int64)
    x = rng.standard_normal(1000).astype(np.float32)
    one = compare(expected=e, actual=a, fmt="e4m3", x=x, max_examples=20)
    acc = Acc(numfmt.get_format("e4m3"), max_examples=20)
    for s in range(0, 1000, 128):
        acc.add(e[s:s + 128], a[s:s + 128], x[s:s + 128], offset=s)
    assert acc.result() == one


def test_block_arrays():
    from numfmt.block import BlockArray

    x = np.linspace(-6, 6, 64, dtype=np.float32)
    ba = numfmt.encode(x, "mxfp4")
    codes = ba.codes.copy()
    scales = ba.scales.copy()
    codes[3] ^= 1
    scales[..., 1] += 1
    bad = BlockArray(codes, scales, ba.format, axis=ba.axis)
    r = compare(expected=ba, actual=bad)
    assert not r.ok and r.blocks == 2 and r.blocks_with_scale_mismatch == 1
    assert r.scales.different == 1 and r.scales.format.name == "float8_e8m0fnu"
    assert r.elements.different == 1 and r.elements.format.name == "float4_e2m1fn"
    assert r.elements.examples[0].index == (3,)
    s = str(r)
    assert "compare scales float8_e8m0fnu: 2 compared, 1 equal, 1 different" in s
    assert "compare elements float4_e2m1fn: 64 compared, 63 equal, 1 different" in s
    json.dumps(r.to_dict(), allow_nan=False)
    assert compare(expected=ba, actual=numfmt.encode(x, "mxfp4")).ok


def test_bad_input():
    with pytest.raises(ValueError, match="expected has shape"):
        compare(expected=[1, 2], actual=[1], fmt="e4m3")
    with pytest.raises(TypeError, match="integer codes"):
        compare(expected=[1.0], actual=[1.0], fmt="e4m3")
    with pytest.raises(ValueError, match=r"outside 0\.\.0xf"):
        compare(expected=[1], actual=[16], fmt="e2m1")
    with pytest.raises(ValueError, match="x has shape"):
        compare(expected=[1], actual=[1], fmt="e4m3", x=[1.0, 2.0])
    with pytest.raises(ValueError, match="unknown format"):
        compare(expected=[1], actual=[1], fmt="e9m9")
    with pytest.raises(ValueError, match="max_examples"):
        compare(expected=[1], actual=[1], fmt="e4m3", max_examples=-1)
    with pytest.raises(ValueError, match="needs x="):
        compare(expected=None, actual=[1], fmt="e4m3")


def test_compare_block_rows_by_block():
    from numfmt.block import BlockArray
    from numfmt.compare import BlockMismatch, compare_block

    x = np.random.default_rng(5).standard_normal((40, 3)).astype(np.float32)
    x[0, 1] = 6.0
    x[1, 1] = -2.5  # E2M1 tie, scale 2**0: expected -2.0
    ba = numfmt.encode(x, "mxfp4", axis=0)
    codes, scales = ba.codes.copy(), ba.scales.copy()
    assert int(codes[1, 1]) == 0xC
    codes[1, 1] = 0xD             # tie broken away from zero
    scales[1, 2] += 2             # block (1, 2): elements 32..39 of column 2, codes unchanged
    codes[35, 0] ^= 1             # block (1, 0)
    act = BlockArray(codes, scales, "mxfp4", axis=0)
    r = compare_block(expected=ba, actual=act, x=x, max_examples=10)
    assert numfmt.compare(expected=ba, actual=act, x=x) == r
    assert (r.blocks, r.blocks_with_scale_mismatch, r.blocks_with_element_mismatch) == (6, 1, 2)
    assert r.elements_in_scale_mismatch_blocks == 0 and r.different == 3
    assert r.elements.classes == {"tie": 1, "ulps": 1} and r.scales.ulp_histogram == {2: 1}
    assert [(m.index, m.block, m.what) for m in r.examples] == [
        ((1, 1), (0, 1), "element"), ((32, 2), (1, 2), "scale"), ((35, 0), (1, 0), "element")]
    m = r.examples[0]
    assert isinstance(m, BlockMismatch) and m.x == -2.5
    assert (m.expected_scale, m.actual_scale, m.expected, m.actual) == (0x7F, 0x7F, 0xC, 0xD)
    assert (m.expected_value, m.actual_value) == (-2.0, -3.0) and "tie broken" in m.detail
    s1 = r.examples[1]
    assert s1.actual_value == 4 * s1.expected_value and s1.detail == "scale +2 ulps"
    assert r.elements.examples[0].x == -2.5  # the input, not the scaled value
    s = str(r)
    assert ("elements: 2 of 120 different, in 2 blocks (0 in blocks whose scale differs, "
            "2 off with the scale right)") in s
    assert "first 3 mismatches by block:" in s
    d = r.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["examples"][1]["expected_scale"]["hex"] == s1.to_dict(r.scales.format, r.elements.format)[
        "expected_scale"]["hex"]
    one = compare_block(expected=ba, actual=act, x=x, max_examples=1)
    assert len(one.examples) == 1 and one.different == 3
    assert compare_block(expected=None, actual=BlockArray(ba.codes, ba.scales, "mxfp4", axis=0), x=x).ok
    sr = numfmt.encode(x, "mxfp4", axis=0, rounding="stochastic", random=3)
    assert compare_block(expected=None, actual=sr, x=x, rounding="stochastic", random=3).ok
    assert not compare_block(expected=None, actual=sr, x=x).ok


def test_compare_block_nvfp4_and_bad_input():
    from numfmt.block import BlockArray
    from numfmt.compare import compare_block

    x = np.random.default_rng(6).standard_normal(48).astype(np.float32)
    nv = numfmt.encode(x, "nvfp4")
    codes = nv.codes.copy()
    codes[20] ^= 1
    r = compare_block(expected=nv, actual=BlockArray(codes, nv.scales, "nvfp4", tensor_scale=nv.tensor_scale), x=x)
    assert r.elements.classes == {"ulps": 1} and r.examples[0].block == (1,)
    ts = float(nv.tensor_scale)
    sv = float(numfmt.get_format("ue4m3").exact_value(int(nv.scales[1])))
    ev = float(numfmt.get_format("e2m1").exact_value(int(nv.codes[20])))
    assert r.examples[0].expected_value == ev * sv * ts
    r2 = compare_block(expected=nv, actual=BlockArray(nv.codes, nv.scales, "nvfp4", tensor_scale=1.0))
    assert not r2.ok and r2.different == 0 and "tensor_scale differs" in r2.notes[0]
    with pytest.raises(ValueError, match="x has shape"):
        compare_block(expected=nv, actual=nv, x=x[:10])
    with pytest.raises(ValueError, match="needs x="):
        compare_block(expected=None, actual=nv)
    with pytest.raises(TypeError, match="block array"):
        compare_block(expected=nv, actual=nv.codes)
    with pytest.raises(ValueError, match="max_examples"):
        compare_block(expected=nv, actual=nv, max_examples=-1)


_MEM_SCRIPT = """
import sys, tracemalloc
import numpy as np
import numfmt
n = 2_000_000
e = np.random.default_rng(0).integers(0, 0x7E, n, dtype=np.uint8)
a = (e + 1).astype(np.uint8)
numfmt.compare(actual=a[:100], expected=e[:100], fmt="e4m3")
tracemalloc.start()
r = numfmt.compare(actual=a, expected=e, fmt="e4m3")
print(r.different, tracemalloc.get_traced_memory()[1] / n)
"""


def test_compare_memory_per_element_is_bounded():
    """All-different codes: compare streams in chunks and keeps bit-packed masks (was ~99 bytes per
    element); measured in a fresh process (the chunk's working set is counted in full here)."""
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(numfmt.__file__).resolve().parent.parent)
    p = subprocess.run([sys.executable, "-c", _MEM_SCRIPT], capture_output=True, text=True, timeout=300,
                       cwd=root, env={**__import__("os").environ, "PYTHONPATH": root})
    assert p.returncode == 0, p.stderr
    different, per_elem = p.stdout.split()
    assert int(different) == 2_000_000
    assert float(per_elem) <= 16, per_elem


def test_compare_streams_across_chunks():
    """Counts, examples (flat order, global indices) and masks across the streaming chunks."""
    from numfmt.compare._element import STREAM_CHUNK

    n = 2 * STREAM_CHUNK + 13
    e = np.zeros(n, np.uint8)
    a = e.copy()
    idx = np.array([5, STREAM_CHUNK - 1, STREAM_CHUNK, 2 * STREAM_CHUNK + 12])
    a[idx] = 1                     # +1 ulp
    a[STREAM_CHUNK + 3] = 0x80     # signed zero
    r = numfmt.compare(actual=a.reshape(1, -1), expected=e.reshape(1, -1), fmt="e4m3", max_examples=3)
    assert r.different == 5 and r.classes == {"ulps": 4, "signed_zero": 1}
    assert [m.index for m in r.examples] == [(0, 5), (0, STREAM_CHUNK - 1), (0, STREAM_CHUNK)]
    assert r.mask().shape == (1, n)
    assert r.indices().tolist() == sorted([*idx.tolist(), STREAM_CHUNK + 3])
    assert r.indices("ulps").tolist() == idx.tolist()
    assert r.indices("signed_zero").tolist() == [STREAM_CHUNK + 3]
    assert r.indices("tie").tolist() == []
    with pytest.raises(ValueError, match="cls='bogus'"):
        r.mask("bogus")
    v = numfmt.compare(actual=numfmt.decode(a, "e4m3"), expected=numfmt.decode(e, "e4m3"), fmt="e4m3",
                       values=True)
    assert v.classes == r.classes and v.indices().tolist() == r.indices().tolist()


def test_compare_masks_when_all_equal():
    r = numfmt.compare(actual=np.zeros(10, np.uint8), expected=np.zeros(10, np.uint8), fmt="e4m3")
    assert not r.mask().any() and r.indices().size == 0


@pytest.mark.parametrize("fmt", ["e4m3", "e5m2", "e2m1", "binary16", "bfloat16", "float8_e4m3fnuz", "e8m0", "int8"])
def test_one_subnormal_test_for_compare_ftz_and_identify(fmt):
    from numfmt.compare import _classify
    from numfmt.identify import DEFAULT_VIAS
    from numfmt.steps import flush_outputs, input_subnormal_mask, subnormal_code_mask

    assert DEFAULT_VIAS is _classify.INTERMEDIATES
    f = numfmt.get_format(fmt)
    codes = np.arange(1 << f.bits, dtype=np.uint32).astype(f.code_dtype)
    mask = subnormal_code_mask(codes, f)
    assert np.array_equal(_classify.subnormal_mask(codes, f), mask & getattr(f, "has_zero", True))
    if mask.any():
        flushed = codes.copy()
        flush_outputs(flushed, f)
        assert np.array_equal(flushed != codes, mask)
        vals = numfmt.decode(codes, f)
        assert not np.any(subnormal_code_mask(flushed, f))
        if fmt == "bfloat16":
            ml_dtypes = pytest.importorskip("ml_dtypes")
            assert np.array_equal(input_subnormal_mask(vals.astype(ml_dtypes.bfloat16)), mask)
        if fmt == "binary16":
            assert np.array_equal(input_subnormal_mask(vals.astype(np.float16)), mask)
