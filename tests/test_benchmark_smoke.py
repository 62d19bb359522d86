"""The benchmark scripts keep working: a tiny generated month through every step (no timings
are asserted; the numbers of a 5,000-line month mean nothing)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_generator_is_deterministic_and_streams_the_formats(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import generate

    a = generate(tmp_path / "a", clients=30, lines=3_000, partner_center=True)
    generate(tmp_path / "b", clients=30, lines=3_000, partner_center=True)
    month = Path("inputs/2026-10")
    for name in ("delivered.csv", "promised.csv", "billed.csv", "clients.csv"):
        assert (tmp_path / "a" / month / name).read_bytes() == (
            tmp_path / "b" / month / name
        ).read_bytes()
    assert a["lines"] == 3_000
    with (tmp_path / "a" / month / "delivered.csv").open(newline="", encoding="utf-8") as fh:
        assert sum(1 for _ in csv.reader(fh)) == 3_001
    pc = next((tmp_path / "a" / "partner_center" / "2026-10").glob("*.csv"))
    with pc.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 3_001 and len(rows[0]) == 47 and {len(r) for r in rows} == {47}
    kinds = {r["kind"] for r in csv.DictReader((tmp_path / "a" / "ground_truth.csv").open())}
    assert {"under_billed", "unmapped_customer", "unmapped_product"} <= kinds


def test_tiny_benchmark_runs_every_step(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--sizes",
            "5000",
            "--clients",
            "40",
            "--pc-lines",
            "5000",
            "--fuzzy",
            "400",
            "--report-clients",
            "6",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    row = results["sizes"][0]
    for step in ("floor", "anchor", "pandas", "duckdb", "pc_load", "pc_read_csv", "pc_duckdb"):
        assert "error" not in row[step], (step, row[step])
    assert row["anchor"]["keys"] > 0 and row["pc_duckdb"]["rows"] == 5_000
    for engine in ("pandas", "duckdb"):
        assert row[engine]["total_vs_anchor"] > 0
    reopen = results["reopen"]
    assert "error" not in reopen["fill"] and "error" not in reopen["reopen"], reopen
    assert reopen["reopen"]["found"] == reopen["reopen"]["planted"] > 0
    assert reopen["reopen"]["extra"] == 0
    for engine in ("pandas", "duckdb"):
        assert row[engine]["found"] == row[engine]["planted"] > 0
        assert row[engine]["extra"] == 0
    assert row["pc_load"]["rows"] == row["pc_read_csv"]["rows"] == 5_000
    assert results["fuzzy"]["suggestions"] > 0
    table = (out / "results.md").read_text()
    assert "| 5,000 | pandas |" in table and "| 5,000 | duckdb |" in table
    report = results["report"]
    assert "error" not in report["render"] and "error" not in report["baseline"], report
    assert "error" not in report["uncached"], report
    assert report["uncached"]["findings"] == report["render"]["findings"]
    assert report["render"]["s"] > report["baseline"]["s"] > 0
    assert "| 6 clients, " in table and "monthly report for 6 clients" in table
    assert table in proc.stdout
