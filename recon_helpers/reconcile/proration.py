"""Which part of a dated line counts for a month: the ``month_rule`` of recon.toml.

* ``month_end`` (default): the quantity as it stands on the last day of the month. A line
  counts fully when its range covers that day (start empty or on/before it, end empty or
  on/after it), else not at all. Microsoft reversal pairs and Autotask split unit rows then net
  to the count at month end.
* ``day_weighted``: quantity x days of the line's range inside the month / days in the month
  (rounded half away from zero to the 4th decimal). A line without dates counts fully.
  A vendor's *recurring* charge (Microsoft ``cycleCharge`` / ``Cycle fee`` / ``Renew``, Pax8
  ``subscription``, a distributor's ``Recurring:...``) bills a whole cycle that starts on the
  subscription's anniversary, not on the 1st: a cycle 10/15-11/14 means the service ran
  before the 15th too (the previous cycle, billed last month). So the earliest recurring
  charge of a subscription (vendor, customer, SKU) that starts inside the month and spans a
  full cycle (28 days or more) counts from the month's first day, unless an earlier recurring
  charge of that subscription in the month's files covers those days. Seat changes
  (``addQuantity`` / ``removeQuantity``), purchases (``New``), prorations and cancellations
  count from their own start. A steady subscription then counts 31/31 in October, as its
  agreement line does.

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

# charge types that bill a whole recurring cycle (normalised: lower case, no space, _ or -)
RECURRING = frozenset({"cyclecharge", "cyclefee", "renew", "renewfee", "renewal",
                       "subscription"})
FULL_CYCLE_DAYS = 28


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


def is_recurring(charge_type: pd.Series) -> pd.Series:
    """True where the charge type bills a whole recurring cycle (see the module docstring)."""
    norm = charge_type.fillna("").astype(str).str.lower().str.replace(r"[\s_-]", "", regex=True)
    return norm.isin(RECURRING) | norm.str.startswith("recurring")


def weigh_from(rows: pd.DataFrame, period: Period) -> pd.Series:
    """The start each vendor line is weighed from under ``day_weighted``: ``charge_start``,
    or the month's first day for a subscription's first recurring full-cycle charge that
    starts inside the month (module docstring). ``rows`` has DELIVERED's columns."""
    start, end = rows["charge_start"], rows["charge_end"]
    first = pd.Timestamp(period.first)
    recurring = (is_recurring(rows["charge_type"]) & start.notna() & end.notna()
                 & ((end - start).dt.days + 1 >= FULL_CYCLE_DAYS))
    keys = [rows["vendor"], rows["vendor_customer_id"], rows["vendor_customer_name"],
            rows["vendor_sku"]]
    earliest = start.where(recurring & (end >= first)).groupby(keys, dropna=False,
                                                               sort=False).transform("min")
    extend = recurring & (start > first) & (start <= pd.Timestamp(period.last)) & (
        start == earliest)
    return start.mask(extend, first)
