"""The expected invoice: agreements plus the planted differences, decisions, round trip, CLI."""

from __future__ import annotations

import csv
import re
import shutil
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

from recon_helpers import cli
from recon_helpers.audit.decisions import decisions_frame, latest_decisions, record_decision
from recon_helpers.audit.ledger import Ledger
from recon_helpers.billing.invoicing import (
    INVOICE_COLUMNS,
    TRUE_UP_KINDS,
    canonical_billed,
    expected_invoice,
    invoice_for_export,
    invoice_totals,
)
from recon_helpers.core.exports import write_table
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.demo.plan import build_months
from recon_helpers.reconcile.result import Reconciliation
from recon_helpers.reconcile.run import reconcile_period

PERIOD = Period.parse("2026-10")
INVOICE_FILES = ("cw-invoice-products.json", "cw-invoices.json")


def _agreements() -> dict[tuple[str, str], Decimal]:
    """Agreement amounts of the demo month from the demo's own book (not from the loaders)."""
    month = next(m for m in build_months() if m.period == str(PERIOD))
    return {(ln.client.identifier, ln.product.product_id): ln.agreed * ln.price
            for ln in month.lines if ln.agreed}


def _planted(demo: Path) -> list[dict[str, str]]:
    with (demo / "demo_ground_truth.csv").open(encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["period"] == str(PERIOD)]


def _by_key(lines: pd.DataFrame, line_type: str | None = None) -> dict[tuple[str, str], Decimal]:
    sel = lines if line_type is None else lines[lines["line_type"].eq(line_type)]
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for c, p, a in zip(sel["client_id"], sel["product_id"], sel["amount"], strict=True):
        out[(c, p)] += a
    return dict(out)


def test_expected_invoice_is_agreements_plus_planted_differences_to_the_cent(demo, rec) -> None:
    lines = expected_invoice(rec)
    assert list(lines.columns) == list(INVOICE_COLUMNS)
    assert lines["amount"].map(lambda a: isinstance(a, Decimal)).all()
    expected = defaultdict(Decimal, _agreements())
    planted = [r for r in _planted(demo) if r["kind"] in TRUE_UP_KINDS]
    assert {r["kind"] for r in planted} == set(TRUE_UP_KINDS)
    for r in planted:
        expected[(r["client_id"], r["product_id"])] += Decimal(r["impact"])
    got = _by_key(lines)
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in expected.items() if v}
    assert sum(got.values()) == sum(expected.values())
    # the recurring lines are the agreements; the true-ups are exactly the planted differences
    assert _by_key(lines, "recurring") == _agreements()
    true_ups = lines[lines["line_type"].eq("true_up")]
    assert sorted(zip(true_ups["client_id"], true_ups["product_id"], true_ups["amount"],
                      strict=True)) == sorted(
        (r["client_id"], r["product_id"], Decimal(r["impact"])) for r in planted)


def test_true_ups_are_the_difference_at_the_agreed_price(rec) -> None:
    lines = expected_invoice(rec).set_index(["client_id", "product_id", "line_type"])
    seats = lines.loc[("GRANITEC06", "M365-BP", "true_up")]
    assert (seats["quantity"], seats["unit_price"], seats["amount"]) == (2, 22, Decimal("44.00"))
    assert "12 in use, 10 on the agreement" in seats["explanation"]
    storage = lines.loc[("LAKESIDE11", "BKP-TB", "true_up")]
    assert (storage["quantity"], storage["amount"]) == (Decimal("0.4"), Decimal("18.00"))
    gone = lines.loc[("JUNIPERS09", "EDR-S1", "true_up")]
    assert gone["quantity"] == -lines.loc[("JUNIPERS09", "EDR-S1", "recurring")]["quantity"]
    # a cancelled service that was still invoiced is not on the expected invoice
    assert ("IRONWOOD08", "EDR-S1", "recurring") not in lines.index


def test_every_line_traces_to_input_rows(demo, rec) -> None:
    lines = expected_invoice(rec)
    files = {p.name: p for p in (demo / "inputs" / str(PERIOD)).iterdir()}
    for line_type, sources in zip(lines["line_type"], lines["sources"], strict=True):
        refs = sources.split(";")
        assert refs and all(re.fullmatch(r"[^:;]+:\d+", r) for r in refs), sources
        assert all(r.rsplit(":", 1)[0] in files for r in refs)
        if line_type == "recurring":
            assert all(r.startswith("cw-agreement-additions.json:") for r in refs)


def _decisions(tmp_path: Path, rec: Reconciliation, choices: dict[tuple[str, str, str], tuple]
               ) -> pd.DataFrame:
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        for f in rec.findings.itertuples():
            choice = choices.get((f.kind, f.client_id, f.product_id))
            if choice:
                action, values = choice[0], dict(choice[1:]) if len(choice) > 1 else {}
                record_decision(ledger, PERIOD, f.key, action, "test", "auditor", kind=f.kind,
                                **values)
        return decisions_frame(ledger, PERIOD)


def test_decisions_change_the_lines(tmp_path, rec) -> None:
    decisions = _decisions(tmp_path, rec, {
        ("under_billed", "GRANITEC06", "M365-BP"): ("adjust_agreement", ("new_quantity", "11")),
        ("invoice_mismatch", "KEYSTONE10", "M365-BS"): ("adjust_invoice", ("new_quantity", "12")),
        ("over_billed", "HARBORVI07", "RMM-DEV"): ("credit_client",),
        ("invoice_mismatch", "IRONWOOD08", "EDR-S1"): ("credit_client", ("impact", "-100")),
        ("unbilled_service", "IRONWOOD08", "MDR-HUNT"): ("accept",),
        ("billed_not_delivered", "JUNIPERS09", "EDR-S1"): ("escalate",),
    })
    lines = expected_invoice(rec, decisions)
    get = lines.set_index(["client_id", "product_id", "line_type"])
    seats = get.loc[("GRANITEC06", "M365-BP", "recurring")]
    assert (seats["quantity"], seats["amount"], seats["decision"]) == (11, Decimal("242.00"),
                                                                       "adjust_agreement")
    assert re.search(r";ledger\.sqlite:\d+$", seats["sources"])
    assert ("GRANITEC06", "M365-BP", "true_up") not in get.index
    fix = get.loc[("KEYSTONE10", "M365-BS", "true_up")]
    assert (fix["quantity"], fix["amount"]) == (2, Decimal("25.00"))
    credit = get.loc[("HARBORVI07", "RMM-DEV", "credit")]
    assert (credit["quantity"], credit["amount"]) == (1, Decimal("-17.50"))
    assert ("HARBORVI07", "RMM-DEV", "true_up") not in get.index
    assert get.loc[("IRONWOOD08", "EDR-S1", "credit")]["amount"] == Decimal("-100.00")
    assert not lines["product_id"].eq("MDR-HUNT").loc[lines["client_id"].eq("IRONWOOD08")].any()
    assert get.loc[("JUNIPERS09", "EDR-S1", "true_up")]["amount"] == Decimal("-114.00")
    totals = invoice_totals(lines).set_index("client_id")
    assert totals.loc["HARBORVI07", "credit"] == Decimal("-17.50")


def _replace_invoices(demo: Path, target: Path, lines: pd.DataFrame) -> Reconciliation:
    shutil.copytree(demo, target)
    month = target / "inputs" / str(PERIOD)
    for name in INVOICE_FILES:
        (month / name).unlink()
    write_table(canonical_billed(lines), month / "expected-invoice.csv")
    return reconcile_period(Workspace.open(target), PERIOD)


def test_invoice_from_expected_lines_has_no_invoice_or_price_mismatch(tmp_path, demo, rec
                                                                      ) -> None:
    # the auditor keeps the agreements as they are: the expected invoice bills them exactly
    decisions = _decisions(tmp_path, rec, {
        (f.kind, f.client_id, f.product_id): ("accept",)
        for f in rec.findings.itertuples() if f.kind in TRUE_UP_KINDS})
    lines = expected_invoice(rec, decisions)
    assert set(lines["line_type"]) == {"recurring"}
    again = _replace_invoices(demo, tmp_path / "copy" / "data", lines)
    assert again.loaded.billed["source"].str.startswith("expected-invoice.csv:").all()
    kinds = set(again.findings["kind"])
    assert not kinds & {"invoice_mismatch", "price_mismatch"}
    assert set(rec.findings["kind"]) - kinds == {"invoice_mismatch", "price_mismatch"}


def test_true_ups_are_the_only_difference_left_against_the_agreements(tmp_path, demo, rec
                                                                        ) -> None:
    lines = expected_invoice(rec)
    again = _replace_invoices(demo, tmp_path / "copy" / "data", lines)
    found = again.findings
    assert "price_mismatch" not in set(found["kind"])
    # an unchanged agreement differs from a true-up by exactly the true-up, to the cent
    mism = found[found["kind"].eq("invoice_mismatch")]
    true_ups = _by_key(lines, "true_up")
    assert dict(zip(zip(mism["client_id"], mism["product_id"], strict=True), mism["impact"],
                    strict=True)) == {k: -v for k, v in true_ups.items()}


def test_latest_decisions_without_a_ledger_is_empty(demo) -> None:
    assert latest_decisions(Workspace.open(demo), PERIOD).empty
    assert not (demo / "ledger.sqlite").exists()


def test_cli_writes_csv_and_xlsx_for_a_psa_import(tmp_path, demo, capsys) -> None:
    csv_out, xlsx_out = tmp_path / "invoice.csv", tmp_path / "invoice.xlsx"
    assert cli.main(["invoice", "--workspace", str(demo), "--period", str(PERIOD),
                     "--out", str(csv_out)]) == 0
    assert cli.main(["invoice", "--workspace", str(demo), "--period", str(PERIOD),
                     "--client", "GRANITEC06", "--out", str(xlsx_out)]) == 0
    assert "total USD: 2,496.00" in capsys.readouterr().out
    with csv_out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(INVOICE_COLUMNS)
    assert {r["line_type"] for r in rows} == {"recurring", "true_up"}
    seats = next(r for r in rows if r["client_id"] == "GRANITEC06" and r["line_type"] == "true_up")
    assert (seats["quantity"], seats["unit_price"], seats["amount"]) == ("2", "22.00", "44.00")
    sheet = load_workbook(xlsx_out, read_only=True).active
    values = list(sheet.values)
    assert list(values[0]) == list(INVOICE_COLUMNS)
    assert {r[1] for r in values[1:]} == {"GRANITEC06"}
    assert sum(Decimal(str(r[7])) for r in values[1:]) == Decimal("2496.00")
    assert cli.main(["invoice", "--workspace", str(demo), "--period", str(PERIOD),
                     "--out", str(tmp_path / "x.txt")]) == 2
    assert cli.main(["invoice", "--workspace", str(demo), "--period", str(PERIOD),
                     "--client", "NOPE", "--out", str(csv_out)]) == 2


def test_export_neutralises_formulas_in_descriptions(tmp_path, rec) -> None:
    lines = expected_invoice(rec, client_ids=["ACMEMANU00"])
    lines.loc[0, "description"] = '=HYPERLINK("http://x","y")'
    write_table(invoice_for_export(lines), tmp_path / "i.csv")
    with (tmp_path / "i.csv").open(encoding="utf-8", newline="") as fh:
        first = next(csv.DictReader(fh))
    assert first["description"].startswith("'=")
    assert first["amount"] == "225.00"
