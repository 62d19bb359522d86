"""Microsoft Partner Center new-commerce invoice reconciliation CSV, as the portal downloads it.

FORMATS.md 1.1 / 1.4 / 1.5: the 47 columns in file order (``ResellerMpnId``, the doc's name
for the reseller column), UTF-8 with BOM, CRLF, M/D/YYYY dates. One row per charge: the
monthly cycle of each subscription (``cycleCharge``; ``New`` when bought this month) anchored
on its purchase day, and a seat change as a reversal pair with one charge type (the old count
with a negative ``BillableQuantity`` and ``Subtotal`` while ``Quantity`` stays positive, then
the new count). ``Subtotal`` = ROUNDDOWN(EffectiveUnitPrice x rate, 2) x BillableQuantity,
prorated for the days left in the cycle and truncated to the cent.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import ROUND_DOWN, Decimal

from tests.unseen.model import Line, Month, add_months, month_bounds
from tests.unseen.roster import MS_SKUS, digits, guid

COLUMNS = (
    "PartnerId", "CustomerId", "CustomerName", "CustomerDomainName", "CustomerCountry",
    "InvoiceNumber", "MpnId", "ResellerMpnId", "OrderId", "OrderDate", "ProductId", "SkuId",
    "AvailabilityId", "SkuName", "ProductName", "ChargeType", "UnitPrice", "Quantity",
    "Subtotal", "TaxTotal", "Total", "Currency", "PriceAdjustmentDescription", "PublisherName",
    "PublisherId", "SubscriptionDescription", "SubscriptionId", "ChargeStartDate",
    "ChargeEndDate", "TermAndBillingCycle", "EffectiveUnitPrice", "UnitType", "AlternateId",
    "BillableQuantity", "BillingFrequency", "PricingCurrency", "PCToBCExchangeRate",
    "PCToBCExchangeRateDate", "MeterDescription", "ReservationOrderId", "CreditReasonCode",
    "SubscriptionStartDate", "SubscriptionEndDate", "ReferenceId", "ProductQualifiers",
    "PromotionId", "ProductCategory",
)
DATE_COLUMNS = ("OrderDate", "ChargeStartDate", "ChargeEndDate", "PCToBCExchangeRateDate",
                "SubscriptionStartDate", "SubscriptionEndDate")
NUMBER_COLUMNS = ("UnitPrice", "Quantity", "Subtotal", "TaxTotal", "Total",
                  "EffectiveUnitPrice", "BillableQuantity", "PCToBCExchangeRate")
PARTNER_ID = guid("partner", "tidewater")
MPN_ID = "6152893"
PEC = '["15.0% Partner earned credit for services managed"]'
_BY_KEY = {s.key: s for s in MS_SKUS.values()}


def mdy(day: date) -> str:
    """M/D/YYYY without zero padding, as the portal writes dates."""
    return f"{day.month}/{day.day}/{day.year}"


def invoice_number(period: str) -> str:
    """The month's Partner Center invoice number (G + 9 digits)."""
    return "G0" + digits(8, "ms-invoice", period)


def file_name(period: str) -> str:
    """What the portal calls the download."""
    return f"{invoice_number(period)}_NCE_invoice_recon.csv"


def subtotal(line: Line) -> Decimal:
    """ROUNDDOWN(EffectiveUnitPrice, 2) x BillableQuantity x days left / cycle days, truncated."""
    unit = line.unit_cost.quantize(Decimal("0.01"), ROUND_DOWN)  # type: ignore[union-attr]
    start, end = line.cycle  # type: ignore[misc]
    share = Decimal((end - line.start).days + 1) / Decimal((end - start).days + 1)  # type: ignore[operator]
    return (unit * line.qty * share).quantize(Decimal("0.01"), ROUND_DOWN)


def _row(month: Month, line: Line, n: int) -> dict[str, str]:
    cust = month.customer("microsoft", line.customer_id)
    sku = _BY_KEY[line.sku]
    term_start = add_months(line.cycle[0], -7)  # type: ignore[index]
    amount = subtotal(line)
    rate_date = date.fromordinal(month_bounds(month.period)[0].toordinal() - 1)
    return {
        "PartnerId": PARTNER_ID, "CustomerId": cust.customer_id, "CustomerName": cust.name,
        "CustomerDomainName": cust.domain, "CustomerCountry": "US",
        "InvoiceNumber": invoice_number(month.period), "MpnId": MPN_ID, "ResellerMpnId": MPN_ID,
        "OrderId": guid("ms-order", line.sub_id, line.start).replace("-", "")[:14],
        "OrderDate": mdy(line.start),  # type: ignore[arg-type]
        "ProductId": sku.product_id, "SkuId": sku.sku_id, "AvailabilityId": sku.availability_id,
        "SkuName": sku.name, "ProductName": sku.name, "ChargeType": line.charge_type,
        "UnitPrice": f"{sku.list_price:.2f}", "Quantity": str(abs(line.qty)),
        "Subtotal": f"{amount:.2f}", "TaxTotal": "0.00", "Total": f"{amount:.2f}",
        "Currency": "USD", "PriceAdjustmentDescription": PEC,
        "PublisherName": "Microsoft Corporation", "PublisherId": "",
        "SubscriptionDescription": sku.name, "SubscriptionId": line.sub_id,
        "ChargeStartDate": mdy(line.start), "ChargeEndDate": mdy(line.end),  # type: ignore[arg-type]
        "TermAndBillingCycle": "One-Year commitment for monthly/yearly billing",
        "EffectiveUnitPrice": str(sku.effective_price), "UnitType": "Licenses",
        "AlternateId": guid("ms-alt", line.sub_id, n).replace("-", "")[:12],
        "BillableQuantity": str(line.qty), "BillingFrequency": "Monthly",
        "PricingCurrency": "USD", "PCToBCExchangeRate": "1",
        "PCToBCExchangeRateDate": mdy(rate_date),
        "MeterDescription": "", "ReservationOrderId": "", "CreditReasonCode": "",
        "SubscriptionStartDate": mdy(term_start),
        "SubscriptionEndDate": mdy(date.fromordinal(add_months(term_start, 12).toordinal() - 1)),
        "ReferenceId": "", "ProductQualifiers": "[]", "PromotionId": "",
        "ProductCategory": "OnlineServices",
    }


def ordered_lines(month: Month) -> list[Line]:
    """The month's Microsoft lines in file order: customer by customer."""
    lines = [ln for ln in month.lines if ln.vendor == "microsoft"]
    order = {c.customer_id: i for i, c in enumerate(month.customers)}
    return sorted(lines, key=lambda ln: order[ln.customer_id])


def rows(month: Month) -> list[dict[str, str]]:
    """The month's rows, in file order."""
    return [_row(month, ln, n) for n, ln in enumerate(ordered_lines(month))]


def render(table: list[dict[str, str]], delimiter: str = ",") -> bytes:
    """CSV bytes: UTF-8 with BOM, CRLF, minimal quoting (what the portal download looks like)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, delimiter=delimiter, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(table)
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def write(month: Month) -> dict[str, bytes]:
    """{file name: bytes} of the month's Partner Center download."""
    return {file_name(month.period): render(rows(month))}
