"""The RawTable: one input file as rows of strings, before any interpretation.

The readers (:mod:`recon_helpers.ingest.readers`, :mod:`recon_helpers.ingest.xlsx`) produce it;
formats detect and convert it (:mod:`recon_helpers.ingest.loaders`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from recon_helpers.core.errors import InputFileError
from recon_helpers.core.schemas import QuarantineReason, conform_quarantine, empty_quarantine

FileKind = Literal["csv", "json", "xlsx"]


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
    # JSON: the document without its records list (paging objects, declared totals), which
    # ingest/completeness.py checks against the records present; {} for CSV, XLSX, arrays
    envelope: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The file name, as used in ``source`` (``file:row``)."""
        return self.path.name

    def columns_lower(self) -> dict[str, str]:
        """Lower-cased, stripped column name -> the name as in the file (first wins)."""
        out: dict[str, str] = {}
        for c in self.data.columns:
            out.setdefault(norm_header(c), c)
        return out

    def column(self, *names: str) -> str | None:
        """The file's column matching any of ``names`` case-insensitively, or None."""
        lower = self.columns_lower()
        for n in names:
            hit = lower.get(norm_header(n))
            if hit is not None:
                return hit
        return None


def norm_header(name: str) -> str:
    """A column name as compared: stripped, no BOM, lower case, no spaces or underscores."""
    return str(name).strip().strip("\ufeff").lower().replace(" ", "").replace("_", "")


def empty_frame(header: list[str]) -> pd.DataFrame:
    """A frame with the header's columns and no rows."""
    return pd.DataFrame({h: pd.Series(dtype=object) for h in header})


def check_header(path: Path, header: list[str]) -> None:
    """Refuse a header with an empty column name or a name given twice (as compared).

    Raises:
        InputFileError: names the column(s).
    """
    seen: dict[str, int] = {}
    for pos, h in enumerate(header, start=1):
        if not h:
            raise InputFileError(path, f"header column {pos} is empty", row=0)
        key = norm_header(h)
        if key in seen:
            raise InputFileError(
                path, f"header names column {h!r} twice (columns {seen[key]} and {pos})", row=0
            )
        seen[key] = pos


def delim_join(row: list[str]) -> str:
    """A row as one comma-joined string (for quarantine display)."""
    return ",".join(row)


def read_rows(path: Path, header: list[str], body: list[list[str]], kind: FileKind) -> RawTable:
    """Build a RawTable from already split rows; rows wider than the header are quarantined."""
    width = len(header)
    bad = [i for i, r in enumerate(body) if len(r) != width]
    quarantine = empty_quarantine()
    if bad:
        quarantine = conform_quarantine(pd.DataFrame(
            {
                "file": path.name,
                "row": [i + 1 for i in bad],
                "reason": QuarantineReason.RAGGED_ROW.value,
                "column": "",
                "value": [delim_join(body[i])[:200] for i in bad],
                "detail": [f"values beyond the {width} header columns" for _ in bad],
            }
        ))
    bad_set = set(bad)
    keep = [r for i, r in enumerate(body) if i not in bad_set]
    rows = pd.Series([i + 1 for i in range(len(body)) if i not in bad_set], dtype="int64")
    data = pd.DataFrame(keep, columns=header, dtype=object) if keep else empty_frame(header)
    return RawTable(path, kind, data, rows, len(body), quarantine=quarantine)
