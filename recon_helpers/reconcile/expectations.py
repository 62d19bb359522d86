"""The sources a month expects, checked before anything is compared.

A month's *sources* are the vendors that delivered rows (``huntress``, from "huntress
organizations") and the PSA sides present (``promised``, ``billed``, ``clients``). A month
expects every source that was present in any of the last three earlier months with inputs,
plus those ``recon.toml`` declares, minus those it retires::

    [expect]
    delivered = ["microsoft", "pax8"]       # vendors expected every month
    roles = ["promised", "billed"]          # PSA sides expected every month
    retired = ["sentinelone"]               # vendors (or roles) no longer expected
    snapshot_max_age_days = 40              # a pulled snapshot older than this is stale

An expected source absent this month is *missing*; one present whose dates do not cover the
month (a Partner Center file of another billing period, a snapshot pulled weeks before) is
*stale*. Either way it is listed first (``missing: huntress organizations, present in
2026-08 and 2026-09``) and the findings that depend on it are held (reconcile/holds.py): a
missing vendor's billed_not_delivered is no credit owed.

What earlier months held is cached in ``<workspace>/.recon-cache/sources/`` (keyed by the
month's file names, sizes and times and the settings), so each earlier month is loaded once.

Example:
    >>> missing_sources(workspace, october, loaded)
    (MissingSource(source='huntress organizations', vendor='huntress', role='delivered', ...),)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from recon_helpers.core.errors import ConfigError, ReconError
from recon_helpers.core.files import atomic_write_text
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import LoadedPeriod, input_files, load_period
from recon_helpers.reconcile.result import MissingSource

ROLES = ("promised", "billed", "clients")
LOOKBACK = 3  # earlier months whose sources a month expects
CACHE = ".recon-cache/sources"


@dataclass(frozen=True)
class Expect:
    """``[expect]`` of recon.toml."""

    delivered: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    retired: frozenset[str] = frozenset()
    snapshot_max_age_days: int = 40

    @classmethod
    def from_settings(cls, raw: Mapping[str, Any]) -> Expect:
        """Read ``[expect]``.

        Raises:
            ConfigError: an unknown key or a value of the wrong type, naming it.
        """
        table = raw.get("expect", {})
        if not isinstance(table, dict):
            raise ConfigError("recon.toml: [expect] must be a table")
        unknown = set(table) - {"delivered", "roles", "retired", "snapshot_max_age_days"}
        if unknown:
            raise ConfigError(f"recon.toml: unknown keys in [expect]: {sorted(unknown)}")
        words = {}
        for key in ("delivered", "roles", "retired"):
            value = table.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"recon.toml: expect.{key} must be a list of names, "
                                  f"not {value!r}")
            words[key] = frozenset(v.strip().lower() for v in value if v.strip())
        bad_roles = words["roles"] - set(ROLES)
        if bad_roles:
            raise ConfigError(f"recon.toml: expect.roles {sorted(bad_roles)}: the roles are "
                              f"{', '.join(ROLES)}")
        age = table.get("snapshot_max_age_days", 40)
        if isinstance(age, bool) or not isinstance(age, int) or age <= 0:
            raise ConfigError("recon.toml: expect.snapshot_max_age_days must be a positive "
                              f"whole number, not {age!r}")
        return cls(words["delivered"], words["roles"], words["retired"], age)


def _label(formats: list[str]) -> str:
    return " / ".join(dict.fromkeys(f.replace("_", " ") for f in formats)) or "?"


def month_sources(loaded: LoadedPeriod) -> dict[str, dict[str, str]]:
    """What a loaded month holds: ``{"delivered": {vendor: label}, "roles": {role: label}}``.

    A label names the formats the rows came from ("huntress organizations").
    """
    fmt = dict(zip(loaded.inventory["file"], loaded.inventory["format"], strict=True))

    def formats_of(frame: pd.DataFrame) -> list[str]:
        files = frame["source"].astype(str).str.rsplit(":", n=1).str[0].unique()
        return sorted({fmt.get(f, "") for f in files} - {""})

    d = loaded.delivered
    vendors = {}
    for vendor, rows in d.groupby(d["vendor"].astype(str).str.lower(), sort=True):
        vendors[str(vendor)] = _label(formats_of(rows))
    roles = {role: _label(formats_of(loaded.tables[role])) for role in ROLES
             if not loaded.tables[role].empty}
    return {"delivered": vendors, "roles": roles}


def _fingerprint(workspace: Workspace, period: Period) -> str:
    files, _ = input_files(workspace.inputs(period))
    parts = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    config = workspace.config_path.read_bytes() if workspace.config_path.is_file() else b""
    profiles = sorted((p.name, p.stat().st_mtime_ns)
                      for p in (workspace.mappings / "profiles").glob("*.toml"))
    text = json.dumps([parts, hashlib.sha256(config).hexdigest(), profiles])
    return hashlib.sha256(text.encode()).hexdigest()


def earlier_sources(workspace: Workspace, period: Period) -> dict[Period, dict[str, dict]]:
    """:func:`month_sources` of the last LOOKBACK earlier months with inputs (cached)."""
    earlier = [p for p in workspace.periods() if p < period][-LOOKBACK:]
    out = {}
    for month in earlier:
        cache = workspace.root / CACHE / f"{month}.json"
        stamp = _fingerprint(workspace, month)
        try:
            doc = json.loads(cache.read_text(encoding="utf-8"))
            if doc.get("fingerprint") == stamp:
                out[month] = doc["sources"]
                continue
        except (OSError, ValueError, KeyError, TypeError):
            pass  # no cache yet, or an unreadable one: load the month
        try:
            sources = month_sources(load_period(workspace, month))
        except ReconError:  # an earlier month that no longer loads sets no expectation
            continue
        out[month] = sources
        with suppress(OSError):  # a read-only workspace only loses the cache
            atomic_write_text(cache, json.dumps({"fingerprint": stamp, "sources": sources}))
    return out


def _stale(loaded: LoadedPeriod, vendor: str, period: Period, max_age: int) -> str:
    """Why a present vendor's rows do not speak for the month ("" when they do)."""
    d = loaded.delivered
    rows = d[d["vendor"].astype(str).str.lower().eq(vendor)]
    dated = rows[rows["charge_start"].notna() | rows["charge_end"].notna()]
    first, last = pd.Timestamp(period.first), pd.Timestamp(period.last)
    if len(dated):
        covers = ((dated["charge_start"].isna() | (dated["charge_start"] <= last))
                  & (dated["charge_end"].isna() | (dated["charge_end"] >= first)))
        if not covers.any():
            lo, hi = dated["charge_start"].min(), dated["charge_end"].max()
            span = f"{_day(lo)}..{_day(hi)}"
            return f"its dates ({span}) do not cover {period}"
        return ""
    inv = loaded.inventory
    files = set(rows["source"].astype(str).str.rsplit(":", n=1).str[0])
    if "origin" not in inv:
        return ""
    for origin in inv.loc[inv["file"].isin(files), "origin"]:
        when = _pulled_at(str(origin))
        if when is not None and when.date() < period.last - timedelta(days=max_age):
            return f"it was pulled on {when.date()}, more than {max_age} days before {period.last}"
    return ""


def _day(value: object) -> str:
    return "" if pd.isna(value) else str(pd.Timestamp(value).date())


def _pulled_at(origin: str) -> datetime | None:
    if not origin.startswith("pulled "):
        return None
    try:
        when = datetime.fromisoformat(origin.split()[1])
    except (IndexError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def missing_sources(workspace: Workspace, period: Period,
                    loaded: LoadedPeriod) -> tuple[MissingSource, ...]:
    """The sources the month expects that are absent or stale (the module docstring).

    Raises:
        ConfigError: a malformed ``[expect]`` table.
    """
    expect = Expect.from_settings(workspace.settings().raw)
    earlier = earlier_sources(workspace, period)
    now = month_sources(loaded)
    seen: dict[tuple[str, str], tuple[str, list[Period]]] = {}
    for month, sources in sorted(earlier.items()):
        for vendor, label in sources.get("delivered", {}).items():
            seen.setdefault(("delivered", vendor), (label, []))[1].append(month)
        for role, label in sources.get("roles", {}).items():
            seen.setdefault((role, role), (label, []))[1].append(month)
    for vendor in expect.delivered:
        seen.setdefault(("delivered", vendor), (vendor, []))
    for role in expect.roles:
        seen.setdefault((role, role), (role, []))
    out = []
    for (role, name), (label, months) in sorted(seen.items()):
        if name in expect.retired:
            continue
        present = name in (now["delivered"] if role == "delivered" else now["roles"])
        if not present:
            out.append(MissingSource(label, name, role, "missing", tuple(months)))
        elif role == "delivered":
            why = _stale(loaded, name, period, expect.snapshot_max_age_days)
            if why:
                out.append(MissingSource(now["delivered"][name], name, role, f"stale: {why}",
                                         tuple(months)))
    return tuple(out)
