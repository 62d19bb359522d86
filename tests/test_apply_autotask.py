"""recon apply against a stateful fake Autotask: create-only adjustments with a delta."""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from recon_helpers.audit.apply_log import read_states
from recon_helpers.billing.writeback import plan_frame, undo_for
from recon_helpers.core.workspace import Workspace
from recon_helpers.demo.write import write_demo
from recon_helpers.reconcile.run import reconcile_period
from tests.apply_helpers import PERIOD, decide, point_at, run_apply, the_plan
from tests.fake_psa import FakeAutotask
from tests.fake_vendors import SECRETS

NOV = date(2026, 11, 1)
GRANITE = (29684007, 29682801)  # (contract, service) of the findings
IRONWOOD = (29684009, 29682807)
JUNIPER = (29684010, 29682806)


@pytest.fixture(scope="module")
def at_template(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("at-template") / "data"
    write_demo(root, psa="autotask")
    return root, reconcile_period(Workspace.open(root), PERIOD)


@pytest.fixture
def at(at_template, tmp_path, fake_api):  # type: ignore[no-untyped-def]
    shutil.copytree(at_template[0], tmp_path / "data")
    ws = point_at(Workspace.open(tmp_path / "data"), fake_api.base, "autotask")
    rec = at_template[1]
    fake = FakeAutotask.from_month(fake_api, ws.inputs(PERIOD))
    decide(ws, rec, "under_billed", "29683407", "adjust_agreement", "12")
    decide(ws, rec, "under_billed", "29683412", "adjust_agreement", "3.4")
    decide(ws, rec, "unbilled_service", "29683409", "adjust_agreement", "10")
    decide(ws, rec, "billed_not_delivered", "29683410", "adjust_agreement", "0")
    return ws, fake, rec


def test_plan_and_apply_send_the_delta_at_the_effective_date(at) -> None:
    ws, fake, rec = at
    changes = the_plan(ws, rec)
    assert plan_frame(changes)[["object", "current", "new", "state", "reason"]].values.tolist(
    ) == [
        ["Autotask contract 29684007 service 29682801 (contract service 31120)", "10", "12",
         "ready", ""],
        ["Autotask contract 29684012 service 29682808 (contract service 31227)", "3", "3.4",
         "manual", "Autotask units change by whole numbers"],
        ["Autotask contract 29684009 service 29682807", "(none)", "10", "ready", ""],
        ["Autotask contract 29684010 service 29682806 (contract service 31185)", "19", "0",
         "ready", ""]]
    results = run_apply(ws, changes)
    assert [r.outcome for r in results] == ["applied"] * 3
    assert fake.adjustments == [
        {"contractID": 29684007, "serviceID": 29682801, "effectiveDate": "2026-11-01T00:00:00",
         "unitChange": 2, "allowRepeatService": False, "quoteItemID": None,
         "contractServiceID": 31120, "adjustedUnitPrice": 22},
        {"contractID": 29684009, "serviceID": 29682807, "effectiveDate": "2026-11-01T00:00:00",
         "unitChange": 10, "allowRepeatService": False, "quoteItemID": None,
         "adjustedUnitPrice": 5},
        {"contractID": 29684010, "serviceID": 29682806, "effectiveDate": "2026-11-01T00:00:00",
         "unitChange": -19, "allowRepeatService": False, "quoteItemID": None,
         "contractServiceID": 31185, "adjustedUnitPrice": 6}]
    assert [fake.units_at(*cs, NOV) for cs in (GRANITE, IRONWOOD, JUNIPER)] == [12, 10, 0]
    assert fake.units_at(*GRANITE, date(2026, 10, 31)) == 10  # October stays as billed
    assert [r.psa_id for r in results] == ["60001", "60002", "60003"]  # the itemIds
    headers = fake.writes()[0].headers
    assert headers["apiintegrationcode"] == SECRETS["RECON_AUTOTASK_INTEGRATION_CODE"]
    assert run_apply(ws, the_plan(ws, rec)) == []  # all applied: nothing planned, nothing sent


@pytest.mark.parametrize("mode", ["timeout+", "500+", "drop+"])
def test_a_create_that_landed_unanswered_is_never_sent_again(at, mode: str) -> None:
    ws, fake, rec = at
    fake.fail(mode)
    results = run_apply(ws, the_plan(ws, rec))
    assert [r.outcome for r in results] == ["applied"] * 3
    assert "not sent again" in results[0].detail
    assert len(fake.adjustments) == 3 and len(fake.writes()) == 3
    assert fake.units_at(*GRANITE, NOV) == 12


def test_a_create_refused_before_saving_is_sent_again_once(at) -> None:
    ws, fake, rec = at
    fake.fail("500", "500")  # Autotask answers validation errors as 500 too: bounded
    results = run_apply(ws, the_plan(ws, rec))
    assert results[0].outcome == "applied" and len(fake.adjustments) == 3
    assert len(fake.writes()) == 5  # three for the first change, one each for the others


def test_units_changed_since_are_a_conflict(at) -> None:
    ws, fake, rec = at
    changes = the_plan(ws, rec)
    fake._adjust(*GRANITE, NOV, 1)  # someone added a seat in Autotask meanwhile: 11
    results = run_apply(ws, changes)
    assert results[0].outcome == "conflict" and "shows units 11" in results[0].detail
    assert len(fake.adjustments) == 2 and fake.units_at(*GRANITE, NOV) == 11


def test_undo_sends_the_opposite_delta(at) -> None:
    ws, fake, rec = at
    for result in run_apply(ws, the_plan(ws, rec)):
        [undone] = run_apply(ws, [undo_for(read_states(ws, PERIOD), result.seq)])
        assert undone.outcome == "applied", undone.detail
    assert [a["unitChange"] for a in fake.adjustments] == [2, 10, -19, -2, -10, 19]
    assert [fake.units_at(*cs, NOV) for cs in (GRANITE, IRONWOOD, JUNIPER)] == [10, 0, 19]
