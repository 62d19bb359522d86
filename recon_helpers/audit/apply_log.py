"""What ``recon apply`` wrote to the PSA: its ``apply`` ledger entries, read back per change.

Every change carries out one decision (or undoes one applied change) and has a change id:
``d<decision seq>``, or ``u<seq of the applied outcome it undoes>``. For each change the
ledger holds, in order:

* an ``attempt`` entry, appended (durably) *before* a write is sent: the request (method,
  endpoint, body; no credentials), the attempt number;
* an ``outcome`` entry after it: ``applied`` (written and read back as planned, or found
  already so in the PSA), ``conflict`` (the PSA's value is neither the planned before nor
  after value: nothing was sent), ``failed`` (refused, or read back otherwise) or
  ``unknown`` (no answer: a timeout, a dropped connection, a 5xx), with the response status,
  the body's sha256, the id the PSA returned and a ``detail`` line.

An attempt without an outcome after it means the run was interrupted after the attempt was
recorded: the next run reads the PSA before anything is sent again. The entries are keyed by
the finding key, so a finding's trail shows its decisions and their write-back together. They
never reopen a signed month (``signoff.seal_state`` counts decisions only); ``recon verify``
checks them in the hash chain like every entry.

Example:
    >>> states = read_states(ws, october)
    >>> states["d57"].applied, states["d57"].outcome.payload["psa_id"]
    (True, '50012')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from recon_helpers.audit.ledger import Entry, Ledger
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace

APPLY = "apply"
OUTCOMES = ("applied", "conflict", "failed", "unknown")
# finding status per outcome (SPEC: applied, conflict, failed); unknown is shown as failed
STATUS_OF = {"applied": "applied", "conflict": "conflict", "failed": "failed",
             "unknown": "failed"}


def decision_change(seq: int) -> str:
    """The change id of a decision: ``d<seq>``."""
    return f"d{seq}"


def undo_change(seq: int) -> str:
    """The change id undoing the applied outcome entry ``seq``: ``u<seq>``."""
    return f"u{seq}"


@dataclass(frozen=True)
class ChangeState:
    """One change's write-back so far, replayed from its apply entries."""

    change: str
    key: str
    decision_seq: int
    attempts: int = 0
    outcome: Entry | None = None  # the latest outcome entry
    pending: Entry | None = None  # an attempt with no outcome after it (interrupted)
    undone_by: Entry | None = None  # the applied outcome of the undo of this change

    @property
    def result(self) -> str:
        """The latest outcome (``applied``, ``conflict``, ``failed``, ``unknown``) or ``""``."""
        return str(self.outcome.payload.get("outcome", "")) if self.outcome else ""

    @property
    def applied(self) -> bool:
        """Written (or found written) and not undone since."""
        return self.result == "applied" and self.undone_by is None and self.pending is None


def record(ledger: Ledger, period: Period, key: str, payload: Mapping[str, Any],
           actor: str) -> Entry:
    """Append one apply entry (``phase`` attempt or outcome) for the finding ``key``."""
    return ledger.append(APPLY, period, key, payload, actor)


def change_states(entries: Sequence[Entry]) -> dict[str, ChangeState]:
    """Replay a month's entries (seq order) into the state of every change."""
    states: dict[str, ChangeState] = {}
    for entry in entries:
        if entry.entry_type != APPLY:
            continue
        change = str(entry.payload.get("change", ""))
        state = states.get(change) or ChangeState(
            change, entry.key, int(entry.payload.get("decision_seq") or 0))
        if entry.payload.get("phase") == "attempt":
            state = replace(state, attempts=state.attempts + 1, pending=entry)
        else:
            state = replace(state, outcome=entry, pending=None)
        states[change] = state
        undone = entry.payload.get("undo_of")
        if state.result == "applied" and state.pending is None and isinstance(undone, int):
            for other in states.values():
                if other.outcome is not None and other.outcome.seq == undone:
                    states[other.change] = replace(other, undone_by=entry)
    return states


def read_states(workspace: Workspace, period: Period) -> dict[str, ChangeState]:
    """:func:`change_states` of the workspace's ledger; empty without one (never creates it)."""
    if not workspace.ledger_path.is_file():
        return {}
    with Ledger(workspace.ledger_path) as ledger:
        return change_states(ledger.entries(period))


def _mark(state: ChangeState) -> tuple[str, str]:
    """(finding status or "" to leave it, status detail) of a decision's change."""
    if state.undone_by is not None:
        return "", (f"applied at ledger seq {state.outcome.seq if state.outcome else '?'}, "
                    f"undone at seq {state.undone_by.seq}")
    if state.pending is not None:
        return "failed", (f"interrupted after write attempt {state.attempts} (ledger seq "
                          f"{state.pending.seq}): run recon apply again; it reads the PSA "
                          "before sending anything")
    if state.outcome is None:
        return "", ""
    detail = str(state.outcome.payload.get("detail", ""))
    return STATUS_OF.get(state.result, "failed"), f"{detail} (ledger seq {state.outcome.seq})"


def finding_outcomes(decisions: pd.DataFrame, states: Mapping[str, ChangeState]) -> pd.DataFrame:
    """Write-back status of each finding whose latest decision has an apply trail.

    Args:
        decisions: ``decisions.latest_decisions`` (key, seq, ...).
        states: :func:`read_states`.

    Returns:
        Indexed by key: ``status`` (applied, conflict, failed; "" when the change was undone)
        and ``status_detail``. An earlier decision's write-back does not count once a later
        decision superseded it.
    """
    rows = []
    for key, seq in zip(decisions["key"], decisions["seq"], strict=True):
        state = states.get(decision_change(int(seq)))
        if state is not None:
            status, detail = _mark(state)
            rows.append({"key": key, "status": status, "status_detail": detail})
    return pd.DataFrame(rows, columns=["key", "status", "status_detail"]).set_index("key")


def outcome_frame(entries: Sequence[Entry]) -> pd.DataFrame:
    """Every outcome entry of a month, oldest first, as the sign-off page lists them.

    Returns:
        Columns seq, at, change, key, psa, object, field, before, after, effective_date,
        outcome, psa_id, detail.
    """
    columns = ["seq", "at", "change", "key", "psa", "object", "field", "before", "after",
               "effective_date", "outcome", "psa_id", "detail"]
    rows = [{"seq": e.seq, "at": e.ts[:19].replace("T", " "),
             "change": e.payload.get("change", ""), "key": e.key,
             "psa": e.payload.get("psa", ""), "object": e.payload.get("object", ""),
             "field": e.payload.get("field", ""), "before": e.payload.get("current", ""),
             "after": e.payload.get("new", ""),
             "effective_date": e.payload.get("effective_date", ""),
             "outcome": e.payload.get("outcome", ""), "psa_id": e.payload.get("psa_id", ""),
             "detail": e.payload.get("detail", "")}
            for e in entries if e.entry_type == APPLY and e.payload.get("phase") == "outcome"]
    return pd.DataFrame(rows, columns=columns, dtype=object)
