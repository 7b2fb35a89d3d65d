"""The documentation site: generated content (docs/hooks.py) and, when mkdocs is installed, a strict build.

The fast tests load ``docs/hooks.py`` directly (numpy and numfmt only) and check that the generated
tables hold every registered format and the codes numfmt computes, that executed examples really
run, and that the API page covers ``numfmt.__all__``. The slow test runs ``mkdocs build --strict``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import numfmt

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def hooks():
    spec = importlib.util.spec_from_file_location("numfmt_docs_hooks", DOCS / "hooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


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


def test_links_to_repository_files_are_published(hooks):
    md = "see [the config](../pyproject.toml#L3) and [a page](semantics.md)"
    out = hooks._rewrite_repo_links(md, "validation.md", DOCS)
    assert "](src/pyproject.toml#L3)" in out
    assert "](semantics.md)" in out  # pages inside docs/ are left to MkDocs
    assert hooks._rewrite_repo_links("[x](../no/such/file.py)", "index.md", DOCS) == "[x](../no/such/file.py)"
    assert "](../src/pyproject.toml)" in hooks._rewrite_repo_links("[c](../../pyproject.toml)", "sub/page.md", DOCS)
