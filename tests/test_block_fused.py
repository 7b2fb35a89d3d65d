"""Pieces of the fused float32 block loops (numfmt/_kernels/block_fast.py) against independent references.

The loops as a whole are proven against the general block path per registered variant
in tests/test_variants_block.py; here: the tensor amax, the NVFP4 arithmetic scale code
and value, and the power-of-two scale rules.
"""

from __future__ import annotations

import numpy as np
import pytest

from numfmt import block
from numfmt._kernels import block_fast as KF


def test_abs_max_bits_is_the_tensor_amax():
    rng = np.random.default_rng(6)
    for n in (1, 45, 96, 1000):
        x = (rng.standard_normal(n) * 2.0 ** rng.integers(-140, 120, n)).astype(np.float32)
        top = KF.abs_max_bits(x.view(np.int32))
        assert np.int32(top).view(np.float32) == np.abs(x).max()
        x[n // 2] = -np.nan
        assert KF.abs_max_bits(x.view(np.int32)) > 0x7F800000


@pytest.mark.parametrize("scale", ["ue4m3", "e4m3", "e5m2", "e3m4"])
def test_scale_arithmetic_equals_rounding_table(scale):
    """The fused NVFP4 loop's arithmetic scale code and value against the round_pack table,
    on random positive float32 patterns (every exponent, infinity included)."""
    from numfmt import get_format
    from numfmt._kernels import block as K

    sf = get_format(scale)
    sa = block.nvfp4._scale_arith_args(sf)
    if scale == "ue4m3":
        assert sa is not None  # NVFP4 takes the vectorised path
    if sa is None:
        return
    rng = np.random.default_rng(7)
    pats = np.concatenate([rng.integers(0, 0x7F800001, 1 << 20, dtype=np.int64),
                           np.arange(0, 0x7F800001, 0x7F800000 // 4096)]).astype(np.int32)
    got_c = np.empty(pats.size, np.int32)
    got_v = np.empty(pats.size, np.float32)
    KF.scale_code_value_f32(pats, sa, got_c, got_v)
    ref = np.empty(pats.size, np.int32)
    K.encode_table_f32(pats, *block.values.rounding_table(sf), ref)
    assert np.array_equal(got_c, ref)
    vals = np.asarray(block.values.scale_values(sf), np.float32)[ref]
    assert np.array_equal(got_v.view(np.int32), vals.view(np.int32))


def _frexp_rule(v, rule, mbits):
    """The scale rules by exact float64 frexp (floor(log2 v), power of two, significand)."""
    m, k = np.frexp(v.astype(np.float64))
    fl, pow2, sig = k.astype(np.int64) - 1, m == 0.5, 2.0 * m
    if rule in ("ceil", "rceil"):
        return fl + (~pow2)
    if rule == "even":
        return fl + (sig >= 2.0 - 2.0 ** -(mbits + 1))
    return fl


def _every_binade(mw, ebits, it, rng):
    """Positive patterns of every exponent field with tie, near-tie, extreme and random fractions."""
    fr = [0, 1, 2, 3, (1 << mw) - 1, (1 << mw) - 2, 1 << (mw - 1)]
    fr += [(1 << mw) - (1 << s) + d for s in range(mw) for d in (-1, 0, 1)]
    fr += [(1 << s) + d for s in range(mw) for d in (-1, 0, 1)]
    fr = np.array([f for f in fr if 0 <= f < (1 << mw)] + list(rng.integers(0, 1 << mw, 64)), np.int64)
    e = np.arange((1 << ebits) - 1, dtype=np.int64)[:, None] << mw
    return (e | fr[None, :]).reshape(-1).astype(it)


@pytest.mark.parametrize("rule", ["floor", "ceil", "even", "rceil"])
@pytest.mark.parametrize("mbits", [0, 1, 2, 3, 6, 10])
def test_pow2_exp_equals_frexp_rules(rule, mbits):
    """`pow2_exp` (the fused loops' scale rules) on every binade, subnormals included, of
    float32 and float64 against the frexp formulas; +inf gives the exponent of 2**(emax + 1)."""
    rng = np.random.default_rng(8)
    ridx = np.int64(KF.MX_RULES.index(rule))
    for it, W, mw, ebits, bias in ((np.int32, 32, 23, 8, 127), (np.int64, 64, 52, 11, 1023)):
        bits = _every_binade(mw, ebits, it, rng)
        bits = bits[bits != 0]
        v = bits.view(np.float32 if it is np.int32 else np.float64)
        out = np.empty(bits.size, np.int64)
        KF.pow2_exps(bits, ridx, np.int64(mbits), it, W, mw, bias, out)
        assert np.array_equal(out, _frexp_rule(v, rule, mbits))
        inf = np.array([((1 << ebits) - 1) << mw], it)
        KF.pow2_exps(inf, ridx, np.int64(mbits), it, W, mw, bias, out[:1])
        assert out[0] == (1 << (ebits - 1))
