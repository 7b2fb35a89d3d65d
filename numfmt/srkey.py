"""`sr_key(seed, step)`: a small frozen key that gives stochastic rounding fresh, reproducible random
bits at every training step.

An int seed names one random stream: `random=0` gives the same bits at every call, which is
reproducibility, and wrong for training (every step would round the same way). A key names the
stream of (seed, step): `random=numfmt.sr_key(seed, step)` with the step counter advancing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SRKey", "sr_key"]

_U64 = 1 << 64


@dataclass(frozen=True)
class SRKey:
    """The random stream of (seed, step), for `random=` of every stochastic rounding.

    Its stream key is output number `step` of the SplitMix64 stream keyed by the seed's key
    (`numfmt._kernels.streams.seed_key(seed)`), its top bit cleared (63 bits, like a seed's key):
    element i then takes its bits from that stream exactly as for an int seed (see the semantics
    page). Different steps give unrelated bits; the same (seed, step) the same bits.
    """

    seed: int
    step: int

    def __post_init__(self) -> None:
        for name in ("seed", "step"):
            v = getattr(self, name)
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {type(v).__name__}: {v!r}")
            if not 0 <= v < _U64:
                raise ValueError(f"{name} must be in 0 .. 2**64 - 1, got {v}")
            object.__setattr__(self, name, int(v))

    def stream_key(self) -> int:
        """The 63-bit key of the stream the bits come from."""
        from ._kernels.streams import seed_key, splitmix64  # lazy: numba loads on the first kernel call

        return int(splitmix64(np.uint64(seed_key(self.seed)), np.uint64(self.step))) & ((1 << 63) - 1)

    def next(self) -> SRKey:
        """The key of the next step."""
        return SRKey(self.seed, (self.step + 1) % _U64)


def sr_key(seed: int, step: int) -> SRKey:
    """The stochastic-rounding key of training step `step` under `seed`.

    Examples
    --------
    >>> import numpy as np, numfmt
    >>> x = np.full(8, 0.3, np.float32)
    >>> a = numfmt.quantize(x, "e2m1", rounding="stochastic", random=numfmt.sr_key(7, 0))
    >>> b = numfmt.quantize(x, "e2m1", rounding="stochastic", random=numfmt.sr_key(7, 1))
    >>> a.tolist() == numfmt.quantize(x, "e2m1", rounding="stochastic", random=numfmt.sr_key(7, 0)).tolist()
    True
    >>> a.tolist() != b.tolist()
    True
    """
    return SRKey(seed, step)
