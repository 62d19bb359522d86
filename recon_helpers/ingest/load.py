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
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from recon_helpers.connect.provenance import PULL_LOG
from recon_helpers.core.errors import InputFileError, UsageError
from recon_helpers.core.files import sha256_file
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import ROLES, conform_quarantine, empty_quarantine
from recon_helpers.core.workspace import Settings, Workspace
from recon_helpers.ingest.completeness import (
    PageFile,
    PageInfo,
    check_listings,
    check_page,
    page_info,
)
from recon_helpers.ingest.dates import check_plausible, date_coverage, decide_for_file
from recon_helpers.ingest.duplicates import (
    CORROBORATING,
    CORROBORATION,
    check_overlaps,
    corroboration,
    corroboration_note,
    deferring,
    identical_files,
)
from recon_helpers.ingest.inventory import INVENTORY_COLUMNS, FileRow, build_inventory
from recon_helpers.ingest.loaders.base import LinkResult, SourceFormat
from recon_helpers.ingest.quarantine_share import FileReading, check_share, quarantine_limit
from recon_helpers.ingest.raw import RawTable
from recon_helpers.ingest.readers import read_raw
from recon_helpers.ingest.registry import FORMATS, LINKERS, detect_format, format_named, formats_for
from recon_helpers.ingest.validation import LoadOptions, drop_duplicates

__all__ = ["INVENTORY_COLUMNS", "FileLoad", "LoadedPeriod", "input_files", "load_file",
           "load_files", "load_period", "month_files", "options_for"]


@dataclass
class FileLoad:
    """One file read and parsed: its format, typed rows and quarantined rows."""

    path: Path
    format: SourceFormat
    raw: RawTable
    frame: pd.DataFrame
    quarantine: pd.DataFrame
    sha256: str
    note: str = ""  # what was decided on the file's behalf (inventory ``note``)
    reading: FileReading = field(default_factory=FileReading)
    paging: PageInfo | None = None

    def row(self) -> FileRow:
        """The file's inventory record."""
        raw = self.raw
        return FileRow(self.path, self.format.name, self.format.entity,
                       raw.encoding if raw.kind != "xlsx" else f"xlsx:{raw.sheet}",
                       self.sha256, raw.rows_read, date_coverage(self.frame), self.note)


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
    path: Path,
    settings: Settings | None = None,
    formats: tuple[SourceFormat, ...] = FORMATS,
    *,
    period: Period | None = None,
    sha256: str | None = None,
) -> FileLoad:
    """Read, recognise and parse one input file (``formats``: see :func:`formats_for`).

    Checks what the file says about itself (its paging object) and, for a format writing
    slashed dates, decides their order from the file and checks them against ``period``
    (:mod:`recon_helpers.ingest.dates`).

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
    paging = page_info(raw.envelope)
    if paging is not None:
        check_page(raw, paging)
    decision = None
    if fmt.slashed_dates and "date_format" not in entry:  # a declared format is applied as is
        decision = decide_for_file(raw, fmt.slashed_dates)
        if decision is not None:
            opts = replace(opts, slashed_order=decision.order)
    deduped, dup_q = drop_duplicates(raw, fmt.record_id)
    converted = fmt.parse(deduped, opts)
    if decision is not None:
        check_plausible(raw, converted.frame, decision, period, fmt.entity == "delivered")
    quarantine = _concat_q([raw.quarantine, dup_q, converted.quarantine])
    reading = FileReading(raw.delimiter, opts.decimal_comma, opts.date_format)
    return FileLoad(path, fmt, raw, converted.frame, quarantine, sha256 or sha256_file(path),
                    decision.note() if decision else "", reading, paging)


def _concat_q(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_quarantine()
    return conform_quarantine(pd.concat(parts, ignore_index=True))


@dataclass(frozen=True)
class LoadedPeriod:
    """One month's inputs as canonical tables, with the inventory and the quarantine.

    ``duplicates``: byte-identical copies not read (file name -> the file read instead).
    """

    period: Period
    inventory: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    ignored: list[str] = field(default_factory=list)
    duplicates: dict[str, str] = field(default_factory=dict)

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

    @property
    def notes(self) -> dict[str, str]:
        """File name -> what the loader decided on its behalf or noticed about it."""
        inv = self.inventory
        if "note" not in inv:
            return {}
        noted = inv[inv["note"].astype(str).ne("")]
        return dict(zip(noted["file"], noted["note"], strict=True))


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


def month_files(workspace: Workspace, period: Period) -> tuple[list[Path], list[str]]:
    """The files of ``inputs/<period>/`` to load, and the names passed over.

    Raises:
        UsageError: the month folder does not exist, or holds no input file: an empty month
            is never a clean one.
    """
    folder = workspace.inputs(period)
    if not folder.is_dir():
        have = ", ".join(map(str, workspace.periods())) or "none"
        raise UsageError(f"no inputs folder {folder} (months with inputs: {have})")
    files, ignored = input_files(folder)
    if not files:
        passed = f" (only {', '.join(ignored)}, which are not exports)" if ignored else ""
        raise UsageError(
            f"the inputs folder {folder} holds no input files{passed}: nothing to reconcile "
            f"for {period}; put the month's exports there or run `recon pull --period {period}`"
        )
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
        UsageError: the month folder does not exist or holds no input file.
        InputFileError: a file cannot be read or recognised, or fails a check of
            :func:`load_files`.
    """
    formats = formats_for(workspace)  # a bad profile is named before the month's files
    files, ignored = month_files(workspace, period)
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

    Byte-identical copies are read once; then every listing must be complete
    (:mod:`~recon_helpers.ingest.completeness`), no two files of a format may hold the same
    records (:mod:`~recon_helpers.ingest.duplicates`), and no file may lose more of its rows
    than ``[quarantine]`` allows (:mod:`~recon_helpers.ingest.quarantine_share`).

    Raises:
        InputFileError: a file cannot be read or recognised, or fails one of those checks.
        ConfigError: a bad ``[quarantine]`` table in recon.toml.
    """
    limit = quarantine_limit(settings)
    distinct, copies, digests = identical_files(files)
    loads = []
    for path in distinct:
        if progress:
            progress(f"reading {path.name}")
        loads.append(load_file(path, settings, formats, period=period, sha256=digests[path]))
    check_listings([PageFile(fl.path.name, fl.format.name, fl.raw.rows_read, fl.paging)
                    for fl in loads if fl.paging is not None])
    check_overlaps([(fl.format, fl.raw) for fl in loads])
    merged = _entities(loads, period)
    quarantine = [fl.quarantine for fl in loads]
    quarantine += _link(merged, LoadOptions(timezone=settings.timezone,
                                            currency=settings.currency))
    tables = {role: _conform(table, merged.get(role)) for role, table in ROLES.items()}
    for name, frame in merged.items():
        tables.setdefault(name, frame)
    q = _identify(_concat_q(quarantine), loads, merged)
    for fl in loads:
        check_share(fl.path, fl.raw.rows_read, q[q["file"].eq(fl.path.name)], limit, fl.reading,
                    fl.raw)
    inventory = build_inventory([fl.row() for fl in loads], copies, tables, q, files)
    duplicates = {copy.name: original.name for copy, original in copies.items()}
    return LoadedPeriod(period, inventory, tables, q, list(ignored or []), duplicates)


def _entities(loads: list[FileLoad], period: Period) -> dict[str, pd.DataFrame]:
    """Each entity's frames together; a format deferring to a loaded one goes to its
    ``corroborating.<format>`` table, its disagreements to ``corroboration``."""
    defers = deferring([fl.format for fl in loads])
    frames: dict[str, list[pd.DataFrame]] = {}
    for fl in loads:
        name = fl.format.name
        entity = f"{CORROBORATING}.{name}" if name in defers else fl.format.entity
        frames.setdefault(entity, []).append(fl.frame)
    merged = {k: pd.concat(v, ignore_index=True) for k, v in frames.items()}
    found = []
    for name, counted_format in defers.items():
        counted = pd.concat([fl.frame for fl in loads if fl.format.name == counted_format],
                            ignore_index=True)
        differ = corroboration(counted, merged[f"{CORROBORATING}.{name}"], period)
        found.append(differ)
        for fl in loads:
            if fl.format.name == name:
                fl.note = corroboration_note(counted_format, differ)
    if defers:
        merged[CORROBORATION] = pd.concat(found, ignore_index=True)
    return merged


def _link(merged: dict[str, pd.DataFrame], opts: LoadOptions) -> list[pd.DataFrame]:
    """Run the linkers on the loaded entities (in place); the rows they set aside."""
    quarantine = []
    for linker in LINKERS:
        if linker.consumes & set(merged):
            result: LinkResult = linker.link(merged, opts)
            for role, frame in result.tables.items():
                if role in ROLES and role in merged and role not in result.replace:
                    merged[role] = pd.concat([merged[role], frame], ignore_index=True)
                else:  # a new role, or an auxiliary entity without its quarantined rows
                    merged[role] = frame
            quarantine.append(result.quarantine)
    return quarantine


def _identify(q: pd.DataFrame, loads: list[FileLoad],
              entities: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The quarantine with what the PSA linkers know of each row's client and product."""
    raws: dict[str, list[RawTable]] = {}
    for fl in loads:
        raws.setdefault(fl.format.entity, []).append(fl.raw)
    for linker in LINKERS:
        if linker.identify is not None and linker.consumes & set(raws):
            q = conform_quarantine(linker.identify(q, raws, entities))
    return q


def _conform(table, frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is None or frame.empty:
        return table.empty()
    return table.conform(frame)
