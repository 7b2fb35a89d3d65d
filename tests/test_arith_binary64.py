"""add/sub/mul/div/fma/sqrt rounded into binary64 (float64 operands).

* the Fraction reference (``numfmt.reference``) on the exact result: every rounding
  mode (to_odd and the stochastic ones with explicit R included) and saturation;
* MPFR (gmpy2, precision 53, subnormalize) for the four modes it has, on many cases.

SoftFloat's f64 operations are compared in ``test_arith_softfloat.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_arith import exact

import numfmt
import numfmt.reference as ref

F = numfmt.get_format("binary64")
DET_MODES = ["nearest_even", "nearest_away", "toward_zero", "toward_positive", "toward_negative", "to_odd"]
SR_MODES = ["stochastic", "stochastic_b", "stochastic_c"]
SATS = ["none", "finite", "propagate"]
OPS = ["add", "sub", "mul", "div", "fma", "sqrt"]
ARITY = {"add": 2, "sub": 2, "mul": 2, "div": 2, "fma": 3, "sqrt": 1}
MAX = np.finfo(np.float64).max
TINY = 5e-324


def operands(rng, n, k=0):
    """float64 operands: random bit patterns, values near 1 and their short-significand
    versions (exact ties of sums and products), extreme exponents, specials."""
    bits = rng.integers(0, 1 << 63, n, dtype=np.uint64) | (rng.integers(0, 2, n, dtype=np.uint64) << np.uint64(63))
    raw = bits.view(np.float64)
    raw = np.where(np.isnan(raw), 1.5, raw)
    sign = rng.choice([-1.0, 1.0], n)
    near1 = np.ldexp(1.0 + rng.integers(0, 1 << 52, n) * 2.0**-52, rng.integers(-3, 4, n)) * sign
    short = np.ldexp(1.0 + rng.integers(0, 8, n) / 8.0, rng.integers(-60, 60, n)) * sign
    extreme = np.ldexp(1.0 + rng.random(n), rng.choice([-1074, -1060, -1022, -1021, 1000, 1022, 1023], n)) * sign
    sub = rng.integers(1, 1 << 52, n).astype(np.float64) * TINY * sign
    spec = rng.choice(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, MAX, -MAX, TINY, -TINY, 1.0]), n)
    kind = (rng.integers(0, 8, n) + k) % 8
    x = np.select([kind == 0, kind == 1, kind == 2, kind == 3, kind == 4, kind == 5],
                  [raw, near1, short, extreme, sub, spec], near1)
    return x


def _cols(op, rng, n):
    with np.errstate(all="ignore"):
        return _cols_(op, rng, n)


def _cols_(op, rng, n):
    cols = [operands(rng, n, j) for j in range(ARITY[op])]
    a = cols[0]
    q = n // 4
    if op in ("add", "sub", "fma"):  # the other operand half an ulp, or a few ulps, of a away
        t = cols[-1]
        t[:q] = a[:q] * np.ldexp(1.0, -rng.integers(52, 56, q)) * rng.choice([-1.0, 1.0], q)
        if op == "fma":
            t[q:2 * q] = -(a[q:2 * q] * cols[1][q:2 * q]) * (1 + rng.integers(-4, 5, q) * 2.0**-52)
        else:
            t[q:2 * q] = -a[q:2 * q] * (1 + rng.integers(-4, 5, q) * 2.0**-52) * (1 if op == "add" else -1)
    if op == "sqrt":
        r = rng.integers(1, 1 << 27, n).astype(np.float64)
        cols[0][:q] = np.abs(r[:q] * r[:q] * np.ldexp(1.0, 2 * rng.integers(-500, 450, q)))
        cols[0][:q] = np.nextafter(cols[0][:q], rng.choice([0.0, np.inf], q))
    return cols


def ref_codes(op, cols, mode, sat, R, N):
    out = []
    for i in range(len(cols[0])):
        x = exact(op, [c[i] for c in cols], mode, False)
        r = int(R[i]) if R is not None else 0
        out.append(ref.encode(x, F, rounding=mode, saturation=sat, R=r, N=N))
    return np.array(out, np.uint64)


def _same(got, want):
    g = got.view(np.float64)
    w = want.view(np.float64)
    return (got == want) | (np.isnan(g) & np.isnan(w))


@pytest.mark.slow
@pytest.mark.parametrize("op", OPS)
def test_equals_reference(op):
    rng = np.random.default_rng(OPS.index(op))
    n = 150
    for mode in DET_MODES + SR_MODES:
        for sat in SATS:
            cols = _cols(op, rng, n)
            R, N, kw = None, 32, {}
            if mode.startswith("stochastic"):
                N = int(rng.integers(1, 5))  # precision + rbits <= 57
                R = rng.integers(0, 1 << N, n)
                kw = dict(random=R.astype(np.uint32), rbits=N)
            got = getattr(numfmt, op)(*cols, F, rounding=mode, saturation=sat, codes=True, **kw)
            assert got.dtype == np.uint64
            want = ref_codes(op, cols, mode, sat, R, N)
            ok = _same(got, want)
            if not ok.all():
                k = int(np.flatnonzero(~ok)[0])
                pytest.fail(f"{op}{tuple(float(c[k]) for c in cols)} {mode} sat={sat} "
                            f"R={None if R is None else R[k]}: got {int(got[k]):#x}, reference {int(want[k]):#x}")


MPFR_MODES = {"nearest_even": "RoundToNearest", "toward_zero": "RoundToZero",
              "toward_positive": "RoundUp", "toward_negative": "RoundDown"}


@pytest.mark.slow
@pytest.mark.parametrize("op", OPS)
def test_equals_mpfr(op):
    gmpy2 = pytest.importorskip("gmpy2")
    rng = np.random.default_rng(100 + OPS.index(op))
    n = 3000
    cols = _cols(op, rng, n)
    xs = [[gmpy2.mpfr(float(v), 53) for v in c] for c in cols]
    name = {"sub": "sub", "fma": "fma"}.get(op, op)
    for mode, rname in MPFR_MODES.items():
        ctx = gmpy2.context(precision=53, emin=-1073, emax=1024, subnormalize=True, round=getattr(gmpy2, rname))
        fn = getattr(ctx, name)
        want = np.array([float(fn(*args)) for args in zip(*xs)])
        got = getattr(numfmt, op)(*cols, F, rounding=mode)
        assert got.dtype == np.float64
        ok = (got == want) & (np.signbit(got) == np.signbit(want)) | (np.isnan(got) & np.isnan(want))
        if not ok.all():
            k = int(np.flatnonzero(~ok)[0])
            pytest.fail(f"{op}{tuple(float(c[k]) for c in cols)} {mode}: got {got[k]!r}, MPFR {want[k]!r}")


def test_binary64_basics():
    assert float(numfmt.add(0.1, 0.2, "binary64")) == 0.1 + 0.2
    assert float(numfmt.add(1.0, 2.0**-53, "binary64")) == 1.0  # tie -> even
    assert float(numfmt.add(1.0, 2.0**-53, "binary64", rounding="nearest_away")) == 1 + 2.0**-52
    assert int(numfmt.add(1.0, 2.0**-80, "binary64", rounding="to_odd", codes=True)) == 0x3FF0000000000001
    assert float(numfmt.sub(1.0, 2.0**-80, "binary64", rounding="toward_zero")) == 1 - 2.0**-53
    # fma: one rounding (float64 a*b - 1 would round twice)
    a = 1 + 2.0**-30
    assert float(numfmt.fma(a, a, -1.0, "binary64")) == 2.0**-29 + 2.0**-60
    assert float(numfmt.mul(1e308, 10.0, "binary64")) == math.inf
    assert float(numfmt.mul(1e308, -10.0, "binary64", saturation="finite")) == -MAX
    assert float(numfmt.mul(1e308, 1e308, "binary64", rounding="toward_zero")) == MAX
    assert float(numfmt.div(1.0, 3.0, "binary64", rounding="toward_positive")) == np.nextafter(1 / 3, 1)
    assert float(numfmt.mul(TINY, 0.5, "binary64")) == 0.0
    assert float(numfmt.mul(TINY, 0.75, "binary64")) == TINY
    assert math.copysign(1, float(numfmt.mul(-TINY, 0.25, "binary64"))) == -1
    assert float(numfmt.sqrt(2.0, "binary64")) == math.sqrt(2.0)
    assert np.isnan(numfmt.sqrt(-1.0, "binary64"))
    assert int(numfmt.add(np.inf, -np.inf, "binary64", codes=True)) == F.code_of_nan
    assert math.copysign(1, float(numfmt.add(1.0, -1.0, "binary64", rounding="toward_negative"))) == -1
    # float32 and float16 operands are used exactly
    assert float(numfmt.mul(np.float32(0.1), np.float32(0.1), "binary64")) == float(np.float32(0.1)) ** 2
    # stochastic rounding with explicit random bits
    x = numfmt.add(np.ones(4), 2.0**-54, "binary64", rounding="stochastic", random=np.arange(4, dtype=np.uint8),
                   rbits=2)
    assert x.tolist() == [1.0, 1.0, 1.0, 1 + 2.0**-52]  # 1/4 ulp: rounds up only for R = 3
    with pytest.raises(ValueError, match="rbits"):
        numfmt.add(1.0, 2.0, "binary64", rounding="stochastic", random=0)
