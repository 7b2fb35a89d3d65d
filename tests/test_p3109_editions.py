"""IEEE P3109 editions and the four stochastic modes of P3109 Release 3.1, against gfloat 0.5.2.

Default edition ("model-2026-07-07", the P3109 formal model's SatNone): numfmt equals gfloat 0.5.2's
`round_ndarray` + `encode_ndarray` on every P3109 format with K <= 8 (signed/unsigned, finite/extended),
every deterministic mode gfloat has, saturation on and off. The "interim-v4.0" edition keeps the
Interim Report v4.0 results. Stochastic modes: gfloat's Stochastic, StochasticOdd, StochasticFast,
StochasticFastest with explicit bits on inputs with more than precision + N significant bits.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import numfmt
import numfmt.reference as ref

DET = {"toward_zero": "TowardZero", "toward_negative": "TowardNegative", "toward_positive": "TowardPositive",
       "nearest_even": "TiesToEven", "nearest_away": "TiesToAway"}
SR = {"stochastic_rtne": "Stochastic", "stochastic_odd": "StochasticOdd", "stochastic_fast": "StochasticFast",
      "stochastic_fastest": "StochasticFastest"}
# every P3109 format with K <= 8 except binary2p1se (0, +inf, NaN, -inf only: no finite nonzero value; numfmt
# rejects it, test_edition_errors)
P3109 = [(k, p, s, e) for k in range(2, 9) for p in range(1, k + 1) for s in (True, False) for e in (True, False)
         if (p < k or not s) and (k, p, s, e) != (2, 1, True, True)]


def _gfloat():
    gfloat = pytest.importorskip("gfloat")
    from gfloat import formats

    return gfloat, formats


def _fi(gfloat, formats, k, p, signed, ext):
    return formats.format_info_p3109(k, p, gfloat.Signedness.Signed if signed else gfloat.Signedness.Unsigned,
                                     gfloat.Domain.Extended if ext else gfloat.Domain.Finite)


def _gf_codes(gfloat, fi, x, mode, sat, **kw):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        r = gfloat.round_ndarray(fi, x, getattr(gfloat.RoundMode, mode), sat, **kw)
        return np.asarray(gfloat.encode_ndarray(fi, r)).astype(np.int64)


def _inputs(f) -> np.ndarray:
    """Every value, midpoints and one float64 ulp either side, quarter points, values past max, the
    specials, values below the smallest subnormal; both signs."""
    v = numfmt.decode(np.arange(1 << f.bits), f, dtype=np.float64)
    v = np.unique(np.abs(v[np.isfinite(v)]))
    mids = (v[1:] + v[:-1]) / 2
    pts = np.concatenate([v, mids, np.nextafter(mids, 0), np.nextafter(mids, np.inf), v[:-1] + (v[1:] - v[:-1]) / 4,
                          [v[-1] * 1.01, v[-1] * 1.1, v[-1] * 4, 1e300, np.inf, v[1] / 4, v[1] / 2, v[1] * 0.75]])
    return np.concatenate([pts, -pts, [np.nan]])


@pytest.mark.parametrize("k, p, signed, ext", P3109, ids=lambda v: str(v))
def test_default_edition_equals_gfloat(k, p, signed, ext):
    gfloat, formats = _gfloat()
    f = numfmt.p3109_format(k, p, signed=signed, extended=ext)
    assert f.p3109_edition == "model-2026-07-07"
    try:
        fi = _fi(gfloat, formats, k, p, signed, ext)
    except (ValueError, AssertionError):
        pytest.skip("gfloat has no such format")
    x = _inputs(f)
    # gfloat 0.5.2 does not handle negative inputs of unsigned formats (it returns negative values);
    # those follow the formal model's rule (inward modes and saturation: 0; else NaN), checked below
    keep = f.signed | ~(x < 0)
    for mode, gm in DET.items():
        for sat in (True, False):
            got = numfmt.encode(x, f, rounding=mode, saturation="finite" if sat else "none").astype(np.int64)
            want = _gf_codes(gfloat, fi, x[keep], gm, sat)
            bad = np.flatnonzero(got[keep] != want)
            assert bad.size == 0, [(x[keep][i], mode, sat, got[keep][i], want[i]) for i in bad[:5]]
            if not f.signed:
                neg = (x < 0) & (numfmt.decode(got, f) != 0)
                inward = sat or mode in ("toward_zero", "toward_positive")
                assert np.all(got[neg & ~np.isinf(x)] == (0 if inward else f.code_of_nan))


@pytest.mark.parametrize("k, p, signed, ext", [t for t in P3109 if t[0] in (4, 8)], ids=lambda v: str(v))
def test_interim_v4_edition(k, p, signed, ext):
    """The Interim Report v4.0 edition differs from the default only where v4.0 saturates: finite-domain
    overflow and +-inf under saturation="none" (max there, NaN by default) and to_odd overflow of an
    unsigned extended format (max there, +inf by default)."""
    f = numfmt.p3109_format(k, p, signed=signed, extended=ext)
    old = numfmt.p3109_format(k, p, signed=signed, extended=ext, edition="interim-v4.0")
    assert old.name == f.name + "@interim-v4.0" and numfmt.get_format(old.name) == old
    x = _inputs(f)
    for mode in (*DET, "to_odd"):
        for sat in ("none", "finite", "propagate"):
            a = numfmt.encode(x, f, rounding=mode, saturation=sat).astype(np.int64)
            b = numfmt.encode(x, old, rounding=mode, saturation=sat).astype(np.int64)
            d = np.flatnonzero(a != b)
            if sat != "none":
                assert d.size == 0
                continue
            maxc = {f.max_code_magnitude, f.max_code_magnitude | f.sign_bit}
            assert set(b[d].tolist()) <= maxc, (mode, x[d][:4])
            if ext:
                assert mode == "to_odd" or d.size == 0
                assert set(a[d].tolist()) <= {f.code_of_inf}
            else:
                assert set(a[d].tolist()) <= {f.code_of_nan}
            for i in d[:20]:  # the reference follows the same edition rules
                assert ref.encode(float(x[i]), f, rounding=mode) == a[i]
                assert ref.encode(float(x[i]), old, rounding=mode) == b[i]


@pytest.mark.parametrize(("fmt", "x", "rounding", "code"), [
    ("binary8p4sf", 1e9, "nearest_even", 0x80), ("binary8p4sf@interim-v4.0", 1e9, "nearest_even", 0x7F),
    ("binary8p4sf", math.inf, "toward_zero", 0x80), ("binary8p4sf@interim-v4.0", math.inf, "toward_zero", 0x7F),
    ("binary8p4sf", 1e9, "toward_zero", 0x7F), ("binary8p4sf", -math.inf, "toward_positive", 0x80),
    ("binary8p4sf@interim-v4.0", -math.inf, "nearest_even", 0xFF),
    ("binary8p3ue", 1e30, "to_odd", 0xFE), ("binary8p3ue@interim-v4.0", 1e30, "to_odd", 0xFD),
    ("binary8p3se", 1e30, "to_odd", 0x7F), ("binary8p3se@interim-v4.0", 1e30, "to_odd", 0x7F),
])
def test_edition_literals(fmt, x, rounding, code):
    assert numfmt.encode([x], fmt, rounding=rounding).tolist() == [code]
    assert ref.encode(x, fmt, rounding=rounding) == code


def test_edition_errors():
    with pytest.raises(ValueError, match="no finite values"):
        numfmt.p3109_format(2, 1, signed=True, extended=True)
    with pytest.raises(ValueError, match="edition="):
        numfmt.p3109_format(8, 3, edition="v3")
    with pytest.raises(ValueError, match="P3109 edition 'v3'"):
        numfmt.get_format("binary8p3se@v3")
    with pytest.raises(ValueError, match="p3109_edition"):
        numfmt.FloatFormat(name="x", exponent_bits=4, mantissa_bits=3, bias=7, p3109_edition="v3")
    with pytest.raises(TypeError, match="p3109_edition"):
        numfmt.FloatFormat(name="x", exponent_bits=4, mantissa_bits=3, bias=7, p3109_edition=3)
    with pytest.raises(TypeError, match="edition"):
        numfmt.p3109_format(8, 3, edition=3)


# ----------------------------------------------------------------------------- stochastic modes
def test_stochastic_mode_names():
    """numfmt's stochastic = gfloat StochasticFastest, stochastic_b = StochasticFast, stochastic_c =
    Stochastic (the names are aliases); stochastic_odd is its own mode."""
    from numfmt.policy import parse_rounding

    assert parse_rounding("stochastic_fastest") == parse_rounding("stochastic")
    assert parse_rounding("stochastic_fast") == parse_rounding("stochastic_b")
    assert parse_rounding("stochastic_rtne") == parse_rounding("stochastic_c")
    assert parse_rounding("stochastic_odd")[1] not in {parse_rounding(m)[1] for m in ("stochastic", "stochastic_b",
                                                                                         "stochastic_c")}


@pytest.mark.parametrize(("R", "want"), [
    # binary8p3se, x = 1 + 0.28125 ulp (nu * 2**4 = 4.5, a tie at N = 4): rtne, odd, fast, fastest
    (10, (0x40, 0x40, 0x40, 0x40)), (11, (0x40, 0x41, 0x41, 0x40)), (12, (0x41, 0x41, 0x41, 0x41)),
])
def test_stochastic_tie_vector(R, want):
    x = 1 + 0.28125 * 0.25
    for mode, w in zip(SR, want):
        got = numfmt.encode([x], "binary8p3se", rounding=mode, random=np.array([R], np.uint32), rbits=4)
        assert got.tolist() == [w], mode
        assert ref.encode(x, "binary8p3se", rounding=mode, R=R, N=4) == w
    gfloat, formats = _gfloat()
    fi = _fi(gfloat, formats, 8, 3, True, True)
    for mode, w in zip(SR.values(), want):
        assert _gf_codes(gfloat, fi, np.array([x]), mode, False, srbits=np.array([R]), srnumbits=4).tolist() == [w]


def _sr_formats(gfloat, formats):
    out = [("float8_e4m3fn", formats.format_info_ocp_e4m3), ("float8_e5m2", formats.format_info_ocp_e5m2),
           ("float4_e2m1fn", formats.format_info_ocp_e2m1), ("float6_e3m2fn", formats.format_info_ocp_e3m2),
           ("bfloat16", formats.format_info_bfloat16), ("binary16", formats.format_info_binary16)]
    for k in (3, 4, 6, 8):
        for p in range(1, k):
            for s in (True, False):
                for e in (True, False):
                    out.append((numfmt.p3109_format(k, p, signed=s, extended=e).name, _fi(gfloat, formats, k, p, s, e)))
    return out


def _sr_inputs(f, N, rng, n=2000):
    """Values between neighbours at 20- and 21-bit fractions of the gap (more than precision + N
    significant bits), a third of them on the N + 1-bit grid (ties of the N-bit fraction), plus values
    past max."""
    if f.bits <= 8:
        v = numfmt.decode(np.arange(1 << f.bits).astype(f.code_dtype), f, dtype=np.float64)
    else:
        v = numfmt.decode(rng.integers(0, 1 << f.bits, 4000).astype(f.code_dtype), f, dtype=np.float64)
    v = np.abs(v[np.isfinite(v)])
    base = rng.choice(v[v < f.max], n)
    lo = numfmt.decode(numfmt.encode(base, f), f, dtype=np.float64)
    up = numfmt.encode(base, f).astype(np.int64) + 1
    hi = numfmt.decode(up.astype(f.code_dtype), f, dtype=np.float64)
    frac = rng.integers(0, 1 << 21, n) / 2.0**21
    frac = np.where(rng.random(n) < 0.3, np.floor(frac * 2 ** (N + 1)) / 2 ** (N + 1), frac)
    x = lo + frac * (hi - lo)
    x = np.concatenate([x, [f.max * 1.3, f.max * (1 + 2.0**-20)]])
    return np.concatenate([x, -x]) if f.signed else x


@pytest.mark.parametrize("N", [1, 3, 4, 8])
def test_stochastic_modes_equal_gfloat(N):
    gfloat, formats = _gfloat()
    rng = np.random.default_rng(N)
    checked = 0
    for name, fi in _sr_formats(gfloat, formats):
        f = numfmt.get_format(name)
        x0 = _sr_inputs(f, N, rng)
        R0 = rng.integers(0, 1 << N, x0.size)
        for mode, gm in SR.items():
            for sat in (True, False):
                # gfloat raises on overflow into a format with neither inf nor NaN unless it saturates
                keep = np.abs(x0) <= f.max if not sat and f.code_of_nan is None else np.ones(x0.size, bool)
                x, R = x0[keep], R0[keep]
                got = numfmt.encode(x, f, rounding=mode, saturation="finite" if sat else "none",
                                    random=R.astype(np.uint32), rbits=N).astype(np.int64)
                want = _gf_codes(gfloat, fi, x, gm, sat, srbits=R, srnumbits=N)
                ok = got == want
                if not sat and not f.p3109:
                    # overflow without saturation: numfmt follows IEEE 754 for the direction taken (a value
                    # past max that rounds toward zero gives max; docs/semantics.md), gfloat always overflows
                    past = np.abs(x) > f.max
                    ok |= past & (numfmt.decode(got, f) == np.sign(x) * f.max)
                assert ok.all(), [(name, mode, sat, x[i], R[i], got[i], want[i]) for i in np.flatnonzero(~ok)[:4]]
                checked += x.size
    assert checked > 500_000
