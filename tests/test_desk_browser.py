"""The rendered month as a reviewer opens it in Chromium at 1440 x 900: the main tables fit
without a horizontal scroll, every link of the index (and every client link) resolves, a bar
of the client chart opens that client's section, and no page shows a machine path, a raw
boolean or a kernel warning."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from recon_helpers.audit.signoff import SEAL_PAGE
from recon_helpers.core.workspace import Workspace
from recon_helpers.render.notebook import KERNEL_LOG, NOTEBOOKS_DIR
from recon_helpers.render.report import INDEX, MANIFEST, render_period
from tests.test_browser import browser, open_page  # noqa: F401  (the shared Chromium)
from tests.test_browser import pytestmark as browser_marks
from tests.test_notebooks import DEMO_PERIOD, render_demo_once
from tests.workspace_builder import b, build, d, p

pytestmark = [*browser_marks, pytest.mark.notebooks]
WIDTH = 1440
# pages whose every table must fit (the inventory folds its sha256, the quarantine its raw
# values); 05's trend tables keep their own scroll box, so there only the page must fit
ALL_TABLES_FIT = ("01_record_keeping.html", "02_comparison.html", "03_resolution.html",
                  "04_monthly_report.html", INDEX)

# visible tables whose right edge passes the window, or whose box scrolls sideways
TOO_WIDE = """([all, width]) => [
    ...document.querySelectorAll(all ? 'table' : 'table.recon-findings')]
    .filter(t => t.offsetParent !== null)
    .map(t => ({right: t.getBoundingClientRect().right, text: t.innerText.slice(0, 60),
                overflow: t.parentElement.scrollWidth - t.parentElement.clientWidth}))
    .filter(t => t.right > width || t.overflow > 1)"""


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        got = dict(attrs)
        if tag == "a" and got.get("href"):
            self.hrefs.append(str(got["href"]))
        if got.get("id"):
            self.ids.add(str(got["id"]))


def _parse(page: Path) -> _Links:
    links = _Links()
    links.feed(page.read_text(encoding="utf-8"))
    return links


def _pages(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.html"))


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[object, Path]:
    return render_demo_once(tmp_path_factory)


def test_every_page_fits_1440_and_its_main_tables_need_no_scroll(browser, report,  # noqa: F811
                                                                 tmp_path) -> None:
    _, folder = report
    pages = _pages(folder)
    assert {p.name for p in pages} >= {INDEX, *ALL_TABLES_FIT}
    for html in pages:
        page, problems = open_page(browser, html)
        try:
            page.set_viewport_size({"width": WIDTH, "height": 900})
            page.wait_for_timeout(200)
            assert not problems, (html.name, problems)
            assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, html.name
            wide = page.evaluate(TOO_WIDE, [html.name in ALL_TABLES_FIT, WIDTH])
            assert not wide, (html.name, wide)
            page.screenshot(path=str(tmp_path / f"{html.stem}.png"))
        finally:
            page.close()


def test_findings_tables_show_the_reviewer_columns_first(report) -> None:
    _, folder = report
    page = (folder / "04_monthly_report.html").read_text(encoding="utf-8")
    heads = re.findall(r'<table class="recon-table recon-findings"><thead><tr>(.*?)</tr>', page)
    assert heads
    for head in heads:
        assert re.findall(r"<th>(.*?)</th>", head) == [
            "kind", "client", "product", "delivered", "agreed", "invoiced", "impact", "status"]


def test_every_index_link_and_client_link_resolves(report) -> None:
    _, folder = report
    index = _parse(folder / INDEX)
    pages = {p.stem for p in NOTEBOOKS_DIR.glob("0[1-5]_*.ipynb")}
    linked = {urlsplit(h).path for h in index.hrefs}
    assert {f"{p}.html" for p in pages} <= linked and MANIFEST in linked
    assert SEAL_PAGE not in linked  # linked only once the month has a sign-off page
    ids = {p.name: _parse(p).ids for p in _pages(folder)}
    checked = 0
    for source in _pages(folder):
        for href in _parse(source).hrefs:
            parts = urlsplit(href)
            assert not parts.scheme and not parts.netloc, (source.name, href)  # offline only
            target = unquote(parts.path) or source.name
            if target == SEAL_PAGE:  # written by recon signoff (the report cannot hold it)
                continue
            assert (folder / target).is_file(), (source.name, href)
            if parts.fragment:
                assert parts.fragment in ids[target], (source.name, href)
                checked += 1
    assert checked >= 8  # the clients with findings, from index, 02 and 04


def test_a_client_bar_opens_that_clients_section(browser, report) -> None:  # noqa: F811
    _, folder = report
    page, problems = open_page(browser, folder / "04_monthly_report.html")
    try:
        which = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
            .findIndex(p => p.data && p.data[0] && p.data[0].customdata)""")
        assert which >= 0
        plot = page.locator(".js-plotly-plot").nth(which)
        plot.scroll_into_view_if_needed()
        wanted = page.evaluate(f"""() => document.querySelectorAll('.js-plotly-plot')[{which}]
            .data[0].customdata""")
        # plotly draws the first client at the top (the last point); its drag layer takes the
        # pointer, so click where the bar is, as a user does
        bar = plot.locator("g.point path").last.bounding_box()
        page.mouse.click(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
        page.wait_for_timeout(200)
        hash_ = page.evaluate("window.location.hash")
        assert hash_ in wanted and page.locator(hash_).count() == 1
        assert not problems, problems
    finally:
        page.close()


def test_pages_show_no_machine_path_no_raw_boolean(report) -> None:
    ws, folder = report
    root = str(ws.root.resolve())
    for html in _pages(folder):
        text = html.read_text(encoding="utf-8")
        assert root not in text and str(ws.root.resolve().parent) not in text, html.name
        cells = re.findall(r"<td[^>]*>([^<]*)</td>", text)
        assert "True" not in cells and "False" not in cells, html.name
        # money: two decimals, never a padded third ("4,454.250"); a real sub-cent unit
        # cost (10.625) is kept
        assert not re.search(r"\.\d\d0+ USD", text), html.name


def test_index_and_manifest_hold_the_same_month_status(report) -> None:
    _, folder = report
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    page = (folder / INDEX).read_text(encoding="utf-8")
    for key, label in (("open", "open"), ("held", "held"), ("resolved", "resolved"),
                       ("applied", "applied in the PSA")):
        assert re.search(rf'data-status-row="{label}"><th>{label}</th><td class="num">'
                         rf'{manifest["status"][key]}<', page), key
    usd = manifest["totals"]["USD"]
    leakage = manifest["summary"]["by_currency"]["USD"]["leakage_found"]
    assert Decimal(usd["to_bill"]) + Decimal(usd["cost_at_risk"]) == Decimal(leakage)
    assert 'data-signoff="open"' in page


def test_kernel_warnings_go_to_the_log_not_the_terminal(tmp_path, capfd) -> None:
    build(tmp_path / "data", delivered=[d("c1", "agents", "2", "1.00")],
          promised=[p("C1", "EDR", "2", "5.00")], billed=[b("C1", "EDR", "2", "5.00")],
          clients_map=[("huntress", "c1", "", "C1")])
    ws = Workspace.open(tmp_path / "data")
    folder = render_period(ws, DEMO_PERIOD, notebooks=[NOTEBOOKS_DIR / "02_comparison.ipynb"],
                           progress=False)
    err = capfd.readouterr().err
    assert "Kernel is running" not in err and "KeyboardInterrupt" not in err
    assert "02_comparison.ipynb" in (folder / KERNEL_LOG).read_text(encoding="utf-8")
