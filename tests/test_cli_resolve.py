"""recon resolve: decisions from the command line, one key or every finding of a kind."""

from __future__ import annotations

import pytest

from recon_helpers.audit.ledger import Ledger
from recon_helpers.cli import main
from tests.apply_helpers import PERIOD, key_of


def _decisions(ws) -> list[dict]:  # type: ignore[no-untyped-def]
    if not ws.ledger_path.exists():
        return []
    with Ledger(ws.ledger_path) as book:
        return [{"key": e.key, **e.payload} for e in book.entries(PERIOD)
                if e.entry_type == "decision"]


def _resolve(ws, *args: str) -> int:  # type: ignore[no-untyped-def]
    return main(["resolve", "--workspace", str(ws.root), "--period", "2026-10",
                 "--actor", "Alice Martin", *args])


def test_one_key_with_a_quantity_and_an_effective_date(demo_ws, rec, capsys) -> None:
    key = key_of(rec, "under_billed", "GRANITEC06")
    assert _resolve(demo_ws, "--key", key, "--action", "adjust_agreement",
                    "--new-quantity", "12", "--effective", "2026-10-15") == 0
    assert "adjust_agreement to 12 from 2026-10-15 on under_billed|GRANITEC06" in (
        capsys.readouterr().out)
    [entry] = _decisions(demo_ws)
    assert (entry["key"], entry["new_quantity"], entry["effective_date"]) == (
        key, "12", "2026-10-15")
    assert entry["agreement_qty"] == "10" and entry["client_name"]  # the finding's snapshot


def test_every_finding_of_a_kind_with_one_note(demo_ws, rec) -> None:
    assert _resolve(demo_ws, "--kind", "invoice_mismatch", "--action", "accept",
                    "--note", "billing run fixed in November") == 0
    assert [d["key"] for d in _decisions(demo_ws)] == [
        key_of(rec, "invoice_mismatch", c) for c in ("IRONWOOD08", "KEYSTONE10")]
    assert _resolve(demo_ws, "--kind", "under_billed", "--client", "LAKESIDE11",
                    "--action", "adjust_agreement", "--new-quantity", "3.4") == 0
    latest = _decisions(demo_ws)[-1]
    assert latest["key"] == key_of(rec, "under_billed", "LAKESIDE11")
    assert latest["effective_date"] == "2026-11-01"  # the default: next month's first day


@pytest.mark.parametrize(("args", "message"), [
    (["--key", "under_billed|NOPE", "--action", "accept", "--note", "x"],
     "no discrepancy with key 'under_billed|NOPE' in 2026-10"),
    (["--kind", "under_billed", "--action", "accept"], "accept needs a note"),
    (["--kind", "under_billed", "--action", "adjust_agreement", "--new-quantity", "twelve"],
     "new_quantity 'twelve' is not a number"),
    (["--kind", "under_billed", "--action", "adjust_agreement", "--new-quantity", "12",
      "--effective", "2026-11-31"], "effective_date '2026-11-31' is not a date in the form"),
    (["--kind", "under_billed", "--action", "adjust_agreement", "--new-quantity", "12",
      "--effective", "11/01/2026"], "not a date in the form YYYY-MM-DD"),
    (["--kind", "under_billed", "--action", "accept", "--note", "x",
      "--effective", "2026-11-01"], "effective_date applies to adjust_agreement, not accept"),
    (["--kind", "under_billed", "--action", "approve", "--note", "x"],
     "action 'approve' is not one of"),
    (["--kind", "under_billd", "--action", "accept", "--note", "x"],
     "kind 'under_billd' is not one of"),
    (["--kind", "under_billed", "--client", "NOBODY", "--action", "accept", "--note", "x"],
     "no under_billed finding in 2026-10 for client NOBODY"),
    (["--action", "accept", "--note", "x"], "give either --key KEY"),
])
def test_refusals_exit_2_and_record_nothing(demo_ws, args, message, capsys) -> None:
    assert _resolve(demo_ws, *args) == 2
    assert message in capsys.readouterr().err
    assert _decisions(demo_ws) == []
