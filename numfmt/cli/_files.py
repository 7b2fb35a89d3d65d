"""Reading the input and output files of `numfmt check` (.npy, .npz, raw; packed byte offsets)."""

from __future__ import annotations

import os
import stat
import zipfile
import zlib

import numpy as np

from ..packing import packed_size
from ._common import UsageError

# what reading a truncated or damaged .npz raises (zlib.error: a damaged deflated member)
_NPZ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error)


def load_array(path: str, *, role: str, dtype=None, key=None, flat=True, npz_default=None):
    """A flat (memory-mapped where possible) array from .npy, .npz or a raw file.

    `flat=False` keeps the shape of .npy/.npz arrays; `npz_default` is the
    array an .npz holding several is read from when `key` is None."""
    _check_file(path, role)
    low = path.lower()
    if low.endswith(".npy"):
        if dtype is not None:
            raise UsageError(f"--{role}-dtype is for raw files; {path!r} is .npy and has its own dtype")
        try:
            a = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:  # (EOFError: an empty file)
            raise UsageError(f"cannot read {role} {path!r} as .npy: {type(e).__name__}: {e}") from None
        if not flat:
            return a
        return a.reshape(-1) if a.flags.c_contiguous else np.asarray(a).reshape(-1)
    if low.endswith(".npz"):
        keys = npz_keys(path, role)
        if key is None and npz_default in keys and len(keys) != 1:
            key = npz_default
        if key is None:
            if len(keys) != 1:
                raise UsageError(f"{path!r} holds arrays {keys}; choose one with --{role}-key")
            key = keys[0]
        if key not in keys:
            raise UsageError(f"{path!r} has no array {key!r} (it has {keys})")
        try:
            with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
                a = np.asarray(z[key])
        except _NPZ_ERRORS as e:  # a damaged member
            raise UsageError(f"cannot read array {key!r} of {role} {path!r}: {type(e).__name__}: {e}") from None
        return a if not flat else a.reshape(-1)
    if dtype is None:
        raise UsageError(f"raw {role} file {path!r} needs --{role}-dtype (or use .npy/.npz)")
    size = os.path.getsize(path)
    if size % dtype.itemsize:
        raise UsageError(f"{role} file {path!r} has {size} bytes, not a multiple of the {dtype.name} "
                         f"element size {dtype.itemsize}")
    if size == 0:
        return np.empty(0, dtype)
    return np.memmap(path, dtype=dtype, mode="r")


def _check_file(path: str, role: str) -> None:
    """A UsageError unless `path` is an existing regular file (never opened here)."""
    if not os.path.exists(path):
        raise UsageError(f"{role} file {path!r} does not exist")
    if os.path.isdir(path):
        raise UsageError(f"{role} path {path!r} is a directory")
    if not stat.S_ISREG(os.stat(path).st_mode):  # (a FIFO would block the read forever)
        raise UsageError(f"{role} path {path!r} is not a regular file (a FIFO, socket or device)")


def npz_keys(path: str, role: str = "output") -> list[str]:
    """The names of the arrays in the .npz file `path` (the file closed again, also when it is damaged)."""
    _check_file(path, role)
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
            return list(z.files)
    except _NPZ_ERRORS as e:
        raise UsageError(f"cannot read {role} {path!r} as .npz: {type(e).__name__}: {e}") from None


def packed_bytes(n: int, bits: int, order: str) -> int:
    return 2 * (-(-n // 2)) if order == "ptx" else packed_size(n, bits)


def byte_offset(i: int, bits: int, order: str) -> int:
    """First byte of code `i` (`i` a multiple of 8, so it starts a byte and a 6-bit group)."""
    return i if order == "ptx" else i * bits // 8
