"""MkDocs hooks: every number and picture in the docs is generated here, at build time.

Nothing in ``docs/*.md`` that code can compute is typed by hand. Pages ask for
generated content in three ways:

``<!-- numfmt:NAME -->``
    replaced by the Markdown that generator ``NAME`` returns (see ``GENERATORS``:
    ``formats-table``, ``block-formats-table``, ``specials-table``, ``bench``, ``bench-measured``,
    ``bench-goals``, ``bench-cold``, ``notebooks``, ``tensor-cores-table``, ``b200-fp8-variants``,
    ``fp16-fp8-variants``, ``training-recipes``, ``api-rest``).
    ``<!-- numfmt:call numfmt.mod:function -->`` calls a function of the package (no
    arguments) that returns Markdown, so any page can publish a table its module
    computes without editing this file.

a fenced block whose info string is ``python run``
    executed top to bottom (one namespace per page); rendered as an interactive
    session, each expression followed by its ``repr``, ``print`` output included.

a fenced block whose info string is ``console run``
    each ``$ numfmt ...`` line is run through ``numfmt.cli.main`` in-process and
    followed by what it printed.

Figures (``docs/img/*.png`` in the built site) are drawn with matplotlib from
numfmt's own output and added to the site as generated files; they are never
committed. Environment: ``NUMFMT_DOCS_BENCH_N`` sets the benchmark size on the
Performance page (``0`` skips the measurement).
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import io
import json
import logging
import os
import re
import shlex
import sys
import traceback
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numfmt  # noqa: E402
from numfmt import tables  # noqa: E402

log = logging.getLogger("mkdocs.hooks.numfmt")


class GenerationError(RuntimeError):
    """A generator or an executed example failed (the build stops)."""


# =========================================================================== helpers


def _md_table(rows: list[dict], columns: list[str], headers: dict | None = None) -> str:
    headers = headers or {}
    out = ["| " + " | ".join(headers.get(c, c) for c in columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        out.append("| " + " | ".join(str(r.get(c, "")).replace("|", "\\|") for c in columns) + " |")
    return "\n".join(out)


def _pow2(v: float) -> str:
    """``2^k`` for powers of two, else ``repr``."""
    if v == 0 or not np.isfinite(v):
        return repr(v)
    fr = Fraction(v)
    n, d = fr.numerator, fr.denominator
    if n > 0 and n & (n - 1) == 0 and d & (d - 1) == 0:
        return f"2^{n.bit_length() - d.bit_length()}"
    return repr(v)


def _num(v: float) -> str:
    """A float as its shortest repr; powers of two beyond 2^±10 also as ``2^k``."""
    p = _pow2(v)
    if p.startswith("2^") and abs(int(p[2:])) > 10:
        return f"{v!r} ({p})"
    return repr(v)


def _code(c) -> str:
    return "-" if c is None else f"`{int(c):#04x}`"


def _aliases() -> dict[str, list[str]]:
    """Canonical name -> aliases (read from the registry's alias table)."""
    from numfmt import presets

    out: dict[str, list[str]] = {}
    for alias, name in presets.ALIASES.items():
        out.setdefault(name, []).append(alias)
    return out


# =========================================================================== generators


def gen_formats_table() -> str:
    """The format catalogue: one table per family, every registered format."""
    aliases = _aliases()
    rows_by_family: dict[str, list[dict]] = {"float": [], "p3109": [], "int": []}
    for r in tables.format_rows():
        f = numfmt.get_format(r["name"])
        row = {
            "name": f"`{f.name}`",
            "aliases": ", ".join(f"`{a}`" for a in aliases.get(f.name, [])) or "-",
            "bits": f.bits,
            "layout": r["layout"],
            "bias": "-" if r["bias"] is None else r["bias"],
            "max": _num(f.max),
            "min": _num(f.min),
            "normal": _pow2(f.smallest_normal),
            "subnormal": _pow2(f.smallest_subnormal),
            "inf": r["inf"],
            "nan": r["nan"],
            "other": r["other"],
        }
        if isinstance(f, numfmt.FloatFormat):
            row.update(
                {
                    "inf_code": _code(f.code_of_inf),
                    "nan_code": _code(f.code_of_nan) + ("" if f.code_of_negnan in (None, f.code_of_nan)
                                                        else " / " + _code(f.code_of_negnan)),
                    "max_code": _code(f.max_code_magnitude),
                    "eps": _pow2(f.eps),
                }
            )
            rows_by_family["p3109" if f.p3109 else "float"].append(row)
        else:
            row.update({"min_int": f.min_int, "max_int": f.max_int, "unit": _pow2(f.eps)})
            rows_by_family["int"].append(row)
    h = {
        "normal": "smallest normal", "subnormal": "smallest subnormal", "inf_code": "+inf code",
        "nan_code": "NaN code (+ / -)", "max_code": "max code", "min_int": "min int", "max_int": "max int",
    }
    float_cols = ["name", "bits", "layout", "bias", "max", "normal", "subnormal", "eps"]
    code_cols = ["name", "aliases", "inf_code", "nan_code", "max_code", "inf", "nan", "other"]
    n_all = sum(map(len, rows_by_family.values()))
    parts = [
        f"The registry holds **{n_all}** formats "
        f"({len(rows_by_family['float'])} IEEE-style and ML floats, {len(rows_by_family['p3109'])} "
        f"IEEE P3109 formats, {len(rows_by_family['int'])} integers). Any other P3109 format "
        "`binary{K}p{P}{s|u}{e|f}` is built on demand by `numfmt.get_format`.",
        "",
        "### Floating-point formats",
        "",
        _md_table(rows_by_family["float"], float_cols, h),
        "",
        "Special codes and conventions of the same formats:",
        "",
        _md_table(rows_by_family["float"], code_cols, h),
        "",
        "### IEEE P3109 formats",
        "",
        "`binary{K}p{P}{s|u}{e|f}`: K bits, precision P (P - 1 trailing significand bits), signed or "
        "unsigned, extended (with infinities) or finite. One zero, one NaN.",
        "",
        _md_table(rows_by_family["p3109"], float_cols, h),
        "",
        "Special codes of the P3109 formats:",
        "",
        _md_table(rows_by_family["p3109"], [c for c in code_cols if c != "aliases"], h),
        "",
        "### Integer formats",
        "",
        "Two's complement (signed) or unsigned; value = integer × 2^scale.",  # noqa: RUF001
        "",
        _md_table(rows_by_family["int"], ["name", "aliases", "bits", "layout", "min_int", "max_int",
                                          "min", "max", "unit", "other"], h),
    ]
    return "\n".join(parts)


def gen_block_formats_table() -> str:
    """Registered block formats (numfmt.block), if the module is present."""
    try:
        from numfmt import block
    except ImportError:
        return "*(numfmt.block is not available in this build.)*"
    rows = []
    for name in block.list_block_formats():
        b = block.get_block_format(name)
        if name.startswith("doc_"):  # registered by doctests
            continue
        rows.append({
            "name": f"`{b.name}`", "element": f"`{b.element.name}`", "scale": f"`{b.scale.name}`",
            "block": b.block_size, "rule": b.scale_rule, "recipe": b.recipe,
            "tensor": "yes" if b.tensor_scale else "no", "bpe": repr(b.bits_per_element),
            "emax": _num(b.element.max),
        })
    return _md_table(rows, ["name", "element", "scale", "block", "rule", "recipe", "tensor", "bpe", "emax"], {
        "block": "block size", "rule": "default scale rule", "recipe": "default recipe",
        "tensor": "tensor scale", "bpe": "bits / element", "emax": "element max",
    })


SPECIAL_FORMATS = ("float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float4_e2m1fn", "binary8p3se",
                   "binary8p3sf", "float8_e8m0fnu", "int8")


def _enc(x, fmt, **kw) -> str:
    try:
        c = numfmt.encode(np.float64(x), fmt, **kw)
    except ValueError as e:
        return "ValueError" if "NaN" in str(e) or "nan" in str(e) else f"ValueError: {e}"
    return _code(c)


def gen_specials_table() -> str:
    """What ±0, NaN, ±inf and overflow become in a few formats (computed by numfmt.encode)."""
    rows = []
    for name in SPECIAL_FORMATS:
        f = numfmt.get_format(name)
        big = 2.0 * f.max
        rows.append({
            "format": f"`{name}`",
            "+0": _enc(0.0, f), "-0": _enc(-0.0, f),
            "nan": _enc(np.nan, f), "nan_zero": _enc(np.nan, f, nan="zero"),
            "inf": _enc(np.inf, f), "inf_fin": _enc(np.inf, f, saturation="finite"),
            "ovf": _enc(big, f), "ovf_fin": _enc(big, f, saturation="finite"),
            "max": _code(f.max_code_magnitude if isinstance(f, numfmt.FloatFormat) else f.max_int),
        })
    return _md_table(rows, ["format", "+0", "-0", "nan", "nan_zero", "inf", "inf_fin", "ovf", "ovf_fin", "max"], {
        "+0": "+0.0", "-0": "-0.0", "nan": "NaN (`nan='raise'`)", "nan_zero": "NaN (`nan='zero'`)",
        "inf": "+inf", "inf_fin": "+inf, `saturation='finite'`", "ovf": "2·max", "ovf_fin": "2·max, `'finite'`",
        "max": "code of max",
    })


def gen_bench() -> str:
    """A small benchmark run on the machine that builds the docs (three formats, every distribution)."""
    n = int(os.environ.get("NUMFMT_DOCS_BENCH_N", str(1 << 18)))
    if n <= 0:
        return "*(The benchmark was skipped in this build: `NUMFMT_DOCS_BENCH_N=0`.)*"
    from numfmt import bench
    from numfmt.bench.report import machine, markdown

    fmts = ("float8_e4m3fn", "float4_e2m1fn", "bfloat16")
    meta = {"command": f"numfmt bench --n {n} --repeat 3 --core-only --formats {','.join(fmts)}", "n": n,
            "repeat": 3, "threads": 1, **machine()}
    return ("Measured while building these docs (small N on a possibly busy build machine: indicative "
            "only). " + markdown({"meta": meta, "rows": bench.rows(n, 3, fmts)}))


def gen_bench_measured() -> str:
    """The committed measured run (``docs/data/bench_run.json``, ``numfmt bench --json``) as a table."""
    from numfmt.bench.report import markdown

    return markdown(json.loads((ROOT / "docs" / "data" / "bench_run.json").read_text(encoding="utf-8")))


def gen_bench_goals() -> str:
    """The speed goals checked against the committed measured run (``numfmt.bench.goals``)."""
    from numfmt.bench.goals import goals_markdown

    return goals_markdown(json.loads((ROOT / "docs" / "data" / "bench_run.json").read_text(encoding="utf-8")))


def gen_bench_cold() -> str:
    """The committed first-call run (``docs/data/cold_run.json``, ``numfmt bench --cold --json``) as a table."""
    from numfmt.bench.cold import markdown_cold

    return markdown_cold(json.loads((ROOT / "docs" / "data" / "cold_run.json").read_text(encoding="utf-8")))


def gen_notebooks() -> str:
    """One row per notebook: title and its first sentence of purpose (read from the notebook)."""
    rows = []
    for p in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(p.read_text(encoding="utf-8"))
        md = next(("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"), "")
        lines = [ln.strip() for ln in md.splitlines() if ln.strip()]
        title = lines[0].lstrip("# ") if lines else p.stem
        purpose = lines[1] if len(lines) > 1 else ""
        rows.append({"nb": f"`notebooks/{p.name}`", "title": title, "purpose": purpose})
    if not rows:
        return "*(No notebooks found.)*"
    return _md_table(rows, ["nb", "title", "purpose"], {"nb": "notebook"})


TRAINING_DATA = ROOT / "docs" / "data" / "training-recipes-full.json"
#: (figure file, alt text) of the training-recipe figures drawn from ``TRAINING_DATA``.
TRAINING_FIGURES = (("training-curves.png", "Loss curves of the tiny transformer under each training recipe"),
                    ("training-ptq.png", "Validation loss increase after post-training weight quantization"))


def training_data() -> dict:
    """The full run of ``notebooks/07-training-recipes.ipynb`` (``NUMFMT_NOTEBOOK_FULL=1``), as it wrote it."""
    if not TRAINING_DATA.is_file():
        raise GenerationError(f"docs/data/{TRAINING_DATA.name} is missing: run the full configuration of "
                              "notebooks/07-training-recipes.ipynb")
    return json.loads(TRAINING_DATA.read_text(encoding="utf-8"))


def training_rows(data: dict) -> list[dict]:
    """One row per recipe of the full run: final losses, gap to BF16, each PTQ's loss increase and SQNR."""
    recipes = data["recipes"]
    ref = recipes["bf16"]["val_loss"][-1] if "bf16" in recipes else None
    tail = max(1, data["config"]["eval_every"])
    rows = []
    for name, r in recipes.items():
        row = {
            "recipe": f"`{name}`",
            "val": f"{r['val_loss'][-1]:.4f}",
            "gap": "-" if ref is None else f"{r['val_loss'][-1] - ref:+.4f}",
            "train": f"{float(np.mean(r['train_loss'][-tail:])):.4f}",
            "base": f"{r['ptq_base_loss']:.4f}",
            "time": f"{r['time_s']:.0f}",
        }
        for k, p in enumerate(data["ptq_formats"]):
            row[f"ptq{k}"] = f"{r['ptq'][p]['delta']:+.4f} ({r['ptq'][p]['sqnr_db']:.1f} dB)"
        rows.append(row)
    return rows


def gen_training_recipes() -> str:
    """Provenance, figures and final numbers of the notebook 07 full run (``TRAINING_DATA``)."""
    d = training_data()
    c, m, v, sd = d["config"], d["machine"], d["versions"], d["seeds"]
    tail = max(1, c["eval_every"])
    head = (f"Measured by `{d['command']}` on {d['date'][:10]} ({m['cpu_count']}-core CPU, "
            f"{m['torch_threads']} torch thread, Python {m['python']}, torch {v['torch']}, numpy {v['numpy']}, "
            f"numfmt {v['numfmt']}; {d['notebook_time_s']:.0f} s in all): {c['steps']} AdamW steps per recipe "
            f"of {c['batch']} sequences of {c['context']} characters, one seed (weights {sd['init']}, batches "
            f"{sd['batches']}, stochastic rounding {sd['stochastic_rounding']}). The notebook wrote the "
            "numbers to `docs/data/" + TRAINING_DATA.name + "`; the figures and the table are drawn "
            "from that file when the documentation is built.")
    figs = "\n\n".join(f"![{alt}](img/{name})" for name, alt in TRAINING_FIGURES)
    ptq = {f"ptq{k}": f"δ_PTQ {p} (weight SQNR)" for k, p in enumerate(d["ptq_formats"])}
    table = _md_table(training_rows(d), ["recipe", "val", "gap", "train", "base", *ptq, "time"], {
        "val": "final validation loss", "gap": "minus BF16's", "train": f"training loss, last {tail} steps",
        "base": "validation loss, BF16 operands", **ptq, "time": "training time (s)"})
    note = ("Losses are cross-entropies in nats per character. The final validation loss runs the GEMMs "
            "as the recipe trained them; δ_PTQ is the validation loss after quantizing the trained blocks' "
            "weights once, with BF16 GEMM operands, minus the validation loss with BF16 operands before "
            "quantizing (the column before the δ_PTQ columns). Training times are wall times on a machine "
            "shared with other jobs: indicative only.")
    return "\n\n".join([head, figs, table, note])


TENSOR_CORES = ROOT / "data" / "tensor-cores"


def _tensor_cores():
    """tests/tensor_cores.py, the recordings' loader that tests/test_accumulate_data.py uses."""
    spec = importlib.util.spec_from_file_location("tensor_cores", ROOT / "tests" / "tensor_cores.py")
    loader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loader)
    return loader


def _recording(path: Path):
    """(gpu, format, archive, a, b, c) of one ``data/tensor-cores`` file."""
    return _tensor_cores().load(path)


def _matches(d, recorded) -> int:
    return int((np.asarray(d, np.float32).view(np.uint32) == recorded).sum())


def gen_tensor_cores_table() -> str:
    """Every GPU preset's parameters and its bit-exact matches over the recordings in ``data/tensor-cores``."""
    from numfmt.accum_models import accumulation_model
    from numfmt.accumulate import dot

    rows = []
    for path in sorted(TENSOR_CORES.glob("*.npz")):
        g, fmt, z, a, b, c = _recording(path)
        m = accumulation_model(g, fmt)
        fp16 = "-"
        if "d_fp16" in z.files:
            c16 = numfmt.quantize(z["c"].view(np.float32), "fp16")  # recorded with c converted by __float2half
            d16 = dot(a, b, c=c16, model=accumulation_model(g, fmt, out_format="fp16"))
            fp16 = f"{_matches(d16, z['d_fp16'])}/{len(a)}"
        rows.append({"gpu": g.upper(), "fmt": fmt, "terms": m.terms, "extra": m.extra_bits, "min_exp": m.min_exp,
                     "addend": m.addend, "fp32": f"{_matches(dot(a, b, c=c, model=m), z['d_fp32'])}/{len(a)}",
                     "fp16": fp16})
    if not rows:
        raise GenerationError(f"no recordings in {TENSOR_CORES.relative_to(ROOT)}")
    return _md_table(rows, ["gpu", "fmt", "terms", "extra", "min_exp", "addend", "fp32", "fp16"], {
        "gpu": "GPU", "fmt": "input", "extra": "extra bits", "fp32": "fp32 output match",
        "fp16": "fp16 output match"})


#: B200 FP8 variants tried against the recordings: (description, fields replaced in the preset).
B200_VARIANTS = [
    ("published: c aligned with the products, RZ", {"addend": "aligned"}),
    ("published with RNE final rounding (`B200TCRN.m`)", {"addend": "aligned", "rounding": "nearest_even"}),
    ("c aligned, blocks of 16, consecutive", {"addend": "aligned", "terms": 16}),
    ("c aligned, blocks of 16, interleaved", {"addend": "aligned", "terms": 16, "k_order": "interleaved"}),
    ("late c, added with RZ instead of RNE", {"late_rounding": "toward_zero"}),
    ("late c, products' sum rounded RNE instead of RZ", {"rounding": "nearest_even"}),
    ("late c, F = 13", {"extra_bits": -10}),
    ("late c, F = 20", {"extra_bits": -3}),
    ("late c, F = 23", {"extra_bits": 0}),
    ("late c, F = 23 with sticky bit", {"extra_bits": 0, "sticky": True}),
    ("late c, F = 40", {"extra_bits": 17}),
    ("late c after each of two 16-term blocks, consecutive", {"terms": 16}),
    ("late c after each of two 16-term blocks, interleaved", {"terms": 16, "k_order": "interleaved"}),
    ("**preset: 32 terms, F = 25, RZ, then fp32 RNE add of c**", {}),
]


def gen_b200_fp8_variants() -> str:
    """Matches of each B200 FP8 variant (``B200_VARIANTS``) over the E4M3 and E5M2 recordings."""
    import dataclasses

    from numfmt.accum_models import accumulation_model
    from numfmt.accumulate import dot

    cols = {}
    for fmt in ("e4m3", "e5m2"):
        _, _, z, a, b, c = _recording(TENSOR_CORES / f"b200_{fmt}.npz")
        m = accumulation_model("b200", fmt)
        cols[fmt] = [_matches(dot(a, b, c=c, model=dataclasses.replace(m, **kw)), z["d_fp32"])
                     for _, kw in B200_VARIANTS]
    rows = [{"variant": name, "e4m3": cols["e4m3"][i], "e5m2": cols["e5m2"][i]}
            for i, (name, _) in enumerate(B200_VARIANTS)]
    return _md_table(rows, ["variant", "e4m3", "e5m2"], {"e4m3": "E4M3 matches", "e5m2": "E5M2 matches"})


def gen_fp16_fp8_variants() -> str:
    """Matches of each binary16-output FP8 variant (``fp16_fp8_variants`` of tests/tensor_cores.py,
    whose rates tests/test_accumulate_data.py pins) over the H100, H200 and B200 E4M3/E5M2 recordings."""
    from numfmt.accumulate import dot

    loader = _tensor_cores()
    files = [(g, f) for g in ("h100", "h200", "b200") for f in ("e4m3", "e5m2")]
    cols = {}
    for g, f in files:
        _, _, z, a, b, _c = loader.load(TENSOR_CORES / f"{g}_{f}.npz")
        c16 = numfmt.quantize(z["c"].view(np.float32), "fp16")  # recorded with c converted by __float2half
        cols[(g, f)] = {name: _matches(dot(a, b, c=c16, model=m), z["d_fp16"])
                        for name, m in loader.fp16_fp8_variants(g, f).items()}
    names = list(cols[files[0]])
    keys = [f"{g}_{f}" for g, f in files]
    rows = [{"variant": f"**{n}**" if n == "preset" else n, **{k: cols[gf][n] for k, gf in zip(keys, files)}}
            for n in names]
    return _md_table(rows, ["variant", *keys], {k: f"{g.upper()} {f.upper()}" for k, (g, f) in zip(keys, files)})


def _documented_names(page_markdown: str) -> set[str]:
    """Public names a page documents with ``::: numfmt...`` directives (a module directive
    documents its ``members:`` list, or its ``__all__``)."""
    names: set[str] = set()
    blocks = re.split(r"^(?=:::)", page_markdown, flags=re.M)
    for blk in blocks:
        m = re.match(r":::\s*(numfmt(?:\.\w+)*)\s*$", blk.splitlines()[0] if blk else "")
        if not m:
            continue
        target = m[1]
        names.add(target.rsplit(".", 1)[-1])
        try:
            mod = importlib.import_module(target)
        except ImportError:
            continue
        if target != "numfmt" and getattr(mod, "__name__", "") == target:
            members = re.findall(r"^\s+- (\w+)\s*$", blk, flags=re.M)
            names.update(members or getattr(mod, "__all__", []))
    return names


def gen_api_rest(page_markdown: str) -> str:
    """``:::`` entries for every name in ``numfmt.__all__`` the API page does not document yet."""
    listed = _documented_names(page_markdown)
    rest = [n for n in numfmt.__all__ if n not in listed]
    if not rest:
        return ""
    return "## Other public names\n\n" + "\n\n".join(f"::: numfmt.{n}" for n in rest)


GENERATORS = {
    "formats-table": gen_formats_table,
    "block-formats-table": gen_block_formats_table,
    "specials-table": gen_specials_table,
    "bench": gen_bench,
    "bench-measured": gen_bench_measured,
    "bench-goals": gen_bench_goals,
    "bench-cold": gen_bench_cold,
    "notebooks": gen_notebooks,
    "tensor-cores-table": gen_tensor_cores_table,
    "b200-fp8-variants": gen_b200_fp8_variants,
    "fp16-fp8-variants": gen_fp16_fp8_variants,
    "training-recipes": gen_training_recipes,
}


def _call(target: str) -> str:
    mod, _, fn = target.partition(":")
    if not (mod == "numfmt" or mod.startswith("numfmt.")) or not fn.isidentifier():
        raise GenerationError(f"numfmt:call needs 'numfmt.module:function', got {target!r}")
    res = getattr(importlib.import_module(mod), fn)()
    if not isinstance(res, str):
        raise GenerationError(f"{target}() returned {type(res).__name__}, not Markdown text")
    return res


# =========================================================================== executed examples


def _run_python(code: str, ns: dict, where: str) -> str:
    """Run ``code`` statement by statement; return a ``>>>`` session transcript."""
    tree = ast.parse(code)
    lines = code.splitlines()
    out: list[str] = []
    for node in tree.body:
        src = lines[node.lineno - 1 : node.end_lineno]
        out.append(">>> " + src[0])
        out.extend("... " + s for s in src[1:])
        if isinstance(node, ast.For | ast.While | ast.If | ast.With | ast.FunctionDef | ast.ClassDef | ast.Try):
            out.append("...")
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf):
                if isinstance(node, ast.Expr):
                    val = eval(compile(ast.Expression(node.value), where, "eval"), ns)
                    if val is not None:
                        print(repr(val))
                else:
                    exec(compile(ast.Module([node], []), where, "exec"), ns)
        except Exception as e:
            raise GenerationError(f"{where}: example failed at line {node.lineno}:\n"
                                  + "".join(traceback.format_exception(e))) from e
        text = buf.getvalue().rstrip("\n")
        if text:
            out.append(text)
    return "\n".join(out)


def _run_console(code: str, where: str) -> str:
    from numfmt import cli

    out: list[str] = []
    for line in code.splitlines():
        if not line.strip():
            continue
        if not line.startswith("$ numfmt"):
            raise GenerationError(f"{where}: console run blocks may only hold '$ numfmt ...' lines, got {line!r}")
        out.append(line)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            try:
                rc = cli.main(shlex.split(line[len("$ numfmt"):]))
            except SystemExit as e:  # argparse --help
                rc = e.code or 0
        text = buf.getvalue().rstrip("\n")
        if text:
            out.append(text)
        if rc not in (0, 1):
            raise GenerationError(f"{where}: {line!r} exited with status {rc}: {text}")
    return "\n".join(out)


_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>python|console) run[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                    re.M | re.S)
_MARKER = re.compile(r"^<!--\s*numfmt:(?P<name>[\w-]+)(?:\s+(?P<arg>\S+))?\s*-->[ \t]*$", re.M)


def render_markdown(markdown: str, where: str = "<page>") -> str:
    """Expand markers and executed blocks in one page's Markdown (used by the hook and the tests)."""
    ns: dict = {"__name__": "__docs__"}

    def fence(m: re.Match) -> str:
        indent, body = m["indent"], m["body"]
        body = "\n".join(ln[len(indent):] if ln.startswith(indent) else ln for ln in body.splitlines())
        if m["lang"] == "python":
            text, lang = _run_python(body, ns, where), "pycon"
        else:
            text, lang = _run_console(body, where), "console"
        return "\n".join(indent + ln if ln else ln for ln in [f"```{lang}", *text.splitlines(), "```"])

    markdown = _FENCE.sub(fence, markdown)

    def marker(m: re.Match) -> str:
        name, arg = m["name"], m["arg"]
        if name == "call":
            return _call(arg or "")
        if name == "api-rest":
            return gen_api_rest(markdown)
        if name not in GENERATORS:
            raise GenerationError(f"{where}: unknown generator numfmt:{name} (known: {sorted(GENERATORS)})")
        return GENERATORS[name]()

    return _MARKER.sub(marker, markdown)


# =========================================================================== figures


def training_figures(plt, save) -> None:
    """Loss curves and the PTQ bar chart of the notebook 07 full run (``TRAINING_DATA``)."""
    d = training_data()
    recipes = d["recipes"]
    win = max(1, d["config"]["eval_every"])
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    for name, r in recipes.items():
        t = np.asarray(r["train_loss"])
        smooth = np.convolve(t, np.ones(win) / win, mode="valid")
        axes[0].plot(np.arange(win, len(t) + 1), smooth, lw=1.2, label=name)
        axes[1].plot(r["val_steps"], r["val_loss"], "-o", ms=3, label=name)
        if "bf16" in recipes:
            gap = np.asarray(r["val_loss"]) - np.asarray(recipes["bf16"]["val_loss"])
            axes[2].plot(r["val_steps"], gap, "-o", ms=3, label=name)
    axes[0].set_title(f"Training loss (mean of the last {win} steps)")
    axes[1].set_title("Validation loss")
    axes[2].set_title("Validation loss minus the BF16 run's")
    axes[2].axhline(0, color="k", lw=0.8)
    for ax in axes:
        ax.set_xlabel("optimizer step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("cross-entropy (nats per character)")
    axes[1].set_ylabel("cross-entropy (nats per character)")
    axes[2].set_ylabel("difference (nats per character)")
    # the untrained model's loss (step 0) would flatten the curves: the axis starts at the first evaluation
    axes[1].set_ylim(top=max(max(r["val_loss"][1:] or r["val_loss"]) for r in recipes.values()) + 0.05)
    fig.tight_layout()
    save(TRAINING_FIGURES[0][0], fig)

    ptq = d["ptq_formats"]
    names = list(recipes)
    fig, ax = plt.subplots(figsize=(11, 4.6))
    wd = 0.8 / len(ptq)
    for k, p in enumerate(ptq):
        ax.bar(np.arange(len(names)) + (k - (len(ptq) - 1) / 2) * wd,
               [recipes[n]["ptq"][p]["delta"] for n in names], wd, label=p)
    ax.set_xticks(np.arange(len(names)), names)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("training recipe")
    ax.set_ylabel("validation loss increase after PTQ (δ_PTQ)")
    ax.set_title("Post-training weight quantization of each trained model")
    ax.legend()
    ax.grid(alpha=0.3, axis="y")
    save(TRAINING_FIGURES[1][0], fig)


def _figures() -> dict[str, bytes]:
    """name -> PNG bytes of every concept figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figs: dict[str, bytes] = {}

    def save(name, fig):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        figs[name] = buf.getvalue()

    # --- codes versus values
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, name in zip(axes, ("float4_e2m1fn", "float8_e4m3fn")):
        f = numfmt.get_format(name)
        codes = np.arange(1 << f.bits, dtype=f.code_dtype)
        vals = f.values()
        finite = np.isfinite(vals)
        ax.plot(codes[finite], vals[finite], ".", ms=4 if f.bits > 4 else 8, label="finite value")
        nan = np.isnan(vals)
        if nan.any():
            ax.plot(codes[nan], np.zeros(nan.sum()), "rx", ms=8, label="NaN code")
        if f.bits > 4:
            ax.set_yscale("symlog", linthresh=f.smallest_normal)
        ax.set_xlabel("code (unsigned integer)")
        ax.set_ylabel("decoded value" + (" (symlog scale)" if f.bits > 4 else ""))
        ax.set_title(f"{name}: code → value")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    save("codes-values.png", fig)

    # --- deterministic rounding modes
    modes = ("nearest_even", "nearest_away", "nearest_toward_zero", "toward_zero", "toward_positive",
             "toward_negative", "to_odd")
    f = numfmt.get_format("float4_e2m1fn")
    x = np.linspace(-4.2, 4.2, 4001)
    grid = f.values()[np.isfinite(f.values())]
    grid = np.unique(grid[np.abs(grid) <= 4])
    fig, axes = plt.subplots(2, 4, figsize=(15, 7), sharex=True, sharey=True)
    axes.flat[-1].axis("off")
    for ax, mode in zip(axes.flat, modes):
        y = numfmt.quantize(x, f, rounding=mode)
        ax.plot(x, y, lw=1.5)
        ax.plot(x, x, ":", color="gray", lw=0.8, label="y = x")
        for g in grid:
            ax.axhline(g, color="gray", lw=0.3)
        ax.set_title(f"rounding='{mode}'")
        ax.set_xlabel("input x")
        ax.set_ylabel("quantize(x, 'e2m1')")
        ax.grid(alpha=0.2)
    fig.suptitle("Deterministic rounding modes into FP4 E2M1 (grey lines: representable values)")
    fig.tight_layout()
    save("rounding-modes.png", fig)

    # --- stochastic rounding: expected value against the number of random bits
    lo, hi = 2.0, 3.0  # consecutive E2M1 values
    x = np.linspace(lo, hi, 257)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    trials = 4096
    xs = np.repeat(x[None, :], trials, axis=0).astype(np.float32)
    for nb in (1, 2, 3, 8):
        y = numfmt.quantize(xs, f, rounding="stochastic", random=12345, rbits=nb).mean(axis=0)
        ax.plot(x, y, label=f"rbits={nb}")
    ax.plot(x, x, "k:", lw=1, label="exact (unbiased)")
    ax.set_xlabel("input x (between the E2M1 values 2 and 3)")
    ax.set_ylabel(f"mean of {trials} stochastic roundings")
    ax.set_title("Stochastic rounding: few random bits give a biased staircase")
    ax.legend()
    ax.grid(alpha=0.3)
    save("stochastic-rounding.png", fig)

    # --- saturation
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, name in zip(axes, ("float8_e4m3fn", "float8_e5m2")):
        g = numfmt.get_format(name)
        x = np.linspace(0.8 * g.max, 1.6 * g.max, 2001).astype(np.float32)
        for sat, style in (("none", "-"), ("finite", "--")):
            y = numfmt.quantize(x, g, saturation=sat).astype(np.float64)
            shown = np.where(np.isfinite(y), y, np.nan)
            ax.plot(x, shown, style, label=f"saturation='{sat}'")
            bad = ~np.isfinite(y)
            if bad.any():
                what = "NaN" if np.isnan(y[bad]).all() else "inf"
                ax.axvspan(x[bad].min(), x[bad].max(), alpha=0.12, color="red",
                           label=f"saturation='{sat}': {what}")
        ax.axvline(g.max, color="gray", lw=0.8, ls=":")
        ax.set_xlabel("input x")
        ax.set_ylabel("quantized value")
        ax.set_title(f"{name}: overflow near max = {g.max!r}")
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(alpha=0.3)
    save("saturation.png", fig)

    # --- relative spacing
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, mk in (("float4_e2m1fn", "o"), ("float6_e3m2fn", "s"), ("float8_e4m3fn", "."), ("float8_e5m2", "."),
                     ("binary8p3se", "x")):
        g = numfmt.get_format(name)
        v = g.values()
        v = np.unique(v[np.isfinite(v) & (v > 0)])
        ax.plot(v[:-1], np.diff(v) / v[:-1], mk, ms=3, lw=0.6, ls="-", label=name)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("value v (log scale)")
    ax.set_ylabel("relative spacing (next(v) - v) / v")
    ax.set_title("Relative spacing of positive values: 2^-m to 2^-(m+1) for normals, larger for subnormals")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save("relative-spacing.png", fig)

    # --- training recipes (notebook 07, full run)
    training_figures(plt, save)
    return figs


# =========================================================================== links to repository files

_REPO_LINK = re.compile(r"\]\((?P<target>(?:\.\./)+[^)\s#]+)(?P<anchor>#[^)\s]*)?\)")


def _repo_file(page_src_uri: str, target: str, docs_dir: Path) -> Path | None:
    """The repository file (outside docs/) a relative link points to, or None."""
    path = (docs_dir / Path(page_src_uri).parent / target).resolve()
    try:
        path.relative_to(docs_dir.resolve())
        return None  # inside docs/: MkDocs resolves it
    except ValueError:
        pass
    try:
        path.relative_to(ROOT)
    except ValueError:
        return None
    return path if path.is_file() else None


def _rewrite_repo_links(markdown: str, page_src_uri: str, docs_dir: Path) -> str:
    """Point links to repository files (``../examples/x.py``) at their copy under ``src/`` in the site."""
    depth = len(Path(page_src_uri).parent.parts)

    def sub(m: re.Match) -> str:
        f = _repo_file(page_src_uri, m["target"], docs_dir)
        if f is None:
            return m[0]
        return f"]({'../' * depth}src/{f.relative_to(ROOT).as_posix()}{m['anchor'] or ''})"

    return _REPO_LINK.sub(sub, markdown)


# =========================================================================== mkdocs events

_cache: dict = {}


def on_files(files, config, **kwargs):
    from mkdocs.structure.files import File

    if "figs" not in _cache:
        _cache["figs"] = _figures()
    for name, data in _cache["figs"].items():
        files.append(File.generated(config, f"img/{name}", content=data))
    # repository files linked from pages (../examples/x.py) are published under src/
    docs_dir = Path(config["docs_dir"])
    added = set()
    for f in list(files.documentation_pages()):
        text = Path(f.abs_src_path).read_text(encoding="utf-8") if f.abs_src_path else ""
        for m in _REPO_LINK.finditer(text):
            src = _repo_file(f.src_uri, m["target"], docs_dir)
            if src is not None and src not in added:
                added.add(src)
                files.append(File.generated(config, f"src/{src.relative_to(ROOT).as_posix()}",
                                            abs_src_path=str(src)))
    return files


def on_page_markdown(markdown, page, config, files, **kwargs):
    markdown = _rewrite_repo_links(markdown, page.file.src_uri, Path(config["docs_dir"]))
    return render_markdown(markdown, where=page.file.src_uri)
