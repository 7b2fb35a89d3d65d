"""Accumulation kernels: dot products as tensor cores and accumulators do them.

Every input element is split once into `(m, E)`: a signed integer
significand `m` (hidden bit included, `|m| < 2**(man+1)`) and the clamped
leading exponent `E = max(floor(log2|x|), emin)`, so `x = m * 2**(E - man)`.
A product is then exactly `(ma*mb) * 2**(Ea + Eb - man_a - man_b)`; its
*unnormalised* exponent is `Ea + Eb` (significand in [1, 4) or smaller for
subnormals), as in Khattak & Mikaitis and MMA-Sim.

Fused block (one tensor-core instruction step, `F` fraction bits):

    Mx = max(Ea+Eb over nonzero products, Ec if c is aligned, min_exp)
    term = trunc(|p| * 2**(F - Mx))            (integer, optional sticky bit)
    acc  = sum of signed terms                   (exact, int64)
    d    = round_pack(acc * 2**(Mx - F))         (the block's result format)

Everything that rounds goes through `numfmt._kernels.round.round_pack`;
the integer alignment (truncation) above is the modelled hardware datapath, not
a rounding routine.
"""

from __future__ import annotations

import numpy as np

from . import params as P
from .arith import add_finite, zero_sum_sign
from .bits import clz64
from .encode import decompose
from .jit import jit
from .magnitude import beyond, is_magnitude, signed_value
from .round import round_pack

__all__ = [
    "ZERO_E", "split_inputs", "fused_dots", "sequential_dots", "pairwise_dots", "exact_dots",
    "special_flags", "pairwise_parts", "pairwise_finish", "exact_parts", "exact_finish", "ftz_pair_chain",
    "sum2_round",
]

ZERO_E = -(1 << 30)  # leading exponent of a zero element: below any min_exp
# element classes
C_FINITE, C_PZERO, C_NZERO, C_INF, C_NAN = 0, 1, 2, 3, 4


@jit
def split_inputs(x, man, emin, ftz, m, E, cls):
    """Split the flat float64 array `x` into (m, E, cls); see module doc.

    Returns the index of the first element that is not representable with
    `man` fraction bits above `emin - man` (or -1 when all are).
    """
    bad = -1
    for i in range(x.size):
        c, neg, sig, exp = decompose(x[i])
        if c == P.NOTANUMBER:
            cls[i] = C_NAN
            m[i] = 0
            E[i] = ZERO_E
            continue
        if c == P.INFINITE:
            cls[i] = C_INF
            m[i] = -1 if neg else 1
            E[i] = ZERO_E
            continue
        top = exp + 63 - clz64(sig) if c == P.FINITE else ZERO_E
        if c == P.ZERO or (ftz and top < emin):
            cls[i] = C_NZERO if neg else C_PZERO
            m[i] = 0
            E[i] = ZERO_E
            continue
        e = max(top, emin)
        sh = exp - (e - man)
        if sh >= 0:
            v = sig << sh
        else:
            v = sig >> (-sh)
            if (v << (-sh)) != sig and bad < 0:
                bad = i
        cls[i] = C_FINITE
        m[i] = -v if neg else v
        E[i] = e
    return bad


@jit
def _special_flags(acls, am, arow, bcls, bm, brow, K):
    """(nan, pinf, ninf) of the K products of one row: a NaN (or inf * 0), a +inf, a -inf product."""
    nan = False
    pinf = False
    ninf = False
    for k in range(K):
        ca = acls[arow + k]
        cb = bcls[brow + k]
        if ca == C_NAN or cb == C_NAN:
            nan = True
        elif ca == C_INF or cb == C_INF:
            if ca == C_PZERO or ca == C_NZERO or cb == C_PZERO or cb == C_NZERO:
                nan = True
            elif (am[arow + k] < 0) != (bm[brow + k] < 0):
                ninf = True
            else:
                pinf = True
    return nan, pinf, ninf


@jit
def _special(acls, am, arow, bcls, bm, brow, K, cv):
    """IEEE/Khattak rule for a dot product with a NaN or an infinity.

    Any NaN (or inf * 0) gives NaN; +inf together with -inf gives NaN; else the
    infinity. Returns (is_special, value).
    """
    nan, pinf, ninf = _special_flags(acls, am, arow, bcls, bm, brow, K)
    return special_result(nan, pinf, ninf, cv)


@jit
def special_flags(acls, am, bcls, bm, K, ia, ib, flags_a, flags_b, nan, pinf, ninf):
    """OR each output t's product flags (`_special_flags` of row ia[t] of A with row ib[t] of B^T)
    into nan[t], pinf[t], ninf[t]: a dot product evaluated a piece of K at a time gathers the
    flags of the whole row, as one pass decides its special value over the whole row."""
    for t in range(ia.size):
        if flags_a[ia[t]] or flags_b[ib[t]]:
            n, p, q = _special_flags(acls, am, ia[t] * K, bcls, bm, ib[t] * K, K)
            nan[t] |= n
            pinf[t] |= p
            ninf[t] |= q


@jit
def special_result(nan, pinf, ninf, cv):
    """(is_special, value) once the products' NaN / +inf / -inf flags are known: the addend `cv`
    joins them, then any NaN or +inf with -inf gives NaN, else the infinity."""
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
def _dot_start(t, K, ia, ib, c, flags_a, flags_b, acls, am, bcls, bm):
    """(row offset in A, row offset in B^T, addend, is_special, value) of output `t`; the value
    is `_special`'s when a row flagged for NaN/inf or a non-finite addend decides the result."""
    arow = ia[t] * K
    brow = ib[t] * K
    cv = c[t]
    if flags_a[ia[t]] or flags_b[ib[t]] or not np.isfinite(cv):
        sp, val = _special(acls, am, arow, bcls, bm, brow, K, cv)
        return arow, brow, cv, sp, val
    return arow, brow, cv, False, 0.0


@jit
def _pack(neg, sig, exp, p, mode, ovf_inf):
    """round_pack of a finite nonzero intermediate, as its float64 value; `ovf_inf`
    sends values >= 2**(emax+1) to infinity whatever the rounding (tensor-core behaviour).

    binary64 results use magnitude params (`numfmt._kernels.magnitude.magnitude_params`:
    the funnel rounds the magnitude, `signed_value` puts the sign back). Every
    intermediate here is below 2**1026 (terms are float64 values or products of
    inputs of <= 25 fraction bits), so the magnitude code stays below 2**63;
    `beyond` guards it anyway.
    """
    zero = np.int64(0)  # (no random bits; an int64, not a literal 0: the funnel's common signature)
    if ovf_inf and exp + 63 - clz64(sig) >= p.ECAP:
        return signed_value(neg, round_pack(P.INFINITE, neg, sig, exp, p, mode, P.SAT_NONE, zero, zero), p)
    if is_magnitude(p):
        sig, exp = beyond(P.FINITE, sig, exp, p.ECAP)
    return signed_value(neg, round_pack(P.FINITE, neg, sig, exp, p, mode, P.SAT_NONE, zero, zero), p)


@jit
def _zero(neg):
    """The signed zero (`neg`: -0.0) of an exact zero sum; the sign is `zero_sum_sign`'s."""
    return -0.0 if neg else 0.0


@jit
def sum2_round(neg1, sig1, exp1, neg2, sig2, exp2, p, mode, ovf_inf):
    """Exact (-1)**neg1*sig1*2**exp1 + (-1)**neg2*sig2*2**exp2, rounded once.

    Both `sig` < 2**53 (zero allowed). Returns the float64 value of the code
    in `p` (IEEE sign of an exact zero: +0, -0 only when both are -0 terms
    or the mode is toward_negative; callers pass zero terms' signs). The sum is
    `numfmt._kernels.arith.add_finite` of the operands normalised to 53 bits.
    """
    if sig1 == 0 and sig2 == 0:
        return _zero(zero_sum_sign(neg1, neg2, mode))
    if sig2 == 0:
        return _pack(neg1, sig1, exp1, p, mode, ovf_inf)
    if sig1 == 0:
        return _pack(neg2, sig2, exp2, p, mode, ovf_inf)
    sh1 = clz64(sig1) - 11
    sh2 = clz64(sig2) - 11
    cls, neg, sig, exp = add_finite(neg1, sig1 << sh1, exp1 - sh1, neg2, sig2 << sh2, exp2 - sh2, mode)
    if cls == P.ZERO:
        return _zero(neg)
    return _pack(neg, sig, exp, p, mode, ovf_inf)


@jit
def _f64_term(v):
    """(neg, sig, exp) of a finite float64 (sig == 0 for zeros)."""
    _c, neg, sig, exp = decompose(v)
    return neg, sig, exp


# --------------------------------------------------------------------- fused

@jit
def _align(mag, sh, sticky):
    """`mag * 2**sh` truncated toward zero; with `sticky`, one more low bit set when bits were lost.

    The lost bits get a bit of their own below the truncated value (a hardware sticky bit), so
    this is not `bits.shift_right_jam`, which ORs them into the last kept bit."""
    if sh >= 0:
        v = mag << sh
        lost = np.int64(0)
    elif sh > -63:
        v = mag >> (-sh)
        lost = np.int64((v << (-sh)) != mag)
    else:
        v = np.int64(0)
        lost = np.int64(1)
    if sticky:
        v = (v << 1) | lost
    return v

@jit
def _fused_block(am, aE, arow, bm, bE, brow, k0, k1, cv, use_c, man_ab, F, sticky, normp, min_exp,
                 c_emin, p, mode, ovf_inf):
    """One fused block: returns the float64 value of the rounded block sum."""
    Mx = min_exp
    if normp:
        for k in range(k0, k1):
            pm = am[arow + k] * bm[brow + k]
            if pm != 0:
                mag = -pm if pm < 0 else pm
                e = aE[arow + k] + bE[brow + k] - man_ab + 63 - clz64(mag)
                if e > Mx:
                    Mx = e
    else:
        for k in range(k0, k1):
            e = aE[arow + k] + bE[brow + k]
            if e > Mx:
                Mx = e
    cneg = False
    csig = np.int64(0)
    cexp = np.int64(0)
    if use_c and cv != 0.0:
        cneg, csig, cexp = _f64_term(cv)
        ec = max(cexp + 63 - clz64(csig), c_emin)
        if ec > Mx:
            Mx = ec
    base = Mx - F  # exponent of the window's last kept bit
    acc = np.int64(0)
    fast = not sticky and not normp
    if fast:
        # fast path, branch-free: v = trunc(|p| * 2**(lsb - base)) as (|p| << L) >> r
        # (r >= 0 because an unnormalised exponent Ea+Eb <= Mx bounds |p| < 2**(man_ab+2))
        L = max(F - man_ab, 0)
        r0 = L + man_ab + base
        for k in range(k0, k1):
            pm = am[arow + k] * bm[brow + k]
            sg = pm >> 63
            mag = (pm ^ sg) - sg
            r = min(r0 - aE[arow + k] - bE[brow + k], 63)
            v = (mag << L) >> r
            acc += (v ^ sg) - sg
    for k in range(k0, k1):
        if fast:
            break
        pm = am[arow + k] * bm[brow + k]
        if pm == 0:
            continue
        v = _align(-pm if pm < 0 else pm, aE[arow + k] + bE[brow + k] - man_ab - base, sticky)
        acc += -v if pm < 0 else v
    if csig != 0:
        v = _align(csig, cexp - base, sticky)
        acc += -v if cneg else v
    if acc == 0:
        return 0.0
    neg = acc < 0
    return _pack(neg, -acc if neg else acc, base - (1 if sticky else 0), p, mode, ovf_inf)


def fused_dots(am, aE, acls, bm, bE, bcls, K, ia, ib, c, out, flags_a, flags_b, man_ab, terms, F,
               sticky, normp, min_exp, c_emin, late, p_blk, mode_blk, p_out, mode_late, ovf_inf):
    """out[t] = fused-block chain of row ia[t] of A with row ib[t] of B^T, addend c[t].

    `am`/`aE`/`acls` hold A flattened row-major (row stride K); same for B^T.

    Outputs whose row of A or B^T holds a NaN or an infinity, or whose addend is not finite, are
    special (IEEE/Khattak rule, `_special`): the chain skips them and `_special_rows` fills them
    afterwards, compiled only when there is one. The chain is `_fused_late` (each block rounded on
    its own, then added to the running sum: `late`) or `_fused_early` (the running sum is each
    block's addend); a call compiles only the one it runs.
    """
    ia = np.ascontiguousarray(ia, np.int64)
    ib = np.ascontiguousarray(ib, np.int64)
    skip = flags_a[ia] | flags_b[ib] | ~np.isfinite(c)
    run = _fused_late if late else _fused_early
    run(am, aE, bm, bE, K, ia, ib, c, out, skip, man_ab, terms, F, sticky, normp, min_exp, c_emin,
        p_blk, mode_blk, p_out, mode_late, ovf_inf)
    if skip.any():
        t = np.flatnonzero(skip)
        ok = _special_rows(t, K, ia, ib, c, out, acls, am, bcls, bm)
        assert ok, "a row flagged non-finite gave no special result"  # (a NaN or inf term always does)


@jit
def _special_rows(ts, K, ia, ib, c, out, acls, am, bcls, bm):
    """out[t] = `_special`'s value for each t of `ts`; False if one of them is not special."""
    ok = True
    for t in ts:
        sp, val = _special(acls, am, ia[t] * K, bcls, bm, ib[t] * K, K, c[t])
        ok = ok and sp
        out[t] = val
    return ok


@jit
def _fused_early(am, aE, bm, bE, K, ia, ib, c, out, skip, man_ab, terms, F, sticky, normp, min_exp, c_emin,
                 p_blk, mode_blk, p_out, mode_late, ovf_inf):
    """`fused_dots` with the running sum as each block's addend (`p_out`, `mode_late` unused)."""
    for t in range(out.size):
        if skip[t]:
            continue
        arow = ia[t] * K
        brow = ib[t] * K
        cv = c[t]
        for k0 in range(0, max(K, 1), terms):
            k1 = min(k0 + terms, K)
            if not np.isfinite(cv):
                break  # an overflow earlier in the chain stays
            cv = _fused_block(am, aE, arow, bm, bE, brow, k0, k1, cv, True, man_ab, F, sticky,
                              normp, min_exp, c_emin, p_blk, mode_blk, ovf_inf)
        out[t] = cv


@jit
def _fused_late(am, aE, bm, bE, K, ia, ib, c, out, skip, man_ab, terms, F, sticky, normp, min_exp, c_emin,
                p_blk, mode_blk, p_out, mode_late, ovf_inf):
    """`fused_dots` with each block rounded without the addend, then added to the running sum
    (rounded into `p_out` with `mode_late`)."""
    for t in range(out.size):
        if skip[t]:
            continue
        arow = ia[t] * K
        brow = ib[t] * K
        cv = c[t]
        for k0 in range(0, max(K, 1), terms):
            k1 = min(k0 + terms, K)
            if not np.isfinite(cv):
                break  # an overflow earlier in the chain stays
            s = _fused_block(am, aE, arow, bm, bE, brow, k0, k1, 0.0, False, man_ab, F, sticky,
                             normp, min_exp, c_emin, p_blk, mode_blk, ovf_inf)
            if np.isfinite(s):
                n1, s1, e1 = _f64_term(s)
                n2, s2, e2 = _f64_term(cv)
                cv = sum2_round(n1, s1, e1, n2, s2, e2, p_out, mode_late, ovf_inf)
            else:
                cv = s
        out[t] = cv


# ---------------------------------------------------------------- sequential
@jit
def _product_value(pm, lsb, pneg_zero, p_prod, mode_prod):
    """A product rounded into the product format, as float64."""
    if pm == 0:
        return _zero(pneg_zero)
    neg = pm < 0
    return _pack(neg, -pm if neg else pm, lsb, p_prod, mode_prod, False)


@jit
def _is_negzero_product(ca, cb, ma, mb):
    """Sign of a zero product a*b (IEEE: sign of a XOR sign of b)."""
    na = ca == C_NZERO or ma < 0
    nb = cb == C_NZERO or mb < 0
    return na != nb


@jit
def sequential_dots(am, aE, acls, av, bm, bE, bcls, bv, K, ia, ib, c, out, man_ab, fused,
                    p_prod, mode_prod, p_acc, mode_acc):
    """Recursive summation s = round(s + a_k*b_k), k = 0..K-1, starting at c.

    `fused`: one rounding per step (FMA); else the product is first rounded
    into `p_prod`. `av`/`bv` are the input values (for NaN/inf steps).
    """
    for t in range(out.size):
        arow = ia[t] * K
        brow = ib[t] * K
        s = c[t]
        for k in range(K):
            ca = acls[arow + k]
            cb = bcls[brow + k]
            if ca >= C_INF or cb >= C_INF:
                s = s + av[arow + k] * bv[brow + k]  # IEEE special rules
                continue
            ma = am[arow + k]
            mb = bm[brow + k]
            pm = ma * mb
            lsb = aE[arow + k] + bE[brow + k] - man_ab
            if not np.isfinite(s):  # inf/NaN + the product (rounded first when unfused: it may overflow)
                if fused:
                    s = s + av[arow + k] * bv[brow + k]
                else:
                    s = s + _product_value(pm, lsb, _is_negzero_product(ca, cb, ma, mb), p_prod, mode_prod)
                continue
            sn, ss, se = _f64_term(s)
            if fused:
                if pm == 0:
                    pn = _is_negzero_product(ca, cb, ma, mb)
                    if s == 0.0:
                        s = _zero(zero_sum_sign(sn, pn, mode_acc))
                    continue  # s + 0 = s exactly
                neg = pm < 0
                s = sum2_round(sn, ss, se, neg, -pm if neg else pm, lsb, p_acc, mode_acc, False)
            else:
                pv = _product_value(pm, lsb, _is_negzero_product(ca, cb, ma, mb), p_prod, mode_prod)
                if not np.isfinite(pv):
                    s = s + pv
                    continue
                pn, ps, pe = _f64_term(pv)
                s = sum2_round(sn, ss, se, pn, ps, pe, p_acc, mode_acc, False)
        out[t] = s


# ------------------------------------------------------------------ pairwise
@jit
def _add_values(x, y, p, mode):
    if not (np.isfinite(x) and np.isfinite(y)):
        return x + y
    n1, s1, e1 = _f64_term(x)
    n2, s2, e2 = _f64_term(y)
    return sum2_round(n1, s1, e1, n2, s2, e2, p, mode, False)


@jit
def _pair_products(am, aE, acls, av, bm, bE, bcls, bv, K, arow, brow, man_ab, p_prod, mode_prod, buf):
    """buf[:K] = the products of one row rounded into `p_prod` (IEEE products for NaN/inf)."""
    for k in range(K):
        ca = acls[arow + k]
        cb = bcls[brow + k]
        if ca >= C_INF or cb >= C_INF:
            buf[k] = av[arow + k] * bv[brow + k]
            continue
        ma = am[arow + k]
        mb = bm[brow + k]
        buf[k] = _product_value(ma * mb, aE[arow + k] + bE[brow + k] - man_ab,
                                _is_negzero_product(ca, cb, ma, mb), p_prod, mode_prod)


@jit
def _pair_tree(buf, n, p_acc, mode_acc):
    """The balanced tree of adjacent pairs over buf[:n] (n >= 1), level by level, an odd last
    element passing up unchanged; buf is overwritten. Node i of level j sums elements
    [i 2**j, min((i + 1) 2**j, n)): a piece of 2**j elements starting at a multiple of 2**j is a
    subtree, so pieces of K of a power-of-two size combine by this same tree (`pairwise_finish`)."""
    while n > 1:
        h = n // 2
        for i in range(h):
            buf[i] = _add_values(buf[2 * i], buf[2 * i + 1], p_acc, mode_acc)
        if n % 2 == 1:
            buf[h] = buf[n - 1]
            h += 1
        n = h
    return buf[0]


@jit
def pairwise_dots(am, aE, acls, av, bm, bE, bcls, bv, K, ia, ib, c, out, man_ab, p_prod, mode_prod,
                  p_acc, mode_acc):
    """Products rounded into `p_prod`, summed by a balanced tree of adjacent
    pairs (level by level, an odd last element passes up), then + c."""
    buf = np.empty(max(K, 1), np.float64)
    for t in range(out.size):
        if K == 0:
            out[t] = c[t]
            continue
        _pair_products(am, aE, acls, av, bm, bE, bcls, bv, K, ia[t] * K, ib[t] * K, man_ab, p_prod, mode_prod,
                       buf)
        out[t] = _add_values(_pair_tree(buf, K, p_acc, mode_acc), c[t], p_acc, mode_acc)


@jit
def pairwise_parts(am, aE, acls, av, bm, bE, bcls, bv, K, ia, ib, out, man_ab, p_prod, mode_prod, p_acc,
                   mode_acc):
    """out[t] = the pairwise tree of row ia[t] of A with row ib[t] of B^T (K >= 1), without c:
    one piece of a long dot product (`pairwise_finish` combines the pieces)."""
    buf = np.empty(max(K, 1), np.float64)
    for t in range(out.size):
        _pair_products(am, aE, acls, av, bm, bE, bcls, bv, K, ia[t] * K, ib[t] * K, man_ab, p_prod, mode_prod,
                       buf)
        out[t] = _pair_tree(buf, K, p_acc, mode_acc)


@jit
def pairwise_finish(parts, c, out, p_acc, mode_acc):
    """out[t] = the pairwise tree over parts[t, :] (the trees of aligned power-of-two pieces of K,
    the last one possibly shorter), then + c[t]: the tree of the whole row."""
    n = parts.shape[1]
    buf = np.empty(max(n, 1), np.float64)
    for t in range(out.size):
        for i in range(n):
            buf[i] = parts[t, i]
        out[t] = _add_values(_pair_tree(buf, n, p_acc, mode_acc), c[t], p_acc, mode_acc)


# --------------------------------------------------------------------- exact
@jit
def _kulisch_add(buf, off, neg, sig):
    """Add (-1)**neg * sig * 2**off into 32-bit digits held in int64 limbs."""
    limb = off >> 5
    sh = off & 31
    mask = np.int64(0xFFFFFFFF)
    lo = (sig & mask) << sh
    hi = (sig >> 32) << sh
    parts0 = lo & mask
    parts1 = (lo >> 32) + (hi & mask)
    parts2 = hi >> 32
    if neg:
        buf[limb] -= parts0
        buf[limb + 1] -= parts1
        buf[limb + 2] -= parts2
    else:
        buf[limb] += parts0
        buf[limb + 1] += parts1
        buf[limb + 2] += parts2


@jit
def _kulisch_round(buf, L, lo, p, mode, all_neg, all_pos):
    """Round the exact sum held in buf[:L] (digit j weighs 2**(lo + 32 j))."""
    mask = np.int64(0xFFFFFFFF)
    for j in range(L - 1):
        cy = buf[j] >> 32  # arithmetic: floor division by 2**32
        buf[j] &= mask
        buf[j + 1] += cy
    neg = buf[L - 1] < 0
    if neg:  # two's complement negate across limbs
        cy = np.int64(1)
        for j in range(L - 1):
            v = (buf[j] ^ mask) + cy
            buf[j] = v & mask
            cy = v >> 32
        buf[L - 1] = cy - 1 - buf[L - 1]  # -V = (~low limbs + 1) + (-top - 1) * 2**(32 (L-1))
    h = L - 1
    while h >= 0 and buf[h] == 0:
        h -= 1
    if h < 0:
        return _zero(zero_sum_sign(all_neg, not all_pos, mode))  # all -0: -0; all +0: +0; else the mode's
    top = 32 * h + 63 - clz64(buf[h])  # bit index of the leading one
    low = top - 60
    sig = np.int64(0)
    sticky = False
    for j in range(h, -1, -1):
        d = buf[j]
        if d == 0:
            continue
        sh = 32 * j - low
        if sh >= 0:
            sig += d << sh
        elif sh > -32:
            sig += d >> (-sh)
            if (d & ((np.int64(1) << (-sh)) - 1)) != 0:
                sticky = True
        else:
            sticky = True
    sig = (sig << 1) | np.int64(sticky)
    return _pack(neg, sig, lo + low - 1, p, mode, False)


@jit
def _exact_row(am, aE, acls, bm, bE, bcls, arow, brow, K, man_ab, lo, buf, all_neg, all_pos):
    """Add the products of row `arow` of A with row `brow` of B^T into the Kulisch accumulator `buf`;
    returns whether every product so far is a -0, and whether every one is a +0. NaN and infinite
    elements are skipped (their rows' special value is decided elsewhere)."""
    for k in range(K):
        ca = acls[arow + k]
        cb = bcls[brow + k]
        if ca >= C_INF or cb >= C_INF:
            all_neg = False
            all_pos = False
            continue
        ma = am[arow + k]
        mb = bm[brow + k]
        pm = ma * mb
        if pm == 0:
            if _is_negzero_product(ca, cb, ma, mb):
                all_pos = False
            else:
                all_neg = False
            continue
        all_neg = False
        all_pos = False
        neg = pm < 0
        _kulisch_add(buf, aE[arow + k] + bE[brow + k] - man_ab - lo, neg, -pm if neg else pm)
    return all_neg, all_pos


@jit
def _exact_close(buf, cv, L, lo, p, mode, all_neg, all_pos):
    """round(cv + the exact sum in `buf`) with one rounding; an exact zero takes the sign rule of the
    terms (every one -0: -0; every one +0: +0; else the mode's)."""
    if cv != 0.0:
        all_neg = False
        all_pos = False
        cn, cs, ce = _f64_term(cv)
        _kulisch_add(buf, ce - lo, cn, cs)
    elif np.signbit(cv):
        all_pos = False
    else:
        all_neg = False
    return _kulisch_round(buf, L, lo, p, mode, all_neg, all_pos)


@jit
def exact_dots(am, aE, acls, bm, bE, bcls, K, ia, ib, c, out, flags_a, flags_b, man_ab, lo, L, p, mode):
    """out[t] = round(c[t] + sum_k a_k*b_k) with one rounding (Kulisch accumulator).

    `lo` is below every term's last bit; `L` limbs cover every term.
    """
    buf = np.zeros(L, np.int64)
    for t in range(out.size):
        arow, brow, cv, sp, val = _dot_start(t, K, ia, ib, c, flags_a, flags_b, acls, am, bcls, bm)
        if sp:
            out[t] = val
            continue
        buf[:] = 0
        all_neg, all_pos = _exact_row(am, aE, acls, bm, bE, bcls, arow, brow, K, man_ab, lo, buf, True, True)
        out[t] = _exact_close(buf, cv, L, lo, p, mode, all_neg, all_pos)


@jit
def exact_parts(am, aE, acls, bm, bE, bcls, K, ia, ib, man_ab, lo, bufs, zsign):
    """Add the products of row ia[t] of A with row ib[t] of B^T into the Kulisch accumulator
    bufs[t] (as `exact_dots`): one piece of a long exact dot product. zsign[t, 0] stays true while
    every product is a -0, zsign[t, 1] while every one is a +0. NaN and infinite elements are
    skipped: the row's special value is decided over the whole row (`special_flags`)."""
    for t in range(ia.size):
        zsign[t, 0], zsign[t, 1] = _exact_row(am, aE, acls, bm, bE, bcls, ia[t] * K, ib[t] * K, K, man_ab, lo,
                                              bufs[t], zsign[t, 0], zsign[t, 1])


@jit
def exact_finish(c, bufs, zsign, out, lo, L, p, mode):
    """out[t] = round(c[t] + the exact sum in bufs[t]) with one rounding (`exact_parts` filled it)."""
    for t in range(out.size):
        cv = c[t]
        if not np.isfinite(cv):  # a special row (the caller applies the rule of the whole row)
            out[t] = cv
            continue
        out[t] = _exact_close(bufs[t], cv, L, lo, p, mode, zsign[t, 0], zsign[t, 1])


@jit
def _ftz32(v, keep_sign):
    """A binary32 value flushed to zero when below the smallest normal (keeping its sign or +0)."""
    if abs(v) < np.float32(2.0**-126):
        return v * np.float32(0.0) if keep_sign else np.float32(0.0)
    return v


@jit
def ftz_pair_chain(sums, acc, enter, ftz, out):
    """out[t] = the binary32 chain acc[t] + sums[0, t] + sums[1, t] + ..., each sum rounded to
    nearest even in binary32 (IEEE, as numpy's float32 addition) and, with `ftz`, flushed to a
    signed zero when subnormal; where enter[g] (the accumulator enters an instruction) it is
    first flushed to +0 when subnormal."""
    for t in range(out.size):
        a = acc[t]
        for g in range(sums.shape[0]):
            if ftz and enter[g]:
                a = _ftz32(a, False)
            a = a + sums[g, t]
            if ftz:
                a = _ftz32(a, True)
        out[t] = a
