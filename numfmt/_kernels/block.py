"""Block-scaled encode/decode loops (MX, NVFP4, custom block formats).

Two kinds of loop live here:

* the **exact** loops (``scaled_encode``): every element is decomposed exactly,
  its exponent is shifted by the block's power-of-two scale (no rounding can
  happen there) and the result goes through :func:`round_pack` once. These serve
  every rounding mode, every input precision and every element format.
* the **fast** fused loops (``mx_encode_rne``, ``nv_encode_rne``, ``*_decode``)
  for float32 input and round-to-nearest-even, used by the default recipes.
  They compute the block maximum and the scale from the float32 bit pattern and
  look element codes up in a rounding table that :func:`build_table` fills by
  calling :func:`round_pack` (so the funnel stays the one rounding routine).
  ``x * 2**-e`` is exact in float32 for every result >= 2**-126, and a smaller
  product rounds to zero under nearest-even in every format whose half-quantum
  is >= 2**-125 (checked by :func:`table_eligible`).

Layout: a block array is handled as ``(rows, n)`` with blocks of ``bs``
consecutive elements along the last axis; the last block of a row may be
shorter (``n % bs`` elements).
"""

from __future__ import annotations

import numpy as np

from . import params as P
from .bits import f32_as_i32, i32_as_f32
from .encode import decompose, random_bits
from .jit import jit
from .round import round_pack

__all__ = [
    "scaled_encode", "fill_random", "abs_max_f32", "block_amax_f32", "build_table", "table_args", "table_eligible",
    "encode_table_f32", "mx_encode_rne", "mx_decode_f32", "nv_encode_rne", "nv_decode_f32",
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
def block_amax_f32(xb, bs, out):
    """Largest |x| bit pattern of each block (int32; NaN patterns sort above inf)."""
    rows, n = xb.shape
    nb = out.shape[1]
    for r in range(rows):
        for b in range(nb):
            lo = b * bs
            hi = min(lo + bs, n)
            m = np.int32(0)
            for i in range(lo, hi):
                m = max(m, np.int32(xb[r, i] & np.int32(0x7FFFFFFF)))
            out[r, b] = m


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
def mx_encode_rne(xb, bs, rule, emax, mbits, inv_max, tab, k, base_b, toprow, lowmask, codes, scales):
    """Fused MX encode of float32 patterns ``xb`` (rows, n) with an E8M0 scale.

    Exact OCP semantics: element = round(x * 2**-e) through the element's
    rounding table (saturating); a block whose max is NaN gets scale 0xFF and
    element codes 0.
    """
    rows, n = xb.shape
    nb = scales.shape[1]
    for r in range(rows):
        for b in range(nb):
            lo = b * bs
            hi = min(lo + bs, n)
            a = np.int32(0)
            for i in range(lo, hi):
                a = max(a, np.int32(xb[r, i] & np.int32(0x7FFFFFFF)))
            if a > np.int32(0x7F800000):
                scales[r, b] = 255
                for i in range(lo, hi):
                    codes[r, i] = 0
                continue
            e = _mx_scale_exp(a, rule, emax, mbits, inv_max)
            if e == 128:
                scales[r, b] = 255
                for i in range(lo, hi):
                    codes[r, i] = 0
                continue
            scales[r, b] = np.int32(e + np.int32(127))
            # 2**-e as float32 (e in [-127, 127]; 2**127 normal, 2**-127 subnormal)
            if e == 127:
                s = i32_as_f32(np.int32(0x00400000))
            else:
                s = i32_as_f32(np.int32((np.int32(127) - e) << np.int32(23)))
            for i in range(lo, hi):
                v = np.float32(i32_as_f32(xb[r, i]) * s)
                codes[r, i] = _tcode(f32_as_i32(v), tab, k, base_b, toprow, lowmask)


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
def nv_encode_rne(xb, bs, recipe, s_enc, pts, stab, sk, sbase, stop, slow, scale_vals,
                  tab, k, base_b, toprow, lowmask, emx, smin, smax, codes, scales):
    """Fused NVFP4-style encode: the recipe's float32 operations, then table codes.

    recipe 0 TransformerEngine (``s_enc`` = S_enc), 1 torchao two-level
    (``pts`` = per-tensor scale), 2 torchao one-level. ``stab``/``tab`` are the
    rounding tables of the scale and element formats (nearest-even, saturating);
    ``scale_vals`` maps a scale code to its float32 value. Returns True when a
    block holds a NaN (the caller then uses the general path).
    """
    rows, n = xb.shape
    nb = scales.shape[1]
    one = np.float32(1.0)
    sixth = one / emx
    mult = np.float32(s_enc * sixth)
    s_dec = one / s_enc
    flt_max = np.float32(3.4028234663852886e38)
    rpts = one / pts
    for r in range(rows):
        for b in range(nb):
            lo = b * bs
            hi = min(lo + bs, n)
            a = np.int32(0)
            for i in range(lo, hi):
                a = max(a, np.int32(xb[r, i] & np.int32(0x7FFFFFFF)))
            if a > np.int32(0x7F800000):
                return True
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
            scales[r, b] = sc
            for i in range(lo, hi):
                v = np.float32(i32_as_f32(xb[r, i]) * enc)
                codes[r, i] = _tcode(f32_as_i32(v), tab, k, base_b, toprow, lowmask)
    return False


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
# The element rounding of the fast paths is the core float32 nearest-even kernel
# (numfmt._kernels.fast.encode_f32_rne, verified against round_pack): the fused
# loops below write the scaled float32 values of up to CHUNK elements into a
# cache-resident buffer and hand that buffer to it.

CHUNK = 4096


@jit
def _mx_scale_block(xb, r, lo, hi, rule, emax, mbits, inv_max):
    a = np.int32(0)
    for i in range(lo, hi):
        a = max(a, np.int32(xb[r, i] & np.int32(0x7FFFFFFF)))
    if a > np.int32(0x7F800000):
        return np.int32(128)
    return _mx_scale_exp(a, rule, emax, mbits, inv_max)


try:  # the core float32 nearest-even kernel
    from .fast import constants as fast_constants
    from .fast import eligible as fast_eligible
    from .fast import encode_f32_rne as _rne
except ImportError:  # pragma: no cover - the core fast path is missing
    _rne = fast_constants = fast_eligible = None


@jit
def mx_encode_chunked(xb, bs, rule, emax, mbits, inv_max, c, codes, scales, buf):
    rows, n = xb.shape
    nb = scales.shape[1]
    bpc = max(np.int64(1), np.int64(CHUNK) // bs)  # blocks per chunk
    for r in range(rows):
        for b0 in range(0, nb, bpc):
            b1 = min(b0 + bpc, nb)
            lo0 = b0 * bs
            hi0 = min(b1 * bs, n)
            for b in range(b0, b1):
                lo = b * bs
                hi = min(lo + bs, n)
                e = _mx_scale_block(xb, r, lo, hi, rule, emax, mbits, inv_max)
                if e == np.int32(128):
                    scales[r, b] = 255
                    for i in range(lo, hi):
                        buf[i - lo0] = np.float32(0.0)
                    continue
                scales[r, b] = np.int32(e + np.int32(127))
                if e == np.int32(127):
                    s = i32_as_f32(np.int32(0x00400000))
                else:
                    s = i32_as_f32(np.int32((np.int32(127) - e) << np.int32(23)))
                for i in range(lo, hi):
                    buf[i - lo0] = np.float32(i32_as_f32(xb[r, i]) * s)
            _rne(buf[: hi0 - lo0].view(np.int32), codes[r, lo0:hi0], c[0], c[1], c[2], c[3], c[4],
                c[5], c[6], c[7], c[8], c[9], c[10], c[11])


@jit
def nv_encode_chunked(xb, bs, recipe, s_enc, pts, stab, sk, sbase, stop, slow, scale_vals,
                      c, emx, smin, smax, codes, scales, buf):
    rows, n = xb.shape
    nb = scales.shape[1]
    one = np.float32(1.0)
    sixth = one / emx
    mult = np.float32(s_enc * sixth)
    s_dec = one / s_enc
    flt_max = np.float32(3.4028234663852886e38)
    rpts = one / pts
    bpc = max(np.int64(1), np.int64(CHUNK) // bs)
    for r in range(rows):
        for b0 in range(0, nb, bpc):
            b1 = min(b0 + bpc, nb)
            lo0 = b0 * bs
            hi0 = min(b1 * bs, n)
            for b in range(b0, b1):
                lo = b * bs
                hi = min(lo + bs, n)
                a = np.int32(0)
                for i in range(lo, hi):
                    a = max(a, np.int32(xb[r, i] & np.int32(0x7FFFFFFF)))
                if a > np.int32(0x7F800000):
                    return True
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
                scales[r, b] = sc
                for i in range(lo, hi):
                    buf[i - lo0] = np.float32(i32_as_f32(xb[r, i]) * enc)
            _rne(buf[: hi0 - lo0].view(np.int32), codes[r, lo0:hi0], c[0], c[1], c[2], c[3], c[4],
                c[5], c[6], c[7], c[8], c[9], c[10], c[11])
    return False


def chunked_available(p) -> bool:
    """Whether the chunked loops (core nearest-even kernel) serve an element format."""
    return _rne is not None and bool(fast_eligible(p)) and p[P.EMIN] - p[P.M] - 1 >= -126
