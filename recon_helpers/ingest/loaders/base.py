"""What a source format is: a signature for detection and a parse function, plus linkers.

A format module defines one or more :class:`SourceFormat` objects and lists them in
``FORMATS``; formats whose rows only become canonical once joined with other files of the same
PSA (ConnectWise additions -> agreements -> companies) also define a :class:`Linker`.

Example:
    FORMAT = SourceFormat(
        name="huntress_organizations", entity="delivered",
        signature=frozenset({"id", "name", "agents_count"}), parse=parse_orgs)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from recon_helpers.core.schemas import empty_quarantine
from recon_helpers.ingest.raw import FileKind, RawTable, norm_header
from recon_helpers.ingest.validation import Converted, LoadOptions

ParseFn = Callable[[RawTable, LoadOptions], Converted]
# (the month's quarantine, the RawTables read per entity, the linked entity frames) -> the
# quarantine with the identity of the family's rows filled in (QUARANTINE_IDENTITY)
IdentifyFn = Callable[
    [pd.DataFrame, Mapping[str, Sequence[RawTable]], Mapping[str, pd.DataFrame]], pd.DataFrame
]


@dataclass(frozen=True)
class SourceFormat:
    """A registered export format.

    Attributes:
        name: unique format name (what ``recon.toml`` ``format =`` names).
        entity: a canonical role (``delivered``, ``promised``, ``billed``, ``clients``,
            ``catalogue``) or an auxiliary entity ``"<family>.<entity>"`` consumed by a linker.
        signature: column names (JSON: dotted key paths) that must all be present;
            compared case-insensitively, ignoring spaces and underscores.
        parse: RawTable -> Converted (typed rows with ``source`` and ``row``, and quarantine).
        kinds: file kinds this format can arrive as.
        container: for JSON, the envelope key holding the records ("" = bare array);
            None = any.
        excludes: columns whose presence rules this format out (tells apart look-alikes).
        record_id: a column that identifies a record; repeats with other values are
            quarantined as conflicting duplicates, and two files of the format holding the
            same id are the same records twice (an error).
        document_id: a column naming the document (invoice) a row belongs to, for exports
            downloaded one document per file (the Partner Center invoice reconciliation
            CSV's ``InvoiceNumber``): two CSV/XLSX files of the format naming the same
            document are one invoice twice (an error). API pages (JSON) may split one.
        slashed_dates: the order of the format's ``M/D/YYYY``-style dates (``mdy``,
            ``dmy``), or None when it writes none; a file's own dates may show the other
            order (ingest/dates.py).
        defers_to: another format delivering the same records: when a file of that format
            is loaded in the month, this one's rows only corroborate it (ingest/duplicates.py).
        description: one line for format listings.
        origin: where a workspace declared the format (``mappings/profiles/x.toml:3``); empty
            for the package's own formats. Such a format is never picked by signature size
            over another format that also fits a file: that is an error to resolve.
    """

    name: str
    entity: str
    signature: frozenset[str]
    parse: ParseFn
    kinds: frozenset[FileKind] = frozenset({"csv", "json", "xlsx"})
    container: str | None = None
    excludes: frozenset[str] = frozenset()
    record_id: str | None = None
    description: str = ""
    origin: str = ""
    document_id: str | None = None
    slashed_dates: Literal["mdy", "dmy"] | None = None
    defers_to: str | None = None

    def normalized_signature(self) -> frozenset[str]:
        """The signature as compared (lower case, no spaces or underscores)."""
        return frozenset(norm_header(c) for c in self.signature)


@dataclass
class LinkResult:
    """What a linker produces: frames per canonical role, and rows it had to set aside.

    A canonical role in ``tables`` is appended to what other files gave, unless it is named in
    ``replace``: then it replaces that role's frame (a linker that fills in columns of rows
    already loaded, such as Pax8 company names, returns all of them). An auxiliary entity in
    ``tables`` replaces the loaded frame (return it without the rows it quarantined).
    """

    tables: Mapping[str, pd.DataFrame]
    quarantine: pd.DataFrame = field(default_factory=empty_quarantine)
    replace: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Linker:
    """Joins auxiliary entities of one family into canonical tables.

    ``link`` receives every loaded entity frame (auxiliary and canonical) and returns the
    canonical rows it builds. Each input row of a consumed entity must end up either in an
    output table (carrying its ``source``) or in the quarantine. ``identify`` (optional) says
    which client and product the family's quarantined rows concern when a row reaches its
    client only through another file (an addition through its agreement).
    """

    family: str
    consumes: frozenset[str]
    link: Callable[[Mapping[str, pd.DataFrame], LoadOptions], LinkResult]
    identify: IdentifyFn | None = None
