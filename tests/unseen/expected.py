"""The findings a month must give: the documented rules applied to the plan, and the declared
planted list they are checked against.

The rules are the README's "How a month is reconciled" (SPEC kinds and impacts) under the
default ``month_end`` rule and exact tolerances: a line counts when its dates cover the month's
last day; an agreement addition is live when it overlaps the month; products are vendor-backed
when ``products.csv`` maps a SKU to them; invoices compare with ``quantity - lessIncluded``;
invoice checks run because the month has invoices. Which vendor customer is whose comes from
the plan (``Customer.client_id``), not from name matching: that is what the workbook must find.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from tests.unseen.model import Addition, InvoiceLine, Line, Month, month_bounds

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Expected:
    """One finding as the CLI's table must show it (SPEC columns, then status / detail)."""

    kind: str
    client_id: str
    product_id: str
    impact: Decimal | None
    vendor: str = ""
    vendor_customer: str = ""  # compared for unmapped_customer only
    vendor_sku: str = ""  # compared for unmapped_product only
    currency: str = "USD"
    status: str = "open"
    reason: str = ""  # a held finding's reason, expected in its detail

    def key(self) -> tuple[str, ...]:
        """What identifies the finding in the table (impact and status are compared apart)."""
        cust = self.vendor_customer.lower() if self.kind == "unmapped_customer" else ""
        sku = self.vendor_sku.lower() if self.kind == "unmapped_product" else ""
        vendor = self.vendor if self.kind.startswith("unmapped") else ""
        return (self.kind, self.client_id, self.product_id, vendor, cust, sku, self.currency)


def _cents(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(CENT, ROUND_HALF_UP)


def counts(line: Line, period: str) -> bool:
    """month_end: the line's range covers the last day of the month (no dates: a snapshot)."""
    last = month_bounds(period)[1]
    return (line.start is None or line.start <= last) and (line.end is None or line.end >= last)


def _delivered(month: Month, unmapped: set[tuple[str, str]]):  # type: ignore[no-untyped-def]
    """(per client x product: qty and cost lines, unmapped customer groups, unmapped SKUs)."""
    pmap = {(v, s.lower()): p for v, s, p in month.product_map}
    ignored = {(v, i) for v, i, _, _ in month.ignore}
    keyed: dict[tuple[str, str], list[Line]] = defaultdict(list)
    no_client: dict[tuple[str, str], list[Line]] = defaultdict(list)
    no_product: dict[tuple[str, str, str], list[Line]] = defaultdict(list)
    for line in month.lines:
        if (line.vendor, line.customer_id) in ignored:
            continue
        cust = month.customer(line.vendor, line.customer_id)
        client = "" if (cust.vendor, cust.customer_id) in unmapped else cust.client_id
        product = pmap.get((line.vendor, line.sku.lower()))
        if not client:
            no_client[(line.vendor, line.customer_id)].append(line)
        if not product:
            no_product[(line.vendor, line.sku, client)].append(line)
        elif client:
            keyed[(client, product)].append(line)
    return keyed, no_client, no_product


def _at_risk(lines: list[Line], period: str) -> tuple[Decimal, Decimal | None]:
    shown = [ln for ln in lines if counts(ln, period)]
    qty = sum((ln.qty for ln in shown), Decimal(0))
    costs = [ln.qty * ln.unit_cost for ln in shown if ln.unit_cost is not None]
    return qty, _cents(sum(costs, Decimal(0))) if costs else None


def _unmapped(month: Month, no_client, no_product) -> list[Expected]:  # type: ignore[no-untyped-def]
    out = []
    for (vendor, cid), lines in no_client.items():
        qty, cost = _at_risk(lines, month.period)
        if qty:
            out.append(Expected("unmapped_customer", "", "", cost, vendor, vendor_customer=cid))
    for (vendor, sku, client), lines in no_product.items():
        qty, cost = _at_risk(lines, month.period)
        if qty:
            out.append(Expected("unmapped_product", client, "", cost, vendor, vendor_sku=sku))
    return out


def _agreed(month: Month):  # type: ignore[no-untyped-def]
    """Per client x product: live billable additions, live free ones (quantity known)."""
    first, last = month_bounds(month.period)
    billable, free = defaultdict(list), defaultdict(set)
    for a in month.additions:
        live = a.effective <= last and (a.cancelled is None or a.cancelled >= first)
        if not live or a.qty is None:
            continue
        if a.bill == "Billable":
            billable[(a.client_id, a.product_id)].append(a)
        else:
            free[(a.client_id, a.product_id)].add(a.addition_id)
    return billable, free


@dataclass
class KeyFigures:
    """One client x product of the month, as the rules see it."""

    client: str
    product: str
    lines: list[Line]  # mapped vendor lines that count at month end
    has_delivery: bool  # any mapped vendor line, counting or not
    adds: list[Addition]  # live billable additions
    agreed: Decimal  # their quantity at month end
    less: Decimal  # lessIncluded at month end
    backed: bool  # products.csv maps a SKU to the product
    free: bool  # a live DoNotBill / NoCharge addition covers it
    invoices: list[InvoiceLine]

    @property
    def delivered(self) -> Decimal:
        return sum((ln.qty for ln in self.lines), Decimal(0))

    @property
    def price(self) -> Decimal:
        return self.adds[0].unit_price


def evaluate(month: Month, unmapped: set[tuple[str, str]] = frozenset()) -> list[Expected]:
    """Every finding the documented rules give on ``month`` (all ``open``).

    Args:
        unmapped: (vendor, customer id) pairs no mapping rule may reach (fuzzy-only names).
    """
    period, last = month.period, month_bounds(month.period)[1]
    keyed, no_client, no_product = _delivered(month, set(unmapped))
    billable, free = _agreed(month)
    invoiced = defaultdict(list)
    for inv in month.invoice_lines:
        invoiced[(inv.client_id, inv.product_id)].append(inv)
    backed = {p for _, _, p in month.product_map}
    out = _unmapped(month, no_client, no_product)
    for key in sorted(set(keyed) | set(billable) | set(invoiced) | set(free)):
        adds = billable.get(key, [])
        assert len(adds) <= 1, f"the plan gives {key} one live billable addition at most"
        counted = [a for a in adds if a.cancelled is None or a.cancelled >= last]
        k = KeyFigures(
            *key, [ln for ln in keyed.get(key, []) if counts(ln, period)], bool(keyed.get(key)),
            adds, sum((a.qty for a in counted), Decimal(0)),  # type: ignore[misc]
            sum((a.less_included for a in counted), Decimal(0)), key[1] in backed,
            bool(free.get(key)), invoiced.get(key, []))
        found = _quantity_rules(k, month)
        if month.invoice_lines:  # invoice checks run when the month has invoices
            found += _invoice_rules(k)
        found += _margin_rule(k)
        out += [Expected(kind, k.client, k.product, _cents(impact)) for kind, impact in found]
    return out


Found = list[tuple[str, Decimal | None]]


def _quantity_rules(k: KeyFigures, month: Month) -> Found:
    d = k.delivered
    if k.backed and k.adds:
        if d == 0 and k.agreed - k.less != 0:
            return [("billed_not_delivered", -(k.agreed - k.less) * k.price)]
        if d != 0 and d != k.agreed:
            return [("under_billed" if d > k.agreed else "over_billed", (d - k.agreed) * k.price)]
    if k.has_delivery and d != 0 and not k.adds and not k.free:
        cat = month.products[k.product].price if k.product in month.products else None
        return [("unbilled_service", None if cat is None else d * cat)]
    return []


def _invoice_rules(k: KeyFigures) -> Found:
    if not (k.adds or k.invoices):
        return []
    iq = sum((i.qty for i in k.invoices), Decimal(0))
    ia = sum((i.amount for i in k.invoices), Decimal(0))
    ie = sum((i.qty * i.price for i in k.invoices), Decimal(0))
    inv_price = ie / iq if iq else None
    qdiff = (k.agreed - k.less if k.adds else Decimal(0)) - iq
    gap = ie - ia
    found: Found = []
    if qdiff != 0 or abs(gap) > CENT:
        unit = k.price if k.adds else inv_price
        found.append(("invoice_mismatch", qdiff * (unit or 0) + gap))
    if k.adds and iq != 0 and abs((k.price - inv_price) * iq) > CENT:  # type: ignore[operator]
        found.append(("price_mismatch", (k.price - inv_price) * iq))  # type: ignore[operator]
    return found


def _margin_rule(k: KeyFigures) -> Found:
    """Price below the vendor's cost per unit (its lines' costs, else the agreement's)."""
    if not k.adds:
        return []
    costs = [ln.qty * ln.unit_cost for ln in k.lines if ln.unit_cost is not None]
    known = k.lines and len(costs) == len(k.lines) and k.delivered != 0
    cost = sum(costs, Decimal(0)) / k.delivered if known else k.adds[0].unit_cost
    if k.price < cost:
        return [("negative_margin", (k.price - cost) * (k.agreed - k.less))]
    return []


def hold(found: list[Expected], reason: str, when) -> list[Expected]:  # type: ignore[no-untyped-def]
    """``found`` with the findings ``when(f)`` selects marked ``held`` for ``reason``."""
    return [replace(f, status="held", reason=reason) if when(f) else f for f in found]


PLANTED = (  # hand-computed from the plan (plan.py docstring), checked against evaluate()
    ("under_billed", "SummitPT", "M365-BP", "44.00"),  # (12 - 10) x 22.00
    ("over_billed", "Lakeshore", "EDR-AGENT", "-9.00"),  # (18 - 20) x 4.50
    ("unbilled_service", "Granger", "S1-CTRL", "45.50"),  # 7 x 6.50 catalogue
    ("billed_not_delivered", "Oakhurst", "RMM-DEV", "-120.00"),  # -(15 x 8.00)
    ("invoice_mismatch", "Redwood", "M365-BS", "12.50"),  # (8 - 7) x 12.50
    ("invoice_mismatch", "Bluebell", "PWD-KPR", "5.00"),  # 10 x 5.00 - 45.00
    ("price_mismatch", "Silverline", "EXO-P1", "3.00"),  # (4.00 - 3.50) x 6
    ("negative_margin", "QuarryLane", "M365-BP", "-3.50"),  # (18.00 - 18.70) x 5
    ("unmapped_customer", "", "", "10.60"),  # Quillfeather Studio: 4 x 2.65
    ("unmapped_product", "Foxglove", "", "17.00"),  # Teams Phone: 2 x 8.50
    ("invoice_mismatch", "Driftwood", "S1-CORE", "-50.00"),  # (0 - 10) x 5.00
    ("unmapped_customer", "", "", None),  # Deleted Devices: 3 devices, no cost
    ("unmapped_customer", "", "", None),  # Contoso North: 5 agents, no cost
    ("unmapped_customer", "", "", None),  # Northwind Trading: 3 agents, no cost
)


def declared() -> list[tuple[str, str, str, Decimal | None]]:
    """PLANTED as (kind, client, product, impact)."""
    return [(k, c, p, None if i is None else Decimal(i)) for k, c, p, i in PLANTED]
