"""The format registry: every format the workbook reads, and detection of a file's format.

Files dropped into ``inputs/<YYYY-MM>/`` are recognised by their header (JSON: their keys);
``recon.toml`` ``[files."<name>"] format = ...`` names a format explicitly. A format is one
:class:`~recon_helpers.ingest.loaders.base.SourceFormat` in a module of
:mod:`recon_helpers.ingest.loaders`, listed here. Besides the package's own formats
(``FORMATS``), a workspace may declare vendor exports as profile files
(``mappings/profiles/*.toml``): :func:`formats_for` adds them.

Example:
    >>> detect_format(read_raw(Path("inputs/2026-10/cw-agreements.json"))).name
    'connectwise_agreements'
"""

from __future__ import annotations

from recon_helpers.core.errors import UnknownFormatError, UsageError
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.loaders import (
    autotask,
    canonical,
    connectwise,
    distributors,
    halopsa,
    kaseya_bms,
    microsoft_licences,
    microsoft_nce,
    pax8,
    profiles,
    syncro,
)
from recon_helpers.ingest.loaders.base import Linker, SourceFormat
from recon_helpers.ingest.loaders.workspace_profiles import workspace_formats
from recon_helpers.ingest.raw import RawTable, norm_header

FORMATS: tuple[SourceFormat, ...] = (
    *canonical.FORMATS,
    *microsoft_nce.FORMATS,
    *microsoft_licences.FORMATS,
    *pax8.FORMATS,
    *connectwise.FORMATS,
    *autotask.FORMATS,
    *halopsa.FORMATS,
    *kaseya_bms.FORMATS,
    *syncro.FORMATS,
    *distributors.FORMATS,
    *profiles.FORMATS,
)
LINKERS: tuple[Linker, ...] = (
    connectwise.LINKER, autotask.LINKER, halopsa.LINKER, kaseya_bms.LINKER, syncro.LINKER,
    pax8.LINKER,
)

_BY_NAME = {f.name: f for f in FORMATS}
assert len(_BY_NAME) == len(FORMATS), "format names must be unique"
_BUILTIN_NAMES = frozenset(_BY_NAME)


def formats_for(workspace: Workspace) -> tuple[SourceFormat, ...]:
    """The package's formats plus the profiles the workspace declares in mappings/profiles/.

    Raises:
        ConfigError: a profile file is invalid or claims another profile's files.
    """
    extra = workspace_formats(workspace, _BUILTIN_NAMES)
    return (*FORMATS, *extra) if extra else FORMATS


def format_named(name: str, formats: tuple[SourceFormat, ...] = FORMATS) -> SourceFormat:
    """The registered format called ``name``.

    Raises:
        UsageError: no such format (lists the known ones).
    """
    by_name = _BY_NAME if formats is FORMATS else {f.name: f for f in formats}
    try:
        return by_name[name]
    except KeyError:
        raise UsageError(f"unknown format {name!r}; known formats: {sorted(by_name)}") from None


def detect_format(raw: RawTable, formats: tuple[SourceFormat, ...] = FORMATS) -> SourceFormat:
    """The one registered format whose signature the file's columns carry.

    A workspace profile (``origin`` set) must be the only format that fits: it never wins over
    another fitting format by having more columns, so a profile cannot silently take files of a
    built-in format, nor lose its own to one.

    Raises:
        UnknownFormatError: nothing matches (names the closest formats and what they miss), or
            two unrelated formats match equally well, or a workspace profile and another format
            both fit.
    """
    if raw.kind == "json" and raw.rows_read == 0:
        where = f" under {raw.container!r}" if raw.container else ""
        raise UnknownFormatError(
            raw.path,
            f"holds no records (an empty list{where}), so its format cannot be recognised; "
            'name it in recon.toml: [files."' + raw.name + '"] format = "...", or remove the file',
        )
    present = {norm_header(c) for c in raw.data.columns}
    matches = [
        f
        for f in formats
        if raw.kind in f.kinds
        and f.normalized_signature() <= present
        and not ({norm_header(c) for c in f.excludes} & present)
        and (f.container is None or raw.kind != "json" or f.container == raw.container)
    ]
    declared = [f for f in matches if f.origin]
    if declared and len(matches) > 1:
        others = ", ".join(f"{f.name} ({f.origin or 'built in'})" for f in matches)
        raise UnknownFormatError(
            raw.path,
            f"fits several formats: {others}; add `excludes` to the workspace profile, or name "
            'the format in recon.toml: [files."' + raw.name + '"] format = "..."',
        )
    if matches:
        best = max(len(f.signature) for f in matches)
        top = [f for f in matches if len(f.signature) == best]
        if len(top) == 1:
            return top[0]
        raise UnknownFormatError(
            raw.path,
            f"header fits several formats equally: {[f.name for f in top]}; "
            'name one in recon.toml: [files."' + raw.name + '"] format = "..."',
        )
    raise UnknownFormatError(raw.path, _closest(present, formats))


def _closest(present: set[str], formats: tuple[SourceFormat, ...]) -> str:
    scored = []
    for f in formats:
        sig = f.normalized_signature()
        share = len(sig & present) / len(sig)
        missing = sorted(c for c in f.signature if norm_header(c) not in present)
        scored.append((share, f.name, missing))
    scored.sort(key=lambda s: (-s[0], s[1]))
    hints = "; ".join(f"{name} (missing {', '.join(miss[:4])})" for _, name, miss in scored[:3])
    return f"format not recognised from its header; closest known formats: {hints}"
