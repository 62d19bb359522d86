"""The bundled demo workspace: three months of an MSP with 28 clients and 6 vendors.

Deterministic (fixed seed). Every month starts from a consistent book (vendors, agreements and
invoices agree) and then plants known discrepancies of every SPEC kind, plus realistic mess:
customer name variants, a mid-month seat change with a Microsoft reversal pair, a Pax8 credit
line, a duplicate row, a row with a broken date, a payment line, an addition whose agreement
is gone. :func:`recon_helpers.demo.write.write_demo` writes them as real exports, with the
planted discrepancies in ``demo_ground_truth.csv``; tests hold the reconciliation to it to the cent.

The PSA side is written in ConnectWise's shapes by default, or Autotask's or HaloPSA's
(``psa=``): the same book and the same planted findings, named by that PSA's client and
product ids (:mod:`recon_helpers.demo.psas`).

Example:
    >>> [m.period for m in build_months()]
    ['2026-08', '2026-09', '2026-10']
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from recon_helpers.demo.psas import psa_client_id

PERIODS = ("2026-08", "2026-09", "2026-10")
SEED = 20261025
TB = 10**12  # Acronis reports bytes; the MSP bills decimal terabytes


@dataclass(frozen=True)
class Product:
    """A PSA catalogue product and the vendor SKU behind it."""

    product_id: str
    description: str
    price: Decimal
    vendor: str  # "" = not vendor-backed (flat managed-services fee)
    vendor_sku: str
    cost: Decimal | None  # vendor unit cost where the vendor export carries it
    units_per_product: int = 1


PRODUCTS = {
    p.product_id: p
    for p in (
        Product(
            "M365-BP",
            "Microsoft 365 Business Premium",
            Decimal("22.00"),
            "microsoft",
            "CFQ7TTC0LCHC:0002",
            Decimal("18.70"),
        ),
        Product(
            "M365-BS",
            "Microsoft 365 Business Standard",
            Decimal("12.50"),
            "microsoft",
            "CFQ7TTC0LDPB:0001",
            Decimal("10.625"),
        ),
        Product(
            "EXO-P1",
            "Exchange Online (Plan 1)",
            Decimal("4.00"),
            "pax8",
            "a4f2c8e1-3b7d-4e52-9a1c-6d0f7e8b9c21",
            Decimal("3.20"),
        ),
        Product(
            "DBX-BUS",
            "Dropbox Business Standard",
            Decimal("15.00"),
            "pax8",
            "7c1d9e40-5f2a-4b83-8e6d-2a9b0c4f1e37",
            Decimal("12.00"),
        ),
        Product("RMM-DEV", "Managed device (RMM)", Decimal("3.50"), "datto_rmm", "devices", None),
        Product(
            "EDR-S1",
            "SentinelOne Control endpoint",
            Decimal("6.00"),
            "sentinelone",
            "Control",
            None,
        ),
        Product(
            "MDR-HUNT", "Huntress managed EDR agent", Decimal("5.00"), "huntress", "agents", None
        ),
        Product(
            "BKP-TB",
            "Cloud backup storage per TB",
            Decimal("45.00"),
            "acronis",
            "storage",
            None,
            TB,
        ),
        Product("MSP-FLAT", "Managed services flat fee", Decimal("1500.00"), "", "", None),
    )
}
TEAMS_PHONE = (
    "e3b71c5a-90d4-4f6e-b2a8-15c7d9f0a642",
    "Microsoft Teams Phone Standard",
    Decimal("8.00"),
    Decimal("10.00"),
)

CLIENT_NAMES = (
    "Acme Manufacturing",
    "Baker and Sons",
    "Cobalt Dental Group",
    "Delta Freight",
    "Evergreen Law",
    "Fairview Clinic",
    "Granite Construction Partners",
    "Harbor View Hotels",
    "Ironwood Credit Union",
    "Juniper Schools",
    "Keystone Architects",
    "Lakeside Veterinary",
    "Maple Street Bakery",
    "Northwind Trading",
    "Orion Engineering",
    "Pioneer Realty",
    "Quartz Analytics",
    "Riverbend Medical",
    "Summit Accounting",
    "Tidewater Marine",
    "Union Square Dental",
    "Valley Farms Cooperative",
    "Westfield Insurance Agency",
    "Xenon Labs",
    "Yellowstone Outfitters",
    "Zephyr Media",
    "Müller Präzisionstechnik",
    "Østergaard Design",
)
# how vendors spell some clients (auto-mapped by normalised name, or through clients.csv)
NAME_VARIANTS = {
    "microsoft": {
        0: "Acme Manufacturing, Inc.",
        1: "Baker & Sons Ltd.",
        26: "MULLER PRAZISIONSTECHNIK GmbH",
    },
    "sentinelone": {1: "Baker & Sons", 6: "Granite Construction Partners LLC"},
    "huntress": {3: "Delta Freight Inc", 12: "Maple St. Bakery"},
    "datto_rmm": {2: "Cobalt Dental - Main Office", 9: "Juniper Schools (District)"},
}


@dataclass
class Client:
    """A PSA company with its identities at each vendor."""

    index: int
    cw_id: int
    identifier: str
    name: str
    ids: dict[str, str] = field(default_factory=dict)

    def name_at(self, vendor: str) -> str:
        """How the vendor spells this client."""
        return NAME_VARIANTS.get(vendor, {}).get(self.index, self.name)


@dataclass
class Line:
    """One client x product in one month: what each source says."""

    client: Client
    product: Product
    delivered: Decimal  # vendor quantity in billed units
    agreed: Decimal | None  # None = no agreement line
    invoiced: Decimal | None  # None = no invoice line
    price: Decimal
    invoice_price: Decimal
    cost: Decimal | None
    cancelled: str = ""  # ISO date the addition was cancelled
    anniversary: bool = False  # Microsoft charge cycle anchored mid-month
    seat_change_from: Decimal | None = None  # Microsoft mid-month change: reversal pair
    credit: Decimal = Decimal(0)  # Pax8 credit line (negative quantity) after a reduction


@dataclass
class Month:
    """Everything one demo month holds, before it is written in vendor and PSA formats."""

    period: str
    lines: list[Line]
    truth: list[dict[str, str]]
    extra_unmapped: list[tuple[str, str, str, Decimal, Decimal]]  # vendor, id, name, qty, cost
    # what day_weighted finds besides ``truth``: the mid-month changes the agreement and the
    # invoice carry at their month-end state (billed for the whole month)
    day_weighted_extra: list[dict[str, str]] = field(default_factory=list)


def _identifier(name: str) -> str:
    letters = "".join(ch for ch in name.upper() if ch.isalpha() and ch.isascii())
    return letters[:8] or "CLIENT"


def make_clients(rng: random.Random) -> list[Client]:
    """The 28 demo clients with stable vendor identities."""
    clients = []
    for i, name in enumerate(CLIENT_NAMES):
        c = Client(i, 250 + i * 7, _identifier(name) + f"{i:02d}", name)
        c.ids = {
            "microsoft": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "pax8": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "datto_rmm": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            # SentinelOne site ids are 18-19 digit numbers: strings end to end
            "sentinelone": str(1_500_000_000_000_000_000 + rng.getrandbits(58)),
            "huntress": str(10_000 + i * 13),
            "acronis": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        }
        clients.append(c)
    return clients


def _q(value: float | int) -> Decimal:
    return Decimal(str(value))


def baseline(clients: list[Client], rng: random.Random, month_index: int) -> list[Line]:
    """A book where every source agrees: each client gets 4-6 products."""
    lines = []
    vendor_products = [p for p in PRODUCTS.values() if p.vendor]
    for c in clients:
        r = random.Random(SEED + c.index)  # stable product choice per client across months
        chosen = r.sample(vendor_products, r.randint(3, 5))
        chosen.append(PRODUCTS["MSP-FLAT"])
        for p in sorted(chosen, key=lambda p: p.product_id):
            if p.product_id == "MSP-FLAT":
                qty = Decimal(1)
            elif p.product_id == "BKP-TB":
                qty = _q(r.choice([1, 2, 3, 5]))
            else:
                qty = Decimal(r.randint(5, 60) + (month_index if c.index % 4 == 0 else 0))
            lines.append(Line(c, p, qty, qty, qty, p.price, p.price, p.cost))
    return lines


def _find(lines: list[Line], client: int, product: str) -> Line:
    for ln in lines:
        if ln.client.index == client and ln.product.product_id == product:
            return ln
    raise KeyError((client, product))


def _ensure(lines: list[Line], clients: list[Client], client: int, product: str) -> Line:
    try:
        return _find(lines, client, product)
    except KeyError:
        p = PRODUCTS[product]
        qty = _q(2) if product == "BKP-TB" else Decimal(10)
        ln = Line(clients[client], p, qty, qty, qty, p.price, p.price, p.cost)
        lines.append(ln)
        return ln


def _weighted(qty: Decimal, days: int, month_days: int) -> Decimal:
    """qty x days / month_days to the 4th decimal, half away from zero (proration.py)."""
    scaled = abs(qty) * 10_000 * days * 2 + month_days
    return (scaled // (2 * month_days) / Decimal(10_000)).copy_sign(qty)


def _partial_month(period: str, ln: Line, delivered: Decimal) -> dict[str, str]:
    """The day_weighted finding of a line whose weighted vendor quantity is ``delivered``
    while the agreement (and the invoice) carry ``ln.agreed`` for the whole month."""
    variance = delivered - ln.agreed  # type: ignore[operator]
    kind = "under_billed" if variance > 0 else "over_billed"
    return _truth(period, kind, ln, variance * ln.price)


def _truth(
    period: str, kind: str, ln: Line | None, impact: Decimal | None, **extra: str
) -> dict[str, str]:
    row = {
        "period": period,
        "kind": kind,
        "client_id": ln.client.identifier if ln else extra.pop("client_id", ""),
        "product_id": ln.product.product_id if ln else "",
        "impact": "" if impact is None else str(impact.quantize(Decimal("0.01"), ROUND_HALF_UP)),
        "currency": "USD",
        "vendor_customer": extra.pop("vendor_customer", ""),
        "vendor_sku": extra.pop("vendor_sku", ""),
    }
    return row


def plant(period: str, lines: list[Line], clients: list[Client], month_index: int) -> Month:
    """Plant the month's discrepancies into a consistent book and record the ground truth."""
    truth: list[dict[str, str]] = []
    weighted_extra: list[dict[str, str]] = []
    extra: list[tuple[str, str, str, Decimal, Decimal]] = []
    shift = month_index * 3  # other clients are hit each month, so trends move

    def client(i: int) -> int:
        return (i + shift) % len(clients)

    ln = _ensure(
        lines, clients, client(0), "M365-BP"
    )  # under_billed: two seats not on the agreement
    ln.delivered = ln.agreed + 2  # type: ignore[operator]
    truth.append(_truth(period, "under_billed", ln, 2 * ln.price))

    ln = _ensure(lines, clients, client(1), "RMM-DEV")  # over_billed: devices retired
    ln.delivered = ln.agreed - 5  # type: ignore[operator]
    truth.append(_truth(period, "over_billed", ln, -5 * ln.price))

    ln = _ensure(lines, clients, client(2), "MDR-HUNT")  # unbilled_service: agents, no agreement
    ln.agreed, ln.invoiced = None, None
    truth.append(_truth(period, "unbilled_service", ln, ln.delivered * ln.product.price))

    ln = _ensure(lines, clients, client(3), "EDR-S1")  # billed_not_delivered: site removed
    ln.delivered = Decimal(0)
    truth.append(_truth(period, "billed_not_delivered", ln, -(ln.agreed * ln.price)))  # type: ignore[operator]

    ln = _ensure(lines, clients, client(4), "M365-BS")  # invoice_mismatch: invoice short
    ln.invoiced = ln.agreed - 2  # type: ignore[operator]
    truth.append(_truth(period, "invoice_mismatch", ln, 2 * ln.price))

    if month_index >= 1:
        ln = _ensure(lines, clients, client(5), "M365-BP")  # price_mismatch: old price invoiced
        ln.invoice_price = Decimal("20.00")
        truth.append(
            _truth(period, "price_mismatch", ln, (ln.price - ln.invoice_price) * ln.invoiced)
        )  # type: ignore[operator]

        ln = _ensure(lines, clients, client(6), "M365-BP")  # negative_margin: sold below cost
        ln.price = ln.invoice_price = Decimal("17.00")
        truth.append(_truth(period, "negative_margin", ln, (ln.price - ln.cost) * ln.agreed))  # type: ignore[operator]

    if month_index == 2:
        ln = _ensure(lines, clients, 8, "EDR-S1")  # billing a cancelled service
        ln.delivered, ln.agreed, ln.cancelled = Decimal(0), None, "2026-09-30"
        truth.append(_truth(period, "invoice_mismatch", ln, -(ln.invoiced * ln.invoice_price)))  # type: ignore[operator]

        ln = _ensure(lines, clients, 11, "BKP-TB")  # storage grew past the commitment
        ln.agreed = ln.invoiced = Decimal(3)
        ln.delivered = Decimal("3.4")
        truth.append(_truth(period, "under_billed", ln, Decimal("0.4") * ln.price))

        # mid-month changes (agreement updated to the new count): no finding at month end;
        # day_weighted sees the days before the change (31-day month: October)
        ln = _ensure(lines, clients, 9, "M365-BP")  # seats added on the 14th (reversal pair)
        ln.seat_change_from = old = ln.delivered - 3
        weighted_extra.append(_partial_month(
            period, ln, old - _weighted(old, 18, 31) + _weighted(ln.delivered, 18, 31)))
        ln = _ensure(lines, clients, 13, "EXO-P1")  # Pax8 reduction with a credit from the 20th
        ln.credit = Decimal(2)
        weighted_extra.append(_partial_month(
            period, ln, ln.delivered + ln.credit - _weighted(ln.credit, 12, 31)))

    ln = _ensure(lines, clients, client(7), "EXO-P1")
    teams = (TEAMS_PHONE[0], TEAMS_PHONE[1], TEAMS_PHONE[2])
    extra.append(("pax8-sku", ln.client.identifier, teams[0], Decimal(5), teams[2]))
    truth.append(
        _truth(
            period,
            "unmapped_product",
            None,
            5 * teams[2],
            client_id=ln.client.identifier,
            vendor_sku=teams[0],
        )
    )
    tenant = "9f3c2a71-6b0e-4d8c-a5f4-0e1d2c3b4a59"
    extra.append(
        (
            "microsoft-customer",
            tenant,
            "Northwind Traders Pty",
            Decimal(8),
            PRODUCTS["M365-BP"].cost,
        )
    )  # type: ignore[arg-type]
    truth.append(
        _truth(
            period,
            "unmapped_customer",
            None,
            8 * PRODUCTS["M365-BP"].cost,  # type: ignore[operator]
            vendor_customer=tenant,
        )
    )
    return Month(period, lines, truth, extra, weighted_extra)


def build_months(psa: str = "connectwise") -> list[Month]:
    """The three demo months, deterministic; clients named by their ``psa`` id."""
    rng = random.Random(SEED)
    clients = [replace(c, identifier=psa_client_id(psa, c.index, c.identifier))
               for c in make_clients(rng)]
    months = []
    for i, period in enumerate(PERIODS):
        lines = baseline(clients, rng, i)
        months.append(plant(period, lines, clients, i))
    return months
