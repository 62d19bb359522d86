"""The auditor's desk without a browser: display formatting, the narrow findings table, the
resolution grid's bulk decisions, the mapping buttons, and the CLI's early checks."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from decimal import Decimal

import pandas as pd
import pytest

from recon_helpers import cli
from recon_helpers.audit.decisions import latest_decisions
from recon_helpers.audit.status import status_table
from recon_helpers.core.period import Period
from recon_helpers.present.findings import MAIN, FindingsTable, client_anchor
from recon_helpers.present.fmt import DASH, bool_text, count, money_text, qty_text, value_text
from recon_helpers.present.grid import ResolutionGrid
from recon_helpers.present.html import Table
from recon_helpers.present.mapping_ui import MappingUI
from recon_helpers.reconcile.run import reconcile_period
from recon_helpers.render.notebook import NOTEBOOKS_DIR

PERIOD = Period.parse("2026-10")


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal("4454.250"), "4,454.25"), (Decimal("13144.4"), "13,144.40"),
    (Decimal("0"), "0.00"), (Decimal("-462.9"), "-462.90"), (Decimal("0.0825"), "0.0825"),
    (Decimal("1E+3"), "1,000.00"), (None, DASH), (float("nan"), DASH), (pd.NA, DASH),
])
def test_money_has_two_decimals_a_separator_and_a_dash_for_unknown(value, shown) -> None:
    assert money_text(value) == shown


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal("12.0000"), "12"), (Decimal("1024.50"), "1,024.5"), (Decimal("3.4"), "3.4"),
    (Decimal("0.0000"), "0"), (Decimal("2E+1"), "20"), (None, DASH), (7, "7"),
])
def test_quantities_have_no_trailing_zeros(value, shown) -> None:
    assert qty_text(value) == shown


def test_no_raw_booleans_and_counts_agree_in_number() -> None:
    assert bool_text(True) == "yes" and bool_text(False) == "no"
    assert value_text(True) == "yes" and value_text(pd.Series([False]).iloc[0]) == "no"
    assert count(1, "discrepancy", "discrepancies") == "1 discrepancy"
    assert count(3, "discrepancy", "discrepancies") == "3 discrepancies"
    frame = pd.DataFrame({"below_floor": [True, False], "margin": [Decimal("4454.250"), None]})
    page = Table(frame).to_html()
    assert "True" not in page and "False" not in page
    assert ">4,454.25<" in page and f">{DASH}<" in page


def test_client_anchors_are_url_safe_and_distinct() -> None:
    ids = ["ACME", "acme", "AC ME", "AC_ME", "A/C\"<x>", "Ä"]
    anchors = [client_anchor(i) for i in ids]
    assert len(set(anchors)) == len(ids)
    assert all(re.fullmatch(r"client-[A-Za-z0-9_-]+", a) for a in anchors)


def test_findings_table_is_narrow_and_folds_the_rest(rec) -> None:
    table = FindingsTable(rec.findings, "all", three_way=rec.three_way)
    page = table.to_html()
    head = re.search(r"<thead><tr>(.*?)</tr></thead>", page).group(1)
    assert re.findall(r"<th>(.*?)</th>", head) == list(MAIN)
    assert page.count("<details>") == len(rec.findings)
    # every client link points at the anchor of that client's section
    for cid in set(rec.findings["client_id"]) - {""}:
        assert f'href="#{client_anchor(cid)}"' in page
    # the price mismatch shows both prices: agreed and invoiced
    pm = rec.findings[rec.findings["kind"].eq("price_mismatch")].iloc[0]
    row = table.rows().iloc[int(pm.name)]
    agreed_price, invoiced_price = row["agreed"].split(" @ ")[1], row["invoiced"].split(" @ ")[1]
    assert agreed_price == money_text(pm["unit_price"]) and agreed_price != invoiced_price
    # cost at risk is never presented as money to bill
    risky = table.rows()[rec.findings["kind"].isin(["unmapped_customer", "unmapped_product"])
                         .to_numpy()]
    assert risky["impact"].str.endswith("at risk").all()


def test_grid_records_one_bulk_decision_for_exactly_the_selected_rows(demo_ws) -> None:
    ws = demo_ws
    ui = ResolutionGrid(ws, PERIOD)
    keys = ui.frame.attrs["keys"]
    picked = [keys[4], keys[1], keys[7]]
    ui.select_keys(picked)
    assert ui.selected_keys() == picked and ui.save.description == "Record for 3 selected"
    ui.action.value = "accept"
    ui.actor.value = "Alice Martin"
    ui.save.click()  # no note: refused for all, nothing recorded
    assert "Not saved" in ui.message.value and latest_decisions(ws, PERIOD).empty
    ui.select_keys(picked)
    ui.action.value, ui.note.value = "accept", "price change of October, agreed with the client"
    ui.save.click()
    latest = latest_decisions(ws, PERIOD)
    assert sorted(latest["key"]) == sorted(picked)
    assert set(latest["note"]) == {"price change of October, agreed with the client"}
    assert set(latest["actor"]) == {"Alice Martin"}
    # the detail pane stays on the item just saved, with the decision in its history
    assert ui.current_key == picked[-1]
    assert "Alice Martin" in ui.detail.value and "Saved 3 decision(s)" in ui.message.value
    status = status_table(ui.findings, ws, PERIOD).set_index("key")["status"]
    assert (status[picked] == "resolved").all() and (status.drop(picked) != "resolved").all()
    assert "<b>3</b> resolved" in ui.counts.value


def test_grid_bulk_adjustment_carries_one_effective_date(demo_ws) -> None:
    ui = ResolutionGrid(demo_ws, PERIOD)
    under = [k for k, kind in zip(ui.frame.attrs["keys"], ui.frame["kind"], strict=True)
             if kind == "under_billed"]
    assert len(under) >= 2
    ui.select_keys(under)
    ui.action.value, ui.new_quantity.value = "adjust_agreement", "12"
    ui.effective.value, ui.actor.value = "2026-11-15", "Bob"
    ui.save.click()
    latest = latest_decisions(demo_ws, PERIOD)
    assert sorted(latest["key"]) == sorted(under)
    assert set(latest["effective_date"]) == {"2026-11-15"}


def test_grid_filters_and_sorting_map_selection_to_the_right_findings(demo_ws) -> None:
    ui = ResolutionGrid(demo_ws, PERIOD)
    n = len(ui.frame)
    ui.grid._visible_rows = list(range(n))[::-1]  # what a sort in the browser sends back
    ui.grid.clear_selection()
    ui.grid.select(0, 0)
    assert ui.selected_keys() == [ui.frame.attrs["keys"][-1]]


def test_mapping_buttons_write_through_the_mapping_functions(demo_ws) -> None:
    ws = demo_ws
    rec = reconcile_period(ws, PERIOD)
    ui = MappingUI(ws, PERIOD, rec, actor="Alice Martin")
    [client_row] = [r for r in ui.rows if r.what == "client"]
    assert client_row.ignore is not None
    client_row.ignore.click()  # no reason: refused, nothing written
    assert "Not saved" in client_row.message.value
    ignored = ws.ignore_map.read_text(encoding="utf-8") if ws.ignore_map.exists() else ""
    assert client_row.ident not in ignored
    client_row.confirm.click()
    assert "mapped to" in client_row.message.value and client_row.confirm.disabled
    assert f"{client_row.ident},,{client_row.target}" in ws.clients_map.read_text(
        encoding="utf-8")
    after = reconcile_period(ws, PERIOD)
    assert not after.findings["kind"].eq("unmapped_customer").any()
    product_rows = [r for r in ui.rows if r.what == "product"]
    product_rows[0].confirm.click()
    assert all(r.confirm.disabled for r in product_rows)  # one SKU, one mapping
    assert product_rows[0].target in ws.products_map.read_text(encoding="utf-8")


@pytest.mark.parametrize("command", sorted(cli.EXIT_ONE))
def test_every_help_lists_the_exit_codes(command, capsys) -> None:
    assert cli.main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"exit status:\n\s+0\s+success\n\s+1\s+\S.*\n\s+2\s+bad usage", out), out


def test_reconcile_refuses_an_unsupported_out_before_printing(demo, capsys, tmp_path) -> None:
    for out in (tmp_path / "x.txt", tmp_path / "missing" / "x.csv", tmp_path):
        assert cli.main(["reconcile", "--workspace", str(demo), "--period", "2026-10",
                         "--out", str(out)]) == 2
        got = capsys.readouterr()
        assert got.out == "" and "--out" in got.err


def test_statement_refuses_an_unknown_client_before_a_kernel_starts(demo_ws, capfd) -> None:
    start = time.perf_counter()
    assert cli.main(["statement", "--workspace", str(demo_ws.root), "--reports",
                     str(demo_ws.reports_root), "--period", "2026-10", "--client", "NOPE"]) == 2
    err = capfd.readouterr().err
    assert "--client: no client ['NOPE']" in err and "Kernel" not in err
    assert not (demo_ws.report_dir(PERIOD) / "clients").exists()
    assert time.perf_counter() - start < 30


def test_lab_opens_the_resolution_notebook_of_the_project(demo, tmp_path, monkeypatch,
                                                          capsys) -> None:
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    for name in ("01_record_keeping.ipynb", "03_resolution.ipynb"):
        (project / "notebooks" / name).write_bytes((NOTEBOOKS_DIR / name).read_bytes())
    monkeypatch.chdir(project)
    assert cli.main(["lab", "--workspace", str(demo), "--dry-run", "--no-browser"]) == 0
    cmd = capsys.readouterr().out
    assert f"--ServerApp.root_dir={project / 'notebooks'}" in cmd
    assert "--LabApp.default_url=/lab/tree/lab/2026-10/03_resolution.ipynb" in cmd
    assert cli.main(["lab", "--workspace", str(demo), "--dry-run",
                     "--notebooks", str(tmp_path)]) == 2


def test_recon_help_runs_as_a_program() -> None:
    done = subprocess.run([sys.executable, "-m", "recon_helpers", "--help"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "exit status" in done.stdout
