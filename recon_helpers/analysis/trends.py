"""Variance trends: every month of the workspace up to the report month, reconciled afresh.

Each month goes through ``reconcile_period`` exactly as its own report would (its stored
result when nothing it depends on changed: audit/cache.py), so a trend
figure for a month equals that month's report. Months after the report month are left out,
so re-rendering an old month does not change with later inputs. Money is summed per
currency, never across currencies.

Example:
    >>> trend = collect(ws, october, progress=print)
    >>> impact_by_month(trend)
    >>> margins.by_vendor(trend.margins.lines)  # margins of the same reconciliations
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from recon_helpers.analysis.margins import MARGIN_COLUMNS, MarginTrend, margins
from recon_helpers.audit.cache import cached_reconcile
from recon_helpers.core.errors import UsageError
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import DISCREPANCY_KINDS
from recon_helpers.core.workspace import Workspace
from recon_helpers.reconcile.result import FINDING_COLUMNS


@dataclass(frozen=True)
class Trends:
    """Findings, input counts and margins of several months."""

    periods: tuple[Period, ...]
    findings: pd.DataFrame  # FINDING_COLUMNS of every month (``period`` tells them apart)
    inputs: pd.DataFrame  # period, files, rows_read, rows_used, rows_quarantined, findings
    margins: MarginTrend | None = None  # collect() fills it


def _dsum(values: Any) -> Decimal:
    return sum((v for v in values if isinstance(v, Decimal)), Decimal("0.00"))


def collect(workspace: Workspace, upto: Period, client_ids: Sequence[str] = (),
            progress: Callable[[str], None] | None = None) -> Trends:
    """Reconcile every month with inputs up to and including ``upto``.

    Args:
        progress: called with a line per month reconciled (the notebook shows it updating).

    Raises:
        UsageError: no month with inputs up to ``upto``.
        ReconError: a month's inputs cannot be read (names file, row and problem).
    """
    periods = tuple(p for p in workspace.periods() if p <= upto)
    if not periods:
        raise UsageError(f"no month with inputs up to {upto} in {workspace.root}")
    report = progress or (lambda msg: None)
    floor = workspace.settings().margin_floor_pct
    start, parts, inputs, margin_parts = time.perf_counter(), [], [], []
    for i, period in enumerate(periods, start=1):
        report(f"Reconciling {period} ({i}/{len(periods)})…")
        rec = cached_reconcile(workspace, period)
        f = rec.findings
        if period == upto:
            rec.check_clients(client_ids, "parameter client_ids")
        if client_ids:
            f = f[f["client_id"].isin(list(client_ids))]
        parts.append(f)
        margin_parts.append(margins(rec, client_ids, floor))
        inv = rec.loaded.inventory
        inputs.append({"period": str(period), "files": len(inv),
                       "rows_read": int(inv["rows_read"].sum()),
                       "rows_used": int(inv["rows_used"].sum()),
                       "rows_quarantined": int(inv["rows_quarantined"].sum()),
                       "findings": len(f)})
    report(f"Reconciled {len(periods)} month(s), {periods[0]} to {periods[-1]}, "
           f"in {time.perf_counter() - start:.1f} s.")
    found = [p for p in parts if len(p)]
    findings = (pd.concat(found, ignore_index=True) if found
                else pd.DataFrame(columns=list(FINDING_COLUMNS)))
    lines = [m for m in margin_parts if len(m)]
    margin_lines = (pd.concat(lines, ignore_index=True) if lines
                    else pd.DataFrame(columns=list(MARGIN_COLUMNS)))
    return Trends(periods, findings, pd.DataFrame(inputs),
                  MarginTrend(periods, margin_lines, floor))


def _grouped(f: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    cols = [*keys, "count", "impact", "to_bill", "to_credit"]
    if f.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for key, grp in f.groupby(keys, sort=True):
        imp = list(grp["impact"])
        rows.append({**dict(zip(keys, key, strict=True)), "count": len(grp),
                     "impact": _dsum(imp),
                     "to_bill": _dsum(v for v in imp if isinstance(v, Decimal) and v > 0),
                     "to_credit": _dsum(v for v in imp if isinstance(v, Decimal) and v < 0)})
    return pd.DataFrame(rows, columns=cols)


def impact_by_month(trend: Trends) -> pd.DataFrame:
    """Count and impact per month and currency (Decimal impact, to_bill, to_credit)."""
    return _grouped(trend.findings, ["period", "currency"])


def impact_by_vendor(trend: Trends) -> pd.DataFrame:
    """Count and impact per month, vendor and currency ("" vendor = PSA-only findings)."""
    return _grouped(trend.findings, ["period", "vendor", "currency"])


def impact_by_client(trend: Trends, n: int = 10) -> pd.DataFrame:
    """Count and impact per month for the ``n`` clients with the largest total |impact|."""
    f = trend.findings[trend.findings["client_id"].ne("")]
    if f.empty:
        return pd.DataFrame(columns=["period", "client", "currency", "count", "impact"])
    size = f.groupby("client_id")["impact"].agg(
        lambda s: sum((abs(v) for v in s if isinstance(v, Decimal)), Decimal(0)))
    top = size.sort_values(ascending=False, kind="stable").head(n).index
    keep = f[f["client_id"].isin(top)]
    keep = keep.assign(client=keep["client_name"] + " (" + keep["client_id"] + ")")
    out = _grouped(keep, ["period", "client", "currency"])
    return out.drop(columns=["to_bill", "to_credit"])


def counts_by_kind(trend: Trends) -> pd.DataFrame:
    """Number of discrepancies per month and kind (every SPEC kind, zeros included)."""
    f = trend.findings
    rows = [{"period": str(p), "kind": k,
             "count": int(((f["period"] == str(p)) & (f["kind"] == k)).sum())}
            for p in trend.periods for k in DISCREPANCY_KINDS]
    return pd.DataFrame(rows, columns=["period", "kind", "count"])


def largest_movers(trend: Trends, n: int = 10) -> pd.DataFrame:
    """Clients whose net impact changed most between the last two months.

    Returns:
        DataFrame (client_id, client_name, currency, previous, latest, change), largest
        absolute change first; empty with fewer than two months.
    """
    cols = ["client_id", "client_name", "currency", "previous", "latest", "change"]
    if len(trend.periods) < 2:
        return pd.DataFrame(columns=cols)
    prev, last = str(trend.periods[-2]), str(trend.periods[-1])
    f = trend.findings[trend.findings["client_id"].ne("")
                       & trend.findings["period"].isin([prev, last])]
    rows = []
    for (cid, cur), grp in f.groupby(["client_id", "currency"], sort=True):
        a = _dsum(grp.loc[grp["period"] == prev, "impact"])
        b = _dsum(grp.loc[grp["period"] == last, "impact"])
        if a != b:
            rows.append({"client_id": cid, "client_name": grp["client_name"].iloc[-1],
                         "currency": cur, "previous": a, "latest": b, "change": b - a})
    out = pd.DataFrame(rows, columns=cols)
    if out.empty:
        return out
    out["_abs"] = out["change"].map(abs)
    out = out.sort_values(["_abs", "client_id"], ascending=[False, True], kind="stable")
    return out.drop(columns="_abs").head(n).reset_index(drop=True)
