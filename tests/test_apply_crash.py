"""kill -9 in the middle of ``recon apply --yes`` of 50 changes, then a rerun: every change
is applied exactly once, and the ledger and the PSA agree."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from recon_helpers.audit.apply_log import read_states
from recon_helpers.audit.ledger import Ledger
from recon_helpers.audit.status import resolve, status_table
from recon_helpers.reconcile.run import reconcile_period
from tests.apply_helpers import PERIOD, point_at, run_apply, the_plan
from tests.fake_psa import FakeConnectWise
from tests.fake_vendors import CW, SECRETS
from tests.psa_workspace import build_cw, client_id, delivered

ROOT = Path(__file__).resolve().parents[1]
CHANGES, KILL_AT = 50, 23


def test_kill_9_mid_apply_then_rerun_applies_each_change_once(tmp_path, fake_api) -> None:
    ws = point_at(build_cw(tmp_path / "data", CHANGES), fake_api.base, "connectwise")
    rec = reconcile_period(ws, PERIOD)
    for key, k in zip(rec.findings["key"], range(1, CHANGES + 1), strict=True):
        assert client_id(k) in key
        resolve(ws, PERIOD, key, "adjust_agreement", "", "Alice Martin",
                new_quantity=str(delivered(k)), rec=rec)
    fake = FakeConnectWise.from_month(fake_api, ws.inputs(PERIOD))
    fake.hold_at = KILL_AT  # this write lands; its answer never comes: the worst moment
    env = {**os.environ, **SECRETS, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "recon_helpers.cli", "apply", "--workspace", str(ws.root),
         "--period", str(PERIOD), "--yes", "--actor", "cron"],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert fake.reached.wait(90), proc.stderr.read() if proc.poll() is not None else ""
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    states = read_states(ws, PERIOD)
    assert sum(s.applied for s in states.values()) == KILL_AT - 1
    assert sum(s.pending is not None for s in states.values()) == 1  # sent, never answered

    results = run_apply(ws, the_plan(ws, rec))  # the rerun
    assert len(results) == CHANGES - KILL_AT + 1
    assert {r.outcome for r in results} == {"applied"}
    assert "interrupted run had landed; nothing sent" in results[0].detail

    patched = Counter(r.path.removeprefix(CW) for r in fake.writes())
    expected = {f"/finance/agreements/{2000 + k}/additions/{70_000 + k}": 1
                for k in range(1, CHANGES + 1)}
    assert patched == expected  # one PATCH per addition, the interrupted one included
    assert {a: fake.quantity(a) for a in fake.additions} == {
        70_000 + k: delivered(k) for k in range(1, CHANGES + 1)}
    with Ledger(ws.ledger_path) as book:
        assert book.verify() == []
        outcomes = [e.payload for e in book.entries(PERIOD)
                    if e.entry_type == "apply" and e.payload["phase"] == "outcome"]
    applied = Counter(o["change"] for o in outcomes if o["outcome"] == "applied")
    assert len(applied) == CHANGES and set(applied.values()) == {1}
    ledger_says = {int(o["psa_id"]): o["read_back"] for o in outcomes}
    assert ledger_says == {a: str(fake.quantity(a)) for a in fake.additions}
    assert set(status_table(rec.findings, ws, PERIOD)["status"]) == {"applied"}
    assert run_apply(ws, the_plan(ws, rec)) == []  # and a third run has nothing to do
