"""ConnectWise PSA (Manage) REST: companies, agreements, additions, invoices, their products.

Requests (APIS.md section 1), all ``GET`` with ``pageSize=1000`` and the ``Link rel="next"``
header followed as sent (it keeps ``conditions`` on every page):

* ``/company/companies?conditions=deletedFlag=false&fields=id,identifier,name``
* ``/finance/agreements`` live in the month: started by its last day, not ended or cancelled
  before its first (so an agreement cancelled since is still pulled for a past month);
* ``/finance/agreements/{id}/additions`` per agreement, effective by the month's last day and
  not cancelled before its first;
* ``/finance/invoices`` dated in the month; ``/procurement/products`` of those invoices
  (``invoice/id in (...)``, 100 ids a request): the invoice lines the loader reads;
* ``/procurement/catalog``: catalogue prices (for unbilled services).

Each page is saved as returned (a bare JSON array) as ``connectwise-<entity>-p<n>.json``; the
loader joins additions to agreements and products to invoices across files.

Auth: ``Authorization: Basic base64("<company>+<public key>:<private key>")`` and the
``clientId`` header on every call. Without ``base_url`` the codebase is looked up for the
North America cloud (``/login/companyinfo/<company>``); other regions set ``base_url``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from recon_helpers.connect.http import ApiClient, StaticAuth
from recon_helpers.connect.paging import PageRequest, link_header_next, records, walk
from recon_helpers.connect.redact import Redactor
from recon_helpers.connect.source import PullContext, SourceSpec, chunks
from recon_helpers.core.errors import ApiError

CLOUD_SITE = "https://api-na.myconnectwise.net"
PAGE_SIZE = 1000
HINTS = {
    401: "authentication failed: check RECON_CONNECTWISE_PUBLIC_KEY, "
         "RECON_CONNECTWISE_PRIVATE_KEY and [pull.connectwise] company",
    403: "permission denied: the API member's security role needs Inquire on Companies, "
         "Finance (agreements, invoicing) and Procurement; check RECON_CONNECTWISE_CLIENT_ID",
}


def base_url(settings: Mapping[str, str], lookup: Callable[[], ApiClient]) -> str:
    """``[pull.connectwise] base_url``, else the company's codebase on the NA cloud.

    Args:
        lookup: a client on CLOUD_SITE (no credentials) for ``/login/companyinfo``.
    """
    if "base_url" in settings:
        return settings["base_url"]
    info = lookup().request("GET", f"/login/companyinfo/{settings['company']}",
                            authenticated=False).json()
    codebase = str((info or {}).get("Codebase") or "").strip("/")
    if not codebase:
        raise ApiError("connectwise", "/login/companyinfo", "no Codebase for this company; "
                       "set [pull.connectwise] base_url = "
                       "\"https://<site>/<codebase>/apis/3.0\"")
    return f"{CLOUD_SITE}/{codebase}/apis/3.0"


def auth(company: str, secret: Callable[[str], str], redactor: Redactor) -> StaticAuth:
    """Basic ``<company>+<public key>:<private key>`` and the ``clientId`` header (the
    Basic value registered with the redactor)."""
    pair = f"{company}+{secret('public_key')}:{secret('private_key')}"
    basic = base64.b64encode(pair.encode()).decode()
    redactor.add(basic)
    return StaticAuth({"Authorization": f"Basic {basic}", "clientId": secret("client_id"),
                       "Accept": "application/json"})


def _collect(ctx: PullContext, api: ApiClient, path: str, name: str,
             conditions: str | None = None, fields: str | None = None) -> list[Any]:
    params: dict[str, Any] = {"page": 1, "pageSize": PAGE_SIZE}
    if conditions:
        params["conditions"] = conditions
    if fields:
        params["fields"] = fields
    out: list[Any] = []
    for n, page in enumerate(walk(api, PageRequest("GET", path, params), link_header_next), 1):
        rows = records(page, ())
        ctx.save(f"{name}-p{n}", page, len(rows))
        out.extend(rows)
    return out


def pull(ctx: PullContext) -> None:
    """Fetch the month's ConnectWise records into the staging folder."""
    credentials = auth(ctx.settings["company"], ctx.secret, ctx.session.redactor)
    api = ctx.client(base_url(ctx.settings, lambda: ctx.client(CLOUD_SITE, None)),
                     credentials, HINTS)
    first, last = ctx.first.isoformat(), ctx.last.isoformat()
    after = (ctx.last + timedelta(days=1)).isoformat()
    month_start, month_end = f"[{first}T00:00:00Z]", f"[{last}T23:59:59Z]"
    _collect(ctx, api, "/company/companies", "companies", "deletedFlag=false",
             "id,identifier,name")
    agreements = _collect(
        ctx, api, "/finance/agreements", "agreements",
        f"(startDate=null or startDate<={month_end}) and (endDate=null or endDate>="
        f"{month_start}) and (dateCancelled=null or dateCancelled>={month_start})",
    )
    live = (f"effectiveDate<={month_end} and (cancelledDate=null or cancelledDate>="
            f"{month_start})")
    ids = sorted({str(a["id"]) for a in agreements if isinstance(a, dict) and "id" in a},
                 key=lambda s: (len(s), s))
    ctx.map(lambda aid: _collect(ctx, api, f"/finance/agreements/{aid}/additions",
                                 f"additions-agreement-{aid}", live), ids)
    invoices = _collect(ctx, api, "/finance/invoices", "invoices",
                        f"date>=[{first}T00:00:00Z] and date<[{after}T00:00:00Z]")
    invoice_ids = [str(i["id"]) for i in invoices if isinstance(i, dict) and "id" in i]
    batches = list(enumerate(chunks(invoice_ids, 100), 1))
    ctx.map(lambda nb: _collect(ctx, api, "/procurement/products", f"invoice-products-{nb[0]}",
                                f"invoice/id in ({','.join(nb[1])})"), batches)
    _collect(ctx, api, "/procurement/catalog", "catalog")


SPEC = SourceSpec("connectwise", "connectwise", pull, required=("company",), concurrency=4)
