"""A hand-written float32 -> OCP E4M3 quantizer with a classic bug, and the property test that catches it.

``quantize_e4m3_buggy`` rounds halfway cases away from zero (``floor(s + 0.5)``)
instead of to even, the most common mistake in hand-written quantizers. On
ordinary random floats the bug almost never shows: an exact tie is a tiny
fraction of all float32 values. ``numfmt.testing.inputs`` puts about a third
of its draws on exact ties, so a plain ``@given`` test fails at once, and the
failure message is numfmt's comparison report naming the mismatch class,
"tie broken the other way".

Run it:  .venv/bin/python examples/buggy_quantizer.py
"""

from __future__ import annotations

import numpy as np

import numfmt
from numfmt.testing import assert_codes_equal, input_arrays


def _e4m3_codes(x, round_half) -> np.ndarray:
    """float32 -> E4M3 (OCP, saturation none: overflow and inf give NaN 0x7f/0xff) with a chosen tie rule."""
    x = np.asarray(x, np.float32).astype(np.float64)
    sign = np.signbit(x).astype(np.uint8) << 7
    a = np.abs(x)
    finite = np.isfinite(a)
    a0 = np.where(finite, a, 0.0)
    _, ex = np.frexp(a0)
    q = np.maximum(ex - 1, -6) - 3                   # quantum exponent: 3 mantissa bits, emin = -6
    n = round_half(np.ldexp(a0, -q))                 # significand in units of the quantum
    v = np.ldexp(n, q)                               # the rounded magnitude
    _, ev = np.frexp(v)
    e = np.maximum(ev - 1, -6)
    t = np.ldexp(v, -(e - 3)).astype(np.int64)       # 1.mmm * 8, or 0.mmm * 8 for subnormals
    normal = t >= 8
    code = np.where(normal, ((e + 7) << 3) + (t - 8), t)
    code = np.where(v == 0, 0, code)
    code = np.where((v > 448) | ~finite, 0x7F, code)  # overflow, inf and NaN -> NaN
    return (code.astype(np.uint8) | sign).astype(np.uint8)


def quantize_e4m3_buggy(x) -> np.ndarray:
    """The bug: ties round away from zero."""
    return _e4m3_codes(x, lambda s: np.floor(s + 0.5))


def quantize_e4m3_fixed(x) -> np.ndarray:
    """The fix: ``np.rint`` rounds ties to even."""
    return _e4m3_codes(x, np.rint)


def check(quantizer):
    """A Hypothesis property test of ``quantizer`` against numfmt (default settings, deadline off)."""
    from hypothesis import given, settings

    @settings(deadline=None)
    @given(x=input_arrays("e4m3", dtype="float32"))
    def test_quantizer_matches_numfmt(x):
        assert_codes_equal(actual=quantizer(x), expected=numfmt.encode(x, "e4m3"), fmt="e4m3", x=x)

    test_quantizer_matches_numfmt()


if __name__ == "__main__":
    check(quantize_e4m3_fixed)
    print("fixed quantizer: every code matches numfmt")
    try:
        check(quantize_e4m3_buggy)
    except AssertionError as e:
        print("buggy quantizer caught:")
        print(e)
    else:
        raise SystemExit("the buggy quantizer was not caught")
