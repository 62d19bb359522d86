"""Read an export file (CSV, JSON, XLSX) into a RawTable: every value a string, rows numbered.

Format detection and typed conversion happen later; this layer only gets the bytes into rows
exactly: encodings (UTF-8 with or without BOM, UTF-16, cp1252), delimiters (comma, semicolon,
tab, pipe), quoted fields with embedded newlines, ragged rows (quarantined, never padded), JSON
envelopes (``{"content": [...]}``, ``{"items": [...]}``, bare arrays, ...) with nested objects
flattened to dotted names.

Example:
    >>> raw = read_raw(Path("data/inputs/2026-10/pax8_invoice_items.json"))
    >>> raw.container, raw.rows_read
    ('content', 412)
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from recon_helpers.errors import InputFileError
from recon_helpers.schemas import QuarantineReason, empty_quarantine

FileKind = Literal["csv", "json", "xlsx"]
DELIMITERS = (",", ";", "\t", "|")
MAX_XLSX_BYTES = 200 * 1024 * 1024


@dataclass
class RawTable:
    """One input file as rows of strings, before any interpretation."""

    path: Path
    kind: FileKind
    data: pd.DataFrame  # str values, columns as named in the file (JSON: dotted paths)
    rows: pd.Series  # 1-based data row number of each row of ``data``
    rows_read: int
    encoding: str = "utf-8"
    delimiter: str = ""
    container: str = ""  # JSON: where the records list sits ("content", "data.sites", "")
    sheet: str = ""
    quarantine: pd.DataFrame = field(default_factory=empty_quarantine)

    @property
    def name(self) -> str:
        """The file name, as used in ``source`` (``file:row``)."""
        return self.path.name

    def columns_lower(self) -> dict[str, str]:
        """Lower-cased, stripped column name -> the name as in the file (first wins)."""
        out: dict[str, str] = {}
        for c in self.data.columns:
            out.setdefault(_norm_header(c), c)
        return out

    def column(self, *names: str) -> str | None:
        """The file's column matching any of ``names`` case-insensitively, or None."""
        lower = self.columns_lower()
        for n in names:
            hit = lower.get(_norm_header(n))
            if hit is not None:
                return hit
        return None


def _norm_header(name: str) -> str:
    return str(name).strip().strip("\ufeff").lower().replace(" ", "").replace("_", "")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_kind(path: Path) -> FileKind:
    """CSV, JSON or XLSX, from the extension and, when unclear, the first bytes."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix == ".json":
        return "json"
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    head = path.read_bytes()[:4]
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    text = head.lstrip(codecs.BOM_UTF8).lstrip()
    return "json" if text[:1] in (b"[", b"{") else "csv"


def decode(path: Path, data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode bytes: BOMs first, then UTF-8, then cp1252; an undecodable byte is an error.

    Returns:
        (text, encoding used)
    """
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputFileError(path, f"cannot be decoded as {encoding} (from recon.toml): {exc}")
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "cp1252"]
    error: UnicodeDecodeError | None = None
    for enc in candidates:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError as exc:
            error = exc  # the last fallback's failure: an earlier one may be a byte it decodes
    assert error is not None
    line = data[: error.start].count(b"\n") + 1
    raise InputFileError(
        path,
        f"byte 0x{data[error.start]:02x} at offset {error.start} (line {line}) is not valid "
        f"in {', '.join(candidates)}; re-save the file as UTF-8 or set its encoding in recon.toml",
    )


def sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: the most frequent of , ; tab | outside quotes."""
    first = text.split("\n", 1)[0]
    outside, quoted = [], False
    for ch in first:
        if ch == '"':
            quoted = not quoted
        elif not quoted:
            outside.append(ch)
    counts = {d: outside.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv_text(path: Path, text: str, delimiter: str | None = None) -> RawTable:
    """Parse CSV text; ragged rows are quarantined with their field counts, never padded."""
    delim = delimiter or sniff_delimiter(text)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True))
    except csv.Error as exc:
        raise InputFileError(path, f"malformed CSV ({exc}); check for an unbalanced quote") from exc
    records = [r for r in records if any(v.strip() for v in r)]
    if not records:
        raise InputFileError(path, "the file is empty (no header row)")
    header = [h.strip().lstrip("\ufeff") for h in records[0]]
    _check_header(path, header)
    body = records[1:]
    width = len(header)
    widths = pd.Series([len(r) for r in body], dtype="int64")
    ragged = widths.ne(width)
    quarantine = empty_quarantine()
    if ragged.any():
        idx = ragged[ragged].index
        quarantine = pd.DataFrame(
            {
                "file": path.name,
                "row": idx + 1,
                "reason": QuarantineReason.RAGGED_ROW.value,
                "column": "",
                "value": [delim.join(body[i])[:200] for i in idx],
                "detail": [f"{widths[i]} fields, header has {width}" for i in idx],
            }
        )
    keep = [r for r, bad in zip(body, ragged, strict=True) if not bad]
    rows = pd.Series(ragged[~ragged].index + 1, dtype="int64")
    data = pd.DataFrame(keep, columns=header, dtype=object) if keep else _empty(header)
    return RawTable(path, "csv", data, rows, len(body), delimiter=delim, quarantine=quarantine)


def _empty(header: list[str]) -> pd.DataFrame:
    return pd.DataFrame({h: pd.Series(dtype=object) for h in header})


def _check_header(path: Path, header: list[str]) -> None:
    seen: dict[str, int] = {}
    for pos, h in enumerate(header, start=1):
        if not h:
            raise InputFileError(path, f"header column {pos} is empty", row=0)
        key = _norm_header(h)
        if key in seen:
            raise InputFileError(
                path, f"header names column {h!r} twice (columns {seen[key]} and {pos})", row=0
            )
        seen[key] = pos


def read_json_text(path: Path, text: str) -> RawTable:
    """Parse a JSON export: a bare array or an envelope holding one list of records."""
    try:
        # numbers stay strings: IDs keep every digit and money stays exact
        doc = json.loads(text, parse_float=str, parse_int=str, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InputFileError(
            path,
            f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            " (truncated or hand-edited export?)",
        ) from exc
    container, records = _find_records(path, doc)
    flat = []
    for i, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            raise InputFileError(path, f"record {i} is {type(rec).__name__}, not an object", row=i)
        flat.append(_flatten(rec))
    columns: dict[str, None] = {}
    for rec in flat:
        columns.update(dict.fromkeys(rec))
    data = pd.DataFrame(flat, columns=list(columns), dtype=object).fillna("")
    rows = pd.Series(range(1, len(flat) + 1), dtype="int64")
    return RawTable(path, "json", data, rows, len(flat), container=container)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a billing export may hold")


def _find_records(path: Path, doc: Any) -> tuple[str, list[Any]]:
    if isinstance(doc, list):
        return "", doc
    if not isinstance(doc, dict):
        raise InputFileError(path, "JSON holds neither an array nor an object")
    found: list[tuple[str, list[Any]]] = []
    for key, value in doc.items():
        if isinstance(value, list) and (not value or isinstance(value[0], dict)):
            found.append((key, value))
        elif isinstance(value, dict):
            for sub, inner in value.items():
                if isinstance(inner, list) and (not inner or isinstance(inner[0], dict)):
                    found.append((f"{key}.{sub}", inner))
    non_empty = [f for f in found if f[1]]
    if len(non_empty) == 1:
        return non_empty[0]
    if not non_empty and len(found) == 1:
        return found[0]
    if not found:
        raise InputFileError(path, f"no list of records found under keys {sorted(doc)[:10]}")
    raise InputFileError(path, f"several record lists: {[f[0] for f in found]}; cannot choose")


def _flatten(rec: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in rec.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = json.dumps(value, separators=(",", ":"))
        elif value is None:
            out[name] = ""
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = str(value)
    return out


def read_xlsx(path: Path, sheet: str | None = None) -> RawTable:
    """Read one sheet of an XLSX (cached values of formulas; openpyxl parses with defusedxml)."""
    import openpyxl  # imported here: only XLSX inputs pay for it

    if path.stat().st_size > MAX_XLSX_BYTES:
        raise InputFileError(path, f"XLSX larger than {MAX_XLSX_BYTES // 2**20} MiB")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken zip or XML
        raise InputFileError(path, f"not a readable XLSX workbook: {exc}") from exc
    try:
        ws = book[sheet] if sheet else book.worksheets[0]
    except KeyError as exc:
        raise InputFileError(path, f"no sheet named {sheet!r}; sheets: {book.sheetnames}") from exc
    values = [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
    book.close()
    values = [r for r in values if any(v.strip() for v in r)]
    if not values:
        raise InputFileError(path, f"sheet {ws.title!r} is empty (no header row)")
    header = values[0]
    while header and not header[-1]:
        header = header[:-1]
    _check_header(path, header)
    width = len(header)
    body = []
    for r in values[1:]:
        extra = [v for v in r[width:] if v.strip()]
        # trailing empty cells are sheet formatting, not data; values past the header are not
        body.append(r[:width] + [""] * (width - len(r)) if not extra else r)
    raw = read_rows(path, header, body, kind="xlsx")
    raw.sheet = ws.title
    return raw


def delim_join(row: list[str]) -> str:
    """A row as one comma-joined string (for quarantine display)."""
    return ",".join(row)


def read_rows(path: Path, header: list[str], body: list[list[str]], kind: FileKind) -> RawTable:
    """Build a RawTable from already split rows; rows wider than the header are quarantined."""
    width = len(header)
    bad = [i for i, r in enumerate(body) if len(r) != width]
    quarantine = empty_quarantine()
    if bad:
        quarantine = pd.DataFrame(
            {
                "file": path.name,
                "row": [i + 1 for i in bad],
                "reason": QuarantineReason.RAGGED_ROW.value,
                "column": "",
                "value": [delim_join(body[i])[:200] for i in bad],
                "detail": [f"values beyond the {width} header columns" for _ in bad],
            }
        )
    bad_set = set(bad)
    keep = [r for i, r in enumerate(body) if i not in bad_set]
    rows = pd.Series([i + 1 for i in range(len(body)) if i not in bad_set], dtype="int64")
    data = pd.DataFrame(keep, columns=header, dtype=object) if keep else _empty(header)
    return RawTable(path, kind, data, rows, len(body), quarantine=quarantine)


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


def read_raw(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
) -> RawTable:
    """Read any supported input file into a RawTable.

    Raises:
        InputFileError: the file cannot be decoded or parsed (names file and, when known, row).
    """
    kind = file_kind(path)
    if kind == "xlsx":
        return read_xlsx(path, sheet)
    text, used = decode(path, path.read_bytes(), encoding)
    if not text.strip():
        raise InputFileError(path, "the file is empty")
    raw = read_json_text(path, text) if kind == "json" else read_csv_text(path, text, delimiter)
    raw.encoding = used
    return raw
