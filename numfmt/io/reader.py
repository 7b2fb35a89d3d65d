"""Reading tensors back: raw slices of a file, float views of stored dtypes, quantized files."""

from __future__ import annotations

import json
import os

import numpy as np

from ..block import BlockArray
from ..codec import decode
from ..presets import get_format
from .header import DTYPES, Entry, data_start, read_header


def read_slice(f, data_start: int, e: Entry, a: int, b: int) -> np.ndarray:
    """Raw elements a..b of entry `e` in its storage dtype."""
    dt = DTYPES[e.dtype][0]
    buf = np.empty(b - a, dt)
    f.seek(data_start + e.begin + a * dt.itemsize)
    got = f.readinto(memoryview(buf).cast("B")) if buf.nbytes else 0
    if got != buf.nbytes:
        raise ValueError(f"tensor {e.name!r}: the file ended after {got} of {buf.nbytes} bytes (truncated file?)")
    return buf


def to_float(raw: np.ndarray, dtype: str) -> np.ndarray:
    fmt = DTYPES[dtype][1]
    if fmt is None:
        return raw
    if fmt == "bfloat16":
        return (raw.astype(np.uint32) << np.uint32(16)).view(np.float32)
    return np.asarray(decode(raw, fmt))


def load_quantized(path, names=None) -> dict:
    """Read a file written by [`quantize_checkpoint`][numfmt.io.quantize_checkpoint].

    It holds codes, BlockArrays and copied tensors.

    Quantized tensors come back as code arrays (element formats) or
    `numfmt.block.BlockArray` (block formats); decode them with
    [`numfmt.decode`][numfmt.decode]. Copied tensors come back as stored (bfloat16/float8
    as their codes).

    Examples
    --------
    >>> import os, tempfile, numpy as np, numfmt, numfmt.io
    >>> d = tempfile.mkdtemp()
    >>> src, dst = os.path.join(d, "a.safetensors"), os.path.join(d, "b.safetensors")
    >>> numfmt.io.save({"w": np.float32([[1.0, 2.5, -3.0, 0.1]])}, src)
    >>> _ = numfmt.io.quantize_checkpoint(src, dst, "nvfp4", progress=False)
    >>> numfmt.decode(numfmt.io.load_quantized(dst)["w"]).tolist()
    [[1.0, 2.0, -3.0, 0.0]]
    """
    meta, entries = read_header(path)
    path = os.fspath(path)
    roles = _json_meta(path, meta, "numfmt.tensors")
    recipe = _json_meta(path, meta, "numfmt.recipe")
    by_name = {e.name: e for e in entries}
    start = data_start(path)
    out = {}
    with open(path, "rb") as f:
        def get(name, of):
            if name not in by_name:
                raise _inconsistent(path, of, f"tensor {name!r} is missing")
            e = by_name[name]
            return read_slice(f, start, e, 0, e.size).reshape(e.shape)

        for e in entries:
            info = roles.get(e.name, {"role": "copy"})
            if not isinstance(info, dict) or info.get("role") not in ("copy", "codes", "scales", "tensor_scale"):
                raise _inconsistent(path, e.name, f"unknown role entry {info!r}")
            if info["role"] in ("scales", "tensor_scale"):
                continue
            if names is not None and e.name not in names:
                continue
            arr = get(e.name, e.name)
            if info["role"] == "codes":
                try:
                    arr = _codes(arr, info, recipe, e, lambda n, of=e.name: get(n, of), by_name)
                except (KeyError, TypeError, ValueError) as err:
                    if isinstance(err, ValueError) and str(err).startswith(f"{path!r}: tensor "):
                        raise
                    raise _inconsistent(path, e.name, f"{type(err).__name__}: {err}") from None
            out[e.name] = arr
    return out


def _inconsistent(path: str, name: str, why: str) -> ValueError:
    return ValueError(f"{path!r}: tensor {name!r}: the numfmt metadata does not match the file ({why})")


def _json_meta(path: str, meta: dict, key: str) -> dict:
    try:
        value = json.loads(meta.get(key, "{}"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path!r}: metadata {key!r} is not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path!r}: metadata {key!r} must be a JSON object, got {type(value).__name__}")
    return value


def _codes(arr, info, recipe, e, get, present):
    """A codes tensor as its code array or BlockArray, from the role entry and the recipe."""
    code_dtype = get_format(info["format"]).code_dtype
    if arr.dtype.itemsize != code_dtype.itemsize:
        raise ValueError(f"{arr.dtype.itemsize}-byte elements cannot hold {info['format']} codes")
    if arr.dtype.kind != "u":
        arr = arr.view(code_dtype)
    if "block_format" not in recipe:
        return arr
    ts = None
    if e.name + ".tensor_scale" in present:
        ts = np.float32(get(e.name + ".tensor_scale"))
    return BlockArray(arr, get(e.name + ".scales"), recipe["block_format"], axis=-1, tensor_scale=ts,
                      scale_rule=recipe.get("scale_rule"), recipe=recipe.get("recipe"))
