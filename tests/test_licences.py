"""Microsoft licences: the loaders on real-shaped and damaged files, the window arithmetic at
its edges, the four licence kinds on a small workspace, and idle-cost conservation."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon_helpers.core.errors import ConfigError, InputFileError, UsageError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace
from recon_helpers.ingest.load import load_period
from recon_helpers.reconcile.licences import (
    act_by,
    idle_cost_by_client,
    months_left,
    parse_as_of,
    read_sku_map,
    read_terms,
    renewal_instant,
)
from recon_helpers.reconcile.run import reconcile_period

FORMATS = Path(__file__).parent / "fixtures" / "formats"
TENANT = "0c39d6c5-8f33-4a5e-9a7b-2d5f4c1e9b10"
PERIOD = Period.parse("2026-10")


def _doc(name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((FORMATS / f"{name}.json").read_text(encoding="utf-8"))


def _write(folder: Path, name: str, doc: object) -> Path:
    path = folder / name
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def _workspace(month_dir: Path, subs: dict | None = None, graph: dict | None = None,  # type: ignore[type-arg]
               toml: str = "", terms: str = "") -> Workspace:
    """The fixture tenant as client C1: 25 Business Premium and 12 Business Standard seats
    delivered (NCE cost 18.70 / 10.625) and agreed, with the fixture subscriptions and Graph
    counts (or the given documents)."""
    root = month_dir.parents[1]
    (month_dir / "vendor.csv").write_text(
        "vendor,vendor_customer_id,vendor_customer_name,vendor_sku,sku_name,quantity,unit_cost,"
        "currency,charge_start,charge_end\n"
        f"microsoft,{TENANT},Contoso,CFQ7TTC0LCHC:0002,M365 BP,25,18.70,USD,2026-10-01,"
        "2026-10-31\n"
        f"microsoft,{TENANT},Contoso,CFQ7TTC0LDPB:0001,M365 BS,12,10.625,USD,2026-10-01,"
        "2026-10-31\n", encoding="utf-8")
    (month_dir / "agreements.csv").write_text(
        "client_id,client_name,agreement_id,product_id,description,quantity,unit_price,"
        "unit_cost,currency,effective_date,cancelled_date\n"
        "C1,Contoso,A1,BP,Business Premium,25,22.00,,USD,2026-01-01,\n"
        "C1,Contoso,A1,BS,Business Standard,12,12.50,,USD,2026-01-01,\n", encoding="utf-8")
    _write(month_dir, "subscriptions.json", subs or _doc("microsoft_pc_subscriptions"))
    _write(month_dir, "graph.json", graph or _doc("microsoft_graph_subscribed_skus"))
    maps = root / "mappings"
    maps.mkdir(exist_ok=True)
    (maps / "clients.csv").write_text("vendor,vendor_customer_id,vendor_customer_name,client_id\n"
                                      f"microsoft,{TENANT},,C1\n", encoding="utf-8")
    (maps / "products.csv").write_text("vendor,vendor_sku,product_id,units_per_product\n"
                                       "microsoft,CFQ7TTC0LCHC:0002,BP,1\n"
                                       "microsoft,CFQ7TTC0LDPB:0001,BS,1\n", encoding="utf-8")
    if terms:
        (maps / "agreement_terms.csv").write_text(terms, encoding="utf-8")
    (root / "recon.toml").write_text(toml, encoding="utf-8")
    return Workspace.open(root)


def _licence_findings(rec) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    f = rec.findings
    return f[f["kind"].isin(["unassigned_licences", "reduction_window", "renewal_due",
                             "term_mismatch"])].reset_index(drop=True)


# --- loaders --------------------------------------------------------------------------


def test_subscriptions_keep_ids_terms_windows_and_next_term(month_dir: Path) -> None:
    _write(month_dir, "subscriptions.json", _doc("microsoft_pc_subscriptions"))
    subs = load_period(Workspace.open(month_dir.parents[1]), PERIOD).tables[
        "microsoft.subscriptions"]
    first, second = subs.iloc[0], subs.iloc[1]
    assert first["vendor_customer_id"] == TENANT  # from links.self.uri
    assert first["vendor_sku"] == "CFQ7TTC0LCHC:0002"
    assert first["term_months"] == 12 and first["billing_cycle"] == "monthly"
    assert first["cancel_until"] == pd.Timestamp("2026-10-10T00:00:00Z")
    assert first["refund_windows"] == "25@2026-10-10T14:22:41Z"  # 7 fraction digits dropped
    assert first["commitment_end"] == pd.Timestamp("2027-10-02")
    assert second["next_vendor_sku"] == "CFQ7TTC0LDPB:0001" and second["next_term"] == "P1M"
    assert int(second["next_quantity"]) == 10 * 10_000


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("cancellationAllowedUntilDate", "10/10/2026", "bad_date"),
    ("cancellationAllowedUntilDate", "2026-02-30T00:00:00Z", "bad_date"),
    ("termDuration", "1 year", "bad_number"),
    ("quantity", "", "missing_value"),
    ("offerId", "CFQ7TTC0LCHC", "bad_id"),
])
def test_a_bad_subscription_value_is_quarantined_with_its_row(month_dir: Path, field: str,
                                                              value: str, reason: str) -> None:
    doc = _doc("microsoft_pc_subscriptions")
    doc["items"][1][field] = value
    _write(month_dir, "subs.json", doc)
    (month_dir.parents[1] / "recon.toml").write_text("[quarantine]\nmax_share = 1\n")
    loaded = load_period(Workspace.open(month_dir.parents[1]), PERIOD)
    q = loaded.quarantine
    assert q[["file", "row", "reason"]].values.tolist() == [["subs.json", 2, reason]]
    assert len(loaded.tables["microsoft.subscriptions"]) == 1


def test_malformed_refund_details_are_quarantined(month_dir: Path) -> None:
    doc = _doc("microsoft_pc_subscriptions")
    doc["items"][0]["refundableQuantity"]["details"] = [{"quantity": 2.5,
                                                        "allowedUntilDateTime": "soon"}]
    _write(month_dir, "subs.json", doc)
    (month_dir.parents[1] / "recon.toml").write_text("[quarantine]\nmax_share = 1\n")
    q = load_period(Workspace.open(month_dir.parents[1]), PERIOD).quarantine
    assert q["row"].tolist() == [1] and q["reason"].tolist() == ["bad_date"]


def test_truncated_json_is_an_error_naming_the_file(month_dir: Path) -> None:
    text = (FORMATS / "microsoft_pc_subscriptions.json").read_text()
    (month_dir / "subs.json").write_text(text[: len(text) // 2])
    with pytest.raises(InputFileError, match=r"subs\.json: not valid JSON"):
        load_period(Workspace.open(month_dir.parents[1]), PERIOD)


def test_a_missing_required_key_is_an_error(month_dir: Path) -> None:
    doc = _doc("microsoft_graph_subscribed_skus")
    for rec in doc["value"]:
        del rec["consumedUnits"]
    _write(month_dir, "graph.json", doc)
    with pytest.raises(InputFileError, match=r"graph\.json"):
        load_period(Workspace.open(month_dir.parents[1]), PERIOD)


def test_total_count_above_the_records_held_is_an_error(month_dir: Path) -> None:
    doc = _doc("microsoft_pc_subscriptions")
    doc["totalCount"] = 3
    _write(month_dir, "subs.json", doc)
    with pytest.raises(InputFileError, match="totalCount 3 subscriptions but holds 2"):
        load_period(Workspace.open(month_dir.parents[1]), PERIOD)


def test_the_same_subscriptions_downloaded_twice_is_an_error(month_dir: Path) -> None:
    doc = _doc("microsoft_pc_subscriptions")
    _write(month_dir, "subs.json", doc)
    again = copy.deepcopy(doc)
    again["attributes"]["note"] = "re-saved"  # not byte-identical: the same records twice
    _write(month_dir, "subs (1).json", again)
    with pytest.raises(InputFileError, match="subs"):
        load_period(Workspace.open(month_dir.parents[1]), PERIOD)


def test_a_byte_identical_copy_is_read_once(month_dir: Path) -> None:
    _write(month_dir, "subs.json", _doc("microsoft_pc_subscriptions"))
    _write(month_dir, "subs-copy.json", _doc("microsoft_pc_subscriptions"))
    loaded = load_period(Workspace.open(month_dir.parents[1]), PERIOD)
    assert len(loaded.tables["microsoft.subscriptions"]) == 2
    assert loaded.duplicates == {"subs-copy.json": "subs.json"}


def test_records_of_another_tenant_than_the_file_name_are_an_error(month_dir: Path) -> None:
    other = "11111111-2222-4333-8444-555555555555"
    _write(month_dir, f"graph-{other}.json", _doc("microsoft_graph_subscribed_skus"))
    with pytest.raises(InputFileError, match="wrong customer"):
        load_period(Workspace.open(month_dir.parents[1]), PERIOD)


def test_partner_center_skus_take_the_tenant_from_the_file_name(month_dir: Path) -> None:
    _write(month_dir, f"pc-subscribedskus-{TENANT}.json", _doc("microsoft_pc_subscribed_skus"))
    lic = load_period(Workspace.open(month_dir.parents[1]), PERIOD).tables["microsoft.licences"]
    assert set(lic["vendor_customer_id"]) == {TENANT}
    assert lic["assigned"].tolist() == [220_000, 80_000]


def test_partner_center_skus_without_a_tenant_are_set_aside(month_dir: Path) -> None:
    _write(month_dir, "subscribedskus.json", _doc("microsoft_pc_subscribed_skus"))
    loaded = load_period(Workspace.open(month_dir.parents[1]), PERIOD)
    q = loaded.quarantine  # never guessed; a data-losing reason blocks the sign-off
    assert q["reason"].tolist() == ["missing_value"] * 2
    assert q["detail"].str.contains("customer tenant is unknown").all()
    doc = _doc("microsoft_pc_subscribed_skus")
    doc["items"].append(copy.deepcopy(doc["items"][0]))
    doc["items"][2]["productSku"]["id"] = "3b555118-da6a-4418-894f-7df1e2096870"
    doc["totalCount"] = 3
    _write(month_dir, "subscribedskus.json", doc)
    # three rows lost of three: more than [quarantine] max_share allows
    with pytest.raises(InputFileError, match=r"subscribedskus\.json"):
        load_period(Workspace.open(month_dir.parents[1]), PERIOD)


# --- window arithmetic ------------------------------------------------------------------


@pytest.mark.parametrize(("instant", "zone", "expected"), [
    ("2026-10-10T00:00:00Z", "UTC", date(2026, 10, 9)),  # open until midnight: the 9th
    ("2026-10-10T00:00:01Z", "UTC", date(2026, 10, 10)),
    ("2026-10-10T00:00:00Z", "America/New_York", date(2026, 10, 9)),  # 8 pm on the 9th
    ("2026-10-10T03:59:59Z", "America/New_York", date(2026, 10, 9)),
    ("2026-10-10T05:00:00Z", "America/New_York", date(2026, 10, 10)),
    ("2026-10-10T00:00:00Z", "Australia/Sydney", date(2026, 10, 10)),  # 11 am on the 10th
    ("2026-10-09T13:00:00Z", "Australia/Sydney", date(2026, 10, 9)),  # local midnight
])
def test_act_by_is_the_last_local_day_before_the_instant(instant: str, zone: str,
                                                         expected: date) -> None:
    assert act_by(pd.Timestamp(instant), zone) == expected


def test_a_commitment_renews_the_day_after_its_end() -> None:
    assert act_by(renewal_instant(date(2026, 11, 14))) == date(2026, 11, 14)
    assert act_by(renewal_instant(date(2026, 11, 14)), "Asia/Tokyo") == date(2026, 11, 15)


@pytest.mark.parametrize(("as_of", "end", "months"), [
    (date(2026, 10, 31), date(2027, 10, 30), 12),
    (date(2026, 10, 1), date(2027, 9, 30), 12),
    (date(2026, 10, 31), date(2027, 3, 14), 5),
    (date(2026, 10, 31), date(2026, 10, 31), 1),  # the last day is a part month
    (date(2026, 10, 31), date(2026, 10, 30), 0),
    (date(2026, 10, 15), date(2026, 11, 14), 1),
    (date(2026, 10, 15), date(2026, 11, 15), 2),
])
def test_months_left(as_of: date, end: date, months: int) -> None:
    assert months_left(as_of, end) == months


def test_as_of_dates_are_strict() -> None:
    assert parse_as_of("2026-11-05") == date(2026, 11, 5)
    for bad in ("2026-11-5", "5/11/2026", "2026-02-30", "today"):
        with pytest.raises(UsageError, match="--as-of"):
            parse_as_of(bad, "--as-of")


# --- the rules on a small workspace -------------------------------------------------------


def _subs(quantity: int, details: list[tuple[int, str]], cancel: str,
          end: str = "2027-10-02T00:00:00Z") -> dict:  # type: ignore[type-arg]
    doc = _doc("microsoft_pc_subscriptions")
    doc["items"] = doc["items"][:1]
    doc["totalCount"] = 1
    item = doc["items"][0]
    item.update({"quantity": quantity, "cancellationAllowedUntilDate": cancel,
                 "commitmentEndDate": end})
    item["refundableQuantity"] = {"totalQuantity": sum(n for n, _ in details), "details": [
        {"quantity": n, "allowedUntilDateTime": t} for n, t in details]}
    return doc


def _graph(assigned: int, prepaid: int) -> dict:  # type: ignore[type-arg]
    doc = _doc("microsoft_graph_subscribed_skus")
    doc["value"] = doc["value"][:1]
    doc["value"][0].update({"consumedUnits": assigned,
                            "prepaidUnits": {"enabled": prepaid, "suspended": 0, "warning": 0,
                                             "lockedOut": 0}})
    return doc


def test_idle_seats_cost_the_month_and_say_until_when_they_can_be_reduced(month_dir) -> None:  # type: ignore[no-untyped-def]
    ws = _workspace(month_dir, _subs(25, [(5, "2026-11-03T00:00:00Z")], "2026-10-10T00:00:00Z"),
                    _graph(21, 25))
    f = _licence_findings(reconcile_period(ws, PERIOD))
    idle = f[f["kind"].eq("unassigned_licences")].iloc[0]
    assert idle["impact"] == Decimal("-74.80")  # 4 idle x 18.70
    assert idle["variance_qty"] == -4 and idle["vendor_qty"] == 25
    assert "4 can still be reduced until 2026-11-02" in idle["detail"]
    assert idle["sources"] == "graph.json:1;subscriptions.json:1"
    window = f[f["kind"].eq("reduction_window")].iloc[0]
    # 4 idle seats x 18.70 x 12 months (Nov 2026 .. Oct 2027)
    assert window["impact"] == Decimal("-897.60")
    assert window["key"].endswith("|a4c1340d-6911-4758-bba3-0c4c6007d161")


def test_the_window_is_open_on_its_last_day_and_lost_the_day_after(month_dir) -> None:  # type: ignore[no-untyped-def]
    ws = _workspace(month_dir, _subs(25, [(5, "2026-10-20T00:00:00Z")], "2026-10-20T00:00:00Z"),
                    _graph(22, 25))
    last_day = _licence_findings(reconcile_period(ws, PERIOD, as_of=date(2026, 10, 19)))
    window = last_day[last_day["kind"].eq("reduction_window")].iloc[0]
    assert not window["detail"].startswith("lost")
    assert "until 2026-10-19" in window["detail"]
    after = _licence_findings(reconcile_period(ws, PERIOD, as_of=date(2026, 10, 20)))
    lost = after[after["kind"].eq("reduction_window")].iloc[0]
    assert lost["detail"].startswith("lost: the reduction window closed on 2026-10-19")
    rec = reconcile_period(ws, PERIOD, as_of=date(2026, 10, 20))
    assert rec.licences.actions["state"].tolist().count("lost") == 1
    assert not rec.licences.actions.query("state == 'open'")["kind"].eq(
        "reduction_window").any()


def test_the_local_zone_moves_the_last_day(month_dir) -> None:  # type: ignore[no-untyped-def]
    ws = _workspace(month_dir, _subs(25, [(5, "2026-10-20T00:00:00Z")], "2026-10-20T00:00:00Z"),
                    _graph(22, 25), toml='[licences]\ntimezone = "Australia/Sydney"\n')
    # in Sydney the window closes at 11 am on the 20th: still open that day
    f = _licence_findings(reconcile_period(ws, PERIOD, as_of=date(2026, 10, 20)))
    window = f[f["kind"].eq("reduction_window")].iloc[0]
    assert "until 2026-10-20 (Australia/Sydney)" in window["detail"]


def test_windows_beyond_the_horizon_are_not_findings(month_dir) -> None:  # type: ignore[no-untyped-def]
    ws = _workspace(month_dir, _subs(25, [(5, "2026-11-20T00:00:00Z")], "2026-10-10T00:00:00Z"),
                    _graph(25, 25), toml="[licences]\nhorizon_days = 7\n")
    assert _licence_findings(reconcile_period(ws, PERIOD)).empty


def test_renewal_due_and_term_mismatch(month_dir) -> None:  # type: ignore[no-untyped-def]
    ws = _workspace(month_dir, _subs(25, [], "2025-11-22T00:00:00Z", end="2026-11-14T00:00:00Z"),
                    _graph(25, 25), terms="client_id,product_id,term\nC1,BP,P1M\n")
    f = _licence_findings(reconcile_period(ws, PERIOD))
    assert f["kind"].tolist() == ["renewal_due", "term_mismatch"]
    renewal, term = f.iloc[0], f.iloc[1]
    assert renewal["impact"] is None and "auto-renew on" in renewal["detail"]
    assert "commitment ends 2026-11-14" in renewal["detail"]
    assert renewal["sources"] == "agreements.csv:1;subscriptions.json:1"
    # 25 seats x 18.70 x 1 month (November, the commitment's last)
    assert term["impact"] == Decimal("-467.50")
    assert "month to month" in term["detail"]


def test_no_licence_files_no_licence_findings(month_dir) -> None:  # type: ignore[no-untyped-def]
    ws = _workspace(month_dir)
    (month_dir / "subscriptions.json").unlink()
    (month_dir / "graph.json").unlink()
    rec = reconcile_period(ws, PERIOD)
    assert _licence_findings(rec).empty and rec.licences.seats.empty


def test_licence_findings_flow_through_resolve(month_dir) -> None:  # type: ignore[no-untyped-def]
    ws = _workspace(month_dir, _subs(25, [], "2026-10-10T00:00:00Z"), _graph(20, 25))
    out = subprocess.run(
        [sys.executable, "-m", "recon_helpers", "resolve", "--workspace", str(ws.root),
         "--period", "2026-10", "--kind", "unassigned_licences", "--action", "accept",
         "--note", "seats kept for new hires", "--actor", "auditor"],
        capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    from recon_helpers.audit.status import mark_findings

    marked = mark_findings(reconcile_period(ws, PERIOD).findings, ws, PERIOD)
    row = marked[marked["kind"].eq("unassigned_licences")].iloc[0]
    assert row["status"] == "resolved"


def test_cli_as_of_is_checked(month_dir) -> None:  # type: ignore[no-untyped-def]
    ws = _workspace(month_dir)
    out = subprocess.run(
        [sys.executable, "-m", "recon_helpers", "reconcile", "--workspace", str(ws.root),
         "--period", "2026-10", "--as-of", "31/10/2026"], capture_output=True, text=True,
        check=False)
    assert out.returncode == 2 and "--as-of '31/10/2026' is not a date" in out.stderr
    out = subprocess.run(
        [sys.executable, "-m", "recon_helpers", "reconcile", "--workspace", str(ws.root),
         "--period", "2026-10", "--as-of", "2026-10-03"], capture_output=True, text=True,
        check=False)
    assert out.returncode == 1, out.stderr  # open findings: the idle seats, the window
    assert "Microsoft licences as of 2026-10-03" in out.stdout


# --- mapping files --------------------------------------------------------------------------


def test_the_sku_map_is_extendable_and_contradictions_name_both_rows(tmp_path: Path) -> None:
    path = tmp_path / "microsoft_skus.csv"
    path.write_text("sku_id,sku_part_number,vendor_sku,sku_name\n"
                    "710779e8-3d4a-4c88-adb9-386c958d1fdd,TEAMS_EXPLORATORY,CFQ7TTC0J1FV:0002,"
                    "Teams Exploratory\n"
                    ",SPB,CFQ7TTC0LCHC:0009,Business Premium (other availability)\n")
    sku = read_sku_map(path)
    assert sku.loc[sku["sku_part_number"].eq("TEAMS_EXPLORATORY"), "vendor_sku"].item() == (
        "CFQ7TTC0J1FV:0002")
    assert sku.loc[sku["sku_part_number"].eq("SPB"), "vendor_sku"].tolist() == [
        "CFQ7TTC0LCHC:0009"]  # the workspace row replaces the shipped one
    path.write_text("sku_id,sku_part_number,vendor_sku,sku_name\n,SPB,CFQ7TTC0LCHC:0002,a\n"
                    ",SPB,CFQ7TTC0LCHC:0009,b\n")
    with pytest.raises(ConfigError, match="rows 1 and 2"):
        read_sku_map(path)


def test_agreement_terms_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "agreement_terms.csv"
    path.write_text("client_id,product_id,term\nC1,BP,monthly\n")
    with pytest.raises(ConfigError, match=r"agreement_terms\.csv:1"):
        read_terms(path)


def test_a_bad_licences_table_is_an_error(month_dir: Path) -> None:
    ws = _workspace(month_dir, toml='[licences]\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError, match="timezone"):
        reconcile_period(ws, PERIOD)


# --- conservation ---------------------------------------------------------------------------

seat_rows = st.lists(st.tuples(
    st.sampled_from(["C1", "C2", "C3", ""]),
    st.integers(0, 40), st.integers(0, 40),
    st.decimals(min_value=0, max_value=100, places=3, allow_nan=False, allow_infinity=False),
    st.sampled_from(["USD", "EUR"]),
), max_size=12)


@settings(max_examples=60, deadline=None)
@given(seat_rows)
def test_idle_cost_by_client_conserves_the_idle_cost(rows) -> None:  # type: ignore[no-untyped-def]
    seats = pd.DataFrame([{
        "client_id": c, "client_name": c.lower(), "vendor_customer": f"t{i}",
        "idle": max(b - a, 0), "currency": cur,
        "idle_cost": (cost * max(b - a, 0)).quantize(Decimal("0.01")),
    } for i, (c, b, a, cost, cur) in enumerate(rows)],
        columns=["client_id", "client_name", "vendor_customer", "idle", "currency",
                 "idle_cost"])
    out = idle_cost_by_client(seats)
    for cur in ("USD", "EUR"):
        mine = seats[seats["currency"].eq(cur) & seats["idle"].gt(0)]
        assert sum(out.loc[out["currency"].eq(cur), "idle_cost"], Decimal(0)) == sum(
            mine["idle_cost"], Decimal(0))
        assert out.loc[out["currency"].eq(cur), "idle"].sum() == mine["idle"].sum()


def test_the_demo_chart_sums_to_the_unassigned_findings(demo_month) -> None:  # type: ignore[no-untyped-def]
    _, rec = demo_month
    chart = idle_cost_by_client(rec.licences.seats)
    findings = rec.findings[rec.findings["kind"].eq("unassigned_licences")]
    assert sum(chart["idle_cost"], Decimal(0)) == -sum(findings["impact"], Decimal(0))
    assert len(findings) == 3


def test_a_quarantined_subscription_holds_its_tenant_and_sku(month_dir) -> None:  # type: ignore[no-untyped-def]
    doc = _subs(25, [], "2026-10-10T00:00:00Z")
    extra = copy.deepcopy(doc["items"][0])
    extra.update({"id": "9d9d9d9d-0000-4000-8000-000000000001", "quantity": "many"})
    doc["items"].append(extra)
    doc["totalCount"] = 2
    ws = _workspace(month_dir, doc, _graph(20, 25), toml="[quarantine]\nmax_share = 1\n")
    rec = reconcile_period(ws, PERIOD)
    idle = _licence_findings(rec).iloc[0]
    assert idle["kind"] == "unassigned_licences" and idle["hold"] == "quarantined_row"
    assert "subscriptions.json:2" in idle["detail"]


def test_both_engines_give_the_same_licence_findings(month_dir) -> None:  # type: ignore[no-untyped-def]
    ws = _workspace(month_dir, _subs(25, [(5, "2026-11-03T00:00:00Z")], "2026-10-10T00:00:00Z"),
                    _graph(21, 25), terms="client_id,product_id,term\nC1,BS,P1M\n")
    a = reconcile_period(ws, PERIOD, engine="pandas", as_of=date(2026, 10, 20))
    b = reconcile_period(ws, PERIOD, engine="duckdb", as_of=date(2026, 10, 20))
    assert len(_licence_findings(a)) >= 2
    pd.testing.assert_frame_equal(a.findings, b.findings)
    pd.testing.assert_frame_equal(a.licences.actions, b.licences.actions)


def test_hostile_names_are_escaped_in_the_view(month_dir) -> None:  # type: ignore[no-untyped-def]
    from recon_helpers.present import licences as view

    ws = _workspace(month_dir, _subs(25, [], "2026-10-10T00:00:00Z"), _graph(20, 25))
    clients = month_dir / "agreements.csv"
    clients.write_text(clients.read_text().replace("Contoso", "<img src=x onerror=alert(1)>"))
    rec = reconcile_period(ws, PERIOD)
    page = view.seats(rec).to_html() + view.todo(rec).to_html()
    chart = view.idle_cost_chart(rec)._repr_html_()
    for html in (page, chart):
        assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_a_microsoft_pull_never_claims_the_licence_files() -> None:
    from recon_helpers.ingest.sources import sources_of_file

    for name in ("microsoft_pc_subscriptions", "microsoft_pc_subscribed_skus",
                 "microsoft_graph_subscribed_skus"):
        assert sources_of_file(FORMATS / f"{name}.json") == set()
    assert sources_of_file(FORMATS / "microsoft_nce_invoice_recon.csv") == {"microsoft"}


@pytest.mark.parametrize(("drop", "kinds"), [
    ("subscriptions.json", []),  # counts without purchases: nothing bought to compare
    ("graph.json", ["renewal_due"]),  # purchases without counts: no idle seats, but renewals
])
def test_one_side_alone(month_dir, drop: str, kinds: list[str]) -> None:  # type: ignore[no-untyped-def]
    ws = _workspace(month_dir)
    (month_dir / drop).unlink()
    rec = reconcile_period(ws, PERIOD)
    assert _licence_findings(rec)["kind"].tolist() == kinds
    assert len(rec.licences.seats) == 2
