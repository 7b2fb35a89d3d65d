"""The fused float32 block loops (numfmt/_kernels/block_fast.py) equal the exact general paths bit for bit.

The general path is forced by making the fast-path entry points decline
(``block.mx._fast_mx`` / ``block.nvfp4._fast_nv`` return None), so both results come
from the same public ``encode`` call on the same float32 input.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numfmt
from numfmt import block

MX = ["mxfp4", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp8_e4m3", "mxfp8_e5m2"]
RULES = ["floor", "ceil", "even", "rceil"]
F32 = np.float32


def _general(monkeypatch, fn):
    with monkeypatch.context() as m:
        m.setattr(block.mx, "_fast_mx", lambda *a, **k: None)
        m.setattr(block.nvfp4, "_fast_nv", lambda *a, **k: None)
        return fn()


def _same(a, b):
    assert a.codes.dtype == b.codes.dtype and a.scales.dtype == b.scales.dtype
    assert np.array_equal(a.scales, b.scales)
    assert np.array_equal(a.codes, b.codes)
    if a.tensor_scale is None:
        assert b.tensor_scale is None
    else:
        assert np.float32(a.tensor_scale).view(np.int32) == np.float32(b.tensor_scale).view(np.int32)


def _hard_rows(fmt, rows=3, n=100, seed=0):
    """Rows of hard blocks: ties of the element grid, zero blocks, subnormal and tiny
    maxima, huge and infinite values, negative zeros; n not a multiple of the block."""
    f = block.get_block_format(fmt)
    ef = f.element
    rng = np.random.default_rng(seed)
    v = ef.values()
    v = v[np.isfinite(v) & (v > 0)].astype(np.float64)
    mids = (v[1:] + v[:-1]) / 2  # ties between neighbours
    x = rng.standard_normal((rows, n)) * 2.0 ** rng.integers(-8, 8, (rows, n))
    x = x.astype(np.float32)
    bs = f.block_size
    x[0, :bs] = rng.choice(np.concatenate([mids, -mids, v, -v]), bs).astype(np.float32)
    x[0, bs:2 * bs] = 0.0
    x[0, 2 * bs] = -0.0
    x[1, :bs] = rng.standard_normal(bs).astype(np.float32) * F32(2.0 ** -140)  # subnormal amax
    x[1, bs:2 * bs] = (rng.choice(mids, bs) * 2.0 ** -120).astype(np.float32)  # ties after a big shift
    x[1, 2 * bs + 1] = F32(3e38)
    x[2, :bs] = (rng.choice(mids, bs) * 2.0 ** 100).astype(np.float32)
    x[2, bs + 3] = -np.inf
    x[2, 2 * bs + 1] = np.inf
    x[2, 2 * bs + 2] = -np.inf
    return x


@pytest.mark.parametrize("name", MX)
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("shape", [(3, 100), (2, 64), (1, 33), (4, 7)])
def test_mx_fused_equals_general_on_hard_blocks(monkeypatch, name, rule, shape):
    x = _hard_rows(name, rows=3, n=100)
    x = np.resize(x, shape).astype(np.float32)
    got = numfmt.encode(x, name, scale_rule=rule)
    ref = _general(monkeypatch, lambda: numfmt.encode(x, name, scale_rule=rule))
    _same(got, ref)


@pytest.mark.parametrize("name", MX)
def test_mx_fused_nan_blocks_are_zero(monkeypatch, name):
    """A NaN (or inf/NaN-scaled) block: scale 0xFF and zero codes, negative elements included."""
    x = np.full((2, 96), -1.5, np.float32)
    x[0, 3] = np.nan
    x[1, 40] = -np.nan
    x[1, 70] = np.inf
    got = numfmt.encode(x, name)
    ref = _general(monkeypatch, lambda: numfmt.encode(x, name))
    _same(got, ref)
    assert got.scales[0, 0] == 0xFF and (got.codes[0, :32] == 0).all()


@pytest.mark.parametrize("recipe", ["te", "torchao"])
@pytest.mark.parametrize("ts", [None, False, 0.0078125, float(np.float32(3.0e-3))])
@pytest.mark.parametrize("shape", [(3, 100), (2, 64), (1, 17), (5, 32)])
def test_nvfp4_fused_equals_general_on_hard_blocks(monkeypatch, recipe, ts, shape):
    x = np.resize(_hard_rows("nvfp4", rows=3, n=100, seed=1), shape).astype(np.float32)
    if ts is None and np.isinf(x).any():  # a tensor amax of inf: both paths go general
        x = np.where(np.isinf(x), F32(1e30), x).astype(np.float32)
    kw = {"recipe": recipe, "tensor_scale": ts}
    got = numfmt.encode(x, "nvfp4", **kw)
    ref = _general(monkeypatch, lambda: numfmt.encode(x, "nvfp4", **kw))
    _same(got, ref)


def test_nvfp4_fused_declines_nan_products(monkeypatch):
    """A multiplier of 0 (tensor scale far too small for the data) with an infinite
    element would make inf * 0 = NaN: the fused loop declines, the general path decides."""
    x = np.ones((1, 32), np.float32)
    x[0, 5] = np.inf
    for recipe in ("te", "torchao"):
        kw = {"recipe": recipe, "tensor_scale": 2.0 ** 120}
        got = numfmt.encode(x, "nvfp4", **kw)
        ref = _general(monkeypatch, lambda kw=kw: numfmt.encode(x, "nvfp4", **kw))
        _same(got, ref)


@pytest.mark.parametrize("recipe", ["te", "torchao"])
@pytest.mark.parametrize("ts", [None, False, 0.0078125])
@pytest.mark.parametrize("shape", [(3, 100), (2, 64)])
def test_nvfp4_fused_table_scales_equal_general(monkeypatch, recipe, ts, shape):
    """The fused loop's rounding-table scale path (scale formats without the arithmetic one)."""
    x = np.resize(_hard_rows("nvfp4", rows=3, n=100, seed=2), shape).astype(np.float32)
    if ts is None:
        x = np.where(np.isinf(x), F32(1e30), x).astype(np.float32)
    kw = {"recipe": recipe, "tensor_scale": ts}
    with monkeypatch.context() as m:
        m.setattr(block.nvfp4, "_scale_arith_args", lambda sf: None)
        got = numfmt.encode(x, "nvfp4", **kw)
    ref = _general(monkeypatch, lambda: numfmt.encode(x, "nvfp4", **kw))
    _same(got, ref)


@pytest.mark.parametrize("recipe", ["te", "torchao"])
def test_nvfp4_two_level_nan_or_inf_tensor_goes_general(monkeypatch, recipe):
    """The tensor amax comes from the block maxima; a NaN or inf there declines the fused loop."""
    for bad in (np.nan, -np.nan, np.inf):
        x = np.random.default_rng(4).standard_normal((2, 64)).astype(np.float32)
        x[1, 17] = bad
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            got = numfmt.encode(x, "nvfp4", recipe=recipe)
            ref = _general(monkeypatch, lambda x=x: numfmt.encode(x, "nvfp4", recipe=recipe))
        _same(got, ref)


def test_block_amax_is_the_tensor_amax():
    from numfmt._kernels import block_fast as KF

    rng = np.random.default_rng(6)
    for n, bs in ((96, 16), (100, 16), (64, 32), (70, 32), (45, 9)):
        x = (rng.standard_normal((3, n)) * 2.0 ** rng.integers(-140, 120, (3, n))).astype(np.float32)
        nb = -(-n // bs)
        am = np.empty(3 * nb, np.int32)
        top = KF.block_amax(x.view(np.int32).reshape(-1), np.int64(n), np.int64(nb), np.int64(bs), am)
        pad = np.zeros((3, nb * bs), np.float32)
        pad[:, :n] = np.abs(x)
        assert np.array_equal(am.view(np.float32), pad.reshape(3, nb, bs).max(axis=-1).reshape(-1))
        assert np.int32(top).view(np.float32) == np.abs(x).max()


@pytest.mark.parametrize("scale", ["ue4m3", "e4m3", "e5m2", "ue5m3", "e3m4"])
def test_scale_arithmetic_equals_rounding_table(scale):
    """The fused NVFP4 loop's arithmetic scale code and value against the round_pack table,
    on random positive float32 patterns (every exponent, infinity included)."""
    from numfmt import get_format
    from numfmt._kernels import block as K
    from numfmt._kernels import block_fast as KF

    try:
        sf = get_format(scale)
    except ValueError:
        pytest.skip(f"no {scale} preset")
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


_f32s = st.floats(width=32, allow_nan=False, allow_infinity=True)


@settings(max_examples=60, deadline=None)
@given(x=hnp.arrays(np.float32, st.tuples(st.integers(1, 3), st.integers(1, 70)), elements=_f32s),
       name=st.sampled_from(MX), rule=st.sampled_from(RULES))
def test_property_mx_fused_equals_general(x, name, rule):
    got = numfmt.encode(x, name, scale_rule=rule)
    orig = block.mx._fast_mx
    try:
        block.mx._fast_mx = lambda *a, **k: None
        ref = numfmt.encode(x, name, scale_rule=rule)
    finally:
        block.mx._fast_mx = orig
    _same(got, ref)


@settings(max_examples=60, deadline=None)
@given(x=hnp.arrays(np.float32, st.tuples(st.integers(1, 3), st.integers(1, 70)),
                    elements=st.floats(width=32, allow_nan=False, allow_infinity=False)),
       recipe=st.sampled_from(["te", "torchao"]), two=st.booleans())
def test_property_nvfp4_fused_equals_general(x, recipe, two):
    kw = {"recipe": recipe, "tensor_scale": None if two else False}
    got = numfmt.encode(x, "nvfp4", **kw)
    orig = block.nvfp4._fast_nv
    try:
        block.nvfp4._fast_nv = lambda *a, **k: None
        ref = numfmt.encode(x, "nvfp4", **kw)
    finally:
        block.nvfp4._fast_nv = orig
    _same(got, ref)


# --------------------------------------------------------------------------- decode


def _table_decode(ba):
    """float32 ``table[code] * scale`` with numpy (the table decode the fused loop replaces)."""
    f = ba.format
    ef, sf, bs = f.element, f.scale, f.block_size
    n = ba.codes.shape[-1]
    tab = block.values.elem_table(ef, np.float32)
    sv = np.asarray(block.values.scale_values(sf), np.float32)[ba.scales.astype(np.int64)]
    if block.scales.is_e8m0(sf) and ba.tensor_scale is None:
        c = ba.scales.astype(np.int32)
        sv = np.where(c == 0, np.int32(0x00400000), c << 23).view(np.float32)
        sv = np.where(c == 255, F32(np.nan), sv).astype(np.float32)
    elif ba.tensor_scale is not None:
        sv = (sv * F32(ba.tensor_scale)).astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        return (tab[ba.codes.astype(np.int64)] * np.repeat(sv, bs, axis=-1)[..., :n]).astype(np.float32)


def _same_f32(a, b):
    assert a.dtype == b.dtype == np.float32
    nan = np.isnan(a)
    assert (nan == np.isnan(b)).all()
    assert (a[~nan].view(np.int32) == b[~nan].view(np.int32)).all()


@pytest.mark.parametrize("name", [*MX, "mxint8", "nvfp4"])
@pytest.mark.parametrize("n", [96, 100, 16, 5])
def test_decode_arithmetic_equals_table(name, n):
    """Every element code (specials, subnormals, -0) with every scale code, short last block."""
    f = block.get_block_format(name)
    ef, sf = f.element, f.scale
    rng = np.random.default_rng(3)
    rows = 1 << sf.bits
    codes = rng.integers(0, 1 << ef.bits, (rows, n))
    codes[:, : min(n, 1 << ef.bits)] = np.arange(min(n, 1 << ef.bits))
    scales = np.repeat(np.arange(rows)[:, None], -(-n // f.block_size), axis=1)
    ts = 0.375 if f.tensor_scale else None
    ba = block.BlockArray(codes, scales, f, tensor_scale=ts)
    _same_f32(numfmt.decode(ba), _table_decode(ba))
    # all codes of one block format at a fixed scale, through out=
    out = np.empty(codes.shape, np.float32)
    numfmt.decode(ba, out=out)
    _same_f32(out, _table_decode(ba))


def test_decode_rows_and_axis():
    x = np.random.default_rng(5).standard_normal((4, 6, 64)).astype(np.float32)
    for ax in (-1, 1):
        ba = numfmt.encode(x, "mxfp4", axis=ax)
        ref = numfmt.decode(ba, dtype=np.float64).astype(np.float32)  # exact, no underflow here
        _same_f32(numfmt.decode(ba), ref)
