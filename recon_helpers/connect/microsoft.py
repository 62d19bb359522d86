"""Microsoft Partner Center: the month's billed invoice reconciliation, by the async export.

Steps (APIS.md section 4):

1. Tokens: ``POST {token_url}`` (default ``login.microsoftonline.com/<tenant>/oauth2/v2.0/token``)
   with ``client_credentials``, one for Graph and one for the Partner Center REST API.
2. The month's invoices: ``GET {partner_center_url}/invoices`` (``links.next`` with its
   ``MS-ContinuationToken`` header for more pages); new-commerce invoices (id ``G...``) whose
   ``billingPeriodStartDate`` falls in the month. The list is kept under ``not-loaded/``.
3. Per invoice: ``POST {base_url}/reports/partners/billing/reconciliation/billed/export`` with
   ``{"invoiceId", "attributeSet": "full"}`` -> ``202`` + ``Location``; ``GET`` the Location
   until ``succeeded`` (waiting as ``Retry-After`` says) or ``failed`` (an error naming the
   invoice and Microsoft's message); then the manifest (a link, or inline as in Microsoft's
   sample), then each blob ``{rootDirectory}/{name}?{sasToken}`` with **no** bearer token.
4. Each blob is saved exactly as received, gzip and all:
   ``microsoft-billed-recon-<invoice>-<blob>.json.gz``, once its gzip stream is complete and
   every line a JSON object (a truncated blob is an error, never a partial file).

The loader reads those JSON Lines with the invoice reconciliation loader (its columns are the
reconciliation file's; ``microsoft_nce_invoice_recon``). The SAS token is a secret: it is
redacted from the log, and only Azure blob hosts (or the Graph origin itself, for a proxy or
a test server) receive it.
"""

from __future__ import annotations

import json
import zlib
from typing import Any
from urllib.parse import quote, urlsplit

from recon_helpers.connect.http import ApiClient, ApiResponse, TokenAuth, origin
from recon_helpers.connect.paging import PageRequest, dig, records, walk
from recon_helpers.connect.source import NOT_LOADED, PullContext, SourceSpec, safe_name
from recon_helpers.connect.timing import retry_after
from recon_helpers.core.errors import ApiError

GRAPH_URL = "https://graph.microsoft.com/v1.0"
PARTNER_CENTER_URL = "https://api.partnercenter.microsoft.com/v1"
TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PARTNER_CENTER_SCOPE = "https://api.partnercenter.microsoft.com/.default"
EXPORT = "/reports/partners/billing/reconciliation/billed/export"
POLL_SECONDS = 10.0
MAX_POLLS = 360
MAX_BLOB_BYTES = 4 << 30  # decompressed; a larger blob is refused rather than exhausting memory
HINTS = {
    401: "authentication failed: check RECON_MICROSOFT_CLIENT_ID, RECON_MICROSOFT_CLIENT_SECRET "
         "and [pull.microsoft] tenant",
    403: "permission denied: the Entra app needs the application permission "
         "PartnerBilling.Read.All (admin consent) and Partner Center API access",
}


def _token(ctx: PullContext, scope: str) -> str:
    url = ctx.setting("token_url", TOKEN_URL.format(tenant=quote(ctx.settings["tenant"])))
    api = ctx.client(url, None, HINTS)
    form = {"grant_type": "client_credentials", "client_id": ctx.secret("client_id"),
            "client_secret": ctx.secret("client_secret"), "scope": scope}
    doc = api.request("POST", url, form=form, authenticated=False, idempotent=True).json()
    token = doc.get("access_token") if isinstance(doc, dict) else None
    if not token:
        raise ApiError(ctx.source, urlsplit(url).path, "the token response has no access_token")
    ctx.session.redactor.add(str(token))
    return str(token)


def _pc_next(page: ApiResponse, request: PageRequest) -> PageRequest | None:
    nxt = dig(page.json(), ("links", "next"))
    if not isinstance(nxt, dict) or not nxt.get("uri"):
        return None
    headers = {str(h["key"]): str(h["value"]) for h in nxt.get("headers") or []
               if isinstance(h, dict) and "key" in h and "value" in h}
    return PageRequest(str(nxt.get("method") or "GET").upper(), str(nxt["uri"]), headers=headers)


def month_invoices(ctx: PullContext, rows: list[Any]) -> list[str]:
    """Ids of the month's new-commerce invoices (billing period starting in the month)."""
    chosen = []
    for inv in rows:
        if not isinstance(inv, dict):
            continue
        ident, start = str(inv.get("id", "")), str(inv.get("billingPeriodStartDate", ""))
        if start[:7] != str(ctx.period):
            continue
        if ident.upper().startswith("G"):
            chosen.append(ident)
        else:
            ctx.notes.append(f"microsoft invoice {ident} is not a new-commerce invoice (G...): "
                             "the billed reconciliation export does not cover it; skipped")
    return sorted(set(chosen))


def _poll(ctx: PullContext, graph: ApiClient, location: str, invoice: str) -> dict[str, Any]:
    for _ in range(MAX_POLLS):
        page = graph.request("GET", location)
        doc = page.json() if isinstance(page.json(), dict) else {}
        status = str(doc.get("status", "")).lower()
        if status == "succeeded":
            return doc
        if status == "failed":
            err = doc.get("error") if isinstance(doc.get("error"), dict) else {}
            raise ApiError(ctx.source, graph.endpoint(location),
                           f"the export of invoice {invoice} failed: {err.get('code', '?')} "
                           f"{ctx.session.redactor.text(str(err.get('message', '')))} (an invoice "
                           "is exportable once issued, from the 6th-8th of the next month)")
        wait = retry_after(page.headers.get("Retry-After"), ctx.session.clock.now())
        ctx.session.clock.sleep(min(POLL_SECONDS if wait is None else wait,
                                    ctx.session.policy.max_wait))
    raise ApiError(ctx.source, graph.endpoint(location),
                   f"the export of invoice {invoice} was still running after {MAX_POLLS} polls")


def _manifest(ctx: PullContext, graph: ApiClient, op: dict[str, Any]) -> dict[str, Any]:
    inline = op.get("resourceLocation")
    if isinstance(inline, dict):  # Microsoft's sample inlines it
        return inline
    link = op.get("resourceLocation@odata.navigationLink") or inline
    if not isinstance(link, str):
        raise ApiError(ctx.source, EXPORT, "the finished export names no manifest")
    page = graph.request("GET", link)
    doc = page.json()
    if not isinstance(doc, dict):
        raise ApiError(ctx.source, graph.endpoint(link), "the manifest is not a JSON object")
    page.entry["note"] = (f"manifest {doc.get('id')} eTag {doc.get('eTag')} "
                          f"({doc.get('blobCount')} blob(s), {doc.get('dataFormat')})")
    return doc


def _blob_host_allowed(root: str, graph: ApiClient) -> bool:
    parts = urlsplit(root)
    azure = parts.scheme == "https" and (parts.hostname or "").endswith(".blob.core.windows.net")
    return azure or origin(root) == origin(graph.base_url)


def count_lines(ctx: PullContext, page: ApiResponse, name: str) -> int:
    """Records in a blob (gzip JSON Lines, or plain): an incomplete one raises ApiError."""
    data = page.content
    if data[:2] == b"\x1f\x8b":
        inflate = zlib.decompressobj(wbits=47)
        try:
            data = inflate.decompress(data, MAX_BLOB_BYTES)
        except zlib.error as exc:
            raise ApiError(ctx.source, page.entry["endpoint"],
                           f"blob {name} is not valid gzip ({exc}); nothing was saved") from None
        if not inflate.eof or inflate.unconsumed_tail:
            raise ApiError(ctx.source, page.entry["endpoint"],
                           f"blob {name} is truncated or larger than {MAX_BLOB_BYTES} bytes "
                           "unpacked; nothing was saved")
    count = 0
    for n, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            ok = isinstance(json.loads(line), dict)
        except ValueError:
            ok = False
        if not ok:
            raise ApiError(ctx.source, page.entry["endpoint"],
                           f"blob {name} line {n} is not a JSON object (not JSON Lines, or "
                           "truncated); nothing was saved")
        count += 1
    return count


def _download(ctx: PullContext, graph: ApiClient, invoice: str, manifest: dict[str, Any]) -> None:
    root, sas = str(manifest.get("rootDirectory", "")), str(manifest.get("sasToken") or "")
    ctx.session.redactor.add(sas, *(v for k, _, v in (p.partition("=")
                                                       for p in sas.split("&")) if k == "sig"))
    blobs = [b for b in manifest.get("blobs") or [] if isinstance(b, dict) and b.get("name")]
    if manifest.get("blobCount") not in (None, len(blobs)):
        raise ApiError(ctx.source, EXPORT, f"the manifest of invoice {invoice} lists "
                       f"{len(blobs)} blobs but says blobCount {manifest.get('blobCount')}")
    if blobs and not _blob_host_allowed(root, graph):
        raise ApiError(ctx.source, EXPORT, f"the manifest points to {urlsplit(root).netloc}, "
                       "not an Azure blob host; refused (the SAS token was not sent)")
    store = ctx.client(root or graph.base_url, None)
    for blob in blobs:
        name = str(blob["name"])
        url = f"{root.rstrip('/')}/{quote(name)}" + (f"?{sas.lstrip('?')}" if sas else "")
        page = store.request("GET", url, authenticated=False, expect="bytes")
        count = count_lines(ctx, page, name)
        stem = name.rsplit("/", 1)[-1].removesuffix(".gz").removesuffix(".json")
        suffix = ".json.gz" if page.content[:2] == b"\x1f\x8b" else ".json"
        ctx.save(f"billed-recon-{safe_name(invoice)}-{stem}", page, count, suffix=suffix)


def pull(ctx: PullContext) -> None:
    """Export and download the month's billed invoice reconciliation into the staging folder."""
    pc = ctx.client(ctx.setting("partner_center_url", PARTNER_CENTER_URL),
                    TokenAuth(lambda: _token(ctx, PARTNER_CENTER_SCOPE)), HINTS)
    rows: list[Any] = []
    for n, page in enumerate(walk(pc, PageRequest("GET", "/invoices"), _pc_next), 1):
        found = records(page, ("items",))
        ctx.save(f"invoices-p{n}", page, len(found), folder=NOT_LOADED)
        rows.extend(found)
    graph = ctx.client(ctx.setting("base_url", GRAPH_URL),
                       TokenAuth(lambda: _token(ctx, GRAPH_SCOPE)), HINTS)
    invoices = month_invoices(ctx, rows)
    if not invoices:
        ctx.notes.append(f"microsoft: no new-commerce invoice for {ctx.period} yet (invoices "
                         "appear from the 6th-8th of the next month)")
    for invoice in invoices:
        started = graph.request("POST", EXPORT, json_body={"invoiceId": invoice,
                                                            "attributeSet": "full"},
                                expect="empty", idempotent=True)
        location = started.headers.get("Location")
        if started.status != 202 or not location:
            raise ApiError(ctx.source, EXPORT, f"expected 202 Accepted with a Location for "
                           f"invoice {invoice}, got {started.status}", started.status)
        _download(ctx, graph, invoice, _manifest(ctx, graph, _poll(ctx, graph, location,
                                                                   invoice)))


SPEC = SourceSpec("microsoft", "microsoft", pull, required=("tenant",), concurrency=2)
