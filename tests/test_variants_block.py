"""Every registered block variant (`numfmt._kernels.block_fast`) equals the general block path bit for bit.

`BLOCK_CASES` holds the proof of each registered `block_*` variant: inputs on which the
public `encode`/`decode` must pick that variant (checked) and give what the general path
gives. For encode the general path is the same public call with the block variants
switched off (`variants.select` answers None for them): exact scale arithmetic and one
`round_pack` per element. For decode it is the float32 table decode: the element value
table (from the core decode) times the float32 block scale, in torchao's order. A variant
without an entry fails `test_every_block_variant_has_cases`.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numfmt
from numfmt import block
from numfmt._kernels import block_fast  # noqa: F401  (registers the block variants)
from numfmt._kernels import variants as V

MX = ["mxfp4", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp8_e4m3", "mxfp8_e5m2"]
RULES = ["floor", "ceil", "even", "rceil"]
F32 = np.float32


# --------------------------------------------------------------------------- inputs


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


def _nan_blocks():
    """A NaN (or inf/NaN-scaled) block: scale 0xFF and zero codes, negative elements included."""
    x = np.full((2, 96), -1.5, np.float32)
    x[0, 3] = np.nan
    x[1, 40] = -np.nan
    x[1, 70] = np.inf
    return x


def _finite(x):
    """x with infinities replaced (a tensor amax of inf sends both paths to the general one)."""
    return np.where(np.isinf(x), F32(1e30), x).astype(np.float32)


def _nan_products():
    """A multiplier of 0 (tensor scale far too small for the data) with an infinite element
    would make inf * 0 = NaN: the variant declines, the general path decides."""
    x = np.ones((1, 32), np.float32)
    x[0, 5] = np.inf
    return x


def _bad_tensor(bad):
    """The tensor amax comes from the block maxima; a NaN or inf there declines the variant."""
    x = np.random.default_rng(4).standard_normal((2, 64)).astype(np.float32)
    x[1, 17] = bad
    return x


def _big(name, seed=8):
    """A BlockArray of 257 rows of 4096 (more than one slab of `numfmt.block.slabs`, decoded in one
    call): random codes (specials included) and scales."""
    f = block.get_block_format(name)
    rng = np.random.default_rng(seed)
    rows = 257
    codes = rng.integers(0, 1 << f.element.bits, (rows, 4096))
    scales = rng.integers(0, 1 << f.scale.bits, (rows, 4096 // f.block_size))
    return block.BlockArray(codes, scales, f, tensor_scale=0.375 if f.tensor_scale else None)


def _all_codes(name, n):
    """Every element code (specials, subnormals, -0) with every scale code, short last block."""
    f = block.get_block_format(name)
    ef, sf = f.element, f.scale
    rng = np.random.default_rng(3)
    rows = 1 << sf.bits
    codes = rng.integers(0, 1 << ef.bits, (rows, n))
    codes[:, : min(n, 1 << ef.bits)] = np.arange(min(n, 1 << ef.bits))
    scales = np.repeat(np.arange(rows)[:, None], -(-n // f.block_size), axis=1)
    return block.BlockArray(codes, scales, f, tensor_scale=0.375 if f.tensor_scale else None)


# --------------------------------------------------------------------------- cases and checks


def enc(fmt, x, table_scales=False, **kw):
    """An encode case: `numfmt.encode(x, fmt, **kw)`; `table_scales` makes the NVFP4 variant
    take its rounding-table scale codes instead of the arithmetic ones."""
    return ("encode", fmt, np.asarray(x, np.float32), table_scales, kw)


def dec(ba):
    """A decode case: `numfmt.decode(ba)` (also through `out=`)."""
    return ("decode", ba)


def _shapes(x, shapes):
    return [np.resize(x, s).astype(np.float32) for s in shapes]


BLOCK_CASES = {
    "block_encode.mx_f32": [
        *(enc(name, x, scale_rule=rule) for name in MX for rule in RULES
          for x in _shapes(_hard_rows(name), [(3, 100), (2, 64), (1, 33), (4, 7)])),
        *(enc(name, _nan_blocks()) for name in MX),
        enc("mxfp4", np.random.default_rng(5).standard_normal((4, 6, 64)), axis=1),
    ],
    "block_encode.nv_f32": [
        *(enc("nvfp4", x if ts is not None else _finite(x), recipe=recipe, tensor_scale=ts)
          for recipe in ("te", "torchao") for ts in (None, False, 0.0078125, float(np.float32(3.0e-3)))
          for x in _shapes(_hard_rows("nvfp4", seed=1), [(3, 100), (2, 64), (1, 17), (5, 32)])),
        *(enc("nvfp4", x if ts is not None else _finite(x), table_scales=True, recipe=recipe, tensor_scale=ts)
          for recipe in ("te", "torchao") for ts in (None, False, 0.0078125)
          for x in _shapes(_hard_rows("nvfp4", seed=2), [(3, 100), (2, 64)])),
        *(enc("nvfp4", _nan_products(), recipe=recipe, tensor_scale=2.0 ** 120) for recipe in ("te", "torchao")),
        *(enc("nvfp4", _bad_tensor(bad), recipe=recipe)
          for recipe in ("te", "torchao") for bad in (np.nan, -np.nan, np.inf)),
    ],
    "block_decode.mx_f32": [
        *(dec(_all_codes(name, n)) for name in [*MX, "mxint8"] for n in (96, 100, 16, 5)),
        dec(numfmt.encode(np.random.default_rng(5).standard_normal((4, 6, 64)).astype(np.float32), "mxfp4",
                          axis=1)),
        dec(_big("mxfp4")),
        dec(_big("mxfp8_e4m3")),
    ],
    "block_decode.nv_f32": [*(dec(_all_codes("nvfp4", n)) for n in (96, 100, 16, 5)), dec(_big("nvfp4"))],
}


@contextlib.contextmanager
def _select(block_variants_on=True):
    """Run with the block variants on (recording the chosen names) or off; yields the record."""
    real = V.select
    chosen = []

    def select(op, *args):
        if not op.startswith("block"):
            return real(op, *args)
        v = real(op, *args) if block_variants_on else None
        chosen.append(None if v is None else v.name)
        return v

    V.select = select
    try:
        yield chosen
    finally:
        V.select = real


def _same(a, b):
    assert a.codes.dtype == b.codes.dtype and a.scales.dtype == b.scales.dtype
    assert np.array_equal(a.scales, b.scales)
    assert np.array_equal(a.codes, b.codes)
    if a.tensor_scale is None:
        assert b.tensor_scale is None
    else:
        assert np.float32(a.tensor_scale).view(np.int32) == np.float32(b.tensor_scale).view(np.int32)


def _table_decode(ba):
    """float32 `table[code] * scale` with numpy (torchao's order: the scale times the tensor scale first)."""
    f = ba.format
    ef, sf, bs = f.element, f.scale, f.block_size
    n = ba.codes.shape[ba.axis]
    codes = np.moveaxis(ba.codes, ba.axis, -1)
    scales = np.moveaxis(ba.scales, ba.axis, -1).astype(np.int64)
    tab = block.values.elem_table(ef, np.float32)
    sv = np.asarray(block.values.scale_values(sf), np.float32)[scales]
    if block.scales.is_e8m0(sf) and ba.tensor_scale is None:
        c = scales.astype(np.int32)
        sv = np.where(c == 0, np.int32(0x00400000), c << 23).view(np.float32)
        sv = np.where(c == 255, F32(np.nan), sv).astype(np.float32)
    elif ba.tensor_scale is not None:
        sv = (sv * F32(ba.tensor_scale)).astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        v = (tab[codes.astype(np.int64)] * np.repeat(sv, bs, axis=-1)[..., :n]).astype(np.float32)
    return np.moveaxis(v, -1, ba.axis)


def _same_f32(a, b):
    assert a.dtype == b.dtype == np.float32
    nan = np.isnan(a)
    assert (nan == np.isnan(b)).all()
    assert (a[~nan].view(np.int32) == b[~nan].view(np.int32)).all()


def _check(name, case):
    if case[0] == "encode":
        _, fmt, x, table_scales, kw = case
        with contextlib.ExitStack() as stack:
            chosen = stack.enter_context(_select())
            if table_scales:
                real = block.nvfp4._scale_arith_args
                block.nvfp4._scale_arith_args = lambda sf: None
                stack.callback(setattr, block.nvfp4, "_scale_arith_args", real)
            with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
                got = numfmt.encode(x, fmt, **kw)
        with _select(block_variants_on=False), np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            ref = numfmt.encode(x, fmt, **kw)
        assert name in chosen
        _same(got, ref)
    else:
        ba = case[1]
        with _select() as chosen:
            got = numfmt.decode(ba)
            out = np.empty(ba.codes.shape, np.float32)
            numfmt.decode(ba, out=out)
        assert chosen and set(chosen) == {name}
        ref = _table_decode(ba)
        _same_f32(got, ref)
        _same_f32(out, ref)


@pytest.mark.parametrize("name, case", [(n, c) for n, cases in BLOCK_CASES.items() for c in cases],
                         ids=[f"{n}-{i}" for n, cases in BLOCK_CASES.items() for i in range(len(cases))])
def test_block_variant_equals_general_path(name, case):
    _check(name, case)


def test_every_block_variant_has_cases():
    assert set(BLOCK_CASES) == {v.name for v in V.variants() if v.op.startswith("block")}
    assert all(BLOCK_CASES.values())


def test_block_variants_decline_outside_their_cover():
    """Outside what `applies` declares, dispatch takes the general path."""
    x = _hard_rows("mxfp4")
    for fmt, kw in (("mxfp4", {"scale_rule": "rceil_torchao"}), ("mxfp4", {"recipe": "torchao"}),
                    ("mxfp4", {"rounding": "toward_zero"}), ("mxint8", {}), ("nvfp4", {"recipe": "modelopt"}),
                    ("nvfp4", {"rounding": "toward_zero"})):
        with _select() as chosen, np.errstate(invalid="ignore", over="ignore"):
            numfmt.encode(_finite(x), fmt, **kw)
        assert set(chosen) == {None}, (fmt, kw)
    ba = numfmt.encode(_finite(x), "mxfp4")
    with _select() as chosen:
        numfmt.decode(ba, dtype=np.float64)
    assert set(chosen) == {None}


@pytest.mark.parametrize("name", ["mxfp4", "nvfp4"])
def test_large_decode_into_offset_out(name):
    """A large decode into `out=` views starting at every float offset of a 32-byte line."""
    ba = _big(name, seed=9)
    ref = _table_decode(ba)
    buf = np.empty(ba.codes.size + 8, np.float32)
    for k in range(8):
        out = buf[k:k + ba.codes.size].reshape(ba.codes.shape)
        assert numfmt.decode(ba, out=out) is out
        _same_f32(out, ref)


_f32s = st.floats(width=32, allow_nan=False, allow_infinity=True)


@settings(max_examples=60, deadline=None)
@given(x=hnp.arrays(np.float32, st.tuples(st.integers(1, 3), st.integers(1, 70)), elements=_f32s),
       name=st.sampled_from(MX), rule=st.sampled_from(RULES))
def test_property_mx_variant_equals_general(x, name, rule):
    _check("block_encode.mx_f32", enc(name, x, scale_rule=rule))
    _check("block_decode.mx_f32", dec(numfmt.encode(x, name, scale_rule=rule)))


@settings(max_examples=60, deadline=None)
@given(x=hnp.arrays(np.float32, st.tuples(st.integers(1, 3), st.integers(1, 70)),
                    elements=st.floats(width=32, allow_nan=False, allow_infinity=False)),
       recipe=st.sampled_from(["te", "torchao"]), two=st.booleans())
def test_property_nvfp4_variant_equals_general(x, recipe, two):
    _check("block_encode.nv_f32", enc("nvfp4", x, recipe=recipe, tensor_scale=None if two else False))


@settings(max_examples=60, deadline=None)
@given(ts=st.floats(2.0 ** -60, 2.0 ** 60, width=32), n=st.integers(1, 70), seed=st.integers(0, 2 ** 32 - 1))
def test_property_nvfp4_decode_variant_equals_table(ts, n, seed):
    """Every scale code with random element codes and a random float32 tensor scale."""
    f = block.get_block_format("nvfp4")
    rng = np.random.default_rng(seed)
    rows = 1 << f.scale.bits
    codes = rng.integers(0, 1 << f.element.bits, (rows, n))
    scales = np.repeat(np.arange(rows)[:, None], -(-n // f.block_size), axis=1)
    _check("block_decode.nv_f32", dec(block.BlockArray(codes, scales, f, tensor_scale=ts)))
