"""The sign-off as people read it: the block of the monthly report and ``signoff.html``.

A report cannot contain its own seal (the seal hashes it): :func:`signoff_block` shows the state
at render time and links to ``signoff.html`` beside the report, which :func:`write_signoff_page`
writes at each sign-off (``recon signoff``) and after a decision on a signed month (the
resolution widgets). The page is not sealed; ``recon verify`` is the authoritative check.

The signed report is a copy of the sealed monthly report page with a certificate added at
its top (who signed, when, the seal, the waivers): what a reader of the report needs, in the
page itself. It is built only from sealed bytes and ledger entries, so :func:`check_signed_copy`
rebuilds it and compares byte for byte (``recon verify`` does); the copy is not in the seal
(it cannot be) and does not need to be.

Example:
    >>> signoff_block(ws, october)            # step 4.10 of the monthly report
    >>> write_signoff_page(ws, october)
    PosixPath('reports/2026-10/signoff.html')
    >>> write_signed_copy(ws, october)        # after the reviewer signs
    PosixPath('reports/2026-10/signed_report.html')
"""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime
from pathlib import Path

from recon_helpers.audit.apply_log import outcome_frame
from recon_helpers.audit.ledger import Entry, Ledger
from recon_helpers.audit.signoff import (
    GROUPS,
    SEAL_PAGE,
    SIGNED_COPY,
    SealState,
    month_state,
)
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
    body.append(_waivers_section(cycle))
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


MONTHLY_REPORT = "04_monthly_report.html"  # the page the signed copy is made of


def _waivers_section(cycle: SealState) -> str:
    """What the preparer signed over: each waiver's reason, who, when, and every item."""
    if not cycle.waivers:
        return ""
    esc = html.escape
    parts = ["<h2>Signed over (waived by the preparer)</h2>"]
    for w in cycle.waivers:
        items = w.payload.get("items") or []
        rows = "".join(f"<tr><td>{esc(str(i.get('category', '')))}</td>"
                       f"<td>{esc(str(i.get('text', '')))}</td></tr>" for i in items)
        parts.append(
            f'<p class="recon-waiver"><b>{esc(str(w.payload.get("reason", "")))}</b> by '
            f"{esc(w.actor)} at {esc(w.ts[:19].replace('T', ' '))} UTC (ledger entry seq "
            f"{w.seq}): {esc(str(w.payload.get('summary', '')))}.</p>"
            f"<details><summary>{len(items)} waived item(s)</summary><table><tr>"
            f"<th>what</th><th>item</th></tr>{rows}</table></details>")
    return "".join(parts)


def _certificate(period: Period, cycle: SealState, report_sha: str) -> str:
    esc = html.escape
    seal = cycle.reviewer
    assert seal is not None
    return (
        '<div class="recon-certificate" style="border:2px solid #0a6b2d;padding:8px 14px;'
        'margin:8px 0 16px;font-family:system-ui,sans-serif;background:#f3faf5">'
        f"<h2>Signed report: {esc(str(period))}</h2>"
        f"{_signers_table([e for e in (cycle.preparer, cycle.reviewer) if e is not None])}"
        f"<p>Seal: ledger entry seq {seal.seq}, hash <code>{esc(seal.hash)}</code>; ledger head "
        f"at the seal <code>{esc(str(seal.payload.get('ledger_head')))}</code>.</p>"
        f"{_waivers_section(cycle)}"
        f"<p>This page is the sealed <code>{MONTHLY_REPORT}</code> (sha256 "
        f"<code>{esc(report_sha)}</code>) with this block added. <code>recon verify --period "
        f"{esc(str(period))}</code> checks the seal and rebuilds this copy to compare it.</p>"
        "</div>")


def signed_copy(workspace: Workspace, period: Period) -> str | None:
    """The signed report's text; None when the month is not signed, or its sealed monthly
    report page is missing or changed (``verify`` names that file already)."""
    cycle = month_state(workspace, period)
    if cycle.status != "signed" or cycle.reviewer is None:
        return None
    sealed = (cycle.reviewer.payload.get("report") or {}).get(MONTHLY_REPORT)
    page = workspace.report_dir(period) / MONTHLY_REPORT
    if sealed is None or not page.is_file():
        return None
    data = page.read_bytes()
    if hashlib.sha256(data).hexdigest() != sealed:
        return None
    text = data.decode("utf-8")
    body = re.search(r"<body[^>]*>", text)
    at = body.end() if body else 0
    return text[:at] + _certificate(period, cycle, sealed) + text[at:]


def write_signed_copy(workspace: Workspace, period: Period) -> Path | None:
    """Write ``signed_report.html`` when the month is signed; remove a stale one otherwise."""
    target = workspace.report_dir(period) / SIGNED_COPY
    text = signed_copy(workspace, period)
    if text is None:
        target.unlink(missing_ok=True)
        return None
    return atomic_write_text(target, text)


def check_signed_copy(workspace: Workspace, period: Period) -> list[str]:
    """What is wrong with the signed report of a signed month (empty when it matches)."""
    text = signed_copy(workspace, period)
    if text is None:
        return []
    target = workspace.report_dir(period) / SIGNED_COPY
    if not target.is_file():
        return [f"signed report {SIGNED_COPY} is missing (recon signoff writes it)"]
    if target.read_text(encoding="utf-8") != text:
        return [f"signed report {SIGNED_COPY} changed: it no longer matches the sealed report "
                "and the ledger"]
    return []
