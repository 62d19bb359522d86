"""What a month is, before any file is written: the truth the exports are rendered from.

Quantities and money are :class:`~decimal.Decimal`; dates are :class:`~datetime.date` with
inclusive ends. Vendor keys follow SPEC "Keys per format" (``microsoft`` SKU
``ProductId:SkuId``, ``pax8`` SKU ``productId``, ``huntress`` ``agents``, ``datto_rmm``
``devices``, ``sentinelone`` the site ``sku``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

D0 = Decimal(0)


@dataclass(frozen=True)
class Client:
    """A PSA (ConnectWise) company."""

    client_id: str  # company identifier (SPEC client key)
    name: str
    company_id: int  # ConnectWise company rec id


@dataclass(frozen=True)
class Customer:
    """A vendor's record of a customer: tenant, company, organization or site."""

    vendor: str
    customer_id: str
    name: str
    client_id: str  # whose it really is; "" for nobody's (prospects, default sites)
    link: str = ""  # a PSA client id the vendor carries (Pax8 externalId)
    domain: str = ""


@dataclass(frozen=True)
class Line:
    """One vendor line: a quantity of one SKU for one customer over [start, end]."""

    vendor: str
    customer_id: str
    sku: str
    qty: Decimal
    unit_cost: Decimal | None = None  # vendor cost per unit (None: the export has none)
    start: date | None = None
    end: date | None = None  # inclusive; None with start None: a snapshot count
    charge_type: str = ""
    sub_id: str = ""  # the subscription the line belongs to
    cycle: tuple[date, date] | None = None  # Microsoft: the charge cycle the line is part of
    price: Decimal | None = None  # Pax8: the customer price per unit it writes
    exclusive_end: bool = False  # Pax8: writes endPeriod as the day after the end


@dataclass(frozen=True)
class Addition:
    """A ConnectWise agreement addition (one product on a client's agreement)."""

    addition_id: int
    agreement_id: int
    client_id: str
    product_id: str
    qty: Decimal | None  # None: the export lost it (quarantine case)
    unit_price: Decimal
    unit_cost: Decimal
    less_included: Decimal = D0
    bill: str = "Billable"  # billCustomer: Billable | DoNotBill | NoCharge
    effective: date = date(2025, 1, 1)
    cancelled: date | None = None


@dataclass(frozen=True)
class InvoiceLine:
    """One product line of a client's invoice of the month."""

    client_id: str
    product_id: str
    qty: Decimal
    price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Product:
    """A PSA catalogue item."""

    product_id: str
    description: str
    price: Decimal
    cost: Decimal
    cw_id: int


@dataclass(frozen=True)
class Month:
    """One billing month of the book: every source and the mapping files."""

    period: str  # YYYY-MM
    clients: tuple[Client, ...]
    customers: tuple[Customer, ...]
    lines: tuple[Line, ...]
    additions: tuple[Addition, ...]
    invoice_lines: tuple[InvoiceLine, ...]
    products: dict[str, Product]
    sku_names: dict[tuple[str, str], str]  # (vendor, sku) -> name the vendor prints
    product_map: tuple[tuple[str, str, str], ...]  # (vendor, vendor_sku, product_id)
    client_map: tuple[tuple[str, str, str, str], ...]  # (vendor, id, name, client_id)
    ignore: tuple[tuple[str, str, str, str], ...] = ()  # (vendor, id, name, reason)
    invoice_date: date | None = None

    def customer(self, vendor: str, customer_id: str) -> Customer:
        """The vendor customer with this id."""
        for c in self.customers:
            if c.vendor == vendor and c.customer_id == customer_id:
                return c
        raise KeyError((vendor, customer_id))

    def customers_of(self, client_id: str, vendor: str | None = None) -> list[Customer]:
        """The vendor customers that really are ``client_id`` (of one vendor, or all)."""
        return [c for c in self.customers
                if c.client_id == client_id and vendor in (None, c.vendor)]

    def with_(self, **changes: object) -> Month:
        """A copy with some fields replaced."""
        return replace(self, **changes)  # type: ignore[arg-type]


def month_bounds(period: str) -> tuple[date, date]:
    """First and last day of a ``YYYY-MM`` month."""
    year, month = (int(x) for x in period.split("-"))
    first = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return first, date.fromordinal(nxt.toordinal() - 1)


def add_months(day: date, n: int) -> date:
    """``day`` moved by ``n`` calendar months (clamped to the month's last day)."""
    y, m = divmod(day.month - 1 + n, 12)
    year, month = day.year + y, m + 1
    last = month_bounds(f"{year:04d}-{month:02d}")[1].day
    return date(year, month, min(day.day, last))


def shift_period(period: str, n: int) -> str:
    """The month ``n`` months after (or before, negative) ``period``."""
    moved = add_months(date.fromisoformat(period + "-01"), n)
    return f"{moved.year:04d}-{moved.month:02d}"
