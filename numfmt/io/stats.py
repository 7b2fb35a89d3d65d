"""What quantizing a tensor cost: errors accumulated chunk by chunk."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .header import Entry


@dataclass(frozen=True)
class TensorError:
    """What quantizing one tensor cost.

    Attributes
    ----------
    name, source_dtype, shape :
        The tensor.
    max_abs : float
        Largest `|q - x|` over the finite inputs (inf when a finite input
        became inf or NaN).
    rms : float
        Root mean square of `q - x` over the finite inputs.
    relative : float
        `rms / rms(x)` (0 when both are 0).
    nonfinite : int
        Number of inputs that are inf or NaN (not counted in the errors).
    """

    name: str
    source_dtype: str
    shape: tuple
    max_abs: float
    rms: float
    relative: float
    nonfinite: int

    def __str__(self) -> str:
        return (f"{self.name:<40} {self.source_dtype:>6} {self.max_abs:12.4g} {self.rms:12.4g} "
                f"{self.relative:10.3%}")


class Stats:
    def __init__(self):
        self.max_abs = 0.0
        self.sq = 0.0
        self.sqx = 0.0
        self.n = 0
        self.nonfinite = 0

    def add(self, x, q, piece: int = 1 << 15):
        """Accumulate the errors of `q` against `x` (in float64, a piece at a time to bound memory)."""
        x = np.asarray(x).reshape(-1)
        q = np.asarray(q).reshape(-1)
        for a in range(0, x.size, piece):
            self._add(x[a:a + piece].astype(np.float64), q[a:a + piece].astype(np.float64))

    def _add(self, x, q):
        fin = np.isfinite(x)
        nf = int(fin.size - np.count_nonzero(fin))
        if nf:
            self.nonfinite += nf
            x, q = x[fin], q[fin]
        with np.errstate(invalid="ignore", over="ignore"):
            d = np.abs(q - x)
        d[np.isnan(d)] = np.inf
        if d.size:
            self.max_abs = max(self.max_abs, float(d.max()))
            with np.errstate(over="ignore", invalid="ignore"):
                self.sq += float(np.einsum("i,i->", d, d))  # (BLAS dot: thread overhead)
                self.sqx += float(np.einsum("i,i->", x, x))
        self.n += d.size

    def result(self, e: Entry) -> TensorError:
        rms = math.sqrt(self.sq / self.n) if self.n else 0.0
        rx = math.sqrt(self.sqx / self.n) if self.n else 0.0
        rel = rms / rx if rx else (0.0 if rms == 0 else math.inf)
        return TensorError(e.name, e.dtype, e.shape, self.max_abs, rms, rel, self.nonfinite)
