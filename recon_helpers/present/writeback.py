"""The write-back step of notebook 03: the plan, and in JupyterLab a confirmed Apply button.

:func:`plan_panel` is the plan as ``recon apply`` prints it (one row per change: the PSA
object, field, value in the month's data, new value, effective date, the decision's ledger
seq) with what was written back so far; it is all the rendered HTML shows (a report never
writes to a PSA). :class:`ApplyUI` adds, in a live kernel, a "checked" box and an Apply
button that carries the plan out with :func:`recon_helpers.billing.apply.apply_changes`, the
function behind ``recon apply --yes``: the same reads before writes, the same ledger record.

Example:
    ui = ApplyUI(ws, Period.parse("2026-10"), rec)
    ui.checked.value = True
    ui.apply.click()      # writes to the PSA
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import ipywidgets as w
import pandas as pd

from recon_helpers.audit.apply_log import outcome_frame, read_states
from recon_helpers.audit.decisions import latest_decisions
from recon_helpers.audit.ledger import Ledger
from recon_helpers.billing.apply import apply_changes
from recon_helpers.billing.writeback import Change, plan, plan_frame
from recon_helpers.core.errors import ReconError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.present.html import Html, Table
from recon_helpers.reconcile.result import Reconciliation


def write_back_log(workspace: Workspace, period: Period) -> pd.DataFrame:
    """Every write-back outcome of the month (``apply_log.outcome_frame``); empty without a
    ledger."""
    if not workspace.ledger_path.is_file():
        return outcome_frame([])
    with Ledger(workspace.ledger_path) as ledger:
        return outcome_frame(ledger.entries(period))


def plan_panel(changes: Sequence[Change], workspace: Workspace, period: Period) -> Html:
    """The plan and the write-back so far, with how to apply it (the static view)."""
    ready = sum(c.state == "ready" for c in changes)
    frame = plan_frame(changes).drop(columns=["change"])
    parts = [
        f'<div class="recon-apply-plan" data-ready="{ready}"><p><b>{len(changes)} change(s) '
        f"to the PSA, {ready} ready</b>, from the agreement decisions in the ledger. The plan "
        "sends nothing: <code>recon apply --period "
        f"{html.escape(str(period))} --yes</code> (or Apply in JupyterLab) reads each object "
        "from the PSA first, skips it as a conflict if it changed since the month's data, "
        "writes it once and reads it back.</p>",
        Table(frame, "Write-back plan", "Nothing to write back (no agreement decision)."
              ).to_html(),
        Table(write_back_log(workspace, period), "Written back so far (ledger entries)",
              "Nothing written back yet.").to_html(),
        "</div>",
    ]
    return Html("".join(parts))


class ApplyUI:
    """The plan and a confirmed Apply button (see the module docstring).

    Attributes:
        changes: the plan; checked: Checkbox, "I have checked the plan"; actor: Text;
        apply: Button; message: HTML (results or the refusal); view: HTML (the plan).
    """

    def __init__(self, workspace: Workspace, period: Period, rec: Reconciliation,
                 client_ids: Sequence[str] = (), actor: str = "") -> None:
        self.workspace, self.period, self.rec = workspace, period, rec
        self.client_ids = tuple(client_ids)
        self.view, self.message = w.HTML(), w.HTML()
        self.checked = w.Checkbox(description="I have checked the plan", value=False)
        self.actor = w.Text(description="your name", value=actor,
                            style={"description_width": "initial"})
        self.apply = w.Button(description="Apply to the PSA", button_style="danger",
                              icon="upload")
        self.apply.on_click(self._on_apply)
        self.container = w.VBox([self.view, w.HBox([self.checked, self.actor, self.apply]),
                                 self.message])
        self._refresh()

    def _refresh(self) -> None:
        self.changes = plan(self.rec, latest_decisions(self.workspace, self.period),
                            read_states(self.workspace, self.period), only=self.client_ids)
        self.view.value = plan_panel(self.changes, self.workspace, self.period).markup
        self.apply.disabled = not any(c.state == "ready" for c in self.changes)

    def _on_apply(self, _button: Any = None) -> None:
        if not self.checked.value:
            self.message.value = _note("tick “I have checked the plan” first; nothing was sent")
            return
        if not self.actor.value.strip():
            self.message.value = _note("give your name; nothing was sent")
            return
        try:
            results = apply_changes(self.workspace, self.period, self.changes,
                                    self.actor.value.strip())
        except ReconError as exc:
            self.message.value = _note(str(exc))
            return
        frame = pd.DataFrame([{"outcome": r.outcome, "object": r.change.object,
                               "detail": r.detail, "ledger_seq": r.seq or ""} for r in results],
                             columns=["outcome", "object", "detail", "ledger_seq"], dtype=object)
        self.message.value = Table(frame, "This run", "Nothing was ready to apply.").to_html()
        self.checked.value = False
        self._refresh()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = self.container._repr_mimebundle_(**kwargs)
        # the rendered report shows the plan only: nothing there can write to the PSA
        bundle["text/html"] = plan_panel(self.changes, self.workspace, self.period).markup
        return bundle


def _note(message: str) -> str:
    return f'<div class="recon-error" style="color:#b00020"><b>{html.escape(message)}</b></div>'
