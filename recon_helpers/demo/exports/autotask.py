"""The demo month as Autotask (Datto) PSA REST query responses: Companies, Services,
Contracts, ContractServices, ContractServiceUnits, Invoices and BillingItems, each
``{"items": [...], "pageDetails": {...}}``.

The same book as the ConnectWise exports, in Autotask's shapes: one recurring-service contract
per client, a contract service and one units row (the month's billing period) per agreement
line, one invoice per billed client with a billing item per invoiced service. Dates are local
midnight in America/New_York written in UTC (``2026-10-01T04:00:00.000Z``), as Autotask does;
the demo's recon.toml names the time zone.

The ConnectWise planted mess, mapped to what Autotask has: the addition whose agreement is gone
is a units row whose contract is not in the export (``unknown_reference``); the free
onboarding hours (``DoNotBill``) are a non-billable labour billing item on the invoice
(``nonBillable`` = 1, quarantined as ``not_billable_line``). A service cancelled before the
month keeps its last units row (the month before), so it is not live.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from recon_helpers.demo.exports.connectwise import _num
from recon_helpers.demo.exports.month import month_bounds
from recon_helpers.demo.plan import Client, Line, Month, Product
from recon_helpers.demo.psas import PRODUCTS_ORDER, autotask_service_id

TIMEZONE = "America/New_York"
_ZONE = ZoneInfo(TIMEZONE)
RESOURCE = 29682885  # the API user's resource id


def _utc(day: date) -> str:
    """Local midnight of ``day`` in the tenant's zone, written in UTC as Autotask does."""
    local = datetime.combine(day, time(), tzinfo=_ZONE)
    return local.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _page(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "items": items,
        "pageDetails": {
            "count": len(items), "requestCount": 500, "prevPageUrl": None, "nextPageUrl": None,
        },
    }


def _contract_id(c: Client) -> int:
    return 29684001 + c.index


def _contract_service_id(ln: Line) -> int:
    return 31000 + ln.client.index * 20 + PRODUCTS_ORDER.index(ln.product.product_id)


def _agreement_lines(m: Month) -> list[Line]:
    return [ln for ln in m.lines if ln.agreed is not None or ln.cancelled]


def at_companies(clients: list[Client]) -> dict[str, Any]:
    """``Companies/query``."""
    return _page([
        {
            "id": int(c.identifier), "companyName": c.name, "companyNumber": str(300100 + c.index),
            "companyType": 1, "isActive": True, "parentCompanyID": None, "phone": "",
            "countryID": 237, "currencyID": 1, "ownerResourceID": RESOURCE,
            "createDate": "2019-03-01T05:00:00.000Z", "taxID": "", "userDefinedFields": [],
        }
        for c in clients
    ])


def at_services(products: dict[str, Product]) -> dict[str, Any]:
    """``Services/query``: the catalogue whose list prices value unbilled services."""
    return _page([
        {
            "id": int(autotask_service_id(pid)), "name": products[pid].description,
            "description": products[pid].description + ", billed monthly",
            "invoiceDescription": products[pid].description, "billingCodeID": 29683407,
            "periodType": 2, "unitPrice": _num(products[pid].price),
            "unitCost": _num(products[pid].cost or Decimal(0)), "markupRate": None,
            "vendorCompanyID": None, "isActive": True, "createDate": "2019-05-06T04:00:00.000Z",
            "lastModifiedDate": "2026-01-15T05:00:00.000Z", "creatorResourceID": RESOURCE,
            "updateResourceID": RESOURCE,
        }
        for pid in PRODUCTS_ORDER
    ])


def at_contracts(clients: list[Client]) -> dict[str, Any]:
    """``Contracts/query``: one recurring-service contract (type 7) per client."""
    return _page([
        {
            "id": _contract_id(c), "companyID": int(c.identifier),
            "contractName": f"Managed Services - {c.name}", "contractNumber": f"MS-{c.index:04d}",
            "contractType": 7, "contractCategory": 15, "contractPeriodType": "m", "status": 1,
            "startDate": _utc(date(2025, 1, 1)), "endDate": _utc(date(2027, 12, 31)),
            "billingPreference": 2, "billToCompanyID": int(c.identifier),
            "isDefaultContract": False, "setupFee": 0.0, "userDefinedFields": "",
        }
        for c in clients
    ])


def at_contract_services(m: Month) -> dict[str, Any]:
    """``ContractServices/query``: the services on each contract, with their unit price."""
    return _page([
        {
            "id": _contract_service_id(ln), "contractID": _contract_id(ln.client),
            "serviceID": int(autotask_service_id(ln.product.product_id)),
            "unitPrice": _num(ln.price),
            "unitCost": _num(ln.cost or Decimal(0)), "internalCurrencyUnitPrice": _num(ln.price),
            "invoiceDescription": ln.product.description, "internalDescription": "",
            "quoteItemID": None,
        }
        for ln in _agreement_lines(m)
    ])


def at_units(m: Month) -> dict[str, Any]:
    """``ContractServiceUnits/query``: the month's units row per service, plus a stale one."""
    first, last = month_bounds(m.period)
    rows = []
    for n, ln in enumerate(_agreement_lines(m)):
        qty = ln.agreed if ln.agreed is not None else ln.invoiced or Decimal(0)
        start, end = first, last
        if ln.cancelled:  # its last billing period is the one it was cancelled in
            end = date.fromisoformat(ln.cancelled)
            start = end.replace(day=1)
        assert qty == qty.to_integral_value(), "Autotask units are whole numbers"
        rows.append({
            "id": int(m.period.replace("-", "")) * 1000 + n,
            "contractID": _contract_id(ln.client),
            "contractServiceID": _contract_service_id(ln),
            "serviceID": int(autotask_service_id(ln.product.product_id)),
            "units": int(qty), "price": _num(qty * ln.price),
            "cost": _num(qty * (ln.cost or Decimal(0))),
            "internalCurrencyPrice": _num(qty * ln.price),
            "startDate": _utc(start), "endDate": _utc(end),
            "approveAndPostDate": _utc(start), "vendorCompanyID": None,
            "organizationalLevelAssociationID": None,
        })
    stale = dict(rows[0], id=rows[0]["id"] + 999, contractID=29689999, contractServiceID=39999)
    rows.append(stale)  # a row of a contract no longer in the export
    return _page(rows)


def _invoice_id(m: Month, c: Client) -> int:
    return 5000000 + int(m.period.replace("-", "")[2:]) * 100 + c.index


def at_invoices(m: Month, clients: list[Client]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``Invoices/query`` (one per billed client) and the ``BillingItems/query`` on them."""
    first, last = month_bounds(m.period)
    billed = {ln.client.index for ln in m.lines if ln.invoiced is not None}
    agreed = {(ln.client.index, ln.product.product_id) for ln in _agreement_lines(m)}
    headers, items = [], []
    for c in (c for c in clients if c.index in billed):
        inv_id = _invoice_id(m, c)
        lines = [x for x in m.lines if x.client.index == c.index and x.invoiced is not None]
        total = sum((x.invoiced * x.invoice_price for x in lines), Decimal(0))
        headers.append({
            "id": inv_id, "companyID": int(c.identifier),
            "invoiceNumber": f"{m.period.replace('-', '')[2:]}{c.index:03d}",
            "invoiceDateTime": _utc(first), "fromDate": _utc(first), "toDate": _utc(last),
            "dueDate": _utc(last), "invoiceTotal": _num(total), "totalTaxValue": 0.0,
            "isVoided": False, "voidedDate": None, "paidDate": None, "batchID": 700,
            "orderNumber": "", "paymentTerm": 1, "taxRegionName": "New York",
            "createDateTime": _utc(first), "creatorResourceID": RESOURCE, "comments": "",
            "webServiceDate": None, "userDefinedFields": [],
        })
        for n, ln in enumerate(lines):
            on_contract = (c.index, ln.product.product_id) in agreed
            items.append(_billing_item(
                inv_id * 100 + n, c, inv_id, first, ln.product.description,
                qty=ln.invoiced, rate=ln.invoice_price,  # type: ignore[arg-type]
                contractID=_contract_id(c),
                contractServiceID=_contract_service_id(ln) if on_contract else None,
                serviceID=int(autotask_service_id(ln.product.product_id)),
            ))
    items.append(_onboarding(m, first))
    return _page(headers), _page(items)


def _billing_item(
    id_: int, c: Client, invoice: int, day: date, name: str, *, qty: Decimal, rate: Decimal,
    **fields: Any,
) -> dict[str, Any]:
    amount = qty * rate
    item = {  # billingItemType / subType are per-tenant picklists: the loader never reads them
        "id": id_, "billingItemType": 5, "subType": 1, "companyID": int(c.identifier),
        "contractID": None, "contractServiceID": None, "contractServicePeriodID": None,
        "contractServiceAdjustmentID": None, "contractServiceBundleID": None,
        "serviceID": None, "serviceBundleID": None, "ticketID": None, "timeEntryID": None,
        "expenseItemID": None, "projectID": None, "milestoneID": None, "invoiceID": invoice,
        "itemName": name, "description": name, "quantity": _num(qty), "rate": _num(rate),
        "extendedPrice": _num(amount), "ourCost": 0.0, "taxDollars": 0.0,
        "totalAmount": _num(amount), "itemDate": _utc(day), "postedDate": _utc(day),
        "nonBillable": 0, "purchaseOrderNumber": "", "userDefinedFields": [],
    }
    item.update(fields)
    return item


def _onboarding(m: Month, day: date) -> dict[str, Any]:
    """Free onboarding hours: labour posted as non-billable on the client's invoice."""
    c = _agreement_lines(m)[1].client  # the client ConnectWise's DoNotBill addition is on
    return _billing_item(
        _invoice_id(m, c) * 100 + 99, c, _invoice_id(m, c), day, "Onboarding hours (included)",
        qty=Decimal(4), rate=Decimal(0), billingItemType=1, ticketID=7000 + c.index,
        timeEntryID=880000 + c.index, nonBillable=1,
    )
