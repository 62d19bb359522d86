"""Pax8 partner API exports: invoice items and companies, saved as the API returns them.

FORMATS.md 2: ``{"content": [...], "page": {"size", "totalElements", "totalPages",
"number"}}`` (page size at most 200); InvoiceItem fields as in the OpenAPI examples; some
periods written inclusively (``2026-10-01`` -> ``2026-10-31``), some exclusively
(-> ``2026-11-01``); ``price`` is the customer price, ``cost`` the partner cost; a credit has
a negative quantity and negative totals.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from tests.unseen.model import Line, Month
from tests.unseen.roster import PAX8_PRODUCTS, digits, guid

ITEMS_FILE = "pax8-invoice-items.json"
COMPANIES_FILE = "pax8-companies.json"
_BY_ID = {p.product_id: p for p in PAX8_PRODUCTS.values()}


def _num(value: Decimal) -> float | int:
    """A JSON number as the API writes it (integers without a point)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _money(value: Decimal) -> float | int:
    return _num(value.quantize(Decimal("0.01")))


def item(month: Month, line: Line, n: int) -> dict[str, object]:
    """One InvoiceItem of the month's invoice."""
    cust = month.customer("pax8", line.customer_id)
    prod = _BY_ID[line.sku]
    end = line.end + timedelta(days=1) if line.exclusive_end else line.end  # type: ignore[operator]
    price, cost = line.price or Decimal(0), line.unit_cost or Decimal(0)
    if line.charge_type == "prorate":  # a part of the month: the totals are prorated
        days = Decimal((line.end - line.start).days + 1)  # type: ignore[operator]
        share = days / Decimal(line.end.day)  # type: ignore[union-attr]
    else:
        share = Decimal(1)
    sub_total = line.qty * price * share
    cost_total = line.qty * cost * share
    tax = (sub_total * Decimal("0.08")).quantize(Decimal("0.01"))
    return {
        "id": guid("pax8-item", month.period, line.sub_id, n),
        "type": line.charge_type,
        "purchaseOrderNumber": "N/A",
        "companyId": cust.customer_id,
        "externalId": cust.link or None,
        "companyName": cust.name,
        "startPeriod": line.start.isoformat(),  # type: ignore[union-attr]
        "endPeriod": end.isoformat(),
        "quantity": _num(line.qty),
        "unitOfMeasure": "User",
        "term": "Monthly",
        "sku": prod.sku,
        "description": prod.name,
        "rateType": "single",
        "chargeType": "per",
        "price": _num(price),
        "subTotal": _money(sub_total),
        "cost": _num(cost),
        "costTotal": _money(cost_total),
        "offeredBy": "Pax8",
        "billedByPax8": False,
        "total": _money(sub_total + tax),
        "productId": prod.product_id,
        "productName": prod.name,
        "billingFee": 0,
        "billingFeeRate": 0,
        "amountDue": _money(sub_total + tax),
        "currencyCode": "USD",
        "salesTax": _money(tax),
        "subscriptionId": line.sub_id,
        "vendorName": prod.vendor_name,
    }


def items(month: Month) -> list[dict[str, object]]:
    """Every invoice item of the month, in the order of the invoice."""
    lines = [ln for ln in month.lines if ln.vendor == "pax8"]
    return [item(month, ln, n) for n, ln in enumerate(lines)]


def page(content: list[dict[str, object]], *, size: int = 200, total: int | None = None,
         number: int = 0) -> dict[str, object]:
    """The API envelope around one page of records."""
    total = len(content) if total is None else total
    pages = max(1, -(-total // size))
    return {"content": content,
            "page": {"size": size, "totalElements": total, "totalPages": pages, "number": number}}


def dumps(document: object) -> bytes:
    """JSON as saved from the API (pretty-printed, UTF-8)."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def companies(month: Month) -> list[dict[str, object]]:
    """The partner's companies: names, externalId links, status."""
    out = []
    for n, cust in enumerate(c for c in month.customers if c.vendor == "pax8"):
        out.append({
            "id": cust.customer_id,
            "name": cust.name,
            "address": {"street": f"{100 + 7 * n} Harbor Way", "city": "Norfolk",
                        "postalCode": "23510", "country": "US", "stateOrProvince": "Virginia"},
            "phone": f"757-555-0{digits(3, 'pax8-phone', cust.customer_id)}",
            "website": f"{cust.domain.split('.')[0]}.example.com",
            "status": "Active",
            "externalId": cust.link or None,
            "selfServiceAllowed": False,
            "billOnBehalfOfEnabled": True,
            "orderApprovalRequired": False,
            "updatedDate": "2026-06-02T14:11:09.412-0400",
        })
    return out


def write(month: Month) -> dict[str, bytes]:
    """{file name: bytes} of the month's Pax8 downloads."""
    return {ITEMS_FILE: dumps(page(items(month))),
            COMPANIES_FILE: dumps(page(companies(month)))}
