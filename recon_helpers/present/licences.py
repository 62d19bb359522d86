"""The Microsoft view: seats per tenant and SKU, the to-do list by act-by date, lost windows,
and idle seats' cost by client (reconcile/licences.py computes them; this module only shows).

Every string from an export (client names, SKU names, tenant ids) is escaped: tables through
:class:`~recon_helpers.present.html.Table`, the chart through :func:`charts.esc`.

Example:
    >>> lic = as_of(rec, ctx.workspace, "2026-11-03")   # the notebook parameter as_of
    >>> seats(rec)              # per tenant: bought, assigned, billed, agreed per SKU, term, end
    >>> todo(rec)               # what to act on, soonest act-by date first
    >>> idle_cost_chart(rec)    # plotly bars of the idle seats' monthly cost per client
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pandas as pd

from recon_helpers.core.workspace import Workspace
from recon_helpers.present.charts import Chart, esc
from recon_helpers.present.html import Html, Table
from recon_helpers.reconcile.licences import LicenceReport, idle_cost_by_client, parse_as_of
from recon_helpers.reconcile.licences import todo as todo_actions
from recon_helpers.reconcile.result import Reconciliation
from recon_helpers.reconcile.run import reconcile_period

NO_FILES = ("No Microsoft subscriptions or licence counts in this month's inputs (Partner Center "
            "subscriptions, subscribed SKUs, Graph subscribedSkus; see the README).")


def _report(rec: Reconciliation) -> LicenceReport | None:
    lic = rec.licences
    if lic is None or (lic.seats.empty and lic.actions.empty):
        return None
    return lic


def _scope(frame: pd.DataFrame, client_ids: Sequence[str]) -> pd.DataFrame:
    return frame[frame["client_id"].isin(list(client_ids))] if client_ids else frame


def as_of_line(rec: Reconciliation) -> Html:
    """One sentence: the as-of date, the horizon and the zone of the act-by dates."""
    lic = _report(rec)
    if lic is None:
        return Html(f'<p class="recon-empty">{NO_FILES}</p>')
    return Html(f"<p>Microsoft licences as of {lic.as_of} (today of this report); reduction "
                f"windows and renewals within {lic.horizon_days} days; act-by dates in "
                f"{esc(lic.timezone)}.</p>")


def seats(rec: Reconciliation, client_ids: Sequence[str] = ()) -> Table:
    """Per tenant and SKU: bought (active subscriptions), assigned (Graph or Partner Center),
    idle, billed and agreed (PSA), the term and its end, and the idle seats' monthly cost."""
    lic = _report(rec)
    if lic is None:
        return Table(pd.DataFrame(), "Microsoft seats", NO_FILES)
    frame = _scope(lic.seats, client_ids)
    view = frame.assign(client=frame["client_name"].where(frame["client_name"].ne(""),
                                                          frame["client_id"]))
    cols = ["client", "vendor_customer", "sku_name", "vendor_sku", "product_id", "bought",
            "assigned", "idle", "billed", "agreed", "term", "commitment_end", "auto_renew",
            "unit_cost", "idle_cost", "currency", "sources"]
    idle = int(pd.to_numeric(frame["idle"], errors="coerce").fillna(0).sum())
    unmatched = len(lic.unmatched)
    cap = (f"Microsoft seats per tenant and SKU: {len(frame)} rows, {idle} idle seats"
           + (f"; {unmatched} licence row(s) of SKUs the map does not know (add them to "
              "mappings/microsoft_skus.csv if they are billed)" if unmatched else ""))
    # ids, the unit cost and the sources go in the row's details: the table fits 1440 px
    return Table(view[cols], cap, "No Microsoft seats for the clients in scope.",
                 fold=("vendor_customer", "vendor_sku", "product_id", "unit_cost", "sources"))


def todo(rec: Reconciliation, client_ids: Sequence[str] = ()) -> Table:
    """The to-do list: open reduction windows, renewals and term mismatches (and idle seats
    that can still be reduced), soonest act-by date first."""
    lic = _report(rec)
    if lic is None:
        return Table(pd.DataFrame(), "Microsoft to-do", NO_FILES)
    frame = _scope(todo_actions(lic), client_ids)
    cols = ["act_by", "kind", "client_name", "client_id", "vendor_customer", "vendor_sku",
            "subscription_id", "seats", "impact", "currency", "what"]
    return Table(frame[cols], f"Microsoft to-do as of {lic.as_of}: {len(frame)} actions, by "
                 "the date by which each must be done", "Nothing to act on in the horizon.")


def lost(rec: Reconciliation, client_ids: Sequence[str] = ()) -> Table:
    """Reduction windows that closed this period before the as-of date with seats idle: no
    longer actionable, the seats are committed (the money is in the finding's impact)."""
    lic = _report(rec)
    if lic is None:
        return Table(pd.DataFrame(), "Lost reduction windows", NO_FILES)
    acts = _scope(lic.actions, client_ids)
    frame = acts[acts["state"].eq("lost")]
    cols = ["act_by", "client_name", "client_id", "vendor_customer", "vendor_sku",
            "subscription_id", "seats", "impact", "currency", "what"]
    return Table(frame[cols].rename(columns={"act_by": "closed_on"}),
                 f"Reduction windows lost before {lic.as_of}: {len(frame)}",
                 "No reduction window was lost this period.")


def idle_cost_chart(rec: Reconciliation, client_ids: Sequence[str] = ()) -> Chart:
    """Horizontal bars: the idle seats' monthly cost per client (one bar per currency)."""
    lic = _report(rec)
    title = "Idle Microsoft seats: monthly cost by client"
    frame = idle_cost_by_client(_scope(lic.seats, client_ids)) if lic is not None else None
    if frame is None or frame.empty:
        return _empty(title, NO_FILES if lic is None else "No idle seats.")
    frame = frame.iloc[::-1]  # plotly draws the first bar at the bottom
    labels = [esc(f"{n or c} ({cur})") for n, c, cur in
              zip(frame["client_name"], frame["client_id"], frame["currency"], strict=True)]
    hover = [esc(f"{n or c}: {i} idle seats, {v:,f} {cur} a month" if isinstance(v, Decimal)
                 else f"{n or c}: {i} idle seats, cost unknown")
             for n, c, i, v, cur in zip(frame["client_name"], frame["client_id"], frame["idle"],
                                        frame["idle_cost"], frame["currency"], strict=True)]
    x = [float(v) if isinstance(v, Decimal) else 0.0 for v in frame["idle_cost"]]
    trace = {"type": "bar", "orientation": "h", "x": x, "y": labels, "hovertext": hover,
             "hoverinfo": "text", "marker": {"color": "#EF553B"}}
    fig = _layout([trace], title, max(260, 28 * len(labels) + 120))
    fig["layout"]["yaxis"] = {"type": "category", "automargin": True}
    fig["layout"]["xaxis"] = {"title": {"text": "monthly cost of idle seats"},
                              "automargin": True}
    return Chart(fig, _validate=False)


def _layout(traces: list[dict[str, object]], title: str, height: int) -> dict[str, object]:
    return {"data": traces, "layout": {
        "title": {"text": esc(title)}, "height": height, "template": {},
        "paper_bgcolor": "white", "plot_bgcolor": "white",
        "font": {"family": "Arial, sans-serif", "size": 12, "color": "#2a3f5f"},
        "margin": {"l": 60, "r": 20, "t": 60, "b": 60}}}


def _empty(title: str, note: str) -> Chart:
    fig = _layout([], title, 220)
    fig["layout"].update({  # type: ignore[attr-defined]
        "xaxis": {"visible": False}, "yaxis": {"visible": False},
        "annotations": [{"text": esc(note), "showarrow": False, "x": 0.5, "y": 0.5,
                         "xref": "paper", "yref": "paper"}]})
    return Chart(fig, _validate=False)


def as_of(rec: Reconciliation, workspace: Workspace, text: str = "") -> Reconciliation:
    """The month reconciled as of the notebook parameter ``as_of`` (``YYYY-MM-DD``): ``rec``
    itself when it is empty or the date ``rec`` already used, else the month again with that
    date (the licence findings depend on it; SPEC's do not).

    Raises:
        UsageError: ``as_of`` is not a date YYYY-MM-DD.
    """
    if not str(text).strip():
        return rec
    when = parse_as_of(text, "parameter as_of")
    if rec.licences is not None and rec.licences.as_of == when:
        return rec
    return reconcile_period(workspace, rec.period, as_of=when)
