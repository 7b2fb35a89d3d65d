"""Accumulation models of single matrix instructions (tensor cores and matrix cores).

[`mma_model`][numfmt.mma_model] turns one instruction of one architecture into an
accumulation model (plain data: a [`FusedBlock`][numfmt.FusedBlock] or a
[`Sequential`][numfmt.Sequential]) that [`numfmt.dot`][numfmt.dot] and
[`numfmt.matmul`][numfmt.matmul] evaluate; [`mma_instructions`][numfmt.mma_instructions]
lists one instruction per modelled family. The families and their parameters are
the rows of `numfmt.mma_table`.
"""

from __future__ import annotations

from .accum_models import Exact, FusedBlock, Pairwise, Sequential
from .choices import check_choice, did_you_mean
from .mma_table import ARCH_ALIASES, ARCHS, FAMILIES, InstructionFamily, normalize_arch

__all__ = ["mma_model", "mma_instructions", "mma_family"]

_BY_KEY: dict = {}
for _fam in FAMILIES:
    if _fam.api == "v_mfma":
        for _s in _fam.shapes:
            _BY_KEY[(_fam.arch, _s)] = _fam
    else:
        _BY_KEY[(_fam.arch, _fam.types)] = _fam


def supported(fam: InstructionFamily) -> bool:
    """Whether numfmt evaluates `fam` (every datapath of the table)."""
    return fam.datapath in ("fma", "fused", "two_stage", "exact", "ftz_pairs")


def _arch(arch) -> str:
    if not isinstance(arch, str):
        raise TypeError(f"arch must be a str, got {type(arch).__name__}: {arch!r}")
    names = {normalize_arch(a): a for a in ARCHS}
    aliases = {normalize_arch(k): normalize_arch(v) for k, v in ARCH_ALIASES.items()}
    key = check_choice("arch", normalize_arch(arch), names, aliases=aliases,
                       unknown=f"unknown architecture {arch!r}; known: {list(ARCHS)} (or aliases such as "
                               f"'sm_90', 'gfx942')")
    return names[key]


def mma_family(arch: str, instruction: str) -> tuple[InstructionFamily, str]:
    """The family row of `instruction` on `arch` and the instruction's shape (NVIDIA `mMnNkK`,
    AMD the MFMA suffix). ValueError with the close matches when there is none."""
    a = _arch(arch)
    if not isinstance(instruction, str):
        raise TypeError(f"instruction must be a str, got {type(instruction).__name__}: {instruction!r}")
    ins = instruction.strip()
    if a.startswith("CDNA"):
        shape = ins.lower().removeprefix("v_mfma_")
        fam = _BY_KEY.get((a, shape))
    else:
        shape, _, types = ins.partition(".")
        shape = shape.lower()
        fam = _BY_KEY.get((a, types))
        if fam is not None and shape not in fam.shapes:
            raise ValueError(f"{a} issues {types} with the shapes {list(fam.shapes[:6])}"
                             f"{' ...' if len(fam.shapes) > 6 else ''}, not {shape!r}"
                             f"{did_you_mean(shape, fam.shapes)}")
    if fam is None:
        known = [f.instruction(s) for f in FAMILIES if f.arch == a for s in f.shapes[:2]]
        raise ValueError(f"unknown instruction {instruction!r} on {a}{did_you_mean(ins, known, n=4)} "
                         f"(numfmt.mma_instructions({a!r}) lists one per family)")
    if not supported(fam):
        raise ValueError(f"{a} {instruction!r} ({fam.api} {fam.types}, datapath {fam.datapath!r} on "
                         f"{fam.a_format}) is not modelled by numfmt yet; numfmt.mma_instructions() lists "
                         f"the modelled families")
    return fam, shape


def model_of(fam: InstructionFamily, shape: str):
    """The accumulation model of `fam` at `shape` (plain data)."""
    if fam.datapath == "fma":
        return Sequential(acc_format=fam.d_format, in_format=(fam.a_format, fam.b_format))
    F, L, e_zero = fam.params(shape)
    if fam.datapath == "ftz_pairs":
        return Pairwise(acc_format=fam.d_format, in_format=(fam.a_format, fam.b_format), terms=fam.max_terms,
                        flush_subnormals=True, instruction_k=fam.k_of(shape))
    if fam.datapath == "exact":
        return Exact(out_format=fam.d_format, in_format=(fam.a_format, fam.b_format), terms=L, plus_zero=True)
    if fam.datapath == "two_stage":
        fp8 = fam.a_format.startswith("float8")
        return FusedBlock(in_format=(fam.a_format, fam.b_format), terms=L, extra_bits=F - 23,
                          addend="two_stage", lanes=2 if fp8 else 1, sum_bits=31, drop_small_c=fp8,
                          out_format=fam.d_format, rounding=fam.rounding)
    return FusedBlock(
        in_format=(fam.a_format, fam.b_format), terms=L, extra_bits=F - 23, min_exp=e_zero,
        out_format=fam.d_format, rounding=fam.rounding, result_bits=fam.result_bits,
        c_format=None if fam.c_format == fam.d_format else fam.c_format, plus_zero=True,
        group_size=fam.group_size, scale_format=fam.scale_format, scale_block=fam.scale_block or 32,
    )


def mma_model(arch: str, instruction: str):
    """The accumulation model of one matrix instruction.

    Parameters
    ----------
    arch : str
        `"Volta"`, `"Turing"`, `"Ampere"`, `"Ada Lovelace"`, `"Hopper"`,
        `"Blackwell"`, `"RTX Blackwell"`, `"CDNA1"`, `"CDNA2"` or `"CDNA3"`
        (case-insensitive; aliases such as `"sm_90"`, `"hopper"`, `"gfx942"`).
    instruction : str
        NVIDIA: shape and types as MMA-Sim spells them, e.g.
        `"m16n8k16.f32.f16.f16.f32"` (`mma`), `"m64n8k32.f32.e4m3.e4m3"`
        (`wgmma`), `"m64n8k32.kind::f8f6f4.f32.e2m1.e3m2"` (`tcgen05.mma`, whose
        types sit in the instruction descriptor),
        `"m128n8k64.kind::mxf4nvf4.block16.f32.e2m1.e2m1.ue4m3"` (block-scaled).
        AMD: the MFMA suffix, e.g. `"f32_32x32x2f32"`.

    Returns
    -------
    FusedBlock, Exact, Pairwise or Sequential
        A chain of fused blocks of L = min(K, L_max) products (one instruction is
        K/L blocks; a longer K is a chain of instructions, the result fed back as c);
        AMD's datapaths as MMA-Sim models them: exact blocks (CDNA1), flush-to-zero
        binary32 pairs (CDNA2), two-stage blocks (CDNA3); a chain of fused
        multiply-adds for the FP32 and FP64 instructions.

    Raises
    ------
    ValueError
        Unknown architecture or instruction (the message names the close matches).

    Examples
    --------
    >>> import numfmt
    >>> m = numfmt.mma_model("sm_90", "m64n8k32.f32.e4m3.e4m3")
    >>> m.terms, m.fraction_bits, m.result_bits
    (32, 13, 13)
    >>> numfmt.dot([1.0, 2.0**-7], [1.0, 2.0**-7], model=m).item()  # 1 + 2**-14 truncated
    1.0
    """
    fam, shape = mma_family(arch, instruction)
    return model_of(fam, shape)


def mma_instructions(arch: str | None = None) -> list[tuple[str, str]]:
    """The modelled `(arch, instruction)` pairs, one per family (its first shape).

    [`mma_model`][numfmt.mma_model] takes every shape of a listed family.

    Examples
    --------
    >>> import numfmt
    >>> ("Hopper", "m64n8k32.f32.e4m3.e4m3") in numfmt.mma_instructions("hopper")
    True
    """
    a = None if arch is None else _arch(arch)
    return [(f.arch, f.instruction(f.shapes[0])) for f in FAMILIES if supported(f) and (a is None or f.arch == a)]


_ROUNDING_SHORT = {"toward_zero": "RZ", "nearest_even": "RNE"}


def instruction_rows() -> list[dict]:
    """One dict per family (modelled or not): its names and the parameters of its model at the
    family's first shape (the documentation's instruction table; each row is checked by a test)."""
    rows = []
    for f in FAMILIES:
        shape = f.shapes[0]
        ins = f.instruction(shape)
        row = {"arch": f.arch, "api": f.api, "instruction": ins, "shapes": len(f.shapes),
               "inputs": f"{f.a_format} x {f.b_format}", "c_d": f"{f.c_format} → {f.d_format}",
               "datapath": f.datapath, "modelled": supported(f)}
        if supported(f):
            m = model_of(f, shape)
            if isinstance(m, FusedBlock):
                row.update(L=m.terms, F=m.fraction_bits, zero_exp="-" if m.min_exp is None else m.min_exp,
                           rounding=_ROUNDING_SHORT[m.rounding] + (f" to {m.result_bits} bits" if m.result_bits
                                                                    else ""),
                           G=m.group_size, scales="-" if m.scale_format is None
                           else f"{m.scale_format} / {m.scale_block}")
                if m.addend == "two_stage":
                    row["datapath"] = f"two_stage ({m.lanes} lane{'s' if m.lanes > 1 else ''}, sum_bits " \
                                      f"{m.sum_bits}{', small c dropped' if m.drop_small_c else ''})"
            elif isinstance(m, Pairwise):
                row.update(L=m.terms, F="pairs, FTZ", zero_exp="-", rounding="RNE", G=1, scales="-")
            elif isinstance(m, Exact):
                row.update(L=m.terms, F="exact", zero_exp="-", rounding="RNE", G=1, scales="-")
            else:
                row.update(L=1, F="FMA", zero_exp="-", rounding="RNE", G=1, scales="-")
        rows.append(row)
    return rows


def instructions_table() -> str:
    """The Markdown table of every instruction family (docs/instructions.md publishes it)."""
    cols = ["arch", "api", "instruction", "shapes", "inputs", "c_d", "datapath", "L", "F", "zero_exp", "rounding",
            "G", "scales"]
    head = {"arch": "architecture", "instruction": "instruction (first shape)", "c_d": "c → d",
            "zero_exp": "zero exponent", "L": "L", "G": "G"}
    out = ["| " + " | ".join(head.get(c, c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for r in instruction_rows():
        vals = [str(r.get(c, "not modelled" if c == "L" else "")) for c in cols]
        vals[2] = f"`{vals[2]}`"
        out.append("| " + " | ".join(v.replace("|", "\\|") for v in vals) + " |")
    n = sum(r["modelled"] for r in instruction_rows())
    return "\n".join(out) + f"\n\n{n} of {len(FAMILIES)} families modelled."
