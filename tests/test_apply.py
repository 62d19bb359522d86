"""recon apply against a stateful fake ConnectWise: plan, apply, conflicts, faults, undo."""

from __future__ import annotations

import copy
import json
import sqlite3
from decimal import Decimal
from typing import NamedTuple

import pytest

from recon_helpers.audit.apply_log import read_states
from recon_helpers.audit.ledger import Ledger
from recon_helpers.audit.signoff import seal_state
from recon_helpers.audit.status import status_table
from recon_helpers.billing.adjustments import adjustments
from recon_helpers.billing.apply import apply_changes
from recon_helpers.billing.writeback import plan_frame, undo_for
from recon_helpers.cli import main
from recon_helpers.core.errors import UsageError
from recon_helpers.core.workspace import Workspace
from recon_helpers.present.resolution import status_overview
from recon_helpers.present.signoff import signoff_page
from recon_helpers.present.writeback import ApplyUI
from recon_helpers.reconcile.result import Reconciliation
from recon_helpers.reconcile.run import reconcile_period
from tests.apply_helpers import (
    PERIOD,
    decide,
    key_of,
    point_at,
    run_apply,
    the_plan,
)
from tests.fake_psa import FakeConnectWise
from tests.fake_vendors import CW, SECRETS, every_secret_form

GRANITE, LAKESIDE, JUNIPER = 50147, 50150, 50048  # the demo's additions of the findings


class Case(NamedTuple):
    ws: Workspace
    fake: FakeConnectWise
    rec: Reconciliation
    seqs: list[int]


@pytest.fixture
def cw(demo_ws, fake_api, rec):  # type: ignore[no-untyped-def]
    """The demo workspace pointed at a fake ConnectWise seeded from its own month, with four
    agreement decisions and two that change no agreement."""
    ws = point_at(demo_ws, fake_api.base, "connectwise")
    fake = FakeConnectWise.from_month(fake_api, ws.inputs(PERIOD))
    seqs = [decide(ws, rec, "under_billed", "GRANITEC06", "adjust_agreement", "12"),
            decide(ws, rec, "under_billed", "LAKESIDE11", "adjust_agreement", "3.4"),
            decide(ws, rec, "unbilled_service", "IRONWOOD08", "adjust_agreement", "10",
                   effective="2026-11-15"),
            decide(ws, rec, "billed_not_delivered", "JUNIPERS09", "adjust_agreement", "0"),
            decide(ws, rec, "over_billed", "HARBORVI07", "accept", note="trial"),
            decide(ws, rec, "invoice_mismatch", "KEYSTONE10", "adjust_invoice", "10")]
    return Case(ws, fake, rec, seqs)


def test_the_plan_is_the_decisions_and_sends_nothing(cw, fake_api, capsys) -> None:
    ws, rec, seqs = cw.ws, cw.rec, cw.seqs
    frame = plan_frame(the_plan(ws, rec))
    assert frame[["decision_seq", "object", "field", "current", "new", "effective_date",
                  "state"]].values.tolist() == [
        [seqs[0], "ConnectWise agreement 1006 addition 50147", "quantity", "10", "12",
         "2026-11-01", "ready"],
        [seqs[1], "ConnectWise agreement 1011 addition 50150", "quantity", "3", "3.4",
         "2026-11-01", "ready"],
        [seqs[2], "ConnectWise agreement 1008 new addition of MDR-HUNT", "quantity", "(none)",
         "10", "2026-11-15", "ready"],
        # ended: the addition's last live day is the day before the effective date
        [seqs[3], "ConnectWise agreement 1009 addition 50048", "cancelledDate", "(none)",
         "2026-10-31", "2026-11-01", "ready"]]
    assert main(["apply", "--workspace", str(ws.root), "--period", "2026-10"]) == 0
    out = capsys.readouterr().out
    assert "4 change(s), 4 ready" in out and "no request was sent" in out
    assert fake_api.requests == []  # the dry run sends no request at all, not even a GET


def test_apply_changes_exactly_the_planned_objects(cw, fake_api) -> None:
    ws, fake, rec = cw.ws, cw.fake, cw.rec
    before = copy.deepcopy(fake.additions)
    results = run_apply(ws, the_plan(ws, rec))
    assert [r.outcome for r in results] == ["applied"] * 4
    writes = [(r.method, r.path.removeprefix(CW), r.json()) for r in fake.writes()]
    assert writes == [
        ("PATCH", f"/finance/agreements/1006/additions/{GRANITE}",
         [{"op": "replace", "path": "quantity", "value": 12}]),
        ("PATCH", f"/finance/agreements/1011/additions/{LAKESIDE}",
         [{"op": "replace", "path": "quantity", "value": 3.4}]),
        ("POST", "/finance/agreements/1008/additions",
         {"product": {"identifier": "MDR-HUNT"}, "quantity": 10, "billCustomer": "Billable",
          "effectiveDate": "2026-11-15T00:00:00Z", "unitPrice": 5}),
        ("PATCH", f"/finance/agreements/1009/additions/{JUNIPER}",
         [{"op": "replace", "path": "cancelledDate", "value": "2026-10-31T00:00:00Z"}])]
    auth = fake.writes()[0].headers
    assert auth["clientid"] == SECRETS["RECON_CONNECTWISE_CLIENT_ID"]
    assert auth["content-type"] == "application/json"
    changed = {i for i in fake.additions if fake.additions[i] != before.get(i)}
    assert changed == {GRANITE, LAKESIDE, JUNIPER, 90_001}  # nothing else was touched
    assert (fake.quantity(GRANITE), fake.quantity(LAKESIDE)) == (12, Decimal("3.4"))
    assert fake.additions[JUNIPER]["cancelledDate"] == "2026-10-31T00:00:00Z"
    assert fake.additions[90_001]["agreementId"] == 1008
    # each outcome names the PSA's id, the response status and body hash
    with Ledger(ws.ledger_path) as book:
        outcomes = [e.payload for e in book.entries(PERIOD)
                    if e.entry_type == "apply" and e.payload["phase"] == "outcome"]
        assert book.verify() == []
    assert [(o["psa_id"], o["status"], o["client_id"]) for o in outcomes] == [
        (str(GRANITE), 200, "GRANITEC06"), (str(LAKESIDE), 200, "LAKESIDE11"),
        ("90001", 201, "IRONWOOD08"), (str(JUNIPER), 200, "JUNIPERS09")]
    assert all(len(o["body_sha256"]) == 64 for o in outcomes)


def test_applied_shows_in_status_and_adjustments_and_is_never_sent_twice(cw, fake_api,
                                                                        capsys) -> None:
    ws, rec = cw.ws, cw.rec
    run_apply(ws, the_plan(ws, rec))
    status = status_table(rec.findings, ws, PERIOD).set_index("key")
    granite = key_of(rec, "under_billed", "GRANITEC06")
    assert status.loc[granite, "status"] == "applied"
    assert "addition 50147: quantity 10 -> 12" in status.loc[granite, "status_detail"]
    assert status.loc[key_of(rec, "over_billed", "HARBORVI07"), "status"] == "resolved"
    page = status_overview(status.reset_index()).markup  # section 4.6 of the monthly report
    assert "(4 applied in the PSA) of 19 discrepancies" in page
    assert "ConnectWise agreement 1006 addition 50147: quantity 10 -&gt; 12" in page
    table = adjustments(ws, PERIOD).set_index("discrepancy_key")
    assert table.loc[granite, ["effective_date", "write_back"]].tolist() == [
        "2026-11-01", "applied"]
    assert table.loc[key_of(rec, "invoice_mismatch", "KEYSTONE10"), "write_back"] == ""
    sent = len(fake_api.requests)
    again = the_plan(ws, rec)
    assert {c.state for c in again} == {"applied"} and run_apply(ws, again) == []
    assert len(fake_api.requests) == sent
    assert main(["reconcile", "--workspace", str(ws.root), "--period", "2026-10"]) == 1
    assert "4 applied" in capsys.readouterr().out


def test_a_change_made_since_the_data_is_a_conflict_and_nothing_is_sent(cw) -> None:
    ws, fake, rec = cw.ws, cw.fake, cw.rec
    changes = the_plan(ws, rec)
    fake.additions[GRANITE]["quantity"] = 11  # someone edits the PSA between plan and apply
    fake.touch(fake.additions[LAKESIDE])  # another field changed: lastUpdated moved
    results = {r.change.line_id: r for r in run_apply(ws, changes)}
    assert results[str(GRANITE)].outcome == "conflict"
    assert "shows quantity 11; the month's data 10" in results[str(GRANITE)].detail
    assert results[str(LAKESIDE)].outcome == "conflict"
    assert "changed at 2026-12-04T09:00:01Z" in results[str(LAKESIDE)].detail
    patched = {r.path.rsplit("/", 1)[-1] for r in fake.writes()}
    assert patched == {str(JUNIPER), "additions"}  # no write to either conflicting addition
    assert fake.quantity(GRANITE) == 11
    status = status_table(rec.findings, ws, PERIOD).set_index("key")
    assert status.loc[key_of(rec, "under_billed", "GRANITEC06"), "status"] == "conflict"


@pytest.mark.parametrize(("mode", "sends"), [
    ("429", 2), ("500", 2), ("500+", 1), ("timeout+", 1), ("drop+", 1)])
def test_faults_are_retried_without_a_double_write(cw, mode: str, sends: int) -> None:
    ws, fake, rec = cw.ws, cw.fake, cw.rec
    changes = [c for c in the_plan(ws, rec) if c.op == "new_line"]  # a POST: not idempotent
    fake.fail(mode)
    [result] = run_apply(ws, changes)
    assert result.outcome == "applied", result.detail
    posts = [r for r in fake.writes() if r.method == "POST"]
    assert len(posts) == sends and len(fake.commits) == 1
    created = [a for a in fake.additions.values() if a["agreementId"] == 1008
               and a["product"]["identifier"] == "MDR-HUNT"]
    assert [a["quantity"] for a in created] == [10]
    phases = [(e["phase"], e.get("outcome")) for e in _apply_payloads(ws)]
    if mode == "429":  # refused before anything happened: retried inside one attempt
        assert phases == [("attempt", None), ("outcome", "applied")]
    else:
        assert phases[:2] == [("attempt", None), ("outcome", "unknown")]
        assert phases[-1] == ("outcome", "applied")


def test_refused_and_unverified_writes_fail_and_are_not_retried(cw) -> None:
    ws, fake, rec = cw.ws, cw.fake, cw.rec
    changes = the_plan(ws, rec)
    fake.fail("409", "ignore")
    results = run_apply(ws, changes)
    assert [r.outcome for r in results] == ["conflict", "failed", "applied", "applied"]
    assert "refused" in results[0].detail and "HTTP 409" in results[0].detail
    assert "reads back 3, not 3.4; not retried" in results[1].detail
    assert len([r for r in fake.writes() if r.method == "PATCH"]) == 3
    # a rerun tries the two again (the PSA still shows the old values), once each
    again = run_apply(ws, the_plan(ws, rec))
    assert [r.outcome for r in again] == ["applied", "applied"]


def test_undo_restores_the_earlier_values(cw) -> None:
    ws, fake, rec = cw.ws, cw.fake, cw.rec
    results = run_apply(ws, the_plan(ws, rec))
    for result in results:
        [undone] = run_apply(ws, [undo_for(read_states(ws, PERIOD), result.seq)])
        assert undone.outcome == "applied", undone.detail
    assert (fake.quantity(GRANITE), fake.quantity(LAKESIDE)) == (10, 3)
    assert fake.additions[JUNIPER]["cancelledDate"] is None
    # the addition it created ends the day before it starts: it never bills
    assert fake.additions[90_001]["cancelledDate"] == "2026-11-14T00:00:00Z"
    states = read_states(ws, PERIOD)
    with pytest.raises(UsageError, match="was undone already"):
        undo_for(states, results[0].seq)
    again = the_plan(ws, rec)
    assert {c.state for c in again} == {"undone"}  # an undo sticks until a new decision
    status = status_table(rec.findings, ws, PERIOD).set_index("key")
    row = status.loc[key_of(rec, "under_billed", "GRANITEC06")]
    assert row["status"] == "resolved" and "undone at seq" in row["status_detail"]


def test_undo_checks_the_psa_too(cw) -> None:
    ws, fake, rec = cw.ws, cw.fake, cw.rec
    [first, *_] = run_apply(ws, the_plan(ws, rec))
    fake.additions[GRANITE]["quantity"] = 14
    [undone] = run_apply(ws, [undo_for(read_states(ws, PERIOD), first.seq)])
    assert undone.outcome == "conflict" and fake.quantity(GRANITE) == 14
    with pytest.raises(UsageError, match="is not a change recon apply applied"):
        undo_for(read_states(ws, PERIOD), 9999)


def test_cli_apply_limit_only_and_no_secret_anywhere(cw, fake_api, capsys,
                                                    monkeypatch) -> None:
    ws, fake = cw.ws, cw.fake
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    base = ["apply", "--workspace", str(ws.root), "--period", "2026-10"]
    assert main([*base, "--only", "GRANITEC06", "--only", "LAKESIDE11", "--limit", "1",
                 "--yes"]) == 0
    out = capsys.readouterr().out
    assert "beyond --limit 1" in out and "applied 1 of 1" in out
    assert [r.path.rsplit("/", 1)[-1] for r in fake.writes()] == [str(GRANITE)]
    assert main([*base, "--yes"]) == 0
    out += capsys.readouterr().out
    assert fake.quantity(LAKESIDE) == Decimal("3.4") and len(fake.writes()) == 4
    assert main([*base, "--only", "NOBODY"]) == 2
    err = capsys.readouterr().err
    assert "--only: no client ['NOBODY']" in err
    stored = ws.ledger_path.read_bytes() + (ws.root / "recon.toml").read_bytes()
    for secret in every_secret_form():
        assert secret not in out and secret.encode() not in stored


def test_missing_credentials_stop_before_anything_is_sent(cw, fake_api) -> None:
    ws, rec = cw.ws, cw.rec
    with pytest.raises(UsageError, match="RECON_CONNECTWISE_PRIVATE_KEY"):
        apply_changes(ws, PERIOD, the_plan(ws, rec), "alice",
                      environ={"RECON_CONNECTWISE_PUBLIC_KEY": "x"},
                      keyring_get=lambda s, n: None)
    assert fake_api.requests == [] and not _apply_payloads(ws)


def test_a_quantity_change_waits_for_its_date_on_connectwise(cw, rec) -> None:
    ws = cw.ws
    decide(ws, rec, "under_billed", "GRANITEC06", "adjust_agreement", "13",
           effective="2027-01-01")
    changes = the_plan(ws, reconcile_period(ws, PERIOD))
    assert changes[-1].state == "waiting" and "on or after 2027-01-01" in changes[-1].reason


def _apply_payloads(ws) -> list[dict]:  # type: ignore[no-untyped-def]
    if not ws.ledger_path.exists():
        return []
    with Ledger(ws.ledger_path) as book:
        return [json.loads(json.dumps(e.payload)) for e in book.entries(PERIOD)
                if e.entry_type == "apply"]


def test_notebook_apply_step_needs_a_tick_then_applies(cw, fake_api, monkeypatch) -> None:
    ws, fake, rec = cw.ws, cw.fake, cw.rec
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    ui = ApplyUI(ws, PERIOD, rec, actor="Alice Martin")
    assert 'data-ready="4"' in ui.view.value and "addition 50147" in ui.view.value
    assert 'data-ready="4"' in ui._repr_mimebundle_()["text/html"]  # the static fallback
    ui.apply.click()
    assert "nothing was sent" in ui.message.value and fake_api.requests == []
    ui.checked.value = True
    ui.apply.click()
    assert ui.message.value.count(">applied<") == 4 and len(fake.writes()) == 4
    assert ui.apply.disabled and 'data-ready="0"' in ui.view.value
    assert "Written back so far" in ui.view.value and "90001" in ui.view.value


def test_apply_entries_never_reopen_a_signed_month_and_verify_checks_them(cw) -> None:
    ws, rec = cw.ws, cw.rec
    with Ledger(ws.ledger_path) as book:  # the decisions are signed off, then carried out
        for role, name in (("preparer", "Alice Martin"), ("reviewer", "Bob Okafor")):
            book.append("signoff", PERIOD, f"signoff:{role}", {"role": role, "name": name},
                        name)
    run_apply(ws, the_plan(ws, rec))
    with Ledger(ws.ledger_path) as book:
        assert seal_state(book.entries(PERIOD)).status == "signed"
        assert book.verify() == []
    page = signoff_page(ws, PERIOD)
    assert "Written back to the PSA" in page and "ConnectWise agreement 1006 addition 50147" in page
    assert 'data-signoff-status="signed"' in page
    con = sqlite3.connect(ws.ledger_path)
    con.execute("DROP TRIGGER entries_no_update")
    edited = con.execute("SELECT seq FROM entries WHERE entry_type = 'apply' AND payload LIKE "
                         "'%\"outcome\":\"applied\"%' ORDER BY seq LIMIT 1").fetchone()[0]
    con.execute("UPDATE entries SET payload = replace(payload, '\"new\":\"12\"', "
                "'\"new\":\"13\"') WHERE seq = ?", (edited,))
    con.commit()
    con.close()
    with Ledger(ws.ledger_path) as book:
        assert f"entry seq {edited} was edited" in book.verify()
