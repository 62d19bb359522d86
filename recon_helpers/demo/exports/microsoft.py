"""The demo month as a Microsoft Partner Center NCE invoice reconciliation CSV.

47 columns (``MS_HEADER``), M/D/YYYY dates, and the mess real files have: mid-month seat
changes as reversal pairs, anniversary charge cycles, an exact duplicate line and a line
re-saved by a spreadsheet with an ISO date.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date
from decimal import ROUND_DOWN, Decimal

from recon_helpers.demo.exports.month import month_bounds, planted_extras, vendor_lines
from recon_helpers.demo.plan import PRODUCTS, Month, Product

MS_HEADER = [
    "PartnerId",
    "CustomerId",
    "CustomerName",
    "CustomerDomainName",
    "CustomerCountry",
    "InvoiceNumber",
    "MpnId",
    "Tier2MpnId",
    "OrderId",
    "OrderDate",
    "ProductId",
    "SkuId",
    "AvailabilityId",
    "SkuName",
    "ProductName",
    "ChargeType",
    "UnitPrice",
    "Quantity",
    "Subtotal",
    "TaxTotal",
    "Total",
    "Currency",
    "PriceAdjustmentDescription",
    "PublisherName",
    "PublisherId",
    "SubscriptionDescription",
    "SubscriptionId",
    "ChargeStartDate",
    "ChargeEndDate",
    "TermAndBillingCycle",
    "EffectiveUnitPrice",
    "UnitType",
    "AlternateId",
    "BillableQuantity",
    "BillingFrequency",
    "PricingCurrency",
    "PCToBCExchangeRate",
    "PCToBCExchangeRateDate",
    "MeterDescription",
    "ReservationOrderId",
    "CreditReasonCode",
    "SubscriptionStartDate",
    "SubscriptionEndDate",
    "ReferenceId",
    "ProductQualifiers",
    "PromotionId",
    "ProductCategory",
]
PEC_NOTE = '["15.0% Partner earned credit for services managed", "Promo: 0%"]'
PARTNER_ID = "3b2f9d41-7c0e-4a6b-9e15-d84c2f07a913"
LIST_PRICE = {"M365-BP": Decimal("22.00"), "M365-BS": Decimal("12.50")}


def _mdy(d: date) -> str:
    return f"{d.month}/{d.day}/{d.year}"


def _trunc(v: Decimal) -> Decimal:
    return v.quantize(Decimal("0.01"), ROUND_DOWN)


def _ms_row(
    period: str,
    c_id: str,
    c_name: str,
    p: Product,
    qty: Decimal,
    start: date,
    end: date,
    charge: str,
    cost: Decimal,
    rng: random.Random,
) -> dict[str, str]:
    product_id, sku_id = p.vendor_sku.split(":")
    first, _ = month_bounds(period)
    subtotal = _trunc(cost * qty)
    return {
        "PartnerId": PARTNER_ID,
        "CustomerId": c_id,
        "CustomerName": c_name,
        "CustomerDomainName": c_name.split()[0].lower().strip(",.") + ".onmicrosoft.com",
        "CustomerCountry": "US",
        "InvoiceNumber": f"G0{period.replace('-', '')}77",
        "MpnId": "6034453",
        "Tier2MpnId": "6034453",
        "OrderId": f"{rng.getrandbits(40):x}",
        "OrderDate": _mdy(start),
        "ProductId": product_id,
        "SkuId": sku_id,
        "AvailabilityId": "CFQ7TTC0LF8R",
        "SkuName": p.description,
        "ProductName": p.description,
        "ChargeType": charge,
        "UnitPrice": str(LIST_PRICE.get(p.product_id, p.price)),
        "Quantity": str(abs(qty)),
        "Subtotal": str(subtotal),
        "TaxTotal": "0",
        "Total": str(subtotal),
        "Currency": "USD",
        "PriceAdjustmentDescription": PEC_NOTE,
        "PublisherName": "Microsoft Corporation",
        "PublisherId": "",
        "SubscriptionDescription": p.description,
        "SubscriptionId": f"{rng.getrandbits(64):016x}",
        "ChargeStartDate": _mdy(start),
        "ChargeEndDate": _mdy(end),
        "TermAndBillingCycle": "1 Month Subscription, billed monthly",
        "EffectiveUnitPrice": str(cost),
        "UnitType": "Licenses",
        "AlternateId": "",
        "BillableQuantity": str(qty),
        "BillingFrequency": "Monthly",
        "PricingCurrency": "USD",
        "PCToBCExchangeRate": "1",
        "PCToBCExchangeRateDate": _mdy(first),
        "MeterDescription": "",
        "ReservationOrderId": "",
        "CreditReasonCode": "",
        "SubscriptionStartDate": "1/1/2026",
        "SubscriptionEndDate": "12/31/2026",
        "ReferenceId": "",
        "ProductQualifiers": '["AddOn", "Trial=false"]',
        "PromotionId": "",
        "ProductCategory": "OnlineServicesNCE",
    }


def microsoft_csv(m: Month, rng: random.Random) -> str:
    """The Partner Center NCE invoice reconciliation file of the month."""

    first, last = month_bounds(m.period)
    rows = []
    for ln in vendor_lines(m, "microsoft", charged_only=True):
        if ln.seat_change_from is not None:  # a reversal pair on the day of the change
            old, change = ln.seat_change_from, date(first.year, first.month, 14)
            charges = [
                (old, first, last, "cycleCharge"),
                (-old, change, last, "addQuantity"),
                (ln.delivered, change, last, "addQuantity"),
            ]
        elif ln.client.index % 5 == 0:  # NCE charge cycles anchored on the purchase day
            mid = date(first.year, first.month, 15)
            mid_next = date(last.year + (last.month == 12), last.month % 12 + 1, 14)
            charges = [(ln.delivered, mid, mid_next, "cycleCharge")]
        else:
            charges = [(ln.delivered, first, last, "cycleCharge")]
        c_id, c_name = ln.client.ids["microsoft"], ln.client.name_at("microsoft")
        cost = ln.cost or Decimal(0)
        rows.extend(
            _ms_row(m.period, c_id, c_name, ln.product, qty, start, end, charge, cost, rng)
            for qty, start, end, charge in charges
        )
    rows.extend(
        _ms_row(m.period, c_id, c_name, PRODUCTS["M365-BP"], qty, first, last, "New", cost, rng)
        for c_id, c_name, qty, cost in planted_extras(m, "microsoft-customer")
    )
    rows.append(dict(rows[0]))  # an exact duplicate line, as when two exports are pasted together
    broken = dict(rows[1])
    broken["ChargeStartDate"] = first.isoformat()  # re-saved by a spreadsheet in ISO
    broken["OrderId"] = "resaved"
    rows.append(broken)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=MS_HEADER, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
