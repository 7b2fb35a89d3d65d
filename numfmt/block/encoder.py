"""`encode` (x -> [`BlockArray`][numfmt.block.BlockArray]) and `quantize`: argument checks, axis handling, and
dispatch to the scale families (`mx`, `nvfp4`, `p3109`)."""

from __future__ import annotations

import numpy as np

from ..choices import check_choice
from ..policy import parse_rounding
from .array import BlockArray, norm_axis
from .decoder import decode
from .elements import random_array
from .formats import (
    NONFINITE,
    SCALE_RULES,
    check_scale_capable,
    default_recipe,
    get_block_format,
    recipes_for,
    resolve_recipe,
)
from .gguf import encode_gguf
from .inputs import as_float, as_rows
from .mx import encode_pow2, fast_pow2
from .nvfp4 import encode_amax
from .p3109 import encode_p3109
from .slabs import slabs


def encode(x, fmt, *, axis: int = -1, scale_rule: str | None = None, rounding: str = "nearest_even",
           random=None, rbits: int | None = None, recipe: str | None = None, tensor_scale=None,
           tensor_amax=None, nonfinite: str = "amax", scale_rounding: str | None = None) -> BlockArray:
    """Encode `x` into a block format; blocks run along `axis`.

    Parameters
    ----------
    x : array_like of float
        float16/bfloat16/float32 (computed in float32) or float64.
    fmt : str or BlockFormat
        `"mxfp8_e4m3"`, `"mxfp8_e5m2"`, `"mxfp6_e3m2"`, `"mxfp6_e2m3"`,
        `"mxfp4"` (`"mxfp4_e2m1"`), `"mxint8"`, `"nvfp4"` or a custom format.
    axis : int
        Axis along which consecutive elements form blocks. When its length is
        not a multiple of the block size the last block is shorter; its scale
        comes from the elements it has.
    scale_rule : str, optional
        `floor` (OCP; MX default), `ceil`, `even`, `rceil` (NVIDIA),
        `rceil_torchao`, `amax` (NVFP4 default) or `max_abs_finite` (P3109
        ConvertToBlockMaxAbsFinite: the scale is the largest finite |x| rounded
        with `scale_rounding` into the scale format, elements are x / scale
        rounded once).
    rounding, random, rbits :
        Element rounding, as in [`numfmt.encode`][numfmt.encode] (stochastic roundings take
        random bits per element of `x`; see `ptx_e2m1x4_rbits`).
    recipe : str, optional
        Power-of-two rules: `ocp` (default, exact) or `torchao` (torchao `to_mx`,
        quirks included: the newest rules numfmt knows, torchao's main branch of
        2026-08-21; `torchao==0.18` pins 0.18.0, see `numfmt.block.recipe_profiles`).
        `amax`: `te` (default), `torchao` (either version: the NVFP4 recipe did not
        change), `modelopt`. `gguf` (the default of `gguf_mxfp4`/`gguf_nvfp4`):
        llama.cpp's reference quantizers, E2M1 elements with `floor` (MXFP4)
        or `amax` (NVFP4) only.
    tensor_scale : None, False or float
        `amax` rule only. None: the format's default (NVFP4: two-level, the
        tensor scale computed from the tensor's amax by the recipe); False:
        one-level; a float: this float32 decode tensor scale.
    tensor_amax : float, optional
        A calibrated tensor amax to compute the tensor scale from: non-negative
        (NaN and inf act as the amax of a tensor holding them).
    nonfinite : {"amax", "nan", "finite"}
        Blocks with inf/NaN (power-of-two rules). `amax` (torchao): the scale
        comes from the block maximum as it is (inf counts as 2**128; a NaN makes
        the NaN scale); `nan` (OCP/microxcaling): any inf or NaN gives the NaN
        scale; `finite` (P3109 ConvertToBlockMaxAbsFinite): the scale comes
        from the finite elements, infinities saturate or stay infinite per
        element, a NaN element keeps a NaN code (or makes the NaN scale when the
        element format has no NaN).
    scale_rounding : str, optional
        Rounding of the scale for `max_abs_finite` (default `toward_positive`).

    Returns
    -------
    BlockArray

    Examples
    --------
    >>> import numpy as np, numfmt
    >>> x = ((np.arange(32) - 16) * 0.46875).astype(np.float32)
    >>> ba = numfmt.encode(x, "mxfp4")
    >>> hex(int(ba.scales[0])), ba.codes[:4].tolist()
    ('0x7f', [15, 15, 15, 15])
    >>> hex(int(numfmt.encode(x, "mxfp4", scale_rule="ceil").scales[0]))
    '0x80'
    """
    f = get_block_format(fmt)
    rule = check_choice("scale_rule", scale_rule if scale_rule is not None else f.scale_rule, SCALE_RULES)
    if recipe is None:
        recipe = f.recipe if recipes_for(rule) == recipes_for(f.scale_rule) else default_recipe(rule)
    recipe = check_choice("recipe", recipe, recipes_for(rule))
    recipe, impl = resolve_recipe(recipe, rule)
    nonfinite = check_choice("nonfinite", nonfinite, NONFINITE)
    check_scale_capable(f.scale, rule)
    _, mode = parse_rounding(rounding)
    xa = as_float(x)
    if xa.ndim == 0:
        raise ValueError("x must have at least one dimension (axis=... is out of range for a scalar)")
    ax = norm_axis(axis, xa.ndim)
    if rule != "amax" and (tensor_scale not in (None, False) or tensor_amax is not None):
        raise ValueError(f"tensor_scale/tensor_amax need scale_rule='amax', got scale_rule={rule!r}")
    rkind, rarr, nbits = random_array(random, rbits, mode, xa.shape, ax)
    if scale_rounding is not None and rule != "max_abs_finite":
        raise ValueError(f"scale_rounding is used by scale_rule='max_abs_finite', not {rule!r}")
    if impl == "torchao" and rule == "rceil":
        raise ValueError(f"recipe={recipe!r} computes rceil its own way: use scale_rule='rceil_torchao' "
                         "(scale_rule='rceil' is NVIDIA's exact round-up, which recipe='torchao' (torchao's main "
                         "branch) uses)")
    if impl == "torchao_main" and rule == "rceil_torchao":
        raise ValueError(f"scale_rule='rceil_torchao' is torchao 0.18's RCEIL; recipe={recipe!r} computes RCEIL "
                         "as scale_rule='rceil' (or pass recipe='torchao==0.18')")
    if recipe == "gguf":
        _check_gguf_options(mode, random, nonfinite, tensor_scale, tensor_amax)
        codes, scales = _by_slabs(lambda x2, r: encode_gguf(x2, f, rule), xa, ax, f, rarr, False)
        return BlockArray._trusted(codes, scales, f, ax, None, rule, recipe)
    if rule == "amax":  # the tensor scale comes from the whole tensor: one pass over a (moved) copy
        moved = np.moveaxis(xa, ax, -1)
        mshape = moved.shape
        x2 = as_rows(np.ascontiguousarray(moved))
        codes2, scales2, ts = encode_amax(x2, f, impl, tensor_scale, tensor_amax, mode, rkind, rarr, nbits)
        codes = np.moveaxis(codes2.reshape(mshape), -1, ax)
        scales = np.moveaxis(scales2.reshape(mshape[:-1] + (scales2.shape[1],)), -1, ax)
        return BlockArray._trusted(np.ascontiguousarray(codes), np.ascontiguousarray(scales), f, ax, ts, rule,
                                   recipe)
    if rule != "max_abs_finite" and xa.size:
        fast = _fast_whole(xa, ax, f, rule, impl, nonfinite, mode)
        if fast is not None:
            return BlockArray._trusted(*fast, f, ax, None, rule, recipe)
    if rule == "max_abs_finite":
        def run(x2, r):
            return encode_p3109(x2, f, scale_rounding or "toward_positive", mode, rkind, r, nbits)
    else:
        def run(x2, r):
            return encode_pow2(x2, f, rule, impl, nonfinite, mode, rkind, r, nbits)
    codes, scales = _by_slabs(run, xa, ax, f, rarr, rkind == 1)
    return BlockArray._trusted(codes, scales, f, ax, None, rule, recipe)


def _fast_whole(xa, ax, f, rule, impl, nonfinite, mode):
    """(codes, scales) of the power-of-two rules by the fused float32 variant in one call, written
    straight into the result arrays, when the blocked axis is x's last contiguous one (the rows need
    no copy); None otherwise (the caller goes by slabs)."""
    moved = np.moveaxis(xa, ax, -1)
    if xa.dtype != np.float32 or not moved.flags.c_contiguous:
        return None
    n = moved.shape[-1]
    codes = np.empty(moved.shape, f.element.code_dtype)
    scales = np.empty(moved.shape[:-1] + (-(-n // f.block_size),), f.scale.code_dtype)
    if fast_pow2(as_rows(moved), f, rule, impl, nonfinite, mode, out=(as_rows(codes), as_rows(scales))) is None:
        return None
    return np.ascontiguousarray(np.moveaxis(codes, -1, ax)), np.ascontiguousarray(np.moveaxis(scales, -1, ax))


def _by_slabs(run, xa, ax, f, rarr, per_element: bool):
    """Codes and scales (x's layout, blocks along `ax`) of `run(rows, random rows)` called on the
    slabs (`numfmt.block.slabs`) of x with `ax` moved last, one at a time: no copy of the whole
    input is made whatever the axis. `rarr`: the random bits, rows
    aligned with those of x moved (`per_element`), or the dummy passed to every slab."""
    moved = np.moveaxis(xa, ax, -1)
    others, n = moved.shape[:-1], moved.shape[-1]
    nb = -(-n // f.block_size)
    codes = np.empty(xa.shape, f.element.code_dtype)
    sshape = list(xa.shape)
    sshape[ax] = nb
    scales = np.empty(tuple(sshape), f.scale.code_dtype)
    cm, sm = np.moveaxis(codes, ax, -1), np.moveaxis(scales, ax, -1)
    for index, first, count in slabs(others, n):
        part = moved[index]
        r = rarr[first:first + count] if per_element else rarr
        c2, s2 = run(as_rows(np.ascontiguousarray(part)), r)
        cm[index] = c2.reshape(part.shape)
        sm[index] = s2.reshape(part.shape[:-1] + (nb,))
    return codes, scales


def _check_gguf_options(mode, random, nonfinite, tensor_scale, tensor_amax) -> None:
    if mode != 0 or random is not None:
        raise ValueError("recipe='gguf' rounds elements by llama.cpp's rule (nearest, ties to the smaller "
                         "magnitude); rounding=/random= do not apply")
    if nonfinite != "amax":
        raise ValueError("recipe='gguf' treats NaN as llama.cpp does (skipped by amax, code 0); "
                         "nonfinite= does not apply")
    if tensor_scale not in (None, False) or tensor_amax is not None:
        raise ValueError("recipe='gguf' (llama.cpp NVFP4) is one-level: tensor_scale/tensor_amax do not apply")


def quantize(x, fmt, *, dtype=None, **options) -> np.ndarray:
    """`decode(encode(x, fmt, **options))` in x's float dtype (float32 for narrower inputs).

    Examples
    --------
    >>> import numfmt
    >>> numfmt.quantize([0.3, -1.2, 5.0, 100.0], "mxfp4").tolist()   # scale 2**4
    [0.0, -0.0, 8.0, 96.0]
    """
    ba = encode(x, fmt, **options)
    if dtype is None:
        dtype = np.float64 if np.asarray(x).dtype == np.float64 else np.float32
    return decode(ba, dtype=dtype)
