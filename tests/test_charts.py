"""Charts: input strings escaped everywhere, valid plotly, offline HTML, exact hover figures."""

from __future__ import annotations

import re
from decimal import Decimal

import pandas as pd
import plotly.graph_objects as go
import pytest

from recon_helpers.analysis import trends
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import MONEY_SCALE, QTY_SCALE
from recon_helpers.present import charts

HOSTILE = '<img src=x onerror="alert(1)">'
ESCAPED = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"


def findings(rows: list[tuple]) -> pd.DataFrame:
    cols = ["period", "kind", "client_id", "client_name", "vendor", "impact", "currency"]
    return pd.DataFrame(rows, columns=cols).astype(object)


FINDINGS = findings([
    ("2026-09", "under_billed", "0042", HOSTILE, "pax8", Decimal("10.10"), "USD"),
    ("2026-10", "under_billed", "0042", HOSTILE, "pax8", Decimal("44.00"), "USD"),
    ("2026-10", "over_billed", "B&Q", "B&Q <Ltd>", "", Decimal("-17.50"), "USD"),
    ("2026-10", "unmapped_customer", "", "", "microsoft", None, "EUR"),
])
TREND = trends.Trends((Period.parse("2026-09"), Period.parse("2026-10")), FINDINGS,
                     pd.DataFrame())
THREE_WAY = pd.DataFrame({
    "product_id": [HOSTILE, "0042"], "currency": ["USD", "USD"],
    "delivered_qty": [12 * QTY_SCALE, 34_000], "agreement_qty": [10 * QTY_SCALE, 3 * QTY_SCALE],
    "invoiced_qty": [10 * QTY_SCALE, 0], "unit_price": [22 * MONEY_SCALE, pd.NA],
})


def built() -> dict[str, charts.Chart]:
    month = FINDINGS[FINDINGS["period"] == "2026-10"]
    return {
        "impact_by_kind": charts.impact_by_kind(month),
        "impact_by_client": charts.impact_by_client(month),
        "client_three_way": charts.client_three_way(THREE_WAY, HOSTILE),
        "trend_month": charts.trend_lines(trends.impact_by_month(TREND), "currency", "By month"),
        "trend_vendor": charts.trend_lines(trends.impact_by_vendor(TREND), "vendor", "By vendor"),
        "trend_client": charts.trend_lines(trends.impact_by_client(TREND), "client", HOSTILE),
        "counts_by_kind": charts.counts_by_kind(trends.counts_by_kind(TREND)),
        "largest_movers": charts.largest_movers(trends.largest_movers(TREND)),
    }


CHARTS = built()


@pytest.mark.parametrize("name", CHARTS)
def test_no_input_string_reaches_plotly_unescaped(name: str) -> None:
    texts = list(charts.figure_texts(CHARTS[name]))
    raw_tags = [t for t in texts if re.search(r"<(?!br>)", t)]
    assert not raw_tags, raw_tags
    assert all("onerror=\"" not in t for t in texts)


@pytest.mark.parametrize("name", CHARTS)
def test_figures_are_valid_plotly(name: str) -> None:
    go.Figure(CHARTS[name].to_plotly_json())  # validates every property the fast path skipped


@pytest.mark.parametrize("name", CHARTS)
def test_mime_bundle_draws_offline(name: str) -> None:
    bundle = CHARTS[name]._repr_mimebundle_()
    assert bundle["application/vnd.plotly.v1+json"]["data"] == CHARTS[name].to_plotly_json()["data"]
    html = bundle["text/html"]
    assert "Plotly.newPlot" in html
    assert "https://" not in html and "<script src" not in html and "MathJax" not in html


def test_escaped_names_appear_in_labels_titles_and_hover() -> None:
    client = CHARTS["impact_by_client"].data[0]
    assert f"{ESCAPED} (0042) USD" in client.y
    assert "B&amp;Q &lt;Ltd&gt; (B&amp;Q) USD" in client.y
    assert CHARTS["client_three_way"].layout.title.text.startswith(ESCAPED)
    assert CHARTS["client_three_way"].data[0].x[0] == f"{ESCAPED} USD"
    assert CHARTS["trend_client"].layout.title.text == ESCAPED


def test_hover_text_carries_exact_decimals() -> None:
    kinds = CHARTS["impact_by_kind"].data
    bill = next(t for t in kinds if t.name == "to bill (USD)")
    assert "to bill: 44.00 USD" in bill.hovertext[list(bill.x).index("under_billed")]
    three = CHARTS["client_three_way"].data[0]
    assert three.y[1] == 3.4 and three.hovertext[1].endswith("delivered (vendor): 3.4")
    movers = CHARTS["largest_movers"].data[0]
    assert any("10.10 → 44.00 (change 33.90)" in h for h in movers.hovertext)


def test_client_bars_are_coloured_to_bill_or_to_credit() -> None:
    client = CHARTS["impact_by_client"].data[0]
    colour = dict(zip(client.y, client.marker.color, strict=True))
    assert colour[f"{ESCAPED} (0042) USD"] == charts.TO_BILL  # +44.00
    assert colour["B&amp;Q &lt;Ltd&gt; (B&amp;Q) USD"] == charts.TO_CREDIT  # -17.50


def test_category_axes_keep_ids_as_text() -> None:
    for name in ("impact_by_kind", "client_three_way", "counts_by_kind"):
        assert CHARTS[name].layout.xaxis.type == "category"
    for name in ("impact_by_client", "largest_movers"):
        assert CHARTS[name].layout.yaxis.type == "category"


def test_currencies_are_separate_series() -> None:
    names = [t.name for t in CHARTS["trend_month"].data]
    assert names == ["EUR", "USD"]
    vendors = [t.name for t in CHARTS["trend_vendor"].data]
    assert vendors == ["(no vendor) USD", "microsoft EUR", "pax8 USD"]


def test_empty_inputs_give_an_explained_empty_chart() -> None:
    none = FINDINGS.iloc[:0]
    for fig in (charts.impact_by_kind(none), charts.impact_by_client(none),
                charts.largest_movers(trends.largest_movers(
                    trends.Trends((Period.parse("2026-10"),), none, pd.DataFrame())))):
        assert not fig.data and fig.layout.annotations[0].text
        go.Figure(fig.to_plotly_json())


def test_trend_tables_sum_per_currency_and_month() -> None:
    by_month = trends.impact_by_month(TREND)
    usd = by_month[(by_month["period"] == "2026-10") & (by_month["currency"] == "USD")].iloc[0]
    assert (usd["count"], usd["impact"], usd["to_bill"], usd["to_credit"]) == (
        2, Decimal("26.50"), Decimal("44.00"), Decimal("-17.50"))
    counts = trends.counts_by_kind(TREND)
    assert len(counts) == 2 * 9 and counts["count"].sum() == len(FINDINGS)
    movers = trends.largest_movers(TREND)
    assert movers[["client_id", "previous", "latest", "change"]].values.tolist() == [
        ["0042", Decimal("10.10"), Decimal("44.00"), Decimal("33.90")],
        ["B&Q", Decimal("0.00"), Decimal("-17.50"), Decimal("-17.50")]]
