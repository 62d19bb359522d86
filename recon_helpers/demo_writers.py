"""Write a demo month in the real export formats (Microsoft, Pax8, Datto RMM, SentinelOne,
Huntress, Acronis, ConnectWise PSA), with the mess real exports have.

Only :mod:`recon_helpers.demo` calls this; field names follow the vendors' published shapes
(docs/FORMATS notes in the project's shared folder).
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import date
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recon_helpers.demo import Client, Line, Month, Product

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


def _month(period: str) -> tuple[date, date]:
    y, m = map(int, period.split("-"))
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    return date(y, m, 1), date.fromordinal(nxt.toordinal() - 1)


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
    first, _ = _month(period)
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
    first, last = _month(m.period)
    rows = []
    for ln in m.lines:
        p = ln.product
        if p.vendor != "microsoft" or ln.delivered == 0:
            continue
        c_id, c_name = ln.client.ids["microsoft"], ln.client.name_at("microsoft")
        cost = ln.cost or Decimal(0)
        if ln.seat_change_from is not None:
            old, change = ln.seat_change_from, date(first.year, first.month, 14)
            rows.append(
                _ms_row(m.period, c_id, c_name, p, old, first, last, "cycleCharge", cost, rng)
            )
            rows.append(
                _ms_row(m.period, c_id, c_name, p, -old, change, last, "addQuantity", cost, rng)
            )
            rows.append(
                _ms_row(
                    m.period, c_id, c_name, p, ln.delivered, change, last, "addQuantity", cost, rng
                )
            )
            continue
        start, end = first, last
        if ln.client.index % 5 == 0:  # NCE charge cycles anchored on the purchase day
            start = date(first.year, first.month, 15)
            end = date(last.year + (last.month == 12), last.month % 12 + 1, 14)
        rows.append(
            _ms_row(m.period, c_id, c_name, p, ln.delivered, start, end, "cycleCharge", cost, rng)
        )
    for vendor_kind, c_id, c_name, qty, cost in m.extra_unmapped:
        if vendor_kind == "microsoft-customer":
            from recon_helpers.demo import PRODUCTS

            rows.append(
                _ms_row(
                    m.period, c_id, c_name, PRODUCTS["M365-BP"], qty, first, last, "New", cost, rng
                )
            )
    rows.append(dict(rows[0]))  # an exact duplicate line, as when two exports are pasted together
    broken = dict(rows[1])
    broken["ChargeStartDate"] = f"{first.isoformat()}"  # re-saved by a spreadsheet in ISO
    broken["OrderId"] = "resaved"
    rows.append(broken)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=MS_HEADER, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _pax8_item(
    m: Month,
    ln_client: Client,
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
    external = "" if ln_client.index % 7 == 3 else ln_client.identifier
    return {
        "id": f"{rng.getrandbits(128):032x}",
        "purchaseOrderNumber": None,
        "type": kind,
        "companyId": ln_client.ids["pax8"],
        "externalId": external or None,
        "companyName": ln_client.name_at("pax8"),
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
    first, last = _month(m.period)
    items = []
    for ln in m.lines:
        p = ln.product
        if p.vendor != "pax8" or ln.delivered == 0:
            continue
        full = ln.delivered + ln.credit
        items.append(
            _pax8_item(
                m,
                ln.client,
                p.vendor_sku,
                p.description,
                full,
                p.price,
                ln.cost or Decimal(0),
                first,
                last,
                "subscription",
                rng,
            )
        )
        if ln.credit:
            items.append(
                _pax8_item(
                    m,
                    ln.client,
                    p.vendor_sku,
                    p.description,
                    -ln.credit,
                    p.price,
                    ln.cost or Decimal(0),
                    date(first.year, first.month, 20),
                    last,
                    "prorate",
                    rng,
                )
            )
    by_id = {c.identifier: c for c in clients}
    for vendor_kind, client_id, sku, qty, cost in m.extra_unmapped:
        if vendor_kind == "pax8-sku":
            from recon_helpers.demo import TEAMS_PHONE

            items.append(
                _pax8_item(
                    m,
                    by_id[client_id],
                    sku,
                    TEAMS_PHONE[1],
                    qty,
                    TEAMS_PHONE[3],
                    cost,
                    first,
                    last,
                    "subscription",
                    rng,
                )
            )
    pay = _pax8_item(
        m,
        clients[0],
        "",
        "Payment - thank you",
        Decimal(1),
        Decimal(0),
        Decimal(0),
        first,
        first,
        "payment-credit",
        rng,
    )
    items.append(pay)
    doc = {
        "content": items,
        "page": {"size": 200, "totalElements": len(items), "totalPages": 1, "number": 0},
    }
    return json.dumps(doc, indent=2)


def _snapshot(m: Month, vendor: str) -> list[Line]:
    return [ln for ln in m.lines if ln.product.vendor == vendor]


def datto_json(m: Month) -> str:
    """Datto RMM sites (``/v2/account/sites``)."""
    sites = []
    for ln in _snapshot(m, "datto_rmm"):
        n = int(ln.delivered)
        sites.append(
            {
                "id": 41000 + ln.client.index,
                "uid": ln.client.ids["datto_rmm"],
                "accountUid": "ZX81QW",
                "name": ln.client.name_at("datto_rmm"),
                "description": "",
                "notes": "",
                "onDemand": False,
                "splashtopAutoInstall": True,
                "proxySettings": None,
                "devicesStatus": {
                    "numberOfDevices": n,
                    "numberOfOnlineDevices": max(n - 2, 0),
                    "numberOfOfflineDevices": min(n, 2),
                },
                "autotaskCompanyName": None,
                "autotaskCompanyId": None,
                "portalUrl": f"https://concord.centrastage.net/csm/site/{41000 + ln.client.index}",
            }
        )
    return json.dumps(
        {
            "pageDetails": {
                "count": len(sites),
                "totalCount": len(sites),
                "prevPageUrl": None,
                "nextPageUrl": None,
            },
            "sites": sites,
        },
        indent=2,
    )


def sentinelone_json(m: Month) -> str:
    """SentinelOne sites (``/web/api/v2.1/sites``); site ids are 19-digit strings."""
    sites = []
    for ln in _snapshot(m, "sentinelone"):
        n = int(ln.delivered)
        sites.append(
            {
                "id": ln.client.ids["sentinelone"],
                "name": ln.client.name_at("sentinelone"),
                "accountId": "1392051849234567890",
                "accountName": "Example MSP",
                "activeLicenses": n,
                "totalLicenses": n + 5,
                "unlimitedLicenses": False,
                "siteType": "Paid",
                "state": "active",
                "suite": "Control",
                "sku": "Control",
                "expiration": None,
                "unlimitedExpiration": True,
                "externalId": None,
                "createdAt": "2024-03-11T09:12:44.118220Z",
                "updatedAt": "2026-10-30T22:01:09.004311Z",
            }
        )
    total = sum(s["activeLicenses"] for s in sites)
    return json.dumps(
        {
            "data": {"allSites": {"activeLicenses": total, "totalLicenses": total}, "sites": sites},
            "pagination": {"nextCursor": None, "totalItems": len(sites)},
        },
        indent=2,
    )


def huntress_json(m: Month) -> str:
    """Huntress organizations (``/v1/organizations``), one page pasted twice by mistake."""
    orgs = []
    for ln in _snapshot(m, "huntress"):
        orgs.append(
            {
                "id": int(ln.client.ids["huntress"]),
                "account_id": 7715,
                "name": ln.client.name_at("huntress"),
                "key": ln.client.identifier.lower(),
                "agents_count": int(ln.delivered),
                "billable_identity_count": 0,
                "sat_learner_count": 0,
                "logs_sources_count": 0,
                "incident_reports_count": 1,
                "identity_provider_tenant_id": None,
                "report_recipients": [],
                "created_at": "2024-05-02T14:10:00Z",
                "updated_at": "2026-10-31T03:00:00Z",
            }
        )
    if orgs:
        orgs.append(dict(orgs[0]))
    return json.dumps(
        {
            "organizations": orgs,
            "pagination": {"current_page": 1, "limit": 500, "total_count": len(orgs)},
        },
        indent=2,
    )


def acronis_json(m: Month, rng: random.Random) -> str:
    """Acronis tenant usages (``/api/2/tenants/usages``), storage in bytes."""
    from recon_helpers.demo import TB

    first, _ = _month(m.period)
    items = []
    for ln in _snapshot(m, "acronis"):
        exact = ln.delivered != ln.delivered.to_integral_value()
        noise = 0 if exact else rng.randint(-2 * 10**10, 2 * 10**10)
        value = int(ln.delivered * TB) + noise
        items.append(
            {
                "tenant_uuid": ln.client.ids["acronis"],
                "tenant_id": 1_000_000 + ln.client.index,
                "application_id": "6e6d758d-8e74-3ae3-ac84-50eb0dff12eb",
                "edition": "standard",
                "name": "storage",
                "usage_name": "storage",
                "type": "infra",
                "measurement_unit": "bytes",
                "value": value,
                "absolute_value": value,
                "range_start": first.isoformat() + "T00:00:00Z",
                "infra_id": "d46a4b2a-2631-4f76-84cd-07ce3aed3dde",
                "offering_item": {"name": "storage", "status": 1, "quota": {"value": None}},
            }
        )
    return json.dumps({"items": items}, indent=2)


CW = "https://na.myconnectwise.net/v4_6_release/apis/3.0"
USD = {
    "id": 7,
    "symbol": "$",
    "currencyCode": "USD",
    "decimalSeparator": ".",
    "numberOfDecimals": 2,
    "thousandsSeparator": ",",
    "negativeParenthesesFlag": False,
    "displaySymbolFlag": True,
    "currencyIdentifier": "USD",
    "displayIdFlag": False,
    "rightAlign": False,
    "name": "US Dollars",
    "_info": {"currency_href": f"{CW}/finance/currencies/7"},
}


def _company_ref(c: Client) -> dict[str, Any]:
    return {
        "id": c.cw_id,
        "identifier": c.identifier,
        "name": c.name,
        "_info": {"company_href": f"{CW}/company/companies/{c.cw_id}"},
    }


def _agreement_id(c: Client) -> int:
    return 1000 + c.index


def cw_companies(clients: list[Client]) -> list[dict[str, Any]]:
    """``/company/companies``."""
    return [
        {
            "id": c.cw_id,
            "identifier": c.identifier,
            "name": c.name,
            "status": {
                "id": 1,
                "name": "Active",
                "_info": {"status_href": f"{CW}/company/companies/statuses/1"},
            },
            "types": [{"id": 1, "name": "Client", "_info": None}],
            "currency": USD,
            "deletedFlag": False,
            "dateAcquired": "2019-03-01T00:00:00Z",
            "_info": {"lastUpdated": "2026-06-01T08:00:00Z", "updatedBy": "admin"},
        }
        for c in clients
    ]


def cw_agreements(clients: list[Client]) -> list[dict[str, Any]]:
    """``/finance/agreements``: one managed-services agreement per client."""
    return [
        {
            "id": _agreement_id(c),
            "name": f"Managed Services - {c.name}",
            "type": {"id": 12, "name": "Managed Services", "_info": None},
            "company": _company_ref(c),
            "agreementStatus": "Active",
            "startDate": "2025-01-01T00:00:00Z",
            "endDate": None,
            "noEndingDateFlag": True,
            "cancelledFlag": False,
            "dateCancelled": None,
            "reasonCancelled": None,
            "billingCycle": {"id": 2, "name": "Monthly", "_info": None},
            "billAmount": 0.0,
            "prorateFlag": True,
            "invoicingCycle": "ContractYear",
            "billTime": "Billable",
            "billExpenses": "Billable",
            "billProducts": "Billable",
            "currency": USD,
            "_info": {"lastUpdated": "2026-01-05T10:00:00Z", "updatedBy": "billing"},
        }
        for c in clients
    ]


def _num(v: Decimal) -> int | float:
    return int(v) if v == v.to_integral_value() else float(v)


def cw_additions(m: Month) -> list[dict[str, Any]]:
    """``/finance/agreements/{id}/additions`` of every agreement, plus a stale one."""
    out = []
    for n, ln in enumerate(m.lines):
        if ln.agreed is None and not ln.cancelled:
            continue
        p, c = ln.product, ln.client
        qty = ln.agreed if ln.agreed is not None else ln.invoiced or Decimal(0)
        out.append(
            {
                "id": 50000 + n,
                "product": {
                    "id": 300 + list(PRODUCTS_ORDER).index(p.product_id),
                    "identifier": p.product_id,
                    "_info": None,
                },
                "quantity": _num(qty),
                "lessIncluded": 0,
                "billedQuantity": _num(qty),
                "unitPrice": _num(ln.price),
                "unitCost": _num(ln.cost or Decimal(0)),
                "extPrice": _num(qty * ln.price),
                "billCustomer": "Billable",
                "effectiveDate": "2025-01-01T00:00:00Z",
                "cancelledDate": f"{ln.cancelled}T00:00:00Z" if ln.cancelled else None,
                "taxableFlag": False,
                "invoiceDescription": p.description,
                "description": p.description,
                "agreementId": _agreement_id(c),
                "uom": "Each",
                "agreementStatus": "Active",
                "_info": {"lastUpdated": f"{m.period}-02T16:20:45Z", "updatedBy": "billing"},
            }
        )
    stale = dict(out[0])
    stale.update({"id": 59999, "agreementId": 999, "description": "Legacy backup (old agreement)"})
    out.append(stale)
    onboarding = dict(out[1])  # free onboarding hours: on the agreement, never billed
    onboarding.update(
        {
            "id": 59998,
            "billCustomer": "DoNotBill",
            "quantity": 4,
            "product": {"id": 399, "identifier": "ONBOARD-HRS", "_info": None},
            "description": "Onboarding hours (included)",
        }
    )
    out.append(onboarding)
    return out


PRODUCTS_ORDER = (
    "M365-BP",
    "M365-BS",
    "EXO-P1",
    "DBX-BUS",
    "RMM-DEV",
    "EDR-S1",
    "MDR-HUNT",
    "BKP-TB",
    "MSP-FLAT",
)


def cw_catalog(products: dict[str, Product]) -> list[dict[str, Any]]:
    """``/procurement/catalog``: list prices value unbilled services."""
    return [
        {
            "id": 300 + i,
            "identifier": pid,
            "description": products[pid].description,
            "inactiveFlag": False,
            "productClass": "Agreement",
            "price": _num(products[pid].price),
            "cost": _num(products[pid].cost or Decimal(0)),
            "customerDescription": products[pid].description,
            "recurringFlag": True,
            "_info": {"lastUpdated": "2026-06-01T08:00:00Z", "updatedBy": "procurement"},
        }
        for i, pid in enumerate(PRODUCTS_ORDER)
    ]


def cw_invoices(
    m: Month, clients: list[Client]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``/finance/invoices`` headers and the ``/procurement/products`` lines on them."""
    first, last = _month(m.period)
    headers, lines = [], []
    billed = {ln.client.index for ln in m.lines if ln.invoiced is not None}
    for c in clients:
        if c.index not in billed:
            continue
        inv_id = 80000 + int(m.period.replace("-", "")[2:]) * 100 + c.index
        number = f"{m.period.replace('-', '')[2:]}{c.index:03d}"
        headers.append(
            {
                "id": inv_id,
                "invoiceNumber": number,
                "type": "Agreement",
                "status": {"id": 2, "name": "Sent", "_info": None},
                "company": _company_ref(c),
                "billToCompany": _company_ref(c),
                "applyToType": "Agreement",
                "applyToId": _agreement_id(c),
                "date": f"{first.isoformat()}T00:00:00Z",
                "dueDate": f"{last.isoformat()}T00:00:00Z",
                "currency": USD,
                "agreement": {"id": _agreement_id(c), "name": f"Managed Services - {c.name}"},
                "_info": {"lastUpdated": f"{first.isoformat()}T06:09:41Z", "updatedBy": "billing"},
            }
        )
        for n, ln in enumerate(
            x for x in m.lines if x.client.index == c.index and x.invoiced is not None
        ):
            p = ln.product
            lines.append(
                {
                    "id": inv_id * 10 + n,
                    "catalogItem": {
                        "id": 300 + PRODUCTS_ORDER.index(p.product_id),
                        "identifier": p.product_id,
                        "_info": None,
                    },
                    "description": p.description,
                    "sequenceNumber": n + 1,
                    "quantity": _num(ln.invoiced),
                    "price": _num(ln.invoice_price),
                    "cost": _num(ln.cost or Decimal(0)),
                    "extPrice": _num(ln.invoiced * ln.invoice_price),
                    "billableOption": "Billable",
                    "productClass": "Agreement",
                    "agreement": {"id": _agreement_id(c), "name": f"Managed Services - {c.name}"},
                    "invoice": {"id": inv_id, "identifier": number, "_info": None},
                    "company": _company_ref(c),
                    "cancelledFlag": False,
                    "_info": {
                        "lastUpdated": f"{first.isoformat()}T06:09:41Z",
                        "updatedBy": "billing",
                    },
                }
            )
    return headers, lines


def _dump(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_month(
    folder: Path, m: Month, clients: list[Client], products: dict[str, Product]
) -> None:
    """Every export of one month into ``folder``."""
    rng = random.Random(m.period)
    stamp = m.period.replace("-", "")
    (folder / f"G0{stamp}77_NCE_recon.csv").write_text(microsoft_csv(m, rng), encoding="utf-8-sig")
    (folder / "pax8-invoice-items.json").write_text(pax8_json(m, clients, rng), encoding="utf-8")
    (folder / "datto-rmm-sites.json").write_text(datto_json(m), encoding="utf-8")
    (folder / "sentinelone-sites.json").write_text(sentinelone_json(m), encoding="utf-8")
    (folder / "huntress-organizations.json").write_text(huntress_json(m), encoding="utf-8")
    (folder / "acronis-usages.json").write_text(acronis_json(m, rng), encoding="utf-8")
    _dump(folder / "cw-companies.json", cw_companies(clients))
    _dump(folder / "cw-agreements.json", cw_agreements(clients))
    _dump(folder / "cw-agreement-additions.json", cw_additions(m))
    _dump(folder / "cw-catalog.json", cw_catalog(products))
    headers, lines = cw_invoices(m, clients)
    _dump(folder / "cw-invoices.json", headers)
    _dump(folder / "cw-invoice-products.json", lines)


def write_mappings(folder: Path, clients: list[Client], products: dict[str, Product]) -> None:
    """clients.csv (names no rule can match, Acronis tenants by id) and products.csv."""
    from recon_helpers.demo import NAME_VARIANTS

    folder.mkdir(parents=True, exist_ok=True)
    rows = [("vendor", "vendor_customer_id", "vendor_customer_name", "client_id")]
    for c in clients:
        if c.index in NAME_VARIANTS["datto_rmm"]:
            rows.append(("datto_rmm", c.ids["datto_rmm"], c.name_at("datto_rmm"), c.identifier))
        rows.append(("acronis", c.ids["acronis"], "", c.identifier))
    with (folder / "clients.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    prows = [("vendor", "vendor_sku", "product_id", "units_per_product")]
    for p in products.values():
        if p.vendor:
            prows.append((p.vendor, p.vendor_sku, p.product_id, str(p.units_per_product)))
    with (folder / "products.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(prows)


def write_config(path: Path) -> None:
    """recon.toml of the demo: month-end rule, exact quantities, storage within 0.05 TB."""
    path.write_text(
        '# Settings of this workspace (see README "Configuration").\n'
        'currency = "USD"\n'
        'month_rule = "month_end"   # or "day_weighted"\n\n'
        "[tolerance]\n"
        'quantity_abs = "0"\n'
        'quantity_pct = "0"\n'
        'amount_abs = "0.01"\n\n'
        "# storage is measured in bytes and billed in TB: ignore differences up to 0.05 TB\n"
        '[tolerance.products."BKP-TB"]\n'
        'quantity_abs = "0.05"\n',
        encoding="utf-8",
    )
