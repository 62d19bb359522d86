"""render_period: outputs, refused parameters, failures that leave the previous report intact.

Small notebooks written here keep each render to one kernel start; the full demo render is
shared with test_notebooks.py.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from recon_helpers import cli
from recon_helpers.audit import status as resolution
from recon_helpers.audit.decisions import record_decision
from recon_helpers.audit.ledger import Ledger
from recon_helpers.core.errors import RenderError, UsageError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.present import views
from recon_helpers.present.context import ReportContext, open_period
from recon_helpers.present.html import table
from recon_helpers.render import report
from recon_helpers.render.notebook import NOTEBOOKS_DIR
from tests.test_notebooks import DEMO_PERIOD, NOTEBOOKS, render_demo_once
from tests.workspace_builder import one_client_workspace

PARAMS = ('workspace: str = "../data"\nreports: str = ""\nperiod: str = "2026-10"\n'
          "client_ids: list[str] = []")
OPEN = ("from recon_helpers.present import context\n"
        "ctx = context.open_period(workspace, reports, period, client_ids)")


def small_notebook(folder: Path, name: str, *steps: str, params: str = PARAMS) -> Path:
    cells = [new_markdown_cell("# 9. Test"),
             new_code_cell(params, metadata={"tags": ["parameters"]}), new_code_cell(OPEN)]
    for i, code in enumerate(steps, start=1):
        cells += [new_markdown_cell(f"## 9.{i} Step {i}\n\nA step."), new_code_cell(code)]
    nb = new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    path = folder / name
    nbformat.write(nb, path)
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return one_client_workspace(tmp_path)


def test_unknown_parameter_is_refused_before_anything_runs(workspace, tmp_path) -> None:
    nb = small_notebook(tmp_path, "01_old.ipynb", "1", params='workspace: str = "x"\n'
                        'period: str = "2026-10"')
    with pytest.raises(UsageError, match=r"01_old.ipynb does not declare parameter\(s\) "
                       r"\['client_ids', 'reports'\]"):
        report.render_period(workspace, Period.parse("2026-10"), notebooks=[nb], progress=False)
    assert not workspace.reports_root.exists() or not any(workspace.reports_root.iterdir())


def test_unknown_client_is_refused(workspace) -> None:
    with pytest.raises(UsageError, match=r"parameter client_ids: no client \['NOPE'\]"):
        report.render_period(workspace, Period.parse("2026-10"), client_ids=["NOPE"],
                             progress=False)


@pytest.mark.notebooks
def test_failing_cell_names_notebook_and_cell_and_keeps_previous_report(workspace, tmp_path):
    old = workspace.report_dir(Period.parse("2026-10"))
    old.mkdir(parents=True)
    (old / "04_monthly_report.html").write_text("previous report", encoding="utf-8")
    bad = small_notebook(tmp_path, "02_bad.ipynb", "rec = ctx.reconcile()",
                         'raise ValueError("broken step")')
    with pytest.raises(RenderError, match=r"02_bad.ipynb: cell 6, step '9.2 Step 2' \(In \[5\]\) "
                       r"failed: ValueError: broken step"):
        report.render_period(workspace, Period.parse("2026-10"), notebooks=[bad], progress=False)
    assert [f.name for f in old.iterdir()] == ["04_monthly_report.html"]
    assert (old / "04_monthly_report.html").read_text(encoding="utf-8") == "previous report"
    assert [f.name for f in workspace.reports_root.iterdir()] == ["2026-10"], "temp folder left"


@pytest.mark.notebooks
def test_cell_timeout_is_a_render_error(workspace, tmp_path) -> None:
    slow = small_notebook(tmp_path, "03_slow.ipynb", "import time\ntime.sleep(30)")
    with pytest.raises(RenderError, match=r"03_slow.ipynb: a cell ran longer than the 2 s"):
        report.render_period(workspace, Period.parse("2026-10"), notebooks=[slow], timeout=2,
                             progress=False)
    assert not workspace.report_dir(Period.parse("2026-10")).exists()


@pytest.mark.notebooks
def test_render_replaces_the_old_report_and_keeps_the_signoff(workspace, tmp_path) -> None:
    old = workspace.report_dir(Period.parse("2026-10"))
    old.mkdir(parents=True)
    (old / "stale.html").write_text("old", encoding="utf-8")
    (old / "signoff.json").write_text('{"seal": {}}', encoding="utf-8")
    ok = small_notebook(tmp_path, "01_ok.ipynb", "rec = ctx.reconcile()\nlen(rec.findings)")
    folder = report.render_period(workspace, Period.parse("2026-10"), notebooks=[ok],
                                  progress=False)
    assert folder == old
    assert sorted(f.name for f in folder.iterdir()) == [
        ".render.log", "01_ok.html", "01_ok.ipynb", "index.html", "manifest.json",
        "signoff.json"]
    assert (folder / "signoff.json").read_text(encoding="utf-8") == '{"seal": {}}'
    rendered = nbformat.read(folder / "01_ok.ipynb", as_version=4)
    assert "ctx.reconcile()" in "".join(c.source for c in rendered.cells)  # code kept in .ipynb
    page = (folder / "01_ok.html").read_text(encoding="utf-8")
    assert "ctx.reconcile()" not in page and "9. Test" in page  # hidden in the HTML
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["summary"]["discrepancies"] == 1  # 12 delivered vs 10 agreed
    assert manifest["summary"]["by_kind"]["under_billed"] == 1
    assert manifest["inputs"][0]["file"] in {"agreements.csv", "invoices.csv", "usage.csv"}


def test_cli_report_prints_paths_and_exit_2_on_render_error(workspace, tmp_path, monkeypatch,
                                                            capsys) -> None:
    calls = []

    def fake_render(ws, period, client_ids, timeout, progress):
        calls.append((period, list(client_ids), timeout, progress))
        folder = ws.report_dir(period)
        folder.mkdir(parents=True)
        (folder / "04_monthly_report.html").write_text("x", encoding="utf-8")
        return folder

    monkeypatch.setattr(report, "render_period", fake_render)
    args = ["report", "--workspace", str(workspace.root), "--reports",
            str(workspace.reports_root), "--period", "2026-10", "--client", "ACME",
            "--no-progress"]
    assert cli.main(args) == 0
    assert calls == [(Period.parse("2026-10"), ["ACME"], 600, False)]
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("2026-10/04_monthly_report.html") and out[1].endswith("manifest.json")

    def failing(*a, **k):
        raise RenderError("02_comparison.ipynb: cell 9 (In [5]) failed: KeyError: 'x'")

    monkeypatch.setattr(report, "render_period", failing)
    assert cli.main(args) == 2
    assert "02_comparison.ipynb: cell 9" in capsys.readouterr().err


def test_cli_lab_dry_run_prints_the_jupyterlab_command(workspace, capsys) -> None:
    assert cli.main(["lab", "--workspace", str(workspace.root), "--no-browser", "--port",
                     "8891", "--dry-run"]) == 0
    cmd = capsys.readouterr().out
    assert "-m jupyterlab" in cmd and "--no-browser" in cmd and "--port=8891" in cmd
    assert f"--ServerApp.root_dir={NOTEBOOKS_DIR}" in cmd
    assert "--LabApp.default_url=/lab/tree/lab/2026-10/03_resolution.ipynb" in cmd
    assert not (NOTEBOOKS_DIR / "lab" / "2026-10").exists()  # dry run writes nothing


@pytest.mark.parametrize(("args", "message"), [
    (("../nowhere", "", "2026-10", []), "parameter workspace: workspace ../nowhere does not"),
    ((".", "", "2026-13", []), "parameter period: '2026-13' is not a month"),
    ((".", "", "2026-10", "ACME"), "parameter client_ids must be a list"),
    ((".", "", "2026-11", []), "parameter period: no inputs for 2026-11"),
    (("", "", "2026-10", []), "parameter workspace is empty"),
])
def test_open_period_names_the_bad_parameter(workspace, monkeypatch, args, message) -> None:
    monkeypatch.chdir(workspace.root)
    with pytest.raises(UsageError, match=message):
        open_period(*args)


def test_open_period_defaults_reports_beside_the_workspace(workspace) -> None:
    ctx = open_period(str(workspace.root), "", "2026-10", ["ACME", "ACME"])
    assert ctx.client_ids == ("ACME",)
    assert ctx.workspace.reports_root == workspace.root.resolve().parent / "reports"
    assert "<th>period</th><td>2026-10</td>" in ctx._repr_html_()


def test_tables_escape_input_strings_and_keep_decimals_exact() -> None:
    frame = pd.DataFrame({"client_name": ['<img src=x onerror="alert(1)">'],
                          "impact": [Decimal("1234.5")], "qty": [Decimal("0.0001")]})
    page = table(frame, "A & B").to_html()
    assert "<img" not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert "A &amp; B" in page
    assert ">1,234.50</td>" in page and ">0.0001</td>" in page


def test_status_table_is_all_open_without_a_ledger(workspace) -> None:
    findings = pd.DataFrame({"key": ["k1", "k2"], "kind": ["under_billed", "over_billed"],
                             "currency": ["USD", "USD"],
                             "impact": [Decimal("10.00"), Decimal("-2.50")]})
    status = resolution.status_table(findings, workspace, Period.parse("2026-10"))
    assert status["status"].tolist() == ["open", "open"]
    assert not workspace.ledger_path.exists(), "reading must not create a ledger"
    summary = resolution.open_vs_resolved(status)
    assert summary[["kind", "open", "resolved"]].values.tolist() == [
        ["under_billed", 1, 0], ["over_billed", 1, 0]]
    assert summary["open_impact"].tolist() == [Decimal("10.00"), Decimal("-2.50")]
    assert resolution.open_items(status)["key"].tolist() == ["k1", "k2"]


def test_status_table_reads_the_latest_decision_from_the_ledger(workspace) -> None:
    findings = pd.DataFrame({"key": ["k1", "k2"], "kind": ["under_billed", "over_billed"],
                             "currency": ["USD", "USD"],
                             "impact": [Decimal("10.00"), Decimal("-2.50")]})
    with Ledger(workspace.ledger_path) as ledger:
        record_decision(ledger, Period.parse("2026-10"), "k1", "escalate", "ask client", "alice")
        record_decision(ledger, Period.parse("2026-10"), "k1", "accept", "agreed", "bob")
        record_decision(ledger, Period.parse("2026-10"), "k2", "escalate", "unclear", "alice")
    status = resolution.status_table(findings, workspace, Period.parse("2026-10"))
    assert status[["key", "status", "action", "actor"]].values.tolist() == [
        ["k1", "resolved", "accept", "bob"], ["k2", "open", "escalate", "alice"]]


@pytest.mark.notebooks
def test_demo_render_writes_every_notebook_html_and_manifest(tmp_path_factory) -> None:
    ws, folder = render_demo_once(tmp_path_factory)
    names = sorted(f.name for f in folder.iterdir())
    expected = sorted([n.name for n in NOTEBOOKS] + [n.with_suffix(".html").name for n in NOTEBOOKS]
                      + [".render.log", "index.html", "manifest.json"])
    assert names == expected
    assert folder == ws.report_dir(DEMO_PERIOD)


def test_client_suggestions_show_the_exact_confirm_command(workspace, tmp_path) -> None:
    import shlex
    from types import SimpleNamespace

    rec = ReportContext(workspace, Period.parse("2026-10")).reconcile()
    suggestion = pd.DataFrame([{
        "vendor": "microsoft", "vendor_customer_id": "9f3c2a71-6b0e-4d8c-a5f4-0e1d2c3b4a59",
        "vendor_customer_name": "O'Brien & <Co> Pty", "client_id": "ACME",
        "client_name": "Acme", "score": 82, "rank": 1}])
    fake = SimpleNamespace(client_suggestions=suggestion, customers=rec.customers,
                           settings=rec.settings, period=rec.period)
    shown = views.client_suggestions(fake, workspace)
    command = shown.frame["confirm_with"][0]
    assert command == ("recon map --period 2026-10 --accept "
                       "microsoft:9f3c2a71-6b0e-4d8c-a5f4-0e1d2c3b4a59=ACME")
    assert "O&#x27;Brien &amp; &lt;Co&gt; Pty" in shown.to_html()
    args = shlex.split(command)[1:]  # run the text as a user would
    assert cli.main([*args, "--workspace", str(workspace.root), "--actor", "Alice"]) == 0
    mapped = workspace.clients_map.read_text(encoding="utf-8").splitlines()[-1]
    assert mapped == "microsoft,9f3c2a71-6b0e-4d8c-a5f4-0e1d2c3b4a59,,ACME"
