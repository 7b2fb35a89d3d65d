"""Low-precision training recipes as data, and TransformerEngine's NVFP4 quantizer bit for bit.

A [`Recipe`][numfmt.training.Recipe] names, for each operand of the three GEMMs of a linear layer
(`fprop`: y = x W^T, `dgrad`: dx = dy W, `wgrad`: dW = dy^T x), an
[`OperandSpec`][numfmt.training.OperandSpec]: element format, block shape, scale format and rule,
transform and rounding. Every operand is handed over as a matrix whose last axis is the GEMM's
reduction axis K (fprop: x and W; dgrad: dy and W^T; wgrad: dy^T and x^T), so blocks of 1 x n run
along K. [`quantize_operand`][numfmt.training.quantize_operand] applies a spec to such a matrix.

[`nvfp4_quantize`][numfmt.training.nvfp4_quantize] is TransformerEngine's reference NVFP4
quantizer (`NVFP4QuantizerRef`, `transformer_engine/pytorch/custom_recipes/quantization_ref_nvfp4.py`
at commit 0a6e0d6): the same float32 operations in the same order, so element codes, E4M3 scale
codes and the tensor scale are the same bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .block import BlockArray
from .block import decode as block_decode
from .block.elements import random_array
from .block.inputs import to_f32
from .choices import check_choice
from .codec import decode as _decode
from .codec import encode as _encode
from .interop import as_numpy
from .policy import parse_rounding
from .presets import get_format
from .scaling import scaled_quantize, te_block_scales, te_tensor_scale

__all__ = ["OperandSpec", "Recipe", "TE_RHT_SIGNS", "RHT32_SIGNS", "OPERANDS", "GEMMS", "ROLES", "nvfp4_quantize",
           "random_hadamard", "hadamard_matrix", "quantize_operand", "fp8_scale", "get_recipe", "list_recipes",
           "RECIPES", "nvfp4", "nvfp4_4over6", "nvfp4_row_scaled", "mxfp8", "mxfp8_floor", "mxfp4",
           "mxfp4_hadamard_sr", "fp8_delayed", "fp8_current", "bf16", "recipe_table"]

#: TransformerEngine's sign vector of the 16-point random Hadamard transform (`get_wgrad_sign_vector`)
TE_RHT_SIGNS = (1, 1, 1, -1, 1, -1, -1, -1, -1, -1, -1, 1, -1, 1, -1, -1)
#: numfmt's fixed sign vector of the 32-point transform of the MXFP4 recipe (drawn once, kept here)
RHT32_SIGNS = (-1, 1, 1, 1, -1, 1, -1, 1, -1, 1, 1, -1, -1, -1, 1, 1, 1, 1, -1, -1, -1, 1, 1, 1, 1, -1, -1, 1, 1, 1,
               -1, -1)
GEMMS = ("fprop", "dgrad", "wgrad")
ROLES = ("input", "weight", "grad")
#: the operands of a linear layer's GEMMs, (gemm, role), each a matrix with K last
OPERANDS = (("fprop", "input"), ("fprop", "weight"), ("dgrad", "grad"), ("dgrad", "weight"), ("wgrad", "grad"),
            ("wgrad", "input"))
TRANSFORMS = ("rht16", "rht32")
_F32_MAX = np.float32(np.finfo(np.float32).max)


# ------------------------------------------------------------------ random Hadamard transform
def hadamard_matrix(size: int, signs=None) -> np.ndarray:
    """float32 `diag(signs) @ H / sqrt(size)` with H the Sylvester Hadamard matrix (`size` a power of two).

    Examples
    --------
    >>> from numfmt.training import hadamard_matrix, TE_RHT_SIGNS
    >>> t = hadamard_matrix(16, TE_RHT_SIGNS)
    >>> t[0, :4].tolist(), t[3, :4].tolist()
    ([0.25, 0.25, 0.25, 0.25], [-0.25, 0.25, 0.25, -0.25])
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size & (size - 1):
        raise ValueError(f"size must be a power of two, got {size!r}")
    h = np.ones((1, 1))
    while h.shape[0] < size:
        h = np.block([[h, h], [h, -h]])
    if signs is not None:
        s = np.asarray(signs, np.float64)
        if s.shape != (size,) or not np.isin(s, (-1.0, 1.0)).all():
            raise ValueError(f"signs must be {size} values +-1")
        h = s[:, None] * h
    return (h * np.float32(1.0 / math.sqrt(size))).astype(np.float32)


def random_hadamard(x, *, size: int = 16, signs=None) -> np.ndarray:
    """The random Hadamard transform along the last axis, in blocks of `size`: y = x_b @ T per block,
    T = `hadamard_matrix(size, signs)` (default signs: `TE_RHT_SIGNS` for 16, `RHT32_SIGNS` for 32).

    Order of operations (float32): for each output j, acc = 0, then for k = 0 .. size-1,
    acc = fl(acc + fl(x_k * T[k, j])). For size 16 the entries are +-1/4, so every product is exact
    (outside the float32 subnormal range) and only the additions round, in this order.

    Examples
    --------
    >>> import numpy as np
    >>> from numfmt.training import random_hadamard
    >>> y = random_hadamard(np.eye(16, dtype=np.float32)[:1] * 4)
    >>> y[0, :6].tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    xa = to_f32(np.asarray(as_numpy(x), dtype=np.float64 if np.asarray(as_numpy(x)).dtype == np.float64
                           else np.float32), "random_hadamard")
    if xa.ndim == 0 or xa.shape[-1] % size:
        raise ValueError(f"the last axis ({xa.shape[-1] if xa.ndim else 0}) must be a multiple of size={size}")
    if signs is None:
        signs = {16: TE_RHT_SIGNS, 32: RHT32_SIGNS}.get(size)
    t = hadamard_matrix(size, signs)
    xb = xa.reshape(-1, size)
    acc = np.zeros(xb.shape, np.float32)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        for k in range(size):
            acc = (acc + (xb[:, k:k + 1] * t[k]).astype(np.float32)).astype(np.float32)
    return acc.reshape(xa.shape)


# ------------------------------------------------------------------ TransformerEngine NVFP4
def _src_format(x):
    """'bfloat16' / 'binary16' when x is a 16-bit float array or tensor (TE's transform output keeps
    the input dtype), else None."""
    name = str(getattr(x, "dtype", "")).removeprefix("torch.")
    return {"bfloat16": "bfloat16", "float16": "binary16"}.get(name)


def _te_fp4_codes(v, rounding, bits, nbits):
    """E2M1 codes of float32 v in [-6, 6] as the reference's `cast_to_fp4x2` gives them: nearest,
    ties to even (its closed/open intervals), -0.0 -> 0x0."""
    kw = {} if bits is None else {"random": bits, "rbits": nbits}
    codes = np.asarray(_encode(v, "e2m1", rounding=rounding, saturation="finite", **kw))
    return np.where((v == 0) & np.signbit(v), 0, codes).astype(np.uint8)


def _block_amax(a, r, c):
    """(rows, n) padded to tiles -> per row, per block of c: the amax of its r x c tile."""
    rows, n = a.shape
    nb = n // c
    if r == 1:
        return a.reshape(rows, nb, c).max(axis=-1)
    t = a.reshape(rows // r, r, nb, c).max(axis=(1, 3))
    return np.repeat(t, r, axis=0)


def _tree16(err):
    """Sum of each 16 rows in the CUDA warp reduction's tree order (float32)."""
    rows = err.reshape(err.shape[0] // 16, 16, err.shape[1])
    rows = (rows[:, 0:8] + rows[:, 8:16]).astype(np.float32)
    rows = (rows[:, 0:4] + rows[:, 4:8]).astype(np.float32)
    rows = (rows[:, 0:2] + rows[:, 2:4]).astype(np.float32)
    return (rows[:, 0] + rows[:, 1]).astype(np.float32)


def _four_over_six(xp, vmax, g, s_enc, s_dec, gmax, mode, r):
    """TE's 4over6 candidates (map-to-4: block scale x 1.5; map-to-6) and the choice per block."""
    rows, n = xp.shape
    nb = n // 16
    six = np.float32(6.0)
    e4 = get_format("e4m3")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        base = ((vmax / six).astype(np.float32) * s_enc).astype(np.float32)
        cands = []
        for d in ((base * np.float32(1.5)).astype(np.float32), base):
            d = np.clip(d, np.float32(-448), np.float32(448)).astype(np.float32)
            codes_s = np.asarray(_encode(d, e4, saturation="finite"))
            sv = np.asarray(_decode(codes_s, e4, dtype=np.float32), np.float32)
            enc = np.minimum((np.float32(1) / (sv * s_dec).astype(np.float32)).astype(np.float32), _F32_MAX)
            v = np.clip((xp * np.repeat(enc, 16, axis=1)).astype(np.float32), -six, six).astype(np.float32)
            codes = _te_fp4_codes(v, "nearest_even", None, None)
            ev = np.asarray(_decode(codes, "e2m1", dtype=np.float32)).reshape(rows, nb, 16)
            x3 = xp.reshape(rows, nb, 16)
            denom = np.float32(six * np.float32(gmax))
            err = np.zeros((rows, nb), np.float32)
            for i in range(16):
                val = (ev[:, :, i] * sv).astype(np.float32)
                val = (val * g).astype(np.float32)
                val = (val / denom).astype(np.float32)
                diff = (val - x3[:, :, i]).astype(np.float32)
                term = (diff * diff).astype(np.float32) if mode == "mse" else np.abs(diff)
                err = (err + term).astype(np.float32)
            cands.append((codes, codes_s, err))
    (c4, s4, e4_), (c6, s6, e6_) = cands
    pick = e4_ < e6_ if r == 1 else np.repeat(_tree16(e4_) < _tree16(e6_), 16, axis=0)
    return np.where(np.repeat(pick, 16, axis=1), c4, c6), np.where(pick, s4, s6)


def nvfp4_quantize(x, *, tile=(1, 16), rht: bool = False, four_over_six=None, row_scaled: bool = False,
                   global_amax=None, e4m3_max=None, rounding: str = "nearest_even", random=None, rbits=None):
    """TransformerEngine's reference NVFP4 quantization of the rows of a 2-D `x`, bit for bit.

    Blocks run along the last axis. With `rht=True` the 16-point random Hadamard transform
    ([`random_hadamard`][numfmt.training.random_hadamard], TE's sign vector) is applied along the
    last axis first (TE applies it to the transposed operand of the wgrad GEMM: pass that
    transposed matrix); for a bfloat16/float16 input its result is rounded to the input's format,
    as TE's matmul in the input dtype does.

    The float32 operations, in order (g: the tensor amax, or each row's with `row_scaled`; E = 448,
    or `e4m3_max` (default 256) with `four_over_six`):

    1. S_enc = min(fl(fl(E * 6) / g), FLT_MAX), 1 where that is 0; S_dec = fl(1 / S_enc)
       (an all-zero tensor: S_enc = FLT_MAX, as the reference; TE's CUDA kernel uses 1 there);
    2. per block (1 x 16, or a 16 x 16 tile whose scale every row repeats) with amax a:
       d = min(fl(a * fl(S_enc * fl(1/6))), FLT_MAX), clamped to +-448, rounded to nearest-even
       into E4M3 (the scale code s);
    3. enc = min(fl(1 / fl(s * S_dec)), FLT_MAX); element codes: fl(x * enc) clamped to +-6,
       rounded to nearest-even into E2M1 (the reference's interval table; -0.0 gives code 0x0).

    `four_over_six` ("mae" or "mse"; TE's `nvfp4_4over6_err_mode`): two candidate scales per block,
    map-to-6 d6 = fl(fl(a / 6) * S_enc) and map-to-4 d4 = fl(d6 * 1.5), each clamped and rounded to
    E4M3 as in 2 and its elements as in 3; the error of each is summed in float32 over the block's
    16 elements in order, term i from val = fl(fl(fl(e_i * s) * g) / fl(6 E)), diff = fl(val - x_i),
    |diff| (MAE) or fl(diff * diff) (MSE); 16 x 16 tiles add the 16 rows' sums in the tree order
    (r_i + r_{i+8}, then + 4, + 2, + 1); map-to-4 is chosen when its error is smaller (ties: map-to-6).

    Parameters
    ----------
    x : array_like, 2-D
        float32, or float16/bfloat16 (numpy, ml_dtypes or torch), finite.
    tile : (1, 16) or (16, 16)
    rht : bool
    four_over_six : None, "mae" or "mse"
    row_scaled : bool
        One tensor scale per row (1 x 16 tiles only).
    global_amax : float or array, optional
        The amax the tensor scale comes from (one per row with `row_scaled`); default: computed
        from x (after the transform).
    e4m3_max : {448, 256}, optional
        The E4M3 bound E of the tensor scale with `four_over_six` (default 256, TE's default).
    rounding, random, rbits :
        Element rounding (TE rounds gradients stochastically with its own Philox bits; numfmt's
        `stochastic` rounding takes numfmt's random bits, per element of the transformed x).

    Returns
    -------
    BlockArray or (BlockArray, ndarray)
        Format `nvfp4`, element codes and scale codes as TE's bytes, `tensor_scale` = S_dec. With
        `row_scaled`, the BlockArray has no tensor scale and the float32 S_dec of each row comes
        second.

    Examples
    --------
    >>> import numpy as np
    >>> from numfmt.training import nvfp4_quantize
    >>> x = ((np.arange(16) - 8) * 0.37).astype(np.float32)[None]
    >>> ba = nvfp4_quantize(x, global_amax=10.0)
    >>> hex(int(ba.scales[0, 0])), [hex(c) for c in ba.codes[0, :4]], float(ba.tensor_scale)
    ('0x70', ['0xf', '0xf', '0xe', '0xe'], 0.0037202383391559124)
    """
    src = _src_format(x)
    xa = np.asarray(as_numpy(x))
    if xa.dtype != np.float64:
        xa = xa.astype(np.float32)
    xa = to_f32(xa, "nvfp4_quantize")
    if xa.ndim != 2:
        raise ValueError(f"x must be 2-D, got shape {xa.shape}")
    if not np.isfinite(xa).all():
        raise ValueError("x must be finite")
    tile = tuple(np.asarray(tile).tolist()) if isinstance(tile, (tuple, list, np.ndarray)) else tile
    if not isinstance(tile, tuple) or tile not in ((1, 16), (16, 16)):
        raise ValueError(f"tile must be (1, 16) or (16, 16), got {tile!r}")
    if four_over_six is not None:
        four_over_six = check_choice("four_over_six", four_over_six, ("mae", "mse"))
    if row_scaled and tile != (1, 16):
        raise ValueError("row_scaled needs tile=(1, 16)")
    if e4m3_max is None:
        e4m3_max = 256 if four_over_six else 448
    if e4m3_max not in (448, 256) or (e4m3_max == 256 and not four_over_six):
        raise ValueError(f"e4m3_max must be 448, or 256 with four_over_six; got {e4m3_max!r}")
    _, mode = parse_rounding(rounding)
    if four_over_six and mode != 0:
        raise ValueError("four_over_six compares nearest-even candidates: use rounding='nearest_even'")
    m, n = xa.shape
    if rht:
        if n % 16:
            raise ValueError(f"rht needs the last axis to be a multiple of 16, got {n}")
        xa = random_hadamard(xa, size=16)
        if src is not None:
            xa = np.asarray(_decode(_encode(xa, src), src, dtype=np.float32))
    rkind, rarr, nbits = random_array(random, rbits, mode, (m, n), 1)
    r = tile[0]
    mp, npd = -(-m // r) * r, -(-n // 16) * 16
    xp = np.zeros((mp, npd), np.float32)
    xp[:m, :n] = xa
    if global_amax is None:
        g = np.abs(xa).max(axis=1) if row_scaled else np.float32(np.abs(xa).max() if xa.size else 0)
    else:
        g = np.asarray(global_amax, np.float32)
        if not np.array_equal(g.astype(np.float64), np.asarray(global_amax, np.float64)):
            raise ValueError("global_amax must be exact in float32")
        if g.shape != ((m,) if row_scaled else ()) or (g < 0).any() or not np.isfinite(g).all():
            raise ValueError(f"global_amax must be a non-negative finite float{' per row' if row_scaled else ''}")
    g = np.asarray(g, np.float32)
    gcol = g.reshape(m, 1) if row_scaled else g
    s_enc, s_dec = te_tensor_scale(gcol, e4m3_max, 6.0)
    vmax = _block_amax(np.abs(xp), r, 16).astype(np.float32)
    if four_over_six:
        codes, scodes = _four_over_six(xp, vmax, gcol, s_enc, s_dec, e4m3_max, four_over_six, r)
    else:
        scodes, _, enc = te_block_scales(vmax, s_enc, s_dec, 6.0, get_format("e4m3"), clamp=448.0)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            v = np.clip((xp * np.repeat(enc, 16, axis=1)).astype(np.float32), np.float32(-6), np.float32(6))
        bits = None
        if rkind:
            bits = np.zeros((mp, npd), np.uint32)
            bits[:m, :n] = rarr.reshape(m, n)
        codes = _te_fp4_codes(v.astype(np.float32), rounding, bits, nbits)
    ts = None if row_scaled else np.float32(s_dec)
    ba = BlockArray(codes[:m, :n], np.asarray(scodes)[:m].astype(np.uint8), "nvfp4", axis=-1, tensor_scale=ts,
                    scale_rule="amax", recipe="te")
    if row_scaled:
        return ba, np.asarray(s_dec, np.float32).reshape(m)
    return ba


# ------------------------------------------------------------------ recipes as data
@dataclass(frozen=True)
class OperandSpec:
    """How one GEMM operand (a matrix with the reduction axis K last) is quantized.

    Attributes
    ----------
    format : str or None
        Element format name; None keeps the operand in high precision.
    block : (int, int) or None
        Block shape (rows, elements along K): (1, 32) MX, (1, 16) / (16, 16) NVFP4; None: one
        scale per tensor.
    scale_format : str or None
        `"e8m0"`, `"e4m3"`, or None (a float32 scale).
    scale_rule : str
        `"rceil"` / `"floor"` (power-of-two MX scales), `"amax"` (NVFP4, TE's arithmetic),
        `"current"` (per-tensor FP8: scale = max / amax of this tensor), `"delayed"` (the same
        from the maximum of an amax history) or `"none"` (the values rounded into the format, no
        scale: BF16).
    tensor_scale : bool
        A second-level float32 tensor scale (NVFP4).
    transform : str or None
        `"rht16"` / `"rht32"`: random Hadamard transform along K before quantizing.
    rounding : str
        `"nearest_even"` or `"stochastic"`.
    four_over_six : None, "mae" or "mse"
    row_scaled : bool
    """

    format: str | None
    block: tuple[int, int] | None = None
    scale_format: str | None = None
    scale_rule: str = "amax"
    tensor_scale: bool = False
    transform: str | None = None
    rounding: str = "nearest_even"
    four_over_six: str | None = None
    row_scaled: bool = False

    def __post_init__(self) -> None:
        if self.format is not None:
            get_format(self.format)
        if self.scale_format is not None:
            get_format(self.scale_format)
        check_choice("scale_rule", self.scale_rule, ("none", "amax", "rceil", "floor", "current", "delayed"))
        if self.transform is not None:
            check_choice("transform", self.transform, TRANSFORMS)
        parse_rounding(self.rounding)
        if self.block is not None:
            if not isinstance(self.block, (tuple, list)) or not all(
                    isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in self.block):
                raise TypeError(f"block must be a (rows, cols) tuple of ints or None, got {self.block!r}")
            if len(self.block) != 2 or min(self.block) < 1:
                raise ValueError(f"block must be (rows, cols) with rows, cols >= 1, got {self.block!r}")
            if self.scale_rule not in ("amax", "rceil", "floor"):
                raise ValueError(f"scale_rule={self.scale_rule!r} is a per-tensor rule: a spec with block="
                                 f"{tuple(self.block)} needs scale_rule 'amax', 'rceil' or 'floor'")
        else:
            if self.scale_rule not in ("none", "current", "delayed"):
                raise ValueError(f"scale_rule={self.scale_rule!r} needs a block: with block=None use "
                                 "'current', 'delayed' or 'none'")
            if self.scale_format is not None or self.tensor_scale:
                raise ValueError("scale_format and tensor_scale need a block (block=None scales per tensor "
                                 "with a float32 scale)")
        if self.four_over_six is not None:
            check_choice("four_over_six", self.four_over_six, ("mae", "mse"))
        if not isinstance(self.row_scaled, bool):
            raise TypeError(f"row_scaled must be a bool, got {self.row_scaled!r}")
        if (self.four_over_six is not None or self.row_scaled) and not self.is_nvfp4:
            raise ValueError("four_over_six and row_scaled apply to NVFP4 specs only (format 'e2m1', "
                             "tensor_scale=True)")
        if self.is_nvfp4 and self.transform not in (None, "rht16"):
            raise ValueError(f"transform={self.transform!r}: NVFP4 applies the 16-point RHT only (use 'rht16')")

    @property
    def is_nvfp4(self) -> bool:
        """True for an NVFP4 spec (E2M1 elements with a tensor scale)."""
        return (self.tensor_scale and self.format is not None
                and get_format(self.format).name == "float4_e2m1fn")

    def describe(self) -> str:
        """One line: format, block, scale, transform, rounding."""
        if self.format is None:
            return "high precision"
        f = get_format(self.format).name
        parts = [f]
        if self.block is not None:
            parts.append(f"{self.block[0]}x{self.block[1]}")
        elif self.scale_rule != "none":
            parts.append("per tensor")
        if self.scale_format:
            parts.append(f"{get_format(self.scale_format).name} scales")
        parts.append(self.scale_rule if self.scale_rule != "none" else "no scale")
        if self.tensor_scale:
            parts.append("tensor scale")
        if self.four_over_six:
            parts.append(f"4over6 {self.four_over_six}")
        if self.row_scaled:
            parts.append("row-scaled")
        if self.transform:
            parts.append(self.transform.upper())
        parts.append("SR" if self.rounding in ("stochastic", "sr") else "RNE")
        return ", ".join(parts)


@dataclass(frozen=True)
class Recipe:
    """A low-precision training recipe: one `OperandSpec` per GEMM operand of a linear layer.

    Attributes
    ----------
    name, source : str
        The recipe's name and the public source it follows.
    fprop_input, fprop_weight, dgrad_grad, dgrad_weight, wgrad_grad, wgrad_input : OperandSpec
    amax_history : int
        Length of the amax history of `delayed` scaling (0: none).
    margin : int
        FP8 scaling margin of the per-tensor `current` / `delayed` rules: the scale is divided by
        2**margin ([`fp8_scale`][numfmt.training.fp8_scale]); `QuantLinear` passes it to
        [`quantize_operand`][numfmt.training.quantize_operand].

    Examples
    --------
    >>> from numfmt import training
    >>> training.nvfp4.operand("wgrad", "grad").describe()
    'float4_e2m1fn, 1x16, float8_e4m3fn scales, amax, tensor scale, RHT16, SR'
    """

    name: str
    source: str
    fprop_input: OperandSpec
    fprop_weight: OperandSpec
    dgrad_grad: OperandSpec
    dgrad_weight: OperandSpec
    wgrad_grad: OperandSpec
    wgrad_input: OperandSpec
    amax_history: int = 0
    margin: int = 0

    def __post_init__(self) -> None:
        for name in ("amax_history", "margin"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {v!r}")
            if v < 0:
                raise ValueError(f"{name} must be >= 0, got {v}")

    def operand(self, gemm: str, role: str) -> OperandSpec:
        """The spec of `role` ("input", "weight", "grad") in `gemm` ("fprop", "dgrad", "wgrad")."""
        gemm = check_choice("gemm", gemm, GEMMS)
        role = check_choice("role", role, ROLES)
        if (gemm, role) not in OPERANDS:
            raise ValueError(f"the {gemm} GEMM has no {role} operand: its operands are "
                             f"{[r for g, r in OPERANDS if g == gemm]}")
        return getattr(self, f"{gemm}_{role}")

    def rows(self):
        """(gemm, role, OperandSpec) for the six operands."""
        return [(g, r, self.operand(g, r)) for g, r in OPERANDS]


def _same(spec):
    return dict.fromkeys((f"{g}_{r}" for g, r in OPERANDS), spec)


_NV_SRC = "NVIDIA, Pretraining LLMs with NVFP4 (arXiv 2509.25149); TransformerEngine NVFP4BlockScaling"
_NV1 = OperandSpec("e2m1", (1, 16), "e4m3", "amax", tensor_scale=True)
_NV2 = OperandSpec("e2m1", (16, 16), "e4m3", "amax", tensor_scale=True)
_NVG = OperandSpec("e2m1", (1, 16), "e4m3", "amax", tensor_scale=True, rounding="stochastic")
_NVR = OperandSpec("e2m1", (1, 16), "e4m3", "amax", tensor_scale=True, transform="rht16")
_NVGR = OperandSpec("e2m1", (1, 16), "e4m3", "amax", tensor_scale=True, transform="rht16", rounding="stochastic")

nvfp4 = Recipe("nvfp4", _NV_SRC, fprop_input=_NV1, fprop_weight=_NV2, dgrad_grad=_NVG, dgrad_weight=_NV2,
               wgrad_grad=_NVGR, wgrad_input=_NVR)
_46 = {"four_over_six": "mae"}
nvfp4_4over6 = Recipe(
    "nvfp4_4over6", "4over6 (arXiv 2512.02010); TransformerEngine nvfp4_4over6='all', MAE, E4M3 bound 256",
    fprop_input=OperandSpec("e2m1", (1, 16), "e4m3", "amax", tensor_scale=True, **_46),
    fprop_weight=OperandSpec("e2m1", (16, 16), "e4m3", "amax", tensor_scale=True, **_46),
    dgrad_grad=_NVG, dgrad_weight=OperandSpec("e2m1", (16, 16), "e4m3", "amax", tensor_scale=True, **_46),
    wgrad_grad=_NVGR, wgrad_input=_NVR)
nvfp4_row_scaled = Recipe(
    "nvfp4_row_scaled", "TransformerEngine NVFP4BlockScaling(row_scaled_activation=True)",
    fprop_input=OperandSpec("e2m1", (1, 16), "e4m3", "amax", tensor_scale=True, row_scaled=True),
    fprop_weight=_NV2, dgrad_grad=_NVG, dgrad_weight=_NV2, wgrad_grad=_NVGR, wgrad_input=_NVR)
_MX8 = OperandSpec("e4m3", (1, 32), "e8m0", "rceil")
mxfp8 = Recipe("mxfp8", "Mishra et al., Recipes for pre-training LLMs with MXFP8 (arXiv 2506.08027): E4M3 for "
               "every tensor, scales rounded up (NVIDIA rceil)", **_same(_MX8))
mxfp8_floor = Recipe("mxfp8_floor", "OCP MX v1.0 §6.3 scale rule (floor), E4M3 for every tensor",
                     **_same(OperandSpec("e4m3", (1, 32), "e8m0", "floor")))
_MX4 = OperandSpec("e2m1", (1, 32), "e8m0", "floor")
mxfp4 = Recipe("mxfp4", "OCP MX v1.0 MXFP4 (floor scales, nearest-even) for every GEMM operand", **_same(_MX4))
_MX4B = OperandSpec("e2m1", (1, 32), "e8m0", "floor", transform="rht32", rounding="stochastic")
mxfp4_hadamard_sr = Recipe(
    "mxfp4_hadamard_sr", "Tseng et al., Training LLMs with MXFP4 (arXiv 2502.20586); Quartet (arXiv 2505.14669): "
    "backward GEMMs with a random Hadamard transform along K and stochastic rounding",
    fprop_input=_MX4, fprop_weight=_MX4, dgrad_grad=_MX4B, dgrad_weight=_MX4B, wgrad_grad=_MX4B, wgrad_input=_MX4B)
_F8 = {"fprop_input": "e4m3", "fprop_weight": "e4m3", "dgrad_grad": "e5m2", "dgrad_weight": "e4m3",
       "wgrad_grad": "e5m2", "wgrad_input": "e4m3"}
fp8_delayed = Recipe("fp8_delayed", "TransformerEngine DelayedScaling (HYBRID: E4M3 forward, E5M2 gradients), "
                     "amax history 16, margin 0",
                     **{k: OperandSpec(v, None, None, "delayed") for k, v in _F8.items()}, amax_history=16)
fp8_current = Recipe("fp8_current", "TransformerEngine Float8CurrentScaling (HYBRID)",
                     **{k: OperandSpec(v, None, None, "current") for k, v in _F8.items()})
bf16 = Recipe("bf16", "bfloat16 operands (the baseline)", **_same(OperandSpec("bfloat16", None, None, "none")))

RECIPES = {r.name: r for r in (bf16, fp8_delayed, fp8_current, mxfp8, mxfp8_floor, mxfp4, mxfp4_hadamard_sr,
                               nvfp4, nvfp4_4over6, nvfp4_row_scaled)}


def list_recipes() -> list[str]:
    """Names of the training recipes.

    Examples
    --------
    >>> from numfmt import training
    >>> training.list_recipes()[:3]
    ['bf16', 'fp8_delayed', 'fp8_current']
    """
    return list(RECIPES)


def get_recipe(recipe) -> Recipe:
    """The [`Recipe`][numfmt.training.Recipe] of a name (or the recipe itself)."""
    if isinstance(recipe, Recipe):
        return recipe
    if not isinstance(recipe, str):
        raise TypeError(f"recipe must be a Recipe or a name, got {type(recipe).__name__}")
    return RECIPES[check_choice("recipe", recipe, list(RECIPES))]


def fp8_scale(amax, fmt, *, margin: int = 0) -> np.float32:
    """TransformerEngine's FP8 scale of an amax (float32): fl(fl(max / amax) / 2**margin); 1 for
    an amax of 0 or a non-finite scale. `amax` must be finite and >= 0 (ValueError otherwise).

    Examples
    --------
    >>> from numfmt.training import fp8_scale
    >>> float(fp8_scale(3.5, "e4m3"))
    128.0
    """
    mx = np.float32(get_format(fmt).max)
    try:
        a = np.float32(amax)
    except (TypeError, ValueError):
        raise TypeError(f"amax must be a real number, got {amax!r}") from None
    if not np.isfinite(a) or a < 0:
        raise ValueError(f"amax must be finite and >= 0, got {amax!r}")
    if isinstance(margin, bool) or not isinstance(margin, (int, np.integer)):
        raise TypeError(f"margin must be an int, got {margin!r}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        s = np.float32(np.float32(mx / a) / np.float32(2.0**margin))
    return np.float32(1) if (a == 0 or not np.isfinite(s)) else s


def quantize_operand(x, spec: OperandSpec, *, random=None, amax=None, margin: int = 0) -> np.ndarray:
    """The values `spec` gives the operand `x` (2-D, K last), float32.

    With a transform, the values are those of the *transformed* operand (a GEMM of two operands
    transformed along K by the same orthogonal transform equals the GEMM of the originals).
    `amax` is the amax of the per-tensor rules: `delayed` scaling needs it (e.g. the maximum of a
    history); `current` scaling uses it when given and max |x| otherwise. The block rules and
    `none` compute their own scales and reject `amax` and a nonzero `margin` (ValueError).
    Per-tensor FP8: q = Q(fl(x * S)) * fl(1 / S) with S = `fp8_scale(amax, margin=margin)`.
    MX: [`scaled_quantize`][numfmt.scaled_quantize] with E8M0 scales.
    NVFP4: [`nvfp4_quantize`][numfmt.training.nvfp4_quantize], decoded.

    Examples
    --------
    >>> import numpy as np
    >>> from numfmt import training
    >>> x = np.float32([[0.3, -2.0, 5.0, 100.0]])
    >>> training.quantize_operand(x, training.fp8_current.fprop_input).tolist()
    [[0.3069196343421936, -2.0089285373687744, 4.910714149475098, 100.0]]
    """
    if not isinstance(spec, OperandSpec):
        raise TypeError(f"spec must be an OperandSpec, got {type(spec).__name__}")
    xa = np.asarray(as_numpy(x))
    xa = to_f32(xa if xa.dtype == np.float64 else xa.astype(np.float32), "quantize_operand")
    if xa.ndim != 2:
        raise ValueError(f"x must be 2-D (K last), got shape {xa.shape}")
    per_tensor = spec.format is not None and spec.scale_rule in ("current", "delayed")
    if amax is not None and not per_tensor:
        raise ValueError(f"amax= is only used by the per-tensor 'current' / 'delayed' rules, not by "
                         f"scale_rule={spec.scale_rule!r}")
    if margin and not per_tensor:
        raise ValueError(f"margin= is only used by the per-tensor 'current' / 'delayed' rules, not by "
                         f"scale_rule={spec.scale_rule!r}")
    if spec.format is None:
        return xa.copy()
    nv = spec.is_nvfp4
    if spec.transform is not None and not nv:
        xa = random_hadamard(xa, size=int(spec.transform[3:]))
    stoch = parse_rounding(spec.rounding)[1] != 0
    rnd = {"random": random} if stoch else {}
    if random is not None and not stoch:
        raise ValueError("random= is only used by a spec with stochastic rounding")
    if nv:
        res = nvfp4_quantize(xa, tile=spec.block, rht=spec.transform == "rht16", four_over_six=spec.four_over_six,
                             row_scaled=spec.row_scaled, rounding=spec.rounding, **rnd)
        if spec.row_scaled:
            ba, rs = res
            return (block_decode(ba) * rs[:, None]).astype(np.float32)
        return block_decode(res)
    if spec.block is not None:
        gran = ("block", spec.block[1]) if spec.block[0] == 1 else ("tile", tuple(spec.block))
        return scaled_quantize(xa, spec.format, granularity=gran, scale_format=spec.scale_format,
                               scale_rule=spec.scale_rule, tensor_scale=spec.tensor_scale,
                               rounding=spec.rounding, **rnd).values.astype(np.float32)
    if spec.scale_rule == "none":
        return np.asarray(_decode(_encode(xa, spec.format, rounding=spec.rounding, **rnd), spec.format,
                                  dtype=np.float32))
    if spec.scale_rule == "delayed":
        if amax is None:
            raise ValueError("delayed scaling needs amax= (the maximum of the amax history)")
    elif amax is None:
        amax = np.abs(xa).max() if xa.size else 0.0
    s = fp8_scale(amax, spec.format, margin=margin)
    with np.errstate(over="ignore"):
        v = (xa * s).astype(np.float32)
    kw = {"random": random} if stoch else {}
    q = np.asarray(_decode(_encode(v, spec.format, rounding=spec.rounding, saturation="finite", **kw), spec.format,
                           dtype=np.float32))
    return (q * (np.float32(1) / s)).astype(np.float32)


def recipe_table() -> str:
    """Markdown table of every recipe's operands (the docs page's table is generated by it)."""
    head = ["recipe", *(f"{g} {r}" for g, r in OPERANDS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in RECIPES.values():
        lines.append("| `" + r.name + "` | " + " | ".join(s.describe() for _, _, s in r.rows()) + " |")
    return "\n".join(lines)

