"""The package's floors hold: the import contract of pyproject.toml, no import circles, and no
package import hidden inside a function (the CLI's lazy imports excepted: they keep --help fast).
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

PACKAGE = Path(__file__).resolve().parents[1] / "recon_helpers"


def test_the_import_contract_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PACKAGE.parent)  # where pyproject.toml holds the contracts
    assert lint_imports(no_cache=True) == 0, "see `lint-imports` for the broken contract"


def _circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in sorted(graph.find_modules_directly_imported_by(module)):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph("recon_helpers")
    # a package's __init__ importing its own modules is not a circle of behaviour
    assert _circles(graph) == []


def test_package_imports_sit_at_the_top_of_modules() -> None:
    hidden = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "cli.py" and path.parent == PACKAGE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                names = ([node.module or ""] if isinstance(node, ast.ImportFrom) else
                         [a.name for a in node.names] if isinstance(node, ast.Import) else [])
                if any(n.split(".")[0] == "recon_helpers" for n in names):
                    hidden.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
        if "TYPE_CHECKING" in path.read_text(encoding="utf-8"):
            hidden.append(f"{path.relative_to(PACKAGE.parent)}: TYPE_CHECKING import")
    assert hidden == []
