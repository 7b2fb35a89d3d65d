"""``python -m numfmt.demo``: encode a few values into E4M3 and E2M1 under several policies."""

from __future__ import annotations

import numpy as np

import numfmt


def _bits(code: int, f) -> str:
    b = format(int(code), f"0{f.bits}b")
    if f.kind != "float":
        return b
    s = 1 if f.signed else 0
    return " ".join(p for p in (b[:s], b[s : s + f.exponent_bits], b[s + f.exponent_bits :]) if p)


def main() -> None:
    """Print codes, bits and values for a few inputs, formats and rounding modes."""
    x = np.array([0.1, 1.0625, 3.5, 464.0, 500.0, -2.5, np.inf], np.float32)
    for name in ("float8_e4m3fn", "float4_e2m1fn"):
        f = numfmt.get_format(name)
        print(f"\n{name}: bias {getattr(f, 'bias', '-')}, max {f.max}, smallest subnormal {f.smallest_subnormal}")
        print(f"{'x':>10} {'rounding':>16} {'saturation':>10} {'code':>6} {'bits':>12} {'value':>10}")
        for rounding in ("nearest_even", "nearest_away", "toward_zero", "to_odd"):
            for sat in ("none", "finite"):
                codes = numfmt.encode(x, f, rounding=rounding, saturation=sat, nan="max")
                vals = numfmt.decode(codes, f)
                for xi, c, v in zip(x, codes, vals):
                    print(f"{xi:>10g} {rounding:>16} {sat:>10} {int(c):#6x} {_bits(c, f):>12} {v:>10g}")
    sr = numfmt.encode(np.full(8, 1.075, np.float32), "binary8p3se", rounding="stochastic", rbits=4,
                       random=np.arange(8, 16, dtype=np.uint8))
    print("\nbinary8p3se, 1.075 with StochasticA and R = 8..15:", [hex(c) for c in sr])


if __name__ == "__main__":
    main()
