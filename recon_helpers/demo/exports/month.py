"""What the demo exports read off a month: its first and last day, one vendor's lines, and the
planted rows no mapping knows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from recon_helpers.demo.plan import Line, Month


def month_bounds(period: str) -> tuple[date, date]:
    """First and last day of ``period`` (``YYYY-MM``)."""
    y, m = map(int, period.split("-"))
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    return date(y, m, 1), date.fromordinal(nxt.toordinal() - 1)


def vendor_lines(m: Month, vendor: str, *, charged_only: bool = False) -> list[Line]:
    """The month's lines backed by ``vendor``, in book order.

    Args:
        m: The demo month.
        vendor: Vendor key of the products (``"microsoft"``, ``"pax8"`` ...).
        charged_only: Drop lines with nothing delivered: invoice-style exports list charges
            only, while site snapshots also list sites with zero devices.
    """
    return [
        ln
        for ln in m.lines
        if ln.product.vendor == vendor and not (charged_only and ln.delivered == 0)
    ]


def planted_extras(m: Month, kind: str) -> list[tuple[str, str, Decimal, Decimal]]:
    """The month's planted unmapped rows of one kind, without the kind.

    Args:
        m: The demo month.
        kind: ``"microsoft-customer"`` (tenant id, customer name, qty, cost) or ``"pax8-sku"``
            (client identifier, SKU, qty, cost).
    """
    return [(a, b, qty, cost) for k, a, b, qty, cost in m.extra_unmapped if k == kind]
