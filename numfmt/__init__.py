"""numfmt: bit-exact low-precision number formats, rounding and arithmetic.

Codes are the truth: encoded arrays are unsigned integer codes and values are
derived from them. Every conversion rule (rounding, saturation, NaN) is an
explicit keyword.

>>> import numfmt
>>> hex(numfmt.encode(1.0, "e4m3"))
'0x38'
"""

from __future__ import annotations

from . import (
    daskarray,  # noqa: F401  (registers the lazy verbs for dask inputs; dask loads on first use)
    training,  # noqa: F401  (numfmt.training: recipes as data, TransformerEngine's NVFP4 quantizer)
)
from .accum_models import (
    PRESET_SOURCES,
    Chunked,
    Exact,
    FusedBlock,
    Pairwise,
    Sequential,
    accumulation_model,
    accumulation_presets,
)
from .accumulate import dot, matmul
from .arith import add, div, fma, mul, sqrt, sub
from .bias import with_bias
from .block import BlockArray, BlockFormat, get_block_format, list_block_formats, register_block_format
from .compare import compare, compare_block
from .compat import compat_profiles
from .emulate import EmulatedArray, SequentialModel, emulate
from .explain import explain
from .formats import FloatFormat, IntFormat
from .frontend import decode, encode, quantize
from .identify import Identification, identify, identify_matmul
from .interop import to_ml_dtypes, to_torch
from .mma import mma_instructions, mma_model
from .packing import pack, unpack
from .presets import get_format, list_formats, p3109_format, register_format
from .scaling import ErrorStats, ScaledCodes, ScaledValues, error_stats, scaled_encode, scaled_quantize
from .srkey import SRKey, sr_key

__version__ = "0.1.0"

__all__ = [
    "PRESET_SOURCES",
    "Chunked",
    "Exact",
    "FusedBlock",
    "Pairwise",
    "Sequential",
    "accumulation_model",
    "accumulation_presets",
    "dot",
    "matmul",
    "mma_instructions",
    "mma_model",
    "to_ml_dtypes",
    "to_torch",
    "EmulatedArray",
    "SequentialModel",
    "emulate",
    "add",
    "div",
    "fma",
    "mul",
    "sqrt",
    "sub",
    "FloatFormat",
    "compare",
    "compare_block",
    "explain",
    "Identification",
    "identify",
    "identify_matmul",
    "IntFormat",
    "decode",
    "encode",
    "get_format",
    "list_formats",
    "p3109_format",
    "quantize",
    "register_format",
    "BlockArray",
    "BlockFormat",
    "get_block_format",
    "list_block_formats",
    "register_block_format",
    "pack",
    "unpack",
    "with_bias",
    "scaled_quantize",
    "scaled_encode",
    "error_stats",
    "ScaledValues",
    "ScaledCodes",
    "ErrorStats",
    "SRKey",
    "sr_key",
    "compat_profiles",
]
