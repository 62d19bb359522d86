"""One PDF of the month: the index, the monthly report and the sign-off page, printed by Chromium.

:func:`render_pdf` opens ``04_monthly_report.html`` in headless Chromium (Debian's
``chromium``, driven by playwright; ``RECON_CHROMIUM`` names another binary), puts the index
page before it and ``signoff.html`` (when the month has one) after it, each on a new page, and
prints the whole as one document, so page numbers run through it. Every page has a header
naming the MSP, the month and the seal (the latest sign-off's hash, or "not signed") and a
footer "page N of M". Plotly charts are drawn before printing.

Nothing leaves the machine: the pages are local files and every request other than ``file:``
and ``data:`` is refused.

``recon report --pdf`` writes ``report.pdf`` with the report (so the seal covers it);
``recon signoff --pdf`` writes ``signed_report.pdf`` from the signed copy of the report and
records it as issued in the ledger, so ``recon verify`` checks its sha256.

Example:
    >>> render_pdf(ws, october)                 # reports/2026-10/report.pdf
    >>> render_pdf(ws, october, signed=True)    # reports/2026-10/signed_report.pdf
"""

from __future__ import annotations

import html
import os
import shutil
from pathlib import Path

from recon_helpers.audit.signoff import SEAL_PAGE, SIGNED_COPY, read_seal
from recon_helpers.core.errors import RenderError
from recon_helpers.core.files import atomic_write
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.present.index import msp_name

PDF_FILE = "report.pdf"  # recon report --pdf: rendered with the report, sealed with it
SIGNED_PDF = "signed_report.pdf"  # recon signoff --pdf: recorded as issued after the seal
REPORT_PAGE = "04_monthly_report.html"
INDEX_PAGE = "index.html"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# Put another document's body (its <style> elements too) before or after the report's,
# starting on a new page. The markup is our own rendered pages, read from the report folder.
_INSERT = """([markup, where, id]) => {
  const doc = new DOMParser().parseFromString(markup, "text/html");
  const part = document.createElement("section");
  part.id = id;
  part.style.breakBefore = where === "after" ? "page" : "auto";
  part.style.breakAfter = where === "before" ? "page" : "auto";
  doc.querySelectorAll("head style").forEach(s => part.appendChild(s.cloneNode(true)));
  [...doc.body.childNodes].forEach(n => part.appendChild(document.importNode(n, true)));
  if (where === "before") { document.body.prepend(part); } else { document.body.append(part); }
}"""


def chromium_path() -> str:
    """The Chromium binary: ``RECON_CHROMIUM``, else ``chromium`` on the PATH.

    Raises:
        RenderError: none found (install Debian's ``chromium``).
    """
    found = os.environ.get("RECON_CHROMIUM") or shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if not found:
        raise RenderError("the PDF needs Chromium: install it (apt-get install chromium) or "
                          "set RECON_CHROMIUM to its path")
    return found


def seal_label(workspace: Workspace, period: Period) -> str:
    """What the header says about the seal: ``sealed <hash>`` by whom, or ``not signed``."""
    document = read_seal(workspace, period)
    seal = (document or {}).get("seal") or {}
    digest = str(seal.get("hash") or "")
    if not digest:
        return "not signed"
    who = " ".join(str(seal.get(k) or "") for k in ("role", "name")).strip()
    return f"seal {digest[:16]}" + (f" ({who})" if who else "")


def _templates(msp: str, period: Period, seal: str) -> tuple[str, str]:
    style = ("font-family: Arial, sans-serif; font-size: 8px; color: #444; width: 100%; "
             "padding: 0 12mm; display: flex; justify-content: space-between;")
    header = (f'<div style="{style}"><span>{html.escape(msp)}: billing reconciliation '
              f"{period}</span><span>{html.escape(seal)}</span></div>")
    footer = (f'<div style="{style}"><span>{html.escape(msp)} {period}</span><span>page '
              '<span class="pageNumber"></span> of <span class="totalPages"></span></span></div>')
    return header, footer


def render_pdf(workspace: Workspace, period: Period, out: Path | None = None,
               timeout_ms: int = 120_000, *, signed: bool = False) -> Path:
    """Print the month's index, monthly report and sign-off page into one PDF.

    Args:
        workspace: the workspace.
        period: the month (its report must be rendered: ``recon report``).
        out: the PDF to write (default ``reports/<period>/report.pdf``, or
            ``signed_report.pdf`` with ``signed``), atomically.
        timeout_ms: how long the browser may take to load and print.
        signed: print the signed copy of the report (``signed_report.html``: the sealed
            page with its certificate) when the month has one.

    Returns:
        The PDF written.

    Raises:
        RenderError: the report is not rendered, Chromium is missing, or printing failed.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    folder = workspace.report_dir(period)
    report = folder / REPORT_PAGE
    if not report.is_file():
        raise RenderError(f"no rendered report in {folder}: run recon report --period {period}")
    if signed and (folder / SIGNED_COPY).is_file():
        report = folder / SIGNED_COPY
    target = out or folder / (SIGNED_PDF if signed else PDF_FILE)
    header, footer = _templates(msp_name(workspace), period, seal_label(workspace, period))
    parts = [(folder / INDEX_PAGE, "before", "recon-index"),
             (folder / SEAL_PAGE, "after", "recon-signoff")]
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(
                    ("file:", "data:", "blob:")) else r.abort())
                page.goto(report.as_uri(), wait_until="load", timeout=timeout_ms)
                for path, where, part_id in parts:
                    if path.is_file():
                        page.evaluate(_INSERT, [path.read_text(encoding="utf-8"), where,
                                                part_id])
                page.emulate_media(media="print")
                pdf = page.pdf(format="A4", landscape=True, print_background=True,
                               display_header_footer=True, header_template=header,
                               footer_template=footer,
                               margin={"top": "16mm", "bottom": "14mm", "left": "10mm",
                                       "right": "10mm"})
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise RenderError(f"printing the PDF of {period} failed: {exc}") from exc
    atomic_write(target, lambda tmp: tmp.write_bytes(pdf))
    return target
