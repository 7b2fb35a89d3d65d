"""The training-recipe results in the docs: notebook 07's full run, as it wrote it to
``docs/data/training-recipes-full.json``, drawn and tabulated by ``docs/hooks.py``.

The file must hold the notebook's recipes and PTQ formats in the notebook's order, its full
configuration's step count, and the provenance of the run; the generated table's rows, the figures
and the numbers the notebook's closing prose quotes must all come from it.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path

import pytest
from files import load_module

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "07-training-recipes.ipynb"
DATA = ROOT / "docs" / "data" / "training-recipes-full.json"


@pytest.fixture(scope="module")
def hooks():
    return load_module(ROOT / "docs" / "hooks.py", "numfmt_docs_hooks_training")


@pytest.fixture(scope="module")
def data():
    return json.loads(DATA.read_text(encoding="utf-8"))


def _cells(kind: str) -> list[str]:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == kind]


def _assigned(name: str) -> ast.expr:
    """The expression the notebook's code assigns to ``name`` (at top level of a cell)."""
    for src in _cells("code"):
        for node in ast.parse(src).body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                return node.value
    raise AssertionError(f"the notebook assigns no {name}")


def _table(markdown: str, first_col: set[str]) -> dict[str, list[str]]:
    """Rows of the Markdown tables in ``markdown`` whose first cell (back-ticks removed) is in ``first_col``."""
    rows = {}
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            key = cells[0].strip("`")
            if key in first_col:
                rows[key] = cells
    return rows


def test_recipes_and_ptq_formats_are_the_notebooks(data):
    recipes = ast.literal_eval(_assigned("RECIPES"))
    assert list(data["recipes"]) == recipes
    ptq = _assigned("PTQ")
    assert isinstance(ptq, ast.Dict)
    assert data["ptq_formats"] == [ast.literal_eval(k) for k in ptq.keys]
    for r in data["recipes"].values():
        assert list(r["ptq"]) == data["ptq_formats"]


def test_is_the_full_configuration_with_provenance(data):
    steps = _assigned("STEPS")  # STEPS = <full> if FULL else <small>
    assert isinstance(steps, ast.IfExp)
    full_steps, every = ast.literal_eval(steps.body), ast.literal_eval(_assigned("EVAL_EVERY").body)
    assert data["config"]["steps"] == full_steps and data["config"]["eval_every"] == every
    assert data["command"].startswith("NUMFMT_NOTEBOOK_FULL=1 ") and NOTEBOOK.name in data["command"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", data["date"])
    assert data["machine"]["cpu_count"] >= 1
    assert set(data["versions"]) >= {"torch", "numpy", "numfmt"}
    assert set(data["seeds"]) >= {"init", "batches", "stochastic_rounding"}
    for r in data["recipes"].values():
        assert len(r["train_loss"]) == full_steps
        assert r["val_steps"][0] == 0 and r["val_steps"][-1] == full_steps
        assert len(r["val_loss"]) == len(r["val_steps"])
    assert DATA.stat().st_size < 200_000


def test_table_rows_come_from_the_data(hooks, data):
    text = hooks.gen_training_recipes()
    rows = _table(text, set(data["recipes"]))
    assert list(rows) == list(data["recipes"])
    ref = data["recipes"]["bf16"]["val_loss"][-1]
    for name, r in data["recipes"].items():
        cells = rows[name]
        assert cells[1] == f"{r['val_loss'][-1]:.4f}"
        assert cells[2] == f"{r['val_loss'][-1] - ref:+.4f}"
        assert cells[4] == f"{r['ptq_base_loss']:.4f}"
        for k, p in enumerate(data["ptq_formats"]):
            assert cells[5 + k] == f"{r['ptq'][p]['delta']:+.4f} ({r['ptq'][p]['sqnr_db']:.1f} dB)"
    for field in (data["command"], data["date"][:10], data["versions"]["torch"], data["versions"]["numpy"]):
        assert field in text


def test_table_follows_the_file(hooks, data, tmp_path, monkeypatch):
    changed = copy.deepcopy(data)
    last = next(reversed(changed["recipes"]))
    changed["recipes"][last]["val_loss"][-1] = 9.87654
    changed["recipes"][last]["ptq"][changed["ptq_formats"][0]]["delta"] = -1.5
    path = tmp_path / DATA.name
    path.write_text(json.dumps(changed), encoding="utf-8")
    monkeypatch.setattr(hooks, "TRAINING_DATA", path)
    cells = _table(hooks.gen_training_recipes(), {last})[last]
    assert cells[1] == "9.8765" and cells[5].startswith("-1.5000 ")
    monkeypatch.setattr(hooks, "TRAINING_DATA", tmp_path / "absent.json")
    with pytest.raises(hooks.GenerationError, match="full configuration"):
        hooks.gen_training_recipes()


def test_figures_are_labelled(hooks, data):
    pytest.importorskip("matplotlib")
    import matplotlib  # reason: optional dependency, only after importorskip

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # reason: after selecting the non-interactive backend

    saved = {}

    def save(name, fig):
        for ax in fig.axes:
            assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title(), (name, ax.get_title())
            assert len(ax.get_legend_handles_labels()[1]) >= len(data["ptq_formats"])
        saved[name] = len(fig.axes)
        plt.close(fig)

    hooks.training_figures(plt, save)
    assert set(saved) == {name for name, _ in hooks.TRAINING_FIGURES}


def test_training_page_shows_the_run():
    page = (ROOT / "docs" / "training.md").read_text(encoding="utf-8")
    assert "<!-- numfmt:training-recipes -->" in page
    section = page[page.index("## Notebook: training recipes"):]
    assert not re.search(r"\d\.\d{4}", section), "the run's numbers come from the generator, not typed by hand"


def test_notebook_prose_quotes_the_data(data):
    prose = _cells("markdown")[-1]
    rows = _table(prose, set(data["recipes"]))
    assert list(rows) == list(data["recipes"])
    for name, r in data["recipes"].items():
        cells = rows[name]
        assert cells[1] == f"{r['val_loss'][-1]:.4f}"
        assert [c.replace("\u2212", "-") for c in cells[2:]] == [f"{r['ptq'][p]['delta']:+.4f}"
                                                                   for p in data["ptq_formats"]]
    total = re.search(r"(\d+) s on", prose)
    assert total and int(total[1]) == round(data["notebook_time_s"])
