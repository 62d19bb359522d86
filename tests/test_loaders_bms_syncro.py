"""Kaseya BMS and Syncro loaders: linking, exact values, the BMS error envelope, bad lines."""

from __future__ import annotations

import json
import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recon_helpers.cli import main
from recon_helpers.core.errors import InputFileError
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import MONEY_SCALE, QTY_SCALE
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import LoadedPeriod, load_period
from recon_helpers.ingest.loaders.amounts import denoise_doubles, from_cents, line_amount
from recon_helpers.ingest.readers import read_json_text

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
BMS = sorted(FIXTURES.glob("kaseya_bms_*.json"))
SYNCRO = sorted(FIXTURES.glob("syncro_*.json"))
PERIOD = Period.parse("2026-10")


# bad rows planted in files of a few rows: more than [quarantine] max_share would be an error;
# the tests passing it look at the rows one by one
LOSE_ANY = "[quarantine]\nmax_share = 1\n"


def _load(root: Path, files: list[Path], docs: dict[str, dict] | None = None,
          toml: str = "") -> LoadedPeriod:
    folder = root / "data" / "inputs" / str(PERIOD)
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy(f, folder / f.name)
    for name, doc in (docs or {}).items():
        (folder / name).write_text(json.dumps(doc), encoding="utf-8")
    if toml:
        (root / "data" / "recon.toml").write_text(toml, encoding="utf-8")
    return load_period(Workspace.open(root / "data"), PERIOD)


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _money(text: str) -> int:
    return int(Decimal(text) * MONEY_SCALE)


@pytest.fixture(scope="module")
def bms(tmp_path_factory: pytest.TempPathFactory) -> LoadedPeriod:
    return _load(tmp_path_factory.mktemp("bms"), BMS)


@pytest.fixture(scope="module")
def syncro(tmp_path_factory: pytest.TempPathFactory) -> LoadedPeriod:
    return _load(tmp_path_factory.mktemp("syncro"), SYNCRO)


# ----------------------------------------------------------------------------- Kaseya BMS


def test_bms_contract_services_become_promised_lines_of_the_account(bms: LoadedPeriod) -> None:
    p = bms.promised.set_index("product_id")
    assert sorted(p.index) == ["44", "45", "47"]
    m365 = p.loc["44"]
    assert (m365["client_id"], m365["client_name"], m365["agreement_id"]) == (
        "5012", "Contoso Dental", "311")
    assert m365["quantity"] == 25 * QTY_SCALE
    assert m365["unit_price"] == _money("22") and m365["unit_cost"] == _money("18.7")
    assert m365["effective_date"] == pd.Timestamp("2026-01-01")
    assert m365["cancelled_date"] == pd.Timestamp("2026-12-31")  # the contract's EndDate
    assert p.loc["47", "effective_date"] == pd.Timestamp("2026-10-15")  # the service's own date
    assert p.loc["47", "source"] == "kaseya_bms_contract_services.json:3"
    assert set(bms.quarantine["file"]) == set()


def test_bms_invoice_lines_find_their_service_by_name(bms: LoadedPeriod) -> None:
    b = bms.billed.set_index("source")
    first = b.loc["kaseya_bms_invoice_lines.json:1"]
    assert (first["client_id"], first["invoice_number"], first["product_id"]) == (
        "5012", "INV-10452", "44")
    assert first["amount"] == _money("550") and first["unit_price"] == _money("22")
    assert (first["period_start"], first["period_end"]) == (
        pd.Timestamp("2026-10-01"), pd.Timestamp("2026-10-31"))
    # contract 318 has no services loaded: the catalogue's "Backup 1TB" (Id 52) is the service
    assert b.loc["kaseya_bms_invoice_lines.json:4", "product_id"] == "52"
    assert b.loc["kaseya_bms_invoice_lines.json:4", "client_id"] == "5013"
    cat = bms.catalogue.set_index("product_id")
    assert cat.loc["52", "unit_price"] == _money("116")


@pytest.mark.parametrize(
    "doc",
    [
        {"Success": False, "Error": {"Code": 401, "Message": "Token has expired",
                                     "Details": None, "StackStrace": None, "SubErrors": []},
         "Result": None, "TotalRecords": 0},
        {"Success": False, "Error": {"Code": 500, "Message": "Timeout", "SubErrors": None},
         "Result": [], "TotalRecords": 0},
        {"Success": False, "Error": "Invalid tenant", "Result": None},
    ],
)
def test_bms_error_document_is_an_error_naming_the_file(tmp_path: Path, doc: dict) -> None:
    with pytest.raises(InputFileError, match=r"contracts_oct\.json: is an API error response") as e:
        _load(tmp_path, [], {"contracts_oct.json": doc})
    assert "Success: false" in str(e.value)
    assert "not data" in str(e.value)
    assert e.value.exit_code == 2


def test_bms_error_document_exits_2_on_the_command_line(tmp_path: Path, capsys) -> None:
    doc = {"Success": False, "Error": {"Code": 401, "Message": "Token has expired"}, "Result": None}
    (tmp_path / "data" / "inputs" / str(PERIOD)).mkdir(parents=True)
    (tmp_path / "data" / "inputs" / str(PERIOD) / "accounts.json").write_text(json.dumps(doc))
    assert main(["reconcile", "--workspace", str(tmp_path / "data"), "--period", str(PERIOD)]) == 2
    err = capsys.readouterr().err
    assert "accounts.json" in err and "Token has expired" in err


def test_bms_successful_empty_result_is_not_an_error_document(tmp_path: Path) -> None:
    doc = {"Success": True, "Error": None, "Result": [], "TotalRecords": 0}
    raw = read_json_text(tmp_path / "empty.json", json.dumps(doc))
    assert raw.rows_read == 0 and raw.container == "Result"


def test_bms_double_noise_is_rounded_and_other_precision_quarantined(tmp_path: Path) -> None:
    doc = _fixture("kaseya_bms_invoice_lines.json")
    doc["Result"][0]["TotalPrice"] = 550.0000000000001  # binary noise of 550.00
    doc["Result"][1]["UnitPrice"] = "19.1234567"  # seven real decimals: no double noise
    files = [f for f in BMS if f.name != "kaseya_bms_invoice_lines.json"]
    loaded = _load(tmp_path, files, {"lines.json": doc})
    b = loaded.billed.set_index("source")
    assert b.loc["lines.json:1", "amount"] == _money("550")
    q = loaded.quarantine
    assert q[["file", "row", "reason", "column"]].values.tolist() == [
        ["lines.json", 2, "bad_number", "unit_price"]]


def test_bms_unknown_references_are_quarantined(tmp_path: Path) -> None:
    services = _fixture("kaseya_bms_contract_services.json")
    services["Result"]["Services"][2]["ContractId"] = 999
    contracts = _fixture("kaseya_bms_contracts.json")
    contracts["Result"][0]["AccountName"] = "Contoso Dental Group"  # no such account
    lines = _fixture("kaseya_bms_invoice_lines.json")
    lines["Result"][1]["Name"] = "Printer lease"  # neither the contract's nor the catalogue's
    lines["Result"][2]["InvoiceId"] = 1  # no such invoice
    keep = [f for f in BMS if f.name in ("kaseya_bms_accounts.json", "kaseya_bms_invoices.json",
                                          "kaseya_bms_services.json")]
    loaded = _load(tmp_path, keep, {"svc.json": services, "contracts.json": contracts,
                                    "lines.json": lines}, LOSE_ANY)
    q = loaded.quarantine.sort_values(["file", "row"])
    assert q[["file", "row", "reason", "column"]].values.tolist() == [
        ["lines.json", 2, "unknown_reference", "name"],
        ["lines.json", 3, "unknown_reference", "invoice_id"],
        ["svc.json", 1, "unknown_reference", "account_name"],
        ["svc.json", 2, "unknown_reference", "account_name"],
        ["svc.json", 3, "unknown_reference", "contract_id"],
    ]
    assert "'Contoso Dental Group' matches no loaded Kaseya BMS account" in " ".join(q["detail"])
    assert loaded.promised.empty
    assert sorted(loaded.billed["source"]) == ["lines.json:1", "lines.json:4"]


def test_bms_account_name_shared_by_two_accounts_is_not_guessed(tmp_path: Path) -> None:
    accounts = _fixture("kaseya_bms_accounts.json")
    accounts["Result"][1]["AccountName"] = "CONTOSO DENTAL "  # same name, other account
    files = [f for f in BMS if f.name != "kaseya_bms_accounts.json"]
    loaded = _load(tmp_path, files, {"accounts.json": accounts}, LOSE_ANY)
    q = loaded.quarantine
    assert set(q["reason"]) == {"unknown_reference"}
    assert q["detail"].str.contains("matches several Kaseya BMS accounts").all()
    assert loaded.promised.empty


# ----------------------------------------------------------------------------- Syncro


def test_syncro_schedule_lines_are_promised_in_exact_cents(syncro: LoadedPeriod) -> None:
    p = syncro.promised
    contoso = p[p["client_id"].eq("28311902")].set_index("product_id")
    assert sorted(contoso.index) == ["9914021", "9914025"]  # the one-time onboarding is not
    m365 = contoso.loc["9914021"]
    assert m365["unit_price"] == _money("22.00") and m365["unit_cost"] == _money("18.70")
    assert m365["quantity"] == 25 * QTY_SCALE
    assert (m365["agreement_id"], m365["client_name"]) == ("409881", "Contoso Dental")
    assert m365["effective_date"] == pd.Timestamp("2026-01-05")
    assert pd.isna(m365["cancelled_date"]) and m365["billable"]
    assert len(p) == 4


def test_syncro_empty_schedule_is_read_not_quarantined(syncro: LoadedPeriod) -> None:
    inv = syncro.inventory.set_index("file").loc["syncro_schedules.json"]
    assert (inv["rows_read"], inv["rows_used"], inv["rows_quarantined"]) == (3, 3, 0)
    lines = syncro.tables["syncro.schedule_lines"]
    assert lines.loc[lines["schedule_id"].eq("410377"), "line"].tolist() == [0]


def test_syncro_customer_without_business_name_is_named_by_person(syncro: LoadedPeriod) -> None:
    names = syncro.clients.set_index("client_id")["client_name"]
    assert names["28312044"] == "Priya Nair"
    assert names["28311907"] == "Fabrikam, Inc."


def test_syncro_invoice_lines_with_discount_and_free_text(syncro: LoadedPeriod) -> None:
    b = syncro.billed
    fab = b[b["client_id"].eq("28311907")].set_index("product_id")
    assert sorted(fab.index) == ["9914025", "9914040"]  # the labour line has no product
    backup = fab.loc["9914040"]
    assert backup["unit_price"] == _money("116") and backup["amount"] == _money("417.60")
    assert backup["invoice_number"] == "2342"
    assert backup["invoice_date"] == pd.Timestamp("2026-10-01")


def test_syncro_price_not_in_whole_cents_quarantines_the_schedule(tmp_path: Path) -> None:
    doc = _fixture("syncro_schedules.json")
    doc["schedules"][0]["line_items"][1]["retail_cents"] = "19.50"  # dollars in a cents field
    loaded = _load(tmp_path, [], {"schedules.json": doc})
    q = loaded.quarantine
    assert q[["row", "reason", "column"]].values.tolist() == [[1, "bad_number", "retail_cents"]]
    assert "not a whole number of cents" in q["detail"].iloc[0]
    assert "409881" not in set(loaded.promised["agreement_id"])  # none of its lines is used
    assert set(loaded.promised["agreement_id"]) == {"409902"}


def test_syncro_bad_line_names_the_line_and_drops_its_schedule(tmp_path: Path) -> None:
    doc = _fixture("syncro_schedules.json")
    doc["schedules"][1]["line_items"][1]["quantity"] = "four"
    doc["schedules"][0]["line_items"] = "not a list"
    loaded = _load(tmp_path, [], {"schedules.json": doc}, LOSE_ANY)
    q = loaded.quarantine.sort_values("row")
    assert q[["row", "reason", "column"]].values.tolist() == [
        [1, "missing_value", "line_items"], [2, "bad_number", "quantity"]]
    assert q["detail"].iloc[1].startswith("line_items[1]: quantity is not a number")
    assert loaded.promised.empty
    inv = loaded.inventory.iloc[0]
    assert (inv["rows_read"], inv["rows_used"], inv["rows_quarantined"]) == (3, 1, 2)


def test_syncro_credit_line_keeps_its_sign(tmp_path: Path) -> None:
    doc = _fixture("syncro_invoices.json")
    doc["invoices"][0]["line_items"][0]["quantity"] = "-2.0"
    loaded = _load(tmp_path, [], {"invoices.json": doc})
    credit = loaded.billed[loaded.billed["product_id"].eq("9914021")].iloc[0]
    assert credit["quantity"] == -2 * QTY_SCALE and credit["amount"] == _money("-44")


# ----------------------------------------------------------------------------- exact money


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_whole_cents_convert_exactly(cents: int) -> None:
    money, fractional = from_cents(pd.Series([cents * MONEY_SCALE], dtype="Int64"))
    assert money.iloc[0] == cents * MONEY_SCALE // 100 and not fractional.iloc[0]
    assert Decimal(int(money.iloc[0])) / MONEY_SCALE == Decimal(cents) / 100


@given(
    st.integers(min_value=-10**8, max_value=10**8),
    st.integers(min_value=0, max_value=10**10),
    st.integers(min_value=0, max_value=100 * QTY_SCALE),
)
def test_line_amount_is_the_exact_amount_rounded_half_up_at_the_cent(q: int, p: int, d: int
                                                                      ) -> None:
    got = line_amount(pd.Series([q], dtype="Int64"), pd.Series([p], dtype="Int64"),
                      pd.Series([d], dtype="Int64")).iloc[0]
    share = 1 - Decimal(d) / QTY_SCALE / 100
    exact = (Decimal(q) / QTY_SCALE) * (Decimal(p) / MONEY_SCALE) * share
    cents = exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)  # half away from zero
    assert Decimal(int(got)) / MONEY_SCALE == cents


def test_denoise_leaves_short_and_exact_values_alone(tmp_path: Path) -> None:
    doc = {"Result": [{"UnitPrice": "0.30000000000000004"}, {"UnitPrice": "29.99"},
                      {"UnitPrice": "-2.9999999999999996"}, {"UnitPrice": "1.1234567"}]}
    raw = denoise_doubles(read_json_text(tmp_path / "x.json", json.dumps(doc)), ("UnitPrice",))
    assert raw.data["UnitPrice"].tolist() == ["0.300000", "29.99", "-3.000000", "1.1234567"]


@pytest.mark.parametrize(
    ("name", "path", "value", "reason", "column"),
    [
        ("kaseya_bms_contract_services.json", ("Result", "Services", 1, "EffectiveDate"),
         "2026-13-01T00:00:00", "bad_date", "effective_date"),
        ("kaseya_bms_invoices.json", ("Result", 0, "AccountId"), "5.012E+3", "bad_id",
         "account_id"),
        ("kaseya_bms_accounts.json", ("Result", 2, "Id"), None, "missing_value", "client_id"),
        ("syncro_customers.json", ("customers", 1, "id"), 28311902, "conflicting_duplicate",
         "id"),
        ("syncro_invoices.json", ("invoices", 1, "date"), "10/01/2026", "bad_date",
         "invoice_date"),
    ],
)
def test_bad_values_are_quarantined_with_their_reason(tmp_path: Path, name: str, path: tuple,
                                                      value, reason: str, column: str) -> None:
    doc = _fixture(name)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    others = [f for f in (*BMS, *SYNCRO) if f.name != name]  # the files it links to
    loaded = _load(tmp_path, others, {name: doc})
    q = loaded.quarantine[loaded.quarantine["file"].eq(name)]  # (its lines may follow it)
    assert set(q["reason"]) == {reason}
    assert set(q["column"]) == {column}
