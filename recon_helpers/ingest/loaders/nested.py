"""Records that carry their lines as a nested JSON list (Syncro schedules and invoices).

The JSON reader keeps a nested list as one JSON text column (``line_items``), so a record (a
schedule, an invoice) stays one row of the file: ``rows_read`` counts records, and every line
carries its record's ``source`` (``file:row``). :func:`parse_with_lines` turns such records
into one row per line, the record's columns repeated, plus one row (``line`` 0) for a record
without lines, so an empty schedule is read and kept, not quarantined.

A record with a bad line (a price that is not a number, a missing product) is quarantined as a
whole, the reason naming the line (``line_items[2]: quantity is not a number``): using the
record's other lines would make an agreement or invoice look smaller than it is.

Example:
    >>> out = parse_with_lines(raw, HEADER_FIELDS, ("line_items",), LINE_FIELDS, options)
    >>> out.frame[["schedule_id", "line", "product_id", "quantity"]]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from recon_helpers.core.schemas import QuarantineReason, conform_quarantine, empty_quarantine
from recon_helpers.ingest.json_read import flatten
from recon_helpers.ingest.raw import RawTable
from recon_helpers.ingest.validation import Converted, Field, LoadOptions, convert


def nested_lines(raw: RawTable, column: str | None) -> tuple[RawTable, pd.DataFrame, pd.Series]:
    """The nested records of ``column`` as a RawTable numbered 1..n (one number per line).

    Returns:
        (lines, ``where``: per line number its record's index in ``raw.data`` (``parent``),
        the record's ``row`` and its 1-based ``position``; mask over ``raw.data`` of records
        whose value is not a list of objects)
    """
    bad = pd.Series(False, index=raw.data.index)
    flat: list[dict[str, str]] = []
    where: list[tuple[int, int, int]] = []
    if column is not None:
        for (index, text), row in zip(raw.data[column].items(), raw.rows, strict=True):
            items = _items(str(text))
            if items is None:
                bad[index] = True
                continue
            for position, item in enumerate(items, start=1):
                flat.append(flatten(item))
                where.append((index, row, position))
    columns: dict[str, None] = {}
    for rec in flat:
        columns.update(dict.fromkeys(rec))
    data = pd.DataFrame(flat, columns=list(columns), dtype=object).fillna("")
    numbers = pd.Series(range(1, len(flat) + 1), dtype="int64")
    lines = replace(raw, data=data, rows=numbers, rows_read=len(flat),
                    quarantine=empty_quarantine())
    located = pd.DataFrame(where, columns=["parent", "row", "position"], index=numbers.to_numpy())
    return lines, located.astype("int64"), bad


def _items(text: str) -> list[dict] | None:
    """The objects of a nested list cell; [] for an empty cell; None when it is no such list."""
    if not text.strip():
        return []
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return None
    return items


def parse_with_lines(
    raw: RawTable,
    header_fields: Sequence[Field],
    line_column: Sequence[str],
    line_fields: Sequence[Field],
    options: LoadOptions,
) -> Converted:
    """Records with nested lines -> one row per line (``line`` >= 1) or per empty record (0).

    Args:
        raw: the records.
        header_fields: fields of the record; their targets must differ from the lines'.
        line_column: names of the nested list column, aliases in order; absent = no lines.
        line_fields: fields of one line.
        options: the file's options.

    Returns:
        Converted: header and line columns, ``line``, ``source`` and ``row``; the quarantine
        holds records with a bad header value or a bad line (detail names the line).
    """
    column = raw.column(*line_column)
    shown = column or line_column[0]
    header = convert(raw, header_fields, options)
    lines_raw, located, malformed = nested_lines(raw, column)
    lines = convert(lines_raw, line_fields, options)
    line_q = _on_records(lines.quarantine, located, shown)
    failed = set(located.loc[lines.quarantine["row"].astype("int64"), "parent"])
    failed |= set(malformed[malformed].index)
    kept = header.frame[~header.frame.index.isin(failed)]
    line_frame = lines.frame.drop(columns=["source"])
    line_frame = line_frame.assign(
        _parent=located.loc[line_frame["row"], "parent"].to_numpy(),
        line=located.loc[line_frame["row"], "position"].to_numpy(),
    ).drop(columns=["row"])
    joined = kept.merge(line_frame, left_index=True, right_on="_parent", how="left")
    joined["line"] = joined["line"].fillna(0).astype("int64")
    joined = joined.drop(columns=["_parent"]).reset_index(drop=True)
    for f in line_fields:  # a record without lines: its line columns are empty, not NaN
        if f.kind in ("id", "text"):
            joined[f.target] = joined[f.target].astype(object).where(joined[f.target].notna(), "")
        elif f.kind == "bool":
            joined[f.target] = joined[f.target].astype(object).where(
                joined[f.target].notna(), False).astype(bool)
    parts = [header.quarantine, line_q, _malformed(raw, malformed, shown)]
    quarantine = pd.concat([p for p in parts if len(p)] or [empty_quarantine()], ignore_index=True)
    return Converted(joined, conform_quarantine(quarantine))


def _on_records(quarantine: pd.DataFrame, located: pd.DataFrame, column: str) -> pd.DataFrame:
    """Line quarantine entries moved to their record's row, the line named in ``detail``."""
    if quarantine.empty:
        return quarantine
    at = located.loc[quarantine["row"].astype("int64")]
    out = quarantine.copy()
    out["row"] = at["row"].to_numpy()
    out["detail"] = (f"{column}[" + (at["position"] - 1).astype(str).to_numpy() + "]: "
                     + out["detail"].astype(str).to_numpy())
    return out


def _malformed(raw: RawTable, mask: pd.Series, column: str) -> pd.DataFrame:
    if not mask.any():
        return empty_quarantine()
    return pd.DataFrame({
        "file": raw.name,
        "row": raw.rows[mask.to_numpy()].to_numpy(),
        "reason": QuarantineReason.MISSING_VALUE.value,
        "column": column,
        "value": raw.data.loc[mask, column].astype(str).str.slice(0, 200).to_numpy(),
        "detail": f"{column} is not a list of line objects",
    }).pipe(conform_quarantine)
