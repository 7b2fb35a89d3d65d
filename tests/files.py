"""Test-only helper: load a repository file that is not part of the numfmt package as a module."""

from __future__ import annotations

import importlib.util
import pathlib


def load_module(path: pathlib.Path, name: str):
    """The module in `path` (docs/hooks.py, tools/*.py, examples/*.py), loaded under `name`."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
