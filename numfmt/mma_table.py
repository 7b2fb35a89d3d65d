"""The matrix instructions numfmt models: one row per (architecture, instruction type) family.

Plain data, read by `numfmt.mma` (which turns a row into an accumulation model)
and by the documentation's generated table. The instruction names and the
shapes each type is issued with are the PTX ISA's (`mma`, §9.7.14.5.14
"Multiply-and-Accumulate Instruction: mma"; `wgmma.mma_async`, §9.7.15;
`tcgen05.mma`, §9.7.16.10; `mma ... .block_scale` and `tcgen05.mma
... .block_scale`, with `.kind::mxf8f6f4`, `.kind::mxf4`, `.kind::mxf4nvf4`)
and AMD's CDNA1/2/3 ISA references (`V_MFMA_*`), spelled as MMA-Sim 2.1.1
(Microsoft, `mmasim`; arXiv 2511.10909) spells them. The arithmetic
parameters (F kept fraction bits, L products per fused step, the exponent
given to zero terms, the output rounding, the group size and the scale handling
of block-scaled kinds) are those of MMA-Sim 2.1.1's models, which its authors
checked against the instructions on each GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ARCHS", "ARCH_ALIASES", "InstructionFamily", "FAMILIES", "normalize_arch"]

ARCHS = ("Volta", "Turing", "Ampere", "Ada Lovelace", "Hopper", "Blackwell", "RTX Blackwell",
         "CDNA1", "CDNA2", "CDNA3")

_ALIAS_LIST = {
    "Volta": ("volta", "sm70", "sm_70", "v100", "gv100"),
    "Turing": ("turing", "sm75", "sm_75", "t4", "tu102"),
    "Ampere": ("ampere", "sm80", "sm_80", "sm86", "sm_86", "sm87", "sm_87", "a100", "ga100"),
    "Ada Lovelace": ("ada lovelace", "ada", "adalovelace", "ada_lovelace", "sm89", "sm_89", "l40s", "rtx4090"),
    "Hopper": ("hopper", "sm90", "sm_90", "sm90a", "sm_90a", "h100", "h200", "gh100"),
    "Blackwell": ("blackwell", "sm100", "sm_100", "sm100a", "sm_100a", "b200", "gb200"),
    "RTX Blackwell": ("rtx blackwell", "rtxblackwell", "rtx_blackwell", "sm120", "sm_120", "sm120a", "sm_120a",
                      "rtx5090", "gb202"),
    "CDNA1": ("cdna1", "cdna", "gfx908", "mi100"),
    "CDNA2": ("cdna2", "gfx90a", "mi200", "mi210", "mi250", "mi250x"),
    "CDNA3": ("cdna3", "gfx940", "gfx941", "gfx942", "mi300", "mi300a", "mi300x", "mi325x"),
}
#: lower-case alias -> canonical architecture name
ARCH_ALIASES = {a: arch for arch, names in _ALIAS_LIST.items() for a in names}


def normalize_arch(s: str) -> str:
    """Lower case, runs of spaces, '-' and '_' as one space (the key of ARCH_ALIASES)."""
    return " ".join(s.strip().lower().replace("-", " ").split())


@dataclass(frozen=True)
class InstructionFamily:
    """One instruction type of one architecture, every shape it is issued with.

    `datapath` is `"fused"` (MMA-Sim's truncated fused dot-product-add, block-scaled
    variants included: a [`FusedBlock`][numfmt.FusedBlock]) or `"fma"` (a chain of
    IEEE fused multiply-adds: a [`Sequential`][numfmt.Sequential] model).
    `max_terms` is L_max: an instruction of depth K fuses min(K, L_max) products per
    step; `shape_params` overrides (fraction_bits, max_terms, zero_exponent) for the
    listed shapes (Turing runs Volta's m8n8k4 with Volta's datapath).
    """

    arch: str
    api: str  # "mma", "wgmma", "tcgen05.mma", "mma.block_scale", "tcgen05.mma.block_scale", "v_mfma"
    types: str  # the instruction's type part (NVIDIA), or the family's MFMA type name (AMD)
    shapes: tuple  # NVIDIA: "m16n8k16" ...; AMD: full MFMA suffixes
    a_format: str
    b_format: str
    c_format: str
    d_format: str
    datapath: str = "fused"
    fraction_bits: int = 23
    max_terms: int = 4
    zero_exponent: int | None = None
    rounding: str = "toward_zero"
    result_bits: int | None = None
    group_size: int = 1
    scale_format: str | None = None
    scale_block: int | None = None
    shape_params: tuple = ()  # ((shapes...), (F, L_max, e_zero)), ...

    def instruction(self, shape: str) -> str:
        """The instruction name of `shape`, as `numfmt.mma_model` takes it."""
        return shape if self.api == "v_mfma" else f"{shape}.{self.types}"

    def k_of(self, shape: str) -> int:
        """The depth K of one instruction of `shape`."""
        if self.api == "v_mfma":
            return _amd_k(shape)
        return int(shape.split("k")[1])

    def params(self, shape: str) -> tuple[int, int, int | None]:
        """(fraction_bits F, terms per fused step L = min(K, L_max), zero exponent) of `shape`."""
        F, L_max, e_zero = self.fraction_bits, self.max_terms, self.zero_exponent
        for shapes, p in self.shape_params:
            if shape in shapes:
                F, L_max, e_zero = p
        return F, min(self.k_of(shape), L_max), e_zero


def _amd_k(suffix: str) -> int:
    dims = suffix.split("_")[1]
    k = dims.split("x")[2]
    digits = ""
    for ch in k:
        if not ch.isdigit():
            break
        digits += ch
    return int(digits)


# ------------------------------------------------------------------ NVIDIA
_F = {"Volta": 23, "Turing": 24, "Ampere": 24, "Ada Lovelace": 24, "Hopper": 25, "Blackwell": 25,
      "RTX Blackwell": 25}
_L_BYTES = {"Volta": 8, "Turing": 16, "Ampere": 16, "Ada Lovelace": 16, "Hopper": 32, "Blackwell": 32,
            "RTX Blackwell": 32}
_EZ16 = {"Volta": -19, "Turing": -20, "Ampere": -20, "Ada Lovelace": -20, "Hopper": -21, "Blackwell": -21,
         "RTX Blackwell": -21}
_EZ32 = {"Volta": -131, "Turing": -132, "Ampere": -132, "Ada Lovelace": -132, "Hopper": -133, "Blackwell": -133,
         "RTX Blackwell": -133}
_BYTES = {"f64": 8, "f32": 4, "tf32": 4, "f16": 2, "bf16": 2, "e4m3": 1, "e5m2": 1, "e3m2": 1, "e2m3": 1,
          "e2m1": 1}
_FMT = {"f64": "binary64", "f32": "binary32", "tf32": "tf32", "f16": "binary16", "bf16": "bfloat16",
        "e4m3": "float8_e4m3fn", "e5m2": "float8_e5m2", "e3m2": "float6_e3m2fn", "e2m3": "float6_e2m3fn",
        "e2m1": "float4_e2m1fn", "ue8m0": "float8_e8m0fnu", "ue4m3": "ue4m3",
        "fp8": "float8_e4m3fnuz", "bf8": "float8_e5m2fnuz", "xf32": "tf32"}
_F8F6F4 = ("e5m2", "e4m3", "e3m2", "e2m3", "e2m1")
_FP8 = ("e5m2", "e4m3")

# shapes of mma.sync per type, by the PTX target that introduced them
_SM70 = {"f32.f16.f16.f32": ("m8n8k4",), "f32.f16.f16.f16": ("m8n8k4",), "f16.f16.f16.f16": ("m8n8k4",)}
_SM75 = {"f32.f16.f16.f32": ("m16n8k8",), "f16.f16.f16.f16": ("m16n8k8",)}
_SM80 = {"f64.f64.f64.f64": ("m8n8k4",), "f32.tf32.tf32.f32": ("m16n8k8", "m16n8k4"),
         "f32.f16.f16.f32": ("m16n8k16",), "f16.f16.f16.f16": ("m16n8k16",),
         "f32.bf16.bf16.f32": ("m16n8k16", "m16n8k8")}
_SM89 = {f"{d}.{a}.{b}.{d}": ("m16n8k32", "m16n8k16") for d in ("f32", "f16") for a in _FP8 for b in _FP8}
_SM90 = {"f64.f64.f64.f64": ("m16n8k16", "m16n8k8", "m16n8k4")}
_SM120 = {f"kind::f8f6f4.{d}.{a}.{b}.{d}": ("m16n8k32",) for d in ("f32", "f16") for a in _F8F6F4
          for b in _F8F6F4}
_MMA_TARGETS = {
    "Volta": (_SM70,),
    "Turing": (_SM75, _SM70),
    "Ampere": (_SM80, _SM75),
    "Ada Lovelace": (_SM89, _SM80, _SM75),
    "Hopper": (_SM90, _SM80, _SM75),
    "Blackwell": (_SM80, _SM75),
    "RTX Blackwell": (_SM120, _SM89, _SM80, _SM75),
}


def _merge(tables) -> dict:
    out: dict = {}
    for t in tables:
        for k, shapes in t.items():
            out[k] = out.get(k, ()) + tuple(s for s in shapes if s not in out.get(k, ()))
    return out


def _fused(arch, api, types, shapes, a, b, c, d, F, L_max, e_zero, **kw) -> InstructionFamily:
    rounding = "nearest_even" if d == "f16" else "toward_zero"
    result_bits = 13 if (F == 13 and d == "f32") else None
    return InstructionFamily(arch=arch, api=api, types=types, shapes=tuple(shapes), a_format=_FMT[a],
                             b_format=_FMT[b], c_format=_FMT[c], d_format=_FMT[d], fraction_bits=F,
                             max_terms=L_max, zero_exponent=e_zero, rounding=rounding,
                             result_bits=result_bits, **kw)


def _nvidia_mma() -> list:
    fams = []
    for arch, targets in _MMA_TARGETS.items():
        for types, shapes in _merge(targets).items():
            parts = types.split(".")
            if parts[0].startswith("kind::"):
                parts = parts[1:]
            d, a, b, c = parts
            if a == "f64":
                fams.append(InstructionFamily(arch=arch, api="mma", types=types, shapes=shapes, a_format=_FMT[a],
                                              b_format=_FMT[b], c_format=_FMT[c], d_format=_FMT[d],
                                              datapath="fma", rounding="nearest_even"))
                continue
            F = _F[arch]
            L_max = _L_BYTES[arch] // _BYTES[a]
            e_zero = _EZ16[arch] if d == "f16" else _EZ32[arch]
            if arch == "Ada Lovelace" and a in _FP8:
                F = 13
            extra = ()
            if arch == "Turing":
                volta = tuple(s for s in shapes if s in _SM70.get(types, ()))
                if volta:
                    extra = ((volta, (23, 4, -19 if d == "f16" else -131)),)
            fams.append(_fused(arch, "mma", types, shapes, a, b, c, d, F, L_max, e_zero, shape_params=extra))
    return fams


_WG_N = tuple(range(8, 257, 8))


def _nvidia_wgmma() -> list:
    fams = []
    kinds = [("f32.tf32.tf32", 8), ("f32.f16.f16", 16), ("f16.f16.f16", 16), ("f32.bf16.bf16", 16)]
    kinds += [(f"{d}.{a}.{b}", 32) for d in ("f32", "f16") for a in _FP8 for b in _FP8]
    for types, k in kinds:
        d, a, b = types.split(".")
        shapes = tuple(f"m64n{n}k{k}" for n in _WG_N)
        F = 13 if a in _FP8 else 25
        fams.append(_fused("Hopper", "wgmma", types, shapes, a, b, d, d, F, 32 // _BYTES[a],
                           -21 if d == "f16" else -133))
    return fams


def _nvidia_tcgen05() -> list:
    fams = []
    kinds = [("kind::tf32.f32.tf32.tf32", 8), ("kind::f16.f32.f16.f16", 16), ("kind::f16.f32.bf16.bf16", 16),
             ("kind::f16.f16.f16.f16", 16)]
    kinds += [(f"kind::f8f6f4.{d}.{a}.{b}", 32) for d in ("f32", "f16") for a in _F8F6F4 for b in _F8F6F4]
    for types, k in kinds:
        _kind, d, a, b = types.split(".")
        shapes = tuple(f"m{m}n{n}k{k}" for m in (64, 128) for n in _WG_N)
        fams.append(_fused("Blackwell", "tcgen05.mma", types, shapes, a, b, d, d, 25, 32 // _BYTES[a],
                           -21 if d == "f16" else -133))
    return fams


def _block_scaled(arch: str, api: str) -> list:
    fams = []
    with_c = api == "mma.block_scale"
    ms = (16,) if with_c else (128,)
    ns = (8,) if with_c else _WG_N
    kinds = [("mxf8f6f4", 32, 32, a, b, "ue8m0") for a in _F8F6F4 for b in _F8F6F4]
    kinds += [("mxf4", 64, 32, "e2m1", "e2m1", "ue8m0"), ("mxf4nvf4", 64, 32, "e2m1", "e2m1", "ue8m0"),
              ("mxf4nvf4", 64, 16, "e2m1", "e2m1", "ue8m0"), ("mxf4nvf4", 64, 16, "e2m1", "e2m1", "ue4m3")]
    for kind, k, blk, a, b, s in kinds:
        types = f"kind::{kind}.block{blk}.f32.{a}.{b}" + (".f32" if with_c else "") + f".{s}"
        shapes = tuple(f"m{m}n{n}k{k}" for m in ms for n in ns)
        if k == 64:  # MMA-Sim's grouped scaled FDPA: products summed exactly in groups of 16
            fams.append(_fused(arch, api, types, shapes, a, b, "f32", "f32", 35, 64, -139, group_size=16,
                               scale_format=_FMT[s], scale_block=blk))
        else:
            fams.append(_fused(arch, api, types, shapes, a, b, "f32", "f32", 25, 32, -133,
                               scale_format=_FMT[s], scale_block=blk))
    return fams


# -------------------------------------------------------------------- AMD
_CDNA1 = {
    "f32": ("f32_32x32x2f32", "f32_32x32x1f32", "f32_16x16x4f32", "f32_16x16x1f32", "f32_4x4x1f32"),
    "f16": ("f32_32x32x8f16", "f32_32x32x4f16", "f32_16x16x16f16", "f32_16x16x4f16", "f32_4x4x4f16"),
    "bf16": ("f32_32x32x4bf16", "f32_32x32x2bf16", "f32_16x16x8bf16", "f32_16x16x2bf16", "f32_4x4x2bf16"),
}
_CDNA2 = dict(_CDNA1, **{
    "f64": ("f64_16x16x4f64", "f64_4x4x4f64"),
    "bf16_1k": ("f32_32x32x8bf16_1k", "f32_32x32x4bf16_1k", "f32_16x16x16bf16_1k", "f32_16x16x4bf16_1k",
                "f32_4x4x4bf16_1k"),
})
_CDNA3 = {
    "f64": ("f64_16x16x4_f64", "f64_4x4x4_4b_f64"),
    "f32": ("f32_32x32x1_2b_f32", "f32_16x16x1_4b_f32", "f32_4x4x1_16b_f32", "f32_32x32x2_f32", "f32_16x16x4_f32"),
    "xf32": ("f32_16x16x8_xf32", "f32_32x32x4_xf32"),
    "f16": ("f32_32x32x4_2b_f16", "f32_16x16x4_4b_f16", "f32_4x4x4_16b_f16", "f32_32x32x8_f16", "f32_16x16x16_f16"),
    "bf16": ("f32_32x32x4_2b_bf16", "f32_16x16x4_4b_bf16", "f32_4x4x4_16b_bf16", "f32_32x32x8_bf16",
             "f32_16x16x16_bf16"),
    **{f"{a}_{b}": (f"f32_16x16x32_{a}_{b}", f"f32_32x32x16_{a}_{b}") for a in ("bf8", "fp8") for b in ("bf8", "fp8")},
}
AMD_SUFFIXES = {"CDNA1": _CDNA1, "CDNA2": _CDNA2, "CDNA3": _CDNA3}


def _amd() -> list:
    """MMA-Sim's MFMA datapaths: FMA chains (f32, f64), exact blocks rounded once (CDNA1 f16/bf16),
    flush-to-zero binary32 adds in pairs (CDNA2 f16/bf16), two-stage truncate-then-floor sums
    (CDNA3 xf32/f16/bf16, and fp8 in two interleaved lanes)."""
    fams = []
    for arch, table in AMD_SUFFIXES.items():
        for types, shapes in table.items():
            ab = types.removesuffix("_1k").split("_")
            fa = _FMT[ab[0]]
            fb = _FMT[ab[-1]]
            kw = {}
            if types in ("f32", "f64"):
                kw = {"datapath": "fma", "rounding": "nearest_even"}
            elif arch == "CDNA1":
                kw = {"datapath": "exact", "max_terms": 4 if types == "f16" else 2, "rounding": "nearest_even"}
            elif arch == "CDNA2":
                kw = {"datapath": "ftz_pairs", "max_terms": 2 if types == "bf16" else 4, "rounding": "nearest_even"}
            else:
                kw = {"datapath": "two_stage", "fraction_bits": 24, "rounding": "nearest_even",
                      "max_terms": 16 if len(ab) == 2 else (4 if types == "xf32" else 8)}
            d = "binary64" if types == "f64" else "binary32"
            fams.append(InstructionFamily(arch=arch, api="v_mfma", types=types, shapes=shapes, a_format=fa,
                                          b_format=fb, c_format=d, d_format=d, **kw))
    return fams


def _all() -> list:
    return _nvidia_mma() + _nvidia_wgmma() + _nvidia_tcgen05() + _block_scaled("Blackwell", "tcgen05.mma.block_scale") \
        + _block_scaled("RTX Blackwell", "mma.block_scale") + _amd()


#: every modelled family, in architecture order
FAMILIES: tuple = tuple(_all())
