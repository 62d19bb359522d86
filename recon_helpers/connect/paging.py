"""Walking paged results to the end, whatever each vendor calls its next page.

:func:`walk` sends a first request, hands each page to the caller and asks ``next_page`` for
the following request (built from the page: a ``Link`` header, a ``nextPageUrl``, a cursor, a
page number). It refuses a next request on another host (no credentials go there) and one it
has already sent (a loop), and stops at ``max_pages``.

Example:
    >>> first = PageRequest("GET", "/company/companies", {"page": 1, "pageSize": 1000})
    >>> for page in walk(api, first, link_header_next):
    ...     save(page)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from recon_helpers.connect.http import ApiClient, ApiResponse, join_url
from recon_helpers.core.errors import ApiError

MAX_PAGES = 100_000


@dataclass(frozen=True)
class PageRequest:
    """One page's request: method, URL (absolute or a path), query, JSON body, headers."""

    method: str
    url: str
    params: Mapping[str, Any] = field(default_factory=dict)
    json_body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def key(self, api: ApiClient) -> str:
        """What makes two requests the same (for the loop guard)."""
        full = api.resolve(self.url)
        query = sorted([*parse_qsl(urlsplit(full).query, True),
                        *((k, str(v)) for k, v in self.params.items())])
        return json.dumps([self.method, full.split("?")[0], query, self.json_body,
                           sorted(self.headers.items())], default=str)


NextPage = Callable[[ApiResponse, PageRequest], PageRequest | None]


def walk(
    api: ApiClient,
    first: PageRequest,
    next_page: NextPage,
    *,
    idempotent: bool | None = None,
    max_pages: int = MAX_PAGES,
) -> Iterator[ApiResponse]:
    """Yield every page, first to last (see the module docstring).

    Raises:
        ApiError: a page failed, a next link points to another host, repeats an earlier
            request, or the pages do not end within ``max_pages``.
    """
    seen: set[str] = set()
    request: PageRequest | None = first
    count = 0
    while request is not None:
        key = request.key(api)
        if key in seen:
            raise ApiError(api.source, api.endpoint(request.url),
                           "the API sent the same next page twice (a paging loop); stopped")
        seen.add(key)
        count += 1
        if count > max_pages:
            raise ApiError(api.source, api.endpoint(first.url),
                           f"more than {max_pages} pages; stopped")
        api.check_origin(request.url)
        page = api.request(request.method, request.url, params=request.params or None,
                           json_body=request.json_body, headers=request.headers or None,
                           idempotent=idempotent)
        yield page
        request = next_page(page, request)


def link_header_next(page: ApiResponse, request: PageRequest) -> PageRequest | None:
    """ConnectWise: the ``Link rel="next"`` URL, which carries every query parameter."""
    link = page.next_link
    if not link:
        return None
    return PageRequest(request.method, join_url(str(page.raw.url), link))


def url_field_next(*path: str, same_body: bool = False) -> NextPage:
    """A next page named by an absolute (or relative) URL inside the body at ``path``.

    ``same_body``: send the next request with the first one's method and JSON body (Autotask
    queries: a GET of a POST query's next page answers 405 and loses the results).
    """

    def next_page(page: ApiResponse, request: PageRequest) -> PageRequest | None:
        link = dig(page.json(), path)
        if not link:
            return None
        url = join_url(str(page.raw.url), str(link))
        if same_body:
            return PageRequest(request.method, url, json_body=request.json_body)
        return PageRequest("GET", url)

    return next_page


def token_next(path: tuple[str, ...], param: str) -> NextPage:
    """A cursor or page token in the body, sent back as query parameter ``param``."""

    def next_page(page: ApiResponse, request: PageRequest) -> PageRequest | None:
        token = dig(page.json(), path)
        if token in (None, ""):
            return None
        return replace(request, params={**request.params, param: str(token)})

    return next_page


def dig(doc: Any, path: tuple[str, ...]) -> Any:
    """``doc[path[0]][path[1]]...``, or None where a level is missing."""
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def records(page: ApiResponse, path: tuple[str, ...]) -> list[Any]:
    """The list of records of a page at ``path`` (``()`` = a bare array).

    Raises:
        ApiError: the page is not shaped as documented (no list there).
    """
    found = dig(page.json(), path) if path else page.json()
    if not isinstance(found, list):
        where = ".".join(path) if path else "the top level"
        raise ApiError(page.entry["source"], page.entry["endpoint"],
                       f"expected a list of records at {where}; the response is shaped "
                       "otherwise (API version changed?); nothing was saved")
    return found
