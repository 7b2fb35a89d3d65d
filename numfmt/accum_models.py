"""Accumulation models as plain data, and the hardware presets.

A model says how `d = c + sum_k a_k * b_k` is evaluated: which formats hold
the inputs, the products and the running sum, where the roundings happen, and
in which order. Models are frozen dataclasses; they hold no state and compose
([`Chunked`][numfmt.Chunked] takes two models). [`numfmt.dot`][numfmt.dot] and
[`numfmt.matmul`][numfmt.matmul] evaluate them. See `docs/accumulation.md` for diagrams.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .choices import check_choice
from .formats import FloatFormat
from .policy import is_stochastic, parse_rounding
from .presets import get_format

__all__ = [
    "Exact", "Sequential", "Pairwise", "Chunked", "FusedBlock", "Model",
    "accumulation_model", "accumulation_presets", "PRESET_SOURCES",
]

FormatLike = str | FloatFormat

_MAX_IN_MANT = 25  # products of two significands must fit 52 bits (exact sums in int64)


def float_format_arg(value, name: str) -> FloatFormat:
    f = get_format(value)
    if not isinstance(f, FloatFormat):
        raise TypeError(f"{name} must be a floating-point format, got {f!r}")
    return f


def in_format_arg(value, name: str = "in_format", max_mant: int = _MAX_IN_MANT) -> tuple[FloatFormat, FloatFormat]:
    """An input format, or a pair (format of a, format of b), of at most `max_mant` fraction bits."""
    if isinstance(value, tuple):
        if len(value) != 2:
            raise ValueError(f"{name} must be a format or a pair (a_format, b_format), got {value!r}")
        pair = (float_format_arg(value[0], name), float_format_arg(value[1], name))
    else:
        f = float_format_arg(value, name)
        pair = (f, f)
    for f in pair:
        if f.mantissa_bits > max_mant:
            raise ValueError(
                f"{name}={f.name!r} has {f.mantissa_bits} fraction bits; accumulation models take "
                f"inputs of at most {_MAX_IN_MANT} fraction bits (binary32 and narrower; binary64 only "
                f"for a Sequential FMA chain in binary64)"
            )
    return pair


def rounding_mode_arg(value, name: str) -> int:
    _key, mode = parse_rounding(value, name)
    if is_stochastic(mode):
        raise ValueError(f"{name}={value!r}: stochastic rounding is not supported in accumulation models")
    return mode


def _check_int(name: str, value, lo: int | None = None, hi: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}: {value!r}")
    if lo is not None and value < lo:
        raise ValueError(f"{name} must be >= {lo}, got {value}")
    if hi is not None and value > hi:
        raise ValueError(f"{name} must be <= {hi}, got {value}")


def _check_bool(name: str, value) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}: {value!r}")


@dataclass(frozen=True)
class Exact:
    """The exact sum `c + sum a_k b_k` rounded once into `out_format`.

    The reference model (a Kulisch accumulator)::

        a0*b0 ─┐
        a1*b1 ─┼─ exact sum ─ round(out_format, rounding) ─ d
          ...  │
           c  ─┘

    With `terms` = L, K is taken in blocks of L products, each block's exact sum
    with c rounded once and fed back as the next block's c (AMD CDNA1 MFMA as
    MMA-Sim models it). `plus_zero`: a zero result whose products (of the block)
    and c are all zeros is +0; products that cancel exactly keep the IEEE 754 sign
    (+0, or -0 under `toward_negative`), and a nonzero sum rounded to zero keeps
    its sign.

    >>> import numfmt
    >>> numfmt.dot([1.0, 2.0**-30], [1.0, 1.0], model=numfmt.Exact("fp32")).item()
    1.0
    """

    out_format: FormatLike = "fp32"
    rounding: str = "nearest_even"
    in_format: FormatLike | tuple = "fp32"
    terms: int | None = None
    plus_zero: bool = False

    def __post_init__(self) -> None:
        float_format_arg(self.out_format, "out_format")
        rounding_mode_arg(self.rounding, "rounding")
        in_format_arg(self.in_format)
        if self.terms is not None:
            _check_int("terms", self.terms, 1, 1 << 30)
        _check_bool("plus_zero", self.plus_zero)


@dataclass(frozen=True)
class _RoundedSum:
    """Fields and checks shared by the models that round every partial sum."""

    acc_format: FormatLike = "fp32"
    rounding: str = "nearest_even"
    product_format: FormatLike | None = None
    product_rounding: str = "nearest_even"
    in_format: FormatLike | tuple = "fp32"

    def __post_init__(self) -> None:
        float_format_arg(self.acc_format, "acc_format")
        rounding_mode_arg(self.rounding, "rounding")
        if self.product_format is not None:
            float_format_arg(self.product_format, "product_format")
        rounding_mode_arg(self.product_rounding, "product_rounding")
        in_format_arg(self.in_format, max_mant=self.max_input_bits())

    def max_input_bits(self) -> int:
        """The most fraction bits an input may have: 52 for a binary64 FMA chain (a Sequential
        model with a binary64 accumulator, no product format, rounding to nearest even), else 25."""
        acc = float_format_arg(self.acc_format, "acc_format")
        if (type(self).__name__ == "Sequential" and acc.name == "binary64" and self.product_format is None
                and self.rounding == "nearest_even"):
            return 52
        return _MAX_IN_MANT


@dataclass(frozen=True)
class Sequential(_RoundedSum):
    """Recursive summation in an accumulator format::

        s = c
        s = round(s + a0*b0)          product_format None: fused (FMA chain)
        s = round(s + a1*b1)          else: s = round(s + round_p(a_k*b_k))
        ...                           d = s

    >>> import numfmt
    >>> m = numfmt.Sequential("fp16")
    >>> numfmt.dot([2048.0, 1.0, 1.0], [1.0, 1.0, 1.0], model=m).item()  # 2049 is not fp16
    2048.0
    """



@dataclass(frozen=True)
class Pairwise(_RoundedSum):
    """Pairwise (tree) summation: products rounded into `product_format`
    (default: the accumulator format), added in adjacent pairs level by level
    (an odd last element moves up unchanged), then the addend::

        p0  p1  p2  p3  p4
         └+─┘    └+─┘   │
           └──+───┘     │
              └───+─────┘
                  └── + c ── d

    With `terms` = P (2 or 4; AMD CDNA2 MFMA as MMA-Sim models it), K is taken in
    groups of P products, each group's tree sum added to the running sum (c
    first). `flush_subnormals`: subnormal inputs read as +0, every product and
    sum below the accumulator's normal range becomes a zero of its sign, and c
    reads as +0 when it is a zero or subnormal at the start of every
    `instruction_k` elements of K (the instruction's depth; all of K when None).
    These need binary32 products and accumulator, rounded to nearest even.

    >>> import numfmt
    >>> numfmt.dot([1.0] * 3, [2.0**24, 1.0, 1.0], model=numfmt.Pairwise("fp32")).item()
    16777216.0
    """

    terms: int | None = None
    flush_subnormals: bool = False
    instruction_k: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.terms is not None and self.terms not in (2, 4):
            raise ValueError(f"terms must be None, 2 or 4, got {self.terms!r}")
        _check_bool("flush_subnormals", self.flush_subnormals)
        if self.instruction_k is not None:
            _check_int("instruction_k", self.instruction_k, 1)
        if self.terms is not None or self.flush_subnormals:
            acc = float_format_arg(self.acc_format, "acc_format")
            prod = acc if self.product_format is None else float_format_arg(self.product_format, "product_format")
            if acc.name != "binary32" or prod.name != "binary32" or self.rounding != "nearest_even" \
                    or self.product_rounding != "nearest_even":
                raise ValueError("Pairwise with terms or flush_subnormals needs binary32 products and accumulator "
                                 "rounded to nearest even")
            if self.terms is None:
                raise ValueError("flush_subnormals needs terms (2 or 4)")



@dataclass(frozen=True)
class FusedBlock:
    """Chains of fused multi-term blocks: the tensor-core datapath.

    Per block of `terms` products (Fasi et al. 2021; Khattak & Mikaitis 2025)::

        products exact, exponent Ea+Eb (unnormalised) ──┐
        c (addend='aligned')  ──────────────────────────┤
        Mx = max(exponents, min_exp)                     │
        each term truncated to F = 23 + extra_bits       │  (sticky: + 1 bit OR of lost bits)
        fraction bits below 2**Mx, integer sum  ─────────┘
        round(rounding) to result_bits fraction bits ──> d_block
        addend='late': d = round(late_rounding, out_format)(d_block + c)

    `d` of a block is `c` of the next (K padded with zeros to a multiple of
    `terms`; `k_order` permutes K first: a tuple may be longer than K, which
    is then zero-padded to its length). NaN/inf: any NaN, inf*0 or
    +inf with -inf gives NaN, else the infinity; `overflow='inf'` sends a
    result >= 2**(emax+1) to infinity whatever the rounding (as the recordings
    and MMA-Sim do), `'ieee'` follows the rounding direction.

    Fields describing one matrix instruction (models from
    [`numfmt.mma_model`][numfmt.mma_model] set them; see docs/instructions.md):
    `c_format` is the addend's format when it differs from `out_format` (its
    exponent is clamped at that format's emin in the first block; later blocks
    get the previous block's `out_format` result); `plus_zero` makes every zero
    result +0; `group_size` G > 1 sums each group of G products exactly before the
    alignment, the group taking the exponent emin_a + emin_b (+ its scales'
    exponents) unnormalised; `scale_format` and `scale_block` describe block-scaled
    operands (one scale of A's row and one of B's column per `scale_block`
    elements of K, passed as `a_scales=` / `b_scales=`), whose exponents add to
    the product (or group) exponents and whose significands multiply the terms.
    Zero terms (a zero product, an all-zero group, a zero scale) take no part in the
    block's maximum exponent, which is at least `min_exp`. Such a model also
    applies the NaN/infinity rule block by block.

    `addend='two_stage'` (AMD CDNA3 MFMA as MMA-Sim models it): the products of
    each of `lanes` lanes (2: even and odd positions of K) are truncated to F
    fraction bits below the lane's largest exponent and summed, the lanes combined
    rounding toward -inf to F bits below the larger one; then, Mx being the larger
    of that exponent and c's, the product sum is rounded toward -inf to
    `sum_bits` + 1 fraction bits below Mx and c to F (dropped when its exponent is
    below Mx - F - 1 and `drop_small_c`); their sum is rounded toward -inf to
    `sum_bits` fraction bits below its leading bit, then by `rounding` into
    `out_format`. Products at or above 2**(emax+1) of `out_format` are infinities.

    >>> import numfmt
    >>> m = numfmt.accumulation_model("h100", "e4m3")
    >>> m.terms, m.extra_bits, m.fraction_bits
    (32, -10, 13)
    >>> numfmt.dot([1.0, 2.0**-7], [1.0, 2.0**-7], model=m).item()  # 1 + 2**-14 truncated
    1.0
    """

    in_format: FormatLike | tuple = "fp16"
    terms: int = 4
    extra_bits: int = 0
    sticky: bool = False
    normalized_products: bool = False
    min_exp: int | None = None
    addend: str = "aligned"
    out_format: FormatLike = "fp32"
    rounding: str = "toward_zero"
    result_bits: int | None = None
    late_rounding: str = "nearest_even"
    flush_subnormal_inputs: bool = False
    k_order: str | tuple = "sequential"
    overflow: str = "inf"
    c_format: FormatLike | None = None
    plus_zero: bool = False
    group_size: int = 1
    scale_format: FormatLike | None = None
    scale_block: int = 32
    lanes: int = 1
    sum_bits: int = 31
    drop_small_c: bool = False

    def __post_init__(self) -> None:
        in_format_arg(self.in_format)
        out = float_format_arg(self.out_format, "out_format")
        self._check_instruction_fields(out)
        _check_int("terms", self.terms, 1, 4096)
        _check_int("extra_bits", self.extra_bits, -23, 40)
        _check_bool("sticky", self.sticky)
        _check_bool("normalized_products", self.normalized_products)
        _check_bool("flush_subnormal_inputs", self.flush_subnormal_inputs)
        if self.min_exp is not None:
            _check_int("min_exp", self.min_exp, -100000, 100000)
        if self.addend not in ("aligned", "late", "two_stage"):
            raise ValueError(f"addend must be 'aligned', 'late' or 'two_stage', got {self.addend!r}")
        if self.overflow not in ("inf", "ieee"):
            raise ValueError(f"overflow must be 'inf' or 'ieee', got {self.overflow!r}")
        rounding_mode_arg(self.rounding, "rounding")
        rounding_mode_arg(self.late_rounding, "late_rounding")
        if self.result_bits is not None:
            _check_int("result_bits", self.result_bits, 1, out.mantissa_bits)
        # the integer window: (terms + 1) values below 2**(F + 2 + sticky) must stay below 2**62
        need = self.fraction_bits + 2 + int(self.sticky) + (self.terms + 1).bit_length()
        if need > 62:
            raise ValueError(
                f"inconsistent FusedBlock: terms={self.terms} with fraction_bits={self.fraction_bits} "
                f"(23 + extra_bits) needs a {need}-bit accumulator; the limit is 62 "
                f"(lower extra_bits or terms)"
            )
        ko = self.k_order
        if isinstance(ko, str):
            if ko not in ("sequential", "interleaved"):
                raise ValueError(f"k_order must be 'sequential', 'interleaved' or a permutation tuple, got {ko!r}")
        elif isinstance(ko, tuple):
            if sorted(ko) != list(range(len(ko))) or not all(isinstance(i, int) for i in ko):
                raise ValueError(f"k_order tuple must be a permutation of range(n) (n >= K), got {ko!r}")
        else:
            raise TypeError(f"k_order must be a str or a tuple, got {type(ko).__name__}")

    def _check_instruction_fields(self, out: FloatFormat) -> None:
        """Checks of the fields that describe one matrix instruction (addend format, zero results,
        groups, block scales)."""
        if self.c_format is not None:
            cf = float_format_arg(self.c_format, "c_format")
            if cf.bits > out.bits:
                raise ValueError(f"c_format={cf.name!r} is wider than out_format={out.name!r}")
        _check_bool("plus_zero", self.plus_zero)
        _check_int("group_size", self.group_size, 1, 4096)
        _check_int("scale_block", self.scale_block, 1, 4096)
        if self.terms % self.group_size:
            raise ValueError(f"group_size={self.group_size} must divide terms={self.terms}")
        if self.scale_format is not None:
            sf = float_format_arg(self.scale_format, "scale_format")
            if sf.bits > 8:
                raise ValueError(f"scale_format={sf.name!r}: block scales are 8-bit formats")
            if self.scale_block % self.group_size:
                raise ValueError(f"group_size={self.group_size} must divide scale_block={self.scale_block}")
        _check_int("lanes", self.lanes, 1, 2)
        _check_int("sum_bits", self.sum_bits, 1, 52)
        _check_bool("drop_small_c", self.drop_small_c)
        if self.addend == "two_stage":
            if self.sum_bits + 1 < self.fraction_bits:
                raise ValueError(f"addend='two_stage' needs sum_bits + 1 >= fraction_bits "
                                 f"({self.fraction_bits}), got sum_bits={self.sum_bits}")
            if self.group_size != 1 or self.scale_format is not None:
                raise ValueError("addend='two_stage' takes no groups or block scales")
        elif self.lanes != 1 or self.drop_small_c:
            raise ValueError("lanes and drop_small_c belong to addend='two_stage'")
        if self.instruction_datapath and (self.addend == "late" or self.sticky or self.normalized_products
                                          or self.k_order != "sequential"):
            raise ValueError("plus_zero, group_size > 1, scale_format and addend='two_stage' describe one matrix "
                             "instruction: they need sticky=False, normalized_products=False, "
                             "k_order='sequential' and an addend that is not 'late'")

    @property
    def instruction_datapath(self) -> bool:
        """True when a field of one matrix instruction is set (plus_zero, group_size > 1,
        scale_format): such a model runs on the instruction kernel, which also applies the
        NaN/infinity rule block by block (an overflow of one block meets the next block's
        infinities)."""
        return (self.plus_zero or self.group_size != 1 or self.scale_format is not None
                or self.addend == "two_stage")

    @property
    def fraction_bits(self) -> int:
        """F: fraction bits kept below the block's largest exponent (23 + extra_bits)."""
        return 23 + self.extra_bits

    def result_format(self) -> FloatFormat:
        """The format each block's sum is rounded into (`result_bits` narrows `out_format`)."""
        out = float_format_arg(self.out_format, "out_format")
        if self.result_bits is None or self.result_bits == out.mantissa_bits:
            return out
        return FloatFormat(
            name=f"{out.name}_r{self.result_bits}", exponent_bits=out.exponent_bits,
            mantissa_bits=self.result_bits, bias=out.bias, signed=out.signed, subnormals=out.subnormals,
            inf=out.inf, nan=out.nan, negative_zero=out.negative_zero,
        )


@dataclass(frozen=True)
class Chunked:
    """Partial sums over chunks of `every` elements of K with `inner`
    (each starting from 0), promoted into `outer`, which sums the partials
    (as products partial * 1) starting from c. DeepSeek-V3's FP8 GEMM is
    `Chunked(accumulation_model("h100", "e4m3"), Sequential("fp32"), every=128)`::

        K: [0 .. N) [N .. 2N) [2N .. 3N) ...
             inner    inner     inner
               │        │         │
        c ── outer ── outer ──  outer ── d

    >>> import numfmt
    >>> m = numfmt.Chunked(numfmt.Sequential("fp16"), numfmt.Sequential("fp32"), every=2)
    >>> numfmt.dot([2048.0, 1.0, 1.0], [1.0, 1.0, 1.0], model=m).item()
    2049.0
    """

    inner: Model
    outer: Model = field(default_factory=lambda: Sequential("fp32"))
    every: int = 128

    def __post_init__(self) -> None:
        for name in ("inner", "outer"):
            v = getattr(self, name)
            if not isinstance(v, MODEL_TYPES):
                raise TypeError(f"{name} must be an accumulation model, got {type(v).__name__}: {v!r}")
        _check_int("every", self.every, 1)


Model = Exact | Sequential | Pairwise | FusedBlock | Chunked
MODEL_TYPES = (Exact, Sequential, Pairwise, FusedBlock, Chunked)


# ------------------------------------------------------------------ presets
_KM = "Khattak & Mikaitis, arXiv 2512.07004; MATLAB-tensor-core models/{file}"
_GPU_ALIASES = {"v100": "v100", "a2": "a2", "a100": "a100", "ada": "ada", "l40s": "l40s", "rtx4090": "ada",
                "h100": "h100", "h200": "h200", "b200": "b200"}
_FMT_ALIASES = {"fp16": "fp16", "binary16": "fp16", "half": "fp16", "bf16": "bf16", "bfloat16": "bf16",
                "tf32": "tf32", "e4m3": "e4m3", "fp8_e4m3": "e4m3", "float8_e4m3fn": "e4m3",
                "e5m2": "e5m2", "fp8_e5m2": "e5m2", "float8_e5m2": "e5m2"}

# gpu -> fmt -> (terms, extra_bits, min_exp fp32 out, min_exp fp16 out, model file)
_TABLE = {
    "v100": {"fp16": (4, 0, -1024, -19)},
    "a2": {"fp16": (8, 1, -132, -20), "bf16": (8, 1, -132, None), "tf32": (4, 1, -132, None)},
    "a100": {"fp16": (8, 1, -132, -20), "bf16": (8, 1, -132, None), "tf32": (4, 1, -132, None)},
    "ada": {"fp16": (8, 1, -132, -20), "bf16": (8, 1, -132, None), "tf32": (4, 1, -132, None),
            "e4m3": (16, -10, -132, -20), "e5m2": (16, -10, -132, -20)},
    "h100": {"fp16": (16, 2, -133, -21), "bf16": (16, 2, -133, None), "tf32": (8, 2, -133, None),
             "e4m3": (32, -10, -133, -21), "e5m2": (32, -10, -133, -21)},
    "b200": {"fp16": (16, 2, -133, -21), "bf16": (16, 2, -133, None), "tf32": (8, 2, -133, None),
             "e4m3": (32, 2, -133, -21), "e5m2": (32, 2, -133, -21)},
}
_TABLE["l40s"] = _TABLE["ada"]
_TABLE["h200"] = _TABLE["h100"]
_FILES = {"v100": "V100TC.m", "a2": "A2TC.m", "a100": "A100TC.m", "ada": "AdaTC.m", "l40s": "L40STC.m",
          "h100": "H100TC.m", "h200": "H200TC.m", "b200": "B200TC.m"}

#: The order in which the binary16-output FP8 preset of H100/H200/B200 feeds the 32 products of one
#: `mma.sync.m16n8k32` to its two 16-term fp16 blocks: k mod 4 in {0, 1} first, then k mod 4 in {2, 3}.
MMA_SYNC_FP8_HALVES: tuple[int, ...] = (tuple(k for k in range(32) if k % 4 < 2)
                                        + tuple(k for k in range(32) if k % 4 >= 2))

#: (gpu, format, out_format) -> (source, agreement with the recorded GPU outputs in
#: data/tensor-cores, checked by tests/test_accumulate_data.py).
PRESET_SOURCES: dict[tuple[str, str, str], tuple[str, str]] = {}
_FP16_RATES = {("l40s", "e4m3"): "no recording", ("l40s", "e5m2"): "no recording"}
_FP16_EMULATED = ("numfmt (this library), found on the recordings: FP8 mma.sync.m16n8k32 with a binary16 "
                  "accumulator runs on the fp16 tensor core (for sm_90: NVIDIA/cutlass issue #1986) as two "
                  "16-term blocks of the {gpu} fp16 model (k mod 4 in {{0, 1}}, then {{2, 3}}; the second takes "
                  "the first's binary16 result as its addend), then c added by a binary16 "
                  "round-to-nearest-even addition; fp16 block parameters from {src}")
for _g, _fm in _TABLE.items():
    for _f in _fm:
        _src = _KM.format(file=_FILES[_g])
        _src16 = _src
        if _g in ("h100", "h200", "b200") and _f in ("e4m3", "e5m2"):
            _src16 = _FP16_EMULATED.format(gpu=_g.upper(), src=_src)
        if _g == "b200" and _f in ("e4m3", "e5m2"):
            _src = ("numfmt (this library): the published B200 model with the addend added late, "
                    "after the products' RZ sum, by a binary32 round-to-nearest-even addition "
                    "(as mmaemu's experimental b200_mma_sync preset); block parameters from " + _src)
        PRESET_SOURCES[(_g, _f, "fp32")] = (_src, "5000/5000")
        if _TABLE[_g][_f][3] is not None:
            PRESET_SOURCES[(_g, _f, "fp16")] = (_src16, _FP16_RATES.get((_g, _f), "5000/5000"))


def accumulation_presets() -> list[tuple[str, str]]:
    """(gpu, input format) pairs that [`accumulation_model`][numfmt.accumulation_model] knows.

    >>> import numfmt
    >>> ("h100", "e4m3") in numfmt.accumulation_presets()
    True
    """
    return [(g, f) for g in _TABLE for f in _TABLE[g]]


def accumulation_model(gpu: str, in_format: str, *, out_format: str = "fp32") -> FusedBlock | Chunked:
    """The tensor-core model of `gpu` for `in_format` inputs.

    Parameters
    ----------
    gpu : str
        `"v100"`, `"a2"`, `"a100"`, `"ada"` (RTX 4090/4060), `"l40s"`,
        `"h100"`, `"h200"` or `"b200"`.
    in_format : str
        `"fp16"`, `"bf16"`, `"tf32"`, `"e4m3"` or `"e5m2"` where the GPU
        has it.
    out_format : str
        `"fp32"` (accumulate and output in binary32, round toward zero) or
        `"fp16"` (binary16 output, round to nearest even; fp16 and FP8 inputs).

    Returns
    -------
    FusedBlock or Chunked
        Reproduces every recorded result of the configuration (5000/5000);
        sources and match rates are in `PRESET_SOURCES` and docs/accumulation.md.
        FP8 inputs on `"h100"`, `"h200"` and `"b200"` with `out_format="fp16"`
        give a `Chunked` model: per `mma.sync.m16n8k32` (32 elements of K),
        two 16-term fp16 blocks ordered by `MMA_SYNC_FP8_HALVES`, then `c`
        added by a binary16 round-to-nearest-even addition.

    Examples
    --------
    >>> import numfmt
    >>> m = numfmt.accumulation_model("b200", "e4m3")
    >>> (m.terms, m.fraction_bits, m.addend)
    (32, 25, 'late')
    >>> numfmt.dot([1.0, 2.0**-7], [1.0, 2.0**-7], model=m).item() == 1 + 2**-14
    True
    >>> m16 = numfmt.accumulation_model("h100", "e4m3", out_format="fp16")
    >>> (m16.every, m16.inner.terms, m16.outer.acc_format)
    (32, 16, 'fp16')
    """
    g = _GPU_ALIASES[check_choice("gpu", gpu, _GPU_ALIASES,
                                  unknown=f"unknown GPU {gpu!r}; known: {sorted(_GPU_ALIASES)}")]
    known = sorted(set(_FMT_ALIASES.values()))
    f = _FMT_ALIASES[check_choice("in_format", in_format, _FMT_ALIASES,
                                  unknown=f"unknown input format {in_format!r} for a preset; known: {known}")]
    if f not in _TABLE[g]:
        raise ValueError(f"no {g} preset for {f} inputs; {g} has {sorted(_TABLE[g])}")
    out_format = check_choice("out_format", out_format, ("fp32", "fp16"))
    terms, neab, min32, min16 = _TABLE[g][f]
    fp8 = f in ("e4m3", "e5m2")
    if out_format == "fp16":
        if min16 is None:
            raise ValueError(f"{g} {f} has no binary16-output preset (binary16 output needs fp16 or FP8 inputs)")
        if fp8 and g in ("h100", "h200", "b200"):
            return _mma_sync_fp8_fp16(g, f)
        return FusedBlock(in_format=f, terms=terms, extra_bits=neab, min_exp=min16, out_format="fp16",
                          rounding="nearest_even")
    late = g == "b200" and fp8
    return FusedBlock(
        in_format=f, terms=terms, extra_bits=neab, min_exp=min32, out_format="fp32", rounding="toward_zero",
        result_bits=23 + neab if neab < 0 else None, addend="late" if late else "aligned",
    )


def _mma_sync_fp8_fp16(gpu: str, f: str) -> Chunked:
    """FP8 `mma.sync.m16n8k32` with binary16 accumulator and output on H100/H200/B200: the two
    16-term blocks of the GPU's fp16 model (`MMA_SYNC_FP8_HALVES` order, the first block from 0,
    the second with the first's result as its addend), then `+ c` rounded to nearest even in
    binary16; chained instructions add their results the same way."""
    terms, neab, _min32, min16 = _TABLE[gpu]["fp16"]
    inner = FusedBlock(in_format=f, terms=terms, extra_bits=neab, min_exp=min16, out_format="fp16",
                       rounding="nearest_even", k_order=MMA_SYNC_FP8_HALVES)
    return Chunked(inner, Sequential("fp16", rounding="nearest_even", in_format="fp16"), every=32)
