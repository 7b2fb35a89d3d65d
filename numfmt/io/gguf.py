"""Read llama.cpp `.gguf` files' MXFP4 and NVFP4 tensors as block arrays (optional dependency `gguf`)."""

from __future__ import annotations

import os

import numpy as np

from ..block import BlockArray

# GGML tensor type name -> numfmt block format whose serialized layout is that type's block
GGUF_BLOCK_TYPES = {"MXFP4": "gguf_mxfp4", "NVFP4": "gguf_nvfp4"}


def read_gguf(path, *, names=None) -> dict:
    """The MXFP4 and NVFP4 tensors of a `.gguf` file as [`BlockArray`][numfmt.block.BlockArray]s.

    The file is read with the `gguf` package (`pip install gguf`; memory-mapped). Each
    tensor's numpy shape is its GGML shape reversed (GGML's first dimension is the
    contiguous one), so its blocks run along the last axis; its bytes are read by
    [`BlockArray.from_bytes`][numfmt.block.BlockArray.from_bytes] in the layout of
    `gguf_mxfp4` / `gguf_nvfp4`. `numfmt.decode` of the result equals
    `gguf.quants.dequantize` of the tensor's bytes (docs/block-formats.md names the
    byte values llama.cpp never writes, where they differ), and `numfmt.encode(x,
    "gguf_mxfp4")` re-quantizes a tensor as llama.cpp's reference quantizer does.

    Parameters
    ----------
    path : str or os.PathLike
    names : iterable of str, optional
        Tensors to read (default: every MXFP4/NVFP4 tensor). A name that is not in
        the file, or whose type is not MXFP4/NVFP4, is a ValueError.

    Returns
    -------
    dict
        tensor name -> BlockArray, in file order.

    Examples
    --------
    >>> import os, tempfile, numpy as np, numfmt, numfmt.io
    >>> import gguf  # doctest: +SKIP
    >>> x = np.linspace(-4, 4, 64, dtype=np.float32).reshape(2, 32)
    >>> raw = numfmt.encode(x, "gguf_mxfp4").to_bytes().reshape(2, -1)   # one row of blocks per row
    >>> p = os.path.join(tempfile.mkdtemp(), "t.gguf")
    >>> w = gguf.GGUFWriter(p, "demo")  # doctest: +SKIP
    >>> w.add_tensor("w", raw, raw_dtype=gguf.GGMLQuantizationType.MXFP4)  # doctest: +SKIP
    >>> for step in (w.write_header_to_file, w.write_kv_data_to_file, w.write_tensors_to_file, w.close):
    ...     step()  # doctest: +SKIP
    >>> numfmt.decode(numfmt.io.read_gguf(p)["w"])[0, :4].tolist()  # doctest: +SKIP
    [-4.0, -4.0, -4.0, -4.0]
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    try:
        import gguf
    except ImportError as e:
        raise ImportError("numfmt.io.read_gguf needs the gguf package: pip install gguf") from e
    reader = gguf.GGUFReader(os.fspath(path))
    want = None
    if names is not None:
        if isinstance(names, str):
            names = [names]
        want = list(names)
        present = {t.name: t.tensor_type.name for t in reader.tensors}
        for n in want:
            if n not in present:
                raise ValueError(f"tensor {n!r} is not in {os.fspath(path)!r}")
            if present[n] not in GGUF_BLOCK_TYPES:
                raise ValueError(f"tensor {n!r} has type {present[n]}; read_gguf reads "
                                 f"{', '.join(GGUF_BLOCK_TYPES)} tensors")
    out = {}
    for t in reader.tensors:
        fmt = GGUF_BLOCK_TYPES.get(t.tensor_type.name)
        if fmt is None or (want is not None and t.name not in want):
            continue
        shape = tuple(reversed([int(d) for d in t.shape]))
        out[t.name] = BlockArray.from_bytes(np.asarray(t.data, np.uint8), fmt, shape)
    return out
