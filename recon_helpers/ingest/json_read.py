"""JSON exports: the records list of a document, flattened to dotted names, and its envelope.

A bare array, an envelope holding one list of records (``{"content": [...]}``,
``{"items": [...]}``, ``{"data": {"sites": [...]}}``) or JSON Lines (one record per line,
:mod:`recon_helpers.ingest.jsonl`). Numbers stay strings (IDs keep every digit, money stays
exact); the rest of the document (paging objects, declared totals) is kept as the RawTable's
``envelope`` for :mod:`recon_helpers.ingest.completeness`. An API error answer saved as data is
an error.

Example:
    >>> raw = read_json_text(Path("pax8.json"), '{"content": [{"id": 1}], "page": {"number": 0}}')
    >>> raw.container, raw.envelope
    ('content', {'page': {'number': '0'}})
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from recon_helpers.core.errors import InputFileError
from recon_helpers.ingest.jsonl import holds_records, json_lines_table
from recon_helpers.ingest.raw import RawTable


def read_json_text(path: Path, text: str) -> RawTable:
    """Parse a JSON export: a bare array, an envelope holding one list of records, or JSON
    Lines (one record per line)."""
    try:
        # numbers stay strings: IDs keep every digit and money stays exact
        doc = json.loads(text, parse_float=str, parse_int=str, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):  # one record per line
            return json_lines_table(path, text, flatten)
        raise InputFileError(
            path,
            f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            " (truncated or hand-edited export?)",
        ) from exc
    except ValueError as exc:  # NaN / Infinity, refused by _no_constant
        raise InputFileError(path, f"not valid JSON for an export: {exc}") from exc
    except RecursionError as exc:
        raise InputFileError(path, "JSON nested too deeply to be an export") from exc
    refuse_error_document(path, doc)
    jsonl = path.suffix.lower() in (".jsonl", ".ndjson", ".gz")
    if jsonl and isinstance(doc, dict) and not holds_records(doc):  # JSON Lines, one record
        return json_lines_table(path, text, flatten)
    container, records = _find_records(path, doc)
    flat = []
    for i, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            raise InputFileError(path, f"record {i} is {type(rec).__name__}, not an object", row=i)
        try:
            flat.append(flatten(rec))
        except RecursionError as exc:
            raise InputFileError(path, "JSON nested too deeply to be an export", row=i) from exc
    columns: dict[str, None] = {}
    for rec in flat:
        columns.update(dict.fromkeys(rec))
    data = pd.DataFrame(flat, columns=list(columns), dtype=object).fillna("")
    rows = pd.Series(range(1, len(flat) + 1), dtype="int64")
    return RawTable(path, "json", data, rows, len(flat), container=container,
                    envelope=envelope_of(doc, container))


def envelope_of(doc: Any, container: str) -> dict[str, Any]:
    """The JSON document without its records list: paging objects and declared totals.

    ``{"content": [...], "page": {...}}`` with container ``content`` gives ``{"page": {...}}``;
    ``data.sites`` drops ``sites`` from ``data``. A bare array has no envelope.
    """
    if not isinstance(doc, dict) or not container:
        return {}
    outer, _, inner = container.partition(".")
    out = {k: v for k, v in doc.items() if k != outer}
    if inner and isinstance(doc.get(outer), dict):
        out[outer] = {k: v for k, v in doc[outer].items() if k != inner}
    return out


def refuse_error_document(path: Path, doc: Any) -> None:
    """An API error answer saved in place of data is an error, never an empty month.

    Kaseya BMS answers failures with HTTP 200 and ``{"Success": false, "Error": {"Code",
    "Message", ...}, "Result": null}`` (APIS.md 6.2): a pull or a browser saves it like data.

    Raises:
        InputFileError: naming the file and the error code and message the API gave.
    """
    if not isinstance(doc, dict) or doc.get("Success") is not False:
        return
    error = doc.get("Error")
    if isinstance(error, dict):
        said = ", ".join(
            f"{k} {str(error[k])[:200]!r}" for k in ("Code", "Message", "Details") if error.get(k)
        )
    else:
        said = repr(str(error)[:200]) if error else "no error details"
    raise InputFileError(
        path,
        f"is an API error response (Success: false; {said}), not data: the request failed, "
        "so the month is not empty but unknown; pull or save this export again",
    )


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


def flatten(rec: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in rec.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = json.dumps(value, separators=(",", ":"))
        elif value is None:
            out[name] = ""
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = str(value)
    return out
