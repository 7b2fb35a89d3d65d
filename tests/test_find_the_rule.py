"""docs/find-the-rule.md: every case runs (its asserts included) and names the rule at 100%."""

from __future__ import annotations

import pathlib

import pytest
from files import load_module

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def page():
    hooks = load_module(ROOT / "docs" / "hooks.py", "docs_hooks_find_the_rule")
    return hooks.render_markdown((ROOT / "docs" / "find-the-rule.md").read_text(), "find-the-rule.md")


def test_the_page_is_in_the_nav():
    assert "find-the-rule.md" in (ROOT / "mkdocs.yml").read_text()


@pytest.mark.parametrize("line", [
    "100% saturation=finite",
    "100% saturation=finite, through bfloat16 first (double rounding)",
    "100% saturation=finite, subnormal results flushed to zero (ftz)",
    "{'flushed_to_zero':",
    "100% rounding=nearest_away",
    "{'tie':",
    "double rounding (x rounds onto a midpoint in an intermediate format)",
    "{1: 512}",
    "scale +1 off the rule",
    "relative error actual vs exact",
])
def test_each_case_shows_its_finding(page, line):
    assert line in page


def test_the_gemm_case_is_found_exactly(page):
    i = page.index("## A truncating GEMM accumulator")
    assert "    100% " in page[i:]
