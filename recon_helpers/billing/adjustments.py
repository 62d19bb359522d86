"""The adjustments export: the agreement and invoice changes the month's decisions imply.

One row per change, in a flat shape a PSA import (ConnectWise agreement additions and invoice
adjustments, Autotask contract services and billing items) can map column by column:

``client_id, client_name, product_id, description, change_type, current_quantity,
new_quantity, unit_price, amount, currency, reason, decided_by, decided_at, discrepancy_key,
effective_date, write_back, write_back_detail``

``effective_date`` is the day an agreement change holds from (the decision's, by default the
first day of the next month); ``write_back`` is ``applied`` when ``recon apply`` wrote the
change to the PSA (``conflict`` / ``failed`` when it could not; empty before it ran), and
``write_back_detail`` names the PSA object and the ledger entry (or the reason).

Only the latest decision per discrepancy counts (a later ``accept`` withdraws an earlier
``adjust_agreement``). The figures come from the snapshot
:func:`~recon_helpers.audit.status.resolve` keeps with each decision; a decision recorded
without one (a bare ``record_decision``) takes them from the month's reconciliation.

``change_type`` per action:

* ``adjust_agreement`` -> ``agreement_quantity``: the agreement line's quantity goes from
  ``current_quantity`` (the agreement's) to ``new_quantity``; ``amount`` is the monthly
  change, (new - current) x unit price.
* ``adjust_invoice`` -> ``invoice_adjustment``: an invoice line of (new - current) units at
  ``unit_price`` (current = invoiced quantity); for a ``price_mismatch`` (no new quantity) the
  quantity stays and ``amount`` is the price difference owed (the finding's impact).
* ``credit_client`` -> ``credit``: ``amount`` is minus the absolute impact; ``new_quantity``
  is what should have been billed (billed quantity + the negative variance).

Two agreement changes on the same client x product x currency keep the latest. Amounts are
rounded half up to the cent; quantities and money are exact Decimals (numbers in the file).

Example:
    >>> write_adjustments(ws, october, "reports/2026-10-adjustments.xlsx")
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd

from recon_helpers.audit import apply_log
from recon_helpers.audit.decisions import Action, latest_decisions
from recon_helpers.audit.status import description, finding_snapshot
from recon_helpers.core.exports import write_table
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import CENT
from recon_helpers.core.workspace import Workspace
from recon_helpers.reconcile.result import Reconciliation
from recon_helpers.reconcile.run import reconcile_period

ADJUSTMENT_COLUMNS = ("client_id", "client_name", "product_id", "description", "change_type",
                      "current_quantity", "new_quantity", "unit_price", "amount", "currency",
                      "reason", "decided_by", "decided_at", "discrepancy_key",
                      "effective_date", "write_back", "write_back_detail")
CHANGE_TYPES = {Action.ADJUST_AGREEMENT.value: "agreement_quantity",
                Action.ADJUST_INVOICE.value: "invoice_adjustment",
                Action.CREDIT_CLIENT.value: "credit"}


def _dec(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _cents(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(CENT, rounding=ROUND_HALF_UP)


def _times(qty: Decimal | None, price: Decimal | None) -> Decimal | None:
    return None if qty is None or price is None else _cents(qty * price)


def change_row(action: str, values: dict[str, Any]) -> dict[str, Any]:
    """Quantities and amount of one decision's change (see the module rules)."""
    agreed, invoiced = _dec(values.get("agreement_qty")), _dec(values.get("invoiced_qty"))
    price, impact = _dec(values.get("unit_price")), _dec(values.get("impact"))
    new = _dec(values.get("new_quantity"))
    if action == Action.ADJUST_AGREEMENT:
        current = agreed if agreed is not None else Decimal(0)
        amount = _times(new - current, price) if new is not None else None
    elif action == Action.ADJUST_INVOICE and new is not None:
        current = invoiced if invoiced is not None else Decimal(0)
        amount = _times(new - current, price)
    elif action == Action.ADJUST_INVOICE:  # price_mismatch: corrected by price
        current = new = invoiced
        amount = _cents(impact)
    else:  # credit_client
        current = invoiced if invoiced is not None else agreed
        variance = _dec(values.get("variance_qty"))
        new = current + variance if current is not None and variance is not None and (
            variance < 0) else current
        amount = _cents(-abs(impact)) if impact is not None else None
    return {"change_type": CHANGE_TYPES[action], "current_quantity": current,
            "new_quantity": new, "unit_price": price, "amount": amount}


def _changing_decisions(workspace: Workspace, period: Period) -> pd.DataFrame:
    frame = latest_decisions(workspace, period)
    return frame[frame["action"].isin(list(CHANGE_TYPES))].reset_index(drop=True)


def adjustments(workspace: Workspace, period: Period,
                rec: Reconciliation | None = None) -> pd.DataFrame:
    """The month's agreement and invoice changes, ADJUSTMENT_COLUMNS, by client and product.

    Args:
        workspace: the workspace whose ledger holds the decisions.
        period: the month.
        rec: the month's reconciliation; only needed (and then computed when not given) for
            decisions recorded without a snapshot of their finding.

    Returns:
        DataFrame with text columns as ``str`` and numbers as exact ``Decimal``.
    """
    decided = _changing_decisions(workspace, period)
    payloads = [json.loads(v) for v in decided["values"]]
    marks = apply_log.finding_outcomes(decided, apply_log.read_states(workspace, period))
    if rec is None and any("kind" not in p or "description" not in p for p in payloads):
        rec = reconcile_period(workspace, period)
    by_key = rec.findings.set_index("key") if rec is not None else pd.DataFrame()
    rows = []
    for dec, payload in zip(decided.itertuples(index=False), payloads, strict=True):
        values = dict(payload)
        if rec is not None and dec.key in by_key.index:  # fill what the decision did not keep
            known = finding_snapshot(by_key.loc[dec.key], rec)
            values = {**known, **{k: v for k, v in values.items() if v not in (None, "")}}
        if not values.get("description") and rec is not None:
            values["description"] = description(rec, str(values.get("client_id") or ""),
                                                str(values.get("product_id") or ""))
        rows.append({
            **{c: str(values.get(c) or "") for c in ("client_id", "client_name", "product_id",
                                                       "description", "currency")},
            **change_row(dec.action, values),
            "reason": dec.note or str(values.get("kind") or ""),
            "decided_by": dec.actor, "decided_at": dec.ts, "discrepancy_key": dec.key,
            "effective_date": str(values.get("effective_date") or ""),
            "write_back": marks["status"].get(dec.key, ""),
            "write_back_detail": marks["status_detail"].get(dec.key, ""),
            "_seq": dec.seq,
        })
    out = pd.DataFrame(rows, columns=[*ADJUSTMENT_COLUMNS, "_seq"]).astype(object)
    agreement = out["change_type"].eq("agreement_quantity")
    dupes = out[agreement].duplicated(["client_id", "product_id", "currency"], keep="last")
    out = out.drop(index=dupes[dupes].index)
    out = out.sort_values(["client_id", "product_id", "change_type", "_seq"], kind="stable")
    return out.drop(columns="_seq").reset_index(drop=True)


def write_adjustments(workspace: Workspace, period: Period, path: str | Path,
                      rec: Reconciliation | None = None) -> tuple[Path, pd.DataFrame]:
    """Write :func:`adjustments` as CSV or XLSX (by extension) through
    ``core.exports.write_table``: formula-safe text cells, exact numbers, atomic.

    Returns:
        The written path and the table.
    """
    table = adjustments(workspace, period, rec)
    return write_table(table, path, sheet_name="adjustments"), table

