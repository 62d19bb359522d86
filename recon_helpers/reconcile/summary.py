"""Summary figures of a month's findings: by kind, by client, and the export shape.

Money is summed per currency, never across currencies.

Example:
    >>> impact_by_kind(rec.findings)
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd

from recon_helpers.core.schemas import DISCREPANCY_COLUMNS, DISCREPANCY_KINDS


def _dsum(values: pd.Series) -> Decimal:
    return sum((v for v in values if isinstance(v, Decimal)), Decimal("0.00"))


def impact_by_kind(findings: pd.DataFrame) -> pd.DataFrame:
    """Count and summed impact per kind and currency, in SPEC kind order.

    Returns:
        DataFrame (kind, currency, count, impact, to_bill, to_credit); impact columns Decimal.
    """
    cols = ["kind", "currency", "count", "impact", "to_bill", "to_credit"]
    if findings.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for (kind, cur), grp in findings.groupby(["kind", "currency"], sort=False):
        imp = grp["impact"]
        rows.append(
            {
                "kind": kind,
                "currency": cur,
                "count": len(grp),
                "impact": _dsum(imp),
                "to_bill": _dsum(v for v in imp if isinstance(v, Decimal) and v > 0),
                "to_credit": _dsum(v for v in imp if isinstance(v, Decimal) and v < 0),
            }
        )
    out = pd.DataFrame(rows, columns=cols)
    rank = {k: i for i, k in enumerate(DISCREPANCY_KINDS)}
    return out.sort_values(
        ["kind", "currency"], key=lambda s: s.map(rank) if s.name == "kind" else s, kind="stable"
    ).reset_index(drop=True)


def top_clients(findings: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The clients with the largest absolute impact (per currency).

    Returns:
        DataFrame (client_id, client_name, currency, findings, impact, abs_impact).
    """
    cols = ["client_id", "client_name", "currency", "findings", "impact", "abs_impact"]
    f = findings[findings["client_id"].ne("")]
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
    rest = [c for c in findings.columns if c not in first]
    out = findings[first + rest].copy()
    for c in out.columns:
        out[c] = [_text(v) for v in out[c]]
    return out


def totals(findings: pd.DataFrame) -> dict[str, Any]:
    """Headline figures for the report and manifest: counts, per-currency impact, clients."""
    by_cur: dict[str, dict[str, str]] = {}
    for cur, grp in findings.groupby("currency"):
        imp = [v for v in grp["impact"] if isinstance(v, Decimal)]
        by_cur[str(cur)] = {
            "impact": str(sum(imp, Decimal("0.00"))),
            "leakage_found": str(sum((v for v in imp if v > 0), Decimal("0.00"))),
            "to_credit": str(sum((v for v in imp if v < 0), Decimal("0.00"))),
        }
    return {
        "discrepancies": len(findings),
        "by_kind": {k: int((findings["kind"] == k).sum()) for k in DISCREPANCY_KINDS},
        "clients_affected": int(findings.loc[findings["client_id"].ne(""), "client_id"].nunique()),
        "by_currency": by_cur,
    }
