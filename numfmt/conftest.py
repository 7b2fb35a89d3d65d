"""Doctest collection: skip modules whose optional dependency is not installed."""

import importlib.util

collect_ignore = []
if importlib.util.find_spec("dask") is None:
    collect_ignore.append("daskarray.py")
if importlib.util.find_spec("torch") is None:
    collect_ignore.append("interop.py")
    collect_ignore.append("torch.py")
if importlib.util.find_spec("safetensors") is None:
    collect_ignore.append("io.py")
if importlib.util.find_spec("hypothesis") is None:
    collect_ignore.append("testing.py")
