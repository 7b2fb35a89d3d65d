"""Properties of encode/quantize that hold for every format and mode.

Monotone (deterministic modes), quantize idempotent, directed modes bracket x,
nearest modes within half an ulp, stochastic rounding with explicit R equals
the P3109 formulas, unbiased in expectation, seeded results independent of
chunking, shape and threads.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies_internal import (
    DETERMINISTIC,
    ROUNDINGS,
    SATURATIONS,
    STOCHASTIC,
    float_formats,
    int_formats,
    presets,
    value_arrays,
)

import numfmt
import numfmt.reference as ref
from numfmt.formats import FloatFormat, IntFormat

PRESETS = [n for n in presets(max_bits=32) if n != "binary64"]
FORMATS = st.one_of(
    st.sampled_from(PRESETS).map(numfmt.get_format), float_formats(), int_formats(),
)


def _nan_kw(f) -> str:
    return "raise" if f.code_of_nan is not None else "zero"


def _values(codes, f) -> np.ndarray:
    """float64 values of codes, from the reference decode (exact for every format drawn here), so
    that these encode properties do not depend on numfmt.decode (tested in test_reference.py)."""
    return np.array([float(ref.decode(int(c), f)) for c in np.asarray(codes).ravel()], np.float64)


def _decode_bug(f) -> bool:
    """KNOWN BUG (reported, test_reference.test_decode_exponent_255_not_ieee): numfmt.decode
    turns exponent field 255 of an 8-exponent-bit format without IEEE inf into inf/NaN."""
    return isinstance(f, FloatFormat) and f.exponent_bits == 8 and f.inf != "ieee"


def _in_range(f, x: float) -> bool:
    """x lies where the format can bracket it: between min and max (and >= the smallest
    value for a format without zero)."""
    if not math.isfinite(x) or x < f.min or x > f.max:
        return False
    if isinstance(f, FloatFormat) and not f.has_zero and x < f.smallest_subnormal:
        return False
    return True


# ------------------------------------------------------------------ deterministic modes
@given(f=FORMATS, data=st.data(), rounding=st.sampled_from(DETERMINISTIC),
       saturation=st.sampled_from(SATURATIONS))
def test_monotone(f, data, rounding, saturation):
    xs = data.draw(value_arrays(f, min_size=2, max_size=32))
    x = np.sort(np.array([v for v in xs if not math.isnan(v)] or [0.0]))
    if rounding == "to_odd" and saturation == "none" and not getattr(f, "p3109", False):
        # Past max, the direction taken decides (IEEE 754-2019 §7.4): a value truncated onto an odd
        # phantom code gives max, an exact or rounded-away one overflows. That rule is not
        # monotone (docs/semantics.md shows 490 -> max but 480 -> overflow), so check up to max.
        x = x[np.abs(x) <= f.max] if x[np.abs(x) <= f.max].size else np.array([0.0])
    v = _values(numfmt.encode(x, f, rounding=rounding, saturation=saturation, nan=_nan_kw(f)), f)
    v = v[~np.isnan(v)]  # NaN results (unsigned negatives, OCP overflow) are unordered
    assert np.all(v[1:] >= v[:-1]), (f, rounding, saturation, x, v)


@given(f=FORMATS, data=st.data(), rounding=st.sampled_from(ROUNDINGS),
       saturation=st.sampled_from(SATURATIONS))
def test_quantize_idempotent(f, data, rounding, saturation):
    assume(not _decode_bug(f))  # quantize decodes
    x = np.array(data.draw(value_arrays(f)))
    kw = dict(rounding=rounding, saturation=saturation, nan=_nan_kw(f))
    if rounding in STOCHASTIC:
        kw["random"] = data.draw(st.integers(0, 2**40))
    q1 = numfmt.quantize(x, f, **kw)
    q2 = numfmt.quantize(q1, f, **kw)
    assert q1.tobytes() == q2.tobytes() or np.array_equal(q1, q2, equal_nan=True), (f, x, q1, q2)
    # and through codes: encode(decode(c)) == c for every non-NaN code produced
    c1 = numfmt.encode(x, f, **kw)
    ok = ~np.isnan(_values(c1, f))
    c2 = numfmt.encode(_values(c1, f)[ok], f, **kw)
    assert c2.tolist() == c1[ok].tolist()


@given(f=FORMATS, data=st.data(), saturation=st.sampled_from(SATURATIONS))
def test_directed_modes_bracket(f, data, saturation):
    xs = [v for v in data.draw(value_arrays(f, max_size=32)) if _in_range(f, v)]
    assume(xs)
    x = np.array(xs)
    enc = {r: numfmt.encode(x, f, rounding=r, saturation=saturation)
           for r in ("toward_negative", "toward_positive", "toward_zero")}
    down, up, tz = (_values(enc[r], f) for r in ("toward_negative", "toward_positive", "toward_zero"))
    assert np.all(down <= x) and np.all(x <= up), (f, x, down, up)
    assert np.all(np.abs(tz) <= np.abs(x)) and np.all(np.where(x > 0, tz == down, tz == up))
    # down and up are equal (x representable) or neighbours: no value of the format between them
    if f.bits <= 12:
        codes = np.arange(1 << f.bits)
        if isinstance(f, IntFormat) and f.symmetric:
            codes = codes[codes != 1 << (f.bits - 1)]
        grid = _values(codes, f)
        grid = grid[np.isfinite(grid)]
        for lo, hi, xi in zip(down, up, x):
            if lo == hi:
                assert lo == xi
            else:
                assert not np.any((grid > lo) & (grid < hi)), (f, xi, lo, hi)


@given(f=FORMATS, data=st.data(), rounding=st.sampled_from(["nearest_even", "nearest_away", "nearest_toward_zero"]))
def test_nearest_within_half_ulp(f, data, rounding):
    xs = [v for v in data.draw(value_arrays(f, max_size=32)) if _in_range(f, v)]
    assume(xs)
    x = np.array(xs)
    down = _values(numfmt.encode(x, f, rounding="toward_negative"), f)
    up = _values(numfmt.encode(x, f, rounding="toward_positive"), f)
    q = _values(numfmt.encode(x, f, rounding=rounding), f)
    for xi, lo, hi, qi in zip(x.tolist(), down.tolist(), up.tolist(), q.tolist()):
        assert qi in (lo, hi)
        err = abs(Fraction(qi) - Fraction(xi))
        assert 2 * err <= Fraction(hi) - Fraction(lo), (f, xi, qi, lo, hi)
        if 2 * err == Fraction(hi) - Fraction(lo) and lo != hi and rounding == "nearest_away":
            assert abs(qi) == max(abs(lo), abs(hi))
        if 2 * err == Fraction(hi) - Fraction(lo) and lo != hi and rounding == "nearest_toward_zero":
            assert abs(qi) == min(abs(lo), abs(hi))


# ------------------------------------------------------------------ stochastic rounding
def _p3109_away(mode: str, nu: Fraction, R: int, N: int) -> bool:
    """P3109 §4.7.4 RoundAway for the stochastic modes (IEEE P3109 Interim Report v4.0; StochasticOdd as
    gfloat 0.5.2 defines it), written out again here."""
    if mode == "stochastic":
        return math.floor(nu * 2**N) + R >= 2**N
    if mode == "stochastic_b":
        return math.floor(nu * 2 ** (N + 1)) + 2 * R + 1 >= 2 ** (N + 1)
    t = nu * 2**N  # stochastic_c: round to nearest integer, ties to even; stochastic_odd: ties to odd
    k = math.floor(t)
    odd_tie = k % 2 == 0 if mode == "stochastic_odd" else k % 2 == 1
    if t - k > Fraction(1, 2) or (t - k == Fraction(1, 2) and odd_tie):
        k += 1
    return k + R >= 2**N


@given(f=FORMATS, data=st.data(), mode=st.sampled_from(STOCHASTIC), N=st.integers(1, 32),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_stochastic_equals_p3109_formula(f, data, mode, N, dtype):
    xs = [v for v in data.draw(value_arrays(f, max_size=32)) if _in_range(f, v)]
    with np.errstate(over="ignore"):  # float32: beyond its range -> inf, then filtered out
        xs = [v for v in np.array(xs, dtype).tolist() if _in_range(f, v)]
    assume(xs)
    x = np.array(xs, dtype)
    R = np.array(data.draw(st.lists(st.integers(0, 2**N - 1), min_size=len(xs), max_size=len(xs))),
                 dtype=np.uint32)
    got = _values(numfmt.encode(x, f, rounding=mode, random=R, rbits=N), f)
    tz = _values(numfmt.encode(x, f, rounding="toward_zero"), f)
    away = np.where(x > 0, _values(numfmt.encode(x, f, rounding="toward_positive"), f),
                    _values(numfmt.encode(x, f, rounding="toward_negative"), f))
    for xi, lo, hi, r, g in zip(x.tolist(), tz.tolist(), away.tolist(), R.tolist(), got.tolist()):
        if lo == hi:
            assert g == xi
            continue
        nu = (Fraction(xi) - Fraction(lo)) / (Fraction(hi) - Fraction(lo))
        assert 0 < nu < 1
        want = hi if _p3109_away(mode, nu, r, N) else lo
        assert g == want, (f, mode, N, xi, r, g, want)


def test_stochastic_vector_spec_6_2():
    """PTX `cvt.rs` (random bits added to the discarded ones): 0x3F800003 -> bf16
    with 16 random bits rounds away iff R >= 65533."""
    x = np.full(4, np.frombuffer(np.uint32(0x3F800003).tobytes(), np.float32)[0])
    R = np.array([0, 65532, 65533, 65535], np.uint32)
    got = numfmt.encode(x, "bfloat16", rounding="stochastic", random=R, rbits=16)
    assert got.tolist() == [0x3F80, 0x3F80, 0x3F81, 0x3F81]


@pytest.mark.parametrize("fmt, x, ulp", [
    ("float8_e4m3fn", 1.0 + 0.3 * 0.125, 0.125),
    ("float8_e5m2", -3.0 - 0.7 * 0.5, 0.5),
    ("float4_e2m1fn", 2.0 + 0.1 * 1.0, 1.0),
    ("float8_e4m3fn", 2.0**-9 * 0.45, 2.0**-9),  # subnormal range: below the smallest value
    ("int8", 5.6, 1.0),
])
def test_stochastic_unbiased(fmt, x, ulp):
    """With 32 random bits StochasticA rounds away with probability floor(nu*2**32)/2**32,
    i.e. nu to within 2**-32, so E[q(x)] = x. n = 200000 draws: the count of rounds away is
    Binomial(n, nu); the test allows 5 standard deviations (two-sided false-alarm rate 6e-7;
    the seed is fixed, so the test is deterministic) -- a bias of one part in 2**N for a
    few-bit N (e.g. N = 4 gives floor(4.8)/16 = 0.25 instead of 0.3) is far outside it."""
    n = 200_000
    f = numfmt.get_format(fmt)
    xs = np.full(n, x)
    lo = float(numfmt.quantize(np.array([x]), f, rounding="toward_zero")[0])
    nu = (Fraction(x) - Fraction(lo)) / (Fraction(ulp) * (1 if x > 0 else -1))
    assert 0 < nu < 1
    q = numfmt.quantize(xs, f, rounding="stochastic", random=12345).astype(np.float64)
    away = np.count_nonzero(q != lo)
    sigma = math.sqrt(n * float(nu) * (1 - float(nu)))
    assert abs(away - n * float(nu)) <= 5 * sigma, (away, n * float(nu), sigma)
    assert abs(q.mean() - x) <= 5 * sigma / n * ulp
    # few random bits: StochasticA is biased exactly as the formula says (P = floor(nu*16)/16)
    q4 = numfmt.quantize(xs, f, rounding="stochastic", random=777, rbits=4).astype(np.float64)
    p4 = math.floor(nu * 16) / 16
    sigma4 = math.sqrt(n * p4 * (1 - p4)) or 1.0
    assert abs(np.count_nonzero(q4 != lo) - n * p4) <= 5 * sigma4


# ------------------------------------------------------------------ reproducibility
def _sr_input(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) * 10).astype(np.float32)


@pytest.mark.parametrize("mode", STOCHASTIC)
def test_seeded_sr_reproducible_and_keyed_by_index(mode):
    x = _sr_input(5000)
    a = numfmt.encode(x, "float8_e4m3fn", rounding=mode, random=42)
    assert np.array_equal(a, numfmt.encode(x, "float8_e4m3fn", rounding=mode, random=42))
    assert not np.array_equal(a, numfmt.encode(x, "float8_e4m3fn", rounding=mode, random=43))
    # element i depends only on (seed, i, x[i]): changing other elements changes nothing here
    y = x.copy()
    y[:1000] = 0
    y[3000:] = -y[3000:]
    b = numfmt.encode(y, "float8_e4m3fn", rounding=mode, random=42)
    assert np.array_equal(a[1000:3000], b[1000:3000])
    # keyed by the flat (C-order) index, whatever the shape or memory layout
    assert np.array_equal(numfmt.encode(x.reshape(50, 100), "float8_e4m3fn", rounding=mode,
                                        random=42).ravel(), a)
    big = np.zeros(10000, np.float32)
    big[::2] = x
    strided = numfmt.encode(big[::2], "float8_e4m3fn", rounding=mode, random=42)
    assert np.array_equal(strided, a)
    # float32 fast path and float64 general path draw the same bits
    assert np.array_equal(numfmt.encode(x.astype(np.float64), "float8_e4m3fn", rounding=mode,
                                        random=42), a)
    # an explicit Generator: same state, same result
    g1 = numfmt.encode(x, "float8_e4m3fn", rounding=mode, random=np.random.default_rng(7))
    g2 = numfmt.encode(x, "float8_e4m3fn", rounding=mode, random=np.random.default_rng(7))
    assert np.array_equal(g1, g2)


@pytest.mark.parametrize("rounding", ["nearest_even", "to_odd", "stochastic", "stochastic_c"])
@pytest.mark.parametrize("fmt", ["float8_e4m3fn", "bfloat16", "binary8p3se"])
def test_threads_equal_serial(rounding, fmt):
    """Large enough (> 2**20 elements) that threads=2 really splits the work into chunks."""
    x = _sr_input((1 << 20) + 12345, seed=1)
    kw = dict(rounding=rounding, saturation="finite")
    if rounding in STOCHASTIC:
        kw["random"] = 99
    serial = numfmt.encode(x, fmt, **kw)
    assert np.array_equal(numfmt.encode(x, fmt, threads=2, **kw), serial)
    assert np.array_equal(numfmt.encode(x.astype(np.float64), fmt, threads=3, **kw), serial)
    q = numfmt.quantize(x, fmt, threads=2, **kw)
    assert np.array_equal(q, numfmt.quantize(x, fmt, **kw), equal_nan=True)


def test_int_formats_cover_stochastic():
    """Integers round stochastically on the integer grid like any format."""
    f = IntFormat(name="q", bits=8, scale_exp=-2)
    got = numfmt.encode(np.array([0.3, 0.3, -0.3, -0.3]), f, rounding="stochastic",
                        random=np.array([0, 3, 0, 3], np.uint32), rbits=2)
    # 0.3 = 1.2 quanta: nu = 0.2, floor(0.2*4) = 0 -> away iff R >= 4: never
    assert got.tolist() == [1, 1, 0xFF, 0xFF]
    got = numfmt.encode(np.array([0.45, 0.45]), f, rounding="stochastic",
                        random=np.array([2, 3], np.uint32), rbits=2)
    # 0.45 = 1.8 quanta: floor(0.8*4) = 3 -> away iff R >= 1
    assert got.tolist() == [2, 2]


def _child_encode(conn):
    x = np.linspace(-500, 500, (1 << 20) + 3, dtype=np.float32)
    conn.send(numfmt.encode(x, "e4m3", threads=2).tobytes())
    conn.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_threads_after_fork():
    """The reused worker pool is per process: a forked child gets its own (no hang)."""
    import multiprocessing as mp

    x = np.linspace(-500, 500, (1 << 20) + 3, dtype=np.float32)
    want = numfmt.encode(x, "e4m3", threads=2)  # creates the parent's pool
    ctx = mp.get_context("fork")
    a, b = ctx.Pipe()
    proc = ctx.Process(target=_child_encode, args=(b,))
    proc.start()
    assert a.poll(60), "the child did not answer"
    got = np.frombuffer(a.recv(), np.uint8)
    proc.join(10)
    assert np.array_equal(got, want)


def test_binary64_integer_rounding_example():
    """binary64 is planned like every other format: an int64 beyond 2**53 rounds with any mode."""
    x = np.int64(2**60 + 1)
    assert numfmt.encode(x, "binary64", rounding="toward_zero") == np.float64(2.0**60).view(np.uint64)
    up = np.nextafter(np.float64(2.0**60), np.inf).view(np.uint64)
    assert numfmt.encode(x, "binary64", rounding="toward_positive") == up
    assert numfmt.encode(-x, "binary64", rounding="toward_positive") == np.float64(-(2.0**60)).view(np.uint64)
    assert numfmt.quantize(x, "binary64", rounding="toward_negative") == 2.0**60


@given(ints=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=16),
       uints=st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=8),
       rounding=st.sampled_from(DETERMINISTIC), saturation=st.sampled_from(SATURATIONS))
def test_binary64_integer_inputs(ints, uints, rounding, saturation):
    """int64/uint64 inputs into binary64 equal the exact reference under every deterministic mode."""
    ints = [*ints, 0, -1, 2**53 + 1, 2**60 + 1, -(2**60) - 1, -(2**63), 2**63 - 1]
    for arr in (np.array(ints, np.int64), np.array([*uints, 2**64 - 1, 2**63 + 1], np.uint64)):
        got = numfmt.encode(arr, "binary64", rounding=rounding, saturation=saturation)
        want = [ref.encode(int(v), "binary64", rounding=rounding, saturation=saturation) for v in arr.tolist()]
        assert got.tolist() == want, (rounding, saturation)


def test_threads_bounded_and_clamped():
    """One shared pool per process: after threads=2..39 and threads=5000, numfmt's live worker
    threads stay <= 2 x cores, and the results are those of one thread."""
    import threading

    x = np.linspace(-500, 500, (1 << 20) + 3, dtype=np.float32)
    want = numfmt.encode(x, "e4m3")
    for t in [*range(2, 40), 5000]:
        assert np.array_equal(numfmt.encode(x, "e4m3", threads=t), want), t
    assert np.array_equal(numfmt.decode(want, "e4m3", threads=5000).view(np.uint32),
                          numfmt.decode(want, "e4m3").view(np.uint32))
    live = [t for t in threading.enumerate() if t.name.startswith("numfmt")]
    assert len(live) <= 2 * (os.cpu_count() or 1), [t.name for t in live]
    assert all(t.name.startswith("numfmt-worker") for t in live)


@pytest.mark.parametrize("bad, exc", [("2", TypeError), (1.5, TypeError), (True, TypeError), (0, ValueError),
                                      (-3, ValueError)])
def test_threads_argument_checked(bad, exc):
    with pytest.raises(exc, match="threads"):
        numfmt.encode(np.float32([1.0]), "e4m3", threads=bad)


def test_threads_numpy_int_accepted():
    assert numfmt.encode(np.float32([1.0]), "e4m3", threads=np.int64(2)).tolist() == [0x38]


def test_threads_concurrent_callers_while_pool_grows(monkeypatch):
    """Callers on other threads asking for ever more threads while others run: every result is exact
    (a pool replaced by a larger one hands the rest of the work to the new pool)."""
    from concurrent.futures import ThreadPoolExecutor

    import numfmt.engine

    monkeypatch.setattr(numfmt.engine, "MAX_THREADS", 16)  # let the pool grow on a small machine
    x = np.linspace(-400, 400, (1 << 20) + 5, dtype=np.float32)
    want = numfmt.encode(x, "e4m3")
    with ThreadPoolExecutor(6) as ex:
        got = list(ex.map(lambda t: numfmt.encode(x, "e4m3", threads=t), [2, 3, 4, 5, 6, 7, 9, 11, 13, 16] * 2))
    assert all(np.array_equal(g, want) for g in got)


def test_a_call_runs_on_at_most_its_threads(monkeypatch):
    """After a large request grew the shared pool, `threads=2` still runs at most 2 chunks at once."""
    import threading
    import time

    from numfmt import engine

    monkeypatch.setattr(engine, "MAX_THREADS", 8)
    engine.chunks(1 << 21, 8)(lambda lo, hi: None)  # grows the pool to 8 threads
    lock, running, peak = threading.Lock(), [0], [0]

    def work(lo, hi):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.002)
        with lock:
            running[0] -= 1

    engine.chunks(1 << 21, 2)(work)
    assert peak[0] <= 2
