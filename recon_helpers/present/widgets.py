"""The resolution widgets of notebook 03: pick a discrepancy, see its evidence, decide.

:class:`ResolutionUI` lists the month's discrepancies (open ones by default) with filters by
kind, client, vendor and minimum absolute impact; shows the selected item's three-way detail
(delivered, promised, billed), its ``file:row`` sources and its decision history; and records
a decision with :func:`recon_helpers.audit.status.resolve`, the same function scripts call.
After a save the counts, the list and the table of decisions are refreshed from the ledger at
once. A refused decision (accept without a note, a missing quantity, a locked ledger) is shown
in the widget and nothing is recorded.

Everything is drivable from Python, which is how the tests use it::

    ui = ResolutionUI(ws, Period.parse("2026-10"))
    ui.kind_filter.value = "under_billed"
    ui.items.value = key
    ui.action.value = "accept"
    ui.note.value = "client keeps 20 seats until renewal"
    ui.actor.value = "Alice Martin"
    ui.save.click()
    ui.open_count

The rendered (static) report cannot run widgets; the UI's HTML fallback is
:func:`recon_helpers.present.resolution.decision_panel`, which the HTML export shows instead.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from contextlib import suppress
from decimal import Decimal, InvalidOperation
from typing import Any

import ipywidgets as w
import pandas as pd

from recon_helpers.audit.decisions import (
    ACTION_LABELS,
    Action,
    decision_text,
    default_effective,
    history,
    quantity_applies,
)
from recon_helpers.audit.signoff import SEAL_FILE
from recon_helpers.audit.status import by_size, resolve, status_table
from recon_helpers.core.errors import ReconError
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import FINDING_KINDS
from recon_helpers.core.workspace import Workspace
from recon_helpers.present.html import Table, text
from recon_helpers.present.resolution import decided_frame, decision_panel
from recon_helpers.present.signoff import write_signed_copy, write_signoff_page
from recon_helpers.present.views import three_way_frame
from recon_helpers.reconcile.result import Reconciliation
from recon_helpers.reconcile.run import reconcile_period

ALL = "(all)"  # filter value meaning "no filter"; never a kind, client id or vendor
_FIGURES = ("vendor_qty", "agreement_qty", "invoiced_qty", "variance_qty", "unit_price",
            "unit_cost", "impact", "currency")


def _esc(value: Any) -> str:
    return html.escape(text(value))


def _error(message: str) -> str:
    return f'<div class="recon-error" style="color:#b00020"><b>Not saved:</b> {_esc(message)}</div>'


class ResolutionUI:
    """Interactive decisions on one month's discrepancies (see the module docstring).

    Attributes:
        kind_filter, client_filter, vendor_filter: Dropdowns (``ALL`` = no filter).
        min_impact: Text, minimum absolute impact (exact decimal; empty = no minimum).
        show_resolved: Checkbox, also list resolved items (to supersede a decision).
        items: Select of discrepancy keys.
        detail: HTML, the selected item's figures, three-way row, sources and history.
        action: Dropdown of ``decisions.Action`` values; note: Textarea;
        new_quantity: Text (enabled for adjust_agreement / adjust_invoice by quantity);
        effective: Text, ``YYYY-MM-DD`` an adjust_agreement holds from (empty: the default);
        actor: Text, who decides; save: Button; message: HTML (errors, confirmations);
        counts: HTML; decided: HTML (decisions recorded); status: the status table.
    """

    def __init__(self, workspace: Workspace, period: Period, rec: Reconciliation | None = None,
                 client_ids: Sequence[str] = (), actor: str = "") -> None:
        """Build the widgets for a month.

        Args:
            workspace: the workspace whose ledger receives the decisions.
            period: the month.
            rec: the month's reconciliation (default: reconciled now).
            client_ids: clients in scope (empty = all).
            actor: the name pre-filled as who decides.
        """
        self.workspace, self.period = workspace, period
        self.rec = rec if rec is not None else reconcile_period(workspace, period)
        findings = self.rec.findings
        if client_ids:
            findings = findings[findings["client_id"].isin(list(client_ids))]
        self.findings = findings.reset_index(drop=True)
        self.status = status_table(self.findings, workspace, period)
        f = self.findings
        kinds = [k for k in FINDING_KINDS if k in set(f["kind"])]
        clients = f[["client_id", "client_name"]].drop_duplicates().sort_values("client_id")
        wide = {"description_width": "initial"}
        self.kind_filter = w.Dropdown(description="kind", options=[("all kinds", ALL)]
                                      + [(k, k) for k in kinds], value=ALL)
        self.client_filter = w.Dropdown(description="client", value=ALL, options=[
            ("all clients", ALL), *[(f"{n} ({c})" if c else "(no client: unmapped customer)", c)
                                    for c, n in clients.itertuples(index=False)]])
        self.vendor_filter = w.Dropdown(description="vendor", value=ALL, options=[
            ("all vendors", ALL), *[(v, v) for v in sorted(set(f["vendor"]) - {""})]])
        self.min_impact = w.Text(description="min |impact|", placeholder="e.g. 25.00",
                                 style=wide, layout=w.Layout(width="200px"))
        self.show_resolved = w.Checkbox(description="include resolved", value=False)
        self.items = w.Select(options=[], rows=10, layout=w.Layout(width="100%"))
        self.detail = w.HTML()
        self.action = w.Dropdown(description="action", value=None,
                                 options=[(ACTION_LABELS[a], a.value) for a in Action])
        self.new_quantity = w.Text(description="new quantity", disabled=True, style=wide,
                                   placeholder="for adjust agreement / invoice")
        self.effective = w.Text(description="from", disabled=True, style=wide,
                                placeholder=default_effective(period).isoformat(),
                                layout=w.Layout(width="170px"))
        self.actor = w.Text(description="your name", value=actor, style=wide)
        self.note = w.Textarea(description="note", layout=w.Layout(width="100%"),
                               placeholder="reason; required for accept and escalate")
        self.save = w.Button(description="Save decision", button_style="primary",
                             icon="check")
        self.message, self.counts, self.decided = w.HTML(), w.HTML(), w.HTML()
        self._quiet = False
        for box in (self.kind_filter, self.client_filter, self.vendor_filter, self.min_impact,
                    self.show_resolved):
            box.observe(self._refilter, names="value")
        self.items.observe(self._on_select, names="value")
        self.action.observe(self._on_action, names="value")
        self.save.on_click(self._on_save)
        self.container = w.VBox([
            self.counts,
            w.HBox([self.kind_filter, self.client_filter, self.vendor_filter]),
            w.HBox([self.min_impact, self.show_resolved]),
            self.items, self.detail,
            w.HBox([self.action, self.new_quantity, self.effective, self.actor]),
            self.note, w.HBox([self.save]), self.message, self.decided,
        ])
        self._refresh()

    # --- state read by tests and the notebook ---------------------------------------------

    @property
    def open_count(self) -> int:
        """Discrepancies in scope still open (no decision, or escalate/reopen)."""
        return int(self.status["status"].eq("open").sum())

    @property
    def resolved_count(self) -> int:
        """Discrepancies in scope with a resolving decision."""
        return len(self.status) - self.open_count

    def selected(self) -> pd.Series | None:
        """The status row of the selected discrepancy, or None."""
        rows = self.status[self.status["key"].eq(self.items.value)]
        return rows.iloc[0] if len(rows) else None

    def visible(self) -> pd.DataFrame:
        """The status rows the filters let through, as listed (open first, by |impact|)."""
        s = self.status
        keep = pd.Series(True, index=s.index)
        for box, col in ((self.kind_filter, "kind"), (self.client_filter, "client_id"),
                         (self.vendor_filter, "vendor")):
            if box.value != ALL:
                keep &= s[col].eq(box.value)
        if not self.show_resolved.value:
            keep &= s["status"].eq("open")
        floor = self._min_impact()
        if floor is not None:
            keep &= s["impact"].map(lambda v: isinstance(v, Decimal) and abs(v) >= floor)
        rows = by_size(s[keep])
        return pd.concat([rows[rows["status"].eq("open")], rows[rows["status"].ne("open")]])

    # --- callbacks -----------------------------------------------------------------------

    def _min_impact(self) -> Decimal | None:
        raw = self.min_impact.value.strip().replace(",", "")
        if not raw:
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite():
            self.message.value = _error(f"minimum impact {raw!r} is not a number; not applied")
            return None
        return abs(value)

    def _label(self, row: Any) -> str:
        who = (f"{row.client_name} ({row.client_id})" if row.client_id
               else f"{row.vendor} customer {row.vendor_customer}")
        what = row.product_id or f"SKU {row.vendor_sku}"
        done = f"  [{row.status}: {row.action}]" if row.action else ""
        return (f"{text(row.impact, money_like=True) or '?':>12} {row.currency}  {row.kind}  "
                f"{who}  {what}{done}")

    def _refilter(self, _change: Any = None) -> None:
        rows = self.visible()
        current = self.items.value
        self._quiet = True  # one detail redraw below, not one per intermediate value
        try:
            self.items.options = [(self._label(r), r.key) for r in rows.itertuples(index=False)]
            keys = list(rows["key"])
            self.items.value = current if current in keys else (keys[0] if keys else None)
        finally:
            self._quiet = False
        self._on_select()

    def _on_select(self, _change: Any = None) -> None:
        if self._quiet:
            return
        row = self.selected()
        self.detail.value = self._detail(row) if row is not None else (
            "<p>No discrepancy matches the filters.</p>" if not self.items.options else "")
        self._on_action()

    def _on_action(self, _change: Any = None) -> None:
        row = self.selected()
        applies = bool(self.action.value) and quantity_applies(
            self.action.value, str(row["kind"]) if row is not None else "")
        self.new_quantity.disabled = not applies
        if not applies:
            self.new_quantity.value = ""
        self.effective.disabled = self.action.value != Action.ADJUST_AGREEMENT
        if self.effective.disabled:
            self.effective.value = ""

    def _on_save(self, _button: Any = None) -> None:
        key = self.items.value
        if key is None:
            self.message.value = _error("select a discrepancy first")
            return
        if not self.action.value:
            self.message.value = _error("choose an action")
            return
        try:
            entry = resolve(
                self.workspace, self.period, key, self.action.value, self.note.value,
                self.actor.value.strip(), new_quantity=self.new_quantity.value or None,
                effective_date=self.effective.value.strip() or None, rec=self.rec)
        except ReconError as exc:  # refused or locked: show it, nothing was recorded
            self.message.value = _error(str(exc))
            return
        if (self.workspace.report_dir(self.period) / SEAL_FILE).is_file():
            # a signed month is now reopened: its page says so; the decision stands even if
            # the page cannot be written (recon verify reads the ledger, not the page)
            with suppress(OSError):
                write_signoff_page(self.workspace, self.period)
                write_signed_copy(self.workspace, self.period)  # removed: no longer signed
        said = decision_text(entry.payload["action"], entry.payload.get("note", ""),
                             entry.payload.get("new_quantity", ""),
                             entry.payload.get("effective_date", ""))
        self.message.value = (
            f'<div class="recon-saved" style="color:#0a6b2d">Saved as ledger entry seq '
            f"{entry.seq}: {_esc(said)} by {_esc(entry.actor)} on {_esc(key)}.</div>")
        self.note.value = self.new_quantity.value = ""
        self.action.value = None
        self._refresh()

    # --- drawing ---------------------------------------------------------------------------

    def _refresh(self) -> None:
        self.status = status_table(self.findings, self.workspace, self.period)
        self.counts.value = (f'<p class="recon-counts"><b>{self.open_count}</b> open, '
                             f"<b>{self.resolved_count}</b> resolved of {len(self.status)} "
                             f"discrepancies in {_esc(str(self.period))}</p>")
        self.decided.value = Table(decided_frame(self.status),
                                   "Decisions recorded (latest per item)",
                                   "No decision recorded yet.").to_html()
        self._refilter()


    def _vendor_side(self, row: pd.Series) -> pd.DataFrame:
        lines = self.rec.month.delivered
        lines = lines[lines["vendor"].eq(row["vendor"])
                      & lines["vendor_customer"].eq(row["vendor_customer"])]
        skus = [s for s in str(row["vendor_sku"]).split(";") if s]
        if skus:
            lines = lines[lines["vendor_sku"].isin(skus)]
        cols = ["vendor", "vendor_customer_id", "vendor_customer_name", "client_method",
                "vendor_sku", "sku_name"]
        return lines[cols].drop_duplicates().rename(columns={"client_method": "mapped_by"})

    def _detail(self, row: pd.Series) -> str:
        figures = pd.DataFrame([{c: row[c] for c in _FIGURES}], dtype=object)
        tw = self.rec.three_way
        tw = tw[tw["client_id"].eq(row["client_id"]) & tw["product_id"].eq(row["product_id"])
                & tw["currency"].eq(row["currency"])]
        sources = "".join(f"<li><code>{_esc(s)}</code></li>"
                          for s in str(row["sources"]).split(";") if s)
        parts = [
            f"<h4>{_esc(row['kind'])}: {_esc(row['client_name'] or row['vendor_customer'])} "
            f"{_esc(row['product_id'] or row['vendor_sku'])}</h4><p>{_esc(row['detail'])}</p>",
            Table(figures, "Figures of this discrepancy").to_html(),
            Table(self._vendor_side(row), "Vendor side: customer and SKU as the vendor names them",
                  "No vendor line (agreement or invoice only).").to_html(),
            Table(three_way_frame(tw, self.findings).drop(columns=["client_id"]),
                  "Three-way: delivered vs promised vs billed",
                  "No three-way row (the vendor line is not mapped to a client product).")
            .to_html(),
            f"<div class='recon-caption'>Sources (file:row)</div><ul>{sources}</ul>",
            Table(history(self.workspace, self.period, str(row["key"])),
                  "Decisions on this item (latest last)", "No decision yet.").to_html(),
            f"<p><small>key <code>{_esc(row['key'])}</code></small></p>",
        ]
        return "".join(parts)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.container._repr_mimebundle_(**kwargs)
        # static fallback: nbconvert shows it when the widget state is not exported
        bundle["text/html"] = decision_panel(
            self.status, self.workspace, self.period).markup
        return bundle
