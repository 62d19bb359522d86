"""``inputs/<YYYY-MM>/pull-log.json``: what each pull fetched, and where each file came from.

The log lists every pull into the month, oldest first::

    {"kind": "recon-pull-log", "version": 1, "period": "2026-10",
     "pulls": [{"started": "...", "finished": "...", "sources": {"pax8": "pulled", ...},
                "files": [{"file": "pax8-companies-p1.json", "source": "pax8",
                           "bytes": 1234, "sha256": "...", "pulled_at": "..."}],
                "replaced": [{"file": "...", "moved_to": ".replaced/<stamp>/..."}],
                "requests": [{"source", "method", "endpoint", "url", "params", "time",
                              "status", "bytes", "sha256", "file", ...}]}]}

Requests carry no credential (:mod:`~recon_helpers.connect.redact`). A file is "pulled" while
its bytes still hash to what the log recorded; changed or never pulled, it came "by hand".

Standard library only: the loaders import :func:`origins` for the inventory.

Example:
    >>> origins(Path("data/inputs/2026-10"), {"pax8-companies-p1.json": "3f2a..."})
    {'pax8-companies-p1.json': 'pulled 2026-11-03T09:12:44+00:00 from pax8'}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recon_helpers.core.errors import InputFileError
from recon_helpers.core.period import Period

PULL_LOG = "pull-log.json"
KIND = "recon-pull-log"
BY_HAND = "by hand"


def empty_log(period: Period) -> dict[str, Any]:
    """A log without pulls."""
    return {"kind": KIND, "version": 1, "period": str(period), "pulls": []}


def read_log(folder: Path) -> dict[str, Any] | None:
    """The month's pull log, or None when the month was never pulled.

    Raises:
        InputFileError: ``pull-log.json`` exists but is not a pull log.
    """
    path = folder / PULL_LOG
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFileError(path, f"is not a readable pull log ({exc}); restore it from the "
                             "seal or a backup, or remove it (the files then count as by hand)"
                             ) from exc
    if not (isinstance(doc, dict) and doc.get("kind") == KIND
            and isinstance(doc.get("pulls"), list)):
        raise InputFileError(path, "is not a recon pull log (kind recon-pull-log with pulls)")
    return doc


def pulled_files(doc: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The latest log record of every file name the pulls saved."""
    latest: dict[str, dict[str, Any]] = {}
    for pull in (doc or {}).get("pulls", []):
        for rec in pull.get("files", []) if isinstance(pull, dict) else []:
            if isinstance(rec, dict) and isinstance(rec.get("file"), str):
                latest[rec["file"]] = rec
    return latest


def origins(folder: Path, hashes: Mapping[str, str]) -> dict[str, str]:
    """Origin of each file (name -> sha256): "pulled <time> from <source>" or "by hand".

    Raises:
        InputFileError: the month's pull log is malformed.
    """
    latest = pulled_files(read_log(folder))
    out = {}
    for name, digest in hashes.items():
        rec = latest.get(name)
        if rec is not None and rec.get("sha256") == digest:
            out[name] = f"pulled {rec.get('pulled_at', '?')} from {rec.get('source', '?')}"
        else:
            out[name] = BY_HAND
    return out
