"""ConnectWise PSA (Manage) REST exports: companies, agreements, additions, invoices, invoice
products and the catalog, each a JSON array as the API returns it (FORMATS.md 3).

References are nested objects with ``_info`` hrefs; timestamps are ISO UTC (``...T00:00:00Z``);
an addition carries no company (its ``agreementId`` leads to the agreement's company); invoice
lines are procurement products pointing at their invoice by ``invoice {id, identifier}``.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from tests.unseen.model import Addition, Month, add_months, month_bounds
from tests.unseen.plan import agreement_id
from tests.unseen.roster import CLIENTS

API = "https://na.myconnectwise.net/v4_6_release/apis/3.0"
FILES = {"companies": "cw_companies.json", "agreements": "cw_agreements.json",
         "additions": "cw_agreement_additions.json", "invoices": "cw_invoices.json",
         "products": "cw_invoice_products.json", "catalog": "cw_catalog.json"}
USD = {"id": 7, "symbol": "$", "currencyCode": "USD", "decimalSeparator": ".",
       "numberOfDecimals": 2, "thousandsSeparator": ",", "negativeParenthesesFlag": False,
       "displaySymbolFlag": True, "currencyIdentifier": "USD", "displayIdFlag": False,
       "rightAlign": False, "name": "US Dollars",
       "_info": {"currency_href": f"{API}/finance/currencies/7"}}


def ts(day: date | None) -> str | None:
    """ConnectWise's UTC timestamp of a date."""
    return None if day is None else f"{day.isoformat()}T00:00:00Z"


def stamp(day: date, days: int = 0, time: str = "16:20:45") -> str:
    """A record's lastUpdated: ``days`` after ``day`` (negative: before)."""
    return f"{date.fromordinal(day.toordinal() + days).isoformat()}T{time}Z"


def num(value: Decimal | None) -> float | int | None:
    """A JSON number (integers without a point)."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _ref(kind: str, path: str, rec_id: int, **fields: object) -> dict[str, object]:
    return {"id": rec_id, **fields, "_info": {f"{kind}_href": f"{API}/{path}/{rec_id}"}}


def _company(month: Month, client_id: str) -> dict[str, object]:
    c = next(c for c in month.clients if c.client_id == client_id)
    return _ref("company", "company/companies", c.company_id, identifier=c.client_id, name=c.name)


def companies(month: Month) -> list[dict[str, object]]:
    """/company/companies."""
    return [{
        "id": c.company_id, "identifier": c.client_id, "name": c.name,
        "status": {"id": 1, "name": "Active"},
        "addressLine1": f"{200 + n} Granby St.", "city": "Norfolk", "state": "VA",
        "phoneNumber": f"757555{1000 + n}", "website": "",
        "types": [{"id": 1, "name": "Client"}],
        "billToCompany": _company(month, c.client_id), "currency": USD, "deletedFlag": False,
        "dateAcquired": "2019-03-04T15:00:00Z",
        "_info": {"lastUpdated": stamp(month_bounds(month.period)[0], -19, "10:02:44"),
                  "updatedBy": "tidewater-admin"},
    } for n, c in enumerate(month.clients)]


def agreements(month: Month) -> list[dict[str, object]]:
    """/finance/agreements: one managed-services agreement per client with additions."""
    owners = dict.fromkeys(a.client_id for a in month.additions)
    return [{
        "id": agreement_id(cid), "name": f"Managed Services - {_company(month, cid)['name']}",
        "type": {"id": 12, "name": "Managed Services"}, "company": _company(month, cid),
        "startDate": "2025-01-01T00:00:00Z", "endDate": None, "noEndingDateFlag": True,
        "cancelledFlag": False, "dateCancelled": None, "reasonCancelled": None,
        "billingCycle": {"id": 2, "name": "Monthly"}, "billAmount": 0.0, "prorateFlag": True,
        "invoicingCycle": "CalendarYear", "billTime": "Billable", "billExpenses": "Billable",
        "billProducts": "Billable", "currency": USD, "agreementStatus": "Active",
        "_info": {"lastUpdated": stamp(month_bounds(month.period)[0], -1, "21:44:02"),
                  "updatedBy": "billing",
                  "additions_href": f"{API}/finance/agreements/{agreement_id(cid)}/additions"},
    } for cid in owners]


def addition(month: Month, a: Addition) -> dict[str, object]:
    """One /finance/agreements/{id}/additions record."""
    prod = month.products[a.product_id]
    billed = None if a.qty is None else a.qty - a.less_included
    return {
        "id": a.addition_id, "product": _ref("product", "procurement/catalog", prod.cw_id,
                                             identifier=prod.product_id),
        "quantity": num(a.qty), "lessIncluded": num(a.less_included),
        "unitPrice": num(a.unit_price), "unitCost": num(a.unit_cost),
        "billCustomer": a.bill, "effectiveDate": ts(a.effective),
        "cancelledDate": ts(a.cancelled), "taxableFlag": False, "serialNumber": None,
        "invoiceDescription": prod.description, "purchaseItemFlag": False,
        "specialOrderFlag": False, "agreementId": a.agreement_id,
        "description": prod.description, "billedQuantity": num(billed), "uom": "Each",
        "extPrice": num(None if billed is None else billed * a.unit_price),
        "prorateCurrentPeriodFlag": True,
        "agreementStatus": "Cancelled" if a.cancelled else "Active",
        "_info": {"lastUpdated": stamp(max(a.effective, month_bounds(month.period)[0]), -3),
                  "updatedBy": "billing"},
    }


def invoice_id(client_id: str) -> int:
    """The rec id of a client's agreement invoice of the month."""
    return 88401 + [s.client_id for s in CLIENTS].index(client_id)


def invoice_number(month: Month, client_id: str) -> str:
    """The printed invoice number."""
    base = 52000 + 40 * (int(month.period[:4]) % 10 * 12 + int(month.period[5:]))
    return str(base + [s.client_id for s in CLIENTS].index(client_id))


def invoices(month: Month) -> list[dict[str, object]]:
    """/finance/invoices: one agreement invoice per client that has invoice lines."""
    day = month.invoice_date
    out = []
    for cid in dict.fromkeys(i.client_id for i in month.invoice_lines):
        total = sum((i.amount for i in month.invoice_lines if i.client_id == cid), Decimal(0))
        out.append({
            "id": invoice_id(cid), "invoiceNumber": invoice_number(month, cid),
            "type": "Agreement", "status": {"id": 2, "name": "Sent"},
            "company": _company(month, cid), "billToCompany": _company(month, cid),
            "applyToType": "Agreement", "applyToId": agreement_id(cid),
            "reference": "", "customerPO": "", "date": ts(day),
            "dueDate": ts(add_months(day, 1)),  # type: ignore[arg-type]
            "taxableFlag": False, "currency": USD, "serviceTotal": 0.0,
            "productTotal": num(total), "agreementAmount": num(total), "subtotal": num(total),
            "total": num(total), "salesTax": 0.0, "payments": 0.0, "credits": 0.0,
            "balance": num(total),
            "agreement": _ref("agreement", "finance/agreements", agreement_id(cid),
                              name=f"Managed Services - {_company(month, cid)['name']}",
                              type="Managed Services"),
            "_info": {"lastUpdated": ts(day), "updatedBy": "billing"},
        })
    return out


def invoice_products(month: Month) -> list[dict[str, object]]:
    """/procurement/products: the lines of the month's invoices."""
    out = []
    for n, line in enumerate(month.invoice_lines):
        prod = month.products[line.product_id]
        out.append({
            "id": 77401 + n,
            "catalogItem": _ref("product", "procurement/catalog", prod.cw_id,
                                identifier=prod.product_id),
            "description": prod.description, "sequenceNumber": n + 1,
            "quantity": num(line.qty), "unitOfMeasure": {"id": 1, "name": "Each"},
            "price": num(line.price), "cost": num(prod.cost), "extPrice": num(line.amount),
            "discount": 0, "billableOption": "Billable",
            "agreement": _ref("agreement", "finance/agreements", agreement_id(line.client_id)),
            "taxableFlag": False, "cancelledFlag": False, "quantityCancelled": 0,
            "customerDescription": prod.description,
            "invoice": {"id": invoice_id(line.client_id),
                        "identifier": invoice_number(month, line.client_id)},
            "company": _company(month, line.client_id), "productClass": "Agreement",
            "_info": {"lastUpdated": ts(month.invoice_date), "updatedBy": "billing"},
        })
    return out


def catalog(month: Month) -> list[dict[str, object]]:
    """/procurement/catalog."""
    return [{
        "id": p.cw_id, "identifier": p.product_id, "description": p.description,
        "inactiveFlag": False, "subcategory": {"id": 14, "name": "Managed Services"},
        "type": {"id": 3, "name": "Service"}, "productClass": "Agreement",
        "unitOfMeasure": {"id": 1, "name": "Each"}, "price": num(p.price), "cost": num(p.cost),
        "priceAttribute": "FixedFee", "taxableFlag": False, "customerDescription": p.description,
        "manufacturerPartNumber": p.product_id, "recurringFlag": True,
        "_info": {"lastUpdated": "2026-06-01T08:00:00Z", "updatedBy": "procurement"},
    } for p in month.products.values()]


def dumps(records: object) -> bytes:
    """JSON as saved from the API."""
    return (json.dumps(records, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def write(month: Month, *, invoices_too: bool = True) -> dict[str, bytes]:
    """{file name: bytes} of the month's ConnectWise exports."""
    out = {FILES["companies"]: dumps(companies(month)),
           FILES["agreements"]: dumps(agreements(month)),
           FILES["additions"]: dumps([addition(month, a) for a in month.additions]),
           FILES["catalog"]: dumps(catalog(month))}
    if invoices_too:
        out[FILES["invoices"]] = dumps(invoices(month))
        out[FILES["products"]] = dumps(invoice_products(month))
    return out
