"""Sub-byte packing of codes: 1-, 2-, 4- and 6-bit codes into bytes, and back.

Layouts (`order=`):

`"low_first"` (default)
    Code `k` occupies bits `[w*k, w*k + w)` of the little-endian bit stream:
    for 4-bit codes element `2j` is the low nibble of byte `j` (torch
    `float4_e2m1fn_x2`, torchao `pack_uint4`, TransformerEngine, ModelOpt,
    ONNX INT4/FLOAT4E2M1); for 6-bit codes four codes fill three bytes with code
    0 in bits 5:0 of byte 0; for 1-bit codes this is `numpy.packbits(...,
    bitorder="little")`.
`"high_first"`
    The big-endian bit stream: element `2j` is the high nibble (breccia; PTX
    `cvt.rn.satfinite.e2m1x2.f32 d, x0, x1`, whose first operand lands in the
    high half); for 6-bit codes code 0 is bits 7:2 of byte 0; for 1-bit codes
    `numpy.packbits` (bitorder "big").
`"ptx"` (6-bit only)
    The PTX `e2m3x2` / `e3m2x2` register layout of `cvt... d, x1, x0`:
    each 16-bit little-endian word holds element `2j` in bits 5:0 and element
    `2j + 1` in bits 13:8, the two top bits of each byte zero, i.e. one code
    per byte.

`docs/block-formats.md` has the full table.
"""

from __future__ import annotations

import numpy as np

from .choices import check_choice

__all__ = ["pack", "unpack", "PACK_ORDERS"]

PACK_ORDERS = ("low_first", "high_first", "ptx")
_WIDTHS = (1, 2, 4, 6, 8)


def _check(bits, order):
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)):
        raise TypeError(f"bits must be an int, got {bits!r}")
    if bits not in _WIDTHS:
        raise ValueError(f"bits must be one of {_WIDTHS}, got {bits}")
    order = check_choice("order", order, PACK_ORDERS)
    if order == "ptx" and bits != 6:
        raise ValueError(f"order='ptx' is the 6-bit e2m3x2/e3m2x2 layout; for {bits}-bit codes use "
                         "'low_first' (cvt d, x1, x0) or 'high_first' (cvt d, x0, x1)")
    return order


def packed_size(count: int, bits: int) -> int:
    """Bytes needed for `count` codes of `bits` bits (`order='low_first'`).

    Examples
    --------
    >>> from numfmt.packing import packed_size
    >>> packed_size(5, 4), packed_size(5, 6), packed_size(9, 1)
    (3, 6, 2)
    """
    if bits == 6:
        return 3 * (-(-count // 4))
    per = 8 // bits
    return -(-count // per)


def pack(codes, bits: int, *, order: str = "low_first") -> np.ndarray:
    """Pack unsigned `bits`-bit codes (flattened, C order) into bytes.

    Parameters
    ----------
    codes : array_like of int
        Codes in `0 .. 2**bits - 1`; packed in flattened C order. A partial last
        byte (or 3-byte group for 6-bit codes) is padded with zero codes.
    bits : {1, 2, 4, 6, 8}
    order : {"low_first", "high_first", "ptx"}
        See the module notes; `"ptx"` is 6-bit only.

    Returns
    -------
    ndarray of uint8

    Examples
    --------
    >>> import numfmt
    >>> [hex(b) for b in numfmt.pack([0x1, 0x2, 0x3], 4)]
    ['0x21', '0x3']
    >>> [hex(b) for b in numfmt.pack([0x1, 0x2], 4, order="high_first")]
    ['0x12']
    >>> numfmt.pack([1, 2, 3, 4], 6).tolist()       # 4 codes in 3 bytes
    [129, 48, 16]
    """
    order = _check(bits, order)
    c = np.asarray(codes)
    if c.dtype.kind not in "iu":
        raise TypeError(f"codes must have an integer dtype, got {c.dtype}")
    c = c.reshape(-1)
    if c.size and (int(c.min()) < 0 or int(c.max()) >= (1 << bits)):
        bad = int(c.min()) if int(c.min()) < 0 else int(c.max())
        raise ValueError(f"codes contains {bad:#x}, which does not fit in {bits} bits")
    c = c.astype(np.uint8)
    if bits == 8:
        return c.copy()
    if bits == 6:
        if order == "ptx":
            out = np.zeros(2 * (-(-c.size // 2)), np.uint8)
            out[: c.size] = c
            return out
        g = np.zeros(4 * (-(-c.size // 4)), np.uint32)
        g[: c.size] = c
        g = g.reshape(-1, 4)
        if order == "low_first":
            w = g[:, 0] | (g[:, 1] << 6) | (g[:, 2] << 12) | (g[:, 3] << 18)
            out = np.stack([w & 0xFF, (w >> 8) & 0xFF, (w >> 16) & 0xFF], axis=1)
        else:
            w = (g[:, 0] << 18) | (g[:, 1] << 12) | (g[:, 2] << 6) | g[:, 3]
            out = np.stack([(w >> 16) & 0xFF, (w >> 8) & 0xFF, w & 0xFF], axis=1)
        return out.astype(np.uint8).reshape(-1)
    per = 8 // bits
    g = np.zeros(per * (-(-c.size // per)), np.uint8)
    g[: c.size] = c
    g = g.reshape(-1, per)
    out = np.zeros(g.shape[0], np.uint8)
    for k in range(per):
        sh = bits * k if order == "low_first" else 8 - bits * (k + 1)
        out |= (g[:, k] << sh).astype(np.uint8)
    return out


def unpack(packed, bits: int, count: int, *, order: str = "low_first") -> np.ndarray:
    """Unpack `count` codes of `bits` bits from bytes written by [`pack`][numfmt.pack].

    Examples
    --------
    >>> import numfmt
    >>> numfmt.unpack([0x21, 0x03], 4, 3).tolist()
    [1, 2, 3]
    >>> numfmt.unpack(numfmt.pack([5, 63, 0, 17, 9], 6), 6, 5).tolist()
    [5, 63, 0, 17, 9]
    """
    order = _check(bits, order)
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)):
        raise TypeError(f"count must be an int, got {count!r}")
    p = np.asarray(packed)
    if p.dtype.kind not in "iu":
        raise TypeError(f"packed must have an integer dtype, got {p.dtype}")
    p = p.reshape(-1)
    if p.size and (int(p.min()) < 0 or int(p.max()) > 0xFF):
        raise ValueError("packed must hold bytes (0..255)")
    p = p.astype(np.uint8)
    need = 2 * (-(-count // 2)) if order == "ptx" else (count if bits == 8 else packed_size(count, bits))
    if count < 0 or need > p.size:
        raise ValueError(f"count={count} needs {need} bytes of {bits}-bit codes, got {p.size}")
    if bits == 8:
        return p[:count].copy()
    if bits == 6:
        if order == "ptx":
            if (p[:need] > 0x3F).any():
                raise ValueError("order='ptx' bytes must have their two top bits clear")
            return p[:count].copy()
        g = p[:need].astype(np.uint32).reshape(-1, 3)
        if order == "low_first":
            w = g[:, 0] | (g[:, 1] << 8) | (g[:, 2] << 16)
            out = np.stack([w & 63, (w >> 6) & 63, (w >> 12) & 63, (w >> 18) & 63], axis=1)
        else:
            w = (g[:, 0] << 16) | (g[:, 1] << 8) | g[:, 2]
            out = np.stack([(w >> 18) & 63, (w >> 12) & 63, (w >> 6) & 63, w & 63], axis=1)
        return out.astype(np.uint8).reshape(-1)[:count]
    per = 8 // bits
    mask = (1 << bits) - 1
    q = p[:need]
    out = np.empty((q.size, per), np.uint8)
    for k in range(per):
        sh = bits * k if order == "low_first" else 8 - bits * (k + 1)
        out[:, k] = (q >> sh) & mask
    return out.reshape(-1)[:count]
