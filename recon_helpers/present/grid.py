"""The resolution screen of notebook 03: every finding in a data grid, bulk decisions.

:class:`ResolutionGrid` shows the month's findings in an ipydatagrid ``DataGrid`` (sort and
filter from the column headers, arrow keys to move, shift/ctrl-click or drag to select several
rows). One decision (action, note, effective date, new quantity, who) is recorded for all
selected rows at once with :func:`recon_helpers.audit.status.resolve_many`, the function
``recon resolve`` uses, so a refusal (accept without a note, a bad date) records none. The
detail pane shows the item last selected and stays on the item just saved, with the decision
in its history; the grid is refreshed from the ledger after each save.

Everything is drivable from Python, which is how the tests use it::

    ui = ResolutionGrid(ws, Period.parse("2026-10"), rec)
    ui.select_keys([key1, key2])          # or click rows in JupyterLab
    ui.action.value = "accept"
    ui.note.value = "price change accepted until renewal"
    ui.actor.value = "Alice Martin"
    ui.save.click()

The numbers in the grid are floats for sorting only; the detail pane shows the exact values.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from contextlib import suppress
from decimal import Decimal
from typing import Any

import ipywidgets as w
import pandas as pd
from ipydatagrid import DataGrid, TextRenderer, VegaExpr

from recon_helpers.audit.decisions import ACTION_LABELS, Action, decision_text, default_effective
from recon_helpers.audit.signoff import SEAL_FILE
from recon_helpers.audit.status import by_size, resolve_many, status_table
from recon_helpers.core.errors import ReconError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.present.fmt import DASH
from recon_helpers.present.resolution import decision_panel
from recon_helpers.present.signoff import write_signed_copy, write_signoff_page
from recon_helpers.present.widgets import finding_detail
from recon_helpers.reconcile.result import Reconciliation
from recon_helpers.reconcile.run import reconcile_period

GRID_COLUMNS = ("status", "kind", "client", "product", "vendor", "impact", "currency",
                "delivered", "agreed", "invoiced", "decision")
_WIDTHS = {"status": 62, "kind": 124, "client": 210, "product": 100, "vendor": 84,
           "impact": 80, "currency": 52, "delivered": 66, "agreed": 60, "invoiced": 64,
           "decision": 220}
ROW, HEADER = 24, 20  # pixel heights of a row and of the column header


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, Decimal) else None


def _floats(values: pd.Series) -> pd.Series:
    """Floats (a number column sorts and filters as numbers); unknown is NaN, which the
    renderers show as a dash."""
    return pd.Series([_float(v) for v in values], index=values.index, dtype=float)


def _numbers(spec: str) -> TextRenderer:
    """Right-aligned numbers in d3 format ``spec``, a dash for unknown (NaN)."""
    return TextRenderer(horizontal_alignment="right", text_value=VegaExpr(
        f"isValid(cell.value) && !isNaN(cell.value) ? format(cell.value, '{spec}') : '{DASH}'"))


def grid_frame(status: pd.DataFrame) -> pd.DataFrame:
    """The grid's rows: one per finding (open first, largest impact first), indexed by a
    row number as text; numbers as floats (sorting), text columns as display text."""
    s = by_size(status)
    s = pd.concat([s[s["status"].isin(["open", "held"])],
                   s[~s["status"].isin(["open", "held"])]]).reset_index(drop=True)
    client = [f"{n} ({c})" if c else f"{v} customer {vc}" for c, n, v, vc in
              zip(s["client_id"], s["client_name"], s["vendor"], s["vendor_customer"],
                  strict=True)]
    decision = [decision_text(a, n, q, e) if a else "" for a, n, q, e in
                zip(s["action"], s["note"], s["new_quantity"], s["effective_date"], strict=True)]
    frame = pd.DataFrame({
        "status": s["status"], "kind": s["kind"], "client": client,
        "product": s["product_id"].where(s["product_id"].ne(""), "SKU " + s["vendor_sku"]),
        "vendor": s["vendor"].replace("", DASH),
        "impact": _floats(s["impact"]), "currency": s["currency"],
        "delivered": _floats(s["vendor_qty"]), "agreed": _floats(s["agreement_qty"]),
        "invoiced": _floats(s["invoiced_qty"]),
        "decision": decision,
    }, columns=list(GRID_COLUMNS))
    frame.index = pd.Index([str(i + 1) for i in range(len(frame))], name="#")
    frame.attrs["keys"] = list(s["key"])
    return frame


class ResolutionGrid:
    """The findings grid with bulk decisions (see the module docstring).

    Attributes:
        grid: the ipydatagrid ``DataGrid``; detail: HTML of the current item;
        action, note, new_quantity, effective, actor: the decision's fields;
        save: Button recording the decision for every selected row; message: HTML;
        counts: HTML (open / held / resolved); current_key: the key the detail pane shows.
    """

    def __init__(self, workspace: Workspace, period: Period, rec: Reconciliation | None = None,
                 client_ids: Sequence[str] = (), actor: str = "") -> None:
        """Build the screen for a month (``rec`` default: reconciled now)."""
        self.workspace, self.period = workspace, period
        self.rec = rec if rec is not None else reconcile_period(workspace, period)
        f = self.rec.findings
        if client_ids:
            f = f[f["client_id"].isin(list(client_ids))]
        self.findings = f.reset_index(drop=True)
        self.current_key: str | None = None
        self.status = status_table(self.findings, workspace, period)
        self.frame = grid_frame(self.status)
        money, number = _numbers(",.2f"), _numbers(",.4~f")
        tall = min(ROW * (len(self.frame) + 1) + HEADER + 20, 480)  # + the scroll bar
        self.grid = DataGrid(
            self.frame, selection_mode="row", base_row_size=ROW, base_column_size=90,
            base_column_header_size=HEADER, column_widths=_WIDTHS,
            layout=w.Layout(height=f"{tall}px", width="100%"),
            renderers={"impact": money, "delivered": number, "agreed": number,
                       "invoiced": number})
        wide = {"description_width": "initial"}
        self.action = w.Dropdown(description="action", value=None,
                                 options=[(ACTION_LABELS[a], a.value) for a in Action])
        self.new_quantity = w.Text(description="new quantity", style=wide,
                                   placeholder="adjust agreement / invoice")
        self.effective = w.Text(description="effective", style=wide,
                                placeholder=default_effective(period).isoformat(),
                                layout=w.Layout(width="200px"))
        self.actor = w.Text(description="your name", value=actor, style=wide)
        self.note = w.Textarea(description="note", layout=w.Layout(width="100%"),
                               placeholder="one reason for all selected; required for accept "
                                           "and escalate")
        self.save = w.Button(description="Record for 0 selected", button_style="primary",
                             icon="check", layout=w.Layout(width="240px"))
        self.message, self.counts, self.detail = w.HTML(), w.HTML(), w.HTML()
        self.grid.observe(self._on_selection, names="selections")
        self.save.on_click(self._on_save)
        self.container = w.VBox([
            self.counts, self.grid,
            w.HBox([self.action, self.new_quantity, self.effective, self.actor]),
            self.note, w.HBox([self.save]), self.message, self.detail])
        self._draw_counts()

    # --- state read by tests and the notebook ---------------------------------------------

    def selected_keys(self) -> list[str]:
        """The finding keys of the selected rows, in grid order (after sort and filter)."""
        visible = self.grid.get_visible_data()
        key_of = dict(zip(self.frame.index, self.frame.attrs["keys"], strict=True))
        rows: list[int] = []
        for rect in self.grid.selections:
            rows += range(int(rect["r1"]), int(rect["r2"]) + 1)
        picked = [key_of[visible.index[r]] for r in dict.fromkeys(rows) if r < len(visible)]
        return list(dict.fromkeys(picked))

    def select_keys(self, keys: Sequence[str]) -> None:
        """Select the rows of these keys (what ctrl-clicking them does)."""
        visible = list(self.grid.get_visible_data().index)
        row_of = {k: visible.index(n) for n, k in
                  zip(self.frame.index, self.frame.attrs["keys"], strict=True) if n in visible}
        self.grid.clear_selection()
        for k in keys:
            self.grid.select(row_of[k], 0, clear_mode="none")
        self._on_selection()  # select() changes the list in place: no trait event

    def row_of(self, key: str) -> pd.Series:
        """The status row of a finding key."""
        return self.status[self.status["key"].eq(key)].iloc[0]

    # --- callbacks -----------------------------------------------------------------------

    def _on_selection(self, _change: Any = None) -> None:
        keys = self.selected_keys()
        self.save.description = f"Record for {len(keys)} selected"
        if keys:
            self.current_key = keys[-1]
            self._draw_detail()

    def _on_save(self, _button: Any = None) -> None:
        keys = self.selected_keys()
        if not keys:
            self.message.value = _error("select one or more findings in the grid first")
            return
        if not self.action.value:
            self.message.value = _error("choose an action")
            return
        try:
            entries = resolve_many(
                self.workspace, self.period, keys, self.action.value, self.note.value,
                self.actor.value.strip(), new_quantity=self.new_quantity.value or None,
                effective_date=self.effective.value.strip() or None, rec=self.rec)
        except ReconError as exc:  # refused or locked: shown, nothing recorded
            self.message.value = _error(str(exc))
            return
        if (self.workspace.report_dir(self.period) / SEAL_FILE).is_file():
            with suppress(OSError):  # the decision stands; the page says the month reopened
                write_signoff_page(self.workspace, self.period)
                write_signed_copy(self.workspace, self.period)  # removed: no longer signed
        first = entries[0].payload
        said = decision_text(first["action"], first.get("note", ""),
                             first.get("new_quantity", ""), first.get("effective_date", ""))
        self.message.value = (
            f'<div class="recon-saved" style="color:#0a6b2d">Saved {len(entries)} decision(s), '
            f"ledger entries {entries[0].seq}-{entries[-1].seq}: {_esc(said)} by "
            f"{_esc(entries[0].actor)}.</div>")
        self.current_key = keys[-1]  # the pane stays on the item just saved
        self.note.value = self.new_quantity.value = self.effective.value = ""
        self.action.value = None
        self._refresh()

    # --- drawing ---------------------------------------------------------------------------

    def _refresh(self) -> None:
        self.status = status_table(self.findings, self.workspace, self.period)
        self.frame = grid_frame(self.status)
        self.grid.clear_selection()
        self.grid.data = self.frame
        self.save.description = "Record for 0 selected"
        self._draw_counts()
        self._draw_detail()

    def _draw_counts(self) -> None:
        n = self.status["status"].value_counts()
        done = len(self.status) - int(n.get("open", 0)) - int(n.get("held", 0))
        self.counts.value = (
            f'<p class="recon-counts"><b>{int(n.get("open", 0))}</b> open, '
            f'<b>{int(n.get("held", 0))}</b> held, <b>{done}</b> resolved of '
            f"{len(self.status)} findings in {_esc(str(self.period))}. Sort or filter from "
            "the column headers; shift- or ctrl-click rows to select several.</p>")

    def _draw_detail(self) -> None:
        if self.current_key is None:
            self.detail.value = ""
            return
        self.detail.value = finding_detail(self.rec, self.findings, self.workspace,
                                           self.period, self.row_of(self.current_key))

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.container._repr_mimebundle_(**kwargs)
        # static fallback: the rendered HTML has no kernel, so it shows the decisions so far
        bundle["text/html"] = decision_panel(self.status, self.workspace, self.period).markup
        return bundle


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _error(message: str) -> str:
    return f'<div class="recon-error" style="color:#b00020"><b>Not saved:</b> {_esc(message)}</div>'
