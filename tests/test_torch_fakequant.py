"""numfmt.torch: fake_quant (forward = numfmt.quantize bit for bit, backward = the straight-through
estimator), sr_key, QuantLinear (each GEMM operand quantized per a training recipe)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numfmt
from numfmt import training
from numfmt._kernels.streams import counter_bits

torch = pytest.importorskip("torch")
from numfmt.torch import QuantLinear, fake_quant, quantize_linear  # noqa: E402

DTYPES = {torch.float32: np.float32, torch.float64: np.float64, torch.bfloat16: np.float32, torch.float16: np.float32}


def test_import_numfmt_does_not_import_torch():
    code = "import numfmt, numfmt.training, sys; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


@given(hnp.arrays(np.float32, st.integers(1, 40), elements=st.floats(-1000, 1000, width=32)),
       st.sampled_from([torch.float32, torch.float64, torch.bfloat16, torch.float16]),
       st.sampled_from(["e4m3", "e5m2", "e2m1", "int8", "bf16"]))
def test_forward_equals_quantize_bitwise(x, dtype, fmt):
    t = torch.tensor(x).to(dtype)
    got = fake_quant(t, fmt, saturation="finite")
    assert got.dtype == dtype
    want = numfmt.quantize(t, fmt, saturation="finite")  # numfmt reads the tensor exactly
    np.testing.assert_array_equal(got.to(torch.float64).numpy(), want.astype(np.float64))
    if dtype == torch.float32:
        np.testing.assert_array_equal(got.numpy().view(np.uint32), np.asarray(want, np.float32).view(np.uint32))


def test_forward_block_scaled_and_operand_spec():
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((4, 64)).astype(np.float32))
    np.testing.assert_array_equal(fake_quant(x, "mxfp4").numpy(), numfmt.quantize(x, "mxfp4"))
    np.testing.assert_array_equal(
        fake_quant(x, "e2m1", granularity=("block", 16), scale_format="e4m3", tensor_scale=True).numpy(),
        numfmt.scaled_quantize(x, "e2m1", granularity=("block", 16), scale_format="e4m3", tensor_scale=True).values)
    np.testing.assert_array_equal(fake_quant(x, "nvfp4", scale_rule="amax").numpy(), numfmt.quantize(x, "nvfp4"))
    np.testing.assert_array_equal(fake_quant(x, "int4_symmetric", scale_rule="mse").numpy(),
                                  numfmt.scaled_quantize(x, "int4_symmetric", scale_rule="mse").values)
    spec = training.nvfp4.fprop_weight
    np.testing.assert_array_equal(fake_quant(x, spec).numpy(), training.quantize_operand(x.numpy(), spec))


def test_gradient_is_the_straight_through_estimator():
    t = torch.tensor([0.3, -1.2, 500.0, -600.0, 2.0], dtype=torch.float64, requires_grad=True)
    jac = torch.autograd.functional.jacobian(lambda v: fake_quant(v, "e4m3", saturation="finite"), t)
    np.testing.assert_array_equal(jac.numpy(), np.eye(5))  # d fake_quant / dt := identity
    jac = torch.autograd.functional.jacobian(
        lambda v: fake_quant(v, "e4m3", saturation="finite", ste="clipped"), t)
    np.testing.assert_array_equal(jac.numpy(), np.diag([1.0, 1.0, 0.0, 0.0, 1.0]))  # |t| > 448 clipped
    w = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float64)
    (g,) = torch.autograd.grad((w * fake_quant(t, "e2m1", saturation="finite")).sum(), t)
    np.testing.assert_array_equal(g.numpy(), w.numpy())
    with pytest.raises(ValueError, match="did you mean 'clipped'"):
        fake_quant(t, "e4m3", ste="clip")
    with pytest.raises(ValueError, match="element format"):
        fake_quant(t, "e2m1", granularity="tensor", ste="clipped")


def test_sr_key_fresh_bits_per_step_and_reproducible():
    x = np.full(256, 0.3, np.float32)
    q = {s: numfmt.quantize(x, "e2m1", rounding="stochastic", random=numfmt.sr_key(11, s)) for s in range(3)}
    assert not np.array_equal(q[0], q[1]) and not np.array_equal(q[1], q[2])
    np.testing.assert_array_equal(q[1], numfmt.quantize(x, "e2m1", rounding="stochastic",
                                                        random=numfmt.sr_key(11, 1)))
    # the key's stream: element i takes its bits from stream_key exactly as for a seed
    k = numfmt.sr_key(11, 1)
    bits = counter_bits(np.uint64(k.stream_key()), np.arange(256, dtype=np.uint64), 32)
    np.testing.assert_array_equal(q[1], numfmt.quantize(x, "e2m1", rounding="stochastic", random=bits))
    # block formats and fake_quant take it too
    a = numfmt.encode(x, "mxfp4", rounding="stochastic", random=k)
    assert np.array_equal(a.codes, numfmt.encode(x, "mxfp4", rounding="stochastic", random=k).codes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = torch.tensor(x)
        np.testing.assert_array_equal(fake_quant(t, "e2m1", rounding="stochastic", random=k).numpy(), q[1])
    assert k.next() == numfmt.sr_key(11, 2) and hash(k) == hash(numfmt.sr_key(11, 1))
    with pytest.raises(TypeError, match="step"):
        numfmt.sr_key(1, 1.5)
    with pytest.raises(ValueError, match="seed"):
        numfmt.sr_key(-1, 0)


def test_int_seed_with_stochastic_rounding_warns():
    t = torch.ones(8) * 0.3
    with pytest.warns(UserWarning, match="sr_key"):
        fake_quant(t, "e2m1", rounding="stochastic", random=3)


def _manual(layer, x, w, b, dy, step):
    """The recipe applied by hand: y, dx, dW with the keys QuantLinear uses at `step`."""
    rec = layer.recipe

    def q(a, gemm, role):
        spec = rec.operand(gemm, role)
        idx = training.OPERANDS.index((gemm, role))
        kw = {"random": numfmt.sr_key(layer.seed * 6 + idx, step)} if spec.rounding == "stochastic" else {}
        return training.quantize_operand(a, spec, **kw)

    y = torch.from_numpy(q(x, "fprop", "input")) @ torch.from_numpy(q(w, "fprop", "weight")).T + b
    dx = torch.from_numpy(q(dy, "dgrad", "grad")) @ torch.from_numpy(q(np.ascontiguousarray(w.T), "dgrad",
                                                                         "weight")).T
    dw = torch.from_numpy(q(np.ascontiguousarray(dy.T), "wgrad", "grad")) @ torch.from_numpy(
        q(np.ascontiguousarray(x.T), "wgrad", "input")).T
    return y, dx, dw


@pytest.mark.parametrize("recipe", ["nvfp4", "mxfp8", "mxfp4_hadamard_sr", "fp8_current", "nvfp4_4over6"])
def test_quant_linear_gemms_follow_the_recipe(recipe):
    torch.manual_seed(0)
    layer = QuantLinear(32, 32, recipe=recipe, seed=5)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 32)).astype(np.float32)
    dy = rng.standard_normal((32, 32)).astype(np.float32)
    for step in range(2):
        xt = torch.tensor(x, requires_grad=True)
        layer.weight.grad = None
        y = layer(xt)
        y.backward(torch.tensor(dy))
        w = layer.weight.detach().numpy()
        ey, edx, edw = _manual(layer, x, w, layer.bias.detach(), dy, step)
        np.testing.assert_array_equal(y.detach().numpy(), ey.numpy())
        np.testing.assert_array_equal(xt.grad.numpy(), edx.numpy())
        np.testing.assert_array_equal(layer.weight.grad.numpy(), edw.numpy())
    assert layer.step == 2


def test_quant_linear_accumulation_model_and_delayed_scaling():
    torch.manual_seed(0)
    model = numfmt.Sequential("bf16")  # a bfloat16 accumulator over the dequantized float32 operands
    layer = QuantLinear(32, 8, recipe="fp8_delayed", model=model, bias=False)
    x = torch.randn(4, 32)
    y = layer(x)
    xq = training.quantize_operand(x.numpy(), training.fp8_delayed.fprop_input, amax=float(x.abs().max()))
    wq = training.quantize_operand(layer.weight.detach().numpy(), training.fp8_delayed.fprop_weight,
                                   amax=float(layer.weight.detach().abs().max()))
    np.testing.assert_array_equal(y.detach().numpy(), numfmt.matmul(xq, wq.T, model=model))
    layer(x * 4)  # the history now holds amax(x) and amax(4x): the next step scales by their maximum
    assert layer.history[("fprop", "input")] == [float(x.abs().max()), float((x * 4).abs().max())]


def test_quantize_linear_trains():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
    net = quantize_linear(net, "mxfp8")
    assert [m.seed for m in net if isinstance(m, QuantLinear)] == [0, 1]
    x = torch.randn(64, 16)
    target = x[:, :1] * 2
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = ((net(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_quant_linear_applies_the_recipe_margin():
    import dataclasses  # reason: only this test builds a recipe variant

    torch.manual_seed(0)
    x = torch.randn(4, 32) * torch.logspace(-4, 0, 32)  # small values: the margin moves them into subnormals
    rec = dataclasses.replace(training.fp8_current, margin=3)
    model = numfmt.Sequential("bf16")
    layer = QuantLinear(32, 8, recipe=rec, bias=False, model=model)
    y = layer(x)
    xq = training.quantize_operand(x.numpy(), rec.fprop_input, margin=3)
    wq = training.quantize_operand(layer.weight.detach().numpy(), rec.fprop_weight, margin=3)
    np.testing.assert_array_equal(y.detach().numpy(), numfmt.matmul(xq, wq.T, model=model))
    assert layer.operand(x.numpy(), "fprop", "input").tobytes() == xq.tobytes()
    plain = QuantLinear(32, 8, recipe="fp8_current", bias=False, model=model)
    plain.load_state_dict(layer.state_dict())
    assert plain.operand(x.numpy(), "fprop", "input").tobytes() != xq.tobytes()


def test_quant_linear_eval_does_not_record_amax_history():
    torch.manual_seed(0)
    model = numfmt.Sequential("bf16")
    layer = QuantLinear(32, 8, recipe="fp8_delayed", bias=False, model=model)
    x = torch.randn(4, 32)
    layer(x)
    hist = dict((k, list(v)) for k, v in layer.history.items())
    layer.eval()
    with torch.no_grad():
        y_eval = layer(x * 100)
    assert layer.history == hist  # eval forwards leave the history alone
    xq = training.quantize_operand((x * 100).numpy(), training.fp8_delayed.fprop_input, amax=float(x.abs().max()))
    wq = training.quantize_operand(layer.weight.detach().numpy(), training.fp8_delayed.fprop_weight,
                                   amax=hist[("fprop", "weight")][0])
    np.testing.assert_array_equal(y_eval.numpy(), numfmt.matmul(xq, wq.T, model=model))
    layer.train()
    layer(x)
    assert layer.history[("fprop", "input")] == [float(x.abs().max())] * 2
