"""Which part of a dated line counts for a month: the ``month_rule`` of recon.toml.

* ``month_end`` (default): the quantity as it stands on the last day of the month. A line
  counts fully when its range covers that day (start empty or on/before it, end empty or
  on/after it), else not at all. Microsoft reversal pairs and Autotask split unit rows then net
  to the count at month end.
* ``day_weighted``: quantity x days of the line's range inside the month / days in the month
  (rounded half away from zero to the 4th decimal). A line without dates counts fully.

Both rules apply the same way to vendor lines and agreement lines. A line is *live* in the
month when its range overlaps it at all (SPEC: effective on or before the last day, not
cancelled before the first); lines that are live but count 0 still explain findings.

Example:
    >>> weighted_quantity(q, start, end, Period.parse("2026-10"), "month_end")
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recon_helpers.core.period import Period
from recon_helpers.core.workspace import MonthRule


def overlap_days(start: pd.Series, end: pd.Series, period: Period) -> tuple[np.ndarray, int]:
    """Days of each [start, end] (inclusive, NaT = open) inside the month, and the month's days."""
    first, last = pd.Timestamp(period.first), pd.Timestamp(period.last)
    s = start.fillna(first).clip(lower=first)
    e = end.fillna(last).clip(upper=last)
    days = ((e - s).dt.days + 1).clip(lower=0).to_numpy(dtype="int64")
    return days, (last - first).days + 1


def is_live(start: pd.Series, end: pd.Series, period: Period) -> pd.Series:
    """True where the line's range overlaps the month (SPEC's "live in the month")."""
    first, last = pd.Timestamp(period.first), pd.Timestamp(period.last)
    return (start.isna() | (start <= last)) & (end.isna() | (end >= first))


def weighted_quantity(
    quantity: pd.Series, start: pd.Series, end: pd.Series, period: Period, rule: MonthRule
) -> pd.Series:
    """The fixed-point quantity each line contributes to the month under ``rule``."""
    q = quantity.to_numpy(dtype="int64")
    if rule == "month_end":
        last = pd.Timestamp(period.last)
        covers = (start.isna() | (start <= last)) & (end.isna() | (end >= last))
        return pd.Series(np.where(covers.to_numpy(), q, 0), index=quantity.index, dtype="int64")
    days, month_days = overlap_days(start, end, period)
    num = np.abs(q) * days * 2 + month_days
    weighted = np.sign(q) * (num // (2 * month_days))
    return pd.Series(weighted, index=quantity.index, dtype="int64")
