"""Autotask PSA REST: companies, contracts and their services and units, services, invoices.

Every entity is read with ``POST {base}<Entity>/query`` and a JSON body
``{"filter": [...], "MaxRecords": 500}``; the next page is ``pageDetails.nextPageUrl``,
fetched with POST and the same body (a GET answers 405 and loses results; APIS.md section 2).
Filters:

* Companies and Services: all (``id gte 0``; a company inactive today may still be billed);
* Contracts live in the month (``startDate lte`` its last day, ``endDate gte`` its first);
* ContractServices and ContractServiceUnits of those contracts (``contractID in [...]``, 500
  ids a request), units further limited to rows overlapping the month;
* Invoices dated in the month (``invoiceDateTime``) and their BillingItems (posted lines).

Pages are saved as returned (``{"items": [...], "pageDetails": {...}}``) as
``autotask-<entity>-p<n>.json``. No loader reads Autotask invoices yet, so Invoices and
BillingItems go under ``not-loaded/``, kept and sealed with the month for a later loader.

Auth: the ``ApiIntegrationCode``, ``UserName`` and ``Secret`` headers. Without ``base_url`` the
zone is looked up (``zoneInformation?user=``, no credentials needed). Autotask allows 3
concurrent requests per endpoint: at most 3 run at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from recon_helpers.connect.http import ApiClient, StaticAuth
from recon_helpers.connect.paging import PageRequest, records, url_field_next, walk
from recon_helpers.connect.source import NOT_LOADED, PullContext, SourceSpec, chunks
from recon_helpers.core.errors import ApiError

ZONE_URL = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
MAX_RECORDS = 500
IN_LIMIT = 500  # ids per "in" filter (the documented OR-condition limit)
ALL = [{"op": "gte", "field": "id", "value": 0}]
HINTS = {
    401: "authentication failed: check RECON_AUTOTASK_USERNAME, RECON_AUTOTASK_SECRET, "
         "RECON_AUTOTASK_INTEGRATION_CODE and that base_url is the account's zone",
    403: "permission denied: the API-only user's security level needs read access to "
         "Companies, Contracts, Services and Invoices",
}
_next = url_field_next("pageDetails", "nextPageUrl", same_body=True)


def zone(username: str, lookup: ApiClient) -> str:
    """The zone's REST base for an API user (``zoneInformation``; no credentials sent).

    Args:
        lookup: a client on ZONE_URL's folder.
    """
    info = lookup.request("GET", ZONE_URL, params={"user": username},
                          authenticated=False).json()
    url = info.get("url") if isinstance(info, dict) else None
    if not url:
        raise ApiError("autotask", "/zoneInformation", "no zone url for this user; set "
                       "[pull.autotask] base_url to the zone's .../atservicesrest/v1.0")
    # the API has been seen to answer with '//' inside the path
    return re.sub(r"(?<!:)//+", "/", str(url).rstrip("/") + "/V1.0")


def auth(secret: Callable[[str], str]) -> StaticAuth:
    """The ``ApiIntegrationCode``, ``UserName`` and ``Secret`` headers."""
    return StaticAuth({"ApiIntegrationCode": secret("integration_code"),
                       "UserName": secret("username"), "Secret": secret("secret")})


def _zone(ctx: PullContext) -> str:
    return zone(ctx.secret("username"), ctx.client(ZONE_URL.rsplit("/", 1)[0], None))


def _query(ctx: PullContext, api: ApiClient, entity: str, name: str,
           filters: list[dict[str, Any]], folder: str = "") -> list[Any]:
    body = {"filter": filters, "MaxRecords": MAX_RECORDS}
    first = PageRequest("POST", f"{entity}/query", json_body=body)
    out: list[Any] = []
    for n, page in enumerate(walk(api, first, _next, idempotent=True), 1):
        rows = records(page, ("items",))
        ctx.save(f"{name}-p{n}", page, len(rows), folder=folder)
        out.extend(rows)
    return out


def _ids(rows: list[Any]) -> list[int | str]:
    return sorted({r["id"] for r in rows if isinstance(r, dict) and "id" in r},
                  key=lambda v: (len(str(v)), str(v)))


def _per_batch(ctx: PullContext, api: ApiClient, entity: str, name: str, field: str,
               ids: list[Any], extra: list[dict[str, Any]], folder: str = "") -> list[Any]:
    batches = list(enumerate(chunks(ids, IN_LIMIT), 1))
    results = ctx.map(lambda nb: _query(ctx, api, entity, f"{name}-{nb[0]}",
                                        [{"op": "in", "field": field, "value": nb[1]}, *extra],
                                        folder), batches)
    return [row for rows in results for row in rows]


def pull(ctx: PullContext) -> None:
    """Fetch the month's Autotask records into the staging folder."""
    base = ctx.settings.get("base_url") or _zone(ctx)
    api = ctx.client(base.rstrip("/") + "/", auth(ctx.secret), HINTS)
    first = f"{ctx.first.isoformat()}T00:00:00Z"
    last = f"{ctx.last.isoformat()}T23:59:59Z"
    after = f"{(ctx.last + timedelta(days=1)).isoformat()}T00:00:00Z"
    _query(ctx, api, "Companies", "companies", ALL)
    _query(ctx, api, "Services", "services", ALL)
    contracts = _query(ctx, api, "Contracts", "contracts", [
        {"op": "lte", "field": "startDate", "value": last},
        {"op": "gte", "field": "endDate", "value": first},
    ])
    ids = _ids(contracts)
    overlap = [{"op": "lte", "field": "startDate", "value": last},
               {"op": "gte", "field": "endDate", "value": first}]
    _per_batch(ctx, api, "ContractServices", "contract-services", "contractID", ids, [])
    _per_batch(ctx, api, "ContractServiceUnits", "contract-service-units", "contractID", ids,
               overlap)
    invoices = _query(ctx, api, "Invoices", "invoices", [
        {"op": "gte", "field": "invoiceDateTime", "value": first},
        {"op": "lt", "field": "invoiceDateTime", "value": after},
    ], folder=NOT_LOADED)
    _per_batch(ctx, api, "BillingItems", "billing-items", "invoiceID", _ids(invoices), [],
               folder=NOT_LOADED)


SPEC = SourceSpec("autotask", "autotask", pull, concurrency=3)
