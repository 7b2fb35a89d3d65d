"""Deprecated spellings of the API: they keep working and warn with a `DeprecationWarning`."""

from __future__ import annotations

import importlib
import warnings

__all__ = ["deprecated", "legacy_positional", "legacy_policy", "moved_name"]


def deprecated(message: str, stacklevel: int = 3) -> None:
    """Warn that the caller's caller used a deprecated spelling."""
    warnings.warn(message, DeprecationWarning, stacklevel=stacklevel)


def moved_name(module: str, name: str, moved: dict[str, str]):
    """The object that the deprecated `module.name` now is, with a `DeprecationWarning`.

    For a module's `__getattr__`: `moved` maps each old name to its new home
    `"package.module.name"`; any other name is an AttributeError.
    """
    if name not in moved:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    home, _, attr = moved[name].rpartition(".")
    deprecated(f"{module}.{name} is deprecated: use {moved[name]}", stacklevel=4)
    # deprecated alias: the new home is imported on use, so the old module does not depend on it
    return getattr(importlib.import_module(home), attr)


def legacy_positional(func: str, args: tuple, names: tuple[str, ...], given: dict) -> dict:
    """Keyword arguments with the deprecated positional `args` filled in, in the old order `names`.

    `given` holds the keyword arguments the caller passed (None when absent).
    """
    if len(args) > len(names):
        raise TypeError(f"{func}() takes its arguments by keyword ({', '.join(n + '=' for n in names)})")
    used = names[: len(args)]
    deprecated(f"{func}() with {', '.join(used)} by position is deprecated: pass "
               f"{', '.join(f'{n}=' for n in used)} by keyword", stacklevel=4)
    for n, v in zip(used, args):
        if given.get(n) is not None:
            raise TypeError(f"{func}() got {n} both by position and by keyword")
        given[n] = v
    return given


def legacy_policy(func: str, policy, options: dict) -> dict:
    """The encode keywords `options`, merged with the deprecated `policy=` dict of the same keywords."""
    if policy is None:
        return options
    if not isinstance(policy, dict):
        raise TypeError(f"policy must be a dict of encode keywords, got {type(policy).__name__}")
    deprecated(f"{func}(policy={{...}}) is deprecated: pass the encode keywords directly "
               f"({func}(..., rounding=..., saturation=...))", stacklevel=4)
    both = sorted(policy.keys() & options.keys())
    if both:
        raise TypeError(f"{func}() got {both} both in policy= and as keywords")
    return {**policy, **options}
