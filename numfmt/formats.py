"""Number formats as plain immutable data.

A [`FloatFormat`][numfmt.FloatFormat] describes a sign-magnitude binary floating-point format of
2 to 32 bits (and binary64 as a pass-through) with any exponent width, trailing
significand width and bias, and every convention for zeros, infinities and NaNs
used by ML hardware: IEEE 754, OCP "fn", "fnuz", IEEE P3109 and NaN-less
formats such as FP4. An [`IntFormat`][numfmt.IntFormat] describes a signed or unsigned
integer, optionally symmetric and optionally scaled by a power of two (fixed
point, e.g. the MXINT8 element).

Everything a kernel needs is derived from these fields by `numfmt.plan` (cached per
format); this module imports nothing from the kernels.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np

from .deprecation import deprecated

__all__ = ["FloatFormat", "IntFormat", "Format"]

InfStyle = Literal["ieee", "p3109", "none"]
NanStyle = Literal["ieee", "fn", "fnuz", "p3109", "none"]

_INF_STYLES = ("ieee", "p3109", "none")
_NAN_STYLES = ("ieee", "fn", "fnuz", "p3109", "none")
# IEEE P3109 editions numfmt can cite, oldest first; the last is the default of `p3109_format`
P3109_EDITIONS = ("interim-v4.0", "model-2026-07-07")


def _code_dtype(bits: int) -> np.dtype:
    if bits <= 8:
        return np.dtype(np.uint8)
    if bits <= 16:
        return np.dtype(np.uint16)
    if bits <= 32:
        return np.dtype(np.uint32)
    return np.dtype(np.uint64)


def _check_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class FloatFormat:
    """A binary floating-point format.

    Codes are unsigned integers: sign bit (if `signed`) on top, then the
    biased exponent field, then the trailing significand field.

    Parameters
    ----------
    name : str
        Canonical name.
    exponent_bits : int
        Width of the exponent field, >= 1.
    mantissa_bits : int
        Width of the trailing significand field, >= 0.
    bias : int
        Exponent bias: a normal code with exponent field `e` has value
        `(1 + t / 2**mantissa_bits) * 2**(e - bias)`.
    signed : bool
        Whether the format has a sign bit.
    subnormals : bool
        Whether exponent field 0 encodes subnormals. If False and the format has
        a zero, exponent field 0 encodes only zero (flush to zero); decoding
        another code with exponent field 0 gives a zero of that sign.
    has_zero : bool
        Whether code 0 is zero. If False (E8M0), exponent field 0 is an ordinary
        normal binade and the format has no zero.
    inf : {"ieee", "p3109", "none"}
        `"ieee"`: the all-ones exponent with zero trailing field is ±inf.
        `"p3109"`: +inf is the largest positive code, -inf the largest
        negative code (P3109 extended domain). `"none"`: no infinities.
    nan : {"ieee", "fn", "fnuz", "p3109", "none"}
        `"ieee"`: all-ones exponent with nonzero trailing field;
        `"fn"`: only the all-ones magnitude (one NaN per sign);
        `"fnuz"`/`"p3109"`: a single NaN at the negative-zero code for signed
        formats (P3109 unsigned: the all-ones code); `"none"`: no NaN.
    negative_zero : bool
        Whether the code `sign | 0` is a distinct -0.
    overflow_nan : bool
        Under `saturation="none"`, whether a format without infinities sends
        overflow to NaN (OCP) rather than to ±max (P3109 SatNone).
    p3109 : bool
        Apply the P3109 SatNone special cases (unsigned formats, to_odd).
    p3109_edition : {"interim-v4.0", "model-2026-07-07"}, optional
        Which P3109 text the SatNone rules follow (with `p3109=True`): `"interim-v4.0"`
        (IEEE P3109 Interim Report v4.0, 2026-06-26; also what None means) sends to_odd
        overflow of an unsigned extended format to max; `"model-2026-07-07"` (the P3109
        formal model, imandra-ai/ieee-p3109, change "Saturate to NaN in finite domains"
        of 2026-07-07) sends it to +inf. The finite-domain overflow rule of each edition
        is `overflow_nan` (`numfmt.p3109_format` sets both).

    Examples
    --------
    >>> import numfmt
    >>> f = numfmt.get_format("float8_e4m3fn")
    >>> f.max, f.smallest_subnormal, f.bits
    (448.0, 0.001953125, 8)
    """

    name: str
    exponent_bits: int
    mantissa_bits: int
    bias: int
    signed: bool = True
    subnormals: bool = True
    has_zero: bool = True
    inf: InfStyle = "ieee"
    nan: NanStyle = "ieee"
    negative_zero: bool = True
    overflow_nan: bool = True
    p3109: bool = False
    p3109_edition: str | None = None

    def __post_init__(self) -> None:
        for n in ("exponent_bits", "mantissa_bits", "bias"):
            _check_int(n, getattr(self, n))
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty str, got {self.name!r}")
        if self.exponent_bits < 1:
            raise ValueError(f"exponent_bits must be >= 1, got {self.exponent_bits}")
        if self.mantissa_bits < 0:
            raise ValueError(f"mantissa_bits must be >= 0, got {self.mantissa_bits}")
        if self.inf not in _INF_STYLES:
            raise ValueError(f"inf must be one of {_INF_STYLES}, got {self.inf!r}")
        if self.nan not in _NAN_STYLES:
            raise ValueError(f"nan must be one of {_NAN_STYLES}, got {self.nan!r}")
        bits = self.bits
        if bits == 64:
            if (self.exponent_bits, self.mantissa_bits, self.bias) != (11, 52, 1023):
                raise ValueError("the only 64-bit format is binary64 (pass-through)")
        elif not 2 <= bits <= 32:
            raise ValueError(
                f"total width must be 2..32 bits, got {bits} "
                f"(exponent_bits={self.exponent_bits}, mantissa_bits={self.mantissa_bits}, "
                f"signed={self.signed})"
            )
        if self.exponent_bits > 11:
            raise ValueError(f"exponent_bits must be <= 11, got {self.exponent_bits}")
        if self.inf == "ieee" and self.nan not in ("ieee", "none"):
            raise ValueError(f"inf='ieee' needs nan='ieee' or 'none', got nan={self.nan!r}")
        if self.inf == "ieee" and self.nan == "none" and self.mantissa_bits >= 1:
            raise ValueError("inf='ieee' with nan='none' leaves the top binade undefined; use nan='ieee'")
        if self.nan == "ieee" and (self.inf != "ieee" or self.mantissa_bits < 1):
            raise ValueError("nan='ieee' needs inf='ieee' and mantissa_bits >= 1")
        if self.nan == "fnuz" and (not self.signed or self.negative_zero):
            raise ValueError("nan='fnuz' needs a signed format without negative_zero")
        if self.nan == "p3109" and self.signed and self.negative_zero:
            raise ValueError("nan='p3109' on a signed format needs negative_zero=False")
        if self.inf == "p3109" and self.nan != "p3109":
            raise ValueError("inf='p3109' needs nan='p3109'")
        if self.p3109_edition is not None and not isinstance(self.p3109_edition, str):
            raise TypeError(f"p3109_edition must be a str or None, got {type(self.p3109_edition).__name__} "
                            f"{self.p3109_edition!r}")
        if self.p3109_edition is not None and self.p3109_edition not in P3109_EDITIONS:
            raise ValueError(f"p3109_edition must be one of {P3109_EDITIONS} or None, got {self.p3109_edition!r}")
        if not self.signed and self.negative_zero:
            raise ValueError("an unsigned format cannot have negative_zero")
        if not self.has_zero and (self.negative_zero or self.subnormals):
            raise ValueError("a format without zero has neither subnormals nor negative_zero")
        if self.max_code_magnitude < self._min_mag:
            raise ValueError(f"format {self.name!r} has no finite values")
        if self.max_code_magnitude >= (1 << (self.exponent_bits + self.mantissa_bits)):
            raise ValueError(f"format {self.name!r}: special codes leave no room")

    # ------------------------------------------------------------------ layout
    @property
    def kind(self) -> str:
        """`"float"`."""
        return "float"

    @property
    def bits(self) -> int:
        """Total width in bits."""
        return self.exponent_bits + self.mantissa_bits + int(self.signed)

    @property
    def code_dtype(self) -> np.dtype:
        """Smallest unsigned numpy dtype that holds a code."""
        return _code_dtype(self.bits)

    @property
    def significand_bits(self) -> int:
        """Significand bits, hidden bit included: `mantissa_bits + 1`."""
        return self.mantissa_bits + 1

    @property
    def precision(self) -> int:
        """Precision p in bits: `significand_bits` (as IEEE 754, IEEE P3109 and gfloat use the word).

        numpy's `finfo.precision` is a decimal digit count instead; its decimal
        resolution is `decimal_resolution`.
        """
        return self.significand_bits

    @property
    def nmant(self) -> int:
        """Trailing significand bits (numpy `finfo.nmant`)."""
        return self.mantissa_bits

    @property
    def nexp(self) -> int:
        """Exponent field bits (numpy `finfo.nexp`)."""
        return self.exponent_bits

    @property
    def sign_bit(self) -> int:
        """The sign bit's mask in a code (0 for an unsigned format)."""
        return (1 << (self.bits - 1)) if self.signed else 0

    @property
    def _mag_bits(self) -> int:
        return self.exponent_bits + self.mantissa_bits

    @property
    def _min_mag(self) -> int:
        """Smallest magnitude code of a positive finite value."""
        if not self.has_zero:
            return 0
        return 1 if self.subnormals else (1 << self.mantissa_bits)

    @property
    def all_ones(self) -> int:
        """The magnitude mask of a code: every exponent and mantissa bit set."""
        return (1 << self._mag_bits) - 1

    # ------------------------------------------------------------------ special codes
    @property
    def code_of_inf(self) -> int | None:
        """Code of +inf, or None."""
        if self.inf == "ieee":
            return ((1 << self.exponent_bits) - 1) << self.mantissa_bits
        if self.inf == "p3109":
            return self.all_ones if self.signed else self.all_ones - 1
        return None

    @property
    def code_of_neginf(self) -> int | None:
        """Code of -inf, or None."""
        if self.inf == "none" or not self.signed:
            return None
        return self.sign_bit | self.code_of_inf  # type: ignore[operator]

    @property
    def code_of_nan(self) -> int | None:
        """Canonical code of a positive NaN (all-ones payload), or None."""
        if self.nan in ("ieee", "fn"):
            return self.all_ones
        if self.nan in ("fnuz", "p3109"):
            return self.sign_bit if self.signed else self.all_ones
        return None

    @property
    def code_of_negnan(self) -> int | None:
        """Canonical code of a negative NaN (the positive one if NaN is unsigned)."""
        if self.nan in ("ieee", "fn") and self.signed:
            return self.sign_bit | self.all_ones
        return self.code_of_nan

    @property
    def max_code_magnitude(self) -> int:
        """Magnitude code (sign bit clear) of the largest finite value."""
        top = self.all_ones
        if self.inf == "ieee":
            return (((1 << self.exponent_bits) - 2) << self.mantissa_bits) | (
                (1 << self.mantissa_bits) - 1
            )
        if self.inf == "p3109":
            return top - 1 if self.signed else top - 2
        if self.nan == "fn" or (self.nan == "p3109" and not self.signed):
            return top - 1
        return top

    def is_nan_code(self, code: int) -> bool:
        """Whether `code` is a NaN."""
        mag = code & self.all_ones
        if self.nan == "ieee":
            return (mag >> self.mantissa_bits) == (1 << self.exponent_bits) - 1 and (
                mag & ((1 << self.mantissa_bits) - 1)
            ) != 0
        if self.nan == "fn":
            return mag == self.all_ones
        if self.nan in ("fnuz", "p3109"):
            return code == self.code_of_nan
        return False

    @property
    def emin(self) -> int:
        """Exponent of the smallest normal binade (`1 - bias`; `-bias` without zero)."""
        return -self.bias if not self.has_zero else 1 - self.bias

    @property
    def emax(self) -> int:
        """Exponent of the largest finite value."""
        return (self.max_code_magnitude >> self.mantissa_bits) - self.bias

    # ------------------------------------------------------------------ values
    def exact_value(self, code: int) -> Fraction | float:
        """Exact value of `code` as a Fraction (`float` for inf and NaN)."""
        code = int(code)
        if not 0 <= code < (1 << self.bits):
            raise ValueError(f"code {code:#x} out of range for {self.name}")
        if self.is_nan_code(code):
            return float("nan")
        if code == self.code_of_inf:
            return float("inf")
        if code == self.code_of_neginf:
            return float("-inf")
        neg = bool(code & self.sign_bit)
        mag = code & self.all_ones
        e = mag >> self.mantissa_bits
        t = mag & ((1 << self.mantissa_bits) - 1)
        m = self.mantissa_bits
        if self.has_zero and e == 0:
            v = Fraction(t, 1 << m) * Fraction(2) ** (1 - self.bias) if self.subnormals else Fraction(0)
        else:
            v = (1 + Fraction(t, 1 << m)) * Fraction(2) ** (e - self.bias)
        return -v if neg else v

    def values(self) -> np.ndarray:
        """Exact value of every code as float64 (NaN for NaN codes).

        Examples
        --------
        >>> import numfmt
        >>> numfmt.get_format("e2m1").values()[:8].tolist()
        [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]
        """
        return _values(self)

    @property
    def max(self) -> float:
        """Largest finite value."""
        return float(self.exact_value(self.max_code_magnitude))

    @property
    def min(self) -> float:
        """Smallest finite value (`-max` if signed)."""
        if self.signed:
            return -self.max
        return float(self.exact_value(0))

    @property
    def smallest_normal(self) -> float:
        """Smallest positive normal value."""
        return float(Fraction(2) ** self.emin)

    @property
    def tiny(self) -> float:
        """Alias of `smallest_normal` (numpy name)."""
        return self.smallest_normal

    @property
    def smallest_subnormal(self) -> float:
        """Smallest positive value (equals `smallest_normal` without subnormals)."""
        return float(self.exact_value(self._min_mag))

    @property
    def eps(self) -> float:
        """Difference between 1.0 and the next larger value: `2**-mantissa_bits`."""
        return 2.0 ** -self.mantissa_bits

    @property
    def epsneg(self) -> float:
        """Difference between 1.0 and the next smaller value."""
        if self.emin < 0:
            return 2.0 ** -(self.mantissa_bits + 1)
        if not self.subnormals and self.emin == 0:
            return 1.0  # 1.0 is the smallest nonzero value
        return 2.0 ** (self.emin - self.mantissa_bits)  # the quantum of the lowest binade

    @property
    def machep(self) -> int:
        """Exponent of `eps`."""
        return -self.mantissa_bits

    @property
    def maxexp(self) -> int:
        """Smallest power of two that overflows (numpy `finfo.maxexp`)."""
        return self.emax + 1

    @property
    def minexp(self) -> int:
        """Exponent of the smallest normal (numpy `finfo.minexp`)."""
        return self.emin

    @property
    def decimal_resolution(self) -> float:
        """Approximate decimal resolution `10**-floor(-log10(eps))` (numpy's `finfo.resolution`)."""
        return 10.0 ** -int(np.floor(-np.log10(self.eps)))

    @property
    def resolution(self) -> float:
        """Deprecated alias of `decimal_resolution` (numpy's decimal definition, unrelated to `precision`)."""
        deprecated("FloatFormat.resolution is deprecated: use decimal_resolution (numpy's decimal "
                   "resolution; precision counts significand bits)")
        return self.decimal_resolution

    # ------------------------------------------------------------------ kernels
    def exact_in(self, dtype: np.dtype) -> bool:
        """Whether every value of the format is exactly representable in `dtype`."""
        info = np.finfo(dtype)
        if self.bits == 64:
            return np.dtype(dtype) == np.float64
        if self.precision > info.nmant + 1 or self.emax > info.maxexp - 1:
            return False
        return self.emin - self.mantissa_bits >= info.minexp - info.nmant

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, kw_only=True)
class IntFormat:
    """A signed (two's complement) or unsigned integer, optionally fixed point.

    The value of code `c` is `int(c) * 2**scale_exp` (`c` read as two's
    complement when `signed`).

    Parameters
    ----------
    name : str
        Canonical name.
    bits : int
        Width, 1 to 32.
    signed : bool
        Two's complement if True.
    symmetric : bool
        Exclude the most negative code (int8 in -127..127).
    scale_exp : int
        Power-of-two scale of the integer (MXINT8: -6).

    Examples
    --------
    >>> import numfmt
    >>> numfmt.get_format("int4").max, numfmt.get_format("int4").min
    (7.0, -8.0)
    """

    name: str
    bits: int
    signed: bool = True
    symmetric: bool = False
    scale_exp: int = 0

    def __post_init__(self) -> None:
        _check_int("bits", self.bits)
        _check_int("scale_exp", self.scale_exp)
        if not 1 <= self.bits <= 32:
            raise ValueError(f"bits must be 1..32, got {self.bits}")
        if self.symmetric and not self.signed:
            raise ValueError("symmetric needs a signed format")
        if self.signed and self.bits == 1 and self.symmetric:
            raise ValueError("a symmetric 1-bit integer has only zero")
        if abs(self.scale_exp) > 600:
            raise ValueError(f"scale_exp out of range: {self.scale_exp}")

    kind = "int"
    has_zero = True
    negative_zero = False
    code_of_inf = None
    code_of_neginf = None
    code_of_nan = None
    code_of_negnan = None
    nan = "none"
    inf = "none"

    @property
    def code_dtype(self) -> np.dtype:
        """Smallest unsigned numpy dtype that holds a code."""
        return _code_dtype(self.bits)

    @property
    def max_int(self) -> int:
        """Largest integer."""
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def min_int(self) -> int:
        """Smallest integer."""
        if not self.signed:
            return 0
        return -self.max_int if self.symmetric else -(1 << (self.bits - 1))

    @property
    def max(self) -> float:
        """Largest value."""
        return float(Fraction(self.max_int) * Fraction(2) ** self.scale_exp)

    @property
    def min(self) -> float:
        """Smallest value."""
        return float(Fraction(self.min_int) * Fraction(2) ** self.scale_exp)

    @property
    def smallest_subnormal(self) -> float:
        """Smallest positive value (one unit)."""
        return float(Fraction(2) ** self.scale_exp)

    smallest_normal = smallest_subnormal

    @property
    def eps(self) -> float:
        """One unit, `2**scale_exp`."""
        return self.smallest_subnormal

    def is_nan_code(self, code: int) -> bool:
        """Integers have no NaN."""
        return False

    def to_int(self, code: int) -> int:
        """The integer a code stands for (two's complement for signed formats)."""
        code = int(code)
        if not 0 <= code < (1 << self.bits):
            raise ValueError(f"code {code:#x} out of range for {self.name}")
        if self.signed and code >= 1 << (self.bits - 1):
            code -= 1 << self.bits
        return code

    def exact_value(self, code: int) -> Fraction:
        """Exact value of `code`."""
        return Fraction(self.to_int(code)) * Fraction(2) ** self.scale_exp

    def values(self) -> np.ndarray:
        """Exact value of every code as float64 (codes outside a symmetric range included)."""
        return _values(self)

    def exact_in(self, dtype: np.dtype) -> bool:
        """Whether every value is exactly representable in `dtype`."""
        info = np.finfo(dtype)
        width = self.bits - int(self.signed)
        top = self.scale_exp + width
        return width <= info.nmant + 1 and top <= info.maxexp and self.scale_exp >= info.minexp - info.nmant

    def __str__(self) -> str:
        return self.name


Format = FloatFormat | IntFormat


@functools.cache
def _values(f) -> np.ndarray:
    """Exact value of every code of `f` (float64, read-only), computed once per format."""
    if f.bits > 16:
        raise ValueError(f"values() enumerates at most 2**16 codes; {f.name} has {f.bits} bits")
    v = np.array([float(f.exact_value(c)) for c in range(1 << f.bits)], np.float64)
    if f.kind == "float":
        neg = (np.arange(1 << f.bits) & f.sign_bit) != 0
        v[neg & (v == 0)] = -0.0  # Fractions have no signed zero
    v.setflags(write=False)
    return v
