"""Margins per client, vendor and product: revenue, vendor cost, margin and margin %.

Definitions (also in the README, "Invoicing, statements and margins"):

* **revenue** is the *agreement* amount of the month: billable agreement quantity (less
  included units, month rule applied) x agreed unit price, rounded half up to the cent. It is
  what the client is contracted to pay; invoice errors are findings of their own and the
  expected invoice's true-ups are money still to recover, so neither is counted as revenue.
  A delivered service without an agreement line has revenue 0.
* **cost** is the delivered quantity x the vendor unit cost: the exact sum of the vendor
  lines' costs when the vendor export carries them in the agreement's currency
  (``cost_source = "vendor"``), else delivered quantity x the agreement line's unit cost when
  that is above 0 (``"agreement"``; a PSA cost of 0 means "not recorded"), else unknown
  (``""``: margin and margin % stay empty and the line is never below the floor).
* **margin** = revenue - cost (exact); **margin %** = margin / revenue x 100, rounded half up to
  0.01 (empty when revenue is 0).
* A line is **below the floor** when its margin % is under ``[margin] floor_pct`` of
  recon.toml (default 0), or when it has cost but no revenue.

Money is never summed across currencies.

Example:
    >>> margins(rec)                                    # one month
    >>> by_vendor(trends.collect(ws, october).margins.lines)   # every month up to October
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from recon_helpers.core.period import Period
from recon_helpers.core.schemas import CENT, money, qty
from recon_helpers.reconcile.result import Reconciliation

MARGIN_COLUMNS = ("period", "client_id", "client_name", "vendor", "product_id", "currency",
                  "quantity", "delivered", "revenue", "cost", "cost_source", "margin",
                  "margin_pct", "below_floor")
SUMMARY_COLUMNS = ("revenue", "cost", "margin", "margin_pct")


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and v != v)


def _pct(margin: Decimal | None, revenue: Decimal | None) -> Decimal | None:
    if margin is None or not revenue:
        return None
    return (margin * 100 / revenue).quantize(CENT, ROUND_HALF_UP)


def _below(pct: Decimal | None, margin: Decimal | None, revenue: Decimal, floor: Decimal
           ) -> bool:
    if margin is None:
        return False
    if pct is None:
        return revenue == 0 and margin < 0
    return pct < floor


def margins(rec: Reconciliation, client_ids: Sequence[str] = (),
            floor_pct: Decimal | None = None) -> pd.DataFrame:
    """Revenue, cost and margin per client x product x currency of one month.

    Args:
        rec: the month's reconciliation.
        client_ids: clients to keep; empty = all.
        floor_pct: the margin floor in percent; default ``Settings.margin_floor_pct``.

    Returns:
        MARGIN_COLUMNS (Decimals; None when unknown), keys with an agreement or a delivery.
    """
    floor = rec.settings.margin_floor_pct if floor_pct is None else floor_pct
    tw = rec.three_way
    tw = tw[(tw["agreement_lines"] > 0) | tw["has_delivery"]]
    if client_ids:
        tw = tw[tw["client_id"].isin(list(client_ids))]
    billable = (tw["agreement_qty"] - tw["less_included"]).map(qty)
    price = tw["unit_price"].astype(object).map(money)
    delivered = tw["delivered_qty"].map(qty)
    vendor_cost = tw["vendor_cost_total"].astype(object).map(money)
    same = tw["vendor_cost_currency"].eq(tw["currency"])
    agreement_cost = tw["agreement_cost"].astype(object).map(money)
    rows = []
    for q, p, d, vc, ok, ac, has_agree in zip(  # one row per key, few thousand at most
        billable, price, delivered, vendor_cost, same, agreement_cost, tw["agreement_lines"] > 0,
        strict=True,
    ):
        revenue = (q * p).quantize(CENT, ROUND_HALF_UP) if has_agree and p is not None else (
            Decimal("0.00"))
        if vc is not None and ok:
            cost, source = vc, "vendor"
        elif ac is not None and ac > 0:
            cost, source = d * ac, "agreement"
        else:
            cost, source = None, ""
        margin = None if cost is None else revenue - cost
        pct = _pct(margin, revenue)
        rows.append((revenue, cost, source, margin, pct, _below(pct, margin, revenue, floor)))
    calc = pd.DataFrame(rows, columns=["revenue", "cost", "cost_source", "margin", "margin_pct",
                                       "below_floor"], index=tw.index, dtype=object)
    names = rec.clients.drop_duplicates("client_id").set_index("client_id")["client_name"]
    out = pd.DataFrame({
        "period": str(rec.period), "client_id": tw["client_id"],
        "client_name": tw["client_id"].map(names).fillna("").astype(object),
        "vendor": tw["vendor"], "product_id": tw["product_id"], "currency": tw["currency"],
        "quantity": billable, "delivered": delivered,
    }).join(calc)
    out["below_floor"] = out["below_floor"].astype(bool)
    return out[list(MARGIN_COLUMNS)].reset_index(drop=True)


def below_floor(lines: pd.DataFrame) -> pd.DataFrame:
    """The lines below the margin floor, lowest margin % first (no revenue first)."""
    low = lines[lines["below_floor"]]
    order = low["margin_pct"].map(lambda v: Decimal("-1E9") if v is None else v)
    return low.assign(_o=order).sort_values(["_o", "period", "client_id", "product_id"],
                                            kind="stable").drop(columns="_o").reset_index(
        drop=True)


def summed(lines: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Revenue, cost and margin summed per key over the lines whose cost is known."""
    known = lines[lines["cost"].notna()]
    rows = []
    for key, grp in known.groupby(keys, sort=True):
        revenue = sum(grp["revenue"], Decimal("0.00"))
        cost = sum(grp["cost"], Decimal("0.00"))
        rows.append({**dict(zip(keys, key, strict=True)), "lines": len(grp), "revenue": revenue,
                     "cost": cost, "margin": revenue - cost,
                     "margin_pct": _pct(revenue - cost, revenue)})
    return pd.DataFrame(rows, columns=[*keys, "lines", *SUMMARY_COLUMNS])


def by_vendor(lines: pd.DataFrame) -> pd.DataFrame:
    """Margin per month, vendor and currency over the lines with a known cost."""
    return summed(lines, ["period", "vendor", "currency"])


def by_client(lines: pd.DataFrame) -> pd.DataFrame:
    """Margin per month, client and currency over the lines with a known cost."""
    return summed(lines, ["period", "client_id", "client_name", "currency"])


@dataclass(frozen=True)
class MarginTrend:
    """Margin lines of several months and the floor they were judged against."""

    periods: tuple[Period, ...]
    lines: pd.DataFrame  # MARGIN_COLUMNS of every month
    floor_pct: Decimal


