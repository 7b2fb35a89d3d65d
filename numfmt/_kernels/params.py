"""Formats flattened to tuples of int64 for the kernels.

One compiled kernel serves every format: the format travels as data. The
indices below name the slots; `pack_float_params` and `pack_int_params`
build the tuple from a format object.

Magnitude codes. A positive value `n * 2**q` with integer `n` on the format's
grid has the magnitude code `((E - EMIN) << M) + n - OFF` where `E` is the
binade (>= EMIN) and `q = E - M`. This single formula covers normals,
subnormals (`E == EMIN`, `n < 2**M`), formats without zero (`OFF = 2**M`)
and integers (an integer format is a float whose every value is "subnormal":
`M = 40`, `EMIN = scale_exp + 40`).
"""

from __future__ import annotations

import functools

KIND = 0  # 0 float (sign-magnitude), 1 integer (two's complement or unsigned)
M = 1  # trailing significand bits
EMIN = 2  # exponent of the lowest binade that has the full quantum 2**(EMIN - M)
OFF = 3  # subtracted from the magnitude code (2**M when the format has no zero)
FTZ = 4  # has a zero but no subnormals: values below 2**EMIN round on {0, 2**EMIN}
MAXMAG = 5  # largest finite magnitude code, positive side
MAXMAG_NEG = 6  # largest finite magnitude code, negative side (-1: unsigned)
SIGNBIT = 7  # sign bit of sign-magnitude codes (0 otherwise)
TWOS = 8  # two's complement negative codes
MASK = 9  # (1 << bits) - 1
NEGZERO = 10  # has a distinct -0
HASZERO = 11
INF = 12  # code of +inf or -1
NINF = 13  # code of -inf or -1
NAN = 14  # code written for a positive NaN, or -1
NNAN = 15  # code written for a negative NaN, or -1
OVFNAN = 16  # saturation="none" sends overflow to NaN when there is no inf
P3109 = 17  # P3109 SatNone special cases
SIGNED = 18
ECAP = 19  # any value >= 2**ECAP overflows
EVEN_N = 20  # ties-to-even looks at the significand's parity, not the code's (ml_dtypes E8M0)
BITS = 21
HASNAN = 22  # the format itself has a NaN (NAN/NNAN may be a nan= policy code instead)
NPARAMS = 23

# rounding and saturation ids: policy data (numfmt.policy), read by the kernels
from ..policy import (  # noqa: E402, F401  (re-exported: the kernels read P.NEAREST_EVEN ...)
    NEAREST_AWAY,
    NEAREST_EVEN,
    SAT_FINITE,
    SAT_NONE,
    SAT_PROPAGATE,
    STOCHASTIC_A,
    STOCHASTIC_B,
    STOCHASTIC_C,
    TO_ODD,
    TOWARD_NEGATIVE,
    TOWARD_POSITIVE,
    TOWARD_ZERO,
)

# classes of an exact intermediate
FINITE, ZERO, INFINITE, NOTANUMBER = 0, 1, 2, 3


@functools.cache
def kernel_params(f) -> tuple[int, ...]:
    """Kernel parameters of format `f` (a `FloatFormat` or `IntFormat`), computed once per format.

    64-bit float formats have none: their codes do not fit the int64 slots (the funnel rounds their
    magnitudes instead, see `magnitude.py`).
    """
    if f.kind == "int":
        return pack_int_params(f)
    if f.bits == 64:
        raise ValueError(f"{f.name} is a 64-bit format; its codes do not fit the kernels' int64 slots")
    return pack_float_params(f)


def pack_float_params(f) -> tuple[int, ...]:
    """Kernel parameters of a `numfmt.FloatFormat`."""
    p = [0] * NPARAMS
    p[KIND] = 0
    p[M] = f.mantissa_bits
    p[EMIN] = f.emin
    p[OFF] = 0 if f.has_zero else 1 << f.mantissa_bits
    p[FTZ] = int(f.has_zero and not f.subnormals)
    p[MAXMAG] = f.max_code_magnitude
    p[MAXMAG_NEG] = f.max_code_magnitude if f.signed else -1
    p[SIGNBIT] = f.sign_bit
    p[TWOS] = 0
    p[MASK] = (1 << f.bits) - 1
    p[NEGZERO] = int(f.negative_zero)
    p[HASZERO] = int(f.has_zero)
    p[INF] = -1 if f.code_of_inf is None else f.code_of_inf
    p[NINF] = -1 if f.code_of_neginf is None else f.code_of_neginf
    p[NAN] = -1 if f.code_of_nan is None else f.code_of_nan
    p[NNAN] = -1 if f.code_of_negnan is None else f.code_of_negnan
    p[OVFNAN] = int(f.overflow_nan)
    p[P3109] = int(f.p3109)
    p[SIGNED] = int(f.signed)
    p[ECAP] = f.emax + 1
    p[EVEN_N] = 0
    p[BITS] = f.bits
    p[HASNAN] = int(f.code_of_nan is not None)
    return tuple(p)


def pack_int_params(f) -> tuple[int, ...]:
    """Kernel parameters of a `numfmt.IntFormat`."""
    p = [0] * NPARAMS
    p[KIND] = 1
    p[M] = 40
    p[EMIN] = f.scale_exp + 40
    p[MAXMAG] = f.max_int
    p[MAXMAG_NEG] = -f.min_int if f.signed else -1
    p[TWOS] = int(f.signed)
    p[MASK] = (1 << f.bits) - 1
    p[HASZERO] = 1
    p[INF] = p[NINF] = p[NAN] = p[NNAN] = -1
    p[SIGNED] = int(f.signed)
    p[ECAP] = f.scale_exp + f.bits + 1
    p[BITS] = f.bits
    return tuple(p)


def with_overrides(params: tuple[int, ...], **slots: int) -> tuple[int, ...]:
    """A copy of `params` with named slots replaced (`NAN=0` ...)."""
    p = list(params)
    g = globals()
    for k, v in slots.items():
        p[g[k]] = int(v)
    return tuple(p)
