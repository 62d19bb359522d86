"""The mapping step's buttons: confirm a suggested client or product, or ignore a customer.

:class:`MappingUI` lists the month's unmapped vendor customers (with their fuzzy client
suggestions) and unmapped SKUs (with product suggestions). Each suggestion has a Confirm
button; each unmapped customer an Ignore button with a reason. They call
:mod:`recon_helpers.audit.mapping_changes` (``confirm_client``, ``confirm_product``,
``ignore_customer``), the functions ``recon map`` uses: the mapping file gets its row and the
ledger its entry, or neither. Re-run the notebook afterwards to reconcile with the new mapping.

Drivable from Python, as the tests do::

    ui = MappingUI(ws, october, rec, actor="Alice Martin")
    ui.rows[0].confirm.click()
    ui.rows[0].message.value
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import ipywidgets as w

from recon_helpers.audit.mapping_changes import confirm_client, confirm_product, ignore_customer
from recon_helpers.core.errors import ReconError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.present.html import Html, Table
from recon_helpers.reconcile.result import Reconciliation


@dataclass
class MappingRow:
    """One suggestion (or one unmapped customer without suggestion) and its buttons."""

    what: str  # "client" | "product" | "customer" (ignore only)
    vendor: str
    ident: str  # vendor customer id (or name when it has none) / vendor SKU
    name: str  # vendor customer name / SKU name
    has_id: bool
    target: str  # suggested client / product id ("" for ignore only)
    label: w.HTML
    confirm: w.Button
    ignore: w.Button | None
    reason: w.Text | None
    message: w.HTML


def _esc(value: Any) -> str:
    return html.escape(str(value))


class MappingUI:
    """Confirm / ignore buttons over the month's mapping suggestions (module docstring)."""

    def __init__(self, workspace: Workspace, period: Period, rec: Reconciliation,
                 actor: str = "") -> None:
        """Build one row per suggestion and per unmapped customer without one."""
        self.workspace, self.period, self.rec = workspace, period, rec
        self.actor = w.Text(description="your name", value=actor,
                            style={"description_width": "initial"})
        self.rows: list[MappingRow] = []
        s = rec.client_suggestions.sort_values(["vendor", "vendor_customer_id", "rank"])
        suggested = set()
        for r in s.itertuples(index=False):
            ident = r.vendor_customer_id or r.vendor_customer_name
            suggested.add((r.vendor, ident))
            self._add("client", r.vendor, ident, r.vendor_customer_name,
                      bool(r.vendor_customer_id), r.client_id,
                      f"{r.vendor} customer <b>{_esc(r.vendor_customer_name)}</b> "
                      f"<code>{_esc(r.vendor_customer_id)}</code> → client "
                      f"<b>{_esc(r.client_name)}</b> ({_esc(r.client_id)}), score {r.score}")
        cust = rec.customers[rec.customers["client_method"].isin(["", "ambiguous"])]
        for c in cust.itertuples(index=False):
            ident = c.vendor_customer_id or c.vendor_customer_name
            if (c.vendor, ident) not in suggested:
                self._add("customer", c.vendor, ident, c.vendor_customer_name,
                          bool(c.vendor_customer_id), "",
                          f"{_esc(c.vendor)} customer <b>{_esc(c.vendor_customer_name)}</b> "
                          f"<code>{_esc(c.vendor_customer_id)}</code>: no suggestion "
                          "(map it with recon map --accept, or ignore it)")
        for p in rec.product_suggestions.sort_values(["vendor", "vendor_sku", "rank"]
                                                     ).itertuples(index=False):
            self._add("product", p.vendor, p.vendor_sku, p.sku_name, True, p.product_id,
                      f"{_esc(p.vendor)} SKU <b>{_esc(p.sku_name)}</b> "
                      f"<code>{_esc(p.vendor_sku)}</code> → product <b>{_esc(p.description)}"
                      f"</b> ({_esc(p.product_id)}), score {p.score}")
        lines = [w.HBox([r.label, r.confirm, *([r.reason, r.ignore] if r.ignore else []),
                         r.message]) for r in self.rows]
        intro = w.HTML(f"<p>{len(self.rows)} suggestion(s). Confirm writes the mapping file "
                       "and a ledger entry; ignore lists the customer in mappings/ignore.csv "
                       "with the reason. Re-run the notebook afterwards.</p>")
        self.container = w.VBox([intro, self.actor, *lines])

    def _add(self, what: str, vendor: str, ident: str, name: str, has_id: bool, target: str,
             label: str) -> None:
        confirm = w.Button(description="Confirm", button_style="success", icon="check",
                           disabled=what == "customer", layout=w.Layout(width="100px"))
        ignore = reason = None
        if what in ("client", "customer"):
            reason = w.Text(placeholder="reason to ignore", layout=w.Layout(width="180px"))
            ignore = w.Button(description="Ignore", icon="ban", layout=w.Layout(width="90px"))
        row = MappingRow(what, vendor, ident, name, has_id, target,
                         w.HTML(label, layout=w.Layout(width="560px")), confirm, ignore, reason,
                         w.HTML())
        confirm.on_click(lambda _b, r=row: self._run(r, self._confirm))
        if ignore is not None:
            ignore.on_click(lambda _b, r=row: self._run(r, self._ignore))
        self.rows.append(row)

    def _confirm(self, r: MappingRow) -> str:
        actor = self.actor.value.strip()
        if r.what == "product":
            entry = confirm_product(self.workspace, self.period, r.vendor, r.ident, r.target,
                                    actor)
            where = "products.csv"
        else:
            entry = confirm_client(self.workspace, self.period, r.vendor,
                                   r.ident if r.has_id else "", "" if r.has_id else r.name,
                                   r.target, actor)
            where = "clients.csv"
        if entry is None:
            return f"already mapped to {r.target}; nothing written"
        return f"mapped to {r.target} in {where} (ledger entry {entry.seq})"

    def _ignore(self, r: MappingRow) -> str:
        reason = r.reason.value if r.reason is not None else ""
        entry = ignore_customer(self.workspace, self.period, r.vendor,
                                r.ident if r.has_id else "", "" if r.has_id else r.name,
                                reason, self.actor.value.strip())
        if entry is None:
            return "already ignored; nothing written"
        return f"ignored in ignore.csv (ledger entry {entry.seq})"

    def _run(self, r: MappingRow, act: Any) -> None:
        try:
            done = act(r)
        except ReconError as exc:  # refused: shown, nothing written
            r.message.value = f'<span style="color:#b00020">Not saved: {_esc(exc)}</span>'
            return
        r.message.value = f'<span style="color:#0a6b2d">{_esc(done)}; re-run the notebook</span>'
        for other in self.rows:  # the other suggestions for the same customer or SKU are moot
            if (other.what == "product") == (r.what == "product") and (
                    other.vendor, other.ident) == (r.vendor, r.ident):
                for b in (other.confirm, other.ignore):
                    if b is not None:
                        b.disabled = True

    def static(self) -> Html:
        """What the rendered HTML shows instead of the buttons (no kernel there)."""
        s, p = self.rec.client_suggestions, self.rec.product_suggestions
        return Html(Table(s, "Client suggestions (confirm in JupyterLab or with recon map)",
                          "No client suggestion.").to_html()
                    + Table(p, "Product suggestions", "No product suggestion.").to_html())

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.container._repr_mimebundle_(**kwargs)
        bundle["text/html"] = self.static().markup
        return bundle
