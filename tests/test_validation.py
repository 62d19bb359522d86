"""Typed conversion with quarantine: numbers, dates, IDs, duplicates, missing values.

Every rejected value ends in the quarantine with its file, row, column and a reason from
QuarantineReason; every accepted value is exact.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from recon_helpers.core.period import Period
from recon_helpers.core.schemas import QTY_SCALE, QuarantineReason
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import LoadedPeriod, load_period
from recon_helpers.ingest.loaders.canonical import DELIVERED_FIELDS, spec_header

COLUMNS = spec_header(DELIVERED_FIELDS)
LOSE_ANY = "\n[quarantine]\nmax_share = 1\n"


def _row(sep: str = ",", **values: str) -> str:
    base = {
        "vendor": "ninjaone",
        "vendor_customer_id": "C-1",
        "vendor_customer_name": "Fabrikam",
        "vendor_sku": "ws",
        "sku_name": "Workstation",
        "quantity": "5",
        "unit_cost": "2.75",
        "currency": "USD",
        "charge_start": "2026-10-01",
        "charge_end": "",
    }
    base.update(values)
    return sep.join(base[c] for c in COLUMNS)


def _load(
    month_dir: Path, rows: list[str], *, sep: str = ",", toml: str = "", name: str = "x.csv"
) -> LoadedPeriod:
    (month_dir / name).write_text("\n".join([sep.join(COLUMNS), *rows]) + "\n", encoding="utf-8")
    root = month_dir.parents[1]
    # these files are a few rows, most of them bad on purpose: the share rule (a file losing
    # more than [quarantine] max_share is an error) has its own tests (test_ingest_damaged.py)
    (root / "recon.toml").write_text(toml + LOSE_ANY, encoding="utf-8")
    return load_period(Workspace.open(root), Period.parse("2026-10"))


def _quarantined(loaded: LoadedPeriod) -> dict[int, tuple[str, str]]:
    q = loaded.quarantine
    assert (q["file"] != "").all()
    return {int(r.row): (r.reason, r.column) for r in q.itertuples()}


def _by_id(loaded: LoadedPeriod) -> pd.DataFrame:
    return loaded.delivered.set_index("vendor_customer_id")


# --- numbers ---------------------------------------------------------------------------------


def test_thousands_separators_and_accounting_negatives(month_dir: Path) -> None:
    loaded = _load(
        month_dir,
        [
            _row(vendor_customer_id="A", quantity='"1,234.50"', unit_cost='"1,234.567891"'),
            _row(vendor_customer_id="B", quantity='"(1,234.50)"', unit_cost='"$2,000.00"'),
            _row(vendor_customer_id="C", quantity="-3", unit_cost="0.038250"),
        ],
    )
    d = _by_id(loaded)
    assert d.loc["A", "quantity"] == 12_345_000
    assert d.loc["A", "unit_cost"] == 1_234_567_891
    assert d.loc["B", "quantity"] == -12_345_000
    assert d.loc["B", "unit_cost"] == 2_000_000_000
    assert d.loc["C", "quantity"] == -30_000
    assert d.loc["C", "unit_cost"] == 38_250
    assert loaded.quarantine.empty


def test_decimal_comma_when_recon_toml_says_so_for_the_file(month_dir: Path) -> None:
    rows = [
        _row(";", vendor_customer_id="A", quantity="1.234,50", unit_cost="0,45"),
        _row(";", vendor_customer_id="B", quantity="12", unit_cost="1.000"),
    ]
    toml = '[files."x.csv"]\ndecimal_comma = true\n'
    loaded = _load(month_dir, rows, sep=";", toml=toml)
    d = _by_id(loaded)
    assert d.loc["A", "quantity"] == 12_345_000
    assert d.loc["A", "unit_cost"] == 450_000
    assert d.loc["B", "unit_cost"] == 1_000_000_000  # 1.000 is one thousand here


def test_decimal_comma_is_per_file(month_dir: Path) -> None:
    # the setting names another file: 1.234,50 is then not a number, and says so
    rows = [_row(";", quantity="1.234,50")]
    loaded = _load(month_dir, rows, sep=";", toml='[files."other.csv"]\ndecimal_comma = true\n')
    assert _quarantined(loaded) == {1: ("bad_number", "quantity")}


def test_malformed_grouping_and_excess_decimals_are_bad_numbers(month_dir: Path) -> None:
    loaded = _load(
        month_dir,
        [
            _row(vendor_customer_id="A", quantity='"1,2,3"'),
            _row(vendor_customer_id="B", unit_cost="0.0382501"),  # 7 decimals, money keeps 6
            _row(vendor_customer_id="C", quantity="1.00001"),  # 5 decimals, quantity keeps 4
            _row(vendor_customer_id="D", quantity="1.50000000", unit_cost="0.038250000"),
            _row(vendor_customer_id="E", quantity="twelve"),
        ],
    )
    assert _quarantined(loaded) == {
        1: ("bad_number", "quantity"),
        2: ("bad_number", "unit_cost"),
        3: ("bad_number", "quantity"),
        5: ("bad_number", "quantity"),
    }
    d = _by_id(loaded)
    assert d.loc["D", "quantity"] == 15_000  # zeros past the scale lose nothing
    assert d.loc["D", "unit_cost"] == 38_250
    q = loaded.quarantine.set_index("row")
    assert q.loc[1, "value"] == "1,2,3"
    assert q.loc[1, "file"] == "x.csv"


def test_quantity_range_is_int64_fixed_point(month_dir: Path) -> None:
    big = str((2**63 - 1) // QTY_SCALE - 1)  # 922337203685476: about 838 TiB in bytes
    loaded = _load(
        month_dir,
        [
            _row(vendor_customer_id="A", quantity=big),
            _row(vendor_customer_id="B", quantity="1" + "0" * 15),
        ],
    )
    assert _by_id(loaded).loc["A", "quantity"] == int(big) * QTY_SCALE
    assert _quarantined(loaded) == {2: ("bad_number", "quantity")}


# --- dates -----------------------------------------------------------------------------------


def test_impossible_and_non_iso_dates_are_bad_dates(month_dir: Path) -> None:
    loaded = _load(
        month_dir,
        [
            _row(vendor_customer_id="A", charge_start="2026-02-30"),
            _row(vendor_customer_id="B", charge_start="30/10/2026"),  # D/M/Y in a canonical file
            _row(vendor_customer_id="C", charge_end="10/31/2026"),
            _row(vendor_customer_id="D", charge_start="2026-10-01T13:20:13-0700"),
        ],
    )
    assert _quarantined(loaded) == {
        1: ("bad_date", "charge_start"),
        2: ("bad_date", "charge_start"),
        3: ("bad_date", "charge_end"),
    }
    assert _by_id(loaded).loc["D", "charge_start"] == pd.Timestamp("2026-10-01")


# --- IDs and text ----------------------------------------------------------------------------


def test_ids_stay_exact_strings(month_dir: Path) -> None:
    loaded = _load(
        month_dir,
        [
            _row(vendor_customer_id="007", vendor_customer_name="Bond Logistics"),
            _row(vendor_customer_id="1478296601152864305", vendor_customer_name="Site"),
            _row(vendor_customer_id="1.23457E+17", vendor_customer_name="Mangled"),
            _row(vendor_customer_id="NA", vendor_customer_name="NULL"),
            _row(vendor_customer_id="NULL", vendor_customer_name="None"),
            _row(vendor_customer_id="None", vendor_customer_name="NA"),
        ],
    )
    ids = loaded.delivered["vendor_customer_id"].tolist()
    assert ids == ["007", "1478296601152864305", "NA", "NULL", "None"]
    assert loaded.delivered["vendor_customer_name"].tolist()[2:] == ["NULL", "None", "NA"]
    assert all(isinstance(v, str) for v in ids)
    assert _quarantined(loaded) == {3: ("bad_id", "vendor_customer_id")}


def test_missing_required_value(month_dir: Path) -> None:
    loaded = _load(
        month_dir,
        [
            _row(vendor_customer_id="A", vendor_sku=""),
            _row(vendor_customer_id="B", quantity=" "),
            _row(vendor_customer_id="", vendor_customer_name=""),
            _row(vendor_customer_id="D"),
        ],
    )
    assert _quarantined(loaded) == {
        1: ("missing_value", "vendor_sku"),
        2: ("missing_value", "quantity"),
        3: ("missing_value", "vendor_customer_id"),
    }
    assert set(loaded.quarantine["reason"]) <= {r.value for r in QuarantineReason}


# --- duplicates ------------------------------------------------------------------------------


def test_exact_duplicate_lines(month_dir: Path) -> None:
    line = _row(vendor_customer_id="A")
    loaded = _load(month_dir, [line, _row(vendor_customer_id="B"), line, line])
    assert _quarantined(loaded) == {3: ("duplicate_row", ""), 4: ("duplicate_row", "")}
    assert loaded.delivered["source"].tolist() == ["x.csv:1", "x.csv:2"]


def test_conflicting_duplicates_in_canonical_clients(month_dir: Path) -> None:
    text = "client_id,client_name\nFAB,Fabrikam\nCON,Contoso\nFAB,Fabrikam Holdings\nCON,Contoso\n"
    (month_dir / "clients.csv").write_text(text, encoding="utf-8")
    loaded = load_period(Workspace.open(month_dir.parents[1]), Period.parse("2026-10"))
    assert _quarantined(loaded) == {
        1: ("conflicting_duplicate", "client_id"),
        3: ("conflicting_duplicate", "client_id"),
        4: ("duplicate_row", "client_id"),
    }
    assert loaded.clients["client_id"].tolist() == ["CON"]
    inv = loaded.inventory.set_index("file").loc["clients.csv"]
    assert (inv["rows_read"], inv["rows_used"], inv["rows_quarantined"]) == (4, 1, 3)


@pytest.mark.parametrize("reason", ["ragged_row", "bad_number", "duplicate_row"])
def test_first_problem_wins_and_each_row_is_counted_once(month_dir: Path, reason: str) -> None:
    bad = {
        "ragged_row": _row(quantity="x") + ",extra",
        "bad_number": _row(quantity="x", charge_start="2026-13-01"),
        "duplicate_row": _row(),
    }[reason]
    loaded = _load(month_dir, [_row(), bad])
    assert loaded.quarantine["row"].tolist() == [2]
    assert loaded.quarantine["reason"].tolist() == [reason]


def test_the_canonical_headers_are_specs() -> None:
    from recon_helpers.ingest.loaders.canonical import BILLED_FIELDS, CLIENT_FIELDS, PROMISED_FIELDS

    spec = {  # ../shared/SPEC.md, "canonical files"
        "vendor,vendor_customer_id,vendor_customer_name,vendor_sku,sku_name,quantity,unit_cost,"
        "currency,charge_start,charge_end": DELIVERED_FIELDS,
        "client_id,client_name,agreement_id,product_id,description,quantity,unit_price,"
        "unit_cost,currency,effective_date,cancelled_date": PROMISED_FIELDS,
        "client_id,invoice_number,invoice_date,product_id,description,quantity,unit_price,"
        "amount,currency,period_start,period_end": BILLED_FIELDS,
        "client_id,client_name": CLIENT_FIELDS,
    }
    for header, fields in spec.items():
        assert ",".join(spec_header(fields)) == header
