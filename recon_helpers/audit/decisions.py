"""Decisions about discrepancies: the closed set of actions, their validation and the query
of the latest decision per discrepancy.

Decisions are ``decision`` entries of the append-only ledger (ledger.py); nothing here writes
to SQLite directly. A later decision on the same discrepancy key supersedes an earlier one by
being appended, so "the decision" on a key is always its newest entry.

Kept apart from ledger.py so the storage (hash chain, durability) and the audit rules (what a
decision must say) can be read and changed separately. ``recon_helpers.audit.ledger`` re-exports
:class:`Action`, :func:`record_decision` and the constants, so older imports keep working.

Example:
    >>> october = Period.parse("2026-10")
    >>> with Ledger(ws.ledger_path) as ledger:
    ...     record_decision(ledger, october, key, "accept", "agreed with client", "alice")
    ...     decisions_frame(ledger, october)[["key", "action", "superseded_count"]]
    >>> latest_decisions(ws, october)            # the same, opening the workspace's ledger
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import pandas as pd

from recon_helpers.audit.ledger import Entry, Ledger, canonical_json
from recon_helpers.core.errors import LedgerError
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import FINDING_KINDS
from recon_helpers.core.workspace import Workspace


class Action(StrEnum):
    """What an auditor decided about one discrepancy (closed set)."""

    ADJUST_AGREEMENT = "adjust_agreement"
    ADJUST_INVOICE = "adjust_invoice"
    CREDIT_CLIENT = "credit_client"
    ACCEPT = "accept"
    ESCALATE = "escalate"
    FIX_MAPPING = "fix_mapping"
    REOPEN = "reopen"


# Shown in the resolution widgets and the report; the ledger stores the values.
ACTION_LABELS: dict[Action, str] = {
    Action.ADJUST_AGREEMENT: "adjust agreement quantity",
    Action.ADJUST_INVOICE: "adjust invoice",
    Action.CREDIT_CLIENT: "credit the client",
    Action.ACCEPT: "accept (with reason)",
    Action.ESCALATE: "escalate",
    Action.FIX_MAPPING: "fix mapping",
    Action.REOPEN: "reopen",
}
# A discrepancy whose latest decision is one of these is still open.
OPEN_ACTIONS = frozenset({Action.ESCALATE, Action.REOPEN})
NOTE_REQUIRED = frozenset({Action.ACCEPT, Action.ESCALATE})
VALUE_FIELDS = ("new_quantity", "kind", "client_id", "product_id", "impact", "currency",
                "effective_date")
# decisions that change the agreement from a date on: a new quantity, a new line (an
# unbilled_service), an end (new quantity 0, e.g. a billed_not_delivered that stopped)
EFFECTIVE_ACTIONS = frozenset({Action.ADJUST_AGREEMENT})
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
DECISION_COLUMNS = ("key", "action", "note", "actor", "ts", "seq", "values", "superseded_count")


def quantity_applies(action: str, kind: str = "") -> bool:
    """Whether a decision takes (and needs) ``new_quantity``.

    ``adjust_agreement`` always does; ``adjust_invoice`` does unless the discrepancy is a
    ``price_mismatch`` (the invoice is then corrected by price, described in the note).
    """
    return action == Action.ADJUST_AGREEMENT or (
        action == Action.ADJUST_INVOICE and kind != "price_mismatch"
    )


def decision_text(action: str, note: str = "", new_quantity: str = "",
                  effective_date: str = "") -> str:
    """One line for reports and exports: ``"accept: agreed with the client"``,
    ``"adjust_agreement to 12 from 2026-11-01: client added seats"``."""
    action, note = str(action or ""), " ".join(str(note or "").split())
    if action and new_quantity:
        action = f"{action} to {new_quantity}"
    if action and effective_date:
        action = f"{action} from {effective_date}"
    return f"{action}: {note}" if action and note else action or note


def default_effective(period: Period) -> date:
    """The effective date a decision gets unless the auditor gives one: the first day of the
    month after ``period`` (agreements bill in advance, so the change starts with the next
    invoice)."""
    return period.next().first


def parse_day(value: Any, name: str = "effective_date") -> date:
    """A date written exactly ``YYYY-MM-DD`` (a real day).

    Raises:
        LedgerError: any other form (``2026-11-1``, ``11/01/2026``) or an impossible day.
    """
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = str(value or "").strip()
    try:
        if not _ISO_DAY.fullmatch(text):
            raise ValueError
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise LedgerError(f"{name} {value!r} is not a date in the form YYYY-MM-DD "
                          "(e.g. 2026-11-01)") from None


def _effective(value: Any, act: Action, period: Period) -> str:
    given = not (value is None or (isinstance(value, str) and not value.strip()))
    if act not in EFFECTIVE_ACTIONS:
        if given:
            raise LedgerError(f"effective_date applies to adjust_agreement, not {act.value}")
        return ""
    return (parse_day(value) if given else default_effective(period)).isoformat()


def _decimal_text(value: Any, name: str, *, allow_empty: bool, non_negative: bool = False) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if allow_empty:
            return ""
        raise LedgerError(f"{name} is required")
    if isinstance(value, float):
        raise LedgerError(f"{name} must be a string or Decimal such as '12.5', not a float")
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise LedgerError(f"{name} {value!r} is not a number") from exc
    if not number.is_finite():
        raise LedgerError(f"{name} {value!r} is not a finite number")
    if non_negative and number < 0:
        raise LedgerError(f"{name} {value!r} cannot be negative")
    return format(number, "f")


def _payload(act: Action, note: str, new_qty: str, values: dict[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = {"action": act.value, "note": note}
    for name, value in values.items():
        if isinstance(value, float):
            raise LedgerError(
                f"{name} must be a string or Decimal, not a float (floats are inexact)"
            )
        if not (value is None or isinstance(value, str | int | bool | Decimal)):
            raise LedgerError(f"{name} = {value!r} must be a text or number value")
        payload[name] = value
    payload.pop("new_quantity", None)
    if new_qty:
        payload["new_quantity"] = new_qty
    if "impact" in payload:
        payload["impact"] = _decimal_text(payload["impact"], "impact", allow_empty=True)
    for name in ("client_id", "product_id"):
        if name in payload and not isinstance(payload[name], str | None):
            raise LedgerError(f"{name} must be a string (IDs are kept as text)")
    currency = str(payload.get("currency") or "").strip().upper()
    if currency and not re.fullmatch(r"[A-Z]{3}", currency):
        raise LedgerError(f"currency {currency!r} is not a 3-letter code")
    if "currency" in payload:
        payload["currency"] = currency
    return payload


def record_decision(
    ledger: Ledger, period: Period, key: str, action: str, note: str, actor: str, **values: Any
) -> Entry:
    """Validate and append one decision about a discrepancy.

    Rules: ``accept`` and ``escalate`` need a note (the reason); ``adjust_agreement`` needs
    ``new_quantity``, and so does ``adjust_invoice`` unless ``kind`` is ``price_mismatch``
    (the invoice is corrected by price, described in the note, which is then required);
    ``new_quantity`` applies to those two actions only. Quantities and amounts are exact
    decimal strings (floats are refused). ``adjust_agreement`` carries ``effective_date``
    (``YYYY-MM-DD``; default :func:`default_effective`), stored explicitly in the payload;
    other actions refuse one.

    Args:
        ledger: the open ledger.
        period: the month.
        key: the discrepancy key.
        action: one of :class:`Action`.
        note: free text; required for accept/escalate.
        actor: who decides.
        **values: ``new_quantity``, ``effective_date``, ``kind``, ``client_id``,
            ``product_id``, ``impact``, ``currency`` and any further JSON scalar values to
            keep with the decision.

    Returns:
        The appended entry.

    Raises:
        LedgerError: the decision is incomplete or invalid, with the reason.
    """
    payload = decision_payload(period, action, note, **values)
    return ledger.append("decision", period, key, payload, actor)


def decision_payload(period: Period, action: str, note: str, **values: Any) -> dict[str, Any]:
    """The checked payload of a decision (:func:`record_decision`'s rules), nothing recorded.

    Raises:
        LedgerError: the decision is incomplete or invalid, with the reason.
    """
    try:
        act = Action(str(action).strip())
    except ValueError as exc:
        raise LedgerError(
            f"action {action!r} is not one of {', '.join(a.value for a in Action)}"
        ) from exc
    note = (note or "").strip()
    kind = str(values.get("kind") or "").strip()
    if kind and kind not in FINDING_KINDS:
        raise LedgerError(f"kind {kind!r} is not one of {', '.join(FINDING_KINDS)}")
    if act in NOTE_REQUIRED and not note:
        raise LedgerError(f"{act.value} needs a note giving the reason")
    qty_applies = quantity_applies(act, kind)
    new_qty = _decimal_text(
        values.get("new_quantity"), "new_quantity", allow_empty=not qty_applies, non_negative=True
    )
    if new_qty and act not in (Action.ADJUST_AGREEMENT, Action.ADJUST_INVOICE):
        raise LedgerError(f"new_quantity applies to adjust_agreement/adjust_invoice, not {act}")
    if act is Action.ADJUST_INVOICE and not qty_applies and not note:
        raise LedgerError("adjust_invoice of a price_mismatch needs a note giving the new price")
    effective = _effective(values.pop("effective_date", None), act, period)
    payload = _payload(act, note, new_qty, values)
    if effective:
        payload["effective_date"] = effective
    return payload


def decisions_frame(ledger: Ledger, period: Period) -> pd.DataFrame:
    """The latest decision per discrepancy key of one month (``Ledger.decisions``).

    Returns:
        Columns ``key, action, note, actor, ts, seq, values`` (JSON of the payload
        without action and note), ``superseded_count`` (earlier decisions on that key),
        then ``resolved`` (latest action not escalate/reopen) and the value fields
        ``new_quantity, kind, client_id, product_id, impact, currency`` ("" if absent).
        Ordered by seq.
    """
    records = [
        {
            "key": e.key,
            "action": str(e.payload.get("action", "")),
            "note": str(e.payload.get("note", "") or ""),
            "actor": e.actor,
            "ts": e.ts,
            "seq": e.seq,
            "values": canonical_json(
                {k: v for k, v in e.payload.items() if k not in ("action", "note")}
            ),
            **{f: str(e.payload.get(f, "") or "") for f in VALUE_FIELDS},
        }
        for e in ledger.entries(period)
        if e.entry_type == "decision"
    ]
    text = [
        c for c in (*DECISION_COLUMNS, *VALUE_FIELDS) if c not in ("seq", "superseded_count")
    ]
    frame = pd.DataFrame(records, columns=[*DECISION_COLUMNS[:7], *VALUE_FIELDS])
    frame = frame.astype(dict.fromkeys(text, object) | {"seq": "int64"})
    frame["superseded_count"] = (
        frame.groupby("key")["seq"].transform("size").astype("int64") - 1
    )
    latest = frame.drop_duplicates("key", keep="last").reset_index(drop=True)
    latest["resolved"] = ~latest["action"].isin([str(a) for a in OPEN_ACTIONS])
    return latest[[*DECISION_COLUMNS, "resolved", *VALUE_FIELDS]]


def latest_decisions(workspace: Workspace, period: Period) -> pd.DataFrame:
    """:func:`decisions_frame` of the workspace's ledger; empty (same columns) without one.

    Reading never creates the ledger file.
    """
    if not workspace.ledger_path.is_file():
        columns = [*DECISION_COLUMNS, "resolved", *VALUE_FIELDS]
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        return empty.astype({"seq": "int64", "superseded_count": "int64", "resolved": bool})
    with Ledger(workspace.ledger_path) as ledger:
        return decisions_frame(ledger, period)


def history(workspace: Workspace, period: Period, key: str) -> pd.DataFrame:
    """Every decision on one finding key, oldest first (seq, at, by, decision)."""
    columns = ["seq", "at", "by", "decision"]
    if not workspace.ledger_path.is_file():
        return pd.DataFrame(columns=columns, dtype=object)
    with Ledger(workspace.ledger_path) as ledger:
        entries = [e for e in ledger.entries(period)
                   if e.entry_type == "decision" and e.key == key]
    return pd.DataFrame([{"seq": e.seq, "at": e.ts[:19].replace("T", " "), "by": e.actor,
                          "decision": decision_text(e.payload.get("action", ""),
                                                    e.payload.get("note", ""),
                                                    e.payload.get("new_quantity", ""),
                                                    e.payload.get("effective_date", ""))}
                         for e in entries], columns=columns, dtype=object)
