"""Gzip-compressed and JSON Lines exports (Microsoft's billed reconciliation blobs).

Partner Center's billed invoice reconciliation export arrives as Azure blobs of gzip-compressed
JSON Lines, one line item per line (APIS.md section 4); ``recon pull`` saves them exactly as
received (``*.json.gz``). This module unpacks gzip with a bound (a small file that would
unpack to gigabytes is refused before it exhausts memory) and reads JSON Lines into the same
RawTable a JSON array gives: records numbered by line (blank lines not counted), nested
objects flattened, numbers kept as written.

Example:
    >>> raw = read_raw(Path("inputs/2026-10/microsoft-billed-recon-G1-part-0.json.gz"))
    >>> raw.kind, raw.container, raw.rows_read
    ('json', '', 1203)
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from recon_helpers.core.errors import InputFileError
from recon_helpers.ingest.raw import RawTable

GZIP_MAGIC = b"\x1f\x8b"
MAX_UNPACKED = 4 << 30  # bytes
MAX_RATIO = 200  # JSON compresses 10-30x; far more is a bomb, not an export


def gunzip(path: Path, data: bytes) -> bytes:
    """The unpacked bytes of a gzip file, checked complete.

    Raises:
        InputFileError: corrupt or truncated gzip, or an unpacked size beyond the bounds.
    """
    limit = min(MAX_UNPACKED, max(64 << 20, len(data) * MAX_RATIO))
    inflate = zlib.decompressobj(wbits=31)  # gzip header and trailer (CRC, length) checked
    try:
        out = inflate.decompress(data, limit)
        if inflate.unconsumed_tail:
            raise InputFileError(path, f"unpacks to more than {limit} bytes; refused as a "
                                 "possible decompression bomb")
        out += inflate.flush()
    except zlib.error as exc:
        raise InputFileError(path, f"is not valid gzip ({exc})") from exc
    if not inflate.eof:
        raise InputFileError(path, "the gzip stream is truncated (incomplete download?)")
    if inflate.unused_data.strip(b"\x00"):
        raise InputFileError(path, "holds data after the gzip stream (several members or "
                             "appended bytes); not read")
    return out


def holds_records(doc: dict[str, Any]) -> bool:
    """Whether a JSON object holds a list of objects (at its top or one level down): an
    envelope, not a single JSON Lines record (whose fields may hold lists of strings)."""
    nested = [w for v in doc.values() if isinstance(v, dict) for w in v.values()]
    return any(isinstance(v, list) and v and isinstance(v[0], dict)
               for v in [*doc.values(), *nested])


def json_lines_table(
    path: Path, text: str, flatten: Callable[[dict[str, Any]], dict[str, str]]
) -> RawTable:
    """A JSON Lines text as a RawTable (kind json, no container), records numbered by line.

    Raises:
        InputFileError: a line that is not one JSON object (names the record number).
    """
    flat = []
    for n, line in enumerate((ln for ln in text.splitlines() if ln.strip()), start=1):
        try:
            rec = json.loads(line, parse_float=str, parse_int=str, parse_constant=_refuse)
        except ValueError as exc:
            raise InputFileError(path, f"line is not valid JSON ({exc}); truncated export?",
                                 row=n) from exc
        if not isinstance(rec, dict):
            raise InputFileError(path, f"line holds {type(rec).__name__}, not an object", row=n)
        flat.append(flatten(rec))
    columns: dict[str, None] = {}
    for rec in flat:
        columns.update(dict.fromkeys(rec))
    data = pd.DataFrame(flat, columns=list(columns), dtype=object).fillna("")
    rows = pd.Series(range(1, len(flat) + 1), dtype="int64")
    return RawTable(path, "json", data, rows, len(flat), container="")


def _refuse(name: str) -> None:
    raise ValueError(f"{name} is not a number a billing export may hold")
