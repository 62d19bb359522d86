"""The month rules agree with themselves: under day_weighted a steady subscription whose
vendor cycle starts mid-month counts as its agreement line does (issue 12, item 6)."""

from __future__ import annotations

import csv
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recon_helpers.core.period import Period
from recon_helpers.core.schemas import QTY_SCALE
from recon_helpers.core.workspace import Workspace
from recon_helpers.demo.write import WEIGHTED_TRUTH, write_demo
from recon_helpers.reconcile.proration import is_recurring, weigh_from, weighted_quantity
from recon_helpers.reconcile.run import reconcile_period

OCT = Period.parse("2026-10")


def _rows(*lines: tuple[str, int, str, str]) -> pd.DataFrame:
    """(charge_type, quantity, start, end) lines of one subscription."""
    return pd.DataFrame({
        "vendor": "microsoft", "vendor_customer_id": "tenant-1", "vendor_customer_name": "",
        "vendor_sku": "CFQ7TTC0LCHC:0002",
        "charge_type": [ln[0] for ln in lines],
        "quantity": [ln[1] * QTY_SCALE for ln in lines],
        "charge_start": pd.to_datetime([ln[2] for ln in lines]),
        "charge_end": pd.to_datetime([ln[3] for ln in lines]),
    })


def _weighted(rows: pd.DataFrame, period: Period = OCT) -> list[float]:
    wq = weighted_quantity(rows["quantity"], weigh_from(rows, period), rows["charge_end"],
                           period, "day_weighted")
    return [v / QTY_SCALE for v in wq]


def test_a_cycle_from_the_15th_counts_the_whole_month() -> None:
    assert _weighted(_rows(("cycleCharge", 10, "2026-10-15", "2026-11-14"))) == [10.0]


def test_the_old_rule_would_have_counted_17_of_31_days() -> None:
    rows = _rows(("cycleCharge", 31, "2026-10-15", "2026-11-14"))
    plain = weighted_quantity(rows["quantity"], rows["charge_start"], rows["charge_end"], OCT,
                              "day_weighted")
    assert plain.tolist() == [17 * QTY_SCALE]


def test_a_purchase_counts_from_its_own_day() -> None:
    assert _weighted(_rows(("New", 31, "2026-10-07", "2026-11-06"))) == [25.0]


def test_two_cycles_in_one_file_are_not_counted_twice() -> None:
    rows = _rows(("cycleCharge", 31, "2026-09-15", "2026-10-14"),
                 ("cycleCharge", 31, "2026-10-15", "2026-11-14"))
    assert _weighted(rows) == [14.0, 17.0]  # 31 in all


def test_a_seat_change_weighs_from_the_change() -> None:
    rows = _rows(("cycleCharge", 31, "2026-10-15", "2026-11-14"),
                 ("addQuantity", -31, "2026-10-20", "2026-11-14"),
                 ("addQuantity", 62, "2026-10-20", "2026-11-14"))
    assert _weighted(rows) == [31.0, -12.0, 24.0]  # 31 seats all month, 31 more from the 20th


def test_a_short_recurring_line_is_no_cycle() -> None:
    assert _weighted(_rows(("cycleCharge", 31, "2026-10-20", "2026-10-31"))) == [12.0]


def test_charge_type_vocabularies() -> None:
    types = pd.Series(["cycleCharge", "Cycle fee", "CYCLE_FEE", "Renew", "renew fee",
                       "subscription", "Recurring:Monthly", "New", "addQuantity", "prorate",
                       "Cycle instance prorate", "", None])
    assert is_recurring(types).tolist() == [True] * 7 + [False] * 6


@given(anchor=st.integers(1, 28), seats=st.integers(1, 500),
       month=st.sampled_from(["2026-02", "2026-04", "2026-10", "2028-02"]),
       prior=st.booleans())
def test_a_steady_subscription_counts_its_seats_whatever_its_anchor(anchor, seats, month,
                                                                     prior) -> None:
    """Property: one steady subscription (its cycle from any day, the previous cycle in the
    file or not) weighs exactly its seat count, as an undated agreement line does."""
    period = Period.parse(month)
    start = period.first.replace(day=anchor)
    nxt = (start.replace(day=1) + timedelta(days=32)).replace(day=anchor)
    lines = [("cycleCharge", seats, start.isoformat(), (nxt - timedelta(days=1)).isoformat())]
    if prior and anchor > 1:
        before = (start.replace(day=1) - timedelta(days=1)).replace(day=anchor)
        lines.append(("cycleCharge", seats, before.isoformat(),
                      (start - timedelta(days=1)).isoformat()))
    assert sum(_weighted(_rows(*lines), period)) == pytest.approx(seats, abs=2e-4)


def _set(root: Path, key: str, value: str) -> None:
    toml = root / "recon.toml"
    text = toml.read_text(encoding="utf-8")
    if re.search(rf"^{key} = ", text, re.M):
        text = re.sub(rf'^{key} = "\w+"', f'{key} = "{value}"', text, flags=re.M)
    else:
        text = f'{key} = "{value}"\n' + text
    toml.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("rules") / "data"
    write_demo(root)
    return root


def _found(rec) -> list[tuple[str, str, str, str]]:  # type: ignore[no-untyped-def]
    return sorted((f.kind, f.client_id, f.product_id,
                   "" if pd.isna(f.impact) else f"{f.impact:.2f}")
                  for f in rec.findings.itertuples())


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
@pytest.mark.parametrize("rule, truth", [("month_end", "demo_ground_truth.csv"),
                                         ("day_weighted", WEIGHTED_TRUTH)])
def test_the_demo_gives_exactly_the_planted_findings_under_each_rule(
        demo_root, tmp_path, rule, truth, engine) -> None:
    root = tmp_path / "data"
    shutil.copytree(demo_root, root)
    _set(root, "month_rule", rule)
    _set(root, "engine", engine)
    with (root / truth).open(encoding="utf-8") as fh:
        planted = list(csv.DictReader(fh))
    ws = Workspace.open(root)
    for period in sorted({r["period"] for r in planted}):
        want = sorted((r["kind"], r["client_id"], r["product_id"], r["impact"])
                      for r in planted if r["period"] == period)
        assert _found(reconcile_period(ws, Period.parse(period))) == want, (rule, period)


def test_day_weighted_truth_adds_only_the_two_partial_month_changes(demo_root) -> None:
    with (demo_root / "demo_ground_truth.csv").open(encoding="utf-8") as fh:
        base = list(csv.DictReader(fh))
    with (demo_root / WEIGHTED_TRUTH).open(encoding="utf-8") as fh:
        weighted = list(csv.DictReader(fh))
    extra = [r for r in weighted if r not in base]
    assert len(weighted) == len(base) + 2 and all(r in weighted for r in base)
    # the seats added on the 14th (3 seats x 13 days / 31) and the Pax8 credit on the 20th
    # (2 seats x 19 days / 31), each billed for the whole month at its month-end count
    assert sorted((r["kind"], r["impact"]) for r in extra) == [("over_billed", "-27.68"),
                                                               ("under_billed", "4.90")]
    assert {r["period"] for r in extra} == {"2026-10"}
