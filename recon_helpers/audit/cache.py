"""A month's reconciliation stored once and loaded instead of reconciling again.

The notebooks' context (present/context.py), the report (render/report.py) and the trends
(analysis/trends.py) call :func:`cached_reconcile`: the first call reconciles the month and
stores the result under ``<workspace>/.recon-cache/reconcile/<YYYY-MM>/<key>/`` (one
Parquet file per table and a ``manifest.json``); later calls with the same key load it.

The key is the sha256 of everything the result depends on:

* every file under ``inputs/<YYYY-MM>/`` (names and sha256 of the bytes, sidecars included);
* every file under ``mappings/`` (clients, products, ignore, profiles: names and sha256);
* ``recon.toml`` (its sha256) and the engine asked for;
* the earlier months the expected sources come from (names, sizes and times of their files,
  as the sources cache in reconcile/expectations.py stamps them);
* the ledger head (:meth:`recon_helpers.audit.ledger.Ledger.head`);
* the code: the sha256 of every ``recon_helpers`` source file and the cache format.

Any change to one of them gives another key, so the stored result is never used for it. The
stored result is untrusted data: no pickle; tables are Parquet with every value's type
recorded (exact ``Decimal`` money as its text, ``None``/``NaN``/``NA`` kept apart); each
file's sha256 is in the manifest and checked before reading. A cache entry that is missing a
file, fails its checks or does not parse is deleted and the month reconciled again.

The stored result is key-sized whichever engine reconciled (:func:`key_sized`): client x
product tables, and only the vendor lines behind the findings (the DuckDB engine's contract;
``coverage()`` still counts every line), so reopening a 1M-line month reads a few MB.

Example:
    >>> rec = cached_reconcile(Workspace.open("data"), Period.parse("2026-10"))
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from recon_helpers.audit.ledger import Ledger
from recon_helpers.core.files import atomic_write_text, sha256_file
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import LoadedPeriod
from recon_helpers.reconcile.holds import MissingSource
from recon_helpers.reconcile.licences import LicenceReport
from recon_helpers.reconcile.matching import MonthTables
from recon_helpers.reconcile.result import Reconciliation, delivered_coverage
from recon_helpers.reconcile.run import reconcile_period

FOLDER = ".recon-cache/reconcile"
FORMAT = 1  # bump when the stored layout changes
LOOKBACK = 3  # earlier months whose sources the month expects (expectations.LOOKBACK)
_LICENCE_FRAMES = ("seats", "actions", "findings", "unmatched")
_FRAMES = ("clients", "customers", "three_way", "findings", "client_suggestions",
           "product_suggestions")


class CacheUnusable(ValueError):
    """A stored result that cannot be trusted or a value that cannot be stored exactly."""


# ---- the key -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def code_version() -> str:
    """sha256 of every recon_helpers source file (names and bytes) and the cache format."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(f"format {FORMAT}\n".encode())
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


class _Digests:
    """sha256 of files, remembered by (size, mtime, ctime, inode) in ``digests.json`` so an
    unchanged 200 MB month is not hashed again on each reopening (as git's index does; any
    write changes the ctime, which no program can set back). A damaged memo is ignored."""

    def __init__(self, workspace: Workspace) -> None:
        self.path = workspace.root / FOLDER / "digests.json"
        try:
            memo = json.loads(self.path.read_text(encoding="utf-8"))
            self.memo = memo if isinstance(memo, dict) else {}
        except (OSError, ValueError):
            self.memo = {}
        self.seen: dict[str, list[Any]] = {}

    def sha256(self, path: Path) -> str:
        st = path.stat()
        stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
        name = str(path.resolve())
        have = self.memo.get(name)
        if (isinstance(have, list) and len(have) == 5 and have[:4] == stamp
                and isinstance(have[4], str) and len(have[4]) == 64):
            digest = have[4]
        else:
            digest = sha256_file(path)
        self.seen[name] = [*stamp, digest]
        return digest

    def save(self) -> None:
        if self.seen == self.memo:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps(self.seen))
        except OSError:
            pass  # a read-only workspace only hashes again next time


def _tree(folder: Path, digests: _Digests) -> list[tuple[str, str]]:
    """(relative name, sha256) of every file under ``folder`` (empty when absent)."""
    if not folder.is_dir():
        return []
    return sorted((p.relative_to(folder).as_posix(), digests.sha256(p))
                  for p in folder.rglob("*") if p.is_file())


def _stamps(folder: Path) -> list[tuple[str, int, int]]:
    return sorted((p.relative_to(folder).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
                  for p in folder.rglob("*") if p.is_file())


def ledger_head(workspace: Workspace) -> str:
    """The ledger head, or "none" when the workspace has no ledger yet (nothing is created)."""
    if not workspace.ledger_path.is_file():
        return "none"
    with Ledger(workspace.ledger_path) as ledger:
        return ledger.head()


def cache_key(workspace: Workspace, period: Period, engine: str | None = None,
              as_of: dt.date | None = None) -> str:
    """The sha256 naming the stored result of ``period`` (the module docstring); ``as_of``:
    the licence rules' "today" (None: the period's last day)."""
    config = workspace.config_path
    earlier = [p for p in workspace.periods() if p < period][-LOOKBACK:]
    digests = _Digests(workspace)
    parts = {
        "format": FORMAT,
        "code": code_version(),
        "period": str(period),
        "engine": engine or "",
        "as_of": as_of.isoformat() if as_of else "",
        "inputs": _tree(workspace.inputs(period), digests),
        "mappings": _tree(workspace.mappings, digests),
        "settings": sha256_file(config) if config.is_file() else "",
        "earlier": {str(p): _stamps(workspace.inputs(p)) for p in earlier},
        "ledger": ledger_head(workspace),
    }
    digests.save()
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


# ---- tables: exact, typed, no pickle ---------------------------------------------------------

_SCALARS = ("s", "d", "n", "f", "i", "b", "t", "D", "a", "T")


def _tag(value: object) -> tuple[str, str]:
    """(type tag, text) of one value of an object column; raises CacheUnusable otherwise."""
    if isinstance(value, str):
        return "s", value
    if value is None:
        return "n", ""
    if value is pd.NA:
        return "a", ""
    if value is pd.NaT:
        return "T", ""
    if isinstance(value, Decimal):
        return "d", str(value)
    if isinstance(value, bool):
        return "b", "1" if value else "0"
    if isinstance(value, int):
        return "i", str(value)
    if isinstance(value, float):
        return "f", repr(value)
    if isinstance(value, pd.Timestamp):
        return "t", value.isoformat()
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return "D", value.isoformat()
    raise CacheUnusable(f"cannot store a {type(value).__name__} value exactly")


def _untag(tag: str, text: str) -> object:
    if tag == "s":
        return text
    if tag == "n":
        return None
    if tag == "a":
        return pd.NA
    if tag == "T":
        return pd.NaT
    if tag == "d":
        return Decimal(text)
    if tag == "b":
        return text == "1"
    if tag == "i":
        return int(text)
    if tag == "f":
        return float(text)
    if tag == "t":
        return pd.Timestamp(text)
    if tag == "D":
        return dt.date.fromisoformat(text)
    raise CacheUnusable(f"unknown value tag {tag!r}")


def _encode_column(values: pd.Series) -> tuple[dict[str, Any], dict[str, Any]]:
    """(columns to store, how to restore them) for one column."""
    dtype = str(values.dtype)
    if dtype != "object":
        return {"v": values.reset_index(drop=True)}, {"dtype": dtype}
    kind = pd.api.types.infer_dtype(values, skipna=False)
    if kind == "string":  # every value a str: stored as is
        return {"v": pd.Series(values.to_numpy(), dtype=object)}, {"dtype": "object", "all": "s"}
    tags, texts = zip(*map(_tag, values), strict=True) if len(values) else ((), ())
    return ({"v": pd.Series(list(texts), dtype=object), "t": pd.Series(list(tags), dtype=object)},
            {"dtype": "object", "all": ""})


def _decode_column(stored: dict[str, Any], how: dict[str, Any]) -> pd.Series:
    """The column back from its stored parts (pyarrow arrays)."""
    dtype = how["dtype"]
    if dtype != "object":
        return stored["v"].to_pandas().astype(dtype)
    texts = stored["v"].to_numpy(zero_copy_only=False)  # object array of str: no str dtype
    if how.get("all") == "s":
        return pd.Series(texts, dtype=object)
    tags = stored["t"].to_numpy(zero_copy_only=False)
    if not set(tags).issubset(_SCALARS):
        raise CacheUnusable("unknown value tag")
    if set(tags) == {"s"}:
        return pd.Series(texts, dtype=object)
    return pd.Series([_untag(t, x) for t, x in zip(tags, texts, strict=True)], dtype=object)


def _write_frame(frame: pd.DataFrame, path: Path) -> dict[str, Any]:
    """Write ``frame`` as Parquet; returns what :func:`_read_frame` needs to restore it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if frame.attrs:
        raise CacheUnusable("a table with attrs")
    if not all(isinstance(c, str) for c in frame.columns) or frame.columns.has_duplicates:
        raise CacheUnusable("a table whose columns are not distinct names")
    index = frame.index
    default = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
    levels = [] if default else [index.get_level_values(i) for i in range(index.nlevels)]
    cols: dict[str, pd.Series] = {}
    spec: list[dict[str, Any]] = []
    for i, series in enumerate([*(pd.Series(lv) for lv in levels),
                                *(frame[c] for c in frame.columns)]):
        stored, how = _encode_column(series)
        for part, data in stored.items():
            cols[f"{part}{i}"] = data
        spec.append(how)
    table = pa.Table.from_pandas(pd.DataFrame(cols, index=range(len(frame))),
                                 preserve_index=False)
    pq.write_table(table, path)
    return {
        "rows": len(frame),
        "columns": list(frame.columns),
        "columns_name": frame.columns.name,
        "index": None if default else [None if n is None else str(n) for n in index.names],
        "spec": spec,
    }


def _read_frame(path: Path, meta: dict[str, Any]) -> pd.DataFrame:
    import pyarrow.parquet as pq

    stored = pq.ParquetFile(path).read()  # one file: lighter than read_table's dataset
    if stored.num_rows != meta["rows"] and stored.num_columns:
        raise CacheUnusable(f"{path.name}: row count differs from the manifest")
    names = set(stored.column_names)
    index_names = meta["index"]
    n_index = len(index_names) if index_names is not None else 0
    series = []
    for i, how in enumerate(meta["spec"]):
        parts = {p: stored.column(f"{p}{i}") for p in ("v", "t") if f"{p}{i}" in names}
        series.append(_decode_column(parts, how))
    data = dict(zip(meta["columns"], series[n_index:], strict=True))
    frame = pd.DataFrame(data, index=range(meta["rows"]))
    frame = frame[meta["columns"]] if meta["columns"] else pd.DataFrame(index=range(meta["rows"]))
    if index_names is not None:
        arrays = [s.to_numpy() if s.dtype == object else s.array for s in series[:n_index]]
        index = (pd.Index(arrays[0], name=index_names[0], dtype=series[0].dtype) if n_index == 1
                 else pd.MultiIndex.from_arrays(arrays, names=index_names))
        frame.index = index
    frame.columns.name = meta["columns_name"]
    return frame


# ---- the reconciliation --------------------------------------------------------------------


def key_sized(rec: Reconciliation) -> Reconciliation:
    """``rec`` with the vendor lines cut to those behind its findings, as the DuckDB engine
    keeps them: the rows of the findings' client x product keys and every unmapped row (what
    the sources, the suggestions and the resolution widgets read); the month's rows per vendor
    move to ``coverage_rows`` so ``coverage()`` still counts every line. Findings, three-way
    table, customers, inventory and quarantine are unchanged. A result already key-sized (the
    DuckDB engine's) is returned as is."""
    if rec.coverage_rows is not None:
        return rec
    d = rec.month.delivered
    keys = pd.MultiIndex.from_frame(rec.findings[["client_id", "product_id"]].drop_duplicates())
    behind = pd.MultiIndex.from_frame(d[["client_id", "product_id"]]).isin(keys)
    rows = d[behind | d["client_id"].eq("") | d["product_id"].eq("")].reset_index(drop=True)
    lines = rec.loaded.delivered
    loaded = replace(rec.loaded, tables={**rec.loaded.tables, "delivered": lines[
        lines["source"].isin(set(rows["source"]))].reset_index(drop=True)})
    return replace(rec, loaded=loaded, month=replace(rec.month, delivered=rows),
                   coverage_rows=delivered_coverage(d))


def _frames_of(rec: Reconciliation) -> dict[str, pd.DataFrame]:
    frames = {name: getattr(rec, name) for name in _FRAMES}
    frames |= {f"loaded.{k}": v for k, v in rec.loaded.tables.items()}
    frames |= {"loaded.inventory": rec.loaded.inventory, "loaded.quarantine": rec.loaded.quarantine,
               "month.delivered": rec.month.delivered, "month.promised": rec.month.promised,
               "month.billed": rec.month.billed}
    if rec.coverage_rows is not None:
        frames["coverage_rows"] = rec.coverage_rows
    if rec.licences is not None:
        frames |= {f"licences.{name}": getattr(rec.licences, name) for name in _LICENCE_FRAMES}
    return frames


def store(workspace: Workspace, key: str, rec: Reconciliation) -> Path | None:
    """Store ``rec`` under ``key``; the folder, or None when it cannot be stored (a read-only
    workspace, a value without an exact stored form): the caller just reconciles next time."""
    base = workspace.root / FOLDER / str(rec.period)
    try:
        base.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=base))
    except OSError:
        return None
    try:
        files: dict[str, str] = {}  # id(frame) -> file: a table shared by two fields, once
        tables: dict[str, dict[str, Any]] = {}
        for name, frame in _frames_of(rec).items():
            if id(frame) not in files:
                file = f"t{len(files)}.parquet"
                meta = _write_frame(frame, tmp / file)
                meta["file"], meta["sha256"] = file, sha256_file(tmp / file)
                files[id(frame)] = file  # type: ignore[index]
                tables[file] = meta
            tables.setdefault(name, {"same_as": files[id(frame)]})  # type: ignore[index]
        manifest = {
            "format": FORMAT,
            "key": key,
            "period": str(rec.period),
            "engine": rec.engine,
            "ignored": list(rec.loaded.ignored),
            "duplicates": dict(rec.loaded.duplicates),
            "loaded_tables": list(rec.loaded.tables),
            "missing": [{"source": m.source, "vendor": m.vendor, "role": m.role,
                         "reason": m.reason, "present_in": [str(p) for p in m.present_in]}
                        for m in rec.missing],
            "tables": tables,
            "licences": None if rec.licences is None else {
                "as_of": rec.licences.as_of.isoformat(),
                "horizon_days": rec.licences.horizon_days,
                "timezone": rec.licences.timezone},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        target = base / key
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    except (CacheUnusable, OSError, ValueError, TypeError, ImportError):
        shutil.rmtree(tmp, ignore_errors=True)
        return None
    for old in base.iterdir():  # one stored result per month: the others are out of date
        if old.name != key:
            shutil.rmtree(old, ignore_errors=True)
    return target


def load(workspace: Workspace, period: Period, key: str) -> Reconciliation | None:
    """The stored result for ``key``, or None (absent, or unusable: then it is deleted)."""
    folder = workspace.root / FOLDER / str(period) / key
    if not (folder / "manifest.json").is_file():
        return None
    from pyarrow import ArrowException  # its errors on a damaged file

    try:
        return _load(workspace, period, key, folder)
    except (CacheUnusable, ArrowException, OSError, ValueError, TypeError, KeyError, IndexError,
            InvalidOperation, AttributeError, NotImplementedError):
        shutil.rmtree(folder, ignore_errors=True)  # never trusted: rebuilt by the caller
        return None


def _load(workspace: Workspace, period: Period, key: str, folder: Path) -> Reconciliation:
    doc = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if doc.get("format") != FORMAT or doc.get("key") != key or doc.get("period") != str(period):
        raise CacheUnusable("manifest of another key, month or format")
    tables: dict[str, dict[str, Any]] = doc["tables"]
    read: dict[str, pd.DataFrame] = {}

    def frame(name: str) -> pd.DataFrame:
        meta = tables[name]
        file = meta.get("same_as", name)
        if file not in read:
            fm = tables[file]
            path = folder / Path(fm["file"]).name  # a name, never a path out of the folder
            if sha256_file(path) != fm["sha256"]:
                raise CacheUnusable(f"{path.name}: sha256 differs from the manifest")
            read[file] = _read_frame(path, fm)
        return read[file]

    loaded = LoadedPeriod(
        period=period,
        inventory=frame("loaded.inventory"),
        tables={str(k): frame(f"loaded.{k}") for k in doc["loaded_tables"]},
        quarantine=frame("loaded.quarantine"),
        ignored=[str(x) for x in doc["ignored"]],
        duplicates={str(k): str(v) for k, v in doc["duplicates"].items()},
    )
    missing = tuple(MissingSource(str(m["source"]), str(m["vendor"]), str(m["role"]),
                                  str(m["reason"]), tuple(Period.parse(p) for p in m["present_in"]))
                    for m in doc["missing"])
    if doc["engine"] not in ("pandas", "duckdb"):
        raise CacheUnusable("unknown engine")
    lic = doc["licences"]
    licences = None if lic is None else LicenceReport(
        dt.date.fromisoformat(str(lic["as_of"])), int(lic["horizon_days"]), str(lic["timezone"]),
        *(frame(f"licences.{name}") for name in _LICENCE_FRAMES))
    return Reconciliation(
        period=period,
        settings=workspace.settings(),
        loaded=loaded,
        month=MonthTables(frame("month.delivered"), frame("month.promised"),
                          frame("month.billed")),
        engine=doc["engine"],
        coverage_rows=frame("coverage_rows") if "coverage_rows" in tables else None,
        missing=missing,
        licences=licences,
        **{name: frame(name) for name in _FRAMES},
    )


def cached_reconcile(
    workspace: Workspace,
    period: Period,
    progress: Callable[[str], None] | None = None,
    engine: str | None = None,
    as_of: dt.date | None = None,
) -> Reconciliation:
    """:func:`recon_helpers.reconcile.run.reconcile_period`, stored once per key and loaded
    while nothing it depends on changed (the module docstring); key-sized either way
    (:func:`key_sized`), so a first call and a reopening give the same result.

    ``[cache] reconcile = false`` in recon.toml turns it off (always reconcile).

    Raises:
        ReconError: as reconcile_period (a stored result is never an error: it is rebuilt).
    """
    if not workspace.settings().raw.get("cache", {}).get("reconcile", True):
        return reconcile_period(workspace, period, progress=progress, engine=engine,
                                as_of=as_of)
    key = cache_key(workspace, period, engine, as_of)
    rec = load(workspace, period, key)
    if rec is not None:
        if progress:
            progress(f"loaded the stored reconciliation of {period}")
        return rec
    rec = key_sized(reconcile_period(workspace, period, progress=progress, engine=engine,
                                     as_of=as_of))
    if cache_key(workspace, period, engine, as_of) == key:  # nothing changed while it reconciled
        store(workspace, key, rec)
    return rec
