"""`Identification`: one candidate rule of a search, how much of the dump it explains, and how to apply it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Identification"]


@dataclass(frozen=True)
class Identification:
    """One rule found by [`identify`][numfmt.identify.identify] or
    [`identify_matmul`][numfmt.identify.identify_matmul].

    Attributes
    ----------
    fraction : float
        Share of the elements (0..1) whose output the rule reproduces bit for bit: over every
        element for the confirmed results, over the search sample otherwise (`confirmed` False).
    matched, total : int
        The counts behind `fraction`.
    description : str
        One readable line naming the rule.
    rule : dict or model
        Conversions: the keyword arguments of `numfmt.encode` (block formats: with `scale_offset`,
        see `numfmt.identify`); GEMMs: the accumulation model for `numfmt.matmul`.
    kind : str
        `"conversion"`, `"block"` or `"matmul"`.
    confirmed : bool
        `fraction` was measured on every element, not on the sample only.
    residual : dict
        For the best results that are not 100%: mismatch class -> count (the classes of
        `numfmt.compare`) of the elements the rule does not explain.
    """

    fraction: float
    matched: int
    total: int
    description: str
    rule: object
    kind: str
    confirmed: bool = True
    residual: dict = field(default_factory=dict)
    applier: Callable | None = field(default=None, repr=False, compare=False)

    @property
    def exact(self) -> bool:
        """True when the rule reproduces every element."""
        return self.confirmed and self.matched == self.total

    def apply(self, *inputs):
        """The output of the rule for the inputs of the search (`x`; or `A, B` and an optional `c`)."""
        return self.applier(*inputs)

    def to_dict(self) -> dict:
        """JSON-safe dict (a model is given by its repr)."""
        rule = dict(self.rule) if isinstance(self.rule, dict) else repr(self.rule)
        return {"fraction": self.fraction, "matched": self.matched, "total": self.total,
                "description": self.description, "rule": rule, "kind": self.kind, "confirmed": self.confirmed,
                "residual": dict(self.residual)}

    def __str__(self) -> str:
        pct = f"{100 * self.fraction:.4g}%"
        tail = "" if self.confirmed else " (on the sample)"
        res = ""
        if self.residual:
            worst = sorted(self.residual.items(), key=lambda kv: -kv[1])
            res = "; residual: " + ", ".join(f"{k} {v}" for k, v in worst)
        return f"{pct:>8} {self.description}{tail}{res}"
