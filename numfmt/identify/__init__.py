"""Find the rule a piece of hardware used: search documented spaces of rules for the one that
reproduces a dump bit for bit.

* [`identify`][numfmt.identify.identify] takes the inputs `x`, the codes a converter produced and
  the format, and searches encode keyword sets (`conversion_candidates`: rounding modes, saturation,
  NaN policies, compat profiles, double rounding through an intermediate format (`via=`), input
  denormals-are-zero (`daz=`), output flush-to-zero (`ftz=`)); for block formats the scale rules and
  recipes, the element rounding and the scale off by ±1 (`block_candidates`).
* [`identify_matmul`][numfmt.identify.identify_matmul] takes `A`, `B` (and `c`) and a GEMM's output
  and searches accumulation models (`matmul_candidates`: every GPU preset, `Exact`, `Sequential`,
  `Pairwise` and `Chunked` models over accumulator formats, roundings and chunk lengths, and
  `FusedBlock` models over block length, fraction bits, rounding, normalisation and addend placement).

Each search runs the candidates, simplest first, on a sample (random elements plus those the
plain rule gets wrong), confirms the ones that reproduce the whole sample on every element and
stops at the first that reproduces everything. Results are
[`Identification`][numfmt.identify.Identification]s, best first. A candidate list is plain data:
pass `candidates=` (a list of encode keyword dicts, or of models) to search another space, e.g.
`conversion_candidates(fmt, x, vias=list_formats())`.
"""

from __future__ import annotations

from ..block import is_block_format
from ._block import apply_block_rule, block_candidates
from ._block import search as block_search
from ._conv import DEFAULT_VIAS, check_max_results, conversion_candidates, dump_codes
from ._conv import search as element_search
from ._matmul import identify_matmul, matmul_candidates
from ._result import Identification

__all__ = ["identify", "identify_matmul", "Identification", "conversion_candidates", "block_candidates",
           "apply_block_rule",
           "matmul_candidates", "dump_codes", "DEFAULT_VIAS"]


def identify(x, actual, fmt, *, candidates=None, max_results: int = 5):
    """Search for the conversion rule that turned `x` into the codes `actual` of `fmt`.

    Parameters
    ----------
    x : array_like
        The inputs the converter received (their dtype matters for `daz`).
    actual : array_like of int or BlockArray
        The codes it produced, shape of `x`. int8/int16 dumps (`tensor.view(torch.int8)`) are
        reinterpreted as unsigned codes of the same width. For a block format: a `BlockArray`
        or a pair `(scales, codes)` blocked along the last axis.
    fmt : str or format or BlockFormat
        The format of the codes.
    candidates : list of dict, optional
        The space to search: encode keyword dicts, simplest first (default
        `conversion_candidates(fmt, x)`, or `block_candidates(fmt)` for block formats).
    max_results : int
        How many results to return.

    Returns
    -------
    tuple of Identification
        Best first: the largest share of elements reproduced, then the simplest rule. The search
        stops at the first candidate reproducing every element, which is then first.

    Examples
    --------
    >>> import numpy as np, numfmt
    >>> x = np.linspace(-600, 600, 1001, dtype=np.float32)
    >>> dump = numfmt.encode(x, "e4m3", saturation="finite", via="bfloat16")
    >>> best = numfmt.identify(x, dump, "e4m3")[0]
    >>> best.fraction, best.rule
    (1.0, {'saturation': 'finite', 'via': 'bfloat16'})
    >>> bool((best.apply(x) == dump).all())
    True
    """
    check_max_results(max_results)
    if is_block_format(fmt):
        return block_search(x, actual, fmt, candidates=candidates, max_results=max_results)
    return element_search(x, actual, fmt, candidates=candidates, max_results=max_results)
