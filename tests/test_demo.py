"""The demo workspace: deterministic, loads cleanly, and reconciles to its ground truth exactly."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

from recon_helpers.core.errors import UsageError
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import FINDING_KINDS
from recon_helpers.core.workspace import Workspace
from recon_helpers.demo.plan import PERIODS
from recon_helpers.demo.write import write_demo
from recon_helpers.reconcile.run import reconcile_period


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "data"
    write_demo(root)
    return root


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


def test_demo_is_deterministic(demo, tmp_path):
    again = tmp_path / "data"
    write_demo(again)
    assert _digest(again) == _digest(demo)


def test_demo_refuses_to_overwrite_without_force(demo):
    with pytest.raises(UsageError, match="--force"):
        write_demo(demo)


def test_demo_has_three_months_many_clients_and_vendors(demo):
    ws = Workspace.open(demo)
    assert [str(p) for p in ws.periods()] == list(PERIODS)
    rec = reconcile_period(ws, Period.parse(PERIODS[-1]))
    assert rec.clients["client_id"].nunique() >= 25
    assert rec.loaded.delivered["vendor"].nunique() >= 5


@pytest.mark.parametrize("period", PERIODS)
def test_every_demo_month_loads_with_rows_conserved(demo, period):
    inv = reconcile_period(Workspace.open(demo), Period.parse(period)).loaded.inventory
    assert (inv.rows_read == inv.rows_used + inv.rows_quarantined).all()
    assert inv.rows_quarantined.sum() >= 4  # the planted mess is caught, not dropped


def _truth(demo: Path, period: str) -> set[tuple[str, ...]]:
    with (demo / "demo_ground_truth.csv").open() as fh:
        return {
            (r["kind"], r["client_id"], r["product_id"], r["impact"], r["currency"])
            for r in csv.DictReader(fh)
            if r["period"] == period
        }


@pytest.mark.parametrize("period", PERIODS)
def test_reconcile_reproduces_the_ground_truth_exactly(demo, period):
    rec = reconcile_period(Workspace.open(demo), Period.parse(period))
    f = rec.findings
    got = {
        (k, c, p, "" if i is None else format(i, "f"), cur)
        for k, c, p, i, cur in zip(
            f.kind, f.client_id, f.product_id, f.impact, f.currency, strict=True
        )
    }
    assert len(got) == len(f)
    assert got == _truth(demo, period)


def test_the_latest_month_plants_every_kind(demo):
    kinds = {t[0] for t in _truth(demo, PERIODS[-1])}
    assert kinds == set(FINDING_KINDS)  # SPEC's nine and the licence kinds
