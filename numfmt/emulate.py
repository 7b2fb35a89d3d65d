"""Run ordinary numpy code in an emulated format.

`emulate(x, fmt, **policy)` returns an [`EmulatedArray`][numfmt.EmulatedArray]: an ndarray
subclass whose values are values of `fmt` (held as float32 when every value
of the format is exact in float32, else float64) and whose arithmetic rounds
every result into `fmt` with the array's policy (`rounding`,
`saturation`, `nan`, `random`, `rbits` as in [`numfmt.encode`][numfmt.encode]).

* `+ - * /`, `negative`, `absolute`, `sqrt`, `square`,
  `reciprocal`, `maximum`, `minimum` (and `fmax`/`fmin`) are
  correctly rounded: the exact result rounded once (`numfmt.arith`).
* Comparisons and other boolean ufuncs (`isnan`, `signbit`...) return
  plain bool arrays.
* `sum`/`np.add.reduce`, `prod`, `cumsum`/`cumprod` accumulate
  sequentially along the axis, rounding after every step; `dot`, `@` and
  `matmul` use the array's accumulation *model* (default: sequential, each
  product rounded, then each sum rounded; `model="fma"`: one fused rounding
  per step; or any object with the [`SequentialModel`][numfmt.SequentialModel] methods). Every
  step is correctly rounded in the array's mode, binary64 included (there, a
  `nearest_even` sum is exactly a left-to-right float64 loop).
* Any other float ufunc (`exp`, `tanh`, `power`...) is evaluated in
  float64 and the float64 result rounded into the format: **not** correctly
  rounded (two roundings).
* Plain arrays and Python numbers mixed in are used exactly (not rounded into
  the format first). Combining arrays of two different formats or policies is a
  `TypeError` unless `out=` is an emulated array that says the result
  format; convert explicitly with `EmulatedArray.to`.
* Stochastic rounding draws fresh random bits for every operation from a
  `numpy.random.Generator` (an int seed makes the whole computation
  reproducible).

Examples
--------
>>> import numpy as np, numfmt
>>> x = numfmt.emulate([1.0, 2.0, 3.0], "bfloat16")
>>> y = x / 3 + 1e-3
>>> y.tolist()
[0.3359375, 0.66796875, 1.0]
>>> y.fmt.name
'bfloat16'
>>> (y > 0.5).tolist()
[False, True, True]
>>> float(numfmt.emulate(np.full(1000, 0.01), "bfloat16").sum())   # stagnates at 4 (exact: 10.0)
4.0
"""

from __future__ import annotations

import numbers

import numpy as np

from . import arith as _arith
from .accum_models import MODEL_TYPES
from .accumulate import as_model, matmul, preset_names
from .block.formats import is_block_format
from .choices import did_you_mean
from .codec import decode, encode
from .plan import funnel_params, make_plan, value_dtype
from .policy import is_stochastic
from .presets import get_format

__all__ = ["EmulatedArray", "HardwareModel", "SequentialModel", "emulate"]

_POLICY_KEYS = ("rounding", "saturation", "nan", "random", "rbits")


class SequentialModel:
    """Accumulate dot products and sums in order, rounding in the format.

    Parameters
    ----------
    fused : bool
        False (default): `acc = round(acc + round(a[t] * b[t]))`, what a plain
        loop of emulated operations gives. True: `acc = round(a[t] * b[t] + acc)`
        (a chain of FMAs).

    Notes
    -----
    An accumulation model is any object with these two methods (`sum` is
    optional; the sequential sum is used without it):

    `matmul(a, b, *, fmt, policy) -> ndarray` takes float64 arrays of shape
    (m, k) and (k, n) and returns the (m, n) result as values of `fmt`;
    `sum(x, *, fmt, policy) -> ndarray` reduces each row of a 2-D float64
    array. `policy` is a dict of the keywords of [`numfmt.encode`][numfmt.encode].

    Examples
    --------
    >>> import numfmt
    >>> a = numfmt.emulate([[1.0, 2.0**-8, 2.0**-8]], "bfloat16")
    >>> b = numfmt.emulate([[1.0], [1.0], [1.0]], "bfloat16")
    >>> float((a @ b)[0, 0])          # 1 + 2**-8 ties to 1, twice
    1.0
    >>> m = numfmt.SequentialModel(fused=True)
    >>> float(numfmt.emulate([1.0, 2.0**-8, 2.0**-8], "bfloat16", model=m).dot([1.0, 1.0, 1.0]))
    1.0
    """

    def __init__(self, *, fused: bool = False):
        self.fused = bool(fused)

    def __repr__(self) -> str:
        return f"SequentialModel(fused={self.fused})"

    def __eq__(self, other) -> bool:
        return isinstance(other, SequentialModel) and other.fused == self.fused

    def __hash__(self) -> int:
        return hash(("SequentialModel", self.fused))

    def matmul(self, a, b, *, fmt, policy):
        """Sequential dot products of the rows of `a` and the columns of `b`."""
        from ._kernels import arith as K  # lazy: numba loads on the first kernel call

        f, plan, rk, key, nb = _kernel_policy(fmt, policy)
        a = np.ascontiguousarray(a, dtype=np.float64)
        b = np.ascontiguousarray(b, dtype=np.float64)
        out = np.empty((a.shape[0], b.shape[1]), f.code_dtype)
        bad = K.matmul_loop(a, b, out, int(self.fused), plan.params, funnel_params(f), plan.mode, plan.sat,
                            rk, key, nb)
        return _codes_to_values(out, f, plan, bad, "matmul")

    def sum(self, x, *, fmt, policy):
        """Sequential rounded sum of each row of the 2-D `x`."""
        return _reduce(x, 0, False, fmt, policy)


_MODELS = {"sequential": SequentialModel(), "fma": SequentialModel(fused=True)}


class HardwareModel:
    """Adapter: an accumulation model of `numfmt.accum_models` (`Sequential`,
    `FusedBlock`..., or a preset such as `"h100/e4m3"`) used by `@`/`dot`.

    The product is evaluated by [`numfmt.matmul`][numfmt.matmul] under the model (its result is in the
    model's accumulator format), then rounded into the emulated array's format with its policy,
    as a kernel that writes its output in that format would. Sums stay sequential.

    Examples
    --------
    >>> import numpy as np, numfmt
    >>> a = numfmt.emulate([[448.0] + [2.0**-6] * 15], "e4m3", model="h100/e4m3")
    >>> (a @ np.ones((16, 1))).tolist()        # tensor-core accumulation, then E4M3
    [[448.0]]
    """

    def __init__(self, model):
        self.model = as_model(model)

    def __repr__(self) -> str:
        return f"HardwareModel({self.model!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, HardwareModel) and other.model == self.model

    def __hash__(self) -> int:
        return hash(("HardwareModel", repr(self.model)))

    def matmul(self, a, b, *, fmt, policy):
        """`a @ b` under the hardware model, rounded into `fmt`."""
        f = get_format(fmt)
        try:
            d = matmul(np.asarray(a, np.float64), np.asarray(b, np.float64), model=self.model)
        except ValueError as e:  # (inputs outside the model's in_format, most often)
            raise ValueError(f"{self!r} on {f.name} values: {e}") from None
        return _cast(np.asarray(d, np.float64), f, policy)


def _as_emulate_model(model):
    if model is None:
        return _MODELS["sequential"]
    if isinstance(model, str) and "/" not in model and ":" not in model:
        key = model.strip().lower()
        if key in _MODELS:
            return _MODELS[key]
        raise ValueError(f"model={model!r} is not one of {sorted(_MODELS)} or a preset name 'gpu/format' "
                         f"(e.g. 'h100/e4m3'){did_you_mean(key, [*_MODELS, *preset_names()])}")
    if callable(getattr(model, "matmul", None)):
        return model
    if isinstance(model, MODEL_TYPES) or isinstance(model, (str, tuple)):
        try:
            return HardwareModel(model)
        except (TypeError, ValueError) as e:
            raise ValueError(f"model={model!r} is not one of {sorted(_MODELS)}, an accumulation model or preset "
                             f"('h100/e4m3'), or an object with a matmul(a, b, *, fmt, policy) method: {e}") from None
    raise TypeError(f"model must have a matmul(a, b, *, fmt, policy) method, got {model!r}")


def _kernel_policy(fmt, policy):
    plan = make_plan(fmt, policy.get("rounding", "nearest_even"), policy.get("saturation", "none"),
                     policy.get("nan", "raise"))
    rk, _, key, nb = plan.random_setup(policy.get("random"), policy.get("rbits"), (), exact=True)
    if rk == 1:
        raise ValueError("an explicit array of random bits cannot drive a sequence of operations; "
                         "pass a seed or a numpy Generator")
    return plan.fmt, plan, rk, key, nb


def _codes_to_values(codes, f, plan, bad, what):
    if bad and plan.nan_raise:
        raise ValueError(f"{bad} result(s) of {what} are NaN and format {f.name} has no NaN; "
                         f"pass nan='zero' or nan='max' to choose a code")
    return decode(codes.reshape(-1), f).reshape(codes.shape)


def _reduce(x, op, keep, fmt, policy):
    from ._kernels import arith as K  # lazy: numba loads on the first kernel call

    f, plan, rk, key, nb = _kernel_policy(fmt, policy)
    x = np.ascontiguousarray(x, dtype=np.float64)
    rows, n = x.shape
    if keep and n == 0:
        return np.empty((rows, 0), value_dtype(f))
    out = np.empty((rows, n if keep else 1), f.code_dtype)
    bad = K.reduce_loop(x, out, op, keep, plan.params, funnel_params(f), plan.mode, plan.sat, rk, key, nb)
    vals = _codes_to_values(out, f, plan, bad, "a reduction")
    return vals if keep else vals[:, 0]


def emulate(x, fmt, *, rounding: str = "nearest_even", saturation: str = "none", nan: str = "raise",
            random=None, rbits: int | None = None, model=None) -> EmulatedArray:
    """An array whose arithmetic is rounded into `fmt`.

    Parameters
    ----------
    x : array_like
        Initial values (rounded into `fmt` with the policy; an
        [`EmulatedArray`][numfmt.EmulatedArray] of another format is converted).
    fmt : str or format
        The emulated element format.
    rounding, saturation, nan, rbits
        As in [`numfmt.encode`][numfmt.encode], used by every operation.
    random : int or numpy.random.Generator, optional
        Source of random bits for stochastic roundings; every operation draws
        new bits from it (an int seeds a new Generator).
    model : {"sequential", "fma"}, accumulation model, preset or model object, optional
        Accumulation model of `dot`/`@`/`matmul`: `"sequential"` (default) or
        `"fma"` ([`SequentialModel`][numfmt.SequentialModel]), a model of `numfmt.accum_models` or a
        preset name such as `"h100/e4m3"` (`HardwareModel`), or any object with
        `matmul(a, b, *, fmt, policy)`.

    Returns
    -------
    EmulatedArray

    Examples
    --------
    >>> import numfmt
    >>> x = numfmt.emulate([0.1, 0.2], "e4m3")
    >>> x
    EmulatedArray([0.1015625, 0.203125 ], fmt=float8_e4m3fn)
    >>> (x * 3).tolist()
    [0.3125, 0.625]
    >>> x.codes.tolist()
    [29, 37]
    """
    f = get_format(fmt)
    if is_block_format(f):
        raise ValueError(f"fmt={fmt!r} is a block format; emulate needs an element format")
    plan = make_plan(f, rounding, saturation, nan)
    if is_stochastic(plan.mode):
        if isinstance(random, bool) or not isinstance(random, (numbers.Integral, np.random.Generator)):
            raise ValueError("a stochastic emulated array needs random= (an int seed or a numpy Generator)")
        if isinstance(random, numbers.Integral):
            if random < 0:
                raise ValueError(f"random seed must be >= 0, got {random}")
            random = np.random.default_rng(int(random))
    elif random is not None:
        raise ValueError("random= is only used by stochastic roundings; got a value with a deterministic "
                         "mode")
    model = _as_emulate_model(model)
    policy = {"rounding": rounding, "saturation": saturation, "nan": nan, "random": random, "rbits": rbits}
    base = x.view(np.ndarray) if isinstance(x, EmulatedArray) else x
    xa = _arith.as_float_input(base, "x")
    codes = encode(xa, f, **{k: v for k, v in policy.items()})
    vals = decode(np.asarray(codes).reshape(-1), f, dtype=value_dtype(f)).reshape(xa.shape)
    return _wrap(vals, f, policy, model)


def _wrap(values, f, policy, model) -> EmulatedArray:
    v = np.asarray(values)
    dt = value_dtype(f)
    if v.dtype != dt:
        v = v.astype(dt)
    out = v.view(EmulatedArray)
    out._nf_fmt = f
    out._nf_policy = policy
    out._nf_model = model
    return out


def _same_policy(p, q) -> bool:
    return all(p[k] is q[k] if k == "random" else p[k] == q[k] for k in _POLICY_KEYS)


_BINARY = {
    np.add: _arith.add, np.subtract: _arith.sub, np.multiply: _arith.mul,
    np.true_divide: _arith.div,
}
_REDUCE_OPS = {np.add: 0, np.multiply: 1}


class EmulatedArray(np.ndarray):
    """An ndarray of values of one format whose arithmetic rounds into that format.

    Create it with [`emulate`][numfmt.emulate.emulate]. Attributes: `fmt` (the format), `policy`
    (dict of rounding keywords), `model` (accumulation model), `codes`
    (the codes of the values), and `to(fmt, **policy)` converts.
    """

    __array_priority__ = 20.0

    def __array_finalize__(self, obj):
        self._nf_fmt = getattr(obj, "_nf_fmt", None)
        self._nf_policy = getattr(obj, "_nf_policy", None)
        self._nf_model = getattr(obj, "_nf_model", None)

    # ------------------------------------------------------------ attributes
    @property
    def fmt(self):
        """The emulated format."""
        return self._nf_fmt

    @property
    def policy(self) -> dict:
        """The rounding policy (keywords of [`numfmt.encode`][numfmt.encode])."""
        return dict(self._nf_policy)

    @property
    def model(self):
        """The accumulation model of `dot`/`@`."""
        return self._nf_model

    @property
    def codes(self) -> np.ndarray:
        """Codes of the values in `fmt`."""
        f = self._nf_fmt
        v = self.view(np.ndarray)
        c = encode(v.reshape(-1), f, nan="zero" if f.code_of_nan is None else "raise")
        return np.asarray(c).reshape(v.shape)

    def to(self, fmt, **policy) -> EmulatedArray:
        """The values converted (rounded once) into another format and policy.

        Keywords default to this array's policy; pass them to override.
        """
        kw = dict(self._nf_policy, model=self._nf_model)
        kw.update(policy)
        return emulate(self.view(np.ndarray), fmt, **kw)

    def __getitem__(self, key):
        res = super().__getitem__(key)
        if not isinstance(res, np.ndarray):  # an element: keep it emulated (a 0-d array)
            return _wrap(np.asarray(res), self._nf_fmt, self._nf_policy, self._nf_model)
        return res

    def __setitem__(self, key, value):
        # assigned values are rounded into the format (values of the same format pass unchanged)
        if self._nf_fmt is not None and not (isinstance(value, EmulatedArray) and value._nf_fmt == self._nf_fmt):
            (v,) = _floats([_plain(value)])
            value = _cast(v, self._nf_fmt, self._nf_policy)
        super().__setitem__(key, _plain(value))

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        for i in range(self.shape[0]):
            yield self[i]

    def __repr__(self) -> str:
        name = getattr(self._nf_fmt, "name", "?")
        body = np.array2string(self.view(np.ndarray), separator=", ", prefix="EmulatedArray(")
        return f"EmulatedArray({body}, fmt={name})"

    def __reduce__(self):
        # pickle as the values plus format and policy (the Generator pickles too)
        return (_unpickle, (self.view(np.ndarray).copy(), self._nf_fmt, self._nf_policy, self._nf_model))

    # ------------------------------------------------------------ numpy protocols
    def _context(self, inputs, out):
        """(fmt, policy, model) shared by the emulated operands, or the one `out` names."""
        ems = [x for x in inputs if isinstance(x, EmulatedArray)]
        outs = [o for o in (out or ()) if isinstance(o, EmulatedArray)]
        if outs:
            o = outs[0]
            return o._nf_fmt, o._nf_policy, o._nf_model
        first = ems[0]
        for e in ems[1:]:
            if e._nf_fmt != first._nf_fmt or not _same_policy(e._nf_policy, first._nf_policy):
                raise TypeError(
                    f"cannot combine EmulatedArrays in {first._nf_fmt.name} ({_pol(first)}) and "
                    f"{e._nf_fmt.name} ({_pol(e)}) without saying the result format: convert one "
                    f"with .to(fmt), pass out= an EmulatedArray, or call numfmt.add(a, b, fmt, ...)"
                )
        return first._nf_fmt, first._nf_policy, first._nf_model

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        f, policy, model = self._context(inputs, out)
        plain = [_plain(x) for x in inputs]
        if method == "__call__":
            res = self._call(ufunc, plain, f, policy, model, kwargs)
        elif method in ("reduce", "accumulate") and ufunc in _REDUCE_OPS:
            res = self._reduce(ufunc, method, plain[0], f, policy, kwargs)
        elif method == "reduce" and ufunc in (np.maximum, np.minimum, np.fmax, np.fmin):
            res = _wrap(_cast(ufunc.reduce(plain[0], **_strip(kwargs)), f, policy), f, policy, model)
        else:
            return NotImplemented
        if res is NotImplemented:
            return NotImplemented
        if out is not None:
            target = out[0]
            np.copyto(target.view(np.ndarray) if isinstance(target, np.ndarray) else target,
                      np.asarray(res), casting="unsafe")
            return target
        return res

    def _call(self, ufunc, plain, f, policy, model, kwargs):
        kwargs = _strip(kwargs)
        if kwargs:
            raise TypeError(f"EmulatedArray does not support {sorted(kwargs)} for {ufunc.__name__}")
        if ufunc in _BINARY:
            return _wrap(_BINARY[ufunc](*_floats(plain), f, **policy), f, policy, model)
        if ufunc is np.negative:
            return _wrap(_arith.mul(*_floats(plain), -1.0, f, **policy), f, policy, model)
        if ufunc is np.square:
            (x,) = _floats(plain)
            return _wrap(_arith.mul(x, x, f, **policy), f, policy, model)
        if ufunc is np.sqrt:
            return _wrap(_arith.sqrt(*_floats(plain), f, **policy), f, policy, model)
        if ufunc is np.reciprocal:
            return _wrap(_arith.div(1.0, *_floats(plain), f, **policy), f, policy, model)
        if ufunc is np.matmul:
            return _wrap(_matmul(*_floats(plain), f, policy, model), f, policy, model)
        with np.errstate(all="ignore"):
            res = ufunc(*[np.asarray(x, np.float64) if _is_num(x) else x for x in plain])
        if isinstance(res, tuple):
            return NotImplemented
        res = np.asarray(res)
        if res.dtype.kind != "f":
            return res  # comparisons, isnan, signbit ...: plain arrays
        # exact picks (max, min, abs ...) round to themselves; others round the float64 result
        return _wrap(_cast(res, f, policy), f, policy, model)

    def _reduce(self, ufunc, method, x, f, policy, kwargs):
        axis = kwargs.pop("axis", 0)
        dtype = kwargs.pop("dtype", None)
        keepdims = kwargs.pop("keepdims", False)
        initial = kwargs.pop("initial", np._NoValue)
        where = kwargs.pop("where", True)
        if dtype is not None and np.dtype(dtype).kind != "f":
            raise TypeError(f"EmulatedArray reductions do not take dtype={dtype}")
        if where is not True:
            raise NotImplementedError("EmulatedArray reductions do not support where=")
        if kwargs:
            raise TypeError(f"unsupported keyword(s) {sorted(kwargs)} for {ufunc.__name__}.{method}")
        (x,) = _floats([x])
        op = _REDUCE_OPS[ufunc]
        if method == "accumulate":
            if axis is None:
                raise TypeError("accumulate needs an axis")
            xm = np.moveaxis(x, axis, -1)
            vals = _reduce(xm.reshape(-1, xm.shape[-1]) if xm.ndim else xm.reshape(1, 1), op, True, f, policy)
            vals = np.moveaxis(vals.reshape(xm.shape), -1, axis)
            return _wrap(vals, f, policy, self._nf_model)
        axes = tuple(range(x.ndim)) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
        axes = tuple(a % max(x.ndim, 1) for a in axes)
        keep = [a for a in range(x.ndim) if a not in axes]
        xm = np.transpose(x, keep + list(axes))
        rest = xm.shape[: len(keep)]
        rows = xm.reshape(int(np.prod(rest)), -1)
        if initial is not np._NoValue:
            rows = np.concatenate([np.full((rows.shape[0], 1), float(initial)), rows], axis=1)
        model = self._nf_model
        if op == 0 and callable(getattr(model, "sum", None)):
            vals = model.sum(rows, fmt=f, policy=policy)
        else:
            vals = _reduce(rows, op, False, f, policy)
        vals = np.asarray(vals).reshape(rest)
        if keepdims:
            vals = vals.reshape([1 if a in axes else x.shape[a] for a in range(x.ndim)])
        return _wrap(vals, f, policy, self._nf_model)

    def __array_function__(self, func, types, args, kwargs):
        if func in (np.dot, np.matmul):
            if not all(issubclass(t, (np.ndarray, EmulatedArray)) for t in types):
                return NotImplemented
            a, b = args[:2]
            ems = [x for x in (a, b) if isinstance(x, EmulatedArray)]
            f, policy, model = self._context(ems, kwargs.get("out") and (kwargs["out"],))
            res = _wrap(_matmul(*_floats([_plain(a), _plain(b)]), f, policy, model), f, policy, model)
            if kwargs.get("out") is not None:
                np.copyto(kwargs["out"].view(np.ndarray), np.asarray(res), casting="unsafe")
                return kwargs["out"]
            return res
        return super().__array_function__(func, types, args, kwargs)

    def dot(self, b, out=None):
        """Dot product through the array's accumulation model (as `np.dot`)."""
        return np.dot(self, b) if out is None else np.dot(self, b, out=out)


def _unpickle(values, f, policy, model):
    return _wrap(values, f, policy, model)


def _pol(e) -> str:
    p = e._nf_policy
    return f"rounding={p['rounding']}, saturation={p['saturation']}"


def _plain(x):
    return x.view(np.ndarray) if isinstance(x, EmulatedArray) else x


def _is_num(x) -> bool:
    return isinstance(x, (numbers.Number, np.ndarray, np.generic)) and not isinstance(x, (bool, np.bool_))


def _floats(xs):
    """Operands as exact float arrays: floats as they are, integers converted exactly."""
    out = []
    for x in xs:
        a = np.asarray(x)
        if a.dtype.kind in "iu":
            if a.size and np.abs(a.astype(np.float64)).max() > 2.0**53:
                raise ValueError("integer operand not exactly representable as float64")
            a = a.astype(np.float64)
        elif a.dtype.kind == "b":
            raise TypeError("boolean operand in emulated arithmetic")
        out.append(a)
    return out


def _strip(kwargs):
    kw = dict(kwargs)
    for k in ("casting", "subok", "order"):
        kw.pop(k, None)
    dt = kw.pop("dtype", None)
    if dt is not None and np.dtype(dt).kind != "f":
        raise TypeError(f"EmulatedArray does not take dtype={dt}")
    if kw.get("where", True) is True:
        kw.pop("where", None)
    return kw


def _cast(values, f, policy):
    """Round exact values into `f` once (encode then decode)."""
    v = np.asarray(values, dtype=np.float64)
    codes = encode(v.reshape(-1), f, **policy)
    return decode(np.asarray(codes), f, dtype=value_dtype(f)).reshape(v.shape)


def _matmul(a, b, f, policy, model):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.ndim == 0 or b.ndim == 0:
        return _arith.mul(a, b, f, **policy)
    va, vb = a.ndim == 1, b.ndim == 1
    a2 = a[None, :] if va else a
    b2 = b[:, None] if vb else b
    if a2.shape[-1] != b2.shape[-2]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned")
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    m, n = a2.shape[-2], b2.shape[-1]
    out = np.empty(batch + (m, n), np.float64)
    A = np.broadcast_to(a2, batch + a2.shape[-2:])
    B = np.broadcast_to(b2, batch + b2.shape[-2:])
    for idx in np.ndindex(*batch):
        out[idx] = model.matmul(A[idx], B[idx], fmt=f, policy=policy)
    if va:
        out = out[..., 0, :]
    if vb:
        out = out[..., 0]
    return out
