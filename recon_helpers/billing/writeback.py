"""The write-back plan: the PSA changes the month's decisions imply, one per decision.

Like :mod:`~recon_helpers.billing.adjustments` turns decisions into rows of a file, this turns
them into changes of PSA objects, named by the ids the loaders keep (``schemas.PROMISED``
``psa*`` columns). Only the latest ``adjust_agreement`` of each finding changes the PSA:

* one agreement line of the client x product (x currency) stands at the month's end:
  ``set_quantity`` on it (ConnectWise addition ``quantity``; Autotask contract service
  ``units``, written as a delta); a new quantity of 0 ends a ConnectWise addition instead
  (``set_cancelled``: ``cancelledDate`` = the day before the effective date, since the loader
  reads it as the line's last live day) -- the way to end a ``billed_not_delivered``;
* no line: ``new_line`` on the client's one agreement / contract (an ``unbilled_service``):
  a ConnectWise addition effective from the date, or an Autotask adjustment (which creates the
  contract service);
* anything else is ``manual`` with the reason: several lines or agreements to choose from, a
  line without PSA ids (canonical CSVs), HaloPSA (write-back not supported: APIS.md 6.1),
  Autotask fractions (units are whole numbers), a line that ended in the month.

``current`` is the value in the month's data: what the PSA must still show for the change to
be sent (else ``recon apply`` reports a conflict). States: ``ready``; ``applied`` (the ledger
holds its applied outcome: never sent twice); ``undone``; ``waiting`` (a ConnectWise quantity
PATCH takes effect at once, so it waits for its effective date); ``nothing`` (already so);
``manual``; ``later`` (beyond ``--limit``). No request is made to plan.

Example:
    >>> changes = plan(rec, latest_decisions(ws, october), read_states(ws, october))
    >>> plan_frame(changes)[["object", "field", "current", "new", "effective_date", "state"]]
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from recon_helpers.audit.apply_log import ChangeState, decision_change, undo_change
from recon_helpers.audit.decisions import Action, default_effective, parse_day
from recon_helpers.core.errors import UsageError
from recon_helpers.core.schemas import money, qty
from recon_helpers.reconcile.result import Reconciliation

WRITABLE = ("connectwise", "autotask")
PSA_NAMES = {"connectwise": "ConnectWise", "autotask": "Autotask", "halopsa": "HaloPSA"}
PLAN_COLUMNS = ("decision_seq", "client_id", "product_id", "psa", "object", "field", "current",
                "new", "effective_date", "state", "reason", "change")


@dataclass(frozen=True)
class Change:
    """One planned write to the PSA (see the module docstring)."""

    change: str  # change id: d<decision seq>, u<seq of the outcome undone>
    decision_seq: int
    key: str
    client_id: str
    product_id: str
    psa: str = ""
    op: str = ""  # set_quantity | new_line | set_cancelled ("" when manual)
    agreement_id: str = ""  # ConnectWise agreement / Autotask contract
    line_id: str = ""  # ConnectWise addition / Autotask contract service ("" for a new line)
    service_id: str = ""  # ConnectWise product identifier / Autotask service id
    field: str = ""  # quantity | units | cancelledDate
    current: str = ""  # in the month's data ("" = no line / not cancelled)
    new: str = ""
    effective_date: str = ""
    version: str = ""  # ConnectWise _info.lastUpdated the PSA must still show ("" = any)
    unit_price: str = ""  # for a new line / an Autotask adjustment ("" = the PSA's)
    state: str = "ready"
    reason: str = ""
    undo_of: int | None = None

    @property
    def object(self) -> str:
        """The PSA object in words: ``ConnectWise agreement 1006 addition 50012``."""
        name = PSA_NAMES.get(self.psa, self.psa or "no PSA")
        if self.psa == "connectwise":
            line = (f"addition {self.line_id}" if self.line_id
                    else f"new addition of {self.service_id}")
            return f"{name} agreement {self.agreement_id} {line}"
        if self.psa == "autotask":
            line = f" (contract service {self.line_id})" if self.line_id else ""
            return f"{name} contract {self.agreement_id} service {self.service_id}{line}"
        if self.psa == "halopsa":
            return f"{name} recurring invoice {self.agreement_id} line {self.line_id}"
        return f"{name} {self.agreement_id} {self.line_id}".strip()

    def payload(self) -> dict[str, Any]:
        """The change as the ledger keeps it with every attempt and outcome."""
        values = {k: v for k, v in asdict(self).items() if k not in ("state", "reason", "key")}
        return {**values, "object": self.object}


def text(value: Any) -> str:
    """A quantity as plain exact text (``12``, ``3.4``); ``""`` for none."""
    if value is None or value == "":
        return ""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return format(number.normalize(), "f") if number else "0"


def _manual(base: Change, reason: str) -> Change:
    return replace(base, op="", state="manual", reason=reason)


def _month_end_lines(rec: Reconciliation, client: str, product: str, currency: str
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the client's lines of the product live in the month, those standing at its end)."""
    pm = rec.month.promised
    lines = pm[pm["client_id"].eq(client) & pm["product_id"].eq(product)]
    if currency:
        lines = lines[lines["currency"].eq(currency) | lines["currency"].eq("")]
    last = pd.Timestamp(rec.period.last)
    standing = lines[lines["cancelled_date"].isna() | lines["cancelled_date"].ge(last)]
    return lines, standing


def _on_line(base: Change, row: pd.Series, new: Decimal, effective: date) -> Change:
    psa = str(row["psa"])
    current = qty(row["quantity"]) or Decimal(0)
    base = replace(base, psa=psa, agreement_id=str(row["psa_agreement_id"]),
                   line_id=str(row["psa_line_id"]), current=text(current))
    if psa not in WRITABLE:
        why = ("HaloPSA write-back is not supported (which update endpoint keeps the other "
               "lines is unconfirmed)" if psa == "halopsa" else
               "the agreement line comes from a file without PSA ids (canonical CSV)")
        return _manual(base, why)
    if not base.line_id or not base.agreement_id or not bool(row["billable"]):
        return _manual(base, "the agreement line has no PSA line id or is not billable")
    if psa == "autotask":
        base = replace(base, op="set_quantity", field="units",
                       service_id=str(row["psa_service_id"]),
                       unit_price=text(money(row["unit_price"])))
        if (new - current) != (new - current).to_integral_value():
            return _manual(base, "Autotask units change by whole numbers")
    elif new == 0:
        if pd.notna(row["cancelled_date"]):
            return _manual(base, f"the line already ends on {row['cancelled_date']:%Y-%m-%d}")
        return replace(base, op="set_cancelled", field="cancelledDate", current="",
                       new=(effective - timedelta(days=1)).isoformat(),
                       version=str(row["psa_version"]))
    else:
        base = replace(base, op="set_quantity", field="quantity", version=str(row["psa_version"]))
    if new == current:
        return replace(base, state="nothing", reason=f"the line has {text(new)} already")
    return base


def _new_line(base: Change, rec: Reconciliation, new: Decimal, values: Mapping[str, Any]
              ) -> Change:
    if new == 0:
        return replace(base, state="nothing", reason="no agreement line to end")
    pm = rec.month.promised
    mine = pm[pm["client_id"].eq(base.client_id) & pm["psa"].ne("")]
    agreements = mine[["psa", "psa_agreement_id"]].drop_duplicates()
    if len(agreements) != 1:
        return _manual(base, "the client has no agreement in the month's data to add the line "
                       "to" if agreements.empty else f"the client has {len(agreements)} "
                       "agreements: add the line to the right one by hand")
    psa, agreement = (str(v) for v in agreements.iloc[0])
    base = replace(base, psa=psa, agreement_id=agreement, op="new_line", service_id=base.product_id,
                   field="units" if psa == "autotask" else "quantity", current="",
                   unit_price=text(_decimal(values.get("unit_price"))))
    if psa not in WRITABLE:
        return _manual(base, f"{PSA_NAMES.get(psa, psa)} write-back is not supported")
    if psa == "autotask" and new != new.to_integral_value():
        return _manual(base, "Autotask units are whole numbers")
    return base


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def change_for(rec: Reconciliation, seq: int, key: str, values: Mapping[str, Any]) -> Change:
    """The change one ``adjust_agreement`` decision implies (its payload ``values``)."""
    client, product = str(values.get("client_id") or ""), str(values.get("product_id") or "")
    new = _decimal(values.get("new_quantity")) or Decimal(0)
    effective = (parse_day(values["effective_date"]) if values.get("effective_date")
                 else default_effective(rec.period))
    base = Change(decision_change(seq), seq, key, client, product, new=text(new),
                  effective_date=effective.isoformat())
    if not client or not product:
        return _manual(base, "the decision was recorded without its finding's client and "
                       "product (record it with resolve)")
    lines, standing = _month_end_lines(rec, client, product, str(values.get("currency") or ""))
    objects = standing[["psa", "psa_agreement_id", "psa_line_id"]].drop_duplicates()
    if len(objects) > 1:
        return _manual(base, f"{len(objects)} agreement lines of {product} for this client: "
                       "change the right one in the PSA by hand")
    if len(objects) == 1:
        row = standing.sort_values("effective_date", kind="stable").iloc[-1]
        return _on_line(base, row, new, effective)
    if len(lines):
        return _manual(base, f"the agreement line of {product} ended in the month; add or "
                       "change it in the PSA by hand")
    return _new_line(base, rec, new, values)


def _with_state(change: Change, state: ChangeState | None, today: date) -> Change:
    if change.state != "ready":
        return change
    if state is not None and state.undone_by is not None:
        return replace(change, state="undone", reason=f"applied, then undone at ledger seq "
                       f"{state.undone_by.seq}: record a new decision to apply it again")
    if state is not None and state.applied and state.outcome is not None:
        return replace(change, state="applied",
                       reason=f"applied at ledger seq {state.outcome.seq}")
    if (change.psa == "connectwise" and change.op == "set_quantity"
            and date.fromisoformat(change.effective_date) > today):
        return replace(change, state="waiting", reason="a ConnectWise quantity change takes "
                       f"effect at once: it is sent on or after {change.effective_date}")
    if state is not None and (state.result or state.pending is not None):
        last = state.result or "interrupted"
        return replace(change, reason=f"earlier attempt: {last}; the PSA is read first")
    return change


def plan(rec: Reconciliation, decisions: pd.DataFrame, states: Mapping[str, ChangeState], *,
         today: date | None = None, only: Sequence[str] = (), limit: int | None = None
         ) -> list[Change]:
    """The month's write-back changes, one per latest ``adjust_agreement`` decision.

    Args:
        rec: the month's reconciliation (the agreement lines and their PSA ids).
        decisions: ``decisions.latest_decisions`` of the month.
        states: ``apply_log.read_states`` (what was applied already).
        today: for ConnectWise quantity changes that wait for their date (default: today).
        only: client ids to plan for (empty: all).
        limit: at most this many ``ready`` changes; the others are ``later``.

    Returns:
        Changes in decision order.
    """
    today = today or date.today()
    chosen = decisions[decisions["action"].eq(Action.ADJUST_AGREEMENT.value)]
    changes = []
    for row in chosen.sort_values("seq", kind="stable").itertuples(index=False):
        values = json.loads(row.values)
        if only and str(values.get("client_id") or "") not in only:
            continue
        change = change_for(rec, int(row.seq), str(row.key), values)
        changes.append(_with_state(change, states.get(change.change), today))
    if limit is not None:
        ready = [c.change for c in changes if c.state == "ready"][:max(limit, 0)]
        changes = [c if c.state != "ready" or c.change in ready else
                   replace(c, state="later", reason=f"beyond --limit {limit}") for c in changes]
    return changes


def plan_frame(changes: Sequence[Change]) -> pd.DataFrame:
    """The plan as a table (PLAN_COLUMNS), one row per change, as ``recon apply`` prints it."""
    rows = [{"decision_seq": c.decision_seq, "client_id": c.client_id,
             "product_id": c.product_id, "psa": PSA_NAMES.get(c.psa, c.psa),
             "object": c.object, "field": c.field, "current": c.current or "(none)",
             "new": c.new or "(none)", "effective_date": c.effective_date, "state": c.state,
             "reason": c.reason, "change": c.change} for c in changes]
    return pd.DataFrame(rows, columns=list(PLAN_COLUMNS), dtype=object)


def _reverse(done: Change, outcome: Mapping[str, Any]) -> Change:
    """The change that puts back what ``done`` changed (read from its applied outcome)."""
    after = str(outcome.get("version_after") or "")
    if done.op == "new_line" and done.psa == "connectwise":
        # the addition it created never goes live: it ends the day before it starts
        start = date.fromisoformat(done.effective_date)
        return replace(done, op="set_cancelled", field="cancelledDate",
                       line_id=str(outcome.get("psa_id") or ""), current="",
                       new=(start - timedelta(days=1)).isoformat(), version=after)
    if done.op == "new_line":  # Autotask: the contract service it created goes back to 0
        return replace(done, op="set_quantity", current=done.new, new="0")
    return replace(done, current=done.new, new=done.current, version=after)


def undo_for(states: Mapping[str, ChangeState], seq: int) -> Change:
    """The reverse of the applied change whose outcome is ledger entry ``seq`` (or of the
    change of decision ``seq``), with the same checks when applied.

    Raises:
        UsageError: ``seq`` is not an applied change, was undone already, or is an undo.
    """
    by_outcome = {s.outcome.seq: s for s in states.values() if s.outcome is not None}
    state = by_outcome.get(seq) or states.get(decision_change(seq))
    if state is None or not (state.applied or state.undone_by is not None):
        raise UsageError(f"ledger seq {seq} is not a change recon apply applied (its output "
                         "and `recon reconcile --out` name the ledger seq of each)")
    if state.change.startswith("u"):
        raise UsageError(f"ledger seq {seq} is itself an undo; record a new decision instead")
    if state.undone_by is not None:
        raise UsageError(f"the change at ledger seq {seq} was undone already "
                         f"(seq {state.undone_by.seq})")
    assert state.outcome is not None
    payload = state.outcome.payload
    fields = {f: payload[f] for f in Change.__dataclass_fields__ if f in payload}
    done = Change(**{**fields, "key": state.key, "state": "ready", "reason": ""})
    undo = _reverse(done, payload)
    undo_state = states.get(undo_change(state.outcome.seq))
    reason = f"undoes ledger seq {state.outcome.seq}"
    if undo_state is not None and (undo_state.result or undo_state.pending is not None):
        reason += f"; earlier attempt: {undo_state.result or 'interrupted'}"
    return replace(undo, change=undo_change(state.outcome.seq), undo_of=state.outcome.seq,
                   reason=reason)
