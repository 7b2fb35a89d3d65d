"""Fake quantization for torch training (needs torch; `import numfmt` does not import it).

* [`fake_quant`][numfmt.torch.fake_quant]: an autograd op whose forward is `numfmt.quantize`
  (or `numfmt.scaled_quantize`, or a recipe's operand spec) bit for bit and whose backward is the
  straight-through estimator (optionally clipped).
* [`QuantLinear`][numfmt.torch.QuantLinear] / [`quantize_linear`][numfmt.torch.quantize_linear]:
  a linear layer whose three GEMMs take their operands quantized per a
  [`numfmt.training`][numfmt.training] recipe (forward: input and weight; backward: the dgrad and
  wgrad operands), each GEMM in float32 (torch) or through a numfmt accumulation model.

Tensors are CPU tensors; the arithmetic is numfmt's (numpy), the result comes back in the
input's dtype (a ValueError when the quantized values are not exact in it).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from .accumulate import matmul as nf_matmul
from .block import is_block_format
from .choices import check_choice
from .frontend import quantize
from .policy import is_stochastic, parse_rounding
from .presets import get_format
from .scaling import scaled_quantize
from .srkey import sr_key
from .training import OPERANDS, OperandSpec, Recipe, get_recipe, quantize_operand

__all__ = ["fake_quant", "QuantLinear", "quantize_linear"]

_SCALED_KEYS = ("granularity", "axis", "scale_format", "tensor_scale")
_SR_HINT = ("fake_quant with stochastic rounding and an int seed rounds with the same random bits at every call "
            "(every training step); pass random=numfmt.sr_key(seed, step) with the step advancing")


def _to_numpy(t):
    a = t.detach().cpu()
    if a.dtype in (torch.bfloat16, torch.float16):
        a = a.float()
    return a.numpy()


def _back(vals, like):
    """The values as a tensor of `like`'s dtype, checked to be exact in it."""
    vals = np.ascontiguousarray(vals)
    out = torch.from_numpy(vals).to(like.dtype)
    if not np.array_equal(out.to(torch.float64).numpy(), vals.astype(np.float64), equal_nan=True):
        raise ValueError(f"the quantized values are not exact in {like.dtype}: pass a wider tensor")
    return out


def _forward_values(t, fmt, options):
    x = _to_numpy(t)
    if isinstance(fmt, OperandSpec):
        return quantize_operand(x, fmt, **options)
    if not is_block_format(fmt) and (any(k in options for k in _SCALED_KEYS) or "scale_rule" in options):
        return scaled_quantize(x, fmt, **options).values
    return quantize(x, fmt, **options)


class _FakeQuant(torch.autograd.Function):
    @staticmethod
    def forward(ctx, t, fmt, options, ste, clip):
        vals = _forward_values(t, fmt, options)
        ctx.save_for_backward(t)
        ctx.ste, ctx.clip = ste, clip
        return _back(vals, t)

    @staticmethod
    def backward(ctx, grad):
        (t,) = ctx.saved_tensors
        if ctx.ste == "clipped":
            grad = grad * (t.abs() <= ctx.clip).to(grad.dtype)
        return grad, None, None, None, None


def fake_quant(t, fmt, *, ste: str = "identity", **options):
    """`t` quantized to `fmt` in the forward pass, the straight-through gradient in the backward pass.

    Parameters
    ----------
    t : torch.Tensor
        A CPU float tensor (float16, bfloat16, float32, float64); the result has its dtype.
    fmt : str, format, block format or numfmt.training.OperandSpec
        An element or block format (forward: `numfmt.quantize(t, fmt, **options)`), the element
        format of a scaled quantization when `options` has `granularity=`, `scale_format=`,
        `scale_rule=` ... (forward: `numfmt.scaled_quantize(...).values`), or a recipe operand spec (forward:
        `numfmt.training.quantize_operand`, t 2-D with K last).
    ste : {"identity", "clipped"}
        Backward: the incoming gradient unchanged, or zero where |t| > max(fmt) (element
        formats: the inputs that saturate).
    **options :
        The keywords of the forward call (`rounding=`, `saturation=`, `random=`, `scale_rule=` ...).
        Stochastic rounding with an int seed warns (the same bits at every step): pass
        `random=numfmt.sr_key(seed, step)`.

    Examples
    --------
    >>> import torch, numfmt
    >>> from numfmt.torch import fake_quant
    >>> t = torch.tensor([0.3, -1.2, 500.0], requires_grad=True)
    >>> y = fake_quant(t, "e4m3", saturation="finite")
    >>> y.tolist()
    [0.3125, -1.25, 448.0]
    >>> y.sum().backward(); t.grad.tolist()
    [1.0, 1.0, 1.0]
    """
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"t must be a torch.Tensor, got {type(t).__name__}")
    if not t.is_floating_point():
        raise TypeError(f"t must be a float tensor, got {t.dtype}")
    check_choice("ste", ste, ("identity", "clipped"))
    rounding = options.get("rounding", "nearest_even")
    if isinstance(fmt, OperandSpec):
        rounding = fmt.rounding
    random = options.get("random")
    if (is_stochastic(parse_rounding(rounding)[1]) and isinstance(random, (int, np.integer))
            and not isinstance(random, bool)):
        warnings.warn(_SR_HINT, UserWarning, stacklevel=2)
    clip = None
    if ste == "clipped":
        if isinstance(fmt, OperandSpec) or any(k in options for k in _SCALED_KEYS):
            raise ValueError("ste='clipped' needs an element format (its max is the clipping point)")
        clip = float(get_format(fmt).max)
    return _FakeQuant.apply(t, fmt, options, ste, clip)


def _gemm(a, b_t, model):
    """a @ b_t.T in float32 (torch) or through the accumulation model `model`."""
    if model is None:
        return torch.from_numpy(a) @ torch.from_numpy(b_t).T
    return torch.from_numpy(np.asarray(nf_matmul(a, np.ascontiguousarray(b_t.T), model=model), np.float32))


class _QuantLinearFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x2, weight, bias, layer):
        xs, ws = _to_numpy(x2).astype(np.float32), _to_numpy(weight).astype(np.float32)
        xq = layer.operand(xs, "fprop", "input")
        wq = layer.operand(ws, "fprop", "weight")
        y = _gemm(xq, wq, layer.model)
        if bias is not None:
            y = y + bias.detach().float()
        ctx.save_for_backward(x2, weight, bias)
        ctx.layer, ctx.step = layer, layer.step
        return y.to(x2.dtype)

    @staticmethod
    def backward(ctx, dy):
        x2, weight, bias = ctx.saved_tensors
        layer = ctx.layer
        g = _to_numpy(dy).astype(np.float32)
        xs, ws = _to_numpy(x2).astype(np.float32), _to_numpy(weight).astype(np.float32)
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            gq = layer.operand(g, "dgrad", "grad", ctx.step)
            wtq = layer.operand(np.ascontiguousarray(ws.T), "dgrad", "weight", ctx.step)
            dx = _gemm(gq, wtq, layer.model).to(x2.dtype)
        if ctx.needs_input_grad[1]:
            gtq = layer.operand(np.ascontiguousarray(g.T), "wgrad", "grad", ctx.step)
            xtq = layer.operand(np.ascontiguousarray(xs.T), "wgrad", "input", ctx.step)
            dw = _gemm(gtq, xtq, layer.model).to(weight.dtype)
        if bias is not None and ctx.needs_input_grad[2]:
            db = dy.sum(0).to(bias.dtype)
        return dx, dw, db, None


class QuantLinear(torch.nn.Linear):
    """`torch.nn.Linear` whose GEMM operands are quantized per a training recipe.

    Forward: y = Q(x) Q(W)^T + b; backward: dx = Q(dy) Q(W^T)^T, dW = Q(dy^T) Q(x^T)^T, each Q the
    recipe's [`OperandSpec`][numfmt.training.OperandSpec] for that operand (K last), each GEMM in
    float32 or through `model` (a numfmt accumulation model). Stochastic rounding takes
    `numfmt.sr_key(seed * 6 + operand, step)`, `step` counting the forward calls of the layer
    (`layer.step`); `delayed` scaling keeps an amax history per operand (`recipe.amax_history`
    long; the first step uses the current amax), recorded in training mode only (an `eval()`
    forward uses the history without changing it); the per-tensor FP8 rules apply
    `recipe.margin`.

    Parameters
    ----------
    in_features, out_features, bias :
        As `torch.nn.Linear`.
    recipe : str or numfmt.training.Recipe
    seed : int
        Seed of the stochastic-rounding keys.
    model : str or accumulation model, optional
        Compute each GEMM with `numfmt.matmul(..., model=model)` on the dequantized operands
        (float32 values: the model's input format must hold them, e.g. `numfmt.Sequential("bf16")`).

    Examples
    --------
    >>> import torch
    >>> from numfmt.torch import QuantLinear
    >>> torch.manual_seed(0) and None
    >>> layer = QuantLinear(32, 16, recipe="mxfp8")
    >>> layer(torch.randn(4, 32)).shape
    torch.Size([4, 16])
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, recipe="bf16", seed: int = 0,
                 model=None, device=None, dtype=None):
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        self.recipe: Recipe = get_recipe(recipe)
        self.seed = int(seed)
        self.model = model
        self.step = 0
        self.history: dict = {}

    def extra_repr(self) -> str:
        return super().extra_repr() + f", recipe={self.recipe.name}"

    def operand(self, a: np.ndarray, gemm: str, role: str, step: int | None = None) -> np.ndarray:
        """The quantized operand (numpy float32) of (gemm, role) at `step` (default: the current step)."""
        step = self.step if step is None else step
        spec = self.recipe.operand(gemm, role)
        idx = OPERANDS.index((gemm, role))
        kw = {}
        if spec.format is not None and is_stochastic(parse_rounding(spec.rounding)[1]):
            kw["random"] = sr_key((self.seed * 6 + idx) % (1 << 64), step)
        if spec.format is not None and spec.scale_rule in ("current", "delayed"):
            kw["margin"] = self.recipe.margin
        if spec.scale_rule == "delayed":
            amax = float(np.abs(a).max()) if a.size else 0.0
            hist = self.history.setdefault((gemm, role), [])
            kw["amax"] = max(hist) if hist else amax
            if self.training:  # eval() forwards use the history without recording into it
                hist.append(amax)
                del hist[: max(0, len(hist) - self.recipe.amax_history)]
        return quantize_operand(a, spec, **kw)

    def forward(self, x):
        shape = x.shape
        x2 = x.reshape(-1, shape[-1])
        y = _QuantLinearFn.apply(x2, self.weight, self.bias, self)
        if self.training:
            self.step += 1
        return y.reshape(*shape[:-1], self.out_features)


def quantize_linear(module, recipe, *, seed: int = 0, model=None):
    """Replace every `torch.nn.Linear` inside `module` (in place) by a
    [`QuantLinear`][numfmt.torch.QuantLinear] with the same parameters; returns `module` (or the
    new layer when `module` itself is a Linear). Layer i gets the seed `seed + i`.

    Examples
    --------
    >>> import torch
    >>> from numfmt.torch import quantize_linear
    >>> net = quantize_linear(torch.nn.Sequential(torch.nn.Linear(16, 16), torch.nn.ReLU()), "nvfp4")
    >>> type(net[0]).__name__, net[0].recipe.name
    ('QuantLinear', 'nvfp4')
    """
    rec = get_recipe(recipe)
    count = [0]

    def convert(lin):
        q = QuantLinear(lin.in_features, lin.out_features, lin.bias is not None, recipe=rec,
                        seed=seed + count[0], model=model, device=lin.weight.device, dtype=lin.weight.dtype)
        count[0] += 1
        with torch.no_grad():
            q.weight.copy_(lin.weight)
            if lin.bias is not None:
                q.bias.copy_(lin.bias)
        return q

    def walk(mod):
        for name, child in list(mod.named_children()):
            if type(child) is torch.nn.Linear:
                setattr(mod, name, convert(child))
            else:
                walk(child)

    if type(module) is torch.nn.Linear:
        return convert(module)
    walk(module)
    return module
