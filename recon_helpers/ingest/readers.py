"""Read an export file (CSV, JSON, XLSX) into a RawTable: every value a string, rows numbered.

Format detection and typed conversion happen later; this layer only gets the bytes into rows
exactly: encodings (UTF-8 with or without BOM, UTF-16, cp1252), delimiters (comma, semicolon,
tab, pipe), quoted fields with embedded newlines, ragged rows (quarantined, never padded), a
last record cut off (an error); JSON documents (:mod:`recon_helpers.ingest.json_read`) and JSON
Lines, gzip or not (:mod:`recon_helpers.ingest.jsonl`).

Example:
    >>> raw = read_raw(Path("data/inputs/2026-10/pax8_invoice_items.json"))
    >>> raw.container, raw.rows_read
    ('content', 412)
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from recon_helpers.core.errors import InputFileError
from recon_helpers.core.schemas import QuarantineReason, conform_quarantine, empty_quarantine
from recon_helpers.ingest.json_read import read_json_text
from recon_helpers.ingest.jsonl import gunzip
from recon_helpers.ingest.raw import FileKind, RawTable, check_header, empty_frame
from recon_helpers.ingest.xlsx import read_sheet

DELIMITERS = (",", ";", "\t", "|")
FAST_CSV_BYTES = 1 << 20  # below this the csv module is as fast as proving the C parser exact


def file_kind(path: Path) -> FileKind:
    """CSV, JSON or XLSX, from the extension and, when unclear, the first bytes."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".json", ".jsonl", ".ndjson"):
        return "json"
    if suffix == ".gz":  # gzip JSON / JSON Lines (Microsoft's billed reconciliation blobs)
        inner = Path(path.stem).suffix.lower()
        if inner in (".json", ".jsonl", ".ndjson"):
            return "json"
        raise InputFileError(path, "is gzip-compressed; only compressed JSON or JSON Lines "
                             "(.json.gz) is read: unpack other files first")
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    head = path.read_bytes()[:4]
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: legacy .xls (or .doc/.msg)
        raise InputFileError(path, "is a legacy binary Excel (.xls) file; save it as .xlsx or CSV")
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
            raise InputFileError(
                path, f"cannot be decoded as {encoding} (from recon.toml): {exc}"
            ) from exc
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # NUL decodes as valid UTF-8, and text exports never hold it: guessing would garble
        raise InputFileError(
            path,
            "holds NUL bytes: probably UTF-16 without a byte-order mark; set its encoding "
            '("utf-16-le" or "utf-16-be") in recon.toml',
        )
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
    end = text.find("\n")
    first = text if end < 0 else text[:end]  # not split(): that copies the whole file
    outside, quoted = [], False
    for ch in first:
        if ch == '"':
            quoted = not quoted
        elif not quoted:
            outside.append(ch)
    counts = {d: outside.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv_text(
    path: Path, text: str, delimiter: str | None = None, *, data: bytes | None = None
) -> RawTable:
    """Parse CSV text; ragged rows are quarantined with their field counts, never padded.

    Args:
        data: the UTF-8 bytes ``text`` was decoded from (without a BOM), when known. Then the
            pandas C parser reads them if :func:`_fast_csv` can prove it splits the file
            exactly as the csv module would; else (or without ``data``) the csv module does.
    """
    delim = delimiter or sniff_delimiter(text)
    if data is not None and len(data) >= FAST_CSV_BYTES and len(delim) == 1 and delim.isascii():
        fast = _fast_csv(path, data, delim)
        if fast is not None:
            return fast
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    records: list[list[str]] = []
    done = 0  # physical lines consumed by complete records
    try:
        for record in reader:
            records.append(record)
            done = reader.line_num
    except csv.Error as exc:
        # the failing record starts on the line after the last complete one; its data row is
        # the count of non-blank records so far (the header is record 1, so row 0 = header)
        row = sum(1 for r in records if any(v.strip() for v in r))
        cut = (" (a quoted field is never closed: cut off mid-download? download it again)"
               if "end of data" in str(exc) else "")
        raise InputFileError(
            path,
            f"malformed CSV in the record starting on line {done + 1} ({exc}); "
            f"check for an unbalanced quote{cut}",
            row=row,
        ) from exc
    records = [r for r in records if any(v.strip() for v in r)]
    if not records:
        raise InputFileError(path, "the file is empty (no header row)")
    header = [h.strip().lstrip("\ufeff") for h in records[0]]
    check_header(path, header)
    body = records[1:]
    width = len(header)
    refuse_cut_last_record(path, text, body, width)
    widths = pd.Series([len(r) for r in body], dtype="int64")
    ragged = widths.ne(width)
    quarantine = empty_quarantine()
    if ragged.any():
        idx = ragged[ragged].index
        quarantine = conform_quarantine(pd.DataFrame(
            {
                "file": path.name,
                "row": idx + 1,
                "reason": QuarantineReason.RAGGED_ROW.value,
                "column": "",
                "value": [delim.join(body[i])[:200] for i in idx],
                "detail": [f"{widths[i]} fields, header has {width}" for i in idx],
            }
        ))
    keep = [r for r, bad in zip(body, ragged, strict=True) if not bad]
    rows = pd.Series(ragged[~ragged].index + 1, dtype="int64")
    data = pd.DataFrame(keep, columns=header, dtype=object) if keep else empty_frame(header)
    return RawTable(path, "csv", data, rows, len(body), delimiter=delim, quarantine=quarantine)


def refuse_cut_last_record(path: Path, text: str, body: list[list[str]], width: int) -> None:
    """A last record with the wrong number of fields and no line break after it is a file cut
    off mid-download, not one bad row: what is missing after it is unknown.

    A ragged row elsewhere is quarantined (``ragged_row``); a short file that ends cleanly at
    a line break carries no such signal.

    Raises:
        InputFileError: naming the last row and its field count.
    """
    if not body or text.endswith(("\n", "\r")) or len(body[-1]) == width:
        return
    raise InputFileError(
        path,
        f"the last record has {len(body[-1])} fields (the header has {width}) and the file "
        "ends without a line break: cut off mid-download? download it again",
        row=len(body),
    )


def _quoted_fields(
    buf: np.ndarray, delim: int, limit: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """(opening, closing) quote offsets of every quoted field, or None when quoting is irregular.

    Pairs quotes in file order (1st opens, 2nd closes, ...). An opening quote must start a
    field (after a delimiter, a line break or at the start) or be the second of a doubled
    quote; a closing quote must end the field (delimiter, line break, end) or be doubled.
    That is exactly what csv.reader(strict=True) accepts without error, and on such text the
    C parser and the csv module agree on every field. A quoted field of ``limit`` bytes or
    more is irregular too (the csv module refuses it). Works on bytes: in UTF-8 the ASCII
    quote, delimiter and line breaks never occur inside a multi-byte character.
    """
    quotes = np.flatnonzero(buf == 34)
    if len(quotes) % 2:
        return None
    opens, closes = quotes[0::2], quotes[1::2]
    if not len(opens):
        return opens, closes
    doubled = np.zeros(len(opens), dtype=bool)
    doubled[1:] = opens[1:] == closes[:-1] + 1
    before = buf[np.maximum(opens - 1, 0)]
    starts = (opens == 0) | (before == delim) | (before == 10) | (before == 13)
    after = buf[np.minimum(closes + 1, len(buf) - 1)]
    ends = (closes == len(buf) - 1) | (after == delim) | (after == 10) | (after == 13)
    ends[:-1] |= doubled[1:]
    if not (np.all(starts | doubled) and np.all(ends)):
        return None
    # a quoted field runs from an opening quote that starts it to the last close of its chain
    first = np.flatnonzero(~doubled)
    last = np.maximum.reduceat(closes, first)
    if int((last - opens[first]).max()) >= limit:
        return None
    return opens[first], last


def _fast_csv(path: Path, data: bytes, delim: str) -> RawTable | None:
    """The file read by the pandas C parser, or None when it cannot be proven exact.

    Proven exact when: no NUL byte and no lone CR; quotes regular (:func:`_quoted_fields`);
    no line or quoted field longer than the csv module's field limit; and every record has
    the header's number of fields (the C parser raises on longer rows and pads shorter ones,
    so the delimiters outside quotes must number exactly records x (width - 1)). Anything
    else goes to the csv module, which quarantines ragged rows and reports bad quoting.
    """
    limit = csv.field_size_limit() - 8
    d = ord(delim)
    if b"\x00" in data or delim in ('"', "\n", "\r"):
        return None
    if data.count(b"\r") != data.count(b"\r\n"):
        return None  # lone CR line breaks: the C parser splits a record after one differently
    buf = np.frombuffer(data, dtype=np.uint8)
    quoted = _quoted_fields(buf, d, limit)
    if quoted is None:
        return None
    if len(data) >= limit:
        breaks = np.flatnonzero(buf == 10)
        edges = np.concatenate(([-1], breaks, [len(buf)]))
        if int(np.diff(edges).max()) >= limit:
            return None
    try:
        frame = pd.read_csv(
            io.BytesIO(data), sep=delim, header=None, dtype=object, na_filter=False,
            keep_default_na=False, quotechar='"', doublequote=True, escapechar=None,
            skipinitialspace=False, skip_blank_lines=True, engine="c", encoding="utf-8",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        return None
    width = frame.shape[1]
    sep = delim.encode()
    opens, closes = (q.tolist() for q in quoted)
    inside = sum(data.count(sep, lo, hi) for lo, hi in zip(opens, closes, strict=True))
    if data.count(sep) - inside != len(frame) * (width - 1):
        return None  # some record is shorter than the header: the csv module quarantines it
    first = frame[0].str.strip().eq("")
    if first.any():  # a record whose fields are all blank is dropped, as the csv module does
        blank = first.copy()
        for c in frame.columns[1:]:
            blank[blank] = frame.loc[blank, c].str.strip().eq("")
        frame = frame[~blank.to_numpy()]
    if frame.empty:
        return None
    header = [str(h).strip().lstrip("\ufeff") for h in frame.iloc[0]]
    check_header(path, header)
    body = frame.iloc[1:].reset_index(drop=True)
    body.columns = header
    rows = pd.Series(np.arange(1, len(body) + 1), dtype="int64")
    return RawTable(path, "csv", body if len(body) else empty_frame(header), rows, len(body),
                    delimiter=delim)


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
        return read_sheet(path, sheet)
    data = path.read_bytes()
    if kind == "json" and data[:2] == b"\x1f\x8b":
        data = gunzip(path, data)
    text, used = decode(path, data, encoding)
    if not text or text.isspace():  # as `not text.strip()`, without copying the text
        raise InputFileError(path, "the file is empty")
    if kind == "json":
        raw = read_json_text(path, text)
    else:
        fast_bytes = None
        codec = codecs.lookup(used).name
        if codec == "utf-8":
            fast_bytes = data
        elif codec == "utf-8-sig":
            fast_bytes = data[3:] if data.startswith(codecs.BOM_UTF8) else data
        raw = read_csv_text(path, text, delimiter, data=fast_bytes)
    raw.encoding = used
    return raw
