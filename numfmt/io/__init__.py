"""Quantize safetensors checkpoints, streaming: `quantize_checkpoint(src, dst, fmt)`.

The safetensors layout is read and written here directly (8-byte little-endian
header length, a JSON header of `dtype`/`shape`/`data_offsets`, then the
raw bytes), so neither the whole file nor the whole output is ever in memory:
tensors are read in slices of `chunk_elements` elements (whole rows for block
formats), encoded, written at their place in the output and measured against
the input. The `safetensors` package is not needed (files written here load
with it).

What is written, per quantized tensor `name`:

* `name`: the codes, stored with the safetensors dtype whose bits they are
  (`F8_E4M3` for `float8_e4m3fn`, `BF16`, `F8_E8M0` ...) or else as
  unsigned integers `U8`/`U16`/`U32` (one code per element, unpacked);
* block formats also `name.scales` (scale codes, blocks along the last axis)
  and, for two-level formats (NVFP4), `name.tensor_scale` (float32, shape []).

Tensors not selected (`include`/`exclude`), integer and bool tensors are
copied unchanged. The header metadata keeps the source's entries and adds
`numfmt.format`, `numfmt.recipe`, `numfmt.policy` and `numfmt.tensors`
(JSON: the role and format of every output tensor). [`load_quantized`][numfmt.io.load_quantized]
reads such a file back into codes and `numfmt.block.BlockArray`.

The output is written to a temporary file `.{name}.numfmt-tmp-<pid>` in the
destination directory and renamed over `dst` at the end, so `dst` is always
either the old file or the complete new one: on any error (corrupt input, NaN
under `nan="raise"`, Ctrl-C, SIGTERM) the temporary file is removed, and one
left by a killed process is removed by the next write to the same `dst`. A
`dst` that is a directory or a special file (FIFO, device) is refused before
anything is read, and so is a source that is not a regular file. Headers are
validated as strictly as the safetensors library does (contiguous,
non-overlapping offsets in order, no duplicate keys, sizes matching dtypes).

Examples
--------
>>> import os, tempfile, numpy as np, numfmt.io
>>> d = tempfile.mkdtemp()
>>> src, dst = os.path.join(d, "model.safetensors"), os.path.join(d, "model.e4m3.safetensors")
>>> numfmt.io.save({"w": np.array([[0.3, -1.0], [2.5, 1000.0]], np.float32)}, src)
>>> rep = numfmt.io.quantize_checkpoint(src, dst, "e4m3", saturation="finite", progress=False)
>>> rep["w"].max_abs, numfmt.io.load_quantized(dst)["w"].tolist()
(552.0, [[42, 184], [66, 126]])
"""

# The package's modules, each one job:
#   files       source/destination checks and the atomic output file
#   header      the safetensors layout: dtypes, header parsing and writing
#   writer      save
#   reader      raw slices, float views of stored dtypes, load_quantized
#   stats       TensorError and its accumulation
#   checkpoint  quantize_checkpoint (streaming, metadata from the encoder's own result)
#   gguf        read_gguf (llama.cpp .gguf files, through the optional gguf package)
from .checkpoint import quantize_checkpoint
from .gguf import read_gguf
from .header import DTYPES, read_header
from .reader import load_quantized
from .stats import TensorError
from .writer import save

__all__ = ["quantize_checkpoint", "load_quantized", "save", "read_header", "TensorError", "DTYPES", "read_gguf"]
