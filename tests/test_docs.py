"""The documentation site: generated content (docs/hooks.py) and, when mkdocs is installed, a strict build.

The fast tests load `docs/hooks.py` directly (numpy and numfmt only) and check that the generated
tables hold every registered format and the codes numfmt computes, that executed examples really
run, that the API page covers `numfmt.__all__`, that docstrings carry no reStructuredText markup and
that no file of the repository points outside it or tells its development history. The slow test
runs `mkdocs build --strict` and greps the built pages for the same things.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from files import load_module

import numfmt

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

# reST that mkdocstrings shows literally (roles, double back-ticks, `text <url>`_ links)
REST_IN_HTML = re.compile(r":(?:func|class|mod|meth|attr):|``|`_")
# material outside the repository, absolute machine paths, the history of development (written so that
# this file does not match itself)
OUTSIDE = re.compile(r"SPEC[S]\b|ERRAT[A]|LIBRARIE[S]\b|\.\./share[d]|/wor[k]/|/home/\w|"
                     r"\b(?:first|second|third|this|previous|next|last|development) (?:s[e]ssion|roun[d])\b|"
                     r"measured at the end o[f]")
SKIP_DIRS = {".git", ".venv", "site", "__pycache__", "node_modules", ".ruff_cache", ".hypothesis", "build",
             ".ipynb_checkpoints"}
TEXT_SUFFIXES = {".py", ".md", ".ipynb", ".toml", ".yml", ".yaml", ".txt", ".cfg", ".css", ""}


@pytest.fixture(scope="module")
def hooks():
    return load_module(DOCS / "hooks.py", "numfmt_docs_hooks")


def _nav_files() -> list[str]:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = text[text.index("\nnav:"):]
    return re.findall(r"^\s+- [^:\n]+:\s*(\S+\.md)\s*$", nav, flags=re.M)


def test_nav_lists_the_pages():
    nav = _nav_files()
    for page in ("index.md", "getting-started.md", "concepts.md", "semantics.md", "formats.md",
                 "block-formats.md", "arithmetic.md", "accumulation.md", "validation.md", "compat.md",
                 "performance.md", "api.md", "changelog.md"):
        assert page in nav, page
    assert len(nav) == len(set(nav))


def test_own_pages_exist_and_are_in_nav():
    nav = set(_nav_files())
    for page in ("index.md", "getting-started.md", "concepts.md", "formats.md", "performance.md",
                 "notebooks.md", "api.md"):
        assert (DOCS / page).exists(), page
        assert page in nav, page


def test_formats_table_lists_every_format(hooks):
    md = hooks.gen_formats_table()
    names = set(re.findall(r"^\| `([^`]+)` \|", md, flags=re.M))
    assert names == set(numfmt.list_formats())
    e4m3 = numfmt.get_format("float8_e4m3fn")
    row = next(ln for ln in md.splitlines() if ln.startswith("| `float8_e4m3fn` | 8 |"))
    assert f"| {e4m3.max!r} |" in row and f"2^{e4m3.emin}" in row
    codes_row = next(ln for ln in md.splitlines() if ln.startswith("| `float8_e4m3fn` | `e4m3`"))
    assert f"`{e4m3.code_of_nan:#04x}`" in codes_row and f"`{e4m3.max_code_magnitude:#04x}`" in codes_row


def test_formats_page_uses_the_generator():
    text = (DOCS / "formats.md").read_text(encoding="utf-8")
    assert "<!-- numfmt:formats-table -->" in text
    assert "448" not in text  # values come from the registry, never typed in


def test_specials_table_matches_encode(hooks):
    md = hooks.gen_specials_table()
    row = next(ln for ln in md.splitlines() if ln.startswith("| `float8_e4m3fnuz` |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    f = numfmt.get_format("float8_e4m3fnuz")
    assert cells[2] == f"`{int(numfmt.encode(-0.0, f)):#04x}`"  # -0 has no code: +0
    assert cells[3] == f"`{int(numfmt.encode(np.nan, f)):#04x}`"
    fp4 = next(ln for ln in md.splitlines() if ln.startswith("| `float4_e2m1fn` |"))
    assert "ValueError" in fp4  # NaN into a format without NaN raises by default


def test_python_run_blocks_execute(hooks):
    md = "text\n\n```python run\nx = 2 + 3\nx * 10\nprint('hi')\nfor i in range(2):\n    print(i)\n```\n"
    out = hooks.render_markdown(md)
    assert "```pycon\n>>> x = 2 + 3\n>>> x * 10\n50\n>>> print('hi')\nhi\n" in out
    assert ">>> for i in range(2):\n...     print(i)\n...\n0\n1\n```" in out


def test_failing_example_stops_the_build(hooks):
    with pytest.raises(hooks.GenerationError, match="example failed"):
        hooks.render_markdown("```python run\n1 / 0\n```\n")
    with pytest.raises(hooks.GenerationError, match="unknown generator"):
        hooks.render_markdown("<!-- numfmt:no-such-table -->\n")
    with pytest.raises(hooks.GenerationError, match=r"numfmt\.module:function"):
        hooks.render_markdown("<!-- numfmt:call os:getcwd -->\n")


def test_console_run_blocks_use_the_cli(hooks):
    out = hooks.render_markdown("```console run\n$ numfmt encode e4m3 464\n```\n")
    assert out.startswith("```console\n$ numfmt encode e4m3 464\n")
    assert f"{int(numfmt.encode(464.0, 'e4m3')):#04x}" in out.lower()


def test_call_marker(hooks, monkeypatch):
    import numfmt.tables

    monkeypatch.setattr(numfmt.tables, "_docs_probe", lambda: "| a |\n|---|\n| 1 |", raising=False)
    out = hooks.render_markdown("x\n<!-- numfmt:call numfmt.tables:_docs_probe -->\ny\n")
    assert out == "x\n| a |\n|---|\n| 1 |\ny\n"
    with pytest.raises(hooks.GenerationError, match="not Markdown"):
        hooks.render_markdown("<!-- numfmt:call numfmt.presets:list_formats -->\n")


def test_api_page_covers_all_public_names(hooks):
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    rendered = hooks.render_markdown(text)
    assert set(numfmt.__all__) <= hooks._documented_names(rendered)
    rest = hooks.gen_api_rest(text)
    assert "numfmt.encode" not in rest  # listed in a section, not repeated
    assert hooks.gen_api_rest("").count(":::") == len(numfmt.__all__)


def test_notebooks_table(hooks):
    md = hooks.gen_notebooks()
    for p in (ROOT / "notebooks").glob("*.ipynb"):
        assert f"`notebooks/{p.name}`" in md


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    pytest.importorskip("mkdocstrings")
    pytest.importorskip("matplotlib")
    env = dict(os.environ, NUMFMT_DOCS_BENCH_N="20000", NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    site = tmp_path / "site"
    for page in ("index.html", "formats.html", "concepts.html", "api.html", "performance.html"):
        assert (site / page).exists(), page
    for img in ("codes-values.png", "rounding-modes.png", "stochastic-rounding.png", "saturation.png",
                "relative-spacing.png"):
        assert (site / "img" / img).stat().st_size > 10_000, img
    formats_html = (site / "formats.html").read_text(encoding="utf-8")
    assert all(f"<code>{n}</code>" in formats_html for n in numfmt.list_formats())
    accumulation_html = (site / "accumulation.html").read_text(encoding="utf-8")
    assert accumulation_html.count("5000/5000") >= 32 and "subset" not in accumulation_html
    bad = []
    for page in sorted(site.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        for pattern in (REST_IN_HTML, OUTSIDE):
            bad += [f"{page.relative_to(site)}: {text[max(m.start() - 40, 0):m.end() + 40]!r}"
                    for m in pattern.finditer(text)]
    assert not bad, "\n".join(bad[:20])


def test_links_to_repository_files_are_published(hooks):
    md = "see [the config](../pyproject.toml#L3) and [a page](semantics.md)"
    out = hooks._rewrite_repo_links(md, "validation.md", DOCS)
    assert "](src/pyproject.toml#L3)" in out
    assert "](semantics.md)" in out  # pages inside docs/ are left to MkDocs
    assert hooks._rewrite_repo_links("[x](../no/such/file.py)", "index.md", DOCS) == "[x](../no/such/file.py)"
    assert "](../src/pyproject.toml)" in hooks._rewrite_repo_links("[c](../../pyproject.toml)", "sub/page.md", DOCS)


def _tool():
    return load_module(ROOT / "tools" / "rest_to_markdown.py", "rest_to_markdown")


def test_docstrings_are_markdown():
    """No reST in numfmt's docstrings (`python tools/rest_to_markdown.py` rewrites what is left)."""
    tool = _tool()
    left = []
    for path in sorted((ROOT / "numfmt").rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        for a, b in tool.docstring_spans("".join(lines)):
            if tool.rest_markup("".join(lines[a:b])):
                left.append(f"{path.relative_to(ROOT)}:{a + 1}")
    assert not left, f"reST markup in docstrings (run tools/rest_to_markdown.py): {left}"


def _repository_files():
    for path in sorted(ROOT.rglob("*")):
        rel = path.relative_to(ROOT)
        if any(part in SKIP_DIRS or part.startswith(".venv") for part in rel.parts):
            continue
        if path.is_file() and path.suffix in TEXT_SUFFIXES:
            yield rel, path


def test_repository_is_self_contained():
    """No file refers to material outside the repository, to absolute paths or to its development history."""
    hits = []
    for rel, path in _repository_files():
        for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{rel}:{i}: {line.strip()[:80]}")
    assert not hits, "\n".join(hits)
