"""Every registered fast variant equals the exact path (``round_pack``) on what it claims to cover.

``CASES`` holds one entry per registered variant of the ops proved here: what to enumerate.
For every format of ``FORMATS``, rounding mode and saturation where a variant's ``applies``
holds, the variant and the exact path run on the same inputs and must give identical codes
(or value bits):

* encode: all float32 patterns whose low 16 bits are zero (every bfloat16), every binary16
  value, each float32 exponent with edge significands (both signs, subnormals, +-0, +-inf,
  NaNs), and the target's ties, near-ties and largest values at every binade; the exact path
  is ``encode.encode_loop``;
* decode: every code (formats of <= 16 bits), against ``decode.decode_loop``;
* arithmetic: operand columns aimed at ties, near-ties, exponent gaps, tiny and huge products,
  float32 overflow, cancellation, subnormals and specials (``test_arith_f32.operands``), against
  the integer kernels of ``numfmt._kernels.arith``, codes and values.

A Hypothesis test per op adds random inputs over every covered (format, mode, saturation).
Registering a variant without a ``CASES`` entry, or deleting one, fails ``test_every_variant_has_a_proof``;
a variant whose ``applies`` holds for a rounding mode its entry does not prove (e.g. a mode added
later) fails ``test_variants_claim_only_proved_modes``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from mma_inputs import cases as mma_cases
from test_arith_f32 import operands

import numfmt
from numfmt import engine
from numfmt._kernels import arith as A
from numfmt._kernels import decode as D
from numfmt._kernels import encode as E
from numfmt._kernels import mma as KM  # noqa: F401  (registers the matrix-instruction variants)
from numfmt._kernels import variants as V
from numfmt._kernels.arith_f32 import f32_arith  # noqa: F401  (registers the arithmetic variants)
from numfmt._kernels.params import kernel_params
from numfmt.plan import make_plan
from numfmt.policy import ROUNDINGS

OPS = ("encode", "decode", "arith", "mma", "mma_grid")
FORMATS = [
    "float8_e4m3fn", "float8_e5m2", "float8_e4m3", "float8_e4m3fnuz", "float8_e5m2fnuz", "float6_e3m2fn",
    "float6_e2m3fn", "float4_e2m1fn", "bfloat16", "binary16", "tf32", "binary8p3se", "binary8p4sf",
    "binary8p3uf", "binary8p1se", "float8_e8m0fnu",
    "int8", "uint8", "int4", "uint4", "int2", "int16", "uint16", "int8_symmetric", "mxint8_element",
    "binary32",
    # subnormals that are float32 subnormals under another bias (decode.f32 multiplies them)
    numfmt.FloatFormat(name="e7m10b125", exponent_bits=7, mantissa_bits=10, bias=125),
    # arithmetic only: precision above 22 bits or exponents beyond float32
    numfmt.FloatFormat(name="e3m28", exponent_bits=3, mantissa_bits=28, bias=3),
    numfmt.FloatFormat(name="e10m12", exponent_bits=10, mantissa_bits=12, bias=511),
]
DET = tuple(range(6))
STOCH = (6, 7, 8)
RNZ = ROUNDINGS["nearest_toward_zero"]
SATS = ("none", "finite", "propagate")
F32 = np.dtype(np.float32)

CASES = {
    "encode.f32.half": {"inputs": "classes+exhaustive", "modes": (0, 2, 3, 4)},
    "encode.f32.int": {"inputs": "classes+exhaustive", "modes": DET},
    "encode.f32.int_sr": {"inputs": "classes", "modes": STOCH, "nbits": (1, 8, 16, 23, 32)},
    "encode.f32.rne": {"inputs": "classes+exhaustive", "modes": (0,)},
    "encode.f32.dir": {"inputs": "classes+exhaustive", "modes": (1, 2, 3, 4, 5)},
    "encode.f32.top": {"inputs": "classes+exhaustive", "modes": (*DET, RNZ)},
    "encode.f32.det": {"inputs": "classes+exhaustive", "modes": (*DET, RNZ)},
    "encode.f32.sr": {"inputs": "classes", "modes": STOCH, "nbits": (1, 8, 16, 23, 32)},
    "decode.half": {"dtypes": (np.float32,)},
    "decode.int": {"dtypes": (np.float32, np.float64)},
    "decode.f32": {"dtypes": (np.float32,)},
    "decode.via_f32": {"dtypes": (np.float16, np.float64)},
    "decode.table8": {"dtypes": (np.float32, np.float64)},
    "arith.f32.lanes": {"kinds": (0, 1), "modes": (0,)},
    "arith.f32.image": {"kinds": (0, 1, 2), "modes": DET},
    "mma.fused.int": {"families": "every instruction family it applies to", "via": "dot"},
    "mma.grid.int": {"families": "every instruction family it applies to", "via": "matmul"},
}


def test_every_variant_has_a_proof():
    assert set(CASES) == {v.name for v in V.variants() if v.op in OPS}


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith(("encode.", "arith."))])
def test_variants_claim_only_proved_modes(name):
    """No variant applies to a rounding mode outside its proof (the general loop handles those)."""
    v, proved = _variant(name), set(CASES[name]["modes"])
    for fname in FORMATS:
        f = numfmt.get_format(fname)
        for sat in SATS:
            for plan in _plans(f, sat):
                for mode in set(ROUNDINGS.values()) - proved:
                    args = (F32, plan.params, mode, plan.sat)
                    claims = (v.applies(*args) if name.startswith("encode.")
                              else any(v.applies(kind, *args) for kind in (0, 1, 2)))
                    assert not claims, (name, f.name, sat, mode)


def _variant(name):
    return next(v for v in V.variants() if v.name == name)


def _plans(f, sat):
    """The codec's params for ``sat`` under each NaN policy that gives a NaN code."""
    nans = ("raise",) if f.code_of_nan is not None else ("zero", "max")
    return [make_plan(f, "nearest_even", sat, nan, None) for nan in nans]


# ---------------------------------------------------------------- encode
def _classes(f):
    """float32 pattern classes: every exponent with edge significands, both signs, and the
    target's values, ties, near-ties and overflow boundary."""
    sigs = np.array([0, 1, 2, 3, 0x3FFFFF, 0x400000, 0x400001, 0x7FFFFE, 0x7FFFFF, 0x155555, 0x2AAAAA], np.uint32)
    pats = ((np.arange(256, dtype=np.uint32)[:, None] << 23) | sigs[None, :]).ravel()
    rng = np.random.default_rng(f.bits)
    x = [pats.view(np.float32), rng.integers(0, 1 << 32, 4096, dtype=np.uint64).astype(np.uint32).view(np.float32)]
    if isinstance(f, numfmt.IntFormat):  # quarters of the quantum, past both ends
        lo, hi = float(f.values().min()), float(f.values().max())
        x.append(np.arange(lo - 3, hi + 3, 0.25 * 2.0**f.scale_exp).astype(np.float32))
        x.append(rng.uniform(lo - 3, hi + 3, 4096).astype(np.float32))  # every fraction bit in play
    if f.bits <= 16:
        fin = np.unique(np.abs(f.values()[np.isfinite(f.values())]))
        mids = ((fin[1:] + fin[:-1]) / 2).astype(np.float32)
        with np.errstate(over="ignore"):
            edge = np.array([f.max * 1.0625, f.max * 2, 3e38, fin.max() * (1 + 2.0**-10)], np.float32)
        grid = np.concatenate([fin.astype(np.float32), mids, edge])
        x += [grid, np.nextafter(grid, np.float32(np.inf)), np.nextafter(grid, np.float32(0))]
    x = np.concatenate(x)
    return np.concatenate([x, -x])


def _exhaustive16():
    """Every bfloat16 (float32 with 16 low zero bits) and every binary16 value, as float32."""
    hi = (np.arange(1 << 16, dtype=np.uint32) << 16).view(np.float32)
    with np.errstate(invalid="ignore"):
        h = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float32)
    return np.concatenate([hi, h])


def _encode_combos(name):
    v, case = _variant(name), CASES[name]
    out = []
    for fname in FORMATS:
        f = numfmt.get_format(fname)
        for sat in SATS:
            for plan in _plans(f, sat):
                for mode in case["modes"]:
                    if v.applies(F32, plan.params, mode, plan.sat):
                        out.append((f, plan, mode))
    return out


def _encode_check(name, f, plan, mode, x, nbits_list=(8,)):
    v = _variant(name)
    rng = np.random.default_rng(mode)
    dummy = np.zeros(1, np.uint32)
    for nbits in nbits_list:
        r = rng.integers(0, 1 << nbits, x.size, dtype=np.uint64).astype(np.uint32)
        for rkind, rarr in ((1, r), (2, dummy)) if mode in STOCH else ((0, dummy),):
            got = np.empty(x.size, f.code_dtype)
            want = np.empty(x.size, f.code_dtype)
            v.kernel(x, got, plan.params, mode, plan.sat, rkind, rarr, 12345, nbits, 7)
            E.encode_loop(x, want, plan.params, mode, plan.sat, rkind, rarr, 12345, nbits, 7)
            bad = np.flatnonzero(got != want)
            assert bad.size == 0, (name, f.name, mode, plan.sat, nbits, rkind, hex(int(x.view(np.uint32)[bad[0]])),
                                   hex(int(got[bad[0]])), hex(int(want[bad[0]])))


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("encode.")])
def test_encode_variant_equals_round_pack(name):
    combos = _encode_combos(name)
    assert combos, f"{name} applies to none of FORMATS"
    big = _exhaustive16()
    for f, plan, mode in combos:
        x = _classes(f)
        if "exhaustive" in CASES[name]["inputs"]:
            x = np.concatenate([x, big])
        _encode_check(name, f, plan, mode, x, CASES[name].get("nbits", (8,)))


ENCODE_COMBOS = [(n, c) for n in CASES if n.startswith("encode.") for c in _encode_combos(n)]


@given(st.sampled_from(ENCODE_COMBOS), hnp.arrays(np.uint32, st.integers(1, 64)), st.sampled_from((1, 8, 13, 32)))
def test_encode_variants_random(combo, bits, nbits):
    name, (f, plan, mode) = combo
    _encode_check(name, f, plan, mode, bits.view(np.float32), (nbits,))


# ---------------------------------------------------------------- decode
def _decode_combos(name):
    v, out = _variant(name), []
    for fname in FORMATS:
        f = numfmt.get_format(fname)
        if f.bits > 20:  # (every code is enumerated)
            continue
        fast = engine._decode_args(f)[1]
        for dt in CASES[name]["dtypes"]:
            if v.applies(np.dtype(dt), kernel_params(f), fast) and f.exact_in(dt):
                out.append((f, fast, np.dtype(dt)))
    return out


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("decode.")])
def test_decode_variant_equals_exact(name):
    v = _variant(name)
    combos = _decode_combos(name)
    assert combos, f"{name} applies to none of FORMATS"
    for f, fast, dt in combos:
        codes = np.arange(1 << f.bits, dtype=f.code_dtype)
        if getattr(f, "symmetric", False):
            codes = codes[codes != 1 << (f.bits - 1)]
        got = np.empty(codes.size, dt)
        v.kernel(codes, got, kernel_params(f), fast)
        want = np.empty(codes.size, np.float64)
        D.decode_loop(codes, want, kernel_params(f))
        want = want.astype(dt)
        same = (got.view(f"u{dt.itemsize}") == want.view(f"u{dt.itemsize}")) | (np.isnan(got) & np.isnan(want))
        bad = np.flatnonzero(~same)
        assert bad.size == 0, (name, f.name, dt, hex(int(codes[bad[0]])), got[bad[0]], want[bad[0]])


# ---------------------------------------------------------------- arithmetic
def _arith_combos(name):
    v, case, out = _variant(name), CASES[name], []
    for fname in FORMATS:
        f = numfmt.get_format(fname)
        for sat in SATS:
            for plan in _plans(f, sat):
                for mode in case["modes"]:
                    for kind in case["kinds"]:
                        if v.applies(kind, F32, plan.params, mode, plan.sat):
                            out.append((f, plan, mode, kind))
    return out


_EXACT = {0: A.add_loop, 1: A.mul_loop, 2: A.fma_loop}


def _arith_check(name, f, plan, mode, kind, a, b, c):
    v = _variant(name)
    n = a.size
    dummy = np.zeros(1, np.uint32)
    want = np.empty(n, np.int64)
    with np.errstate(invalid="ignore"):  # (a signalling NaN operand warns when cast)
        wide = [np.asarray(t, np.float64) for t in (a, b, c)]
    if kind == 2:
        A.fma_loop(wide[0], 1, wide[1], 1, wide[2], 1, want, plan.params, mode, plan.sat, 0, dummy, 0, 8)
    else:
        _EXACT[kind](wide[0], 1, wide[1], 1, want, plan.params, mode, plan.sat, 0, dummy, 0, 8)
    got = np.empty(n, f.code_dtype)
    v.kernel(kind, a, 1, b, 1, c, 1, got, True, plan.params, kernel_params(f), mode, plan.sat)
    bad = np.flatnonzero(got.astype(np.int64) != want)
    assert bad.size == 0, (name, f.name, kind, mode, plan.sat, float(a[bad[0]]), float(b[bad[0]]), float(c[bad[0]]),
                           hex(int(got[bad[0]])), hex(int(want[bad[0]])))
    wv = np.empty(n, np.float64)
    D.decode_loop(want, wv, kernel_params(f))
    dt = np.dtype(np.float32) if f.exact_in(np.float32) else np.dtype(np.float64)
    vals = np.empty(n, dt)
    v.kernel(kind, a, 1, b, 1, c, 1, vals, False, plan.params, kernel_params(f), mode, plan.sat)
    wv = wv.astype(dt)
    same = (vals.view(f"u{dt.itemsize}") == wv.view(f"u{dt.itemsize}")) | (np.isnan(vals) & np.isnan(wv))
    assert same.all(), (name, f.name, kind, mode, plan.sat, float(a[~same][0]), float(b[~same][0]))


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("arith.")])
def test_arith_variant_equals_integer_kernels(name):
    combos = _arith_combos(name)
    assert combos, f"{name} applies to none of FORMATS"
    for f, plan, mode, kind in combos:
        rng = np.random.default_rng(len(f.name) * 100 + mode * 10 + kind)
        _arith_check(name, f, plan, mode, kind, *operands(f, rng, 3000))


ARITH_COMBOS = [(n, c) for n in CASES if n.startswith("arith.") for c in _arith_combos(n)]


@given(st.sampled_from(ARITH_COMBOS), hnp.arrays(np.uint32, st.integers(1, 32)), st.data())
def test_arith_variants_random(combo, bits, data):
    name, (f, plan, mode, kind) = combo
    n = bits.size
    more = data.draw(hnp.arrays(np.uint32, 2 * n))
    _arith_check(name, f, plan, mode, kind, bits.view(np.float32), more[:n].view(np.float32),
                 more[n:].view(np.float32))


def test_codes_py_equals_constants_any():
    """The Python-side constants of the fast loops (`fast.codes_py`) are `fast.constants_any`'s."""
    from numfmt._kernels import fast as F

    for fname in FORMATS:
        f = numfmt.get_format(fname)
        for sat in SATS:
            for plan in _plans(f, sat):
                for mode in (*DET, *STOCH):
                    assert tuple(F.codes_py(plan.params, mode, plan.sat)) == tuple(
                        int(v) for v in F.constants_any(plan.params, mode, plan.sat)), (f.name, mode, sat)


# ---------------------------------------------------------------- matrix instructions
def _mma_families():
    """(family, shape, model) of every instruction family whose model runs `mma_dots` (a FusedBlock
    with the instruction datapath, not the two-stage one), at its first and its deepest shape."""
    from numfmt.mma import mma_family

    out = []
    for arch, ins in numfmt.mma_instructions():
        fam, _ = mma_family(arch, ins)
        m = numfmt.mma_model(arch, ins)
        if not (isinstance(m, numfmt.FusedBlock) and m.instruction_datapath and m.addend != "two_stage"):
            continue
        deepest = max(fam.shapes, key=fam.k_of)
        for shape in dict.fromkeys((fam.shapes[0], deepest)):
            out.append((fam, shape, numfmt.mma_model(arch, fam.instruction(shape))))
    return out


MMA_FAMILIES = _mma_families()


class _without_mma_variants:
    """Dispatch without the matrix-instruction variants (the exact kernel `mma_dots`) inside the block."""

    def __enter__(self):
        self.saved = {k: v for k, v in V._REGISTRY.items() if v.op in ("mma", "mma_grid")}
        for k in self.saved:
            del V._REGISTRY[k]

    def __exit__(self, *exc):
        V._REGISTRY.update(self.saved)


def _same_bits(x, y):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return (x.view(np.uint64) == y.view(np.uint64)) | (np.isnan(x) & np.isnan(y))


def test_mma_variants_apply_to_the_instruction_models():
    """The fast kernels cover the bench's FP8, FP4 and block-scaled instructions, so the proofs
    below are not vacuous."""
    by_key = {(f.arch, f.types): m for f, _s, m in MMA_FAMILIES}
    for key in [("Hopper", "f32.e4m3.e4m3"), ("Blackwell", "kind::f8f6f4.f32.e2m1.e2m1"),
                ("Blackwell", "kind::mxf4nvf4.block16.f32.e2m1.e2m1.ue4m3"),
                ("Blackwell", "kind::mxf8f6f4.block32.f32.e4m3.e4m3.ue8m0")]:
        assert _mma_variant_for(by_key[key], "mma") == "mma.fused.int", key
        assert _mma_variant_for(by_key[key], "mma_grid") == "mma.grid.int", key


def _mma_variant_for(m, op):
    """The name of the variant of `op` that dispatch picks for the instruction model `m` (as
    `numfmt.mma_run.run_instruction` asks), or None."""
    from numfmt.plan import funnel_params
    from numfmt.policy import ROUNDINGS as R

    fa, fb = (numfmt.get_format(f) for f in m.in_format)
    man_s = 0 if m.scale_format is None else 2 * numfmt.get_format(m.scale_format).mantissa_bits
    G = m.group_size
    fix_bits = (fa.mantissa_bits + 1 + max(fa.emax - fa.emin, 0) + fb.mantissa_bits + 1
                + max(fb.emax - fb.emin, 0) + G.bit_length())
    v = V.select(op, fa.mantissa_bits + fb.mantissa_bits, man_s, m.fraction_bits, G, fix_bits, m.min_exp,
                 m.terms, m.scale_format is not None, m.scale_block, funnel_params(m.result_format()),
                 R[m.rounding])
    return None if v is None else v.name


@pytest.mark.parametrize("fam,shape,model", [pytest.param(*x, id=f"{x[0].arch}-{x[0].instruction(x[1])}")
                                             for x in MMA_FAMILIES])
def test_mma_variants_equal_mma_dots(fam, shape, model):
    """dot (mma.fused.int) and matmul (mma.grid.int, its NaN/infinity outputs redone by
    mma.fused.int) give mma_dots' bits on every kind of adversarial input, chains of 2
    instructions, random addends and scales (the exact kernel's rounding is round_pack)."""
    K = fam.k_of(shape)
    rng = np.random.default_rng(sum(map(ord, fam.arch + fam.types + shape)))
    a, b, c, sa, sb = mma_cases(rng, fam, K, 2, 140)
    kw = {} if sa is None else {"a_scales": sa[1], "b_scales": sb[1]}
    fast = numfmt.dot(a, b, c=c, model=model, **kw)
    with _without_mma_variants():
        ref = numfmt.dot(a, b, c=c, model=model, **kw)
    same = _same_bits(fast, ref)
    assert same.all(), (int((~same).sum()), a[~same][0].tolist(), b[~same][0].tolist(), c[~same][0])
    # matmul: rows of a as A, rows of b as columns of B, the addends on the grid
    M, N = 20, 24
    A, B = a[:M], b[M:M + N].T
    C = c[:M * N].reshape(M, N) if c.size >= M * N else np.resize(c, (M, N))
    kw = {} if sa is None else {"a_scales": sa[1][:M], "b_scales": sb[1][M:M + N].T}
    fast = numfmt.matmul(A, B, c=C, model=model, **kw)
    with _without_mma_variants():
        ref = numfmt.matmul(A, B, c=C, model=model, **kw)
    same = _same_bits(fast, ref)
    assert same.all(), int((~same).sum())
