"""Block-scaled encode/decode loops (MX, NVFP4, custom block formats).

* Exact loops: `scaled_encode` (power-of-two scales: every element is
  decomposed exactly, its exponent shifted by the block's scale, and rounded
  once by `round_pack`) and `divided_encode` (P3109 BlockProject: exact
  integer division by an arbitrary scale, with a sticky bit, then round_pack).
  They serve every rounding mode, input precision and element format.
* Rounding tables (`build_table`): for the NVFP4 scale code, a table over
  (sign, binade, top bits, sticky) filled by calling round_pack once per key,
  so the funnel stays the one rounding routine.
* The fused float32 encode and decode loops of the default recipes are in
  `block_fast.py`.

Layout: a block array is handled as `(rows, n)` with blocks of `bs`
consecutive elements along the last axis; the last block of a row may be
shorter (`n % bs` elements).
"""

from __future__ import annotations

import numpy as np

from . import params as P
from .bits import bit_length, i32_as_f32
from .encode import decompose
from .jit import jit
from .round import round_pack
from .streams import random_bits

__all__ = [
    "scaled_encode", "divided_encode", "fill_random", "abs_max_f32", "build_table", "table_args", "table_eligible",
    "encode_table_f32", "tcode",
]


@jit
def _round_store(cls, neg, sig, exp, p, mode, sat, rkind, rarr, nbits, out, r, i):
    """round_pack into out[r, i] (random bits rarr[r, i] when `rkind == 1`); returns 1 for
    a NaN with no code (written as 0), else 0."""
    rb = np.int64(rarr[r, i]) if rkind == 1 else np.int64(0)
    c = round_pack(cls, neg, sig, exp, p, mode, sat, rb, nbits)
    out[r, i] = c if c >= 0 else 0
    return 1 if c < 0 else 0


@jit
def scaled_encode(x, shifts, bs, p, mode, sat, rkind, rarr, nbits, out):
    """Encode `x[r, i] * 2**-shifts[r, i // bs]` exactly into `out`.

    `x` float32/float64 of shape (rows, n); `rarr` (rows, n) uint32 random
    bits when `rkind == 1`. Returns the number of NaN inputs that had no code
    (written as 0).
    """
    rows, n = x.shape
    bad = 0
    for r in range(rows):
        for i in range(n):
            cls, neg, sig, exp = decompose(x[r, i])
            bad += _round_store(cls, neg, sig, exp - shifts[r, i // bs], p, mode, sat, rkind, rarr, nbits, out, r, i)
    return bad


@jit
def divided_encode(x, ssig, sexp, skind, bs, p, mode, sat, rkind, rarr, nbits, out):
    """Encode `x[r, i] / S[r, i // bs]` rounded once (P3109 BlockProject).

    S = ssig * 2**sexp exactly (`skind` 0), or zero (1: the element becomes +0),
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
            bad += _round_store(cls, neg, sig, exp, p, mode, sat, rkind, rarr, nbits, out, r, i)
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
    return (p.KIND == 0 and p.M <= 10 and p.EMIN - p.M - 2 >= -126
            and p.ECAP <= 127)



@jit
def build_table(p, mode, sat):
    """Rounding table of a format for a deterministic mode (see the module notes)."""
    m = p.M
    k = m + 1
    base = p.EMIN - m - 2
    nrows = p.ECAP - base + 3
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
def tcode(b, tab, k, base_b, toprow, lowmask):
    """Table code of the float32 pattern `b` (int32)."""
    eb = np.int32((b >> np.int32(23)) & np.int32(0xFF))
    sgn = np.int32((b >> np.int32(31)) & np.int32(1))
    row = np.int32(min(max(eb - base_b, np.int32(0)), toprow) + np.int32(1))
    row = np.int32(0) if eb == np.int32(0) else row
    row = toprow + np.int32(2) if eb == np.int32(255) else row
    # shift amounts masked with 31 (no per-element guard), a uint64 index (no wraparound select)
    top = np.int32((b >> ((np.int32(23) - k) & np.int32(31))) & ((np.int32(1) << (k & np.int32(31))) - np.int32(1)))
    st = np.int32((b & lowmask) != np.int32(0))
    idx = ((((row << np.int32(1)) | sgn) << ((k + np.int32(1)) & np.int32(31))) | (top << np.int32(1))) | st
    return tab[np.uint64(idx)]


def table_args(p):
    """(k, base_b, toprow, lowmask) for `tcode` as int32."""
    m = p.M
    k = m + 1
    base = p.EMIN - m - 2
    return (np.int32(k), np.int32(base + 127), np.int32(p.ECAP - base),
            np.int32((1 << (23 - k)) - 1))


@jit
def encode_table_f32(xb, tab, k, base_b, toprow, lowmask, out):
    """Encode float32 patterns through a rounding table (tests compare with round_pack)."""
    for i in range(xb.size):
        out[i] = tcode(xb[i], tab, k, base_b, toprow, lowmask)


@jit
def abs_max_f32(xb):
    """Largest |x| of float32 patterns as float32 (NaN if any NaN)."""
    m = np.int32(0)
    for i in range(xb.size):
        m = max(m, np.int32(xb[i] & np.int32(0x7FFFFFFF)))
    if m > np.int32(0x7F800000):
        m = np.int32(0x7FC00000)
    return i32_as_f32(m)
