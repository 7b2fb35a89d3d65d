"""Lane primitives shared by the vectorised loops (encode, block, arithmetic).

Each step is written once, in `_lane_steps`, and generated for two lane widths:
int32/float32 (`magic_round`, `pack_code`, `overflow_select`, `round_to_odd`,
used by the float32 loops) and int64/float64 (the same names with `64`, used by the
float64-image arithmetic loops). Every intermediate is cast back to the lane's integer
type so that LLVM keeps the full SIMD width (numba would widen int32 to int64), and
shift amounts are masked to the lane width: it tells LLVM the shift is in range, so a
runtime shift costs no guard per element.
"""

from __future__ import annotations

import numpy as np

from . import params as P
from .bits import f32_as_i32, f64_as_i64, i32_as_f32, i64_as_f64
from .jit import jit

__all__ = [
    "magic_round", "pack_code", "overflow_select", "round_to_odd", "directed_step",
    "magic_round64", "pack_code64", "overflow_select64", "round_to_odd64",
]


def _lane_steps(t, frac, as_int, as_float):
    """The lane steps for integer type `t`, its float of `frac` fraction bits and their bit casts."""
    width = t(np.dtype(t).itemsize * 8)
    wm = t(width - 1)

    def magic_round(ax, m, emin_b, cap_b):
        """|x| (float bits `ax`) rounded to nearest-even on the grid of `m` trailing bits by one float add.

        The binade is clamped to [`emin_b`, `cap_b`] (biased); the magic number
        2**(Eq + frac - M) has the target quantum as its ulp, so the adder rounds. Returns
        the magnitude code (it may carry into the next binade), |x|, the magic number and
        |x| + magic (all floats but the code); see the notes of `numfmt._kernels.fast`.
        """
        eq = t(min(max(t(ax >> t(frac)), emin_b), cap_b))
        magic = t(t(t(eq + t(frac)) - m) << t(frac))
        mf = as_float(magic)
        xf = as_float(ax)
        s = xf + mf
        return t(t(t(eq - emin_b) << t(m & wm)) + t(as_int(s) - magic)), xf, mf, s

    def pack_code(mag, negm, nz, signbit, maxmag, ovf):
        """Code of a rounded magnitude: `ovf` past max, else the sign OR-ed in through the mask
        `negm` (all ones for negatives), kept on a zero only where `nz` says the format has -0."""
        keep = t(nz | -t(mag != t(0)))
        return ovf if mag > maxmag else t(mag | t(signbit & t(negm & keep)))

    def overflow_select(away, negm, ovf_p, dov, tz_p, dtz):
        """The code past max: the overflow code when rounded away (mask `away` all ones), else the
        truncated one (the IEEE 754 rule for the direction actually taken); `dov`/`dtz` XOR the
        positive codes into the negative ones."""
        return t(t(t(ovf_p ^ t(dov & negm)) & away) | t(t(tz_p ^ t(dtz & negm)) & ~away))

    def round_to_odd(xb, err):
        """Bits of the round-to-odd result from `xb`, the bits of the nearest-even one, and an error
        term with the sign of exact - nearest (zero iff exact; NaN leaves `xb` as it is): an inexact
        result with an even last bit moves one ulp toward the exact value."""
        zero = as_float(t(0))
        step = t(t(t(as_int(err) ^ xb) >> wm) | t(1))  # +1: |exact| > |nearest|
        fix = ((err > zero) | (err < zero)) & ((xb & t(1)) == t(0))
        return t(xb + (step if fix else t(0)))

    suffix = "" if t is np.int32 else "64"
    steps = []
    for fn in (magic_round, pack_code, overflow_select, round_to_odd):
        fn.__name__ = fn.__qualname__ = fn.__name__ + suffix  # (one numba cache entry per lane type)
        steps.append(jit(fn))
    return steps


magic_round, pack_code, overflow_select, round_to_odd = _lane_steps(np.int32, 23, f32_as_i32, i32_as_f32)
magic_round64, pack_code64, overflow_select64, round_to_odd64 = _lane_steps(np.int64, 52, f64_as_i64, i64_as_f64)


@jit
def directed_step(n, up, down, tie_down, negm, mode):
    """The code of a directed or nearest-away mode from `n`, the nearest-even one (int32 lanes).

    `up`/`down` (0 or 1): the nearest-even step rounded |x| up / down; `tie_down`: |x| was a
    tie rounded down; `negm` all ones for negative x. to_odd takes the odd neighbour when
    inexact; nearest_even keeps `n`.
    """
    pos = np.int32(~negm & np.int32(1))
    neg1 = np.int32(negm & np.int32(1))
    if mode == P.TOWARD_ZERO:
        return np.int32(n - up)
    if mode == P.TOWARD_POSITIVE:
        return np.int32(n + np.int32(down & pos) - np.int32(up & neg1))
    if mode == P.TOWARD_NEGATIVE:
        return np.int32(n + np.int32(down & neg1) - np.int32(up & pos))
    if mode == P.NEAREST_AWAY:
        return np.int32(n + tie_down)
    if mode == P.TO_ODD:
        return np.int32(np.int32(n - up) | np.int32(up | down))
    return n
