"""Writing numpy arrays to a safetensors file."""

from __future__ import annotations

import struct
from collections.abc import Mapping

import numpy as np

from .files import atomic_output, check_destination
from .header import DTYPES, header_bytes, order


def save(tensors: dict, path, *, metadata: dict | None = None) -> None:
    """Write numpy arrays to a safetensors file (atomically).

    ml_dtypes arrays of bfloat16/float8 types are stored with their safetensors
    dtype (`BF16`, `F8_E4M3` ...). `path` is always either its old content or
    the complete new file (see `quantize_checkpoint` for the rules on `dst`);
    `metadata` maps str to str.

    Examples
    --------
    >>> import os, tempfile, numpy as np, numfmt.io
    >>> p = os.path.join(tempfile.mkdtemp(), "t.safetensors")
    >>> numfmt.io.save({"x": np.arange(3, dtype=np.int32)}, p)
    >>> numfmt.io.read_header(p)[1][0].dtype
    'I32'
    """
    path = check_destination(path, "path")
    if not isinstance(tensors, Mapping):
        raise TypeError(f"tensors must be a dict of name -> array, got {type(tensors).__name__}")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict of str -> str, got {type(metadata).__name__}")
        bad = [(k, v) for k, v in metadata.items() if not (isinstance(k, str) and isinstance(v, str))]
        if bad:
            raise TypeError(f"metadata must map str to str (as safetensors requires), got {bad[0][0]!r}: "
                            f"{type(bad[0][1]).__name__}")
    layout, arrays = [], {}
    for name, a in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"tensor names must be str, got {name!r}")
        if name == "__metadata__":
            raise ValueError("tensors must not have a tensor named '__metadata__' (reserved by safetensors for "
                             "the metadata; pass metadata= instead)")
        a = np.asarray(a)
        if not a.flags.c_contiguous:
            a = a.copy()  # (np.ascontiguousarray would make 0-d arrays 1-d)
        dname = a.dtype.name
        st = {"bfloat16": "BF16", "float8_e4m3fn": "F8_E4M3", "float8_e4m3fnuz": "F8_E4M3FNUZ",
              "float8_e5m2": "F8_E5M2", "float8_e5m2fnuz": "F8_E5M2FNUZ", "float8_e8m0fnu": "F8_E8M0"}.get(dname)
        if st is None:
            st = next((k for k, (d, f) in DTYPES.items() if f is None and d == a.dtype), None)
        if st is None:
            raise TypeError(f"tensor {name!r} has dtype {a.dtype}, which safetensors cannot store")
        arrays[name] = a
        layout.append((name, st, a.shape, a.nbytes))
    layout = order(layout)
    raw = header_bytes(dict(metadata or {}), layout)
    with atomic_output(path, "path") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        for name, *_ in layout:
            f.write(arrays[name].tobytes())

