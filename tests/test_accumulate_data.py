"""Every recorded tensor-core output in ``data/tensor-cores`` (32 GPU x format files of 5,000 dot products).

The recordings are those of Khattak & Mikaitis, "Accurate Models of NVIDIA Tensor Cores" (arXiv 2512.07004),
shipped with the repository under their BSD-2 licence (``data/tensor-cores/README.md``). Every binary32-output
and every binary16-output recording is reproduced bit for bit, as `numfmt.PRESET_SOURCES` states; the
binary16-output FP8 variants that the recordings rule out are pinned with their rates.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from tensor_cores import DATA, fp16_fp8_variants, load

import numfmt
from numfmt.accum_models import MMA_SYNC_FP8_HALVES, accumulation_model
from numfmt.accumulate import dot

FILES = sorted(DATA.glob("*.npz"))
ROWS = 5000

def _bits(x) -> np.ndarray:
    return np.asarray(x, np.float32).view(np.uint32)


def test_recordings_shipped_with_their_licence():
    assert len(FILES) == 32
    assert (DATA / "LICENSE").read_text().startswith("BSD 2-Clause License")
    assert "2512.07004" in (DATA / "README.md").read_text()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_recordings_fp32(path):
    g, fmt, z, a, b, c = load(path)
    d = dot(a, b, c=c, model=accumulation_model(g, fmt))
    assert a.shape[0] == ROWS
    assert d.dtype == np.float32
    assert int((_bits(d) == z["d_fp32"]).sum()) == ROWS
    assert numfmt.PRESET_SOURCES[(g, fmt, "fp32")][1] == f"{ROWS}/{ROWS}"


FP16_FILES = [p for p in FILES if "d_fp16" in np.load(p).files]


def _c16(z) -> np.ndarray:
    return numfmt.quantize(z["c"].view(np.float32), "fp16")  # the recording kernels convert c with __float2half


def test_fp16_output_recordings_listed():
    assert sorted(p.stem for p in FP16_FILES) == [
        "a100_fp16", "a2_fp16", "ada_e4m3", "ada_e5m2", "ada_fp16", "b200_e4m3", "b200_e5m2", "b200_fp16",
        "h100_e4m3", "h100_e5m2", "h100_fp16", "h200_e4m3", "h200_e5m2", "h200_fp16", "l40s_fp16", "v100_fp16"]


@pytest.mark.parametrize("path", FP16_FILES, ids=lambda p: p.stem)
def test_recordings_fp16_output(path):
    g, fmt, z, a, b, _ = load(path)
    d = dot(a, b, c=_c16(z), model=accumulation_model(g, fmt, out_format="fp16"))
    assert int((_bits(d) == z["d_fp16"]).sum()) == ROWS
    assert numfmt.PRESET_SOURCES[(g, fmt, "fp16")][1] == f"{ROWS}/{ROWS}"


#: binary16-output FP8 variants on Hopper/Blackwell: rows reproduced per file
#: (h100 e4m3, h100 e5m2, h200 e4m3, h200 e5m2, b200 e4m3, b200 e5m2); docs/accumulation.md shows them.
FP16_FP8_RATES = {
    "one 32-term block, F = 13, c aligned": (3113, 3340, 3122, 3400, 3094, 3375),
    "one 32-term block, F = 25, c aligned": (3120, 3356, 3117, 3394, 3108, 3403),
    "exact product sum rounded to fp16, then + c": (3931, 4212, 3932, 4230, 3929, 4241),
    "halves k < 16 / k >= 16": (3477, 3821, 3477, 3843, 3500, 3850),
    "halves k even / k odd": (3438, 3825, 3433, 3850, 3421, 3855),
    "halves k mod 4 in {2, 3} first": (3476, 3755, 3450, 3762, 3443, 3771),
    "halves k mod 4 in {0, 1} first, c as the first block's addend": (3113, 3153, 3038, 3137, 3033, 3154),
    "halves with F = 13": (4757, 4904, 4766, 4902, 4756, 4908),
    "halves with F = 17": (5000, 4999, 5000, 4999, 5000, 4999),
    "halves with F = 18": (5000,) * 6,
    "halves without a minimum exponent": (5000,) * 6,
    "preset": (5000,) * 6,
}
FP8_FP16_FILES = [DATA / f"{g}_{f}.npz" for g in ("h100", "h200", "b200") for f in ("e4m3", "e5m2")]


@pytest.mark.parametrize("i,path", list(enumerate(FP8_FP16_FILES)), ids=lambda x: getattr(x, "stem", str(x)))
def test_fp16_output_fp8_variants(i, path):
    """Each variant's rate per recording: the data pin the k mod 4 halves, their order, the late c and
    F >= 18 in the halves, not the minimum exponent."""
    g, fmt, z, a, b, _ = load(path)
    variants = fp16_fp8_variants(g, fmt)
    assert list(variants) == list(FP16_FP8_RATES)
    got = {name: int((_bits(dot(a, b, c=_c16(z), model=mv)) == z["d_fp16"]).sum()) for name, mv in variants.items()}
    assert got == {name: rates[i] for name, rates in FP16_FP8_RATES.items()}


def test_fp16_output_fp8_product_part_shared_across_gpus():
    """H100, H200 and B200 recorded the same a, b with different c. With d = RN16(X + c16), every row
    admits one X for all three GPUs (the rounding intervals of d - c16 intersect), and the preset's
    X (the two fp16 blocks from 0) lies in every intersection."""
    for fmt in ("e4m3", "e5m2"):
        lo = hi = None
        for g in ("h100", "h200", "b200"):
            _, _, z, a, b, _ = load(DATA / f"{g}_{fmt}.npz")
            d = z["d_fp16"].view(np.float32).astype(np.float16)
            c16 = np.asarray(_c16(z), np.float64)
            dn = np.nextafter(d, np.float16(-np.inf)).astype(np.float64)
            up = np.nextafter(d, np.float16(np.inf)).astype(np.float64)
            d = d.astype(np.float64)
            # reals rounding to d are within [mid(dn, d), mid(d, up)]; the differences are exact in float64
            l_, h_ = (dn + d) / 2 - c16, (d + up) / 2 - c16
            lo = l_ if lo is None else np.maximum(lo, l_)
            hi = h_ if hi is None else np.minimum(hi, h_)
        assert (lo <= hi).all()
        x = dot(a, b, model=accumulation_model("h100", fmt, out_format="fp16").inner).astype(np.float64)
        assert ((lo <= x) & (x <= hi)).all()


def _mmasim_fp16_output(arch: str, a, b, c16):
    """The binary16-output FP8 rule built from MMA-Sim's fp16 `mma.m16n8k16.f16.f16.f16.f16` model of
    `arch`: FP8 values converted to binary16 (exact), the k mod 4 halves chained, then c added in binary16
    (torch's half addition rounds once: float32 holds every sum of two binary16 values to 2p + 2 bits)."""
    torch = pytest.importorskip("torch")
    sim = pytest.importorskip("mmasim.nv_ptx.sim")
    op = sim.MMA(arch, "m16n8k16.f16.f16.f16.f16")
    lo, hi = list(MMA_SYNC_FP8_HALVES[:16]), list(MMA_SYNC_FP8_HALVES[16:])
    A = torch.from_numpy(np.asarray(a, np.float32)).to(torch.float16)
    B = torch.from_numpy(np.asarray(b, np.float32)).to(torch.float16)
    d = torch.from_numpy(np.asarray(c16, np.float32)).to(torch.float16)
    for j in range(0, A.shape[1], 32):  # a chain of instructions: d of one is c of the next
        Aj, Bj = A[:, j:j + 32], B[:, j:j + 32]
        x = op.dpa(Aj[:, lo], Bj[:, lo], torch.zeros(A.shape[0], dtype=torch.float16))
        d = op.dpa(Aj[:, hi], Bj[:, hi], x) + d
    return d.float().numpy()


@pytest.mark.parametrize("path", FP8_FP16_FILES, ids=lambda p: p.stem)
def test_fp16_output_fp8_mmasim(path):
    """MMA-Sim 2.1.1 lists no FP8 mma.sync for Hopper or Blackwell (sm_90 emulates it on the fp16
    tensor core). Its fp16 mma model chained as the preset does reproduces every recorded row; its
    Hopper wgmma f16 model (one fused 32-term block, F = 13) matches the one-block variant only."""
    g, fmt, z, a, b, _ = load(path)
    c16 = _c16(z)
    arch = "Blackwell" if g == "b200" else "Hopper"
    isa = pytest.importorskip("mmasim.nv_ptx.isa_mma")
    assert f"m16n8k32.f16.{fmt}.{fmt}.f16" not in isa.mma_shape_and_type[arch]
    assert f"m16n8k32.f16.{fmt}.{fmt}.f16" in isa.mma_shape_and_type["Ada Lovelace"]
    d = _mmasim_fp16_output(arch, a, b, c16)
    assert (_bits(d) == z["d_fp16"]).all()
    assert (_bits(d) == _bits(dot(a, b, c=c16, model=accumulation_model(g, fmt, out_format="fp16")))).all()
    if arch == "Hopper":
        torch = pytest.importorskip("torch")
        sim = pytest.importorskip("mmasim.nv_ptx.sim")
        dt = {"e4m3": torch.float8_e4m3fn, "e5m2": torch.float8_e5m2}[fmt]
        w = sim.WGMMA("Hopper", f"m64n8k32.f16.{fmt}.{fmt}").dpa(
            torch.from_numpy(a).to(dt), torch.from_numpy(b).to(dt),
            torch.from_numpy(np.asarray(c16, np.float32)).to(torch.float16))
        i = FP8_FP16_FILES.index(path)
        assert int((_bits(w.float().numpy()) == z["d_fp16"]).sum()) == \
            FP16_FP8_RATES["one 32-term block, F = 13, c aligned"][i]


@pytest.mark.parametrize("fmt", ["e4m3", "e5m2"])
@pytest.mark.parametrize("g", ["h100", "b200"])
def test_fp16_output_fp8_mmasim_random(g, fmt):
    """The preset equals the MMA-Sim composition on random FP8 inputs (every code but NaN, so zeros,
    subnormals, the largest values and binary16 overflow) and random binary16 addends, K = 64 (two
    chained instructions)."""
    rng = np.random.default_rng(14)
    codes = np.arange(256, dtype=np.uint8)
    vals = numfmt.decode(codes, fmt)
    vals = vals[np.isfinite(vals)]
    rows = 2000
    scale = rng.choice(vals, (rows, 1))  # rows of one magnitude as well as mixed rows
    a = np.where(rng.random((rows, 64)) < 0.5, rng.choice(vals, (rows, 64)), scale)
    b = rng.choice(vals, (rows, 64))
    c16 = numfmt.quantize(rng.standard_normal(rows) * 2.0 ** rng.integers(-24, 16, rows), "fp16")
    arch = "Blackwell" if g == "b200" else "Hopper"
    d = _mmasim_fp16_output(arch, a, b, c16)
    mine = dot(a, b, c=c16, model=accumulation_model(g, fmt, out_format="fp16"))
    assert (_bits(d) == _bits(mine)).all()


def test_b200_fp8_published_model_misses_rows():
    """The aligned-addend (published) B200 model misses rows that the late-addend preset reproduces."""
    g, fmt, z, a, b, c = load(DATA / "b200_e4m3.npz")
    m = accumulation_model(g, fmt)
    pub = dataclasses.replace(m, addend="aligned")
    assert (_bits(dot(a, b, c=c, model=pub)) != z["d_fp32"]).sum() >= 100
    assert (_bits(dot(a, b, c=c, model=m)) == z["d_fp32"]).all()
