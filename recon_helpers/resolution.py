"""Open vs resolved: each finding of a month with the latest decision recorded on it.

Thin by design: decisions live in the append-only ledger (ledger.py) and are only read here.
Without a ledger file every finding is open; a ledger is never created by reading it. The
interactive decision widgets and the filled sign-off block come in a later step and plug in
at :func:`decision_panel` and :func:`signoff_block`.

Example:
    >>> status = status_table(rec.findings, ws, "2026-10")
    >>> open_vs_resolved(status)
"""

from __future__ import annotations

import html
from decimal import Decimal
from typing import Any

import pandas as pd

from recon_helpers.schemas import DISCREPANCY_KINDS
from recon_helpers.workspace import Workspace

STATUS_COLUMNS = ("status", "action", "note", "actor", "ts")
# latest actions that leave a discrepancy open (mirrors ledger.OPEN_ACTIONS)
OPEN_ACTIONS = frozenset({"escalate", "reopen"})


def decisions(workspace: Workspace, period: str) -> pd.DataFrame:
    """The latest decision per finding key, or an empty table when there is no ledger.

    Returns:
        DataFrame (key, action, note, actor, ts, resolved).
    """
    cols = ["key", "action", "note", "actor", "ts"]
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in cols}).assign(
        resolved=pd.Series(dtype=bool)
    )
    if not workspace.ledger_path.is_file():
        return empty
    try:
        from recon_helpers.ledger import Ledger
    except ImportError:  # the ledger step is not installed: nothing can have been decided
        return empty
    with Ledger(workspace.ledger_path) as ledger:
        frame = ledger.decisions(period)
    if "resolved" not in frame:
        frame = frame.assign(resolved=~frame["action"].isin(OPEN_ACTIONS))
    return frame[[*cols, "resolved"]].reset_index(drop=True)


def status_table(findings: pd.DataFrame, workspace: Workspace, period: str) -> pd.DataFrame:
    """Findings with their resolution status (``open`` / ``resolved``) and latest decision.

    Returns:
        The findings' columns plus STATUS_COLUMNS; open when no decision or the latest one
        is escalate/reopen.
    """
    dec = decisions(workspace, period).drop_duplicates("key", keep="last").set_index("key")
    out = findings.copy()
    for col in ("action", "note", "actor", "ts"):
        values = dec[col].to_dict()  # one lookup per finding: findings are few
        out[col] = pd.Series([str(values.get(k, "")) for k in out["key"]], index=out.index,
                             dtype=object)
    resolved = dec["resolved"].to_dict()
    out["status"] = pd.Series(["resolved" if resolved.get(k, False) else "open"
                               for k in out["key"]], index=out.index, dtype=object)
    return out


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


def open_items(status: pd.DataFrame) -> pd.DataFrame:
    """The findings still open, largest absolute impact first (unknown impact last)."""
    items = status[status["status"].eq("open")]
    size = items["impact"].map(lambda v: abs(v) if isinstance(v, Decimal) else Decimal(-1))
    return items.assign(_size=size).sort_values("_size", ascending=False, kind="stable").drop(
        columns="_size").reset_index(drop=True)


class Html:
    """Package-built HTML (every input string already escaped) for notebook display."""

    def __init__(self, markup: str) -> None:
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup


def decision_panel(status: pd.DataFrame, workspace: Workspace, period: str) -> Html:
    """Where decisions are recorded. Placeholder until the resolution widgets step.

    For now it states how many items are open and the ledger call that records a decision.
    """
    n_open = int(status["status"].eq("open").sum()) if len(status) else 0
    call = (
        "from recon_helpers.ledger import Ledger, record_decision\n"
        f"with Ledger({str(workspace.ledger_path)!r}) as ledger:\n"
        f"    record_decision(ledger, {period!r}, key, 'accept', 'reason', 'your name')"
    )
    return Html(
        f'<div class="recon-note" data-placeholder="decision-panel"><p>{n_open} item(s) open. '
        "Interactive decisions are recorded here in a later version; until then a decision is "
        "recorded in the ledger with:</p><pre>" + html.escape(call) + "</pre></div>"
    )


def signoff_block(workspace: Workspace, period: str) -> Html:
    """Sign-off block of the monthly report: status at render time and the signers so far.

    Placeholder layout until the sign-off step fills it; reads ``signoff.status`` and the
    seal beside the report when those modules are present.
    """
    state, signers = "open", []
    try:
        from recon_helpers import signoff

        state = signoff.status(workspace, period)
        document = signoff.read_seal(workspace, period) or {}
        signers = document.get("signoffs") or []
    except ImportError:  # sign-off module not installed yet: the month is simply unsigned
        pass
    by_role = {str(s.get("role")): s for s in signers if isinstance(s, dict)}
    rows = "".join(
        f"<tr><th>{html.escape(role)}</th><td>{html.escape(str(by_role[role].get('name', '')))}"
        f"</td><td>{html.escape(str(by_role[role].get('ts', '')))}</td></tr>"
        if role in by_role else
        f"<tr><th>{html.escape(role)}</th><td>{'_' * 24}</td><td>date {'_' * 10}</td></tr>"
        for role in ("preparer", "reviewer")
    )
    return Html(
        f'<div class="recon-signoff" data-signoff-status="{html.escape(state)}">'
        f"<p>Sign-off status when this report was rendered: <b>{html.escape(state)}</b>. "
        "A sign-off seals this report's files, the month's inputs, the mappings and the "
        "settings; <code>signoff.json</code> beside the report records it.</p>"
        f"<table class=\"recon-table\"><tr><th>role</th><th>name</th><th>signed</th></tr>{rows}"
        "</table></div>"
    )
