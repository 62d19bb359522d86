"""Summary figures of a month's findings: by kind, by client, and the export shape.

Money is summed per currency, never across currencies.

Example:
    >>> impact_by_kind(rec.findings)
    >>> headline(rec.findings, rec.loaded.inventory, len(rec.clients)).as_dict()
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from recon_helpers.core.schemas import DISCREPANCY_COLUMNS, DISCREPANCY_KINDS, FINDING_KINDS


def _dsum(values: pd.Series) -> Decimal:
    return sum((v for v in values if isinstance(v, Decimal)), Decimal("0.00"))


def _counted(findings: pd.DataFrame) -> pd.Series:
    """True for findings that count in money totals: not held (reconcile/holds.py)."""
    return findings["hold"].eq("") if "hold" in findings else pd.Series(True, findings.index)


def impact_by_kind(findings: pd.DataFrame) -> pd.DataFrame:
    """Count and summed impact per kind and currency, in SPEC kind order.

    Held findings are counted (``held``) but not summed: they count as money to bill or to
    credit only once what they wait on is settled.

    Returns:
        DataFrame (kind, currency, count, impact, to_bill, to_credit, held); impact columns
        Decimal.
    """
    cols = ["kind", "currency", "count", "impact", "to_bill", "to_credit", "held"]
    if findings.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    counted = _counted(findings)
    for (kind, cur), grp in findings.groupby(["kind", "currency"], sort=False):
        imp = grp.loc[counted[grp.index], "impact"]
        rows.append(
            {
                "kind": kind,
                "currency": cur,
                "count": len(grp),
                "impact": _dsum(imp),
                "to_bill": _dsum(v for v in imp if isinstance(v, Decimal) and v > 0),
                "to_credit": _dsum(v for v in imp if isinstance(v, Decimal) and v < 0),
                "held": int((~counted[grp.index]).sum()),
            }
        )
    out = pd.DataFrame(rows, columns=cols)
    rank = {k: i for i, k in enumerate(FINDING_KINDS)}
    return out.sort_values(
        ["kind", "currency"], key=lambda s: s.map(rank) if s.name == "kind" else s, kind="stable"
    ).reset_index(drop=True)


def top_clients(findings: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The clients with the largest absolute impact (per currency).

    Returns:
        DataFrame (client_id, client_name, currency, findings, impact, abs_impact).
    """
    cols = ["client_id", "client_name", "currency", "findings", "impact", "abs_impact"]
    f = findings[findings["client_id"].ne("") & _counted(findings)]
    if f.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for (cid, name, cur), grp in f.groupby(["client_id", "client_name", "currency"]):
        rows.append(
            {
                "client_id": cid,
                "client_name": name,
                "currency": cur,
                "findings": len(grp),
                "impact": _dsum(grp["impact"]),
                "abs_impact": _dsum(abs(v) for v in grp["impact"] if isinstance(v, Decimal)),
            }
        )
    out = pd.DataFrame(rows, columns=cols)
    return (
        out.sort_values(["abs_impact", "client_id"], ascending=[False, True])
        .head(n)
        .reset_index(drop=True)
    )


def _text(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, Decimal):
        return format(v, "f")
    return str(v)


def findings_for_export(findings: pd.DataFrame) -> pd.DataFrame:
    """The discrepancy table as SPEC columns (then key, detail, any extras), every cell a string.

    Decimals are written exactly (``10.00``, ``2.5``), missing values empty.
    """
    first = list(DISCREPANCY_COLUMNS)
    # ``hold`` is internal: the status column says held, the detail says why
    rest = [c for c in findings.columns if c not in first and c != "hold"]
    out = findings[first + rest].copy()
    for c in out.columns:
        out[c] = [_text(v) for v in out[c]]
    return out


@dataclass(frozen=True)
class CurrencyTotals:
    """Summed impacts of one currency (currencies are never added together)."""

    impact: Decimal
    leakage_found: Decimal  # positive impacts: still to bill
    to_credit: Decimal  # negative impacts: to credit back, or margin lost


@dataclass(frozen=True)
class Headline:
    """The month's headline figures: the report's first section and manifest.json's summary."""

    discrepancies: int
    held: int  # counted in discrepancies, not in the money
    by_kind: tuple[tuple[str, int], ...]  # every SPEC kind, in SPEC order
    clients_affected: int
    by_currency: tuple[tuple[str, CurrencyTotals], ...]  # sorted by currency code
    files: int
    rows_read: int
    rows_used: int
    rows_quarantined: int
    clients: int

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of manifest.json's ``summary`` (amounts as exact decimal text)."""
        return {
            "discrepancies": self.discrepancies,
            "held": self.held,
            "by_kind": dict(self.by_kind),
            "clients_affected": self.clients_affected,
            "by_currency": {cur: {k: str(v) for k, v in vars(amounts).items()}
                            for cur, amounts in self.by_currency},
            "files": self.files,
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_quarantined": self.rows_quarantined,
            "clients": self.clients,
        }


def headline(findings: pd.DataFrame, inventory: pd.DataFrame, clients: int) -> Headline:
    """Headline figures of the findings in scope and the month's input rows.

    Args:
        findings: the findings in scope (FINDING_COLUMNS).
        inventory: the load inventory (rows read, used, quarantined per file).
        clients: how many clients are in scope.
    """
    by_cur = []
    counted = _counted(findings)
    for cur, grp in findings[counted].groupby("currency"):
        imp = [v for v in grp["impact"] if isinstance(v, Decimal)]
        by_cur.append((str(cur), CurrencyTotals(
            impact=sum(imp, Decimal("0.00")),
            leakage_found=sum((v for v in imp if v > 0), Decimal("0.00")),
            to_credit=sum((v for v in imp if v < 0), Decimal("0.00")))))
    return Headline(
        discrepancies=len(findings),
        held=int((~counted).sum()),
        # every SPEC kind; a licence kind (LICENCE_KINDS) only when the month has one
        by_kind=tuple((k, n) for k in FINDING_KINDS
                      if (n := int((findings["kind"] == k).sum())) or k in DISCREPANCY_KINDS),
        clients_affected=int(findings.loc[findings["client_id"].ne(""), "client_id"].nunique()),
        by_currency=tuple(by_cur),
        files=len(inventory),
        rows_read=int(inventory["rows_read"].sum()),
        rows_used=int(inventory["rows_used"].sum()),
        rows_quarantined=int(inventory["rows_quarantined"].sum()),
        clients=clients,
    )
