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

`mma_dots_fast` (the registered variant `"mma.fused.int"`) is the same arithmetic
rearranged for speed where the model allows it (`fast_applies`): int32 significand
planes, products and exponents formed branch-free (a zero element carries the
exponent `ZERO_E`, far below the model's `min_exp`, so it never sets the maximum
and its alignment shift saturates), scales looked up once per scale block (a zero
scale gets a zero element's exponent), and a block result whose leading bit lies
in the normal binades of an IEEE-like result format rounded in line (toward zero
or to nearest even) and fed back to the next block as its integer significand and
exponent; every other result goes through `round_pack`, and blocks holding a NaN
or an infinity take `mma_dots`'s special-value rule. tests/test_variants.py proves
it equal to `mma_dots` on random and adversarial inputs.
"""

from __future__ import annotations

import math

import numpy as np

from . import params as P
from .accumulate import C_INF, C_NAN, C_NZERO, C_PZERO, ZERO_E, special_result
from .bits import clz64
from .encode import decompose
from .jit import jit
from .magnitude import beyond, is_magnitude, signed_value
from .round import round_pack
from .variants import register

__all__ = ["mma_dots", "mma_dots_fast", "mma_grid_fast", "two_stage_dots", "fast_applies"]


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
def _with_addend_rounded(acc, csig, cexp, cneg, base, p, mode, ovf_inf, plus_zero):
    """The block's window sum `acc` (units of 2**base) plus the addend's significand `csig` at
    `cexp` (truncated into the window), rounded; `plus_zero` turns a -0.0 result into +0.0."""
    if csig != 0:
        v = _shift(csig, cexp - base)
        acc += -v if cneg else v
    if acc == 0:
        return 0.0
    neg = acc < 0
    cv = _round_value(neg, -acc if neg else acc, base, p, mode, ovf_inf)
    if plus_zero:
        cv += 0.0  # -0.0 (a negative sum rounded to zero) becomes +0.0
    return cv


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
    return special_result(nan, pinf, ninf, cv)


@jit
def _group_sum(afix, arow, bfix, brow, g0, g1):
    """(exact sum of the products g0..g1 in units of 2**(emin_a + emin_b - man_a - man_b), any nonzero);
    `afix`/`bfix` hold the elements as integers in units of their format's smallest subnormal."""
    s = np.int64(0)
    orv = np.int64(0)
    for k in range(g0, g1):
        pm = afix[arow + k] * bfix[brow + k]
        orv |= pm
        s += pm
    return s, orv != 0


@jit
def mma_dots(am, aE, acls, bm, bE, bcls, afix, bfix, K, ia, ib, c, out, flags_a, flags_b, man_ab, emin_ab,
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
    fast = not scaled and G == 1 and man_ab <= 28  # products of the int32 copies below fit 31 bits
    Lsh = max(F - man_ab, 0)
    gsum = np.zeros(terms // G + 1, np.int64)
    glsb = np.zeros(terms // G + 1, np.int64)
    ebuf = np.zeros(terms, np.int64)
    pbuf = np.zeros(terms, np.int64)
    if fast:  # narrow copies: |m| < 2**26, exponents within int32 (ZERO_E = -2**30)
        am32 = am.astype(np.int32)
        bm32 = bm.astype(np.int32)
        aE32 = aE.astype(np.int32)
        bE32 = bE.astype(np.int32)
    else:
        am32 = bm32 = aE32 = bE32 = np.zeros(1, np.int32)
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
            if fast:
                # unscaled single products, branch-free: a zero element has the exponent ZERO_E, far
                # below min_exp, so it never sets the maximum and its shift r saturates at 63
                for k in range(k0, k1):
                    e = np.int64(aE32[arow + k]) + bE32[brow + k]
                    ebuf[k - k0] = e
                    pbuf[k - k0] = np.int64(am32[arow + k] * bm32[brow + k])
                    if e > Mx:
                        Mx = e
                base = Mx - F
                r0 = Lsh + man_ab + base
                acc = np.int64(0)
                for i in range(k1 - k0):
                    pm = pbuf[i]
                    sg = pm >> 63
                    mag = (pm ^ sg) - sg
                    r = min(r0 - ebuf[i], 63)
                    v = (mag << Lsh) >> r
                    acc += (v ^ sg) - sg
                cv = _with_addend_rounded(acc, csig, cexp, cneg, base, p, mode, ovf_inf, plus_zero)
                continue
            # one pass: each term (a product, or a group's exact sum) times its scales, its exponent
            ng = 0
            for g0 in range(k0, k1, G):
                sm = np.int64(1)
                es = 0
                if scaled:
                    j = g0 // scale_block
                    sm = sam[srow_a + j] * sbm[srow_b + j]
                    es = saE[srow_a + j] + sbE[srow_b + j]
                if G == 1:
                    pm = am[arow + g0] * bm[brow + g0]
                    nz = pm != 0
                    e = aE[arow + g0] + bE[brow + g0] + es
                else:
                    pm, nz = _group_sum(afix, arow, bfix, brow, g0, min(g0 + G, k1))
                    e = es + emin_ab
                # zero terms (a zero product, an all-zero group, a zero scale) leave the maximum alone
                if nz and sm != 0 and e > Mx:
                    Mx = e
                gsum[ng] = pm * sm
                glsb[ng] = e - man_ab - man_s
                ng += 1
            base = Mx - F  # exponent of the window's last kept bit
            acc = np.int64(0)
            for gi in range(ng):
                pm = gsum[gi]
                if pm == 0:
                    continue
                neg = pm < 0
                v = _shift(-pm if neg else pm, glsb[gi] - base)
                acc += -v if neg else v
            cv = _with_addend_rounded(acc, csig, cexp, cneg, base, p, mode, ovf_inf, plus_zero)
        out[t] = cv


@jit
def _ceil_shift(mag, sh):
    """ceil(mag * 2**-sh) for mag >= 0, sh >= 0."""
    if sh == 0:
        return mag
    if sh >= 63:
        return np.int64(1) if mag != 0 else np.int64(0)
    return (mag + (np.int64(1) << sh) - 1) >> sh


@jit
def _floor_signed(v, sh):
    """floor(v * 2**sh) of a signed integer (a left shift when sh >= 0)."""
    if sh >= 0:
        return v << sh
    return v >> min(-sh, 63)


@jit
def two_stage_dots(am, aE, acls, bm, bE, bcls, K, ia, ib, c, out, flags_a, flags_b, man_ab, terms, lanes, F, F2,
                   drop_small_c, c_emin, ovf_exp, p, mode):
    """out[t] = chain of two-stage blocks (the CDNA3 MFMA datapath as MMA-Sim 2.1.1 models it).

    Per block: the products of each lane (lanes=2: even and odd positions) are truncated to F
    fraction bits below the lane's largest exponent and summed; lanes are combined rounding toward
    -inf to F bits below the larger lane exponent. With Mx = max(that exponent, c's exponent
    clamped at c_emin), the product sum is rounded toward -inf to F2 + 1 fraction bits below Mx,
    c to F bits (dropped when its exponent is below Mx - F - 1 and `drop_small_c`); the sum is
    rounded toward -inf to F2 fraction bits below its own leading bit (clamped at c_emin), then
    to the result format with `mode`. Products >= 2**ovf_exp are infinities.
    """
    NOEXP = -(1 << 40)
    for t in range(out.size):
        arow = ia[t] * K
        brow = ib[t] * K
        cv = c[t]
        for k0 in range(0, K, terms):
            k1 = min(k0 + terms, K)
            # the NaN / infinity rule, overflowing products counting as infinities
            nan = False
            pinf = False
            ninf = False
            for k in range(k0, k1):
                ca = acls[arow + k]
                cb = bcls[brow + k]
                neg = (am[arow + k] < 0) != (bm[brow + k] < 0)
                if ca == C_NAN or cb == C_NAN:
                    nan = True
                elif ca == C_INF or cb == C_INF:
                    if ca == C_PZERO or ca == C_NZERO or cb == C_PZERO or cb == C_NZERO:
                        nan = True
                    elif neg:
                        ninf = True
                    else:
                        pinf = True
                else:
                    pm = am[arow + k] * bm[brow + k]
                    if pm != 0:
                        mag = -pm if pm < 0 else pm
                        if aE[arow + k] + bE[brow + k] - man_ab + 63 - clz64(mag) >= ovf_exp:
                            if pm < 0:
                                ninf = True
                            else:
                                pinf = True
            if not np.isfinite(cv) and drop_small_c and not (nan or pinf or ninf):
                # MMA-Sim gives a NaN or infinite c the exponent -1 (frexp's), and drops it like any
                # c below Mx - F - 1: the products' largest exponent above F decides
                e_top = NOEXP
                for k in range(k0, k1):
                    if am[arow + k] * bm[brow + k] != 0:
                        e_top = max(e_top, aE[arow + k] + bE[brow + k])
                if -1 < e_top - F - 1:
                    cv = 0.0
            if np.isnan(cv):
                nan = True
            elif np.isinf(cv):
                if cv > 0:
                    pinf = True
                else:
                    ninf = True
            if nan or (pinf and ninf):
                cv = np.nan
                continue
            if pinf or ninf:
                cv = np.inf if pinf else -np.inf
                continue
            # stage 1: lane sums
            e_dot = NOEXP
            S = np.int64(0)
            e_l0 = NOEXP
            S_l0 = np.int64(0)
            for lane in range(lanes):
                e_l = NOEXP
                for k in range(k0 + lane, k1, lanes):
                    if am[arow + k] * bm[brow + k] != 0:
                        e_l = max(e_l, aE[arow + k] + bE[brow + k])
                S_l = np.int64(0)
                if e_l != NOEXP:
                    for k in range(k0 + lane, k1, lanes):
                        pm = am[arow + k] * bm[brow + k]
                        if pm == 0:
                            continue
                        neg = pm < 0
                        v = _shift(-pm if neg else pm, aE[arow + k] + bE[brow + k] - man_ab - (e_l - F))
                        S_l += -v if neg else v
                if lane == 0:
                    e_l0 = e_l
                    S_l0 = S_l
                else:  # combine two lanes toward -inf at F bits below the larger exponent
                    e_dot = max(e_l0, e_l)
                    S = np.int64(0)
                    if e_l0 != NOEXP:
                        S += _floor_signed(S_l0, e_l0 - e_dot)
                    if e_l != NOEXP:
                        S += _floor_signed(S_l, e_l - e_dot)
            if lanes == 1:
                e_dot = e_l0
                S = S_l0
            # stage 2: with c
            cneg = False
            csig = np.int64(0)
            cexp = np.int64(0)
            e_c = c_emin
            if cv != 0.0:
                _cc, cneg, csig, cexp = decompose(cv)
                e_c = max(cexp + 63 - clz64(csig), c_emin)
            Mx = max(e_dot, e_c)
            unit = Mx - F2 - 1  # exponent of the sum's last bit
            V = np.int64(0)
            if S != 0:
                V = _floor_signed(S, (e_dot - F) - unit)
            if csig != 0 and not (drop_small_c and e_c < Mx - F - 1):
                sh = cexp - (Mx - F)
                if sh >= 0:
                    cq = csig << sh
                elif cneg:
                    cq = _ceil_shift(csig, -sh)
                else:
                    cq = _shift(csig, sh)
                V += (-cq if cneg else cq) << (F2 + 1 - F)
            if V == 0:
                cv = 0.0
                continue
            neg = V < 0
            mag = -V if neg else V
            e_n = max(unit + 63 - clz64(mag), c_emin)
            sh = (e_n - F2) - unit
            if sh > 0:
                V = V >> min(sh, 63)  # toward -inf
                unit2 = e_n - F2
            else:
                unit2 = unit
            neg = V < 0
            cv = _round_value(neg, -V if neg else V, unit2, p, mode, True)
        out[t] = cv


_NOSCALE_E = 2 * ZERO_E  # exponent of a zero scale: its products never set the maximum


@jit
def _inline_round(acc, base, keep, emin, etop_max, rne):
    """(ok, |result| significand, exponent) of acc * 2**base rounded to `keep` significant bits
    toward zero (or to nearest even with `rne`), when its leading bit lies in [emin, etop_max];
    ok is False otherwise (the caller rounds with round_pack)."""
    neg = acc < 0
    mag = -acc if neg else acc
    n = 64 - clz64(mag)
    top = base + n - 1
    if top < emin or top > etop_max or n > 62:
        return False, mag, base
    if n > keep:
        sh = n - keep
        q = mag >> sh
        if rne:
            rem = mag - (q << sh)
            half = np.int64(1) << (sh - 1)
            if rem > half or (rem == half and (q & 1) == 1):
                q += 1
        return True, q, base + sh
    return True, mag, base


@jit
def mma_dots_fast(am, aE, acls, bm, bE, bcls, afix, bfix, K, ia, ib, c, out, flags_a, flags_b, man_ab, emin_ab,
                  scaled, sam, saE, scls, sbm, sbE, sbcls, nsb, scale_block, man_s,
                  terms, G, F, min_exp, c_emin0, c_emin, p, mode, ovf_inf, plus_zero):
    """`mma_dots` with `am`/`bm` as int32 planes and `afix`/`bfix` the groups' fixed-point
    elements (see `fast_planes`); same arguments, same results where `applies` holds."""
    Lsh = max(F - man_ab - man_s, 0)
    r_off = Lsh + man_ab + man_s - F  # shift of a term at exponent e: min(r_off + Mx - e, 63)
    keep = p.M + 1
    emin = p.EMIN
    etop_max = p.ECAP - 2
    rne = mode == P.NEAREST_EVEN
    sub = scale_block if scaled else terms  # elements sharing one scale pair
    nbuf = terms if G == 1 else terms // G + 1
    ebuf = np.zeros(nbuf, np.int64)
    pbuf = np.zeros(nbuf, np.int64)
    for t in range(out.size):
        arow = ia[t] * K
        brow = ib[t] * K
        srow_a = ia[t] * nsb
        srow_b = ib[t] * nsb
        check = flags_a[ia[t]] or flags_b[ib[t]]
        cv = c[t]
        cneg = False
        csig = np.int64(0)
        cexp = np.int64(0)
        if cv != 0.0 and np.isfinite(cv):
            _cc, cneg, csig, cexp = decompose(cv)
        for k0 in range(0, K, terms):
            k1 = min(k0 + terms, K)
            if check or not np.isfinite(cv):
                sp, val = _block_special(acls, am, arow, bcls, bm, brow, k0, k1, scaled, scls, sam, srow_a,
                                         sbcls, sbm, srow_b, scale_block, cv)
                if sp:
                    cv = val
                    continue
            Mx = min_exp
            if csig != 0:
                Mx = max(Mx, max(cexp + 63 - clz64(csig), c_emin0 if k0 == 0 else c_emin))
            nt = 0
            for s0 in range(k0, k1, sub):
                s1 = min(s0 + sub, k1)
                sm = np.int64(1)
                es = np.int64(0)
                if scaled:
                    j = s0 // scale_block
                    sm = np.int64(sam[srow_a + j]) * sbm[srow_b + j]
                    es = saE[srow_a + j] + sbE[srow_b + j]
                    if sm == 0:
                        es = _NOSCALE_E
                if G == 1:
                    for k in range(s0, s1):
                        e = aE[arow + k] + bE[brow + k] + es
                        ebuf[nt] = e
                        pbuf[nt] = np.int64(am[arow + k] * bm[brow + k]) * sm
                        nt += 1
                        if e > Mx:
                            Mx = e
                else:
                    for g0 in range(s0, s1, G):
                        s = np.int64(0)
                        orv = np.int64(0)
                        for k in range(g0, min(g0 + G, s1)):
                            pm = afix[arow + k] * bfix[brow + k]
                            orv |= pm
                            s += pm
                        e = es + emin_ab if orv != 0 else _NOSCALE_E
                        ebuf[nt] = e
                        pbuf[nt] = s * sm
                        nt += 1
                        if e > Mx:
                            Mx = e
            r0 = r_off + Mx
            acc = np.int64(0)
            for i in range(nt):
                pm = pbuf[i]
                sg = pm >> 63
                mag = (pm ^ sg) - sg
                v = (mag << Lsh) >> min(r0 - ebuf[i], 63)
                acc += (v ^ sg) - sg
            base = Mx - F
            if csig != 0:
                v = _shift(csig, cexp - base)
                acc += -v if cneg else v
            if acc == 0:
                cv = 0.0
                csig = np.int64(0)
                continue
            ok, sig, ex = _inline_round(acc, base, keep, emin, etop_max, rne)
            cneg = acc < 0
            if ok:
                csig = sig
                cexp = ex
                cv = math.ldexp(np.float64(sig), ex)
                if cneg:
                    cv = -cv
                continue
            cv = _round_value(cneg, sig, base, p, mode, ovf_inf)
            if plus_zero:
                cv += 0.0
            if cv != 0.0 and np.isfinite(cv):
                _cc, cneg, csig, cexp = decompose(cv)
            else:
                csig = np.int64(0)
        out[t] = cv


def fast_applies(man_ab, man_s, F, G, fix_bits, min_exp, terms, scaled, scale_block, p, mode) -> bool:
    """Whether `mma_dots_fast` gives `mma_dots`'s results: narrow products (int32 significand
    products; a term shifted left by F - man_ab - man_s stays below 2**62), an exact group sum
    (`fix_bits`: bits of the largest fixed-point product plus the bits of G) that fits likewise,
    groups and scale blocks that tile the block of `terms` products, a `min_exp` far above a zero
    element's exponent, and a result format that is a sign-magnitude float with zero, subnormals
    and infinities (every value of M + 1 significant bits between 2**EMIN and 2**(ECAP - 1)
    exists), rounded toward zero or to nearest even."""
    if man_ab > 28 or min_exp is None or min_exp < -(1 << 24):
        return False
    if terms % G or (scaled and (terms % scale_block or scale_block % G)):
        return False
    Lsh = max(F - man_ab - man_s, 0)
    top = (man_ab + 2 if G == 1 else fix_bits) + man_s + 2
    if top + Lsh > 61:
        return False
    return (p.KIND == 0 and p.SIGNBIT != 0 and p.OFF == 0 and p.FTZ == 0 and p.INF >= 0 and p.HASZERO != 0
            and p.M <= 52 and mode in (P.NEAREST_EVEN, P.TOWARD_ZERO))


register(
    "mma.fused.int", "mma", mma_dots_fast, fast_applies,
    "instruction chains (mma_dots) with products of at most 28 significand bits, scaled or grouped "
    "terms within 61 bits after alignment, a min_exp set, IEEE-like result formats (binary32, "
    "binary16, their result_bits narrowings), toward_zero or nearest_even",
)


@jit
def mma_grid_fast(am, aE, bm, bE, afix, bfix, K, S, c, out, skip, redo, man_ab, emin_ab,
                  scaled, sam, saE, sbm, sbE, nsb, scale_block, man_s,
                  terms, G, F, min_exp, c_emin0, c_emin, p, mode, ovf_inf, plus_zero, i0, i1):
    """`mma_dots_fast` over the whole grid rows i0..i1 of A times the S columns of B, each inner loop
    running over the S columns (contiguous, so the compiler vectorizes it).

    A planes `am` (int32), `aE`, `afix` and its scales `sam`/`saE` are flat row-major (K, resp. nsb,
    per row); B planes `bm` (int32), `bE`, `bfix` are 2-D (K, S) and its scales `sbm`/`sbE` (nsb, S);
    `c`, `out`, `skip` and `redo` are 2-D (rows, S) (2-D indexing keeps the inner loops free of
    negative-index handling, which would turn their loads into gathers). Outputs with `skip` set (a row
    or column holding a NaN or an infinity, a non-finite addend) are left to the caller, and so are
    those whose chain meets a non-finite block result: `redo` marks both.
    """
    Lsh = max(F - man_ab - man_s, 0)
    r_off = Lsh + man_ab + man_s - F
    keep = p.M + 1
    emin = p.EMIN
    etop_max = p.ECAP - 2
    rne = mode == P.NEAREST_EVEN
    sub = scale_block if scaled else terms
    nsub = max(terms // sub, 1)
    ng = max(terms // G, 1)
    Mx = np.empty(S, np.int64)
    acc = np.empty(S, np.int64)
    csig = np.empty(S, np.int64)
    cexp = np.empty(S, np.int64)
    cneg = np.empty(S, np.bool_)
    zneg = np.empty(S, np.bool_)
    fbk = np.empty(S, np.bool_)
    dead = np.empty(S, np.bool_)
    smb = np.ones((nsub, S), np.int64)
    esb = np.zeros((nsub, S), np.int64)
    gs = np.empty(S, np.int64)
    gor = np.empty(S, np.int64)
    gb = np.empty((ng if G > 1 else 1, S), np.int64)
    ge = np.empty((ng if G > 1 else 1, S), np.int64)
    for i in range(i0, i1):
        arow = i * K
        for j in range(S):
            cval = c[i, j]
            dead[j] = skip[i, j]
            csig[j] = 0
            cexp[j] = 0
            cneg[j] = False
            zneg[j] = cval == 0.0 and np.signbit(cval)
            if cval != 0.0 and np.isfinite(cval):
                _cc, ng_, sg_, ex_ = decompose(cval)
                cneg[j] = ng_
                csig[j] = sg_
                cexp[j] = ex_
        for k0 in range(0, K, terms):
            k1 = min(k0 + terms, K)
            ce = c_emin0 if k0 == 0 else c_emin
            for j in range(S):
                m = min_exp
                if csig[j] != 0:
                    m = max(m, max(cexp[j] + 63 - clz64(csig[j]), ce))
                Mx[j] = m
                acc[j] = 0
            # pass 1: the scales of each scale block, the block's largest exponent (groups: their sums)
            q = 0
            gi = 0
            for s0 in range(k0, k1, sub):
                s1 = min(s0 + sub, k1)
                if scaled:
                    jb = s0 // scale_block
                    sa_m = np.int64(sam[i * nsb + jb])
                    sa_e = saE[i * nsb + jb]
                    for j in range(S):
                        smv = sa_m * sbm[jb, j]
                        smb[q, j] = smv
                        esb[q, j] = sa_e + sbE[jb, j] if smv != 0 else _NOSCALE_E
                if G == 1 and scaled:  # the largest Ea + Eb of the scale block, then its scale exponent
                    for j in range(S):
                        gs[j] = _NOSCALE_E
                    for k in range(s0, s1):
                        if am[arow + k] == 0:
                            continue
                        ea = aE[arow + k]
                        for j in range(S):
                            gs[j] = max(gs[j], ea + bE[k, j])
                    for j in range(S):
                        Mx[j] = max(Mx[j], gs[j] + esb[q, j])
                elif G == 1:
                    for k in range(s0, s1):
                        if am[arow + k] == 0:
                            continue
                        ea = aE[arow + k]
                        for j in range(S):
                            Mx[j] = max(Mx[j], ea + bE[k, j])
                else:
                    for g0 in range(s0, s1, G):
                        for j in range(S):
                            gs[j] = 0
                            gor[j] = 0
                        for k in range(g0, min(g0 + G, s1)):
                            fa = np.int64(afix[arow + k])
                            if fa == 0:
                                continue
                            for j in range(S):
                                pm = fa * bfix[k, j]
                                gs[j] += pm
                                gor[j] |= pm
                        for j in range(S):
                            eg = esb[q, j] + emin_ab if gor[j] != 0 else _NOSCALE_E
                            gb[gi, j] = gs[j] * smb[q, j]
                            ge[gi, j] = eg
                            Mx[j] = max(Mx[j], eg)
                        gi += 1
                q += 1
            # pass 2: every term aligned to its output's window and summed
            q = 0
            for s0 in range(k0, k1, sub):
                s1 = min(s0 + sub, k1)
                if G == 1 and scaled:  # the shift of a product at Ea + Eb: min(gor - Ea - Eb, 63)
                    for j in range(S):
                        gor[j] = r_off + Mx[j] - esb[q, j]
                if G == 1:
                    for k in range(s0, s1):
                        pa = np.int64(am[arow + k])
                        if pa == 0:
                            continue
                        ea = aE[arow + k]
                        if scaled and man_s == 0:  # scale significands 1 (or 0: the exponent of a zero
                            # scale saturates the shift, so the product need not be multiplied by it)
                            for j in range(S):
                                pm = pa * bm[k, j]
                                sg = pm >> 63
                                mag = (pm ^ sg) - sg
                                v = (mag << Lsh) >> min(gor[j] - ea - bE[k, j], 63)
                                acc[j] += (v ^ sg) - sg
                        elif scaled:
                            for j in range(S):
                                pm = pa * bm[k, j] * smb[q, j]
                                sg = pm >> 63
                                mag = (pm ^ sg) - sg
                                v = (mag << Lsh) >> min(gor[j] - ea - bE[k, j], 63)
                                acc[j] += (v ^ sg) - sg
                        else:
                            ro = r_off - ea
                            for j in range(S):
                                pm = pa * bm[k, j]
                                sg = pm >> 63
                                mag = (pm ^ sg) - sg
                                v = (mag << Lsh) >> min(ro + Mx[j] - bE[k, j], 63)
                                acc[j] += (v ^ sg) - sg
                q += 1
            if G > 1:
                for g in range(gi):
                    for j in range(S):
                        pm = gb[g, j]
                        sg = pm >> 63
                        mag = (pm ^ sg) - sg
                        v = (mag << Lsh) >> min(r_off + Mx[j] - ge[g, j], 63)
                        acc[j] += (v ^ sg) - sg
            # each output's block result, rounded, becomes its next c: in line (a loop the compiler
            # vectorizes) where its leading bit lies in the normal binades, else through round_pack
            nfb = 0
            for j in range(S):
                base = Mx[j] - F
                d = cexp[j] - base
                cs = (csig[j] << min(max(d, 0), 62)) >> min(max(-d, 0), 63)
                a = acc[j] + (-cs if cneg[j] else cs)
                neg = a < 0
                mag = -a if neg else a
                n = 64 - clz64(mag)
                sh = max(n - keep, 0)
                q = mag >> sh
                if rne:
                    rem = mag - (q << sh)
                    half = (np.int64(1) << sh) >> 1
                    if sh > 0 and (rem > half or (rem == half and (q & 1) == 1)):
                        q += 1
                top = base + n - 1
                ok = mag == 0 or (top >= emin and top <= etop_max and n <= 62)
                fbk[j] = not ok
                nfb += 0 if ok else 1
                acc[j] = a
                if ok:
                    csig[j] = q
                    cexp[j] = base + sh
                    cneg[j] = neg
                    zneg[j] = False
            if nfb:
                for j in range(S):
                    if not fbk[j] or dead[j]:
                        continue
                    a = acc[j]
                    neg = a < 0
                    r = _round_value(neg, -a if neg else a, Mx[j] - F, p, mode, ovf_inf)
                    if plus_zero:
                        r += 0.0
                    if not np.isfinite(r):
                        dead[j] = True
                    elif r != 0.0:
                        _cc, ng_, sg_, ex_ = decompose(r)
                        cneg[j] = ng_
                        csig[j] = sg_
                        cexp[j] = ex_
                        zneg[j] = False
                    else:
                        csig[j] = 0
                        zneg[j] = np.signbit(r)
        for j in range(S):
            if csig[j] == 0:
                r = -0.0 if zneg[j] else 0.0
            else:
                r = math.ldexp(np.float64(csig[j]), cexp[j])
                if cneg[j]:
                    r = -r
            out[i, j] = r
            redo[i, j] = dead[j]


register(
    "mma.grid.int", "mma_grid", mma_grid_fast, fast_applies,
    "the instruction chains of mma.fused.int over a whole matmul tile (every row of A with every "
    "column of B), vectorized over the columns; same coverage as mma.fused.int",
)
