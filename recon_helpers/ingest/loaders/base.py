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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from recon_helpers.core.schemas import empty_quarantine
from recon_helpers.ingest.raw import FileKind, RawTable, norm_header
from recon_helpers.ingest.validation import Converted, LoadOptions

ParseFn = Callable[[RawTable, LoadOptions], Converted]


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
            quarantined as conflicting duplicates.
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
    output table (carrying its ``source``) or in the quarantine.
    """

    family: str
    consumes: frozenset[str]
    link: Callable[[Mapping[str, pd.DataFrame], LoadOptions], LinkResult]
