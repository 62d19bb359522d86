"""The month's PDF as a reviewer receives it: one document (index, monthly report, sign-off
page), printed by Chromium, turned into PNG pages with pdftoppm and read back with pdftotext:
the signers' names, the seal in every page header, page numbers."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from recon_helpers import cli
from recon_helpers.audit.signoff import read_seal
from recon_helpers.audit.status import resolve_many
from recon_helpers.core.workspace import Workspace
from recon_helpers.reconcile.run import reconcile_period
from recon_helpers.render.pdf import SIGNED_PDF, render_pdf, seal_label
from tests.test_browser import pytestmark as browser_marks
from tests.test_notebooks import DEMO_PERIOD, render_demo_once

pytestmark = [*browser_marks, pytest.mark.notebooks,
              pytest.mark.skipif(shutil.which("pdftoppm") is None,
                                 reason="poppler-utils not installed (make browser)")]


def _text(pdf: Path) -> list[str]:
    """The text of each page (pdftotext separates pages with a form feed)."""
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    return [p for p in out.split("\f") if p.strip()]


def test_signed_pdf_shows_signers_seal_and_page_numbers(tmp_path, tmp_path_factory) -> None:
    ws0, _ = render_demo_once(tmp_path_factory)
    shutil.copytree(ws0.root.parent, tmp_path / "m")
    ws = Workspace.open(tmp_path / "m" / ws0.root.name)
    rec_keys = list(reconcile_period(ws, DEMO_PERIOD).findings["key"])
    resolve_many(ws, DEMO_PERIOD, rec_keys, "accept", "reviewed with the client", "Alice Martin")
    base = ["signoff", "--workspace", str(ws.root), "--period", str(DEMO_PERIOD)]
    assert cli.main([*base, "--role", "preparer", "--name", "Alice Martin", "--waive",
                     "unmapped demo tenant, mapped next month"]) == 0
    assert cli.main([*base, "--role", "reviewer", "--name", "Bob Chen", "--pdf"]) == 0
    digest = read_seal(ws, DEMO_PERIOD)["seal"]["hash"]
    assert seal_label(ws, DEMO_PERIOD).startswith(f"seal {digest[:16]}")
    pdf = ws.report_dir(DEMO_PERIOD) / SIGNED_PDF
    verify = ["verify", "--workspace", str(ws.root), "--period", str(DEMO_PERIOD)]
    assert cli.main(verify) == 0  # the PDF is recorded as issued: verify accepts it

    pages = _text(pdf)
    assert len(pages) >= 3
    for n, page in enumerate(pages, start=1):  # header and footer on every page
        assert f"seal {digest[:16]}" in page, n
        assert re.search(rf"page {n} of {len(pages)}", page), n
        assert "billing reconciliation 2026-10" in page, n
    assert "Month status" in pages[0]  # the index comes first
    assert any("4. Monthly report" in p for p in pages)
    # the sign-off page closes the document (its sealed-file list may run over several pages)
    last = "\n".join(pages[max(i for i, p in enumerate(pages) if "Sign-off:" in p):])
    assert "Alice Martin" in last and "Bob Chen" in last and "reviewer" in last

    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")],
                   check=True)
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == len(pages)
    assert all(p.stat().st_size > 5_000 for p in pngs)  # drawn, not blank
    # the signed copy of the report is what was printed: its certificate names the signers
    assert "Signed report: 2026-10" in "\n".join(pages)
    pdf.write_bytes(pdf.read_bytes() + b"%")  # any change to the PDF is caught
    assert cli.main(verify) == 1


def test_pdf_of_an_unsigned_month_says_not_signed(tmp_path, tmp_path_factory) -> None:
    ws, _ = render_demo_once(tmp_path_factory)
    pages = _text(render_pdf(ws, DEMO_PERIOD, out=tmp_path / "draft.pdf"))
    assert all("not signed" in p for p in pages) and "Month status" in pages[0]
