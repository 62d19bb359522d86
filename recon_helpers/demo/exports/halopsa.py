"""The demo month as HaloPSA REST list responses: ``/Client``, ``/Item``,
``/RecurringInvoice`` and ``/Invoice`` (with ``includelines=true``).

The same book as the ConnectWise exports, in Halo's shapes: one recurring invoice per client
whose lines are the agreement (``qty_order`` at ``unit_price`` from ``startdate``, a
cancelled service with its ``enddate``), and the month's invoice per billed client, generated
from it (``recurring_invoice_id``, ``recurring_invoice_line_id``).

The ConnectWise planted mess, mapped to what Halo has: an agreement line whose agreement is
gone is a recurring invoice of a client no longer in ``/Client`` (``unknown_reference``); the
free onboarding hours (``DoNotBill``) are an included item at no charge, on the recurring
invoice and the invoice at 0.00 (Halo has no "do not bill" flag on a recurring line), so no
finding either way. An invoice also carries a labour line without an item, which is not a
service line and is not reconciled.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from recon_helpers.demo.exports.connectwise import _num
from recon_helpers.demo.exports.month import month_bounds
from recon_helpers.demo.plan import Client, Line, Month, Product
from recon_helpers.demo.psas import PRODUCTS_ORDER, halo_item_id

ONBOARDING_ITEM = 99  # "Onboarding hours": a labour item, not in the demo's catalogue


def _stamp(day: date | str) -> str:
    return f"{day}T00:00:00"


def _list(key: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"record_count": len(records), key: records}


def halo_clients(clients: list[Client]) -> dict[str, Any]:
    """``/Client?pageinate=true``: ``{"record_count", "clients": [...]}``."""
    return _list("clients", [
        {
            "id": int(c.identifier), "name": c.name, "toplevel_id": 1, "toplevel_name": "Clients",
            "inactive": False, "use": "client", "colour": "", "main_site_id": 300 + c.index,
            "main_site_name": "Main", "accountsid": f"C{c.index:04d}",
        }
        for c in clients
    ])


def halo_items(products: dict[str, Product]) -> dict[str, Any]:
    """``/Item``: the catalogue; recurring items carry their recurring price."""
    return _list("items", [
        {
            "id": int(halo_item_id(pid)), "name": products[pid].description,
            "description": products[pid].description, "isrecurringitem": True,
            "baseprice": _num(products[pid].price), "recurringprice": _num(products[pid].price),
            "costprice": _num(products[pid].cost or Decimal(0)),
            "recurringcost": _num(products[pid].cost or Decimal(0)),
            "internalreference": pid, "externalreference": "", "supplier_id": 0,
            "taxable": True, "use": "item",
        }
        for pid in PRODUCTS_ORDER
    ])


def _recurring_id(c: Client) -> int:
    return 800 + c.index


def _line_id(ln: Line) -> int:
    return 5000 + ln.client.index * 20 + PRODUCTS_ORDER.index(ln.product.product_id)


def _line(id_: int, ihid: int, ln_item: int, code: str, text: str, qty: Decimal,
          price: Decimal, cost: Decimal, **fields: Any) -> dict[str, Any]:
    line = {
        "id": id_, "ihid": ihid, "_itemid": ln_item, "item_code": code,
        "item_shortdescription": text, "qty_order": _num(qty), "unit_price": _num(price),
        "unit_cost": _num(cost), "net_amount": _num(qty * price), "tax_amount": 0.0,
        "isinactive": False, "isgroupdesc": False,
    }
    line.update(fields)
    return line


def _onboarding(ihid: int, **fields: Any) -> dict[str, Any]:
    """Free onboarding hours: an included item at no charge."""
    return _line(ihid * 100 + 99, ihid, ONBOARDING_ITEM, "ONBOARD-HRS",
                 "Onboarding hours (included)", Decimal(4), Decimal(0), Decimal(0), **fields)


def _agreement_lines(m: Month) -> list[Line]:
    return [ln for ln in m.lines if ln.agreed is not None or ln.cancelled]


def halo_recurring(m: Month, clients: list[Client]) -> dict[str, Any]:
    """``/RecurringInvoice?includelines=true``: one per client, plus one of a removed client."""
    first, _ = month_bounds(m.period)
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    agreement = _agreement_lines(m)
    free = agreement[1].client.index  # the client ConnectWise's DoNotBill addition is on
    headers = []
    for c in clients:
        rid = _recurring_id(c)
        lines = [
            _line(_line_id(ln), rid, int(halo_item_id(ln.product.product_id)),
                  ln.product.product_id, ln.product.description,
                  ln.agreed if ln.agreed is not None else ln.invoiced or Decimal(0), ln.price,
                  ln.cost or Decimal(0), startdate=_stamp("2025-01-01"),
                  enddate=_stamp(ln.cancelled) if ln.cancelled else None)
            for ln in agreement if ln.client.index == c.index
        ]
        if c.index == free:
            lines.append(_onboarding(rid, startdate=_stamp("2025-01-01"), enddate=None))
        headers.append(_recurring_header(rid, int(c.identifier), c.name, first, nxt, lines))
    gone = dict(headers[0]["lines"][0], id=4999, ihid=899)
    headers.append(_recurring_header(899, 999, "Legacy Holdings (merged)", first, nxt, [gone]))
    return _list("invoices", headers)


def _recurring_header(rid: int, client: int, name: str, first: date, nxt: date,
                      lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": rid, "client_id": client, "client_name": name, "is_recurring_invoice": True,
        "period": 1, "period_type": 2, "startdate": _stamp("2025-01-01"), "enddate": None,
        "lastcreated": _stamp(first), "nextcreationdate": _stamp(nxt), "disabled": False,
        "last_modified": f"{first}T03:12:45.173", "lines": lines,
    }


def halo_invoices(m: Month, clients: list[Client]) -> dict[str, Any]:
    """``/Invoice?includelines=true``: the month's invoice of every billed client."""
    first, last = month_bounds(m.period)
    free = _agreement_lines(m)[1].client.index
    headers = []
    for c in clients:
        billed = [x for x in m.lines if x.client.index == c.index and x.invoiced is not None]
        if not billed:
            continue
        inv = 9_000_000 + int(m.period.replace("-", "")[2:]) * 100 + c.index
        rid = _recurring_id(c)
        lines = [
            _line(inv * 100 + n, inv, int(halo_item_id(ln.product.product_id)),
                  ln.product.product_id, ln.product.description, ln.invoiced, ln.invoice_price,  # type: ignore[arg-type]
                  ln.cost or Decimal(0), recurring_invoice_id=rid,
                  recurring_invoice_line_id=_line_id(ln))
            for n, ln in enumerate(billed)
        ]
        if c.index == free:
            lines.append(_onboarding(inv, recurring_invoice_id=rid))
        if c.index == 0:  # a ticket's labour billed on the same invoice: no item, no service
            lines.append(_line(inv * 100 + 98, inv, 0, "", "Onsite visit (ticket 4410)",
                               Decimal(2), Decimal(125), Decimal(0), ticket_id=4410))
        headers.append({
            "id": inv, "invoicenumber": f"INV-{m.period.replace('-', '')[2:]}{c.index:03d}",
            "client_id": int(c.identifier), "client_name": c.name,
            "invoice_date": _stamp(first), "duedate": _stamp(last),
            "is_recurring_invoice": False, "recurring_invoice_id": rid, "posted": True,
            "voided": False, "period_start_date": _stamp(first), "period_end_date": _stamp(last),
            "total": _num(sum((Decimal(str(x["net_amount"])) for x in lines), Decimal(0))),
            "last_modified": f"{first}T03:15:02.5", "lines": lines,
        })
    return {"page_size": 100, **_list("invoices", headers)}
