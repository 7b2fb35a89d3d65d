"""The speed goals as data, checked against a `numfmt bench --json` run (generated into the docs).

Each goal names the benchmark rows it covers (operation, formats, mode) and the ratio to
`np.copyto` every one of them must reach on every input distribution it was measured on; the
mma rows compare numfmt's instruction models with MMA-Sim's in the same run, and the
mma_threads rows numfmt's threads=2 with its threads=1.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["GOALS", "Goal", "goal_rows", "goals_markdown"]

_FP = ("float8_e4m3fn", "float8_e5m2", "float6_e3m2fn", "float6_e2m3fn", "float4_e2m1fn")
_ELEMENT = (*_FP, "bfloat16", "binary16", "int8", "int4")
_BLOCK = ("mxfp4", "mxfp6_e2m3", "mxfp8_e4m3", "nvfp4")


class Goal(NamedTuple):
    """One speed goal: rows whose `op` is in `ops`, `format` in `formats` (None: any) and `mode` in
    `modes` (None: any), on the distributions `dists` (None: all measured), each at least `goal`."""

    label: str
    ops: tuple
    formats: tuple | None
    modes: tuple | None
    goal: float
    dists: tuple | None = None


GOALS = (
    Goal("encode FP8/FP6/FP4, nearest_even, `out=`", ("encode out=",), _FP, ("nearest_even",), 1.0),
    Goal("encode bfloat16 / binary16, nearest_even, `out=`", ("encode out=",), ("bfloat16", "binary16"),
         ("nearest_even",), 1.0),
    Goal("encode int8 / int4, nearest_even, `out=`", ("encode out=",), ("int8", "int4"), ("nearest_even",), 1.0),
    Goal("encode, toward_zero, `out=`", ("encode out=",), _ELEMENT, ("toward_zero",), 0.6),
    Goal("encode, stochastic N = 8, float formats", ("encode out=",), _FP + ("bfloat16", "binary16"),
         ("stochastic N=8",), 0.5),
    Goal("encode, stochastic N = 32, float formats", ("encode out=",), _FP + ("bfloat16", "binary16"),
         ("stochastic N=32",), 0.5),
    Goal("encode, stochastic, int8 / int4", ("encode out=",), ("int8", "int4"), ("stochastic N=8", "stochastic N=32"),
         0.5),
    Goal("decode, `out=`", ("decode out=",), _ELEMENT, None, 1.0),
    Goal("MX / NVFP4 encode (gaussian_absmax)", tuple(f"{b} encode" for b in _BLOCK), _BLOCK, None, 0.8,
         ("gaussian_absmax",)),
    Goal("MX / NVFP4 decode, `out=`", tuple(f"{b} decode out=" for b in _BLOCK), _BLOCK, None, 1.0),
    Goal("`threads=2` over one thread: stochastic rounding, arithmetic",
         ("threads=2 encode", "threads=2 add codes", "threads=2 fma codes"), None, None, 1.7),
    Goal("instruction models vs MMA-Sim (same run)", ("mma_model",), None, None, 30.0),
    Goal("instruction models, threads=2 over threads=1 (same run)", ("mma_threads",), None, None, 1.7),
)


def _matches(g: Goal, r: dict) -> bool:
    op = r.get("op", "")
    if g.ops in (("mma_model",), ("mma_threads",)):
        return op.startswith(g.ops[0] + " ")
    return (op in g.ops and (g.formats is None or r.get("format") in g.formats)
            and (g.modes is None or r.get("mode") in g.modes) and (g.dists is None or r.get("dist") in g.dists))


def goal_rows(doc: dict) -> list[dict]:
    """Per goal: the lowest and highest measured ratio over its rows, the slowest row, and whether it is
    met (None when the run has no such rows)."""
    out = []
    for g in GOALS:
        rs = [r for r in doc["rows"] if _matches(g, r) and r.get("ratio") == r.get("ratio")
              and r.get("ratio") is not None]
        if not rs:
            out.append({"goal": g, "low": None, "high": None, "slowest": None, "met": None})
            continue
        slow = min(rs, key=lambda r: r["ratio"])
        out.append({"goal": g, "low": slow["ratio"], "high": max(r["ratio"] for r in rs),
                    "slowest": f"{slow.get('format')} {slow.get('mode')} {slow.get('dist', '-')}".strip(),
                    "met": slow["ratio"] >= g.goal})
    return out


def goals_markdown(doc: dict) -> str:
    """A Markdown table of `goal_rows(doc)`.

    Examples
    --------
    >>> from numfmt.bench.goals import goals_markdown
    >>> doc = {"rows": [{"op": "decode out=", "format": "int8", "mode": "-", "dist": "spread", "ratio": 1.5}]}
    >>> [ln for ln in goals_markdown(doc).splitlines() if ln.startswith("| decode")]
    ['| decode, `out=` | >= 1.0x | 1.50 to 1.50x | int8 - spread | met |']
    """
    lines = ["| goal | target | measured (lowest to highest) | slowest row | |", "|---|---|---|---|---|"]
    for r in goal_rows(doc):
        g = r["goal"]
        if r["met"] is None:
            lines.append(f"| {g.label} | >= {g.goal:.1f}x | not in this run | | |")
            continue
        lines.append(f"| {g.label} | >= {g.goal:.1f}x | {r['low']:.2f} to {r['high']:.2f}x | {r['slowest']} | "
                     f"{'met' if r['met'] else '**not met**'} |")
    mma = doc.get("meta", {}).get("mma_rows")
    if mma:  # the matrix-instruction rows of a separate run
        load = mma.get("loadavg_at_end")
        lines.append(f"\nThe matrix-instruction rows (`mma_model`, `mma_threads`) come from `{mma['command']}`"
                     + (f" (load average {load[0]} at its end)" if load else "") + ".")
    return "\n".join(lines)
