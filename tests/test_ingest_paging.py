"""Exports that say how much they hold: a page of several is never read as the whole listing.

Each case is the vendor's envelope (APIS.md) around records of the format fixtures: a Pax8
listing saved page by page (as ``recon pull`` saves it) or only its first page, Autotask and
Datto RMM ``pageDetails``, SentinelOne ``pagination.nextCursor``/``totalItems``, Huntress
``next_page_url``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from recon_helpers.core.errors import InputFileError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.completeness import PageFile, PageInfo, check_listings, page_info
from recon_helpers.ingest.load import load_period

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
PERIOD = Period.parse("2026-10")


def _doc(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _save(month_dir: Path, docs: dict[str, dict[str, Any]]):  # type: ignore[no-untyped-def]
    for name, doc in docs.items():
        (month_dir / name).write_text(json.dumps(doc), encoding="utf-8")
    return load_period(Workspace.open(month_dir.parents[1]), PERIOD)


def _pax8_pages(size: int, name: str = "pax8_invoice_items.json") -> list[dict[str, Any]]:
    content = _doc(name)["content"]
    pages = -(-len(content) // size)
    return [{"content": content[n * size:(n + 1) * size],
             "page": {"size": size, "totalElements": len(content), "totalPages": pages,
                      "number": n}} for n in range(pages)]


def test_pax8_first_page_alone_is_an_error(month_dir: Path) -> None:
    first = _pax8_pages(3)[0]
    with pytest.raises(InputFileError) as info:
        _save(month_dir, {"pax8-invoice-items.json": first})
    message = str(info.value)
    assert message.startswith("pax8-invoice-items.json: is page 1 of 3 of a listing of 8 "
                              "records (its page object says so); page(s) 2, 3 of it are not")
    assert "recon pull saves each page as its own file" in message


def test_pax8_pages_saved_as_recon_pull_saves_them_load(month_dir: Path) -> None:
    pages = {f"pax8-invoice-items-inv1-p{n + 1}.json": p for n, p in enumerate(_pax8_pages(3))}
    loaded = _save(month_dir, pages)
    assert len(loaded.delivered) == 8
    assert loaded.inventory["rows_read"].tolist() == [3, 3, 2]


def test_an_empty_last_page_is_not_needed(month_dir: Path) -> None:
    pages = _pax8_pages(4)  # 4 + 4 records; the API answered a third, empty page
    for p in pages:
        p["page"]["totalPages"] = 3
    loaded = _save(month_dir, {f"items-p{n + 1}.json": p for n, p in enumerate(pages)})
    assert len(loaded.delivered) == 8


def test_two_listings_that_look_alike_are_each_complete(month_dir: Path) -> None:
    """Two invoices' item listings with the same totals, one of them short of a page."""
    pages = _pax8_pages(4)
    other = json.loads(json.dumps(pages))
    for doc in other:  # the next invoice: the same lines, other ids
        for item in doc["content"]:
            item["id"] = item["id"][:-4] + "beef"
    files = {"inv1-p1.json": pages[0], "inv1-p2.json": pages[1],
             "inv2-p1.json": other[0], "inv2-p2.json": other[1]}
    assert len(_save(month_dir, files).delivered) == 16
    (month_dir / "inv2-p2.json").unlink()
    with pytest.raises(InputFileError, match=r"page\(s\) 2 of it are not in the month folder"):
        load_period(Workspace.open(month_dir.parents[1]), PERIOD)


def test_autotask_page_count_and_next_link(month_dir: Path) -> None:
    doc = _doc("autotask_companies.json")
    doc["pageDetails"]["count"] = 500
    with pytest.raises(InputFileError, match=r"companies\.json: its pageDetails object declares "
                       r"500 records on this page but the file holds 5"):
        _save(month_dir, {"companies.json": doc})
    first = _doc("autotask_companies.json")
    second = {"items": first["items"][3:], "pageDetails": dict(first["pageDetails"], count=2)}
    first["items"] = first["items"][:3]
    first["pageDetails"].update(count=3, nextPageUrl="https://ww3.autotask.net/atservicesrest/"
                                "v1.0/Companies/query/next?paging=eyJwYWdlIjoyfQ")
    (month_dir / "companies.json").unlink()
    with pytest.raises(InputFileError, match=r"companies-p1\.json: says another page follows "
                       r"\(pageDetails next link\) and no file of its format is a last page"):
        _save(month_dir, {"companies-p1.json": first})
    assert len(_save(month_dir, {"companies-p2.json": second}).clients) == 5


def test_datto_pages_with_their_total(month_dir: Path) -> None:
    doc = _doc("datto_rmm_sites.json")
    sites = doc["sites"]
    base = "https://zinfandel-api.centrastage.net/api/v2/account/sites?max=3&page="
    first = {"pageDetails": {"count": 3, "totalCount": 5, "prevPageUrl": None,
                             "nextPageUrl": base + "1"}, "sites": sites[:3]}
    second = {"pageDetails": {"count": 2, "totalCount": 5, "prevPageUrl": base + "0",
                              "nextPageUrl": None}, "sites": sites[3:]}
    assert page_info(first)  # type: ignore[arg-type]
    assert page_info({"pageDetails": first["pageDetails"]}).number == 0  # type: ignore[union-attr]
    assert page_info({"pageDetails": second["pageDetails"]}).number == 1  # type: ignore[union-attr]
    with pytest.raises(InputFileError, match=r"sites-p1\.json: its listing declares 5 records "
                       r"\(pageDetails\) but the files of it hold 3 \(sites-p1\.json\): pages "
                       r"are missing"):
        _save(month_dir, {"sites-p1.json": first})
    assert len(_save(month_dir, {"sites-p2.json": second}).delivered) == 5


def test_sentinelone_cursor_and_total(month_dir: Path) -> None:
    doc = _doc("sentinelone_sites.json")
    first = {"data": {"allSites": doc["data"]["allSites"], "sites": doc["data"]["sites"][:2]},
             "pagination": {"nextCursor": "YXJ0aWZhY3Q6MTIz", "totalItems": 4}}
    with pytest.raises(InputFileError, match=r"s1-p1\.json: its listing declares 4 records "
                       r"\(pagination\) but the files of it hold 2"):
        _save(month_dir, {"s1-p1.json": first})
    second = {"data": {"allSites": doc["data"]["allSites"], "sites": doc["data"]["sites"][2:]},
              "pagination": {"nextCursor": None, "totalItems": 4}}
    assert len(_save(month_dir, {"s1-p2.json": second}).delivered) == 4


def test_huntress_next_page_url(month_dir: Path) -> None:
    doc = _doc("huntress_organizations.json")
    page = {"organizations": doc["organizations"],
            "pagination": {"next_page_token": "MjAy", "next_page_url":
                           "https://api.huntress.io/v1/organizations?page_token=MjAy&limit=3"}}
    with pytest.raises(InputFileError, match=r"huntress\.json: says another page follows"):
        _save(month_dir, {"huntress.json": page})
    last = {"organizations": [dict(doc["organizations"][0], id=990001)], "pagination": {}}
    assert len(_save(month_dir, {"huntress-2.json": last}).delivered) == 4


def test_a_single_page_holding_other_than_its_total_is_an_error(month_dir: Path) -> None:
    doc = _doc("pax8_invoice_items.json")
    doc["content"] = doc["content"][:5]  # the page object still says 8
    with pytest.raises(InputFileError, match=r"items\.json: declares 8 records \(page\) and no "
                       r"further page, but holds 5"):
        _save(month_dir, {"items.json": doc})


def test_syncro_meta_and_kaseya_totals(month_dir: Path) -> None:
    doc = _doc("syncro_customers.json")
    doc["meta"].update(total_pages=2, total_entries=30)
    with pytest.raises(InputFileError, match=r"customers\.json: is page 1 of 2 of a listing of "
                       r"30 records \(its meta object says so\)"):
        _save(month_dir, {"customers.json": doc})
    assert page_info({"TotalRecords": "3", "record_count": "3"}) is None  # unconfirmed: unread


def test_listings_without_signals_or_of_other_formats_are_not_mixed() -> None:
    """Pages of one format never complete another's listing; totals group per format."""
    a = PageFile("a.json", "pax8_companies", 2, PageInfo("page", 0, 2, 4, None, 2, True))
    b = PageFile("b.json", "pax8_subscriptions", 2, PageInfo("page", 1, 2, 4, None, 2, False))
    with pytest.raises(InputFileError, match=r"a\.json: is page 1 of 2"):
        check_listings([a, b])
    check_listings([a, PageFile("c.json", "pax8_companies", 2, b.info)])
