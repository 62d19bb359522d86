"""Recording decisions (resolution.resolve) and reading them back: status, report, sign-off."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from recon_helpers.audit import decisions
from recon_helpers.audit import status as resolution
from recon_helpers.audit.decisions import decisions_frame, record_decision
from recon_helpers.audit.ledger import Ledger
from recon_helpers.audit.signoff import SEAL_PAGE, seal, verify
from recon_helpers.core.errors import UsageError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.present.resolution import decided_frame, status_overview
from recon_helpers.present.signoff import signoff_block, write_signoff_page
from recon_helpers.render.notebook import NOTEBOOKS_DIR
from recon_helpers.render.report import render_period
from tests.test_notebooks import render_demo_once

PERIOD = Period.parse("2026-10")


def key_of(rec, kind: str, client_id: str) -> str:  # type: ignore[no-untyped-def]
    rows = rec.findings[rec.findings["kind"].eq(kind) & rec.findings["client_id"].eq(client_id)]
    return str(rows["key"].iloc[0])


def test_decisions_frame_keeps_the_latest_decision_per_key(tmp_path) -> None:
    with Ledger(tmp_path / "ledger.sqlite") as book:
        record_decision(book, PERIOD, "k1", "escalate", "ask", "alice")
        record_decision(book, PERIOD, "k1", "adjust_agreement", "", "bob", new_quantity="12")
        frame = decisions_frame(book, PERIOD)
    assert frame[["key", "action", "new_quantity", "superseded_count"]].values.tolist() == [
        ["k1", "adjust_agreement", "12", 1]]
    assert decisions.decision_text("adjust_agreement", " more\nseats ", "12") == (
        "adjust_agreement to 12: more seats")


def test_resolve_refuses_an_unknown_key_or_another_month(demo_month, demo_ws) -> None:
    rec, ws = demo_month[1], demo_ws
    unknown = re.escape("no discrepancy with key 'under_billed|NOPE' in 2026-10")
    with pytest.raises(UsageError, match=unknown):
        resolution.resolve(ws, PERIOD, "under_billed|NOPE", "accept", "x", "alice", rec=rec)
    with pytest.raises(UsageError, match="is for 2026-10, not 2026-09"):
        resolution.resolve(ws, Period.parse("2026-09"), rec.findings["key"].iloc[0], "accept",
                           "x", "alice", rec=rec)
    assert not ws.ledger_path.exists()


def test_resolve_keeps_a_snapshot_of_the_finding(demo_month, demo_ws) -> None:
    rec, ws = demo_month[1], demo_ws
    key = key_of(rec, "over_billed", "HARBORVI07")
    entry = resolution.resolve(ws, PERIOD, key, "credit_client", "5 devices retired",
                               "Alice Martin", rec=rec)
    assert {k: entry.payload[k] for k in ("kind", "client_id", "client_name", "product_id",
                                          "vendor_qty", "agreement_qty", "invoiced_qty",
                                          "variance_qty", "unit_price", "impact",
                                          "currency", "description")} == {
        "kind": "over_billed", "client_id": "HARBORVI07", "client_name": "Harbor View Hotels",
        "product_id": "RMM-DEV", "vendor_qty": "25", "agreement_qty": "30",
        "invoiced_qty": "30", "variance_qty": "-5", "unit_price": "3.5", "impact": "-17.50",
        "currency": "USD", "description": "Managed device (RMM)"}
    assert entry.payload["vendor_customer"] == "7bae0c6d-a2f3-4aa8-b713-70f449dd530c"
    assert entry.payload["unit_cost"] in (None, "0")


def test_marks_and_overview_show_the_decision_text(demo_month, demo_ws) -> None:
    rec, ws = demo_month[1], demo_ws
    accepted = key_of(rec, "under_billed", "GRANITEC06")
    adjusted = key_of(rec, "under_billed", "LAKESIDE11")
    escalated = key_of(rec, "negative_margin", "MAPLESTR12")
    resolution.resolve(ws, PERIOD, accepted, "accept", "trial <until> Nov", "Alice", rec=rec)
    resolution.resolve(ws, PERIOD, adjusted, "adjust_agreement", "", "Bob", new_quantity="3.4",
                       rec=rec)
    resolution.resolve(ws, PERIOD, escalated, "escalate", "ask the AM", "Alice", rec=rec)
    marked = resolution.mark_findings(rec.findings, ws, PERIOD).set_index("key")
    assert list(marked.columns[-5:]) == ["status", "decision", "decided_by", "decided_at",
                                         "status_detail"]
    assert marked.loc[accepted, ["status", "decision", "decided_by"]].tolist() == [
        "resolved", "accept: trial <until> Nov", "Alice"]
    # an agreement change holds from the first day of the next month unless told otherwise
    assert marked.loc[adjusted, "decision"] == "adjust_agreement to 3.4 from 2026-11-01"
    assert marked.loc[escalated, ["status", "decision"]].tolist() == [
        "open", "escalate: ask the AM"]
    status = resolution.status_table(rec.findings, ws, PERIOD)
    page = status_overview(status).markup
    assert "17 open, 2 resolved of 19 discrepancies" in page
    assert "accept: trial &lt;until&gt; Nov" in page and "<until>" not in page
    decided = decided_frame(status)
    assert set(decided["decision"]) == {"accept: trial <until> Nov",
                                        "adjust_agreement to 3.4 from 2026-11-01",
                                        "escalate: ask the AM"}
    assert all(re.fullmatch(r"20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC", t)
               for t in decided["decided_at"])


def test_signoff_block_and_page_follow_the_month(demo_month, demo_ws) -> None:
    rec, ws = demo_month[1], demo_ws
    folder = ws.report_dir(PERIOD)
    folder.mkdir(parents=True)
    (folder / "04_monthly_report.html").write_text("<html><body>October</body></html>\n")
    block = signoff_block(ws, PERIOD).markup
    assert 'data-signoff-status="open"' in block and f'href="{SEAL_PAGE}"' in block
    assert "rendered after a sign-off" not in block
    seal(ws, PERIOD, "preparer", "Alice <Martin>", waive="the month's findings go to review")
    write_signoff_page(ws, PERIOD)  # recon signoff writes it after the seal
    page = (folder / SEAL_PAGE).read_text(encoding="utf-8")
    assert 'data-signoff-status="prepared"' in page and "Alice &lt;Martin&gt;" in page
    block = signoff_block(ws, PERIOD).markup
    assert "rendered after a sign-off" in block and "Alice &lt;Martin&gt;" in block
    seal(ws, PERIOD, "reviewer", "Bob Okafor")
    write_signoff_page(ws, PERIOD)
    assert verify(ws, PERIOD) == []  # signoff.html is rewritten after sealing, not sealed
    resolution.resolve(ws, PERIOD, rec.findings["key"].iloc[0], "accept", "late", "Bob", rec=rec)
    write_signoff_page(ws, PERIOD)  # resolve() records only; the widgets rewrite the page
    page = (folder / SEAL_PAGE).read_text(encoding="utf-8")
    assert 'data-signoff-status="reopened"' in page and "re-render the report" in page


@pytest.mark.notebooks
def test_rendered_resolution_page_is_static_and_offline(tmp_path_factory) -> None:
    _, folder = render_demo_once(tmp_path_factory)
    page = (folder / "03_resolution.html").read_text(encoding="utf-8")
    assert 'class="recon-decisions" data-open="19"' in page  # the static decision panel
    assert "widget-view+json" not in page and "unpkg.com" not in page
    nb = nbformat.read(folder / "03_resolution.ipynb", as_version=4)
    # 3.4 and 3.5: the live widgets in JupyterLab, static panels as the fallback
    for name in ("ResolutionUI", "ApplyUI"):
        [step] = [c for c in nb.cells if c.cell_type == "code" and name in c.source]
        data = step.outputs[0]["data"]
        assert {"application/vnd.jupyter.widget-view+json", "text/html"} <= set(data)
    # the rendered page shows the write-back plan only: no button, nothing sent
    assert 'class="recon-apply-plan" data-ready="0"' in page
    assert "Nothing to write back" in page and "I have checked the plan" not in page


@pytest.mark.notebooks
def test_monthly_report_shows_decisions_recorded_before_rendering(demo_month, demo_ws) -> None:
    rec, ws = demo_month[1], demo_ws
    resolution.resolve(ws, PERIOD, key_of(rec, "over_billed", "HARBORVI07"), "credit_client",
                       "5 devices retired <in September>", "Alice Martin", rec=rec)
    resolution.resolve(ws, PERIOD, key_of(rec, "negative_margin", "MAPLESTR12"), "escalate",
                       "ask the account manager", "Bob Okafor", rec=rec)
    folder = render_period(ws, PERIOD, notebooks=[NOTEBOOKS_DIR / "04_monthly_report.ipynb"],
                           progress=False)
    page = (folder / "04_monthly_report.html").read_text(encoding="utf-8")
    assert "18 open, 1 resolved of 19 discrepancies" in page
    assert "credit_client: 5 devices retired &lt;in September&gt;" in page
    assert "escalate: ask the account manager" in page and "Bob Okafor" in page
    assert 'data-signoff-status="open"' in page
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["summary"]["discrepancies"] == 19


def test_workspace_fixture_is_a_private_copy(demo_month, demo_ws) -> None:
    assert demo_ws.root != demo_month[0] and isinstance(demo_ws, Workspace)
    assert not (demo_month[0] / "ledger.sqlite").exists()
