"""`recon reconcile` with decisions, `recon signoff` and `recon verify` end to end."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest

from recon_helpers.audit import status as resolution
from recon_helpers.audit.ledger import Ledger
from recon_helpers.audit.signoff import SEAL_FILE, SEAL_PAGE, SIGNED_COPY, status
from recon_helpers.cli import main
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import DISCREPANCY_COLUMNS
from recon_helpers.core.workspace import Workspace
from recon_helpers.present.signoff import write_signoff_page
from recon_helpers.reconcile.run import reconcile_period
from tests.test_notebooks import DEMO_PERIOD, render_demo_once
from tests.workspace_builder import build, d, p

PERIOD = Period.parse("2026-10")


def run(ws: Workspace, *args: str) -> int:
    return main([args[0], "--workspace", str(ws.root), "--period", str(PERIOD), *args[1:]])


WAIVER = "demo month: the open findings go to the client review"


def fake_report(ws: Workspace) -> Path:
    """Rendered-report stand-ins: signing is about bytes, not about how they were made."""
    folder = ws.report_dir(PERIOD)
    folder.mkdir(parents=True)
    (folder / "04_monthly_report.html").write_text(
        "<!DOCTYPE html><html><body><h1>4. Monthly report: 2026-10</h1></body></html>\n")
    (folder / "04_monthly_report.ipynb").write_text(json.dumps({"cells": [], "nbformat": 4}))
    (folder / "manifest.json").write_text(json.dumps({"period": str(PERIOD)}))
    return folder


def flip_byte(path: Path, offset: int = 20) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_reconcile_marks_resolved_findings_and_counts_them(
        demo_month, demo_ws, tmp_path, capsys) -> None:
    rec, ws = demo_month[1], demo_ws
    first, second, *rest = rec.findings["key"].tolist()
    assert rest
    resolution.resolve(ws, PERIOD, first, "accept", "agreed, see ticket #4411", "Alice Martin",
                       rec=rec)
    resolution.resolve(ws, PERIOD, second, "escalate", "ask the account manager", "Alice Martin",
                       rec=rec)
    out = tmp_path / "findings.csv"
    assert run(ws, "reconcile", "--out", str(out)) == 1
    assert "Resolution: 18 open, 1 resolved" in capsys.readouterr().out
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0][:17]) == DISCREPANCY_COLUMNS
    assert rows[0][17:] == ["key", "detail", "status", "decision", "decided_by", "decided_at",
                           "status_detail"]
    marked = {r[17]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert (marked[first]["status"], marked[first]["decision"], marked[first]["decided_by"]) == (
        "resolved", "accept: agreed, see ticket #4411", "Alice Martin")
    assert (marked[second]["status"], marked[second]["decision"]) == (
        "open", "escalate: ask the account manager")
    assert re.fullmatch(r"20\d\d-\d\d-\d\dT[\d:.]+\+00:00", marked[first]["decided_at"])
    assert {marked[k]["status"] for k in rest} == {"open"} and marked[rest[0]]["decision"] == ""


def test_reconcile_exits_0_once_every_finding_is_resolved(tmp_path, capsys) -> None:
    ws = build(tmp_path / "data", delivered=[d("acme", "agents", "12"), d("acme", "devices", "8")],
               promised=[p("acme", "EDR", "10", "5"), p("acme", "RMM", "10", "3.5")],
               products=[("huntress", "agents", "EDR", "1"), ("huntress", "devices", "RMM", "1")],
               clients_map=[("huntress", "acme", "Acme", "acme")])
    under, over = reconcile_period(ws, PERIOD).findings["key"].tolist()
    resolution.resolve(ws, PERIOD, under, "adjust_agreement", "", "Alice Martin",
                       new_quantity="12")  # scripted: reconciles the month itself
    assert run(ws, "reconcile") == 1
    assert "Resolution: 1 open, 1 resolved" in capsys.readouterr().out
    resolution.resolve(ws, PERIOD, over, "escalate", "devices count disputed", "Alice Martin")
    assert run(ws, "reconcile") == 1  # escalated is still open
    resolution.resolve(ws, PERIOD, over, "credit_client", "credit 2 devices", "Bob Okafor")
    assert run(ws, "reconcile") == 0
    assert "Resolution: 0 open, 2 resolved" in capsys.readouterr().out


def test_signoff_preparer_then_reviewer_then_verify(demo_ws, capsys) -> None:
    ws = demo_ws
    folder = fake_report(ws)
    assert run(ws, "verify") == 1
    assert "2026-10: not signed" in capsys.readouterr().out
    assert run(ws, "signoff", "--role", "reviewer", "--name", "Bob Okafor") == 2
    assert "the preparer signs first" in capsys.readouterr().err
    # the demo month has open findings: refused, listing them, until the preparer waives
    assert run(ws, "signoff", "--role", "preparer", "--name", "Alice Martin") == 1
    err = capsys.readouterr().err
    assert ("2026-10 is not ready to sign: 1 unmapped customer, 18 open findings, 2 quarantined "
            "rows.") in err and "--waive REASON" in err
    with Ledger(ws.ledger_path) as ledger:
        assert ledger.entries(PERIOD) == []  # nothing recorded
    assert run(ws, "signoff", "--role", "preparer", "--name", "Alice Martin",
               "--waive", WAIVER) == 0
    out = capsys.readouterr().out
    assert "2026-10 signed by preparer Alice Martin: ledger entry seq 2" in out
    assert (f"signed over 21 waived item(s) (1 unmapped customer, 18 open findings, "
            f"2 quarantined rows): {WAIVER} (ledger entry seq 1)") in out
    assert f"seal hash: {json.loads((folder / SEAL_FILE).read_text())['seal']['hash']}" in out
    assert "report: 3 file(s) sealed" in out and "mappings: 2 file(s) sealed" in out
    n_inputs = len([p for p in ws.inputs(PERIOD).iterdir() if not p.name.startswith(".")])
    assert f"inputs: {n_inputs} file(s) sealed" in out
    assert run(ws, "signoff", "--role", "reviewer", "--name", "alice martin") == 2
    assert "someone other than the preparer" in capsys.readouterr().err
    assert run(ws, "signoff", "--role", "reviewer", "--name", "Bob Okafor") == 0
    assert "status now signed" in capsys.readouterr().out
    assert run(ws, "verify") == 0
    out = capsys.readouterr().out
    assert "sign-off status signed" in out and "2026-10: intact" in out
    page = (folder / SEAL_PAGE).read_text(encoding="utf-8")
    assert 'data-signoff-status="signed"' in page and "Bob Okafor" in page
    assert "04_monthly_report.html" in page  # the sealed files with their sha256
    assert WAIVER in page and page.count("<td>open_finding</td>") == 18
    assert page.count("<td>quarantined_row</td>") == 2
    signed = (folder / SIGNED_COPY).read_text(encoding="utf-8")  # the report, with its seal
    seal_hash = json.loads((folder / SEAL_FILE).read_text())["seal"]["hash"]
    assert seal_hash in signed and "Alice Martin" in signed and "Bob Okafor" in signed
    assert WAIVER in signed

    (folder / SIGNED_COPY).write_text(signed.replace("Bob Okafor", "Eve Forger"),
                                      encoding="utf-8")
    assert run(ws, "verify") == 1
    assert (f"  - signed report {SIGNED_COPY} changed: it no longer matches the sealed report "
            "and the ledger") in capsys.readouterr().out
    (folder / SIGNED_COPY).write_text(signed, encoding="utf-8")

    flip_byte(folder / "04_monthly_report.html")
    assert run(ws, "verify") == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == ["2026-10: NOT intact, 1 problem(s):",
                         "  - report file 04_monthly_report.html changed"]


def test_verify_with_a_kept_seal_hash(demo_ws, capsys) -> None:
    ws = demo_ws
    fake_report(ws)
    assert run(ws, "signoff", "--role", "preparer", "--name", "Alice Martin",
               "--waive", WAIVER) == 0
    kept = next(line.split()[2] for line in capsys.readouterr().out.splitlines()
                if "seal hash:" in line)
    assert run(ws, "verify", "--seal", kept) == 0
    assert "2026-10: intact" in capsys.readouterr().out
    other = "0" * 63 + "1"
    assert run(ws, "verify", "--seal", kept, "--seal", other) == 1
    assert capsys.readouterr().out.splitlines()[1:] == [
        "2026-10: NOT intact, 1 problem(s):",
        f"  - the kept seal hash {other} is not a sign-off of 2026-10 in the ledger: the ledger "
        "was rewritten, or the hash is of another month or workspace"]


def test_decision_after_the_seal_reopens_the_month(demo_month, demo_ws, capsys) -> None:
    rec, ws = demo_month[1], demo_ws
    folder = fake_report(ws)
    assert run(ws, "signoff", "--role", "preparer", "--name", "Alice Martin",
               "--waive", WAIVER) == 0
    assert run(ws, "signoff", "--role", "reviewer", "--name", "Bob Okafor") == 0
    assert (folder / SIGNED_COPY).is_file()
    key = rec.findings["key"].iloc[0]
    entry = resolution.resolve(ws, PERIOD, key, "accept", "late agreement with the client",
                               "Alice Martin", rec=rec)
    write_signoff_page(ws, PERIOD)  # resolve() records only; the widgets rewrite the page
    assert status(ws, PERIOD) == "reopened"
    assert 'data-signoff-status="reopened"' in (folder / SEAL_PAGE).read_text(encoding="utf-8")
    capsys.readouterr()
    assert run(ws, "verify") == 1
    out = capsys.readouterr().out
    assert "sign-off status reopened" in out
    assert (f"  - decision recorded after sign-off: the month was reopened (seq {entry.seq} on "
            f"{key})") in out
    with Ledger(ws.ledger_path) as ledger:  # the old seals stay in the trail
        assert [e.key for e in ledger.entries(PERIOD)] == [
            "waiver:preparer", "signoff:preparer", "signoff:reviewer", key]
    assert json.loads((folder / SEAL_FILE).read_text())["status"] == "signed"  # as sealed
    assert run(ws, "signoff", "--role", "preparer", "--name", "Alice Martin") == 2
    assert "re-render the report" in capsys.readouterr().err


@pytest.mark.notebooks
def test_rendered_demo_report_signoff_and_tamper(tmp_path_factory, tmp_path, capsys) -> None:
    src_ws, src_report = render_demo_once(tmp_path_factory)
    shutil.copytree(src_ws.root, tmp_path / "data")
    # never sign the shared one
    shutil.copytree(src_report, tmp_path / "reports" / str(DEMO_PERIOD))
    ws = Workspace.open(tmp_path / "data")
    page = (ws.report_dir(PERIOD) / "04_monthly_report.html").read_text(encoding="utf-8")
    assert 'data-signoff-status="open"' in page and f'href="{SEAL_PAGE}"' in page
    assert run(ws, "signoff", "--role", "preparer", "--name", "Alice Martin",
               "--waive", WAIVER) == 0
    assert "report: 11 file(s) sealed" in capsys.readouterr().out  # 5 x (.ipynb, .html) + manifest
    assert run(ws, "signoff", "--role", "reviewer", "--name", "Bob Okafor") == 0
    assert run(ws, "verify") == 0
    flip_byte(ws.report_dir(PERIOD) / "04_monthly_report.html", offset=500)
    capsys.readouterr()
    assert run(ws, "verify") == 1
    assert "  - report file 04_monthly_report.html changed" in capsys.readouterr().out.splitlines()
