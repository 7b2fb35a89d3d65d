"""Rounding, saturation and NaN policies: names, aliases and validation.

The policy is plain data handed to the kernels as small ints; see the
semantics tables in `docs/semantics.md`.
"""

from __future__ import annotations

from .choices import check_choice
from .deprecation import moved_name

# rounding modes and saturations as the kernels receive them
NEAREST_EVEN, NEAREST_AWAY, TOWARD_ZERO, TOWARD_POSITIVE, TOWARD_NEGATIVE, TO_ODD = range(6)
STOCHASTIC_A, STOCHASTIC_B, STOCHASTIC_C, STOCHASTIC_ODD = 6, 7, 8, 9
NEAREST_TOWARD_ZERO = 10  # round to nearest, ties toward zero (after the stochastic ids: they keep theirs)
SAT_NONE, SAT_FINITE, SAT_PROPAGATE = 0, 1, 2

__all__ = ["ROUNDINGS", "SATURATIONS", "NAN_POLICIES", "parse_rounding", "parse_saturation", "parse_nan",
           "is_stochastic"]

ROUNDINGS = {
    "nearest_even": NEAREST_EVEN,
    "nearest_away": NEAREST_AWAY,
    "nearest_toward_zero": NEAREST_TOWARD_ZERO,
    "toward_zero": TOWARD_ZERO,
    "toward_positive": TOWARD_POSITIVE,
    "toward_negative": TOWARD_NEGATIVE,
    "to_odd": TO_ODD,
    "stochastic": STOCHASTIC_A,
    "stochastic_b": STOCHASTIC_B,
    "stochastic_c": STOCHASTIC_C,
    "stochastic_odd": STOCHASTIC_ODD,
}
ROUNDING_ALIASES = {
    "rne": "nearest_even", "rna": "nearest_away", "rtz": "toward_zero", "rtp": "toward_positive",
    "rtn": "toward_negative", "rto": "to_odd", "rnz": "nearest_toward_zero", "sr": "stochastic",
    "stochastic_a": "stochastic",
    # IEEE P3109 Release 3.1 / gfloat 0.5.2 names: Stochastic, StochasticFast, StochasticFastest
    "stochastic_rtne": "stochastic_c", "stochastic_fast": "stochastic_b", "stochastic_fastest": "stochastic",
}
SATURATIONS = {"none": SAT_NONE, "finite": SAT_FINITE, "propagate": SAT_PROPAGATE}
NAN_POLICIES = ("raise", "zero", "max")


def parse_rounding(rounding: str, name: str = "rounding") -> tuple[str, int]:
    """Canonical name and kernel id of a rounding mode (aliases accepted); `name`: the keyword
    that holds it (in the messages)."""
    key = check_choice(name, rounding, ROUNDINGS, aliases=ROUNDING_ALIASES,
                       unknown=f"{name}={rounding!r} is not one of {sorted(ROUNDINGS)} "
                               f"(aliases {sorted(ROUNDING_ALIASES)})")
    return key, ROUNDINGS[key]


def parse_saturation(saturation: str) -> int:
    """Kernel id of a saturation mode."""
    return SATURATIONS[check_choice("saturation", saturation, SATURATIONS)]


def parse_nan(nan: str) -> str:
    """Validated `nan=` policy for formats without NaN."""
    return check_choice("nan", nan, NAN_POLICIES)


def is_stochastic(mode: int) -> bool:
    """Whether a kernel rounding id consumes random bits."""
    return STOCHASTIC_A <= mode <= STOCHASTIC_ODD


def __getattr__(name: str):
    """Deprecated aliases of names that moved."""
    return moved_name(__name__, name, {"random_spec": "numfmt.plan.random_spec"})
