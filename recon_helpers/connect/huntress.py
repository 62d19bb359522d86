"""Huntress API v1: organizations (agents per organization).

``GET {base_url}/organizations?limit=500`` (the maximum) with
``Authorization: Basic base64(<API key>:<API secret>)``, then ``page_token=<next_page_token>``
while the body names one. Saved as ``huntress-organizations-p<n>.json``. Huntress allows 60
requests per sliding minute per account: calls are spaced to stay inside that window.
"""

from __future__ import annotations

import base64

from recon_helpers.connect.http import StaticAuth
from recon_helpers.connect.paging import PageRequest, records, token_next, walk
from recon_helpers.connect.source import PullContext, SourceSpec

BASE_URL = "https://api.huntress.io/v1"
LIMIT = 500
HINTS = {
    401: "authentication failed: check RECON_HUNTRESS_API_KEY and RECON_HUNTRESS_API_SECRET "
         "(the secret is shown once, when the key is created)",
    403: "permission denied: the API key's account cannot read organizations",
}


def pull(ctx: PullContext) -> None:
    """Fetch the account's organizations into the staging folder."""
    pair = f"{ctx.secret('api_key')}:{ctx.secret('api_secret')}"
    basic = base64.b64encode(pair.encode()).decode()
    ctx.session.redactor.add(basic)
    api = ctx.client(ctx.setting("base_url", BASE_URL),
                     StaticAuth({"Authorization": f"Basic {basic}"}), HINTS)
    first = PageRequest("GET", "/organizations", {"limit": LIMIT})
    for n, page in enumerate(walk(api, first, token_next(("pagination", "next_page_token"),
                                                         "page_token")), 1):
        ctx.save(f"organizations-p{n}", page, len(records(page, ("organizations",))))


SPEC = SourceSpec("huntress", "huntress", pull, rate=(60, 60.0), concurrency=1)
