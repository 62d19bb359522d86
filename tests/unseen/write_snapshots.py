"""Snapshot exports of the seat and device vendors, as their APIs return them.

FORMATS.md 6.1 (Datto RMM ``GET /v2/account/sites``: ``{"pageDetails", "sites"}``), 6.3
(Huntress ``GET /v1/organizations``: ``{"organizations", "pagination"}``), 6.4 (SentinelOne
``GET /web/api/v2.1/sites``: ``{"data": {"allSites", "sites"}, "pagination"}``, 19-digit ids
as strings). One record per vendor customer, with its count.
"""

from __future__ import annotations

import json
from decimal import Decimal

from tests.unseen.model import Customer, Month, month_bounds
from tests.unseen.roster import digits

FILES = {"huntress": "huntress-organizations.json", "datto_rmm": "datto-rmm-sites.json",
         "sentinelone": "sentinelone-sites.json"}
S1_ACCOUNT = "1022937456810493187"


def _counts(month: Month, vendor: str) -> list[tuple[Customer, Decimal, str]]:
    """(customer, quantity, sku) per customer of the vendor, in the customers' order."""
    out = []
    for cust in (c for c in month.customers if c.vendor == vendor):
        lines = [ln for ln in month.lines if ln.vendor == vendor
                 and ln.customer_id == cust.customer_id]
        out += [(cust, ln.qty, ln.sku) for ln in lines]
    return out


def _end(month: Month) -> str:
    """The month's last day (snapshots are taken as the month closes)."""
    return month_bounds(month.period)[1].isoformat()


def _slug(name: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in name.lower()).split())


def huntress(month: Month) -> dict[str, object]:
    """Huntress organizations (agents_count is the EDR quantity)."""
    orgs = [{
        "id": int(cust.customer_id), "account_id": 5188, "name": cust.name,
        "key": _slug(cust.name) or cust.customer_id, "agents_count": int(qty),
        "billable_identity_count": 0, "sat_learner_count": 0, "logs_sources_count": 0,
        "incident_reports_count": int(digits(1, "hr-incidents", cust.customer_id)) % 3,
        "identity_provider_tenant_id": None, "report_recipients": [],
        "created_at": "2024-02-19T15:22:09Z", "updated_at": f"{_end(month)}T23:58:11Z",
    } for cust, qty, _ in _counts(month, "huntress")]
    return {"organizations": orgs,
            "pagination": {"current_page": 1, "current_page_count": len(orgs), "limit": 500,
                           "total_count": len(orgs)}}


def datto(month: Month) -> dict[str, object]:
    """Datto RMM sites (devicesStatus.numberOfDevices is the device quantity)."""
    sites = []
    for cust, qty, _ in _counts(month, "datto_rmm"):
        online = int(qty) * 4 // 5
        sites.append({
            "id": int(digits(6, "datto-site-id", cust.customer_id)), "uid": cust.customer_id,
            "accountUid": "tdw4c9e0731", "name": cust.name, "description": "",
            "notes": None, "onDemand": False, "splashtopAutoInstall": True,
            "proxySettings": None,
            "devicesStatus": {"numberOfDevices": int(qty), "numberOfOnlineDevices": online,
                              "numberOfOfflineDevices": int(qty) - online},
            "autotaskCompanyName": None, "autotaskCompanyId": None,
            "portalUrl": f"https://merlot.rmm.datto.com/site/{cust.customer_id}",
        })
    return {"pageDetails": {"count": len(sites), "totalCount": len(sites),
                            "prevPageUrl": None, "nextPageUrl": None}, "sites": sites}


def sentinelone(month: Month) -> dict[str, object]:
    """SentinelOne sites (activeLicenses is the quantity, sku the product)."""
    sites = [{
        "accountId": S1_ACCOUNT, "accountName": "Tidewater Managed IT",
        "activeLicenses": int(qty), "createdAt": "2024-05-04T14:37:46.543108Z",
        "creator": "R. Alvarez", "creatorId": "1022937456810493190", "expiration": None,
        "externalId": None, "healthStatus": True, "id": cust.customer_id, "isDefault": False,
        "name": cust.name, "siteType": "Paid", "sku": sku, "state": "active", "suite": sku,
        "totalLicenses": int(qty) + 5, "unlimitedExpiration": True, "unlimitedLicenses": False,
        "updatedAt": f"{_end(month)}T08:12:03.117455Z",
    } for cust, qty, sku in _counts(month, "sentinelone")]
    active = sum(s["activeLicenses"] for s in sites)  # type: ignore[misc]
    total = sum(s["totalLicenses"] for s in sites)  # type: ignore[misc]
    return {"data": {"allSites": {"activeLicenses": active, "totalLicenses": total},
                     "sites": sites},
            "pagination": {"nextCursor": None, "totalItems": len(sites)}}


def dumps(document: object) -> bytes:
    """JSON as saved from the API."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write(month: Month) -> dict[str, bytes]:
    """{file name: bytes} of the month's snapshot exports."""
    return {FILES["huntress"]: dumps(huntress(month)), FILES["datto_rmm"]: dumps(datto(month)),
            FILES["sentinelone"]: dumps(sentinelone(month))}
