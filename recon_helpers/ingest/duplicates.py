"""The same content twice: identical files, overlapping records, one vendor in two families.

* **Identical files** (same sha256: an export saved twice, ``... (1).json``) are read once:
  the file with the shortest name (then the first by name) is read, each copy is listed in
  the inventory as a duplicate of it and not read.
* **Overlapping records**: two different files of one format holding the same record id
  (``SourceFormat.record_id``: a second download, a corrected re-export beside the first)
  would count those records twice; so would two CSV/XLSX files naming the same document
  (``SourceFormat.document_id``: one Partner Center invoice downloaded twice). Either is an
  error naming both files and an example id: which one is right only the auditor can tell.
* **One vendor in two file families**: a format that ``defers_to`` another (Pax8
  subscriptions beside Pax8 invoice items) is counted once: the format it defers to counts;
  its own rows go to the auxiliary table ``corroborating.<format>`` (so rows read = used +
  quarantined still holds) and the quantities where the two disagree at month end are listed
  in the ``corroboration`` table and the file's inventory note.

Example:
    >>> distinct, copies, digests = identical_files(files)
    >>> {c.name: o.name for c, o in copies.items()}
    {'pax8-invoice-items (1).json': 'pax8-invoice-items.json'}
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from recon_helpers.core.errors import InputFileError
from recon_helpers.core.files import sha256_file
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import qty
from recon_helpers.ingest.loaders.base import SourceFormat
from recon_helpers.ingest.raw import RawTable

CORROBORATING = "corroborating"  # auxiliary entity prefix: corroborating.<format name>
CORROBORATION = "corroboration"  # the table of disagreements
CORROBORATION_COLUMNS = (
    "vendor", "vendor_customer_id", "vendor_sku", "counted_quantity", "corroborating_quantity",
    "counted_files", "corroborating_files",
)


def identical_files(files: Sequence[Path]) -> tuple[list[Path], dict[Path, Path], dict[Path, str]]:
    """Files to read, copies of them (copy -> the file read), and every file's sha256.

    Of byte-identical files the one with the shortest name is read (then the first by name):
    ``pax8.json`` rather than ``pax8 (1).json``.
    """
    digests = {p: sha256_file(p) for p in files}
    kept: dict[str, Path] = {}
    for p in sorted(files, key=lambda p: (len(p.name), p.name)):
        kept.setdefault(digests[p], p)
    copies = {p: kept[digests[p]] for p in files if kept[digests[p]] != p}
    return [p for p in files if p not in copies], copies, digests


def _ids(raw: RawTable, column: str | None) -> pd.Series:
    col = raw.column(column) if column else None
    if col is None:
        return pd.Series(dtype=object)
    ids = raw.data[col].astype(str).str.strip()
    return ids[ids.ne("")].drop_duplicates()


def check_overlaps(files: Sequence[tuple[SourceFormat, RawTable]]) -> None:
    """Refuse two files of one format that hold the same records or documents.

    Raises:
        InputFileError: naming both files, the id column and an example id.
    """
    for attr, what in (("record_id", "record"), ("document_id", "document")):
        parts = []
        for order, (fmt, raw) in enumerate(files):
            column = getattr(fmt, attr)
            if not column or (attr == "document_id" and raw.kind == "json"):
                continue
            ids = _ids(raw, column)
            parts.append(pd.DataFrame({"format": fmt.name, "id": ids.to_numpy(),
                                       "order": order, "column": column}))
        if not parts:
            continue
        every = pd.concat(parts, ignore_index=True)
        shared = every[every.duplicated(["format", "id"], keep=False)]
        if shared.empty:
            continue
        first = shared.groupby(["format", "id"])["order"].transform("min")
        later = shared[shared["order"].gt(first)]
        second = int(later["order"].min())
        clash = later[later["order"].eq(second)]
        earlier = int(first[clash.index].min())
        count = int(first[clash.index].eq(earlier).sum())
        example = clash.iloc[0]
        _refuse(files[second][1], files[earlier][1].name, str(example["column"]),
                str(example["id"]), what, count)


def _refuse(raw: RawTable, first: str, column: str, example: str, what: str,
            shared: int) -> None:
    raise InputFileError(
        raw.path,
        f"holds {shared} {what}(s) that {first} holds too ({column} {example!r}"
        f"{' and others' if shared > 1 else ''}): the same export twice (a second download, "
        f"a corrected re-export?) would count them twice; keep the one that is right and "
        f"move the other out of the month folder",
    )


def deferring(formats: Sequence[SourceFormat]) -> dict[str, str]:
    """Format name -> the loaded format it defers to, for the formats loaded with it."""
    loaded = {f.name for f in formats}
    return {f.name: f.defers_to for f in formats if f.defers_to and f.defers_to in loaded}


def corroboration(counted: pd.DataFrame, corroborating: pd.DataFrame,
                  period: Period) -> pd.DataFrame:
    """Where the corroborating rows' month-end quantities differ from the counted ones.

    Both frames are delivered rows. Per vendor x customer x SKU, the quantity of the lines
    whose dates cover the month's last day (an undated side counts fully).

    Returns:
        DataFrame of CORROBORATION_COLUMNS (quantities fixed point), one row per disagreement.
    """
    a = _month_end(counted, period).rename("counted_quantity")
    b = _month_end(corroborating, period).rename("corroborating_quantity")
    both = pd.concat([a, b], axis=1).fillna(0).astype("int64")
    differ = both[both["counted_quantity"].ne(both["corroborating_quantity"])].reset_index()
    files = {"counted_files": counted, "corroborating_files": corroborating}
    for column, frame in files.items():
        names = frame["source"].str.rsplit(":", n=1).str[0]
        differ[column] = ", ".join(sorted(set(names))) if len(frame) else ""
    return differ.reindex(columns=list(CORROBORATION_COLUMNS))


def _month_end(frame: pd.DataFrame, period: Period) -> pd.Series:
    keys = ["vendor", "vendor_customer_id", "vendor_sku"]
    if frame.empty:
        return pd.Series(dtype="int64", index=pd.MultiIndex.from_tuples([], names=keys))
    last = pd.Timestamp(period.last)
    live = frame["charge_start"].fillna(last).le(last) & frame["charge_end"].fillna(last).ge(last)
    rows = frame[live].assign(vendor_customer_id=lambda f: f["vendor_customer_id"].str.lower())
    return rows.groupby(keys)["quantity"].sum()


def corroboration_note(defers_to: str, disagreements: pd.DataFrame) -> str:
    """The inventory note of a file that only corroborates (how many keys disagree)."""
    head = f"not counted: corroborates {defers_to} (that format's rows count)"
    if disagreements.empty:
        return head + "; every month-end quantity agrees"
    first = disagreements.iloc[0]
    return (f"{head}; {len(disagreements)} customer x SKU quantities differ at month end, "
            f"e.g. {first['vendor_customer_id']} {first['vendor_sku']}: "
            f"{qty(first['corroborating_quantity'])} here, {qty(first['counted_quantity'])} "
            "counted")
