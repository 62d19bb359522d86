"""Sign-off seals: preparer then a different reviewer; verify names exactly what changed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from recon_helpers.audit import signoff as signoff_module
from recon_helpers.audit.decisions import record_decision
from recon_helpers.audit.ledger import Ledger
from recon_helpers.audit.readiness import Readiness
from recon_helpers.audit.signoff import SEAL_FILE, SignoffError, seal, status, verify
from recon_helpers.core.errors import ReconError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace

# A Partner Center NCE reconciliation line and canonical agreement lines (real headers).
NCE_CSV = (
    "PartnerId,CustomerId,CustomerName,CustomerDomainName,CustomerCountry,InvoiceNumber,"
    "MpnId,ResellerMpnId,OrderId,OrderDate,ProductId,SkuId,AvailabilityId,SkuName,ProductName,"
    "ChargeType,UnitPrice,Quantity,Subtotal,TaxTotal,Total,Currency,"
    "PriceAdjustmentDescription,PublisherName,SubscriptionId,ChargeStartDate,ChargeEndDate,"
    "EffectiveUnitPrice,UnitType,BillableQuantity\r\n"
    "4f1a9c3e-27b8-4d05-b6e2-8a13f0c5d7e9,8c4d2b1e-6a3f-4f7c-9e21-5b0d7a9c3e14,"
    "Contoso Dental LLC,contosodental.onmicrosoft.com,US,G032145678,6034453,6034453,"
    "rLG90n6zzoCTQF,10/1/2026,CFQ7TTC0LCHC,0002,CFQ7TTC0PRGQ,Microsoft 365 Business Premium,"
    "Microsoft 365 Business Premium,New,22.00,10,177.65,0.00,177.65,USD,"
    '"[""15.0% Partner earned credit for services managed""]",Microsoft Corporation,'
    "0a765893-8334-4ba8-92a2-94bc602ab29c,10/1/2026,10/31/2026,17.765,Licenses,10\r\n"
)
AGREEMENTS_CSV = (
    "client_id,client_name,agreement_id,product_id,description,quantity,unit_price,unit_cost,"
    "currency,effective_date,cancelled_date\n"
    'CONTOSO,"Contoso Dental, LLC",AGR-1042,M365-BP,Microsoft 365 Business Premium,8,22.00,'
    "17.765,USD,2025-01-01,\n"
)
PERIOD = Period.parse("2026-10")
KEY = "under_billed|FABRIKAM|M365-BP|8c4d2b1e-6a3f-4f7c-9e21-5b0d7a9c3e14"


@pytest.fixture(autouse=True)
def ready(monkeypatch):  # type: ignore[no-untyped-def]
    """The seal's mechanics on a month taken as settled; readiness and waivers are tested in
    tests/test_readiness.py on real months."""
    monkeypatch.setattr(signoff_module, "month_readiness", lambda ws, period: Readiness(period, ()))


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A workspace with a month of inputs, mappings, recon.toml and a (fake) rendered report."""
    inputs = tmp_path / "data" / "inputs" / str(PERIOD)
    inputs.mkdir(parents=True)
    (inputs / "nce_recon.csv").write_bytes(("\ufeff" + NCE_CSV).encode("utf-8"))
    (inputs / "agreements.csv").write_text(AGREEMENTS_CSV, encoding="utf-8")
    maps = tmp_path / "data" / "mappings"
    maps.mkdir()
    (maps / "clients.csv").write_text(
        "vendor,vendor_customer_id,vendor_customer_name,client_id\n"
        "microsoft,8c4d2b1e-6a3f-4f7c-9e21-5b0d7a9c3e14,Contoso Dental LLC,CONTOSO\n",
        encoding="utf-8",
    )
    (maps / "products.csv").write_text(
        "vendor,vendor_sku,product_id,units_per_product\nmicrosoft,CFQ7TTC0LCHC:0002,M365-BP,1\n",
        encoding="utf-8",
    )
    (tmp_path / "data" / "recon.toml").write_text('currency = "USD"\n', encoding="utf-8")
    report = tmp_path / "reports" / str(PERIOD)
    report.mkdir(parents=True)
    (report / "report.html").write_text("<html><body><h1>October 2026</h1></body></html>\n")
    (report / "report.ipynb").write_text(json.dumps({"cells": [], "nbformat": 4}))
    (report / "manifest.json").write_text(json.dumps({"period": str(PERIOD), "files": 2}))
    return Workspace.open(tmp_path / "data")


def _flip_byte(path: Path, offset: int = 10) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _signed(ws: Workspace) -> None:
    seal(ws, PERIOD, "preparer", "Alice Martin")
    seal(ws, PERIOD, "reviewer", "Bob Okafor")


def test_no_rendered_report_is_refused(ws: Workspace) -> None:
    for name in ("report.html", "report.ipynb"):
        (ws.report_dir(PERIOD) / name).unlink()
    with pytest.raises(SignoffError, match="no rendered report for 2026-10") as err:
        seal(ws, PERIOD, "preparer", "Alice Martin")
    assert isinstance(err.value, ReconError)
    assert not ws.ledger_path.exists() or Ledger(ws.ledger_path).entries() == []


def test_preparer_then_reviewer_seals_the_report(ws: Workspace) -> None:
    assert status(ws, PERIOD) == "open"
    prepared = seal(ws, PERIOD, "preparer", "Alice Martin")
    assert status(ws, PERIOD) == "prepared"
    assert prepared["status"] == "prepared"
    sealed = prepared["seal"]
    assert set(sealed["report"]) == {"report.html", "report.ipynb", "manifest.json"}
    assert set(sealed["inputs"]) == {"nce_recon.csv", "agreements.csv"}
    assert set(sealed["mappings"]) == {"clients.csv", "products.csv"}
    assert set(sealed["config"]) == {"recon.toml"}
    assert sealed["ledger_head"] == "0" * 64
    on_disk = json.loads((ws.report_dir(PERIOD) / SEAL_FILE).read_text(encoding="utf-8"))
    assert on_disk == prepared
    assert verify(ws, PERIOD) == []

    with pytest.raises(SignoffError, match="someone other than the preparer"):
        seal(ws, PERIOD, "reviewer", "  alice MARTIN ")
    signed = seal(ws, PERIOD, "reviewer", "Bob Okafor")
    assert status(ws, PERIOD) == "signed"
    assert [(s["role"], s["name"]) for s in signed["signoffs"]] == [
        ("preparer", "Alice Martin"),
        ("reviewer", "Bob Okafor"),
    ]
    entries = Ledger(ws.ledger_path).entries(PERIOD)
    assert signed["seal"]["ledger_head"] == entries[0].hash == entries[1].prev_hash
    assert verify(ws, PERIOD) == []
    with pytest.raises(SignoffError, match="already signed off"):
        seal(ws, PERIOD, "reviewer", "Carol Diaz")


def test_reviewer_before_preparer_is_refused(ws: Workspace) -> None:
    with pytest.raises(SignoffError, match="the preparer signs first"):
        seal(ws, PERIOD, "reviewer", "Bob Okafor")
    assert status(ws, PERIOD) == "open"
    assert verify(ws, PERIOD)[-1] == "2026-10 is not signed: no sign-off recorded in the ledger"


def test_preparer_twice_on_the_same_report_is_refused(ws: Workspace) -> None:
    seal(ws, PERIOD, "preparer", "Alice Martin")
    with pytest.raises(SignoffError, match="already signed by preparer Alice Martin"):
        seal(ws, PERIOD, "preparer", "Alice Martin")
    # a re-rendered report is a new report: the preparer may sign it, the reviewer sees it
    (ws.report_dir(PERIOD) / "report.html").write_text("<html>re-rendered</html>\n")
    seal(ws, PERIOD, "preparer", "Alice Martin")
    seal(ws, PERIOD, "reviewer", "Bob Okafor")
    assert status(ws, PERIOD) == "signed"


def test_reviewer_refused_when_report_changed_after_preparer(ws: Workspace) -> None:
    seal(ws, PERIOD, "preparer", "Alice Martin")
    _flip_byte(ws.inputs(PERIOD) / "agreements.csv")
    with pytest.raises(SignoffError, match=r"input file agreements\.csv changed"):
        seal(ws, PERIOD, "reviewer", "Bob Okafor")


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (
            lambda ws: _flip_byte(ws.report_dir(PERIOD) / "report.html"),
            "report file report.html changed",
        ),
        (
            lambda ws: (ws.report_dir(PERIOD) / "report.ipynb").unlink(),
            "report file report.ipynb removed",
        ),
        (
            lambda ws: _flip_byte(ws.inputs(PERIOD) / "nce_recon.csv", 700),
            "input file nce_recon.csv changed",
        ),
        (
            lambda ws: (ws.inputs(PERIOD) / "pax8_invoice.csv").write_text("companyId\n1\n"),
            "input file pax8_invoice.csv added",
        ),
        (
            lambda ws: (ws.inputs(PERIOD) / "agreements.csv").unlink(),
            "input file agreements.csv removed",
        ),
        (
            lambda ws: ws.clients_map.write_text(
                ws.clients_map.read_text().replace("CONTOSO", "FABRIKAM")
            ),
            "mapping clients.csv changed",
        ),
        (
            lambda ws: ws.config_path.write_text('currency = "EUR"\n'),
            "settings file recon.toml changed",
        ),
    ],
)
def test_verify_names_the_changed_file(ws: Workspace, tamper, expected: str) -> None:  # type: ignore[no-untyped-def]
    _signed(ws)
    tamper(ws)
    assert verify(ws, PERIOD) == [expected]


def test_ignored_files_do_not_break_the_seal(ws: Workspace) -> None:
    _signed(ws)
    checkpoints = ws.report_dir(PERIOD) / ".ipynb_checkpoints"
    checkpoints.mkdir()
    (checkpoints / "report-checkpoint.ipynb").write_text("{}")
    assert verify(ws, PERIOD) == []


def test_decision_after_signoff_reopens_the_month(ws: Workspace) -> None:
    _signed(ws)
    with Ledger(ws.ledger_path) as ledger:
        record_decision(
            ledger,
            PERIOD,
            KEY,
            "adjust_agreement",
            "client added 5 seats",
            "Alice Martin",
            new_quantity="15",
            kind="under_billed",
        )
        record_decision(ledger, Period.parse("2026-11"), KEY, "accept", "next month",
                        "Alice Martin")
        assert [e.entry_type for e in ledger.entries(PERIOD)] == ["signoff", "signoff", "decision"]
    assert status(ws, PERIOD) == "reopened"
    assert status(ws, Period.parse("2026-11")) == "open"
    problems = verify(ws, PERIOD)
    assert len(problems) == 1
    assert problems[0].startswith("decision recorded after sign-off: the month was reopened (seq 3")
    with pytest.raises(SignoffError, match="reopened"):
        seal(ws, PERIOD, "reviewer", "Bob Okafor")
    with pytest.raises(SignoffError, match="re-render the report"):
        seal(ws, PERIOD, "preparer", "Alice Martin")
    (ws.report_dir(PERIOD) / "report.html").write_text("<html>with the decision</html>\n")
    seal(ws, PERIOD, "preparer", "Alice Martin")
    assert status(ws, PERIOD) == "prepared"
    seal(ws, PERIOD, "reviewer", "Bob Okafor")
    assert verify(ws, PERIOD) == []
    # the old seals stay in the trail
    roles = [e.payload["role"] for e in Ledger(ws.ledger_path).entries(PERIOD) if e.key != KEY]
    assert roles == ["preparer", "reviewer", "preparer", "reviewer"]


def test_verify_detects_a_ledger_row_edited_through_a_second_connection(ws: Workspace) -> None:
    with Ledger(ws.ledger_path) as ledger:
        record_decision(ledger, PERIOD, KEY, "accept", "within contract", "Alice Martin")
    _signed(ws)
    con = sqlite3.connect(ws.ledger_path)
    con.execute("DROP TRIGGER entries_no_update")
    con.execute("UPDATE entries SET payload = replace(payload, 'within', 'outside') WHERE seq = 1")
    con.commit()
    con.close()
    problems = verify(ws, PERIOD)
    assert "ledger entry seq 1 was edited" in problems
    assert "ledger append-only trigger entries_no_update was removed" in problems


def test_verify_detects_a_deleted_seal(ws: Workspace) -> None:
    _signed(ws)
    con = sqlite3.connect(ws.ledger_path)
    con.execute("DROP TRIGGER entries_no_delete")
    con.execute("DELETE FROM entries WHERE seq = 2")
    con.commit()
    con.close()
    problems = verify(ws, PERIOD)
    assert "ledger entry seq 2 was deleted" in problems
    assert f"sign-off entry seq 2 recorded in {SEAL_FILE} is missing from the ledger" in problems


def test_verify_detects_a_truncated_ledger(ws: Workspace) -> None:
    _signed(ws)
    with open(ws.ledger_path, "r+b") as handle:
        handle.truncate(0)
    problems = verify(ws, PERIOD)
    assert "the ledger chain no longer reaches the sealed head" in problems
    assert f"sign-off entry seq 2 recorded in {SEAL_FILE} is missing from the ledger" in problems


def test_verify_without_any_signoff(ws: Workspace) -> None:
    assert verify(ws, PERIOD) == ["2026-10 is not signed: no sign-off recorded in the ledger"]


def test_a_kept_seal_hash_detects_a_ledger_rewritten_with_its_seal(ws: Workspace) -> None:
    kept = seal(ws, PERIOD, "preparer", "Alice Martin")["seal"]["hash"]
    assert verify(ws, PERIOD, [kept.upper()]) == []  # pasted back from an e-mail, any case
    # a forger changes an input, throws the ledger away and seals again: all self-consistent
    agreements = ws.inputs(PERIOD) / "agreements.csv"
    agreements.write_text(AGREEMENTS_CSV.replace(",8,22.00,", ",10,22.00,"), encoding="utf-8")
    for path in ws.ledger_path.parent.glob(ws.ledger_path.name + "*"):
        path.unlink()
    forged = seal(ws, PERIOD, "preparer", "Alice Martin")["seal"]["hash"]
    assert forged != kept
    assert verify(ws, PERIOD) == []  # without an anchor outside the workspace: not detected
    assert verify(ws, PERIOD, [kept, forged]) == [
        f"the kept seal hash {kept} is not a sign-off of {PERIOD} in the ledger: the ledger was "
        "rewritten, or the hash is of another month or workspace"
    ]
    assert verify(ws, Period.parse("2026-09"), [forged])[0].startswith(
        f"the kept seal hash {forged} is not")
