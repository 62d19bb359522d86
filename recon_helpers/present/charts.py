"""Plotly figures of the reconciliation, with every input string HTML-escaped.

Client names, SKUs and descriptions come from vendor and PSA exports, so a name such as
``<img src=x onerror=...>`` must never reach plotly as markup: plotly renders a subset of HTML
in titles, tick labels and hover text. Every such string passes through :func:`esc` here, and
category axes are forced to ``type="category"`` so an ID like ``"0042"`` stays text.

Figures are :class:`Chart` objects and render offline: plotly JSON for JupyterLab plus an HTML
snippet without any CDN reference; the report exporter (report.py) inlines plotly.js from the
installed package.

Example:
    >>> impact_by_kind(rec.findings)            # displayed when it is a cell's last expression
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.io._html import to_html

from recon_helpers.core.schemas import QTY_SCALE, qty
from recon_helpers.present.findings import client_anchor
from recon_helpers.present.fmt import money_text, qty_text
from recon_helpers.reconcile.summary import impact_by_kind as _impact_by_kind
from recon_helpers.reconcile.summary import top_clients

CONFIG = {"displaylogo": False, "responsive": True}
# plotly's default palette, set per figure: applying a named template deep-copies ~10 KB per
# figure (25 ms) and embeds it in every figure's JSON, which adds up over hundreds of clients
COLORWAY = ("#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692",
            "#B6E880", "#FF97FF", "#FECB52")
TO_BILL, TO_CREDIT = COLORWAY[0], COLORWAY[1]  # amounts still to bill (up), to credit (down)

NO_VENDOR = "(no vendor)"


def esc(value: Any) -> str:
    """Text of any input value, HTML-escaped for plotly (None and NaN become "")."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return html.escape(str(value), quote=True)


def _num(value: Any) -> float:
    """A Decimal as float, for bar heights only; exact text goes in the hover."""
    return float(value) if isinstance(value, Decimal) else 0.0


def _dtext(value: Any) -> str:
    return money_text(value) if isinstance(value, Decimal) else "unknown"


def _qtext(value: Any) -> str:
    return qty_text(value) if isinstance(value, Decimal) else "unknown"


class Chart(go.Figure):
    """A plotly figure that displays offline, without plotly's renderer machinery.

    Its mime bundle holds the plotly JSON (JupyterLab draws it with the bundled extension)
    and an HTML snippet with no plotly.js, MathJax or CDN script, which nbconvert keeps; the
    report page inlines plotly.js once (report.export_html). Going around ``pio.renderers``
    also spares each kernel the ~2 s import of nbformat/jsonschema it triggers.
    """

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any
                          ) -> dict[str, Any]:
        fig = json.loads(self.to_json())
        fig["config"] = CONFIG
        snippet = to_html(fig, config=CONFIG, include_plotlyjs=False, include_mathjax=False,
                          full_html=False, default_width="100%",
                          default_height=self.layout.height or 450, validate=False)
        return {"application/vnd.plotly.v1+json": fig, "text/html": snippet}

    def _repr_html_(self) -> str:
        return self._repr_mimebundle_()["text/html"]

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)


def _figure(traces: list[dict[str, Any]], title: str, *, height: int = 420,
            xaxis: dict[str, Any] | None = None, yaxis: dict[str, Any] | None = None,
            **layout: Any) -> Chart:
    """A Chart from trace dicts. Built unvalidated (10x faster, which matters with hundreds of
    client charts); tests/test_charts.py re-validates every figure the functions here build.
    """
    grid = {"gridcolor": "#ebf0f8", "zerolinecolor": "#c8d4e3", "automargin": True}
    fig = {
        "data": traces,
        "layout": {
            "title": {"text": title}, "height": height, "template": {}, "colorway": COLORWAY,
            "font": {"family": "Arial, sans-serif", "size": 12, "color": "#2a3f5f"},
            "paper_bgcolor": "white", "plot_bgcolor": "white", "hovermode": "closest",
            "margin": {"l": 60, "r": 20, "t": 60, "b": 60},
            "legend": {"orientation": "h", "y": -0.2},
            "xaxis": {**grid, **(xaxis or {})}, "yaxis": {**grid, **(yaxis or {})}, **layout,
        },
    }
    return Chart(fig, _validate=False)


def _empty(title: str, note: str) -> Chart:
    return _figure([], title, height=220, xaxis={"visible": False}, yaxis={"visible": False},
                   annotations=[{"text": esc(note), "showarrow": False, "x": 0.5, "y": 0.5,
                                 "xref": "paper", "yref": "paper"}])


def _hbar(values: list[Any], labels: list[str], hover: list[str], title: str,
          xtitle: str, signed: bool = False, links: list[str] | None = None) -> Chart:
    x = [_num(v) for v in values]
    trace = {"type": "bar", "orientation": "h", "x": x, "y": labels,
             "hovertext": hover, "hoverinfo": "text"}
    if links is not None:  # "#client-..." fragments; the report page follows them on click
        trace["customdata"] = links
    if signed:  # the colours of impact_by_kind: to bill / to credit
        trace["marker"] = {"color": [TO_CREDIT if v is not None and v < 0 else TO_BILL
                                     for v in x]}
    return _figure([trace], title, height=max(260, 28 * len(labels) + 120),
                   yaxis={"type": "category"}, xaxis={"title": {"text": xtitle}})


def impact_by_kind(findings: pd.DataFrame) -> Chart:
    """Bar per discrepancy kind: amount to bill (up) and to credit (down), per currency."""
    table = _impact_by_kind(findings)
    title = "Impact by discrepancy kind"
    if table.empty:
        return _empty(title, "No discrepancies this month.")
    traces = []
    for cur, grp in table.groupby("currency", sort=True):
        labels = [esc(k) for k in grp["kind"]]
        for part, name in (("to_bill", "to bill"), ("to_credit", "to credit")):
            hover = [f"{k}<br>{name}: {_dtext(v)} {esc(cur)}<br>{n} finding(s)"
                     for k, v, n in zip(labels, grp[part], grp["count"], strict=True)]
            traces.append({"type": "bar", "x": labels, "y": [_num(v) for v in grp[part]],
                           "name": f"{name} ({esc(cur)})", "hovertext": hover,
                           "hoverinfo": "text"})
    return _figure(traces, title, barmode="relative", xaxis={"type": "category"},
                   yaxis={"title": {"text": "impact"}})


def impact_by_client(findings: pd.DataFrame, n: int = 20) -> Chart:
    """Horizontal bars of the ``n`` clients with the largest absolute impact."""
    table = top_clients(findings, n)
    title = f"Clients with the largest impact (top {n})"
    if table.empty:
        return _empty(title, "No client has a discrepancy this month.")
    table = table.iloc[::-1]  # plotly draws the first bar at the bottom
    labels = [f"{esc(name)} ({esc(cid)}) {esc(cur)}" for cid, name, cur in
              zip(table["client_id"], table["client_name"], table["currency"], strict=True)]
    hover = [f"{lab}<br>net impact {_dtext(v)}<br>{k} finding(s)"
             for lab, v, k in zip(labels, table["impact"], table["findings"], strict=True)]
    links = [f"#{client_anchor(c)}" for c in table["client_id"]]
    return _hbar(list(table["impact"]), labels, hover, title, "net impact (to bill > 0, "
                 "to credit < 0); click a bar for the client's section", signed=True,
                 links=links)


def client_three_way(tw: pd.DataFrame, client_name: str) -> Chart:
    """Delivered, promised and billed quantity per product of one client (three_way rows)."""
    title = f"{esc(client_name)}: delivered vs promised vs billed"
    if tw.empty:
        return _empty(title, "No products this month.")
    labels = [f"{esc(p)} {esc(c)}" for p, c in zip(tw["product_id"], tw["currency"], strict=True)]
    traces = []
    for col, name in (("delivered_qty", "delivered (vendor)"),
                      ("agreement_qty", "promised (agreement)"),
                      ("invoiced_qty", "billed (invoice)")):
        hover = [f"{lab}<br>{name}: {_qtext(qty(v))}" for lab, v in
                 zip(labels, tw[col], strict=True)]
        traces.append({"type": "bar", "x": labels, "y": [int(v) / QTY_SCALE for v in tw[col]],
                       "name": name, "hovertext": hover, "hoverinfo": "text"})
    return _figure(traces, title, height=360, barmode="group", xaxis={"type": "category"},
                   yaxis={"title": {"text": "quantity"}})


def trend_lines(frame: pd.DataFrame, by: str, title: str, value: str = "impact") -> Chart:
    """One line per value of ``by`` across months (a long table with period, by, value).

    ``value`` holds Decimals (impact) or ints (counts); a currency column, when present, is
    part of the series name so currencies never add up.
    """
    if frame.empty:
        return _empty(esc(title), "Nothing to plot for these months.")
    keys = [by, "currency"] if "currency" in frame and by != "currency" else [by]
    periods = sorted(frame["period"].unique())
    traces = []
    for key, grp in frame.groupby(keys, sort=True):
        parts = key if isinstance(key, tuple) else (key,)
        name = " ".join(esc(p) or NO_VENDOR for p in parts)
        series = dict(zip(grp["period"], grp[value], strict=True))
        ys = [series.get(p) for p in periods]
        hover = [f"{name}<br>{p}: {_dtext(v) if isinstance(v, Decimal) else v}"
                 for p, v in zip(periods, ys, strict=True)]
        traces.append({"type": "scatter", "mode": "lines+markers", "name": name, "x": periods,
                       "y": [_num(v) if isinstance(v, Decimal) else v for v in ys],
                       "hovertext": hover, "hoverinfo": "text"})
    return _figure(traces, esc(title), xaxis={"type": "category", "title": {"text": "month"}},
                   yaxis={"title": {"text": esc(value)}})


def counts_by_kind(frame: pd.DataFrame) -> Chart:
    """Stacked bars: number of discrepancies per kind per month (period, kind, count)."""
    title = "Discrepancies by kind and month"
    if frame.empty or not frame["count"].any():
        return _empty(title, "No discrepancies in these months.")
    periods = sorted(frame["period"].unique())
    traces = []
    for kind, grp in frame.groupby("kind", sort=False):
        series = dict(zip(grp["period"], grp["count"], strict=True))
        traces.append({"type": "bar", "x": periods, "name": esc(kind),
                       "y": [int(series.get(p, 0)) for p in periods]})
    return _figure(traces, title, barmode="stack", xaxis={"type": "category"},
                   yaxis={"title": {"text": "discrepancies"}})


def largest_movers(movers: pd.DataFrame) -> Chart:
    """Bars of the change in net impact per client between two months (trends.largest_movers)."""
    title = "Largest movers between the last two months"
    if movers.empty:
        return _empty(title, "Fewer than two months, or no change.")
    rows = movers.iloc[::-1]
    labels = [f"{esc(n)} ({esc(c)}) {esc(cur)}" for c, n, cur in
              zip(rows["client_id"], rows["client_name"], rows["currency"], strict=True)]
    hover = [f"{lab}<br>{_dtext(a)} → {_dtext(b)} (change {_dtext(d)})" for lab, a, b, d in
             zip(labels, rows["previous"], rows["latest"], rows["change"], strict=True)]
    return _hbar(list(rows["change"]), labels, hover, title, "change in net impact")


def figure_texts(fig: go.Figure) -> Iterable[str]:
    """Every text a figure shows (title, names, categories, hover), for escaping checks."""
    layout = fig.layout
    if layout.title and layout.title.text:
        yield layout.title.text
    for ann in layout.annotations or ():
        yield ann.text or ""
    for trace in fig.data:
        yield trace.name or ""
        for attr in ("x", "y", "hovertext", "text"):
            values = getattr(trace, attr, None)
            if values is not None:
                yield from (str(v) for v in values)


def margin_by_vendor(frame: pd.DataFrame, floor_pct: Decimal | None = None) -> Chart:
    """Margin % per vendor (and currency) across months, with the margin floor as a line.

    ``frame`` is ``margins.by_vendor``: period, vendor, currency, revenue, cost, margin,
    margin_pct (Decimals; months without revenue have no point).
    """
    title = "Margin % by vendor and month"
    if frame.empty:
        return _empty(title, "No line with a known vendor cost in these months.")
    periods = sorted(frame["period"].unique())
    traces = []
    for (vendor, cur), grp in frame.groupby(["vendor", "currency"], sort=True):
        name = f"{esc(vendor) or NO_VENDOR} {esc(cur)}"
        by = {p: (pct, m, r) for p, pct, m, r in
              zip(grp["period"], grp["margin_pct"], grp["margin"], grp["revenue"], strict=True)}
        ys = [by.get(p, (None, None, None)) for p in periods]
        hover = [f"{name}<br>{p}: margin {_dtext(m)} on revenue {_dtext(r)}"
                 f" ({_dtext(pct)} %)" for p, (pct, m, r) in zip(periods, ys, strict=True)]
        traces.append({"type": "scatter", "mode": "lines+markers", "name": name, "x": periods,
                       "y": [_num(pct) if isinstance(pct, Decimal) else None for pct, _, _ in ys],
                       "hovertext": hover, "hoverinfo": "text"})
    shapes, notes = [], []
    if floor_pct is not None:
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y",
                       "y0": float(floor_pct), "y1": float(floor_pct),
                       "line": {"color": TO_CREDIT, "dash": "dash", "width": 1}})
        notes.append({"text": esc(f"floor {floor_pct:f} %"), "showarrow": False, "xref": "paper",
                      "x": 1, "xanchor": "right", "yref": "y", "y": float(floor_pct),
                      "yanchor": "bottom", "font": {"color": TO_CREDIT}})
    return _figure(traces, title, xaxis={"type": "category", "title": {"text": "month"}},
                   yaxis={"title": {"text": "margin %"}, "ticksuffix": " %"},
                   shapes=shapes, annotations=notes)
