"""Distributor billing files (Sherweb payable charges, StreamOne Ion subscriptions)."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recon_helpers.core.period import Period
from recon_helpers.core.schemas import MONEY_SCALE, QTY_SCALE
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import LoadedPeriod, load_period
from recon_helpers.ingest.loaders.distributors import signed_by_amount, tag_values

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
PERIOD = Period.parse("2026-10")


def _load(root: Path, name: str, doc: dict | None = None) -> LoadedPeriod:
    folder = root / "data" / "inputs" / str(PERIOD)
    folder.mkdir(parents=True)
    if doc is None:
        shutil.copy(FIXTURES / name, folder / name)
    else:
        (folder / name).write_text(json.dumps(doc), encoding="utf-8")
    return load_period(Workspace.open(root / "data"), PERIOD)


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _money(text: str) -> int:
    return int(Decimal(text) * MONEY_SCALE)


@pytest.fixture(scope="module")
def sherweb(tmp_path_factory: pytest.TempPathFactory) -> LoadedPeriod:
    return _load(tmp_path_factory.mktemp("sherweb"), "sherweb_payable_charges.json")


# ----------------------------------------------------------------------------- Sherweb


def test_sherweb_charge_golden_values(sherweb: LoadedPeriod) -> None:
    d = sherweb.delivered.set_index("source")
    m365 = d.loc["sherweb_payable_charges.json:1"]
    assert m365["vendor"] == "sherweb"
    assert m365["vendor_customer_id"] == "c1a8e9b2-55f1-4d0c-9d47-61c9e1f0a101"  # CustomerId tag
    assert m365["vendor_customer_name"] == "Contoso Dental"  # CustomerDisplayName tag
    assert m365["vendor_sku"] == "CFQ7TTC0LCHC:0002"
    assert m365["quantity"] == 25 * QTY_SCALE
    assert m365["unit_cost"] == _money("26.64")  # netPrice, after the performance deduction
    assert m365["currency"] == "CAD"
    assert (m365["charge_start"], m365["charge_end"]) == (
        pd.Timestamp("2026-10-01"), pd.Timestamp("2026-10-31"))
    assert m365["charge_type"] == "Recurring:Monthly"
    usage = d.loc["sherweb_payable_charges.json:3"]
    assert (usage["vendor_customer_id"], usage["vendor_customer_name"]) == ("", "Fabrikam, Inc.")
    assert usage["quantity"] == 145_000  # 14.5 workloads, exact
    annual = d.loc["sherweb_payable_charges.json:4"]
    assert annual["charge_end"] == pd.Timestamp("2027-03-14")  # 2027-03-15 is exclusive


def test_sherweb_credit_lowers_seats_and_cost(sherweb: LoadedPeriod) -> None:
    credit = sherweb.delivered.set_index("source").loc["sherweb_payable_charges.json:2"]
    assert credit["quantity"] == -2 * QTY_SCALE  # subTotal -27.50 with a positive quantity
    assert credit["unit_cost"] == _money("26.64")  # stays positive: cost = -2 x 26.64


@pytest.mark.parametrize(
    ("quantity", "net_price", "sub_total", "want_qty", "want_cost"),
    [
        (2, 26.64, -53.28, -2, "26.64"),  # positive quantity, negative total
        (-2, -26.64, -53.28, -2, "26.64"),  # both negative: still one credit, not a charge
        (-2, 26.64, -53.28, -2, "26.64"),  # negative quantity
        (2, -26.64, -53.28, -2, "26.64"),  # negative price
        (-3, 10, 30, 3, "10"),  # a charge written with a negative quantity
    ],
)
def test_sherweb_credit_signs_whatever_the_file_writes(tmp_path: Path, quantity, net_price,
                                                       sub_total, want_qty, want_cost) -> None:
    doc = _fixture("sherweb_payable_charges.json")
    doc["charges"] = doc["charges"][:1]
    doc["charges"][0].update(quantity=quantity, netPrice=net_price, subTotal=sub_total)
    row = _load(tmp_path, "charges.json", doc).delivered.iloc[0]
    assert row["quantity"] == want_qty * QTY_SCALE
    assert row["unit_cost"] == _money(want_cost)


def test_sherweb_setup_fee_and_nameless_charge_are_quarantined(tmp_path: Path) -> None:
    doc = _fixture("sherweb_payable_charges.json")
    doc["charges"][0]["chargeType"] = "Setup"
    doc["charges"][2]["tags"] = [{"name": "ResellerName", "value": "Acme IT"}]
    doc["charges"][3]["subTotal"] = "12,5"  # not a number with a decimal point
    loaded = _load(tmp_path, "charges.json", doc)
    q = loaded.quarantine.sort_values("row")
    assert q[["row", "reason", "column"]].values.tolist() == [
        [1, "not_billable_line", "charge_kind"],
        [3, "missing_value", "tags"],
        [4, "bad_number", "sub_total"],
    ]
    assert "Setup charge" in q["detail"].iloc[0]
    assert loaded.delivered["source"].tolist() == ["charges.json:2"]


def test_sherweb_double_noise_in_quantity_is_rounded_away(tmp_path: Path) -> None:
    doc = _fixture("sherweb_payable_charges.json")
    doc["charges"][2]["quantity"] = 14.499999999999998
    row = _load(tmp_path, "charges.json", doc).delivered.set_index("source").loc["charges.json:3"]
    assert row["quantity"] == 145_000


def test_tag_values_are_found_case_insensitively() -> None:
    tags = pd.Series([
        json.dumps([{"name": "customerdisplayname", "value": "A"},
                    {"name": "CUSTOMERID", "value": "7"}]),
        json.dumps([{"name": "Other", "value": "x"}]),
        "",
        "not json",
    ])
    assert tag_values(tags, ("customerid",)).tolist() == ["7", "", "", ""]
    assert tag_values(tags, ("customerdisplayname",)).tolist() == ["A", "", "", ""]


@given(
    st.integers(min_value=-10**9, max_value=10**9).filter(bool),
    st.integers(min_value=-10**9, max_value=10**9).filter(bool),
    st.integers(min_value=-10**12, max_value=10**12).filter(bool),
)
def test_a_line_never_moves_cost_against_its_amount(q: int, c: int, amount: int) -> None:
    """Property: after signing, quantity x unit cost has the sign of the line amount."""
    qty, cost = signed_by_amount(pd.Series([q], dtype="int64"), pd.Series([c], dtype="Int64"),
                                 pd.Series([amount], dtype="Int64"))
    assert (int(qty.iloc[0]) * int(cost.iloc[0]) > 0) == (amount > 0)
    assert abs(int(qty.iloc[0])) == abs(q) and int(cost.iloc[0]) == abs(c)


# ----------------------------------------------------------------------------- StreamOne Ion


def test_streamone_subscription_golden_values(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "streamone_subscriptions.json")
    d = loaded.delivered.set_index("source")
    m365 = d.loc["streamone_subscriptions.json:1"]
    assert (m365["vendor"], m365["vendor_customer_id"], m365["vendor_customer_name"]) == (
        "streamone", "4410921", "Contoso Dental")
    assert m365["vendor_sku"] == "MS-M365BP-NCE-M"
    assert m365["quantity"] == 25 * QTY_SCALE
    assert pd.isna(m365["unit_cost"])  # the billingData cost's unit is unconfirmed: unknown
    assert m365["currency"] == "USD"
    cancelled = d.loc["streamone_subscriptions.json:3"]
    assert cancelled["charge_end"] == pd.Timestamp("2026-10-15")
    assert cancelled["charge_type"] == "cancelled"


def test_streamone_cancelled_without_end_and_skuless_are_quarantined(tmp_path: Path) -> None:
    doc = _fixture("streamone_subscriptions.json")
    doc["items"][2]["subscriptionEndDate"] = None
    doc["items"][1]["ccpSkuId"] = None
    doc["items"][1]["subscriptionSkuId"] = ""
    doc["items"][0]["ccpSkuId"] = None  # falls back to the vendor SKU
    loaded = _load(tmp_path, "subs.json", doc)
    q = loaded.quarantine.sort_values("row")
    assert q[["row", "reason", "column"]].values.tolist() == [
        [2, "missing_value", "vendor_sku"], [3, "not_billable_line", "charge_type"]]
    assert loaded.delivered["vendor_sku"].tolist() == ["CFQ7TTC0LCHC:0002"]
