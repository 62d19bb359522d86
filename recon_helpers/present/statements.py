"""A client statement as the client reads it (notebook 06): header, services, changes, lines.

Everything shown comes from :class:`~recon_helpers.billing.statements.Statement`, which holds
only what a client may see (no costs, margins, file names, discrepancy kinds or notes).

Example:
    >>> statement = build(ctx)         # the notebook's one client
    >>> header(statement)
"""

from __future__ import annotations

import html

from recon_helpers.audit.decisions import latest_decisions
from recon_helpers.billing.statements import Statement, StatementOptions, statement_for
from recon_helpers.core.errors import UsageError
from recon_helpers.present.context import ReportContext
from recon_helpers.present.html import CSS, Html, Table, text
from recon_helpers.reconcile.run import reconcile_period


def build(ctx: ReportContext) -> Statement:
    """The statement of the notebook's one client (reconciles the month and the one before).

    Raises:
        UsageError: not exactly one client in ``client_ids``, or an unknown client.
    """
    if len(ctx.client_ids) != 1:
        raise UsageError(f"parameter client_ids: a statement is for exactly one client, got "
                         f"{list(ctx.client_ids)!r}")
    rec = ctx.reconcile()
    ws, prev = ctx.workspace, ctx.period.previous()
    previous = reconcile_period(ws, prev) if ws.inputs(prev).is_dir() else None
    return statement_for(rec, ctx.client_ids[0], latest_decisions(ws, ctx.period), previous,
                         latest_decisions(ws, prev) if previous is not None else None,
                         StatementOptions.from_settings(rec.settings))


def header(statement: Statement) -> Html:
    """Client, month and amount, with the table styles."""
    e, month, before = html.escape, statement.period.label, statement.period.previous().label
    amounts = ", ".join(f"{text(v, money_like=True) if v is not None else 'to be confirmed'} "
                        f"{e(c)}" for c, v in statement.totals.items()) or "nothing billed"
    compared = (f"compared with {before}" if statement.has_previous
                else f"no statement data for {before}")
    return Html(
        f'{CSS}<div class="recon-statement"><h2>{e(statement.client_name)}</h2>'
        f"<p>Client {e(statement.client_id)} · statement for {e(month)} "
        f"({e(compared)})</p><div class=\"recon-cards\"><div class=\"recon-card\">"
        f'<div class="value">{e(amounts)}</div><div class="label">amount for '
        f"{e(month)}</div></div></div></div>"
    )


def services_table(statement: Statement) -> Table:
    """Services with quantities last month and this month, the change and the amount."""
    return Table(statement.services, f"Your services in {statement.period.label}",
                 "No services this month.")


def changes_list(statement: Statement) -> Html:
    """What changed since last month and why, one plain sentence per service."""
    if not statement.changes:
        before = statement.period.previous().label
        return Html(f"<p>Nothing changed since {html.escape(before)}.</p>")
    items = "".join(f"<li>{html.escape(c)}</li>" for c in statement.changes)
    return Html(f"<ul class=\"recon-changes\">{items}</ul>")


def lines_table(statement: Statement) -> Table:
    """The invoice lines: monthly services, adjustments and credits."""
    return Table(statement.lines, f"Invoice lines for {statement.period.label}",
                 "No invoice lines this month.")
