"""Spreadsheet-safe CSV and XLSX output, written atomically.

Every table the tool writes goes through :func:`write_table`, so a vendor customer named
``=HYPERLINK(...)`` or a DDE payload such as ``+cmd|' /C calc'!A0`` in an export can never run
as a formula when an auditor opens the file in Excel or LibreOffice (OWASP "CSV injection").

Every table is written through :func:`recon_helpers.core.files.atomic_write`: a crash leaves
the old file or the new one.

Rules (:func:`neutralise_formulas`):

* Only text cells change: a text cell starting with ``=``, ``+``, ``-``, ``@``, tab, CR or LF
  gets a leading apostrophe ``'``.
* Numbers are never touched: numeric columns, and non-text values (int, float, Decimal) in
  object columns, are written as numbers.
* A text cell that is a plain negative decimal such as ``"-12.50"`` is left alone, because a
  spreadsheet reads it as a number, not a formula. ``"+1"`` is *not* left alone: a leading
  ``+`` is how DDE payloads start, and an exported ID never legitimately begins with one.

Example:
    >>> frame = pd.DataFrame({"name": ["=1+1", "-12.50", "Contoso"], "qty": [1, 2, 3]})
    >>> neutralise_formulas(frame)["name"].tolist()
    ["'=1+1", '-12.50', 'Contoso']
"""

from __future__ import annotations

import io
import math
import re
from contextlib import suppress
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd

from recon_helpers.core.errors import UsageError
from recon_helpers.core.files import atomic_write

FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "\n")
_TRIGGER_RE = r"[=+\-@\t\r\n]"
# Excel and LibreOffice read these as numbers, so they cannot carry a formula.
_PLAIN_NUMBER_RE = r"-?(?:\d+(?:\.\d*)?|\.\d+)"
# infer_dtype results for which the .str accessor works (some values may not be str)
_TEXTUAL = {"string", "mixed", "mixed-integer", "mixed-integer-float", "empty"}
# Excel keeps 15 significant digits; larger integers would silently lose digits as numbers.
_MAX_EXACT_INT = 10**15


def neutralise_cell(value: str) -> str:
    """One text value made safe for a spreadsheet (see the module rules)."""
    if value.startswith(FORMULA_TRIGGERS) and not re.fullmatch(_PLAIN_NUMBER_RE, value):
        return "'" + value
    return value


# Mapping files are read back by the workbook and opened in spreadsheets: a value that would
# run as a formula is written with Excel's leading apostrophe and read back without it (an
# apostrophe already there gains one more, so the round trip is exact).
_PROTECTED = re.compile(r"'+[=+\-@\t\r\n]")
_RISKY = re.compile(r"'*[=+\-@\t\r\n]")


def protect_cell(value: str) -> str:
    """A text value for a file the workbook reads back: formula-safe, and reversible."""
    risky = _RISKY.match(value) and not re.fullmatch(_PLAIN_NUMBER_RE, value)
    return "'" + value if risky else value


def unprotect_cell(value: str) -> str:
    """The value :func:`protect_cell` was given."""
    return value[1:] if _PROTECTED.match(value) else value


def _neutralise_series(col: pd.Series) -> pd.Series:
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)  # categories are text too; output needs plain values
    if col.dtype == object:
        if pd.api.types.infer_dtype(col, skipna=True) not in _TEXTUAL:
            return col
    elif not isinstance(col.dtype, pd.StringDtype):
        return col
    starts = col.str.match(_TRIGGER_RE, na=False).astype(bool)
    plain = col.str.fullmatch(_PLAIN_NUMBER_RE, na=False).astype(bool)
    risky = starts & ~plain
    if not risky.any():
        return col
    out = col.copy()
    out.loc[risky] = "'" + col.loc[risky].astype(str)
    return out


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column labels) cannot run as formulas.

    Only object/string columns are inspected; numbers keep their values and dtypes.

    Args:
        frame: any table about to be written for a spreadsheet.

    Returns:
        A new frame; ``frame`` is not modified.
    """
    out = frame.copy()
    for i in range(out.shape[1]):
        # by position: column labels may repeat
        out.isetitem(i, _neutralise_series(out.iloc[:, i]))
    out.columns = [neutralise_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def _plain_decimal(value: Any) -> Any:
    # str(Decimal("1E+2")) is "1E+2"; write the positional form a spreadsheet reads exactly
    return format(value, "f") if isinstance(value, Decimal) else value


def _write_csv(frame: pd.DataFrame, tmp: Path) -> None:
    out = frame.copy()
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if col.dtype == object:
            out.isetitem(i, col.map(_plain_decimal, na_action="ignore"))
    # CRLF (RFC 4180): the csv writer then quotes any field holding a CR or LF
    out.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\r\n")


def _python_values(col: pd.Series) -> list[Any]:
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        col = col.dt.tz_convert(None)  # Excel has no time zones; write UTC wall time
    values = col.astype(object)
    return values.where(col.notna(), None).tolist()


def _exact_in_xlsx(value: Decimal) -> bool:
    # openpyxl writes numbers as "%.16g" of a float; keep a Decimal numeric only if that is exact
    try:
        return value.is_finite() and Decimal(format(float(value), ".16g")) == value
    except (InvalidOperation, OverflowError, ValueError):
        return False


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cell = WriteOnlyCell(sheet)
    if value is None:
        return cell
    if isinstance(value, bool):
        cell.value = value
        return cell
    if isinstance(value, Decimal):
        if _exact_in_xlsx(value):
            cell.value = value
            return cell
        value = format(value, "f")
    elif isinstance(value, int):
        if abs(value) < _MAX_EXACT_INT:
            cell.value = value
            return cell
        value = str(value)
    elif isinstance(value, float):
        cell.value = value if math.isfinite(value) else None
        return cell
    elif isinstance(value, datetime | date):
        cell.value = value
        return cell
    text = neutralise_cell(value if isinstance(value, str) else str(value))
    # control characters other than tab/CR/LF are not allowed in XLSX XML
    cell.value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    cell.data_type = "s"  # a text cell, never a formula, whatever it starts with
    return cell


def _write_xlsx(frame: pd.DataFrame, tmp: Path, sheet_name: str) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=sheet_name[:31])
    try:
        sheet.append([_xlsx_cell(sheet, str(c)) for c in frame.columns])
        columns = [_python_values(frame.iloc[:, i]) for i in range(frame.shape[1])]
        for row in zip(*columns, strict=True):
            sheet.append([_xlsx_cell(sheet, v) for v in row])
        sheet.close()  # ends the sheet's streamed temporary file: the last write to disk here
    except BaseException:
        # a failed write (e.g. a full disk) leaves openpyxl's streaming generators open; when
        # garbage-collected they fail again and print "Exception ignored" tracebacks
        writer = getattr(sheet, "_writer", None)
        for stream in (getattr(sheet, "_rows", None), getattr(writer, "xf", None)):
            with suppress(Exception):
                stream.close()
        raise
    # zipped in memory, so a failing disk fails the plain write below and not inside zipfile
    # (whose cleanup would then print an "Exception ignored" traceback)
    buffer = io.BytesIO()
    book.save(buffer)
    tmp.write_bytes(buffer.getvalue())


def write_table(frame: pd.DataFrame, path: str | Path, *, sheet_name: str = "Sheet1") -> Path:
    """Write a table as CSV or XLSX (by extension), formula-safe and atomically.

    CSV is UTF-8 without index, CRLF line ends (RFC 4180); XLSX has one sheet whose text
    cells are typed as text (XML turns a CR inside a text cell into LF on reading).
    Decimals are written exactly (positional notation in CSV; in XLSX as numbers when
    Excel's double holds them exactly, else as exact text).

    Args:
        frame: the table.
        path: target file ending in ``.csv`` or ``.xlsx``.
        sheet_name: XLSX sheet title (max. 31 characters).

    Returns:
        The written path.

    Raises:
        UsageError: the extension is neither .csv nor .xlsx.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise UsageError(f"cannot write {target.name}: the file name must end in .csv or .xlsx")
    safe = neutralise_formulas(frame)
    if suffix == ".csv":
        return atomic_write(target, lambda tmp: _write_csv(safe, tmp))
    return atomic_write(target, lambda tmp: _write_xlsx(safe, tmp, sheet_name))
