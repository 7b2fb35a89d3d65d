"""numfmt.identify / identify_matmul: rules inside the search space are found at 100%, first."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import numfmt
from numfmt.identify import DEFAULT_VIAS, block_candidates, conversion_candidates, matmul_candidates
from numfmt.identify._block import apply_block_rule
from numfmt.identify._conv import ROUNDINGS
from numfmt.identify._matmul import OUTER_ROUNDINGS

FORMATS = ("e4m3", "e5m2", "e2m1", "e3m2", "binary16", "int8")


def probe_inputs(fmt, n=1500, seed=0):
    """Inputs that tell the rules apart: random values over the range, the format's ties, values near
    the ties of the intermediate formats, float32 subnormals, the target's subnormals, overflow, ±inf, NaN."""
    f = numfmt.get_format(fmt)
    rng = np.random.default_rng(seed)
    vals = numfmt.decode(np.arange(1 << min(f.bits, 10)), f).astype(np.float64) if f.bits <= 10 else \
        rng.standard_normal(1024) * 2.0 ** rng.integers(-14, 15, 1024)
    vals = vals[np.isfinite(vals)]
    mids = (np.sort(vals)[1:] + np.sort(vals)[:-1]) / 2
    eps = np.abs(mids) * 2.0**-10
    parts = [vals, mids, mids + eps, mids - eps, mids + eps / 8, mids - eps / 8,
             rng.standard_normal(n) * float(f.max) / 4, rng.standard_normal(64) * float(f.max) * 4,
             rng.standard_normal(64) * float(f.smallest_normal),
             np.float32([1e-40, -1e-41, 3e-39, np.inf, -np.inf, np.nan, 0.0, -0.0])]
    with np.errstate(over="ignore"):  # (beyond float32: inf, also an input)
        return np.concatenate([np.asarray(p, np.float64).astype(np.float32) for p in parts])


def _check_found(x, dump, fmt, **kw):
    res = numfmt.identify(x, dump, fmt, **kw)
    best = res[0]
    assert best.confirmed and best.fraction == 1.0 and best.exact
    got = best.apply(x)
    want = dump.view(dump.dtype.str.replace("i", "u")) if dump.dtype.kind == "i" else dump
    assert np.array_equal(got, want)
    return best


@given(fmt=st.sampled_from(FORMATS), rounding=st.sampled_from(ROUNDINGS),
       saturation=st.sampled_from(("none", "finite", "propagate")), via=st.sampled_from((None, *DEFAULT_VIAS)),
       daz=st.booleans(), ftz=st.booleans(), nan=st.sampled_from(("zero", "max")))
def test_rules_inside_the_space_are_found_first_at_100_percent(fmt, rounding, saturation, via, daz, ftz, nan):
    f = numfmt.get_format(fmt)
    if via is not None and numfmt.get_format(via).precision <= (f.precision if f.kind == "float" else f.bits):
        via = None
    if via == "binary32":  # (float32 inputs: through binary32 is no rounding at all)
        via = None
    ftz = ftz and f.kind == "float"
    rule = {"rounding": rounding, "saturation": saturation, "via": via, "daz": daz, "ftz": ftz}
    if f.code_of_nan is None if f.kind == "float" else True:
        rule["nan"] = nan
    x = probe_inputs(fmt)
    dump = numfmt.encode(x, fmt, **rule)
    _check_found(x, dump, fmt)


def test_double_rounding_from_float64_through_binary32():
    x = probe_inputs("bfloat16").astype(np.float64)
    x = np.concatenate([x, 1 + 3 * 2.0**-8 - 2.0 ** -np.arange(30, 50)])
    dump = numfmt.encode(x, "bfloat16", via="binary32")
    best = _check_found(x, dump, "bfloat16")
    assert best.rule == {"via": "binary32"}


@pytest.mark.parametrize("rule", [{"saturation": "finite"}, {"via": "bfloat16"}, {"ftz": True},
                                  {"rounding": "nearest_away"}, {"rounding": "toward_zero"},
                                  {"rounding": "toward_positive", "daz": True}, {"compat": "torch"}])
def test_named_rules_come_back_as_themselves_or_an_equivalent(rule):
    x = probe_inputs("e4m3")
    dump = numfmt.encode(x, "e4m3", **rule)
    best = _check_found(x, dump, "e4m3")
    if "compat" not in rule:
        assert best.rule == rule


def test_int8_and_int16_dumps_are_unsigned_codes():
    x = probe_inputs("e4m3")
    dump = numfmt.encode(x, "e4m3", saturation="finite")
    assert _check_found(x, dump.view(np.int8), "e4m3").rule == {"saturation": "finite"}
    x16 = probe_inputs("bfloat16")
    d16 = numfmt.encode(x16, "bfloat16", rounding="toward_zero")
    assert _check_found(x16, d16.view(np.int16), "bfloat16").rule == {"rounding": "toward_zero"}


def test_a_rule_outside_the_space_gives_the_best_partial_match_and_residual_classes():
    x = probe_inputs("e4m3")
    dump = numfmt.encode(x, "e4m3", rounding="stochastic", random=7)
    res = numfmt.identify(x, dump, "e4m3", max_results=3)
    assert len(res) == 3
    assert all(0 < r.fraction < 1 for r in res)
    assert [r.fraction for r in res] == sorted((r.fraction for r in res), reverse=True)
    best = res[0]
    assert best.confirmed and best.residual and sum(best.residual.values()) == best.total - best.matched
    assert best.matched == int((best.apply(x) == dump).sum())
    assert "%" in str(best) and best.to_dict()["residual"] == best.residual


def test_n_d_inputs_and_custom_candidates():
    x = probe_inputs("e4m3")[:1200].reshape(30, 40)
    dump = numfmt.encode(x, "e4m3", rounding="toward_positive")
    res = numfmt.identify(x, dump, "e4m3", candidates=[{}, {"rounding": "toward_positive"}])
    assert res[0].rule == {"rounding": "toward_positive"} and res[0].apply(x).shape == (30, 40)


def test_large_inputs_are_searched_on_a_sample_and_confirmed_on_all():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(200_000) * 300).astype(np.float32)
    dump = numfmt.encode(x, "e4m3", via="binary16", saturation="finite")
    dump[12345] ^= 1  # one element outside any rule
    best = numfmt.identify(x, dump, "e4m3")[0]
    assert best.confirmed and best.total == x.size and best.matched == x.size - 1


def test_conversion_candidates_prune_what_cannot_matter():
    small = conversion_candidates("e4m3", np.float32([1.0, 2.5]))
    assert not any("saturation" in c or "daz" in c or c.get("nan") for c in small)
    assert any("via" in c for c in small) and any(c.get("ftz") for c in small)
    assert {"compat": "ml_dtypes"} in small and small[0] == {}
    assert all("ftz" not in c for c in conversion_candidates("int8", np.float32([1.0])))


@pytest.mark.parametrize("call,err", [
    (lambda: numfmt.identify([1.0, 2.0], [0x38], "e4m3"), ValueError),
    (lambda: numfmt.identify([1.0], [0x38], "e4m3", max_results=0), ValueError),
    (lambda: numfmt.identify([1.0], [0x38], "e4m3", candidates=[]), ValueError),
    (lambda: numfmt.identify([1.0], [1.5], "e4m3"), TypeError),
    (lambda: numfmt.identify([1.0], [0x1FF], "e4m3"), ValueError),
    (lambda: numfmt.identify(np.ones((1, 32), np.float32), np.ones((1, 32)), "mxfp4"), TypeError),
    (lambda: numfmt.identify_matmul(np.ones((2, 3)), np.ones((3, 2)), np.ones((2, 3))), ValueError),
    (lambda: numfmt.identify_matmul(np.ones((2, 3)), np.ones((3, 2)), np.ones((2, 2), np.int32)), TypeError),
])
def test_bad_arguments(call, err):
    with pytest.raises(err):
        call()


# ------------------------------------------------------------------ block formats
@pytest.mark.parametrize("fmt,rule", [
    ("mxfp8_e4m3", {"scale_offset": 1}),
    ("mxfp4", {"scale_offset": -1}),
    ("mxfp4", {"scale_rule": "ceil"}),
    ("mxfp6_e3m2", {"rounding": "toward_zero", "scale_rule": "rceil"}),
    ("nvfp4", {"recipe": "modelopt"}),
])
def test_block_rules_are_found(fmt, rule):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((16, 128)) * 2.0 ** rng.integers(-6, 6, (16, 1))).astype(np.float32)
    bf = numfmt.get_block_format(fmt)
    full = {"rounding": "nearest_even", **rule}
    if "scale_offset" in rule:
        full.update(scale_rule="floor", recipe="ocp")
    dump = apply_block_rule(x, bf, full)
    res = numfmt.identify(x, dump, fmt)
    best = res[0]
    assert best.fraction == 1.0 and best.confirmed and best.kind == "block"
    got = best.apply(x)
    assert np.array_equal(got.codes, dump.codes) and np.array_equal(got.scales, dump.scales)
    assert numfmt.identify(x, (dump.scales, dump.codes), fmt)[0].fraction == 1.0


def test_scale_offset_zero_is_the_block_encode():
    x = np.random.default_rng(2).standard_normal((4, 64)).astype(np.float32)
    for fmt in ("mxfp8_e4m3", "mxfp4", "mxint8"):
        bf = numfmt.get_block_format(fmt)
        a = numfmt.encode(x, fmt)
        b = apply_block_rule(x, bf, {"scale_rule": "floor", "recipe": "ocp", "scale_offset": 0})
        assert np.array_equal(a.codes, b.codes) and np.array_equal(a.scales, b.scales)
        c = apply_block_rule(x, bf, {"scale_rule": "floor", "recipe": "ocp", "scale_offset": 1})
        assert np.array_equal(c.scales, a.scales + 1)
    assert {"rounding": "nearest_even", "scale_rule": "amax", "recipe": "te"} in block_candidates("nvfp4")


# ------------------------------------------------------------------ GEMMs
def _inputs(fmt, M=8, K=96, N=8, seed=0):
    rng = np.random.default_rng(seed)
    A = numfmt.quantize(rng.standard_normal((M, K)) * 2.0 ** rng.integers(-4, 5, (M, K)), fmt, saturation="finite")
    B = numfmt.quantize(rng.standard_normal((K, N)) * 2.0 ** rng.integers(-4, 5, (K, N)), fmt, saturation="finite")
    return np.asarray(A, np.float64), np.asarray(B, np.float64)


@pytest.mark.parametrize("preset", [f"{g}/{f}" for g, f in numfmt.accumulation_presets()])
def test_identify_matmul_recovers_every_gpu_preset(preset):
    fmt = preset.split("/")[1]
    A, B = _inputs(fmt)
    c = np.random.default_rng(1).standard_normal((8, 8)).astype(np.float32)
    D = numfmt.matmul(A, B, model=preset, c=c)
    best = numfmt.identify_matmul(A, B, D, c=c)[0]
    assert best.fraction == 1.0 and best.confirmed and best.kind == "matmul"
    assert np.array_equal(best.apply(A, B, c), D)


ACCS = ("fp32", "fp16", "bf16", "tf32")


@given(kind=st.sampled_from(("sequential", "chunked")), acc=st.sampled_from(ACCS), r1=st.sampled_from(ROUNDINGS),
       r2=st.sampled_from(OUTER_ROUNDINGS), every=st.sampled_from((32, 64)), seed=st.integers(0, 5))
def test_identify_matmul_recovers_random_sequential_and_chunked_models(kind, acc, r1, r2, every, seed):
    A, B = _inputs("e5m2", 6, 96, 6, seed)
    inner = numfmt.Sequential(acc, r1)
    model = inner if kind == "sequential" else numfmt.Chunked(inner, numfmt.Sequential("fp32", r2), every=every)
    D = numfmt.matmul(A, B, model=model)
    best = numfmt.identify_matmul(A, B, D)[0]
    assert best.fraction == 1.0 and best.confirmed
    assert np.array_equal(best.apply(A, B), D, equal_nan=True)


def test_identify_matmul_outside_the_space_reports_residual_classes():
    A, B = _inputs("fp16", 8, 64, 8)
    D = numfmt.matmul(A, B, model=numfmt.Pairwise("fp16", "toward_zero")).astype(np.float32)
    res = numfmt.identify_matmul(A, B, D, candidates=matmul_candidates(A, B, fused_grid=False)[:40])
    assert res[0].fraction < 1 and res[0].residual
    assert numfmt.identify_matmul(A, B, D, candidates=[numfmt.Pairwise("fp16", "toward_zero")])[0].exact


@pytest.mark.parametrize("gpu,fmt", [("v100", "fp16"), ("h100", "e4m3"), ("a100", "fp16"), ("b200", "e5m2")])
def test_identify_matmul_recovers_binary16_output_presets(gpu, fmt):
    A, B = _inputs(fmt, 8, 64, 8, seed=2)
    model = numfmt.accumulation_model(gpu, fmt, out_format="fp16")
    D = numfmt.matmul(A, B, model=model)
    for dump in (D, D.astype(np.float16)):  # (matmul gives float32; a dump may be float16)
        best = numfmt.identify_matmul(A, B, dump)[0]
        assert best.exact and np.array_equal(best.apply(A, B), D)


def _one_instruction_per_arch():
    """(arch, instruction) of the first unscaled binary32-output family of each architecture."""
    picked = {}
    for arch, ins in numfmt.mma_instructions():
        m = numfmt.mma_model(arch, ins)
        out = getattr(m, "out_format", None) or getattr(m, "acc_format", None)
        if arch not in picked and getattr(m, "scale_format", None) is None and out in ("binary32", "fp32"):
            picked[arch] = ins
    return sorted(picked.items())


@pytest.mark.parametrize("arch,ins", _one_instruction_per_arch())
def test_identify_matmul_recovers_instruction_models(arch, ins):
    model = numfmt.mma_model(arch, ins)
    fa, fb = numfmt.accum_models.in_format_arg(model.in_format)
    rng = np.random.default_rng(3)
    A = np.asarray(numfmt.quantize(rng.standard_normal((8, 128)) * 2.0 ** rng.integers(-4, 5, (8, 128)), fa,
                                   saturation="finite"), np.float64)
    B = np.asarray(numfmt.quantize(rng.standard_normal((128, 8)) * 2.0 ** rng.integers(-4, 5, (128, 8)), fb,
                                   saturation="finite"), np.float64)
    D = numfmt.matmul(A, B, model=model)
    best = numfmt.identify_matmul(A, B, D)[0]
    assert best.exact and np.array_equal(best.apply(A, B), D, equal_nan=True)


@pytest.mark.parametrize("fmt", ["e4m3", "e2m1", "bfloat16", "int8"])
def test_ties_toward_zero_is_found_first_and_told_apart_from_even_and_away(fmt):
    f = numfmt.get_format(fmt)
    vals = np.sort(np.unique(numfmt.decode(np.arange(min(1 << f.bits, 1 << 12)), f).astype(np.float64)))
    vals = vals[np.isfinite(vals)]
    ties = ((vals[1:] + vals[:-1]) / 2).astype(np.float32)  # exact in float32 for these formats
    assert np.array_equal(ties.astype(np.float64), (vals[1:] + vals[:-1]) / 2)
    x = np.concatenate([ties, probe_inputs(fmt, n=300)])
    x = x[~np.isnan(x)]  # (no nan= policy needed for formats without NaN)
    dump = numfmt.encode(x, fmt, rounding="nearest_toward_zero")
    for other in ("nearest_even", "nearest_away"):  # the ties make them differ
        assert not np.array_equal(numfmt.encode(x, fmt, rounding=other), dump)
    res = numfmt.identify(x, dump, fmt)
    best = _check_found(x, dump, fmt)
    assert best.rule == {"rounding": "nearest_toward_zero"}, best
    assert all(r.fraction < 1.0 for r in res[1:] if r.rule.get("rounding") in ("nearest_even", "nearest_away")
               and len(r.rule) == 1)


# ------------------------------------------------------------------ review fixes
_X32 = np.random.default_rng(5).standard_normal((2, 64)).astype(np.float32)
_AB = np.ones((2, 3)), np.ones((3, 2))


@pytest.mark.parametrize("call,err,match", [
    (lambda: numfmt.identify([1.0], [0x38], "e4m3", candidates=[{"bogus": 1}]), ValueError, r"candidates\[0\]"),
    (lambda: numfmt.identify([1.0], [0x38], "e4m3", candidates=[{"rounding": "toward_zero"}, {"via_": "tf32"}]),
     ValueError, r"candidates\[1\].*did you mean 'via'"),
    (lambda: numfmt.identify([1.0], [0x38], "e4m3", candidates=["nearest_even"]), TypeError, r"candidates\[0\]"),
    (lambda: numfmt.identify([1.0], [0x38], "e4m3", candidates="nearest_even"), TypeError, "candidates"),
    (lambda: numfmt.identify_matmul(*_AB, np.ones((2, 2)), candidates=["x"]), ValueError, r"candidates\[0\]"),
    (lambda: numfmt.identify_matmul(*_AB, np.ones((2, 2)), candidates=[]), ValueError, "candidates"),
    (lambda: numfmt.identify_matmul(*_AB, np.ones((2, 2)), c=np.ones((3, 3))), ValueError, "c has shape"),
    (lambda: numfmt.identify(_X32, (np.zeros((2, 1), np.uint8), np.zeros((2, 64), np.uint8)), "mxfp4"),
     ValueError, "scales have shape"),
    (lambda: numfmt.identify(_X32, numfmt.encode(_X32, "mxfp4"), "mxfp4", candidates=[]), ValueError, "candidates"),
    (lambda: numfmt.identify(_X32, numfmt.encode(_X32, "mxfp4"), "mxfp4", candidates=[{"scale_ruel": "ceil"}]),
     ValueError, r"candidates\[0\].*did you mean 'scale_rule'"),
    (lambda: apply_block_rule(_X32, numfmt.block.get_block_format("nvfp4"), {"scale_offset": 1}), ValueError,
     "scale_offset"),
])
def test_bad_arguments_name_the_argument(call, err, match):
    with pytest.raises(err, match=match):
        call()


def test_candidates_that_raise_only_on_the_whole_input_are_left_out():
    x = np.random.default_rng(2).standard_normal(20000).astype(np.float32)
    sample = np.random.default_rng(0).choice(x.size, 4096, replace=False)  # (the search's sample, seed=0)
    x[np.setdiff1d(np.arange(x.size), sample)[0]] = np.nan  # nan="raise" ({}) passes the sample, raises on all
    res = numfmt.identify(x, numfmt.encode(x, "e2m1", nan="zero"), "e2m1", candidates=[{}, {"nan": "zero"}])
    assert [r.rule for r in res] == [{"nan": "zero"}] and res[0].fraction == 1.0


def test_block_and_matmul_candidates_that_raise_only_on_the_whole_input_are_left_out(monkeypatch):
    from numfmt.identify import _block as blk  # reason: patch the encoder the block search runs
    from numfmt.identify import _matmul as mm  # reason: patch the matmul the GEMM search runs

    def picky(real, rows):
        def run(x, *args, **kw):
            if np.shape(x)[0] > rows and kw.get("rounding", getattr(kw.get("model"), "rounding", "")) == "toward_zero":
                raise ValueError("raises on the whole input only")
            return real(x, *args, **kw)
        return run

    xb = np.random.default_rng(3).standard_normal((200, 64)).astype(np.float32)
    dump = numfmt.encode(xb, "mxfp8_e4m3")
    monkeypatch.setattr(blk, "block_encode", picky(blk.block_encode, 64))
    res = numfmt.identify(xb, dump, "mxfp8_e4m3", candidates=[{"rounding": "toward_zero"}, {}])
    assert [r.rule for r in res] == [{}] and res[0].fraction == 1.0
    rng = np.random.default_rng(4)
    A = numfmt.quantize(rng.standard_normal((40, 16)), "fp16")
    B = numfmt.quantize(rng.standard_normal((16, 40)), "fp16")
    D = numfmt.matmul(A, B, model=numfmt.Sequential("fp32"))
    monkeypatch.setattr(mm, "matmul", picky(mm.matmul, 16))
    res = numfmt.identify_matmul(A, B, D, candidates=[numfmt.Sequential("fp32", "toward_zero"),
                                                      numfmt.Sequential("fp32")])
    assert [r.rule for r in res] == [numfmt.Sequential("fp32")] and res[0].fraction == 1.0


def test_signed_block_dumps_are_unsigned_codes():
    ba = numfmt.encode(_X32, "mxfp8_e4m3")
    best = numfmt.identify(_X32, (ba.scales.view(np.int8), ba.codes.view(np.int8)), "mxfp8_e4m3")[0]
    assert best.fraction == 1.0
    assert np.array_equal(best.apply(_X32).codes, ba.codes)


def test_bfloat16_inputs():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    x = (np.random.default_rng(4).standard_normal(500) * 100).astype(ml_dtypes.bfloat16)
    x[:3] = np.array([1e-39, -2e-39, 3e-39], ml_dtypes.bfloat16)  # bfloat16 subnormals
    dump = numfmt.encode(x, "binary16", daz=True, rounding="toward_zero")
    assert {"daz": True} in [{k: v for k, v in c.items() if k == "daz"} for c in conversion_candidates("binary16", x)]
    best = numfmt.identify(x, dump, "binary16")[0]
    assert best.fraction == 1.0 and np.array_equal(best.apply(x), dump)


def test_matmul_space_is_what_the_docs_say():
    from pathlib import Path

    from numfmt.identify import _matmul as mm  # reason: the docstring names its private pieces

    A = np.ones((2, 4), np.float64)  # held by e4m3 and every wider input format
    for dt, out in ((np.float32, "fp32"), (np.float16, "fp16")):
        ms = matmul_candidates(A, A.T, out_dtype=dt)
        chunked = [m for m in ms if isinstance(m, numfmt.Chunked) and isinstance(m.inner, numfmt.Sequential)]
        assert chunked and {m.outer.acc_format for m in chunked} == {out}
        rest = set(matmul_candidates(A, A.T, out_dtype=dt, fused_grid=False))
        grid = [m for m in ms if m not in rest]
        assert grid and {m.in_format for m in grid} == {"e4m3"}
        assert all(m in ms for m in mm.instruction_candidates(A, A.T, out_dtype=dt))
    assert 'Sequential(out, r)' in mm.matmul_candidates.__doc__ and "first\n       of `IN_FORMATS`" in \
        mm.matmul_candidates.__doc__
    page = (Path(__file__).parent.parent / "docs" / "find-the-rule.md").read_text()
    assert "`instruction_candidates`" in page and "instruction-level model appended" not in page
