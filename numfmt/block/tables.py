"""Docs tables of the block package, generated from its data (`<!-- numfmt:call ... -->` in
docs/block-formats.md): the GGUF edge cases and the serialized layouts."""

from __future__ import annotations

import numpy as np

from .encoder import encode
from .formats import get_block_format, list_block_formats
from .layout import GGUF_BLOCKS, LAYOUTS

# Edge cases of the llama.cpp rules, as (format, case, leading values of a block); the docs
# table `gguf_edge_cases_table` shows what numfmt encodes for each (tests/test_gguf.py checks every
# row against a transcription of the C reference).
EDGE_CASES = (
    ("gguf_mxfp4", "grid ties 0.25, 0.75, 2.5, 5 (scale 1)", (6.0, 0.25, 0.75, 2.5, 5.0)),
    ("gguf_mxfp4", "negative ties and tiny negatives round to +0", (6.0, -0.25, -0.1, -0.75, -5.0)),
    ("gguf_mxfp4", "amax 7.99: 6 < x/scale < 8 becomes 6", (7.99, 7.0, -7.5)),
    ("gguf_mxfp4", "amax just below 1024: float32 log2 rounds up", (np.float32(1023.99994),)),
    ("gguf_mxfp4", "amax 2**-125: the smallest defined scale", (2.0 ** -125, 2.0 ** -127)),
    ("gguf_mxfp4", "amax below 2**-125 (undefined in C): scale 0", (2.0 ** -130,)),
    ("gguf_mxfp4", "zero block", (0.0, -0.0)),
    ("gguf_mxfp4", "NaN: skipped by amax, code 0", (float("nan"), 3.0)),
    ("gguf_mxfp4", "largest float32", (3.4028235e38, -1e38)),
    ("gguf_nvfp4", "amax 6: scale 1.0", (6.0, 0.25, -0.75, 2.5)),
    ("gguf_nvfp4", "amax/6 = 250 rounds up to the top binade: 0x7E", (1500.0, 700.0)),
    ("gguf_nvfp4", "amax/6 = 300 (top binade): 0x7E (448)", (1800.0, 900.0)),
    ("gguf_nvfp4", "subnormal scale: (int)(x*512 + 0.5) clamped to 7", (np.float32(7.6 / 512 * 6),)),
    ("gguf_nvfp4", "huge values: float32 errors tie, code 0", (1e30, -1e30, 2688.0)),
    ("gguf_nvfp4", "inf: scale 0x7E, the inf element code 0", (float("inf"), 6.0, -3000.0)),
)


def gguf_edge_cases_table() -> str:
    """Markdown table of `EDGE_CASES`: the scale byte and element codes numfmt gives."""
    rows = ["| format | case | leading values | scale byte | element codes |", "|---|---|---|---|---|"]
    for fmt, case, vals in EDGE_CASES:
        x = edge_block(fmt, vals)
        ba = encode(x, fmt)
        n = len(vals)
        shown = ", ".join(f"{float(v):.9g}" for v in x[:n])
        rows.append(f"| `{fmt}` | {case} | {shown} | 0x{int(ba.scales[0]):02X} | "
                    f"{' '.join(f'{int(c):X}' for c in ba.codes[:n])} |")
    return "\n".join(rows)


def edge_block(fmt: str, vals) -> np.ndarray:
    """A float32 block of the format's length starting with `vals`, zeros after."""
    x = np.zeros(32 if fmt == "gguf_mxfp4" else 16, np.float32)
    x[:len(vals)] = np.asarray(vals, np.float64).astype(np.float32)
    return x


def layouts_table() -> str:
    """Markdown table of the serialized layouts (docs/block-formats.md)."""
    rows = ["| layout | block bytes | scale bytes | element bytes | nibbles of byte j (block s) | formats |",
            "|---|---|---|---|---|---|"]
    for lay in LAYOUTS:
        names = ", ".join(f"`{n}`" for n in list_block_formats() if get_block_format(n).layout == lay)
        if lay in GGUF_BLOCKS:
            per, nsc, bs = GGUF_BLOCKS[lay]
            nib = (f"low: element {bs} s + j, high: {bs} s + j + {bs // 2}" if per != bs
                   else f"low: element j, high: j + {bs // 2}")
            rows.append(f"| `{lay}` | {nsc + per // 2} per {per} elements | {nsc} ({per // bs} x scale) | "
                        f"{per // 2} | {nib} | {names} |")
        else:
            rows.append(f"| `{lay}` | one flat array | every scale code (little-endian) | `numfmt.pack` of all "
                        f"codes | `low_first`: element 2j low | {names} |")
    return "\n".join(rows)
