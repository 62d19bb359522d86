"""Typed conversion of raw rows with quarantine: declare fields, get (clean frame, quarantine).

A loader declares what it needs as :class:`Field` objects (target column, source column names
with aliases, kind, required, date format); :func:`convert` parses every column vectorised and
sets aside each row that cannot be used, with the first failing field as its reason. Rows are
conserved: ``len(clean) + len(quarantined rows) == rows in``.

Example:
    >>> fields = [Field("vendor_customer_id", ("companyId",), "id", required=True),
    ...           Field("quantity", ("quantity",), "quantity", required=True)]
    >>> result = convert(raw, fields, LoadOptions())
    >>> result.frame.columns.tolist()
    ['vendor_customer_id', 'quantity', 'source', 'row']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from recon_helpers.core.errors import InputFileError
from recon_helpers.core.schemas import (
    MONEY_SCALE,
    QTY_SCALE,
    QUARANTINE_IDENTITY,
    Kind,
    QuarantineReason,
    conform_quarantine,
    empty_quarantine,
)
from recon_helpers.ingest.parsing import (
    DateFormat,
    parse_bools,
    parse_dates,
    parse_fixed,
    parse_ids,
)
from recon_helpers.ingest.raw import RawTable


@dataclass(frozen=True)
class LoadOptions:
    """Per-file reading options, from ``recon.toml`` ``[files."<name>"]`` or defaults."""

    decimal_comma: bool = False
    date_format: DateFormat | None = None  # overrides the format's own date format
    # the order the file's own dates showed (ingest/dates.py): read slashed-date fields in it
    slashed_order: Literal["mdy", "dmy"] | None = None
    timezone: str | None = None  # for local-midnight-in-UTC dates (Autotask)
    currency: str = "USD"  # when a file carries no currency column


@dataclass(frozen=True)
class Field:
    """One target column: where it comes from in the file and how to parse it."""

    target: str
    source: tuple[str, ...]  # column names in the file, aliases in order (case-insensitive)
    kind: Kind
    required: bool = False
    date_format: DateFormat = "iso"
    default: str = ""  # used when the column is absent from the file


@dataclass
class Converted:
    """Rows that parsed (typed, with ``source`` and ``row``) and rows set aside."""

    frame: pd.DataFrame
    quarantine: pd.DataFrame = field(default_factory=empty_quarantine)


_BAD_REASON = {
    "money": QuarantineReason.BAD_NUMBER,
    "quantity": QuarantineReason.BAD_NUMBER,
    "date": QuarantineReason.BAD_DATE,
    "id": QuarantineReason.BAD_ID,
    "bool": QuarantineReason.BAD_NUMBER,
    "text": QuarantineReason.BAD_NUMBER,
}


def convert(raw: RawTable, fields: Sequence[Field], options: LoadOptions) -> Converted:
    """Parse ``raw`` into typed columns; rows with a bad or missing required value are set aside.

    Returns:
        Converted: ``frame`` has one column per field plus ``source`` ("file:row") and ``row``;
        ``quarantine`` has QUARANTINE_COLUMNS.

    Raises:
        InputFileError: a required column is absent from the file altogether.
    """
    data = raw.data
    out: dict[str, pd.Series] = {}
    problems: list[tuple[pd.Series, QuarantineReason, str, pd.Series]] = []
    for f in fields:
        col = raw.column(*f.source) if f.source else None
        if col is None:
            # a JSON export with no records has no keys at all: nothing lacks the column
            if f.required and f.source and not (raw.kind == "json" and raw.rows_read == 0):
                raise InputFileError(
                    raw.path, f"required column {f.source[0]!r} is missing from the header", row=0
                )
            text = pd.Series([f.default] * len(data), index=data.index, dtype=object)
        else:
            text = data[col].astype(object)
        values, bad, empty = _parse_distinct(text, f, options)
        out[f.target] = values
        if f.required:
            problems.append((empty, QuarantineReason.MISSING_VALUE, f.target, text))
        problems.append((bad, _BAD_REASON[f.kind], f.target, text))
    frame = pd.DataFrame(out, index=data.index)
    frame["row"] = raw.rows.to_numpy()
    frame["source"] = raw.name + ":" + frame["row"].astype(str)
    return split_bad(frame, problems, raw.name)


def _parse_distinct(
    text: pd.Series, f: Field, options: LoadOptions
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(values, bad, empty) of a column, each distinct text parsed once.

    Export columns repeat a few values over many rows (currencies, SKUs, dates, prices), and
    every parser is a function of the value alone, so parsing the distinct values and
    spreading the results gives the same Series as parsing every row, much faster.
    """
    codes, uniques = pd.factorize(text, use_na_sentinel=False) if len(text) > 5000 else (None, text)
    if codes is None or len(uniques) * 2 > len(text):
        values, bad = _parse(text, f, options)
        return values, bad, text.astype(str).str.strip().eq("")
    distinct = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    values, bad = _parse(distinct, f, options)
    empty = distinct.astype(str).str.strip().eq("")

    def spread(s: pd.Series) -> pd.Series:
        return pd.Series(s.to_numpy()[codes] if s.dtype != "Int64" else s.array.take(codes),
                         index=text.index, dtype=s.dtype)

    return spread(values), spread(bad), spread(empty)


def _parse(text: pd.Series, f: Field, options: LoadOptions) -> tuple[pd.Series, pd.Series]:
    if f.kind == "money":
        return parse_fixed(text, MONEY_SCALE, decimal_comma=options.decimal_comma)
    if f.kind == "quantity":
        return parse_fixed(text, QTY_SCALE, decimal_comma=options.decimal_comma)
    if f.kind == "date":
        return parse_dates(text, date_format_of(f, options), timezone=options.timezone)
    if f.kind == "id":
        return parse_ids(text)
    if f.kind == "bool":
        return parse_bools(text)
    clean = text.astype(object).where(text.notna(), "").astype(str).str.strip().astype(object)
    return clean, pd.Series(False, index=text.index)


def date_format_of(f: Field, options: LoadOptions) -> DateFormat:
    """The format a date field is read in: recon.toml's, else the order the file showed (for
    a field written M/D/YYYY or D/M/YYYY), else the field's own."""
    if options.date_format:
        return options.date_format
    if options.slashed_order and f.date_format in ("mdy", "dmy"):
        return options.slashed_order
    return f.date_format


# Field targets (and canonical columns) that say what a row concerns -> quarantine column
IDENTITY_TARGETS = {
    "client_id": "client_id", "product_id": "product_id", "vendor": "vendor",
    "vendor_customer_id": "vendor_customer", "vendor_sku": "vendor_sku",
}


def identity_of(frame: pd.DataFrame) -> pd.DataFrame:
    """The quarantine identity columns of ``frame``'s rows: its values where it has the target
    column (a customer without an id: its name), "" elsewhere."""
    out = pd.DataFrame(index=frame.index)
    for target, column in IDENTITY_TARGETS.items():
        values = frame[target] if target in frame else pd.Series("", index=frame.index)
        out[column] = values.astype(object).where(values.notna(), "").astype(str)
    if "vendor_customer_name" in frame:
        name = frame["vendor_customer_name"].astype(object).where(
            frame["vendor_customer_name"].notna(), "").astype(str)
        out["vendor_customer"] = out["vendor_customer"].where(out["vendor_customer"].ne(""), name)
    return out[list(QUARANTINE_IDENTITY)].astype(object)


def tag_quarantine(quarantine: pd.DataFrame, **known: str) -> pd.DataFrame:
    """``quarantine`` with empty identity columns filled by what the whole file is about
    (``vendor="pax8"``)."""
    out = conform_quarantine(quarantine)
    for column, value in known.items():
        out[column] = out[column].where(out[column].ne(""), value)
    return out


def split_bad(
    frame: pd.DataFrame,
    problems: Sequence[tuple[pd.Series, QuarantineReason, str, pd.Series]],
    file_name: str,
) -> Converted:
    """Set aside the rows flagged in ``problems`` (mask, reason, column, raw text), first wins."""
    flagged = pd.Series(False, index=frame.index)
    parts = []
    for mask, reason, column, text in problems:
        new = mask & ~flagged
        if new.any():
            parts.append(
                pd.DataFrame(
                    {
                        "file": file_name,
                        "row": frame.loc[new, "row"].astype("int64"),
                        "reason": reason.value,
                        "column": column,
                        "value": text[new].astype(str).str.slice(0, 200),
                        "detail": _detail(reason, column),
                    }
                ).join(identity_of(frame[new]))
            )
            flagged |= new
    quarantine = (
        conform_quarantine(pd.concat(parts, ignore_index=True)) if parts else empty_quarantine()
    )
    return Converted(frame[~flagged].copy(), quarantine)


def _detail(reason: QuarantineReason, column: str) -> str:
    return {
        QuarantineReason.MISSING_VALUE: f"{column} is required but empty",
        QuarantineReason.BAD_NUMBER: f"{column} is not a number (decimal point/comma as set?)",
        QuarantineReason.BAD_DATE: f"{column} is not a valid date in the expected format",
        QuarantineReason.BAD_ID: f"{column} looks mangled by a spreadsheet (scientific notation)",
    }.get(reason, column)


def quarantine_rows(
    frame: pd.DataFrame, mask: pd.Series, reason: QuarantineReason, detail: str, column: str = ""
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Move rows of a converted frame (with ``row`` and ``source``) to quarantine.

    Returns:
        (kept rows, quarantine rows)
    """
    gone = frame[mask]
    file_names = gone["source"].str.rsplit(":", n=1).str[0]
    value = gone[column].astype(str) if column and column in gone else ""
    q = pd.DataFrame(
        {
            "file": file_names,
            "row": gone["row"].astype("int64"),
            "reason": reason.value,
            "column": column,
            "value": value,
            "detail": detail,
        }
    ).join(identity_of(gone))
    return frame[~mask].copy(), conform_quarantine(q).reset_index(drop=True)


def exact_repeats(data: pd.DataFrame) -> pd.Series:
    """``data.duplicated(keep="first")``, checking all columns only where it can matter.

    Two equal rows are equal in every column, so rows whose values in a few varied columns
    (a line or subscription id, when the file has one) are unique cannot repeat: the full
    comparison runs on the others only. Cheaper on wide files; the same mask.
    """
    if len(data) < 5000 or data.shape[1] < 3:
        return data.duplicated(keep="first")
    sample = data.iloc[:1000]
    varied = sorted(data.columns, key=lambda c: -sample[c].nunique(dropna=False))[:2]
    maybe = data.duplicated(subset=varied, keep=False)
    exact = pd.Series(False, index=data.index)
    if maybe.any():
        exact[maybe] = data[maybe].duplicated(keep="first")
    return exact


def duplicate_mask(raw: RawTable, record_id: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Exact repeats of an earlier row, and rows sharing ``record_id`` with different values.

    Returns:
        (exact duplicates after the first, every row of a conflicting group)
    """
    data = raw.data
    exact = exact_repeats(data)
    conflicting = pd.Series(False, index=data.index)
    col = raw.column(record_id) if record_id else None
    if col is not None:
        distinct = data[~exact]
        ids = distinct[col].astype(str)
        counts = ids[ids.ne("")].value_counts()
        clash = set(counts[counts > 1].index)
        conflicting = data[col].astype(str).isin(clash) & ~exact
    return exact, conflicting


def drop_duplicates(raw: RawTable, record_id: str | None = None) -> tuple[RawTable, pd.DataFrame]:
    """Quarantine exact duplicates (after the first) and conflicting duplicates of ``raw``.

    Returns:
        (RawTable without those rows, their quarantine rows)
    """
    exact, conflicting = duplicate_mask(raw, record_id)
    if not (exact.any() or conflicting.any()):
        return raw, empty_quarantine()
    parts = []
    for mask, reason, detail in (
        (exact, QuarantineReason.DUPLICATE_ROW, "exact repeat of an earlier row"),
        (conflicting, QuarantineReason.CONFLICTING_DUPLICATE,
         f"{record_id} repeats with other values"),
    ):
        if mask.any():
            parts.append(
                pd.DataFrame(
                    {
                        "file": raw.name,
                        "row": raw.rows[mask.to_numpy()].to_numpy(),
                        "reason": reason.value,
                        "column": record_id or "",
                        "value": (raw.data.loc[mask].astype(str)
                                  .agg(",".join, axis=1).str.slice(0, 200)),
                        "detail": detail,
                    }
                )
            )
    keep = ~(exact | conflicting)
    kept = replace(
        raw,
        data=raw.data[keep].reset_index(drop=True),
        rows=raw.rows[keep.to_numpy()].reset_index(drop=True),
    )
    return kept, conform_quarantine(pd.concat(parts, ignore_index=True))
