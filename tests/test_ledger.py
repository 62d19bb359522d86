"""The decision ledger: append-only, hash-chained, durable under kill -9 and concurrency."""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from recon_helpers.audit.decisions import Action, decisions_frame, record_decision
from recon_helpers.audit.ledger import GENESIS, Ledger, entry_hash
from recon_helpers.core.errors import LedgerError, ReconError
from recon_helpers.core.period import Period

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "ledger_worker.py"
PERIOD = Period.parse("2026-10")
# realistic discrepancy keys: kind|client|product|vendor customer GUID
KEYS = [
    "under_billed|ACME|M365-BP|7c1e5b7a-3f0e-4c51-9a4e-2b8f6d0c9e11",
    "price_mismatch|19283746501928374|EDR-CORE|",
    "unmapped_customer||| 2fd0c1c4-65b1-4d29-8e1a-6e0f4b3d8a77",
]


def _ledger(tmp_path: Path, n: int = 0) -> Ledger:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    for i in range(n):
        ledger.append(
            "decision", PERIOD, KEYS[i % 3], {"action": "accept", "note": f"n{i}"}, "alice"
        )
    return ledger


def _tamper(path: Path, *sql: str) -> None:
    """Edit the ledger behind its back: a second connection with the triggers dropped."""
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER IF EXISTS entries_no_update")
    con.execute("DROP TRIGGER IF EXISTS entries_no_delete")
    for statement in sql:
        con.execute(statement)
    con.commit()
    con.close()


def _spawn(path: Path, tag: str, count: int, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(path), tag, str(count), *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _acks(output: str) -> dict[int, str]:
    # the last line may be cut by the kill; only whole lines were acknowledged
    lines = output.split("\n")[:-1]
    return {int(seq): digest for seq, digest, _ in (line.split(" ") for line in lines)}


def test_append_chains_entries_and_verifies(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    assert ledger.head() == GENESIS
    assert ledger.entries() == []
    first = ledger.append(
        "decision", PERIOD, KEYS[0], {"action": "accept", "impact": Decimal("-12.50")}, "alice"
    )
    second = ledger.append("signoff", Period.parse("2026-11"), "signoff:preparer",
                           {"role": "preparer"}, "bob")
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS and second.prev_hash == first.hash
    assert ledger.head() == second.hash
    assert first.payload["impact"] == "-12.50"  # Decimal kept exact, as text
    assert [e.seq for e in ledger.entries(PERIOD)] == [1]
    stored = ledger.entries()[0]
    assert stored == first
    text = json.dumps(stored.payload, sort_keys=True, separators=(",", ":"))
    assert first.hash == entry_hash(
        1, first.ts, "alice", str(PERIOD), "decision", KEYS[0], text, GENESIS
    )
    assert ledger.verify() == []
    con = sqlite3.connect(tmp_path / "ledger.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_append_rejects_bad_entries(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    with pytest.raises(LedgerError, match="entry type"):
        ledger.append("note", PERIOD, "k", {}, "alice")
    with pytest.raises(LedgerError, match="not JSON-serialisable"):
        ledger.append("decision", PERIOD, "k", {"when": object()}, "alice")
    with pytest.raises(LedgerError, match="not valid JSON"):
        ledger.append("decision", PERIOD, "k", {"x": float("nan")}, "alice")
    with pytest.raises(LedgerError, match="actor"):
        ledger.append("decision", PERIOD, "k", {}, "  ")
    with pytest.raises(ReconError, match="YYYY-MM"):
        ledger.append("decision", Period.parse("2026-13"), "k", {}, "alice")
    assert ledger.entries() == []


def test_update_and_delete_are_refused(tmp_path: Path) -> None:
    _ledger(tmp_path, 2).close()
    con = sqlite3.connect(tmp_path / "ledger.sqlite")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE entries SET actor = 'mallory' WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM entries WHERE seq = 2")
    con.close()
    assert [e.actor for e in Ledger(tmp_path / "ledger.sqlite").entries()] == ["alice", "alice"]


def test_edited_row_is_detected(tmp_path: Path) -> None:
    _ledger(tmp_path, 4).close()
    path = tmp_path / "ledger.sqlite"
    _tamper(
        path, """UPDATE entries SET payload = '{"action":"accept","note":"n9"}' WHERE seq = 2"""
    )
    problems = Ledger(path).verify()
    assert "entry seq 2 was edited" in problems
    assert "append-only trigger entries_no_update was removed" in problems
    assert not any("seq 3" in p or "seq 4" in p for p in problems)


def test_rewritten_row_with_recomputed_hash_breaks_the_link(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, 3)
    e2 = ledger.entries()[1]
    forged = entry_hash(2, e2.ts, "mallory", str(PERIOD), "decision", e2.key, '{"a":1}',
                        e2.prev_hash)
    _tamper(
        ledger.path,
        f"""UPDATE entries SET actor = 'mallory', payload = '{{"a":1}}', hash = '{forged}'
            WHERE seq = 2""",
    )
    problems = ledger.verify()
    assert any(p.startswith("entries reordered or removed before seq 3") for p in problems)


def test_deleted_rows_are_detected(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, 5)
    _tamper(ledger.path, "DELETE FROM entries WHERE seq = 2")
    assert "entry seq 2 was deleted" in ledger.verify()
    _tamper(ledger.path, "DELETE FROM entries WHERE seq = 5")  # the newest: no gap in seq
    problems = ledger.verify()
    assert "entry seq 5 was deleted" in problems
    # appending after a tail deletion does not hide it
    ledger.append("decision", PERIOD, KEYS[0], {"action": "accept"}, "alice")
    assert ledger.entries()[-1].seq == 6
    assert "entry seq 5 was deleted" in ledger.verify()


def test_reordered_rows_are_detected(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path, 5)
    cols = "ts, actor, period, entry_type, key, payload, prev_hash, hash"
    _tamper(
        ledger.path,
        f"CREATE TEMP TABLE t AS SELECT seq, {cols} FROM entries WHERE seq IN (2, 4)",
        f"""UPDATE entries SET ({cols}) = (SELECT {cols} FROM t WHERE t.seq = 6 - entries.seq)
            WHERE seq IN (2, 4)""",
    )
    problems = ledger.verify()
    assert "entries reordered: entry seq 2 holds the entry hashed as seq 4" in problems
    assert "entries reordered: entry seq 4 holds the entry hashed as seq 2" in problems
    assert any(p.startswith("entries reordered or removed before seq 2") for p in problems)


def test_truncated_file_is_reported(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    for i in range(40):  # long notes: the entries span many pages
        ledger.append("decision", PERIOD, f"k{i}", {"action": "accept", "note": "x" * 2000}, "a")
    ledger.close()
    path = tmp_path / "ledger.sqlite"
    assert not path.with_name("ledger.sqlite-wal").exists()  # checkpointed on close
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.truncate(size // 2)
    try:
        problems = Ledger(path).verify()
    except LedgerError as exc:  # acceptable: a clear error instead of a problem list
        problems = [str(exc)]
    assert problems
    assert any("integrity" in p or "damaged" in p or "deleted" in p for p in problems), problems


def test_locked_ledger_fails_fast_with_clear_error(tmp_path: Path) -> None:
    _ledger(tmp_path, 1).close()
    path = tmp_path / "ledger.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        start = time.monotonic()
        with pytest.raises(LedgerError, match="locked by another process; try again"):
            Ledger(path, timeout=0.2).append("decision", PERIOD, "k", {}, "bob")
        assert time.monotonic() - start < 3
        assert Ledger(path, timeout=0.2).verify() == []  # readers are not blocked (WAL)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_record_decision_validates_and_latest_supersedes(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    common = {"kind": "under_billed", "client_id": "0012", "product_id": "M365-BP"}
    with pytest.raises(LedgerError, match="accept needs a note"):
        record_decision(ledger, PERIOD, KEYS[0], "accept", " ", "alice", **common)
    with pytest.raises(LedgerError, match="escalate needs a note"):
        record_decision(ledger, PERIOD, KEYS[0], Action.ESCALATE, "", "alice")
    with pytest.raises(LedgerError, match="new_quantity is required"):
        record_decision(ledger, PERIOD, KEYS[0], "adjust_agreement", "", "alice", **common)
    with pytest.raises(LedgerError, match="not a float"):
        record_decision(ledger, PERIOD, KEYS[0], "adjust_agreement", "", "alice", new_quantity=12.5)
    with pytest.raises(LedgerError, match="not one of"):
        record_decision(ledger, PERIOD, KEYS[0], "ignore", "x", "alice")
    with pytest.raises(LedgerError, match="kind 'oops'"):
        record_decision(ledger, PERIOD, KEYS[0], "accept", "x", "alice", kind="oops")
    with pytest.raises(LedgerError, match="applies to adjust"):
        record_decision(ledger, PERIOD, KEYS[0], "accept", "x", "alice", new_quantity="3")
    assert ledger.entries() == []

    record_decision(
        ledger,
        PERIOD,
        KEYS[0],
        "adjust_agreement",
        "",
        "alice",
        new_quantity="25",
        **common,
        impact=Decimal("431.25"),
        currency="usd",
    )
    record_decision(ledger, PERIOD, KEYS[1], "escalate", "ask the account manager", "alice")
    record_decision(
        ledger, PERIOD, KEYS[0], "accept", "client keeps 20 seats until renewal", "bob", **common
    )
    record_decision(ledger, Period.parse("2026-11"), KEYS[0], "accept", "other month", "bob")
    frame = decisions_frame(ledger, PERIOD)
    assert list(frame.columns[:8]) == [
        "key",
        "action",
        "note",
        "actor",
        "ts",
        "seq",
        "values",
        "superseded_count",
    ]
    assert frame["key"].tolist() == [KEYS[1], KEYS[0]]
    latest = frame.set_index("key").loc[KEYS[0]]
    assert (latest["action"], latest["actor"], latest["seq"]) == ("accept", "bob", 3)
    assert latest["superseded_count"] == 1 and bool(latest["resolved"])
    assert json.loads(latest["values"])["client_id"] == "0012"
    assert frame.set_index("key").loc[KEYS[1], "resolved"] == False  # noqa: E712
    adjusted = ledger.entries()[0].payload
    assert adjusted["new_quantity"] == "25" and adjusted["impact"] == "431.25"
    assert adjusted["currency"] == "USD"
    assert frame["key"].dtype == object
    assert decisions_frame(ledger, Period.parse("2026-12")).empty


def test_concurrent_appends_from_two_processes(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    workers = [_spawn(path, tag, 50, "sync") for tag in ("alice", "bob")]
    for worker in workers:  # both open a ledger file that does not exist yet, then go together
        assert worker.stdout is not None and worker.stdout.readline() == "ready\n"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    outputs = [w.communicate(timeout=60) for w in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    acked = {}
    for out, _ in outputs:
        acked.update(_acks(out))
    ledger = Ledger(path)
    entries = ledger.entries()
    assert [e.seq for e in entries] == list(range(1, 101))
    assert {e.seq: e.hash for e in entries} == acked
    assert all(e.prev_hash == p.hash for p, e in itertools.pairwise(entries))
    assert {e.actor for e in entries} == {"alice", "bob"}
    assert ledger.verify() == []


def test_kill_9_mid_burst_keeps_every_acknowledged_append(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    rng = random.Random(20261031)
    acked: dict[int, str] = {}
    for round_no in range(4):
        worker = _spawn(path, f"burst{round_no}", 0)
        assert worker.stdout is not None
        first = worker.stdout.readline()  # the burst is under way
        time.sleep(rng.uniform(0.01, 0.2))
        worker.send_signal(signal.SIGKILL)
        rest, _ = worker.communicate(timeout=10)
        assert worker.returncode == -signal.SIGKILL
        acked.update(_acks(first + rest))
        con = sqlite3.connect(path)
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        con.close()
        ledger = Ledger(path)
        assert ledger.verify() == []
        stored = {e.seq: e.hash for e in ledger.entries()}
        assert all(stored.get(seq) == digest for seq, digest in acked.items())
        ledger.close()
    assert len(acked) >= 4
