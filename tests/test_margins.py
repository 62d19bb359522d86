"""Margins: revenue - cost exactly, the floor, months, the chart and the report table."""

from __future__ import annotations

import csv
import dataclasses
import re
from decimal import Decimal

import pandas as pd
import plotly.graph_objects as go

from recon_helpers.analysis import margins, trends
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import MONEY_SCALE, QTY_SCALE
from recon_helpers.core.workspace import Workspace, parse_settings
from recon_helpers.demo.plan import PERIODS
from recon_helpers.present import analysis, charts

PERIOD = Period.parse("2026-10")
HOSTILE = '<img src=x onerror="alert(1)">'


def test_margin_is_revenue_minus_cost_on_every_line(rec) -> None:
    lines = margins.margins(rec)
    known = lines[lines["cost"].notna()]
    assert len(known) >= 40 and len(lines) > len(known)  # costs are known for some vendors only
    for r in known.itertuples():
        assert r.margin == r.revenue - r.cost
        if r.revenue:
            assert abs(r.margin_pct - r.margin * 100 / r.revenue) <= Decimal("0.005")
    assert lines.loc[lines["cost"].isna(), "margin"].isna().all()
    total = margins.summed(lines, ["currency"]).iloc[0]
    assert total["margin"] == total["revenue"] - total["cost"]
    assert total["revenue"] == sum(known["revenue"]) and total["cost"] == sum(known["cost"])


def test_revenue_is_the_agreement_and_cost_the_delivered_vendor_cost(rec) -> None:
    lines = margins.margins(rec).set_index(["client_id", "product_id"])
    pm = rec.month.promised
    row = pm[pm["client_id"].eq("ACMEMANU00") & pm["product_id"].eq("M365-BS")].iloc[0]
    acme = lines.loc[("ACMEMANU00", "M365-BS")]
    assert acme["revenue"] == Decimal(int(row["wq"]) * int(row["unit_price"])) / (
        QTY_SCALE * MONEY_SCALE)
    d = rec.month.delivered
    vendor = d[d["client_id"].eq("ACMEMANU00") & d["product_id"].eq("M365-BS")]
    cost = sum(Decimal(int(q)) * Decimal(int(c)) for q, c in
               zip(vendor["wq"], vendor["unit_cost"], strict=True)) / (QTY_SCALE * MONEY_SCALE)
    assert (acme["cost"], acme["cost_source"]) == (cost, "vendor")
    # seats delivered above the agreement cost money without revenue
    granite = lines.loc[("GRANITEC06", "M365-BP")]
    assert granite["cost"] == Decimal("12") * Decimal("18.70")
    assert granite["revenue"] == Decimal("220.00")
    # a flat fee has no vendor cost: unknown, never a 100 % margin
    flat = lines.loc[("ACMEMANU00", "MSP-FLAT")]
    assert flat["cost"] is None and flat["margin_pct"] is None and not flat["below_floor"]


def test_negative_margin_matches_the_planted_finding(demo, rec) -> None:
    with (demo / "demo_ground_truth.csv").open(encoding="utf-8") as fh:
        planted = next(r for r in csv.DictReader(fh)
                       if r["period"] == str(PERIOD) and r["kind"] == "negative_margin")
    low = margins.below_floor(margins.margins(rec))
    hit = low[low["client_id"].eq(planted["client_id"]) & low["product_id"].eq(
        planted["product_id"])]
    assert hit["margin"].tolist() == [Decimal(planted["impact"])]
    assert low.iloc[0]["client_id"] == planted["client_id"]  # lowest margin % first


def test_floor_from_recon_toml(rec) -> None:
    settings = parse_settings('[margin]\nfloor_pct = "20"\n')
    assert settings.margin_floor_pct == Decimal(20)
    at_20 = margins.margins(dataclasses.replace(rec, settings=settings))
    known = at_20[at_20["cost"].notna()]
    assert known.loc[known["vendor"].eq("microsoft"), "below_floor"].all()  # 15 % margins
    pax8 = known[known["vendor"].eq("pax8")]
    assert pax8["margin_pct"].eq(Decimal("20.00")).all() and not pax8["below_floor"].any()
    at_0 = margins.margins(rec)
    assert at_0["below_floor"].sum() < at_20["below_floor"].sum()


def test_margins_across_months(demo) -> None:
    # months after the one asked for are left out
    trend = trends.collect(Workspace.open(demo), Period.parse(PERIODS[1])).margins
    assert [str(p) for p in trend.periods] == list(PERIODS[:2])
    assert sorted(trend.lines["period"].unique()) == list(PERIODS[:2])
    by_vendor = margins.by_vendor(trend.lines)
    assert {"microsoft", "pax8"} <= set(by_vendor["vendor"])
    for r in by_vendor.itertuples():
        month = trend.lines[trend.lines["period"].eq(r.period) & trend.lines["vendor"].eq(
            r.vendor) & trend.lines["cost"].notna()]
        assert r.revenue == sum(month["revenue"]) and r.cost == sum(month["cost"])
        assert r.margin == r.revenue - r.cost
    assert trend.floor_pct == Decimal(0)


def test_client_scope(rec) -> None:
    assert set(margins.margins(rec, ["ACMEMANU00"])["client_id"]) == {"ACMEMANU00"}


def test_margin_chart_escapes_names_and_draws_the_floor() -> None:
    frame = pd.DataFrame({
        "period": ["2026-09", "2026-10", "2026-10"], "vendor": [HOSTILE, HOSTILE, ""],
        "currency": ["USD"] * 3, "lines": [1, 1, 1],
        "revenue": [Decimal("100.00"), Decimal("100.00"), Decimal("50.00")],
        "cost": [Decimal("85"), Decimal("90"), Decimal("60")],
        "margin": [Decimal("15.00"), Decimal("10.00"), Decimal("-10.00")],
        "margin_pct": [Decimal("15.00"), Decimal("10.00"), Decimal("-20.00")],
    })
    chart = charts.margin_by_vendor(frame, Decimal("20"))
    go.Figure(chart.to_dict())  # valid plotly
    texts = list(charts.figure_texts(chart))
    assert not [t for t in texts if re.search(r"<(?!br>)", t)]
    named = {t.name: t.y for t in chart.data}
    assert named[f"{charts.esc(HOSTILE)} USD"] == (15.0, 10.0)
    assert named[f"{charts.NO_VENDOR} USD"] == (None, -20.0)
    assert chart.layout.shapes[0].y0 == 20.0
    assert charts.margin_by_vendor(frame.iloc[:0]).layout.annotations  # empty note


def test_margin_table_for_the_monthly_report(rec) -> None:
    table = analysis.margin_table(rec, ["MAPLESTR12"])
    page = table.to_html()
    assert "MAPLESTR12" in page and "GRANITEC06" not in page
    assert "-37.40" in page and "1 line(s) below the 0 % floor" in page
    below, per_client, every = page.split('<div class="recon-caption">')[1:]
    assert below.startswith("Margins of 2026-10") and "-37.40" in below
    assert "Margin per client" in per_client and "MAPLESTR12" in per_client
    assert "<details><summary>All " in page and every.startswith("All ")
    assert every.count("<tr>") - 1 == len(margins.margins(rec, ["MAPLESTR12"]))
