"""The book of one month: the roster's services plus the planted discrepancies and the mess.

:func:`build_month` renders one period. The target month (``events=True``) carries the
mid-month events a real month has (a Microsoft seat increase and decrease as reversal pairs,
a new subscription bought on the 7th, a Pax8 seat credit); earlier months of the workspace are
the same book in its end-of-month state (``events=False``). ``steady=True`` is the book whose
Microsoft cycles all run from the 15th with no mid-cycle change (the ``day_weighted`` case).

Planted in every month (see ``expected.PLANTED`` for the hand-computed impacts):
P1 SummitPT M365-BP delivered 12 (reversal pair on the 20th), agreed 10;
P2 Lakeshore EDR-AGENT 18 agents, 20 agreed; P3 Granger SentinelOne Control 7, no agreement;
P4 Oakhurst RMM-DEV agreed 15, no Datto site; P5 Redwood M365-BS invoiced 7 of 8;
P6 Bluebell PWD-KPR invoice amount 45.00 for 10 x 5.00; P7 Silverline EXO-P1 invoiced at 3.50;
P8 QuarryLane M365-BP at 18.00 below the 18.70 cost; P9 Pax8 company Quillfeather Studio
(nobody's); P10 Foxglove Teams Phone (SKU not in products.csv); P11 Driftwood S1-CORE cancelled
2026-09-15 but invoiced; P12 Datto default site "Deleted Devices"; P13 / P14 Huntress orgs
"Contoso North" and "Northwind Trading", near-misses of four clients' names.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from tests.unseen.model import (
    Addition,
    Client,
    Customer,
    InvoiceLine,
    Line,
    Month,
    add_months,
    month_bounds,
)
from tests.unseen.roster import (
    CLIENTS,
    MS_SKUS,
    PAX8_PRODUCTS,
    PRODUCTS,
    S1_SKU,
    SPECIAL_NAMES,
    TAME,
    VENDOR_OF,
    digits,
    guid,
)

Q = Decimal
EXTRA_CUSTOMERS = (  # vendor customers that are nobody's client
    Customer("pax8", guid("pax8-company", "quillfeather"), "Quillfeather Studio", ""),
    Customer("datto_rmm", guid("datto-site", "deleted"), "Deleted Devices", ""),
    # near-misses: one real word away from Contoso East / West, Northwind / Northwind Traders
    Customer("huntress", digits(6, "huntress-org", "Contoso North"), "Contoso North", ""),
    Customer("huntress", digits(6, "huntress-org", "Northwind Trading"), "Northwind Trading", ""),
)


def customer_id(vendor: str, client_id: str) -> str:
    """The id a vendor gives a client's customer record (stable across months)."""
    if vendor == "sentinelone":
        return digits(19, "s1-site", client_id)  # 19-digit ids: must survive as strings
    if vendor == "huntress":
        return digits(6, "huntress-org", client_id)
    return guid(vendor, client_id)


def _customers(names: dict[tuple[str, str], str]) -> list[Customer]:
    out = []
    for spec in CLIENTS:
        vendors = dict.fromkeys(VENDOR_OF[p] for p, _ in spec.services if p in VENDOR_OF)
        if spec.client_id == "Granger":
            vendors["sentinelone"] = None  # P3: the site that has no agreement line
        for vendor in vendors:
            key = (spec.client_id, vendor)
            default = SPECIAL_NAMES.get(key) or TAME.get(spec.client_id, spec.name)
            name = names.get(key, default)
            link = spec.client_id if key == ("Bluebell", "pax8") else ""
            domain = "".join(ch for ch in spec.client_id.lower() if ch.isalnum())
            out.append(Customer(vendor, customer_id(vendor, spec.client_id), name,
                                spec.client_id, link, f"{domain}.onmicrosoft.com"))
    return out + list(EXTRA_CUSTOMERS)


def ms_cycle(period: str, anchor: int) -> tuple[date, date]:
    """The monthly charge cycle that starts in ``period`` on day ``anchor``."""
    first, last = month_bounds(period)
    start = date(first.year, first.month, min(anchor, last.day))
    return start, add_months(start, 1) - timedelta(days=1)


def _ms(tenant: str, product: str, qty: int, start: date, cycle: tuple[date, date], kind: str,
        sub: str) -> Line:
    sku = MS_SKUS[product]
    return Line("microsoft", tenant, sku.key, Q(qty), sku.effective_price, start, cycle[1], kind,
                sub, cycle)


def _ms_subscription(client_id: str, product: str, qty: int, cycle: tuple[date, date],
                     events: bool) -> list[Line]:
    """One subscription's lines on the month's invoice (with its mid-cycle changes)."""
    tenant = customer_id("microsoft", client_id)
    sub = guid("ms-subscription", client_id, product)
    start = cycle[0]
    if (client_id, product) == ("SummitPT", "M365-BP"):  # P1: 10 seats, 12 from the 20th
        if not events:
            return [_ms(tenant, product, 12, start, cycle, "cycleCharge", sub)]
        day = start.replace(day=20)
        return [_ms(tenant, product, 10, start, cycle, "cycleCharge", sub),
                _ms(tenant, product, -10, day, cycle, "addQuantity", sub),
                _ms(tenant, product, 12, day, cycle, "addQuantity", sub)]
    if (client_id, product) == ("TallgrassSupply", "M365-BS") and events:
        day = start + timedelta(days=3)  # 11 seats, 9 from the 9th: nets to the agreed 9
        return [_ms(tenant, product, 11, start, cycle, "cycleCharge", sub),
                _ms(tenant, product, -11, day, cycle, "removeQuantity", sub),
                _ms(tenant, product, qty, day, cycle, "removeQuantity", sub)]
    if (client_id, product) == ("CedarRidge", "EXO-P1") and events:
        bought = start.replace(day=7)  # a new subscription: its own cycle from the 7th
        own = (bought, add_months(bought, 1) - timedelta(days=1))
        return [_ms(tenant, product, qty, bought, own, "New", sub)]
    return [_ms(tenant, product, qty, start, cycle, "cycleCharge", sub)]


def _ms_lines(period: str, events: bool, steady: bool) -> list[Line]:
    lines = []
    for spec in CLIENTS:
        cycle = ms_cycle(period, 15 if steady else spec.anchor)
        for product, qty in spec.services:
            if (spec.client_id, product) == ("CedarRidge", "EXO-P1") and not (events or steady):
                continue  # bought in the target month: not there before
            if product in MS_SKUS:
                lines += _ms_subscription(spec.client_id, product, qty, cycle, events)
        if spec.client_id == "Foxglove":  # P10: a SKU products.csv does not map
            lines.append(_ms(customer_id("microsoft", "Foxglove"), "TEAMS-PHONE", 2, cycle[0],
                             cycle, "cycleCharge", guid("ms-subscription", "Foxglove", "teams")))
    return lines


def _pax8_lines(period: str, events: bool) -> list[Line]:
    first, last = month_bounds(period)
    lines = []
    owners = [(s.client_id, p, q) for s in CLIENTS for p, q in s.services if p in PAX8_PRODUCTS]
    owners.append(("", "PPT-ESS", 4))  # P9: Quillfeather Studio
    for n, (client_id, product, qty) in enumerate(owners):
        prod = PAX8_PRODUCTS[product]
        company = (customer_id("pax8", client_id) if client_id
                   else EXTRA_CUSTOMERS[0].customer_id)
        sub = guid("pax8-subscription", client_id or "quillfeather", product)
        seats = qty + 1 if (client_id, product) == ("Driftwood", "PWD-KPR") and events else qty
        # Pax8 writes some periods inclusively (10-01..10-31), some exclusively (..11-01)
        lines.append(Line("pax8", company, prod.product_id, Q(seats), prod.cost, first, last,
                          "subscription", sub, price=prod.price, exclusive_end=n % 2 == 1))
        if seats != qty:  # one seat removed on the 18th: a prorated credit, normal signs
            lines.append(Line("pax8", company, prod.product_id, Q(qty - seats), prod.cost,
                              first.replace(day=18), last, "prorate", sub, price=prod.price))
    return lines


def _snapshot_lines() -> list[Line]:
    lines = []
    for spec in CLIENTS:
        for product, qty in spec.services:
            vendor = VENDOR_OF.get(product)
            if vendor not in ("huntress", "datto_rmm", "sentinelone"):
                continue
            if (spec.client_id, product) in (("Oakhurst", "RMM-DEV"), ("Driftwood", "S1-CORE")):
                continue  # P4 (no Datto site), P11 (SentinelOne site removed)
            count = 18 if (spec.client_id, product) == ("Lakeshore", "EDR-AGENT") else qty  # P2
            sku = {"huntress": "agents", "datto_rmm": "devices"}.get(vendor) or S1_SKU[product]
            lines.append(Line(vendor, customer_id(vendor, spec.client_id), sku, Q(count)))
    lines.append(Line("sentinelone", customer_id("sentinelone", "Granger"), "Control", Q(7)))
    lines.append(Line("datto_rmm", EXTRA_CUSTOMERS[1].customer_id, "devices", Q(3)))  # P12
    lines.append(Line("huntress", EXTRA_CUSTOMERS[2].customer_id, "agents", Q(5)))  # P13
    lines.append(Line("huntress", EXTRA_CUSTOMERS[3].customer_id, "agents", Q(3)))  # P14
    return lines


def _services() -> list[tuple[str, str, int]]:
    """(client, product, agreed quantity) with the flat fee first, as the agreement lists them."""
    out = []
    for spec in CLIENTS:
        out.append((spec.client_id, "MSP-FLAT", 1))
        out += [(spec.client_id, p, q) for p, q in spec.services]
        if spec.client_id == "Driftwood":
            out.append((spec.client_id, "S1-CORE", 10))  # P11: cancelled, still invoiced
    return out


def agreement_id(client_id: str) -> int:
    """The ConnectWise agreement rec id of a client's managed-services agreement."""
    return 7001 + [s.client_id for s in CLIENTS].index(client_id)


def _additions(period: str, events: bool, steady: bool) -> list[Addition]:
    first = month_bounds(period)[0]
    fees = {s.client_id: Q(s.flat_fee) for s in CLIENTS}
    out = []
    for n, (client_id, product, qty) in enumerate(_services(), start=1):
        prod = PRODUCTS[product]
        price = fees[client_id] if product == "MSP-FLAT" else prod.price
        if (client_id, product) == ("QuarryLane", "M365-BP"):
            price = Q("18.00")  # P8: an old price, below the 18.70 cost
        extra: dict[str, object] = {}
        if (client_id, product) == ("Willowmere", "EDR-AGENT"):
            extra["less_included"] = Q(5)  # 5 agents included in the flat fee
        if (client_id, product) == ("AlderCreek", "RMM-DEV"):
            extra["bill"] = "NoCharge"  # a free promotion: covered, not invoiced
        if (client_id, product) == ("Driftwood", "S1-CORE"):
            extra["cancelled"] = date(2026, 9, 15)
        if (client_id, product) == ("CedarRidge", "EXO-P1") and not steady:
            if not events:
                continue  # bought in the target month
            extra["effective"] = first.replace(day=7)
        out.append(Addition(50100 + n, agreement_id(client_id), client_id, product, Q(qty),
                            price, prod.cost, **extra))  # type: ignore[arg-type]
    return out


def _invoice_lines(additions: list[Addition]) -> list[InvoiceLine]:
    out = []
    for a in additions:
        if a.bill != "Billable":
            continue
        qty = (a.qty or Q(0)) - a.less_included
        price = a.unit_price
        amount = None
        key = (a.client_id, a.product_id)
        if key == ("Redwood", "M365-BS"):
            qty = Q(7)  # P5: one seat short on the invoice
        elif key == ("Bluebell", "PWD-KPR"):
            amount = Q("45.00")  # P6: the amount is not quantity x price
        elif key == ("Silverline", "EXO-P1"):
            price = Q("3.50")  # P7: invoiced below the agreed 4.00
        out.append(InvoiceLine(a.client_id, a.product_id, qty, price,
                               qty * price if amount is None else amount))
    return out


def product_map() -> tuple[tuple[str, str, str], ...]:
    """mappings/products.csv rows: every SKU the MSP resells except the Teams Phone add-on."""
    rows = [("microsoft", MS_SKUS[p].key, p) for p in ("M365-BP", "M365-BS", "M365-BB", "EXO-P1")]
    rows += [("pax8", prod.product_id, p) for p, prod in PAX8_PRODUCTS.items()]
    rows += [("huntress", "agents", "EDR-AGENT"), ("datto_rmm", "devices", "RMM-DEV"),
             ("sentinelone", "Core", "S1-CORE"), ("sentinelone", "Control", "S1-CTRL")]
    return tuple(rows)


def client_map() -> tuple[tuple[str, str, str, str], ...]:
    """mappings/clients.csv rows for the customers no name rule reaches."""
    return (
        ("datto_rmm", customer_id("datto_rmm", "Foxglove"), "Foxglove - Main Office", "Foxglove"),
        ("sentinelone", customer_id("sentinelone", "SummitPT"), "SUMMIT-PT", "SummitPT"),
        ("huntress", "", "Ironbridge HQ", "Ironbridge"),
    )


def sku_names() -> dict[tuple[str, str], str]:
    """The name each vendor prints for each SKU."""
    names = {("microsoft", s.key): s.name for s in MS_SKUS.values()}
    names |= {("pax8", p.product_id): p.name for p in PAX8_PRODUCTS.values()}
    return names | {("sentinelone", "Core"): "Core", ("sentinelone", "Control"): "Control"}


def build_month(period: str, *, events: bool = True, steady: bool = False,
                names: dict[tuple[str, str], str] | None = None) -> Month:
    """The book of ``period`` (see the module docstring for ``events`` and ``steady``)."""
    events = events and not steady
    clients = tuple(Client(s.client_id, s.name, 19401 + i) for i, s in enumerate(CLIENTS))
    additions = _additions(period, events, steady)
    return Month(
        period=period,
        clients=clients,
        customers=tuple(_customers(names or {})),
        lines=tuple(_ms_lines(period, events, steady) + _pax8_lines(period, events)
                    + _snapshot_lines()),
        additions=tuple(additions),
        invoice_lines=tuple(_invoice_lines(additions)),
        products=dict(PRODUCTS),
        sku_names=sku_names(),
        product_map=product_map(),
        client_map=client_map(),
        invoice_date=month_bounds(period)[0],
    )
