"""Client statements: what they show, what they never show, and the papermill render."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from recon_helpers import cli
from recon_helpers.billing.invoicing import expected_invoice, invoice_totals
from recon_helpers.billing.statements import StatementOptions, statement_for
from recon_helpers.core.errors import ConfigError, UsageError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace, parse_settings
from recon_helpers.demo.write import write_demo
from recon_helpers.present.context import ReportContext
from recon_helpers.present.statements import build, header, services_table
from recon_helpers.reconcile.result import Reconciliation
from recon_helpers.reconcile.run import reconcile_period
from recon_helpers.render.notebook import KERNEL_LOG, notebook_paths
from recon_helpers.render.statements import STATEMENT_NOTEBOOK, statement_name, statement_path

PERIOD = Period.parse("2026-10")
CLIENT = "GRANITEC06"  # two seats above its agreement this month, and Pax8 products
SETTINGS = '\n[statement]\nhidden_vendors = ["pax8"]\nshow_vendor_names = true\n'
HOSTILE = '<img src=x onerror="alert(1)">'


class _VisibleText(HTMLParser):
    """The text a reader sees: everything outside script and style elements."""

    def __init__(self) -> None:
        super().__init__()
        self.skip, self.parts = 0, []

    def handle_starttag(self, tag, attrs) -> None:  # type: ignore[no-untyped-def]
        self.skip += tag in ("script", "style")

    def handle_endtag(self, tag) -> None:  # type: ignore[no-untyped-def]
        self.skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _VisibleText()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    root = tmp_path_factory.mktemp("statements") / "data"
    write_demo(root)
    with (root / "recon.toml").open("a", encoding="utf-8") as fh:
        fh.write(SETTINGS)
    return Workspace.open(root)


@pytest.fixture(scope="module")
def recs(ws) -> tuple[Reconciliation, Reconciliation]:
    return reconcile_period(ws, PERIOD), reconcile_period(ws, PERIOD.previous())


@pytest.fixture(scope="module")
def rendered(ws) -> Path:
    """The one papermill render of this file, through `recon statement`."""
    code = cli.main(["statement", "--workspace", str(ws.root), "--reports",
                     str(ws.reports_root), "--period", str(PERIOD), "--client", CLIENT])
    assert code == 0
    return statement_path(ws, PERIOD, CLIENT)


def test_rendered_statement_shows_the_client_services_changes_and_amount(rendered, recs) -> None:
    assert rendered == rendered.parents[1] / "clients" / f"{CLIENT}.html"
    assert rendered.with_suffix(".ipynb").is_file()
    assert not [p for p in rendered.parent.iterdir()  # no temp left (the kernels' log stays)
                if p.name.startswith(".") and p.name != KERNEL_LOG]
    assert "Kernel" in (rendered.parent / KERNEL_LOG).read_text(encoding="utf-8")
    text = visible_text(rendered.read_text(encoding="utf-8"))
    total = invoice_totals(expected_invoice(recs[0], client_ids=[CLIENT]))["total"].iloc[0]
    assert total == Decimal("2496.00")
    for shown in ("Granite Construction Partners", "October 2026", "September 2026",
                  "2,496.00 USD", "Microsoft 365 Business Premium", "Dropbox Business Standard",
                  "12 in use, 10 on the agreement: 2 more at 22.00 each", "new this month",
                  "provided by", "Microsoft"):
        assert shown in text, shown


def test_rendered_statement_hides_internal_fields_and_other_clients(rendered, recs) -> None:
    page = rendered.read_text(encoding="utf-8")
    text = visible_text(page).lower()
    for hidden in ("pax8", "cost", "margin", "vendor", "under_billed", "impact", ".json:",
                   ".csv:", "ledger", "18.70", "18.7"):
        assert hidden not in text, hidden
    assert "pax8" not in page.lower()  # not even in attributes or scripts
    others = set(recs[0].clients["client_name"]) | set(recs[1].clients["client_name"])
    others -= {"Granite Construction Partners"}
    assert len(others) >= 27
    leaked = [n for n in others if n.lower() in page.lower()]
    assert not leaked, leaked
    other_ids = set(recs[0].clients["client_id"]) - {CLIENT}
    assert not [c for c in other_ids if c in page]


def test_statement_compares_with_last_month_in_plain_words(recs) -> None:
    now, before = recs
    st = statement_for(now, "JUNIPERS09", None, before)
    row = st.services.set_index("service").loc["SentinelOne Control endpoint"]
    assert (row["last month"], row["this month"], row["change"]) == (19, 0, "no longer billed")
    assert any("not in use this month" in c for c in st.changes)
    harbor = statement_for(now, "HARBORVI07", None, before)
    devices = harbor.services.set_index("service").loc["Managed device (RMM)"]
    assert devices["this month"] == 25 and devices["amount"] == Decimal("87.50")
    first = statement_for(now, "HARBORVI07", None, None)
    assert set(first.services["change"]) == {"first month on record"}
    assert first.services["last month"].isna().all()


def test_statement_totals_equal_the_expected_invoice(recs) -> None:
    for client in ("ACMEMANU00", "IRONWOOD08", "LAKESIDE11"):
        st = statement_for(recs[0], client, None, recs[1])
        total = invoice_totals(expected_invoice(recs[0], client_ids=[client]))
        assert st.totals == dict(zip(total["currency"], total["total"], strict=True))
        assert sum(st.services["amount"].dropna()) == total["total"].iloc[0]


def test_hidden_vendor_names_are_scrubbed_everywhere() -> None:
    opts = StatementOptions(("pax8", "datto_rmm"), show_vendor_names=True)
    assert opts.scrub("Pax8 Exchange Online (PAX8)") == "Exchange Online"
    assert opts.scrub("Pax8Sync backup") == "Sync backup"
    assert "datto" not in opts.scrub("Datto RMM managed device via datto_rmm").lower()
    assert opts.provided_by("microsoft;pax8") == "Microsoft"
    assert StatementOptions().provided_by("microsoft") == ""
    parsed = StatementOptions.from_settings(parse_settings(SETTINGS))
    assert parsed == StatementOptions(("pax8",), True)
    with pytest.raises(ConfigError, match="hidden_vendors"):
        StatementOptions.from_settings(parse_settings('[statement]\nhidden_vendors = "pax8"\n'))


def test_statement_escapes_input_text(recs) -> None:
    now = recs[0]
    clients = now.clients.copy()
    clients.loc[clients["client_id"].eq(CLIENT), "client_name"] = HOSTILE
    st = statement_for(dataclasses.replace(now, clients=clients), CLIENT)
    page = header(st)._repr_html_() + services_table(st).to_html()
    assert HOSTILE not in page and "&lt;img src=x" in page


def test_one_client_exactly(ws, recs) -> None:
    with pytest.raises(UsageError, match="exactly one client"):
        build(ReportContext(ws, PERIOD, ("ACMEMANU00", CLIENT)))
    with pytest.raises(UsageError, match="exactly one client"):
        build(ReportContext(ws, PERIOD, ()))
    with pytest.raises(UsageError, match="NOPE"):
        statement_for(recs[0], "NOPE")


def test_statement_notebook_is_not_part_of_the_monthly_report() -> None:
    assert STATEMENT_NOTEBOOK.is_file()
    assert STATEMENT_NOTEBOOK not in notebook_paths()
    assert str(Period.parse("2026-01").previous()) == "2025-12"
    assert str(Period.parse("2026-10").previous()) == "2026-09"


def test_statement_file_names_are_safe() -> None:
    assert statement_name("ACME00") == "ACME00"
    assert statement_name("../x/y") == "%2E.%2Fx%2Fy"
    assert "/" not in statement_name("a/b") and statement_name("a/b") != statement_name("a_b")
