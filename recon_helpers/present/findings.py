"""The findings table a reviewer reads first: eight narrow columns, the rest folded per row.

Main columns: kind, client (a link to the client's section), product, delivered, agreed,
invoiced, impact, status. Agreed and invoiced carry their unit price (``11 @ 22.00``), so a
price mismatch shows both prices side by side. Everything else (vendor, customer and SKU ids,
variance, unit cost, the explanation, the ``file:row`` sources, the key, the decision) sits in
a ``<details>`` row under each finding, so the table fits a 1440 px screen without a
horizontal scroll.

Example:
    >>> FindingsTable(status, "Open items", three_way=rec.three_way)
"""

from __future__ import annotations

import html
from decimal import Decimal
from typing import Any

import pandas as pd

from recon_helpers.core.schemas import money, qty
from recon_helpers.present.fmt import DASH, amount, missing, money_text, qty_text

MAIN = ("kind", "client", "product", "delivered", "agreed", "invoiced", "impact", "status")
AT_RISK_KINDS = ("unmapped_customer", "unmapped_product")  # impact = vendor cost at risk


def client_anchor(client_id: str) -> str:
    """The id of a client's section (``client-ACME_2e01``): letters, digits and ``-`` kept,
    anything else hex-escaped, so any client id gives a unique, URL-safe fragment."""
    out = []
    for ch in str(client_id):
        out.append(ch if ch.isascii() and (ch.isalnum() or ch == "-") else
                   "".join(f"_{b:02x}" for b in ch.encode("utf-8")))
    return "client-" + "".join(out)


def client_link(client_id: str, name: str, base: str = "") -> str:
    """Escaped ``name (id)`` linking to the client's section (on page ``base``, or this one)."""
    if not client_id:
        return DASH
    label = html.escape(f"{name} ({client_id})" if name else client_id)
    return f'<a href="{html.escape(base)}#{client_anchor(client_id)}">{label}</a>'


def invoiced_prices(findings: pd.DataFrame, three_way: pd.DataFrame | None) -> list[Any]:
    """Invoiced unit price per finding (invoiced amount / invoiced quantity of its three-way
    row), or None where nothing was invoiced or the row is unknown."""
    if three_way is None or three_way.empty or findings.empty:
        return [None] * len(findings)
    keys = ["client_id", "product_id", "currency"]
    tw = three_way[[*keys, "invoiced_qty", "invoiced_amount"]].drop_duplicates(keys)
    lookup = {(c, p, cur): (q, a) for c, p, cur, q, a in tw.itertuples(index=False)}
    out: list[Any] = []
    for c, p, cur in zip(findings["client_id"], findings["product_id"], findings["currency"],
                         strict=True):
        q, a = lookup.get((c, p, cur), (0, None))
        amt = money(a) if a is not None and not missing(a) else None
        n = qty(q) if q else None
        out.append(None if not n or amt is None else
                   (amt / n).quantize(Decimal("0.0001")).normalize())
    return out


def _at(quantity: Any, price: Any) -> str:
    shown = qty_text(quantity)
    if shown == DASH or missing(price):
        return shown
    return f"{shown} @ {money_text(price)}"


def _status(row: pd.Series) -> str:
    state = str(row.get("status", "") or "")
    if not state:
        return "held" if str(row.get("hold", "") or "") else "open"
    return state


def _more(row: pd.Series, invoiced_price: Any) -> str:
    cur = str(row.get("currency", ""))
    pairs = [
        ("vendor", row.get("vendor")), ("vendor customer", row.get("vendor_customer")),
        ("vendor SKU", row.get("vendor_sku")), ("variance", qty_text(row.get("variance_qty"))),
        ("agreed price", amount(row.get("unit_price"), cur)),
        ("invoiced price", amount(invoiced_price, cur)),
        ("vendor unit cost", amount(row.get("unit_cost"), cur)),
        ("explanation", row.get("detail")),
        ("status detail", row.get("status_detail")),
        ("decision", " ".join(str(row.get(c) or "") for c in ("action", "note")).strip()),
        ("decided by", row.get("actor")),
        ("decided at", str(row.get("ts") or "")[:19].replace("T", " ")),
    ]
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>"
                    for k, v in pairs if not missing(v) and str(v) not in ("", DASH))
    sources = "".join(f"<li><code>{html.escape(s)}</code></li>"
                      for s in str(row.get("sources") or "").split(";") if s)
    key = html.escape(str(row.get("key") or ""))
    return (f'<dl class="recon-dl">{items}</dl>'
            + (f'<div class="recon-caption">Sources (file:row)</div><ul>{sources}</ul>'
               if sources else "")
            + (f"<p><small>key <code>{key}</code></small></p>" if key else ""))


class FindingsTable:
    """Findings (or a status table) as the narrow reviewer table with folded detail rows."""

    def __init__(self, findings: pd.DataFrame, caption: str = "", *,
                 three_way: pd.DataFrame | None = None, link_base: str = "",
                 empty: str = "No discrepancies.") -> None:
        self.frame = findings.reset_index(drop=True)
        self.caption = caption
        self.three_way = three_way
        self.link_base = link_base
        self.empty = empty

    def rows(self) -> pd.DataFrame:
        """The eight main columns as display text (what the table shows)."""
        f = self.frame
        prices = invoiced_prices(f, self.three_way)
        out = []
        for (_, row), inv_price in zip(f.iterrows(), prices, strict=True):
            cur = str(row["currency"])
            impact = amount(row["impact"], cur)
            if row["kind"] in AT_RISK_KINDS and impact != DASH:
                impact += " at risk"
            out.append({
                "kind": row["kind"],
                "client": (f"{row['client_name']} ({row['client_id']})" if row["client_id"]
                           else DASH),
                "product": row["product_id"] or (f"SKU {row['vendor_sku']}"
                                                 if row["vendor_sku"] else DASH),
                "delivered": qty_text(row["vendor_qty"]),
                "agreed": _at(row["agreement_qty"], row["unit_price"]),
                "invoiced": _at(row["invoiced_qty"], inv_price),
                "impact": impact,
                "status": _status(row),
            })
        return pd.DataFrame(out, columns=list(MAIN), dtype=object)

    def to_html(self) -> str:
        """Escaped HTML: caption, the main table, a ``<details>`` row under each finding."""
        cap = (f'<div class="recon-caption">{html.escape(self.caption)}</div>'
               if self.caption else "")
        if self.frame.empty:
            return f'{cap}<p class="recon-empty">{html.escape(self.empty)}</p>'
        shown = self.rows()
        prices = invoiced_prices(self.frame, self.three_way)
        head = "".join(f"<th>{c}</th>" for c in MAIN)
        body = []
        num = {"delivered", "agreed", "invoiced", "impact"}
        for (_, row), (_, cells), price in zip(self.frame.iterrows(), shown.iterrows(), prices,
                                               strict=True):
            tds = []
            for c in MAIN:
                value = (client_link(row["client_id"], row["client_name"], self.link_base)
                         if c == "client" else html.escape(str(cells[c])))
                tds.append(f'<td{" class=num" if c in num else ""}>{value}</td>')
            status = html.escape(str(cells["status"]))
            body.append(f'<tr class="recon-main" data-status="{status}">{"".join(tds)}</tr>'
                        f'<tr class="recon-sub"><td colspan="{len(MAIN)}"><details><summary>'
                        f"sources, ids, explanation</summary>{_more(row, price)}</details>"
                        "</td></tr>")
        return (f'{cap}<table class="recon-table recon-findings"><thead><tr>{head}</tr>'
                f"</thead><tbody>{''.join(body)}</tbody></table>")

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"{self.caption}\n{self.rows().to_string(index=False)}"
