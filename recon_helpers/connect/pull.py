"""``recon pull``: fetch a month's raw data from the configured APIs into ``inputs/<YYYY-MM>/``.

For each requested source (default: all), configured means its secrets are in the environment
or the keyring and its required ``[pull.<source>]`` settings are set; any other source is
skipped with one line saying how to configure it. Before any request, the month is checked:
files that already come from a pulled source (named ``<prefix>-...``, recorded in the pull log,
or recognised by ``classify``, e.g. a hand-downloaded ConnectWise export) refuse the pull
unless ``replace``, which moves them into ``.replaced/<stamp>/`` (nothing is deleted).

Every source writes into a staging folder; only when all succeeded does the month folder
change, in one step (:mod:`~recon_helpers.connect.staging`), with ``pull-log.json`` appended.
A failure leaves the month exactly as it was.

Example:
    >>> result = pull_month(Workspace.open("data"), "2026-10", ["pax8", "huntress"])
    >>> result.files["pax8"]
    ['pax8-companies-p1.json', 'pax8-invoice-items-8a1f-p1.json', ...]
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from recon_helpers.connect import (
    autotask,
    connectwise,
    datto_rmm,
    huntress,
    microsoft,
    pax8,
    provenance,
    sentinelone,
    staging,
)
from recon_helpers.connect.http import Session
from recon_helpers.connect.secrets import KeyringGet, credentials, how_to_configure
from recon_helpers.connect.settings import SOURCES, pull_settings
from recon_helpers.connect.source import Progress, PullContext, SourceSpec
from recon_helpers.core.errors import ApiError, UsageError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace

SPECS: dict[str, SourceSpec] = {
    s.name: s
    for s in (connectwise.SPEC, autotask.SPEC, pax8.SPEC, microsoft.SPEC, datto_rmm.SPEC,
              sentinelone.SPEC, huntress.SPEC)
}
Classify = Callable[[Path], set[str]]


@dataclass
class PullResult:
    """What a pull did: files per source, skipped sources with the reason, replaced files."""

    period: Period
    files: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    replaced: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def requested(sources: Sequence[str] | None) -> list[str]:
    """The sources to pull, in SPEC order (default: every supported one).

    Raises:
        UsageError: an unknown source name.
    """
    names = list(dict.fromkeys(s.strip().lower() for s in sources)) if sources else list(SPECS)
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        raise UsageError(f"--source {unknown[0]}: unknown source; known: {', '.join(SOURCES)}")
    return [n for n in SOURCES if n in names]


def configured(names: list[str], doc: Mapping[str, Any], environ: Mapping[str, str] | None,
               keyring_get: KeyringGet | None) -> tuple[list[tuple[SourceSpec, dict[str, str],
                                                                     Any]], dict[str, str]]:
    """Sources ready to pull (spec, settings, credentials) and the others with the reason."""
    ready, skipped = [], {}
    for name in names:
        settings = pull_settings(doc, name)
        if name not in SPECS:
            skipped[name] = "not supported by recon pull yet"
            continue
        missing = [k for k in SPECS[name].required if k not in settings]
        creds, absent = credentials(name, environ, keyring_get)
        if absent:
            skipped[name] = f"not configured: {how_to_configure(name, absent)}"
        elif missing:
            skipped[name] = (f"not configured: set {', '.join(missing)} in recon.toml "
                             f"[pull.{name}]")
        else:
            ready.append((SPECS[name], settings, creds))
    return ready, skipped


def existing_files(
    month: Path, names: list[str], classify: Classify | None
) -> dict[str, list[str]]:
    """Files of the month that come from each source already (see the module docstring)."""
    out: dict[str, list[str]] = {n: [] for n in names}
    if not month.is_dir():
        return out
    pulled = provenance.pulled_files(provenance.read_log(month))
    for rel in staging.month_files(month):
        if rel == provenance.PULL_LOG:
            continue
        base = rel.rsplit("/", 1)[-1]
        owners = {n for n in names if base.startswith(SPECS[n].prefix + "-")}
        if rel in pulled:
            owners.add(str(pulled[rel].get("source")))
        if classify is not None and "/" not in rel:
            owners |= classify(month / rel)
        for owner in owners & set(names):
            out[owner].append(rel)
    return out


def pull_month(
    workspace: Workspace,
    period: Period,
    sources: Sequence[str] | None = None,
    *,
    replace: bool = False,
    environ: Mapping[str, str] | None = None,
    keyring_get: KeyringGet | None = None,
    session: Session | None = None,
    classify: Classify | None = None,
    progress: bool = True,
    echo: Callable[[str], None] = lambda line: None,
) -> PullResult:
    """Pull the month from every configured source (module docstring).

    Args:
        classify: the pull sources a hand-dropped file belongs to (the loaders' detection).
        echo: receives one line per skipped source and one summary line per pulled source.

    Raises:
        UsageError: no source configured, the month already has files of a source (without
            ``replace``), or another pull of the month is running.
        ApiError: a request failed for good; the month folder is unchanged.
        ConfigError: a malformed ``[pull.<source>]`` table.
    """
    result = PullResult(period)
    ready, result.skipped = configured(requested(sources), workspace.settings().raw, environ,
                                       keyring_get)
    for name, reason in result.skipped.items():
        echo(f"{name}: skipped, {reason}")
    if not ready:
        raise UsageError("nothing to pull: no requested source is configured (README, "
                         "'Pulling from the APIs')")
    session = session or Session()
    inputs, month = workspace.root / "inputs", workspace.inputs(period)
    with staging.month_lock(inputs, period):
        names = [spec.name for spec, _, _ in ready]
        clash = {s: f for s, f in existing_files(month, names, classify).items() if f}
        if clash and not replace:
            raise _refusal(period, clash)
        started = session.clock.now()
        stamp = staging.unique_stamp(month, started.strftime("%Y%m%dT%H%M%SZ"))
        folder = staging.new_staging(inputs, period)
        try:
            contexts = [_run(spec, settings, creds, period, session, folder, progress, echo)
                        for spec, settings, creds in ready]
            replaced = sorted({f for files in clash.values() for f in files})
            result.replaced = [{"file": f, "moved_to": f"{staging.REPLACED}/{stamp}/{f}"}
                               for f in replaced]
            text = _log_text(month, period, started, session, contexts, result)
            staging.commit(month, folder, set(replaced), text, stamp)
        except BaseException as exc:
            shutil.rmtree(folder, ignore_errors=True)
            if isinstance(exc, ApiError):
                raise ApiError(exc.source, exc.endpoint,
                               f"{exc.problem}; inputs/{period} was left as it was",
                               exc.status) from None
            raise
    for ctx in contexts:
        result.files[ctx.source] = sorted(f["file"] for f in ctx.files)
        result.notes.extend(ctx.notes)
    return result


def _refusal(period: Period, clash: dict[str, list[str]]) -> UsageError:
    listed = "; ".join(f"{s}: {', '.join(f[:5])}{' ...' if len(f) > 5 else ''}"
                       for s, f in clash.items())
    return UsageError(f"inputs/{period} already has files from {', '.join(clash)} ({listed}); "
                      f"pull with --replace to move them into inputs/{period}/"
                      f"{staging.REPLACED}/<time>/ (nothing is deleted)")


def _run(spec: SourceSpec, settings: dict[str, str], creds: Any, period: Period,
         session: Session, folder: Path, progress: bool, echo: Callable[[str], None]
         ) -> PullContext:
    ctx = PullContext(spec, period, period.first, period.last, settings, creds, session,
                      folder / staging.NEW, Progress(spec.name, progress))
    try:
        spec.pull(ctx)
    finally:
        ctx.close()
    echo(f"{spec.name}: {len(ctx.files)} file(s) from {ctx.progress.pages} page(s), "
         f"{ctx.progress.items} record(s)")
    for note in ctx.notes:
        echo(f"  {note}")
    return ctx


def _log_text(month: Path, period: Period, started: datetime, session: Session,
              contexts: list[PullContext], result: PullResult) -> str:
    names = {ctx.source for ctx in contexts}
    entry = {
        "started": started.isoformat(timespec="seconds"),
        "finished": session.clock.now().isoformat(timespec="seconds"),
        "sources": {**dict.fromkeys(sorted(names), "pulled"),
                    **{n: f"skipped, {why}" for n, why in result.skipped.items()}},
        "files": sorted((f for ctx in contexts for f in ctx.files), key=lambda f: f["file"]),
        "replaced": result.replaced,
        "notes": [n for ctx in contexts for n in ctx.notes],
        "requests": [e for e in session.log.entries if e["source"] in names],
    }
    doc = provenance.read_log(month) if month.is_dir() else None
    doc = doc or provenance.empty_log(period)
    doc["pulls"].append(entry)
    # the entries are redacted already; this pass guarantees no registered secret survives
    return session.redactor.text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
