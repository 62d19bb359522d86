"""Microsoft NCE invoice reconciliation and Pax8 loaders: detection, exact values, linking."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
import uuid
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from recon_helpers.core.errors import UnknownFormatError
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import MONEY_SCALE, QTY_SCALE, money, qty
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import load_file, load_period
from recon_helpers.ingest.loaders.microsoft_nce import RATE_SCALE, truncate_convert
from recon_helpers.ingest.loaders.pax8 import inclusive_end
from recon_helpers.ingest.raw import norm_header
from recon_helpers.ingest.readers import read_raw
from recon_helpers.ingest.registry import FORMATS, detect_format

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
MS = FIXTURES / "microsoft_nce_invoice_recon.csv"
ITEMS_JSON = FIXTURES / "pax8_invoice_items.json"
ITEMS_CSV = FIXTURES / "pax8_invoice_items.csv"
SUBSCRIPTIONS = FIXTURES / "pax8_subscriptions.json"
COMPANIES = FIXTURES / "pax8_companies.json"
OWN = {
    MS: "microsoft_nce_invoice_recon",
    ITEMS_JSON: "pax8_invoice_items",
    ITEMS_CSV: "pax8_invoice_items",
    SUBSCRIPTIONS: "pax8_subscriptions",
    COMPANIES: "pax8_companies",
}

CONTOSO = "8c4d2b1e-6a3f-4f7c-9e21-5b0d7a9c3e14"
MUELLER = "e2a9f0c6-1d4b-4b8e-a7f3-92c61d05b8a7"
NORTHWIND = "5b7e3c91-0f2a-4d6e-8b14-c3a8e6f2d059"
BRICK = "cc0ac255-7c0b-4123-ac8d-a6c280b85eae"
VFC = "a4dfc6bf-f02e-4a79-9844-66ba6c02ec3a"
BOLT = "7e338a9b-7bf5-4489-ad0a-59f5e664be19"
BANK = "e74bc79a-71ce-414e-a8e9-d6a155933f86"


def _fitting(raw) -> list[str]:
    """Every registered format whose signature, excludes and container fit the file."""
    present = {norm_header(c) for c in raw.data.columns}
    return [
        f.name
        for f in FORMATS
        if raw.kind in f.kinds
        and f.normalized_signature() <= present
        and not ({norm_header(c) for c in f.excludes} & present)
        and (f.container is None or raw.kind != "json" or f.container == raw.container)
    ]


def _load(month_dir: Path, *paths: Path):
    for p in paths:
        if p.parent != month_dir:
            shutil.copy(p, month_dir / p.name)
    loaded = load_period(Workspace.open(month_dir.parents[1]), Period.parse("2026-10"))
    inv = loaded.inventory
    assert (inv.rows_read == inv.rows_used + inv.rows_quarantined).all()
    return loaded


def _repaged(doc: dict) -> str:
    """A Pax8 document with records added, its ``page`` object saying so (one whole page)."""
    doc["page"] = {"size": 200, "totalElements": len(doc["content"]), "totalPages": 1,
                   "number": 0}
    return json.dumps(doc)


def _rows(frame: pd.DataFrame, file: str) -> pd.DataFrame:
    return frame[frame["source"].str.startswith(file + ":")].set_index("source")


def _day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


# --- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(OWN), ids=lambda p: p.name)
def test_fixture_detected_as_its_own_format_only(path: Path) -> None:
    raw = read_raw(path)
    assert detect_format(raw).name == OWN[path]
    assert _fitting(raw) == [OWN[path]]


def test_ms_header_with_other_casing_and_legacy_alias_is_detected(tmp_path: Path) -> None:
    text = MS.read_text(encoding="utf-8-sig")
    header, body = text.split("\n", 1)  # read_text gives \n line ends
    renamed = (
        header.replace("ResellerMpnId", "Tier2MpnId")
        .replace("CustomerId", "CUSTOMERID")
        .replace("ChargeType", "chargetype")
        .replace("BillableQuantity", "Billable Quantity")
    )
    path = tmp_path / "recon_oct.csv"
    path.write_text(renamed + "\n" + body, encoding="utf-8")
    assert detect_format(read_raw(path)).name == "microsoft_nce_invoice_recon"
    loaded = load_file(path)
    original = load_file(MS)
    assert loaded.frame["quantity"].tolist() == original.frame["quantity"].tolist()
    assert loaded.frame["vendor_customer_id"].iloc[0] == CONTOSO


def test_ms_daily_rated_usage_is_not_the_invoice_recon(tmp_path: Path) -> None:
    text = MS.read_text(encoding="utf-8-sig")
    header, body = text.split("\n", 1)  # read_text gives \n line ends
    path = tmp_path / "usage.csv"
    first = body.split("\n", 1)[0]
    path.write_text(f"{header},UsageDate,MeterId\n{first},10/3/2026,8b1f8c0e\n", "utf-8")
    assert "microsoft_nce_invoice_recon" not in _fitting(read_raw(path))


def test_pax8_records_in_an_items_envelope_are_not_pax8(tmp_path: Path) -> None:
    # Autotask and Acronis wrap records in {"items": [...]}; Pax8 uses {"content": [...]}
    for fixture in (ITEMS_JSON, SUBSCRIPTIONS, COMPANIES):
        doc = json.loads(fixture.read_text(encoding="utf-8"))
        path = tmp_path / fixture.name
        path.write_text(json.dumps({"items": doc["content"]}), encoding="utf-8")
        raw = read_raw(path)
        assert raw.container == "items"
        assert not [n for n in _fitting(raw) if n.startswith("pax8")]
        with contextlib.suppress(UnknownFormatError):  # recognising nothing is fine too
            assert not detect_format(raw).name.startswith("pax8")


def test_pax8_invoice_items_as_xlsx(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    for record in csv.reader(io.StringIO(ITEMS_CSV.read_text(encoding="utf-8"))):
        sheet.append(record)
    path = tmp_path / "pax8_items.xlsx"
    book.save(path)
    loaded = load_file(path)
    assert loaded.format.name == "pax8_invoice_items"
    assert len(loaded.frame) == loaded.raw.rows_read == 5


# --- Microsoft NCE ---------------------------------------------------------------------------


def test_ms_rows_conserved_and_keys_exact(month_dir: Path) -> None:
    loaded = _load(month_dir, MS)
    inv = loaded.inventory.set_index("file").loc[MS.name]
    assert (inv.rows_read, inv.rows_used, inv.rows_quarantined) == (13, 13, 0)
    d = _rows(loaded.delivered, MS.name)
    first = d.loc[f"{MS.name}:1"]
    assert first.vendor == "microsoft"
    assert first.vendor_customer_id == CONTOSO
    assert first.vendor_customer_name == "Contoso Dental LLC"
    assert first.vendor_sku == "CFQ7TTC0LCHC:0002"
    assert first.sku_name == "Microsoft 365 Business Premium"
    assert first.charge_type == "New"
    assert money(first.unit_cost) == Decimal("17.765")  # USD priced, USD billed: as written
    assert set(d.vendor_customer_name) == {
        "Contoso Dental LLC",
        "Müller Logistik GmbH",
        "Northwind Traders, Inc.",
    }


def test_ms_json_in_string_columns_load_intact() -> None:
    raw = read_raw(MS)
    assert raw.quarantine.empty  # quoted commas did not split any row
    col = raw.column("PriceAdjustmentDescription")
    assert raw.data[col].iloc[0] == (
        '["15.0% Partner earned credit for services managed","Promotion, 5% off first term"]'
    )
    assert raw.data[raw.column("ProductQualifiers")].iloc[2] == '["AddOn"]'


def test_ms_seat_changes_net_to_the_new_count(month_dir: Path) -> None:
    d = _rows(_load(month_dir, MS).delivered, MS.name)
    net = d.groupby(["vendor_customer_id", "vendor_sku"])["quantity"].sum()
    # cycle 5, addQuantity reversal (+5 written, Subtotal negative) and +7
    assert net[(MUELLER, "CFQ7TTC0LH18:0001")] == 7 * QTY_SCALE
    assert d.loc[f"{MS.name}:7", "quantity"] == -5 * QTY_SCALE
    # removeQuantity with a negative BillableQuantity: 12 - 12 + 10
    assert net[(NORTHWIND, "CFQ7TTC0LDPB:0001")] == 10 * QTY_SCALE
    # New then Cancel within the window
    assert net[(CONTOSO, "CFQ7TTC0LH10:0001")] == 0


def test_ms_foreign_currency_unit_cost_is_truncated_to_the_cent(month_dir: Path) -> None:
    d = _rows(_load(month_dir, MS).delivered, MS.name)
    premium = d.loc[f"{MS.name}:9"]
    # 18.70 USD x 0.921183776 = 17.2261366112 EUR: ROUNDDOWN gives 17.22, rounding 17.23
    assert premium.currency == "EUR"
    assert money(premium.unit_cost) == Decimal("17.22")
    basic = d.loc[f"{MS.name}:6"]
    assert money(basic.unit_cost) == Decimal("4.69")  # 5.10 x rate = 4.698...
    assert d.loc[f"{MS.name}:2", "currency"] == "USD"


def test_ms_dates_with_and_without_time(month_dir: Path) -> None:
    d = _rows(_load(month_dir, MS).delivered, MS.name)
    row = d.loc[f"{MS.name}:2"]  # 10/15/2026 0:00 .. 11/14/2026 23:59
    assert (row.charge_start, row.charge_end) == (_day("2026-10-15"), _day("2026-11-14"))
    renew = d.loc[f"{MS.name}:13"]
    assert (renew.charge_start, renew.charge_end) == (_day("2026-10-28"), _day("2027-10-27"))


def _ms_with(tmp_path: Path, row: int, **values: str) -> Path:
    records = list(csv.DictReader(io.StringIO(MS.read_text(encoding="utf-8-sig"))))
    records[row - 1].update(values)
    path = tmp_path / "recon.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return path


def test_ms_missing_rate_leaves_cost_unknown_bad_rate_quarantines(tmp_path: Path) -> None:
    loaded = load_file(_ms_with(tmp_path, 9, PCToBCExchangeRate=""))
    row = loaded.frame.set_index("row").loc[9]
    assert pd.isna(row.unit_cost) and row.quantity == 3 * QTY_SCALE
    loaded = load_file(_ms_with(tmp_path, 9, PCToBCExchangeRate="0,92x"))
    assert 9 not in set(loaded.frame["row"])
    q = loaded.quarantine.set_index("row").loc[9]
    assert (q.reason, q.value) == ("bad_number", "0,92x")


def test_ms_quantity_falls_back_to_quantity_column(tmp_path: Path) -> None:
    loaded = load_file(_ms_with(tmp_path, 1, BillableQuantity=""))
    assert loaded.frame.set_index("row").loc[1, "quantity"] == 10 * QTY_SCALE
    loaded = load_file(_ms_with(tmp_path, 1, BillableQuantity="", Quantity=""))
    assert loaded.quarantine.set_index("row").loc[1, "reason"] == "missing_value"


def test_truncate_convert_is_exact_beyond_int64_and_truncates_toward_zero() -> None:
    price = pd.Series([12345678901, -18700000, 18700000, pd.NA], dtype="Int64")
    rate = pd.Series([150123456789, 921183776, pd.NA, 1000000000], dtype="Int64")
    out = truncate_convert(price, rate)
    expected = (Decimal("12345.678901") * Decimal("150.123456789")).quantize(
        Decimal("0.01"), rounding=ROUND_DOWN
    )
    assert money(out[0]) == expected
    assert money(out[1]) == Decimal("-17.22")
    assert out[2:].isna().all()
    assert RATE_SCALE == 10**9 and MONEY_SCALE == 10**6


# --- Pax8 invoice items ----------------------------------------------------------------------


def test_pax8_invoice_items_values(month_dir: Path) -> None:
    loaded = _load(month_dir, ITEMS_JSON)
    inv = loaded.inventory.set_index("file").loc[ITEMS_JSON.name]
    assert (inv.rows_read, inv.rows_used, inv.rows_quarantined) == (8, 8, 0)
    d = _rows(loaded.delivered, ITEMS_JSON.name)
    first = d.loc[f"{ITEMS_JSON.name}:1"]
    assert (first.vendor, first.vendor_customer_id) == ("pax8", BRICK)
    assert first.client_link == "29683512"  # externalId: the PSA client id
    assert first.vendor_sku == "4f76b357-9ac1-47fa-9369-feb80a32f87e"
    assert money(first.unit_cost) == Decimal("18.7")  # cost, not the customer price 22
    assert (first.charge_type, first.currency) == ("subscription", "USD")
    # inclusive end as written stays; exclusive ends lose a day
    assert first.charge_end == _day("2026-10-31")
    assert d.loc[f"{ITEMS_JSON.name}:3", "charge_end"] == _day("2026-10-31")  # 2026-11-01
    back = d.loc[f"{ITEMS_JSON.name}:4"]
    assert (back.charge_start, back.charge_end) == (_day("2019-04-01"), _day("2019-04-30"))
    # 2026-10-20T23:30:00.000-0700 is 21 October in UTC; the date as written counts
    credit = d.loc[f"{ITEMS_JSON.name}:6"]
    assert credit.charge_start == _day("2026-10-20")
    assert credit.quantity == -1 * QTY_SCALE
    # a positive quantity on a line with negative totals is a credit
    assert d.loc[f"{ITEMS_JSON.name}:8", "quantity"] == -1 * QTY_SCALE
    assert d.loc[f"{ITEMS_JSON.name}:2", "charge_start"] == _day("2026-10-15")  # ISO Z


def test_pax8_invoice_items_csv(month_dir: Path) -> None:
    loaded = _load(month_dir, ITEMS_CSV)
    d = _rows(loaded.delivered, ITEMS_CSV.name)
    assert len(d) == 5
    vfc = d.loc[f"{ITEMS_CSV.name}:1"]
    assert (vfc.vendor_customer_name, vfc.client_link) == ("VFC Network, Inc", "29683547")
    storage = d.loc[f"{ITEMS_CSV.name}:2"]
    assert qty(storage.quantity) == Decimal("312.75")
    assert money(storage.unit_cost) == Decimal("0.045")
    assert d.loc[f"{ITEMS_CSV.name}:4", "charge_end"] == _day("2026-11-30")  # 2026-12-01


def _money_line(base: dict, kind: str, description: str, total: float) -> dict:
    """A Pax8 money-only invoice item shaped like the fixture's records."""
    record = dict(base)
    record.update(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"pax8:{kind}")),
        type=kind,
        description=description,
        productId=None,
        productName=None,
        sku=None,
        subscriptionId=None,
        unitOfMeasure=None,
        chargeType="flat",
        term="One-time",
        quantity=1,
        price=total,
        subTotal=total,
        total=total,
        amountDue=total,
        cost=0,
        costTotal=0,
        salesTax=0,
        vendorName=None,
    )
    return record


def test_pax8_money_lines_are_quarantined_naming_their_type(month_dir: Path) -> None:
    doc = json.loads(ITEMS_JSON.read_text(encoding="utf-8"))
    base = doc["content"][0]
    doc["content"] += [
        _money_line(base, "payment-credit", "Payment received - thank you", -500.0),
        _money_line(base, "invoice-credit", "Credit for invoice 7a390f4e", -25.0),
        _money_line(base, "rebate", "Microsoft NCE incentive rebate, Q3", -14.2),
        _money_line(base, "service-charge", "Pax8 billing service fee, October", 25.0),
        _money_line(base, "Service Credit", "Service credit: Exchange outage", -12.5),
        _money_line(base, "", "Line without a type", 1.0),
    ]
    path = month_dir / "pax8_items_oct.json"
    path.write_text(_repaged(doc), encoding="utf-8")
    loaded = _load(month_dir, path)
    inv = loaded.inventory.set_index("file").loc[path.name]
    assert (inv.rows_read, inv.rows_used, inv.rows_quarantined) == (14, 8, 6)
    q = loaded.quarantine.set_index("row")
    for row, kind in zip(
        range(9, 14),
        ("payment-credit", "invoice-credit", "rebate", "service-charge", "Service Credit"),
        strict=True,
    ):
        assert q.loc[row, "reason"] == "not_billable_line"
        assert q.loc[row, "value"] == kind
        assert f"'{kind}'" in q.loc[row, "detail"]
    assert q.loc[14, "reason"] == "missing_value"


def test_inclusive_end_rule() -> None:
    start = pd.Series(
        pd.to_datetime(
            [
                "2019-04-01",
                "2025-02-01",
                "2026-10-15",
                "2026-03-15",
                "2026-10-01",
                "2026-10-05",
                None,
            ]
        )
    )
    end = pd.Series(
        pd.to_datetime(
            [
                "2019-05-01",
                "2025-02-28",
                "2026-11-01",
                "2027-03-15",
                "2026-10-01",
                None,
                "2026-11-01",
            ]
        )
    )
    out = inclusive_end(start, end)
    assert out.tolist()[:5] == [
        _day("2019-04-30"),
        _day("2025-02-28"),
        _day("2026-10-31"),
        _day("2027-03-14"),
        _day("2026-10-01"),
    ]
    assert pd.isna(out[5]) and out[6] == _day("2026-11-01")  # no start: as written


# --- Pax8 subscriptions and companies --------------------------------------------------------


def test_subscriptions_get_company_name_and_client_link(month_dir: Path) -> None:
    loaded = _load(month_dir, SUBSCRIPTIONS, COMPANIES)
    inv = loaded.inventory.set_index("file")
    assert inv.loc[SUBSCRIPTIONS.name, "rows_used"] == 6
    assert inv.loc[COMPANIES.name, "rows_used"] == 4
    d = _rows(loaded.delivered, SUBSCRIPTIONS.name)
    assert len(d) == 6 and (d.vendor == "pax8").all()
    brick = d.loc[f"{SUBSCRIPTIONS.name}:1"]
    assert (brick.vendor_customer_name, brick.client_link) == ("Brick and Mortar Tech", "29683512")
    assert money(brick.unit_cost) == Decimal("18.7")  # partnerCost, not price
    assert (brick.charge_start, brick.charge_type) == (_day("2024-03-01"), "Active")
    vfc = d.loc[f"{SUBSCRIPTIONS.name}:3"]
    assert vfc.client_link == "29683547"
    assert vfc.charge_start == _day("2025-06-15")  # 2025-06-15T13:20:13.153-0700
    cancelled = d.loc[f"{SUBSCRIPTIONS.name}:4"]
    assert (cancelled.charge_type, cancelled.charge_end) == ("Cancelled", _day("2026-10-18"))
    assert d.loc[f"{SUBSCRIPTIONS.name}:5", "charge_end"] == _day("2026-10-31")
    bank = d.loc[f"{SUBSCRIPTIONS.name}:6"]  # the company has no externalId
    assert (bank.vendor_customer_name, bank.client_link) == ("0633 - Citizens State Bank", "")
    assert set(loaded.tables["pax8.companies"]["external_id"]) == {
        "29683512",
        "29683547",
        "29683611",
        "",
    }


def test_subscriptions_without_companies_keep_their_rows(month_dir: Path) -> None:
    d = _rows(_load(month_dir, SUBSCRIPTIONS).delivered, SUBSCRIPTIONS.name)
    assert len(d) == 6
    assert (d.vendor_customer_name == "").all() and (d.client_link == "").all()


def test_cancelled_subscription_without_end_date_is_quarantined(month_dir: Path) -> None:
    doc = json.loads(SUBSCRIPTIONS.read_text(encoding="utf-8"))
    gone = dict(doc["content"][1], id="3c9e5d21-7b4a-4f0e-8d6c-a1f2b3c4d5e6", status="Cancelled")
    doc["content"].append(gone)
    path = month_dir / "pax8_subscriptions_oct.json"
    path.write_text(_repaged(doc), encoding="utf-8")
    loaded = _load(month_dir, path)
    q = loaded.quarantine.set_index("row").loc[7]
    assert (q.reason, q.detail) == ("not_billable_line", "cancelled subscription without endDate")
    assert len(_rows(loaded.delivered, path.name)) == 6


def test_linker_fills_only_what_is_empty(month_dir: Path) -> None:
    doc = json.loads(COMPANIES.read_text(encoding="utf-8"))
    doc["content"][0]["name"] = "Brick & Mortar Technologies"
    doc["content"][0]["id"] = BRICK.upper()  # ids compare case-insensitively
    companies = month_dir / COMPANIES.name
    companies.write_text(json.dumps(doc), encoding="utf-8")
    loaded = _load(month_dir, companies, SUBSCRIPTIONS, MS)
    d = loaded.delivered
    subs = _rows(d, SUBSCRIPTIONS.name)
    assert subs.loc[f"{SUBSCRIPTIONS.name}:1", "vendor_customer_name"] == (
        "Brick & Mortar Technologies"
    )
    assert subs.loc[f"{SUBSCRIPTIONS.name}:1", "client_link"] == "29683512"
    ms = _rows(d, MS.name)
    assert len(ms) == 13 and (ms.client_link == "").all()
    assert len(d) == 13 + 6  # replaced, not appended
    (month_dir / SUBSCRIPTIONS.name).unlink()  # beside items, subscriptions only corroborate
    loaded = _load(month_dir, ITEMS_JSON)
    items = _rows(loaded.delivered, ITEMS_JSON.name)
    assert items.loc[f"{ITEMS_JSON.name}:1", "vendor_customer_name"] == "Brick and Mortar Tech"
    assert len(loaded.delivered) == 13 + 8
