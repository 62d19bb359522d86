"""Vectorised, exact parsers for the values found in exports: money, quantities, dates, IDs.

Each parser takes a Series of raw strings and returns ``(values, bad)``: the parsed Series and
a boolean mask of values that are present but cannot be parsed. Empty strings are missing, not
bad; whether a missing value is allowed is the caller's decision.

Example:
    >>> values, bad = parse_fixed(pd.Series(["1,234.50", "(12)", "x"]), 100)
    >>> values.tolist(), bad.tolist()
    ([123450, -1200, <NA>], [False, False, True])
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Literal, TypeVar

import numpy as np
import pandas as pd

DateFormat = Literal["iso", "iso_local_midnight", "mdy", "dmy", "epoch_ms"]

Parser = TypeVar("Parser", bound=Callable[..., tuple[pd.Series, pd.Series]])


def _spread(parsed: pd.Series, codes: np.ndarray, index: pd.Index) -> pd.Series:
    values = parsed.array.take(codes) if parsed.dtype == "Int64" else parsed.to_numpy()[codes]
    return pd.Series(values, index=index, dtype=parsed.dtype)


def per_distinct(parse: Parser) -> Parser:
    """Run a parser once per distinct value and spread the results to every row.

    Every parser here maps each value on its own, and export columns repeat a few values
    (currencies, dates, prices, rates) over many rows: same result, far fewer string
    operations. Small or mostly distinct columns are parsed directly.
    """

    @functools.wraps(parse)
    def parse_distinct(
        values: pd.Series, *args: object, **kwargs: object
    ) -> tuple[pd.Series, pd.Series]:
        if len(values) > 5000:
            codes, uniques = pd.factorize(values, use_na_sentinel=False)
            if len(uniques) * 2 <= len(values):
                distinct = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
                parsed, bad = parse(distinct, *args, **kwargs)
                return _spread(parsed, codes, values.index), _spread(bad, codes, values.index)
        return parse(values, *args, **kwargs)

    return parse_distinct  # type: ignore[return-value]


_CURRENCY = re.compile(r"[$€£¥]|\b(?:USD|EUR|GBP|AUD|CAD|NZD|CHF|ZAR)\b|[\s\u00a0\u202f]")
_PLAIN = r"\d+(?:\.\d*)?|\.\d+"
_GROUPED = r"\d{1,3}(?:,\d{3})+(?:\.\d*)?"
_POINT_NUMBER = re.compile(rf"^(?:{_GROUPED}|{_PLAIN})$")
_COMMA_NUMBER = re.compile(r"^(?:\d{1,3}(?:\.\d{3})+(?:,\d*)?|\d+(?:,\d*)?|,\d+)$")
_EXPONENT = re.compile(r"^\d+(?:\.\d+)?[eE][+-]?\d+$")


@per_distinct
def parse_fixed(
    values: pd.Series, scale: int, *, decimal_comma: bool = False
) -> tuple[pd.Series, pd.Series]:
    """Parse decimal strings into exact fixed-point integers in units of ``1/scale``.

    Accepts thousands separators (``1,234.50``; ``1.234,50`` with ``decimal_comma``),
    accounting negatives ``(1,234.50)``, leading/trailing minus, currency symbols and codes,
    Excel's leading apostrophe, and plain exponents from JSON (``1e-05``). Rejects malformed
    grouping (``1,2,3``) and more decimals than ``scale`` holds (unless they are zeros).

    Returns:
        (Int64 Series, bool Series ``bad``); empty input gives ``<NA>`` and not bad.
    """
    s = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    s = s.str.lstrip("'").str.replace(_CURRENCY, "", regex=True)
    empty = s.eq("")
    paren = s.str.startswith("(") & s.str.endswith(")")
    s = s.where(~paren, s.str.slice(1, -1))
    lead = s.str.startswith("-") | s.str.startswith("+")
    neg = paren | s.str.startswith("-")
    s = s.where(~lead, s.str.slice(1))
    trail = s.str.endswith("-")
    neg = neg | trail
    s = s.where(~trail, s.str.slice(0, -1))
    digits = len(str(scale)) - 1
    if decimal_comma:
        ok = s.str.match(_COMMA_NUMBER)
        s = s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        ok = s.str.match(_POINT_NUMBER)
        s = s.str.replace(",", "", regex=False)
    expo = ~ok & ~empty & s.str.match(_EXPONENT)
    parts = s.str.split(".", n=1, expand=True).reindex(columns=[0, 1])
    whole = parts[0].astype(object).fillna("").str.lstrip("0")
    frac = parts[1].astype(object).fillna("")  # all-NaN float64 when no value has a point
    too_precise = frac.str.rstrip("0").str.len() > digits
    # int64 holds (2**63 - 1) // scale whole units (9.2e14 at 4 decimals); equal-length digit
    # strings compare like numbers, and stopping one below the ceiling leaves room for decimals
    ceiling = str((2**63 - 1) // scale)
    width = whole.str.len()
    too_large = (width > len(ceiling)) | (width.eq(len(ceiling)) & whole.ge(ceiling))
    good = ok & ~empty & ~(paren & lead) & ~too_precise & ~too_large
    whole_int = pd.to_numeric(whole.where(good & whole.ne(""), "0"), errors="coerce")
    padded = frac.str.slice(0, digits).str.pad(digits, "right", "0")
    frac_int = pd.to_numeric(padded.where(good, "0"))
    result = pd.Series(pd.NA, index=values.index, dtype="Int64")
    if digits == 0:
        frac_int = 0
    magnitude = (whole_int.fillna(0).astype("int64") * scale + frac_int).astype("int64")
    result[good] = np.where(neg[good], -magnitude[good], magnitude[good])
    if expo.any():
        # JSON writes tiny or huge numbers with an exponent; rare, so exact Decimal per value
        for idx in expo[expo].index:
            parsed = _decimal_to_fixed(s[idx], scale)
            if parsed is not None:
                result[idx] = -parsed if neg[idx] else parsed
                good[idx] = True
    bad = ~empty & ~good
    return result, bad


def _decimal_to_fixed(text: str, scale: int) -> int | None:
    try:
        scaled = Decimal(text) * scale
    except InvalidOperation:
        return None
    if scaled != scaled.to_integral_value() or abs(scaled) >= 2**63:
        return None
    return int(scaled)


_ISO = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:[T ]\d{1,2}: ?\d{2}(?:: ?\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
SLASHED_DATE = re.compile(
    r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AP]M)?)?$"
)


@per_distinct
def parse_dates(
    values: pd.Series, fmt: DateFormat, *, timezone: str | None = None
) -> tuple[pd.Series, pd.Series]:
    """Parse dates with an explicit format; returns (datetime64 at midnight, bad mask).

    Formats:
        ``iso``: ``YYYY-MM-DD`` with an optional time and offset; the date as written.
        ``iso_local_midnight``: an ISO instant that is local midnight expressed in UTC
            (Autotask): converted to ``timezone`` when given, else rounded to the nearest day.
        ``mdy`` / ``dmy``: ``M/D/YYYY`` / ``D/M/YYYY`` with an optional time.
        ``epoch_ms``: milliseconds since 1970 as digits (Google reseller API).
    Impossible dates such as 2026-02-30 are bad.
    """
    s = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    empty = s.eq("")
    if fmt == "iso":
        day = s.str.extract(_ISO)[0]
        parsed = pd.to_datetime(day, format="%Y-%m-%d", errors="coerce")
    elif fmt == "iso_local_midnight":
        ok = s.str.match(_ISO)
        text = s.where(ok, None).str.replace(r": (\d{2})", r":\1", regex=True)
        instant = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
        if timezone:
            parsed = instant.dt.tz_convert(timezone).dt.tz_localize(None).dt.normalize()
        else:
            parsed = (instant + pd.Timedelta(hours=12)).dt.floor("D").dt.tz_localize(None)
    elif fmt in ("mdy", "dmy"):
        parts = s.str.extract(SLASHED_DATE)
        month, day = (parts[0], parts[1]) if fmt == "mdy" else (parts[1], parts[0])
        frame = pd.DataFrame(
            {
                "year": pd.to_numeric(parts[2], errors="coerce"),
                "month": pd.to_numeric(month, errors="coerce"),
                "day": pd.to_numeric(day, errors="coerce"),
            }
        )
        parsed = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
        complete = frame.notna().all(axis=1)
        if complete.any():
            parsed[complete] = pd.to_datetime(frame[complete], errors="coerce")
    elif fmt == "epoch_ms":
        digits = s.where(s.str.fullmatch(r"\d{1,15}"), None)
        parsed = pd.to_datetime(pd.to_numeric(digits, errors="coerce"), unit="ms").dt.normalize()
    else:
        raise ValueError(f"unknown date format {fmt!r}")
    parsed = pd.Series(parsed, index=s.index).astype("datetime64[ns]")
    bad = ~empty & parsed.isna()
    return parsed, bad


_MANGLED_ID = re.compile(r"^-?\d(?:[.,]\d+)?[eE]\+?\d+$")


@per_distinct
def parse_ids(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Keep IDs as exact strings (leading zeros, 19 digits); flag spreadsheet-mangled ones.

    ``1.23457E+17`` is what a spreadsheet leaves of an 18-digit ID: the digits are lost, so the
    row cannot be trusted. ``NA``, ``NULL`` and ``None`` are kept as the real values they may be.
    """
    s = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    bad = s.str.match(_MANGLED_ID)
    return s.astype(object), bad


_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


@per_distinct
def parse_bools(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse true/false, 1/0, yes/no (case-insensitive); empty is False."""
    s = values.astype(object).where(values.notna(), "").astype(str).str.strip().str.lower()
    truthy = s.isin(_TRUE)
    bad = ~truthy & ~s.isin(_FALSE)
    return truthy.astype(bool), bad
