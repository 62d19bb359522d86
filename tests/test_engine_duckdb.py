"""The DuckDB engine gives the pandas engine's results: demo months, a generated month, and a
canonical delivered file with the mess real exports carry."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from recon_helpers.core.errors import ConfigError, UsageError
from recon_helpers.core.period import Period
from recon_helpers.core.workspace import Workspace, parse_settings
from recon_helpers.demo.write import write_demo
from recon_helpers.reconcile.engine_duckdb import choose_engine
from recon_helpers.reconcile.run import reconcile_period

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import generate  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "formats"
PERIOD = Period.parse("2026-10")


def assert_same(ws: Workspace, period: Period) -> tuple[object, object]:
    """Both engines on one month: equal findings, three-way table, customers and the rest."""
    steps: dict[str, list[str]] = {"pandas": [], "duckdb": []}
    a = reconcile_period(ws, period, steps["pandas"].append, engine="pandas")
    b = reconcile_period(ws, period, steps["duckdb"].append, engine="duckdb")
    assert (a.engine, b.engine) == ("pandas", "duckdb")
    lines = f"{len(a.loaded.delivered):,} vendor lines"  # both say what they read and match
    assert steps["pandas"][-1] == f"mapping and matching {lines}"
    assert steps["duckdb"][-1] == f"mapping and matching {lines} (DuckDB)"
    files = [f"reading {name}" for name in a.loaded.inventory["file"]]
    assert steps["pandas"][:-1] == files  # DuckDB hands a ragged file back: read twice
    assert set(files) == {s.removesuffix(" (DuckDB)") for s in steps["duckdb"][:-1]}
    pd.testing.assert_frame_equal(a.findings, b.findings)
    pd.testing.assert_frame_equal(a.three_way, b.three_way)
    # the agreement lines, with the PSA ids recon apply writes back to
    pd.testing.assert_frame_equal(a.month.promised, b.month.promised)
    pd.testing.assert_frame_equal(a.customers, b.customers)
    pd.testing.assert_frame_equal(a.coverage(), b.coverage())
    pd.testing.assert_frame_equal(a.client_suggestions, b.client_suggestions)
    pd.testing.assert_frame_equal(a.product_suggestions, b.product_suggestions)
    pd.testing.assert_frame_equal(a.loaded.inventory, b.loaded.inventory)
    key = ["file", "row", "reason", "column"]
    pd.testing.assert_frame_equal(
        a.loaded.quarantine.sort_values(key).reset_index(drop=True),
        b.loaded.quarantine.sort_values(key).reset_index(drop=True),
    )
    return a, b


def test_demo_months_match(tmp_path: Path) -> None:
    write_demo(tmp_path / "data")
    ws = Workspace.open(tmp_path / "data")
    for period in ("2026-08", "2026-09", "2026-10"):
        a, _ = assert_same(ws, Period.parse(period))
        assert len(a.findings) > 0


def test_generated_month_matches_and_finds_what_was_planted(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    generate(root, clients=60, lines=20_000)
    a, b = assert_same(Workspace.open(root), PERIOD)
    truth = pd.read_csv(root / "ground_truth.csv", dtype=str, keep_default_na=False)
    planted = set(zip(truth["kind"], truth["client_id"], truth["product_id"], strict=True))
    found = set(
        zip(b.findings["kind"], b.findings["client_id"], b.findings["product_id"], strict=True)
    )
    assert planted == found
    # the DuckDB engine keeps only the lines behind findings in month.delivered ...
    assert 0 < len(b.month.delivered) < len(a.month.delivered)
    # ... but counts every line
    assert int(b.coverage()["rows"].sum()) == len(a.month.delivered) == 20_000


HEADER = (
    "vendor,vendor_customer_id,vendor_customer_name,vendor_sku,sku_name,quantity,unit_cost,"
    "currency,charge_start,charge_end,line_id"
)
BRICK = "cc0ac255-7c0b-4123-ac8d-a6c280b85eae"  # a company of the Pax8 companies fixture
CONTOSO = "4109d8d6-5f7b-47b8-8485-c04f911f52dc"
M365, BP = "CFQ7TTC0LCHC:0002", "Microsoft 365 Business Premium"
EXO = "a4f2c8e1-3b7d-4e52-9a1c-6d0f7e8b9c21"
OCT = "2026-10-01,2026-10-31"
MESSY_ROWS = [  # the kinds of mess canonical exports carry, each routed to the loader's rules
    f'microsoft,{CONTOSO},"Contoso, Ltd.",{M365},{BP},12,18.7,USD,{OCT},a1',
    f'Microsoft,{CONTOSO},"Contoso, Ltd.",{M365},{BP},"1,234.50",$18.70,usd,2026-10-01,,a2',
    f'microsoft,{CONTOSO},"Contoso, Ltd.",{M365},{BP}, 7 ,18.7,,{OCT},a3',
    ",,,,,,,,,,",  # a blank record: dropped, not numbered
    f'microsoft,{CONTOSO},"Contoso, Ltd.",{M365},{BP},12,18.7,USD,{OCT},a1',  # exact repeat
    f"microsoft,{CONTOSO},Contoso Ltd,{M365},{BP},3,18.7,USD,10/01/2026,2026-10-31,a4",
    f"microsoft,,,{M365},{BP},3,18.7,USD,{OCT},a5",  # neither customer id nor name
    f"microsoft,{CONTOSO},Contoso Ltd,{M365},{BP},,18.7,USD,2026-10-01,,a6",  # no quantity
    "sentinelone,1.23457E+17,Fabrikam,Control,Control,40,,USD,2026-10-01,,a7",  # mangled id
    "sentinelone,1584207193028476113, Fabrikam Inc. ,Control,Control,38,,USD,2026-10-01,,a8",
    f"pax8,{BRICK},,{EXO},Exchange Online (Plan 1),25,3.2,USD,{OCT},a9",  # name from Pax8
    "huntress,718204,Müller Präzisionstechnik GmbH,agents,agents,19.5,4.25,EUR,"
    "2026-09-15,2026-11-14,a10",
    "acronis,3f1c5d7e-2a4b-4c6d-8e9f-0a1b2c3d4e5f,Prospect Holdings,storage,Backup,2048.25,"
    "0.021,USD,,,a11",
]


def messy_workspace(root: Path, delivered: str) -> Workspace:
    month = root / "inputs" / str(PERIOD)
    month.mkdir(parents=True)
    (month / "delivered.csv").write_bytes(b"\xef\xbb\xbf" + delivered.encode("utf-8"))
    shutil.copy(FIXTURES / "pax8_companies.json", month / "pax8_companies.json")
    (month / "clients.csv").write_text(
        "client_id,client_name\n29683512,Brick and Mortar Tech\n29600037,Contoso Ltd\n"
        "29600074,Fabrikam\n29600111,Muller Prazisionstechnik\n",
        encoding="utf-8",
    )
    (month / "promised.csv").write_text(
        "client_id,client_name,agreement_id,product_id,description,quantity,unit_price,unit_cost,"
        "currency,effective_date,cancelled_date\n"
        f"29600037,Contoso Ltd,AGR-1,M365-BP,{BP},20,22.00,18.70,USD,2025-01-01,\n"
        "29600074,Fabrikam,AGR-2,EDR-S1,SentinelOne Control,38,6.00,4.10,USD,2025-01-01,\n"
        "29683512,Brick and Mortar Tech,AGR-3,EXO-P1,Exchange Online (Plan 1),25,4.00,3.20,USD,"
        "2025-01-01,\n"
        "29600111,Muller Prazisionstechnik,AGR-4,MDR-HUNT,Huntress agent,20,5.00,4.25,EUR,"
        "2025-01-01,\n",
        encoding="utf-8",
    )
    (month / "billed.csv").write_text(
        "client_id,invoice_number,invoice_date,product_id,description,quantity,unit_price,amount,"
        "currency,period_start,period_end\n"
        f"29600037,INV-1,2026-10-01,M365-BP,{BP},20,22.00,440.00,USD,{OCT}\n",
        encoding="utf-8",
    )
    # a third of the rows are bad on purpose: past [quarantine] max_share, which would refuse
    # the file (in both engines: test_ingest_damaged.py); here the rows are compared one by one
    (root / "recon.toml").write_text("[quarantine]\nmax_share = 1\n", encoding="utf-8")
    (root / "mappings").mkdir()
    (root / "mappings" / "products.csv").write_text(
        "vendor,vendor_sku,product_id,units_per_product\n"
        "microsoft,CFQ7TTC0LCHC:0002,M365-BP,1\nsentinelone,Control,EDR-S1,1\n"
        "pax8,a4f2c8e1-3b7d-4e52-9a1c-6d0f7e8b9c21,EXO-P1,1\nhuntress,agents,MDR-HUNT,1\n",
        encoding="utf-8",
    )
    (root / "mappings" / "clients.csv").write_text(
        "vendor,vendor_customer_id,vendor_customer_name,client_id\nhuntress,718204,,29600111\n",
        encoding="utf-8",
    )
    return Workspace.open(root)


def test_messy_canonical_file_reads_and_matches_the_same(tmp_path: Path) -> None:
    ws = messy_workspace(tmp_path / "a", "\r\n".join([HEADER, *MESSY_ROWS]) + "\r\n")
    _, b = assert_same(ws, PERIOD)
    q = b.loaded.quarantine
    assert set(q["reason"]) >= {"duplicate_row", "bad_date", "missing_value", "bad_id"}
    # the blank record is not numbered; rows after it keep the csv module's numbers
    assert q.loc[q["reason"].eq("duplicate_row"), "row"].tolist() == [4]
    names = dict(zip(b.customers["vendor_customer_id"], b.customers["client_method"], strict=True))
    assert names[BRICK] == "source_link"  # the Pax8 linker filled the DuckDB-read row


def test_ragged_file_falls_back_to_the_csv_module(tmp_path: Path) -> None:
    rows = [*MESSY_ROWS, "microsoft,x,y,z"]  # a short row: the csv module quarantines it
    ws = messy_workspace(tmp_path / "a", "\n".join([HEADER, *rows]) + "\n")
    _, b = assert_same(ws, PERIOD)
    assert "ragged_row" in set(b.loaded.quarantine["reason"])


def test_parquet_input_reads_like_its_csv(tmp_path: Path) -> None:
    rows = [r for r in MESSY_ROWS if r.strip(",")]  # Parquet numbers rows physically
    ws_csv = messy_workspace(tmp_path / "a", "\n".join([HEADER, *rows]) + "\n")
    ws_pq = messy_workspace(tmp_path / "b", "\n".join([HEADER, *rows]) + "\n")
    month = ws_pq.inputs(PERIOD)
    duckdb.sql(
        f"COPY (SELECT * FROM read_csv('{month / 'delivered.csv'}', all_varchar = true)) "
        f"TO '{month / 'delivered.parquet'}' (FORMAT parquet)"
    )
    (month / "delivered.csv").unlink()
    assert choose_engine(ws_pq, PERIOD) == "duckdb"  # auto: only DuckDB reads Parquet
    a = reconcile_period(ws_csv, PERIOD, engine="pandas")
    b = reconcile_period(ws_pq, PERIOD)
    for col in ("sources", "detail"):  # a held finding's detail names the quarantined rows
        b.findings[col] = b.findings[col].str.replace("delivered.parquet", "delivered.csv")
    pd.testing.assert_frame_equal(a.findings, b.findings)


def test_engine_choice(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    generate(root, clients=20, lines=8_000)
    ws = Workspace.open(root)
    assert choose_engine(ws, PERIOD) == "pandas"  # auto, far below 1 GB
    assert choose_engine(ws, PERIOD, "duckdb") == "duckdb"
    (root / "recon.toml").write_text('engine = "auto"\n[duckdb]\nauto_above_mb = 1\n')
    assert choose_engine(ws, PERIOD) == "duckdb"  # the delivered CSV is over 1 MB
    (root / "recon.toml").write_text('engine = "pandas"\n[duckdb]\nauto_above_mb = 1\n')
    assert choose_engine(ws, PERIOD) == "pandas"
    assert reconcile_period(ws, PERIOD, engine="duckdb").engine == "duckdb"
    with pytest.raises(UsageError):
        choose_engine(ws, PERIOD, "spark")
    with pytest.raises(ConfigError):
        parse_settings('engine = "spark"')
    with pytest.raises(ConfigError):
        parse_settings("[duckdb]\nauto_above_mb = 0")
    assert parse_settings('engine = "duckdb"').engine == "duckdb"
