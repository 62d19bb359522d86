"""PSA clients for ``recon apply``: read the objects a change names, send the write once.

ConnectWise (APIS.md section 1): ``GET``, ``PATCH`` (a JSON Patch array) and ``POST`` on
``/finance/agreements/{id}/additions[/{id}]``. Autotask (section 2): ``ContractServiceUnits``
read with ``POST .../query`` and ``POST Contracts/{id}/ServiceAdjustments`` (create only).

Settings and secrets are exactly those of ``recon pull``: ``[pull.<psa>]`` in recon.toml
(``base_url``; ConnectWise ``company``), ``RECON_<PSA>_*`` or the keyring ``recon-<psa>``. Every
read is retried as http.py retries reads (5xx, timeouts, 429); a write is sent once and never
re-sent here: a write whose answer was lost is the caller's to re-read
(:mod:`recon_helpers.billing.apply`). JSON numbers are read as exact ``Decimal``.

Example:
    >>> psa = open_psa("connectwise", workspace.settings().raw, Session())
    >>> psa.get_json("/finance/agreements/1006/additions/50012")["quantity"]
    Decimal('10')   # an int in the JSON stays int; a fraction is a Decimal
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from recon_helpers.connect import autotask, connectwise
from recon_helpers.connect.http import ApiClient, ApiResponse, Session
from recon_helpers.connect.paging import (
    PageRequest,
    link_header_next,
    records,
    url_field_next,
    walk,
)
from recon_helpers.connect.secrets import KeyringGet, credentials, how_to_configure
from recon_helpers.connect.settings import pull_settings
from recon_helpers.core.errors import UsageError

WRITABLE = ("connectwise", "autotask")
HINTS = {
    "connectwise": {
        **connectwise.HINTS,
        403: "permission denied: the API member's security role needs Finance > Agreements "
             "Inquire and Edit (Add for new additions); check RECON_CONNECTWISE_CLIENT_ID",
    },
    "autotask": {
        **autotask.HINTS,
        403: "permission denied: the API-only user's security level needs Contracts "
             "(view and edit) to read units and create service adjustments",
    },
}
_at_next = url_field_next("pageDetails", "nextPageUrl", same_body=True)


def exact_json(content: bytes) -> Any:
    """A JSON body with fractions as ``Decimal`` (never float) and integers as ``int``."""
    return json.loads(content, parse_float=Decimal)


@dataclass
class PsaApi:
    """One PSA's API for write-back: exact reads, single writes."""

    psa: str
    api: ApiClient
    session: Session

    def get_json(self, path: str) -> Any:
        """``GET path`` parsed exactly."""
        return exact_json(self.api.request("GET", path).content)

    def pages(self, path: str) -> list[Any]:
        """Every record of a ConnectWise list (``pageSize=1000``, ``Link rel="next"``)."""
        first = PageRequest("GET", path, {"page": 1, "pageSize": connectwise.PAGE_SIZE})
        out: list[Any] = []
        for page in walk(self.api, first, link_header_next):
            out.extend(exact_json(page.content) if records(page, ()) else [])
        return out

    def query(self, entity: str, filters: list[dict[str, Any]]) -> list[Any]:
        """Every record of an Autotask ``POST <entity>/query`` (next pages by POST)."""
        body = {"filter": filters, "MaxRecords": autotask.MAX_RECORDS}
        first = PageRequest("POST", f"{entity}/query", json_body=body)
        out: list[Any] = []
        for page in walk(self.api, first, _at_next, idempotent=True):
            records(page, ("items",))  # shape check
            out.extend(exact_json(page.content)["items"])
        return out

    def write(self, method: str, path: str, body: Any) -> ApiResponse:
        """Send one write once (never re-sent automatically, whatever happens).

        Raises:
            ApiError: refused (4xx), failed (5xx) or no answer (a timeout, a dropped
                connection: ``status`` None); the write may or may not have landed.
        """
        return self.api.request(method, path, json_body=body, idempotent=False)

    def endpoint(self, path: str) -> str:
        """The path a request goes to, as the ledger records it."""
        return self.api.endpoint(path)

    def close(self) -> None:
        """Close the connection pool."""
        self.api.close()


def open_psa(
    psa: str,
    doc: Mapping[str, Any],
    session: Session,
    environ: Mapping[str, str] | None = None,
    keyring_get: KeyringGet | None = None,
) -> PsaApi:
    """A write-back client for ``psa`` from recon.toml and the environment or keyring.

    Raises:
        UsageError: the PSA cannot be written back, or its secrets or settings are missing.
        ConfigError: a malformed ``[pull.<psa>]`` table.
        ApiError: the base URL lookup (ConnectWise codebase, Autotask zone) failed.
    """
    if psa not in WRITABLE:
        raise UsageError(f"recon apply cannot write to {psa or 'this source'}; "
                         f"it writes to {', '.join(WRITABLE)}")
    settings = pull_settings(doc, psa)
    creds, missing = credentials(psa, environ, keyring_get)
    if creds is None:
        raise UsageError(f"recon apply needs the {psa} API credentials: "
                         f"{how_to_configure(psa, missing)}")

    def secret(name: str) -> str:
        session.redactor.add(creds[name])
        return creds[name]

    def client(base: str, auth: Any) -> ApiClient:
        return ApiClient(psa, base, auth, session, concurrency=1, hints=HINTS[psa])

    if psa == "connectwise":
        if "company" not in settings:
            raise UsageError("recon apply needs [pull.connectwise] company in recon.toml")
        base = connectwise.base_url(settings, lambda: client(connectwise.CLOUD_SITE, None))
        api = client(base, connectwise.auth(settings["company"], secret, session.redactor))
    else:
        base = settings.get("base_url") or autotask.zone(
            secret("username"), client(autotask.ZONE_URL.rsplit("/", 1)[0], None))
        api = client(base.rstrip("/") + "/", autotask.auth(secret))
    return PsaApi(psa, api, session)

