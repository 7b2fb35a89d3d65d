"""compare's diagnosis classes, each on a constructed case; log-binned ulp report; N-d masks and indices."""

from __future__ import annotations

import numpy as np
import pytest

import numfmt
from numfmt.compare import compare


def _classes(x, fmt, **rule):
    x = np.asarray(x)
    return compare(actual=numfmt.encode(x, fmt, **rule), expected=numfmt.encode(x, fmt), fmt=fmt, x=x)


def test_flushed_to_zero():
    r = _classes(np.float32([2.0**-8, -2.0**-7, 1.0]), "e4m3", ftz=True)
    assert r.classes == {"flushed_to_zero": 2}


def test_subnormal_input_treated_as_zero():
    r = _classes(np.float32([1e-40, -2e-40, 1.0]), "bfloat16", daz=True)
    assert r.classes == {"input_as_zero": 2}
    assert "subnormal input treated as zero" in str(r)


def test_double_rounding_suspect():
    x = np.float32([1 + 2.0**-4 + 2.0**-9, 1 + 2.0**-4 - 2.0**-10, 3.0])
    r = _classes(x, "e4m3", via="bfloat16")
    assert r.classes == {"double_rounding": 1}
    r = _classes(x, "e4m3", via="bfloat16", rounding="nearest_away")
    assert r.classes.get("double_rounding") == 1


def test_tie_broken_the_other_way_is_not_double_rounding():
    r = _classes(np.float32([1.0625, 1.1875]), "e4m3", rounding="nearest_away")
    assert r.classes == {"tie": 1}


def test_saturated_vs_overflowed_nan_and_signed_zero_classes():
    r = _classes(np.float32([500.0, -0.0]), "e4m3", saturation="finite")
    assert r.classes == {"saturated_vs_overflowed": 1}
    r = compare(actual=[0x00, 0x7F], expected=[0x80, 0x40], fmt="e4m3")
    assert r.classes == {"signed_zero": 1, "nan_vs_number": 1}


def test_ulp_direction_and_log_bins():
    e = numfmt.encode(np.float32([1.0, 1.0, -1.0, 1.0, 1.0, 2.0**-6]), "e4m3")
    a = e.copy()
    a[0] += 1      # away from zero, 1
    a[1] -= 3      # toward zero, 3 -> bin 3-4
    a[2] += 6      # -1 more negative: away, 6 -> 5-8
    a[3] += 40     # away 40 -> 9-64
    a[4] = 0xB8    # -1.0: a sign crossing
    r = compare(actual=a, expected=e, fmt="e4m3")
    assert r.ulp_bins == {"toward 3-4": 1, "away 1": 1, "away 5-8": 1, "away 9-64": 1, "sign crossing": 1}
    s = str(r)
    for text in ("1 ulp away from zero", "3-4 ulps toward zero", "5-8 ulps away from zero", "sign crossing"):
        assert text in s


def test_reports_stay_short_for_wild_fp32_differences():
    rng = np.random.default_rng(0)
    e = rng.integers(0, 2**32 - 1, 20000, dtype=np.uint64).astype(np.uint32)
    a = rng.integers(0, 2**32 - 1, 20000, dtype=np.uint64).astype(np.uint32)
    r = compare(actual=a, expected=e, fmt="binary32", max_examples=0)
    hist_lines = [ln for ln in str(r).splitlines() if ("ulp" in ln and "largest" not in ln) or "crossing" in ln]
    assert 0 < len(hist_lines) <= 15
    assert sum(r.ulp_bins.values()) == r.classes["ulps"]


@pytest.mark.parametrize("shape", [(7,), (5, 6), (2, 3, 4)])
def test_masks_and_nd_indices_match_numpy(shape):
    rng = np.random.default_rng(1)
    e = rng.integers(0, 256, shape).astype(np.uint8)
    a = e.copy()
    flip = rng.random(shape) < 0.3
    a[flip] ^= 1
    r = compare(actual=a, expected=e, fmt="e4m3")
    assert np.array_equal(r.mask(), e != a)
    want = np.nonzero(e != a)
    got = r.nonzero()
    assert len(got) == len(want) and all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
    assert np.array_equal(r.indices(nd=True), np.argwhere(e != a))
    assert np.array_equal(r.indices(), np.flatnonzero(e != a))


def test_block_scale_off_by_k_and_elements_off_with_the_scale_right():
    from numfmt.identify._block import apply_block_rule

    x = np.random.default_rng(4).standard_normal((4, 64)).astype(np.float32)
    bf = numfmt.get_block_format("mxfp8_e4m3")
    exp = numfmt.encode(x, bf)
    act = apply_block_rule(x, bf, {"scale_rule": "floor", "recipe": "ocp", "scale_offset": 1})
    act.codes[0, 0] ^= 1 if act.scales[0, 0] == exp.scales[0, 0] else 0
    codes = act.codes.copy()
    codes[3, 63] ^= 1
    scales = act.scales.copy()
    scales[3, 1] = exp.scales[3, 1]  # the last block: the scale right, one element off
    from numfmt.block import BlockArray

    r = compare(actual=BlockArray(codes, scales, bf), expected=exp, x=x)
    assert r.scale_offsets == {1: 7}
    assert r.elements_off_with_scale_right >= 1
    assert "scale off by +1: 7" in str(r) and "off with the scale right" in str(r)
    assert r.to_dict()["scale_offsets"] == {"+1": 7}
