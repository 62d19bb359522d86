"""Shared set-up of the recon apply tests: a workspace pointed at the fake PSA, decisions."""

from __future__ import annotations

import httpx

from recon_helpers.audit import status as resolution
from recon_helpers.audit.apply_log import read_states
from recon_helpers.audit.decisions import latest_decisions
from recon_helpers.billing.apply import Result, apply_changes
from recon_helpers.billing.writeback import Change, plan
from recon_helpers.connect.http import Session
from recon_helpers.connect.timing import RetryPolicy
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.reconcile.result import Reconciliation
from recon_helpers.reconcile.run import reconcile_period
from tests.fake_api import FakeClock
from tests.fake_vendors import SECRETS, config

PERIOD = Period.parse("2026-10")
TODAY = PERIOD.next().first  # the day after the month: every default effective date is due


def point_at(ws: Workspace, base: str, psa: str) -> Workspace:
    """Add the ``[pull.<psa>]`` table of the fake server to the workspace's recon.toml."""
    old = ws.config_path.read_text("utf-8") if ws.config_path.is_file() else ""
    ws.config_path.write_text(old + "\n" + config(base, (psa,)), encoding="utf-8")
    return Workspace.open(ws.root, ws.reports_root)


def key_of(rec: Reconciliation, kind: str, client_id: str) -> str:
    f = rec.findings
    return str(f[f["kind"].eq(kind) & f["client_id"].eq(client_id)]["key"].iloc[0])


def decide(ws: Workspace, rec: Reconciliation, kind: str, client_id: str, action: str,
           quantity: str | None = None, effective: str | None = None, note: str = "") -> int:
    """Record a decision on the client's finding of ``kind``; returns its ledger seq."""
    return resolution.resolve(ws, PERIOD, key_of(rec, kind, client_id), action, note,
                              "Alice Martin", new_quantity=quantity, effective_date=effective,
                              rec=rec).seq


def fast_session(timeout: float = 0.5) -> Session:
    """A session that never really sleeps (FakeClock) and times out quickly."""
    return Session(clock=FakeClock(), policy=RetryPolicy(jitter=lambda: 0.0),
                   timeout=httpx.Timeout(timeout))


def the_plan(ws: Workspace, rec: Reconciliation | None = None, **kw: object) -> list[Change]:
    rec = rec or reconcile_period(ws, PERIOD)
    return plan(rec, latest_decisions(ws, PERIOD), read_states(ws, PERIOD), today=TODAY,
                **kw)  # type: ignore[arg-type]


def run_apply(ws: Workspace, changes: list[Change], session: Session | None = None
              ) -> list[Result]:
    return apply_changes(ws, PERIOD, changes, "Alice Martin", session=session or fast_session(),
                         environ=SECRETS, keyring_get=lambda s, n: None)
