"""Read one sheet of an XLSX safely: zip-bomb and entity guards, saved formula results.

openpyxl reads the sheet in read-only mode with ``data_only=True`` (the results Excel saved for
formulas) and parses XML with defusedxml, which refuses entity declarations ("billion
laughs"). Before openpyxl opens anything, the zip's declared member sizes are checked: Python's
zipfile never unpacks more than a member declares, so a member that would unpack to far more
than real sheet XML does (a deflate bomb) is refused without inflating it.

Decisions:
    * A formula without a saved result (files written by programs that do not calculate) is an
      error naming the cell: openpyxl would read it as empty and a value would be lost silently.
    * Dates stored as numbers in date-formatted cells are read as dates (``YYYY-MM-DD``); a
      number in a cell without a date format stays a number (and is a bad date where a date is
      expected).
    * Merged header cells leave all but the first cell empty: an empty header cell is an error.

Example:
    >>> raw = read_sheet(Path("inputs/2026-10/usage.xlsx"), "Usage")
"""

from __future__ import annotations

import re
import zipfile
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from recon_helpers.core.errors import InputFileError
from recon_helpers.ingest.raw import RawTable, check_header, read_rows

MAX_XLSX_BYTES = 200 * 1024 * 1024
# Zip-bomb guard: real sheet XML deflates 5-20x (200k rows: 96 MB -> 6 MB); a bomb ~1000x.
MAX_XLSX_UNPACKED = 512 * 1024 * 1024
MAX_XLSX_RATIO = 100
_RATIO_FLOOR = 16 * 1024 * 1024  # smaller members parse quickly whatever their ratio


def _check_zip(path: Path) -> None:
    """Refuse an XLSX that is no zip, or whose members would unpack to a zip bomb."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputFileError(
            path, f"not a readable XLSX workbook (not a zip archive: {exc})"
        ) from exc
    total = sum(m.file_size for m in members)
    bomb = [
        m for m in members
        if m.file_size > _RATIO_FLOOR and m.file_size > MAX_XLSX_RATIO * max(m.compress_size, 1)
    ]
    if bomb or total > MAX_XLSX_UNPACKED:
        m = bomb[0] if bomb else max(members, key=lambda m: m.file_size)
        raise InputFileError(
            path,
            f"refused as a likely zip bomb: {m.filename} unpacks from {m.compress_size:,} to "
            f"{m.file_size:,} bytes ({total:,} in all; limits: {MAX_XLSX_RATIO}:1 and "
            f"{MAX_XLSX_UNPACKED // 2**20} MiB); export the data again or save it as CSV",
        )


def _xlsx_problem(exc: BaseException) -> str:
    from defusedxml import DefusedXmlException

    cause: BaseException | None = exc
    while cause is not None:  # openpyxl wraps parse errors in a ValueError of its own
        if isinstance(cause, DefusedXmlException):
            return f"refused: its XML declares entities ({cause!r}), as entity-expansion attacks do"
        cause = cause.__cause__ or cause.__context__
    return f"not a readable XLSX workbook: {exc}"


_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")


def _uncached_formula(book: Any, ws: Any) -> str | None:
    """The first cell holding a formula without a saved result (openpyxl reads it as empty).

    Such files come from programs that write formulas without calculating them; reading the
    cell as empty would silently lose a value, so the caller refuses the file. A formula whose
    saved result is the empty string (``<v></v>``) has a result and passes.
    """
    from defusedxml.ElementTree import iterparse

    part, archive = getattr(ws, "_worksheet_path", None), getattr(book, "_archive", None)
    if not part or archive is None:  # openpyxl internals changed: skip the check
        return None
    with archive.open(part) as fh:  # most exports hold no formula: a cheap byte scan first
        tail = b""
        while chunk := fh.read(1 << 20):
            if _FORMULA_TAG.search(tail + chunk):
                break
            tail = chunk[-64:]
        else:
            return None
    with archive.open(part) as fh:
        for _, el in iterparse(fh):
            if el.tag.rsplit("}", 1)[-1] == "c":
                kids = {child.tag.rsplit("}", 1)[-1] for child in el}
                if "f" in kids and "v" not in kids:
                    return str(el.get("r") or "?")
                el.clear()
    return None


def read_sheet(path: Path, sheet: str | None = None) -> RawTable:
    """Read one sheet of an XLSX (the first, or ``sheet``): saved results of formulas.

    openpyxl parses with defusedxml (entities refused); the zip is checked first for bombs.

    Raises:
        InputFileError: not a zip, a likely zip bomb, XML entities, no such sheet, a formula
            without a saved result (names the cell), or an empty sheet.
    """
    import openpyxl  # imported here: only XLSX inputs pay for it

    if path.stat().st_size > MAX_XLSX_BYTES:
        raise InputFileError(path, f"XLSX larger than {MAX_XLSX_BYTES // 2**20} MiB")
    _check_zip(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken zip or XML
        raise InputFileError(path, _xlsx_problem(exc)) from exc
    try:
        ws = book[sheet] if sheet else book.worksheets[0]
        values = [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
        uncached = _uncached_formula(book, ws)
    except KeyError as exc:
        raise InputFileError(path, f"no sheet named {sheet!r}; sheets: {book.sheetnames}") from exc
    except Exception as exc:  # the sheet XML is parsed lazily, here
        raise InputFileError(path, _xlsx_problem(exc)) from exc
    finally:
        book.close()
    if uncached:
        raise InputFileError(
            path,
            f"cell {uncached} of sheet {ws.title!r} holds a formula without a saved result "
            "(written by a program that does not calculate); open and save the file in Excel "
            "or LibreOffice, or paste the values",
        )
    values = [r for r in values if any(v.strip() for v in r)]
    if not values:
        raise InputFileError(path, f"sheet {ws.title!r} is empty (no header row)")
    header = values[0]
    while header and not header[-1]:
        header = header[:-1]
    check_header(path, header)
    width = len(header)
    body = []
    for r in values[1:]:
        extra = [v for v in r[width:] if v.strip()]
        # trailing empty cells are sheet formatting, not data; values past the header are not
        body.append(r[:width] + [""] * (width - len(r)) if not extra else r)
    raw = read_rows(path, header, body, kind="xlsx")
    raw.sheet = ws.title
    return raw


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)
