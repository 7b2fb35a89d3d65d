"""Rewrite reStructuredText inline markup in numfmt's docstrings as the Markdown mkdocstrings renders.

    python tools/rest_to_markdown.py [FILE ...]      (default: every module under numfmt/)

Only string-expression statements (module, class, function and attribute docstrings) change, line for
line: ``:func:`x` `` and the other roles become [`x`][numfmt.x] where the API page (docs/api.md)
documents ``x``, else `x`; double back-ticks become single ones; `` `text <url>`_ `` becomes
[text](url). tests/test_docs.py checks that no docstring needs it.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|obj|exc|const):`([^`]+)`")
DOUBLE = re.compile(r"(?<!`)``(?!`)(.+?)(?<!`)``(?!`)", re.S)
LINK = re.compile(r"`([^`<]+?)\s*<([^>]+)>`__?")


def api_anchors() -> dict[str, str]:
    """Short name -> the identifier docs/api.md renders it under (`numfmt.encode`, `numfmt.block.BlockArray`)."""
    sys.path.insert(0, str(ROOT))
    found: dict[str, str] = {}
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for block in re.split(r"^(?=:::)", text, flags=re.M):
        m = re.match(r":::\s*(numfmt(?:\.\w+)*)\s*$", block.splitlines()[0] if block else "")
        if not m:
            continue
        target = m[1]
        try:
            mod = importlib.import_module(target)
        except ImportError:
            mod = None
        if mod is not None and mod.__name__ == target and target != "numfmt":
            members = re.findall(r"^\s+- (\w+)\s*$", block, flags=re.M) or getattr(mod, "__all__", [])
            for name in members:
                found.setdefault(name, f"{target}.{name}")
        else:
            name = target.rsplit(".", 1)[-1]
            if target == f"numfmt.{name}" or name not in found:
                found[name] = target
    return found


def converter(anchors: dict[str, str]):
    def role(m: re.Match) -> str:
        raw = m[1].strip()
        target = raw.lstrip("~").lstrip(".").removesuffix("()")
        shown = (target.rsplit(".", 1)[-1] if raw.startswith("~") else target) + ("()" if raw.endswith("()") else "")
        name = target.removeprefix("numfmt.")
        ident = anchors.get(name) if "." not in name else None
        return f"[`{shown}`][{ident}]" if ident else f"`{shown}`"

    def convert(text: str) -> str:
        text = LINK.sub(lambda m: f"[{m[1]}]({m[2]})", text)
        text = ROLE.sub(role, text)
        return DOUBLE.sub(lambda m: f"`{m[1]}`", text)

    return convert


def docstring_spans(source: str) -> list[tuple[int, int]]:
    """(first line index, end line index) of every string-expression statement."""
    return [(n.lineno - 1, n.end_lineno) for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)]


def rest_markup(text: str) -> list[str]:
    """The reST constructs left in ``text``."""
    return ROLE.findall(text) + DOUBLE.findall(text) + LINK.findall(text)


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv] or sorted(
        p for p in (ROOT / "numfmt").rglob("*.py") if "__pycache__" not in p.parts)
    convert = converter(api_anchors())
    total = 0
    for path in files:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        count = 0
        for a, b in docstring_spans("".join(lines)):
            seg = "".join(lines[a:b])
            new = convert(seg)
            if new != seg:
                count += len(rest_markup(seg))
                lines[a:b] = new.splitlines(keepends=True)
        if count:
            path.write_text("".join(lines), encoding="utf-8")
            print(f"{path}: {count}")
            total += count
    print(f"{total} constructs rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
