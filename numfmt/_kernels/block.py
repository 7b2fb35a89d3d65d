"""Block-scaled encode/decode loops (MX, NVFP4, custom block formats).

* Exact loops: ``scaled_encode`` (power-of-two scales: every element is
  decomposed exactly, its exponent shifted by the block's scale, and rounded
  once by :func:`round_pack`) and ``divided_encode`` (P3109 BlockProject: exact
  integer division by an arbitrary scale, with a sticky bit, then round_pack).
  They serve every rounding mode, input precision and element format.
* Fast float32 chunk loops for the default recipes: ``mx_scale_chunk`` and
  ``nv_scale_chunk`` compute the block maxima from the float32 bit patterns
  (a halving tree of map loops, which LLVM vectorises), the scales, and the
  scaled float32 elements of a chunk into a cache-resident buffer; the caller
  encodes the buffer with the core codec (``numfmt.encode``). ``x * 2**-e`` is
  exact in float32 for every result >= 2**-126, and a smaller product rounds
  to zero under nearest-even in every element format whose half-quantum is
  >= 2**-125 (checked by the caller).
* Rounding tables (``build_table``): for the NVFP4 scale code, a table over
  (sign, binade, top bits, sticky) filled by calling round_pack once per key,
  so the funnel stays the one rounding routine.
* Decode: element-value table times the block's float32 scale (one rounding).

Layout: a block array is handled as ``(rows, n)`` with blocks of ``bs``
consecutive elements along the last axis; the last block of a row may be
shorter (``n % bs`` elements).
"""

from __future__ import annotations

import numpy as np

from . import params as P
from .bits import bit_length, f32_as_i32, i32_as_f32
from .encode import decompose, random_bits
from .jit import jit
from .round import round_pack

__all__ = [
    "scaled_encode", "divided_encode", "fill_random", "abs_max_f32", "build_table", "table_args", "table_eligible",
    "encode_table_f32", "mx_scale_chunk", "nv_scale_chunk", "mx_decode_f32", "nv_decode_f32",
]


@jit
def scaled_encode(x, shifts, bs, p, mode, sat, rkind, rarr, nbits, out):
    """Encode ``x[r, i] * 2**-shifts[r, i // bs]`` exactly into ``out``.

    ``x`` float32/float64 of shape (rows, n); ``rarr`` (rows, n) uint32 random
    bits when ``rkind == 1``. Returns the number of NaN inputs that had no code
    (written as 0).
    """
    rows, n = x.shape
    bad = 0
    for r in range(rows):
        for i in range(n):
            cls, neg, sig, exp = decompose(x[r, i])
            rb = np.int64(0)
            if rkind == 1:
                rb = np.int64(rarr[r, i])
            c = round_pack(cls, neg, sig, exp - shifts[r, i // bs], p, mode, sat, rb, nbits)
            if c < 0:
                bad += 1
                c = 0
            out[r, i] = c
    return bad


@jit
def divided_encode(x, ssig, sexp, skind, bs, p, mode, sat, rkind, rarr, nbits, out):
    """Encode ``x[r, i] / S[r, i // bs]`` rounded once (P3109 BlockProject).

    S = ssig * 2**sexp exactly (``skind`` 0), or zero (1: the element becomes +0),
    or NaN (2). The quotient is computed exactly with integers: the dividend's
    significand is shifted to 62 bits, divided by ssig (< 2**24), and a nonzero
    remainder becomes a sticky 1 in the quotient's lowest bit, which keeps >= 38
    bits, enough for every element format of <= 16 bits with 32 random bits.
    """
    rows, n = x.shape
    bad = 0
    for r in range(rows):
        for i in range(n):
            b = i // bs
            cls, neg, sig, exp = decompose(x[r, i])
            rb = np.int64(0)
            if rkind == 1:
                rb = np.int64(rarr[r, i])
            k = skind[r, b]
            if k == 2:
                cls = P.NOTANUMBER
            elif k == 1:
                cls = P.ZERO
                neg = False
            elif cls == P.FINITE:
                sh = 62 - bit_length(sig)
                num = sig << sh
                d = ssig[r, b]
                q = num // d
                rem = num - q * d
                sig = q | np.int64(rem != 0)
                exp = exp - sh - sexp[r, b]
            c = round_pack(cls, neg, sig, exp, p, mode, sat, rb, nbits)
            if c < 0:
                bad += 1
                c = 0
            out[r, i] = c
    return bad


@jit
def fill_random(key, nbits, out):
    """Counter-based random bits for flat indices 0..out.size-1 (same stream as encode)."""
    for i in range(out.size):
        out[i] = random_bits(key, i, nbits)


# --------------------------------------------------------------------------- fast paths
#
# Rounding tables. For deterministic rounding modes the code of a float32 value v
# depends only on its sign, its binade (clamped to the range where rounding can
# differ), the top K = M + 1 bits of its trailing significand (M kept bits and
# the guard bit) and whether any lower bit is set (sticky). A table over those
# keys is filled by calling round_pack on one exact representative per key, so
# the funnel stays the only rounding routine; the fast loops only look codes up.
#
#   row 0            exponent field 0 (zero when top == sticky == 0, else tiny)
#   row 1            binades E <= base = EMIN - M - 2 (below half the smallest subnormal)
#   rows 2 ..        E = base + 1 .. ECAP - 1
#   row ECAP-base+1  E >= ECAP (overflow)
#   last row         exponent field 255 (inf when top == sticky == 0, else NaN)


def table_eligible(p) -> bool:
    """Whether a float element/scale format can be encoded through a rounding table."""
    return (p[P.KIND] == 0 and p[P.M] <= 10 and p[P.EMIN] - p[P.M] - 2 >= -126
            and p[P.ECAP] <= 127)



@jit
def build_table(p, mode, sat):
    """Rounding table of a format for a deterministic mode (see the module notes)."""
    m = p[P.M]
    k = m + 1
    base = p[P.EMIN] - m - 2
    nrows = p[P.ECAP] - base + 3
    width = np.int64(1) << (k + 1)
    tab = np.empty(nrows * 2 * width, np.int32)
    for row in range(nrows):
        for sgn in range(2):
            neg = sgn == 1
            for key in range(width):
                top = key >> 1
                st = key & 1
                if row == 0:
                    if key == 0:
                        c = round_pack(P.ZERO, neg, np.int64(0), np.int64(0), p, mode, sat, 0, 0)
                    else:
                        c = round_pack(P.FINITE, neg, np.int64(1), np.int64(base - 8), p, mode, sat, 0, 0)
                elif row == nrows - 1:
                    cls = P.INFINITE if key == 0 else P.NOTANUMBER
                    c = round_pack(cls, neg, np.int64(0), np.int64(0), p, mode, sat, 0, 0)
                else:
                    e = base + row - 1
                    sig = (np.int64(1) << (k + 1)) | (np.int64(top) << 1) | np.int64(st)
                    c = round_pack(P.FINITE, neg, sig, np.int64(e - k - 1), p, mode, sat, 0, 0)
                tab[(row * 2 + sgn) * width + key] = c
    return tab


@jit
def _tcode(b, tab, k, base_b, toprow, lowmask):
    """Table code of the float32 pattern ``b`` (int32)."""
    eb = np.int32((b >> np.int32(23)) & np.int32(0xFF))
    sgn = np.int32((b >> np.int32(31)) & np.int32(1))
    row = np.int32(min(max(eb - base_b, np.int32(0)), toprow) + np.int32(1))
    row = np.int32(0) if eb == np.int32(0) else row
    row = toprow + np.int32(2) if eb == np.int32(255) else row
    top = np.int32((b >> (np.int32(23) - k)) & ((np.int32(1) << k) - np.int32(1)))
    st = np.int32((b & lowmask) != np.int32(0))
    idx = ((((row << np.int32(1)) | sgn) << (k + np.int32(1))) | (top << np.int32(1))) | st
    return tab[idx]


def table_args(p):
    """(k, base_b, toprow, lowmask) for :func:`_tcode` as int32."""
    m = p[P.M]
    k = m + 1
    base = p[P.EMIN] - m - 2
    return (np.int32(k), np.int32(base + 127), np.int32(p[P.ECAP] - base),
            np.int32((1 << (23 - k)) - 1))


@jit
def encode_table_f32(xb, tab, k, base_b, toprow, lowmask, out):
    """Encode float32 patterns through a rounding table (tests compare with round_pack)."""
    for i in range(xb.size):
        out[i] = _tcode(xb[i], tab, k, base_b, toprow, lowmask)


@jit
def abs_max_f32(xb):
    """Largest |x| of float32 patterns as float32 (NaN if any NaN)."""
    m = np.int32(0)
    for i in range(xb.size):
        m = max(m, np.int32(xb[i] & np.int32(0x7FFFFFFF)))
    if m > np.int32(0x7F800000):
        m = np.int32(0x7FC00000)
    return i32_as_f32(m)


@jit
def _mx_scale_exp(a, rule, emax, mbits, inv_max):
    """Unbiased power-of-two exponent of a block with max pattern ``a`` (finite or inf).

    rule 0 floor, 1 ceil, 2 even, 3 rceil (NVIDIA: round amax*fp32(1/max) up).
    Returns a value in [-127, 128]; 128 means the NaN scale.
    """
    if rule == 3:
        d = f32_as_i32(np.float32(i32_as_f32(np.int32(a)) * inv_max))
        eb = np.int32(d >> np.int32(23))
        mt = np.int32(d & np.int32(0x7FFFFF))
        if eb == 0:
            e = np.int32(-127) if mt <= np.int32(0x400000) else np.int32(-126)
        elif eb == 255:
            e = np.int32(127)  # satfinite
        else:
            e = np.int32(eb - np.int32(127) + np.int32(mt != 0))
            e = np.int32(min(e, np.int32(127)))
        return e
    eb = np.int32(a >> np.int32(23))
    mt = np.int32(a & np.int32(0x7FFFFF))
    if rule == 2:
        a2 = np.int32((a + (np.int32(1) << np.int32(22 - mbits))) & np.int32(0x7F800000))
        eb = np.int32(a2 >> np.int32(23))
        mt = np.int32(0)
    e = np.int32(eb - np.int32(127) - emax)
    if rule == 1:
        e = np.int32(e + np.int32(mt != 0))
    return np.int32(min(max(e, np.int32(-127)), np.int32(128)))


@jit
def mx_decode_f32(codes, scales, bs, table, out):
    """float32 values ``table[code] * 2**(scale - 127)`` (scale 0xFF: NaN)."""
    rows, n = codes.shape
    nb = scales.shape[1]
    qnan = np.float32(np.nan)
    for r in range(rows):
        for b in range(nb):
            lo = b * bs
            hi = min(lo + bs, n)
            c = np.int32(scales[r, b])
            if c == 0:
                s = i32_as_f32(np.int32(0x00400000))
            else:
                s = i32_as_f32(np.int32(c << np.int32(23)))
            s = qnan if c == 255 else s
            for i in range(lo, hi):
                out[r, i] = table[codes[r, i]] * s


@jit
def nv_decode_f32(codes, scales, bs, table, scale_vals, ts, out):
    """float32 values ``table[code] * fl(scale_vals[scale] * ts)`` (torchao's order)."""
    rows, n = codes.shape
    nb = scales.shape[1]
    for r in range(rows):
        for b in range(nb):
            lo = b * bs
            hi = min(lo + bs, n)
            s = scale_vals[scales[r, b]] * ts
            for i in range(lo, hi):
                out[r, i] = table[codes[r, i]] * s


# --------------------------------------------------------------------------- chunked fast paths
#
# The fast paths split the work in chunks of whole blocks: a loop here computes
# the scales of the blocks of a chunk and writes the scaled float32 values into
# a cache-resident buffer; the caller hands the buffer to the public
# ``numfmt.encode`` (saturating nearest-even), so the element rounding is the
# core codec's. Blocks are numbered over the flattened (rows, n) array: block g
# is row g // nb, block g % nb of that row, and consecutive blocks are
# contiguous in memory.

_ABS = np.int32(0x7FFFFFFF)
SUB = 256  # blocks per sub-chunk of the phased loops (work needs 25 * SUB int32)


@jit
def _amax_bits(xf, lo, hi, tmp):
    """Largest |x| pattern of xf[lo:hi]. Full blocks of 16 and 32 use a halving
    tree of fixed-length map loops, which LLVM vectorises (a plain max-reduction
    loop it does not)."""
    m = hi - lo
    if m == 32:
        for i in range(16):
            tmp[i] = max(xf[lo + i] & _ABS, xf[lo + 16 + i] & _ABS)
        for i in range(8):
            tmp[i] = max(tmp[i], tmp[i + 8])
    elif m == 16:
        for i in range(8):
            tmp[i] = max(xf[lo + i] & _ABS, xf[lo + 8 + i] & _ABS)
    else:
        a = np.int32(0)
        for i in range(lo, hi):
            a = max(a, np.int32(xf[i] & _ABS))
        return a
    for i in range(4):
        tmp[i] = max(tmp[i], tmp[i + 4])
    return np.int32(max(max(tmp[0], tmp[2]), max(tmp[1], tmp[3])))


@jit
def _block_span(g, n, nb, bs):
    r = g // nb
    b = g - r * nb
    lo = r * n + b * bs
    return lo, lo + min(bs, n - b * bs)


@jit
def _chunk_amax(xf, base, nbk, bs, t1, t2, amax):
    """amax[b] = largest |x| pattern of the full block b (bs = 16 or 32) of xf[base:],
    for b < nbk: halving levels over the whole chunk, each a map loop (vectorised)."""
    if bs == 32:
        for b in range(nbk):
            o = base + b * 32
            for i in range(16):
                t1[b * 16 + i] = max(xf[o + i] & _ABS, xf[o + 16 + i] & _ABS)
        for b in range(nbk):
            for i in range(8):
                t2[b * 8 + i] = max(t1[b * 16 + i], t1[b * 16 + 8 + i])
    else:
        for b in range(nbk):
            o = base + b * 16
            for i in range(8):
                t2[b * 8 + i] = max(xf[o + i] & _ABS, xf[o + 8 + i] & _ABS)
    for b in range(nbk):
        for i in range(4):
            t1[b * 4 + i] = max(t2[b * 8 + i], t2[b * 8 + 4 + i])
    for b in range(nbk):
        amax[b] = max(max(t1[b * 4], t1[b * 4 + 1]), max(t1[b * 4 + 2], t1[b * 4 + 3]))


@jit
def _mx_full(xf, bs, g0, g1, rule, emax, mbits, inv_max, scales, buf, work):
    """mx_scale_chunk for rows made of whole blocks of 16 or 32, in vectorisable phases."""
    nbk = g1 - g0
    base = g0 * bs
    t1 = work[: nbk * 16]
    t2 = work[nbk * 16: nbk * 24]
    am = work[nbk * 24: nbk * 25]
    _chunk_amax(xf, base, nbk, bs, t1, t2, am)
    for b in range(nbk):
        a = am[b]
        e = np.int32(128) if a > np.int32(0x7F800000) else _mx_scale_exp(a, rule, emax, mbits, inv_max)
        scales[g0 + b] = np.int32(e + np.int32(127))
        am[b] = e
    for b in range(nbk):
        e = am[b]
        s = i32_as_f32(np.int32((np.int32(127) - e) << np.int32(23)))
        s = i32_as_f32(np.int32(0x00400000)) if e == np.int32(127) else s
        s = np.float32(0.0) if e == np.int32(128) else s
        o = b * bs
        if bs == 32:
            for i in range(32):
                buf[o + i] = np.float32(i32_as_f32(xf[base + o + i]) * s)
        else:
            for i in range(16):
                buf[o + i] = np.float32(i32_as_f32(xf[base + o + i]) * s)
    return nbk * bs


@jit
def mx_scale_chunk(xf, n, nb, bs, g0, g1, rule, emax, mbits, inv_max, scales, buf, work):
    """Scales of blocks g0..g1-1 (E8M0 codes into ``scales``) and their scaled
    elements ``x * 2**-e`` into ``buf``; a NaN block gets 0xFF and zeros.
    ``work`` is int32 scratch of >= 25 * SUB entries. Returns the number of
    elements written."""
    if (bs == 32 or bs == 16) and n % bs == 0:
        # sub-chunks of SUB blocks keep x, the scratch and buf in L1/L2 between the phases
        for s0 in range(g0, g1, SUB):
            s1 = min(s0 + SUB, g1)
            _mx_full(xf, bs, s0, s1, rule, emax, mbits, inv_max, scales, buf[(s0 - g0) * bs:], work)
        return (g1 - g0) * bs
    tmp = np.empty(32, np.int32)
    start, _ = _block_span(g0, n, nb, bs)
    for g in range(g0, g1):
        lo, hi = _block_span(g, n, nb, bs)
        o = lo - start
        a = _amax_bits(xf, lo, hi, tmp)
        e = np.int32(128) if a > np.int32(0x7F800000) else _mx_scale_exp(a, rule, emax, mbits, inv_max)
        if e == np.int32(128):
            scales[g] = 255
            for i in range(hi - lo):
                buf[o + i] = np.float32(0.0)
            continue
        scales[g] = np.int32(e + np.int32(127))
        s = i32_as_f32(np.int32((np.int32(127) - e) << np.int32(23)))
        s = i32_as_f32(np.int32(0x00400000)) if e == np.int32(127) else s
        for i in range(hi - lo):
            buf[o + i] = np.float32(i32_as_f32(xf[lo + i]) * s)
    _, end = _block_span(g1 - 1, n, nb, bs)
    return end - start


@jit
def nv_scale_chunk(xf, n, nb, bs, g0, g1, recipe, s_enc, pts, stab, sk, sbase, stop, slow, scale_vals,
                   emx, smin, smax, scales, buf, work):
    """NVFP4-style scales of blocks g0..g1-1 and the scaled elements, with the
    recipe's float32 operations: recipe 0 TransformerEngine (``s_enc`` = S_enc),
    1 torchao two-level (``pts``), 2 torchao one-level. The scale code comes from
    the scale format's rounding table (nearest-even, saturating, built by
    round_pack). Returns -1 when a block holds a NaN (the caller uses the general
    path), else the number of elements written."""
    tmp = np.empty(32, np.int32)
    one = np.float32(1.0)
    mult = np.float32(s_enc * np.float32(one / emx))
    s_dec = np.float32(one / s_enc)
    flt_max = np.float32(3.4028234663852886e38)
    rpts = np.float32(one / pts)
    full = n % bs == 0
    start = g0 * bs if full else _block_span(g0, n, nb, bs)[0]
    pre = full and (bs == 16 or bs == 32)
    am = work[SUB * 24: SUB * 25]
    for g in range(g0, g1):
        if pre and (g - g0) % SUB == 0:
            nbk = min(SUB, g1 - g)
            _chunk_amax(xf, g * bs, nbk, bs, work[: SUB * 16], work[SUB * 16: SUB * 24], am)
        if full:
            lo = g * bs
            hi = lo + bs
        else:
            lo, hi = _block_span(g, n, nb, bs)
        a = am[(g - g0) % SUB] if pre else _amax_bits(xf, lo, hi, tmp)
        if a > np.int32(0x7F800000):
            return -1
        amax = i32_as_f32(np.int32(a))
        if recipe == 0:
            ds = np.float32(amax * mult)
            sc = _tcode(f32_as_i32(ds), stab, sk, sbase, stop, slow)
            enc = np.float32(min(np.float32(one / np.float32(scale_vals[sc] * s_dec)), flt_max))
        else:
            bsc = np.float32(amax / emx)
            if recipe == 1:
                bsc = np.float32(bsc / pts)
            bsc = np.float32(min(max(bsc, smin), smax))
            sc = _tcode(f32_as_i32(bsc), stab, sk, sbase, stop, slow)
            if recipe == 1:
                enc = np.float32(rpts / scale_vals[sc])
            else:
                enc = np.float32(one / scale_vals[sc])
        scales[g] = sc
        o = lo - start
        if full and bs == 16:
            for i in range(16):
                buf[o + i] = np.float32(i32_as_f32(xf[lo + i]) * enc)
        else:
            for i in range(hi - lo):
                buf[o + i] = np.float32(i32_as_f32(xf[lo + i]) * enc)
    if full:
        return (g1 - g0) * bs
    _, end = _block_span(g1 - 1, n, nb, bs)
    return end - start
