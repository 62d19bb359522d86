"""A file's dates: in which order its slashed dates are written, and whether they fit the month.

Spreadsheets re-save ``M/D/YYYY`` exports (Partner Center) as ``D/M/YYYY`` in a day-first
locale. A value such as ``15/10/2026`` cannot be month-first, ``10/15/2026`` cannot be
day-first, and ``5/10/2026`` can be either; so the order is decided from the file as a whole
(every slashed date in every column of it), never value by value:

* every value is a date in the format's order: read in that order;
* some value is impossible in the format's order and every value is a date in the other: the
  other order, said in the inventory's ``note``;
* neither order fits every value: an error naming a value impossible in each, asking for
  ``date_format`` in recon.toml.

Then the dates read are checked against the billing month: a charge or service period that
ends before it starts, or a vendor file none of whose dated lines comes within a month of the
billing month, means the order is wrong (a file of all-ambiguous dates read the wrong way
round). A ``date_format`` declared in recon.toml is applied strictly, without either step.

Example:
    >>> decide_order(slashed_dates(raw), "mdy").order
    'dmy'
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

import pandas as pd

from recon_helpers.core.errors import InputFileError
from recon_helpers.core.period import Period
from recon_helpers.ingest.parsing import SLASHED_DATE
from recon_helpers.ingest.raw import RawTable

Order = Literal["mdy", "dmy"]
WRITTEN = {"mdy": "M/D/YYYY", "dmy": "D/M/YYYY"}
# (start, end) columns of parsed frames whose span is a charge or service period
PERIOD_SPANS = (("charge_start", "charge_end"), ("period_start", "period_end"))
COVERAGE_SPANS = (*PERIOD_SPANS, ("invoice_date", "invoice_date"))
SLASHED_COLUMNS = ("value", "row", "column", "first", "second", "year")


def slashed_of(values: pd.Series, rows: pd.Series | None = None,
               column: str = "") -> pd.DataFrame:
    """The distinct slashed dates among ``values`` (SLASHED_COLUMNS), each with the row of its
    first occurrence (``rows``: the data row of each value; default its position + 1)."""
    first = ~values.duplicated()  # hashing first: a big file repeats few dates
    distinct = values[first].astype(str).str.strip()
    found = distinct.str.extract(SLASHED_DATE)
    hit = found[2].notna().to_numpy()
    positions = first.to_numpy().nonzero()[0][hit]
    at = rows.to_numpy()[positions] if rows is not None else positions + 1
    return pd.DataFrame({
        "value": distinct[hit].to_numpy(),
        "row": at,
        "column": column,
        "first": found.loc[hit, 0].astype(int).to_numpy(),
        "second": found.loc[hit, 1].astype(int).to_numpy(),
        "year": found.loc[hit, 2].astype(int).to_numpy(),
    }, columns=list(SLASHED_COLUMNS))


def slashed_dates(raw: RawTable) -> pd.DataFrame:
    """Every distinct slashed date of the file, with the first row and column it is in.

    Returns:
        DataFrame of SLASHED_COLUMNS: the text as written, its data row, its column, and the
        two leading numbers and the year as integers.
    """
    parts = [slashed_of(raw.data[c], raw.rows, c) for c in raw.data.columns
             if _may_hold_dates(raw.data[c])]
    found = [p for p in parts if len(p)]
    if not found:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SLASHED_COLUMNS})
    return pd.concat(found, ignore_index=True)


def _may_hold_dates(values: pd.Series, sample: int = 200) -> bool:
    """Whether a column's first distinct values include a slashed date (a column of ids or
    names is not scanned whole: a date column holds dates throughout)."""
    head = values.drop_duplicates().head(sample + 1).astype(str).str.strip()
    return bool(head.str.match(SLASHED_DATE).any())


def fits(dates: pd.DataFrame, order: Order) -> pd.Series:
    """Per slashed date: whether it is a calendar date when read in ``order``."""
    month, day = (dates["first"], dates["second"]) if order == "mdy" else (
        dates["second"], dates["first"])
    parsed = pd.to_datetime(
        pd.DataFrame({"year": dates["year"], "month": month, "day": day}).astype("int64"),
        errors="coerce",
    ) if len(dates) else pd.Series(dtype="datetime64[ns]")
    return pd.Series(parsed.notna().to_numpy(), index=dates.index, dtype=bool)


def other(order: Order) -> Order:
    """The other order."""
    return "dmy" if order == "mdy" else "mdy"


@dataclass(frozen=True)
class OrderDecision:
    """The order a file's slashed dates are read in, and the evidence for it.

    ``order`` is None when neither order fits every value; ``against_default`` is a value
    impossible in the format's order (a row of ``slashed_dates``), ``against_other`` one
    impossible in the other.
    """

    default: Order
    order: Order | None
    against_default: dict[str, object] | None = None
    against_other: dict[str, object] | None = None
    dates: pd.DataFrame | None = field(default=None, compare=False, repr=False)

    @property
    def switched(self) -> bool:
        """True when the file is read in the other order than its format's."""
        return self.order is not None and self.order != self.default

    def note(self) -> str:
        """What the inventory says about it ("" when the format's own order holds)."""
        if not self.switched or self.order is None:
            return ""
        ev = self.against_default or {}
        return (f"dates read as {WRITTEN[self.order]}, not the format's "
                f"{WRITTEN[self.default]}: {ev.get('value')} ({ev.get('column')}, row "
                f"{ev.get('row')}) cannot be {WRITTEN[self.default]}")


def decide_order(dates: pd.DataFrame, default: Order) -> OrderDecision:
    """The order of a file's slashed dates (see the module docstring); never one in which
    some value is impossible."""
    if dates.empty:
        return OrderDecision(default, default)
    in_default, in_other = fits(dates, default), fits(dates, other(default))
    against_default, against_other = _first(dates, ~in_default), _first(dates, ~in_other)
    if in_default.all():
        return OrderDecision(default, default, None, against_other)
    if in_other.all():
        return OrderDecision(default, other(default), against_default, None)
    return OrderDecision(default, None, against_default, against_other)


def _first(dates: pd.DataFrame, mask: pd.Series) -> dict[str, object] | None:
    return dates[mask].iloc[0].to_dict() if mask.any() else None


def declare_hint(name: str, order: str = 'mdy" or "dmy') -> str:
    """The recon.toml lines that fix a file's date order."""
    return f'declare it in recon.toml: [files."{name}"] date_format = "{order}"'


def decide_for_file(raw: RawTable, default: Order) -> OrderDecision | None:
    """The order decision for one file of a format writing ``default`` dates (None when the
    file holds no slashed date).

    Raises:
        InputFileError: neither order fits every value (names a value impossible in each).
    """
    dates = slashed_dates(raw)
    if dates.empty:
        return None
    decision = replace(decide_order(dates, default), dates=dates)
    if decision.order is None:
        a, b = decision.against_default or {}, decision.against_other or {}
        raise InputFileError(
            raw.path,
            f"its dates fit neither M/D/YYYY nor D/M/YYYY: {a.get('value')} ({a.get('column')}, "
            f"row {a.get('row')}) cannot be {WRITTEN[default]} and {b.get('value')} "
            f"({b.get('column')}, row {b.get('row')}) cannot be {WRITTEN[other(default)]}; "
            f"re-export the file, or {declare_hint(raw.name)} (rows that do not fit it are "
            "quarantined)",
            row=int(a.get("row") or 0) or None,
        )
    return decision


def _written(raw: RawTable, dates: pd.DataFrame, row: int) -> str:
    """The slashed dates of one data row as written (``ChargeStartDate 5/10/2026, ...``)."""
    at = raw.rows.index[raw.rows.eq(row)]
    if not len(at):
        return ""
    values = raw.data.loc[at[0], list(dict.fromkeys(dates["column"]))].astype(str)
    return ", ".join(f"{c} {v}" for c, v in values.items() if SLASHED_DATE.match(v.strip()))


def check_plausible(raw: RawTable, frame: pd.DataFrame, decision: OrderDecision,
                    period: Period | None, delivered: bool) -> None:
    """Refuse dates that, read in ``decision.order``, cannot be the file's.

    Raises:
        InputFileError: a charge or service period ends before it starts; or (a vendor file,
            ``delivered``) none of its dated lines comes within a month of ``period``.
    """
    order = decision.order or decision.default
    dates = decision.dates if decision.dates is not None else slashed_dates(raw)
    fix = declare_hint(raw.name, other(order))
    for start, end in PERIOD_SPANS:
        if start not in frame or end not in frame:
            continue
        backwards = frame[end].lt(frame[start]).fillna(False).astype(bool)
        if backwards.any():
            row = int(frame.loc[backwards, "row"].iloc[0])
            raise InputFileError(
                raw.path,
                f"read as {WRITTEN[order]}, {int(backwards.sum())} line(s) end before they "
                f"start ({_written(raw, dates, row)}: {start} "
                f"{frame.loc[backwards, start].iloc[0]:%Y-%m-%d} .. {end} "
                f"{frame.loc[backwards, end].iloc[0]:%Y-%m-%d}): the date order looks wrong; "
                f"if the file is {WRITTEN[other(order)]}, {fix}",
                row=row,
            )
    if delivered and period is not None:
        _refuse_far_from_month(raw, frame, order, period, fix)


def _refuse_far_from_month(raw: RawTable, frame: pd.DataFrame, order: Order, period: Period,
                           fix: str) -> None:
    if "charge_start" not in frame or "charge_end" not in frame or frame.empty:
        return
    start, end = frame["charge_start"], frame["charge_end"]
    dated = start.notna() | end.notna()
    if not dated.any():
        return
    low = pd.Timestamp(period.previous().first)
    high = pd.Timestamp(period.next().last)
    near = dated & start.fillna(low).le(high) & end.fillna(high).ge(low)
    if near.any():
        return
    low_seen, high_seen = date_coverage(frame)
    raise InputFileError(
        raw.path,
        f"read as {WRITTEN[order]}, none of its {int(dated.sum())} dated lines comes within a "
        f"month of {period} (they run {low_seen} .. {high_seen}): the date "
        f"order looks wrong, or the file is of another month; if it is "
        f"{WRITTEN[other(order)]}, {fix}",
        row=int(frame.loc[dated, "row"].iloc[0]),
    )


def date_coverage(frame: pd.DataFrame) -> tuple[str, str]:
    """(first start, last end) of a parsed file's charge, service-period or invoice dates as
    ``YYYY-MM-DD``; ("", "") when it has none. An open end counts as its start."""
    for start, end in COVERAGE_SPANS:
        if start not in frame or end not in frame:
            continue
        first = frame[start].dropna()
        last = frame[end].fillna(frame[start]).dropna()
        if len(first) or len(last):
            low = first.min() if len(first) else last.min()
            high = last.max() if len(last) else first.max()
            return _iso(low), _iso(high)
    return "", ""


def _iso(value: object) -> str:
    return value.date().isoformat() if isinstance(value, pd.Timestamp) else (
        value.isoformat() if isinstance(value, date) else "")
