"""Credits keep their signs; a quarantined row says what it concerns; Pax8 counted once.

* A credit is stored as a negative quantity at a non-negative unit cost whatever combination
  of negative quantity, price, cost and total the vendor writes (``amounts.credit_signs``).
* Quarantined rows carry ``client_id``, ``product_id``, ``vendor``, ``vendor_customer`` and
  ``vendor_sku``, from the row itself or, for a PSA row that reaches its client through another
  file, through the linker (a ConnectWise addition through its agreement).
* Pax8 subscriptions beside Pax8 invoice items corroborate, never add.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from recon_helpers.core.period import Period
from recon_helpers.core.schemas import MONEY_SCALE, QTY_SCALE, QUARANTINE_IDENTITY
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import load_period
from recon_helpers.ingest.loaders.amounts import credit_signs

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
PERIOD = Period.parse("2026-10")
CW = ["connectwise_companies.json", "connectwise_agreements.json", "connectwise_catalog.json"]


def _doc(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _load(month_dir: Path, docs: dict[str, Any], copies: tuple[str, ...] = (),
          toml: str = ""):  # type: ignore[no-untyped-def]
    for name in copies:
        shutil.copy(FIXTURES / name, month_dir / name)
    for name, doc in docs.items():
        (month_dir / name).write_text(json.dumps(doc), encoding="utf-8")
    if toml:
        (month_dir.parents[1] / "recon.toml").write_text(toml, encoding="utf-8")
    return load_period(Workspace.open(month_dir.parents[1]), PERIOD)


# --- credit signs ----------------------------------------------------------------------------


def test_pax8_credit_written_negative_everywhere_lowers_seats_and_cost(month_dir: Path) -> None:
    doc = _doc("pax8_invoice_items.json")
    credit = doc["content"][5]  # quantity -1 at cost 3.40, costTotal -1.32
    credit.update(price=-4.5, cost=-3.4)
    loaded = _load(month_dir, {"items.json": doc})
    row = loaded.delivered.set_index("source").loc["items.json:6"]
    assert (row["quantity"], row["unit_cost"]) == (-1 * QTY_SCALE, 3_400_000)


def test_pax8_positive_quantity_on_a_negative_total_is_a_credit(month_dir: Path) -> None:
    loaded = _load(month_dir, {}, ("pax8_invoice_items.json",))
    row = loaded.delivered.set_index("source").loc["pax8_invoice_items.json:8"]
    assert (row["quantity"], row["unit_cost"]) == (-1 * QTY_SCALE, 20 * MONEY_SCALE)


def test_microsoft_reversal_pairs_keep_their_signs(month_dir: Path) -> None:
    loaded = _load(month_dir, {}, ("microsoft_nce_invoice_recon.csv",))
    d = loaded.delivered.set_index("source")
    name = "microsoft_nce_invoice_recon.csv"
    # removeQuantity -12 then +10 (negative BillableQuantity at a positive price)
    assert d.loc[f"{name}:11", "quantity"] == -12 * QTY_SCALE
    assert d.loc[f"{name}:12", "quantity"] == 10 * QTY_SCALE
    # addQuantity written +5 with a negative Subtotal: the reversal of the old count
    assert d.loc[f"{name}:7", "quantity"] == -5 * QTY_SCALE
    assert (d["unit_cost"].dropna() >= 0).all()


def test_canonical_credit_with_a_negative_price(month_dir: Path) -> None:
    (month_dir / "usage.csv").write_text(
        "vendor,vendor_customer_id,vendor_customer_name,vendor_sku,sku_name,quantity,unit_cost,"
        "currency,charge_start,charge_end\n"
        "keeper,K-1,Contoso,kb,Keeper,5,4.00,USD,2026-10-01,\n"
        "keeper,K-1,Contoso,kb,Keeper,2,-4.00,USD,2026-10-15,\n", encoding="utf-8")
    d = load_period(Workspace.open(month_dir.parents[1]), PERIOD).delivered
    assert d["quantity"].tolist() == [5 * QTY_SCALE, -2 * QTY_SCALE]
    assert d["unit_cost"].tolist() == [4 * MONEY_SCALE, 4 * MONEY_SCALE]


signed = st.integers(-10**9, 10**9)


@given(signed, signed, st.one_of(st.none(), st.integers(-10**12, 10**12)))
def test_a_credit_never_adds_cost_or_seats(q: int, c: int, amount: int | None) -> None:
    """Property: magnitudes are kept, the cost is never negative, and the line counts as a
    credit (negative quantity) exactly when its amount is negative, or, without an amount,
    when any of quantity and cost is."""
    qty, cost = credit_signs(pd.Series([q], dtype="int64"), pd.Series([c], dtype="Int64"),
                             None if amount is None else pd.Series([amount], dtype="Int64"))
    got_q, got_c = int(qty.iloc[0]), int(cost.iloc[0])
    assert abs(got_q) == abs(q) and got_c == abs(c)
    credit = amount < 0 if amount else (q < 0 or c < 0)
    assert got_q == (-abs(q) if credit else abs(q))
    assert got_q * got_c <= 0 if credit else got_q * got_c >= 0


# --- what a quarantined row concerns --------------------------------------------------------


def test_addition_without_quantity_names_its_client_and_product(month_dir: Path) -> None:
    additions = _doc("connectwise_additions.json")
    additions[0]["quantity"] = None  # agreement 1001 -> company
    loaded = _load(month_dir, {"cw_agreement_additions.json": additions}, tuple(CW))
    q = loaded.quarantine.set_index("row").loc[1]
    agreements = {a["id"]: a["company"]["identifier"] for a in _doc(CW[1])}
    assert (q["reason"], q["column"]) == ("missing_value", "quantity")
    assert (q["client_id"], q["product_id"]) == (agreements[1001], "RMM-AGENT")


def test_addition_of_an_unknown_agreement_keeps_its_product(month_dir: Path) -> None:
    additions = _doc("connectwise_additions.json")
    additions[0]["agreementId"] = 999
    loaded = _load(month_dir, {"cw_agreement_additions.json": additions}, tuple(CW))
    q = loaded.quarantine.set_index("row").loc[1]
    assert (q["reason"], q["client_id"], q["product_id"]) == ("unknown_reference", "",
                                                             "RMM-AGENT")


def test_autotask_unit_reaches_its_company_through_the_contract(month_dir: Path) -> None:
    units = _doc("autotask_contract_service_units.json")
    units["items"][0]["units"] = "twelve"
    contracts = {c["id"]: str(c["companyID"]) for c in _doc("autotask_contracts.json")["items"]}
    loaded = _load(month_dir, {"units.json": units}, ("autotask_contracts.json",))
    q = loaded.quarantine.set_index("row").loc[1]
    first = units["items"][0]
    assert (q["client_id"], q["product_id"]) == (contracts[first["contractID"]],
                                                 str(first["serviceID"]))


def test_vendor_rows_name_vendor_customer_and_sku(month_dir: Path) -> None:
    items = _doc("pax8_invoice_items.json")
    items["content"][0]["quantity"] = "eleven"
    rows = list(csv.reader(io.StringIO(
        (FIXTURES / "microsoft_nce_invoice_recon.csv").read_text(encoding="utf-8-sig"))))
    rows[9][rows[0].index("BillableQuantity")] = "three"
    with (month_dir / "ms.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    loaded = _load(month_dir, {"items.json": items})
    q = loaded.quarantine.set_index("file")
    first = items["content"][0]
    assert q.loc["items.json", list(QUARANTINE_IDENTITY)].tolist() == [
        "", "", "pax8", first["companyId"], first["productId"]]
    ms = q.loc["ms.csv"]
    assert (ms["reason"], ms["vendor"], ms["vendor_sku"]) == ("bad_number", "microsoft",
                                                              "CFQ7TTC0LCHC:0002")
    assert ms["vendor_customer"] == rows[9][rows[0].index("CustomerId")]


# --- one vendor in two file families ------------------------------------------------------


def test_pax8_subscriptions_beside_invoice_items_only_corroborate(month_dir: Path) -> None:
    loaded = _load(month_dir, {}, ("pax8_invoice_items.json", "pax8_subscriptions.json"))
    d = loaded.delivered
    assert set(d["source"].str.rsplit(":", n=1).str[0]) == {"pax8_invoice_items.json"}
    aux = loaded.tables["corroborating.pax8_subscriptions"]
    assert len(aux) == 6
    inv = loaded.inventory.set_index("file")
    subs = inv.loc["pax8_subscriptions.json"]
    assert subs["rows_read"] == subs["rows_used"] == 6  # rows read = used + quarantined
    assert subs["note"].startswith("not counted: corroborates pax8_invoice_items")
    differ = loaded.tables["corroboration"]
    assert list(differ.columns)[:5] == ["vendor", "vendor_customer_id", "vendor_sku",
                                        "counted_quantity", "corroborating_quantity"]
    # the fixtures disagree on 3 keys, e.g. 8 seats subscribed, 8 - 1 credited on the invoice
    assert len(differ) == 3
    vfc = differ.set_index("vendor_sku").loc["e91bba5e-a9a3-483f-b036-f80165d410e3"]
    assert (vfc["counted_quantity"], vfc["corroborating_quantity"]) == (7 * QTY_SCALE,
                                                                       8 * QTY_SCALE)
    assert "3 customer x SKU quantities differ at month end" in subs["note"]


def test_pax8_subscriptions_alone_are_the_delivered_rows(month_dir: Path) -> None:
    loaded = _load(month_dir, {}, ("pax8_subscriptions.json",))
    assert len(loaded.delivered) == 6 and "corroboration" not in loaded.tables
