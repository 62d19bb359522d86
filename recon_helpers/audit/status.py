"""Resolving discrepancies: record a decision, and read open vs resolved back everywhere.

:func:`resolve` is the one way a decision is recorded, used alike by the notebook widgets
(widgets.py), scripts and tests: it looks the discrepancy up in the month's reconciliation,
keeps a snapshot of its figures with the decision (so the adjustments export and the trail do
not depend on re-running the month) and appends it to the ledger through
``decisions.record_decision``. Everything else here only reads: without a ledger file every
finding is open, and reading never creates one.

A report cannot contain its own seal (the seal hashes it): :func:`signoff_block` shows the
state at render time and links to ``signoff.html`` beside the report, which
:func:`write_signoff_page` rewrites at each sign-off and after each :func:`resolve` on a signed
month. It is not sealed; ``recon verify`` is the authoritative check.

Example:
    >>> resolve(ws, "2026-10", key, "accept", "client keeps 20 seats", "Alice Martin")
    >>> status = status_table(rec.findings, ws, "2026-10")
    >>> open_vs_resolved(status)
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from contextlib import suppress
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from recon_helpers.audit.decisions import OPEN_ACTIONS as OPEN_ACTIONS  # re-exported, as before
from recon_helpers.audit.decisions import decision_text, latest_decisions, record_decision
from recon_helpers.audit.signoff import GROUPS, SEAL_FILE, SEAL_PAGE, seal_state
from recon_helpers.core.errors import UsageError
from recon_helpers.core.schemas import DISCREPANCY_KINDS
from recon_helpers.core.workspace import Workspace, check_period

if TYPE_CHECKING:
    from recon_helpers.audit.ledger import Entry, Ledger
    from recon_helpers.reconcile.result import Reconciliation

STATUS_COLUMNS = ("status", "action", "note", "actor", "ts", "new_quantity")
MARK_COLUMNS = ("status", "decision", "decided_by", "decided_at")
# finding figures kept with each decision (the payload of its ledger entry)
SNAPSHOT_FIELDS = ("kind", "client_id", "client_name", "product_id", "vendor", "vendor_customer",
                   "vendor_sku", "vendor_qty", "agreement_qty", "invoiced_qty", "variance_qty",
                   "unit_price", "unit_cost", "impact", "currency")


def status_table(findings: pd.DataFrame, workspace: Workspace, period: str) -> pd.DataFrame:
    """Findings with their resolution status (``open`` / ``resolved``) and latest decision.

    Returns:
        The findings' columns plus STATUS_COLUMNS; open when no decision or the latest one
        is escalate/reopen.
    """
    dec = latest_decisions(workspace, period).set_index("key")
    out = findings.copy()
    for col in ("action", "note", "actor", "ts", "new_quantity"):
        values = dec[col].to_dict()  # one lookup per finding: findings are few
        out[col] = pd.Series([str(values.get(k, "")) for k in out["key"]], index=out.index,
                             dtype=object)
    resolved = out["key"].isin(dec.index[dec["resolved"].astype(bool)])
    out["status"] = resolved.map({True: "resolved", False: "open"}).astype(object)
    return out


def mark_findings(findings: pd.DataFrame, workspace: Workspace, period: str) -> pd.DataFrame:
    """Findings followed by MARK_COLUMNS: status, decision (``"action: note"``), decided_by,
    decided_at (UTC ISO time), as ``recon reconcile --out`` writes them after SPEC's columns.
    """
    status = status_table(findings, workspace, period)
    text = _texts(status)
    marks = pd.DataFrame({"status": status["status"],
                          "decision": text,
                          "decided_by": status["actor"], "decided_at": status["ts"]})
    return pd.concat([findings, marks.astype(object)], axis=1)


def _texts(status: pd.DataFrame) -> pd.Series:
    return pd.Series([decision_text(a, n, q) for a, n, q in zip(
        status["action"], status["note"], status["new_quantity"], strict=True)],
        index=status.index, dtype=object)


def _dsum(values: pd.Series) -> Decimal:
    return sum((v for v in values if isinstance(v, Decimal)), Decimal("0.00"))


def open_vs_resolved(status: pd.DataFrame) -> pd.DataFrame:
    """Counts and net impact of open and resolved findings per kind and currency.

    Returns:
        DataFrame (kind, currency, open, resolved, open_impact, resolved_impact), SPEC order.
    """
    cols = ["kind", "currency", "open", "resolved", "open_impact", "resolved_impact"]
    rows: list[dict[str, Any]] = []
    for (kind, cur), grp in status.groupby(["kind", "currency"], sort=False):
        is_open = grp["status"].eq("open")
        rows.append({
            "kind": kind, "currency": cur,
            "open": int(is_open.sum()), "resolved": int((~is_open).sum()),
            "open_impact": _dsum(grp.loc[is_open, "impact"]),
            "resolved_impact": _dsum(grp.loc[~is_open, "impact"]),
        })
    out = pd.DataFrame(rows, columns=cols)
    rank = {k: i for i, k in enumerate(DISCREPANCY_KINDS)}
    return out.sort_values(["kind", "currency"], key=lambda s: s.map(rank) if s.name == "kind"
                           else s, kind="stable").reset_index(drop=True)


def by_size(items: pd.DataFrame) -> pd.DataFrame:
    """Rows by absolute impact, largest first (unknown impact last), stable."""
    size = items["impact"].map(lambda v: abs(v) if isinstance(v, Decimal) else Decimal(-1))
    return items.assign(_size=size).sort_values("_size", ascending=False, kind="stable").drop(
        columns="_size").reset_index(drop=True)


def open_items(status: pd.DataFrame) -> pd.DataFrame:
    """The findings still open, largest absolute impact first (unknown impact last)."""
    return by_size(status[status["status"].eq("open")])


# --- recording ------------------------------------------------------------------------------


def _scalar(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str | Decimal | bool):
        return value
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    return value if isinstance(value, int) else str(value)


def description(rec: Reconciliation, client_id: str, product_id: str) -> str:
    """The product's description: the client's agreement line, else catalogue, else invoice."""
    loaded, promised = rec.loaded, rec.loaded.promised
    for frame in (promised[promised["client_id"].eq(client_id)], loaded.catalogue, promised,
                  loaded.billed):
        text = frame["description"].astype(str).str.strip()
        found = text[frame["product_id"].eq(product_id) & text.ne("")]
        if product_id and len(found):
            return str(found.iloc[0])
    return ""


def finding_snapshot(finding: Mapping[str, Any] | pd.Series,
                     rec: Reconciliation | None = None) -> dict[str, Any]:
    """The SNAPSHOT_FIELDS of one finding (Decimals kept exact) plus the product description."""
    values = {f: _scalar(finding.get(f)) for f in SNAPSHOT_FIELDS if f in finding}
    if rec is not None:
        values["description"] = description(rec, str(values.get("client_id") or ""),
                                            str(values.get("product_id") or ""))
    return values


def resolve(workspace: Workspace, period: str, key: str, action: str, note: str, actor: str,
            *, new_quantity: str | Decimal | None = None, rec: Reconciliation | None = None,
            ledger: Ledger | None = None) -> Entry:
    """Record a decision on one discrepancy of the month (what the widgets' Save button does).

    Args:
        workspace: the workspace (its ledger is used unless ``ledger`` is given).
        period: the ``YYYY-MM`` month.
        key: the discrepancy key (column ``key`` of the findings / ``recon reconcile --out``).
        action: one of ``decisions.Action`` (adjust_agreement, adjust_invoice, credit_client,
            accept, escalate, fix_mapping, reopen).
        note: the reason; required for accept and escalate.
        actor: who decides.
        new_quantity: exact decimal text for adjust_agreement / adjust_invoice.
        rec: the month's reconciliation (default: reconciled now).
        ledger: an open ledger (default: the workspace's, opened for this call).

    Returns:
        The appended ledger entry.

    Raises:
        UsageError: the key is not a discrepancy of the month.
        LedgerError: the decision is incomplete (e.g. accept without a note) or the ledger is
            locked; nothing is recorded.
    """
    check_period(period)
    if rec is None:
        from recon_helpers.reconcile.run import reconcile_period

        rec = reconcile_period(workspace, period)
    if rec.period != period:
        raise UsageError(f"the reconciliation given is for {rec.period}, not {period}")
    rows = rec.findings[rec.findings["key"].eq(key)]
    if rows.empty:
        raise UsageError(f"no discrepancy with key {key!r} in {period} (the keys are in column "
                         "`key` of `recon reconcile --out`)")
    snapshot = finding_snapshot(rows.iloc[0], rec)
    qty = None if isinstance(new_quantity, str) and not new_quantity.strip() else new_quantity
    from recon_helpers.audit.ledger import Ledger

    book = Ledger(workspace.ledger_path) if ledger is None else ledger
    try:
        entry = record_decision(book, period, key, action, note, actor, new_quantity=qty,
                                **snapshot)
    finally:
        if ledger is None:
            book.close()
    if (workspace.report_dir(period) / SEAL_FILE).is_file():
        # a signed month is now reopened: say so; the decision stands even if the page cannot
        # be written (recon verify reads the ledger, not the page)
        with suppress(OSError):
            write_signoff_page(workspace, period)
    return entry


# --- display ------------------------------------------------------------------------------


class Html:
    """Package-built HTML (every input string already escaped) for notebook display."""

    def __init__(self, markup: str) -> None:
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup

    def to_html(self) -> str:
        """The markup (as ``views.Table.to_html``)."""
        return self.markup


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
        "decision": _texts(done),
        "decided_by": done["actor"], "decided_at": done["ts"].str.slice(0, 19).str.replace(
            "T", " ") + " UTC"})
    return out.sort_values("decided_at", ascending=False, kind="stable").reset_index(drop=True)


def _counts(status: pd.DataFrame) -> str:
    n_open = int(status["status"].eq("open").sum()) if len(status) else 0
    return f"{n_open} open, {len(status) - n_open} resolved of {len(status)} discrepancies"


def status_overview(status: pd.DataFrame) -> Html:
    """Open vs resolved per kind, every decision with its text (action, note, actor, time),
    then the items still open: section 4.6 of the monthly report."""
    from recon_helpers.present.views import Table, findings_frame  # views imports this module

    open_view = findings_frame(open_items(status))
    parts = [Table(open_vs_resolved(status), _counts(status), "No discrepancies."),
             Table(decided_frame(status), "Decisions recorded (latest per item)",
                   "No decision recorded yet."),
             Table(open_view[["kind", "client", "product_id", "vendor", "vendor_sku", "impact",
                              "currency", "detail", "action", "note", "actor"]],
                   "Still open (an escalated item shows its latest decision)", "Nothing open.")]
    return Html("".join(p.to_html() for p in parts))


def decision_panel(status: pd.DataFrame, workspace: Workspace, period: str) -> Html:
    """The static view of notebook step 3.4: counts, the decisions recorded so far and how to
    record one from Python. It is also what the rendered HTML shows in place of the
    interactive widgets (``widgets.ResolutionUI``), which need a live kernel.
    """
    from recon_helpers.present.views import Table

    call = (f"from recon_helpers import resolution\nresolution.resolve(ws, {period!r}, key, "
            "'accept', 'the reason', 'your name')\n# or 'adjust_agreement', '', 'your name', "
            "new_quantity='12'")
    decided = Table(decided_frame(status), "Decisions recorded (latest per item)",
                    "No decision recorded yet.").to_html()
    return Html(
        f'<div class="recon-decisions" data-open="{int(status["status"].eq("open").sum())}">'
        f"<p><b>{html.escape(_counts(status))}</b> when this was rendered. In JupyterLab this "
        "step shows the resolution widgets; decisions go to the ledger "
        f"<code>{html.escape(workspace.ledger_path.name)}</code>. From a script:</p><pre>"
        + html.escape(call) + f"</pre>{decided}</div>"
    )


# --- sign-off block and page -------------------------------------------------------------------


def _signoff_state(workspace: Workspace, period: str) -> tuple[str, list[Entry], Any]:
    """(status, signers of the current cycle, the SealState or None) read from the ledger."""
    from recon_helpers.audit.ledger import Ledger

    if not workspace.ledger_path.is_file():
        return "open", [], None
    with Ledger(workspace.ledger_path) as ledger:
        state = seal_state(ledger.entries(check_period(period)))
    signers = [e for e in (state.preparer, state.reviewer) if e is not None]
    return state.status, signers, state


def _signers_table(signers: list[Entry]) -> str:
    by_role = {str(e.payload.get("role")): e for e in signers}
    rows = "".join(
        f"<tr><th>{role}</th><td>{html.escape(str(by_role[role].payload.get('name', '')))}</td>"
        f"<td>{html.escape(by_role[role].ts[:19].replace('T', ' '))} UTC</td>"
        f"<td>seq {by_role[role].seq}, {by_role[role].hash[:16]}</td></tr>"
        if role in by_role else
        f"<tr><th>{role}</th><td>{'_' * 24}</td><td>date {'_' * 10}</td><td></td></tr>"
        for role in ("preparer", "reviewer")
    )
    return ('<table class="recon-table"><tr><th>role</th><th>name</th><th>signed</th>'
            f"<th>ledger entry</th></tr>{rows}</table>")


def signoff_block(workspace: Workspace, period: str) -> Html:
    """Sign-off block of the monthly report (step 4.10).

    A report cannot hold its own seal: sealing hashes the rendered files, so anything written
    into them afterwards would break the seal. The block therefore shows the state at render
    time (a freshly rendered report is normally unsigned) and points to ``signoff.html``
    beside the report, rewritten at each sign-off, and to ``recon verify``.
    """
    state, signers, _ = _signoff_state(workspace, period)
    stale = ("" if state in ("open", "reopened") else
             "<p><b>This report was rendered after a sign-off</b>: the sign-off covers the "
             "earlier rendering, so <code>recon verify</code> will report the changed files "
             "until the preparer and reviewer sign this one.</p>")
    return Html(
        f'<div class="recon-signoff" data-signoff-status="{html.escape(state)}">'
        f"<p>Sign-off status when this report was rendered: <b>{html.escape(state)}</b>.</p>"
        f"{stale}{_signers_table(signers)}"
        "<p>Signing seals this report's files, the month's input files, the mappings, the "
        "settings and the ledger head; the seal cannot be inside the report it hashes. The "
        f'current sign-off is on <a href="{SEAL_PAGE}">{SEAL_PAGE}</a> beside this file '
        "(with <code>signoff.json</code>), and <code>recon verify --period "
        f"{html.escape(period)}</code> checks that nothing changed since.</p></div>"
    )


_PAGE_CSS = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}"
             "table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #ccc;"
             "padding:2px 8px;text-align:left;font-size:13px}code{font-size:12px}"
             ".reopened,.open{color:#b00020}.signed{color:#0a6b2d}")


def signoff_page(workspace: Workspace, period: str) -> str:
    """The HTML of ``signoff.html``: status, signers and what the latest seal covers."""
    state, signers, cycle = _signoff_state(workspace, period)
    latest = cycle.latest_seal if cycle is not None else None
    esc = html.escape
    body = [f"<h1>Sign-off: {esc(period)}</h1>",
            f'<p>Status: <b class="{esc(state)}" data-signoff-status="{esc(state)}">'
            f"{esc(state)}</b> as of {datetime.now(UTC).isoformat(timespec='seconds')}.</p>",
            _signers_table(signers)]
    if cycle is not None and cycle.after_seal:
        shown = ", ".join(f"seq {e.seq} on {e.key}" for e in cycle.after_seal[:5])
        body.append(f"<p class=reopened>Decisions recorded after the last sign-off reopened "
                    f"the month ({esc(shown)}); re-render the report and sign again.</p>")
    if latest is not None:
        files = "".join(
            f"<tr><td>{esc(g)}</td><td>{esc(n)}</td><td><code>{esc(str(h))}</code></td></tr>"
            for g in GROUPS for n, h in sorted((latest.payload.get(g) or {}).items()))
        body.append(
            f"<h2>Latest seal: {esc(str(latest.payload.get('role')))} "
            f"{esc(str(latest.payload.get('name')))}, ledger entry seq {latest.seq}</h2>"
            f"<p>Ledger head at the seal: <code>{esc(str(latest.payload.get('ledger_head')))}"
            f"</code></p><table><tr><th>group</th><th>file</th><th>sha256</th></tr>{files}"
            "</table>")
    body.append(
        f"<p>This page is rewritten at each sign-off and when a decision is recorded through "
        f"recon; it is not part of the seal. <code>recon verify --period {esc(period)}</code> "
        "recomputes every hash and is the authoritative check.</p>")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign-off '
            f"{esc(period)}</title><style>{_PAGE_CSS}</style></head><body>"
            + "".join(body) + "</body></html>\n")


def write_signoff_page(workspace: Workspace, period: str) -> Path:
    """Write ``reports/<period>/signoff.html`` (atomically) and return its path."""
    from recon_helpers.core.files import atomic_write_text

    return atomic_write_text(workspace.report_dir(period) / SEAL_PAGE,
                             signoff_page(workspace, period))
