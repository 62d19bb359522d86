"""The month's index page (``reports/<YYYY-MM>/index.html``): the month in one screen.

What the month owes and what is still open, before any page is opened: the status counts
(open / held / resolved / applied), unmapped customers and SKUs, missing sources, the sign-off
state when the report was rendered, the money cards of the monthly report, and a link to each
page, with the clients with the largest impact linking straight to their section.

Example:
    >>> index_page(ws, rec, status, pages, signoff_state="open")   # a whole HTML document
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

from recon_helpers.core.workspace import Workspace
from recon_helpers.present.context import ReportContext
from recon_helpers.present.findings import client_link
from recon_helpers.present.fmt import amount, count
from recon_helpers.present.html import CSS
from recon_helpers.present.views import blockers, status_counts, summary_cards
from recon_helpers.reconcile.result import Reconciliation
from recon_helpers.reconcile.summary import top_clients

REPORT_PAGE = "04_monthly_report.html"
PAGE_CSS = """
body { font-family: Arial, sans-serif; margin: 24px auto; max-width: 1200px; color: #1b2733; }
h1 { margin-bottom: 2px; } .recon-sub-title { color: #555; margin-top: 0; }
.recon-status { border-collapse: collapse; margin: 8px 0 16px; }
.recon-status th, .recon-status td { text-align: left; padding: 3px 12px 3px 0; }
.recon-status td.num { text-align: right; font-variant-numeric: tabular-nums; }
.recon-pages li { margin: 3px 0; }
.recon-state { font-weight: 700; } .recon-state.signed { color: #0a6b2d; }
.recon-state.open, .recon-state.reopened { color: #b00020; }
"""


def msp_name(workspace: Workspace) -> str:
    """The MSP's name for page headers: ``[report] msp_name`` of recon.toml, else the
    workspace's folder name (never its absolute path)."""
    raw = workspace.settings().raw.get("report", {})
    name = raw.get("msp_name") if isinstance(raw, dict) else None
    return name.strip() if isinstance(name, str) and name.strip() else workspace.root.resolve(
        ).name


def _status_rows(rec: Reconciliation, status: pd.DataFrame, signoff_state: str,
                 signoff_page: bool) -> str:
    n = status_counts(status)
    b = rec.blockers()
    rows = [("open", n["open"]), ("held", n["held"]), ("resolved", n["resolved"]),
            ("applied in the PSA", n["applied"]),
            ("write-back conflict or failed", n["conflict"] + n["failed"]),
            ("unmapped vendor customers", b.unmapped_customers),
            ("unmapped vendor SKUs", b.unmapped_skus),
            ("missing or stale sources", len(b.missing))]
    cells = "".join(f'<tr data-status-row="{html.escape(k)}"><th>{html.escape(k)}</th>'
                    f'<td class="num">{v:,}</td></tr>' for k, v in rows)
    state = html.escape(signoff_state)
    cells += (f'<tr data-status-row="sign-off"><th>sign-off when rendered</th><td>'
              f'<span class="recon-state {state}" data-signoff="{state}">{state}</span> '
              + ('(<a href="signoff.html">signoff.html</a> shows the current state)'
                 if signoff_page else f"(sign with recon signoff --period {rec.period})")
              + "</td></tr>")
    return f'<table class="recon-status">{cells}</table>'


def _top(rec: Reconciliation, ctx: ReportContext) -> str:
    top = top_clients(ctx.scope(rec.findings), 10)
    if top.empty:
        return "<p>No client has a discrepancy this month.</p>"
    items = "".join(
        f"<li>{client_link(c, n, REPORT_PAGE)}: {html.escape(amount(v, cur))} net, "
        f"{html.escape(count(int(k), 'finding'))}</li>"
        for c, n, cur, k, v in zip(top["client_id"], top["client_name"], top["currency"],
                                   top["findings"], top["impact"], strict=True))
    return f"<ol>{items}</ol>"


def index_page(ctx: ReportContext, rec: Reconciliation, status: pd.DataFrame,
               pages: Sequence[tuple[str, str]], signoff_state: str,
               signoff_page: bool = False) -> str:
    """The index document: header, month status, money cards, pages, top clients.

    Args:
        ctx: the report's context (workspace, month, clients in scope).
        rec: the month's reconciliation.
        status: the status table of the findings in scope.
        pages: (file name, title) of each rendered page, in workbook order.
        signoff_state: ``audit.signoff.status`` when the report was rendered.
        signoff_page: whether ``signoff.html`` exists (it is linked then).
    """
    msp, period = msp_name(ctx.workspace), str(rec.period)
    scope = ", ".join(ctx.client_ids) if ctx.client_ids else "all clients"
    links = "".join(f'<li><a href="{html.escape(f)}">{html.escape(t)}</a></li>'
                    for f, t in pages)
    links += ('<li><a href="manifest.json">manifest.json</a>: inputs, hashes, parameters, '
              "versions</li>")
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(msp)}'
        f": reconciliation {period}</title><style>{PAGE_CSS}</style>{CSS}</head><body>"
        f"<h1>{html.escape(msp)}: billing reconciliation {period}</h1>"
        f'<p class="recon-sub-title">Clients in scope: {html.escape(scope)}</p>'
        f"<h2>Month status</h2>{_status_rows(rec, status, signoff_state, signoff_page)}"
        f"{blockers(rec).markup}"
        f"<h2>Money</h2>{summary_cards(rec, ctx, status).markup}"
        f'<h2>Pages</h2><ul class="recon-pages">{links}</ul>'
        f"<h2>Clients with the largest impact</h2>{_top(rec, ctx)}"
        "</body></html>\n")
