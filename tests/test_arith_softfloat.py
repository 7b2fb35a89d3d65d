"""binary16, binary32 and binary64 arithmetic equals Berkeley SoftFloat 3e (softfloatpy), bit for bit.

For each format and operation: 100,000 operand sets per rounding mode, under
SoftFloat's five modes, drawn to hit subnormals, exact ties, cancellation,
overflow, infinities and NaNs (NaN results compare as "both NaN": payloads are
a policy, not arithmetic).
"""

from __future__ import annotations

import numpy as np
import pytest

import numfmt

sf = pytest.importorskip("softfloatpy")

N_CASES = 100_000

MODES = {
    "nearest_even": "NEAR_EVEN",
    "toward_zero": "MIN_MAG",
    "toward_negative": "MIN",
    "toward_positive": "MAX",
    "nearest_away": "NEAR_MAX_MAG",
}

# (numpy dtype, code dtype, SoftFloat class, prefix, exponent bits, trailing bits)
FORMATS = {
    "binary16": (np.float16, np.uint16, sf.Float16, "f16", 5, 10),
    "binary32": (np.float32, np.uint32, sf.Float32, "f32", 8, 23),
    "binary64": (np.float64, np.uint64, sf.Float64, "f64", 11, 52),
}


def _is_nan(codes, e, m):
    c = codes.astype(np.uint64)
    return ((c >> m) & ((1 << e) - 1) == (1 << e) - 1) & ((c & ((1 << m) - 1)) != 0)


def _codes(rng, n, e, m, cdt):
    """Operand codes: a mix of uniform codes, short significands (ties), extreme exponents."""
    bits = 1 + e + m
    kind = rng.integers(0, 4, n)
    out = rng.integers(0, 1 << bits, n, dtype=np.uint64)
    sign = rng.integers(0, 2, n, dtype=np.uint64) << np.uint64(bits - 1)
    # short significands: products and sums land on exact ties often
    short = rng.integers(0, 1 << 3, n, dtype=np.uint64) << np.uint64(m - 3)
    expo = rng.integers(0, (1 << e) - 1, n, dtype=np.uint64)
    out = np.where(kind == 1, sign | (expo << np.uint64(m)) | short, out)
    # extreme exponents: subnormal, smallest normals, largest binades
    top = (1 << e) - 1
    ext = rng.choice(np.array([0, 0, 1, 2, top - 1, top - 2, top - 1], np.uint64), n)
    frac = rng.integers(0, 1 << m, n, dtype=np.uint64)
    out = np.where(kind == 2, sign | (ext << np.uint64(m)) | frac, out)
    # around 1.0: cancellation partners are made below
    mid = np.uint64((top >> 1) + rng.integers(-2, 3)) << np.uint64(m)
    out = np.where(kind == 3, sign | mid | frac, out)
    return out.astype(cdt)


def _near(rng, codes, cdt, bits):
    """Codes of values close to +-``codes`` (a few ulps away, either sign)."""
    d = rng.integers(-3, 4, codes.size).astype(np.int64)
    if bits == 64:  # (codes beyond int64: move the magnitude, keep then flip the sign)
        top = np.uint64(1) << np.uint64(63)
        mag = np.clip((codes & ~top).astype(np.int64) + d, 0, (1 << 63) - 1).astype(np.uint64)
        flip = rng.integers(0, 2, codes.size).astype(np.uint64) << np.uint64(63)
        return (mag | (codes & top)) ^ flip
    c = codes.astype(np.int64) + d
    c = np.clip(c, 0, (1 << bits) - 1)
    flip = rng.integers(0, 2, codes.size).astype(np.int64) << (bits - 1)
    return (c ^ flip).astype(cdt)


def _sf_values(cls, codes, nbytes):
    be = codes.astype(codes.dtype.newbyteorder(">")).tobytes()
    return [cls.from_bytes(be[i:i + nbytes]) for i in range(0, len(be), nbytes)]


def _sf_codes(vals, cdt):
    raw = b"".join(v.to_bytes() for v in vals)
    return np.frombuffer(raw, dtype=np.dtype(cdt).newbyteorder(">")).astype(cdt)


def _run_sf(fn, operands, mode):
    sf.set_rounding_mode(getattr(sf.RoundingMode, MODES[mode]))
    try:
        return [fn(*args) for args in zip(*operands)]
    finally:
        sf.set_rounding_mode(sf.RoundingMode.NEAR_EVEN)


def _check(got, want, e, m, what):
    nan_g = _is_nan(got, e, m)
    nan_w = _is_nan(want, e, m)
    bad = np.flatnonzero((got != want) & ~(nan_g & nan_w))
    assert bad.size == 0, f"{what}: {bad.size} mismatches, first at {bad[0]}: got {got[bad[0]]:#x}, " \
                          f"SoftFloat {want[bad[0]]:#x}"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "fma", "sqrt"])
def test_equals_softfloat(fmt, op):
    npdt, cdt, cls, pre, e, m = FORMATS[fmt]
    bits = 1 + e + m
    rng = np.random.default_rng([bits, len(op), ord(op[0]), ord(op[-1])])
    a = _codes(rng, N_CASES, e, m, cdt)
    b = _codes(rng, N_CASES, e, m, cdt)
    half = N_CASES // 2
    b[:half] = _near(rng, a[:half], cdt, bits)  # cancellation, x - x, x / x
    if op == "div":  # division by powers of two lands exact ties in the subnormal range
        q = N_CASES // 8
        sl = slice(half, half + q)
        bias = (1 << (e - 1)) - 1
        b[sl] = ((bias + rng.integers(1, 4, q)) << m).astype(cdt)
        a[sl] = (rng.integers(0, 4 << m, q) | (rng.integers(0, 2, q) << (bits - 1))).astype(cdt)
    operands = [a, b]
    if op == "fma":
        c = _codes(rng, N_CASES, e, m, cdt)
        with np.errstate(over="ignore", invalid="ignore"):
            prod = (a.view(npdt).astype(np.float64) * b.view(npdt).astype(np.float64)).astype(npdt)
            c[:half] = _near(rng, prod[:half].view(cdt), cdt, bits)
        operands = [a, b, c]
    if op == "sqrt":
        # perfect squares and their neighbours, besides the mix
        r = rng.integers(1, 1 << ((m + 1) // 2 + 1), N_CASES).astype(np.float64)
        with np.errstate(over="ignore"):
            sq = (r * r * np.exp2(2.0 * rng.integers(-8, 8, N_CASES))).astype(npdt).view(cdt)
        a[:half] = _near(rng, sq[:half], cdt, bits) & cdt((1 << (bits - 1)) - 1)
        operands = [a]
    sf_ops = [_sf_values(cls, x, bits // 8) for x in operands]
    fn = getattr(sf, f"{pre}_{'mul_add' if op == 'fma' else op}")
    nf = getattr(numfmt, op)
    vals = [x.view(npdt) for x in operands]
    wants = {}
    for mode in MODES:
        want = wants[mode] = _sf_codes(_run_sf(fn, sf_ops, mode), cdt)
        got = nf(*vals, fmt, rounding=mode, codes=True)
        _check(got, want, e, m, f"{op} {fmt} {mode}")
    # the cases reach what they are meant to reach
    rne = wants["nearest_even"].astype(np.uint64)
    mag = rne & np.uint64((1 << (bits - 1)) - 1)
    sub_in = ((a & cdt((1 << (bits - 1)) - 1)) < (1 << m)).sum()
    assert (((mag > 0) & (mag < (1 << m))).sum() if op != "sqrt" else sub_in) > 200, "too few subnormals"
    if op != "sqrt":  # (sqrt has no exact ties and cannot overflow)
        assert (wants["nearest_even"] != wants["nearest_away"]).sum() > 200, "too few exact ties"
        assert (mag == ((1 << e) - 1) << m).sum() > 200, "too few overflows"
