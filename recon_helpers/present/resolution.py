"""The resolution views: open vs resolved, the decisions recorded, what is still open.

Example:
    >>> status = status_table(rec.findings, ws, october)
    >>> status_overview(status)          # section 4.6 of the monthly report
"""

from __future__ import annotations

import html

import pandas as pd

from recon_helpers.audit.status import decision_texts, open_items, open_vs_resolved
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.present.findings import FindingsTable
from recon_helpers.present.fmt import count
from recon_helpers.present.html import Html, Table
from recon_helpers.reconcile.result import Reconciliation


def decided_frame(status: pd.DataFrame) -> pd.DataFrame:
    """Every finding with a decision, newest first: what was decided, by whom and when."""
    done = status[status["action"].ne("")]
    client = [f"{n} ({c})" if c else "" for c, n in
              zip(done["client_id"], done["client_name"], strict=True)]
    out = pd.DataFrame({
        "status": done["status"], "kind": done["kind"],
        "client": pd.Series(client, index=done.index, dtype=object),
        "product": done["product_id"].where(done["product_id"].ne(""), done["vendor_sku"]),
        "impact": done["impact"], "currency": done["currency"],
        "decision": decision_texts(done),
        "decided_by": done["actor"], "decided_at": done["ts"].str.slice(0, 19).str.replace(
            "T", " ") + " UTC",
        # what recon apply wrote to the PSA (object, ledger seq), or why it did not
        "write_back": done.get("status_detail", pd.Series("", index=done.index))})
    return out.sort_values("decided_at", ascending=False, kind="stable").reset_index(drop=True)


def _counts(status: pd.DataFrame) -> str:
    n_open = int(status["status"].eq("open").sum()) if len(status) else 0
    n_held = int(status["status"].eq("held").sum()) if len(status) else 0
    written = status["status"].value_counts().reindex(["applied", "conflict", "failed"])
    back = ", ".join(f"{int(n)} {s}" for s, n in written.items() if n > 0)
    # a held finding is not resolved: it waits on a source, a mapping or a quarantined row
    return (f"{n_open} open, " + (f"{n_held} held, " if n_held else "")
            + f"{len(status) - n_open - n_held} resolved "
            f"{f'({back} in the PSA) ' if back else ''}of "
            + count(len(status), "discrepancy", "discrepancies"))


def status_overview(status: pd.DataFrame, rec: Reconciliation | None = None) -> Html:
    """Open vs resolved per kind, every decision with its text (action, note, actor, time),
    then the items still open (the narrow findings table; ``rec`` adds invoiced prices):
    the "Open vs resolved" step of the monthly report."""
    parts = [Table(open_vs_resolved(status), _counts(status), "No discrepancies."),
             Table(decided_frame(status), "Decisions recorded (latest per item)",
                   "No decision recorded yet."),
             FindingsTable(open_items(status),
                           "Still open (an escalated item shows its latest decision)",
                           three_way=rec.three_way if rec is not None else None,
                           empty="Nothing open.")]
    return Html("".join(p.to_html() for p in parts))


def decision_panel(status: pd.DataFrame, workspace: Workspace, period: Period) -> Html:
    """The static view of notebook step 3.4: counts, the decisions recorded so far and how to
    record one from Python. It is also what the rendered HTML shows in place of the
    interactive widgets (``widgets.ResolutionUI``), which need a live kernel.
    """
    call = ("from recon_helpers.audit.status import resolve\n"
            f"resolve(ws, Period.parse({str(period)!r}), key, 'accept', 'the reason', "
            "'your name')\n# or 'adjust_agreement', '', 'your name', new_quantity='12'")
    decided = Table(decided_frame(status), "Decisions recorded (latest per item)",
                    "No decision recorded yet.").to_html()
    return Html(
        f'<div class="recon-decisions" data-open="{int(status["status"].eq("open").sum())}">'
        f"<p><b>{html.escape(_counts(status))}</b> when this was rendered. In JupyterLab this "
        "step shows the resolution widgets; decisions go to the ledger "
        f"<code>{html.escape(workspace.ledger_path.name)}</code>. From a script:</p><pre>"
        + html.escape(call) + f"</pre>{decided}</div>"
    )


def status_summary(status: pd.DataFrame) -> Table:
    """Open vs resolved per kind (resolution.open_vs_resolved) as a table."""
    frame = open_vs_resolved(status)
    n_open = int(frame["open"].sum()) if len(frame) else 0
    n_res = int(frame["resolved"].sum()) if len(frame) else 0
    return Table(frame, f"{n_open} open, {n_res} resolved", "No discrepancies.")
