"""Counter-based random bits: SplitMix64 keyed by (seed key, element index).

The one definition of numfmt's reproducible random stream, used by every kernel
that rounds stochastically and, through the same jitted functions, by the Python
layers (interoperability, checkpoints, `explain`).
"""

from __future__ import annotations

import numpy as np

from .jit import jit

__all__ = ["splitmix64", "field_bits", "random_bits", "fill_words"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@jit
def splitmix64(key, counter):
    """SplitMix64 output number `counter` of the stream `key` (a counter-based generator)."""
    z = np.uint64(key) + (np.uint64(counter) + np.uint64(1)) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))

@jit
def field_bits(nbits):
    """log2 of the field width W that holds N random bits: W = 8, 16 or 32."""
    return 3 if nbits <= 8 else (4 if nbits <= 16 else 5)

@jit
def random_bits(key, index, nbits):
    """N random bits for element `index`: the top N bits of one W-bit field of SplitMix64.

    W = 8 for N <= 8, 16 for N <= 16, else 32; one 64-bit output holds k = 64 / W
    fields, and element i takes field i mod k (lowest first) of output number i // k.
    The bits of an element depend only on the key, N and its flat index, never on
    chunking or threads.
    """
    lw = np.uint64(field_bits(nbits))
    lk = np.uint64(6) - lw
    i = np.uint64(index)
    z = splitmix64(key, i >> lk)
    w = np.uint64(1) << lw
    field = (z >> ((i & ((np.uint64(1) << lk) - np.uint64(1))) << lw)) & ((np.uint64(1) << w) - np.uint64(1))
    return np.int64(field >> (w - np.uint64(nbits)))

@jit
def fill_words(words, key, start, n, nbits):
    """The SplitMix64 outputs that hold `random_bits(key, start + i, nbits)` for i < n.

    Writes outputs number start // k ... into `words` (uint64; k = 64 / W fields
    per output, see `random_bits`; n // 2 + 2 words suffice for every N) and
    returns the offset of element `start`'s field in the W-bit view of `words`.
    With N = 8 one hash serves eight elements.
    """
    lk = 6 - field_bits(nbits)
    q0 = start >> lk
    nq = ((start + n - 1) >> lk) - q0 + 1 if n > 0 else 0
    if nq > words.size:
        raise ValueError("fill_words: the words buffer is too short")
    for q in range(nq):
        words[q] = splitmix64(key, q0 + q)
    return start - (q0 << lk)
