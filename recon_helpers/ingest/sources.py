"""Which ``recon pull`` source a file in a month folder holds data of (by its detected format).

``recon pull`` refuses to add a source's data to a month that already has some (it would be
counted twice) unless ``--replace``. Files it pulled carry its prefix and its log; this module
recognises the others, dropped by hand: a ConnectWise export named ``cw-agreements.json``, a
canonical delivered CSV whose ``vendor`` column says ``pax8``, a canonical agreement or
invoice CSV (data of the PSA: ConnectWise or Autotask).

Example:
    >>> sources_of_file(Path("data/inputs/2026-10/cw-agreements.json"))
    {'connectwise'}
"""

from __future__ import annotations

from pathlib import Path

from recon_helpers.core.errors import ReconError
from recon_helpers.core.workspace import Settings
from recon_helpers.ingest.load import options_for
from recon_helpers.ingest.readers import read_raw
from recon_helpers.ingest.registry import detect_format, format_named

# format-name prefix -> pull source
FAMILIES = {
    "connectwise_": "connectwise",
    "autotask_": "autotask",
    "pax8_": "pax8",
    "microsoft_": "microsoft",
    "datto_rmm_": "datto_rmm",
    "sentinelone_": "sentinelone",
    "huntress_": "huntress",
}
# Microsoft licence documents (ingest/loaders/microsoft_licences.py): no `recon pull` source
# fetches them yet, so `--replace` of the microsoft source leaves them alone
NOT_PULLED = ("microsoft_pc_", "microsoft_graph_")
PSA_SOURCES = frozenset({"connectwise", "autotask"})
VENDOR_SOURCES = frozenset({"pax8", "microsoft", "datto_rmm", "sentinelone", "huntress"})


def sources_of_file(path: Path, settings: Settings | None = None) -> set[str]:
    """The pull sources whose data ``path`` holds (empty: none, or not readable as an export)."""
    settings = settings or Settings()
    try:
        entry, _ = options_for(settings, path.name)
        raw = read_raw(path, encoding=entry.get("encoding"),  # type: ignore[arg-type]
                       delimiter=entry.get("delimiter"),  # type: ignore[arg-type]
                       sheet=entry.get("sheet"))  # type: ignore[arg-type]
        fmt = format_named(str(entry["format"])) if "format" in entry else detect_format(raw)
    except ReconError:  # loading the month will report it; it holds no known source's data
        return set()
    if fmt.name.startswith(NOT_PULLED):  # saved by hand: a pull must never replace them
        return set()
    for prefix, source in FAMILIES.items():
        if fmt.name.startswith(prefix):
            return {source}
    if fmt.name == "canonical_delivered":
        col = raw.column("vendor")
        vendors = set(raw.data[col].astype(str).str.strip().str.lower()) if col else set()
        return vendors & VENDOR_SOURCES
    if fmt.name.startswith("canonical_"):
        return set(PSA_SOURCES)  # agreements, invoices, clients or a catalogue of the PSA
    return set()
