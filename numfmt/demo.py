"""`python -m numfmt.demo`: encode a few values into E4M3 and E2M1 under several policies."""

from __future__ import annotations

import numpy as np

import numfmt

POLICIES = (
    ("nearest_even", "none"),
    ("nearest_even", "finite"),
    ("nearest_away", "none"),
    ("toward_zero", "none"),
    ("to_odd", "none"),
)


def _bits(code: int, f) -> str:
    """Code as sign|exponent|mantissa bit fields."""
    b = format(int(code), f"0{f.bits}b")
    s = 1 if f.signed else 0
    return "|".join(p for p in (b[:s], b[s : s + f.exponent_bits], b[s + f.exponent_bits :]) if p)


def main() -> None:
    """Print, per input, the code (hex, bit fields) and value under each policy."""
    x = np.array([0.1, 1.0625, 3.5, 464.0, 500.0, -2.5, np.inf, np.nan], np.float32)
    for name in ("float8_e4m3fn", "float4_e2m1fn"):
        f = numfmt.get_format(name)
        print(f"\n{name}: bias {f.bias}, max {f.max:g}, smallest subnormal {f.smallest_subnormal:g}")
        w = (f.bits + 3) // 4
        head = "".join(f"  {r + ('/' + s if s != 'none' else ''):<{w + 23}}" for r, s in POLICIES)
        print(f"{'x':>8}{head}")
        cols = []
        for rounding, sat in POLICIES:
            codes = numfmt.encode(x, f, rounding=rounding, saturation=sat, nan="max")
            cols.append((codes, numfmt.decode(codes, f)))
        for i, xi in enumerate(x):
            cells = "".join(f"  0x{int(c[i]):0{w}x} {_bits(c[i], f):>11} {v[i]:<8g}" for c, v in cols)
            print(f"{xi:>8g}{cells}")
    sr = numfmt.encode(np.full(8, 1.075, np.float32), "binary8p3se", rounding="stochastic", rbits=4,
                       random=np.arange(8, 16, dtype=np.uint8))
    print("\nP3109 binary8p3se, 1.075 under StochasticA with explicit random bits R = 8..15:")
    print("  ", " ".join(hex(c) for c in sr), "(rounds up iff floor(0.3 * 16) + R >= 16)")


if __name__ == "__main__":
    main()
