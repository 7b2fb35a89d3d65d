"""Every family of numfmt.mma_instructions() against MMA-Sim (`mmasim`), bit for bit.

For each family, every instruction depth K it is issued with: 2,000 dot products
(chains of 1-3 instructions, the result fed back as c) from random and adversarial
inputs: values over the whole range of the input format (exponent spread beyond
the alignment window, subnormal products, overflow), massive cancellation, NaN and
infinities, zeros of both signs, all-zero blocks, and scale codes at their extremes
(E8M0 0x00/0xFE/0xFF, UE4M3 0x00/0x7F and the ignored sign bit). NaN results are
compared as NaN (MMA-Sim writes 0x7FFFFFFF, numfmt the default quiet NaN).
"""

from __future__ import annotations

import numpy as np
import pytest
from mma_inputs import cases as _cases

import numfmt
from numfmt.mma import mma_family

torch = pytest.importorskip("torch")
mmasim = pytest.importorskip("mmasim")
from mmasim import amd as mmasim_amd  # noqa: E402
from mmasim import nv_ptx  # noqa: E402

N_DOTS = 2000

_TORCH = {
    "binary16": torch.float16, "bfloat16": torch.bfloat16, "binary32": torch.float32, "tf32": torch.float32,
    "binary64": torch.float64,
    "float8_e4m3fn": torch.float8_e4m3fn, "float8_e5m2": torch.float8_e5m2,
    "float8_e4m3fnuz": torch.float8_e4m3fnuz, "float8_e5m2fnuz": torch.float8_e5m2fnuz,
}
_NARROW = ("float6_e3m2fn", "float6_e2m3fn", "float4_e2m1fn")


def _op(fam, shape):
    ins = fam.instruction(shape)
    cls = {"mma": nv_ptx.MMA, "wgmma": nv_ptx.WGMMA, "tcgen05.mma": nv_ptx.TCGen05MMA,
           "mma.block_scale": nv_ptx.MMABlockScale, "tcgen05.mma.block_scale": nv_ptx.TCGen05MMABlockScale,
           "v_mfma": mmasim_amd.MFMA}[fam.api]
    return cls(fam.arch, ins)


def _to_torch(v, fmt_name, packed=False):
    fmt = numfmt.get_format(fmt_name)
    if fmt_name in _NARROW:
        codes = np.asarray(numfmt.encode(v, fmt), np.uint8).astype(np.int64)
        if packed:  # two e2m1 codes per byte, the first in the high nibble
            codes = (codes[..., 0::2] << 4) | codes[..., 1::2]
        elif fmt.bits == 4:
            codes = codes << 2  # FP4 sits in bits 5:2, FP6 in bits 5:0
        return torch.tensor(codes.astype(np.uint8))
    t = torch.tensor(v.astype(np.float64 if fmt.bits == 64 else np.float32))
    return t.to(_TORCH[fmt_name])


def _scale_torch(codes, fmt_name):
    t = torch.tensor(codes.astype(np.uint8))
    return t.view(torch.float8_e8m0fnu if fmt_name == "float8_e8m0fnu" else torch.float8_e4m3fn)


def _oracle(fam, shape, a, b, c, sa, sb, n, K):
    op = _op(fam, shape)
    packed = fam.group_size > 1
    at = _to_torch(a, fam.a_format, packed)
    bt = _to_torch(b, fam.b_format, packed)
    cdt = {"binary16": torch.float16, "binary64": torch.float64}.get(fam.c_format, torch.float32)
    ct = torch.tensor(c.astype(np.float64)).to(cdt)
    w = K // 2 if packed else K
    for j in range(n):
        sl = slice(j * w, (j + 1) * w)
        if fam.scale_format is None:
            ct = op.dpa(at[:, sl], bt[:, sl], ct)
        else:
            nb = K // fam.scale_block
            ssl = slice(j * nb, (j + 1) * nb)
            ct = op.dpa(at[:, sl], bt[:, sl], ct, _scale_torch(sa[0][:, ssl], fam.scale_format),
                        _scale_torch(sb[0][:, ssl], fam.scale_format))
        if fam.d_format != fam.c_format:
            ct = ct.to(torch.float16 if fam.d_format == "binary16" else torch.float32)
    return ct.numpy()


def _bits_equal(ours, ref):
    ours = np.asarray(ours).astype(ref.dtype)
    both_nan = np.isnan(ours) & np.isnan(ref)
    iv = {2: np.uint16, 4: np.uint32, 8: np.uint64}[ref.dtype.itemsize]
    same = (ours.view(iv) == ref.view(iv)) | both_nan
    return same


def _families():
    out = []
    for arch, ins in numfmt.mma_instructions():
        fam, _ = mma_family(arch, ins)
        out.append(pytest.param(fam, id=f"{arch}-{ins}"))
    return out


def _runs(fam):
    """(shape, chain length) pairs: every instruction depth K of the family (one shape each),
    chains of 1 to 3 instructions."""
    by_k = {}
    for s in fam.shapes:
        by_k.setdefault(fam.k_of(s), s)
    shapes = [s for _k, s in sorted(by_k.items())]
    return [(shapes[i % len(shapes)], n) for i, n in enumerate((1, 2, 3) * max(1, -(-len(shapes) // 3)))]


@pytest.mark.parametrize("fam", _families())
def test_family_matches_mmasim(fam):
    """2,000 dot products or more per family, split over its depths K and chain lengths."""
    runs = _runs(fam)
    rng = np.random.default_rng(sum(map(ord, fam.arch + fam.types)))
    done = 0
    for shape, n in runs:
        model = numfmt.mma_model(fam.arch, fam.instruction(shape))
        K = fam.k_of(shape)
        a, b, c, sa, sb = _cases(rng, fam, K, n, -(-N_DOTS // len(runs)))
        T = len(c)
        ref = _oracle(fam, shape, a, b, c, sa, sb, n, K)
        kw = {} if sa is None else {"a_scales": sa[1], "b_scales": sb[1]}
        ours = numfmt.dot(a, b, c=c, model=model, **kw)
        same = _bits_equal(ours, ref)
        if not same.all():
            t = int(np.argmin(same))
            raise AssertionError(
                f"{fam.arch} {fam.instruction(shape)}: {int((~same).sum())}/{T} differ; first: a={a[t].tolist()} "
                f"b={b[t].tolist()} c={c[t]!r} scales={None if sa is None else (sa[1][t], sb[1][t])} "
                f"mmasim={ref[t]!r} numfmt={np.asarray(ours)[t]!r}")
        done += T
    assert done >= N_DOTS
