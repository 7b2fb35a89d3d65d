"""The safetensors layout: 8-byte little-endian header length, a JSON header of
`dtype`/`shape`/`data_offsets` (and `__metadata__`), then the raw bytes."""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass

import numpy as np

from .files import check_source

MAX_HEADER = 100_000_000  # the safetensors limit

# safetensors dtype -> (numpy storage dtype, numfmt format read by bits or None)
DTYPES = {
    "BOOL": (np.dtype(np.bool_), None),
    "U8": (np.dtype(np.uint8), None), "I8": (np.dtype(np.int8), None),
    "U16": (np.dtype(np.uint16), None), "I16": (np.dtype(np.int16), None),
    "U32": (np.dtype(np.uint32), None), "I32": (np.dtype(np.int32), None),
    "U64": (np.dtype(np.uint64), None), "I64": (np.dtype(np.int64), None),
    "F16": (np.dtype(np.float16), None), "F32": (np.dtype(np.float32), None),
    "F64": (np.dtype(np.float64), None),
    "BF16": (np.dtype(np.uint16), "bfloat16"),
    "F8_E4M3": (np.dtype(np.uint8), "float8_e4m3fn"),
    "F8_E4M3FNUZ": (np.dtype(np.uint8), "float8_e4m3fnuz"),
    "F8_E5M2": (np.dtype(np.uint8), "float8_e5m2"),
    "F8_E5M2FNUZ": (np.dtype(np.uint8), "float8_e5m2fnuz"),
    "F8_E8M0": (np.dtype(np.uint8), "float8_e8m0fnu"),
}
FLOAT_DTYPES = ("F16", "F32", "F64", "BF16", "F8_E4M3", "F8_E4M3FNUZ", "F8_E5M2", "F8_E5M2FNUZ", "F8_E8M0")
# numfmt format -> safetensors dtype holding its codes bit for bit
NATIVE = {
    "bfloat16": "BF16", "binary16": "F16", "binary32": "F32", "binary64": "F64",
    "float8_e4m3fn": "F8_E4M3", "float8_e4m3fnuz": "F8_E4M3FNUZ", "float8_e5m2": "F8_E5M2",
    "float8_e5m2fnuz": "F8_E5M2FNUZ", "float8_e8m0fnu": "F8_E8M0",
}
UNSIGNED = {1: "U8", 2: "U16", 4: "U32", 8: "U64"}


@dataclass(frozen=True)
class Entry:
    name: str
    dtype: str
    shape: tuple
    begin: int
    end: int

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def _bad(path, why: str) -> ValueError:
    return ValueError(f"{os.fspath(path)!r} is not a valid safetensors file: {why}")


def read_header(path) -> tuple[dict, list]:
    """(metadata, entries) of a safetensors file, validated against the file size.

    Entries are `(name, dtype, shape, begin, end)` records (offsets relative to
    the data section), in file order.

    Examples
    --------
    >>> import os, tempfile, numpy as np, numfmt.io
    >>> p = os.path.join(tempfile.mkdtemp(), "t.safetensors")
    >>> numfmt.io.save({"a": np.zeros((2, 3), np.float16)}, p, metadata={"k": "v"})
    >>> meta, entries = numfmt.io.read_header(p)
    >>> meta, [(e.name, e.dtype, e.shape) for e in entries]
    ({'k': 'v'}, [('a', 'F16', (2, 3))])
    """
    path = check_source(path, "path")
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise _bad(path, f"{size} bytes is too short for the 8-byte header length (truncated file?)")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER or 8 + n > size:
            raise _bad(path, f"header length {n} does not fit in a file of {size} bytes (truncated or corrupt)")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _bad(path, f"corrupt JSON header ({e})") from None
    except _Duplicate as e:
        raise _bad(path, f"duplicate key {e.args[0]!r} in the JSON header") from None
    if not isinstance(header, dict):
        raise _bad(path, f"header is a JSON {type(header).__name__}, expected an object")
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise _bad(path, "__metadata__ must map strings to strings")
    data_size = size - 8 - n
    entries = []
    for name, info in header.items():
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
            raise _bad(path, f"tensor {name!r} needs dtype, shape and data_offsets; got {info!r}")
        dt, shape, offs = info["dtype"], info["shape"], info["data_offsets"]
        if dt not in DTYPES:
            raise ValueError(f"tensor {name!r} in {os.fspath(path)!r} has unsupported dtype {dt!r} "
                             f"(supported: {', '.join(DTYPES)})")
        if not (isinstance(shape, list) and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                                for d in shape)):
            raise _bad(path, f"tensor {name!r} has an invalid shape {shape!r}")
        if not (isinstance(offs, list) and len(offs) == 2 and all(isinstance(o, int) and o >= 0 for o in offs)
                and offs[0] <= offs[1]):
            raise _bad(path, f"tensor {name!r} has invalid data_offsets {offs!r}")
        nbytes = math.prod(shape) * DTYPES[dt][0].itemsize
        if offs[1] - offs[0] != nbytes:
            raise _bad(path, f"tensor {name!r} of dtype {dt} and shape {shape} needs {nbytes} bytes, "
                             f"data_offsets {offs} give {offs[1] - offs[0]}")
        if offs[1] > data_size:
            raise _bad(path, f"tensor {name!r} ends at byte {offs[1]} of the data but the file holds only "
                             f"{data_size} data bytes (truncated file?)")
        entries.append(Entry(name, dt, tuple(shape), offs[0], offs[1]))
    # as the safetensors library: in offset order, every tensor starts where the previous one ended
    # (empty tensors included), the first at 0, and the last ends at the end of the file
    entries.sort(key=lambda e: (e.begin, e.end))
    pos, prev = 0, None
    for e in entries:
        if e.begin != pos:
            what = "overlaps" if e.begin < pos else "leaves a gap after"
            after = f"tensor {prev.name!r} (data_offsets [{prev.begin}, {prev.end}])" if prev else "the data start"
            raise _bad(path, f"tensor {e.name!r} (data_offsets [{e.begin}, {e.end}]) {what} {after}; "
                             f"tensors must be contiguous and non-overlapping")
        pos, prev = e.end, e
    if pos != data_size:
        raise _bad(path, f"the tensors end at data byte {pos} but the file holds {data_size} data bytes "
                         f"(trailing bytes)")
    return meta, entries


class _Duplicate(Exception):
    pass


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise _Duplicate(k)
        out[k] = v
    return out


def data_start(path) -> int:
    with open(path, "rb") as f:
        return 8 + struct.unpack("<Q", f.read(8))[0]


def header_bytes(meta: dict, layout: list) -> bytes:
    """JSON header (padded to 8 bytes) for `layout` = [(name, dtype, shape, nbytes)] in data order."""
    header = {"__metadata__": meta} if meta else {}
    pos = 0
    for name, dt, shape, nbytes in layout:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [pos, pos + nbytes]}
        pos += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    return raw


def order(layout: list) -> list:
    """Largest itemsize first (keeps every tensor aligned, as safetensors does)."""
    return sorted(layout, key=lambda t: -DTYPES[t[1]][0].itemsize)

