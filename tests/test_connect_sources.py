"""Each source against the fake server: exactly the documented requests, the bytes saved as
received, and the saved month loaded by the existing format registry (no new loader)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from recon_helpers.connect import autotask
from recon_helpers.connect.http import Session
from recon_helpers.connect.provenance import PULL_LOG
from recon_helpers.connect.pull import pull_month
from recon_helpers.connect.timing import RetryPolicy
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import load_period
from tests.fake_api import FakeApi, FakeClock
from tests.fake_vendors import (
    CW,
    MS_BLOB,
    PAX8,
    PAX8_CREDITED,
    PAX8_UNPAID,
    SCRIPTS,
    SECRETS,
    basic,
    config,
)

PERIOD = Period.parse("2026-10")


def workspace(tmp_path: Path, base: str, only: tuple[str, ...] | None = None) -> Workspace:
    root = tmp_path / "data"
    (root / "inputs").mkdir(parents=True)
    (root / "recon.toml").write_text(config(base, only), encoding="utf-8")
    return Workspace.open(root)


def session(clock: FakeClock | None = None) -> Session:
    return Session(clock=clock or FakeClock(), policy=RetryPolicy(jitter=lambda: 0.5),
                   timeout=httpx.Timeout(2.0))


def pull(ws: Workspace, sources: list[str], **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("session", session())
    return pull_month(ws, PERIOD, sources, environ=SECRETS, keyring_get=lambda s, n: None,
                      progress=False, **kw)


def served_equals_saved(api: FakeApi, month: Path) -> dict[str, dict]:
    """Every saved file is byte-identical to one served body (sha256 as the log says)."""
    log = json.loads((month / PULL_LOG).read_text())
    files = {f["file"]: f for f in log["pulls"][-1]["files"]}
    for rel, rec in files.items():
        data = (month / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == rec["sha256"], rel
    return files


def test_connectwise(fake_api: FakeApi, tmp_path: Path) -> None:
    SCRIPTS["connectwise"](fake_api)
    ws = workspace(tmp_path, fake_api.base, ("connectwise",))
    result = pull(ws, ["connectwise"])
    assert not fake_api.unanswered()
    assert [c for c in fake_api.requests if c.method != "GET"] == []
    auth = basic(f"blueharbor+{SECRETS['RECON_CONNECTWISE_PUBLIC_KEY']}",
                 SECRETS["RECON_CONNECTWISE_PRIVATE_KEY"])
    for call in fake_api.requests:
        assert call.headers["authorization"] == auth
        assert call.headers["clientid"] == SECRETS["RECON_CONNECTWISE_CLIENT_ID"]
    companies = fake_api.calls("GET", f"{CW}/company/companies")
    assert [c.param("page") for c in companies] == ["1", "2"]
    for c in companies:  # the Link URL keeps the conditions (pyconnectwise#14)
        assert c.param("conditions") == "deletedFlag=false"
        assert c.param("fields") == "id,identifier,name"
        assert c.param("pageSize") == "1000"
    agreements = fake_api.calls("GET", f"{CW}/finance/agreements")[0].param("conditions")
    assert "startDate<=[2026-10-31T23:59:59Z]" in agreements
    assert "dateCancelled>=[2026-10-01T00:00:00Z]" in agreements
    additions = [c for c in fake_api.requests if c.path.endswith("/additions")]
    assert len(additions) == 6
    assert additions[0].param("conditions") == (
        "effectiveDate<=[2026-10-31T23:59:59Z] and (cancelledDate=null or "
        "cancelledDate>=[2026-10-01T00:00:00Z])")
    invoices = fake_api.calls("GET", f"{CW}/finance/invoices")[0].param("conditions")
    assert invoices == "date>=[2026-10-01T00:00:00Z] and date<[2026-11-01T00:00:00Z]"
    products = fake_api.calls("GET", f"{CW}/procurement/products")[0].param("conditions")
    assert products == "invoice/id in (88101,88102,88103,88104,88105)"
    month = ws.inputs(PERIOD)
    files = served_equals_saved(fake_api, month)
    assert "connectwise-companies-p2.json" in files
    assert result.files["connectwise"] == sorted(files)
    loaded = load_period(ws, PERIOD)
    formats = dict(zip(loaded.inventory.file, loaded.inventory.format, strict=True))
    assert formats["connectwise-additions-agreement-1001-p1.json"] == "connectwise_additions"
    assert formats["connectwise-invoice-products-1-p1.json"] == "connectwise_invoice_products"
    assert set(formats.values()) == {
        "connectwise_companies", "connectwise_agreements", "connectwise_additions",
        "connectwise_invoices", "connectwise_invoice_products", "connectwise_catalog"}
    assert len(loaded.promised) and len(loaded.billed) and len(loaded.clients) == 5
    assert PULL_LOG in loaded.ignored
    assert loaded.inventory.origin.str.startswith("pulled 2026-11-09T08:30:00+00:00 from "
                                                  "connectwise").all()


def test_connectwise_codebase_lookup(fake_api: FakeApi, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from recon_helpers.connect import connectwise

    monkeypatch.setattr(connectwise, "CLOUD_SITE", fake_api.base)
    fake_api.json("GET", "/login/companyinfo/blueharbor", {"Codebase": "v2025_1/"})
    fake_api.json("GET", "/v2025_1/apis/3.0/company/companies", [])
    fake_api.add("GET", "/v2025_1/apis/3.0/finance/agreements", lambda s: httpx_reply(403))
    ws = workspace(tmp_path, fake_api.base, ())
    (ws.config_path).write_text('[pull.connectwise]\ncompany = "blueharbor"\n')
    with pytest.raises(Exception) as err:
        pull(ws, ["connectwise"])
    assert "HTTP 403" in str(err.value) and "security role" in str(err.value)
    assert "authorization" not in fake_api.calls("GET", "/login/companyinfo/blueharbor")[0].headers
    assert not ws.inputs(PERIOD).exists()


def httpx_reply(status: int):  # type: ignore[no-untyped-def]
    from tests.fake_api import Reply

    return Reply(status, {"code": "Forbidden", "message": "role lacks Inquire on agreements"})


def test_autotask(fake_api: FakeApi, tmp_path: Path) -> None:
    SCRIPTS["autotask"](fake_api)
    ws = workspace(tmp_path, fake_api.base, ("autotask",))
    pull(ws, ["autotask"])
    assert not fake_api.unanswered()
    for call in fake_api.requests:
        assert call.method == "POST"
        assert call.headers["apiintegrationcode"] == SECRETS["RECON_AUTOTASK_INTEGRATION_CODE"]
        assert call.headers["username"] == SECRETS["RECON_AUTOTASK_USERNAME"]
        assert call.headers["secret"] == SECRETS["RECON_AUTOTASK_SECRET"]
    first, nxt = fake_api.calls(path="/atservicesrest/v1.0/Companies/query") + \
        fake_api.calls(path="/atservicesrest/v1.0/Companies/query/next")
    assert first.json() == nxt.json() == {"filter": [{"op": "gte", "field": "id", "value": 0}],
                                          "MaxRecords": 500}
    assert nxt.param("paging") == "eyJwYWdlIjoyfQ=="  # the next page by POST, same body
    units = fake_api.calls(path="/atservicesrest/v1.0/ContractServiceUnits/query")[0].json()
    assert units["filter"] == [
        {"op": "in", "field": "contractID", "value": [29684183, 29684190, 29684201,
                                                       29684215, 29684222]},
        {"op": "lte", "field": "startDate", "value": "2026-10-31T23:59:59Z"},
        {"op": "gte", "field": "endDate", "value": "2026-10-01T00:00:00Z"}]
    month = ws.inputs(PERIOD)
    files = served_equals_saved(fake_api, month)
    assert {"not-loaded/autotask-invoices-p1.json",
            "not-loaded/autotask-billing-items-1-p1.json"} <= set(files)
    loaded = load_period(ws, PERIOD)
    assert sorted(set(loaded.inventory.format)) == [
        "autotask_companies", "autotask_contract_service_units", "autotask_contract_services",
        "autotask_contracts", "autotask_services"]
    assert "not-loaded" in loaded.ignored
    assert len(loaded.promised) > 0


def test_autotask_zone_lookup(fake_api: FakeApi, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(autotask, "ZONE_URL",
                        f"{fake_api.base}/atservicesrest/v1.0/zoneInformation")
    from tests.fake_api import fixture

    fake_api.json("GET", "/atservicesrest/v1.0/zoneInformation", fixture("autotask", "zone.json"))
    SCRIPTS["autotask"](fake_api, root="/atservicesrest/V1.0")
    ws = workspace(tmp_path, fake_api.base, ())
    pull(ws, ["autotask"])
    zone = fake_api.requests[0]
    assert zone.param("user") == SECRETS["RECON_AUTOTASK_USERNAME"]
    assert "secret" not in zone.headers and "apiintegrationcode" not in zone.headers
    assert not fake_api.unanswered()
    log = (ws.inputs(PERIOD) / PULL_LOG).read_text()
    assert SECRETS["RECON_AUTOTASK_USERNAME"] not in log  # the user name is a secret (SPEC)


def test_pax8_pages_empty_last_page_and_credited_invoice(fake_api: FakeApi,
                                                         tmp_path: Path) -> None:
    SCRIPTS["pax8"](fake_api)
    ws = workspace(tmp_path, fake_api.base, ("pax8",))
    result = pull(ws, ["pax8"])
    assert not fake_api.unanswered()
    token = fake_api.calls("POST", f"{PAX8}/token")
    assert len(token) == 1 and token[0].json() == {
        "client_id": SECRETS["RECON_PAX8_CLIENT_ID"],
        "client_secret": SECRETS["RECON_PAX8_CLIENT_SECRET"],
        "audience": "https://api.pax8.com", "grant_type": "client_credentials"}
    for call in fake_api.calls("GET"):
        assert call.headers["authorization"] == "Bearer PAX8-ACCESS-TOKEN-1f2e3d"
    inv = fake_api.calls("GET", f"{PAX8}/invoices")[0]
    assert (inv.param("invoiceDateRangeStart"), inv.param("invoiceDateRangeEnd")) == (
        "2026-10-01", "2026-11-30")
    items = fake_api.calls("GET", f"{PAX8}/invoices/{PAX8_UNPAID}/items")
    assert [(c.param("page"), c.param("size")) for c in items] == [("0", "200"), ("1", "200"),
                                                                    ("2", "200")]
    files = served_equals_saved(fake_api, ws.inputs(PERIOD))
    assert f"pax8-invoice-items-{PAX8_UNPAID}-p2.json" in files
    assert f"pax8-invoice-items-{PAX8_UNPAID}-p3.json" not in files  # empty page: not saved
    assert f"not-loaded/pax8-invoice-items-{PAX8_CREDITED}-p1.json" in files
    assert "not-loaded/pax8-subscriptions-p1.json" in files
    assert any("Credited" in n for n in result.notes)
    log = json.loads((ws.inputs(PERIOD) / PULL_LOG).read_text())
    empty = [r for r in log["pulls"][0]["requests"] if r["params"].get("page") == 2
             and PAX8_UNPAID in r["endpoint"]]
    assert empty[0]["note"] == "no records: nothing saved" and empty[0]["file"] is None
    token_log = next(r for r in log["pulls"][0]["requests"] if r["endpoint"].endswith("/token"))
    assert token_log["body"]["client_secret"] == "[redacted]"
    assert token_log["body"]["client_id"] == "[redacted]"
    loaded = load_period(ws, PERIOD)
    assert sorted(set(loaded.inventory.format)) == ["pax8_companies", "pax8_invoice_items"]
    assert loaded.delivered["vendor_customer_name"].ne("").all()  # linked to the companies


def test_microsoft_async_export(fake_api: FakeApi, tmp_path: Path) -> None:
    SCRIPTS["microsoft"](fake_api)
    ws = workspace(tmp_path, fake_api.base, ("microsoft",))
    clock = FakeClock()
    result = pull(ws, ["microsoft"], session=session(clock))
    assert not fake_api.unanswered()
    scopes = [parse_qs(c.body.decode())["scope"][0] for c in fake_api.calls("POST")
              if c.path.endswith("/token")]
    assert scopes == ["https://api.partnercenter.microsoft.com/.default",
                      "https://graph.microsoft.com/.default"]
    second = fake_api.calls("GET", "/pc/v1/invoices")[1]
    assert second.param("seekOperation") == "Next"
    assert second.headers["ms-continuationtoken"] == "AAFAAAAAAAAAAAAAAAAAAAAA"
    export = fake_api.calls("POST", "/graph/v1.0/reports/partners/billing/reconciliation/"
                                    "billed/export")
    assert [e.json() for e in export] == [{"invoiceId": "G032145678", "attributeSet": "full"}]
    assert 5.0 in clock.waits  # the running operation's Retry-After
    blob = fake_api.calls("GET", MS_BLOB)[0]
    assert "authorization" not in blob.headers  # Azure blob storage: the SAS token only
    assert blob.param("sig") == "SASSIGNATURE0abcdEFGH+xyz="
    assert any("D031118800" in n for n in result.notes)
    files = served_equals_saved(fake_api, ws.inputs(PERIOD))
    name = ("microsoft-billed-recon-G032145678-part-00049-b016029b-a7a7-4c46-9b5e-c925ac317ac6"
            ".c000.json.gz")
    assert name in files
    log = (ws.inputs(PERIOD) / PULL_LOG).read_text()
    assert "SASSIGNATURE" not in log and "sig=[redacted]" in log
    assert "eTag WYjLro78HdMg6vUWR" in log
    loaded = load_period(ws, PERIOD)
    row = loaded.inventory.set_index("file").loc[name]
    assert row.format == "microsoft_nce_invoice_recon" and row.rows_read == 13
    assert row.rows_used + row.rows_quarantined == 13


def test_microsoft_failed_export_names_the_invoice(fake_api: FakeApi, tmp_path: Path) -> None:
    from tests.fake_api import Reply, fixture
    from tests.fake_vendors import MS_OPERATION

    SCRIPTS["microsoft"](fake_api)
    fake_api.routes[("GET", MS_OPERATION)].clear()
    fake_api.add("GET", MS_OPERATION, Reply(body=fixture("microsoft", "operation-failed.json")))
    ws = workspace(tmp_path, fake_api.base, ("microsoft",))
    with pytest.raises(Exception, match=r"invoice G032145678 failed: 5000 No data available"):
        pull(ws, ["microsoft"])
    assert not ws.inputs(PERIOD).exists()


@pytest.mark.parametrize("source", ["datto_rmm", "sentinelone", "huntress"])
def test_snapshot_vendors(fake_api: FakeApi, tmp_path: Path, source: str) -> None:
    SCRIPTS[source](fake_api)
    ws = workspace(tmp_path, fake_api.base, (source,))
    pull(ws, [source])
    assert not fake_api.unanswered()
    data = [c for c in fake_api.requests if not c.path.endswith("/token")]
    assert len(data) == 2
    first, second = (parse_qs(urlsplit(c.target).query) for c in data)
    expected = {"datto_rmm": ({"page": ["0"], "max": ["250"]}, {"page": ["1"], "max": ["250"]}),
                "sentinelone": ({"limit": ["1000"]}, {"limit": ["1000"], "cursor": [
                    "YWdlbnRfaWQ6ODgzOTQzNDE1MzE3ODg5NzIy"]}),
                "huntress": ({"limit": ["500"]},
                             {"limit": ["500"], "page_token": ["MjAyNi0xMS0wOVQwODozMDowMFo="]})}
    assert (first, second) == expected[source]
    auth = {"datto_rmm": "Bearer DATTO-ACCESS-TOKEN-77aa",
            "sentinelone": f"ApiToken {SECRETS['RECON_SENTINELONE_API_TOKEN']}",
            "huntress": basic(SECRETS["RECON_HUNTRESS_API_KEY"],
                              SECRETS["RECON_HUNTRESS_API_SECRET"])}[source]
    assert {c.headers["authorization"] for c in data} == {auth}
    if source == "datto_rmm":
        token = fake_api.calls("POST", "/auth/oauth/token")[0]
        assert token.headers["authorization"] == basic("public-client", "public")
        assert parse_qs(token.body.decode()) == {
            "grant_type": ["password"], "username": [SECRETS["RECON_DATTO_RMM_API_KEY"]],
            "password": [SECRETS["RECON_DATTO_RMM_API_SECRET"]]}
    files = served_equals_saved(fake_api, ws.inputs(PERIOD))
    assert len(files) == 2
    loaded = load_period(ws, PERIOD)
    entity = "organizations" if source == "huntress" else "sites"
    assert set(loaded.inventory.format) == {f"{source}_{entity}"}
    assert len(loaded.delivered) == loaded.inventory.rows_used.sum() > 0
