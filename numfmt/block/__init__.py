"""Block-scaled formats: OCP Microscaling (MX), NVIDIA NVFP4 and custom ones.

A block format is data ([`BlockFormat`][numfmt.block.BlockFormat]): an element format, a scale
format, a block size and whether a second-level float32 tensor scale is used.
The verbs of the core codec accept block formats::

    ba = numfmt.encode(x, "mxfp4")            # -> BlockArray(.scales, .codes, ...)
    y  = numfmt.decode(ba)                    # float32 values
    y  = numfmt.quantize(x, "nvfp4", recipe="torchao")

Every scale rule and recipe is named after the implementation whose bits it
reproduces; `docs/block-formats.md` has the tables. In short:

* power-of-two scales (MX): `scale_rule` = `floor` (OCP, default),
  `ceil`, `even` (torchao's definitions), `rceil` (NVIDIA/cuBLAS:
  amax * fp32(1/max) rounded *up* exactly to a power of two, PTX
  `cvt.rp.satfinite.ue8m0x2.f32`) and `rceil_torchao` (torchao 0.18's CPU
  fallback: divide by max, ceil of a float32 log2). `recipe="ocp"` (default)
  scales elements exactly by the decoded scale; `recipe="torchao"` reproduces
  `torchao.prototype.mx_formats.to_mx` bit for bit, quirks included (the newest
  rules numfmt knows: torchao's main branch of 2026-08-21; `"torchao==0.18"` pins
  0.18.0; `recipe_profiles()` lists them).
* amax scales (NVFP4): `scale_rule="amax"` with `recipe` = `te`
  (TransformerEngine, default), `torchao` or `modelopt`; each recipe's
  float32 operations are done in the same order with IEEE float32 arithmetic.
* llama.cpp / GGUF (`gguf_mxfp4`, `gguf_nvfp4`, `recipe="gguf"`): the bytes of
  ggml's reference quantizers, serialized by `BlockArray.to_bytes()` as GGUF blocks.

Elements are encoded through the core rounding funnel (or its verified
float32 nearest-even kernel), with saturation to the finite range, except
under `recipe="gguf"`, whose element rule (llama.cpp's `best_index_mxfp4`) runs in
`numfmt/_kernels/gguf.py` and is proved equal to the funnel where its float32
arithmetic is exact.
"""

from __future__ import annotations

# The package's modules, each one job (docs/block-formats.md describes the rules):
#   formats   BlockFormat, rule and recipe names, the registry
#   array     BlockArray
#   inputs    input checks and the blocked view
#   scales    power-of-two scale rules (MX)
#   values    cached tables: every code's value, rounding tables
#   elements  element encoding helpers (exact funnel loop, fused-loop constants)
#   mx        power-of-two scaling: OCP, torchao, fused kernel
#   nvfp4     amax scaling: te, torchao, modelopt recipes, fused kernel
#   p3109     P3109 max-abs-finite scaling
#   encoder   encode, quantize
#   decoder   decode
#   ptx       PTX random-bit layout
#   gguf      llama.cpp / GGUF MXFP4 and NVFP4 (recipe="gguf")
#   kinds     predicates on element/scale formats, the formats recipe="gguf" accepts
#   layout    serialized layouts: BlockArray.to_bytes / from_bytes
#   tables    docs tables generated from the package's data
from ..deprecation import moved_name
from .array import BlockArray
from .array import norm_axis as norm_axis  # numfmt.daskarray
from .decoder import block_decode_dtype as block_decode_dtype  # numfmt.daskarray
from .decoder import decode
from .encoder import encode, quantize
from .formats import (
    NONFINITE,
    RECIPES,
    SCALE_RULES,
    BlockFormat,
    get_block_format,
    is_block_format,
    list_block_formats,
    recipe_profiles,
    register_block_format,
)
from .ptx import ptx_e2m1x4_rbits
from .scales import scale_exponents

__all__ = [
    "BlockFormat", "BlockArray", "is_block_format", "get_block_format", "register_block_format",
    "list_block_formats", "encode", "decode", "quantize", "scale_exponents", "ptx_e2m1x4_rbits",
    "SCALE_RULES", "RECIPES", "NONFINITE", "recipe_profiles",
]


def __getattr__(name: str):
    """Deprecated aliases of names that moved."""
    return moved_name(__name__, name, {"bench_rows": "numfmt.bench.block_rows"})
