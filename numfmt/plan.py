"""One plan per call: a format and a policy turned into everything a kernel call needs.

`make_plan` is the only place where (format, rounding, saturation, nan, compat) become
kernel inputs: `numfmt.codec`, `numfmt.arith`, `numfmt.emulate`, `numfmt.explain` and the
command line call it, and `numfmt.accumulate` (whose models name their own formats and
roundings) takes its parameters from `funnel_params`. A `Plan` holds

* `params`: the kernel parameters of the format, with the `nan=` policy's codes for a
  format without NaN. binary64 rounds like any other format: the funnel rounds its
  magnitude (`funnel_params`) and the caller puts the sign on top;
* `mode`, `sat`: the rounding and saturation ids (`numfmt.policy`);
* `nan_raise`: a NaN input or result is an error (a format without NaN, `nan="raise"`);
* `pre`, `post`: a compat profile's input conversion and bit-level code rewrite
  (`numfmt.compat`), None otherwise;

and derives the code and value dtypes, the precision and the random-bit setup
(`random_spec`: `random=`/`rbits=` checked and turned into the kernels' arguments).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ._kernels.params import KernelParams, kernel_params
from .compat import plan as compat_plan
from .formats import FloatFormat
from .policy import is_stochastic, parse_nan, parse_rounding, parse_saturation
from .presets import get_format
from .srkey import SRKey

__all__ = ["Plan", "make_plan", "funnel_params", "value_dtype", "random_spec", "with_nan_code"]

# significant bits the arithmetic kernels' exact intermediates keep (>= 60, three of them
# for the guard, round and sticky positions): precision + random bits must fit below
EXACT_BITS = 60


def value_dtype(f) -> np.dtype:
    """float32 when every value of `f` is exact in it, else float64 (an error when neither holds)."""
    if f.exact_in(np.float32):
        return np.dtype(np.float32)
    if not f.exact_in(np.float64):
        raise ValueError(f"values of {f.name} are not all exact in float64; use fmt.exact_value(code)")
    return np.dtype(np.float64)


def _seed_key(seed: int) -> int:
    """The stream key of an int seed (`numfmt._kernels.streams.seed_key`)."""
    from ._kernels.streams import seed_key  # lazy: numba loads on the first kernel call

    return seed_key(seed)


def random_spec(random, rbits, mode: int, shape: tuple[int, ...]):
    """Validate `random=`/`rbits=` and return (kind, array, key, nbits).

    kind 0: no random bits; 1: an explicit array (broadcast to `shape`, flat);
    2: a counter-based stream with `key` (an int seed, a Generator or a `numfmt.sr_key`).
    """
    stochastic = is_stochastic(mode)
    if rbits is None:
        nbits = 32
    else:
        if isinstance(rbits, bool) or not isinstance(rbits, (int, np.integer)):
            raise TypeError(f"rbits must be an int, got {type(rbits).__name__}: {rbits!r}")
        nbits = int(rbits)
        if not 1 <= nbits <= 32:
            raise ValueError(f"rbits must be in 1..32, got {nbits}")
    dummy = np.zeros(1, np.uint32)
    if not stochastic:
        if random is not None:
            raise ValueError("random= is only used by stochastic roundings; got a value with a deterministic mode")
        if rbits is not None:
            raise ValueError(f"rbits= is only used by stochastic roundings; got rbits={rbits!r} with a "
                             "deterministic mode")
        return 0, dummy, 0, nbits
    if random is None:
        raise ValueError("a stochastic rounding needs random= (an int seed, a numpy Generator or an array of bits)")
    if isinstance(random, bool):
        raise TypeError("random must be an int seed, a numpy.random.Generator or an unsigned-integer array")
    if isinstance(random, (int, np.integer)):
        if not 0 <= random < 1 << 64:
            raise ValueError(f"random seed must be in 0 .. 2**64 - 1, got {random}")
        return 2, dummy, _seed_key(int(random)), nbits
    if isinstance(random, np.random.Generator):
        return 2, dummy, int(random.integers(0, 1 << 63)), nbits
    if isinstance(random, SRKey):  # numfmt.sr_key(seed, step): the stream of that step
        return 2, dummy, random.stream_key(), nbits
    arr = np.asarray(random)
    if arr.dtype.kind not in "ui":
        raise TypeError(f"random array must have an unsigned-integer dtype, got {arr.dtype}")
    if arr.size and (arr.min() < 0 or int(arr.max()) >= (1 << nbits)):
        bad = arr[(arr < 0) | (arr >= (1 << nbits))].ravel()[0]
        raise ValueError(f"random bits must be < 2**rbits = {1 << nbits}; got {int(bad)}")
    try:
        full = np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(f"random array of shape {arr.shape} does not broadcast to x's shape {shape}") from None
    return 1, np.ascontiguousarray(full, dtype=np.uint32).reshape(-1), 0, nbits


@functools.cache
def funnel_params(f) -> KernelParams:
    """The parameters the rounding funnel rounds into `f` with: its kernel parameters, and for
    binary64 (whose codes do not fit the int64 fields) those of its magnitude."""
    if isinstance(f, FloatFormat) and f.bits == 64:
        # lazy: numba loads on the first kernel call (it doubles the time of import numfmt)
        from ._kernels.magnitude import magnitude_params

        return magnitude_params(f)
    return kernel_params(f)


@dataclass(frozen=True)
class Plan:
    """What a kernel call needs: format, parameters, rounding/saturation ids, NaN policy, compat steps."""

    fmt: object
    params: KernelParams
    mode: int
    sat: int
    nan_raise: bool
    post: object = None  # compat: post(x, codes) rewrites codes in place
    pre: object = None  # compat: pre(x, to_float32) converts the input first

    @property
    def code_dtype(self) -> np.dtype:
        return self.fmt.code_dtype

    @property
    def value_dtype(self) -> np.dtype:
        return value_dtype(self.fmt)

    @property
    def precision(self) -> int:
        """Significand bits of a float target, bits of an integer one."""
        return self.fmt.precision if isinstance(self.fmt, FloatFormat) else self.fmt.bits

    def random_setup(self, random, rbits, shape, *, exact: bool = False):
        """(kind, array, key, nbits) of `random=`/`rbits=` for this rounding (`random_spec`).

        `exact=True` (the arithmetic kernels) also checks that precision + rbits fits their exact
        intermediates.
        """
        rnd = random_spec(random, rbits, self.mode, shape)
        nbits = rnd[3]
        if exact and is_stochastic(self.mode) and self.precision + nbits > EXACT_BITS - 3:
            raise ValueError(
                f"stochastic rounding into {self.fmt.name} (precision {self.precision}) with rbits={nbits} needs "
                f"precision + rbits <= {EXACT_BITS - 3}; pass a smaller rbits"
            )
        return rnd


def with_nan_code(params: KernelParams, code: int) -> KernelParams:
    """Kernel params whose NaN inputs (either sign) encode to `code`."""
    return params._replace(NAN=int(code), NNAN=int(code))


def make_plan(fmt, rounding="nearest_even", saturation="none", nan="raise", compat=None) -> Plan:
    """The plan of a call: `fmt` (a name or format) under the policy keywords and a compat profile.

    Examples
    --------
    >>> from numfmt.plan import make_plan
    >>> p = make_plan("e2m1", "toward_zero", "finite", "zero")
    >>> p.fmt.name, p.mode, p.sat, p.nan_raise, p.code_dtype.name, p.value_dtype.name
    ('float4_e2m1fn', 2, 1, False, 'uint8', 'float32')
    """
    f = get_format(fmt)
    _, mode = parse_rounding(rounding)
    sat = parse_saturation(saturation)
    nan_pol = parse_nan(nan)
    if compat is not None:
        return compat_plan(f, rounding=rounding, saturation=saturation, nan=nan, compat=compat, Plan=Plan)
    params = funnel_params(f)
    nan_raise = False
    if f.code_of_nan is None:
        if nan_pol == "raise":
            nan_raise = True
        elif nan_pol == "zero":
            params = with_nan_code(params, 0)
        else:
            pos_max = f.max_code_magnitude if isinstance(f, FloatFormat) else f.max_int
            params = with_nan_code(params, pos_max)
    return Plan(f, params, mode, sat, nan_raise)
