"""Every row of the tables in docs/semantics.md is a test."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import numfmt

DOC = Path(__file__).resolve().parents[1] / "docs" / "semantics.md"


def _rows():
    rows = []
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[5].startswith("0x"):
            rows.append(cells)
    return rows


ROWS = _rows()


def _value(text: str) -> float:
    if text in ("nan", "-nan"):
        return math.copysign(math.nan, -1.0 if text.startswith("-") else 1.0)
    return float(eval(text, {"__builtins__": {}}, {"inf": math.inf}))


def test_table_is_not_empty():
    assert len(ROWS) >= 40


@pytest.mark.parametrize(
    "fmt,x,rounding,saturation,nan,code,why", ROWS, ids=[f"{r[0]}-{r[1]}-{r[2]}-{r[3]}" for r in ROWS]
)
def test_row(fmt, x, rounding, saturation, nan, code, why):
    v = _value(x)
    for dtype in (np.float64, np.float32):
        with np.errstate(over="ignore"):
            if np.isfinite(v) and float(dtype(v)) != v:
                continue
        got = numfmt.encode(np.array(v, dtype), fmt, rounding=rounding, saturation=saturation, nan=nan)
        assert int(got) == int(code, 16), (why, dtype)


def test_rounding_mode_table_lists_every_mode_with_its_aliases():
    """The "Rounding modes" table names each mode of `numfmt.policy.ROUNDINGS` once, with its aliases."""
    from numfmt.policy import ROUNDING_ALIASES, ROUNDINGS  # (policy data, used by this test only)

    text = DOC.read_text()
    section = text[text.index("## Rounding modes"):text.index("## Saturation")]
    table = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            table[cells[0].strip("`")] = {a.strip() for a in cells[1].split(",") if a.strip()}
    assert set(table) == set(ROUNDINGS)
    for name, aliases in table.items():
        assert aliases == {a for a, m in ROUNDING_ALIASES.items() if m == name and a != "stochastic_a"}, name
