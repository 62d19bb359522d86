"""Exports that say how much they hold: paging objects and declared totals, checked.

An API answer is one page of a listing and says so in its envelope (APIS.md):

* Pax8 ``page {size, totalElements, totalPages, number}`` (0-based ``number``);
* Autotask and Datto RMM ``pageDetails {count, totalCount, prevPageUrl, nextPageUrl}`` (Datto's
  links carry the 0-based ``page``; Autotask's are opaque, and it gives no total);
* SentinelOne ``pagination {nextCursor, totalItems}``;
* Huntress ``pagination {next_page_url, next_page_token}`` (``next_page_url`` only when
  another page exists), or ``{current_page, current_page_count, limit, total_count}``;
* Syncro ``meta {total_pages, total_entries, per_page, page}`` (1-based ``page``).

Not read (what they count is unconfirmed, APIS.md): HaloPSA ``record_count``, Kaseya BMS
``TotalRecords``, StreamOne Ion ``paginationResponse``.

``recon pull`` saves each page as its own file, so a listing is complete when the month folder
holds all its pages: for each format, the page files with the same totals must hold every page
number the same number of times (two invoices' item listings may look alike) and their records
must add up to the declared total; files with only a "next" link must include a last page.
A page file on its own must hold the records it declares. Anything else is an error naming the
file and what is missing, never a month silently short of a page.

Example:
    >>> page_info({"page": {"size": "6", "totalElements": "40", "totalPages": "7", "number": "0"}})
    PageInfo(signal='page', number=0, pages=7, total=40, count=None, size=6, more=True)
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from recon_helpers.core.errors import InputFileError
from recon_helpers.ingest.raw import RawTable

PULL_HINT = "recon pull saves each page as its own file: put every page in the month folder"


@dataclass(frozen=True)
class PageInfo:
    """What one file's envelope says about its listing (None: not said)."""

    signal: str  # the envelope key it was read from: page, pageDetails, pagination
    number: int | None = None  # 0-based page number
    pages: int | None = None  # pages of the listing
    total: int | None = None  # records of the listing
    count: int | None = None  # records this page declares
    size: int | None = None  # page size
    more: bool | None = None  # a next link or cursor is present


def _int(value: Any) -> int | None:
    text = str(value).strip() if value is not None and not isinstance(value, bool) else ""
    return int(text) if text.isdigit() else None


def _link(block: Mapping[str, Any], *keys: str) -> bool | None:
    """True when one of ``keys`` holds a link or cursor, False when present and null."""
    present = [k for k in keys if k in block]
    if not present:
        return None
    return any(block[k] not in (None, "") for k in present)


def _page_param(url: Any) -> int | None:
    if not isinstance(url, str) or not url:
        return None
    return _int((parse_qs(urlsplit(url).query).get("page") or [None])[0])


def page_info(envelope: Mapping[str, Any]) -> PageInfo | None:
    """The paging information of a JSON envelope (see the module docstring), or None."""
    page = envelope.get("page")
    if isinstance(page, dict) and ("totalPages" in page or "totalElements" in page):
        number, pages = _int(page.get("number")), _int(page.get("totalPages"))
        more = None if number is None or pages is None else number + 1 < pages
        return PageInfo("page", number, pages, _int(page.get("totalElements")), None,
                        _int(page.get("size")), more)
    details = envelope.get("pageDetails")
    if isinstance(details, dict):
        following, previous = _page_param(details.get("nextPageUrl")), _page_param(
            details.get("prevPageUrl"))
        number = following - 1 if following else (previous + 1 if previous is not None else None)
        return PageInfo("pageDetails", number, None, _int(details.get("totalCount")),
                        _int(details.get("count")), None,
                        _link(details, "nextPageUrl"))
    meta = envelope.get("meta")
    if isinstance(meta, dict) and "total_pages" in meta:  # Syncro, 1-based page
        current = _int(meta.get("page"))
        return PageInfo("meta", None if current is None else current - 1,
                        _int(meta.get("total_pages")), _int(meta.get("total_entries")), None,
                        _int(meta.get("per_page")), None)
    paging = envelope.get("pagination")
    if isinstance(paging, dict):
        current = _int(paging.get("current_page"))
        total = _int(paging.get("totalItems", paging.get("total_count")))
        more = _link(paging, "nextCursor", "next_page_url", "next_page_token")
        if more is None and total is None and current is None:
            more = False  # Huntress writes next_page_url only when another page exists
        return PageInfo("pagination", None if current is None else current - 1, None, total,
                        _int(paging.get("current_page_count")), _int(paging.get("limit")), more)
    return None


def check_page(raw: RawTable, info: PageInfo) -> None:
    """One page file against what its envelope declares about itself.

    Raises:
        InputFileError: the page holds another number of records than it declares (its
            ``count``; a single page: the listing's total), or its number is past the
            listing's pages.
    """
    held = raw.rows_read
    # a count equal to the listing's total may be the total (Datto RMM's count: unconfirmed):
    # then the listing check decides
    if info.count is not None and info.count not in (held, info.total):
        raise InputFileError(raw.path, f"its {info.signal} object declares {info.count} records "
                             f"on this page but the file holds {held}: a damaged or "
                             "hand-edited page")
    if info.number is not None and info.pages is not None and info.number >= max(info.pages, 1):
        raise InputFileError(raw.path, f"{info.signal} says page {info.number + 1} of "
                             f"{info.pages}, which cannot be")
    if info.more is False and info.number == 0 and info.total is not None \
            and info.total != held:
        raise InputFileError(raw.path, f"declares {info.total} records ({info.signal}) and "
                             f"no further page, but holds {held}")


@dataclass(frozen=True)
class PageFile:
    """A loaded file of a paged listing."""

    name: str
    format: str
    records: int
    info: PageInfo


def check_listings(files: Sequence[PageFile]) -> None:
    """Every listing the month's page files belong to is complete (module docstring).

    Raises:
        InputFileError: naming a file of an incomplete listing and what is missing.
    """
    numbered: dict[tuple[object, ...], list[PageFile]] = defaultdict(list)
    totalled: dict[tuple[object, ...], list[PageFile]] = defaultdict(list)
    linked: dict[str, list[PageFile]] = defaultdict(list)
    for f in files:
        i = f.info
        if i.number is not None and i.pages is not None:
            numbered[(f.format, i.pages, i.total, i.size)].append(f)
        elif i.total is not None:
            totalled[(f.format, i.total)].append(f)
        elif i.more is not None:
            linked[f.format].append(f)
    for group in numbered.values():
        _numbered_complete(group)
    for group in totalled.values():
        _total_complete(group)
    for group in linked.values():
        if all(f.info.more for f in group):
            names = ", ".join(f.name for f in group)
            raise InputFileError(
                group[0].name,
                f"says another page follows ({group[0].info.signal} next link) and no file of "
                f"its format is a last page ({names}): pages are missing; {PULL_HINT}")


def _numbered_complete(group: list[PageFile]) -> None:
    """Pages numbered 0..pages-1: each the same number of times (one per listing), or, with a
    declared total, records adding up to it (an empty last page is never saved)."""
    pages = group[0].info.pages or 0
    seen = Counter(f.info.number for f in group)
    copies = max(seen.values())
    held = sum(f.records for f in group)
    total = group[0].info.total
    if total is not None and held == copies * total:
        return
    missing = [n + 1 for n in range(pages) if seen.get(n, 0) < copies]
    have = min(group, key=lambda f: f.info.number or 0)
    if not missing:
        raise InputFileError(have.name, f"its listing declares {total} records "
                             f"({have.info.signal}) but its page files hold {held}")
    shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
    of = f" of {total} records" if total is not None else ""
    raise InputFileError(
        have.name,
        f"is page {(have.info.number or 0) + 1} of {pages} of a listing{of} (its "
        f"{have.info.signal} object says so); page(s) {shown} of it are not in the month "
        f"folder; {PULL_HINT}")


def _total_complete(group: list[PageFile]) -> None:
    total = group[0].info.total or 0
    held = sum(f.records for f in group)
    if total == 0 and held == 0:
        return
    if total and held and held % total == 0:
        return
    names = ", ".join(f.name for f in group)
    raise InputFileError(
        group[0].name,
        f"its listing declares {total} records ({group[0].info.signal}) but the files of it "
        f"hold {held} ({names}): {'pages are missing' if held < total else 'counts differ'}; "
        f"{PULL_HINT}")
