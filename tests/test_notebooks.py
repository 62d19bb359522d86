"""Every notebook executed with papermill on the demo workspace (through render_period).

The demo month is rendered once per test session (:func:`render_demo_once`, shared with
test_browser.py); the tests assert on what the package writes (manifest.json, the rendered
notebooks), and compare it with ``reconcile_period`` and ``recon reconcile``.
"""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from pathlib import Path

import nbformat
import pytest

from recon_helpers import cli
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.demo.write import write_demo
from recon_helpers.present.fmt import money_text
from recon_helpers.reconcile.run import reconcile_period
from recon_helpers.render.notebook import notebook_paths, parameters_for
from recon_helpers.render.report import MANIFEST, render_period

DEMO_PERIOD = Period.parse("2026-10")
NOTEBOOKS = notebook_paths()
_RENDERED: dict[str, tuple[Workspace, Path]] = {}


def render_demo_once(factory: pytest.TempPathFactory) -> tuple[Workspace, Path]:
    """The demo workspace and its rendered DEMO_PERIOD report, built once per session."""
    if "demo" not in _RENDERED:
        root = factory.mktemp("rendered-demo")
        write_demo(root / "data")
        ws = Workspace.open(root / "data")
        _RENDERED["demo"] = (ws, render_period(ws, DEMO_PERIOD, progress=False))
    return _RENDERED["demo"]


@pytest.fixture(scope="session")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Path]:
    return render_demo_once(tmp_path_factory)


@pytest.fixture(scope="session")
def manifest(demo_report: tuple[Workspace, Path]) -> dict:
    return json.loads((demo_report[1] / MANIFEST).read_text(encoding="utf-8"))


@pytest.mark.notebooks
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_ran_every_cell_without_error(notebook: Path, demo_report, manifest) -> None:
    ws, folder = demo_report
    nb = nbformat.read(folder / notebook.name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "a cell was not executed"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[0].evalue if errors else ""
    stderr = [o.text for c in code for o in c.outputs
              if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, stderr
    assert nb.metadata.papermill.parameters == parameters_for(ws, DEMO_PERIOD)
    assert any(c.metadata.get("tags") == ["injected-parameters"] for c in code)
    assert notebook.name in [n["notebook"] for n in manifest["notebooks"]]


@pytest.mark.notebooks
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_html_hides_code_and_needs_no_network(notebook: Path, demo_report) -> None:
    page = (demo_report[1] / notebook.with_suffix(".html").name).read_text(encoding="utf-8")
    assert "open_period(workspace, reports, period, client_ids)" not in page  # code hidden
    assert re.search(r"<h1[^>]*>\s*\d\. ", page), "level-1 title missing"
    assert not re.search(r"<script[^>]+src=[\"']https?:", page), "a script loads from the web"
    assert "cdnjs.cloudflare.com" not in page  # nbconvert's require.js and MathJax are dropped


@pytest.mark.notebooks
def test_manifest_figures_equal_reconcile_period(demo_report, manifest) -> None:
    ws, _ = demo_report
    rec = reconcile_period(ws, DEMO_PERIOD)
    inv = rec.loaded.inventory
    summary = manifest["summary"]
    assert summary == json.loads(json.dumps(rec.headline().as_dict()))
    assert summary["discrepancies"] == len(rec.findings) > 0
    assert summary["rows_read"] == int(inv["rows_read"].sum())
    assert summary["rows_read"] == summary["rows_used"] + summary["rows_quarantined"]
    quarantined = rec.loaded.quarantine.drop_duplicates(["file", "row"])
    assert summary["rows_quarantined"] == len(quarantined)
    assert [(i["file"], i["sha256"], i["bytes"]) for i in manifest["inputs"]] == list(
        zip(inv["file"], inv["sha256"], inv["bytes"].astype(int), strict=True))
    assert manifest["parameters"] == parameters_for(ws, DEMO_PERIOD)
    assert set(manifest["mappings"]) == {"clients.csv", "products.csv"}
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in manifest["mappings"].values())
    assert {"python", "pandas", "papermill", "nbconvert", "plotly"} <= set(manifest["versions"])
    for entry in manifest["notebooks"]:
        s = entry["seconds"]
        assert s["total"] >= s["cells"] > 0 and s["kernel_and_overhead"] > 0


@pytest.mark.notebooks
def test_manifest_equals_recon_reconcile_output(demo_report, manifest, capsys) -> None:
    ws, _ = demo_report
    status = cli.main(["reconcile", "--workspace", str(ws.root), "--period", str(DEMO_PERIOD)])
    out = capsys.readouterr().out
    assert status == 1  # open discrepancies
    assert f"Discrepancies: {manifest['summary']['discrepancies']}\n" in out
    for kind, count in manifest["summary"]["by_kind"].items():
        if count:
            assert re.search(rf"^\s+{kind}\s+USD\s+{count}\s", out, re.M), kind
    usd = manifest["summary"]["by_currency"]["USD"]
    impacts = re.findall(r"^\s+\w+\s+USD\s+\d+\s+(-?[\d.]+)\s", out, re.M)
    assert f"{sum(map(float, impacts)):.2f}" == usd["impact"]


@pytest.mark.notebooks
def test_report_finds_every_planted_discrepancy_kind(demo_report, manifest) -> None:
    ws, _ = demo_report
    with (ws.root / "demo_ground_truth.csv").open(encoding="utf-8") as fh:
        planted = [r for r in csv.DictReader(fh) if r["period"] == str(DEMO_PERIOD)]
    by_kind: dict[str, int] = {}
    for row in planted:
        by_kind[row["kind"]] = by_kind.get(row["kind"], 0) + 1
    assert by_kind == {k: n for k, n in manifest["summary"]["by_kind"].items() if n}


@pytest.mark.notebooks
def test_monthly_report_page_shows_the_manifest_figures(demo_report, manifest) -> None:
    page = (demo_report[1] / "04_monthly_report.html").read_text(encoding="utf-8")
    summary = manifest["summary"]
    totals = manifest["totals"]["USD"]
    for key, value in (("discrepancies", summary["discrepancies"]),
                       ("clients_affected", summary["clients_affected"]),
                       ("to_bill:USD", money_text(Decimal(totals["to_bill"]))),
                       ("cost_at_risk:USD", money_text(Decimal(totals["cost_at_risk"]))),
                       ("contracted:USD", money_text(Decimal(totals["contracted"]))),
                       ("rows_read", f'{summary["rows_read"]:,}')):
        assert re.search(rf'data-figure="{re.escape(key)}"><div class="value">{value}<', page), key
