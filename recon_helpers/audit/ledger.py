"""The decision ledger: an append-only, hash-chained SQLite log of decisions and sign-offs.

``data/ledger.sqlite`` holds one table ``entries``. Triggers refuse UPDATE and DELETE, and
each entry's ``hash`` is sha256 over the canonical JSON of its fields including the previous
entry's hash, so an edit made with the triggers dropped, a deleted row or a reordering shows
up in :meth:`Ledger.verify`. A later decision on the same discrepancy supersedes the earlier
one by being appended; nothing is ever edited.

Durability: WAL journal, ``synchronous=FULL`` (a commit that returned survives a crash or a
``kill -9``), appends inside ``BEGIN IMMEDIATE`` so concurrent writers from several processes
queue on the busy timeout and the chain stays linear.

Example:
    >>> with Ledger(workspace.ledger_path) as ledger:
    ...     ledger.append("decision", "2026-10", key, {"action": "accept"}, "alice")
    ...     ledger.verify()
    []

What the entries mean (decisions, sign-offs) is :mod:`recon_helpers.audit.decisions` and
:mod:`recon_helpers.audit.signoff`; this module only stores and checks them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from recon_helpers.core.errors import LedgerError
from recon_helpers.core.period import Period

GENESIS = "0" * 64
# "apply": one write-back attempt or outcome of ``recon apply`` (audit/apply_log.py); it
# executes a decision already recorded, so it never reopens a signed month
# waiver: what the preparer signed over; issued: a file written after the seal (a statement);
# reopen: a month reopened on purpose to re-render its report
ENTRY_TYPES = ("decision", "signoff", "mapping", "apply", "waiver", "issued", "reopen")
TRIGGERS = ("entries_no_update", "entries_no_delete")
_HASHED = ("seq", "ts", "actor", "period", "entry_type", "key", "payload", "prev_hash")
_FIELDS = ", ".join((*_HASHED, "hash"))

# AUTOINCREMENT keeps sqlite_sequence, so deleting the newest entries leaves a visible gap.
_SCHEMA = (
    """CREATE TABLE entries (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        ts TEXT NOT NULL, actor TEXT NOT NULL, period TEXT NOT NULL,
        entry_type TEXT NOT NULL, key TEXT NOT NULL, payload TEXT NOT NULL,
        prev_hash TEXT NOT NULL, hash TEXT NOT NULL)""",
    "CREATE INDEX entries_period ON entries (period, seq)",
    """CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries BEGIN
        SELECT RAISE(ABORT, 'the ledger is append-only: entries cannot be changed'); END""",
    """CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries BEGIN
        SELECT RAISE(ABORT, 'the ledger is append-only: entries cannot be deleted'); END""",
)


class LedgerConflict(LedgerError):
    """The ledger head moved between reading it and appending (another writer); retry."""


@dataclass(frozen=True)
class Entry:
    """One ledger entry as stored."""

    seq: int
    ts: str
    actor: str
    period: str
    entry_type: str
    key: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


def canonical_json(value: Any) -> str:
    """The one serialisation hashed and stored: sorted keys, no spaces, UTF-8 text."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def entry_hash(seq: int, *fields: str) -> str:
    """sha256 of an entry: ``entry_hash(seq, ts, actor, period, entry_type, key, payload,
    prev_hash)``; ``payload`` is the stored JSON text, hashed verbatim."""
    if len(fields) != len(_HASHED) - 1:
        raise TypeError(f"entry_hash needs {', '.join(_HASHED)}")
    body = dict(zip(_HASHED, (seq, *fields), strict=True))
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def _jsonable(value: Any, where: str) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v, where) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise LedgerError(f"ledger payload {where} = {value!r} is not JSON-serialisable")


def _seq_text(first: int, last: int) -> str:
    if first == last:
        return f"entry seq {first} was deleted"
    return f"entries seq {first}-{last} were deleted"


class Ledger:
    """The append-only ledger file; one open SQLite connection per instance."""

    def __init__(self, path: str | Path, timeout: float = 10.0) -> None:
        """Open (or, on first append, create) the ledger.

        Args:
            path: ``Workspace.ledger_path``.
            timeout: seconds a write waits for another process's lock before failing.

        Raises:
            LedgerError: the file cannot be opened.
        """
        self.path = Path(path)
        self.timeout = timeout
        self._ready = False
        try:
            # nothing is read here, so a damaged file still gets verify()'s problem list
            self._conn = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise LedgerError(f"ledger {self.path} cannot be opened: {exc}") from exc

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        try:
            yield
        except LedgerError:
            raise
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED") or (
                "locked" in str(exc)
            ):
                raise LedgerError(
                    f"ledger {self.path} is locked by another process; try again"
                ) from exc
            raise LedgerError(f"ledger {self.path}: cannot {doing} it: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"ledger {self.path} is damaged or not a ledger: {exc}") from exc

    def _has_table(self) -> bool:
        row = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'entries'"
        ).fetchone()
        return row is not None

    def _ensure_schema(self) -> None:
        # created on first append only, so reading or verifying never writes to the file
        if self._ready:
            return
        with self._guard("prepare"):
            self._conn.execute("PRAGMA synchronous=FULL")  # per connection: commits reach disk
            self._set_wal()
            if not self._has_table():
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    if not self._has_table():  # another process may have won the race
                        for statement in _SCHEMA:
                            self._conn.execute(statement)
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise
        self._ready = True

    def _set_wal(self) -> None:
        """Switch to WAL, waiting up to ``timeout`` for another process's lock.

        The busy timeout does not cover a journal-mode change: two processes creating the
        ledger together saw "database is locked" at once, so the change is retried here.
        """
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            with suppress(sqlite3.Error):  # the original error is the useful one
                self._conn.execute("ROLLBACK")

    def append(
        self,
        entry_type: str,
        period: Period,
        key: str,
        payload: Mapping[str, Any],
        actor: str,
        *,
        expect_head: str | None = None,
    ) -> Entry:
        """Append one entry, chained to the current head, and commit it durably.

        Args:
            entry_type: ``"decision"``, ``"signoff"`` or ``"apply"``.
            period: the month.
            key: the discrepancy key (or ``signoff:<role>``).
            payload: JSON-serialisable values; Decimals are stored as exact strings.
            actor: who records it.
            expect_head: if given, refuse with :class:`LedgerConflict` unless the ledger
                head still equals it (lets a seal record the head it chains onto).

        Returns:
            The stored entry.

        Raises:
            LedgerError: bad arguments, a locked or damaged ledger.
        """
        if entry_type not in ENTRY_TYPES:
            raise LedgerError(f"entry type {entry_type!r} is not one of {', '.join(ENTRY_TYPES)}")
        month = str(period)
        if not str(key).strip():
            raise LedgerError("a ledger entry needs a non-empty key")
        if not str(actor).strip():
            raise LedgerError("a ledger entry needs the name of who records it (actor)")
        try:
            text = canonical_json(_jsonable(dict(payload), "payload"))
        except ValueError as exc:  # NaN / infinity
            raise LedgerError(f"ledger payload is not valid JSON: {exc}") from exc
        self._ensure_schema()
        with self._guard("append to"):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                last = self._conn.execute(
                    "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                used = self._conn.execute(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'entries'"
                ).fetchone()
                prev = last[1] if last else GENESIS
                if expect_head is not None and prev != expect_head:
                    raise LedgerConflict(f"ledger {self.path} changed while recording; try again")
                seq = max(last[0] if last else 0, used[0] if used else 0) + 1
                ts = datetime.now(UTC).isoformat(timespec="microseconds")
                digest = entry_hash(seq, ts, actor, month, entry_type, key, text, prev)
                self._conn.execute(
                    f"INSERT INTO entries ({_FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (seq, ts, actor, month, entry_type, key, text, prev, digest),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        return Entry(seq, ts, actor, month, entry_type, key, json.loads(text), prev, digest)

    def _rows(self, period: Period | None = None) -> list[tuple[Any, ...]]:
        with self._guard("read"):
            if not self._has_table():
                return []
            if period is None:
                return self._conn.execute(f"SELECT {_FIELDS} FROM entries ORDER BY seq").fetchall()
            return self._conn.execute(
                f"SELECT {_FIELDS} FROM entries WHERE period = ? ORDER BY seq", (str(period),)
            ).fetchall()

    def entries(self, period: Period | None = None) -> list[Entry]:
        """Every entry in order (only one month's when ``period`` is given).

        Raises:
            LedgerError: the ledger is damaged (an entry's payload is not JSON).
        """
        out = []
        for seq, ts, actor, per, etype, key, payload, prev, digest in self._rows(period):
            try:
                values = json.loads(payload)
            except (TypeError, ValueError) as exc:
                raise LedgerError(
                    f"ledger {self.path}: entry seq {seq} is damaged (payload is not JSON); "
                    "run `recon verify`"
                ) from exc
            out.append(Entry(seq, ts, actor, per, etype, key, values, prev, digest))
        return out

    def head(self) -> str:
        """Hash of the newest entry (``"0" * 64`` when the ledger is empty)."""
        with self._guard("read"):
            if not self._has_table():
                return GENESIS
            row = self._conn.execute(
                "SELECT hash FROM entries ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        return row[0] if row else GENESIS

    def verify(self) -> list[str]:
        """Check the file and the hash chain; an empty list means intact.

        Returns:
            Problems such as ``"entry seq 4 was edited"``, ``"entry seq 5 was deleted"``,
            ``"entries reordered or removed before seq 6 ..."``, integrity-check failures,
            a removed append-only trigger, or that the file is damaged.
        """
        problems: list[str] = []
        try:
            with self._guard("read"):
                self._conn.execute("BEGIN")  # one consistent snapshot for every check
                try:
                    checks = [r[0] for r in self._conn.execute("PRAGMA integrity_check")]
                    if checks != ["ok"]:
                        problems += [f"integrity check: {c}" for c in checks]
                    if not self._has_table():
                        return problems
                    rows = self._conn.execute(
                        f"SELECT {_FIELDS} FROM entries ORDER BY seq"
                    ).fetchall()
                    used = self._conn.execute(
                        "SELECT seq FROM sqlite_sequence WHERE name = 'entries'"
                    ).fetchone()
                    sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                    triggers = {r[0] for r in self._conn.execute(sql)}
                finally:
                    self._rollback()
        except LedgerError as exc:
            return [*problems, str(exc)]
        problems += _chain_problems(rows, used[0] if used else 0)
        problems += [
            f"append-only trigger {name} was removed" for name in TRIGGERS if name not in triggers
        ]
        return problems



def _chain_problems(rows: list[tuple[Any, ...]], used: int) -> list[str]:
    """Walk the chain in seq order; name every edit, gap and broken link."""
    problems: list[tuple[int, str]] = []
    expected_prev, expected_seq, prev_seq = GENESIS, 1, 0
    edited: list[tuple[Any, ...]] = []
    for row in rows:
        seq, ts, actor, period, etype, key, payload, prev, digest = row
        gap = seq > expected_seq
        if gap:
            problems.append((expected_seq, _seq_text(expected_seq, seq - 1)))
        if entry_hash(seq, ts, actor, period, etype, key, payload, prev) != digest:
            edited.append(row)
        if prev != expected_prev and not gap:
            where = f"entry seq {prev_seq}" if prev_seq else "the start of the ledger"
            msg = f"entries reordered or removed before seq {seq} (it does not link to {where})"
            problems.append((seq, msg))
        expected_prev, expected_seq, prev_seq = digest, seq + 1, seq
    if used >= expected_seq:
        problems.append((expected_seq, _seq_text(expected_seq, used)))
    # an entry that hashes correctly under another edited entry's seq was moved, not rewritten
    seqs = [r[0] for r in edited]
    for row in edited:
        seq, *content = row
        moved = [o for o in seqs if o != seq and entry_hash(o, *content[:-1]) == content[-1]]
        text = f"entry seq {seq} was edited"
        if moved:
            text = f"entries reordered: entry seq {seq} holds the entry hashed as seq {moved[0]}"
        problems.append((seq, text))
    return [msg for _, msg in sorted(problems, key=lambda p: p[0])]
