"""ConnectWise and Autotask loaders: detection, linking to canonical tables, exact values."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from recon_helpers.core.period import Period
from recon_helpers.core.schemas import MONEY_SCALE, QTY_SCALE, money, qty
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import load_period
from recon_helpers.ingest.loaders import autotask, connectwise
from recon_helpers.ingest.loaders.connectwise import mul_div_round
from recon_helpers.ingest.raw import norm_header
from recon_helpers.ingest.readers import read_raw
from recon_helpers.ingest.registry import detect_format

FORMATS_DIR = Path(__file__).parent / "fixtures" / "formats"
CW_FILES = sorted(FORMATS_DIR.glob("connectwise_*.json"))
AT_FILES = sorted(FORMATS_DIR.glob("autotask_*.json"))
PERIOD = Period.parse("2026-10")


def _workspace(root: Path, files: list[Path], toml: str = "") -> Workspace:
    folder = root / "data" / "inputs" / str(PERIOD)
    folder.mkdir(parents=True)
    for f in files:
        shutil.copy(f, folder / f.name)
    if toml:
        (root / "data" / "recon.toml").write_text(toml, encoding="utf-8")
    return Workspace.open(root / "data")


@pytest.fixture(scope="module")
def cw(tmp_path_factory: pytest.TempPathFactory):
    """The ConnectWise fixtures loaded together."""
    return load_period(_workspace(tmp_path_factory.mktemp("cw"), CW_FILES), PERIOD)


@pytest.fixture(scope="module")
def at(tmp_path_factory: pytest.TempPathFactory):
    """The Autotask fixtures loaded together."""
    return load_period(_workspace(tmp_path_factory.mktemp("at"), AT_FILES), PERIOD)


def _row(frame: pd.DataFrame, source: str) -> pd.Series:
    hit = frame[frame["source"].eq(source)]
    assert len(hit) == 1, f"{source}: {len(hit)} rows"
    return hit.iloc[0]


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


# ----------------------------------------------------------------------------- detection


def test_every_psa_format_has_a_fixture() -> None:
    names = {f.name for f in (*connectwise.FORMATS, *autotask.FORMATS)}
    assert names == {p.stem for p in CW_FILES + AT_FILES}


@pytest.mark.parametrize("path", CW_FILES + AT_FILES, ids=lambda p: p.stem)
def test_fixture_detected_as_itself_only(path: Path) -> None:
    raw = read_raw(path)
    assert detect_format(raw).name == path.stem
    present = {norm_header(c) for c in raw.data.columns}
    family = connectwise.FORMATS if path.stem.startswith("connectwise") else autotask.FORMATS
    fitting = [
        f.name
        for f in family
        if f.normalized_signature() <= present
        and not ({norm_header(c) for c in f.excludes} & present)
        and f.container == raw.container
    ]
    assert fitting == [path.stem]


def test_autotask_envelope_and_user_defined_fields_shapes() -> None:
    companies = read_raw(FORMATS_DIR / "autotask_companies.json")
    contracts = read_raw(FORMATS_DIR / "autotask_contracts.json")
    assert companies.container == contracts.container == "items"
    # [] in one entity, "" in another (real django-autotask fixtures): both load
    assert companies.data["userDefinedFields"].iloc[0] == "[]"
    assert contracts.data["userDefinedFields"].iloc[0] == ""


# ----------------------------------------------------------------------------- ConnectWise


def test_connectwise_rows_conserved(cw) -> None:
    inv = cw.inventory.set_index("file")
    assert (inv.rows_read == inv.rows_used + inv.rows_quarantined).all()
    assert inv.loc["connectwise_additions.json", ["rows_read", "rows_used"]].tolist() == [10, 9]
    assert inv.loc["connectwise_invoice_products.json", "rows_quarantined"] == 2
    assert len(cw.promised) == 9
    assert len(cw.billed) == 7


def test_connectwise_client_is_company_identifier_reached_through_agreement(cw) -> None:
    row = _row(cw.promised, "connectwise_additions.json:1")
    assert (row.client_id, row.client_name) == ("ContosoDental", "Contoso Dental Group, P.C.")
    assert (row.agreement_id, row.product_id) == ("1001", "RMM-AGENT")
    assert row.quantity == 25 * QTY_SCALE
    assert money(row.unit_price) == Decimal("12.5")
    assert money(row.unit_cost) == Decimal("3.25")
    assert row.currency == "USD"
    assert set(cw.clients["client_id"]) >= {"ContosoDental", "NorthwindLaw", "AdatumVet"}


def test_connectwise_lines_keep_the_psa_ids_a_write_back_names(cw) -> None:
    row = _row(cw.promised, "connectwise_additions.json:1")
    assert (row.psa, row.psa_agreement_id, row.psa_line_id, row.psa_service_id) == (
        "connectwise", "1001", "5001", "311")  # agreement, addition, catalogue item
    assert row.psa_version == "2026-10-02T16:20:45Z"  # _info.lastUpdated, as written


def test_connectwise_bill_customer_and_less_included(cw) -> None:
    bp = _row(cw.promised, "connectwise_additions.json:2")
    assert bp.billable
    assert (qty(bp.quantity), qty(bp.less_included)) == (Decimal(18), Decimal(2))
    assert not _row(cw.promised, "connectwise_additions.json:3").billable  # DoNotBill
    assert not _row(cw.promised, "connectwise_additions.json:8").billable  # NoCharge
    assert cw.promised["less_included"].dtype == "int64"


def test_connectwise_missing_agreement_is_quarantined(cw) -> None:
    q = cw.quarantine
    hit = q[q.file.eq("connectwise_additions.json") & q.row.eq(9)]
    assert hit.reason.tolist() == ["unknown_reference"]
    assert "9999" in hit.detail.iloc[0]
    gone = "connectwise_additions.json:9"
    assert gone not in set(cw.promised.source)
    assert gone not in set(cw.tables[connectwise.ADDITIONS].source)


def test_connectwise_line_stops_with_its_agreement(cw) -> None:
    def stop(n: int) -> pd.Timestamp:
        return _row(cw.promised, f"connectwise_additions.json:{n}").cancelled_date

    assert stop(7) == _ts("2026-10-20")  # the addition's own cancelledDate
    assert stop(6) == _ts("2026-10-15")  # agreement dateCancelled, earlier than its endDate
    assert stop(10) == _ts("2026-09-30")  # expired agreement's endDate
    assert pd.isna(stop(1))  # open-ended agreement, live addition
    # '2019-03-01T05: 00: 00Z' (space after the colons, as CW sometimes writes) still parses
    assert _row(cw.promised, "connectwise_additions.json:4").effective_date == _ts("2019-03-01")
    assert _row(cw.promised, "connectwise_additions.json:5").effective_date == _ts("2026-10-12")


def test_connectwise_invoice_lines_to_the_cent(cw) -> None:
    billed = cw.billed
    line = _row(billed, "connectwise_invoice_products.json:4")
    assert (line.client_id, line.invoice_number, line.product_id) == (
        "NorthwindLaw", "41874", "RMM-AGENT"
    )
    assert line.invoice_date == _ts("2026-10-01")
    assert money(line.amount) == Decimal("470")
    backup = _row(billed, "connectwise_invoice_products.json:6")
    assert (qty(backup.quantity), money(backup.amount)) == (Decimal("2.5"), Decimal("237.5"))
    assert backup.invoice_date == _ts("2026-10-05")
    header = cw.tables[connectwise.INVOICES].set_index("invoice_number")
    per_invoice = billed.groupby("invoice_number")["amount"].sum()
    assert per_invoice["41872"] == header.loc["41872", "total"] == 475 * MONEY_SCALE


def test_connectwise_credit_memo_lines_are_negative(cw) -> None:
    credit = _row(cw.billed, "connectwise_invoice_products.json:7")
    assert credit.invoice_number == "41876"
    assert qty(credit.quantity) == Decimal(-3)
    assert money(credit.amount) == Decimal("-35.25")
    assert money(credit.unit_price) == Decimal("11.75")


def test_connectwise_products_without_a_loaded_invoice(cw) -> None:
    q = cw.quarantine[cw.quarantine.file.eq("connectwise_invoice_products.json")]
    reasons = dict(zip(q.row, q.reason, strict=True))
    assert reasons == {8: "unknown_reference", 9: "not_billable_line"}
    assert "41880" in q[q.row.eq(8)].detail.iloc[0]


def test_connectwise_amount_computed_when_no_extended_price(tmp_path: Path) -> None:
    products = json.loads((FORMATS_DIR / "connectwise_invoice_products.json").read_text())
    base = products[0]
    lines = []
    for n, (quantity, price, option, invoice) in enumerate(
        [
            ("3.3333", "0.03825", "Billable", (88101, "41872")),  # 0.127498725 -> 0.127499
            ("2", "6.5", "NoCharge", (88101, "41872")),  # printed at no charge
            ("1.5", "11.75", "Billable", (88105, "41876")),  # credit memo, positive in source
        ],
        start=1,
    ):
        line = {k: v for k, v in base.items() if k != "extPrice"}
        line.update(id=90000 + n, quantity=float(quantity), price=float(price),
                    billableOption=option, invoice={"id": invoice[0], "identifier": invoice[1]})
        lines.append(line)
    ws = _workspace(tmp_path, [FORMATS_DIR / "connectwise_invoices.json"])
    (ws.inputs(PERIOD) / "cw_products_oct.json").write_text(json.dumps(lines), encoding="utf-8")
    billed = load_period(ws, PERIOD).billed.set_index("source")["amount"]
    assert money(billed["cw_products_oct.json:1"]) == Decimal("0.127499")
    assert billed["cw_products_oct.json:2"] == 0
    assert money(billed["cw_products_oct.json:3"]) == Decimal("-17.625")


def test_mul_div_round_is_exact_and_rounds_half_away_from_zero() -> None:
    a = pd.Series([5, -5, 7, 10**9, None, 4], dtype="Int64")
    out = mul_div_round(a, 1, pd.Series([2, 2, 2, 1, 2, 0], dtype="Int64"))
    assert out.tolist()[:4] == [3, -3, 4, 10**9]
    assert out.isna().tolist()[4:] == [True, True]
    # 10^9 x 10^12 overflows int64 on the way; the exact result 10^17 does not
    big = mul_div_round(pd.Series([10**9], dtype="Int64"), 10**12, QTY_SCALE)
    assert big.iloc[0] == 10**17


# ----------------------------------------------------------------------------- Autotask


def test_autotask_rows_conserved(at) -> None:
    inv = at.inventory.set_index("file")
    assert (inv.rows_read == inv.rows_used + inv.rows_quarantined).all()
    units = "autotask_contract_service_units.json"
    assert inv.loc[units, ["rows_read", "rows_used", "rows_quarantined"]].tolist() == [9, 8, 1]
    assert len(at.promised) == 8


def test_autotask_promised_from_contract_service_units(at) -> None:
    row = _row(at.promised, "autotask_contract_service_units.json:2")
    assert (row.client_id, row.client_name) == ("174", "Upstate Document Providers")
    assert (row.agreement_id, row.product_id) == ("29684183", "12")
    assert row.description == "Managed Workstation"
    assert qty(row.quantity) == Decimal(20)
    # price 900.0000 is the extended amount for 20 units
    assert (money(row.unit_price), money(row.unit_cost)) == (Decimal(45), Decimal(12))
    assert row.billable and row.currency == "USD"
    assert (row.effective_date, row.cancelled_date) == (_ts("2026-10-01"), _ts("2026-10-31"))


def test_autotask_lines_keep_the_psa_ids_a_write_back_names(at) -> None:
    row = _row(at.promised, "autotask_contract_service_units.json:2")
    assert (row.psa, row.psa_agreement_id, row.psa_line_id, row.psa_service_id,
            row.psa_version) == ("autotask", "29684183", "310", "12", "")


def test_autotask_unknown_contract_is_quarantined(at) -> None:
    q = at.quarantine
    hit = q[q.file.eq("autotask_contract_service_units.json")]
    assert hit.row.tolist() == [9] and hit.reason.tolist() == ["unknown_reference"]
    assert "29689999" in hit.detail.iloc[0]


def test_autotask_split_units_give_two_promised_rows(at) -> None:
    edr = at.promised[at.promised.agreement_id.eq("29684190") & at.promised.product_id.eq("19")]
    edr = edr.sort_values("effective_date")
    assert [qty(v) for v in edr.quantity] == [Decimal(30), Decimal(34)]
    assert edr.effective_date.tolist() == [_ts("2026-10-01"), _ts("2026-10-15")]
    # the first piece ends the day before the adjustment, so the pieces never overlap
    assert edr.cancelled_date.tolist() == [_ts("2026-10-14"), _ts("2026-10-31")]
    assert {money(v) for v in edr.unit_price} == {Decimal("6.5")}


def test_autotask_local_midnight_dates_land_on_the_right_day(at) -> None:
    contracts = at.tables[autotask.CONTRACTS].set_index("contract_id")
    assert contracts.loc["29684183", "start_date"] == _ts("2012-10-24")  # ...T05:00:00.000Z
    assert contracts.loc["29684201", "start_date"] == _ts("2020-02-24")  # ...-23T13:00:00Z
    physio = _row(at.promised, "autotask_contract_service_units.json:7")
    assert (physio.effective_date, physio.cancelled_date) == (_ts("2026-10-01"), _ts("2026-10-31"))


def test_autotask_timezone_from_recon_toml(tmp_path: Path) -> None:
    toml = '[autotask]\ntimezone = "Australia/Sydney"\n'
    loaded = load_period(_workspace(tmp_path, AT_FILES, toml), PERIOD)
    contracts = loaded.tables[autotask.CONTRACTS].set_index("contract_id")
    assert contracts.loc["29684201", "start_date"] == _ts("2020-02-24")
    physio = _row(loaded.promised, "autotask_contract_service_units.json:7")
    assert physio.effective_date == _ts("2026-10-01")


def test_autotask_unit_price_when_price_is_not_extended(tmp_path: Path) -> None:
    doc = json.loads((FORMATS_DIR / "autotask_contract_service_units.json").read_text())
    first = doc["items"][5]  # contract service 313, unitPrice 42.5000
    per_unit = dict(first, id=9101, price=42.5)  # a tenant storing the per-unit price
    no_service = dict(first, id=9102, contractServiceID=398, units=3, price=100)
    doc["items"] = [per_unit, no_service]
    doc["pageDetails"]["count"] = 2  # what the page holds (ingest/completeness.py checks it)
    ws = _workspace(
        tmp_path,
        [FORMATS_DIR / "autotask_contracts.json", FORMATS_DIR / "autotask_contract_services.json"],
    )
    (ws.inputs(PERIOD) / "csu_oct.json").write_text(json.dumps(doc), encoding="utf-8")
    promised = load_period(ws, PERIOD).promised.set_index("source")["unit_price"]
    assert money(promised["csu_oct.json:1"]) == Decimal("42.5")
    assert money(promised["csu_oct.json:2"]) == Decimal("33.333333")  # 100 / 3, half away


def test_autotask_unit_row_stops_with_its_contract(tmp_path: Path) -> None:
    doc = json.loads((FORMATS_DIR / "autotask_contract_service_units.json").read_text())
    backup = dict(doc["items"][7], endDate="2026-10-31T04:00:00.000Z")  # contract ends Oct 15
    doc["items"] = [backup]
    doc["pageDetails"]["count"] = 1
    ws = _workspace(tmp_path, [FORMATS_DIR / "autotask_contracts.json"])
    (ws.inputs(PERIOD) / "csu_oct.json").write_text(json.dumps(doc), encoding="utf-8")
    row = _row(load_period(ws, PERIOD).promised, "csu_oct.json:1")
    assert row.cancelled_date == _ts("2026-10-15")
    assert money(row.unit_price) == Decimal(95)  # 285 / 3 without the contract service file


def test_both_psas_load_together(tmp_path: Path) -> None:
    loaded = load_period(_workspace(tmp_path, CW_FILES + AT_FILES), PERIOD)
    assert len(loaded.promised) == 9 + 8
    # each linker reads only its own PSA's clients: no Autotask name on a CW row
    cw_rows = loaded.promised[loaded.promised.source.str.startswith("connectwise")]
    assert not cw_rows.client_name.isin(["Upstate Document Providers"]).any()
    assert loaded.clients.client_id.is_unique


def test_agreements_alone_link_to_nothing(tmp_path: Path) -> None:
    loaded = load_period(
        _workspace(tmp_path, [FORMATS_DIR / "connectwise_agreements.json"]), PERIOD
    )
    assert loaded.promised.empty and loaded.quarantine.empty
    assert loaded.inventory.rows_used.tolist() == [6]
