"""Rounding, saturation and NaN policies: names, aliases and validation.

The policy is plain data handed to the kernels as small ints; see the
semantics tables in `docs/semantics.md`.
"""

from __future__ import annotations

import numpy as np

from ._kernels import params as P

__all__ = ["ROUNDINGS", "SATURATIONS", "NAN_POLICIES", "parse_rounding", "parse_saturation", "parse_nan",
           "is_stochastic", "random_spec"]

ROUNDINGS = {
    "nearest_even": P.NEAREST_EVEN,
    "nearest_away": P.NEAREST_AWAY,
    "toward_zero": P.TOWARD_ZERO,
    "toward_positive": P.TOWARD_POSITIVE,
    "toward_negative": P.TOWARD_NEGATIVE,
    "to_odd": P.TO_ODD,
    "stochastic": P.STOCHASTIC_A,
    "stochastic_b": P.STOCHASTIC_B,
    "stochastic_c": P.STOCHASTIC_C,
}
ROUNDING_ALIASES = {
    "rne": "nearest_even", "rna": "nearest_away", "rtz": "toward_zero", "rtp": "toward_positive",
    "rtn": "toward_negative", "rto": "to_odd", "sr": "stochastic", "stochastic_a": "stochastic",
}
SATURATIONS = {"none": P.SAT_NONE, "finite": P.SAT_FINITE, "propagate": P.SAT_PROPAGATE}
NAN_POLICIES = ("raise", "zero", "max")


def _name(kind: str, value: object, choices) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{kind} must be a str, got {type(value).__name__}: {value!r}")
    return value.strip().lower()


def parse_rounding(rounding: str) -> tuple[str, int]:
    """Canonical name and kernel id of a rounding mode (aliases accepted)."""
    key = _name("rounding", rounding, ROUNDINGS)
    key = ROUNDING_ALIASES.get(key, key)
    if key not in ROUNDINGS:
        raise ValueError(
            f"rounding={rounding!r} is not one of {sorted(ROUNDINGS)} "
            f"(aliases {sorted(ROUNDING_ALIASES)})"
        )
    return key, ROUNDINGS[key]


def parse_saturation(saturation: str) -> int:
    """Kernel id of a saturation mode."""
    key = _name("saturation", saturation, SATURATIONS)
    if key not in SATURATIONS:
        raise ValueError(f"saturation={saturation!r} is not one of {list(SATURATIONS)}")
    return SATURATIONS[key]


def parse_nan(nan: str) -> str:
    """Validated `nan=` policy for formats without NaN."""
    key = _name("nan", nan, NAN_POLICIES)
    if key not in NAN_POLICIES:
        raise ValueError(f"nan={nan!r} is not one of {list(NAN_POLICIES)}")
    return key


def is_stochastic(mode: int) -> bool:
    """Whether a kernel rounding id consumes random bits."""
    return mode >= P.STOCHASTIC_A


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _seed_key(seed: int) -> int:
    # SplitMix64 finaliser of the seed, so nearby seeds give unrelated streams
    z = (int(seed) * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % (1 << 64)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % (1 << 64)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % (1 << 64)
    return (z ^ (z >> 31)) & ((1 << 63) - 1)


def random_spec(random, rbits, mode: int, shape: tuple[int, ...]):
    """Validate `random=`/`rbits=` and return (kind, array, key, nbits).

    kind 0: no random bits; 1: an explicit array (broadcast to `shape`, flat);
    2: a counter-based stream with `key`.
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
        return 0, dummy, 0, nbits
    if random is None:
        raise ValueError("a stochastic rounding needs random= (an int seed, a numpy Generator or an array of bits)")
    if isinstance(random, bool):
        raise TypeError("random must be an int seed, a numpy.random.Generator or an unsigned-integer array")
    if isinstance(random, (int, np.integer)):
        if random < 0:
            raise ValueError(f"random seed must be >= 0, got {random}")
        return 2, dummy, _seed_key(int(random)), nbits
    if isinstance(random, np.random.Generator):
        return 2, dummy, int(random.integers(0, 1 << 63)), nbits
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
