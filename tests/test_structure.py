"""The import graph of numfmt, read from the source with ``ast`` (module-level and function-level imports).

* no cycle among numfmt modules (a package importing its own submodules is not a cycle);
* no underscore name imported across a module boundary (a package may re-export its children's), nor
  read as an attribute of another numfmt module (``codec._plan``);
* numba is imported only under ``numfmt/_kernels``;
* the data modules (formats, policies, presets, models, block formats) import nothing from the kernels;
* the element codec knows nothing of block formats (``numfmt.frontend`` routes between them);
* an import inside a function is of an optional dependency or carries a comment saying why.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PKG = pathlib.Path(__file__).resolve().parent.parent / "numfmt"
OPTIONAL = {"torch", "dask", "safetensors", "matplotlib", "ml_dtypes", "torchao", "mmasim", "IPython", "gguf"}
DATA_MODULES = ("numfmt.formats", "numfmt.policy", "numfmt.presets", "numfmt.accum_models",
                "numfmt.block.formats")


def _modname(p: pathlib.Path) -> str:
    parts = list(p.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(mod: str, path: pathlib.Path):
    """(node, target module, imported names, inside a function) for every import of ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"

    def walk(node, in_func):
        for child in ast.iter_child_nodes(node):
            inner = in_func or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for a in child.names:
                    yield child, a.name, [], in_func
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                yield child, target, [a.name for a in child.names], in_func
            yield from walk(child, inner)

    yield from walk(tree, False)


@pytest.fixture(scope="module")
def graph():
    files = sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)
    mods = {_modname(p): p for p in files}
    found = {m: list(_imports(m, p)) for m, p in mods.items()}
    return mods, found


def _edges(mods, found):
    edges = {m: set() for m in mods}
    for m, imps in found.items():
        for _, target, names, _ in imps:
            for cand in [target] + [f"{target}.{n}" for n in names]:
                if cand in mods and cand != m:
                    edges[m].add(cand)
    return edges


def _cycles(edges) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), package/child loops left out."""
    index, low, stack, on, comps = {}, {}, [], set(), []

    def strong(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            nested = all(a.startswith(b + ".") or b.startswith(a + ".") for a in comp for b in comp if a != b)
            if len(comp) > 1 and not nested:
                comps.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return comps


def test_no_import_cycles(graph):
    mods, found = graph
    assert _cycles(_edges(mods, found)) == []


def test_cycle_detection_sees_function_level_imports():
    edges = {"numfmt.a": {"numfmt.b"}, "numfmt.b": {"numfmt.a"}, "numfmt.c": {"numfmt.c.d"},
             "numfmt.c.d": {"numfmt.c"}}
    assert _cycles(edges) == [["numfmt.a", "numfmt.b"]]


def test_no_private_names_across_modules(graph):
    mods, found = graph
    bad = []
    for m, imps in found.items():
        is_pkg = mods[m].name == "__init__.py"
        for _, target, names, _ in imps:
            if not target.startswith("numfmt") or target == m or (is_pkg and target.startswith(m + ".")):
                continue
            bad += [f"{m}: from {target} import {n}" for n in names
                    if n.startswith("_") and not n.startswith("__") and f"{target}.{n}" not in mods]
    assert bad == []


def _module_of(expr, aliases):
    """The numfmt module an expression such as ``_codec`` or ``numfmt.codec`` names, else None."""
    if isinstance(expr, ast.Name):
        return aliases.get(expr.id)
    if isinstance(expr, ast.Attribute):
        base = _module_of(expr.value, aliases)
        return f"{base}.{expr.attr}" if base is not None else None
    return None


def test_no_private_attributes_of_other_modules(graph):
    mods, found = graph
    bad = []
    for m, imps in found.items():
        aliases = {}
        for node, target, _names, _ in imps:
            if isinstance(node, ast.Import):
                aliases.update({a.asname or a.name.split(".")[0]: a.name if a.asname else a.name.split(".")[0]
                                for a in node.names if a.name.startswith("numfmt")})
            else:
                aliases.update({a.asname or a.name: f"{target}.{a.name}" for a in node.names
                                if f"{target}.{a.name}" in mods})
        for node in ast.walk(ast.parse(mods[m].read_text())):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                owner = _module_of(node.value, aliases)
                if owner is not None and owner in mods and owner != m:
                    bad.append(f"{m}:{node.lineno}: {owner}.{node.attr}")
    assert bad == []


def test_numba_only_in_kernels(graph):
    _, found = graph
    bad = [f"{m} imports {t}" for m, imps in found.items() for _, t, _, _ in imps
           if t.split(".")[0] == "numba" and not m.startswith("numfmt._kernels")]
    assert bad == []


def test_data_modules_import_no_kernels(graph):
    _, found = graph
    bad = [f"{m} imports {t}" for m in DATA_MODULES for _, t, names, _ in found[m]
           if t.startswith("numfmt._kernels") or (t == "numfmt" and "_kernels" in names)]
    assert bad == []


def test_codec_knows_nothing_of_block_formats(graph):
    _, found = graph
    assert [t for _, t, names, _ in found["numfmt.codec"]
            if t.startswith("numfmt.block") or (t == "numfmt" and "block" in names)] == []


def test_function_level_imports_are_optional_or_explained(graph):
    mods, found = graph
    bad = []
    for m, imps in found.items():
        lines = mods[m].read_text().splitlines()
        for node, target, _, in_func in imps:
            if not in_func or target.split(".")[0] in OPTIONAL:
                continue
            here, above = lines[node.lineno - 1], lines[node.lineno - 2].strip()
            if "#" not in here and not above.startswith("#"):
                bad.append(f"{m}:{node.lineno}: {here.strip()}")
    assert bad == []
