"""Property: whatever the decisions and wherever the faults (throttling, failures before or
after the PSA saved, lost answers, crashes before sending or after the PSA saved), reruns of
``recon apply`` leave the PSA exactly as the plan applied once."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon_helpers.audit.ledger import Ledger
from recon_helpers.audit.status import resolve
from recon_helpers.billing import apply as apply_module
from recon_helpers.connect.writeback import PsaApi
from recon_helpers.core.workspace import Workspace
from recon_helpers.reconcile.run import reconcile_period
from tests.apply_helpers import PERIOD, fast_session, point_at, run_apply, the_plan
from tests.fake_api import running_api
from tests.fake_psa import FakeConnectWise
from tests.fake_vendors import CW
from tests.psa_workspace import build_cw, client_id

CLIENTS = 6
WIRE_FAULTS = ["", "", "", "429", "500", "500+", "drop+", "timeout+"]
CRASHES = ["", "", "", "", "before_send", "after_save"]


class Crash(BaseException):
    """The process dies here (nothing in recon_helpers catches a BaseException)."""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("cw-small") / "data"
    ws = build_cw(root, CLIENTS)
    return root, reconcile_period(ws, PERIOD)


decision = st.one_of(st.none(), st.just("accept"), st.sampled_from(["0", "10"]),
                     st.integers(1, 30).map(str))


def expected_state(latest: dict[int, str | None]) -> dict[int, tuple[int, object]]:
    """(quantity, cancelledDate) of each addition after the plan is applied once."""
    out = {}
    for k, choice in latest.items():
        if choice == "0":  # ended from the default effective date, 2026-11-01
            out[70_000 + k] = (10, "2026-10-31T00:00:00Z")
        elif choice in (None, "accept"):
            out[70_000 + k] = (10, None)
        else:
            out[70_000 + k] = (int(choice), None)
    return out


def crashing_open(plan: list[str]):  # type: ignore[no-untyped-def]
    """open_psa whose writes crash at the scripted points (one entry per write)."""
    real = apply_module.open_psa

    def open_psa(*args, **kwargs) -> PsaApi:  # type: ignore[no-untyped-def]
        psa = real(*args, **kwargs)
        write = psa.write

        def crashing_write(method, path, body):  # type: ignore[no-untyped-def]
            point = plan.pop(0) if plan else ""
            if point == "before_send":
                raise Crash  # the attempt is recorded, nothing was sent
            response = write(method, path, body)
            if point == "after_save":
                raise Crash  # the PSA saved it; the run never records the outcome
            return response

        psa.write = crashing_write  # type: ignore[method-assign]
        return psa

    return open_psa


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choices=st.lists(st.lists(decision, min_size=1, max_size=2), min_size=CLIENTS,
                        max_size=CLIENTS),
       faults=st.lists(st.sampled_from(WIRE_FAULTS), max_size=10),
       crashes=st.lists(st.sampled_from(CRASHES), max_size=10))
def test_reruns_leave_the_psa_as_the_plan_applied_once(template, tmp_path_factory, choices,
                                                        faults, crashes) -> None:
    root, rec = template
    with running_api() as api, pytest.MonkeyPatch.context() as mp:
        copy = tmp_path_factory.mktemp("example") / "data"
        shutil.copytree(root, copy)
        ws = point_at(Workspace.open(copy), api.base, "connectwise")
        latest = {}
        keys = dict(zip(rec.findings["client_id"], rec.findings["key"], strict=True))
        for k, picks in enumerate(choices, start=1):
            latest[k] = next((p for p in reversed(picks) if p is not None), None)
            for pick in picks:  # a second decision supersedes the first
                if pick is None:
                    continue
                action, qty = ("accept", None) if pick == "accept" else ("adjust_agreement",
                                                                         pick)
                resolve(ws, PERIOD, keys[client_id(k)], action, "agreed" if qty is None else "",
                        "Alice", new_quantity=qty, rec=rec)
        fake = FakeConnectWise.from_month(api, ws.inputs(PERIOD))
        fake.fail(*faults)
        mp.setattr(apply_module, "open_psa", crashing_open(list(crashes)))
        for _ in range(8):
            try:
                run_apply(ws, the_plan(ws, rec), fast_session(0.2))
            except Crash:
                continue
            if all(c.state != "ready" for c in the_plan(ws, rec)):
                break
        assert {c.state for c in the_plan(ws, rec)} <= {"applied", "nothing"}
        state = {a: (int(fake.quantity(a)), fake.additions[a]["cancelledDate"])
                 for a in fake.additions}
        assert state == expected_state(latest)
        changed = {a for a, (q, end) in expected_state(latest).items() if (q, end) != (10, None)}
        committed = Counter(path.removeprefix(CW).rsplit("/", 1)[-1] for _, path in fake.commits)
        assert committed == Counter({str(a): 1 for a in changed})  # each change saved once
        with Ledger(ws.ledger_path) as book:
            assert book.verify() == []
