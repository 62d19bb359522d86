"""The sign-off as people read it: the block of the monthly report and ``signoff.html``.

A report cannot contain its own seal (the seal hashes it): :func:`signoff_block` shows the state
at render time and links to ``signoff.html`` beside the report, which :func:`write_signoff_page`
writes at each sign-off (``recon signoff``) and after a decision on a signed month (the
resolution widgets). The page is not sealed; ``recon verify`` is the authoritative check.

Example:
    >>> signoff_block(ws, october)            # step 4.10 of the monthly report
    >>> write_signoff_page(ws, october)
    PosixPath('reports/2026-10/signoff.html')
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

from recon_helpers.audit.apply_log import outcome_frame
from recon_helpers.audit.ledger import Entry, Ledger
from recon_helpers.audit.signoff import GROUPS, SEAL_PAGE, SealState, month_state
from recon_helpers.core.files import atomic_write_text
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.present.html import Html


def _signoff_state(workspace: Workspace, period: Period) -> tuple[str, list[Entry], SealState]:
    """(status, signers of the current cycle, the SealState) read from the ledger."""
    state = month_state(workspace, period)
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


def signoff_block(workspace: Workspace, period: Period) -> Html:
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
        f"{html.escape(str(period))}</code> checks that nothing changed since.</p></div>"
    )


_PAGE_CSS = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}"
             "table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #ccc;"
             "padding:2px 8px;text-align:left;font-size:13px}code{font-size:12px}"
             ".reopened,.open{color:#b00020}.signed{color:#0a6b2d}")


def signoff_page(workspace: Workspace, period: Period) -> str:
    """The HTML of ``signoff.html``: status, signers and what the latest seal covers."""
    state, signers, cycle = _signoff_state(workspace, period)
    latest = cycle.latest_seal
    esc = html.escape
    body = [f"<h1>Sign-off: {esc(str(period))}</h1>",
            f'<p>Status: <b class="{esc(state)}" data-signoff-status="{esc(state)}">'
            f"{esc(state)}</b> as of {datetime.now(UTC).isoformat(timespec='seconds')}.</p>",
            _signers_table(signers)]
    if cycle.after_seal:
        shown = ", ".join(f"seq {e.seq} on {e.key}" for e in cycle.after_seal[:5])
        body.append(f"<p class=reopened>Decisions recorded after the last sign-off reopened "
                    f"the month ({esc(shown)}); re-render the report and sign again.</p>")
    body.append(_write_back_section(workspace, period))
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
        f"recon; it is not part of the seal. <code>recon verify --period {esc(str(period))}</code> "
        "recomputes every hash and is the authoritative check.</p>")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign-off '
            f"{esc(str(period))}</title><style>{_PAGE_CSS}</style></head><body>"
            + "".join(body) + "</body></html>\n")


def _write_back_section(workspace: Workspace, period: Period) -> str:
    """What ``recon apply`` wrote to the PSA for the month (every outcome, ledger seq, PSA id):
    the trail from a decision to the PSA's own record."""
    if not workspace.ledger_path.is_file():
        return ""
    with Ledger(workspace.ledger_path) as ledger:
        log = outcome_frame(ledger.entries(period))
    if log.empty:
        return "<h2>Written back to the PSA</h2><p>Nothing was written back.</p>"
    cols = ["seq", "at", "object", "field", "before", "after", "effective_date", "outcome",
            "psa_id"]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in cols)
                   + "</tr>" for r in log.to_dict("records"))
    applied = int(log["outcome"].eq("applied").sum())
    return (f"<h2>Written back to the PSA</h2><p>{applied} applied outcome(s); every attempt "
            "and outcome is a ledger entry (an apply entry carries out a decision the seal "
            f"covers, so it does not reopen the month).</p><table><tr>{head}</tr>{rows}"
            "</table>")


def write_signoff_page(workspace: Workspace, period: Period) -> Path:
    """Write ``reports/<period>/signoff.html`` (atomically) and return its path."""
    return atomic_write_text(workspace.report_dir(period) / SEAL_PAGE,
                             signoff_page(workspace, period))
