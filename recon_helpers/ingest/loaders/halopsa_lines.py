"""HaloPSA invoice headers with their nested ``lines``: one typed row per line, rows conserved.

``/RecurringInvoice`` and ``/Invoice`` (``includelines=true``) answer ``{"record_count": n,
"invoices": [...]}``: each record is an ``InvoiceHeader`` whose ``lines`` is a list of
``InvoiceDetail`` objects. The reader keeps a record per header (``lines`` as JSON text), so a
file's row is its header: every line carries its header's ``file:row``.

Rules:
    * A header whose ``lines`` cannot be used (a line with a bad number or date, a service
      line without ``qty_order``) is quarantined whole, with the line named in the detail
      (``line 2 (id 5124): quantity (qty_order) is required but empty``): a recurring
      invoice or an invoice is one record, and counting half of it would be a silent wrong
      answer.
    * Every line of a usable header is kept with a ``line_use``: ``service`` (reconciled),
      ``no_item`` (no ``_itemid``: text, labour and charge lines), ``heading``
      (``isgroupdesc``), ``inactive`` (``isinactive``), ``voided`` / ``disabled`` (its
      header's flag); a header without lines keeps one ``no_lines`` row.
    * A header saved without its lines (``includelines`` not set) would look like an empty
      month: a file where no header carries a line is an error.
    * Halo writes numbers as binary doubles (``164.39999999999998``). A value with 15 or more
      significant digits is such an artefact and is rounded half-even to the field's scale;
      any other value with more decimals than the scale holds is ``bad_number`` as everywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

import pandas as pd

from recon_helpers.core.errors import InputFileError
from recon_helpers.core.schemas import MONEY_SCALE, QTY_SCALE, QuarantineReason
from recon_helpers.ingest.json_read import flatten
from recon_helpers.ingest.raw import RawTable
from recon_helpers.ingest.validation import Converted, Field, LoadOptions, convert, quarantine_rows

LINE_FIELDS = (
    Field("line_id", ("id",), "id"),
    Field("item_id", ("_itemid",), "id"),
    Field("item_code", ("item_code",), "text"),
    Field("item_description", ("item_shortdescription",), "text"),
    Field("quantity", ("qty_order",), "quantity"),
    Field("unit_price", ("unit_price",), "money"),
    Field("unit_cost", ("unit_cost",), "money"),
    Field("net_amount", ("net_amount",), "money"),
    Field("line_start", ("startdate",), "date"),
    Field("line_end", ("enddate",), "date"),
    Field("inactive", ("isinactive",), "bool"),
    Field("heading", ("isgroupdesc",), "bool"),
    Field("prorata_next_invoice", ("prorata_next_invoice",), "bool"),
    Field("prorata_quantity", ("prorata_quantity",), "quantity"),
    Field("prorata_unit_price", ("prorata_unit_price",), "money"),
)
_SCALES = {"quantity": QTY_SCALE, "money": MONEY_SCALE}
_DOUBLE = re.compile(r"^-?\d+\.\d+$")


def undouble(text: pd.Series, scale: int) -> pd.Series:
    """Round binary-double artefacts (15+ significant digits) half-even to ``scale``."""
    digits = text.astype(str).str.replace(r"[-.]", "", regex=True).str.lstrip("0").str.len()
    suspect = text.astype(str).str.match(_DOUBLE) & digits.ge(15)
    if not suspect.any():
        return text
    step = Decimal(1).scaleb(-(len(str(scale)) - 1))

    def rounded(value: str) -> str:
        try:
            return str(Decimal(value).quantize(step, rounding=ROUND_HALF_EVEN))
        except InvalidOperation:
            return value

    out = text.astype(object).copy()
    out[suspect] = text[suspect].map(rounded)
    return out


def _records(raw: RawTable, headers: pd.DataFrame) -> tuple[list[dict[str, str]], pd.DataFrame]:
    """Flattened lines of every header, and per line its header index and 1-based position."""
    records: list[dict[str, str]] = []
    owner: list[tuple[object, int]] = []
    for idx, text, row in zip(headers.index, headers["lines_json"], headers["row"], strict=True):
        try:  # the reader wrote the list back as JSON text, its numbers still strings
            lines = json.loads(text) if text else []
        except json.JSONDecodeError:
            lines = None
        if not isinstance(lines, list):
            raise InputFileError(raw.path, "lines is not a list of invoice lines", row=int(row))
        for pos, line in enumerate(lines, start=1):
            if not isinstance(line, dict):
                raise InputFileError(raw.path, f"line {pos} is not an object", row=int(row))
            records.append(flatten(line))
            owner.append((idx, pos))
        if not lines:
            records.append({})
            owner.append((idx, 0))
    if headers.empty or any(pos for _, pos in owner):
        return records, pd.DataFrame(owner, columns=["header", "position"])
    raise InputFileError(
        raw.path,
        f"none of its {len(headers)} invoices carries lines; save the response with "
        "includelines=true",
    )


def _line_table(raw: RawTable, records: list[dict[str, str]]) -> RawTable:
    """The lines as a RawTable numbered 1..n (so each bad line is told apart)."""
    columns: dict[str, None] = {}
    for rec in records:
        columns.update(dict.fromkeys(rec))
    data = pd.DataFrame(records, columns=list(columns), dtype=object).fillna("")
    rows = pd.Series(range(1, len(records) + 1), dtype="int64")
    table = RawTable(raw.path, "json", data, rows, len(records), container=raw.container)
    for f in LINE_FIELDS:
        col = table.column(*f.source)
        if f.kind in _SCALES and col is not None:
            data[col] = undouble(data[col], _SCALES[f.kind])
    return table


def _classify(lines: pd.DataFrame) -> pd.Series:
    """``line_use`` of each line (see the module docstring)."""
    use = pd.Series("service", index=lines.index, dtype=object)
    use[lines["inactive"]] = "inactive"
    use[lines["item_id"].isin(["", "0"])] = "no_item"
    use[lines["heading"]] = "heading"
    use[lines["disabled"]] = "disabled"
    use[lines["voided"]] = "voided"
    use[lines["position"].eq(0)] = "no_lines"
    return use


def explode_lines(
    raw: RawTable, headers: pd.DataFrame, header_columns: Sequence[str], options: LoadOptions
) -> Converted:
    """One row per line of every header, typed, with the header's columns and ``file:row``.

    Args:
        raw: the file (for its name and path).
        headers: converted headers with ``lines_json``, ``row`` and ``source``.
        header_columns: the header columns every line carries.
        options: the file's options.

    Returns:
        Converted: lines with ``line_use`` and ``position``; the quarantine has one row per
        bad line, numbered by its header's row.
    """
    records, owner = _records(raw, headers)
    table = _line_table(raw, records)
    out = convert(table, LINE_FIELDS, options)
    owner.index = table.rows.to_numpy()  # the lines' own numbers, 1..n
    lines = out.frame.join(owner, on="row").join(headers[list(header_columns)], on="header")
    lines["line_use"] = _classify(lines)
    lines, q_qty = quarantine_rows(
        lines, lines["line_use"].eq("service") & lines["quantity"].isna(),
        QuarantineReason.MISSING_VALUE, "quantity (qty_order) is required but empty",
    )
    q_qty["column"] = "quantity"
    quarantine = pd.concat([out.quarantine, q_qty], ignore_index=True)
    bad = owner.loc[quarantine["row"].to_numpy()]
    id_column = table.column("id")
    ids = table.data[id_column].to_numpy()[bad.index - 1] if id_column else [""] * len(bad)
    quarantine["detail"] = [
        f"line {pos} (id {lid}): {d}" if lid else f"line {pos}: {d}"
        for pos, lid, d in zip(bad["position"], ids, quarantine["detail"], strict=True)
    ]
    quarantine["row"] = headers.loc[bad["header"], "row"].to_numpy()
    lines = lines[~lines["header"].isin(set(bad["header"]))].copy()
    lines["row"] = headers.loc[lines["header"], "row"].to_numpy()
    lines["source"] = headers.loc[lines["header"], "source"].to_numpy()
    return Converted(lines.drop(columns=["header"]), quarantine)
