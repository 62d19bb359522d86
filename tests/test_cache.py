"""The stored reconciliation (audit/cache.py): exact round trip, every invalidation trigger,
damaged entries rebuilt and never trusted."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recon_helpers.audit import cache
from recon_helpers.audit.ledger import Ledger
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.reconcile import run

PERIOD = Period.parse("2026-10")


def _same(a, b) -> None:  # type: ignore[no-untyped-def]
    """Every table of two reconciliations equal, value types and texts included."""
    fa, fb = cache._frames_of(a), cache._frames_of(b)
    assert fa.keys() == fb.keys()
    for name in fa:
        pd.testing.assert_frame_equal(fa[name], fb[name], check_exact=True)
        for col in fa[name].columns:
            if fa[name][col].dtype == object:
                assert [type(v) for v in fa[name][col]] == [type(v) for v in fb[name][col]]
                assert [str(v) for v in fa[name][col]] == [str(v) for v in fb[name][col]]
    assert (a.missing, a.engine, a.loaded.ignored, a.loaded.duplicates) == (
        b.missing, b.engine, b.loaded.ignored, b.loaded.duplicates)
    assert (a.licences is None) == (b.licences is None)
    if a.licences is not None:
        assert (a.licences.as_of, a.licences.horizon_days, a.licences.timezone) == (
            b.licences.as_of, b.licences.horizon_days, b.licences.timezone)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each real reconciliation cached_reconcile runs (a load from the store adds none)."""
    calls: list[str] = []
    real = run.reconcile_period

    def counting(ws, period, progress=None, engine=None, as_of=None):  # type: ignore[no-untyped-def]
        calls.append(str(period))
        return real(ws, period, progress=progress, engine=engine, as_of=as_of)

    monkeypatch.setattr(cache, "reconcile_period", counting)
    return calls


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_stored_result_equals_the_reconciliation(demo_ws: Workspace, engine: str) -> None:
    rec = run.reconcile_period(demo_ws, PERIOD, engine=engine)
    key = cache.cache_key(demo_ws, PERIOD, engine)
    assert cache.store(demo_ws, key, rec) is not None
    back = cache.load(demo_ws, PERIOD, key)
    assert back is not None and back is not rec
    _same(rec, back)
    assert back.findings["impact"].map(type).isin([Decimal, type(None)]).all()
    assert back.headline().__dict__ == rec.headline().__dict__


def test_second_call_loads_instead_of_reconciling(demo_ws: Workspace, counted: list[str]) -> None:
    first = cache.cached_reconcile(demo_ws, PERIOD)
    second = cache.cached_reconcile(demo_ws, PERIOD)
    assert counted == ["2026-10"]
    _same(first, second)


def _touch_input(ws: Workspace) -> None:
    path = next(p for p in sorted(ws.inputs(PERIOD).iterdir()) if p.suffix == ".csv")
    path.write_bytes(path.read_bytes() + b"\n")  # a trailing blank line: same rows, new bytes


def _new_input(ws: Workspace) -> None:
    """A byte-identical second download of a file: recorded as a duplicate, not read twice."""
    path = next(p for p in sorted(ws.inputs(PERIOD).iterdir()) if p.suffix == ".csv")
    (path.parent / f"copy-{path.name}").write_bytes(path.read_bytes())


def _mapping(ws: Workspace) -> None:
    with ws.clients_map.open("a", encoding="utf-8") as fh:
        fh.write("\n")


def _products(ws: Workspace) -> None:
    with ws.products_map.open("a", encoding="utf-8") as fh:
        fh.write("\n")


def _settings(ws: Workspace) -> None:
    with ws.config_path.open("a", encoding="utf-8") as fh:
        fh.write("\n# edited\n")


def _ledger(ws: Workspace) -> None:
    with Ledger(ws.ledger_path) as ledger:
        ledger.append("decision", PERIOD, "k", {"action": "accept", "note": "seen"}, "alice")


def _earlier_month(ws: Workspace) -> None:
    path = next(p for p in sorted(ws.inputs(PERIOD.previous()).iterdir()) if p.is_file())
    path.write_bytes(path.read_bytes() + b"\n")


def _code(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "code_version", lambda: "another version of the code")


@pytest.mark.parametrize("change", [_touch_input, _new_input, _mapping, _products, _settings,
                                    _ledger, _earlier_month, _code])
def test_any_change_invalidates(demo_ws: Workspace, counted: list[str], change,  # type: ignore[no-untyped-def]
                                monkeypatch: pytest.MonkeyPatch) -> None:
    before = cache.cache_key(demo_ws, PERIOD)
    cache.cached_reconcile(demo_ws, PERIOD)
    if change is _code:
        change(demo_ws, monkeypatch)
    else:
        change(demo_ws)
    assert cache.cache_key(demo_ws, PERIOD) != before
    cache.cached_reconcile(demo_ws, PERIOD)
    assert counted == ["2026-10", "2026-10"]  # reconciled again, not loaded
    folders = list((demo_ws.root / cache.FOLDER / "2026-10").iterdir())
    assert [f.name for f in folders] == [cache.cache_key(demo_ws, PERIOD)]  # the old one gone


def test_a_changed_input_gives_the_new_findings(demo_ws: Workspace) -> None:
    """Not only a new key: the result is the new month's, never the stored old one."""
    cache.cached_reconcile(demo_ws, PERIOD)
    (demo_ws.inputs(PERIOD) / "extra.csv").write_text(
        "vendor,vendor_customer_id,vendor_customer_name,vendor_sku,sku_name,quantity,unit_cost,"
        "currency,charge_start,charge_end\n"
        "huntress,zz-1,Nobody Known At All,EDR,EDR,5,1.00,USD,2026-10-01,2026-10-31\n", "utf-8")
    rec = cache.cached_reconcile(demo_ws, PERIOD)
    fresh = cache.key_sized(run.reconcile_period(demo_ws, PERIOD))
    _same(rec, fresh)
    assert "extra.csv" in set(rec.loaded.inventory["file"])


def _entry(ws: Workspace) -> Path:
    (folder,) = (ws.root / cache.FOLDER / "2026-10").iterdir()
    return folder


def _truncate(folder: Path) -> None:
    table = sorted(folder.glob("*.parquet"))[0]
    table.write_bytes(table.read_bytes()[: table.stat().st_size // 2])


def _flip(folder: Path) -> None:
    table = max(folder.glob("*.parquet"), key=lambda p: p.stat().st_size)
    data = bytearray(table.read_bytes())
    data[len(data) // 2] ^= 0xFF
    table.write_bytes(bytes(data))


def _bad_manifest(folder: Path) -> None:
    (folder / "manifest.json").write_text("{not json", "utf-8")


def _wrong_key(folder: Path) -> None:
    text = (folder / "manifest.json").read_text("utf-8")
    (folder / "manifest.json").write_text(text.replace(folder.name, "0" * 64), "utf-8")


def _missing_table(folder: Path) -> None:
    sorted(folder.glob("*.parquet"))[-1].unlink()


def _pickle_instead(folder: Path) -> None:
    """A table replaced by a pickle (with a matching sha256 in the manifest): not read."""
    import hashlib
    import pickle

    table = sorted(folder.glob("*.parquet"))[0]
    table.write_bytes(pickle.dumps(pd.DataFrame({"a": [1]})))
    doc = json.loads((folder / "manifest.json").read_text("utf-8"))
    doc["tables"][table.name]["sha256"] = hashlib.sha256(table.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(doc), "utf-8")


@pytest.mark.parametrize("damage", [_truncate, _flip, _bad_manifest, _wrong_key, _missing_table,
                                    _pickle_instead])
def test_damaged_entry_is_ignored_and_rebuilt(demo_ws: Workspace, counted: list[str],  # type: ignore[no-untyped-def]
                                              damage) -> None:
    first = cache.cached_reconcile(demo_ws, PERIOD)
    damage(_entry(demo_ws))
    again = cache.cached_reconcile(demo_ws, PERIOD)
    assert counted == ["2026-10", "2026-10"]
    _same(first, again)
    cache.cached_reconcile(demo_ws, PERIOD)  # the rebuilt entry is used
    assert counted == ["2026-10", "2026-10"]


def test_cache_can_be_turned_off(demo_ws: Workspace, counted: list[str]) -> None:
    with demo_ws.config_path.open("a", encoding="utf-8") as fh:
        fh.write("\n[cache]\nreconcile = false\n")
    cache.cached_reconcile(demo_ws, PERIOD)
    cache.cached_reconcile(demo_ws, PERIOD)
    assert counted == ["2026-10", "2026-10"]
    assert not (demo_ws.root / cache.FOLDER / "2026-10").exists()


def test_read_only_workspace_still_reconciles(demo_ws: Workspace, counted: list[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("read-only")

    monkeypatch.setattr(cache.tempfile, "mkdtemp", refuse)
    rec = cache.cached_reconcile(demo_ws, PERIOD)
    assert len(rec.findings) and counted == ["2026-10"]


def test_values_keep_their_exact_type_and_text(tmp_path: Path) -> None:
    frame = pd.DataFrame({
        "money": [Decimal("1.50"), None, Decimal("-0.000001")],
        "mixed": pd.Series(["a", np.nan, pd.NA], dtype=object),
        "text": ["x", "", "=cmd|' /C calc'!A0"],
        "ints": pd.array([1, None, 3], dtype="Int64"),
        "when": pd.to_datetime(["2026-10-01", None, "2026-10-31"]),
        "flag": [True, False, True],
        "day": [pd.Timestamp("2026-10-01").date(), None, None],
    })
    frame.index = pd.MultiIndex.from_tuples([("c1", "p1"), ("c1", "p2"), ("c2", "p1")],
                                            names=["client_id", "product_id"])
    meta = cache._write_frame(frame, tmp_path / "t.parquet")
    back = cache._read_frame(tmp_path / "t.parquet", meta)
    pd.testing.assert_frame_equal(frame, back, check_exact=True)
    assert [str(v) for v in back["money"]] == ["1.50", "None", "-0.000001"]
    assert back.loc[("c1", "p2"), "mixed"] is not pd.NA and pd.isna(back.loc[("c1", "p2"), "mixed"])
    assert back.loc[("c2", "p1"), "mixed"] is pd.NA


def test_a_value_without_exact_form_is_not_stored(tmp_path: Path) -> None:
    with pytest.raises(cache.CacheUnusable):
        cache._write_frame(pd.DataFrame({"a": [object()]}), tmp_path / "t.parquet")


def test_key_sized_keeps_what_the_notebooks_read(rec) -> None:  # type: ignore[no-untyped-def]
    small = cache.key_sized(rec)
    assert len(small.month.delivered) < len(rec.month.delivered)
    pd.testing.assert_frame_equal(small.coverage(), rec.coverage(), check_exact=True)
    pd.testing.assert_frame_equal(small.findings, rec.findings, check_exact=True)
    assert small.blockers().lines(PERIOD) == rec.blockers().lines(PERIOD)
    assert small.headline().__dict__ == rec.headline().__dict__
    # every finding's sources are among the lines kept, loaded and mapped alike
    kept = set(small.month.delivered["source"])
    assert set(small.loaded.delivered["source"]) == kept
    for sources in rec.findings["sources"]:
        delivered = {s for s in str(sources).split(";") if s} & set(rec.month.delivered["source"])
        assert delivered <= kept
    assert cache.key_sized(small) is small


def test_first_call_and_reopening_agree(demo_ws: Workspace) -> None:
    first = cache.cached_reconcile(demo_ws, PERIOD)
    _same(first, cache.key_sized(run.reconcile_period(demo_ws, PERIOD)))
    _same(first, cache.cached_reconcile(demo_ws, PERIOD))


def test_same_size_same_mtime_rewrite_still_invalidates(demo_ws: Workspace) -> None:
    """The digest memo never hides a change: a rewrite keeping size and mtime changes ctime."""
    import os

    before = cache.cache_key(demo_ws, PERIOD)
    path = next(p for p in sorted(demo_ws.inputs(PERIOD).iterdir()) if p.suffix == ".csv")
    st, data = path.stat(), bytearray(path.read_bytes())
    data[-2] = ord("7") if data[-2] != ord("7") else ord("8")
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    assert cache.cache_key(demo_ws, PERIOD) != before


def test_damaged_digest_memo_is_ignored(demo_ws: Workspace) -> None:
    key = cache.cache_key(demo_ws, PERIOD)
    memo = demo_ws.root / cache.FOLDER / "digests.json"
    assert memo.is_file()
    text = memo.read_text("utf-8")
    memo.write_text(text.replace('"', "'", 3), "utf-8")
    assert cache.cache_key(demo_ws, PERIOD) == key
    name = next(iter(json.loads(memo.read_text("utf-8"))))
    memo.write_text(json.dumps({name: [1, 2, 3, 4, "0" * 64]}), "utf-8")
    assert cache.cache_key(demo_ws, PERIOD) == key  # a stale stamp: hashed again


def test_input_changed_while_reconciling_is_not_stored(demo_ws: Workspace,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    real = run.reconcile_period

    def racing(ws, period, progress=None, engine=None, as_of=None):  # type: ignore[no-untyped-def]
        rec = real(ws, period, progress=progress, engine=engine, as_of=as_of)
        _touch_input(ws)  # a download landing mid-run: the result may be of either version
        return rec

    monkeypatch.setattr(cache, "reconcile_period", racing)
    cache.cached_reconcile(demo_ws, PERIOD)
    assert not list((demo_ws.root / cache.FOLDER / "2026-10").glob("[0-9a-f]*"))


def test_as_of_is_part_of_the_key(demo_ws: Workspace, counted: list[str]) -> None:
    from datetime import date

    later = date(2026, 11, 20)
    assert cache.cache_key(demo_ws, PERIOD) != cache.cache_key(demo_ws, PERIOD, as_of=later)
    cache.cached_reconcile(demo_ws, PERIOD)
    rec = cache.cached_reconcile(demo_ws, PERIOD, as_of=later)
    assert counted == ["2026-10", "2026-10"]
    assert rec.licences is not None and rec.licences.as_of == later
    _same(rec, cache.cached_reconcile(demo_ws, PERIOD, as_of=later))
    assert counted == ["2026-10", "2026-10"]
