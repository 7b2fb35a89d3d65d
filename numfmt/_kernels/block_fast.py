"""Fused float32 block-scaled loops: one pass per chunk for the default recipes.

Encode (`mx_encode_f32`, `nv_encode_f32`) works on sub-chunks of SUB
blocks (the sub-chunk of x stays in L1/L2 between the phases):

1. block maxima of the float32 bit patterns (a halving tree of map loops,
   which LLVM vectorises; a plain max-reduction per block it does not);
2. per block: the scale code and the float32 multiplier (MX: `2**-e`, e by
   `pow2_exp`, the one definition of the power-of-two scale rules, which
   `numfmt.block.scale_exponents` runs too; NVFP4: the recipe's float32 operations, the scale code and value by the
   magic-add rounding and arithmetic, checked by the caller against the scale
   format's rounding table built by round_pack, or from that table); one
   branch-free int32 loop over the sub-chunk's blocks, which vectorises;
3. per element: `v = x * multiplier` (the same float32 product the exact
   paths round) and its nearest-even, saturating code (`_elem_code`: integer
   rounding on the pattern of a normal result, one float add for a subnormal
   one), all int32.

The two-level NVFP4 recipes need the tensor amax before any scale: a first pass
(`abs_max_bits`, a plain vectorised max over x) finds it, then the fused loop
runs as for one-level scaling: x is read twice. (Storing the block maxima in
the first pass for the second to reuse measured no faster: the block-maximum
loop is slower than a plain max, and the fused loop's own maxima read x from
cache, prefetched.)

For MX, `x * 2**-e` is exact in float32 for every result >= 2**-126, and a
smaller product rounds to zero under nearest-even in every element format
whose half-quantum is >= 2**-125 (the caller checks this). An infinite
element gives an infinite product, which rounds past max to the saturating
code (the caller checks that the overflow and infinity codes agree). A block
whose maximum is NaN gets the NaN scale and zero codes, as the exact path.
NVFP4 returns -1 (the caller then takes the general path) for a NaN block or
a block whose product could be NaN (inf * 0; an infinite multiplier), which
no ordinary input produces.

Hot loops index with uint64 (numba adds no negative-index wraparound select)
and run over one block with a loop-invariant multiplier and a constant trip
count (the block length passed as a constant, so numba compiles one
specialisation for 16 and one for 32): that is what LLVM vectorises. Measured
slower: a flat loop indexing a per-block array (`m[j >> 5]`; 5-20x),
block slices passed to a helper (refcounting; 2x), a call per block.

Decode (`mx_decode_f32`, `nv_decode_f32`): the element value by arithmetic
(sign and magnitude fields placed in a float32 pattern, times the power of two
that rebiases the exponent: exact, subnormals included) times the block's
float32 scale, the same single product as the table decode. Sub-chunks with a
code whose arithmetic value differs from the table (NaN, inf; found by a
vectorised max over the magnitudes) use the table instead.

Layout: codes, scales and x are flat C-order (rows, n) / (rows, nb) arrays;
block g is row g // nb, block g % nb of that row. When n % bs == 0 blocks are
contiguous and numbered in memory order.

The four entry points are registered variants (`numfmt._kernels.variants`):
`block_encode.mx_f32`, `block_encode.nv_f32`, `block_decode.mx_f32` and
`block_decode.nv_f32`, each with an `applies` over a `BlockCall` that states
exactly what it covers; the block encoders and decoder build the `BlockCall`
and call `variants.select`. tests/test_variants_block.py proves each one
against the general block path.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba.cpython.unsafe.numbers import leading_zeros

from .bits import f32_as_i32, i32_as_f32, prefetch
from .block import tcode
from .jit import jit
from .lanes import magic_round
from .variants import register

__all__ = ["SUB", "MX_RULES", "BlockCall", "pow2_exp", "pow2_exps", "e8m0_exp", "mx_encode_f32", "nv_encode_f32",
           "abs_max_bits", "scale_code_value_f32", "mx_decode_f32", "nv_decode_f32"]

_I32 = np.int32
_ABS = np.int32(0x7FFFFFFF)
_INF = np.int32(0x7F800000)
SUB = 256  # blocks per sub-chunk


# --------------------------------------------------------------------------- block maxima


@jit
def _prefetch_block(xf, ahead, last):
    """Prefetch the two cache lines of the 32 patterns from xf[ahead] (clamped to `last`)."""
    prefetch(xf, np.uint64(min(ahead, last)))
    prefetch(xf, np.uint64(min(ahead + 16, last)))



@jit
def _amax_bits(xf, lo, hi):
    """Largest |x| pattern of xf[lo:hi] (any length)."""
    a = _I32(0)
    for i in range(lo, hi):
        a = max(a, _I32(xf[i] & _ABS))
    return a


@jit
def _block_span(g, n, nb, bs):
    r = g // nb
    b = g - r * nb
    lo = r * n + b * bs
    return lo, lo + min(bs, n - b * bs)


@jit
def _block_count(xf, n, nb, bs):
    """(number of blocks of the flat (rows, n) array `xf`, whether they are contiguous blocks of
    16 or 32: the sub-chunk loops' case)."""
    rows = xf.size // n if n > 0 else 0
    return rows * nb, (bs == 32 or bs == 16) and n % bs == 0


@jit
def _sub_span(g0, total, bs):
    """(number of blocks, first element) of the sub-chunk that starts at block g0."""
    return min(SUB, total - g0), g0 * bs


@jit
def _sub_buffers():
    """Work arrays of one sub-chunk: halving-tree scratch, block maxima, keep masks, multipliers."""
    return np.empty(SUB * 8, np.int32), np.empty(SUB, np.int32), np.empty(SUB, np.int32), np.empty(SUB, np.float32)


@jit
def _sub_amax(xs, nbk, bs, t1, am):
    """am[b] = largest |x| pattern of the full block b (bs = 16 or 32) of xs, b < nbk.

    bs 32: two flat levels, a max over 4 consecutive patterns (an interleaved load group,
    which LLVM vectorises), then over 8 of those (a per-block loop of 32 is left scalar:
    3x slower). bs 16: a per-block loop of 16, which LLVM vectorises as a horizontal
    reduction (measured 30% faster than the two levels, close to a plain max over x)."""
    if bs == 32:
        for j in range(nbk * 8):
            o = 4 * j
            t1[j] = max(max(_I32(xs[o] & _ABS), _I32(xs[o + 1] & _ABS)),
                        max(_I32(xs[o + 2] & _ABS), _I32(xs[o + 3] & _ABS)))
        for j in range(nbk):
            o = 8 * j
            am[j] = max(max(max(t1[o], t1[o + 1]), max(t1[o + 2], t1[o + 3])),
                        max(max(t1[o + 4], t1[o + 5]), max(t1[o + 6], t1[o + 7])))
    else:
        for b in range(nbk):
            o = np.uint64(b * 16)
            a = _I32(0)
            for j in range(16):
                a = max(a, _I32(xs[o + np.uint64(j)] & _ABS))
            am[b] = a


# --------------------------------------------------------------------------- power-of-two scale rules


@jit
def pow2_exp(b, rule, mbits, T, W, mw, bias):
    """Power-of-two scale exponent, before the element's emax is subtracted, of the
    positive float pattern `b` (int type `T` of `W` bits; `mw` fraction bits; exponent
    `bias`), the block-maximum rules of OCP MX v1.0 §6.3 and their variants.

    With v = b's value (subnormals normalised exactly, +inf counts as 2**(emax + 1) of
    the float type): rule 0 floor(log2 v); 1 ceil(log2 v); 2 floor(log2 of v rounded to
    `mbits` + 1 significant bits, ties away from zero); 3 (NVIDIA rceil, handed
    v = fl32(amax * fl32(1 / max_elem))) ceil(log2 v). +0 gives the subnormal formula's
    floor(log2 0) = 1 - bias - mw - 1 (callers treat zero as they need). Branch-free
    selects: a loop over blocks that calls it vectorises.
    """
    one = T(1)
    sh = T(W - 1)
    mask = T(T(one << T(mw)) - one)
    eb = T(b >> T(mw))
    mt = T(b & mask)
    top = T(sh - T(leading_zeros(mt)))  # bit index of the fraction field's leading one (-1 for 0)
    sub = eb == T(0)
    lg = T(top - T(bias + mw - 1)) if sub else T(eb - T(bias))
    frac = T(T(mt << T(T(T(mw) - top) & sh)) & mask) if sub else mt
    up_ceil = T(frac != T(0))
    up_even = T(T(frac + T(one << T(T(mw - 1 - mbits) & sh))) >> T(mw))
    up = up_even if rule == 2 else (T(0) if rule == 0 else up_ceil)
    return T(lg + up)


@jit
def pow2_exps(bits, rule, mbits, T, W, mw, bias, out):
    """`pow2_exp` of every pattern of `bits` into `out` (int64)."""
    for i in range(bits.size):
        out[i] = pow2_exp(bits[i], rule, mbits, T, W, mw, bias)


@jit
def e8m0_exp(a, rule, emax, mbits, inv_max):
    """E8M0 scale exponent of a block whose largest |x| has the float32 pattern `a`:
    `pow2_exp` (rules 0-2: minus `emax`; rule 3 of fl32(a * `inv_max`)), clamped to
    [-127, 128] (rule 3 saturates at 127, `cvt.rp.satfinite`); 128, also for a NaN
    maximum, is the NaN scale."""
    is_r = rule == 3
    d = f32_as_i32(np.float32(i32_as_f32(a) * inv_max)) if is_r else a
    e = _I32(pow2_exp(d, rule, mbits, _I32, 32, 23, 127) - (_I32(0) if is_r else emax))
    e = _I32(min(max(e, _I32(-127)), _I32(127) if is_r else _I32(128)))
    return _I32(128) if a > _INF else e


# --------------------------------------------------------------------------- MX encode


@jit
def _mx_scale(a, rule, emax, mbits, inv_max):
    """(E8M0 code, float32 multiplier bits 2**-e, keep mask) of a block with max pattern `a`
    (`e8m0_exp`). The NaN scale 0xFF gets keep 0 (the block's codes are 0); 2**-127 is the
    float32 subnormal 0x00400000."""
    e = e8m0_exp(a, rule, emax, mbits, inv_max)
    sb = _I32(_I32(_I32(127) - e) << _I32(23))
    sb = _I32(0x00400000) if e == _I32(127) else sb
    sb = _I32(0) if e == _I32(128) else sb
    keep = _I32(0) if e == _I32(128) else _I32(-1)
    return _I32(e + _I32(127)), sb, keep


@jit
def _mx_scales(am, nbk, g0, rule, emax, mbits, inv_max, scales, sm, kp):
    """`_mx_scale` of the blocks with max patterns am[:nbk]: E8M0 codes into scales[g0:],
    multipliers into sm[:nbk], keep masks into kp[:nbk]. One branch-free int32 loop
    (selects on the loop-invariant rule), which vectorises."""
    for b in range(nbk):
        sc, sb, keep = _mx_scale(am[np.uint64(b)], rule, emax, mbits, inv_max)
        scales[np.uint64(g0 + b)] = sc
        sm[np.uint64(b)] = i32_as_f32(sb)
        kp[np.uint64(b)] = keep


@jit
def _elem_code(bx, s, m, emin_b, maxmag, signbit):
    """Nearest-even saturating code of `v = x * s` (x given by its float32 pattern `bx`) in an
    element format with `m` trailing bits, smallest normal exponent `emin_b` (biased like a
    float32 exponent field), largest magnitude code `maxmag` and sign bit `signbit`, which has
    -0 and saturates to +-maxmag (`numfmt.block.elements.elem_rne_args` admits only those).

    A normal result is rounded on |v|'s bit pattern: the exponent rebiased and half an
    element ulp minus one plus the kept last bit added before the shift (nearest-even, a
    carry reaching the exponent field); a subnormal one (|v| < 2**emin) by one float add of
    2**(emin - m + 23), whose ulp is the subnormal quantum. Everything is int32 with shift
    amounts masked to 31 (about 16 vector operations per 8 elements, against 24 for the
    clamped-binade magic rounding of `lanes.magic_round`)."""
    sh = _I32(_I32(_I32(23) - m) & _I32(31))
    v = np.float32(i32_as_f32(bx) * s)
    av = _I32(f32_as_i32(v) & _ABS)
    half = _I32(_I32(_I32(1) << _I32(_I32(sh - _I32(1)) & _I32(31))) - _I32(1))
    rebias = _I32(_I32(_I32(1) - emin_b) << _I32(23))
    cn = _I32(_I32(_I32(_I32(av + rebias) + half) + _I32(_I32(av >> sh) & _I32(1))) >> sh)
    magic = _I32(_I32(_I32(emin_b - m) + _I32(23)) << _I32(23))
    cs = _I32(f32_as_i32(np.float32(i32_as_f32(av) + i32_as_f32(magic))) - magic)
    mag = cs if av < _I32(emin_b << _I32(23)) else cn
    return _I32(min(mag, maxmag) | _I32(_I32(bx >> _I32(31)) & signbit))


@jit
def _block_codes(xf, codes, lo, hi, s, keep, m, emin_b, maxmag, signbit):
    """Codes of the block xf[lo:hi] (multiplier `s`), masked with `keep` (MX: 0 for a NaN
    scale; -1 keeps all). The indices are uint64 (numba adds no negative-index wraparound),
    the multiplier is loop-invariant: LLVM vectorises this loop. (A flat loop indexing the
    per-block multiplier, or block slices passed to a function, run 2-20x slower.)"""
    o = np.uint64(lo)
    for j in range(np.uint64(hi - lo)):
        i = o + np.uint64(j)
        c = _elem_code(xf[i], s, m, emin_b, maxmag, signbit)
        codes[i] = _I32(c & keep)


@jit
def _sub_elems_of(xf, codes, base, nbk, BS, mult, keep, use_keep, m, emin_b, maxmag, signbit, ahead, last):
    """`_sub_elems` for blocks of `BS` elements, a constant at every call: numba compiles one
    specialisation per value, whose inner loop has that constant trip count."""
    for b in range(nbk):
        _prefetch_block(xf, ahead + b * BS, last)
        s = mult[b]
        k = _I32(keep[b]) if use_keep else _I32(-1)
        o = np.uint64(base + b * BS)
        for j in range(BS):
            i = o + np.uint64(j)
            codes[i] = _I32(_elem_code(xf[i], s, m, emin_b, maxmag, signbit) & k)


@jit
def _sub_elems16(xf, codes, base, nbk, mult, keep, use_keep, m, emin_b, maxmag, signbit, ahead, last):
    """`_sub_elems` for blocks of 16: two blocks per iteration (a constant trip count of 32,
    each half with its own loop-invariant multiplier). A loop over one block of 16 is left
    scalar by LLVM (measured 4x slower); over two it vectorises as the blocks of 32 do."""
    for b in range(0, nbk - 1, 2):
        _prefetch_block(xf, ahead + b * 16, last)
        s0 = mult[np.uint64(b)]
        s1 = mult[np.uint64(b + 1)]
        k0 = _I32(keep[np.uint64(b)]) if use_keep else _I32(-1)
        k1 = _I32(keep[np.uint64(b + 1)]) if use_keep else _I32(-1)
        o = np.uint64(base + b * 16)
        for j in range(32):
            i = o + np.uint64(j)
            c = _elem_code(xf[i], s0 if j < 16 else s1, m, emin_b, maxmag, signbit)
            codes[i] = _I32(c & (k0 if j < 16 else k1))
    if nbk % 2:
        b = nbk - 1
        _block_codes(xf, codes, base + b * 16, base + b * 16 + 16, mult[b], _I32(keep[b]) if use_keep else _I32(-1),
                     m, emin_b, maxmag, signbit)


@jit
def _sub_elems(xf, codes, base, nbk, bs, mult, keep, use_keep, m, emin_b, maxmag, signbit):
    """Element codes of the `nbk` contiguous blocks of `bs` (16 or 32) elements from
    `base`: x times its block's multiplier, rounded; `keep[b]` masks a block's codes
    (MX: 0 for a NaN scale) when `use_keep`. The inner loop has a constant trip count and
    a loop-invariant multiplier, which is what LLVM vectorises (a call per block costs
    more than the block). The next sub-chunk of x is prefetched meanwhile."""
    ahead, last = base + SUB * bs, xf.size - 1
    if bs == 32:
        _sub_elems_of(xf, codes, base, nbk, 32, mult, keep, use_keep, m, emin_b, maxmag, signbit, ahead, last)
    else:
        _sub_elems16(xf, codes, base, nbk, mult, keep, use_keep, m, emin_b, maxmag, signbit, ahead, last)


@jit
def mx_encode_f32(xf, n, nb, bs, rule, emax, mbits, inv_max, m, emin_b, cap_b, maxmag, signbit, negzero,
                  ovf_p, ovf_n, scales, codes):
    """MX encode of the float32 patterns `xf` (flat (rows, n)) with the scale rule
    `rule` (see `pow2_exp`): E8M0 codes into `scales` (flat (rows, nb)),
    element codes into `codes` (flat)."""
    total, subs = _block_count(xf, n, nb, bs)
    if subs:
        t1, am, kp, sm = _sub_buffers()
        for g0 in range(0, total, SUB):
            nbk, base = _sub_span(g0, total, bs)
            xs = xf[base: base + nbk * bs]
            _sub_amax(xs, nbk, bs, t1, am)
            _mx_scales(am, nbk, g0, rule, emax, mbits, inv_max, scales, sm, kp)
            _sub_elems(xf, codes, base, nbk, bs, sm, kp, True, m, emin_b, maxmag, signbit)
        return
    for g in range(total):
        lo, hi = _block_span(g, n, nb, bs)
        sc, sb, keep = _mx_scale(_amax_bits(xf, lo, hi), rule, emax, mbits, inv_max)
        scales[g] = sc
        _block_codes(xf, codes, lo, hi, i32_as_f32(sb), keep, m, emin_b, maxmag, signbit)


# --------------------------------------------------------------------------- NVFP4 encode


@jit
def _scale_code_value(f, sa):
    """(code, float32 value) of the positive float32 `f` rounded to nearest-even with
    saturation into the scale format, by arithmetic (no table, no gather: vectorises).

    `sa` = (m, emin_b, cap_b, maxmag, ovf, mag_sh, one_m, ebias, sub_one): the magic
    rounding constants of `lanes.magic_round`, the saturating code, then the value
    of a magnitude code as in `_elem_value` (the caller checks both against the
    rounding table and the scale values of every finite code)."""
    m, emin_b, cap_b, maxmag, ovf, mag_sh, one_m, ebias, sub_one = sa
    mag = magic_round(_I32(f32_as_i32(f) & _ABS), m, emin_b, cap_b)[0]
    sc = ovf if mag > maxmag else mag
    sub = sc < one_m
    p = _I32(_I32(_I32(sc << (mag_sh & _I32(31))) + ebias) + (_I32(1 << 23) if sub else _I32(0)))
    return sc, np.float32(i32_as_f32(p) - (sub_one if sub else np.float32(0.0)))


@jit
def _table_code_value(f, ta):
    """(code, float32 value) of the positive float32 `f` in the scale format by its
    rounding table (built by round_pack): `ta` = (table, k, base_b, toprow, lowmask,
    float32 value of every code)."""
    tab, k, base_b, toprow, lowmask, vals = ta
    sc = tcode(f32_as_i32(f), tab, k, base_b, toprow, lowmask)
    return sc, vals[np.uint64(sc)]


@jit
def _code_value(f, use_sa, sa, ta):
    """`_scale_code_value` (`use_sa`) or `_table_code_value` of `f`. Callers pass `use_sa`
    as a constant: numba then compiles one branch-free specialisation per choice."""
    if use_sa:
        return _scale_code_value(f, sa)
    return _table_code_value(f, ta)


@jit
def _nan_risk(a, e):
    """1 when the block maximum `a` (pattern) is NaN or x * `e` could be NaN (a NaN or
    infinite multiplier, or 0 times an infinite element), else 0."""
    eb = _I32(f32_as_i32(e) & _ABS)
    return _I32(_I32(a > _INF) | _I32(eb >= _INF) | _I32((eb == _I32(0)) & (a >= _INF)))


@jit
def _nv_scales(am, a0, nbk, g0, recipe, mult, s_dec, num, pts, emx, smin, smax, use_sa, sa, ta, scales, em):
    """Scale codes (into scales[g0:]) and float32 element multipliers (into em[:nbk]) of
    the blocks with max patterns am[a0:a0 + nbk], with the recipe's float32 operations in
    its order: 0 TransformerEngine, 1 torchao two-level, 2 torchao one-level (`pts` = 1,
    an exact division; `num` = 1 / tensor scale or 1). The scale code and value come from
    `_code_value`: `_scale_code_value` (16-wide SIMD, about 0.4 ns per block) or
    `_table_code_value` (the table's gathers leave the loop scalar, about 5 ns). One
    branch-free loop per recipe; min/max are written as selects (equal to them on the
    non-NaN operands that matter). Returns nonzero when some block is `_nan_risk`."""
    one = np.float32(1.0)
    fmax = np.float32(3.4028234663852886e38)
    bad = _I32(0)
    if recipe == 0:
        for b in range(nbk):
            a = am[np.uint64(a0 + b)]
            sc, sv = _code_value(np.float32(i32_as_f32(a) * mult), use_sa, sa, ta)
            scales[np.uint64(g0 + b)] = sc
            e = np.float32(one / np.float32(sv * s_dec))
            e = fmax if e > fmax else e
            em[np.uint64(b)] = e
            bad = max(bad, _nan_risk(a, e))
    else:
        for b in range(nbk):
            a = am[np.uint64(a0 + b)]
            bsc = np.float32(np.float32(i32_as_f32(a) / emx) / pts)
            bsc = smin if bsc < smin else bsc
            bsc = smax if bsc > smax else bsc
            sc, sv = _code_value(bsc, use_sa, sa, ta)
            scales[np.uint64(g0 + b)] = sc
            e = np.float32(num / sv)
            em[np.uint64(b)] = e
            bad = max(bad, _nan_risk(a, e))
    return bad


@jit
def abs_max_bits(xf):
    """Largest |x| float32 pattern of the patterns `xf` (> 0x7F800000 when there is a NaN):
    the two-level recipes' tensor amax."""
    top = _I32(0)
    for i in range(xf.size):
        top = max(top, _I32(xf[i] & _ABS))
    return top


@jit
def nv_encode_f32(xf, n, nb, bs, recipe, s_enc, pts, stab, sk, sbase, stop, slow, scale_vals, emx, smin, smax,
                  sa, use_sa, m, emin_b, cap_b, maxmag, signbit, negzero, ovf_p, ovf_n, scales, codes):
    """NVFP4-style encode of the float32 patterns `xf` (flat (rows, n)): scale codes
    into `scales`, element codes (nearest-even, saturating) into `codes`.

    The scale codes come from the rounding table (`stab` ...), or by arithmetic
    when `use_sa` (`sa`: see `_scale_code_value`). Returns -1 when a block maximum is NaN or a product x * multiplier
    could be NaN (nothing meaningful is written; the caller takes the general
    path), else 0."""
    one = np.float32(1.0)
    mult = np.float32(s_enc * np.float32(one / emx))
    s_dec = np.float32(one / s_enc)
    num = np.float32(one / pts) if recipe == 1 else one
    dpts = pts if recipe == 1 else one
    ta = (stab, sk, sbase, stop, slow, scale_vals)
    total, subs = _block_count(xf, n, nb, bs)
    if subs:
        t1, am, kp, em = _sub_buffers()
        for g0 in range(0, total, SUB):
            nbk, base = _sub_span(g0, total, bs)
            _sub_amax(xf[base: base + nbk * bs], nbk, bs, t1, am)
            if use_sa != 0:
                bad = _nv_scales(am, 0, nbk, g0, recipe, mult, s_dec, num, dpts, emx, smin, smax, True, sa, ta,
                                 scales, em)
            else:
                bad = _nv_scales(am, 0, nbk, g0, recipe, mult, s_dec, num, dpts, emx, smin, smax, False, sa, ta,
                                 scales, em)
            if bad != _I32(0):
                return -1
            _sub_elems(xf, codes, base, nbk, bs, em, kp, False, m, emin_b, maxmag, signbit)
        return 0
    a1 = np.empty(1, np.int32)
    e1 = np.empty(1, np.float32)
    for g in range(total):
        lo, hi = _block_span(g, n, nb, bs)
        a1[0] = _amax_bits(xf, lo, hi)
        if _nv_scales(a1, 0, 1, g, recipe, mult, s_dec, num, dpts, emx, smin, smax, False, sa, ta, scales,
                      e1) != _I32(0):
            return -1
        _block_codes(xf, codes, lo, hi, e1[0], _I32(-1), m, emin_b, maxmag, signbit)
    return 0


# --------------------------------------------------------------------------- decode


@jit
def _elem_value(c, sgn_mask, sgn_sh, mag_mask, mag_sh, one_m, ebias, sub_one):
    """float32 value of a float element code (non-special) by arithmetic, never
    touching a float32 subnormal (slow operands on this hardware).

    The magnitude field shifted into place plus the rebiased exponent
    `ebias` = (127 - bias) << 23 is the value of a normal code; a subnormal
    code (exponent field 0, magnitude < `one_m`) is placed one binade up and
    the implicit one `sub_one` = 2**(1 - bias) subtracted (exact). The sign
    is OR-ed in last (so -0 stays -0). Shift amounts are masked with 31 (no
    per-element guard)."""
    ci = _I32(c)
    mag = _I32(ci & mag_mask)
    sub = mag < one_m
    p = _I32(_I32(_I32(mag << (mag_sh & _I32(31))) + ebias) + (_I32(1 << 23) if sub else _I32(0)))
    v = np.float32(i32_as_f32(p) - (sub_one if sub else np.float32(0.0)))
    return i32_as_f32(_I32(f32_as_i32(v) | _I32(_I32(ci & sgn_mask) << (sgn_sh & _I32(31)))))


@jit
def _top_mag(codes, lo, hi, mag_mask):
    """Largest magnitude field of codes[lo:hi] (a vectorised max-reduction)."""
    top = _I32(0)
    o = np.uint64(lo)
    for j in range(np.uint64(hi - lo)):
        top = max(top, _I32(_I32(codes[o + np.uint64(j)]) & mag_mask))
    return top


@jit
def _decode_block(codes, out, lo, hi, s, ea, table, use_table):
    """The block codes[lo:hi] times its float32 scale `s`; `ea` the arguments of
    `_elem_value`. uint64 indices and, for blocks of 32 or 16, a constant
    trip count: the loops LLVM vectorises best (see `_block_codes`)."""
    o = np.uint64(lo)
    if use_table:
        for j in range(np.uint64(hi - lo)):
            i = o + np.uint64(j)
            out[i] = table[codes[i]] * s
    elif hi - lo == 32:
        for j in range(32):
            i = o + np.uint64(j)
            out[i] = _elem_value(codes[i], *ea) * s
    elif hi - lo == 16:
        for j in range(16):
            i = o + np.uint64(j)
            out[i] = _elem_value(codes[i], *ea) * s
    else:
        for j in range(np.uint64(hi - lo)):
            i = o + np.uint64(j)
            out[i] = _elem_value(codes[i], *ea) * s


@jit
def _e8m0_f32(c):
    """float32 value of an E8M0 code (0: 2**-127, a subnormal; 0xFF: NaN)."""
    c = _I32(c)
    s = i32_as_f32(_I32(0x00400000)) if c == _I32(0) else i32_as_f32(_I32(c << _I32(23)))
    return np.float32(np.nan) if c == _I32(255) else s


@jit
def _decode_sub(codes, out, g0, g1, BS, sv, ea):
    """Blocks g0..g1-1 of `BS` elements (a constant at every call, as in `_sub_elems_of`)
    by arithmetic, block b times its float32 scale sv[b - g0]."""
    for b in range(g1 - g0):
        s = sv[b]
        o = np.uint64((g0 + b) * BS)
        for j in range(BS):
            i = o + np.uint64(j)
            out[i] = _elem_value(codes[i], *ea) * s


@jit
def _decode_all(codes, scales, n, nb, bs, mode, scale_vals, ts, ea, spec, table, out):
    """Shared driver: mode 0 E8M0 scales, 1 `fl(scale_vals[s] * ts)`."""
    total = _block_count(codes, n, nb, bs)[0]
    mag_mask = ea[2]
    sv = np.empty(SUB, np.float32)
    if n % bs == 0:
        for g0 in range(0, total, SUB):
            g1 = min(g0 + SUB, total)
            if mode == 0:
                for b in range(g1 - g0):
                    sv[b] = _e8m0_f32(scales[g0 + b])
            else:
                for b in range(g1 - g0):
                    sv[b] = np.float32(scale_vals[scales[g0 + b]] * ts)
            use_table = _top_mag(codes, g0 * bs, g1 * bs, mag_mask) >= spec
            if use_table or not (bs == 32 or bs == 16):
                for b in range(g1 - g0):
                    lo = (g0 + b) * bs
                    _decode_block(codes, out, lo, lo + bs, sv[b], ea, table, use_table)
            elif bs == 32:  # the hot loops (a call per block costs more than the block)
                _decode_sub(codes, out, g0, g1, 32, sv, ea)
            else:
                _decode_sub(codes, out, g0, g1, 16, sv, ea)
        return
    for g in range(total):
        lo, hi = _block_span(g, n, nb, bs)
        s = _e8m0_f32(scales[g]) if mode == 0 else np.float32(scale_vals[scales[g]] * ts)
        _decode_block(codes, out, lo, hi, s, ea, table, _top_mag(codes, lo, hi, mag_mask) >= spec)


@jit
def mx_decode_f32(codes, scales, n, nb, bs, scale_vals, ts, ea, spec, table, out):
    """float32 values `elem(code) * 2**(scale - 127)` (scale 0xFF: NaN) of flat
    (rows, n) codes and (rows, nb) E8M0 scales (`scale_vals` and `ts` are not read: the
    arguments are those of `nv_decode_f32`). `ea`: the arguments of `_elem_value`;
    codes with a magnitude >= `spec` take `table`."""
    _decode_all(codes, scales, n, nb, bs, 0, scale_vals, ts, ea, spec, table, out)


@jit
def nv_decode_f32(codes, scales, n, nb, bs, scale_vals, ts, ea, spec, table, out):
    """float32 values `elem(code) * fl(scale_vals[scale] * ts)` (torchao's order)."""
    _decode_all(codes, scales, n, nb, bs, 1, scale_vals, ts, ea, spec, table, out)


@jit
def scale_code_value_f32(xb, sa, codes, vals):
    """`_scale_code_value` of float32 patterns (checked against the table by the caller)."""
    for i in range(xb.size):
        c, v = _scale_code_value(i32_as_f32(xb[i]), sa)
        codes[i] = c
        vals[i] = v


# --------------------------------------------------------------------------- registered variants


class BlockCall(NamedTuple):
    """What a block encode or decode call asks for: the arguments the block variants'
    `applies` read (`numfmt._kernels.variants.select("block_encode", call)`)."""

    scaling: str = ""          # encode: "pow2" (MX-style) or "amax" (NVFP4-style)
    recipe: str = ""           # encode: "ocp", "torchao", "te", "modelopt", ...
    rule: str = ""             # pow2 encode: the scale rule
    nonfinite: str = ""        # pow2 encode: how inf/NaN elements set the scale
    mode: int = 0              # encode: element rounding mode (0 nearest-even)
    dtype: object = None       # encode: the input dtype; decode: the output dtype
    scale_e8m0: bool = False   # the scale format is OCP E8M0
    scale_table: bool = False  # the scale format is a float format a rounding table serves
    scale_bits: int = 0
    tensor_scale: bool = False  # decode: the array has a tensor scale
    elem_rne: bool = False     # the element format has the fused loops' nearest-even constants
    elem_bits: int = 0


MX_RULES = ("floor", "ceil", "even", "rceil")  # rule indices 0..3 of `pow2_exp`

register(
    "block_encode.mx_f32", "block_encode", mx_encode_f32,
    lambda c: (c.scaling == "pow2" and c.recipe == "ocp" and c.rule in MX_RULES and c.nonfinite == "amax"
               and c.mode == 0 and c.dtype == np.float32 and c.scale_e8m0 and c.elem_rne),
    "MX (OCP recipe): float32 input, E8M0 scales by floor/ceil/even/rceil with nonfinite='amax', "
    "nearest-even saturating float elements whose products below 2**-126 round to zero",
)
register(
    "block_encode.nv_f32", "block_encode", nv_encode_f32,
    lambda c: (c.scaling == "amax" and c.recipe in ("te", "torchao") and c.mode == 0 and c.dtype == np.float32
               and c.scale_table and c.elem_rne and c.elem_bits <= 8),
    "NVFP4-style amax scaling (te and torchao recipes, one- or two-level): float32 input, a float scale format "
    "with a rounding table, nearest-even saturating float elements of <= 8 bits; returns -1 (general path) "
    "for a NaN block or a product that could be NaN",
)
register(
    "block_decode.mx_f32", "block_decode", mx_decode_f32,
    lambda c: c.dtype == np.float32 and c.scale_e8m0 and not c.tensor_scale and c.elem_bits <= 16,
    "float32 values of E8M0-scaled blocks without a tensor scale, elements of <= 16 bits",
)
register(
    "block_decode.nv_f32", "block_decode", nv_decode_f32,
    lambda c: c.dtype == np.float32 and c.scale_bits <= 16 and c.elem_bits <= 16,
    "float32 values fl(element * fl(scale * tensor scale)) for scale formats and elements of <= 16 bits",
)
