"""Resolving discrepancies: record a decision, and read open vs resolved back everywhere.

:func:`resolve` is the one way a decision is recorded, used alike by the notebook widgets
(widgets.py), scripts and tests: it looks the discrepancy up in the month's reconciliation,
keeps a snapshot of its figures with the decision (so the adjustments export and the trail do
not depend on re-running the month) and appends it to the ledger through
``decisions.record_decision``. Everything else here only reads: without a ledger file every
finding is open, and reading never creates one.

:func:`resolve` records the decision and nothing else: showing it (the notebooks, the report,
the sign-off page) is the presentation layer's job.

Example:
    >>> resolve(ws, october, key, "accept", "client keeps 20 seats", "Alice Martin")
    >>> status = status_table(rec.findings, ws, october)
    >>> open_vs_resolved(status)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from recon_helpers.audit import apply_log
from recon_helpers.audit.decisions import (
    decision_payload,
    decision_text,
    latest_decisions,
    record_decision,
)
from recon_helpers.audit.ledger import Entry, Ledger
from recon_helpers.core.errors import LedgerError, UsageError
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import FINDING_KINDS
from recon_helpers.core.workspace import Workspace
from recon_helpers.reconcile.result import Reconciliation
from recon_helpers.reconcile.run import reconcile_period

STATUS_COLUMNS = ("status", "action", "note", "actor", "ts", "new_quantity", "effective_date",
                  "status_detail")
MARK_COLUMNS = ("status", "decision", "decided_by", "decided_at", "status_detail")
# finding figures kept with each decision (the payload of its ledger entry)
SNAPSHOT_FIELDS = ("kind", "client_id", "client_name", "product_id", "vendor", "vendor_customer",
                   "vendor_sku", "vendor_qty", "agreement_qty", "invoiced_qty", "variance_qty",
                   "unit_price", "unit_cost", "impact", "currency")


def status_table(findings: pd.DataFrame, workspace: Workspace, period: Period) -> pd.DataFrame:
    """Findings with their resolution status and latest decision.

    Status: ``resolved`` when the latest decision is not escalate/reopen; else ``held`` when
    the finding is held (its ``hold`` reason: a missing source, a pending mapping, a
    quarantined row); else ``open``. A decision carried out by ``recon apply`` shows
    ``applied`` (or ``conflict`` / ``failed``, the reason in ``status_detail``):
    :func:`with_write_back`.

    Returns:
        The findings' columns plus STATUS_COLUMNS.
    """
    latest = latest_decisions(workspace, period)
    dec = latest.set_index("key")
    out = findings.copy()
    for col in ("action", "note", "actor", "ts", "new_quantity", "effective_date"):
        values = dec[col].to_dict()  # one lookup per finding: findings are few
        out[col] = pd.Series([str(values.get(k, "")) for k in out["key"]], index=out.index,
                             dtype=object)
    resolved = out["key"].isin(dec.index[dec["resolved"].astype(bool)])
    held = out["hold"].ne("") if "hold" in out else pd.Series(False, index=out.index)
    status = np.where(resolved, "resolved", np.where(held, "held", "open"))
    out["status"] = pd.Series(status, index=out.index, dtype=object)
    return with_write_back(out, latest, apply_log.read_states(workspace, period))


def with_write_back(status: pd.DataFrame, decisions: pd.DataFrame,
                    states: Mapping[str, apply_log.ChangeState]) -> pd.DataFrame:
    """``status`` with the write-back of each latest decision laid over it: applied,
    conflict or failed replace the status (they outrank every other), ``status_detail``
    says what was written, where, and under which ledger entry (or why not)."""
    marks = apply_log.finding_outcomes(decisions, states)
    status_of, detail_of = marks["status"].to_dict(), marks["status_detail"].to_dict()
    found = pd.Series([status_of.get(k, "") for k in status["key"]], index=status.index,
                      dtype=object)
    status["status"] = status["status"].where(found.eq(""), found)
    status["status_detail"] = pd.Series([detail_of.get(k, "") for k in status["key"]],
                                        index=status.index, dtype=object)
    if "hold" in status:  # a held finding's detail is its reason (the sentence is in detail)
        held = status["status"].eq("held") & status["status_detail"].eq("")
        status.loc[held, "status_detail"] = status.loc[held, "hold"]
    return status


def mark_findings(findings: pd.DataFrame, workspace: Workspace, period: Period) -> pd.DataFrame:
    """Findings followed by MARK_COLUMNS: status, decision (``"action: note"``), decided_by,
    decided_at (UTC ISO time), as ``recon reconcile --out`` writes them after SPEC's columns.
    """
    status = status_table(findings, workspace, period)
    text = decision_texts(status)
    marks = pd.DataFrame({"status": status["status"],
                          "decision": text,
                          "decided_by": status["actor"], "decided_at": status["ts"],
                          "status_detail": status["status_detail"]})
    return pd.concat([findings, marks.astype(object)], axis=1)


def decision_texts(status: pd.DataFrame) -> pd.Series:
    """The latest decision of each row of a status table as one line (``decision_text``)."""
    return pd.Series([decision_text(a, n, q, e) for a, n, q, e in zip(
        status["action"], status["note"], status["new_quantity"], status["effective_date"],
        strict=True)], index=status.index, dtype=object)


def _dsum(values: pd.Series) -> Decimal:
    return sum((v for v in values if isinstance(v, Decimal)), Decimal("0.00"))


def open_vs_resolved(status: pd.DataFrame) -> pd.DataFrame:
    """Counts and net impact of open, held and resolved findings per kind and currency.

    Returns:
        DataFrame (kind, currency, open, held, resolved, open_impact, held_impact,
        resolved_impact), SPEC order.
    """
    cols = ["kind", "currency", "open", "held", "resolved", "open_impact", "held_impact",
            "resolved_impact"]
    rows: list[dict[str, Any]] = []
    for (kind, cur), grp in status.groupby(["kind", "currency"], sort=False):
        state = grp["status"]
        rows.append({
            "kind": kind, "currency": cur,
            **{s: int(state.eq(s).sum()) for s in ("open", "held")},
            "resolved": int((~state.isin(["open", "held"])).sum()),
            "open_impact": _dsum(grp.loc[state.eq("open"), "impact"]),
            "held_impact": _dsum(grp.loc[state.eq("held"), "impact"]),
            "resolved_impact": _dsum(grp.loc[~state.isin(["open", "held"]), "impact"]),
        })
    out = pd.DataFrame(rows, columns=cols)
    rank = {k: i for i, k in enumerate(FINDING_KINDS)}
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


def findings_of_kind(findings: pd.DataFrame, period: Period, kind: str,
                     client_id: str | None = None, product_id: str | None = None) -> list[str]:
    """The keys of every finding of ``kind`` (of one client and / or product when given).

    Raises:
        UsageError: an unknown kind, or no such finding in the month.
    """
    if kind not in FINDING_KINDS:
        raise UsageError(f"kind {kind!r} is not one of {', '.join(FINDING_KINDS)}")
    chosen = findings[findings["kind"].eq(kind)]
    if client_id:
        chosen = chosen[chosen["client_id"].eq(client_id)]
    if product_id:
        chosen = chosen[chosen["product_id"].eq(product_id)]
    if chosen.empty:
        raise UsageError(f"no {kind} finding in {period}"
                         + (f" for client {client_id}" if client_id else "")
                         + (f" of product {product_id}" if product_id else ""))
    return list(dict.fromkeys(chosen["key"]))


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


def resolve(workspace: Workspace, period: Period, key: str, action: str, note: str, actor: str,
            *, new_quantity: str | Decimal | None = None, effective_date: str | None = None,
            rec: Reconciliation | None = None, ledger: Ledger | None = None) -> Entry:
    """Record a decision on one discrepancy of the month (what the widgets' Save button does).

    Args:
        workspace: the workspace (its ledger is used unless ``ledger`` is given).
        period: the month.
        key: the discrepancy key (column ``key`` of the findings / ``recon reconcile --out``).
        action: one of ``decisions.Action`` (adjust_agreement, adjust_invoice, credit_client,
            accept, escalate, fix_mapping, reopen).
        note: the reason; required for accept and escalate.
        actor: who decides.
        new_quantity: exact decimal text for adjust_agreement / adjust_invoice.
        effective_date: ``YYYY-MM-DD`` from which an adjust_agreement holds (default: the
            first day of the next month).
        rec: the month's reconciliation (default: reconciled now).
        ledger: an open ledger (default: the workspace's, opened for this call).

    Returns:
        The appended ledger entry.

    Raises:
        UsageError: the key is not a discrepancy of the month.
        LedgerError: the decision is incomplete (e.g. accept without a note) or the ledger is
            locked; nothing is recorded.
    """
    return resolve_many(workspace, period, [key], action, note, actor,
                        new_quantity=new_quantity, effective_date=effective_date, rec=rec,
                        ledger=ledger)[0]


def resolve_many(workspace: Workspace, period: Period, keys: Sequence[str], action: str,
                 note: str, actor: str, *, new_quantity: str | Decimal | None = None,
                 effective_date: str | None = None, rec: Reconciliation | None = None,
                 ledger: Ledger | None = None) -> list[Entry]:
    """:func:`resolve` for several findings with one decision (``recon resolve --kind``).

    Every decision is checked before the first is recorded, so a refusal (an unknown key,
    a note missing, a bad quantity or date) records none.

    Returns:
        The appended entries, in the order of ``keys``.
    """
    if rec is None:
        rec = reconcile_period(workspace, period)
    if rec.period != period:
        raise UsageError(f"the reconciliation given is for {rec.period}, not {period}")
    if not str(actor or "").strip():
        raise LedgerError("a ledger entry needs the name of who records it (actor)")
    by_key = rec.findings.drop_duplicates("key").set_index("key")
    unknown = [k for k in keys if k not in by_key.index]
    if unknown:
        raise UsageError(f"no discrepancy with key {unknown[0]!r} in {period} (the keys are "
                         "in column `key` of `recon reconcile --out`)")
    qty = None if isinstance(new_quantity, str) and not new_quantity.strip() else new_quantity
    values = {k: {**finding_snapshot(by_key.loc[k], rec), "new_quantity": qty,
                  "effective_date": effective_date} for k in keys}
    for k in keys:  # refuse before anything is recorded
        decision_payload(period, action, note, **values[k])
    book = Ledger(workspace.ledger_path) if ledger is None else ledger
    try:
        return [record_decision(book, period, k, action, note, actor, **values[k]) for k in keys]
    finally:
        if ledger is None:
            book.close()
