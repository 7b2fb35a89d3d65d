"""Bit-exactness against torchao 0.18 ``to_mx`` and ``nvfp4_quantize`` (CPU; skipped without torchao), under
the recipe of the installed version (``recipe="torchao==0.18"``)."""

from __future__ import annotations

import importlib.metadata
import warnings

import numpy as np
import pytest

import numfmt

torch = pytest.importorskip("torch")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    mx_tensor = pytest.importorskip("torchao.prototype.mx_formats.mx_tensor")
    from torchao.prototype.mx_formats.config import ScaleCalculationMode as Mode
    from torchao.prototype.mx_formats.constants import DTYPE_FP6_E2M3, DTYPE_FP6_E3M2
    from torchao.prototype.mx_formats.kernels import pack_uint4, unpack_uint4
    from torchao.prototype.mx_formats.nvfp4_tensor import nvfp4_quantize, per_tensor_amax_to_scale

_TORCHAO_VERSION = numfmt.compat.major_minor(importlib.metadata.version("torchao"))
RECIPE = f"torchao=={_TORCHAO_VERSION}"
if RECIPE not in numfmt.block.RECIPES:
    pytest.skip(f"torchao {_TORCHAO_VERSION}: no numfmt recipe for this version", allow_module_level=True)

ELEMS = {"mxfp8_e4m3": torch.float8_e4m3fn, "mxfp8_e5m2": torch.float8_e5m2,
         "mxfp6_e2m3": DTYPE_FP6_E2M3, "mxfp6_e3m2": DTYPE_FP6_E3M2, "mxfp4": torch.float4_e2m1fn_x2}
RULES = {"floor": Mode.FLOOR, "ceil": Mode.CEIL, "even": Mode.EVEN, "rceil_torchao": Mode.RCEIL}


def to_mx(x, name, rule):
    s, d = mx_tensor.to_mx(torch.from_numpy(x), ELEMS[name], 32, RULES[rule])
    s = s.view(torch.uint8).numpy()
    d = unpack_uint4(d.view(torch.uint8)) if name == "mxfp4" else d.view(torch.uint8)
    return s, d.numpy().reshape(x.shape)


def edge_data(seed=1):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((48, 128)) * np.exp2(rng.integers(-30, 30, (48, 1)))).astype(np.float32)
    x[0] = 0  # all-zero blocks
    x[1, :32] = 1e-40  # float32-subnormal amax
    x[2, :32] = (rng.standard_normal(32) * 1e-39).astype(np.float32)
    x[2, 32:64] = np.float32(2.0 ** -127) * 3
    x[3, 5], x[4, 7] = np.inf, -np.inf  # +-inf blocks
    x[5, 9], x[6, 40] = np.nan, -np.nan  # NaN blocks
    x[7, 64:] = np.inf
    x[8] = np.float32(3.4e38) * np.sign(rng.standard_normal(128))  # scale overflow region
    x[9] = (rng.integers(-24, 25, 128) * 0.25).astype(np.float32)  # planted element ties
    x[10] = (rng.integers(-24, 25, 128) * 0.125).astype(np.float32) * np.float32(2.0 ** 40)
    x[11, :32] = np.float32(6.0) * np.float32(2.0 ** 7)  # amax exactly max * 2**k
    x[12, 3] = -0.0
    for i in range(13, 20):  # amax just above / below max * 2**k (rceil and even boundaries)
        k = int(rng.integers(-100, 100))
        base = (np.float32(np.ldexp(1.0, k)) * np.float32(448.0)).view(np.int32)
        x[i] = (np.arange(128, dtype=np.int32) - 64 + base).view(np.float32) / np.float32(rng.integers(1, 5))
    return x


@pytest.mark.parametrize("name", list(ELEMS))
@pytest.mark.parametrize("rule", list(RULES))
def test_to_mx_bit_exact(name, rule):
    x = edge_data()
    s, d = to_mx(x, name, rule)
    ba = numfmt.encode(x, name, scale_rule=rule, recipe=RECIPE)
    assert np.array_equal(ba.scales, s)
    assert np.array_equal(ba.codes, d)


@pytest.mark.parametrize("name", list(ELEMS))
@pytest.mark.parametrize("rule", ["floor", "ceil", "even"])
def test_default_recipe_equals_torchao_on_ordinary_blocks(name, rule):
    """The exact OCP recipe (fast kernel) agrees with torchao wherever torchao has no quirk."""
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((64, 256)) * np.exp2(rng.integers(-60, 60, (64, 1)))).astype(np.float32)
    x[0] = (rng.integers(-24, 25, 256) * 0.25).astype(np.float32)
    s, d = to_mx(x, name, rule)
    ba = numfmt.encode(x, name, scale_rule=rule)
    assert np.array_equal(ba.scales, s) and np.array_equal(ba.codes, d)


@pytest.mark.parametrize("name", list(ELEMS))
def test_rceil_torchao_log2_boundaries(name):
    """torchao's float32 log2 misrounds just above powers of two; rceil_torchao reproduces it."""
    mx = numfmt.block.get_block_format(name).element.max
    vals = []
    for k in range(-140, 128, 3):
        with np.errstate(over="ignore"):
            b = (np.float32(np.ldexp(1.0, k)) * np.float32(mx)).view(np.int32)
        for j in (-2, -1, 0, 1, 2, 3, 5, 8, 13, 21, 34):
            v = np.array([b + j], np.int32).view(np.float32)[0]
            if np.isfinite(v) and v > 0:
                vals.append(v)
    x = np.zeros((len(vals), 32), np.float32)
    x[:, 0] = vals
    x[:, 1] = -np.asarray(vals, np.float32) / 3
    s, d = to_mx(x, name, "rceil_torchao")
    ba = numfmt.encode(x, name, scale_rule="rceil_torchao", recipe=RECIPE)
    assert np.array_equal(ba.scales, s) and np.array_equal(ba.codes, d)
    # NVIDIA's exact rceil differs from torchao's on some of these
    assert (numfmt.encode(x, name, scale_rule="rceil").scales != s).any()


@pytest.mark.parametrize("scale", [3.0, 0.01, 1e-5, 1e4])
@pytest.mark.parametrize("two_level", [False, True])
@pytest.mark.parametrize("specials", [False, True])
def test_nvfp4_quantize_bit_exact(scale, two_level, specials):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((32, 128)) * scale).astype(np.float32)
    x[0] = 0
    x[3, :16] = (rng.integers(-12, 13, 16) * 0.25).astype(np.float32)
    x[4, :16] = 1e-30
    if specials:
        x[1, 3], x[2, 5], x[5, 20] = np.inf, np.nan, -np.nan
    pts = None
    if two_level:  # as torchao's NVFP4Tensor computes it (its NaN is 0xFFFFFFFF)
        pts = per_tensor_amax_to_scale(torch.max(torch.abs(torch.from_numpy(x)))).reshape(())
    s, d = nvfp4_quantize(torch.from_numpy(x), 16, pts)
    s = s.view(torch.uint8).numpy()
    d = unpack_uint4(d.view(torch.uint8)).numpy().reshape(x.shape)
    ba = numfmt.encode(x, "nvfp4", recipe=RECIPE, tensor_scale=None if two_level else False)
    assert np.array_equal(_ue4m3_bytes(s), ba.scales) and np.array_equal(ba.codes, d)
    if two_level and not specials:
        assert np.float32(ba.tensor_scale) == np.float32(pts.item())


def _ue4m3_bytes(s):
    """torchao stores NVFP4 scales as float8_e4m3fn bytes: a NaN scale keeps the NaN's sign (0x7F or
    0xFF); UE4M3 has the single NaN 0x7F. Every other byte is the same."""
    return np.where(s == 0xFF, 0x7F, s).astype(np.uint8)


@pytest.mark.parametrize("case", ["nan", "-nan", "inf", "-inf", "nan+inf", "all-nan", "all-inf"])
def test_nvfp4_nonfinite_tensor_two_level(case):
    """A tensor holding NaN or inf, two-level scaling with the tensor scale from the data: torchao's amax
    `torch.max(torch.abs(x))` is the NaN 0xFFFFFFFF (numpy's max gives 0x7FC00000), and its sign decides
    every element code. An inf tensor: tensor scale inf, the inf's block NaN, every other block 2**-6
    (0x08) with +-0 elements."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((8, 64)).astype(np.float32)
    special = {"nan": np.nan, "-nan": -np.nan, "inf": np.inf, "-inf": -np.inf}
    if case in special:
        x[2, 5] = special[case]
    elif case == "nan+inf":
        x[2, 5], x[6, 40] = np.nan, np.inf
    else:
        x[...] = np.nan if case == "all-nan" else np.inf
    t = torch.from_numpy(x)
    s, d = nvfp4_quantize(t, 16, per_tensor_amax_to_scale(torch.max(torch.abs(t))))
    s = s.view(torch.uint8).numpy()
    d = unpack_uint4(d.view(torch.uint8)).numpy().reshape(x.shape)
    ba = numfmt.encode(x, "nvfp4", recipe=RECIPE)
    assert np.array_equal(ba.codes, d)
    assert np.array_equal(_ue4m3_bytes(s), ba.scales)
    if case in ("inf", "-inf"):
        assert ba.tensor_scale == np.inf
        nan_block = np.zeros(ba.scales.shape, bool)
        nan_block[2, 0] = True
        assert (ba.scales[nan_block] == 0x7F).all() and (ba.scales[~nan_block] == 0x08).all()
        assert (ba.codes[~np.repeat(nan_block, 16, axis=1)] & 0x7 == 0).all()  # +-0


def test_pack_layout_matches_torchao():
    codes = np.random.default_rng(4).integers(0, 16, 64).astype(np.uint8)
    ref = pack_uint4(torch.from_numpy(codes)).numpy()
    assert np.array_equal(numfmt.pack(codes, 4), ref)
    assert np.array_equal(numfmt.unpack(ref, 4, 64), codes)


def test_nvfp4_all_zero_tensor_two_level():
    """torchao divides 0/0 (pts = 0): e4m3fn NaN 0xFF and garbage elements. UE4M3 has one NaN
    code (0x7F); the elements match torchao's bits."""
    x = np.zeros((2, 16), np.float32)
    pts = per_tensor_amax_to_scale(torch.tensor(0.0))
    s, d = nvfp4_quantize(torch.from_numpy(x), 16, pts)
    ba = numfmt.encode(x, "nvfp4", recipe=RECIPE)
    assert np.array_equal(ba.codes, unpack_uint4(d.view(torch.uint8)).numpy().reshape(x.shape))
    assert (s.view(torch.uint8).numpy() == 0xFF).all() and (ba.scales == 0x7F).all()
    assert ba.tensor_scale == 0.0
