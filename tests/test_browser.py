"""The rendered HTML opened in headless Chromium (Debian's ``chromium``, driven by playwright).

Checks what a reviewer sees offline: no console or page errors, no request leaving the
machine, every plotly chart drawn, the summary figures visible, and hostile names from the
inputs shown as text. Screenshots go under the test's temporary folder.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import nbformat
import pytest

from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.present.fmt import money_text
from recon_helpers.render.notebook import NOTEBOOKS_DIR
from recon_helpers.render.report import MANIFEST, render_period
from tests.test_notebooks import NOTEBOOKS, render_demo_once
from tests.workspace_builder import b, build, d, p

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
HOSTILE = '<img src=x onerror="window.__pwned=1">'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and shutil.which("chromium") is None,
                       reason="Debian package chromium not installed (make browser)"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chrome = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chrome
        chrome.close()


def open_page(browser, html: Path) -> tuple[object, list[str]]:
    """Load a report page; return it and every problem seen (errors, outside requests)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: problems.append(f"request {r.url}")
            if not r.url.startswith(("file:", "data:", "blob:", "about:")) else None)
    page.goto(html.as_uri(), wait_until="load")
    page.wait_for_timeout(300)  # plotly draws synchronously; leave time for late errors
    return page, problems


def plotly_outputs(ipynb: Path) -> int:
    nb = nbformat.read(ipynb, as_version=4)
    return sum("application/vnd.plotly.v1+json" in o.get("data", {})
               for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def assert_charts_drawn(page, expected: int) -> None:
    plots = page.locator(".js-plotly-plot")
    assert plots.count() == expected
    for i in range(expected):
        assert plots.nth(i).locator("svg.main-svg").count() >= 1, f"chart {i} not drawn"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_report_page_opens_cleanly_with_every_chart_drawn(notebook, browser, tmp_path,
                                                          tmp_path_factory) -> None:
    _, folder = render_demo_once(tmp_path_factory)
    html = folder / notebook.with_suffix(".html").name
    page, problems = open_page(browser, html)
    try:
        assert not problems, problems
        assert_charts_drawn(page, plotly_outputs(folder / notebook.name))
        assert page.locator("h1").first.is_visible()
        shot = tmp_path / f"{notebook.stem}.png"
        page.screenshot(path=str(shot), full_page=notebook.stem.startswith("04"))
        assert shot.stat().st_size > 10_000
    finally:
        page.close()


def test_summary_figures_are_visible_on_the_monthly_report(browser, tmp_path,
                                                           tmp_path_factory) -> None:
    _, folder = render_demo_once(tmp_path_factory)
    summary = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["summary"]
    page, problems = open_page(browser, folder / "04_monthly_report.html")
    try:
        assert not problems, problems
        usd = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["totals"]["USD"]
        for key, value in (("discrepancies", summary["discrepancies"]),
                           ("clients_affected", summary["clients_affected"]),
                           ("to_bill:USD", money_text(Decimal(usd["to_bill"]))),
                           ("to_credit:USD", money_text(Decimal(usd["to_credit"]))),
                           ("cost_at_risk:USD", money_text(Decimal(usd["cost_at_risk"]))),
                           ("rows_quarantined", summary["rows_quarantined"])):
            card = page.locator(f'[data-figure="{key}"] .value')
            assert card.is_visible(), key
            assert card.inner_text() == str(value), key
        assert page.get_by_text("Sign-off status when this report was rendered").is_visible()
        page.screenshot(path=str(tmp_path / "summary.png"))
    finally:
        page.close()


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory) -> Path:
    """A workspace whose client name and SKU are HTML, rendered through 02 and 04."""
    root = tmp_path_factory.mktemp("hostile")
    build(root / "data",
          delivered=[d("evil", "agents", "12", "2.00", name=HOSTILE),
                     d("evil", "<b>sku</b>", "3", "1.00", name=HOSTILE)],
          promised=[p("EVIL", "EDR", "10", "5.00", client_name=HOSTILE)],
          billed=[b("EVIL", "EDR", "10", "5.00")],
          clients_map=[("huntress", "evil", "", "EVIL")])
    ws = Workspace.open(root / "data")
    picked = [NOTEBOOKS_DIR / "02_comparison.ipynb", NOTEBOOKS_DIR / "04_monthly_report.ipynb"]
    return render_period(ws, Period.parse("2026-10"), notebooks=picked, progress=False)


@pytest.mark.notebooks
@pytest.mark.parametrize("name", ["02_comparison", "04_monthly_report"])
def test_hostile_names_are_shown_as_text(name, hostile_report, browser, tmp_path) -> None:
    page, problems = open_page(browser, hostile_report / f"{name}.html")
    try:
        assert not problems, problems
        assert page.evaluate("window.__pwned") is None, "markup from the inputs was executed"
        assert page.locator("img[src=x]").count() == 0
        assert page.get_by_text(HOSTILE).first.is_visible()
        assert_charts_drawn(page, plotly_outputs(hostile_report / f"{name}.ipynb"))
        page.screenshot(path=str(tmp_path / f"hostile-{name}.png"))
    finally:
        page.close()
