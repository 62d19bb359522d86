"""Pax8 partner API: companies, subscriptions, the month's invoices and their items.

Token: ``POST {token_url}`` with a JSON body (client id and secret, audience
``https://api.pax8.com``, ``client_credentials``), then ``Authorization: Bearer``; a 401 fetches
one new token and replays the call once. Paging: ``page`` (0-based) and ``size=200`` (the
documented maximum), walked while ``page.number + 1 < page.totalPages`` (APIS.md section 3).

* ``/companies`` -> ``pax8-companies-p<n>.json`` (names and ``externalId`` for the loader);
* ``/invoices?invoiceDateRangeStart&invoiceDateRangeEnd`` from the month's first day to the last
  day of the next month: invoices are issued on the 4th, so the month's charges (in advance
  and in arrears) are on invoices dated in it or just after; lines of other months count 0
  under the month rule;
* ``/invoices/{id}/items`` -> ``pax8-invoice-items-<invoice>-p<n>.json``, what the loader
  reads as delivered.

Kept under ``not-loaded/`` (read by no loader, sealed with the month): the invoice list, the
subscriptions (a snapshot as of the pull, and delivered rows that would count the month's
seats twice next to the invoice items), and the items of invoices marked ``Credited`` (Pax8
replaces a corrected invoice by a new one; loading both would double its lines).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from recon_helpers.connect.http import ApiClient, ApiResponse, TokenAuth
from recon_helpers.connect.paging import PageRequest, dig, records, walk
from recon_helpers.connect.source import NOT_LOADED, PullContext, SourceSpec, safe_name
from recon_helpers.core.errors import ApiError

BASE_URL = "https://api.pax8.com/v1"
TOKEN_URL = "https://api.pax8.com/v1/token"
AUDIENCE = "https://api.pax8.com"
SIZE = 200
HINTS = {
    401: "authentication failed: check RECON_PAX8_CLIENT_ID and RECON_PAX8_CLIENT_SECRET "
         "(and [pull.pax8] token_url)",
    403: "permission denied: the Pax8 API application needs read access to companies, "
         "subscriptions and invoices",
}


def _token(ctx: PullContext) -> str:
    api = ctx.client(ctx.setting("token_url", TOKEN_URL), None, HINTS)
    body = {"client_id": ctx.secret("client_id"), "client_secret": ctx.secret("client_secret"),
            "audience": AUDIENCE, "grant_type": "client_credentials"}
    doc = api.request("POST", ctx.setting("token_url", TOKEN_URL), json_body=body,
                      authenticated=False, idempotent=True).json()
    token = doc.get("access_token") if isinstance(doc, dict) else None
    if not token:
        raise ApiError(ctx.source, "/token", "the token response has no access_token")
    ctx.session.redactor.add(str(token))
    return str(token)


def _next(page: ApiResponse, request: PageRequest) -> PageRequest | None:
    info = dig(page.json(), ("page",)) or {}
    number, total = info.get("number"), info.get("totalPages")
    if not isinstance(number, int) or not isinstance(total, int) or number + 1 >= total:
        return None
    return PageRequest("GET", request.url, {**request.params, "page": number + 1})


def _paged(ctx: PullContext, api: ApiClient, path: str, name: str,
           params: dict[str, Any] | None = None, folder: str = "") -> list[Any]:
    first = PageRequest("GET", path, {**(params or {}), "page": 0, "size": SIZE})
    out: list[Any] = []
    for n, page in enumerate(walk(api, first, _next), 1):
        rows = records(page, ("content",))
        ctx.save(f"{name}-p{n}", page, len(rows), folder=folder)
        out.extend(rows)
    return out


def invoice_window(first: date, last: date) -> tuple[date, date]:
    """Invoice dates to pull for a month: its first day to the next month's last day."""
    after = last + timedelta(days=1)
    following = date(after.year + after.month // 12, after.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def pull(ctx: PullContext) -> None:
    """Fetch the month's Pax8 records into the staging folder."""
    api = ctx.client(ctx.setting("base_url", BASE_URL), TokenAuth(lambda: _token(ctx)), HINTS)
    _paged(ctx, api, "/companies", "companies")
    _paged(ctx, api, "/subscriptions", "subscriptions", folder=NOT_LOADED)
    start, end = invoice_window(ctx.first, ctx.last)
    invoices = _paged(ctx, api, "/invoices", "invoices",
                      {"invoiceDateRangeStart": start.isoformat(),
                       "invoiceDateRangeEnd": end.isoformat()}, folder=NOT_LOADED)

    def items(invoice: dict[str, Any]) -> None:
        inv = str(invoice["id"])
        credited = str(invoice.get("status", "")).strip().lower() == "credited"
        if credited:
            ctx.notes.append(f"pax8 invoice {inv} is Credited: its items are kept under "
                             f"{NOT_LOADED}/ and not loaded")
        _paged(ctx, api, f"/invoices/{inv}/items", f"invoice-items-{safe_name(inv)}",
               folder=NOT_LOADED if credited else "")

    ctx.map(items, [i for i in invoices if isinstance(i, dict) and "id" in i])


SPEC = SourceSpec("pax8", "pax8", pull, concurrency=2)
