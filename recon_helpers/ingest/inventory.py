"""The load inventory: one row per input file, with the rows it gave and what was noticed.

Columns (INVENTORY_COLUMNS): the file, its detected format and entity, encoding, size, sha256,
rows read = used + quarantined (checked for every file), ``origin`` (``recon pull``'s
provenance), ``dates_from`` / ``dates_to`` (the first start and last end of its charge,
service-period or invoice dates, ``YYYY-MM-DD``; empty when it has none: a source of another
billing period shows here), ``duplicate_of`` (a byte-identical copy of that file: not read)
and ``note`` (what the loader decided on the file's behalf: a date order read from the file,
a file that only corroborates another).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recon_helpers.connect.provenance import origins

INVENTORY_COLUMNS = (
    "file",
    "format",
    "entity",
    "encoding",
    "bytes",
    "sha256",
    "rows_read",
    "rows_used",
    "rows_quarantined",
    "origin",
    "dates_from",
    "dates_to",
    "duplicate_of",
    "note",
)


@dataclass(frozen=True)
class FileRow:
    """What the inventory records of one file read."""

    path: Path
    format: str
    entity: str
    encoding: str
    sha256: str
    rows_read: int
    dates: tuple[str, str] = ("", "")
    note: str = ""


def rows_per_file(sources: list[pd.Series]) -> dict[str, int]:
    """Distinct ``file:row`` sources per file name (the text before the last ':').

    pyarrow's vectorised kernels: the same counts as pandas' rsplit + value_counts, without a
    Python call per row (a million-line month has a million sources).
    """
    if not sources:
        return {}
    arr = pa.chunked_array([pa.array(s.to_numpy(dtype=object), type=pa.string()) for s in sources])
    files = pc.value_counts(pc.replace_substring_regex(pc.unique(arr), ":[^:]*$", ""))
    return dict(zip(files.field(0).to_pylist(), files.field(1).to_pylist(), strict=True))


def copy_rows(copies: Mapping[Path, Path],
              originals: Mapping[str, tuple[str, str]]) -> list[dict[str, object]]:
    """Inventory rows (without ``origin``) of byte-identical copies, not read.

    Args:
        copies: copy -> the file read in its place.
        originals: file name -> (format, sha256) of the files read.
    """
    rows = []
    for copy, original in copies.items():
        fmt, digest = originals.get(original.name, ("", ""))
        rows.append({
            "file": copy.name, "format": fmt, "entity": "", "encoding": "",
            "bytes": copy.stat().st_size, "sha256": digest, "rows_read": 0, "rows_used": 0,
            "rows_quarantined": 0, "dates_from": "", "dates_to": "",
            "duplicate_of": original.name,
            "note": f"byte-identical to {original.name}: not read (counted once)",
        })
    return rows


def build_inventory(files: Sequence[FileRow], copies: Mapping[Path, Path],
                    tables: Mapping[str, pd.DataFrame], quarantine: pd.DataFrame,
                    order: Sequence[Path] = ()) -> pd.DataFrame:
    """The inventory of the files read and of their copies.

    Args:
        files: the files read.
        copies: byte-identical copies (not read) -> the file read in their place.
        tables: every loaded table; a row counts as used once, whichever tables it feeds.
        quarantine: the month's quarantine.
        order: the files as listed (the inventory's row order); default: as given.

    Raises:
        AssertionError: a file's rows are not conserved (a loader bug, never a user error).
    """
    sources = [f["source"] for f in tables.values() if "source" in f and len(f)]
    used = rows_per_file(sources)
    qcount = quarantine.drop_duplicates(["file", "row"])["file"].value_counts()
    rows = [{
        "file": f.path.name, "format": f.format, "entity": f.entity, "encoding": f.encoding,
        "bytes": f.path.stat().st_size, "sha256": f.sha256, "rows_read": f.rows_read,
        "rows_used": used.get(f.path.name, 0), "rows_quarantined": int(qcount.get(f.path.name, 0)),
        "dates_from": f.dates[0], "dates_to": f.dates[1], "duplicate_of": "", "note": f.note,
    } for f in files]
    read = {f.path.name: (f.format, f.sha256) for f in files}
    rows += copy_rows(copies, read)
    rank = {p.name: i for i, p in enumerate(order)}
    rows.sort(key=lambda r: rank.get(r["file"], len(rank)))
    if rows:
        folder = (files[0].path if files else next(iter(copies))).parent
        origin = origins(folder, {r["file"]: r["sha256"] for r in rows})
        for r in rows:
            r["origin"] = origin[r["file"]]
    inv = pd.DataFrame(rows, columns=list(INVENTORY_COLUMNS))
    broken = inv[inv.rows_read != inv.rows_used + inv.rows_quarantined]
    if len(broken):
        # a loader that loses rows is a bug, never a user error: fail loudly
        raise AssertionError(f"rows not conserved: {broken.to_dict('records')}")
    return inv
