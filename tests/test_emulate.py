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
