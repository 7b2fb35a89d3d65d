"""Fused float32 block-scaled loops: one pass per chunk for the default recipes.

Encode (`mx_encode_f32`, `nv_encode_f32`) works on sub-chunks of SUB
blocks (the sub-chunk of x stays in L1/L2 between the phases):

1. block maxima of the float32 bit patterns (a halving tree of map loops,
   which LLVM vectorises; a plain max-reduction per block it does not);
2. per block: the scale code and the float32 multiplier (MX: `2**-e`;
   NVFP4: the recipe's float32 operations, the scale code and value by the
   magic-add rounding and arithmetic, checked by the caller against the scale
   format's rounding table built by round_pack, or from that table); one
   branch-free int32 loop over the sub-chunk's blocks, which vectorises;
3. per element: `v = x * multiplier` (the same float32 product the exact
   paths round) and its nearest-even, saturating code by the core codec's
   magic-add helpers (`lanes.magic_round` / `lanes.pack_code`), all int32.

The two-level NVFP4 recipes need the tensor amax before any scale: `block_amax`
first stores every block maximum (the tensor amax is their maximum), then the
fused loop takes its maxima from there: x is read twice, with no separate
amax pass.

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
count, written out in the driver: that is what LLVM vectorises. Measured
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
"""

from __future__ import annotations

import numpy as np

from .bits import f32_as_i32, i32_as_f32
from .block import _tcode
from .jit import jit
from .lanes import magic_round, pack_code

__all__ = ["SUB", "mx_encode_f32", "nv_encode_f32", "block_amax", "scale_code_value_f32",
           "mx_decode_f32", "nv_decode_f32"]

_I32 = np.int32
_ABS = np.int32(0x7FFFFFFF)
_INF = np.int32(0x7F800000)
SUB = 256  # blocks per sub-chunk


# --------------------------------------------------------------------------- block maxima


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
def _sub_amax(xs, nbk, bs, t1, am):
    """am[b] = largest |x| pattern of the full block b (bs = 16 or 32) of xs, b < nbk.

    Two flat levels: a max over 4 consecutive patterns (an interleaved load
    group, which LLVM vectorises), then over 8 (bs 32) or 4 (bs 16) of those.
    A per-block loop of constant length is unrolled and left scalar instead."""
    for j in range(nbk * (bs >> 2)):
        o = 4 * j
        t1[j] = max(max(_I32(xs[o] & _ABS), _I32(xs[o + 1] & _ABS)),
                    max(_I32(xs[o + 2] & _ABS), _I32(xs[o + 3] & _ABS)))
    if bs == 32:
        for j in range(nbk):
            o = 8 * j
            am[j] = max(max(max(t1[o], t1[o + 1]), max(t1[o + 2], t1[o + 3])),
                        max(max(t1[o + 4], t1[o + 5]), max(t1[o + 6], t1[o + 7])))
    else:
        for j in range(nbk):
            o = 4 * j
            am[j] = max(max(t1[o], t1[o + 1]), max(t1[o + 2], t1[o + 3]))


# --------------------------------------------------------------------------- MX encode


@jit
def _mx_scale_exp(a, rule, emax, mbits, inv_max):
    """Unbiased power-of-two exponent of a block with max pattern `a` (finite or inf).

    rule 0 floor, 1 ceil, 2 even, 3 rceil (NVIDIA: round amax*fp32(1/max) up).
    Returns a value in [-127, 128]; 128 means the NaN scale.
    """
    if rule == 3:
        d = f32_as_i32(np.float32(i32_as_f32(_I32(a)) * inv_max))
        eb = _I32(d >> _I32(23))
        mt = _I32(d & _I32(0x7FFFFF))
        if eb == 0:
            e = _I32(-127) if mt <= _I32(0x400000) else _I32(-126)
        elif eb == 255:
            e = _I32(127)  # satfinite
        else:
            e = _I32(eb - _I32(127) + _I32(mt != 0))
            e = _I32(min(e, _I32(127)))
        return e
    eb = _I32(a >> _I32(23))
    mt = _I32(a & _I32(0x7FFFFF))
    if rule == 2:
        a2 = _I32((a + (_I32(1) << _I32(22 - mbits))) & _INF)
        eb = _I32(a2 >> _I32(23))
        mt = _I32(0)
    e = _I32(eb - _I32(127) - emax)
    if rule == 1:
        e = _I32(e + _I32(mt != 0))
    return _I32(min(max(e, _I32(-127)), _I32(128)))


@jit
def _mx_scale(a, rule, emax, mbits, inv_max):
    """(E8M0 code, float32 multiplier bits 2**-e, keep mask) of a block with max pattern `a`.

    A NaN maximum (or an exponent past E8M0's range) gives the NaN scale 0xFF and
    keep 0 (the block's codes are 0); 2**-127 is the float32 subnormal 0x00400000.
    """
    e = _I32(128) if a > _INF else _mx_scale_exp(a, rule, emax, mbits, inv_max)
    sb = _I32(_I32(_I32(127) - e) << _I32(23))
    sb = _I32(0x00400000) if e == _I32(127) else sb
    sb = _I32(0) if e == _I32(128) else sb
    keep = _I32(0) if e == _I32(128) else _I32(-1)
    return _I32(e + _I32(127)), sb, keep


@jit
def _mx_scales(am, nbk, g0, rule, emax, mbits, inv_max, scales, sm, kp):
    """`_mx_scale` of the blocks with max patterns am[:nbk]: E8M0 codes into
    scales[g0:], multipliers into sm[:nbk], keep masks into kp[:nbk]. Rules 0-2 in
    one branch-free int32 loop (selects on the loop-invariant rule), rule 3 in its
    own: both vectorise (the call per block of `_mx_scale` stayed scalar)."""
    if rule == 3:
        for b in range(nbk):
            sc, sb, keep = _mx_scale(am[np.uint64(b)], rule, emax, mbits, inv_max)
            scales[np.uint64(g0 + b)] = sc
            sm[np.uint64(b)] = i32_as_f32(sb)
            kp[np.uint64(b)] = keep
        return
    half = _I32(_I32(1) << (_I32(22 - mbits) & _I32(31)))
    is_even = rule == 2
    is_ceil = _I32(1) if rule == 1 else _I32(0)
    base = _I32(_I32(127) + emax)
    for b in range(nbk):
        a = am[np.uint64(b)]
        a2 = _I32(_I32(a + half) & _INF) if is_even else a
        mt = _I32(a2 & _I32(0x7FFFFF))
        e = _I32(_I32(_I32(a2 >> _I32(23)) - base) + _I32(is_ceil & _I32(mt != _I32(0))))
        e = _I32(min(max(e, _I32(-127)), _I32(128)))
        e = _I32(128) if a > _INF else e
        sb = _I32(_I32(_I32(127) - e) << _I32(23))
        sb = _I32(0x00400000) if e == _I32(127) else sb
        sb = _I32(0) if e == _I32(128) else sb
        scales[np.uint64(g0 + b)] = _I32(e + _I32(127))
        sm[np.uint64(b)] = i32_as_f32(sb)
        kp[np.uint64(b)] = _I32(0) if e == _I32(128) else _I32(-1)


@jit
def _elem_code(bx, s, m, emin_b, cap_b, maxmag, signbit, nz, ovf_p, dov):
    """Nearest-even saturating code of `x * s` (x given by its float32 pattern `bx`)."""
    v = np.float32(i32_as_f32(bx) * s)
    ax = _I32(f32_as_i32(v) & _ABS)
    mag = magic_round(ax, m, emin_b, cap_b)[0]
    negm = _I32(bx >> _I32(31))
    return pack_code(mag, negm, nz, signbit, maxmag, _I32(ovf_p ^ _I32(dov & negm))), ax


@jit
def _mx_block(xf, codes, lo, hi, s, keep, m, emin_b, cap_b, maxmag, signbit, nz, ovf_p, dov):
    """Codes of the block xf[lo:hi]. The indices are uint64 (numba adds no
    negative-index wraparound), the multiplier is loop-invariant: LLVM
    vectorises this loop. (A flat loop indexing the per-block multiplier, or
    block slices passed to a function, run 2-20x slower.)"""
    o = np.uint64(lo)
    for j in range(np.uint64(hi - lo)):
        i = o + np.uint64(j)
        c = _elem_code(xf[i], s, m, emin_b, cap_b, maxmag, signbit, nz, ovf_p, dov)[0]
        codes[i] = _I32(c & keep)


@jit
def _sub_elems(xf, codes, base, nbk, bs, mult, keep, use_keep, m, emin_b, cap_b, maxmag, signbit, nz, ovf_p, dov):
    """Element codes of the `nbk` contiguous blocks of `bs` (16 or 32) elements from
    `base`: x times its block's multiplier, rounded; `keep[b]` masks a block's codes
    (MX: 0 for a NaN scale) when `use_keep`. The inner loop has a constant trip count and
    a loop-invariant multiplier, which is what LLVM vectorises (a call per block costs
    more than the block)."""
    if bs == 32:
        for b in range(nbk):
            s = mult[b]
            k = _I32(keep[b]) if use_keep else _I32(-1)
            o = np.uint64(base + b * 32)
            for j in range(32):
                i = o + np.uint64(j)
                codes[i] = _I32(_elem_code(xf[i], s, m, emin_b, cap_b, maxmag, signbit, nz, ovf_p, dov)[0] & k)
    else:
        for b in range(nbk):
            s = mult[b]
            k = _I32(keep[b]) if use_keep else _I32(-1)
            o = np.uint64(base + b * 16)
            for j in range(16):
                i = o + np.uint64(j)
                codes[i] = _I32(_elem_code(xf[i], s, m, emin_b, cap_b, maxmag, signbit, nz, ovf_p, dov)[0] & k)


@jit
def mx_encode_f32(xf, n, nb, bs, rule, emax, mbits, inv_max, m, emin_b, cap_b, maxmag, signbit, negzero,
                  ovf_p, ovf_n, scales, codes):
    """MX encode of the float32 patterns `xf` (flat (rows, n)) with the scale rule
    `rule` (see `_mx_scale_exp`): E8M0 codes into `scales` (flat (rows, nb)),
    element codes into `codes` (flat)."""
    nz = _I32(-1) if negzero != 0 else _I32(0)
    dov = _I32(ovf_p ^ ovf_n)
    rows = xf.size // n if n > 0 else 0
    total = rows * nb
    if (bs == 32 or bs == 16) and n % bs == 0:
        t1 = np.empty(SUB * 8, np.int32)
        am = np.empty(SUB, np.int32)
        kp = np.empty(SUB, np.int32)
        sm = np.empty(SUB, np.float32)
        for g0 in range(0, total, SUB):
            nbk = min(SUB, total - g0)
            base = g0 * bs
            xs = xf[base: base + nbk * bs]
            _sub_amax(xs, nbk, bs, t1, am)
            _mx_scales(am, nbk, g0, rule, emax, mbits, inv_max, scales, sm, kp)
            _sub_elems(xf, codes, base, nbk, bs, sm, kp, True, m, emin_b, cap_b, maxmag, signbit, nz, ovf_p, dov)
        return
    for g in range(total):
        lo, hi = _block_span(g, n, nb, bs)
        sc, sb, keep = _mx_scale(_amax_bits(xf, lo, hi), rule, emax, mbits, inv_max)
        scales[g] = sc
        _mx_block(xf, codes, lo, hi, i32_as_f32(sb), keep, m, emin_b, cap_b, maxmag, signbit, nz, ovf_p, dov)


# --------------------------------------------------------------------------- NVFP4 encode


@jit
def _nv_scale(a, recipe, mult, s_dec, rpts, pts, emx, smin, smax, stab, sk, sbase, stop, slow, scale_vals):
    """(scale code, float32 element multiplier, bad) of one block with max pattern
    `a`, as `_nv_scales` computes them (short or odd-sized blocks)."""
    am = np.empty(1, np.int32)
    am[0] = a
    sc = np.empty(1, np.int32)
    em = np.empty(1, np.float32)
    bad = _nv_scales(am, 1, 0, recipe, mult, s_dec, rpts, pts, emx, smin, smax, stab, sk, sbase, stop, slow,
                     scale_vals, sc, em)
    return sc[0], em[0], bad


@jit
def _nv_scales(am, nbk, g0, recipe, mult, s_dec, rpts, pts, emx, smin, smax, stab, sk, sbase, stop, slow,
               scale_vals, scales, em):
    """Scale codes (into scales[g0:]) and float32 element multipliers (into
    em[:nbk]) of the blocks with max patterns am[:nbk], with the recipe's
    float32 operations in its order: 0 TransformerEngine, 1 torchao two-level,
    2 torchao one-level; the scale code from the scale format's rounding table
    (built by round_pack). One branch-free loop per recipe; min/max are
    written as selects (equal to them on the non-NaN operands that matter).
    Returns nonzero when a block maximum is NaN or a product x * multiplier
    could be NaN (a NaN or infinite multiplier, or 0 with an infinite element)."""
    one = np.float32(1.0)
    fmax = np.float32(3.4028234663852886e38)
    bad = _I32(0)
    if recipe == 0:
        for b in range(nbk):
            a = am[b]
            ds = np.float32(i32_as_f32(a) * mult)
            sc = _tcode(f32_as_i32(ds), stab, sk, sbase, stop, slow)
            scales[np.uint64(g0 + b)] = sc
            e = np.float32(one / np.float32(scale_vals[np.uint64(sc)] * s_dec))
            e = fmax if e > fmax else e
            em[np.uint64(b)] = e
            eb = _I32(f32_as_i32(e) & _ABS)
            bad = max(bad, _I32(_I32(a > _INF) | _I32(eb >= _INF) | _I32((eb == _I32(0)) & (a >= _INF))))
    else:
        num = rpts if recipe == 1 else one
        for b in range(nbk):
            a = am[b]
            bsc = np.float32(i32_as_f32(a) / emx)
            if recipe == 1:
                bsc = np.float32(bsc / pts)
            bsc = smin if bsc < smin else bsc
            bsc = smax if bsc > smax else bsc
            sc = _tcode(f32_as_i32(bsc), stab, sk, sbase, stop, slow)
            scales[np.uint64(g0 + b)] = sc
            e = np.float32(num / scale_vals[np.uint64(sc)])
            em[np.uint64(b)] = e
            eb = _I32(f32_as_i32(e) & _ABS)
            bad = max(bad, _I32(_I32(a > _INF) | _I32(eb >= _INF) | _I32((eb == _I32(0)) & (a >= _INF))))
    return bad


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
def _nv_scales_arith(am, a0, nbk, g0, recipe, mult, s_dec, num, pts, emx, smin, smax, sa, scales, em):
    """`_nv_scales` with the scale code and value by `_scale_code_value`,
    block maxima am[a0:a0 + nbk]; one branch-free loop per recipe (torchao one-level
    passes `pts` = 1, an exact division). 16-wide SIMD (about 0.4 ns per block,
    the table loop's gathers left it scalar at about 5 ns)."""
    one = np.float32(1.0)
    fmax = np.float32(3.4028234663852886e38)
    bad = _I32(0)
    if recipe == 0:
        for b in range(nbk):
            a = am[np.uint64(a0 + b)]
            sc, sv = _scale_code_value(np.float32(i32_as_f32(a) * mult), sa)
            scales[np.uint64(g0 + b)] = sc
            e = np.float32(one / np.float32(sv * s_dec))
            e = fmax if e > fmax else e
            em[np.uint64(b)] = e
            eb = _I32(f32_as_i32(e) & _ABS)
            bad = max(bad, _I32(_I32(a > _INF) | _I32(eb >= _INF) | _I32((eb == _I32(0)) & (a >= _INF))))
    else:
        for b in range(nbk):
            a = am[np.uint64(a0 + b)]
            bsc = np.float32(np.float32(i32_as_f32(a) / emx) / pts)
            bsc = smin if bsc < smin else bsc
            bsc = smax if bsc > smax else bsc
            sc, sv = _scale_code_value(bsc, sa)
            scales[np.uint64(g0 + b)] = sc
            e = np.float32(num / sv)
            em[np.uint64(b)] = e
            eb = _I32(f32_as_i32(e) & _ABS)
            bad = max(bad, _I32(_I32(a > _INF) | _I32(eb >= _INF) | _I32((eb == _I32(0)) & (a >= _INF))))
    return bad


@jit
def block_amax(xf, n, nb, bs, am):
    """am[g] = largest |x| float32 pattern of every block g of the flat (rows, n)
    patterns `xf`; returns the largest of them (the tensor's |x| maximum as a
    pattern: > 0x7F800000 when there is a NaN). The two-level recipes' tensor amax
    comes from here, so x is read twice in all (here, then the element pass) and
    the element pass needs no block maxima of its own."""
    rows = xf.size // n if n > 0 else 0
    total = rows * nb
    if (bs == 32 or bs == 16) and n % bs == 0:
        t1 = np.empty(SUB * 8, np.int32)
        for g0 in range(0, total, SUB):
            nbk = min(SUB, total - g0)
            _sub_amax(xf[g0 * bs: (g0 + nbk) * bs], nbk, bs, t1, am[g0: g0 + nbk])
    else:
        for g in range(total):
            lo, hi = _block_span(g, n, nb, bs)
            am[g] = _amax_bits(xf, lo, hi)
    top = _I32(0)
    for g in range(total):
        top = max(top, am[g])
    return top


@jit
def _nv_block(xf, codes, lo, hi, s, m, emin_b, cap_b, maxmag, signbit, nz, ovf_p, dov):
    """As `_mx_block`, without a keep mask."""
    o = np.uint64(lo)
    for j in range(np.uint64(hi - lo)):
        i = o + np.uint64(j)
        codes[i] = _elem_code(xf[i], s, m, emin_b, cap_b, maxmag, signbit, nz, ovf_p, dov)[0]


@jit
def nv_encode_f32(xf, n, nb, bs, recipe, s_enc, pts, stab, sk, sbase, stop, slow, scale_vals, emx, smin, smax,
                  sa, use_sa, am_all, have_am, m, emin_b, cap_b, maxmag, signbit, negzero, ovf_p, ovf_n, scales,
                  codes):
    """NVFP4-style encode of the float32 patterns `xf` (flat (rows, n)): scale codes
    into `scales`, element codes (nearest-even, saturating) into `codes`.

    The scale codes come from the rounding table (`stab` ...), or by arithmetic
    when `use_sa` (`sa`: see `_scale_code_value`). With `have_am` the
    block maxima are taken from `am_all` (`block_amax`), else computed per
    sub-chunk. Returns -1 when a block maximum is NaN or a product x * multiplier
    could be NaN (nothing meaningful is written; the caller takes the general
    path), else 0."""
    one = np.float32(1.0)
    mult = np.float32(s_enc * np.float32(one / emx))
    s_dec = np.float32(one / s_enc)
    rpts = np.float32(one / pts)
    nz = _I32(-1) if negzero != 0 else _I32(0)
    dov = _I32(ovf_p ^ ovf_n)
    rows = xf.size // n if n > 0 else 0
    total = rows * nb
    if (bs == 32 or bs == 16) and n % bs == 0:
        t1 = np.empty(SUB * 8, np.int32)
        am = np.empty(SUB, np.int32)
        em = np.empty(SUB, np.float32)
        num = rpts if recipe == 1 else one
        dpts = pts if recipe == 1 else one
        for g0 in range(0, total, SUB):
            nbk = min(SUB, total - g0)
            base = g0 * bs
            if have_am != 0:
                src, a0 = am_all, g0
            else:
                _sub_amax(xf[base: base + nbk * bs], nbk, bs, t1, am)
                src, a0 = am, 0
            if use_sa != 0:
                bad = _nv_scales_arith(src, a0, nbk, g0, recipe, mult, s_dec, num, dpts, emx, smin, smax, sa,
                                       scales, em)
            else:
                bad = _nv_scales(src[a0: a0 + nbk], nbk, g0, recipe, mult, s_dec, rpts, pts, emx, smin, smax, stab,
                                 sk, sbase, stop, slow, scale_vals, scales, em)
            if bad != _I32(0):
                return -1
            _sub_elems(xf, codes, base, nbk, bs, em, t1, False, m, emin_b, cap_b, maxmag, signbit, nz, ovf_p, dov)
        return 0
    for g in range(total):
        lo, hi = _block_span(g, n, nb, bs)
        a = am_all[g] if have_am != 0 else _amax_bits(xf, lo, hi)
        sc, s, bd = _nv_scale(a, recipe, mult, s_dec, rpts, pts, emx, smin, smax, stab, sk, sbase, stop, slow,
                              scale_vals)
        if bd != _I32(0):
            return -1
        scales[g] = sc
        _nv_block(xf, codes, lo, hi, s, m, emin_b, cap_b, maxmag, signbit, nz, ovf_p, dov)
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
    trip count: the loops LLVM vectorises best (see `_mx_block`)."""
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
def _decode_all(codes, scales, n, nb, bs, mode, scale_vals, ts, ea, spec, table, out):
    """Shared driver: mode 0 E8M0 scales, 1 `fl(scale_vals[s] * ts)`."""
    rows = codes.size // n if n > 0 else 0
    total = rows * nb
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
            elif bs == 32:  # the hot loops, written out here (a call per block costs more than the block)
                for b in range(g1 - g0):
                    s = sv[b]
                    o = np.uint64((g0 + b) * 32)
                    for j in range(32):
                        i = o + np.uint64(j)
                        out[i] = _elem_value(codes[i], *ea) * s
            else:
                for b in range(g1 - g0):
                    s = sv[b]
                    o = np.uint64((g0 + b) * 16)
                    for j in range(16):
                        i = o + np.uint64(j)
                        out[i] = _elem_value(codes[i], *ea) * s
        return
    for g in range(total):
        lo, hi = _block_span(g, n, nb, bs)
        s = _e8m0_f32(scales[g]) if mode == 0 else np.float32(scale_vals[scales[g]] * ts)
        _decode_block(codes, out, lo, hi, s, ea, table, _top_mag(codes, lo, hi, mag_mask) >= spec)


@jit
def mx_decode_f32(codes, scales, n, nb, bs, ea, spec, table, out):
    """float32 values `elem(code) * 2**(scale - 127)` (scale 0xFF: NaN) of flat
    (rows, n) codes and (rows, nb) E8M0 scales. `ea`: the arguments of
    `_elem_value`; codes with a magnitude >= `spec` take `table`."""
    _decode_all(codes, scales, n, nb, bs, 0, table, np.float32(1.0), ea, spec, table, out)


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
