"""The month's money at a glance: contracted, invoiced, delivered, to bill, cost at risk.

Per currency (never summed across currencies), over the clients in scope:

* **contracted**: the agreement amount (``margins.margins`` revenue: billable agreement
  quantity x agreed unit price);
* **invoiced**: the sum of the month's invoice line amounts;
* **delivered**: the delivered quantity (in billed units) x the agreed unit price, or the
  catalogue price where there is no agreement line; ``delivered_unpriced`` counts the rows
  with a delivery but no price (they add nothing);
* **to_bill** / **to_credit**: positive / negative impacts of the findings that count (not
  held), *excluding* ``unmapped_customer`` / ``unmapped_product``, whose impact is the vendor
  cost of lines nobody is billed for yet (SPEC): that is **cost_at_risk**, not money to bill.

Example:
    >>> month_totals(rec)            # tuple of (currency, MonthTotals)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from recon_helpers.analysis.margins import margins
from recon_helpers.core.schemas import CENT, money, qty
from recon_helpers.reconcile.result import Reconciliation

AT_RISK_KINDS = ("unmapped_customer", "unmapped_product")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class MonthTotals:
    """One currency's money of the month (see the module docstring)."""

    contracted: Decimal
    invoiced: Decimal
    delivered: Decimal
    delivered_unpriced: int
    to_bill: Decimal
    to_credit: Decimal
    cost_at_risk: Decimal
    net: Decimal  # to_bill + to_credit (cost at risk excluded)


def _dec(value: object) -> Decimal | None:
    return value if isinstance(value, Decimal) else None


def _finding_money(findings: pd.DataFrame) -> dict[str, dict[str, Decimal]]:
    out: dict[str, dict[str, Decimal]] = {}
    counted = findings["hold"].eq("") if "hold" in findings else pd.Series(True, findings.index)
    for kind, cur, imp, ok in zip(findings["kind"], findings["currency"], findings["impact"],
                                  counted, strict=True):
        v = _dec(imp)
        if v is None or not ok:
            continue
        acc = out.setdefault(str(cur), {"to_bill": ZERO, "to_credit": ZERO, "at_risk": ZERO})
        part = "at_risk" if kind in AT_RISK_KINDS else ("to_bill" if v > 0 else "to_credit")
        acc[part] += v
    return out


def month_totals(rec: Reconciliation, client_ids: Sequence[str] = ()
                 ) -> tuple[tuple[str, MonthTotals], ...]:
    """(currency, :class:`MonthTotals`) pairs sorted by currency code, for the clients in
    scope (empty = all). Cost at risk of unmapped customers belongs to no client, so it is
    counted only when every client is in scope."""
    tw, f = rec.three_way, rec.findings
    if client_ids:
        tw = tw[tw["client_id"].isin(list(client_ids))]
        f = f[f["client_id"].isin(list(client_ids))]
    contracted: dict[str, Decimal] = {}
    for cur, grp in margins(rec, client_ids).groupby("currency"):
        contracted[str(cur)] = sum((v for v in grp["revenue"] if isinstance(v, Decimal)), ZERO)
    invoiced: dict[str, Decimal] = {}
    delivered: dict[str, Decimal] = {}
    unpriced: dict[str, int] = {}
    for row in tw.itertuples(index=False):
        cur = str(row.currency)
        amt = money(row.invoiced_amount)
        invoiced[cur] = invoiced.get(cur, ZERO) + (amt or ZERO)
        if not row.delivered_qty:
            continue
        price = money(row.unit_price) if row.agreement_lines else None
        if price is None and str(row.catalogue_currency or cur) == cur:
            price = money(row.catalogue_price)
        if price is None:
            unpriced[cur] = unpriced.get(cur, 0) + 1
            continue
        value = (qty(row.delivered_qty) * price).quantize(CENT, ROUND_HALF_UP)
        delivered[cur] = delivered.get(cur, ZERO) + value
    found = _finding_money(f)
    out = []
    for cur in sorted(set(contracted) | set(invoiced) | set(delivered) | set(found)):
        m = found.get(cur, {"to_bill": ZERO, "to_credit": ZERO, "at_risk": ZERO})
        out.append((cur, MonthTotals(
            contracted=contracted.get(cur, ZERO), invoiced=invoiced.get(cur, ZERO),
            delivered=delivered.get(cur, ZERO), delivered_unpriced=unpriced.get(cur, 0),
            to_bill=m["to_bill"], to_credit=m["to_credit"], cost_at_risk=m["at_risk"],
            net=m["to_bill"] + m["to_credit"])))
    return tuple(out)
