"""Datto RMM API v2: the account's sites (devices per site).

Token: ``POST {token_url}`` (default ``<base host>/auth/oauth/token``, outside ``/api``) with
the published client ``public-client:public`` as Basic auth and the form
``grant_type=password&username=<API key>&password=<API secret>``; a 401 later fetches one new
token (they expire after 100 hours). Sites: ``GET {base_url}/v2/account/sites?page=0&max=250``,
following the absolute ``pageDetails.nextPageUrl`` (same host only). Saved as
``datto-rmm-sites-p<n>.json``. Datto allows 600 requests per rolling minute per account.

``base_url`` is the account's platform, ``https://<platform>-api.centrastage.net/api``
(pinotage, merlot, concord, vidal, zinfandel, syrah): it has no single public default.
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

from recon_helpers.connect.http import TokenAuth
from recon_helpers.connect.paging import PageRequest, records, url_field_next, walk
from recon_helpers.connect.source import PullContext, SourceSpec
from recon_helpers.core.errors import ApiError

PUBLIC_CLIENT = base64.b64encode(b"public-client:public").decode()  # published, not a secret
MAX = 250
HINTS = {
    401: "authentication failed: check RECON_DATTO_RMM_API_KEY and RECON_DATTO_RMM_API_SECRET "
         "(API access must be enabled under Setup > Global Settings > Access Control)",
    403: "permission denied: the API user's role needs access to sites (or too many requests "
         "led Datto to block the address for a while)",
}


def token_url(ctx: PullContext) -> str:
    """The token endpoint: configured, else ``/auth/oauth/token`` on the API's host."""
    parts = urlsplit(ctx.settings["base_url"])
    return ctx.setting("token_url", f"{parts.scheme}://{parts.netloc}/auth/oauth/token")


def _token(ctx: PullContext) -> str:
    url = token_url(ctx)
    api = ctx.client(url, None, HINTS)
    form = {"grant_type": "password", "username": ctx.secret("api_key"),
            "password": ctx.secret("api_secret")}
    doc = api.request("POST", url, form=form, headers={"Authorization": f"Basic {PUBLIC_CLIENT}"},
                      authenticated=False, idempotent=True).json()
    token = doc.get("access_token") if isinstance(doc, dict) else None
    if not token:
        raise ApiError(ctx.source, urlsplit(url).path, "the token response has no access_token")
    ctx.session.redactor.add(str(token))
    return str(token)


def pull(ctx: PullContext) -> None:
    """Fetch the account's sites into the staging folder."""
    api = ctx.client(ctx.settings["base_url"], TokenAuth(lambda: _token(ctx)), HINTS)
    first = PageRequest("GET", "/v2/account/sites", {"page": 0, "max": MAX})
    for n, page in enumerate(walk(api, first, url_field_next("pageDetails", "nextPageUrl")), 1):
        ctx.save(f"sites-p{n}", page, len(records(page, ("sites",))))


SPEC = SourceSpec("datto_rmm", "datto-rmm", pull, required=("base_url",), rate=(600, 60.0),
                  concurrency=2)
