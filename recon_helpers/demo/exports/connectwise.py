"""The demo month as ConnectWise Manage (PSA) REST exports: companies, agreements and their
additions, the product catalog, invoices and the product lines on them.

The book (agreements, invoices) is what the MSP promised and billed; planted mess includes an
addition whose agreement is gone and free onboarding hours that are never billed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from recon_helpers.demo.exports.month import month_bounds
from recon_helpers.demo.plan import Client, Month, Product
from recon_helpers.demo.psas import PRODUCTS_ORDER

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



def _num(v: Decimal) -> int | float:
    return int(v) if v == v.to_integral_value() else float(v)


def _company_ref(c: Client) -> dict[str, Any]:
    return {
        "id": c.cw_id,
        "identifier": c.identifier,
        "name": c.name,
        "_info": {"company_href": f"{CW}/company/companies/{c.cw_id}"},
    }


def _agreement_id(c: Client) -> int:
    return 1000 + c.index


def _agreement_ref(c: Client) -> dict[str, Any]:
    return {"id": _agreement_id(c), "name": f"Managed Services - {c.name}"}


def _catalog_ref(product_id: str) -> dict[str, Any]:
    return {"id": 300 + PRODUCTS_ORDER.index(product_id), "identifier": product_id, "_info": None}


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
                "product": _catalog_ref(p.product_id),
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
    first, last = month_bounds(m.period)
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
                "agreement": _agreement_ref(c),
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
                    "catalogItem": _catalog_ref(p.product_id),
                    "description": p.description,
                    "sequenceNumber": n + 1,
                    "quantity": _num(ln.invoiced),
                    "price": _num(ln.invoice_price),
                    "cost": _num(ln.cost or Decimal(0)),
                    "extPrice": _num(ln.invoiced * ln.invoice_price),
                    "billableOption": "Billable",
                    "productClass": "Agreement",
                    "agreement": _agreement_ref(c),
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
