"""Bounded memory: the verbs work a chunk (arithmetic) or a slab (block formats) at a time.

The chunked paths are checked against one pass over the whole array (the chunk size made large),
bit for bit; the peak memory of each verb is measured in a fresh process by tools/memory.py.
"""

from __future__ import annotations

import pathlib
from fractions import Fraction

import numpy as np
import pytest
from files import load_module
from hypothesis import given, settings
from hypothesis import strategies as st

import numfmt
from numfmt import accumulate, arith, reference
from numfmt.accum_models import Chunked, Exact, FusedBlock, Pairwise, Sequential
from numfmt.block import encoder, slabs

ROOT = pathlib.Path(__file__).resolve().parent.parent
RNG = np.random.default_rng(18)


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


# ------------------------------------------------------------------ arithmetic: chunks == one pass
_ARITH = [
    (numfmt.add, 2, "int8", {"saturation": "finite"}),
    (numfmt.div, 2, "e4m3", {"nan": "raise"}),
    (numfmt.div, 2, "binary8p3se", {"rounding": "stochastic", "random": 7, "rbits": 5}),
    (numfmt.sqrt, 1, "bfloat16", {"rounding": "stochastic_b", "random": 2**64 - 1}),
    (numfmt.fma, 3, "int4", {"saturation": "finite", "rounding": "toward_negative"}),
    (numfmt.mul, 2, "binary64", {"rounding": "stochastic", "random": 3, "rbits": 4}),
    (numfmt.add, 2, "binary64", {}),
    (numfmt.sub, 2, "e5m2", {"rounding": "to_odd"}),
]


@pytest.mark.parametrize("verb,k,fmt,kw", _ARITH, ids=lambda v: getattr(v, "__name__", str(v)))
def test_general_arith_chunks_equal_one_pass(monkeypatch, verb, k, fmt, kw):
    """The general loops convert a chunk at a time; chunk boundaries, broadcast and strided operands,
    seeded random bits (keyed by the global index) and explicit bits give the one-pass result."""
    base = RNG.standard_normal((3, 5, 700)) * 3
    ops = [np.abs(base[:, :, ::2]).astype(np.float32),       # strided
           (base[0, :1, :350] + 0.5).astype(np.float64),     # broadcast (1, 350) against (3, 5, 350)
           np.float32(0.75)][:k]
    if verb is numfmt.div:
        ops[1] = np.where(ops[1] == 0, 1.0, ops[1])
    nb = kw.get("rbits", 5)
    bits = RNG.integers(0, 1 << nb, (3, 5, 350), dtype=np.uint32)
    for random in ((kw["random"], bits) if "random" in kw else (None,)):
        kws = dict(kw, random=random, rbits=nb) if "random" in kw else kw
        monkeypatch.setattr(arith, "CHUNK", 1 << 30)
        want = verb(*ops, fmt, **kws)
        codes_want = verb(*ops, fmt, codes=True, **kws)
        monkeypatch.setattr(arith, "CHUNK", 1000)
        _same(verb(*ops, fmt, **kws), want)
        _same(verb(*ops, fmt, codes=True, **kws), codes_want)
        out = np.empty_like(codes_want)
        assert verb(*ops, fmt, codes=True, out=out, **kws) is out
        _same(out, codes_want)


def test_general_arith_chunks_nan_error_and_scalars(monkeypatch):
    monkeypatch.setattr(arith, "CHUNK", 64)
    a = np.ones(1000, np.float32)
    a[777] = np.nan
    out = np.full(1000, 7, np.uint8)
    with pytest.raises(ValueError, match="1 result"):
        numfmt.div(a, 3.0, "e2m1", codes=True, out=out)
    assert (out == 7).all()  # nothing written on an error
    assert numfmt.div(1.0, 3.0, "e4m3", codes=True) == reference.encode(Fraction(1, 3), "e4m3")
    assert numfmt.div(np.zeros((0, 3)), 1.0, "int8").shape == (0, 3)
    assert numfmt.add(1.0, 2.0**-60, "binary64", rounding="toward_positive") == 1.0 + 2.0**-52


# ------------------------------------------------------------------ block formats: slabs == one pass
_BLOCK = [
    ("mxfp8_e4m3", {}),
    ("mxfp4", {"scale_rule": "even", "rounding": "stochastic", "random": 5}),
    ("mxfp6_e3m2", {"recipe": "torchao"}),
    ("mxint8", {"rounding": "toward_zero"}),
    ("mxfp8_e5m2", {"scale_rule": "max_abs_finite", "nonfinite": "finite"}),
]


@pytest.mark.parametrize("fmt,kw", _BLOCK, ids=[f for f, _ in _BLOCK])
@pytest.mark.parametrize("shape,axis", [((70, 300), 0), ((3, 130, 50), 1), ((2, 40, 3, 90), -1), ((4000,), 0)])
def test_block_slabs_equal_one_pass(monkeypatch, fmt, kw, shape, axis):
    """encode/decode run on slabs of the array with the blocked axis moved last: the same codes,
    scales and values as one pass, for every axis, ragged last blocks and seeded random bits."""
    x = (RNG.standard_normal(shape) * 10).astype(np.float32)
    x.flat[::97] = np.inf
    if "random" in kw:
        x = np.abs(x)
    monkeypatch.setattr(slabs, "SLAB", 1 << 40)
    want = numfmt.encode(x, fmt, axis=axis, **kw)
    want_v = numfmt.decode(want)
    want_v64 = numfmt.decode(want, dtype=np.float64)
    monkeypatch.setattr(slabs, "SLAB", 700)
    assert len(list(slabs.slabs(np.moveaxis(x, axis, -1).shape[:-1], x.shape[axis]))) > 1 or x.ndim == 1
    got = numfmt.encode(x, fmt, axis=axis, **kw)
    _same(got.codes, want.codes)
    _same(got.scales, want.scales)
    assert got.axis == want.axis and got.scale_rule == want.scale_rule and got.recipe == want.recipe
    _same(numfmt.decode(got), want_v)
    _same(numfmt.decode(got, dtype=np.float64), want_v64)
    out = np.full(x.shape, -1.0, np.float32)[..., ::-1]  # non-contiguous out=
    assert numfmt.decode(got, out=out) is out
    _same(np.ascontiguousarray(out), want_v)
    rnd = {k: v for k, v in kw.items() if k in ("rounding", "random")}
    if not rnd:
        _same(numfmt.quantize(x, fmt, axis=axis, **kw), want_v)


def test_slab_rows_cover_the_array_once():
    for others, n in [((5, 7, 3), 4000), ((1000,), 100), ((3, 2), 1 << 15), ((2,), 10**6), ((), 10**6)]:
        rows = int(np.prod(others, dtype=np.int64))
        seen = np.zeros(rows, int)
        idx = np.arange(rows).reshape(others) if others else np.zeros((), int)
        for index, first, count in slabs.slabs(others, n):
            sel = idx[index].reshape(-1)
            assert sel.tolist() == list(range(first, first + count))
            seen[sel] += 1
        assert (seen == 1).all()


def test_nvfp4_axis0_unchanged():
    """The amax rule (a tensor scale over the whole tensor) keeps its one-pass path."""
    x = (RNG.standard_normal((64, 48)) * 5).astype(np.float32)
    a = numfmt.encode(x, "nvfp4", axis=0)
    b = numfmt.encode(np.ascontiguousarray(x.T), "nvfp4", axis=-1)
    _same(a.codes, np.ascontiguousarray(b.codes.T))
    _same(a.scales, np.ascontiguousarray(b.scales.T))
    assert a.tensor_scale == b.tensor_scale
    assert encoder.encode is numfmt.block.encode


# ------------------------------------------------------------------ peak memory, fresh processes
_BOUND = 1.5  # extra bytes beyond the output, per byte of input


@pytest.mark.parametrize("case", ["div", "add_int8", "sqrt", "add_binary64", "encode_mxfp8_axis0",
                                  "quantize_mxfp8_axis0", "compare_block", "encode", "dot", "matmul",
                                  "dot_pairwise", "dot_fused", "dot_chunked", "dot_chunked_fp16", "dot_exact",
                                  "dot_mma", "dot_mma_cdna2", "dot_mma_cdna3"])
def test_peak_memory_per_element(case):
    """tools/memory.py in a fresh process on 2M elements: at most 1.5x the input beyond the output
    (div, the general arithmetic path, was 2.1x; MX quantize along axis 0 1.5x; dot and matmul with a
    Sequential model 6.3x; one long dot product under a Pairwise, FusedBlock, Exact, Chunked or
    instruction model 3.2x to 8.2x, evaluated in one pass over K), compare_block at most 16 bytes
    per element (was 80)."""
    mem = load_module(ROOT / "tools" / "memory.py", "numfmt_tools_memory")
    r = mem.run_child(case, 2_000_000)
    if case.startswith("compare"):  # all codes differ: at most 16 bytes per element (the chunk's working set)
        assert r["extra"] <= 16, r
    else:
        assert r["extra"] <= _BOUND * r["input"], r


@pytest.mark.parametrize("seed", [0, 1, 2])  # (1 and 2: classes of equal count, listed in one fixed order)
def test_compare_block_chunks_equal_one_pass(monkeypatch, seed):
    """compare_block streams the element codes: counts, per-block figures, examples (with ties found
    through x), the report's text and the kept masks are those of one pass, along any axis."""
    from numfmt.block import BlockArray
    from numfmt.compare import _block

    x = (np.random.default_rng(seed).standard_normal((96, 70)) * 4).astype(np.float32)
    for axis in (0, -1):
        e = numfmt.encode(x, "mxfp4", axis=axis)
        codes, scales = e.codes.copy(), e.scales.copy()
        codes.flat[::37] ^= 1
        codes.flat[5::211] = 0x8
        scales.flat[::5] += 1
        a = BlockArray(codes, scales, "mxfp4", axis=axis)
        monkeypatch.setattr(_block, "STREAM_CHUNK", 1 << 30)
        want = numfmt.compare_block(actual=a, expected=e, x=x, max_examples=40)
        monkeypatch.setattr(_block, "STREAM_CHUNK", 100)
        got = numfmt.compare_block(actual=a, expected=e, x=x, max_examples=40)
        assert got.to_dict() == want.to_dict() and str(got) == str(want)
        assert got.elements.indices().tolist() == np.flatnonzero(codes != e.codes).tolist()
        assert got.scales.indices().tolist() == np.flatnonzero(scales != e.scales).tolist()
        for cls in got.elements.classes:
            _same(got.elements.mask(cls), want.elements.mask(cls))
        assert got.blocks_with_element_mismatch > 0 and got.elements_in_scale_mismatch_blocks > 0


# ------------------------------------------------------------------ dot / matmul: pieces == one pass
_HOPPER = numfmt.mma_model("Hopper", "m64n8k32.f32.e4m3.e4m3")
_DOT_MODELS = [
    Sequential("fp32", in_format="e4m3"),                                   # fused steps
    Sequential("fp16", "toward_negative", product_format="fp16", product_rounding="toward_zero",
               in_format="e4m3"),                                           # rounded products, overflow
    Sequential("bf16", "toward_positive", in_format="e4m3"),
    Sequential("binary64", "toward_negative"),                              # chain of binary64 fma
    Exact("fp16", "nearest_even", in_format="e4m3", terms=3),               # chain of exact blocks
    Exact("fp32", "toward_zero", in_format="e4m3", terms=8),
    Exact("fp16", "toward_negative", in_format="e5m2"),                     # Kulisch accumulators carried
    Exact("fp32", in_format="e4m3", plus_zero=True),
    Pairwise("fp16", in_format="e4m3"),                                     # trees of power-of-two pieces
    Pairwise("bf16", "toward_negative", product_format="bf16", in_format="e5m2"),
    Pairwise("fp32", in_format="fp16", terms=2, flush_subnormals=True),    # binary32 pairs, one instruction
    FusedBlock(in_format="e4m3", terms=4),                                  # chains of blocks
    FusedBlock(in_format="e5m2", terms=4, out_format="fp16", addend="late", sticky=True),
    numfmt.accumulation_model("h100", "e5m2"),
    Chunked(FusedBlock(in_format="e4m3", terms=4), Sequential("fp32"), every=8),
    Chunked(FusedBlock(in_format="e5m2", terms=4), Pairwise("fp32"), every=4),
    Chunked(Sequential("fp16", in_format="e5m2"), FusedBlock(in_format="fp16", terms=4, out_format="fp16"), every=3),
    numfmt.accumulation_model("h100", "e4m3", out_format="fp16"),          # Chunked, k_order inside chunks
    _HOPPER,                                                                # instruction chains (K < 32 too)
    numfmt.mma_model("Volta", "m8n8k4.f32.f16.f16.f16"),                    # c binary16, d binary32
    numfmt.mma_model("CDNA1", "f32_32x32x8f16"),                            # exact blocks, +0
    numfmt.mma_model("CDNA2", "f32_32x32x8f16"),                            # binary32 pairs, FTZ
    numfmt.mma_model("CDNA3", "f32_32x32x16_fp8_fp8"),                      # two-stage blocks
]
def _values(model, codes, which=0):
    """Input values of `model` (operand `which`) from 8-bit codes: the values of its input format
    when that is 8 bits wide, else e5m2 values (NaN and infinities)."""
    if isinstance(model, Sequential) and model.acc_format == "binary64":
        return np.ldexp(codes.astype(np.float64) - 128, (codes % 7).astype(int) - 3)
    f = accumulate._in_formats(model)[which]
    f = f if f.bits <= 8 else numfmt.get_format("e5m2")
    table = np.asarray(numfmt.decode(np.arange(1 << f.bits, dtype=np.uint8), f), np.float64)
    return table[codes.astype(np.int64) % table.size]


def _both(chunk, f):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(accumulate, "CHUNK", 1 << 40)
        want = f()
        mp.setattr(accumulate, "CHUNK", chunk)
        got = f()
    _same(got, want)


def _cut(m, K):
    """K rounded down to what `m` takes (groups of binary32 pairs)."""
    return K - K % m.terms if isinstance(m, Pairwise) and m.terms else K


@pytest.mark.parametrize("m", _DOT_MODELS, ids=lambda m: type(m).__name__)
@settings(max_examples=30)
@given(K=st.integers(0, 90), T=st.integers(1, 4), chunk=st.integers(1, 40), seed=st.integers(0, 2**32 - 1),
       special=st.booleans())
def test_dot_pieces_equal_one_pass(m, K, T, chunk, seed, special):
    """dot in pieces of rows and of K (`_KStream`: chains carry their result as the next piece's c,
    Pairwise combines the trees of power-of-two pieces, Exact carries its Kulisch accumulators,
    Chunked feeds each piece's partial sums to its outer model, a FusedBlock applies the NaN /
    infinity rule of the whole row): the bits of one pass for every model, K not a multiple of
    the piece or below an instruction's K, zeros, infinities, NaN (also in c) and overflow included."""
    rng = np.random.default_rng(seed)
    K = _cut(m, K)
    codes = rng.integers(0, 256 if special else 120, (2, T, K), dtype=np.uint8)
    codes[:, :, ::3] &= 0x87  # small values and zeros next to large ones
    a, b = _values(m, codes[0]), _values(m, codes[1], 1)
    c = rng.integers(-64, 64, T) * 0.25  # a value of every accumulator format here
    if special and seed % 3 == 0:
        c[0] = (np.inf, -np.inf, np.nan)[seed % 9 // 3]
    _both(chunk, lambda: numfmt.dot(a, b, c=c, model=m))
    _both(chunk, lambda: numfmt.dot(a[0], b[0], model=m))


@pytest.mark.parametrize("m", _DOT_MODELS, ids=lambda m: type(m).__name__)
@settings(max_examples=15)
@given(M=st.integers(0, 6), N=st.integers(0, 6), K=st.sampled_from([0, 1, 5, 32, 64, 70]),
       chunk=st.integers(1, 200), seed=st.integers(0, 2**32 - 1))
def test_matmul_tiles_equal_one_pass(m, M, N, K, chunk, seed):
    """matmul in tiles of rows of A and columns of B and pieces of K: one pass's bits."""
    K = _cut(m, K)
    rng = np.random.default_rng(seed)
    A = _values(m, rng.integers(0, 256, (M, K), dtype=np.uint8))
    B = _values(m, rng.integers(0, 256, (K, N), dtype=np.uint8), 1)
    _both(chunk, lambda: numfmt.matmul(A, B, model=m))


@pytest.mark.parametrize("ins", ["m128n8k32.kind::mxf8f6f4.block32.f32.e5m2.e4m3.ue8m0",
                                 "m128n8k64.kind::mxf4nvf4.block16.f32.e2m1.e2m1.ue4m3"])
def test_block_scaled_pieces_equal_one_pass(ins):
    """Block-scaled instructions: pieces of K at whole instructions, each piece with its scales."""
    m = numfmt.mma_model("Blackwell", ins)
    fa, fb = (numfmt.get_format(f) for f in m.in_format)
    sf = numfmt.get_format(m.scale_format)
    K, T = 6 * m.terms, 3
    va, vb, vs = (np.asarray(numfmt.decode(np.arange(1 << f.bits, dtype=np.uint8), f), np.float64)
                  for f in (fa, fb, sf))
    vs = vs[np.isfinite(vs) & (vs > 0) & (vs < 2**10) & (vs > 2**-10)]
    for special in (False, True):
        a = va[RNG.integers(0, va.size, (T, K))]
        b = vb[RNG.integers(0, vb.size, (T, K))]
        sa, sb = (vs[RNG.integers(0, vs.size, (T, K // m.scale_block))] for _ in range(2))
        if special:
            a[0, 5 * m.terms + 1] = np.nan if fa.code_of_nan is not None else a[0, 0]
            if fa.code_of_inf is not None:
                a[1, 2] = a[2, 3 * m.terms] = np.inf
            if fb.code_of_inf is not None:
                b[1, 3 * m.terms] = -np.inf
        A, B = a[0:1], b[0:1].T
        for chunk in (m.terms, 2 * m.terms, 3 * m.terms):
            _both(chunk, lambda: numfmt.dot(a, b, a_scales=sa, b_scales=sb, model=m))
            _both(chunk, lambda: numfmt.matmul(A, B, a_scales=sa[0:1], b_scales=sb[0:1].T, model=m))


def test_fused_block_special_rule_over_the_whole_row(monkeypatch):
    """A FusedBlock decides NaN and infinities over the whole row: an overflow to +inf in the
    first piece and a -inf product in the second give -inf (as one pass), not NaN."""
    m = FusedBlock(in_format="e5m2", terms=4, out_format="fp16")
    a = np.array([57344.0] * 4 + [np.inf, 1.0, 1.0, 1.0])
    b = np.array([57344.0] * 4 + [-1.0, 1.0, 1.0, 1.0])
    for chunk in (1 << 40, 4):
        monkeypatch.setattr(accumulate, "CHUNK", chunk)
        assert numfmt.dot(a[:4], b[:4], model=m) == np.inf  # the overflow alone
        assert numfmt.dot(a, b, model=m) == -np.inf
        assert np.isnan(numfmt.dot(a, b, c=np.inf, model=m))


def test_instruction_pieces_clamp_c_as_one_pass():
    """An instruction whose c is binary16 and d binary32 (Volta): only the first block clamps c's
    exponent at binary16's emin; a piece after the first takes the previous result as a binary32 c."""
    m = numfmt.mma_model("Volta", "m8n8k4.f32.f16.f16.f16")
    rng = np.random.default_rng(7)
    a, b = (np.asarray(numfmt.quantize(rng.standard_normal((400, 16)) * 2.0 ** rng.integers(-14, -4, (400, 16)),
                                       "fp16"), np.float64) for _ in range(2))
    for chunk in (m.terms, 2 * m.terms):
        _both(chunk, lambda: numfmt.dot(a, b, model=m))


@pytest.mark.parametrize("K", [1, 2, 3, 5, 7, 8, 13, 16, 31, 33, 64, 100])
def test_pairwise_pieces_follow_the_tree(monkeypatch, K):
    """Pairwise in pieces against its definition written out with `numfmt.add`: products rounded
    to bfloat16, then adjacent pairs level by level (an odd last element passes up), then + c."""
    m = Pairwise("bf16", in_format="bf16")
    rng = np.random.default_rng(K)
    a = np.asarray(numfmt.quantize(rng.standard_normal(K) * 2.0 ** rng.integers(-8, 8, K), "bfloat16"), np.float64)
    b = np.asarray(numfmt.quantize(rng.standard_normal(K), "bfloat16"), np.float64)
    level = list(np.asarray(numfmt.mul(a, b, "bfloat16"), np.float64))
    while len(level) > 1:
        pairs = [float(numfmt.add(level[i], level[i + 1], "bfloat16")) for i in range(0, len(level) - 1, 2)]
        level = pairs + level[len(pairs) * 2:]
    want = float(numfmt.add(level[0], 0.375, "bfloat16"))
    for chunk in (1 << 40, 1, 2, 3, 4, 6, 8, 16):
        monkeypatch.setattr(accumulate, "CHUNK", chunk)
        assert K <= chunk or accumulate._k_step(m, K) & (accumulate._k_step(m, K) - 1) == 0  # a power of two
        assert numfmt.dot(a, b, c=0.375, model=m).item() == want, chunk


def test_pieces_raise_the_one_pass_error(monkeypatch):
    """A bad value in a later piece, or in B while A has one further on: the error of one pass."""
    m = Sequential("fp32", in_format="e4m3")
    a = np.ones(100)
    b = np.ones(100)
    a[90], b[10] = 0.3, 0.3
    errs = []
    for chunk in (1 << 40, 8):
        monkeypatch.setattr(accumulate, "CHUNK", chunk)
        for f in (lambda: numfmt.dot(a, b, model=m),
                  lambda: numfmt.matmul(a.reshape(10, 10), b.reshape(10, 10), model=m),
                  lambda: numfmt.dot(b, b, c=np.array(np.nan), model=Sequential("fp32", in_format="e4m3"))):
            with pytest.raises(ValueError) as e:
                f()
            errs.append(str(e.value))
    assert errs[:3] == errs[3:] and "A holds 0.3" in errs[1]
    monkeypatch.setattr(accumulate, "CHUNK", 8)
    assert numfmt.dot(a, b, model=m, round_inputs="nearest_even") == numfmt.dot(
        numfmt.quantize(a, "e4m3"), numfmt.quantize(b, "e4m3"), model=m)
