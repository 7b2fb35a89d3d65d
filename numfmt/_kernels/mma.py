"""Matrix-instruction kernel: chains of fused blocks with optional block scales and groups.

Inputs are split as in `numfmt._kernels.accumulate` (`x = m * 2**(E - man)`,
`E` clamped at the format's emin). Scales are split the same way, one per
`scale_block` elements of K. One instruction step (a block of `terms` products,
MMA-Sim's fused dot-product-add with F kept fraction bits) is:

    group_size 1:  term_k = a_k * b_k * sa * sb,  exponent Ea + Eb + Esa + Esb
    group_size G:  term_g = (sum of G products, exact) * sa * sb,
                   exponent Esa + Esb + emin_a + emin_b (the group sum is not normalised)
    zero terms (a zero product, an all-zero group, a zero scale) take no part in the maximum
    Mx = max(exponents of the other terms, exponent of c (clamped at c_emin), min_exp)
    acc = sum of trunc(|term| * 2**(F - Mx)) with the terms' signs      (exact, int64)
    d = round_pack(acc * 2**(Mx - F)) in the block's result format (plus_zero: -0 becomes +0)

`d` becomes `c` of the next block. A block with a NaN (input, scale or c),
inf * 0, or infinities of both signs gives NaN; else one with an infinity gives
that infinity.
"""

from __future__ import annotations

import numpy as np

from . import params as P
from .accumulate import C_INF, C_NAN, C_NZERO, C_PZERO
from .bits import clz64
from .encode import decompose
from .jit import jit
from .magnitude import beyond, is_magnitude, signed_value
from .round import round_pack

__all__ = ["mma_dots"]


@jit
def _round_value(neg, sig, exp, p, mode, ovf_inf):
    """round_pack of the finite nonzero (-1)**neg * sig * 2**exp as a float64 value; with `ovf_inf`
    a value >= 2**(emax+1) is an infinity whatever the rounding (as the instructions' outputs)."""
    if ovf_inf and exp + 63 - clz64(sig) >= p.ECAP:
        return signed_value(neg, round_pack(P.INFINITE, neg, sig, exp, p, mode, P.SAT_NONE, 0, 0), p)
    if is_magnitude(p):
        sig, exp = beyond(P.FINITE, sig, exp, p.ECAP)
    return signed_value(neg, round_pack(P.FINITE, neg, sig, exp, p, mode, P.SAT_NONE, 0, 0), p)


@jit
def _shift(mag, sh):
    """`mag * 2**sh` truncated toward zero (mag >= 0)."""
    if sh >= 0:
        return mag << sh
    if sh > -63:
        return mag >> (-sh)
    return np.int64(0)


@jit
def _block_special(acls, am, arow, bcls, bm, brow, k0, k1, scaled, scls, sam, srow_a, sbcls, sbm, srow_b,
                   scale_block, cv):
    """(is_special, value) of one block: the NaN/infinity rule over its products and c."""
    nan = False
    pinf = False
    ninf = False
    for k in range(k0, k1):
        ca = acls[arow + k]
        cb = bcls[brow + k]
        zero_scale = False
        if scaled:
            j = k // scale_block
            csa = scls[srow_a + j]
            csb = sbcls[srow_b + j]
            if csa == C_NAN or csb == C_NAN:
                nan = True
                continue
            zero_scale = csa == C_PZERO or csa == C_NZERO or csb == C_PZERO or csb == C_NZERO
        if ca == C_NAN or cb == C_NAN:
            nan = True
        elif ca == C_INF or cb == C_INF:
            if zero_scale or ca == C_PZERO or ca == C_NZERO or cb == C_PZERO or cb == C_NZERO:
                nan = True
            elif (am[arow + k] < 0) != (bm[brow + k] < 0):
                ninf = True
            else:
                pinf = True
    if np.isnan(cv):
        nan = True
    elif np.isinf(cv):
        if cv > 0:
            pinf = True
        else:
            ninf = True
    if nan or (pinf and ninf):
        return True, np.nan
    if pinf:
        return True, np.inf
    if ninf:
        return True, -np.inf
    return False, 0.0


@jit
def _group_sum(am, aE, arow, bm, bE, brow, g0, g1, emin_ab):
    """(exact sum of the products g0..g1 in units of 2**(emin_a + emin_b - man_a - man_b), any nonzero)."""
    s = np.int64(0)
    nz = False
    for k in range(g0, g1):
        pm = am[arow + k] * bm[brow + k]
        if pm != 0:
            nz = True
            s += pm << (aE[arow + k] + bE[brow + k] - emin_ab)
    return s, nz


@jit
def mma_dots(am, aE, acls, bm, bE, bcls, K, ia, ib, c, out, flags_a, flags_b, man_ab, emin_ab,
             scaled, sam, saE, scls, sbm, sbE, sbcls, nsb, scale_block, man_s,
             terms, G, F, min_exp, c_emin0, c_emin, p, mode, ovf_inf, plus_zero):
    """out[t] = instruction chain of row ia[t] of A with row ib[t] of B^T, addend c[t].

    A, B^T flattened row-major (stride K); the scales of A row r are
    `sam/saE/scls[r * nsb : (r + 1) * nsb]`, those of B^T row s likewise (one per
    `scale_block` elements of K). `flags_a/flags_b` mark rows holding a NaN or an
    infinity (and, when scaled, rows whose scales hold a NaN). The addend's exponent is
    clamped at `c_emin0` (its own format's emin) in the first block, at `c_emin` (the
    result format's) in the blocks after it, whose c is the previous block's result.
    """
    for t in range(out.size):
        arow = ia[t] * K
        brow = ib[t] * K
        srow_a = ia[t] * nsb
        srow_b = ib[t] * nsb
        check = flags_a[ia[t]] or flags_b[ib[t]]
        cv = c[t]
        for k0 in range(0, K, terms):
            k1 = min(k0 + terms, K)
            if check or not np.isfinite(cv):
                sp, val = _block_special(acls, am, arow, bcls, bm, brow, k0, k1, scaled, scls, sam, srow_a,
                                         sbcls, sbm, srow_b, scale_block, cv)
                if sp:
                    cv = val
                    continue
            # the block's largest exponent
            Mx = min_exp
            cneg = False
            csig = np.int64(0)
            cexp = np.int64(0)
            if cv != 0.0:
                _cc, cneg, csig, cexp = decompose(cv)
                Mx = max(Mx, max(cexp + 63 - clz64(csig), c_emin0 if k0 == 0 else c_emin))
            for g0 in range(k0, k1, G):
                es = 0
                if scaled:
                    j = g0 // scale_block
                    if sam[srow_a + j] == 0 or sbm[srow_b + j] == 0:
                        continue
                    es = saE[srow_a + j] + sbE[srow_b + j]
                if G == 1:
                    if am[arow + g0] * bm[brow + g0] == 0:
                        continue
                    e = aE[arow + g0] + bE[brow + g0] + es
                else:
                    _s, nz = _group_sum(am, aE, arow, bm, bE, brow, g0, min(g0 + G, k1), emin_ab)
                    if not nz:
                        continue
                    e = es + emin_ab
                if e > Mx:
                    Mx = e
            base = Mx - F  # exponent of the window's last kept bit
            acc = np.int64(0)
            for g0 in range(k0, k1, G):
                sm = np.int64(1)
                es = 0
                if scaled:
                    j = g0 // scale_block
                    sm = sam[srow_a + j] * sbm[srow_b + j]
                    if sm == 0:
                        continue
                    es = saE[srow_a + j] + sbE[srow_b + j]
                if G == 1:
                    pm = am[arow + g0] * bm[brow + g0]
                    lsb = aE[arow + g0] + bE[brow + g0] + es - man_ab - man_s
                else:
                    pm, _nz = _group_sum(am, aE, arow, bm, bE, brow, g0, min(g0 + G, k1), emin_ab)
                    lsb = es + emin_ab - man_ab - man_s
                if pm == 0:
                    continue
                neg = pm < 0
                v = _shift((-pm if neg else pm) * sm, lsb - base)
                acc += -v if neg else v
            if csig != 0:
                v = _shift(csig, cexp - base)
                acc += -v if cneg else v
            if acc == 0:
                cv = 0.0
            else:
                neg = acc < 0
                cv = _round_value(neg, -acc if neg else acc, base, p, mode, ovf_inf)
                if plus_zero:
                    cv += 0.0  # -0.0 (a negative sum rounded to zero) becomes +0.0
        out[t] = cv
