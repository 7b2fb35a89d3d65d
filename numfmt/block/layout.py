"""Serialized layouts of block formats: `BlockArray.to_bytes` / `BlockArray.from_bytes`.

* `"gguf_mxfp4"` (llama.cpp `block_mxfp4`, ggml-common.h): per 32 elements one E8M0 byte,
  then 16 bytes whose byte `j` holds element `j` in its low nibble and element `j + 16` in
  its high nibble. Shape `(n_blocks, 17)`.
* `"gguf_nvfp4"` (llama.cpp `block_nvfp4`): per 64 elements the four UE4M3 bytes of its
  16-element blocks, then 32 bytes: for block `s`, byte `8 s + j` holds element
  `16 s + j` (low nibble) and `16 s + j + 8` (high nibble). Shape `(n_blocks, 36)`.
* `"planar"` (numfmt's layout of the other block formats): a flat uint8 array, the scale
  codes in C order (little-endian when wider than 8 bits), then the element codes packed
  with [`numfmt.pack`][numfmt.pack] (`low_first`) along the flattened array (C order);
  16-bit element codes are stored little-endian. A tensor scale is not part of it.

GGUF stores a tensor row by row with blocks along its last (contiguous) axis: both
layouts need `axis` = the last axis and a last-axis length that is a multiple of 32 (64).
"""

from __future__ import annotations

import operator

import numpy as np

from ..packing import pack, packed_size, unpack

LAYOUTS = ("planar", "gguf_mxfp4", "gguf_nvfp4")
# (elements per serialized block, scale bytes per block, elements per scale)
GGUF_BLOCKS = {"gguf_mxfp4": (32, 1, 32), "gguf_nvfp4": (64, 4, 16)}
_PACK_WIDTHS = (1, 2, 4, 6, 8)


def check_layout(f) -> None:
    """ValueError unless block format `f` fits its `layout`."""
    if f.layout in GGUF_BLOCKS:
        bs = GGUF_BLOCKS[f.layout][2]
        if f.element.bits != 4 or f.scale.bits > 8 or f.block_size != bs:
            raise ValueError(f"layout={f.layout!r} needs 4-bit elements, a scale of at most 8 bits and "
                             f"block_size={bs}; {f.name} has {f.element.bits}-bit elements, a {f.scale.bits}-bit "
                             f"scale and block_size={f.block_size}")


def _gguf_rows(shape, axis, per: int, layout: str):
    if axis != len(shape) - 1:
        raise ValueError(f"layout={layout!r} stores blocks along the last axis; encode with axis=-1 "
                         f"(this array has axis={axis})")
    if shape[-1] % per:
        raise ValueError(f"layout={layout!r} needs a last axis that is a multiple of {per}, got {shape[-1]}")
    return int(np.prod(shape, dtype=np.int64)) // per


def _le_bytes(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, a.dtype.newbyteorder("<")).reshape(-1).view(np.uint8)


def to_bytes(ba) -> np.ndarray:
    """The serialized layout of BlockArray `ba` (see the module notes)."""
    f = ba.format
    if f.layout in GGUF_BLOCKS:
        per, nsc, bs = GGUF_BLOCKS[f.layout]
        nblk = _gguf_rows(ba.codes.shape, ba.axis, per, f.layout)
        if ba.tensor_scale is not None:
            raise ValueError(f"layout={f.layout!r} has no tensor scale; this array has tensor_scale="
                             f"{float(ba.tensor_scale)!r}")
        c = ba.codes.reshape(nblk, per // bs, 2, bs // 2).astype(np.uint8)
        qs = (c[:, :, 0, :] | (c[:, :, 1, :] << 4)).reshape(nblk, per // 2)
        return np.concatenate([ba.scales.reshape(nblk, nsc).astype(np.uint8), qs], axis=1)
    if ba.tensor_scale is not None:
        raise ValueError(f"{f.name} with a tensor scale has no single-buffer layout: store "
                         "BlockArray.tensor_scale next to to_bytes() of a copy without it")
    eb = f.element.bits
    if eb in _PACK_WIDTHS:
        el = pack(ba.codes.reshape(-1), eb)
    elif eb == 16:
        el = _le_bytes(ba.codes)
    else:
        raise ValueError(f"layout='planar' stores elements of 1, 2, 4, 6, 8 or 16 bits, not {eb}")
    sc = ba.scales if ba.axis == ba.codes.ndim - 1 else np.moveaxis(ba.scales, ba.axis, -1)
    return np.concatenate([_le_bytes(sc), el])


def check_shape(shape) -> tuple[int, ...]:
    """`shape` (an int or a sequence of ints) as a tuple of non-negative ints; TypeError / ValueError
    naming `shape` otherwise (a float is refused, never truncated)."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        items = tuple(shape)
    except TypeError:
        raise TypeError(f"shape must be an int or a tuple of ints, got {type(shape).__name__} {shape!r}") from None
    out = []
    for s in items:
        if isinstance(s, bool):
            raise TypeError(f"shape must hold ints, got {s!r} in {shape!r}")
        try:
            out.append(operator.index(s))
        except TypeError:
            raise TypeError(f"shape must hold ints, got {type(s).__name__} {s!r} in {shape!r}") from None
    shape = tuple(out)
    if not shape or any(s < 0 for s in shape):
        raise ValueError(f"shape must be a non-empty tuple of non-negative ints, got {shape}")
    return shape


def from_bytes(raw, f, shape, axis: int):
    """(codes, scales, axis) of the serialized bytes `raw` of block format `f` and array `shape`."""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        buf = np.frombuffer(raw, np.uint8)
    else:
        buf = np.asarray(raw)
        if buf.dtype != np.uint8:
            raise TypeError(f"raw must be bytes or a uint8 array, got dtype {buf.dtype}")
        buf = buf.reshape(-1)
    shape = check_shape(shape)
    ax = axis % len(shape)
    if f.layout in GGUF_BLOCKS:
        per, nsc, bs = GGUF_BLOCKS[f.layout]
        nblk = _gguf_rows(shape, ax, per, f.layout)
        if buf.size != nblk * (nsc + per // 2):
            raise ValueError(f"raw has {buf.size} bytes; shape {shape} in layout={f.layout!r} needs "
                             f"{nblk * (nsc + per // 2)}")
        b = buf.reshape(nblk, nsc + per // 2)
        qs = b[:, nsc:].reshape(nblk, per // bs, 1, bs // 2)
        codes = np.concatenate([qs & 0x0F, qs >> 4], axis=2).reshape(shape)
        scales = b[:, :nsc].reshape(*shape[:-1], shape[-1] // bs)
        return codes, scales, ax
    n = shape[ax]
    sshape = list(shape)
    sshape[ax] = -(-n // f.block_size)
    moved = [*sshape[:ax], *sshape[ax + 1:], sshape[ax]]
    ns = int(np.prod(sshape, dtype=np.int64))
    sb = f.scale.code_dtype.itemsize
    count = int(np.prod(shape, dtype=np.int64))
    eb = f.element.bits
    if eb in _PACK_WIDTHS:
        ne = packed_size(count, eb)
    elif eb == 16:
        ne = 2 * count
    else:
        raise ValueError(f"layout='planar' stores elements of 1, 2, 4, 6, 8 or 16 bits, not {eb}")
    if buf.size != ns * sb + ne:
        raise ValueError(f"raw has {buf.size} bytes; shape {shape} of {f.name} in layout='planar' needs {ns * sb + ne}")
    scales = buf[:ns * sb].view(f.scale.code_dtype.newbyteorder("<")).astype(f.scale.code_dtype)
    scales = np.moveaxis(scales.reshape(moved), -1, ax)
    eb_raw = buf[ns * sb:]
    codes = (unpack(eb_raw, eb, count) if eb in _PACK_WIDTHS
             else eb_raw.view(np.dtype("<u2")).astype(np.uint16)).reshape(shape)
    return codes, scales, ax

