"""Loading one month's inputs: every file read, recognised, parsed and linked into the
canonical tables, with the inventory and the quarantine.

Every row read is either used (in a canonical or auxiliary table, carrying ``source`` =
``file:row``) or quarantined with a reason; the inventory checks ``rows_read == rows_used +
rows_quarantined`` for every file.

Example:
    >>> loaded = load_period(Workspace.open("data"), Period.parse("2026-10"))
    >>> loaded.inventory[["file", "format", "rows_read", "rows_used", "rows_quarantined"]]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recon_helpers.connect.provenance import PULL_LOG, origins
from recon_helpers.core.errors import InputFileError, UsageError
from recon_helpers.core.files import sha256_file
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import QUARANTINE_COLUMNS, ROLES, empty_quarantine
from recon_helpers.core.workspace import Settings, Workspace
from recon_helpers.ingest.loaders.base import LinkResult, SourceFormat
from recon_helpers.ingest.raw import RawTable
from recon_helpers.ingest.readers import read_raw
from recon_helpers.ingest.registry import FORMATS, LINKERS, detect_format, format_named, formats_for
from recon_helpers.ingest.validation import LoadOptions, drop_duplicates

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
)


@dataclass
class FileLoad:
    """One file read and parsed: its format, typed rows and quarantined rows."""

    path: Path
    format: SourceFormat
    raw: RawTable
    frame: pd.DataFrame
    quarantine: pd.DataFrame
    sha256: str


def options_for(settings: Settings, name: str) -> tuple[dict[str, object], LoadOptions]:
    """The recon.toml entry for one file and the LoadOptions it implies."""
    entry = settings.files.get(name, {})
    known = {"format", "encoding", "delimiter", "decimal_comma", "date_format", "sheet", "currency"}
    unknown = set(entry) - known
    if unknown:
        raise UsageError(f'recon.toml [files."{name}"]: unknown keys {sorted(unknown)}')
    opts = LoadOptions(
        decimal_comma=bool(entry.get("decimal_comma", False)),
        date_format=entry.get("date_format"),  # type: ignore[arg-type]
        timezone=settings.timezone,
        currency=str(entry.get("currency", settings.currency)).upper(),
    )
    return entry, opts


def load_file(
    path: Path, settings: Settings | None = None, formats: tuple[SourceFormat, ...] = FORMATS
) -> FileLoad:
    """Read, recognise and parse one input file (``formats``: see :func:`formats_for`).

    Raises:
        InputFileError: unreadable or unrecognised file (names the file, row and problem).
    """
    settings = settings or Settings()
    entry, opts = options_for(settings, path.name)
    raw = read_raw(
        path,
        encoding=entry.get("encoding"),  # type: ignore[arg-type]
        delimiter=entry.get("delimiter"),  # type: ignore[arg-type]
        sheet=entry.get("sheet"),  # type: ignore[arg-type]
    )
    fmt = (
        format_named(str(entry["format"]), formats)
        if "format" in entry
        else detect_format(raw, formats)
    )
    deduped, dup_q = drop_duplicates(raw, fmt.record_id)
    converted = fmt.parse(deduped, opts)
    quarantine = _concat_q([raw.quarantine, dup_q, converted.quarantine])
    return FileLoad(path, fmt, raw, converted.frame, quarantine, sha256_file(path))


def _concat_q(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_quarantine()
    return pd.concat(parts, ignore_index=True)[list(QUARANTINE_COLUMNS)]


@dataclass(frozen=True)
class LoadedPeriod:
    """One month's inputs as canonical tables, with the inventory and the quarantine."""

    period: Period
    inventory: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    ignored: list[str] = field(default_factory=list)

    @property
    def delivered(self) -> pd.DataFrame:
        """Vendor usage lines (DELIVERED)."""
        return self.tables["delivered"]

    @property
    def promised(self) -> pd.DataFrame:
        """Agreement lines (PROMISED)."""
        return self.tables["promised"]

    @property
    def billed(self) -> pd.DataFrame:
        """Invoice lines (BILLED)."""
        return self.tables["billed"]

    @property
    def clients(self) -> pd.DataFrame:
        """PSA clients (CLIENTS)."""
        return self.tables["clients"]

    @property
    def catalogue(self) -> pd.DataFrame:
        """Product catalogue with list prices (CATALOGUE)."""
        return self.tables["catalogue"]


def input_files(folder: Path) -> tuple[list[Path], list[str]]:
    """Files to load in a month folder, and the names passed over (hidden, lock files).

    ``pull-log.json`` (exactly that name) is the record of ``recon pull``, not an export: it
    is passed over too, and read only for the inventory's ``origin`` column.

    Raises:
        InputFileError: a symbolic link: it may point outside the workspace, and its target
            can change after the month is sealed; inputs must be the files themselves.
    """
    files, ignored = [], []
    for p in sorted(folder.iterdir()):
        if p.name.startswith((".", "~$")) or p.name == PULL_LOG:
            ignored.append(p.name)
        elif p.is_symlink():
            raise InputFileError(
                p, "is a symbolic link; copy the export itself into the month folder"
            )
        elif not p.is_file():
            ignored.append(p.name)
        else:
            files.append(p)
    return files, ignored


def load_period(
    workspace: Workspace,
    period: Period,
    progress: Callable[[str], None] | None = None,
) -> LoadedPeriod:
    """Load every file of ``inputs/<period>/`` into canonical tables.

    Returns:
        LoadedPeriod with ``tables`` for every role in ROLES (conformed to their schema) and
        the auxiliary entities, an ``inventory`` (INVENTORY_COLUMNS) and the ``quarantine``.

    Raises:
        UsageError: the month folder does not exist.
        InputFileError: a file cannot be read or recognised.
    """
    folder = workspace.inputs(period)
    if not folder.is_dir():
        have = ", ".join(map(str, workspace.periods())) or "none"
        raise UsageError(f"no inputs folder {folder} (months with inputs: {have})")
    files, ignored = input_files(folder)
    formats = formats_for(workspace)
    return load_files(files, workspace.settings(), period, ignored, progress, formats)


def load_files(
    files: list[Path],
    settings: Settings,
    period: Period,
    ignored: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    formats: tuple[SourceFormat, ...] = FORMATS,
) -> LoadedPeriod:
    """Load the given files of one month (what :func:`load_period` does for its folder).

    Raises:
        InputFileError: a file cannot be read or recognised.
    """
    loads = []
    for path in files:
        if progress:
            progress(f"reading {path.name}")
        loads.append(load_file(path, settings, formats))
    entities: dict[str, list[pd.DataFrame]] = {}
    for fl in loads:
        entities.setdefault(fl.format.entity, []).append(fl.frame)
    merged = {k: pd.concat(v, ignore_index=True) for k, v in entities.items()}
    quarantine = [fl.quarantine for fl in loads]
    opts = LoadOptions(timezone=settings.timezone, currency=settings.currency)
    for linker in LINKERS:
        if linker.consumes & set(merged):
            result: LinkResult = linker.link(merged, opts)
            for role, frame in result.tables.items():
                if role in ROLES and role in merged and role not in result.replace:
                    merged[role] = pd.concat([merged[role], frame], ignore_index=True)
                else:  # a new role, or an auxiliary entity without its quarantined rows
                    merged[role] = frame
            quarantine.append(result.quarantine)
    tables = {role: _conform(table, merged.get(role)) for role, table in ROLES.items()}
    for name, frame in merged.items():
        tables.setdefault(name, frame)
    q = _concat_q(quarantine)
    inventory = _inventory(loads, tables, q)
    return LoadedPeriod(period, inventory, tables, q, list(ignored or []))


def _conform(table, frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is None or frame.empty:
        return table.empty()
    return table.conform(frame)


def _rows_per_file(sources: list[pd.Series]) -> dict[str, int]:
    """Distinct ``file:row`` sources per file name (the text before the last ':').

    pyarrow's vectorised kernels: the same counts as pandas' rsplit + value_counts, without a
    Python call per row (a million-line month has a million sources).
    """
    if not sources:
        return {}
    arr = pa.chunked_array([pa.array(s.to_numpy(dtype=object), type=pa.string()) for s in sources])
    files = pc.value_counts(pc.replace_substring_regex(pc.unique(arr), ":[^:]*$", ""))
    return dict(zip(files.field(0).to_pylist(), files.field(1).to_pylist(), strict=True))


def _inventory(
    loads: list[FileLoad], tables: dict[str, pd.DataFrame], quarantine: pd.DataFrame
) -> pd.DataFrame:
    # a row may feed several tables (an auxiliary entity and the canonical row built from it):
    # count each source row once
    sources = [f["source"] for f in tables.values() if "source" in f and len(f)]
    used = _rows_per_file(sources)
    qcount = quarantine.drop_duplicates(["file", "row"])["file"].value_counts()
    rows = []
    for fl in loads:
        name = fl.path.name
        rows.append(
            {
                "file": name,
                "format": fl.format.name,
                "entity": fl.format.entity,
                "encoding": fl.raw.encoding if fl.raw.kind != "xlsx" else f"xlsx:{fl.raw.sheet}",
                "bytes": fl.path.stat().st_size,
                "sha256": fl.sha256,
                "rows_read": fl.raw.rows_read,
                "rows_used": used.get(name, 0),
                "rows_quarantined": int(qcount.get(name, 0)),
            }
        )
    if loads:
        # "pulled <time> from <source>" while a file still hashes as recon pull saved it
        origin = origins(loads[0].path.parent, {r["file"]: r["sha256"] for r in rows})
        for r in rows:
            r["origin"] = origin[r["file"]]
    inv = pd.DataFrame(rows, columns=list(INVENTORY_COLUMNS))
    broken = inv[inv.rows_read != inv.rows_used + inv.rows_quarantined]
    if len(broken):
        # a loader that loses rows is a bug, never a user error: fail loudly
        raise AssertionError(f"rows not conserved: {broken.to_dict('records')}")
    return inv
