"""The resolution widgets driven from Python (set values, press Save) on the demo month."""

from __future__ import annotations

from pathlib import Path

import pytest

from recon_helpers.audit.ledger import Ledger
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.present.widgets import ALL, ResolutionUI
from tests.workspace_builder import build, d, p

PERIOD = Period.parse("2026-10")


def key_of(rec, kind: str, client_id: str) -> str:  # type: ignore[no-untyped-def]
    rows = rec.findings[rec.findings["kind"].eq(kind) & rec.findings["client_id"].eq(client_id)]
    assert len(rows) == 1, (kind, client_id)
    return str(rows["key"].iloc[0])


def listed(ui: ResolutionUI) -> list[str]:
    return [value for _, value in ui.items.options]


def decisions(ws: Workspace) -> list:  # type: ignore[type-arg]
    if not ws.ledger_path.exists():
        return []
    with Ledger(ws.ledger_path) as ledger:
        return [e for e in ledger.entries(PERIOD) if e.entry_type == "decision"]


@pytest.fixture
def ui(demo_month, demo_ws) -> ResolutionUI:  # type: ignore[no-untyped-def]
    return ResolutionUI(demo_ws, PERIOD, demo_month[1])


def test_filters_by_kind_vendor_client_and_minimum_impact(ui, demo_month) -> None:
    rec = demo_month[1]
    assert ui.open_count == len(rec.findings) == len(listed(ui)) == 19  # SPEC 11 + licences 8
    assert ui.resolved_count == 0
    # largest |impact|: the demo's year on a month-to-month agreement (licence kinds)
    assert listed(ui)[0] == key_of(rec, "term_mismatch", "EVERGREE04")
    granite, lakeside = (key_of(rec, "under_billed", c) for c in ("GRANITEC06", "LAKESIDE11"))
    ui.kind_filter.value = "under_billed"
    assert listed(ui) == [granite, lakeside]  # 44.00 before 18.00
    ui.vendor_filter.value = "acronis"
    assert listed(ui) == [lakeside] and ui.items.value == lakeside
    ui.kind_filter.value = ui.vendor_filter.value = ALL
    ui.client_filter.value = "IRONWOOD08"
    assert listed(ui) == [key_of(rec, "invoice_mismatch", "IRONWOOD08"),
                          key_of(rec, "unbilled_service", "IRONWOOD08")]
    ui.client_filter.value = ""  # vendor customers mapped to no client
    assert listed(ui) == [key_of(rec, "unmapped_customer", "")]
    ui.client_filter.value = ALL
    ui.min_impact.value = "114"
    assert [str(rec.findings.set_index("key").loc[k, "impact"]) for k in listed(ui)] == [
        "-3060.00", "-897.60", "-294.00", "-280.50", "149.60", "-114.00"]
    ui.min_impact.value = "lots"
    assert "is not a number" in ui.message.value and len(listed(ui)) == 19  # SPEC 11 + licences 8
    scoped = ResolutionUI(ui.workspace, PERIOD, rec, client_ids=["JUNIPERS09"])
    assert listed(scoped) == [key_of(rec, "billed_not_delivered", "JUNIPERS09")]


def test_selected_item_shows_three_way_detail_and_sources(ui, demo_month) -> None:
    rec = demo_month[1]
    key = key_of(rec, "under_billed", "GRANITEC06")
    ui.items.value = key
    finding = rec.findings.set_index("key").loc[key]
    page = ui.detail.value
    assert "Three-way: delivered vs promised vs billed" in page
    assert "<td class=num>12</td><td class=num>10</td>" in page  # delivered 12, promised 10
    sources = finding["sources"].split(";")
    assert len(sources) >= 2 and all(f"<code>{s}</code>" in page for s in sources)
    assert finding["detail"] in page and "No decision yet." in page
    ui.items.value = key_of(rec, "unmapped_customer", "")  # the vendor's own names help here
    assert "Northwind Traders Pty" in ui.detail.value and "No three-way row" in ui.detail.value


def test_save_accept_with_note_records_it_and_updates_the_view(ui, demo_month) -> None:
    rec, ws = demo_month[1], ui.workspace
    key = key_of(rec, "under_billed", "GRANITEC06")
    ui.kind_filter.value = "under_billed"
    ui.items.value = key
    ui.action.value = "accept"
    ui.note.value = "client keeps 10 seats until the renewal in January"
    ui.actor.value = "Alice Martin"
    ui.save.click()
    [entry] = decisions(ws)
    assert (entry.key, entry.actor, entry.payload["action"]) == (key, "Alice Martin", "accept")
    assert entry.payload["note"] == "client keeps 10 seats until the renewal in January"
    assert entry.payload["impact"] == "44.00" and entry.payload["client_id"] == "GRANITEC06"
    assert "Saved as ledger entry seq 1" in ui.message.value
    assert (ui.open_count, ui.resolved_count) == (18, 1)
    assert "<b>18</b> open, <b>1</b> resolved" in ui.counts.value
    assert key not in listed(ui) and ui.items.value == key_of(rec, "under_billed", "LAKESIDE11")
    assert "accept: client keeps 10 seats" in ui.decided.value
    assert ui.note.value == "" and ui.action.value is None
    ui.show_resolved.value = True
    assert key in listed(ui)
    assert {v: k for k, v in ui.items.options}[key].endswith("[resolved: accept]")


def test_save_without_note_shows_the_error_and_records_nothing(ui, demo_month) -> None:
    rec, ws = demo_month[1], ui.workspace
    ui.items.value = key_of(rec, "over_billed", "HARBORVI07")
    ui.actor.value = "Alice Martin"
    ui.save.click()
    assert "choose an action" in ui.message.value
    ui.action.value = "accept"
    ui.note.value = "   "
    ui.save.click()  # must not raise
    assert "Not saved" in ui.message.value and "accept needs a note" in ui.message.value
    ui.action.value, ui.note.value, ui.actor.value = "escalate", "ask the client", ""
    ui.save.click()
    assert "needs the name of who records it" in ui.message.value
    assert decisions(ws) == [] and ui.open_count == 19


def test_adjust_agreement_with_a_new_quantity_then_reopen(ui, demo_month) -> None:
    rec, ws = demo_month[1], ui.workspace
    key = key_of(rec, "under_billed", "LAKESIDE11")  # acronis storage 3.4 TB vs 3 agreed
    ui.items.value = key
    ui.action.value = "accept"
    assert ui.new_quantity.disabled
    ui.action.value = "adjust_agreement"
    assert not ui.new_quantity.disabled
    ui.actor.value = "Bob Okafor"
    ui.save.click()
    assert "new_quantity is required" in ui.message.value and decisions(ws) == []
    ui.new_quantity.value = "3.4"
    ui.save.click()
    [entry] = decisions(ws)
    assert entry.payload["new_quantity"] == "3.4" and entry.payload["agreement_qty"] == "3"
    assert entry.payload["description"] == "Cloud backup storage per TB"
    assert ui.open_count == 18 and "adjust_agreement to 3.4" in ui.decided.value
    # a price mismatch is corrected by price: no quantity for adjust_invoice there
    ui.items.value = key_of(rec, "price_mismatch", "LAKESIDE11")
    ui.action.value = "adjust_invoice"
    assert ui.new_quantity.disabled
    # supersede by appending: reopen the adjusted item
    ui.show_resolved.value = True
    ui.items.value = key
    ui.action.value, ui.note.value = "reopen", "client disputes the storage figure"
    ui.save.click()
    assert ui.open_count == 19 and len(decisions(ws)) == 2
    assert "adjust_agreement to 3.4" in ui.detail.value and "reopen: client disputes" in (
        ui.detail.value)


def test_input_text_is_escaped_in_every_html_widget(tmp_path: Path) -> None:
    hostile = '<img src=x onerror="alert(1)">'
    ws = build(tmp_path / "data", delivered=[d("acme", "agents", "12")],
               promised=[p("acme", "EDR", "10", "5", client_name=hostile)],
               clients_map=[("huntress", "acme", "Acme", "acme")])
    ui = ResolutionUI(ws, PERIOD)
    assert ui.rec.findings["kind"].tolist() == ["under_billed"]
    ui.action.value, ui.actor.value = "accept", "<b>Mallory</b>"
    ui.note.value = "<script>alert(2)</script>"
    ui.save.click()
    assert ui.resolved_count == 1
    ui.show_resolved.value = True
    pages = [ui.detail.value, ui.decided.value, ui.message.value, ui.counts.value,
             ui._repr_mimebundle_()["text/html"]]
    for page in pages:
        assert "<img" not in page and "<script>" not in page and "<b>Mallory" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in ui.detail.value
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in ui.decided.value


def test_static_fallback_for_the_rendered_report(ui) -> None:
    bundle = ui._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert 'data-open="19"' in bundle["text/html"]
    assert "resolve(ws, Period.parse(&#x27;2026-10&#x27;)" in bundle["text/html"]
