"""Formats flattened to named tuples of int64 for the kernels.

One compiled kernel serves every format: the format travels as data, a
`KernelParams` whose fields the kernels read by name (`p.M`, `p.EMIN` ...);
`pack_float_params` and `pack_int_params` build it from a format object.

Magnitude codes. A positive value `n * 2**q` with integer `n` on the format's
grid has the magnitude code `((E - EMIN) << M) + n - OFF` where `E` is the
binade (>= EMIN) and `q = E - M`. This single formula covers normals,
subnormals (`E == EMIN`, `n < 2**M`), formats without zero (`OFF = 2**M`)
and integers (an integer format is a float whose every value is "subnormal":
`M = 40`, `EMIN = scale_exp + 40`).
"""

from __future__ import annotations

import functools
from typing import NamedTuple


class KernelParams(NamedTuple):
    """A format's kernel parameters: int64 fields read by name (`p.M`, `p.EMIN` ...).

    numba types it as a homogeneous named tuple; `_replace` makes a variant (`numfmt.compat`,
    the `nan=` policy's codes).
    """

    KIND: int  # 0 float (sign-magnitude), 1 integer (two's complement or unsigned)
    M: int  # trailing significand bits
    EMIN: int  # exponent of the lowest binade that has the full quantum 2**(EMIN - M)
    OFF: int  # subtracted from the magnitude code (2**M when the format has no zero)
    FTZ: int  # has a zero but no subnormals: values below 2**EMIN round on {0, 2**EMIN}
    MAXMAG: int  # largest finite magnitude code, positive side
    MAXMAG_NEG: int  # largest finite magnitude code, negative side (-1: unsigned)
    SIGNBIT: int  # sign bit of sign-magnitude codes (0 otherwise)
    TWOS: int  # two's complement negative codes
    MASK: int  # (1 << bits) - 1
    NEGZERO: int  # has a distinct -0
    HASZERO: int
    INF: int  # code of +inf or -1
    NINF: int  # code of -inf or -1
    NAN: int  # code written for a positive NaN, or -1
    NNAN: int  # code written for a negative NaN, or -1
    OVFNAN: int  # saturation="none" sends overflow to NaN when there is no inf
    P3109: int  # P3109 SatNone special cases: 0 none, 1 Interim Report v4.0, 2 formal model 2026-07-07
    SIGNED: int
    ECAP: int  # any value >= 2**ECAP overflows
    EVEN_N: int  # ties-to-even looks at the significand's parity, not the code's (ml_dtypes E8M0)
    BITS: int
    HASNAN: int  # the format itself has a NaN (NAN/NNAN may be a nan= policy code instead)


# rounding and saturation ids: policy data (numfmt.policy), read by the kernels
from ..policy import (  # noqa: E402, F401  (re-exported: the kernels read P.NEAREST_EVEN ...)
    NEAREST_AWAY,
    NEAREST_EVEN,
    NEAREST_TOWARD_ZERO,
    SAT_FINITE,
    SAT_NONE,
    SAT_PROPAGATE,
    STOCHASTIC_A,
    STOCHASTIC_B,
    STOCHASTIC_C,
    STOCHASTIC_ODD,
    TO_ODD,
    TOWARD_NEGATIVE,
    TOWARD_POSITIVE,
    TOWARD_ZERO,
)

# classes of an exact intermediate
FINITE, ZERO, INFINITE, NOTANUMBER = 0, 1, 2, 3


@functools.cache
def kernel_params(f) -> KernelParams:
    """Kernel parameters of format `f` (a `FloatFormat` or `IntFormat`), computed once per format.

    64-bit float formats have none: their codes do not fit the int64 fields (the funnel rounds their
    magnitudes instead, see `magnitude.py`).
    """
    if f.kind == "int":
        return pack_int_params(f)
    if f.bits == 64:
        raise ValueError(f"{f.name} is a 64-bit format; its codes do not fit the kernels' int64 fields")
    return pack_float_params(f)


def pack_float_params(f) -> KernelParams:
    """Kernel parameters of a `numfmt.FloatFormat`."""
    return KernelParams(
        KIND=0,
        M=f.mantissa_bits,
        EMIN=f.emin,
        OFF=0 if f.has_zero else 1 << f.mantissa_bits,
        FTZ=int(f.has_zero and not f.subnormals),
        MAXMAG=f.max_code_magnitude,
        MAXMAG_NEG=f.max_code_magnitude if f.signed else -1,
        SIGNBIT=f.sign_bit,
        TWOS=0,
        MASK=(1 << f.bits) - 1,
        NEGZERO=int(f.negative_zero),
        HASZERO=int(f.has_zero),
        INF=-1 if f.code_of_inf is None else f.code_of_inf,
        NINF=-1 if f.code_of_neginf is None else f.code_of_neginf,
        NAN=-1 if f.code_of_nan is None else f.code_of_nan,
        NNAN=-1 if f.code_of_negnan is None else f.code_of_negnan,
        OVFNAN=int(f.overflow_nan),
        # 0: not P3109; 1: Interim Report v4.0 rules; 2: the formal model of 2026-07-07
        P3109=0 if not f.p3109 else 2 if f.p3109_edition == "model-2026-07-07" else 1,
        SIGNED=int(f.signed),
        ECAP=f.emax + 1,
        EVEN_N=0,
        BITS=f.bits,
        HASNAN=int(f.code_of_nan is not None),
    )


def pack_int_params(f) -> KernelParams:
    """Kernel parameters of a `numfmt.IntFormat`."""
    return KernelParams(
        KIND=1,
        M=40,
        EMIN=f.scale_exp + 40,
        OFF=0,
        FTZ=0,
        MAXMAG=f.max_int,
        MAXMAG_NEG=-f.min_int if f.signed else -1,
        SIGNBIT=0,
        TWOS=int(f.signed),
        MASK=(1 << f.bits) - 1,
        NEGZERO=0,
        HASZERO=1,
        INF=-1,
        NINF=-1,
        NAN=-1,
        NNAN=-1,
        OVFNAN=0,
        P3109=0,
        SIGNED=int(f.signed),
        ECAP=f.scale_exp + f.bits + 1,
        EVEN_N=0,
        BITS=f.bits,
        HASNAN=0,
    )


def is_binary16(p: KernelParams) -> bool:
    """Whether `p` is IEEE binary16's encoding (sign bit 15, zero, subnormals, max 0x7BFF, +-inf at
    0x7C00/0xFC00; its NaN codes may be a policy's): the CPU's binary16 conversions apply."""
    return (p.KIND == 0 and p.SIGNED == 1 and p.HASZERO == 1 and p.FTZ == 0 and p.EVEN_N == 0 and p.M == 10
            and p.EMIN == -14 and p.MAXMAG == 0x7BFF and p.SIGNBIT == 0x8000 and p.INF == 0x7C00
            and p.NINF == 0xFC00 and p.NEGZERO == 1)
