"""numfmt.emulate: numpy code on an ndarray subclass whose arithmetic rounds into a format."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import numfmt
from numfmt import EmulatedArray


def codes(x, fmt):
    return np.asarray(numfmt.encode(np.asarray(x, np.float64).reshape(-1), fmt)).reshape(np.shape(x))


@pytest.fixture
def xy():
    rng = np.random.default_rng(0)
    return rng.standard_normal(200) * 4, rng.standard_normal(200) * 4


@pytest.mark.parametrize("fmt", ["bfloat16", "e4m3", "binary8p3se"])
@pytest.mark.parametrize("rounding", ["nearest_even", "toward_zero", "to_odd"])
def test_binary_ufuncs_are_numfmt_arith(xy, fmt, rounding):
    x, y = numfmt.emulate(xy[0], fmt, rounding=rounding), numfmt.emulate(xy[1], fmt, rounding=rounding)
    xv, yv = np.asarray(x.view(np.ndarray), np.float64), np.asarray(y.view(np.ndarray), np.float64)
    kw = dict(rounding=rounding, codes=True)
    for got, want in (
        (x + y, numfmt.add(xv, yv, fmt, **kw)),
        (x - y, numfmt.sub(xv, yv, fmt, **kw)),
        (x * y, numfmt.mul(xv, yv, fmt, **kw)),
        (x / y, numfmt.div(xv, yv, fmt, **kw)),
        (np.sqrt(abs(x)), numfmt.sqrt(np.abs(xv), fmt, **kw)),
        (x**2, numfmt.mul(xv, xv, fmt, **kw)),
        (np.square(x), numfmt.mul(xv, xv, fmt, **kw)),
        (1 / x, numfmt.div(1.0, xv, fmt, **kw)),
        (np.reciprocal(x), numfmt.div(1.0, xv, fmt, **kw)),
        (x + 0.1, numfmt.add(xv, 0.1, fmt, **kw)),  # plain operands are used exactly
        (3 * x, numfmt.mul(3.0, xv, fmt, **kw)),
    ):
        assert isinstance(got, EmulatedArray) and got.fmt == numfmt.get_format(fmt)
        assert np.array_equal(got.codes, want)


def test_unary_and_picks():
    x = numfmt.emulate([0.0, -1.5, 2.0, 448.0], "e4m3")
    assert np.signbit(-x).tolist() == [True, False, True, True]  # negative(+0) = -0
    assert (-x).tolist() == [-0.0, 1.5, -2.0, -448.0]
    assert abs(x).tolist() == [0.0, 1.5, 2.0, 448.0]
    assert (+x).tolist() == x.tolist()
    y = numfmt.emulate([1.0, 1.0, 1.0, 1.0], "e4m3")
    assert np.maximum(x, y).tolist() == [1.0, 1.0, 2.0, 448.0]
    assert np.minimum(x, y).tolist() == [0.0, -1.5, 1.0, 1.0]
    assert np.maximum(x, 0.3).tolist() == [0.3125, 0.3125, 2.0, 448.0]  # a plain value is rounded in
    assert isinstance(np.maximum(x, y), EmulatedArray)
    assert (x * 2).tolist()[3] != (x * 2).tolist()[3]  # 896 overflows to NaN in E4M3 (fn)
    assert numfmt.emulate([448.0], "e4m3", saturation="finite")[0] * 2 == 448.0


def test_comparisons_are_plain_bool():
    x = numfmt.emulate([1.0, 2.0, np.nan], "bfloat16")
    for r in (x > 1.5, x == x, x <= 2, np.isnan(x), np.signbit(x), np.isfinite(x)):
        assert type(r) is np.ndarray and r.dtype == bool
    assert (x > 1.5).tolist() == [False, True, False]


def _loop_sum(v, fmt, **kw):
    acc = np.float64(v[0])
    for t in v[1:]:
        acc = np.float64(numfmt.add(acc, t, fmt, **kw))
    return acc


def test_sum_is_sequential_rounded():
    v = np.full(1000, 0.01)
    e = numfmt.emulate(v, "bfloat16")
    assert float(e.sum()) == _loop_sum(np.asarray(e.view(np.ndarray), np.float64), "bfloat16") == 4.0
    assert float(np.sum(e)) == 4.0
    assert abs(float(np.sum(v)) - 10.0) < 1e-9
    rng = np.random.default_rng(3)
    m = numfmt.emulate(rng.standard_normal((4, 30)), "e5m2", rounding="toward_zero")
    mv = np.asarray(m.view(np.ndarray), np.float64)
    s1 = m.sum(axis=1)
    assert s1.shape == (4,) and isinstance(s1, EmulatedArray)
    for r in range(4):
        assert float(s1[r]) == _loop_sum(mv[r], "e5m2", rounding="toward_zero")
    s0 = m.sum(axis=0, keepdims=True)
    assert s0.shape == (1, 30)
    assert float(s0[0, 7]) == _loop_sum(mv[:, 7], "e5m2", rounding="toward_zero")
    # cumsum = every prefix of the sequential sum
    cs = m[1].cumsum()
    assert float(cs[-1]) == float(s1[1])
    assert [float(c) for c in cs[:3]] == [mv[1, 0], float(numfmt.add(mv[1, 0], mv[1, 1], "e5m2",
                                                                     rounding="toward_zero")), float(cs[2])]
    # prod
    p = numfmt.emulate([1.5, 1.5, 1.5], "e4m3").prod()
    assert float(p) == float(numfmt.mul(numfmt.mul(1.5, 1.5, "e4m3"), 1.5, "e4m3"))


def test_mean_and_existing_numpy_code():
    def layer_norm(x):
        mu = x.mean(axis=-1, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-5)

    def softmax(x):
        z = np.exp(x - np.max(x, axis=-1, keepdims=True))
        return z / z.sum(axis=-1, keepdims=True)

    rng = np.random.default_rng(5)
    x = numfmt.emulate(rng.standard_normal((3, 16)), "e4m3")
    for fn in (layer_norm, softmax):
        y = fn(x)
        assert isinstance(y, EmulatedArray) and y.shape == (3, 16)
        yv = np.asarray(y.view(np.ndarray), np.float64)
        # every intermediate was rounded into E4M3: the result is on the E4M3 grid
        back = numfmt.decode(codes(yv, "e4m3"), "e4m3").astype(np.float64)
        assert np.array_equal(back, yv, equal_nan=True)
    m = x.mean()
    assert float(m) == float(numfmt.div(float(x.sum()), 48.0, "e4m3"))


def test_dot_and_matmul_models():
    rng = np.random.default_rng(7)
    a = numfmt.emulate(rng.standard_normal((3, 5)), "bfloat16")
    b = numfmt.emulate(rng.standard_normal((5, 2)), "bfloat16")
    av, bv = (np.asarray(t.view(np.ndarray), np.float64) for t in (a, b))

    def loop(i, j, fused):
        acc = np.float64(numfmt.mul(av[i, 0], bv[0, j], "bfloat16"))
        for t in range(1, 5):
            if fused:
                acc = np.float64(numfmt.fma(av[i, t], bv[t, j], acc, "bfloat16"))
            else:
                acc = np.float64(numfmt.add(acc, numfmt.mul(av[i, t], bv[t, j], "bfloat16"), "bfloat16"))
        return acc

    for r in (a @ b, np.matmul(a, b), np.dot(a, b), a.dot(b)):
        assert isinstance(r, EmulatedArray) and r.shape == (3, 2)
        assert [[float(v) for v in row] for row in r] == [[loop(i, j, False) for j in range(2)] for i in range(3)]
    af = a.to("bfloat16", model="fma")
    bf = b.to("bfloat16", model="fma")
    r = af @ bf
    assert [[float(v) for v in row] for row in r] == [[loop(i, j, True) for j in range(2)] for i in range(3)]
    # vectors and batches
    assert (a[0] @ b[:, 0]).shape == ()
    assert float(a[0] @ b[:, 0]) == loop(0, 0, False)
    batch = numfmt.emulate(np.stack([av, av]), "bfloat16") @ b
    assert batch.shape == (2, 3, 2) and float(batch[1, 2, 1]) == loop(2, 1, False)


def test_model_protocol_is_called():
    calls = []

    class Exact:
        def matmul(self, a, b, *, fmt, policy):
            calls.append((a.shape, b.shape, fmt.name, policy["rounding"]))
            return numfmt.decode(numfmt.encode(a @ b, fmt, rounding=policy["rounding"]), fmt)

    a = numfmt.emulate(np.ones((2, 3)), "e4m3", model=Exact(), rounding="toward_zero")
    r = a @ np.ones((3, 4))
    assert r.shape == (2, 4) and float(r[0, 0]) == 3.0
    assert calls == [((2, 3), (3, 4), "float8_e4m3fn", "toward_zero")]
    with pytest.raises(TypeError, match="matmul"):
        numfmt.emulate([1.0], "e4m3", model=object())
    with pytest.raises(ValueError, match="model"):
        numfmt.emulate([1.0], "e4m3", model="pairwise")


def test_mixing_formats_needs_a_result_format():
    a = numfmt.emulate([1.0, 2.0], "e4m3")
    b = numfmt.emulate([1.0, 2.0], "e5m2")
    with pytest.raises(TypeError, match="without saying the result format"):
        a + b
    with pytest.raises(TypeError, match="without saying the result format"):
        a @ b
    with pytest.raises(TypeError, match="without saying the result format"):
        a + numfmt.emulate([1.0, 2.0], "e4m3", rounding="toward_zero")
    out = numfmt.emulate(np.zeros(2), "bfloat16")
    r = np.add(a, b, out=out)
    assert r is out and out.tolist() == [2.0, 4.0]
    assert (a + b.to("e4m3")).tolist() == [2.0, 4.0]
    assert np.array_equal(numfmt.mul(a, b, "binary32"), [1.0, 4.0])  # say it with numfmt.mul


def test_views_keep_format_and_pickle():
    a = numfmt.emulate(np.arange(12.0).reshape(3, 4), "e5m2", rounding="toward_zero")
    for v in (a[1], a[:, 1:3], a.T, a.reshape(4, 3), a.ravel(), a.copy()):
        assert isinstance(v, EmulatedArray) and v.fmt.name == "float8_e5m2"
        assert v.policy["rounding"] == "toward_zero"
    b = pickle.loads(pickle.dumps(a))
    assert isinstance(b, EmulatedArray) and b.fmt == a.fmt and np.array_equal(b, a)
    assert a.dtype == np.float32
    assert numfmt.emulate([1.0], "binary64").dtype == np.float64
    assert "fmt=float8_e5m2" in repr(a)


def test_stochastic_draws_fresh_bits_and_is_reproducible():
    v = np.full(4000, 1.0)
    def run(seed):
        x = numfmt.emulate(v, "bfloat16", rounding="stochastic", random=seed)
        return x + 2.0**-10, x + 2.0**-10
    p1, p2 = run(5)
    q1, q2 = run(5)
    assert np.array_equal(p1, q1) and np.array_equal(p2, q2)
    assert not np.array_equal(p1, p2)  # each operation draws new bits
    assert abs(float(np.mean(np.asarray(p1, np.float64))) - (1 + 2.0**-10)) < 5e-4
    s = numfmt.emulate(np.full(256, 2.0**-10), "bfloat16", rounding="stochastic", random=1).sum()
    assert abs(float(s) - 0.25) < 0.05  # stochastic rounding does not stagnate


def test_bad_input():
    with pytest.raises(ValueError, match="random"):
        numfmt.emulate([1.0], "bf16", rounding="stochastic")
    with pytest.raises(ValueError, match="random"):
        numfmt.emulate([1.0], "bf16", random=3)
    with pytest.raises(ValueError, match="random"):
        numfmt.emulate([1.0], "bf16", rounding="stochastic", random=np.array([1], np.uint32))
    with pytest.raises(TypeError, match="float array"):
        numfmt.emulate(["a"], "bf16")
    with pytest.raises(ValueError, match="unknown format"):
        numfmt.emulate([1.0], "e7m7x")
    with pytest.raises(ValueError, match="no NaN"):
        numfmt.emulate([0.0], "e2m1") / 0.0
    with pytest.raises(ValueError, match="broadcast"):
        numfmt.emulate(np.ones(3), "bf16") + np.ones(2)


def test_hardware_accumulation_models_plug_in():
    rng = np.random.default_rng(9)
    A = numfmt.quantize(rng.standard_normal((4, 32)), "e4m3")
    B = numfmt.quantize(rng.standard_normal((32, 3)), "e4m3")
    a = numfmt.emulate(A, "e4m3", model="h100/e4m3", saturation="finite")
    from numfmt.emulate import HardwareModel

    assert isinstance(a.model, HardwareModel)
    got = a @ B
    want = numfmt.quantize(numfmt.matmul(A, B, model="h100/e4m3"), "e4m3", saturation="finite")
    assert isinstance(got, EmulatedArray) and np.array_equal(got.view(np.ndarray), want)
    exact = numfmt.emulate(A, "e4m3", model=numfmt.Exact("fp32", in_format="e4m3")) @ B
    assert np.array_equal(exact.view(np.ndarray),
                          numfmt.quantize(numfmt.matmul(A, B, model=numfmt.Exact("fp32", in_format="e4m3")), "e4m3"))
    with pytest.raises(ValueError, match="model"):
        numfmt.emulate([1.0], "e4m3", model="nosuchgpu/e4m3")


def test_assignment_and_inplace_round_into_the_format():
    x = numfmt.emulate(np.zeros(3), "e4m3")
    x[0] = 0.3
    x[1:] = [1000.0, 17.0]
    assert x.tolist()[0] == 0.3125 and np.isnan(x.tolist()[1]) and x.tolist()[2] == 16.0
    y = numfmt.emulate([1.0, 2.0], "bfloat16")
    y += 2.0**-9
    assert y.tolist() == [1.0, 2.0] and isinstance(y, EmulatedArray)
    y *= 3
    assert y.tolist() == [3.0, 6.0]
    assert repr(y[0]) == "EmulatedArray(3., fmt=bfloat16)"


# ---------------------------------------------------------------- binary64: sums and matmul
F64 = numfmt.get_format("binary64")
MODES64 = ["nearest_even", "nearest_away", "toward_zero", "toward_positive", "toward_negative", "to_odd"]
MAX64 = np.finfo(np.float64).max


def _ref64(op, xs, mode, sat="none", R=0, N=32):
    """One operation (None: the value itself) rounded into binary64 by the Fraction reference
    (exact result from test_arith)."""
    from test_arith import exact

    import numfmt.reference as ref

    x = float(xs[0]) if op is None else exact(op, [float(x) for x in xs], mode, False)
    code = ref.encode(x, F64, rounding=mode, saturation=sat, R=R, N=N)
    return np.uint64(code).view(np.float64)


def _bits(v):
    return np.asarray(v, np.float64).view(np.uint64)


def _same64(got, want):
    g, w = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return bool(np.all((_bits(g) == _bits(w)) | (np.isnan(g) & np.isnan(w))))


def _rows64(seed, rows=6, n=120):
    """float64 rows that exercise binary64 sums: wide exponents, exact ties (terms half an ulp of
    the running sum), cancellation to zero, subnormals, values near the overflow threshold."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, n)) * 2.0 ** rng.integers(-40, 40, (rows, n))
    x[0, 1::2] = 2.0**-53  # 1 + 2**-53 ties (first element 1.0)
    x[0, 0] = 1.0
    x[1] = np.ldexp(1.0 + rng.integers(0, 8, n) / 8.0, rng.integers(-5, 60, n)) * rng.choice([-1.0, 1.0], n)
    x[2] = rng.integers(1, 1 << 20, n) * 5e-324 * rng.choice([-1.0, 1.0], n)  # subnormals
    x[3, : n // 2] = MAX64 * rng.choice([0.5, 0.75, 1.0], n // 2) * rng.choice([-1.0, 1.0], n // 2)
    x[4, 1::2] = -x[4, 0::2]  # exact cancellations (zero sums and their signs)
    x[5, ::7] = rng.choice([0.0, -0.0], x[5, ::7].size)
    return x


def _seq_ref(row, mode, sat="none", op="add", R=None, N=32):
    """Every prefix of the sequential rounded sum (or product) by the Fraction reference."""
    acc = _ref64(None, [row[0]], mode, sat, 0 if R is None else int(R[0]), N)  # x0 rounded in (exact)
    out = [acc]
    for j in range(1, len(row)):
        acc = _ref64(op, [acc, row[j]], mode, sat, 0 if R is None else int(R[j]), N)
        out.append(acc)
    return np.array(out)


def test_binary64_sum_nearest_even_is_float64_addition():
    """IEEE binary64 addition is correctly rounded: the sequential sum is a left-to-right float64 loop."""
    x = _rows64(11)
    x = np.concatenate([x, np.random.default_rng(1).standard_normal((3, 120))])
    e = numfmt.emulate(x, "binary64")
    with np.errstate(all="ignore"):
        want = np.cumsum(x, axis=1)  # strictly left to right
    for got in (e.sum(axis=1), np.sum(e, axis=1), np.add.reduce(e, axis=1)):
        assert isinstance(got, EmulatedArray) and got.dtype == np.float64
        assert _same64(got, want[:, -1])
    assert _same64(np.cumsum(e, axis=1), want)
    with np.errstate(all="ignore"):
        assert _same64(e.sum(axis=0), np.cumsum(x, axis=0)[-1])
        assert _same64(e.sum(), np.cumsum(x.ravel())[-1])  # axis=None: row-major order
    assert float(numfmt.emulate([0.1, 0.2, 0.3], "binary64").sum()) == 0.1 + 0.2 + 0.3 != 0.6
    assert float(numfmt.emulate(np.full(10, 0.1), "binary64").sum()) == 0.9999999999999999


@pytest.mark.parametrize("mode", MODES64)
def test_binary64_sum_every_mode_equals_fraction_reference(mode):
    x = _rows64(MODES64.index(mode), rows=6, n=60)
    for sat in ("none", "finite"):
        e = numfmt.emulate(x, "binary64", rounding=mode, saturation=sat)
        cs = np.cumsum(e, axis=1)
        s = e.sum(axis=1)
        for r in range(x.shape[0]):
            want = _seq_ref(x[r], mode, sat)
            assert _same64(cs[r], want), (mode, sat, r)
            assert _same64(s[r], want[-1])
    # the same steps through numfmt.add
    row = x[1]
    acc = row[0]
    for t in row[1:]:
        acc = numfmt.add(acc, t, "binary64", rounding=mode)
    assert _same64(numfmt.emulate(row, "binary64", rounding=mode).sum(), acc)


@pytest.mark.parametrize("mode", MODES64)
def test_binary64_sum_overflow_and_signed_zeros(mode):
    cases = [
        [MAX64, MAX64, -MAX64],  # overflow first: inf (or MAX when the mode truncates)
        [-MAX64, -MAX64, MAX64],
        [MAX64, 2.0**970, -MAX64],  # half an ulp of MAX: a tie at the overflow threshold
        [MAX64, 2.0**969],
        [-MAX64, -(2.0**970 + 2.0**918)],
        [1.0, -1.0],  # an exact zero: +0, or -0 under toward_negative
        [-0.0, -0.0],
        [-0.0, 0.0],
        [np.inf, -np.inf, 1.0],
        [np.nan, 1.0],
        [5e-324, -5e-324, 5e-324],
    ]
    for c in cases:
        for sat in ("none", "finite", "propagate"):
            e = numfmt.emulate(c, "binary64", rounding=mode, saturation=sat)  # (finite: inf -> MAX)
            got = e.sum()
            want = _seq_ref(e.view(np.ndarray), mode, sat)[-1]
            assert _same64(got, want), (c, mode, sat, float(got), float(want))
    # prod runs through the same loop (products reach 2**2048)
    for c in ([MAX64, MAX64, 0.5], [MAX64, 4.0, 0.25], [5e-324, 0.5, 3.0], [1.0 + 2.0**-52, 1.0 - 2.0**-53]):
        got = numfmt.emulate(c, "binary64", rounding=mode).prod()
        assert _same64(got, _seq_ref(np.array(c), mode, op="mul")[-1]), (c, mode)
        assert _same64(np.cumprod(numfmt.emulate(c, "binary64", rounding=mode)),
                       _seq_ref(np.array(c), mode, op="mul"))


@pytest.mark.parametrize("mode", ["stochastic", "stochastic_b", "stochastic_c"])
def test_binary64_stochastic_sum_equals_reference_with_the_same_bits(mode):
    import copy

    from numfmt._kernels.streams import random_bits

    x = _rows64(3, n=40)[[0, 1, 2]]
    gen = np.random.default_rng(7)
    e = numfmt.emulate(x, "binary64", rounding=mode, random=gen, rbits=4)
    twin = copy.deepcopy(e.policy["random"])
    s = e.sum(axis=1)
    key = int(twin.integers(0, 1 << 63))  # the key the sum drew
    n = x.shape[1]
    for r in range(3):
        R = [int(random_bits(key, r * (n + 1) + j, 4)) for j in range(n)]
        assert _same64(s[r], _seq_ref(x[r], mode, R=R, N=4)[-1])
    with pytest.raises(ValueError, match="precision \\+ rbits <= 57"):
        numfmt.emulate(x, "binary64", rounding=mode, random=1).sum()  # 32 random bits: too many


def _dot_ref(a, b, mode, fused):
    acc = _ref64("mul", [a[0], b[0]], mode)
    for t in range(1, len(a)):
        if fused:
            acc = _ref64("fma", [a[t], b[t], acc], mode)
        else:
            acc = _ref64("add", [acc, _ref64("mul", [a[t], b[t]], mode)], mode)
    return acc


def test_binary64_matmul_nearest_even_is_float64_loop():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((5, 30)) * 2.0 ** rng.integers(-300, 300, (5, 30))
    B = rng.standard_normal((30, 3)) * 2.0 ** rng.integers(-300, 300, (30, 3))
    a, b = numfmt.emulate(A, "binary64"), numfmt.emulate(B, "binary64")
    want = np.empty((5, 3))
    for i in range(5):
        for j in range(3):
            acc = A[i, 0] * B[0, j]
            for t in range(1, 30):
                acc = acc + A[i, t] * B[t, j]  # two correctly rounded float64 operations per step
            want[i, j] = acc
    for got in (a @ b, np.matmul(a, b), np.dot(a, b), a.dot(b), a @ B, A @ b):
        assert isinstance(got, EmulatedArray) and got.shape == (5, 3) and got.dtype == np.float64
        assert _same64(got, want)
    assert _same64(a[0] @ b[:, 1], want[0, 1])
    assert float(numfmt.emulate([0.1, 0.2, 0.3], "binary64").dot([0.1, 0.2, 0.3])) == 0.1 * 0.1 + 0.2 * 0.2 + 0.3 * 0.3


@pytest.mark.parametrize("mode", MODES64)
@pytest.mark.parametrize("model", ["sequential", "fma"])
def test_binary64_matmul_every_mode_equals_fraction_reference(mode, model):
    rng = np.random.default_rng(MODES64.index(mode))
    A = rng.standard_normal((3, 12)) * 2.0 ** rng.integers(-600, 500, (3, 12))
    B = rng.standard_normal((12, 2)) * 2.0 ** rng.integers(-600, 500, (12, 2))
    A[0, :4] = [MAX64, MAX64, -MAX64, 1.0]  # overflow of a product and of a sum
    B[:4, 0] = [2.0, 0.5, 1.0, 5e-324]
    A[1, :] = 1.0 + 2.0**-30
    B[:, 1] = 1.0 - 2.0**-29  # products with many low bits: fused and unfused differ
    got = numfmt.emulate(A, "binary64", rounding=mode, model=model) @ B
    fused = model == "fma"
    want = [[_dot_ref(A[i], B[:, j], mode, fused) for j in range(2)] for i in range(3)]
    assert _same64(got, want)


def test_binary64_hardware_models():
    """A model of numfmt.accum_models accumulates in its own format; binary64 arrays hold its inputs."""
    rng = np.random.default_rng(2)
    A = numfmt.quantize(rng.standard_normal((3, 16)), "fp32").astype(np.float64)
    B = numfmt.quantize(rng.standard_normal((16, 2)), "fp32").astype(np.float64)
    for mode in MODES64[:5]:
        m = numfmt.Sequential("binary64", mode, in_format="fp32")
        got = numfmt.emulate(A, "binary64", rounding=mode, model=m) @ B
        want = [[_dot_ref(A[i], B[:, j], mode, True) for j in range(2)] for i in range(3)]
        assert _same64(got, want)
        assert _same64(got, numfmt.matmul(A, B, model=m))
    with pytest.raises(ValueError, match=r"HardwareModel\(Sequential.*binary64 values.*not exactly representable "
                                         r"in binary32"):
        numfmt.emulate([[0.1]], "binary64", model=numfmt.Sequential("binary64")) @ np.ones((1, 1))
    with pytest.raises(ValueError, match="in_format='binary64' has 52 fraction bits"):
        numfmt.emulate([1.0], "binary64", model=numfmt.Sequential("binary64", in_format="binary64",
                                                                   product_format="binary64"))
    # binary64 inputs are taken by the binary64 FMA chain (the FP64 matrix instructions)
    m = numfmt.Sequential("binary64", in_format="binary64")
    x = np.array([[0.1, 0.2]])
    y = np.array([[0.3], [0.7]])
    want = float(numfmt.fma(0.2, 0.7, float(numfmt.fma(0.1, 0.3, 0.0, "binary64", dtype=np.float64)), "binary64",
                            dtype=np.float64))
    assert (numfmt.emulate(x, "binary64", model=m) @ y)[0, 0] == want
