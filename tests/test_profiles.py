"""Snapshot profiles (Datto RMM, SentinelOne, Huntress, Acronis): keys, quantities, quirks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from recon_helpers.core.errors import UnknownFormatError
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import DELIVERED, QTY_SCALE
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import LoadedPeriod, load_period
from recon_helpers.ingest.loaders.profiles import PROFILES, Const, Profile, to_format
from recon_helpers.ingest.readers import read_json_text
from recon_helpers.ingest.registry import detect_format
from recon_helpers.ingest.validation import LoadOptions

FIXTURES = Path(__file__).parent / "fixtures" / "formats"


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def _load(month_dir: Path, name: str, doc: dict | None = None) -> LoadedPeriod:
    if doc is None:
        shutil.copy(FIXTURES / name, month_dir / name)
    else:
        (month_dir / name).write_text(json.dumps(doc), encoding="utf-8")
    return load_period(Workspace.open(month_dir.parents[1]), Period.parse("2026-10"))


def _by_id(loaded: LoadedPeriod) -> pd.DataFrame:
    return loaded.delivered.set_index("vendor_customer_id")


def test_profile_names_are_the_spec_vendors() -> None:
    assert {p.vendor for p in PROFILES} == {"datto_rmm", "sentinelone", "huntress", "acronis"}
    for p in PROFILES:
        fmt = to_format(p)
        assert fmt.entity == "delivered"
        assert fmt.container == p.container


def test_datto_rmm_sites(month_dir: Path) -> None:
    loaded = _load(month_dir, "datto_rmm_sites.json")
    d = _by_id(loaded)
    site = d.loc["0b6f3a52-6c1e-4d7b-9f0e-2c5d8a1e9b43"]
    assert site["vendor"] == "datto_rmm"
    assert site["vendor_customer_name"] == "Fabrikam, Inc."
    assert site["vendor_sku"] == "devices"
    assert site["quantity"] == 48 * QTY_SCALE
    assert site["client_link"] == "29683475"
    assert site["source"] == "datto_rmm_sites.json:1"
    assert d.loc["7d21e0c4-93a8-4f52-b6de-0a4f1c8e5d27", "client_link"] == ""  # null link
    assert d.loc["c3a9f1d0-5e27-4b8c-8a61-7f0d2e4b6c95", "quantity"] == 0
    assert list(loaded.delivered.columns) == list(DELIVERED.names())


def test_datto_site_repeated_with_other_counts_is_a_conflict(month_dir: Path) -> None:
    doc = _fixture("datto_rmm_sites")
    again = json.loads(json.dumps(doc["sites"][0]))
    again["devicesStatus"]["numberOfDevices"] = 50  # overlapping pages taken at different times
    doc["sites"].append(again)
    doc["pageDetails"].update(count=6, totalCount=6)  # what the page holds
    loaded = _load(month_dir, "sites.json", doc)
    q = loaded.quarantine
    assert sorted(q["row"]) == [1, 6]
    assert set(q["reason"]) == {"conflicting_duplicate"}


def test_sentinelone_sites_ids_and_sku_fallback(month_dir: Path) -> None:
    loaded = _load(month_dir, "sentinelone_sites.json")
    d = _by_id(loaded)
    assert d.loc["883943415317889722", "vendor_sku"] == "Complete"
    assert d.loc["883943415317889722", "quantity"] == 47 * QTY_SCALE  # activeLicenses
    assert d.loc["1478296601152864305", "vendor_sku"] == "Control"  # sku null -> suite
    assert d.loc["2001384476629385217", "vendor_sku"] == "Complete"  # sku absent -> suite
    assert d.loc["1026481920117846015", "vendor_customer_name"] == "Contoso Dental"
    assert (loaded.delivered["vendor"] == "sentinelone").all()


def test_sentinelone_site_without_sku_or_suite_is_quarantined(month_dir: Path) -> None:
    doc = _fixture("sentinelone_sites")
    doc["data"]["sites"][2]["sku"] = None
    doc["data"]["sites"][2]["suite"] = None
    loaded = _load(month_dir, "s1.json", doc)
    q = loaded.quarantine
    assert q[["row", "reason", "column"]].values.tolist() == [[3, "missing_value", "vendor_sku"]]
    assert "sku is empty and so is suite" in q["detail"].iloc[0]
    assert len(loaded.delivered) == 3


def test_sentinelone_list_without_any_sku_key_is_still_recognised() -> None:
    doc = _fixture("sentinelone_sites")
    for site in doc["data"]["sites"]:
        site.pop("sku", None)
    raw = read_json_text(Path("sites.json"), json.dumps(doc))
    assert detect_format(raw).name == "sentinelone_sites"


def test_huntress_organizations(month_dir: Path) -> None:
    d = _by_id(_load(month_dir, "huntress_organizations.json"))
    assert d.loc["104512", "quantity"] == 51 * QTY_SCALE  # agents_count, not identities
    assert d.loc["104512", "vendor_sku"] == "agents"
    assert d.loc["118870", "vendor_customer_name"] == "Contoso Dental"
    assert set(d["vendor"]) == {"huntress"}


def test_acronis_usages_bytes_and_range_start(month_dir: Path) -> None:
    loaded = _load(month_dir, "acronis_usages.json")
    d = loaded.delivered
    storage = d[
        (d["vendor_customer_id"] == "d8515984-648a-4a38-9aeb-c91ec704ccda")
        & (d["vendor_sku"] == "storage")
    ]
    assert storage["quantity"].tolist() == [2_748_779_069_440 * QTY_SCALE]  # bytes, exact
    assert set(d["charge_start"]) == {pd.Timestamp("2026-10-01")}
    assert set(d["vendor_customer_name"]) == {""}  # usages carry no tenant name
    assert sorted(d["vendor_sku"].unique()) == [
        "compute_points",
        "mailboxes",
        "servers",
        "storage",
        "workstations",
    ]
    assert len(d) == 6


def test_acronis_value_beyond_int64_fixed_point_is_quarantined(month_dir: Path) -> None:
    doc = _fixture("acronis_usages")
    doc["items"][0]["value"] = 1_000_000_000_000_000  # 1e15 bytes: past the ~9.2e14 ceiling
    loaded = _load(month_dir, "acronis.json", doc)
    assert loaded.quarantine[["row", "reason", "column"]].values.tolist() == [
        [1, "bad_number", "quantity"]
    ]


def test_autotask_items_are_not_acronis() -> None:
    autotask_like = {
        "items": [
            {
                "id": 29684120,
                "companyID": 29683475,
                "contractID": 29684001,
                "serviceID": 29682885,
                "value": "x",
                "usage_name": "",
                "tenant_uuid": "",
                "measurement_unit": "",
            }
        ],
        "pageDetails": {"count": 1, "requestCount": 500, "prevPageUrl": None, "nextPageUrl": None},
    }
    raw = read_json_text(Path("contract_services.json"), json.dumps(autotask_like))
    try:
        fmt = detect_format(raw)
    except UnknownFormatError:
        return
    assert fmt.name != "acronis_usages"


def test_a_new_vendor_is_a_few_declarative_lines() -> None:
    profile = Profile(
        vendor="acme_edr",
        name="acme_edr_tenants",
        container="tenants",
        customer_id="tenantId",
        customer_name="tenantName",
        sku=Const("endpoints"),
        quantity="counts.endpoints",
        unit_cost="pricePerEndpoint",
    )
    fmt = to_format(profile)
    assert fmt.signature == {"tenantId", "counts.endpoints"}
    doc = {
        "tenants": [
            {
                "tenantId": "T-001",
                "tenantName": "Fabrikam",
                "counts": {"endpoints": 12},
                "pricePerEndpoint": "1.25",
            },
            {
                "tenantId": "T-002",
                "tenantName": "Contoso",
                "counts": {"endpoints": "n/a"},
                "pricePerEndpoint": "1.25",
            },
        ]
    }
    raw = read_json_text(Path("acme.json"), json.dumps(doc))
    out = fmt.parse(raw, LoadOptions(currency="EUR"))
    assert out.frame[
        ["vendor", "vendor_customer_id", "vendor_sku", "quantity", "unit_cost", "currency"]
    ].values.tolist() == [["acme_edr", "T-001", "endpoints", 120_000, 1_250_000, "EUR"]]
    assert out.quarantine[["row", "reason"]].values.tolist() == [[2, "bad_number"]]
