"""The demo month as Pax8 invoice items, saved from the partner API (content + page envelope).

Carries what real Pax8 files do: a credit (``prorate``) line after a reduction, a SKU no
mapping knows, a payment line, and companies whose ``externalId`` was never filled in.
"""

from __future__ import annotations

import json
import random
from datetime import date
from decimal import Decimal
from typing import Any

from recon_helpers.demo.exports.month import month_bounds, planted_extras, vendor_lines
from recon_helpers.demo.plan import TEAMS_PHONE, Client, Month


def _pax8_item(
    client: Client,
    product_id: str,
    name: str,
    qty: Decimal,
    price: Decimal,
    cost: Decimal,
    start: date,
    end: date,
    kind: str,
    rng: random.Random,
) -> dict[str, Any]:
    external = "" if client.index % 7 == 3 else client.identifier
    return {
        "id": f"{rng.getrandbits(128):032x}",
        "purchaseOrderNumber": None,
        "type": kind,
        "companyId": client.ids["pax8"],
        "externalId": external or None,
        "companyName": client.name_at("pax8"),
        "startPeriod": start.isoformat(),
        "endPeriod": end.isoformat(),
        "quantity": float(qty) if qty % 1 else int(qty),
        "unitOfMeasure": "User",
        "term": "Monthly",
        "sku": "MST-" + product_id[:8].upper(),
        "description": name,
        "details": None,
        "rateType": "Partner Buy Rate",
        "chargeType": "per",
        "price": float(price),
        "subTotal": float(price * qty),
        "cost": float(cost),
        "costTotal": float(cost * qty),
        "offeredBy": "Pax8",
        "billedByPax8": False,
        "total": float(price * qty),
        "productId": product_id,
        "productName": name,
        "billingFee": 0,
        "billingFeeRate": 0,
        "amountDue": float(cost * qty),
        "currencyCode": "USD",
        "salesTax": 0,
        "subscriptionId": f"{rng.getrandbits(128):032x}",
        "vendorName": "Microsoft",
    }


def pax8_json(m: Month, clients: list[Client], rng: random.Random) -> str:
    """Pax8 invoice items as saved from the partner API (content + page envelope)."""

    first, last = month_bounds(m.period)
    items = []
    for ln in vendor_lines(m, "pax8", charged_only=True):
        p, cost = ln.product, ln.cost or Decimal(0)
        # the full quantity is charged first; a reduction comes back as a negative credit line
        charges = [(ln.delivered + ln.credit, first, "subscription")]
        if ln.credit:
            charges.append((-ln.credit, date(first.year, first.month, 20), "prorate"))
        items.extend(
            _pax8_item(
                ln.client, p.vendor_sku, p.description, qty, p.price, cost, start, last, kind, rng
            )
            for qty, start, kind in charges
        )
    _, teams_name, _, teams_price = TEAMS_PHONE
    by_id = {c.identifier: c for c in clients}
    items.extend(
        _pax8_item(
            by_id[client_id],
            sku,
            teams_name,
            qty,
            teams_price,
            cost,
            first,
            last,
            "subscription",
            rng,
        )
        for client_id, sku, qty, cost in planted_extras(m, "pax8-sku")
    )
    zero = Decimal(0)
    items.append(
        _pax8_item(
            clients[0],
            "",
            "Payment - thank you",
            Decimal(1),
            zero,
            zero,
            first,
            first,
            "payment-credit",
            rng,
        )
    )
    doc = {
        "content": items,
        "page": {"size": 200, "totalElements": len(items), "totalPages": 1, "number": 0},
    }
    return json.dumps(doc, indent=2)
