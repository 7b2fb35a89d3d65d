"""Compare codes from hardware (or another library) with expected codes, and say how they differ.

[`compare`][numfmt.compare.compare] counts equal and different codes and sorts every mismatch into
one class:

======================  ==============================================================
class                   meaning
======================  ==============================================================
`ulps`                both are numbers, `k` ulps apart (`ulp_histogram` holds the
                        signed `k`: positive when `actual` is larger)
`tie`                 the input `x` is exactly halfway between the two codes and they
                        broke the tie in opposite directions (needs `x=`)
`nan_payload`         both are NaN; only the NaN payload or sign differs
`signed_zero`         +0 versus -0
`saturated_vs_overflowed`  one side clamped to ±max, the other gave ±inf or NaN
`nan_vs_number`       NaN versus a number (not an overflow)
`infinity`            ±inf versus a finite number (not ±max), or +inf versus -inf
`not_representable`   (`values=True`) a value that no code of the format holds
`double_rounding`     (`x=`) x rounds onto a midpoint of the format in an intermediate format
`input_as_zero`       (`x=`) x is a subnormal of its dtype and came out zero
`flushed_to_zero`     a subnormal expected, the zero of its sign got
======================  ==============================================================

Block arrays (`numfmt.block.BlockArray`) are compared part by part by
[`compare_block`][numfmt.compare.compare_block]: the scale codes and the element codes get a result
each, and the first mismatches are listed by block (block, both scales, both
element codes, both decoded values, the input).
"""

from __future__ import annotations

from ._block import compare_block
from ._element import compare
from ._result import CLASSES, BlockCompareResult, BlockMismatch, CompareResult, Mismatch

__all__ = ["compare", "compare_block", "CompareResult", "BlockCompareResult", "BlockMismatch", "Mismatch", "CLASSES"]
