"""SentinelOne Management API v2.1: sites (active licences per site).

``GET {base_url}/sites?limit=1000`` with ``Authorization: ApiToken <token>``, then
``cursor=<pagination.nextCursor>`` until the cursor is null (``skip`` stops at 1000; the
cursor does not). Saved as ``sentinelone-sites-p<n>.json``. ``base_url`` is the console,
``https://<console>.sentinelone.net/web/api/v2.1``: it has no public default. IDs are 18-19
digit numbers; the file keeps them as received and the loader reads them as text.
"""

from __future__ import annotations

from recon_helpers.connect.http import StaticAuth
from recon_helpers.connect.paging import PageRequest, records, token_next, walk
from recon_helpers.connect.source import PullContext, SourceSpec

LIMIT = 1000
HINTS = {
    401: "authentication failed: check RECON_SENTINELONE_API_TOKEN (console API tokens "
         "expire; generate a new one for the service user)",
    403: "permission denied: the token's user needs the Viewer role on the account or sites",
}


def pull(ctx: PullContext) -> None:
    """Fetch the console's sites into the staging folder."""
    auth = StaticAuth({"Authorization": f"ApiToken {ctx.secret('api_token')}"})
    api = ctx.client(ctx.settings["base_url"], auth, HINTS)
    first = PageRequest("GET", "/sites", {"limit": LIMIT})
    for n, page in enumerate(walk(api, first, token_next(("pagination", "nextCursor"),
                                                         "cursor")), 1):
        ctx.save(f"sites-p{n}", page, len(records(page, ("data", "sites"))))


SPEC = SourceSpec("sentinelone", "sentinelone", pull, required=("base_url",), concurrency=2)
