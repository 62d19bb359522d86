"""Autotask Invoices and BillingItems: billed rows, what is not a service line, bad input, and a
full three-way month (invoice and price mismatches as on ConnectWise)."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from recon_helpers.core.errors import InputFileError
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import BILLED, money, qty
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import load_period
from recon_helpers.reconcile.run import reconcile_period

FORMATS_DIR = Path(__file__).parent / "fixtures" / "formats"
AT_FILES = sorted(FORMATS_DIR.glob("autotask_*.json"))
ITEMS = "autotask_billing_items.json"
INVOICES = "autotask_invoices.json"
PERIOD = Period.parse("2026-10")
# several bad rows planted in a 10-row file: more than [quarantine] max_share (an error, see
# test_items_without_their_invoices_file); these tests look at the rows one by one
LOSE_ANY = "[quarantine]\nmax_share = 1\n"


def _workspace(root: Path, files: list[Path], toml: str = "") -> Workspace:
    folder = root / "data" / "inputs" / str(PERIOD)
    folder.mkdir(parents=True)
    for f in files:
        shutil.copy(f, folder / f.name)
    if toml:
        (root / "data" / "recon.toml").write_text(toml, encoding="utf-8")
    return Workspace.open(root / "data")


def _doc(name: str) -> dict:
    return json.loads((FORMATS_DIR / name).read_text(encoding="utf-8"))


def _with(tmp_path: Path, name: str, doc: dict, others: list[Path], toml: str = "") -> Workspace:
    """A workspace with ``others`` and ``doc`` saved as ``name``."""
    if "pageDetails" in doc:
        doc["pageDetails"]["count"] = len(doc["items"])  # what the edited page holds
    ws = _workspace(tmp_path, [f for f in others if f.name != name], toml)
    (ws.inputs(PERIOD) / name).write_text(json.dumps(doc), encoding="utf-8")
    return ws


@pytest.fixture(scope="module")
def at(tmp_path_factory: pytest.TempPathFactory):
    return load_period(_workspace(tmp_path_factory.mktemp("at"), AT_FILES), PERIOD)


def _billed(loaded, row: int) -> pd.Series:
    hit = loaded.billed[loaded.billed.source.eq(f"{ITEMS}:{row}")]
    assert len(hit) == 1
    return hit.iloc[0]


def test_rows_conserved_and_service_charges_billed(at) -> None:
    inv = at.inventory.set_index("file")
    assert inv.loc[ITEMS, ["rows_read", "rows_used", "rows_quarantined"]].tolist() == [10, 5, 5]
    assert inv.loc[INVOICES, ["rows_read", "rows_used", "rows_quarantined"]].tolist() == [4, 4, 0]
    assert sorted(at.billed.source) == [f"{ITEMS}:{r}" for r in (1, 2, 3, 4, 8)]


def test_golden_billed_row(at) -> None:
    row = _billed(at, 1)
    assert {c: row[c] for c in BILLED.names()} == {
        "client_id": "174",
        "invoice_number": "10481",
        "invoice_date": pd.Timestamp("2026-10-01"),  # 2026-10-01T04:00:00.000Z, local midnight
        "product_id": "12",  # serviceID: the Services id
        "description": "Managed Workstation",
        "quantity": 20 * 10_000,
        "unit_price": 45_000_000,
        "amount": 900_000_000,  # extendedPrice, before the 54.00 tax of totalAmount
        "currency": "USD",
        "period_start": pd.Timestamp("2026-10-01"),
        "period_end": pd.Timestamp("2026-10-31"),
        "source": f"{ITEMS}:1",
    }


def test_service_reached_through_contract_service(at) -> None:
    row = _billed(at, 8)  # serviceID null, contractServiceID 314 -> serviceID 15
    assert (row.client_id, row.product_id, row.invoice_number) == ("29683777", "15", "10483")
    # 2026-09-30T13:00:00.000Z is Sydney's midnight of 1 October: the nearest day
    assert row.invoice_date == pd.Timestamp("2026-10-01")
    assert (qty(row.quantity), money(row.unit_price), money(row.amount)) == (
        Decimal(7), Decimal("24.5"), Decimal("171.5"))


def test_prorated_adjustment_keeps_its_exact_rate(at) -> None:
    row = _billed(at, 4)
    assert (money(row.unit_price), money(row.amount)) == (Decimal("2.7258"), Decimal("10.9032"))


def test_what_is_not_an_invoiced_service_is_quarantined(at) -> None:
    q = at.quarantine[at.quarantine.file.eq(ITEMS)].set_index("row")
    assert q.reason.to_dict() == dict.fromkeys((5, 6, 7, 9, 10), "not_billable_line")
    assert "labour, expense" in q.loc[5, "detail"] and "labour, expense" in q.loc[6, "detail"]
    assert "nonBillable" in q.loc[7, "detail"]
    assert "not on an invoice" in q.loc[9, "detail"]
    assert q.loc[10, "detail"] == "invoice 10484 is voided"
    kept = at.tables["autotask.billing_items"]
    assert sorted(kept.row) == [1, 2, 3, 4, 8]


def test_timezone_from_recon_toml_applies_to_invoice_dates(tmp_path: Path) -> None:
    toml = '[autotask]\ntimezone = "America/New_York"\n'
    loaded = load_period(_workspace(tmp_path, AT_FILES, toml), PERIOD)
    # read in New York, Sydney's midnight is still 30 September
    assert _billed(loaded, 8).invoice_date == pd.Timestamp("2026-09-30")
    assert _billed(loaded, 1).invoice_date == pd.Timestamp("2026-10-01")


def test_missing_quantity_and_bad_date(tmp_path: Path) -> None:
    items, invoices = _doc(ITEMS), _doc(INVOICES)
    items["items"][0]["quantity"] = None
    invoices["items"][1]["invoiceDateTime"] = "2026-10-32T04:00:00.000Z"
    ws = _with(tmp_path, ITEMS, items, AT_FILES, LOSE_ANY)
    (ws.inputs(PERIOD) / INVOICES).write_text(json.dumps(invoices), encoding="utf-8")
    loaded = load_period(ws, PERIOD)
    q = loaded.quarantine.set_index(["file", "row"])
    assert q.loc[(ITEMS, 1), "reason"] == "missing_value"
    assert q.loc[(INVOICES, 2), "reason"] == "bad_date"
    # the items of the invoice set aside have no invoice to sit on
    for row in (3, 4):
        assert q.loc[(ITEMS, row), "reason"] == "unknown_reference"
        assert "invoiceID 2102" in q.loc[(ITEMS, row), "detail"]
    inv = loaded.inventory
    assert (inv.rows_read == inv.rows_used + inv.rows_quarantined).all()


def test_unknown_invoice_and_contract_service(tmp_path: Path) -> None:
    items = _doc(ITEMS)
    items["items"][0]["invoiceID"] = 999
    items["items"][7]["contractServiceID"] = 398  # no serviceID, no such contract service
    loaded = load_period(_with(tmp_path, ITEMS, items, AT_FILES), PERIOD)
    q = loaded.quarantine[loaded.quarantine.file.eq(ITEMS)].set_index("row")
    assert q.loc[1, "reason"] == q.loc[8, "reason"] == "unknown_reference"
    assert "invoiceID 999" in q.loc[1, "detail"]
    assert "contractServiceID 398" in q.loc[8, "detail"]


def test_items_without_their_invoices_file(tmp_path: Path) -> None:
    # 6 of 10 rows lost for want of the invoices: an error, not invoice checks switched off
    with pytest.raises(InputFileError, match=rf"{ITEMS}:1: 6 of its 10 rows are quarantined"
                       r".*unknown_reference.*Load the file these rows refer to"):
        load_period(_workspace(tmp_path / "a", [FORMATS_DIR / ITEMS]), PERIOD)
    loaded = load_period(_workspace(tmp_path, [FORMATS_DIR / ITEMS], LOSE_ANY), PERIOD)
    assert loaded.billed.empty
    reasons = loaded.quarantine.drop_duplicates("row").reason.value_counts().to_dict()
    # the voided invoice's item too: without the invoices nothing says it was voided
    assert reasons == {"unknown_reference": 6, "not_billable_line": 4}


def test_conflicting_duplicate_items(tmp_path: Path) -> None:
    items = _doc(ITEMS)
    items["items"].append(dict(items["items"][1], quantity=19))  # same id, other quantity
    loaded = load_period(_with(tmp_path, ITEMS, items, AT_FILES), PERIOD)
    q = loaded.quarantine[loaded.quarantine.file.eq(ITEMS)]
    assert set(q[q.reason.eq("conflicting_duplicate")].row) == {2, 11}
    assert f"{ITEMS}:2" not in set(loaded.billed.source)


def test_three_way_month_finds_invoice_and_price_mismatches(tmp_path: Path) -> None:
    items = _doc(ITEMS)
    second = items["items"][1]  # 18 x Microsoft 365 Business Premium, agreed at 22.00
    second.update(rate=20.0, extendedPrice=360.0)
    rec = reconcile_period(_with(tmp_path, ITEMS, items, AT_FILES), PERIOD)
    got = {
        (k, c, p, str(a), str(i), format(x, "f"))
        for k, c, p, a, i, x in zip(
            rec.findings.kind, rec.findings.client_id, rec.findings.product_id,
            rec.findings.agreement_qty, rec.findings.invoiced_qty, rec.findings.impact,
            strict=True,
        )
    }
    assert got == {
        ("price_mismatch", "174", "15", "18", "18", "36.00"),  # (22 - 20) x 18
        # a contract service with units but no billing item: revenue leakage, 12 x 42.50
        ("invoice_mismatch", "29683601", "12", "12", "0", "510.00"),
        # 4 units added on 15 October billed pro rata (2.7258): below 34 at the month-end price
        ("price_mismatch", "29683601", "19", "34", "34", "15.10"),
    }
