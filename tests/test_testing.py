"""numfmt.testing: the strategies generate valid data for every preset; the buggy-quantizer example is caught."""

from __future__ import annotations

import math
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from files import load_module
from hypothesis import find, given, settings
from hypothesis import strategies as st

import numfmt
from numfmt.compare._classify import tie_mask
from numfmt.testing import (
    assert_codes_equal,
    blocks,
    codes,
    formats,
    input_arrays,
    inputs,
    values,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]
PRESETS = numfmt.list_formats()


def _nan_kw(f):
    return {"nan": "zero"} if f.code_of_nan is None else {}


def _is_nan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


@pytest.mark.parametrize("name", PRESETS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_strategies_valid_for_every_preset(name, data):
    f = numfmt.get_format(name)
    # codes
    c = data.draw(codes(f, allow_nan=False, allow_infinity=False))
    assert 0 <= c < (1 << f.bits)
    assert not f.is_nan_code(c) and c not in (f.code_of_inf, f.code_of_neginf)
    # values: exactly representable, so encode/decode is the identity
    v = data.draw(values(f))
    if not _is_nan(v):
        back = numfmt.decode(np.asarray(numfmt.encode(np.array([v]), f, **_nan_kw(f))), f, dtype=np.float64)
        assert float(back[0]) == v or (v == 0 and float(back[0]) == 0)
        if v == 0 and math.copysign(1, v) < 0:
            assert f.negative_zero
    else:
        assert f.code_of_nan is not None
    # inputs: exact in the input dtype, and encodable
    dtype = "float64" if f.bits > 32 else data.draw(st.sampled_from(["float16", "float32", "float64"]))
    x = data.draw(inputs(f, dtype=dtype))
    assert isinstance(x, float)
    assert _is_nan(x) or float(np.dtype(dtype).type(x)) == x
    numfmt.encode(np.array([x], dtype), f, **_nan_kw(f))


@given(f=formats(), data=st.data())
def test_formats_are_valid_and_values_roundtrip(f, data):
    assert 2 <= f.bits <= 16 or f.kind == "int"
    v = data.draw(values(f, allow_nan=False, allow_infinity=False))
    code = numfmt.encode(np.array([v]), f)
    assert f.exact_value(int(code[0])) == v


@given(x=input_arrays("e4m3", shape=st.tuples(st.integers(1, 3), st.integers(1, 5)), allow_nan=False,
                      allow_infinity=False))
def test_input_arrays_shape_and_options(x):
    assert x.dtype == np.float32 and x.ndim == 2
    assert np.isfinite(x).all()


def test_inputs_reach_the_trouble_spots():
    cfg = settings(database=None, max_examples=2000)
    f = numfmt.get_format("e4m3")
    assert find(inputs(f), lambda x: x == 464.0, settings=cfg) == 464.0          # the overflow tie
    assert find(inputs(f), lambda x: x == 2.0**-10, settings=cfg) == 2.0**-10    # tie to zero
    assert math.isnan(find(inputs(f), _is_nan, settings=cfg))
    assert find(inputs(f), lambda x: x == -math.inf, settings=cfg) == -math.inf
    tie = find(inputs(f), lambda x: bool(tie_mask(np.array([x]), f)[0]) and 1 < abs(x) < 2, settings=cfg)
    assert numfmt.explain(np.float32(tie), f).tie
    # and ties are common, not rare: about a third of the draws
    ties = []

    @settings(max_examples=200, database=None, deadline=None)
    @given(inputs(f))
    def count(x):
        ties.append(bool(tie_mask(np.array([x]), f)[0]))

    count()
    assert sum(ties) / len(ties) > 0.15


@pytest.mark.parametrize("name", ["mxfp4", "mxfp8_e4m3", "nvfp4", "mxint8"])
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_blocks_have_planted_ties(name, data):
    from numfmt.block import get_block_format, is_block_format

    if not is_block_format(name):
        pytest.skip(f"no block format {name}")
    bf = get_block_format(name)
    x = data.draw(blocks(bf))
    ef = bf.element
    assert x.ndim == 2 and x.shape[1] == bf.block_size and x.dtype == np.float32
    # each block's largest magnitude is an element value times 2**X in the element's top binade
    top = math.floor(math.log2(ef.max))
    for row in x.astype(np.float64):
        amax = float(np.abs(row).max())
        X = math.floor(math.log2(amax)) - top
        scaled = row / 2.0**X
        assert float(np.abs(scaled).max()) in set(np.abs(ef.values()[np.isfinite(ef.values())]).tolist())
    numfmt.encode(x, bf)


def test_blocks_plant_many_ties():
    ef = numfmt.get_format("e2m1")
    counts = []

    @settings(max_examples=30, database=None, deadline=None)
    @given(blocks(element="e2m1", block_size=32, nblocks=1))
    def count(x):
        row = x[0].astype(np.float64)
        X = math.floor(math.log2(float(np.abs(row).max()))) - 2  # e2m1's top binade is [4, 6]
        counts.append(int(tie_mask(row / 2.0**X, ef).sum()))

    count()
    assert sum(counts) / len(counts) > 6  # about 16 planted per 32-element block, some capped at amax


def test_assert_codes_equal():
    assert_codes_equal(actual=[0x38, 0x7E], expected=[0x38, 0x7E], fmt="e4m3")
    with pytest.raises(AssertionError, match="tie broken the other way"):
        assert_codes_equal(actual=[0x39], expected=[0x38], fmt="e4m3", x=[1.0625])


def test_bad_arguments():
    with pytest.raises(ValueError, match="kinds"):
        formats(kinds=("complex",))
    with pytest.raises(ValueError, match="dtype"):
        inputs("e4m3", dtype="int8")
    with pytest.raises(ValueError, match="block_size"):
        blocks(element="e2m1")


def _load_example():
    return load_module(ROOT / "examples" / "buggy_quantizer.py", "buggy_quantizer")


def test_buggy_quantizer_is_caught_and_fixed_one_passes():
    ex = _load_example()
    x = np.array([1.0625, 1.1875, 464.0, 500.0, -0.3, 2.0**-10], np.float32)
    assert ex.quantize_e4m3_buggy(x).tolist() != numfmt.encode(x, "e4m3").tolist()
    assert ex.quantize_e4m3_fixed(x).tolist() == numfmt.encode(x, "e4m3").tolist()
    ex.check(ex.quantize_e4m3_fixed)
    with pytest.raises(AssertionError, match="tie broken the other way"):
        ex.check(ex.quantize_e4m3_buggy)


def test_import_numfmt_does_not_import_hypothesis():
    code = "import sys, numfmt, numfmt.cli; numfmt.compare, numfmt.explain; print('hypothesis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
