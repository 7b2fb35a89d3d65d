"""The semantics page's table of the `daz=`/`via=`/`ftz=` steps (`numfmt.steps`), made from the code.

Each row's code is what `numfmt.encode` gives; `tests/test_steps.py` checks every row against
`numfmt.reference`.
"""

from __future__ import annotations

import numpy as np

from .frontend import encode

__all__ = ["CASES", "steps_table"]


# one row per rule of the steps: (format, x as Python text, input dtype, options, why); the code column
# of the table is what `numfmt.encode` gives (tests/test_steps.py checks each row against numfmt.reference)
CASES = (
    ("e4m3", "2**-8", "float32", {"ftz": True}, "subnormal result (2^-8 = 0x02): flushed to +0"),
    ("e4m3", "-2**-8", "float32", {"ftz": True}, "flushed to the zero of its sign"),
    ("float8_e4m3fnuz", "-2**-9", "float32", {"ftz": True}, "no -0 in the format: +0"),
    ("e4m3", "2**-6 - 2**-11", "float32", {"ftz": True}, "rounds up to the smallest normal 2^-6: kept"),
    ("e4m3", "2**-6 - 2**-11", "float32", {"ftz": True, "rounding": "toward_zero"},
     "rounds down to a subnormal: flushed"),
    ("bfloat16", "1e-40", "float32", {"daz": True}, "a float32 subnormal input is zero"),
    ("bfloat16", "-1e-40", "float32", {"daz": True}, "... of its sign"),
    ("bfloat16", "1e-40", "float64", {"daz": True}, "normal in float64, the input dtype: rounded as usual"),
    ("bfloat16", "1e-40", "float64", {"daz": "binary32"}, "below binary32's smallest normal: zero"),
    ("e4m3", "1 + 2**-4 + 2**-9", "float32", {}, "above the midpoint between 1 and 1.125: up"),
    ("e4m3", "1 + 2**-4 + 2**-9", "float32", {"via": "bfloat16"},
     "bfloat16 rounds it to the midpoint 1.0625, then the tie goes to even 1.0"),
    ("e4m3", "1 + 2**-4 + 2**-9", "float32", {"via": "binary16"}, "exact in binary16: as without via"),
    ("e4m3", "1 + 2**-4 - 2**-10", "float32", {"rounding": "nearest_away", "via": "bfloat16"},
     "below the midpoint, but bfloat16 rounds it onto it and the tie goes away: 1.125"),
    ("bfloat16", "1 + 3 * 2**-8 - 2**-40", "float64", {"via": "binary32"},
     "float64 to float32 to bfloat16: the float32 tie goes to even (1 + 2^-6)"),
    ("bfloat16", "1 + 3 * 2**-8 - 2**-40", "float64", {}, "directly: below the midpoint, 1 + 2^-7"),
)


def _options_text(opts: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in opts.items()) or "(none)"


def steps_table() -> str:
    """The Markdown table of `CASES` with the codes `numfmt.encode` gives (the semantics page)."""
    lines = ["| format | x | input dtype | options | code | why |", "|---|---|---|---|---|---|"]
    for fmt, xtext, dtype, opts, why in CASES:
        x = np.asarray(eval(xtext, {"__builtins__": {}}), dtype)  # (literal arithmetic only)
        code = int(encode(x, fmt, **opts))
        lines.append(f"| {fmt} | {xtext} | {dtype} | {_options_text(opts)} | {code:#x} | {why} |")
    return "\n".join(lines)
