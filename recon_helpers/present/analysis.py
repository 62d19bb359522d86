"""The analysis views: margins of the month and the lines below the floor across months.

Example:
    >>> margin_table(rec, ctx.client_ids)        # section of the monthly report
    >>> floor_table(trend.margins)               # notebook 05
"""

from __future__ import annotations

from collections.abc import Sequence

from recon_helpers.analysis.margins import MarginTrend, below_floor, by_client, margins, summed
from recon_helpers.present.fmt import amount, qty_text
from recon_helpers.present.html import Html, Table
from recon_helpers.reconcile.result import Reconciliation


def margin_table(rec: Reconciliation, client_ids: Sequence[str] = ()) -> Html | Table:
    """The month's margins for the monthly report, as escaped HTML: the totals, the lines
    below the floor, the margin per client, and every line in a collapsed block."""
    lines = margins(rec, client_ids)
    totals = summed(lines, ["currency"])
    summary = "; ".join(f"{amount(m, c)} margin on {amount(r, c)} revenue ({qty_text(p)} %)"
                        for c, r, m, p in zip(totals["currency"], totals["revenue"],
                                              totals["margin"], totals["margin_pct"],
                                              strict=True))
    low = int(lines["below_floor"].sum()) if len(lines) else 0
    floor = rec.settings.margin_floor_pct
    caption = (f"Margins of {rec.period} (revenue = agreement amount; cost = delivered x vendor "
               f"unit cost): {summary or 'no line with a known cost'}; {low} line(s) below the "
               f"{floor} % floor")
    if lines.empty:
        return Table(lines, caption, "No agreement or delivery this month.")
    shown = lines.drop(columns=["period", "below_floor"])
    parts = [
        Table(below_floor(lines).drop(columns=["period", "below_floor"]), caption,
              f"No line below the {floor} % floor."),
        Table(by_client(lines).drop(columns=["period"]),
              "Margin per client (lines with a known vendor cost)", "No line with a known cost."),
    ]
    every = Table(shown, f"All {len(lines)} margin lines")
    return Html("".join(p.to_html() for p in parts)
                + f"<details><summary>All {len(lines)} margin lines (revenue, cost, margin per "
                  f"client, vendor and product)</summary>{every.to_html()}</details>")


def floor_table(trend: MarginTrend) -> Table:
    """The lines below the margin floor across months, as an escaped table."""
    low = below_floor(trend.lines)
    return Table(low, f"{len(low)} line(s) below the {trend.floor_pct} % margin floor "
                 f"({', '.join(map(str, trend.periods))})", "No line below the margin floor.")
