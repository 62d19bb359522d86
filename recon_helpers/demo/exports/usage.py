"""The demo month as the vendors' usage snapshots: Datto RMM sites, SentinelOne sites,
Huntress organizations and Acronis storage usages, each in its API's JSON envelope.

These list every site the vendor holds, also those with nothing on them (no charge filter).
"""

from __future__ import annotations

import json
import random

from recon_helpers.demo.exports.month import month_bounds, vendor_lines
from recon_helpers.demo.plan import TB, Month


def datto_json(m: Month) -> str:
    """Datto RMM sites (``/v2/account/sites``)."""
    sites = []
    for ln in vendor_lines(m, "datto_rmm"):
        n = int(ln.delivered)
        sites.append(
            {
                "id": 41000 + ln.client.index,
                "uid": ln.client.ids["datto_rmm"],
                "accountUid": "ZX81QW",
                "name": ln.client.name_at("datto_rmm"),
                "description": "",
                "notes": "",
                "onDemand": False,
                "splashtopAutoInstall": True,
                "proxySettings": None,
                "devicesStatus": {
                    "numberOfDevices": n,
                    "numberOfOnlineDevices": max(n - 2, 0),
                    "numberOfOfflineDevices": min(n, 2),
                },
                "autotaskCompanyName": None,
                "autotaskCompanyId": None,
                "portalUrl": f"https://concord.centrastage.net/csm/site/{41000 + ln.client.index}",
            }
        )
    return json.dumps(
        {
            "pageDetails": {
                "count": len(sites),
                "totalCount": len(sites),
                "prevPageUrl": None,
                "nextPageUrl": None,
            },
            "sites": sites,
        },
        indent=2,
    )


def sentinelone_json(m: Month) -> str:
    """SentinelOne sites (``/web/api/v2.1/sites``); site ids are 19-digit strings."""
    sites = []
    for ln in vendor_lines(m, "sentinelone"):
        n = int(ln.delivered)
        sites.append(
            {
                "id": ln.client.ids["sentinelone"],
                "name": ln.client.name_at("sentinelone"),
                "accountId": "1392051849234567890",
                "accountName": "Example MSP",
                "activeLicenses": n,
                "totalLicenses": n + 5,
                "unlimitedLicenses": False,
                "siteType": "Paid",
                "state": "active",
                "suite": "Control",
                "sku": "Control",
                "expiration": None,
                "unlimitedExpiration": True,
                "externalId": None,
                "createdAt": "2024-03-11T09:12:44.118220Z",
                "updatedAt": "2026-10-30T22:01:09.004311Z",
            }
        )
    total = sum(s["activeLicenses"] for s in sites)
    return json.dumps(
        {
            "data": {"allSites": {"activeLicenses": total, "totalLicenses": total}, "sites": sites},
            "pagination": {"nextCursor": None, "totalItems": len(sites)},
        },
        indent=2,
    )


def huntress_json(m: Month) -> str:
    """Huntress organizations (``/v1/organizations``), one page pasted twice by mistake."""
    orgs = []
    for ln in vendor_lines(m, "huntress"):
        orgs.append(
            {
                "id": int(ln.client.ids["huntress"]),
                "account_id": 7715,
                "name": ln.client.name_at("huntress"),
                "key": ln.client.identifier.lower(),
                "agents_count": int(ln.delivered),
                "billable_identity_count": 0,
                "sat_learner_count": 0,
                "logs_sources_count": 0,
                "incident_reports_count": 1,
                "identity_provider_tenant_id": None,
                "report_recipients": [],
                "created_at": "2024-05-02T14:10:00Z",
                "updated_at": "2026-10-31T03:00:00Z",
            }
        )
    if orgs:
        orgs.append(dict(orgs[0]))
    return json.dumps(
        {
            "organizations": orgs,
            "pagination": {"current_page": 1, "limit": 500, "total_count": len(orgs)},
        },
        indent=2,
    )


def acronis_json(m: Month, rng: random.Random) -> str:
    """Acronis tenant usages (``/api/2/tenants/usages``), storage in bytes."""

    first, _ = month_bounds(m.period)
    items = []
    for ln in vendor_lines(m, "acronis"):
        exact = ln.delivered != ln.delivered.to_integral_value()
        noise = 0 if exact else rng.randint(-2 * 10**10, 2 * 10**10)
        value = int(ln.delivered * TB) + noise
        items.append(
            {
                "tenant_uuid": ln.client.ids["acronis"],
                "tenant_id": 1_000_000 + ln.client.index,
                "application_id": "6e6d758d-8e74-3ae3-ac84-50eb0dff12eb",
                "edition": "standard",
                "name": "storage",
                "usage_name": "storage",
                "type": "infra",
                "measurement_unit": "bytes",
                "value": value,
                "absolute_value": value,
                "range_start": first.isoformat() + "T00:00:00Z",
                "infra_id": "d46a4b2a-2631-4f76-84cd-07ce3aed3dde",
                "offering_item": {"name": "storage", "status": 1, "quota": {"value": None}},
            }
        )
    return json.dumps({"items": items}, indent=2)
