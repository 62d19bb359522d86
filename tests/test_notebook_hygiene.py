"""Committed notebooks: stripped, parameters first and in sync with report.py, thin steps."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from recon_helpers.render.notebook import (
    NOTEBOOK_PARAMETERS,
    NOTEBOOKS_DIR,
    OPTIONAL_PARAMETERS,
    notebook_paths,
)
from recon_helpers.render.statements import STATEMENT_NOTEBOOK

# the monthly report's notebooks, then the per-client statement (rendered by `recon statement`)
NOTEBOOKS = [*notebook_paths(), STATEMENT_NOTEBOOK]
EXPECTED_PARAMETERS = {
    "workspace": ("str", '"../data"'),
    "reports": ("str", '""'),
    "period": ("str", '"2026-10"'),
    "client_ids": ("list[str]", "[]"),
}
VALIDATE = "ctx = context.open_period(workspace, reports, period, client_ids)"


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _code(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_notebooks_are_numbered_in_workbook_order() -> None:
    names = [p.name for p in NOTEBOOKS]
    assert [n[:3] for n in names] == [f"{i:02d}_" for i in range(1, len(names) + 1)]
    assert len(names) == 6
    assert sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb")) == names


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebooks_have_no_outputs(notebook: Path) -> None:
    nb = _read(notebook)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{notebook.name}: clear outputs of cells {dirty} before committing"
    assert "papermill" not in nb.metadata, "a rendered notebook was committed"
    assert nb.metadata.kernelspec.name == "python3"
    nbformat.validate(nb)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_first_tagged_and_typed(notebook: Path) -> None:
    nb = _read(notebook)
    first = _code(nb)[0]
    assert first.metadata.get("tags") == ["parameters"]
    assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1
    assert nb.cells.index(first) == 1, "only the title may come before the parameters"
    tree = ast.parse(first.source)
    found = {}
    for stmt in tree.body:
        assert isinstance(stmt, ast.AnnAssign), "parameters must be `name: type = literal`"
        ast.literal_eval(stmt.value)  # literals only: anything derived goes in open_period
        found[stmt.target.id] = (ast.unparse(stmt.annotation), ast.get_source_segment(
            first.source, stmt.value))
    optional = {k: v for k, v in OPTIONAL_PARAMETERS.items() if k in found}
    assert found == {**EXPECTED_PARAMETERS, **optional}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_declared_parameters_match_what_recon_report_passes(notebook: Path) -> None:
    declared = set(pm.inspect_notebook(str(notebook))) - set(OPTIONAL_PARAMETERS)
    assert declared == set(NOTEBOOK_PARAMETERS), declared ^ set(NOTEBOOK_PARAMETERS)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_second_cell_validates_the_parameters(notebook: Path) -> None:
    second = _code(_read(notebook))[1]
    assert VALIDATE in second.source.splitlines()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_title_and_one_numbered_heading_per_step(notebook: Path) -> None:
    nb = _read(notebook)
    number = int(notebook.name[:2])
    assert nb.cells[0].cell_type == "markdown"
    assert re.match(rf"# {number}\. \S", nb.cells[0].source), "level-1 title '# N. Title'"
    steps = nb.cells[nb.cells.index(_code(nb)[1]) + 1:]
    assert len(steps) >= 6 and len(steps) % 2 == 0
    for i, (heading, cell) in enumerate(zip(steps[::2], steps[1::2], strict=True), start=1):
        assert heading.cell_type == "markdown" and cell.cell_type == "code"
        assert re.match(rf"## {number}\.{i} \S", heading.source), heading.source
        assert len(heading.source.splitlines()) >= 3, "a heading and a sentence per step"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_are_thin(notebook: Path) -> None:
    for cell in _code(_read(notebook))[1:]:
        tree = ast.parse(cell.source)
        banned = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.While,
                  ast.With, ast.Try, ast.Lambda, ast.ListComp, ast.DictComp)
        bad = [type(n).__name__ for n in ast.walk(tree) if isinstance(n, banned)]
        assert not bad, f"{notebook.name}: {bad} in a cell; move the logic to recon_helpers"
        code = [ln for ln in cell.source.splitlines()
                if ln.strip() and not ln.startswith(("from ", "import "))]
        assert len(code) <= 3, cell.source
        for name in ("sys.path", "autoreload", "filterwarnings", "print("):
            assert name not in cell.source
        imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
        assert all(isinstance(n, ast.ImportFrom) and n.module
                   and n.module.split(".")[0] == "recon_helpers"
                   for n in imports), "notebooks import the package's modules only"
