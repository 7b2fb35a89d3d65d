"""Dask arrays handed to the numpy verbs: recognised without importing dask, computed lazily.

`numfmt.daskarray` registers its lazy verbs here when numfmt is imported (that imports no
dask); `numfmt.encode`, `decode`, `quantize` and the arithmetic verbs call them for dask
inputs. Importing dask happens only when a dask array is actually handed over.
"""

from __future__ import annotations

__all__ = ["LAZY_VERBS", "is_dask", "lazy_call"]

LAZY_VERBS: dict = {}  # verb name -> its lazy version (filled by numfmt.daskarray)


def is_dask(x) -> bool:
    """Whether `x` is a dask collection (known from its type, without importing dask)."""
    return type(x).__module__.startswith("dask.") and hasattr(x, "__dask_graph__")


def lazy_call(verb: str, *args, **kwargs):
    """The lazy (dask) version of `verb` called with these arguments."""
    return LAZY_VERBS[verb](*args, **kwargs)
