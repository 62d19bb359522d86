"""HaloPSA clients, items, recurring invoices and invoices: nested lines to promised and billed
rows, which lines count, Halo's doubles, and bad input (a header is one record)."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recon_helpers.core.errors import InputFileError
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import BILLED, MONEY_SCALE, PROMISED, money, qty
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import load_period
from recon_helpers.ingest.loaders.halopsa import LINES
from recon_helpers.ingest.loaders.halopsa_lines import undouble
from recon_helpers.ingest.parsing import parse_fixed

FORMATS_DIR = Path(__file__).parent / "fixtures" / "formats"
HALO_FILES = sorted(FORMATS_DIR.glob("halopsa_*.json"))
RECURRING = "halopsa_recurring_invoices.json"
INVOICES = "halopsa_invoices.json"
PERIOD = Period.parse("2026-10")


def _workspace(root: Path, files: list[Path]) -> Workspace:
    folder = root / "data" / "inputs" / str(PERIOD)
    folder.mkdir(parents=True)
    for f in files:
        shutil.copy(f, folder / f.name)
    return Workspace.open(root / "data")


def _doc(name: str) -> dict:
    return json.loads((FORMATS_DIR / name).read_text(encoding="utf-8"))


def _load_with(tmp_path: Path, name: str, doc: dict, others: list[Path] = HALO_FILES):
    ws = _workspace(tmp_path, [f for f in others if f.name != name])
    (ws.inputs(PERIOD) / name).write_text(json.dumps(doc), encoding="utf-8")
    return load_period(ws, PERIOD)


@pytest.fixture(scope="module")
def halo(tmp_path_factory: pytest.TempPathFactory):
    return load_period(_workspace(tmp_path_factory.mktemp("halo"), HALO_FILES), PERIOD)


def _line(loaded, line_id: str) -> pd.Series:
    lines = loaded.tables[LINES]
    hit = lines[lines.line_id.eq(line_id)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_rows_are_headers_and_are_conserved(halo) -> None:
    inv = halo.inventory.set_index("file")
    assert inv.rows_read.to_dict() == {
        "halopsa_clients.json": 4, INVOICES: 3, "halopsa_items.json": 4, RECURRING: 3}
    assert (inv.rows_used == inv.rows_read).all() and halo.quarantine.empty


def test_golden_promised_row(halo) -> None:
    row = halo.promised[halo.promised.description.eq("Microsoft 365 Business Premium")
                        & halo.promised.client_id.eq("12")].iloc[0]
    assert {c: row[c] for c in PROMISED.names()} == {
        "client_id": "12",
        "client_name": "Contoso Dental",
        "agreement_id": "812",  # the recurring invoice
        "product_id": "77",  # the line's _itemid
        "description": "Microsoft 365 Business Premium",
        "quantity": 12 * 10_000,
        "less_included": 0,
        "unit_price": 22_000_000,
        "unit_cost": 18_700_000,
        "currency": "USD",
        "effective_date": pd.Timestamp("2025-01-01"),
        "cancelled_date": pd.NaT,
        "billable": True,
        "source": f"{RECURRING}:1",
        "psa": "halopsa",  # the ids a write-back names: recurring invoice, line, item
        "psa_agreement_id": "812",
        "psa_line_id": "5123",
        "psa_service_id": "77",
        "psa_version": "",
    }


def test_golden_billed_row(halo) -> None:
    row = halo.billed[halo.billed.product_id.eq("81")].iloc[0]
    assert {c: row[c] for c in BILLED.names()} == {
        "client_id": "12",
        "invoice_number": "INV-1042",
        "invoice_date": pd.Timestamp("2026-10-01"),
        "product_id": "81",
        "description": "Managed device (RMM)",
        "quantity": 12 * 10_000,
        "unit_price": 13_700_000,
        "amount": 164_400_000,  # net_amount 164.39999999999998: a double, rounded
        "currency": "USD",
        "period_start": pd.Timestamp("2026-10-01"),
        "period_end": pd.Timestamp("2026-10-31"),
        "source": f"{INVOICES}:1",
    }


def test_product_key_is_the_item_id_on_both_sides(halo) -> None:
    assert set(halo.promised.product_id) == {"77", "78", "81"}
    assert set(halo.billed.product_id) == {"77", "78", "81"}
    assert set(halo.catalogue.product_id) == {"77", "78", "81", "85"}


def test_line_dates_currency_and_prorata_fields(halo) -> None:
    fab = halo.promised[halo.promised.client_id.eq("44")].set_index("product_id")
    assert fab.loc["78", "effective_date"] == pd.Timestamp("2026-10-15")
    assert fab.loc["77", "cancelled_date"] == pd.Timestamp("2026-10-20")
    assert set(fab.currency) == {"GBP"} and set(halo.billed[halo.billed.client_id.eq("44")]
                                                .currency) == {"GBP"}
    rmm = _line(halo, "5124")
    assert (rmm.prorata_next_invoice, qty(rmm.prorata_quantity),
            money(rmm.prorata_unit_price)) == (True, Decimal(2), Decimal("6.85"))
    assert qty(halo.promised.set_index("product_id").loc["81", "quantity"]) == Decimal(12)


def test_lines_that_are_not_services_are_kept_not_reconciled(halo) -> None:
    uses = {lid: _line(halo, lid).line_use for lid in ("5125", "5133", "70013", "70031")}
    assert uses == {"5125": "heading", "5133": "inactive", "70013": "no_item",
                    "70031": "voided"}
    assert len(halo.promised) == 4 and len(halo.billed) == 4
    empty = halo.tables[LINES]
    assert empty[empty.source.eq(f"{RECURRING}:3")].line_use.tolist() == ["no_lines"]


def test_catalogue_prices_recurring_items_at_their_recurring_price(halo) -> None:
    cat = halo.catalogue.set_index("product_id")
    assert (money(cat.loc["81", "unit_price"]), money(cat.loc["81", "unit_cost"])) == (
        Decimal("3.5"), Decimal("1.1"))  # recurringcost, not costprice 0.0
    assert money(cat.loc["85", "unit_price"]) == Decimal(125)  # not recurring: baseprice


def test_the_flag_decides_the_side_before_the_format(tmp_path: Path) -> None:
    doc = _doc(INVOICES)
    recurring = _doc(RECURRING)["invoices"][0]
    recurring["invoicenumber"], recurring["invoice_date"] = None, None
    doc["invoices"].append(recurring)  # a full-shape recurring invoice among invoices
    del doc["invoices"][1]["is_recurring_invoice"]  # no flag: the detected format decides
    loaded = _load_with(tmp_path, INVOICES, doc, [])
    assert loaded.inventory.format.tolist() == ["halopsa_invoices"]
    assert set(loaded.promised.agreement_id) == {"812"}
    assert set(loaded.billed.invoice_number) == {"INV-1042", "INV-1043"}


def test_a_bad_line_sets_its_whole_header_aside(tmp_path: Path) -> None:
    doc = _doc(RECURRING)
    doc["invoices"][0]["lines"][1]["qty_order"] = None
    doc["invoices"][1]["lines"][0]["startdate"] = "2026-02-30T00:00:00"
    loaded = _load_with(tmp_path, RECURRING, doc)
    q = loaded.quarantine.set_index("row")
    assert q.loc[1, "reason"] == "missing_value"
    assert q.loc[1, "detail"] == "line 2 (id 5124): quantity (qty_order) is required but empty"
    assert q.loc[2, "reason"] == "bad_date"
    assert q.loc[2, "detail"].startswith("line 1 (id 5131): ")
    assert loaded.promised.empty  # no half of a recurring invoice is counted
    inv = loaded.inventory.set_index("file")
    assert inv.loc[RECURRING, ["rows_read", "rows_used", "rows_quarantined"]].tolist() == [3, 1, 2]


def test_bad_header_date_and_unknown_client(tmp_path: Path) -> None:
    doc = _doc(INVOICES)
    doc["invoices"][0]["invoice_date"] = "01/10/2026"
    doc["invoices"][1]["client_id"] = 4242
    loaded = _load_with(tmp_path, INVOICES, doc)
    q = loaded.quarantine[loaded.quarantine.file.eq(INVOICES)].set_index("row")
    assert q.loc[1, "reason"] == "bad_date" and q.loc[1, "column"] == "invoice_date"
    assert q.loc[2, "reason"] == "unknown_reference"
    assert q.loc[2, "detail"] == "client_id 4242 matches no loaded HaloPSA client"
    assert loaded.billed.empty
    inv = loaded.inventory
    assert (inv.rows_read == inv.rows_used + inv.rows_quarantined).all()


def test_without_a_clients_file_every_client_is_taken(tmp_path: Path) -> None:
    loaded = load_period(_workspace(tmp_path, [FORMATS_DIR / INVOICES]), PERIOD)
    assert len(loaded.billed) == 4 and loaded.quarantine.empty


def test_conflicting_duplicate_headers(tmp_path: Path) -> None:
    doc = _doc(INVOICES)
    doc["invoices"].append(dict(doc["invoices"][0], total=1.0))  # same id, other values
    loaded = _load_with(tmp_path, INVOICES, doc)
    q = loaded.quarantine
    assert set(q[q.reason.eq("conflicting_duplicate")].row) == {1, 4}
    assert "INV-1042" not in set(loaded.billed.invoice_number)


def test_headers_saved_without_lines_are_an_error(tmp_path: Path) -> None:
    doc = _doc(INVOICES)
    for header in doc["invoices"]:
        header["lines"] = []
    with pytest.raises(InputFileError, match=r"halopsa_invoices\.json: none of its 3 invoices"):
        _load_with(tmp_path, INVOICES, doc)


def test_a_line_that_is_not_an_object_is_an_error(tmp_path: Path) -> None:
    doc = _doc(INVOICES)
    doc["invoices"][1]["lines"].append("INV-1043 line 3")
    with pytest.raises(InputFileError, match=r"halopsa_invoices\.json:2: line 3 is not an object"):
        _load_with(tmp_path, INVOICES, doc)


def test_lines_that_are_not_a_list_are_an_error(tmp_path: Path) -> None:
    doc = _doc(RECURRING)
    doc["invoices"][1]["lines"] = "see the PDF"
    with pytest.raises(InputFileError, match=r"recurring_invoices\.json:2: lines is not a list"):
        _load_with(tmp_path, RECURRING, doc)


def test_undouble_rounds_artefacts_only() -> None:
    text = pd.Series(["164.39999999999998", "0.30000000000000004", "22.1234567", "12.0", ""])
    assert undouble(text, MONEY_SCALE).tolist() == [
        "164.400000", "0.300000", "22.1234567", "12.0", ""]
    values, bad = parse_fixed(undouble(text, MONEY_SCALE), MONEY_SCALE)
    assert bad.tolist() == [False, False, True, False, False]  # 7 decimals as written: bad
    assert values.iloc[0] == 164_400_000


@given(
    st.decimals(min_value=-10**5, max_value=10**5, places=2, allow_nan=False),
    st.decimals(min_value=0, max_value=10**4, places=2, allow_nan=False),
)
def test_a_double_product_parses_to_the_exact_product(price: Decimal, quantity: Decimal) -> None:
    # Halo computes net_amount as a double; what it writes must come back exact
    written = repr(float(price) * float(quantity))
    values, bad = parse_fixed(undouble(pd.Series([written]), MONEY_SCALE), MONEY_SCALE)
    assert not bad.iloc[0]
    assert Decimal(int(values.iloc[0])) / MONEY_SCALE == price * quantity
