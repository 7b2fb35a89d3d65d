"""Bridges to torch tensors and ml_dtypes arrays (both optional).

numfmt computes on numpy arrays and **always returns numpy arrays**; torch
tensors and ml_dtypes arrays are accepted as inputs and converted at the door:

* A CPU torch tensor of a numpy-compatible dtype (float16/32/64, integers) is
  read through `tensor.numpy()`: no copy (`requires_grad` tensors are
  detached first, still without a copy).
* torch's low-precision dtypes (`float8_*`, `bfloat16`, `float4_e2m1fn_x2`)
  and ml_dtypes arrays are read **by their bits**: the bits are viewed as codes
  (no copy) and decoded exactly with the matching numfmt format. A
  `float4_e2m1fn_x2` tensor of shape `(..., n)` holds `2n` elements,
  element 0 in the low nibble (torch's layout), and reads as shape `(..., 2n)`.
* ml_dtypes sub-byte integers (`int4`, `uint2` ...) read as int8/uint8.

The other direction views codes as a library dtype without a copy:
[`to_torch`][numfmt.interop.to_torch] and [`to_ml_dtypes`][numfmt.interop.to_ml_dtypes].

Examples
--------
>>> import numpy as np, numfmt
>>> codes = numfmt.encode([1.0, -0.5, 448.0], "e4m3")
>>> v = numfmt.to_ml_dtypes(codes, "e4m3")          # a view of the same bytes
>>> v.dtype.name, np.shares_memory(v, codes), v.astype(np.float32).tolist()
('float8_e4m3fn', True, [1.0, -0.5, 448.0])
>>> numfmt.encode(v, "e4m3").tolist() == codes.tolist()   # ml_dtypes in, exactly
True
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np

from .engine import decode_into
from .formats import IntFormat
from .lazy import is_dask
from .plan import random_spec, value_dtype
from .policy import is_stochastic, parse_rounding
from .presets import get_format
from .srkey import SRKey

__all__ = ["native", "as_numpy", "as_codes", "code_format", "to_torch", "to_ml_dtypes", "torch_format",
           "ml_dtypes_format"]

# torch dtype name -> numfmt format read by bits
_TORCH_BITS = {
    "float8_e4m3fn": "float8_e4m3fn",
    "float8_e5m2": "float8_e5m2",
    "float8_e4m3fnuz": "float8_e4m3fnuz",
    "float8_e5m2fnuz": "float8_e5m2fnuz",
    "float8_e8m0fnu": "float8_e8m0fnu",
    "bfloat16": "bfloat16",
    "float4_e2m1fn_x2": "float4_e2m1fn",
}
# numfmt format -> torch dtype name (codes viewed as that dtype)
_TORCH_VIEW = {
    **{v: k for k, v in _TORCH_BITS.items()},
    "binary16": "float16", "binary32": "float32", "binary64": "float64",
    "int8": "int8", "int16": "int16", "int32": "int32",
    "uint8": "uint8", "uint16": "uint16", "uint32": "uint32",
    "int8_symmetric": "int8",
}
_ML_FLOATS = (
    "float8_e5m2", "float8_e4m3", "float8_e3m4", "float8_e4m3fn", "float8_e4m3fnuz",
    "float8_e4m3b11fnuz", "float8_e5m2fnuz", "float8_e8m0fnu", "float6_e2m3fn",
    "float6_e3m2fn", "float4_e2m1fn", "bfloat16",
)
_ML_INTS = ("int1", "int2", "int4", "uint1", "uint2", "uint4")
# numfmt format -> (module, dtype name) for to_ml_dtypes
_ML_VIEW = {
    **{n: ("ml_dtypes", n) for n in _ML_FLOATS},
    **{n: ("ml_dtypes", n) for n in ("int2", "int4", "uint2", "uint4", "int4_symmetric")},
    "binary16": ("numpy", "float16"), "binary32": ("numpy", "float32"), "binary64": ("numpy", "float64"),
    "int8": ("numpy", "int8"), "int16": ("numpy", "int16"), "int32": ("numpy", "int32"),
    "uint8": ("numpy", "uint8"), "uint16": ("numpy", "uint16"), "uint32": ("numpy", "uint32"),
    "int8_symmetric": ("numpy", "int8"),
}
_ML_VIEW["int4_symmetric"] = ("ml_dtypes", "int4")


def _spec(f) -> tuple:
    return (type(f),) + tuple(
        getattr(f, fl.name) for fl in dataclasses.fields(f) if fl.name != "name"
    )


def preset_name(f, table) -> str | None:
    """The preset of `table` with the same semantics as format `f` (names do not matter)."""
    if f.name in table and _spec(get_format(f.name)) == _spec(f):
        return f.name
    for name in table:
        if _spec(get_format(name)) == _spec(f):
            return name
    return None


def _is_ml(dt: np.dtype) -> bool:
    """Whether `dt` is an ml_dtypes type (their kind is "V", or "f" for some)."""
    return dt.kind in "Vf" and dt.type.__module__.startswith("ml_dtypes")


def _is_torch_tensor(x) -> bool:
    torch = sys.modules.get("torch")  # a tensor exists only if torch was imported
    return torch is not None and isinstance(x, torch.Tensor)


def _torch_numpy(t, name: str):
    """(numpy array, bits-format or None) for a CPU tensor; no copy."""
    if t.device.type != "cpu":
        raise TypeError(f"{name} is a torch tensor on device {t.device}; numfmt computes on the CPU: pass "
                        f"{name}.cpu()")
    t = t.detach()
    if t.is_conj():
        t = t.resolve_conj()
    if t.is_neg():
        t = t.resolve_neg()
    dname = str(t.dtype).removeprefix("torch.")
    fmt = _TORCH_BITS.get(dname)
    if fmt is not None:
        import torch

        if t.element_size() == 2:
            return t.view(torch.int16).numpy().view(np.uint16), fmt
        bits = t.view(torch.uint8).numpy()
        if dname == "float4_e2m1fn_x2":
            bits = np.stack([bits & 0xF, bits >> 4], axis=-1).reshape(*bits.shape[:-1], -1) if bits.ndim else \
                np.array([bits & 0xF, bits >> 4], np.uint8)
        return bits, fmt
    try:
        return t.numpy(), None
    except (TypeError, RuntimeError) as e:
        raise TypeError(f"{name} has torch dtype {t.dtype}, which numfmt cannot read ({e})") from None


def native(a: np.ndarray) -> np.ndarray:
    """`a` in the machine's byte order: a big-endian array on a little-endian machine is converted
    once here (the kernels take native arrays only); a native array passes through."""
    return a if a.dtype.isnative else a.astype(a.dtype.newbyteorder("="))


def as_numpy(x, name: str = "x"):
    """`x` as something `np.asarray` reads exactly (numpy arrays pass through).

    Torch tensors become numpy arrays without a copy when their dtype exists in
    numpy, else (float8, bfloat16, float4_e2m1fn_x2) their bits are decoded
    exactly into float32. ml_dtypes sub-byte integers become int8/uint8. Dask
    arrays are refused rather than computed (`numfmt.encode`, `numfmt.decode` and
    `numfmt.quantize` hand them to `numfmt.daskarray` before this).

    Examples
    --------
    >>> import torch, numpy as np
    >>> from numfmt.interop import as_numpy
    >>> t = torch.arange(4, dtype=torch.float32)
    >>> np.shares_memory(as_numpy(t), t.numpy())
    True
    >>> as_numpy(torch.tensor([448.0, -0.75]).to(torch.float8_e4m3fn)).tolist()
    [448.0, -0.75]
    """
    if isinstance(x, np.ndarray):
        if _is_ml(x.dtype) and x.dtype.name in _ML_INTS:
            return x.astype(np.uint8 if x.dtype.name.startswith("u") else np.int8)
        return native(x)
    if _is_torch_tensor(x):
        arr, fmt = _torch_numpy(x, name)
        if fmt is None:
            return arr
        f = get_format(fmt)
        vals = np.empty(arr.shape, value_dtype(f))
        decode_into(np.ascontiguousarray(arr).reshape(-1), vals.reshape(-1), f)
        return vals
    if is_dask(x):
        raise TypeError(f"{name} is a dask array: numfmt.encode/decode/quantize take dask arrays (lazy results); "
                        f"here pass {name}.compute()")
    return x


def real_array(x, name: str) -> np.ndarray:
    """`x` (array_like, torch tensors too) as a float64 array; a TypeError naming `name` when it
    does not hold real numbers (strings, complex, objects).

    Examples
    --------
    >>> from numfmt.interop import real_array
    >>> real_array([1, 0.5], "scale").tolist()
    [1.0, 0.5]
    """
    try:
        a = np.asarray(as_numpy(x, name))
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of real numbers, got {type(x).__name__}") from None
    if a.dtype.kind not in "biuf" and not _is_ml(a.dtype):
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    return a.astype(np.float64)


def as_codes(codes, name: str = "codes"):
    """`codes` as an unsigned-integer numpy array; low-precision floats are read by their bits.

    Integer arrays and tensors pass through (torch: without a copy); torch
    float8/bfloat16 tensors and ml_dtypes float arrays give their bits as
    uint8/uint16 (a view), `float4_e2m1fn_x2` its nibbles (low first).

    Examples
    --------
    >>> import ml_dtypes, numpy as np
    >>> from numfmt.interop import as_codes
    >>> as_codes(np.array([1.0, -2.0], ml_dtypes.float8_e4m3fn)).tolist()
    [56, 192]
    """
    if isinstance(codes, np.ndarray):
        codes = native(codes)
        dt = codes.dtype
        if _is_ml(dt) and dt.name in _ML_FLOATS:
            return codes.view(np.uint8 if dt.itemsize == 1 else np.uint16)
        if _is_ml(dt) and dt.name in _ML_INTS:
            return codes.view(np.uint8)
        return codes
    if _is_torch_tensor(codes):
        return _torch_numpy(codes, name)[0]
    if is_dask(codes):
        raise TypeError(f"{name} is a dask array: use numfmt.daskarray.decode, or pass {name}.compute()")
    return codes


def check_codes(codes, f, name="codes") -> np.ndarray:
    """`codes` as a C-ordered integer array of valid codes of format `f` (their bits for low-precision floats)."""
    codes = as_codes(codes, name)  # torch/ml_dtypes low-precision floats: their bits
    if isinstance(codes, (str, bytes)):
        raise TypeError(f"{name} must be an integer array, got {type(codes).__name__}")
    arr = np.asarray(codes)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must have an integer dtype, got {arr.dtype}")
    top = (1 << f.bits) - 1
    if arr.size and not (arr.dtype.kind == "u" and np.iinfo(arr.dtype).max <= top):  # else every value fits
        lo = 0 if arr.dtype.kind == "u" else int(arr.min())  # (one pass for unsigned codes)
        hi = int(arr.max())
        if lo < 0 or hi > top:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{name} contains {bad:#x}, outside 0..{top:#x} of {f.name}")
    if arr.size and isinstance(f, IntFormat) and f.symmetric:
        bad_code = 1 << (f.bits - 1)
        if (arr == bad_code).any():
            raise ValueError(f"{name} contains {bad_code:#x}, outside the symmetric range of {f.name}")
    return np.asarray(arr, order="C")
def code_format(codes) -> str | None:
    """The format whose codes `codes` holds by its dtype: torch float8/bfloat16/float4 tensors and
    ml_dtypes float arrays; None for anything else (integer codes say nothing about their format).

    Examples
    --------
    >>> import ml_dtypes, numpy as np
    >>> from numfmt.interop import code_format
    >>> code_format(np.zeros(2, ml_dtypes.float8_e5m2)), code_format(np.zeros(2, np.uint8))
    ('float8_e5m2', None)
    """
    if isinstance(codes, np.ndarray):
        return codes.dtype.name if _is_ml(codes.dtype) and codes.dtype.name in _ML_FLOATS else None
    if _is_torch_tensor(codes):
        return _TORCH_BITS.get(str(codes.dtype).removeprefix("torch."))
    return None


def _codes_for(codes, f, name="codes") -> np.ndarray:
    arr = check_codes(as_codes(codes, name), f, name)
    if arr.dtype != f.code_dtype:
        arr = arr.astype(f.code_dtype)
    return arr


def torch_format(dtype) -> str:
    """numfmt format name of a torch dtype (its values, bit for bit).

    Examples
    --------
    >>> import torch
    >>> from numfmt.interop import torch_format
    >>> torch_format(torch.float8_e4m3fn), torch_format(torch.bfloat16)
    ('float8_e4m3fn', 'bfloat16')
    """
    dname = str(dtype).removeprefix("torch.")
    if dname in _TORCH_BITS:
        return _TORCH_BITS[dname]
    for f, t in _TORCH_VIEW.items():
        if t == dname and not f.endswith("_symmetric"):
            return f
    raise ValueError(f"torch dtype {dtype} has no numfmt format")


def ml_dtypes_format(dtype) -> str:
    """numfmt format name of an ml_dtypes (or numpy) dtype.

    Examples
    --------
    >>> import ml_dtypes
    >>> from numfmt.interop import ml_dtypes_format
    >>> ml_dtypes_format(ml_dtypes.float8_e5m2fnuz)
    'float8_e5m2fnuz'
    """
    dname = np.dtype(dtype).name
    for f, (_, t) in _ML_VIEW.items():
        if t == dname and not f.endswith("_symmetric"):
            return f
    raise ValueError(f"dtype {dtype} has no numfmt format")


def to_torch(codes, fmt):
    """Codes of `fmt` as a torch tensor of the matching dtype.

    The tensor shares memory with `codes` when `codes` is a writeable
    array of the format's code dtype. `float4_e2m1fn` codes are packed in pairs
    along the last axis into `torch.float4_e2m1fn_x2` (element 0 in the low
    nibble; a copy; the last axis must have even length).

    Raises
    ------
    ValueError
        `fmt` has no torch dtype (e.g. `float6_e3m2fn`, P3109 formats).

    Examples
    --------
    >>> import numfmt
    >>> codes = numfmt.encode([1.0, 0.5], "e4m3")
    >>> t = numfmt.to_torch(codes, "e4m3")
    >>> t.dtype, t.float().tolist()
    (torch.float8_e4m3fn, [1.0, 0.5])
    """
    import torch

    f = get_format(fmt)
    name = preset_name(f, _TORCH_VIEW)
    if name is None:
        raise ValueError(f"format {f.name} has no matching torch dtype (torch has "
                         f"{sorted(set(_TORCH_VIEW.values()))})")
    arr = _codes_for(codes, f)
    tdt = getattr(torch, _TORCH_VIEW[name])
    if name == "float4_e2m1fn":
        if arr.ndim == 0 or arr.shape[-1] % 2:
            raise ValueError(f"float4_e2m1fn codes are packed in pairs along the last axis; got shape {arr.shape}")
        packed = (arr[..., 0::2] | (arr[..., 1::2] << 4)).astype(np.uint8)
        return torch.from_numpy(packed).view(tdt)
    if not arr.flags.writeable or any(s < 0 for s in arr.strides):
        arr = arr.copy()  # torch.from_numpy needs a writeable, positively strided array
    return torch.from_numpy(arr).view(tdt)


def to_ml_dtypes(codes, fmt) -> np.ndarray:
    """Codes of `fmt` viewed (no copy) as the matching ml_dtypes (or numpy) dtype.

    The result shares memory with `codes` when `codes` already has the
    format's code dtype (`fmt.code_dtype`) and is C-contiguous.

    Raises
    ------
    ValueError
        `fmt` has no matching dtype (e.g. `ue4m3`, P3109 formats).

    Examples
    --------
    >>> import numfmt
    >>> v = numfmt.to_ml_dtypes(numfmt.encode([3.0, -0.5], "e2m1"), "e2m1")
    >>> v.dtype.name, v.astype(float).tolist()
    ('float4_e2m1fn', [3.0, -0.5])
    """
    f = get_format(fmt)
    name = preset_name(f, _ML_VIEW)
    if name is None:
        raise ValueError(f"format {f.name} has no matching ml_dtypes dtype")
    mod, dname = _ML_VIEW[name]
    if mod == "ml_dtypes":
        import ml_dtypes

        dt = np.dtype(getattr(ml_dtypes, dname))
    else:
        dt = np.dtype(dname)
    arr = _codes_for(codes, f)
    return arr.view(dt)


# --------------------------------------------------------------------------- chunked random bits
#
# Seeded stochastic rounding keys the random bits of an element by its flat
# C-order index in the whole array (numfmt._kernels.streams.random_bits). A chunk
# of a larger array (dask, a slice of a checkpoint tensor) needs the bits of its
# elements' *global* indices; these helpers compute them with the kernels' own
# stream (numfmt._kernels.streams).


def counter_bits(key: int, index: np.ndarray, nbits: int) -> np.ndarray:
    """uint32 random bits of `random_bits(key, i, nbits)` for every i of `index` (uint64)."""
    from ._kernels.streams import counter_bits  # (imports numba: kept out of `import numfmt`)

    idx = np.asarray(index, np.uint64)
    return counter_bits(np.uint64(key), idx.ravel(), nbits).reshape(idx.shape)


def global_index(location, shape) -> np.ndarray:
    """Flat C-order indices (uint64) of the block `location` [(start, stop), ...] of an array of `shape`."""
    idx = np.zeros((), np.uint64)
    stride = 1
    strides = []
    for n in reversed(shape):
        strides.append(stride)
        stride *= int(n)
    strides.reverse()
    for (a, b), s in zip(location, strides):
        idx = np.add.outer(idx, np.arange(a, b, dtype=np.uint64) * np.uint64(s))
    return idx


def seed_spec(random, rbits, rounding):
    """(key, nbits) for a seed or Generator under a stochastic rounding; None when not stochastic.

    Arrays of bits are the caller's business (returned as `"array"`).
    """

    _, mode = parse_rounding(rounding)
    if not is_stochastic(mode) or random is None or isinstance(random, (int, np.integer, np.random.Generator, SRKey)):
        kind, _, key, nbits = random_spec(random, rbits, mode, (1,))
        if kind == 0:
            return None
        return key, nbits
    return "array"
