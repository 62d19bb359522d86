"""Issue 12 item 8: what keeps a month from being signed, waivers, and the sealed set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recon_helpers.audit import status as resolution
from recon_helpers.audit.ledger import Ledger
from recon_helpers.audit.readiness import month_readiness
from recon_helpers.audit.signoff import (
    SealedError,
    SignoffError,
    month_state,
    record_issued,
    reopen,
    seal,
    verify,
)
from recon_helpers.cli import main
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.reconcile.run import reconcile_period
from recon_helpers.render.report import render_period
from recon_helpers.render.statements import render_statement
from tests.workspace_builder import build, d, p

PERIOD = Period.parse("2026-10")
CLIENTS = [("huntress", "acme", "Acme", "acme")]
PRODUCTS = [("huntress", "agents", "EDR", "1")]


def month(root: Path, delivered: str = "12", promised: str = "10") -> Workspace:
    """One client, one product: 12 agents delivered against 10 agreed (one under_billed)."""
    ws = build(root / "data", delivered=[d("acme", "agents", delivered)],
               promised=[p("acme", "EDR", promised, "5")], products=PRODUCTS,
               clients_map=CLIENTS)
    folder = ws.report_dir(PERIOD)
    folder.mkdir(parents=True)
    (folder / "04_monthly_report.html").write_text(
        "<!DOCTYPE html><html><body><h1>October</h1></body></html>\n", encoding="utf-8")
    return ws


def run(ws: Workspace, *args: str) -> int:
    return main([args[0], "--workspace", str(ws.root), "--reports", str(ws.reports_root),
                 "--period", str(PERIOD), *args[1:]])


def test_a_settled_month_signs_without_a_waiver(tmp_path: Path) -> None:
    ws = month(tmp_path)
    (key,) = reconcile_period(ws, PERIOD).findings["key"]
    assert [i.category for i in month_readiness(ws, PERIOD).items] == ["open_finding"]
    resolution.resolve(ws, PERIOD, key, "adjust_agreement", "", "Alice Martin",
                       new_quantity="12")
    assert month_readiness(ws, PERIOD).clear
    seal(ws, PERIOD, "preparer", "Alice Martin")
    with Ledger(ws.ledger_path) as ledger:
        assert [e.entry_type for e in ledger.entries(PERIOD)] == ["decision", "signoff"]


def test_the_waiver_records_every_item_as_listed(tmp_path: Path) -> None:
    ws = month(tmp_path)
    listed = month_readiness(ws, PERIOD)
    with pytest.raises(SignoffError) as refused:
        seal(ws, PERIOD, "preparer", "Alice Martin")
    assert refused.value.exit_code == 1 and "under_billed Acme (acme) / EDR" in str(refused.value)
    with Ledger(ws.ledger_path) as ledger:
        assert ledger.entries(PERIOD) == []  # nothing recorded
    document = seal(ws, PERIOD, "preparer", "Alice Martin", waive="client review on the 20th")
    state = month_state(ws, PERIOD)
    (waiver,) = state.waivers
    assert waiver.payload["reason"] == "client review on the 20th"
    assert waiver.payload["items"] == [i.as_dict() for i in listed.items]
    assert document["waivers"][0]["items"] == 1
    assert document["seal"]["ledger_head"] == waiver.hash  # the seal covers the waiver
    with pytest.raises(SignoffError, match="only the preparer"):
        seal(ws, PERIOD, "reviewer", "Bob Okafor", waive="me too")
    seal(ws, PERIOD, "reviewer", "Bob Okafor")
    assert verify(ws, PERIOD) == []


def test_benign_quarantine_does_not_block_and_lost_data_does(tmp_path: Path) -> None:
    ws = month(tmp_path, delivered="10")  # consistent: no finding
    usage = ws.inputs(PERIOD) / "usage.csv"
    lines = usage.read_text(encoding="utf-8").splitlines()
    usage.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")  # a repeated row
    assert month_readiness(ws, PERIOD).clear
    bad = lines[1].replace(",10,", ",ten,", 1)
    assert bad != lines[1]
    usage.write_text("\n".join([*lines, bad]) + "\n", encoding="utf-8")
    items = month_readiness(ws, PERIOD).items
    assert [(i.category, i.ident) for i in items if i.category == "quarantined_row"] == [
        ("quarantined_row", "usage.csv:2")]


def test_a_signed_month_refuses_a_rerender_until_reopened(tmp_path: Path, capsys) -> None:
    ws = month(tmp_path)
    seal(ws, PERIOD, "preparer", "Alice Martin", waive="review")
    with pytest.raises(SealedError, match="--reopen REASON"):
        render_period(ws, PERIOD, progress=False)
    assert run(ws, "report", "--no-progress") == 2
    err = capsys.readouterr().err
    assert "2026-10 is prepared (preparer Alice Martin)" in err and "reopen" in err
    with pytest.raises(SignoffError, match="needs a reason"):
        reopen(ws, PERIOD, " ", "Alice Martin")
    entry = reopen(ws, PERIOD, "fix the chart titles", "Alice Martin")
    assert entry is not None and entry.payload == {"reason": "fix the chart titles"}
    assert month_state(ws, PERIOD).status == "reopened"
    assert reopen(ws, PERIOD, "again", "Alice Martin") is None  # already open: nothing written
    assert any("reopen recorded after sign-off" in problem for problem in verify(ws, PERIOD))


def test_an_issued_file_keeps_the_seal_and_a_changed_one_is_named(tmp_path: Path) -> None:
    ws = month(tmp_path)
    seal(ws, PERIOD, "preparer", "Alice Martin", waive="review")
    seal(ws, PERIOD, "reviewer", "Bob Okafor")
    page = ws.report_dir(PERIOD) / "clients" / "acme.html"
    page.parent.mkdir()
    page.write_text("<html><body>statement</body></html>", encoding="utf-8")
    assert verify(ws, PERIOD) == ["report file clients/acme.html added"]
    entry = record_issued(ws, PERIOD, [page], "Alice Martin")
    assert entry is not None and entry.entry_type == "issued"
    assert verify(ws, PERIOD) == []
    assert month_state(ws, PERIOD).status == "signed"  # issuing does not reopen
    page.write_text("<html><body>edited</body></html>", encoding="utf-8")
    assert verify(ws, PERIOD) == ["report file clients/acme.html added"]


@pytest.mark.notebooks
def test_statement_after_signoff_is_recorded_as_issued(tmp_path: Path, capsys) -> None:
    ws = month(tmp_path)
    assert run(ws, "signoff", "--role", "preparer", "--name", "Alice Martin",
               "--waive", "review") == 0
    assert run(ws, "signoff", "--role", "reviewer", "--name", "Bob Okafor") == 0
    capsys.readouterr()
    assert run(ws, "statement", "--client", "acme") == 0
    assert "recorded as issued after the sign-off" in capsys.readouterr().err
    with Ledger(ws.ledger_path) as ledger:
        issued = [e for e in ledger.entries(PERIOD) if e.entry_type == "issued"]
    assert sorted(issued[0].payload["files"]) == ["clients/acme.html", "clients/acme.ipynb"]
    assert run(ws, "verify") == 0
    # a statement rendered before any sign-off is simply part of what the seal covers
    other = month(tmp_path / "other")
    render_statement(other, PERIOD, "acme")
    document = seal(other, PERIOD, "preparer", "Alice Martin", waive="review")
    assert "clients/acme.html" in document["seal"]["report"]
    assert json.loads((other.report_dir(PERIOD) / "signoff.json").read_text())["waivers"]
