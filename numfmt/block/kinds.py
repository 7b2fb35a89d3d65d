"""Which element and scale formats a block format has (predicates on format data), and the
formats recipe='gguf' accepts."""

from __future__ import annotations

from ..formats import FloatFormat


def is_e8m0(sf) -> bool:
    return (isinstance(sf, FloatFormat) and sf.exponent_bits == 8 and sf.mantissa_bits == 0
            and sf.bias == 127 and not sf.signed and not sf.has_zero and sf.code_of_nan == 255)


def is_e2m1(ef) -> bool:
    return (isinstance(ef, FloatFormat) and (ef.exponent_bits, ef.mantissa_bits, ef.bias) == (2, 1, 1)
            and ef.signed and ef.inf == "none" and ef.nan == "none" and ef.subnormals and ef.has_zero)


def is_ue4m3(sf) -> bool:
    return (isinstance(sf, FloatFormat) and (sf.exponent_bits, sf.mantissa_bits, sf.bias) == (4, 3, 7)
            and not sf.signed and sf.nan == "fn" and sf.inf == "none" and sf.subnormals)


def check_gguf(f, rule: str) -> None:
    """ValueError unless block format `f` and `rule` are what recipe='gguf' reproduces."""
    if not is_e2m1(f.element):
        raise ValueError(f"recipe='gguf' needs E2M1 elements (llama.cpp MXFP4/NVFP4), got {f.element.name}")
    if rule == "floor" and not is_e8m0(f.scale):
        raise ValueError(f"recipe='gguf' with scale_rule='floor' (MXFP4) needs an E8M0 scale, got {f.scale.name}")
    if rule == "amax" and not is_ue4m3(f.scale):
        raise ValueError(f"recipe='gguf' with scale_rule='amax' (NVFP4) needs a UE4M3 scale, got {f.scale.name}")
    if rule not in ("floor", "amax"):
        raise ValueError(f"recipe='gguf' uses scale_rule='floor' (MXFP4) or 'amax' (NVFP4), got {rule!r}")
