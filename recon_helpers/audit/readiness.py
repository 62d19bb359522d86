"""Is the month ready to be signed? Everything that stands between it and the preparer's seal.

SPEC: the preparer's sign-off is refused while the month has open or held findings, unmapped
customers, missing sources or quarantined rows nobody acknowledged (rows set aside for a
reason in ``DATA_LOSING_REASONS``: they held data the month needed), unless ``--waive REASON``
records each of them as waived with that reason. :func:`month_readiness` lists them, one
:class:`Item` each, from the same reconciliation and ledger that the report shows; the
preparer's waiver (a ``waiver`` ledger entry written just before the seal) records the items
exactly as they were listed.

A write-back ``conflict`` or ``failed`` is an open item too: the decision has not reached the
PSA. A finding whose latest decision is resolved or applied is settled.

Example:
    >>> ready = month_readiness(ws, october)
    >>> ready.clear
    False
    >>> ready.lines()[:2]
    ['missing source: huntress organizations, present in 2026-08 and 2026-09', ...]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from recon_helpers.audit.status import status_table
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import DATA_LOSING_REASONS
from recon_helpers.core.workspace import Workspace
from recon_helpers.reconcile.holds import describe_missing
from recon_helpers.reconcile.result import Reconciliation
from recon_helpers.reconcile.run import reconcile_period

# in the order a refusal lists them: what is missing first, then what waits on mapping
CATEGORIES = ("missing_source", "unmapped_customer", "held_finding", "open_finding",
              "write_back", "quarantined_row")
_LABELS = {
    "missing_source": "source",
    "unmapped_customer": "unmapped customer",
    "held_finding": "held finding",
    "open_finding": "open finding",
    "write_back": "write-back not done",
    "quarantined_row": "quarantined row",
}
UNSETTLED = ("open", "held", "conflict", "failed")


@dataclass(frozen=True)
class Item:
    """One thing that keeps the month from being signed."""

    category: str  # one of CATEGORIES
    ident: str  # a finding key, a vendor customer, a source family, or file:row
    text: str  # the sentence a person reads

    def as_dict(self) -> dict[str, str]:
        """The item as the waiver's ledger payload keeps it."""
        return {"category": self.category, "ident": self.ident, "text": self.text}


@dataclass(frozen=True)
class Readiness:
    """What must be settled (or waived) before the preparer signs ``period``."""

    period: Period
    items: tuple[Item, ...]

    @property
    def clear(self) -> bool:
        """Nothing open, held, unmapped, missing or quarantined."""
        return not self.items

    def counts(self) -> dict[str, int]:
        """Items per category, in CATEGORIES order, categories with none left out."""
        found = pd.Series([i.category for i in self.items], dtype=object).value_counts()
        return {c: int(found[c]) for c in CATEGORIES if c in found}

    def summary(self) -> str:
        """``"3 open findings, 2 quarantined rows"``."""
        return ", ".join(f"{n} {_LABELS[c]}{'s' if n != 1 else ''}"
                         for c, n in self.counts().items())

    def lines(self, max_rows: int | None = None) -> list[str]:
        """One line per item (``label: text``); with ``max_rows``, at most that many
        quarantined rows, then how many more (every finding and source is always listed)."""
        rows = [i for i in self.items if i.category == "quarantined_row"]
        shown = [i for i in self.items if i.category != "quarantined_row"]
        shown += rows if max_rows is None else rows[:max_rows]
        out = [f"{_LABELS[i.category]}: {i.text}" for i in shown]
        if max_rows is not None and len(rows) > max_rows:
            out.append(f"... and {len(rows) - max_rows} more quarantined rows "
                       "(recon reconcile lists them by file and reason)")
        return out


def _money(value: Any, currency: str) -> str:
    if value is None or pd.isna(value):
        return ""
    return f", impact {value:+,.2f} {currency}".rstrip()


def _finding_items(status: pd.DataFrame) -> list[Item]:
    items = []
    for f in status[status["status"].isin(UNSETTLED)].to_dict("records"):
        if f["kind"] == "unmapped_customer":
            category = "unmapped_customer"
        elif f["status"] in ("conflict", "failed"):
            category = "write_back"
        else:
            category = f"{f['status']}_finding"
        detail = str(f["detail"])
        detail = detail if len(detail) <= 240 else detail[:237] + "..."
        reason = f" [{f['status_detail']}]" if f["status_detail"] else ""
        if category == "unmapped_customer":  # its detail names the customer and suggestions
            items.append(Item(category, str(f["key"]), f"{detail}{reason}"))
            continue
        who = (f"{f['client_name']} ({f['client_id']})" if f["client_id"]
               else f"{f['vendor']} customer {f['vendor_customer']}")
        what = f"{f['kind']} {who}"
        if f["product_id"]:
            what += f" / {f['product_id']}"
        items.append(Item(category, str(f["key"]),
                          f"{what}{_money(f['impact'], f['currency'])}{reason}: {detail}"))
    return items


def _quarantine_items(quarantine: pd.DataFrame) -> list[Item]:
    # only rows that held data the month needed; a repeat, a payment line or another month's
    # row carries nothing to reconcile (and is still listed in the quarantine)
    lost = quarantine[quarantine["reason"].isin([r.value for r in DATA_LOSING_REASONS])]
    lost = lost.drop_duplicates(["file", "row"])
    return [Item("quarantined_row", f"{q['file']}:{q['row']}",
                 f"{q['file']}:{q['row']} {q['reason']}"
                 + (f" ({q['column']}={q['value']!r})" if q["column"] else ""))
            for q in lost.fillna("").to_dict("records")]


def readiness(rec: Reconciliation, status: pd.DataFrame) -> Readiness:
    """The month's items from its reconciliation and its status table (status_table())."""
    items = [Item("missing_source", m.source, describe_missing(m)) for m in rec.missing]
    items += _finding_items(status)
    items += _quarantine_items(rec.loaded.quarantine)
    order = {c: n for n, c in enumerate(CATEGORIES)}
    return Readiness(rec.period, tuple(sorted(items, key=lambda i: order[i.category])))


def month_readiness(workspace: Workspace, period: Period,
                    progress: Callable[[str], None] | None = None) -> Readiness:
    """Reconcile the month as it stands (inputs, mappings, ledger) and list what is unsettled."""
    rec = reconcile_period(workspace, period, progress=progress)
    return readiness(rec, status_table(rec.findings, workspace, period))
