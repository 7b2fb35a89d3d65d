"""Registered fast variants of the exact kernels.

`round.round_pack` is the definition of every rounding in numfmt. A *variant* is a
faster loop that gives the same codes on a declared part of the input space (some
formats, modes, saturations, input dtypes). Dispatch picks the first registered
variant that applies and falls back to the `round_pack` loop; the tests
(`tests/test_variants*.py`) hold one proof entry per registered name and compare
the variant with the `round_pack` path on everything it claims to cover, so a
variant without a proof fails the suite.

This module is plain data and lookup; it compiles nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Variant", "register", "select", "variants"]


@dataclass(frozen=True)
class Variant:
    """One registered fast loop.

    Attributes
    ----------
    name : str
        Unique name, `"<op>.<detail>"` (for example `"encode.f32.rne"`).
    op : str
        The operation it implements (`"encode"`, `"decode"`, `"block_encode"`, ...).
    kernel : Callable
        The entry point dispatch calls.
    applies : Callable[..., bool]
        Predicate over the op's dispatch arguments: whether this variant covers the call.
    covers : str
        One line saying what it covers (formats, modes, saturations, input dtype), for docs.
    """

    name: str
    op: str
    kernel: Callable
    applies: Callable[..., bool]
    covers: str


_REGISTRY: dict[str, Variant] = {}


def register(name: str, op: str, kernel: Callable, applies: Callable[..., bool], covers: str) -> Variant:
    """Add a variant (at import time of the module that defines the loop); returns it."""
    if name in _REGISTRY:
        raise ValueError(f"variant {name!r} is registered twice")
    v = Variant(name, op, kernel, applies, covers)
    _REGISTRY[name] = v
    return v


def select(op: str, *args) -> Variant | None:
    """The first registered variant of `op` whose `applies(*args)` holds, else None."""
    for v in _REGISTRY.values():
        if v.op == op and v.applies(*args):
            return v
    return None


def variants(op: str | None = None) -> tuple[Variant, ...]:
    """Every registered variant (of `op` when given), in dispatch order."""
    return tuple(v for v in _REGISTRY.values() if op is None or v.op == op)
