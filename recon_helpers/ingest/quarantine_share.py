"""A file most of whose rows are quarantined is an error, never a check quietly switched off.

A row set aside for a reason that loses data (``DATA_LOSING_REASONS``: a missing or bad
value, a ragged row, a conflicting duplicate, an unknown reference) is one the month needed.
When a file loses more than ``[quarantine] max_share`` of its rows that way (default 0.2,
20 %) and at least ``[quarantine] min_rows`` of them (default 3, so a two-row file with one bad
row stays a quarantine), the file as a whole is not being read the way it was written: a
re-save in another locale, a wrong delimiter, a missing companion file. The error names the
file, the count, the most common reason with an example row and value, and, where the values
show the pattern, what to declare in recon.toml.

Example recon.toml::

    [quarantine]
    max_share = 0.2
    min_rows = 3
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pandas as pd

from recon_helpers.core.errors import ConfigError, InputFileError
from recon_helpers.core.schemas import DATA_LOSING_REASONS, QuarantineReason
from recon_helpers.core.workspace import Settings
from recon_helpers.ingest.dates import WRITTEN, decide_order, slashed_dates, slashed_of
from recon_helpers.ingest.parsing import SLASHED_DATE
from recon_helpers.ingest.raw import RawTable

_COMMA_DECIMAL = re.compile(r"^[-+(]?\d{1,3}(?:\.\d{3})*,\d+\)?$|^[-+(]?\d+,\d+\)?$")
_POINT_DECIMAL = re.compile(r"^[-+(]?\d+\.\d+\)?$")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class QuarantineLimit:
    """``[quarantine]`` of recon.toml: the share and count of data-losing rows a file may lose."""

    max_share: Fraction = Fraction(1, 5)
    min_rows: int = 3


def quarantine_limit(settings: Settings) -> QuarantineLimit:
    """The ``[quarantine]`` table of recon.toml.

    Raises:
        ConfigError: an unknown key, a share outside 0..1, or a count below 1.
    """
    table = settings.raw.get("quarantine", {})
    if not isinstance(table, dict):
        raise ConfigError("recon.toml: [quarantine] must be a table")
    unknown = set(table) - {"max_share", "min_rows"}
    if unknown:
        raise ConfigError(f"recon.toml: unknown keys in [quarantine]: {sorted(unknown)}")
    share = table.get("max_share", "0.2")
    try:
        max_share = Fraction(str(share))
    except (ValueError, ZeroDivisionError) as exc:
        raise ConfigError(f"recon.toml: quarantine.max_share = {share!r} is not a number") from exc
    if not 0 <= max_share <= 1 or isinstance(share, bool):
        raise ConfigError(f"recon.toml: quarantine.max_share must be 0..1, not {share!r}")
    rows = table.get("min_rows", 3)
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ConfigError(f"recon.toml: quarantine.min_rows must be a whole number >= 1, "
                          f"not {rows!r}")
    return QuarantineLimit(max_share, rows)


@dataclass(frozen=True)
class FileReading:
    """How a file was read, for the hint: its delimiter and the options in force."""

    delimiter: str = ""
    decimal_comma: bool = False
    date_format: str | None = None


def data_losing(quarantine: pd.DataFrame) -> pd.DataFrame:
    """The quarantine rows whose reason loses data, one per (file, row)."""
    reasons = {r.value for r in DATA_LOSING_REASONS}
    return quarantine[quarantine["reason"].isin(reasons)].drop_duplicates(["file", "row"])


def check_share(path: Path, rows_read: int, quarantine: pd.DataFrame, limit: QuarantineLimit,
                reading: FileReading, raw: RawTable | None = None) -> None:
    """Refuse a file that lost too many rows (module docstring).

    Args:
        quarantine: the file's quarantine rows (any reasons; only data-losing ones count).
        raw: the file as read, when known: its dates in every column tell the date order.

    Raises:
        InputFileError: naming the file, the count, the main reason with an example and a hint.
    """
    lost = data_losing(quarantine)
    bad = len(lost)
    if bad < limit.min_rows or not rows_read or Fraction(bad, rows_read) <= limit.max_share:
        return
    reason = lost["reason"].value_counts().index[0]
    mine = lost[lost["reason"].eq(reason)]
    example = mine.iloc[0]
    shown = f"{example['column']} {str(example['value'])[:60]!r}" if example["column"] else (
        repr(str(example["value"])[:60]))
    hint = _hint(QuarantineReason(reason), mine["value"].astype(str), reading, path.name, raw)
    raise InputFileError(
        path,
        f"{bad} of its {rows_read} rows are quarantined ({float(Fraction(bad, rows_read)):.0%}, "
        f"more than the {float(limit.max_share):.0%} [quarantine] max_share allows): mostly "
        f"{reason} ({len(mine)} rows), e.g. row {int(example['row'])}, {shown}: "
        f"{example['detail']}. {hint}",
        row=int(example["row"]),
    )


def _declare(name: str, setting: str) -> str:
    return f'declare it in recon.toml: [files."{name}"] {setting}'


def _hint(reason: QuarantineReason, values: pd.Series, reading: FileReading, name: str,
          raw: RawTable | None) -> str:
    """What the values suggest the file is (a re-save in another locale, ...)."""
    values = values.str.strip()
    if reason is QuarantineReason.BAD_DATE:
        return _date_hint(values, reading, name, raw)
    if reason is QuarantineReason.BAD_NUMBER:
        if not reading.decimal_comma and values.str.match(_COMMA_DECIMAL).mean() > 0.5:
            resave = "a semicolon / decimal-comma re-save" if reading.delimiter == ";" else (
                "decimal commas")
            return f"The numbers are written with a decimal comma ({resave}): " + _declare(
                name, "decimal_comma = true")
        if reading.decimal_comma and values.str.match(_POINT_DECIMAL).mean() > 0.5:
            return ("The numbers use a decimal point but decimal_comma is set for the file: "
                    "remove it from recon.toml.")
        return "Check the file's number format (decimal point or comma, thousands separators)."
    if reason is QuarantineReason.RAGGED_ROW:
        return (f"Rows do not split into the header's columns with the delimiter "
                f"{reading.delimiter!r}: if the file uses another, "
                + _declare(name, 'delimiter = ";"') + " (or the delimiter it uses).")
    if reason is QuarantineReason.BAD_ID:
        return ("IDs were turned into numbers by a spreadsheet (scientific notation): export the "
                "file again and do not open and save it in a spreadsheet.")
    if reason is QuarantineReason.UNKNOWN_REFERENCE:
        return "Load the file these rows refer to (see the detail) into the month folder."
    if reason is QuarantineReason.MISSING_VALUE:
        return "A required value is empty in most rows: is this the export the format expects?"
    return "Export the file again, or fix the rows named in the quarantine."


def _date_hint(values: pd.Series, reading: FileReading, name: str,
               raw: RawTable | None) -> str:
    slashed = values[values.str.match(SLASHED_DATE)]
    if len(slashed) * 2 > len(values):
        # the order shows in the file's other dates too (10/31/2026 in an end column)
        decision = decide_order(slashed_dates(raw) if raw is not None else slashed_of(slashed),
                                "mdy")
        if decision.order is None:
            fitting = []
        elif decision.against_default is None and decision.against_other is None:
            fitting = ["mdy", "dmy"]
        else:
            fitting = [decision.order]
        if len(fitting) == 1:
            order = fitting[0]
            return (f"The dates are written {WRITTEN[order]} (a spreadsheet re-save?): "
                    + _declare(name, f'date_format = "{order}"'))
        if fitting:
            return ("The dates are written M/D/YYYY or D/M/YYYY: "
                    + _declare(name, 'date_format = "mdy"') + ' (or "dmy")')
        return ("The dates mix M/D/YYYY and D/M/YYYY: export the file again, or "
                + _declare(name, 'date_format = "mdy"') + ' (or "dmy")')
    if values.str.match(_ISO_DAY).mean() > 0.5 and reading.date_format != "iso":
        # an M/D/YYYY export saved as XLSX: its date cells are read as dates (YYYY-MM-DD)
        return ("The dates are written YYYY-MM-DD, not as the format expects: "
                + _declare(name, 'date_format = "iso"'))
    return ("Check the file's date format (recon.toml date_format: iso, iso_local_midnight, "
            "mdy, dmy, epoch_ms).")
