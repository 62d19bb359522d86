"""The recon command line: exit codes, messages, outputs."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from recon_helpers.cli import main
from recon_helpers.core.period import Period
from recon_helpers.core.schemas import DISCREPANCY_COLUMNS
from tests.workspace_builder import build, d, p


def reconcile_to(tmp_path: Path, out: Path) -> int:
    """``recon reconcile`` of the workspace in tmp_path/data, findings written to ``out``."""
    return main(["reconcile", "--workspace", str(tmp_path / "data"), "--period", "2026-10",
                 "--out", str(out)])


def test_reconcile_writes_spec_columns_and_exits_1_on_findings(tmp_path, capsys):
    build(
        tmp_path / "data",
        delivered=[d("acme", "agents", "12")],
        promised=[p("acme", "EDR", "10", "5")],
    )
    out = tmp_path / "findings.csv"
    code = reconcile_to(tmp_path, out)
    assert code == 1
    with out.open() as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0][: len(DISCREPANCY_COLUMNS)]) == DISCREPANCY_COLUMNS
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["kind"], row["impact"], row["sources"]) == (
        "under_billed",
        "10.00",
        "agreements.csv:1;usage.csv:1",
    )
    captured = capsys.readouterr()
    assert "under_billed" in captured.out and "Mapping coverage" in captured.out
    assert captured.err.splitlines()[-3:] == [  # progress: each file, then the matching
        "  reading agreements.csv", "  reading usage.csv", "  mapping and matching 1 vendor lines"]


def test_reconcile_clean_month_exits_0(tmp_path):
    build(
        tmp_path / "data",
        delivered=[d("acme", "agents", "10")],
        promised=[p("acme", "EDR", "10", "5")],
    )
    assert main(["reconcile", "--workspace", str(tmp_path / "data"), "--period", "2026-10"]) == 0


def test_reconcile_xlsx_output(tmp_path):
    import openpyxl

    build(
        tmp_path / "data",
        delivered=[d("acme", "agents", "12")],
        promised=[p("acme", "EDR", "10", "5")],
    )
    out = tmp_path / "findings.xlsx"
    reconcile_to(tmp_path, out)
    ws = openpyxl.load_workbook(out).active
    header = [c.value for c in next(ws.iter_rows(max_row=1))]
    assert tuple(header[: len(DISCREPANCY_COLUMNS)]) == DISCREPANCY_COLUMNS


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["reconcile", "--period", "2026-13"], "YYYY-MM"),
        (["reconcile", "--period", "2026-09"], "no inputs folder"),
    ],
)
def test_bad_usage_exits_2_with_a_message(tmp_path, capsys, args, message):
    build(tmp_path / "data", promised=[p("acme", "FLAT", "1", "5")])
    assert main([*args, "--workspace", str(tmp_path / "data")]) == 2
    assert message in capsys.readouterr().err


def test_unreadable_input_names_file_and_row(tmp_path, capsys):
    ws = build(tmp_path / "data", promised=[p("acme", "FLAT", "1", "5")])
    (ws.inputs(Period.parse("2026-10")) / "mystery.csv").write_text("foo,bar\n1,2\n")
    assert main(["reconcile", "--workspace", str(tmp_path / "data"), "--period", "2026-10"]) == 2
    err = capsys.readouterr().err
    assert "mystery.csv" in err and "closest known formats" in err


def test_missing_workspace_exits_2(tmp_path, capsys):
    assert main(["reconcile", "--workspace", str(tmp_path / "nope"), "--period", "2026-10"]) == 2
    assert "recon demo" in capsys.readouterr().err


def test_console_script_runs_demo_then_reconcile(tmp_path):
    recon = [sys.executable, "-m", "recon_helpers"]
    root = tmp_path / "data"
    done = subprocess.run(
        [*recon, "demo", "--workspace", str(root)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [*recon, "reconcile", "--workspace", str(root), "--period", "2026-10"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stderr
    with (root / "demo_ground_truth.csv").open() as fh:
        planted = sum(1 for r in csv.DictReader(fh) if r["period"] == "2026-10")
    assert f"Discrepancies: {planted}" in done.stdout
