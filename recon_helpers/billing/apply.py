"""Carrying out the write-back plan: read, compare, write once, read back, record each step.

For every ``ready`` change (:mod:`~recon_helpers.billing.writeback`), holding the month's
apply lock (a second ``recon apply`` of the month is refused while one runs):

1. the ledger: a change whose applied outcome is recorded is never sent again;
2. read the object from the PSA (:mod:`~recon_helpers.billing.psa_ops`). It already shows
   the planned value: recorded as ``applied`` with nothing sent (a write that landed but was
   never recorded: a ``kill -9``, a timeout after the PSA committed). It shows neither the
   plan's current value nor the planned one (or, on ConnectWise, another ``lastUpdated``):
   ``conflict``, nothing sent;
3. append an ``attempt`` entry (the request, no credentials) and send the write once;
4. no answer (timeout, dropped connection, 5xx): an ``unknown`` outcome, a pause, then back
   to 2, so a write is re-sent only when the PSA still shows the old value (at most
   MAX_WRITES sends); refused (4xx): ``failed`` (409: ``conflict``), not retried;
5. read back: the planned value gives ``applied`` (HTTP status, body sha256, the PSA's id);
   anything else ``failed`` (not retried).

Every outcome is a ledger entry (:mod:`~recon_helpers.audit.apply_log`), so a rerun after
any failure applies only what is still missing.

Example:
    >>> changes = plan(rec, latest_decisions(ws, october), read_states(ws, october))
    >>> for result in apply_changes(ws, october, changes, "alice"):
    ...     print(result.outcome, result.change.object, result.detail)
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from typing import Any

from recon_helpers.audit import apply_log
from recon_helpers.audit.ledger import Ledger
from recon_helpers.billing.psa_ops import Driver, Reading, driver_for
from recon_helpers.billing.writeback import Change
from recon_helpers.connect.http import ApiResponse, Session
from recon_helpers.connect.secrets import KeyringGet
from recon_helpers.connect.writeback import open_psa
from recon_helpers.core.errors import ApiError, UsageError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace

MAX_WRITES = 3


@dataclass(frozen=True)
class Result:
    """What became of one change in this run."""

    change: Change
    outcome: str  # applied | conflict | failed | unknown
    detail: str
    seq: int | None  # its outcome's ledger entry (None: nothing recorded)
    psa_id: str = ""


@contextmanager
def apply_lock(workspace: Workspace, period: Period) -> Iterator[None]:
    """Hold the month's apply lock (released by the OS if the process dies).

    Raises:
        UsageError: another ``recon apply`` of the month is running.
    """
    fd = os.open(workspace.root / f".{period}.apply.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise UsageError(f"another recon apply of {period} is running; wait for it "
                                 "to finish") from None
            raise
        yield
    finally:
        os.close(fd)


class _Run:
    """One run's ledger, actor and session; applies one change at a time."""

    def __init__(self, ledger: Ledger, period: Period, actor: str, session: Session,
                 states: Mapping[str, apply_log.ChangeState]) -> None:
        self.ledger, self.period, self.actor, self.session = ledger, period, actor, session
        self.states = states

    def record(self, change: Change, phase: str, **fields: Any) -> int:
        payload = self._scrub({**change.payload(), "phase": phase, **fields})
        return apply_log.record(self.ledger, self.period, change.key, payload, self.actor).seq

    def _scrub(self, value: Any) -> Any:
        """``value`` with every credential seen in this run masked wherever it appears (the
        keys are ours and stay: ``client_id`` is a PSA client, not an OAuth client id)."""
        if isinstance(value, dict):
            return {k: self._scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._scrub(v) for v in value]
        return self.session.redactor.text(value) if isinstance(value, str) else value

    def outcome(self, change: Change, outcome: str, detail: str, **fields: Any) -> Result:
        seq = self.record(change, "outcome", outcome=outcome, detail=detail, **fields)
        return Result(change, outcome, detail, seq, str(fields.get("psa_id") or ""))

    def one(self, change: Change, driver: Driver) -> Result:
        """Apply one change (module docstring, steps 1-5)."""
        state = self.states.get(change.change)
        if state is not None and state.applied and state.outcome is not None:
            return Result(change, "applied", f"already applied at ledger seq "
                          f"{state.outcome.seq}; nothing sent", None)
        # an earlier run sent a write and never learned whether it landed
        earlier = state is not None and (state.pending is not None or state.result == "unknown")
        problem = ""
        for attempt in range(1, MAX_WRITES + 2):
            try:
                now = driver.read(change)
            except ApiError as exc:
                return self.outcome(change, "unknown" if attempt > 1 else "failed",
                                    f"could not read {change.object}: {exc}")
            found = self._found(change, now, attempt, earlier)
            if found is not None:
                return found
            if attempt > MAX_WRITES:
                return self.outcome(change, "failed", f"no write landed after {MAX_WRITES} "
                                    f"attempts ({problem}); the PSA still shows the old value")
            if change.psa == "autotask" and not change.line_id and now.psa_id:
                change = replace(change, line_id=now.psa_id)  # the contract service it reads
            request = driver.request(change)
            self.record(change, "attempt", attempt=attempt, request={
                "method": request.method, "endpoint": driver.psa.endpoint(request.path),
                "body": request.body})
            try:
                response = driver.psa.write(request.method, request.path, request.body)
            except ApiError as exc:
                if exc.status is not None and exc.status < 500:
                    return self.outcome(change, "conflict" if exc.status == 409 else "failed",
                                        f"refused: {exc}", attempt=attempt, status=exc.status)
                problem = exc.problem
                self.outcome(change, "unknown", f"attempt {attempt}: {exc.problem}; the PSA "
                             "is read before anything is sent again", attempt=attempt,
                             status=exc.status)
                self.session.clock.sleep(self.session.policy.delay(attempt))
                continue
            return self._verified(change, driver, response, attempt)
        raise AssertionError("unreachable")  # the loop returns on its last pass

    def _found(self, change: Change, now: Reading, attempt: int, earlier: bool
               ) -> Result | None:
        """An outcome without sending (already as planned, or a conflict), else None."""
        if now.value == change.new and change.new != change.current:
            why = ("after a write that got no answer; not sent again" if attempt > 1 else
                   "the write of an earlier, interrupted run had landed; nothing sent"
                   if earlier else "the PSA shows it already; nothing sent")
            return self.outcome(change, "applied", f"{_what(change)}: found as planned ({why})",
                                psa_id=now.psa_id or change.line_id, read_back=now.value,
                                version_after=now.version)
        moved = change.version and now.version and now.version != change.version
        if now.value == change.current and not moved:
            return None
        shown = f"{change.field} {now.value or '(none)'}"
        if moved and now.value == change.current:
            shown += f", changed at {now.version} (the month's data has {change.version})"
        return self.outcome(change, "conflict", f"the PSA shows {shown}; the month's data "
                            f"{change.current or '(none)'}: changed since the data was taken; "
                            "nothing sent", read_back=now.value, version_now=now.version)

    def _verified(self, change: Change, driver: Driver, response: ApiResponse,
                  attempt: int) -> Result:
        sent = {"attempt": attempt, "status": response.status,
                "body_sha256": hashlib.sha256(response.content).hexdigest()}
        try:
            psa_id = driver.returned_id(change, response)
            back = driver.read(change)
        except ApiError as exc:
            return self.outcome(change, "unknown", f"written (HTTP {response.status}) but "
                                f"not verified: {exc}; run recon apply again to check", **sent)
        if back.value != change.new:
            return self.outcome(change, "failed", f"written (HTTP {response.status}), but "
                                f"{change.field} reads back {back.value or '(none)'}, not "
                                f"{change.new}; not retried", psa_id=psa_id,
                                read_back=back.value, **sent)
        return self.outcome(change, "applied", f"{_what(change)} (HTTP {response.status})",
                            psa_id=psa_id or back.psa_id,
                            read_back=back.value, version_after=back.version, **sent)


def _what(change: Change) -> str:
    """``ConnectWise agreement 1006 addition 50147: quantity 10 -> 12``."""
    return f"{change.object}: {change.field} {change.current or '(none)'} -> {change.new}"


def apply_changes(
    workspace: Workspace,
    period: Period,
    changes: Sequence[Change],
    actor: str,
    *,
    session: Session | None = None,
    environ: Mapping[str, str] | None = None,
    keyring_get: KeyringGet | None = None,
    echo: Callable[[Result], None] = lambda result: None,
) -> list[Result]:
    """Apply the ``ready`` changes of a plan (module docstring); the others are left alone.

    Args:
        actor: who runs it (the ledger's actor of every apply entry).
        session: the HTTP session (clock, retry policy, timeouts, redactor).
        echo: called with each result as it is recorded.

    Raises:
        UsageError: another apply of the month is running, or a PSA's credentials or
            settings are missing (before anything is sent).
        LedgerError: the ledger is locked or damaged.
    """
    ready = [c for c in changes if c.state == "ready"]
    if not ready:
        return []
    session = session or Session()
    settings = workspace.settings()
    results: list[Result] = []
    with apply_lock(workspace, period), ExitStack() as stack:
        drivers = {}
        for name in sorted({c.psa for c in ready}):
            psa = open_psa(name, settings.raw, session, environ, keyring_get)
            stack.callback(psa.close)
            drivers[name] = driver_for(psa, settings.timezone)
        ledger = stack.enter_context(Ledger(workspace.ledger_path))
        run = _Run(ledger, period, actor, session,
                   apply_log.change_states(ledger.entries(period)))
        for change in ready:
            results.append(run.one(change, drivers[change.psa]))
            echo(results[-1])
    return results
